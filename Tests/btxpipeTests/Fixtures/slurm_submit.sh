#!/bin/bash
# A real one-node Slurm for btxpipe's submit tests: starts munged, slurmctld and slurmd (Debian's
# slurm-wlm + munge) under DIR, runs a scenario there, and stops the daemons by PID. Exit 77 = cannot
# run here (the test skips).
# Usage: slurm_submit.sh BTXPIPE DIR [SCENARIO]
#   remote  (default) DIR holds p.yaml, whose remote `shared` the jobs use: submit, poll status until done.
#   requeue DIR holds p.yaml (no remote; a slow stage), profile.yaml and long.yaml: run locally, submit
#           on the shared store, send the slow stage's job TERM as at its time limit, wait for the requeued
#           job to finish; then submit long.yaml and cancel it.
# NOTE: a script, not daemons as children of the test process: Foundation's Process then stops
# reaping the test's other children and every later command hangs.
set -euo pipefail
BTX=$1 DIR=$2 SCENARIO=${3:-remote}
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
AuthInfo=socket=$S/munge/munge.sock,cred_expire=5
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
KillWait=5
JobRequeue=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
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
# Polls until no job in squeue is pending, running or being requeued (at most ~2 minutes).
settle() {
    for _ in $(seq 480); do
        squeue -h -t all -O "State:24" | grep -qE "PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUE" || return 0
        sleep 0.25
    done
}

remote() {
    echo "== submit"
    "$BTX" submit p.yaml --store login --executor slurm --remote shared --time 5
    echo "== status while running"
    "$BTX" status p.yaml --store login
    settle
    echo "== status after"
    "$BTX" status p.yaml --store login
}

requeue() {
    echo "== local"
    "$BTX" run p.yaml --store local 2>&1 | tail -1
    echo "== refused"
    "$BTX" submit p.yaml --store cluster 2>&1 && echo "not refused"
    echo "== submit"
    "$BTX" submit p.yaml --store cluster --single-node --profile profile.yaml | tee submitted
    slow=$(awk '/:slow /{print $1}' submitted)
    for _ in $(seq 400); do ls cluster/refs/checkpoint/* >/dev/null 2>&1 && break; sleep 0.05; done
    echo "== term $(date +%s.%N)"
    scancel --signal=TERM --batch "$slow"
    for _ in $(seq 400); do squeue -h -j "$slow" -O "RestartCnt:8" | grep -q 1 && break; sleep 0.05; done
    echo "== status requeued $(date +%s.%N)"
    "$BTX" status p.yaml --store cluster
    settle
    echo "== done $(date +%s.%N)"
    echo "== status after"
    "$BTX" status p.yaml --store cluster
    echo "== slow log"
    cat cluster/slurm-logs/*slow*
    echo "== cancel"
    "$BTX" submit long.yaml --store cluster --single-node | tee long-submitted
    for _ in $(seq 400); do squeue -h -t running | grep -q . && break; sleep 0.05; done
    "$BTX" cancel long.yaml --store cluster
    settle
    "$BTX" cancel long.yaml --store cluster
    echo "== left"
    squeue -h -o "%i %T"
    echo "== end"
}

"$SCENARIO"
echo "== squeue"
squeue -t all -o "%i %j %T %r"
