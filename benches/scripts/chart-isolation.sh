#!/usr/bin/env bash
set -u
. "$(dirname "$0")/wait-ready.sh"
# Issue 5's isolation proof: list_charts p99 at concurrency 32 alone, then again while 64
# other clients keep get_chart_preview (png) saturated. Run from the repository root after
# `cargo build --release --bin vizier` and `cargo bench --no-run`.
# The picture cache is off (cache_entries=0) and the 64 clients ask for four different
# pictures, so the render threads never run out of work; RESULTS go to stdout.
# On a shared machine one phase's p99 moves by a fifth from run to run, so the two phases
# alternate ROUNDS times (default 3) on one server and the ratio is taken of the medians.
# Extra arguments are environment settings for the server (VIZIER_SCREENSHOTS__WORKERS=1).
BIN=${BIN:-$PWD/target/release/vizier}
LG=${LG:-$(ls -t $PWD/target/release/deps/loadgen-* 2>/dev/null | grep -v '\.d$' | head -1)}
ROUNDS=${ROUNDS:-3}
OUT=/tmp/b5
rm -rf $OUT && mkdir -p $OUT && cd $OUT
env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false VIZIER_SCREENSHOTS__CACHE_ENTRIES=0 \
  "$@" $BIN serve < /dev/null > serve.log 2>&1 & pid=$!
wait_ready $pid $OUT/serve.log
URL=http://127.0.0.1:8080/mcp
LIST='{"page_size":10,"search":"revenue"}'
# The pictures are charts of the 300-row products table: the query is cheap, so the load is
# rendering (the issue's point), not the example database. Four sizes, so four renders.
PRODUCTS=$(curl -s $URL -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
  -H 'mcp-protocol-version: 2025-11-25' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_datasets","arguments":{"filters":[{"col":"table_name","opr":"eq","value":"products"}]}}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["structuredContent"]["items"][0]["id"])')
CONFIG='{"chart_type":"xy","kind":"bar","x":"subcategory","metrics":[{"column":"unit_price","aggregate":"AVG","label":"avg price"}],"group_by":["category"],"stacked":true}'

# One list_charts phase of 8 s (after 2 s of warm-up); its report line goes to $OUT/$1.txt.
list_phase() {
  $LG --url $URL --duration 8 --warmup 2 --tool list_charts --args "$LIST" --concurrency 32 \
    --label "$1" > $OUT/$1.txt 2>&1
  grep -E "^$1 " $OUT/$1.txt
}

for round in $(seq 1 "$ROUNDS"); do
  list_phase "alone-$round"
  pngs=()
  for w in 800 900 1000 1100; do
    $LG --url $URL --duration 14 --warmup 0 --tool get_chart_preview \
      --args "{\"dataset_id\":$PRODUCTS,\"config\":$CONFIG,\"format\":\"png\",\"width\":$w}" \
      --concurrency 16 --label "png-w$w-r$round" > $OUT/png-$w-$round.txt 2>&1 &
    pngs+=($!)
  done
  sleep 2
  list_phase "loaded-$round"
  # Only the picture clients: a bare `wait` would wait for the server too.
  wait "${pngs[@]}"
  grep -hE "^png-" $OUT/png-*-$round.txt
done

# Medians of the p99 column over the rounds, and their ratio.
python3 - "$OUT" "$ROUNDS" <<'EOF'
import statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def p99(name):
    for line in open(f"{out}/{name}.txt"):
        if line.startswith(name + " "):
            return float(line.split()[-4])
    sys.exit(f"no result line in {out}/{name}.txt")
alone = [p99(f"alone-{r}") for r in range(1, rounds + 1)]
loaded = [p99(f"loaded-{r}") for r in range(1, rounds + 1)]
a, l = statistics.median(alone), statistics.median(loaded)
print(f"list_charts p99 alone  {alone} ms, median {a:.2f}")
print(f"list_charts p99 loaded {loaded} ms, median {l:.2f}")
print(f"ratio of medians {l / a:.2f} (target <= 1.5)")
EOF
curl -s localhost:8080/metrics | grep -E '^vizier_screenshot_(render_seconds_(sum|count)|refusals_total|queue_depth)'
kill $pid; wait $pid 2>/dev/null
