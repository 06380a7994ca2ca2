#!/usr/bin/env bash
# vizier's MCP Apps views in a real host, in headless chromium:
#   tests/apps/run.sh SERVER_BINARY
#
# Starts `SERVER_BINARY serve` with auth on (an admin and a gamma user with API keys) on a
# free loopback port with a fresh data directory, then runs run.mjs: the SDK's AppBridge
# (@modelcontextprotocol/ext-apps, host side) in Debian's chromium, driven by playwright-core,
# talking to vizier through @modelcontextprotocol/client. Screenshots go to
# $APPS_OUT (default target/apps-host), to be looked at. Ends with `apps: N passed, N failed`.
#
# Versions are pinned by package-lock.json and installed once into
# $MCP_CLIENTS_CACHE (default /var/cache/vizier-ci)/apps-host/HASH (npm ci; node 20+ and
# chromium from the machine). Nothing is fetched at run time.
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 SERVER_BINARY (an executable vizier)" >&2
  exit 2
fi
server=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
cache=${MCP_CLIENTS_CACHE:-/var/cache/vizier-ci}
out=$(realpath -m "${APPS_OUT:-$here/../../target/apps-host}")

say() { echo "apps: $*"; }
die() { echo "apps: $*" >&2; echo "apps: 0 passed, 1 failed"; exit 1; }
# shellcheck source=tests/lib/harness.sh
. "$here/../lib/harness.sh"

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || die "node 20 or later is needed (playwright-core, the MCP SDKs); found $(node --version 2>&1)"
chromium=${CHROMIUM:-$(command -v chromium || true)}
[ -x "$chromium" ] || die "chromium is missing (apt-get install chromium)"
npm_install_cached "$cache/apps-host" "$here"

work=$(mktemp -d /tmp/vizier-apps.XXXXXX)
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

unset_vizier=()
for v in $(compgen -e | grep '^VIZIER_'); do unset_vizier+=(-u "$v"); done
# Auth on with API keys; JWTs are configured (as auth on requires) but unused here.
auth=(VIZIER_AUTH__ENABLED=true VIZIER_AUTH__JWT__ALGORITHMS='["HS256"]'
  VIZIER_AUTH__JWT__ISSUERS='["apps-test"]' VIZIER_AUTH__JWT__AUDIENCE=vizier
  VIZIER_AUTH__JWT__HS_SECRET=apps-test-secret-that-is-long-enough-for-hs256)
vz() { (cd "$work" && env "${unset_vizier[@]}" "${auth[@]}" "$server" "$@"); }
start_server "$server" "$work" "$work/server.log" "${auth[@]}"
vz user create apps-admin --role admin >/dev/null || die "cannot create the admin user"
vz user create apps-gamma --role gamma >/dev/null || die "cannot create the gamma user"
admin_key=$(vz api-key create --user apps-admin --name apps-host | grep -o 'vz_[A-Za-z0-9_-]*' | head -1)
gamma_key=$(vz api-key create --user apps-gamma --name apps-host | grep -o 'vz_[A-Za-z0-9_-]*' | head -1)
[ -n "$admin_key" ] && [ -n "$gamma_key" ] || die "cannot create API keys"
say "server at $base/mcp; screenshots in $out"

cd "$here" || die "cannot cd to $here"
CHROMIUM="$chromium" timeout --kill-after=5 300 node run.mjs "$base/mcp" "$admin_key" "$gamma_key" "$out"
rc=$?
if ! kill -0 "$server_pid" 2>/dev/null; then
  tail -30 "$work/server.log"
  die "the server exited during the run"
fi
server_panics "$work/server.log" && die "the server log has panics"
exit $rc
