#!/usr/bin/env bash
# btxpipe soak: the store's hardening figures (issue 15), one JSON line per figure on stdout.
#
#   Tests/Soak/soak.sh [figure...]      figures: kill9 flips diskfull gcrace (default: all)
#
# Environment (defaults are the full soak; the slice in `make test` sets small counts):
#   BTX             the btxpipe binary            (.build/release/btxpipe)
#   SOAK_PIPELINE   the pipeline run              (pipelines/smoke.yaml)
#   SOAK_KILLS      kill -9s during runs          (20)
#   SOAK_FLIPS      damaged objects, local+remote (100)
#   SOAK_GC_RUNS    concurrent run pairs under a gc loop (1)
#   SOAK_DIR        scratch folder                (a fresh mktemp -d, removed at the end)
# Progress and diagnostics go to stderr; a figure that cannot run prints {"figure":…,"skipped":"why"}.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BTX=${BTX:-$ROOT/.build/release/btxpipe}
PIPELINE=${SOAK_PIPELINE:-$ROOT/pipelines/smoke.yaml}
KILLS=${SOAK_KILLS:-20}
FLIPS=${SOAK_FLIPS:-100}
GC_RUNS=${SOAK_GC_RUNS:-1}
FIGURES=${*:-kill9 flips diskfull gcrace}
OWN_DIR=0
if [ -z "${SOAK_DIR:-}" ]; then SOAK_DIR=$(mktemp -d /tmp/btxpipe-soak.XXXXXX); OWN_DIR=1; fi
export NO_COLOR=1
NGINX_PID=""
MOUNTED=""

log() { echo "soak: $*" >&2; }
cleanup() {
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  [ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null
  [ "$OWN_DIR" = 1 ] && rm -rf "$SOAK_DIR"
}
trap cleanup EXIT

[ -x "$BTX" ] || { echo "soak: $BTX not built (make build)" >&2; exit 2; }
[ -f "$PIPELINE" ] || { echo "soak: no pipeline $PIPELINE" >&2; exit 2; }
NAME=$(sed -n 's/^name: *//p' "$PIPELINE" | head -1)

# A pipeline copy in DIR whose store is DIR/STORE-NAME (the spec's own `store:` is overridden by --store).
setup_dir() { mkdir -p "$1"; cp "$PIPELINE" "$1/p.yaml"; }

# Starts nginx (WebDAV PUT) on a free port serving $SOAK_DIR/nginx/www; sets REMOTE.
start_nginx() {
  [ -n "${REMOTE:-}" ] && return 0
  local nginx; nginx=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$nginx" ] || return 1
  local dir=$SOAK_DIR/nginx port
  mkdir -p "$dir/www" "$dir/body" "$dir/logs"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$dir/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
daemon off;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  server {
    listen 127.0.0.1:$port;
    root $dir/www;
    location / { dav_methods PUT DELETE MKCOL; create_full_put_path on; client_max_body_size 0; }
  }
}
EOF
  "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2>/dev/null &
  NGINX_PID=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && { REMOTE="http://127.0.0.1:$port/btx"; return 0; }
    sleep 0.1
  done
  return 1
}

# "key output" for every action entry of a store, sorted: what a run leaves, minus timings.
entries() {
  python3 - "$1" <<'EOF'
import json, os, sys
d = os.path.join(sys.argv[1], "actions", "v1")
for k in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    if k.startswith("."): continue
    try: print(k, json.load(open(os.path.join(d, k)))["output"])
    except Exception as e: print(k, "unreadable", e)
EOF
}

run_btx() { (cd "$1" && shift && "$BTX" "$@"); }

# Compares a store's entries with the reference's: prints the kinds of the stages whose outputs
# differ, comma-separated (empty: identical). The `report` kind embeds measured wall times
# (throughput columns), so it differs between any two runs and is left out of the comparison.
differing() {
  local dir=$1 store=$2 kinds="" key out
  while read -r key out; do
    local ref; ref=$(awk -v k="$key" '$1 == k {print $2}' "$SOAK_DIR/ref/entries")
    [ "$ref" = "$out" ] && continue
    local kind; kind=$(run_btx "$dir" store show "$out" --store "$store" 2>/dev/null | sed -n 's/^kind: *//p')
    [ "$kind" = report ] && continue
    kinds="$kinds${kinds:+,}${kind:-missing}"
  done < <(entries "$dir/$store")
  [ "$(entries "$dir/$store" | wc -l)" = "$(wc -l < "$SOAK_DIR/ref/entries")" ] || kinds="$kinds${kinds:+,}entry-count"
  echo "$kinds"
}
verify_clean() { run_btx "$1" store verify --store "$2" >/dev/null 2>&1; }

# Reference: one uninterrupted run (shared by the figures that compare against it).
reference() {
  [ -f "$SOAK_DIR/ref/done" ] && return 0
  setup_dir "$SOAK_DIR/ref"
  log "reference run of $NAME"
  local start=$SECONDS
  run_btx "$SOAK_DIR/ref" run p.yaml --store store >"$SOAK_DIR/ref/out" 2>&1 || { log "reference run failed"; tail -5 "$SOAK_DIR/ref/out" >&2; return 1; }
  REF_SECONDS=$((SECONDS - start))
  entries "$SOAK_DIR/ref/store" > "$SOAK_DIR/ref/entries"
  touch "$SOAK_DIR/ref/done"
}

