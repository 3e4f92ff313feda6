#!/bin/sh
# GraphQL against REST for the same screen: the mobile dashboard's data as one GraphQL query
# (user, 3 orders, 5 recommendations, unread count: the same 4 upstream calls) and as the REST
# endpoint GET /dashboard/{id}, one after the other against the same bffd (1 worker on CPU 0;
# wrk and the demo upstream on CPU 1), ids cycling. Prints req/s, p50/p99 and bffd's CPU per
# request for each, and the ratio (issue 10's bound: GraphQL at most 1.3 times REST's CPU).
#   usage: bench/graphql.sh [connections] [seconds] [rounds]
set -eu
cd "$(dirname "$0")/.."
CONNS=${1:-32}
SECS=${2:-8}
ROUNDS=${3:-2}
BUILD=${BFF_BUILD_DIR:-build}
UP_PORT=19140
BFF_PORT=18140
DIR=$(mktemp -d)
cat >"$DIR/gql.lua" <<'LUA'
local counter = 0
local query = "query Dash($id: ID!) { user(id: $id) { id name orders(limit: 3) { id date total status } recommendations(limit: 5) { id name price } unreadNotifications } }"
request = function()
  counter = counter + 1
  local body = '{"query":"' .. query .. '","variables":{"id":"' .. (counter % 100000) .. '"}}'
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json"}, body)
end
LUA
taskset -c 1 "$BUILD"/tests/upstream/demo_upstream --port $UP_PORT >/dev/null &
UP=$!
USERS_URL=http://127.0.0.1:$UP_PORT ORDERS_URL=http://127.0.0.1:$UP_PORT CATALOG_URL=http://127.0.0.1:$UP_PORT \
NOTIFICATIONS_URL=http://127.0.0.1:$UP_PORT SHIPPING_URL=http://127.0.0.1:$UP_PORT BFF_ACCESS_LOG=off \
    taskset -c 0 "$BUILD"/bffd --profile bff/mobile --threads 1 --listen 127.0.0.1:$BFF_PORT >/dev/null &
BFF=$!
trap 'kill $BFF $UP 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
sleep 0.5
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
HZ=$(getconf CLK_TCK)
measure() { # script -> "req/s p50 p99 cpu-ms/req"
    taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$1" http://127.0.0.1:$BFF_PORT >/dev/null
    c0=$(cpu_ticks $BFF)
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$1" http://127.0.0.1:$BFF_PORT >"$DIR/out.txt"
    c1=$(cpu_ticks $BFF)
    grep -q "Non-2xx" "$DIR/out.txt" && { echo "error: non-2xx answers" >&2; cat "$DIR/out.txt" >&2; exit 1; }
    awk -v t=$((c1 - c0)) -v hz="$HZ" '/Requests\/sec/ {rps = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2}
        /requests in/ {n = $1} END {printf "%s %s %s %.4f\n", rps, p50, p99, t * 1000 / hz / n}' "$DIR/out.txt"
}
curl -sf -H 'content-type: application/json' -d '{"query":"{ __typename }"}' http://127.0.0.1:$BFF_PORT/graphql >/dev/null
printf "%-6s %-36s %-36s %s\n" round "REST: req/s p50 p99 cpu-ms/req" "GraphQL: req/s p50 p99 cpu-ms/req" "CPU GraphQL/REST"
for r in $(seq 1 "$ROUNDS"); do
    R=$(measure bench/ids.lua)
    G=$(measure "$DIR/gql.lua")
    printf "%-6s %-36s %-36s %s\n" "$r" "$R" "$G" "$(echo "$R $G" | awk '{printf "%.2f", $8 / $4}')"
done
