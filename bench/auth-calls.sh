#!/bin/sh
# Redis round trips and system calls per request of the mobile dashboard, with an RS256 bearer
# token and a Redis-backed rate limit (auth) or without (public): strace -c on bffd (1 worker)
# while h2load sends N requests over 32 connections, and Redis's own count of script calls.
# strace slows bffd down; the counts, not the times, are the figure.
#   usage: bench/auth-calls.sh [auth|public] [N]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BFF_BUILD_DIR:-build}
KIND=${1:-auth}; N=${2:-20000}
UP_PORT=19400 BFF_PORT=18400 REDIS_PORT=16400
DIR=$(mktemp -d)
"$BUILD"/tests/upstream/demo_upstream --port $UP_PORT >/dev/null & UP=$!
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" >/dev/null & RD=$!
cp -r bff/mobile "$DIR/mobile"
sed -i "s#\.\./\.\./schemas/#$PWD/schemas/#" "$DIR/mobile/graph.yaml"
sed -i 's#free: { rate: 600/min, burst: 60 }#free: { rate: 1000000000/s, burst: 1000000 }#' "$DIR/mobile/profile.yaml"
sed -e 's#^endpoint: GET /me/dashboard#endpoint: GET /pub/dashboard/{userId}#' -e 's#auth\.sub#userId#g' \
    -e '/^auth: required/d' -e '/^rate_limit: on/d' bff/mobile/endpoints/me-dashboard.yaml >"$DIR/mobile/endpoints/pub-dashboard.yaml"
USERS_URL=http://127.0.0.1:$UP_PORT ORDERS_URL=http://127.0.0.1:$UP_PORT CATALOG_URL=http://127.0.0.1:$UP_PORT \
NOTIFICATIONS_URL=http://127.0.0.1:$UP_PORT SHIPPING_URL=http://127.0.0.1:$UP_PORT BFF_ACCESS_LOG=off \
BFF_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 \
    "$BUILD"/bffd --profile "$DIR/mobile" --threads 1 --listen 127.0.0.1:$BFF_PORT >/dev/null 2>&1 & BFF=$!
trap 'kill $BFF $UP $RD 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
for i in $(seq 1 50); do curl -sf http://127.0.0.1:$BFF_PORT/health >/dev/null && break; sleep 0.1; done
TOKEN=$(sh scripts/demo-token.sh 42)
if [ $KIND = auth ]; then URL=/me/dashboard; H="-H"; HV="Authorization: Bearer $TOKEN"; else URL=/pub/dashboard/42; H="-H"; HV="X-A: b"; fi
h2load --h1 -n 3000 -c 32 $H "$HV" http://127.0.0.1:$BFF_PORT$URL >/dev/null
OUT=$(mktemp)
strace -c -f -p $BFF -o "$OUT" & ST=$!
sleep 0.5
redis-cli -p $REDIS_PORT config resetstat >/dev/null
h2load --h1 -n "$N" -c 32 $H "$HV" http://127.0.0.1:$BFF_PORT$URL | grep -E "^status codes"
kill -INT $ST; wait $ST 2>/dev/null || true
echo "redis commands per request: $(redis-cli -p $REDIS_PORT info commandstats | grep -o 'cmdstat_eval[a-z]*:calls=[0-9]*' | awk -F= -v n=$N '{s+=$2} END {printf "%.3f", s/n}')"
awk -v n="$N" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" { sum += $4; if ($4/n > 0.3) printf "%-14s %6.2f\n", $NF, $4/n } END { printf "all syscalls per request %.2f\n", sum / n }' "$OUT"
