#!/usr/bin/env bash
# Issue 4: execute_sql vs dbhub on the same SQLite file; PG source; added latency.
set -u
. "$(dirname "$0")/wait-ready.sh"
# Run from the repository root after `cargo build --release` and
# `cargo bench --bench loadgen --bench driver --no-run`. BIN, LG and DRV override the binaries.
BIN=${BIN:-$PWD/target/release/vizier}
LG=${LG:-$(ls -t $PWD/target/release/deps/loadgen-* 2>/dev/null | grep -v '\.d$' | head -1)}
DRV=${DRV:-$(ls -t $PWD/target/release/deps/driver-* 2>/dev/null | grep -v '\.d$' | head -1)}
# dbhub: npm i node@22 @bytebase/dbhub@1.4.0 in /tmp/dbhub (Node 22 needed)
export PATH=/tmp/dbhub/node_modules/.bin:$PATH
rm -rf /tmp/b4 && mkdir -p /tmp/b4
cd /tmp/b4
# PG source table
psql -q -h 127.0.0.1 -U postgres -d test -c "DROP TABLE IF EXISTS vz_bench; CREATE TABLE vz_bench AS SELECT g AS id, g % 7 AS grp, (g * 1.5)::numeric(12,2) AS amount, now() - g * interval '1 minute' AS at FROM generate_series(1, 5000) g;"
# (PG source registered through the tool below)
env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false VIZIER_EXAMPLES__PATH=/tmp/dbhub/examples.db $BIN serve < /dev/null > /tmp/b4/serve.log 2>&1 & pid=$!
wait_ready $pid /tmp/b4/serve.log
# the CLI registered pgbench before serve created the examples: look its id up
ID=$(curl -s -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' localhost:8080/mcp -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"register_database","arguments":{"database_name":"pgbench","url":"postgres://postgres@127.0.0.1:5432/test"}}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["structuredContent"]["id"])')
EX=$(curl -s -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' localhost:8080/mcp -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_databases","arguments":{"filters":[{"col":"database_name","opr":"eq","value":"examples"}]}}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["structuredContent"]["items"][0]["id"])')
echo "examples db id=$EX pgbench id=$ID"
(dbhub --transport http --port 8081 --dsn "sqlite:///tmp/dbhub/examples.db" > /tmp/b4/dbhub.log 2>&1 &)
for _ in $(seq 1 200); do curl -s -o /dev/null localhost:8081/ && break; sleep 0.1; done; sleep 1
DBHUB=$(pgrep -f "dbhub --transport http" | head -1)
Q100='SELECT order_line_id, order_id, product_id, quantity, unit_price, discount, line_total FROM order_lines ORDER BY order_line_id LIMIT 100'
QAGG='SELECT category, COUNT(*) AS n, AVG(unit_price) AS avg_price, MAX(unit_cost) AS max_cost FROM products GROUP BY category'
qa() { python3 -c 'import json,sys; print(json.dumps(dict(sql=sys.argv[1], **json.loads(sys.argv[2]))))' "$1" "$2"; }
for c in 1 32; do
  $LG --url http://127.0.0.1:8080/mcp --tool execute_sql --args "$(qa "$Q100" "{\"database_id\":$EX}")" --concurrency $c --duration 8 --warmup 2 --rss-pid $pid --label "vizier sqlite 100-row"
  $LG --url http://127.0.0.1:8081/mcp --tool execute_sql --args "$(qa "$Q100" '{}')" --concurrency $c --duration 8 --warmup 2 --rss-pid $DBHUB --label "dbhub sqlite 100-row"
done
$LG --url http://127.0.0.1:8080/mcp --tool execute_sql --args "$(qa "$QAGG" "{\"database_id\":$EX}")" --concurrency 32 --duration 8 --warmup 2 --rss-pid $pid --label "vizier sqlite group-by"
$LG --url http://127.0.0.1:8081/mcp --tool execute_sql --args "$(qa "$QAGG" '{}')" --concurrency 32 --duration 8 --warmup 2 --rss-pid $DBHUB --label "dbhub sqlite group-by"
PQ100='SELECT id, grp, amount, at FROM vz_bench ORDER BY id LIMIT 100'
PQAGG='SELECT grp, COUNT(*) AS n, SUM(amount) AS total FROM vz_bench GROUP BY grp'
$LG --url http://127.0.0.1:8080/mcp --tool execute_sql --args "$(qa "$PQ100" "{\"database_id\":$ID}")" --concurrency 1,32 --duration 8 --warmup 2 --rss-pid $pid --label "vizier pg 100-row"
$LG --url http://127.0.0.1:8080/mcp --tool execute_sql --args "$(qa "$PQAGG" "{\"database_id\":$ID}")" --concurrency 32 --duration 8 --warmup 2 --rss-pid $pid --label "vizier pg group-by"
# The same SQL straight through the driver, one connection, calls in turn: the baseline of the
# added latency (compare with the c=1 p50 above)
$DRV --sqlite /tmp/dbhub/examples.db --sql "$Q100"
$DRV --postgres postgres://postgres@127.0.0.1:5432/test --sql "$PQ100"
# execution_time_ms (connection in hand → last row) as reported by vizier, 200 sequential calls
for db in $EX $ID; do
  q="$Q100"; [ "$db" = "$ID" ] && q="$PQ100"
  body=$(python3 -c 'import json,sys; print(json.dumps({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"execute_sql","arguments":{"database_id":int(sys.argv[1]),"sql":sys.argv[2]}}}))' $db "$q")
  for i in $(seq 1 200); do curl -s -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' localhost:8080/mcp -d "$body"; echo; done | python3 -c '
import json,sys,statistics
v=[json.loads(l)["result"]["structuredContent"]["execution_time_ms"] for l in sys.stdin if l.strip()]
print(f"db {sys.argv[1]}: driver execution_time_ms median {statistics.median(v):.3f} over {len(v)} calls")' $db
done
kill $pid; pkill -f "dbhub --transport http"
