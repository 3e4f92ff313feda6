#!/bin/sh
# The demo, from a fresh clone: installs what is missing, builds, starts the bundled demo shop
# upstream, a redis-server for the shared cache, and the three BFF profiles (web, mobile,
# partner), and prints URLs to try.
# Ctrl-C stops everything.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

UPSTREAM_PORT=${UPSTREAM_PORT:-9100}
export USERS_URL="http://127.0.0.1:$UPSTREAM_PORT" ORDERS_URL="http://127.0.0.1:$UPSTREAM_PORT"
export CATALOG_URL="http://127.0.0.1:$UPSTREAM_PORT" NOTIFICATIONS_URL="http://127.0.0.1:$UPSTREAM_PORT"
export SHIPPING_URL="http://127.0.0.1:$UPSTREAM_PORT"
export BFF_ACCESS_LOG=${BFF_ACCESS_LOG:-off}
REDIS_PORT=${REDIS_PORT:-6390}
export BFF_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"

build/bffd check bff/web bff/mobile bff/partner
build/tests/upstream/demo_upstream --port "$UPSTREAM_PORT" --latency-ms "${UPSTREAM_LATENCY_MS:-5}" >/dev/null &
UPSTREAM_PID=$!
RUN=$(mktemp -d)
# The cache's second level: a throwaway redis-server (no persistence) on its own port.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN" >"$RUN/redis.out" 2>&1 &
REDIS_PID=$!
# The admin API (cache purge, reload) on its own port, with a demo token.
ADMIN_PORT=${ADMIN_PORT:-8090}
export BFFD_ADMIN_TOKEN=${BFFD_ADMIN_TOKEN:-demo-admin-token-change-me}
build/bffd --profile bff/web --profile bff/mobile --profile bff/partner \
    --admin "127.0.0.1:$ADMIN_PORT" >"$RUN/bffd.out" 2>&1 &
BFFD_PID=$!
trap 'kill $BFFD_PID $UPSTREAM_PID $REDIS_PID $TAIL_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$RUN"' INT TERM EXIT
TAIL_PID=

# Both must really be up (a port held by something else is a failure, not a half demo).
up() { for i in $(seq 1 50); do curl -skf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
kill -0 $UPSTREAM_PID 2>/dev/null && up "http://127.0.0.1:$UPSTREAM_PORT/users/1" ||
    { echo "demo: the demo upstream did not start on port $UPSTREAM_PORT (in use? set UPSTREAM_PORT)"; exit 1; }
for i in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
kill -0 $REDIS_PID 2>/dev/null ||
    { cat "$RUN/redis.out"; echo "demo: redis-server did not start on port $REDIS_PORT (in use? set REDIS_PORT)"; exit 1; }
# Each profile says where it listens (profile.yaml, or BFF_*_LISTEN): follow what it says.
for i in $(seq 1 50); do
    [ "$(grep -c '^bffd: profile .* listening on ' "$RUN/bffd.out")" -ge 3 ] && break
    kill -0 $BFFD_PID 2>/dev/null || break
    sleep 0.1
done
ADDRS=$(sed -n 's/^bffd: profile [^ ]* listening on \([^ ]*\) .*/\1/p' "$RUN/bffd.out")
[ -n "$ADDRS" ] || { cat "$RUN/bffd.out"; echo "demo: bffd did not start (see its message above)"; exit 1; }
for addr in $ADDRS; do
    kill -0 $BFFD_PID 2>/dev/null && up "$addr/health" ||
        { echo "demo: bffd is not serving on $addr (see its message above)"; exit 1; }
done
cat "$RUN/bffd.out"
tail -n 0 -f "$RUN/bffd.out" &   # access log lines, if BFF_ACCESS_LOG says so
TAIL_PID=$!

cat <<EOT

bffd demo is running (upstream latency ${UPSTREAM_LATENCY_MS:-5} ms per call). Try:

  web (rich, nested)         curl -s localhost:8081/dashboard/42
                             curl -s localhost:8081/orders/o-42-1          # chained + for-each
                             curl -s localhost:8081/users/42/settings      # deep merge with defaults
  mobile (flat, minimal)     curl -s localhost:8082/dashboard/42
                             curl -s localhost:8082/orders/latest/42/tracking
                             curl -s localhost:8082/orders/o-42-1/items
  partner (versioned, /v1)   curl -s localhost:8083/v1/customers/42/summary
                             curl -s localhost:8083/v1/orders/o-42-1/shipment
                             curl -s localhost:8083/v1/customers/42/offers  # batch call
                             curl -s localhost:8083/v1/customers/42/orders # a stored GraphQL operation
  GraphQL (same sources)     curl -s localhost:8081/graphql -H 'content-type: application/json' \\
                                  -d '{"query": "{ user(id: 42) { name orders(limit: 2) { id status items { product { name } } } } }"}'
  health                     curl -s localhost:8081/health   (8082, 8083 alike)
  see the timings            curl -si localhost:8082/dashboard/42 | grep -i server-timing
  HTTP/2 (h2c)               curl -s --http2-prior-knowledge localhost:8082/dashboard/42
  cached (L1 + Redis)        curl -si localhost:8081/users/42/settings | grep -i -e x-cache -e etag -e age
                             (run it twice: miss, then hit; Redis holds it: redis-cli -p $REDIS_PORT keys 'bffd:*')
  auth (demo token, JWT)     TOKEN=\$(sh scripts/demo-token.sh 42)
                             curl -s localhost:8082/me/dashboard -H "authorization: Bearer \$TOKEN"
                             curl -s localhost:8081/me/settings --cookie "session=\$TOKEN"   # web: session cookie
  API key + rate limit       curl -si localhost:8083/v2/customers/42/summary -H 'x-api-key: demo-partner-key-0123456789'
  purge (admin API)          curl -s localhost:$ADMIN_PORT/cache/purge -H 'authorization: Bearer $BFFD_ADMIN_TOKEN' \\
                                  -d '{"tags": ["user:42"]}'
  a write                    curl -s -X POST localhost:8081/users/42/orders -H 'content-type: application/json' \\
                                  -d '{"items": [{"sku": "p-1", "qty": 2}], "note": "gift"}'

Break a service and watch bffd cope (the demo upstream's switch, no spec edited):
  partial answer             curl -s -X POST 'localhost:$UPSTREAM_PORT/__chaos?service=catalog&status=503'
                             curl -si localhost:8082/dashboard/42      # bff-partial: true, "errors"
  circuit breaker opens      for i in \$(seq 20); do curl -s localhost:8082/dashboard/42 >/dev/null; done
                             curl -s localhost:8082/dashboard/42       # reason "circuit open": no call made
  a slow service             curl -s -X POST 'localhost:$UPSTREAM_PORT/__chaos?service=notifications&delay_ms=900'
                             curl -s localhost:8082/dashboard/42       # answered at the endpoint's deadline
  stale if error             curl -s -X POST 'localhost:$UPSTREAM_PORT/__chaos?service=users&status=503'
                             curl -si localhost:8081/users/42/settings   # after 30s: X-Cache: stale, still 200
  heal everything            curl -s -X POST localhost:$UPSTREAM_PORT/__chaos

Ctrl-C stops the demo.
EOT
wait $BFFD_PID
