#!/usr/bin/env bash
# Load figures of issue 23 with wrk (Debian's 4.1) and the stateless 2026-07-28 POST of
# benches/scripts/mcp-call.lua: one release vizier per configuration on a fresh store
# seeded with CHARTS charts, the bare actix-web reference (benches/bare.rs) in the same run.
#
#   cargo build --release && cargo bench --bench bare --no-run
#   benches/scripts/speed.sh                       # SQLite, 10k charts, cache off then on
#   BACKEND=postgres CHARTS=100000 CACHE_MS=0 benches/scripts/speed.sh
#   BIN=/tmp/vizier-before LABEL=before benches/scripts/speed.sh
#
# Settings (environment): BIN (vizier binary), BARE (bare bench binary; "none" skips it),
# BACKEND sqlite|postgres, CHARTS, CACHE_MS (space-separated TTLs, 0 = cache off),
# CALLS (names from the table below), DURATION (s), THREADS, CONNS, PORT, LABEL, WORK.
# Prints one line per call: label, backend, charts, cache, call, calls/s, p50, p99, errors,
# the 1-minute load average at the end of the call, and the ratio to the bare reference.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/target/release/vizier}
BARE=${BARE:-$(ls -t "$ROOT"/target/release/deps/bare-* 2>/dev/null | grep -v '\.d$' | head -1)}
BACKEND=${BACKEND:-sqlite}
CHARTS=${CHARTS:-10000}
CACHE_MS=${CACHE_MS:-0 1000}
CALLS=${CALLS:-list_charts get_chart_info health_check}
DURATION=${DURATION:-8}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
PORT=${PORT:-18080}
BARE_PORT=$((PORT + 10))
LABEL=${LABEL:-$(basename "$BIN")}
WORK=${WORK:-/tmp/vizier-speed-$PORT}
KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
PGADMIN=${PGADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
PGDB=vizier_speed_$PORT
LUA=$ROOT/benches/scripts/mcp-call.lua

# The calls of the issue's table.
args_of() {
  case $1 in
    list_charts) echo '{"page_size":10,"filters":[{"col":"viz_type","opr":"eq","value":"xy"}],"search":"revenue"}' ;;
    list_dashboards) echo '{"page_size":10,"filters":[{"col":"published","opr":"eq","value":true}],"search":"bench"}' ;;
    list_datasets) echo '{"page_size":10,"filters":[{"col":"database_id","opr":"eq","value":1}],"search":"bench"}' ;;
    get_chart_info) echo "{\"identifier\":$(( CHARTS / 2 ))}" ;;
    execute_sql) echo '{"database_id":1,"sql":"SELECT * FROM orders LIMIT 100"}' ;;
    *) echo '{}' ;;
  esac
}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_port() { # pid port what
  for _ in $(seq 1 600); do
    ss -Hltnp "sport = :$2" | grep -q "pid=$1," && return 0
    kill -0 "$1" 2>/dev/null || { echo "$3 exited (port $2 taken?)" >&2; exit 1; }
    sleep 0.05
  done
  echo "$3 did not listen on $2 within 30 s" >&2; exit 1
}

