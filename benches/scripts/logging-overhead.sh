#!/usr/bin/env bash
set -u
# Needs a seeded store: catalog-sqlite.sh leaves one in /tmp/b3 (DIR overrides).
# Run from the repository root after `cargo build --release` and
# `cargo bench --bench loadgen --no-run`. BIN and LG override the binaries.
BIN=${BIN:-$PWD/target/release/vizier}
LG=${LG:-$(ls -t $PWD/target/release/deps/loadgen-* 2>/dev/null | grep -v '\.d$' | head -1)}
DIR=${DIR:-/tmp/b3}
cd $DIR
ARGS='{"page_size":10,"filters":[{"col":"viz_type","opr":"eq","value":"xy"}],"search":"revenue"}'
for mode in on off on off; do
  if [ $mode = on ]; then env VIZIER_LOGGING__LEVEL=info VIZIER_LOGGING__FORMAT=json VIZIER_METRICS__ENABLED=true VIZIER_RATE_LIMITS__ENABLED=false $BIN serve < /dev/null > $DIR/serve-$mode.log 2>&1 & pid=$!
  else env VIZIER_LOGGING__LEVEL=off VIZIER_METRICS__ENABLED=false VIZIER_RATE_LIMITS__ENABLED=false $BIN serve < /dev/null > $DIR/serve-$mode.log 2>&1 & pid=$!; fi
  until curl -sf localhost:8080/ready >/dev/null; do sleep 0.02; done
  $LG --url http://127.0.0.1:8080/mcp --tool list_charts --args "$ARGS" --concurrency 64 --duration 8 --warmup 2 --label "logs+metrics $mode"
  kill $pid; wait $pid 2>/dev/null
done