figure_kill9() {
  reference || { echo '{"figure":"kill9","skipped":"reference run failed"}'; return; }
  start_nginx || { echo '{"figure":"kill9","skipped":"nginx unavailable"}'; return; }
  local dir=$SOAK_DIR/kill9 kills=0 attempts=0 start=$SECONDS
  setup_dir "$dir"
  # Kills spread over about one full run: each waits up to 2 × (reference time / kills).
  local window; window=$(python3 -c "print(max(0.2, 2 * ${REF_SECONDS:-20} / max(1, $KILLS)))")
  while [ "$kills" -lt "$KILLS" ] && [ "$attempts" -lt $((KILLS * 3)) ]; do
    attempts=$((attempts + 1))
    (cd "$dir" && exec "$BTX" run p.yaml --store store --remote "$REMOTE" >>"$dir/out" 2>&1) &
    local pid=$!
    # A random moment inside the run: milliseconds up to the reference run's length.
    sleep "$(python3 -c "import random; print(round(random.uniform(0.05, $window), 3))")"
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null; kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null
  done
  local reruns=0 ok=0
  for _ in 1 2 3; do
    reruns=$((reruns + 1))
    if run_btx "$dir" run p.yaml --store store --remote "$REMOTE" >>"$dir/out" 2>&1; then ok=1; break; fi
  done
  entries "$dir/store" > "$dir/entries"
  local same=false clean=false diff; diff=$(differing "$dir" store)
  [ -z "$diff" ] && same=true
  verify_clean "$dir" store && clean=true
  echo "{\"figure\":\"kill9\",\"kills\":$kills,\"final_run_ok\":$([ $ok = 1 ] && echo true || echo false),\"reruns\":$reruns,\"keys_and_outputs_identical\":$same,\"differing\":\"$diff\",\"verify_clean\":$clean,\"entries\":$(wc -l < "$dir/entries"),\"seconds\":$((SECONDS - start))}"
}

# Flips a bit (or truncates) in FILE, chosen by the python RNG seeded with SEED.
damage() {
  python3 - "$1" "$2" <<'EOF'
import os, random, sys
path, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
data = bytearray(open(path, "rb").read())
if rng.random() < 0.5 and len(data) > 1:
    data = data[: rng.randrange(len(data))]
else:
    i = rng.randrange(len(data)); data[i] ^= 1 << rng.randrange(8)
open(path, "wb").write(bytes(data))
EOF
}

figure_flips() {
  reference || { echo '{"figure":"flips","skipped":"reference run failed"}'; return; }
  start_nginx || { echo '{"figure":"flips","skipped":"nginx unavailable"}'; return; }
  local dir=$SOAK_DIR/flips start=$SECONDS
  setup_dir "$dir"
  cp -r "$SOAK_DIR/ref/store" "$dir/store"
  run_btx "$dir" push p.yaml --store store --remote "$REMOTE" >/dev/null 2>&1
  # Half the damage in the local store, half on the remote.
  local local_n=$((FLIPS / 2)) remote_n=$((FLIPS - FLIPS / 2))
  mapfile -t local_objects < <(find "$dir/store/objects/v1" -path '*/tmp' -prune -o -path '*/quarantine' -prune -o -type f -print | shuf -n "$local_n" --random-source=<(yes))
  mapfile -t remote_objects < <(find "$SOAK_DIR/nginx/www/btx/objects" -type f | shuf -n "$remote_n" --random-source=<(yes 2))
  local i=0
  for f in "${local_objects[@]}" "${remote_objects[@]}"; do i=$((i + 1)); damage "$f" "$i"; done
  local detected_local
  detected_local=$(run_btx "$dir" store verify --store store 2>/dev/null | grep -c '^BAD [^:]*/objects/v1/')
  # Local: verify --repair quarantines the damage and drops the entries it breaks, and the next run
  # heals them (recompute or re-pull). Remote: a fresh machine pulls, must refuse every damaged
  # object (the pull fails and it computes the stage itself) and ends with the reference's outputs.
  local healed=false fresh=false used=0
  run_btx "$dir" store verify --store store --repair >/dev/null 2>&1
  run_btx "$dir" run p.yaml --store store --remote "$REMOTE" --no-push >"$dir/heal.out" 2>&1 && healed=true
  run_btx "$dir" run p.yaml --store fresh --remote "$REMOTE" --no-push >"$dir/fresh.out" 2>&1 && fresh=true
  local detected_remote
  detected_remote=$(grep -c 'pull failed' "$dir/fresh.out")
  [ -z "$(differing "$dir" store)" ] || used=$((used + 1))
  [ -z "$(differing "$dir" fresh)" ] || used=$((used + 1))
  local clean=false
  verify_clean "$dir" store && verify_clean "$dir" fresh && clean=true
  echo "{\"figure\":\"flips\",\"damaged_local\":${#local_objects[@]},\"detected_local\":$detected_local,\"damaged_remote\":${#remote_objects[@]},\"remote_pulls_refused\":$detected_remote,\"stores_differing_from_reference\":$used,\"local_rerun_healed\":$healed,\"fresh_pull_run_ok\":$fresh,\"verify_clean\":$clean,\"seconds\":$((SECONDS - start))}"
}

