#!/usr/bin/env bash
set -u
# Catalog at size on PostgreSQL metadata, cache on then off, after catalog-postgres.sh seeded
# the vizier_bench database (run from the repository root).
BIN=${BIN:-$PWD/target/release/vizier}
LG=${LG:-$(ls -t $PWD/target/release/deps/loadgen-* 2>/dev/null | grep -v '\.d$' | head -1)}
KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
PGURL=postgres://postgres@127.0.0.1:5432/vizier_bench
ARGS='{"page_size":10,"filters":[{"col":"viz_type","opr":"eq","value":"xy"}],"search":"revenue"}'
cd /tmp/b2/pg
for cache in 1000 0; do
  env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false VIZIER_METADATA__URL=$PGURL VIZIER_SECRETS__ENCRYPTION_KEY=$KEY VIZIER_CACHE__TTL_MS=$cache $BIN serve < /dev/null >> serve8.log 2>&1 & pid=$!
  for _ in $(seq 1 600); do curl -sf localhost:8080/ready >/dev/null && break; sleep 0.05; done
  $LG --url http://127.0.0.1:8080/mcp --duration 8 --warmup 2 --tool list_charts --args "$ARGS" --concurrency 64 --label "pg cache=$cache"
  $LG --url http://127.0.0.1:8080/mcp --duration 8 --warmup 2 --tool get_chart_info --args '{"identifier":5000}' --concurrency 64 --label "pg cache=$cache"
  kill $pid; wait $pid 2>/dev/null
done