env_of() { # cache ttl
  local e=(VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false
           VIZIER_SERVER__BIND=127.0.0.1:$PORT VIZIER_CACHE__TTL_MS=$1)
  if [ "$BACKEND" = postgres ]; then
    e+=(VIZIER_METADATA__URL=${PGADMIN%/*}/$PGDB VIZIER_SECRETS__ENCRYPTION_KEY=$KEY VIZIER_EXAMPLES__ENABLED=true)
  fi
  echo "${e[@]}"
}

start_vizier() { # cache ttl
  (cd "$WORK" && exec env $(env_of "$1") "$BIN" serve < /dev/null >> "$WORK/serve.log" 2>&1) &
  vpid=$!; pids+=("$vpid")
  wait_port "$vpid" "$PORT" vizier
  for _ in $(seq 1 600); do curl -sf "127.0.0.1:$PORT/ready" >/dev/null && return 0; sleep 0.05; done
  echo "vizier not ready, see $WORK/serve.log" >&2; exit 1
}
stop_vizier() { kill "$vpid"; wait "$vpid" 2>/dev/null || true; sleep 0.5; }

# One call checked by hand (a tool error would be measured as a fast "success" otherwise).
check_call() { # url tool args
  local body
  body=$(MCP_TOOL=$2 MCP_ARGS=$3 lua_body)
  local out
  out=$(curl -s -X POST "$1" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
    -H 'Mcp-Method: tools/call' -H "Mcp-Name: $2" --data-binary "$body")
  if ! grep -q '"result"' <<<"$out" || grep -q '"isError":true' <<<"$out"; then
    echo "call $2 failed: ${out:0:400}" >&2; exit 1
  fi
}
lua_body() {
  printf '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"%s","arguments":%s,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"4.1"},"io.modelcontextprotocol/clientCapabilities":{}}}}' "$MCP_TOOL" "$MCP_ARGS"
}

run_wrk() { # url tool args -> "calls p50 p99 errors"
  MCP_TOOL=$2 MCP_ARGS=$3 wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -s "$LUA" "$1" \
    | sed -n 's/^RESULT calls_per_s=\([0-9]*\) p50_ms=\([0-9.]*\) p99_ms=\([0-9.]*\) errors=\([0-9]*\)$/\1 \2 \3 \4/p'
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# A fresh store, seeded.
rm -rf "$WORK"; mkdir -p "$WORK"
if [ "$BACKEND" = postgres ]; then
  psql -q "$PGADMIN" -c "DROP DATABASE IF EXISTS $PGDB" -c "CREATE DATABASE $PGDB"
  (cd "$WORK" && env $(env_of 0) "$BIN" migrate >> "$WORK/serve.log" 2>&1)
  start_vizier 0; stop_vizier
  "$ROOT/benches/seed-catalog.sh" postgres "${PGADMIN%/*}/$PGDB" "$CHARTS" >&2
else
  start_vizier 0; stop_vizier
  "$ROOT/benches/seed-catalog.sh" sqlite "$WORK/data/vizier.db" "$CHARTS" >&2
fi

bare_rate=
if [ "$BARE" != none ] && [ -n "$BARE" ]; then
  "$BARE" --bind "127.0.0.1:$BARE_PORT" 2>/dev/null & bpid=$!; pids+=("$bpid")
  wait_port "$bpid" "$BARE_PORT" bare
fi

printf '%-14s %-8s %7s %6s %-16s %9s %8s %8s %6s %5s %6s\n' label backend charts cache call \
  calls/s p50_ms p99_ms errors load1 x_bare
for cache in $CACHE_MS; do
  start_vizier "$cache"
  for call in $CALLS; do
    args=$(args_of "$call")
    url=http://127.0.0.1:$PORT/mcp
    check_call "$url" "$call" "$args"
    # Again after a moment: a cold start (the catalog index's first load, after its first
    # read of the store's change counter) is not part of the figures.
    sleep 0.3; check_call "$url" "$call" "$args"
    if [ -n "${bpid:-}" ]; then
      read -r bare_rate _ _ _ < <(run_wrk "http://127.0.0.1:$BARE_PORT/mcp" bare '{}')
      printf '%-14s %-8s %7s %6s %-16s %9s %8s %8s %6s %5s %6s\n' "$LABEL" - - - bare "$bare_rate" - - - "$(load1)" 1.00
    fi
    read -r rate p50 p99 errors < <(run_wrk "$url" "$call" "$args")
    ratio=-
    [ -n "$bare_rate" ] && ratio=$(awk -v a="$rate" -v b="$bare_rate" 'BEGIN { printf "%.2f", a / b }')
    printf '%-14s %-8s %7s %6s %-16s %9s %8s %8s %6s %5s %6s\n' "$LABEL" "$BACKEND" "$CHARTS" "$cache" "$call" \
      "$rate" "$p50" "$p99" "$errors" "$(load1)" "$ratio"
  done
  stop_vizier
done
if [ "$BACKEND" = postgres ]; then psql -q "$PGADMIN" -c "DROP DATABASE IF EXISTS $PGDB"; fi