figure_diskfull() {
  reference || { echo '{"figure":"diskfull","skipped":"reference run failed"}'; return; }
  local dir=$SOAK_DIR/diskfull start=$SECONDS
  setup_dir "$dir"
  mkdir -p "$dir/mnt"
  # KiB in the store's files' blocks. NOTE: not `du` of the folder: there each shard directory counts a
  # 4 KiB block that tmpfs does not charge, so on a small store "half of du" can hold the whole run.
  local need; need=$(find "$SOAK_DIR/ref/store" -type f -printf '%k\n' | awk '{s += $1} END {print s + 0}')
  if ! mount -t tmpfs -o size=$((need * 3 / 1024 + 16))m tmpfs "$dir/mnt" 2>/dev/null; then
    log "LOUD: cannot mount a tmpfs here (not root or no CAP_SYS_ADMIN): disk-full figure skipped"
    echo '{"figure":"diskfull","skipped":"mount -t tmpfs not permitted"}'; return
  fi
  MOUNTED=$dir/mnt
  # Leave about half of what a full run needs, so the run fails mid-way on ENOSPC.
  local free; free=$(df -k --output=avail "$dir/mnt" | tail -1 | tr -d ' ')
  dd if=/dev/zero of="$dir/mnt/filler" bs=1K count=$((free - need / 2)) status=none 2>/dev/null
  local failed=false clear=false clean=false completed=false same=false
  run_btx "$dir" run p.yaml --store mnt/store >"$dir/full.out" 2>&1 || failed=true
  grep -q 'No space left on device' "$dir/full.out" && clear=true
  verify_clean "$dir" mnt/store && clean=true
  rm -f "$dir/mnt/filler"
  run_btx "$dir" run p.yaml --store mnt/store >"$dir/after.out" 2>&1 && completed=true
  [ -z "$(differing "$dir" mnt/store)" ] && same=true
  umount "$dir/mnt" && MOUNTED=""
  echo "{\"figure\":\"diskfull\",\"store_kib\":$need,\"run_failed_when_full\":$failed,\"error_names_enospc\":$clear,\"verify_clean_after_failure\":$clean,\"next_run_completed\":$completed,\"outputs_identical\":$same,\"seconds\":$((SECONDS - start))}"
}

figure_gcrace() {
  reference || { echo '{"figure":"gcrace","skipped":"reference run failed"}'; return; }
  local dir=$SOAK_DIR/gcrace start=$SECONDS gcs=0 busy=0 ok=true
  setup_dir "$dir"
  for round in $(seq "$GC_RUNS"); do
    rm -rf "$dir/store"
    (cd "$dir" && exec "$BTX" run p.yaml --store store >"$dir/a.$round" 2>&1) & local a=$!
    (cd "$dir" && exec "$BTX" run p.yaml --store store >"$dir/b.$round" 2>&1) & local b=$!
    while kill -0 "$a" 2>/dev/null || kill -0 "$b" 2>/dev/null; do
      if run_btx "$dir" store gc --store store --yes --grace 0 >/dev/null 2>"$dir/gc.err"; then gcs=$((gcs + 1));
      elif grep -q 'busy' "$dir/gc.err"; then busy=$((busy + 1)); fi
      sleep 0.2
    done
    wait "$a" || ok=false
    wait "$b" || ok=false
  done
  run_btx "$dir" store gc --store store --yes --grace 0 >/dev/null 2>&1 && gcs=$((gcs + 1))
  # Every stage ran exactly once across the two concurrent runs of the last round.
  local ran; ran=$(grep -ho '[0-9]* ran' "$dir/a.$GC_RUNS" "$dir/b.$GC_RUNS" | awk '{s+=$1} END {print s+0}')
  local stages; stages=$(wc -l < "$SOAK_DIR/ref/entries")
  local rerun_cached=false same=false clean=false
  run_btx "$dir" run p.yaml --store store 2>&1 | grep -q "^$NAME: [0-9]* cached$" && rerun_cached=true
  [ -z "$(differing "$dir" store)" ] && same=true
  verify_clean "$dir" store && clean=true
  echo "{\"figure\":\"gcrace\",\"rounds\":$GC_RUNS,\"runs_ok\":$ok,\"gc_completed\":$gcs,\"gc_refused_busy\":$busy,\"stage_runs\":$ran,\"stages\":$stages,\"nothing_lost_rerun_all_cached\":$rerun_cached,\"outputs_identical\":$same,\"verify_clean\":$clean,\"seconds\":$((SECONDS - start))}"
}

for figure in $FIGURES; do
  log "figure $figure"
  "figure_$figure"
done
