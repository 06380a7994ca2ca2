#!/usr/bin/env bash
set -u
# Run from the repository root after `cargo build --release` and
# `cargo bench --bench loadgen --no-run`. BIN and LG override the binaries.
ROOT=$PWD
BIN=${BIN:-$PWD/target/release/vizier}
LG=${LG:-$(ls -t $PWD/target/release/deps/loadgen-* 2>/dev/null | grep -v '\.d$' | head -1)}
start() { local dir=$1; shift; cd $dir; env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false "$@" $BIN serve < /dev/null >> $dir/serve.log 2>&1 & pid=$!; cd /tmp
  for _ in $(seq 1 600); do curl -sf localhost:8080/ready >/dev/null && break; sleep 0.05; done; }
stop() { kill $pid; wait $pid 2>/dev/null; sleep 0.5; }
rm -rf /tmp/b3 && mkdir -p /tmp/b3
start /tmp/b3; stop
"$ROOT"/benches/seed-catalog.sh sqlite /tmp/b3/data/vizier.db
ARGS='{"page_size":10,"filters":[{"col":"viz_type","opr":"eq","value":"xy"}],"search":"revenue"}'
for cache in 1000 0; do
  start /tmp/b3 VIZIER_CACHE__TTL_MS=$cache
  $LG --url http://127.0.0.1:8080/mcp --duration 8 --warmup 2 --tool list_charts --args "$ARGS" --concurrency 64 --rss-pid $pid --label "sqlite cache=$cache"
  $LG --url http://127.0.0.1:8080/mcp --duration 8 --warmup 2 --tool get_chart_info --args '{"identifier":5000}' --concurrency 64 --rss-pid $pid --label "sqlite cache=$cache"
  stop
done
