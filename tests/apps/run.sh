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

command -v npm >/dev/null || die "npm is missing (needed once to install the pinned host)"
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || die "node 20 or later is needed (playwright-core, the MCP SDKs); found $(node --version 2>&1)"
chromium=${CHROMIUM:-$(command -v chromium || true)}
[ -x "$chromium" ] || die "chromium is missing (apt-get install chromium)"
key=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
dir="$cache/apps-host/$key"
if [ ! -f "$dir/.complete" ]; then
  say "installing the host (npm ci) into $dir"
  rm -rf "$dir" && mkdir -p "$dir" || die "cannot create $dir"
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
  # npm 11 skips install scripts unless approved; esbuild finds its binary without them.
  if ! (cd "$dir" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >"$dir/npm-ci.log" 2>&1); then
    tail -20 "$dir/npm-ci.log" >&2
    die "npm ci failed"
  fi
  touch "$dir/.complete"
  find "$cache/apps-host" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
fi
if [ -e "$here/node_modules" ] && [ ! -L "$here/node_modules" ]; then
  say "using the existing directory $here/node_modules (not the cache)"
else
  ln -sfn "$dir/node_modules" "$here/node_modules"
fi

work=$(mktemp -d /tmp/vizier-apps.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

unset_vizier=()
for v in $(compgen -e | grep '^VIZIER_'); do unset_vizier+=(-u "$v"); done
# Auth on with API keys; JWTs are configured (as auth on requires) but unused here.
auth=(VIZIER_AUTH__ENABLED=true VIZIER_AUTH__JWT__ALGORITHMS='["HS256"]'
  VIZIER_AUTH__JWT__ISSUERS='["apps-test"]' VIZIER_AUTH__JWT__AUDIENCE=vizier
  VIZIER_AUTH__JWT__HS_SECRET=apps-test-secret-that-is-long-enough-for-hs256)
vz() { (cd "$work" && env "${unset_vizier[@]}" "${auth[@]}" "$server" "$@"); }
mkdir -p "$work"
(
  cd "$work" &&
    exec env "${unset_vizier[@]}" "${auth[@]}" \
      VIZIER_SERVER__BIND=127.0.0.1:0 \
      VIZIER_SERVER__SHUTDOWN_GRACE_MS=2000 \
      VIZIER_RATE_LIMITS__PER_MINUTE=10000 \
      "$server" serve
) >"$work/server.log" 2>&1 &
server_pid=$!
base=
for _ in $(seq 1 600); do
  kill -0 "$server_pid" 2>/dev/null || break
  base=$(grep -o -m1 'serving MCP at http://[0-9.]*:[0-9]*' "$work/server.log" | sed 's/^serving MCP at //')
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { tail -30 "$work/server.log" >&2; die "the server did not start"; }
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/ready")" = 200 ] && break
  sleep 0.1
done
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
if grep -q -i '"panic\|panicked' "$work/server.log"; then
  grep -i -m5 '"panic\|panicked' "$work/server.log" | cut -c1-400
  die "the server log has panics"
fi
exit $rc
