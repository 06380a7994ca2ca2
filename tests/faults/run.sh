#!/usr/bin/env bash
# Fault suite: drive a running vizier through outages and abuse, bounded in time, loopback
# only:
#   tests/faults/run.sh SERVER_BINARY
#
# Starts a PostgreSQL cluster of its own (initdb into a temporary directory, a free port,
# its socket in that directory; the machine's shared servers are never touched), serves
# `SERVER_BINARY serve` with its metadata store there, and runs faults.py against it:
#   garbage          malformed JSON, wrong types, huge strings -> JSON-RPC errors, no 5xx
#   picture-flood    64 concurrent get_chart_preview for 10 s; list_charts keeps answering
#   partial-body     Content-Length larger than sent -> closed within the body timeout
#   datasource-down  a data source behind a proxy the suite cuts -> `unavailable` naming it,
#                    within the connect timeout; logged once down, once back
#   metadata-down    the cluster stopped -> calls 503 `unavailable` fast, /ready 503 fast;
#                    started again -> ready, and every call's audit record is in the store
#   restart-spool    SIGTERM while the store is down -> records spooled; a restart with the
#                    store up writes them
#   sigterm          SIGTERM with long calls in flight -> exits within shutdown_grace_ms
#   second-signal    a second SIGTERM while draining (long grace) -> exits at once
# and ends with `faults: N passed, N failed`, exiting non-zero if any failed. A missing tool
# (python3, PostgreSQL's initdb/pg_ctl/psql) is a failure, never a skip.
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 SERVER_BINARY (an executable vizier)" >&2
  exit 2
fi
server=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "faults: $*" >&2; echo "faults: 0 passed, 1 failed"; exit 1; }

command -v python3 >/dev/null || die "python3 is missing"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$pgbin" ] || pgbin=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")
for tool in initdb pg_ctl psql; do
  [ -x "$pgbin/$tool" ] || command -v "$tool" >/dev/null || die "PostgreSQL's $tool is missing (apt-get install postgresql)"
done

work=$(mktemp -d /tmp/vizier-faults.XXXXXX)
chmod 755 "$work"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# initdb refuses to run as root: the cluster then belongs to the postgres user.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs a postgres user for initdb"
  as_pg=(runuser -u postgres --)
fi

timeout --kill-after=10 240 python3 "$here/faults.py" \
  --server "$server" --work "$work" --pgbin "$pgbin" ${as_pg[@]+--as-pg "${as_pg[*]}"} \
  ${FAULTS_ONLY:+--only "$FAULTS_ONLY"}
rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "faults: the suite timed out after 240 s"
  echo "faults: 0 passed, 1 failed"
fi
exit "$rc"
