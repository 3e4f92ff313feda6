#!/bin/sh
# What auth and rate limiting cost: wrk against real bffd (1 worker, CPU 0), in one run,
# (a) GET /me/dashboard with an RS256 bearer token (verified-token cache on) and the Redis-backed
# rate limit of a plan too large to refuse anything (every request pays one Redis round trip),
# and (b) its public twin GET /pub/dashboard/42 (the same spec without auth and rate_limit, the
# user in the path): the same three upstream calls each. The demo upstream shares CPU 1 with wrk, redis-server too.
#   usage: bench/auth.sh [connections] [seconds]     (NO_LIMIT=1: the token alone, no rate limit)
set -eu
cd "$(dirname "$0")/.."
CONNS=${1:-32}
SECS=${2:-10}
BUILD=${BFF_BUILD_DIR:-build}
UP_PORT=19100 BFF_PORT=18082 REDIS_PORT=16391
DIR=$(mktemp -d)
PIDS=""
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }

taskset -c 1 "$BUILD"/tests/upstream/demo_upstream --port $UP_PORT >/dev/null &
PIDS="$PIDS $!"
taskset -c 1 redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" >/dev/null &
PIDS="$PIDS $!"
cp -r bff/mobile "$DIR/mobile"
sed -i "s#\.\./\.\./schemas/#$PWD/schemas/#" "$DIR/mobile/graph.yaml"
sed -i 's#free: { rate: 600/min, burst: 60 }#free: { rate: 1000000000/s, burst: 1000000 }#' "$DIR/mobile/profile.yaml"
[ -n "${NO_LIMIT:-}" ] && sed -i "/^rate_limit: on/d" "$DIR/mobile/endpoints/me-dashboard.yaml"
sed -e 's#^endpoint: GET /me/dashboard#endpoint: GET /pub/dashboard/{userId}#' -e 's#auth\.sub#userId#g' \
    -e '/^auth: required/d' -e '/^rate_limit: on/d' bff/mobile/endpoints/me-dashboard.yaml \
    >"$DIR/mobile/endpoints/pub-dashboard.yaml"
USERS_URL=http://127.0.0.1:$UP_PORT ORDERS_URL=http://127.0.0.1:$UP_PORT CATALOG_URL=http://127.0.0.1:$UP_PORT \
NOTIFICATIONS_URL=http://127.0.0.1:$UP_PORT SHIPPING_URL=http://127.0.0.1:$UP_PORT BFF_ACCESS_LOG=off \
BFF_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 \
    taskset -c 0 "$BUILD"/bffd --profile "$DIR/mobile" --threads 1 --listen 127.0.0.1:$BFF_PORT >/dev/null &
BFF=$!
PIDS="$PIDS $BFF"
for i in $(seq 1 50); do curl -sf http://127.0.0.1:$BFF_PORT/health >/dev/null && break; sleep 0.1; done
sleep 0.3
TOKEN=$(sh scripts/demo-token.sh 42)
cat >"$DIR/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.path = "/me/dashboard"
LUA
curl -sf -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$BFF_PORT/me/dashboard >/dev/null ||
    { echo "error: /me/dashboard refused the demo token" >&2; exit 1; }
[ -n "${NO_LIMIT:-}" ] || curl -sfi -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$BFF_PORT/me/dashboard | grep -qi '^ratelimit:' ||
    { echo "error: no rate limit on /me/dashboard" >&2; exit 1; }

measure() { # NAME SCRIPT
    taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$2" http://127.0.0.1:$BFF_PORT >/dev/null
    c0=$(cpu_ticks $BFF)
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$2" http://127.0.0.1:$BFF_PORT >"$DIR/$1.txt"
    c1=$(cpu_ticks $BFF)
    grep -q "Non-2xx" "$DIR/$1.txt" && { echo "error: $1: some responses were not 2xx" >&2; exit 1; }
    awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" '
        /Requests\/sec/ {rps = $2} / 50%/ {p50 = $2} / 99%/ {p99 = $2} /requests in/ {n = $1}
        END {printf "%s %s %s %.1f\n", rps, p50, p99, c / hz * 1e6 / n}' "$DIR/$1.txt"
}
printf 'wrk.path = "/pub/dashboard/42"\n' >"$DIR/public.lua"
PUB=$(measure public "$DIR/public.lua")
AUTH=$(measure auth "$DIR/auth.lua")
PUB2=$(measure public2 "$DIR/public.lua") # again: the machine's speed drifts
echo "mobile dashboard, 1 worker on CPU 0, wrk -c$CONNS -d${SECS}s on CPU 1"
printf '%-44s %10s %8s %8s %12s\n' "" "req/s" "p50" "p99" "CPU us/req"
printf '%-44s %10s %8s %8s %12s\n' "GET /pub/dashboard/42 (public)" $PUB
printf '%-44s %10s %8s %8s %12s\n' "GET /me/dashboard (RS256 + Redis rate limit)" $AUTH
printf '%-44s %10s %8s %8s %12s\n' "GET /pub/dashboard/42 (public, again)" $PUB2
echo "$PUB $AUTH $PUB2" | awk '{printf "auth + limit / public (mean of both): %.2f of the req/s\n", $5 / (($1 + $9) / 2)}'
