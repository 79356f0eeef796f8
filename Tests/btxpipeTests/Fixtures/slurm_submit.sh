#!/bin/bash
# A real one-node Slurm for btxpipe's submit test: starts munged, slurmctld and slurmd (Debian's
# slurm-wlm + munge) under DIR, runs `btxpipe submit` there, polls `btxpipe status` until no job is
# pending or running, and stops the daemons by PID. Exit 77 = cannot run here (the test skips).
# Usage: slurm_submit.sh BTXPIPE DIR  (DIR holds p.yaml, whose remote `shared` the jobs use)
# NOTE: a script, not daemons as children of the test process: Foundation's Process then stops
# reaping the test's other children and every later command hangs.
set -euo pipefail
BTX=$1 DIR=$2
for tool in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/bin/squeue /usr/bin/setpriv; do
    [ -x "$tool" ] || { echo "SKIPPED: $tool is missing (apt-get install -y slurm-wlm munge)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIPPED: a test Slurm needs root (SlurmUser=root)"; exit 77; }

S=$DIR/slurm
mkdir -p "$S/munge" "$S/state" "$S/spool" "$S/log"
chmod 755 "$DIR" "$S"
chown munge:munge "$S/munge"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cat > "$S/slurm.conf" <<CONF
ClusterName=btxtest
SlurmctldHost=localhost
SlurmctldPort=$(port)
SlurmdPort=$(port)
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$S/slurm.conf

PIDS=()
stop() { for ((i=${#PIDS[@]}-1; i>=0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; wait "${PIDS[i]}" 2>/dev/null || true; done; }
trap stop EXIT
setpriv --reuid munge --regid munge --init-groups /usr/sbin/munged -F --socket="$S/munge/munge.sock" \
    --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" --seed-file="$S/munge/seed" >"$S/log/munged.out" 2>&1 </dev/null &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$S/munge/munge.sock" ] && break; sleep 0.1; done
/usr/sbin/slurmctld -D -f "$SLURM_CONF" >"$S/log/slurmctld.out" 2>&1 </dev/null &
PIDS+=($!)
/usr/sbin/slurmd -D -f "$SLURM_CONF" -N localhost >"$S/log/slurmd.out" 2>&1 </dev/null &
PIDS+=($!)
for _ in $(seq 200); do grep -q "slurmd started" "$S/log/slurmd.log" 2>/dev/null && break; sleep 0.1; done

cd "$DIR"
echo "== submit"
"$BTX" submit p.yaml --store login --executor slurm --remote shared --time 5
echo "== status while running"
"$BTX" status p.yaml --store login
for _ in $(seq 240); do
    out=$("$BTX" status p.yaml --store login)
    grep -qE "PENDING|RUNNING|CONFIGURING|COMPLETING" <<<"$out" || break
    sleep 0.5
done
echo "== status after"
echo "$out"
echo "== squeue"
squeue -t all -o "%i %j %T %r"
