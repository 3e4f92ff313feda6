#!/bin/sh
# System calls per composed request: strace -c on bffd (1 worker) while h2load sends N mobile
# dashboards (4 upstream calls each) over 64 HTTP/1.1 connections. strace slows bffd down; the
# counts, not the times, are the figure.
#   usage: bench/syscalls.sh [N]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BFF_BUILD_DIR:-build}
N=${1:-20000}
UP_PORT=19120
BFF_PORT=18093
"$BUILD"/tests/upstream/demo_upstream --port $UP_PORT >/dev/null &
UP=$!
USERS_URL=http://127.0.0.1:$UP_PORT ORDERS_URL=http://127.0.0.1:$UP_PORT CATALOG_URL=http://127.0.0.1:$UP_PORT \
NOTIFICATIONS_URL=http://127.0.0.1:$UP_PORT SHIPPING_URL=http://127.0.0.1:$UP_PORT BFF_ACCESS_LOG=off \
    "$BUILD"/bffd --profile bff/mobile --threads 1 --listen 127.0.0.1:$BFF_PORT >/dev/null &
BFF=$!
OUT=$(mktemp)
trap 'kill $BFF $UP 2>/dev/null; wait 2>/dev/null; rm -f "$OUT"' EXIT INT TERM
sleep 0.5
h2load --h1 -n 5000 -c 64 http://127.0.0.1:$BFF_PORT/dashboard/1 >/dev/null # warm the pool
strace -c -f -p $BFF -o "$OUT" &
ST=$!
sleep 0.5
h2load --h1 -n "$N" -c 64 http://127.0.0.1:$BFF_PORT/dashboard/1 | grep -E "^status codes"
kill -INT $ST
wait $ST 2>/dev/null || true
awk -v n="$N" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {
        printf "%-14s %8.2f per dashboard\n", $NF, $4 / n; sum += $4 }
    END { printf "%-14s %8.2f per dashboard\n", "all", sum / n }' "$OUT"
