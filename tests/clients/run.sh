#!/usr/bin/env bash
# Drive a running vizier with independent MCP clients:
#   tests/clients/run.sh SERVER_BINARY
#
# Starts `SERVER_BINARY serve` on a free loopback port with a fresh data directory, waits for
# /ready, then runs each client against http://127.0.0.1:PORT/mcp:
#   ts-sdk-1            @modelcontextprotocol/sdk 1.x (initialize handshake)
#   ts-client-2-legacy  @modelcontextprotocol/client 2.x, initialize handshake
#   ts-client-2-modern  @modelcontextprotocol/client 2.x, server/discover -> 2026-07-28
#   inspector           @modelcontextprotocol/inspector --cli tools/list --strict
#   conformance         @modelcontextprotocol/conformance server scenarios, held against
#                       conformance-not-applicable.txt
#   python-legacy       mcp (Python SDK 2.x) mode="legacy" (initialize handshake)
#   python-modern       mcp (Python SDK 2.x) mode="auto" -> 2026-07-28
# and ends with `clients: N passed, N failed`, exiting non-zero if any failed.
#
# Versions are pinned by package-lock.json (Node 22 itself comes from the npm package `node`)
# and requirements.txt. Both are installed once into caches outside the clone, keyed by the
# pin files' hash: $MCP_CLIENTS_CACHE (default /var/cache/vizier-ci)/js-clients/HASH and
# /py-clients/HASH. tests/clients/node_modules is a symlink to the JS cache (git-ignored).
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 SERVER_BINARY (an executable vizier)" >&2
  exit 2
fi
server=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
cache=${MCP_CLIENTS_CACHE:-/var/cache/vizier-ci}
started_all=$(date +%s)

say() { echo "clients: $*"; }
die() { echo "clients: $*" >&2; echo "clients: 0 passed, 1 failed"; exit 1; }
secs_since() { echo $(( $(date +%s) - $1 )); }
# shellcheck source=tests/lib/harness.sh
. "$here/../lib/harness.sh"

# --- JavaScript clients and Node 22 ---------------------------------------------------------
setup_js() {
  npm_install_cached "$cache/js-clients" "$here"
  export PATH="$here/node_modules/node/bin:$PATH"
  case "$(node --version 2>/dev/null)" in
    v22.*) ;;
    *) die "node from the npm package is not v22: $(node --version 2>&1)" ;;
  esac
}

# --- Python client --------------------------------------------------------------------------
setup_py() {
  local key dir t0 py
  py=$(command -v python3) || die "python3 is missing"
  key=$( { "$py" --version; cat "$here/requirements.txt"; } | sha256sum | cut -c1-16)
  dir="$cache/py-clients/$key"
  if [ ! -f "$dir/.complete" ]; then
    t0=$(date +%s)
    say "installing the Python client (pip) into $dir"
    rm -rf "$dir"
    mkdir -p "$cache/py-clients" || die "cannot create $cache/py-clients"
    "$py" -m venv "$dir" || die "python3 -m venv failed"
    if ! timeout 600 "$dir/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" >"$dir/pip.log" 2>&1; then
      tail -20 "$dir/pip.log" >&2
      die "pip install failed"
    fi
    touch "$dir/.complete"
    say "installed in $(secs_since "$t0") s"
    find "$cache/py-clients" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
  fi
  PYTHON="$dir/bin/python"
}

t0=$(date +%s); setup_js; setup_py; setup_secs=$(secs_since "$t0")
say "node $(node --version), $("$PYTHON" --version), set up in ${setup_secs} s"

# --- The server -----------------------------------------------------------------------------
work=$(mktemp -d /tmp/vizier-clients.XXXXXX)
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s)
# A fresh embedded default in its own directory: metadata, example data and key under
# ./data there. A small list page size so that the clients' tools/list really pages.
start_server "$server" "$work/server" "$work/server.log" VIZIER_SERVER__LIST_PAGE_SIZE=20
url="$base/mcp"
say "server $server at $url, ready in $(secs_since "$t0") s"

# --- The clients ----------------------------------------------------------------------------
passed=0
failed=0
summary=()
run_client() {
  local name=$1 limit=$2 rc t0 secs lines
  shift 2
  echo
  echo "== $name"
  t0=$(date +%s)
  timeout --kill-after=5 "$limit" "$@" >"$work/$name.out" 2>"$work/$name.err"
  rc=$?
  secs=$(secs_since "$t0")
  cat "$work/$name.out"
  lines=$(wc -l <"$work/$name.err")
  if [ "$lines" -gt 0 ]; then
    # Client warnings (e.g. schema validators) and crashes: the most frequent lines.
    echo "  stderr: $lines line(s); most frequent:"
    sed -E 's/"[^"]*"/"…"/g' "$work/$name.err" | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /'
    [ "$rc" -ne 0 ] && { echo "  stderr tail:"; tail -5 "$work/$name.err" | cut -c1-400 | sed 's/^/    /'; }
  fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "  FAIL timed out after $limit s"; fi
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); summary+=("PASS  $name (${secs} s)")
  else
    failed=$((failed + 1)); summary+=("FAIL  $name (${secs} s, exit $rc)")
  fi
}

cd "$here" || die "cannot cd to $here"
run_client ts-sdk-1 90 node ts-sdk-1.mjs "$url"
run_client ts-client-2-legacy 90 node ts-client-2.mjs "$url" legacy
run_client ts-client-2-modern 90 node ts-client-2.mjs "$url" auto
run_client inspector 150 node inspector.mjs "$url"
run_client conformance 330 node conformance.mjs "$url" "$work/conformance"
run_client python-legacy 90 "$PYTHON" python_client.py "$url" legacy
run_client python-modern 90 "$PYTHON" python_client.py "$url" auto

echo
if kill -0 "$server_pid" 2>/dev/null; then
  passed=$((passed + 1)); summary+=("PASS  server stayed up")
else
  failed=$((failed + 1)); summary+=("FAIL  server exited during the run")
  tail -30 "$work/server.log"
fi
if server_panics "$work/server.log"; then
  failed=$((failed + 1)); summary+=("FAIL  server log has panics")
fi
stop_server

echo "== summary ($(secs_since "$started_all") s in all; set-up ${setup_secs} s)"
printf '  %s\n' "${summary[@]}"
echo "clients: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
