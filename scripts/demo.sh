#!/bin/sh
# The demo, from a fresh clone: installs what is missing, builds, starts the bundled demo shop
# upstream and the three BFF profiles (web, mobile, partner), and prints URLs to try.
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

build/bffd check bff/web bff/mobile bff/partner
build/tests/upstream/demo_upstream --port "$UPSTREAM_PORT" --latency-ms "${UPSTREAM_LATENCY_MS:-5}" >/dev/null &
UPSTREAM_PID=$!
build/bffd --profile bff/web --profile bff/mobile --profile bff/partner &
BFFD_PID=$!
trap 'kill $BFFD_PID $UPSTREAM_PID 2>/dev/null; wait 2>/dev/null' INT TERM EXIT

# Both must really be up (a port held by something else is a failure, not a half demo).
up() { for i in $(seq 1 50); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
kill -0 $UPSTREAM_PID 2>/dev/null && up "http://127.0.0.1:$UPSTREAM_PORT/users/1" ||
    { echo "demo: the demo upstream did not start on port $UPSTREAM_PORT (in use? set UPSTREAM_PORT)"; exit 1; }
for port in 8081 8082 8083; do
    kill -0 $BFFD_PID 2>/dev/null && up "http://127.0.0.1:$port/health" ||
        { echo "demo: bffd is not serving on port $port (see its message above)"; exit 1; }
done

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
  health                     curl -s localhost:8081/health   (8082, 8083 alike)
  see the timings            curl -si localhost:8082/dashboard/42 | grep -i server-timing
  HTTP/2 (h2c)               curl -s --http2-prior-knowledge localhost:8082/dashboard/42

Ctrl-C stops the demo.
EOT
wait $BFFD_PID
