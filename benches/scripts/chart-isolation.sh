#!/usr/bin/env bash
set -u
. "$(dirname "$0")/wait-ready.sh"
# Issue 5's isolation proof: list_charts p99 at concurrency 32 alone, then again while 64
# other clients keep get_chart_preview (png) saturated. Run from the repository root after
# `cargo build --release --bin vizier` and `cargo bench --no-run`.
# The picture cache is off (cache_entries=0) and the 64 clients ask for four different
# pictures, so the render threads never run out of work; RESULTS go to stdout.
ROOT=$PWD
BIN=${BIN:-$PWD/target/release/vizier}
LG=${LG:-$(ls -t $PWD/target/release/deps/loadgen-* 2>/dev/null | grep -v '\.d$' | head -1)}
rm -rf /tmp/b5 && mkdir -p /tmp/b5 && cd /tmp/b5
env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false VIZIER_SCREENSHOTS__CACHE_ENTRIES=0 \
  "$@" $BIN serve < /dev/null > serve.log 2>&1 & pid=$!
wait_ready $pid /tmp/b5/serve.log
URL=http://127.0.0.1:8080/mcp
LIST='{"page_size":10,"search":"revenue"}'
$LG --url $URL --duration 10 --warmup 2 --tool list_charts --args "$LIST" --concurrency 32 --label "list_charts alone"
# The pictures are charts of the 300-row products table: the query is cheap, so the load is
# rendering (the issue's point), not the example database. Four sizes, so four renders.
PRODUCTS=$(curl -s $URL -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
  -H 'mcp-protocol-version: 2025-11-25' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_datasets","arguments":{"filters":[{"col":"table_name","opr":"eq","value":"products"}]}}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["structuredContent"]["items"][0]["id"])')
CONFIG='{"chart_type":"xy","kind":"bar","x":"subcategory","metrics":[{"column":"unit_price","aggregate":"AVG","label":"avg price"}],"group_by":["category"],"stacked":true}'
for w in 800 900 1000 1100; do
  $LG --url $URL --duration 16 --warmup 0 --tool get_chart_preview \
    --args "{\"dataset_id\":$PRODUCTS,\"config\":$CONFIG,\"format\":\"png\",\"width\":$w}" \
    --concurrency 16 --label "png width $w" > /tmp/b5/png-$w.txt 2>&1 &
done
pngs=$(jobs -p | grep -vx "$pid")
sleep 2
$LG --url $URL --duration 10 --warmup 2 --tool list_charts --args "$LIST" --concurrency 32 --label "list_charts with 64 png clients"
# Only the picture clients: a bare `wait` would wait for the server too.
wait $pngs
cat /tmp/b5/png-*.txt
curl -s localhost:8080/metrics | grep -E '^vizier_screenshot_(render_seconds_(sum|count)|refusals_total|queue_depth)'
kill $pid; wait $pid 2>/dev/null
