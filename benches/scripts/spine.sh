#!/usr/bin/env bash
set -u
# Run from the repository root after `cargo build --release` and
# `cargo bench --bench loadgen --no-run`. BIN and LG override the binaries.
BIN=${BIN:-$PWD/target/release/vizier}
LG=${LG:-$(ls -t $PWD/target/release/deps/loadgen-* 2>/dev/null | grep -v '\.d$' | head -1)}
rm -rf /tmp/b6 && mkdir -p /tmp/b6 && cd /tmp/b6
t0=$(date +%s%N); env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false $BIN serve < /dev/null > serve1.log 2>&1 & pid=$!
until curl -sf localhost:8080/ready >/dev/null; do sleep 0.01; done; t1=$(date +%s%N)
echo "first start to ready (generates the example data): $(( (t1-t0)/1000000 )) ms"
sleep 10; echo "idle RSS after first start (10 s): $(grep VmRSS /proc/$pid/status)"
kill $pid; wait $pid 2>/dev/null
t0=$(date +%s%N); env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false $BIN serve < /dev/null > serve2.log 2>&1 & pid=$!
until curl -sf localhost:8080/ready >/dev/null; do sleep 0.005; done; t1=$(date +%s%N)
echo "later start to ready: $(( (t1-t0)/1000000 )) ms"
sleep 10; echo "idle RSS after later start (10 s): $(grep VmRSS /proc/$pid/status)"
for era in legacy 2026; do
  $LG --url http://127.0.0.1:8080/mcp --era $era --tool health_check --concurrency 1,16,64 --duration 8 --warmup 2 --rss-pid $pid --label "cache on"
  $LG --url http://127.0.0.1:8080/mcp --era $era --tool get_instance_info --concurrency 1,16,64 --duration 8 --warmup 2 --rss-pid $pid --label "cache on"
done
kill $pid; wait $pid 2>/dev/null
env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false VIZIER_CACHE__TTL_MS=0 $BIN serve < /dev/null > serve3.log 2>&1 & pid=$!
until curl -sf localhost:8080/ready >/dev/null; do sleep 0.01; done
$LG --url http://127.0.0.1:8080/mcp --tool get_instance_info --concurrency 1,16,64 --duration 8 --warmup 2 --rss-pid $pid --label "cache off"
kill $pid; wait $pid 2>/dev/null
