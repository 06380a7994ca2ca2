#!/usr/bin/env bash
# Memory under load of issue 23 (target 5): RSS of a release vizier on the embedded default
# (example store) idle, then after LOAD_S seconds of mixed load at concurrency 64 (two wrk
# runs at once, 32 connections each: list_charts with a search, and execute_sql of a 100-row
# SELECT), then every 10 s for AFTER_S seconds with no load: it must stay flat. Rate limits
# are off (the load is meant to run calls, not to be refused); CACHE_MS sets cache.ttl_ms
# (default 1000, the shipped default; 0 = every call computed).
#
#   cargo build --release
#   benches/scripts/load-memory.sh                       # target/release/vizier
#   ROUNDS=2 benches/scripts/load-memory.sh /tmp/vizier-a /tmp/vizier-b   # alternated
#
# Prints per run: the binary, RSS in MB idle, right after the load, and at each 10 s after,
# and the calls/s of each wrk run. Needs wrk (Debian's package) and curl.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -gt 0 ] || set -- "$ROOT/target/release/vizier"
ROUNDS=${ROUNDS:-1}
LOAD_S=${LOAD_S:-60}
AFTER_S=${AFTER_S:-30}
CACHE_MS=${CACHE_MS:-1000}
PORT=${PORT:-18580}
WORK=${WORK:-/tmp/vizier-load-$PORT}
LUA=$ROOT/benches/scripts/mcp-call.lua
URL=http://127.0.0.1:$PORT/mcp
SEARCH='{"page_size":10,"search":"revenue"}'
SQL='{"database_id":1,"sql":"SELECT * FROM orders LIMIT 100"}'

rss() { awk '$1 == "VmRSS:" {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
checked() { # tool args: one call that must succeed
  MCP_TOOL=$1 MCP_ARGS=$2 wrk -t1 -c1 -d1s -s "$LUA" "$URL" | grep -q 'errors=0$' ||
    { echo "$1 failed against $URL" >&2; exit 1; }
}

for round in $(seq 1 "$ROUNDS"); do
  for bin in "$@"; do
    rm -rf "$WORK"; mkdir -p "$WORK"
    (cd "$WORK" && exec env VIZIER_SERVER__BIND=127.0.0.1:$PORT VIZIER_LOGGING__LEVEL=warn \
      VIZIER_RATE_LIMITS__ENABLED=false VIZIER_CACHE__TTL_MS=$CACHE_MS "$bin" serve < /dev/null >> "$WORK/serve.log" 2>&1) &
    pid=$!
    until curl -sf "127.0.0.1:$PORT/ready" > /dev/null; do
      kill -0 "$pid" 2> /dev/null || { echo "vizier exited, see $WORK/serve.log" >&2; exit 1; }
      sleep 0.05
    done
    sleep 5
    idle=$(rss "$pid")
    checked list_charts "$SEARCH"
    checked execute_sql "$SQL"
    MCP_TOOL=list_charts MCP_ARGS=$SEARCH wrk -t1 -c32 -d"${LOAD_S}s" -s "$LUA" "$URL" \
      > "$WORK/list.out" &
    list=$!
    MCP_TOOL=execute_sql MCP_ARGS=$SQL wrk -t1 -c32 -d"${LOAD_S}s" -s "$LUA" "$URL" \
      > "$WORK/sql.out"
    wait "$list"
    loaded=$(rss "$pid")
    after=""
    for _ in $(seq 10 10 "$AFTER_S"); do sleep 10; after="$after $(rss "$pid")"; done
    rate() { sed -n 's/^RESULT calls_per_s=\([0-9]*\).*errors=\([0-9]*\)$/\1 (errors \2)/p' "$1"; }
    printf '%-24s idle=%s loaded=%s after=%s  list_charts=%s execute_sql=%s\n' \
      "$(basename "$bin")" "$idle" "$loaded" "${after# }" "$(rate "$WORK/list.out")" \
      "$(rate "$WORK/sql.out")"
    kill "$pid"; wait "$pid" 2> /dev/null || true
  done
done
