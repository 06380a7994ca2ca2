#!/usr/bin/env bash
# Issue 23, target 1: uncached catalog calls (cache.ttl_ms = 0) at several catalog sizes, on
# SQLite and PostgreSQL metadata, for one or more vizier binaries, alternated per round (wrk
# 4.1 through benches/scripts/speed.sh; a fresh store seeded per run).
#
#   cargo build --release
#   benches/scripts/catalog-scale.sh target/release/vizier
#   ROUNDS=2 SIZES="10000 100000" BACKENDS=sqlite benches/scripts/catalog-scale.sh /tmp/before /tmp/after
#
# Settings (environment): ROUNDS, SIZES, BACKENDS, CALLS, DURATION (s per call).
# Prints speed.sh's lines: label (binary name and round), backend, charts, cache, call,
# calls/s, p50, p99, errors, load average.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-2}
SIZES=${SIZES:-1000 10000 100000}
BACKENDS=${BACKENDS:-sqlite postgres}
CALLS=${CALLS:-list_charts list_dashboards list_datasets get_chart_info}
DURATION=${DURATION:-6}
[ $# -ge 1 ] || { echo "usage: $0 VIZIER_BINARY..." >&2; exit 2; }
printf '%-14s %-8s %7s %6s %-16s %9s %8s %8s %6s %5s %6s\n' label backend charts cache call \
  calls/s p50_ms p99_ms errors load1 x_bare
for round in $(seq 1 "$ROUNDS"); do
  for backend in $BACKENDS; do
    for charts in $SIZES; do
      for bin in "$@"; do
        BIN=$bin LABEL="$(basename "$bin")-r$round" BACKEND=$backend CHARTS=$charts CACHE_MS=0 \
          BARE=none CALLS=$CALLS DURATION=$DURATION "$ROOT/benches/scripts/speed.sh" 2>/dev/null | tail -n +2
      done
    done
  done
done
