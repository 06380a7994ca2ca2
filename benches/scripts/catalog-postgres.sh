#!/usr/bin/env bash
# Side-by-side benchmark run: issue 2 (system tools) and issue 3 (catalog at size), cache on/off.
set -u
# Run from the repository root after `cargo build --release` and
# `cargo bench --bench loadgen --no-run`. BIN and LG override the binaries.
ROOT=$PWD
BIN=${BIN:-$PWD/target/release/vizier}
LG=${LG:-$(ls -t $PWD/target/release/deps/loadgen-* 2>/dev/null | grep -v '\.d$' | head -1)}
KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
start() { # dir, extra env...  (sets $pid)
  local dir=$1; shift
  cd $dir; env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false "$@" $BIN serve < /dev/null >> $dir/serve.log 2>&1 &
  pid=$!; cd /tmp
  for _ in $(seq 1 600); do curl -sf localhost:8080/ready >/dev/null && break; sleep 0.05; done
}
stop() { kill $pid; wait $pid 2>/dev/null; sleep 0.5; }
lg() { $LG --url http://127.0.0.1:8080/mcp --duration 8 --warmup 2 "$@"; }

rm -rf /tmp/b2 && mkdir -p /tmp/b2/sqlite
echo "=== issue 2: system tools, SQLite embedded default"
for cache in 1000 0; do
  start /tmp/b2/sqlite VIZIER_CACHE__TTL_MS=$cache
  sleep 3; echo "idle RSS (cache_ttl=$cache): $(grep VmRSS /proc/$pid/status)"
  lg --tool health_check --concurrency 1,16,64 --rss-pid $pid --label "cache=$cache"
  lg --tool get_instance_info --concurrency 1,16,64 --rss-pid $pid --label "cache=$cache"
  lg --tool get_instance_info --era 2026 --concurrency 64 --rss-pid $pid --label "cache=$cache"
  stop
done

echo "=== issue 3: catalog at size"
"$ROOT"/benches/seed-catalog.sh sqlite /tmp/b2/sqlite/data/vizier.db
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS vizier_bench" -c "CREATE DATABASE vizier_bench"
mkdir -p /tmp/b2/pg; cp -r /tmp/b2/sqlite/data /tmp/b2/pg/ 2>/dev/null
PGURL=postgres://postgres@127.0.0.1:5432/vizier_bench
(cd /tmp/b2/pg && VIZIER_METADATA__URL=$PGURL $BIN migrate)
start /tmp/b2/pg VIZIER_METADATA__URL=$PGURL VIZIER_SECRETS__ENCRYPTION_KEY=$KEY VIZIER_EXAMPLES__ENABLED=true; stop
"$ROOT"/benches/seed-catalog.sh postgres $PGURL
ARGS='{"page_size":10,"filters":[{"col":"viz_type","opr":"eq","value":"xy"}],"search":"revenue"}'
for backend in sqlite pg; do
  for cache in 1000 0; do
    if [ $backend = pg ]; then start /tmp/b2/pg VIZIER_METADATA__URL=$PGURL VIZIER_SECRETS__ENCRYPTION_KEY=$KEY VIZIER_CACHE__TTL_MS=$cache
    else start /tmp/b2/sqlite VIZIER_CACHE__TTL_MS=$cache; fi
    lg --tool list_charts --args "$ARGS" --concurrency 64 --rss-pid $pid --label "$backend cache=$cache"
    lg --tool get_chart_info --args '{"identifier":5000}' --concurrency 64 --rss-pid $pid --label "$backend cache=$cache"
    stop
  done
done
