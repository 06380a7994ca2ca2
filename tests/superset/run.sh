#!/usr/bin/env bash
# Round trips between vizier and a real Apache Superset 6.1.0:
#   tests/superset/run.sh VIZIER_BINARY [--fixture OUT.zip]
#
# 1. Installs apache-superset==6.1.0 (+ flask-caching, cachelib, rich, cachetools, without
#    which `superset db upgrade` fails) into a cached virtualenv
#    ($SUPERSET_VENV, default /var/cache/vizier-ci/superset-venv) when it is missing.
# 2. Initialises a Superset with SQLite metadata in a temporary directory (never
#    load-examples: it downloads), starts it on a free loopback port, and builds through its
#    REST API, on a SQLite data source generated here: a physical and a virtual dataset with
#    metrics, one chart of every type vizier draws (and one it does not), and a dashboard
#    with tabs, markdown and a native filter.
# 3. Superset → vizier: exports the dashboard with Superset, imports the ZIP with
#    `vizier superset import`, serves vizier, and compares each chart's data from vizier's
#    get_chart_data with what Superset's /api/v1/chart/data answers (same rows; floats
#    within 1e-9 relative).
# 4. vizier → Superset: `vizier superset export`, imports that ZIP into the same Superset
#    through its REST import, and checks through the API that the dashboard, charts and
#    datasets exist and every chart's saved query runs.
# Ends with `superset: N passed, N failed` and exits non-zero on any failure or missing tool.
# --fixture OUT.zip also keeps the Superset export (the fast tests' fixture).
set -uo pipefail

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 VIZIER_BINARY [--fixture OUT.zip]" >&2
  exit 2
fi
vizier=$(realpath "$1")
fixture=""
if [ "${2:-}" = "--fixture" ]; then fixture=$(realpath -m "${3:?--fixture needs a path}"); fi
here=$(cd "$(dirname "$0")" && pwd)
venv=${SUPERSET_VENV:-/var/cache/vizier-ci/superset-venv}
started=$(date +%s)

say() { echo "superset: $*"; }
die() { echo "superset: $*" >&2; echo "superset: 0 passed, 1 failed"; exit 1; }

command -v python3 >/dev/null || die "python3 is missing"

if [ ! -f "$venv/.complete" ]; then
  say "installing apache-superset 6.1.0 into $venv"
  t0=$(date +%s)
  rm -rf "$venv" && python3 -m venv "$venv" || die "cannot create $venv"
  if ! timeout 900 "$venv/bin/pip" install -q apache-superset==6.1.0 flask-caching==2.3.1 \
      cachelib==0.13.0 rich cachetools >"$venv.pip.log" 2>&1; then
    tail -20 "$venv.pip.log" >&2
    die "pip install failed"
  fi
  touch "$venv/.complete"
  say "installed in $(( $(date +%s) - t0 )) s"
fi

work=$(mktemp -d /tmp/vizier-superset.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ "${KEEP_WORK:-}" = "" ]; then rm -rf "$work"; else say "kept $work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

export SUPERSET_HOME="$work/superset-home"
export SUPERSET_CONFIG_PATH="$work/superset_config.py"
mkdir -p "$SUPERSET_HOME"
cat >"$SUPERSET_CONFIG_PATH" <<EOF
SECRET_KEY = "vizier-round-trip-$(date +%s%N)"
SQLALCHEMY_DATABASE_URI = "sqlite:///$work/superset.db"
# The harness's data source is a SQLite file.
PREVENT_UNSAFE_DB_CONNECTIONS = False
WTF_CSRF_ENABLED = False
TALISMAN_ENABLED = False
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
FEATURE_FLAGS = {"DASHBOARD_NATIVE_FILTERS": True}
EOF

sup() { "$venv/bin/superset" "$@" >>"$work/superset-cli.log" 2>&1; }
t0=$(date +%s)
sup db upgrade || { tail -20 "$work/superset-cli.log" >&2; die "superset db upgrade failed"; }
sup fab create-admin --username admin --firstname A --lastname D --email admin@example.com \
  --password admin || die "create-admin failed"
sup init || { tail -20 "$work/superset-cli.log" >&2; die "superset init failed"; }
say "Superset initialised in $(( $(date +%s) - t0 )) s"

sport=$(free_port)
"$venv/bin/superset" run -h 127.0.0.1 -p "$sport" --with-threads >"$work/superset-web.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$sport/health" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$sport/health" >/dev/null 2>&1 || { tail -20 "$work/superset-web.log" >&2; die "Superset did not start"; }

# vizier: its own data directory; the data source directory allowed for SQLite.
mkdir -p "$work/vizier" "$work/data"
export VIZIER_METADATA__URL="sqlite://$work/vizier/vizier.db"
export VIZIER_EXAMPLES__PATH="$work/vizier/examples.db"
export VIZIER_DATASOURCES__SQLITE_DIRS="[\"$work/data\"]"
export VIZIER_LOGGING__LEVEL=warn

"$venv/bin/python" "$here/harness.py" \
  --superset "http://127.0.0.1:$sport" --vizier "$vizier" --work "$work" \
  ${fixture:+--fixture "$fixture"}
rc=$?
say "run time $(( $(date +%s) - started )) s"
exit $rc
