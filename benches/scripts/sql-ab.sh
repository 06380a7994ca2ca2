#!/usr/bin/env bash
# Issue 4, A/B: execute_sql of the 100-row SELECT on the example SQLite data, concurrency 32,
# against one vizier binary; run it alternately for two builds to compare them side by side.
# Usage (repository root, after `cargo bench --bench loadgen --no-run`):
#   [SOURCE=pg] [CONC=32] bash benches/scripts/sql-ab.sh BIN LABEL [perf]
# With `perf`, a 6 s CPU profile of the server under the load goes to /tmp/perf-LABEL.data.
# SOURCE=pg runs the 100-row SELECT on a PostgreSQL source instead (table vz_bench in the
# local database `test`, 5,000 rows, made here), CONC the concurrency levels (e.g. 1,32).
set -u
. "$(dirname "$0")/wait-ready.sh"
BIN=$1; LABEL=$2
LG=${LG:-$(ls -t $PWD/target/release/deps/loadgen-* 2>/dev/null | grep -v '\.d$' | head -1)}
DIR=${DIR:-/tmp/sql-ab}
mkdir -p $DIR && cd $DIR
env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false VIZIER_EXAMPLES__PATH=$DIR/examples.db \
  $BIN serve < /dev/null > serve.log 2>&1 & pid=$!
wait_ready $pid $DIR/serve.log
ARGS='{"sql":"SELECT order_line_id, order_id, product_id, quantity, unit_price, discount, line_total FROM order_lines ORDER BY order_line_id LIMIT 100","database_id":1}'
if [ "${SOURCE:-}" = pg ]; then
  psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE TABLE IF NOT EXISTS vz_bench AS SELECT g AS id, g % 7 AS grp, (g * 1.5)::numeric(12,2) AS amount, now() - g * interval '1 minute' AS at FROM generate_series(1, 5000) g;"
  rpc() { curl -s -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' localhost:8080/mcp -d "$1"; }
  ID=$(rpc '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_databases","arguments":{"filters":[{"col":"database_name","opr":"eq","value":"pgbench"}]}}}' | python3 -c 'import json,sys; i=json.load(sys.stdin)["result"]["structuredContent"]["items"]; print(i[0]["id"] if i else "")')
  [ -n "$ID" ] || ID=$(rpc '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"register_database","arguments":{"database_name":"pgbench","url":"postgres://postgres@127.0.0.1:5432/test"}}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["structuredContent"]["id"])')
  ARGS="{\"sql\":\"SELECT id, grp, amount, at FROM vz_bench ORDER BY id LIMIT 100\",\"database_id\":$ID}"
fi
if [ "${3:-}" = perf ]; then
  $LG --url http://127.0.0.1:8080/mcp --tool execute_sql --args "$ARGS" --concurrency 32 --duration 14 --warmup 2 --label "$LABEL" > lg.out 2>&1 & lgp=$!
  sleep 5; perf record -F 999 -g -p $pid -o /tmp/perf-$LABEL.data -- sleep 6 > /dev/null 2>&1
  wait $lgp; tail -1 lg.out
else
  # Throughput swings with the shared machine's load; the server's CPU time per call (user +
  # system, over every call of the run, warm-up included) is steadier for an A/B.
  calls() { curl -s localhost:8080/metrics | awk '/^mcp_requests_total\{tool="execute_sql",status="ok"\}/ {print $2}'; }
  cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }
  c0=$(calls); c0=${c0:-0}; t0=$(cpu)
  $LG --url http://127.0.0.1:8080/mcp --tool execute_sql --args "$ARGS" --concurrency ${CONC:-32} --duration 8 --warmup 2 --label "$LABEL" ${VERBOSE:+--verbose} 2>&1 | grep -v '^label'
  c1=$(calls); t1=$(cpu)
  echo "$LABEL server CPU per call: $(python3 -c "print(f'{($t1 - $t0) * 10000 / ($c1 - $c0):.0f} µs over {$c1 - $c0} calls')")"
fi
kill $pid; wait $pid 2>/dev/null
