# Shared by the shell harnesses (tests/clients/run.sh, tests/apps/run.sh): installing pinned
# npm packages once into a cache outside the clone, and starting and stopping the server.
# Source it after defining `say` and `die`; it defines functions only.

# npm_install_cached CACHE_DIR HERE: `npm ci` the package.json/package-lock.json in HERE once
# into CACHE_DIR/HASH (the pin files' hash; other hashes' installs are removed), and link
# HERE/node_modules to it (a real directory there is used as it is).
npm_install_cached() {
  local cache_dir=$1 here=$2 key dir t0
  command -v npm >/dev/null || die "npm is missing (needed once to install the pinned packages)"
  key=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
  dir="$cache_dir/$key"
  if [ ! -f "$dir/.complete" ]; then
    t0=$(date +%s)
    say "installing the pinned packages (npm ci) into $dir"
    rm -rf "$dir" && mkdir -p "$dir" || die "cannot create $dir"
    cp "$here/package.json" "$here/package-lock.json" "$dir/"
    # npm 11 skips install scripts unless approved; the pinned packages work without them.
    if ! (cd "$dir" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >"$dir/npm-ci.log" 2>&1); then
      tail -20 "$dir/npm-ci.log" >&2
      die "npm ci failed"
    fi
    touch "$dir/.complete"
    say "installed in $(( $(date +%s) - t0 )) s"
    find "$cache_dir" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
  fi
  if [ -e "$here/node_modules" ] && [ ! -L "$here/node_modules" ]; then
    say "using the existing directory $here/node_modules (not the cache)"
  else
    ln -sfn "$dir/node_modules" "$here/node_modules"
  fi
}

# start_server BINARY DIR LOG [NAME=VALUE ...]: `BINARY serve` in DIR on a free loopback port
# (port 0: the server logs the one it took), with a 2 s shutdown grace, a generous rate limit
# (the harnesses do not test limits), the given variables and no VIZIER_* variable of the
# caller's. Waits for /ready; sets server_pid and base (http://127.0.0.1:PORT).
server_pid=
base=
start_server() {
  local binary=$1 dir=$2 log=$3 unset_vizier=() v ready=
  shift 3
  for v in $(compgen -e | grep '^VIZIER_'); do unset_vizier+=(-u "$v"); done
  mkdir -p "$dir"
  (
    cd "$dir" &&
      exec env "${unset_vizier[@]}" \
        VIZIER_SERVER__BIND=127.0.0.1:0 \
        VIZIER_SERVER__SHUTDOWN_GRACE_MS=2000 \
        VIZIER_RATE_LIMITS__PER_MINUTE=10000 \
        "$@" "$binary" serve
  ) >"$log" 2>&1 &
  server_pid=$!
  base=
  for _ in $(seq 1 600); do
    kill -0 "$server_pid" 2>/dev/null || break
    base=$(grep -o -m1 'serving MCP at http://[0-9.]*:[0-9]*' "$log" | sed 's/^serving MCP at //')
    [ -n "$base" ] && break
    sleep 0.1
  done
  if [ -z "$base" ]; then
    tail -30 "$log" >&2
    die "the server did not start (no 'serving MCP at' line within 60 s)"
  fi
  for _ in $(seq 1 300); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/ready")" = 200 ]; then ready=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$ready" ]; then
    tail -30 "$log" >&2
    die "$base/ready did not answer 200 within 30 s"
  fi
}

# stop_server: SIGTERM, up to 5 s to drain, then SIGKILL.
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=
}

# server_panics LOG: print the log's first panic lines and succeed if it has any.
server_panics() {
  grep -q -i '"panic\|panicked' "$1" || return 1
  grep -i -m5 '"panic\|panicked' "$1" | cut -c1-400
}
