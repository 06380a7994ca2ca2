#!/usr/bin/env bash
set -u
# Auth overhead: list_charts at concurrency 64 with RS256 bearer tokens verified (auth on,
# static public key) against auth off, in one run, on the seeded SQLite catalog.
# Target: auth-on calls/s at least 85% of auth-off.
# Run from the repository root after `cargo build --release` and
# `cargo bench --bench loadgen --no-run`. BIN and LG override the binaries.
# MODES="on on-nocache off" adds a row with the verified-token cache off (auth.jwt.cache_entries
# = 0), so every call checks the RSA signature; by default one token is verified once and
# then found in the cache, as for a client that reuses its token.
ROOT=$PWD
BIN=${BIN:-$PWD/target/release/vizier}
LG=${LG:-$(ls -t $PWD/target/release/deps/loadgen-* 2>/dev/null | grep -v '\.d$' | head -1)}
MODES=${MODES:-"on off"}
DIR=/tmp/b-auth
ISS=https://idp.bench
AUD=vizier
start() { local dir=$1; shift; cd $dir; env VIZIER_LOGGING__LEVEL=warn VIZIER_RATE_LIMITS__ENABLED=false "$@" $BIN serve < /dev/null >> $dir/serve.log 2>&1 & pid=$!; cd /tmp
  for _ in $(seq 1 600); do curl -sf localhost:8080/ready >/dev/null && break; sleep 0.05; done; }
stop() { kill $pid; wait $pid 2>/dev/null; sleep 0.5; }
rm -rf $DIR && mkdir -p $DIR
# The key pair and a token for admin (the identity provider's part).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $DIR/jwt-key.pem 2>/dev/null || { echo "openssl genpkey failed"; exit 1; }
TOKEN=$(python3 "$ROOT"/benches/scripts/mint-token.py --key $DIR/jwt-key.pem --issuer $ISS --audience $AUD \
  --kid bench --user admin --public-pem-out $DIR/jwt-public.pem) || { echo "minting the token failed"; exit 1; }
# A first start with auth off creates the store and the admin user (auth on creates no user).
start $DIR; stop
"$ROOT"/benches/seed-catalog.sh sqlite $DIR/data/vizier.db
AUTH_ON="VIZIER_AUTH__ENABLED=true VIZIER_AUTH__JWT__ALGORITHMS=RS256 VIZIER_AUTH__JWT__ISSUERS=$ISS \
  VIZIER_AUTH__JWT__AUDIENCE=$AUD VIZIER_AUTH__JWT__PUBLIC_KEY_PEM=$DIR/jwt-public.pem"
ARGS='{"page_size":10,"filters":[{"col":"viz_type","opr":"eq","value":"xy"}],"search":"revenue"}'
CALL='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_charts","arguments":'"$ARGS"'}}'
for mode in $MODES; do
  case $mode in
    on) start $DIR $AUTH_ON ;;
    on-nocache) start $DIR $AUTH_ON VIZIER_AUTH__JWT__CACHE_ENTRIES=0 ;;
    off) start $DIR VIZIER_AUTH__ENABLED=false ;;
    *) echo "unknown mode $mode (on, on-nocache, off)"; exit 1 ;;
  esac
  # One call first: a refused token would otherwise be measured as a fast error.
  status=$(curl -s -o $DIR/check-$mode.out -w '%{http_code}' localhost:8080/mcp -H 'content-type: application/json' \
    -H 'accept: application/json, text/event-stream' -H 'mcp-protocol-version: 2025-11-25' \
    -H "Authorization: Bearer $TOKEN" -d "$CALL")
  if [ "$status" != 200 ]; then echo "auth $mode: list_charts answered $status: $(head -c 400 $DIR/check-$mode.out)"; stop; exit 1; fi
  # The same arguments in every mode: with auth off the header is sent and ignored.
  $LG --url http://127.0.0.1:8080/mcp --tool list_charts --args "$ARGS" --concurrency 64 --duration 8 --warmup 2 \
    --header "Authorization: Bearer $TOKEN" --rss-pid $pid --label "auth $mode"
  stop
done
