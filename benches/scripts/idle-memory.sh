#!/usr/bin/env bash
# Idle memory of issue 23 (target 5): RSS after a first start (an empty directory: the
# metadata store and the example data are generated) and after a later start (the same
# directory), on the embedded default, each measured WAIT seconds after /ready.
#
#   cargo build --release
#   benches/scripts/idle-memory.sh                      # target/release/vizier, 2 rounds
#   ROUNDS=4 benches/scripts/idle-memory.sh /tmp/vizier-a /tmp/vizier-b   # alternated
#
# Prints per start: the binary, the start, ms to /ready, VmRSS, and of it the anonymous
# memory (the heap of both allocators) and the file-backed pages (mostly the binary's code
# mapped in), from /proc/PID/smaps_rollup; all in MB.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -gt 0 ] || set -- "$ROOT/target/release/vizier"
# DROP_CACHES=1 (as root): empty the page cache before each start. The file-backed part
# depends on it: the kernel maps in, around each page a start touches, the neighbours already
# cached, so the same start shows several MB more just after the binary was written or run.
ROUNDS=${ROUNDS:-2}
DROP_CACHES=${DROP_CACHES:-0}
WAIT=${WAIT:-10}
PORT=${PORT:-18570}
WORK=${WORK:-/tmp/vizier-idle-$PORT}

mb() { awk -v k="$1" '$1 == k":" {printf "%.1f", $2 / 1024}' "$2"; }

measure() { # bin start
  local pid t0 t1
  if [ "$DROP_CACHES" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
  t0=$(date +%s%N)
  (cd "$WORK" && exec env VIZIER_SERVER__BIND=127.0.0.1:$PORT VIZIER_LOGGING__LEVEL=warn \
    "$1" serve < /dev/null >> "$WORK/serve.log" 2>&1) &
  pid=$!
  until curl -sf "127.0.0.1:$PORT/ready" > /dev/null; do
    kill -0 "$pid" 2> /dev/null || { echo "vizier exited, see $WORK/serve.log" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  sleep "$WAIT"
  cp "/proc/$pid/smaps_rollup" "$WORK/rollup"
  printf '%-28s %-6s ready_ms=%-6s rss=%-6s anon=%-6s file=%s\n' "$(basename "$1")" "$2" \
    $(( (t1 - t0) / 1000000 )) "$(mb Rss "$WORK/rollup")" "$(mb Anonymous "$WORK/rollup")" \
    "$(awk '$1 == "Rss:" {r = $2} $1 == "Anonymous:" {a = $2} END {printf "%.1f", (r - a) / 1024}' "$WORK/rollup")"
  kill "$pid"; wait "$pid" 2> /dev/null || true
}

for round in $(seq 1 "$ROUNDS"); do
  for bin in "$@"; do
    rm -rf "$WORK"; mkdir -p "$WORK"
    measure "$bin" first
    measure "$bin" later
  done
done
