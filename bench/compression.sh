#!/bin/sh
# Would brotli pay over gzip for bffd's answers? Fetches real composed answers (the web and
# mobile dashboards, an order, a partner list) from bffd against the demo upstream, then
# compresses each with zlib (gzip, as libh2o's filter) and libbrotlienc per level: size and
# time per body. Needs libbrotli-dev and zlib1g-dev (not installed by the test command).
#   usage: bench/compression.sh
set -eu
cd "$(dirname "$0")/.."
BUILD=${BFF_BUILD_DIR:-build}
UP_PORT=19300 WEB=18101 MOBILE=18102 PARTNER=18103
DIR=$(mktemp -d)
PIDS=""
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
cc -O2 -o "$DIR/cmp" bench/compress_cmp.c -lbrotlienc -lz
"$BUILD"/tests/upstream/demo_upstream --port $UP_PORT >/dev/null &
PIDS="$PIDS $!"
for p in web:$WEB mobile:$MOBILE partner:$PARTNER; do
    USERS_URL=http://127.0.0.1:$UP_PORT ORDERS_URL=http://127.0.0.1:$UP_PORT \
    CATALOG_URL=http://127.0.0.1:$UP_PORT NOTIFICATIONS_URL=http://127.0.0.1:$UP_PORT \
    SHIPPING_URL=http://127.0.0.1:$UP_PORT BFF_ACCESS_LOG=off \
        "$BUILD"/bffd --profile bff/${p%%:*} --threads 1 --listen 127.0.0.1:${p##*:} >/dev/null 2>&1 &
    PIDS="$PIDS $!"
done
for port in $WEB $MOBILE $PARTNER; do
    for i in $(seq 1 100); do curl -sf http://127.0.0.1:$port/health >/dev/null 2>&1 && break; sleep 0.1; done
done
curl -sf localhost:$WEB/dashboard/42 >"$DIR/web-dashboard.json"
curl -sf localhost:$MOBILE/dashboard/42 >"$DIR/mobile-dashboard.json"
curl -sf localhost:$WEB/orders/o-42-1 >"$DIR/web-order.json" || true
curl -sf localhost:$PARTNER/v1/customers/42/orders >"$DIR/partner-orders.json" || true
for f in "$DIR"/*.json; do [ -s "$f" ] || rm -f "$f"; done
"$DIR/cmp" "$DIR"/*.json
