#!/bin/sh
# Benchmark of the cache-hit path: wrk against real bffd (1 worker, CPU 0) answering the mobile
# dashboard from its cache, in one run with the floor it is measured against: a bare h2o
# handler (bench/fixed/fixed_body.c) answering the same bytes, on the same CPU.
#   1. L1 hit: the dashboard with `cache: 1h`, in-process cache only;
#   2. L2 hit: the same with `memory: 0` (L1 off), every request one GET to a real redis-server;
#   3. the bare handler.
# Prints req/s, p50/p99 and bffd's CPU per request for each, and the L1/bare ratio.
#   usage: bench/cache.sh [connections] [seconds]
set -eu
cd "$(dirname "$0")/.."
CONNS=${1:-32}
SECS=${2:-10}
BUILD=${BFF_BUILD_DIR:-build}
UP_PORT=19100 BFF_PORT=18082 FIXED_PORT=18090 REDIS_PORT=16390
DIR=$(mktemp -d)
PIDS=""
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM

cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }

taskset -c 1 "$BUILD"/tests/upstream/demo_upstream --port $UP_PORT >/dev/null &
PIDS="$PIDS $!"
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" >/dev/null &
PIDS="$PIDS $!"

# The mobile profile with its dashboard cached (copied: the demo's dashboard stays uncached).
cp -r bff/mobile "$DIR/mobile"
sed -i "s#\.\./\.\./schemas/#$PWD/schemas/#" "$DIR/mobile/graph.yaml"
printf 'cache: 1h\n' >>"$DIR/mobile/endpoints/dashboard.yaml"

# measure NAME URL PID: wrk on CPU 1; prints "req/s p50 p99 cpu_us_per_req".
measure() {
    taskset -c 1 wrk -t1 -c"$CONNS" -d2s "$2" >/dev/null
    c0=$(cpu_ticks "$3")
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$2" >"$DIR/$1.txt"
    c1=$(cpu_ticks "$3")
    grep -q "Non-2xx" "$DIR/$1.txt" && { echo "error: $1: some responses were not 2xx" >&2; exit 1; }
    awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" '
        /Requests\/sec/ {rps = $2}
        / 50%/ {p50 = $2} / 99%/ {p99 = $2}
        /requests in/ {n = $1}
        END {printf "%s %s %s %.1f\n", rps, p50, p99, c / hz * 1e6 / n}' "$DIR/$1.txt"
}

run_bffd() { # REDIS_URL MEMORY
    sed -i "s#^  redis: .*#  redis: $1#; s#^  memory: .*#  memory: $2#" "$DIR/mobile/profile.yaml"
    USERS_URL=http://127.0.0.1:$UP_PORT ORDERS_URL=http://127.0.0.1:$UP_PORT \
    CATALOG_URL=http://127.0.0.1:$UP_PORT NOTIFICATIONS_URL=http://127.0.0.1:$UP_PORT \
    SHIPPING_URL=http://127.0.0.1:$UP_PORT BFF_ACCESS_LOG=off \
        taskset -c 0 "$BUILD"/bffd --profile "$DIR/mobile" --threads 1 --listen 127.0.0.1:$BFF_PORT >/dev/null &
    BFF=$!
    PIDS="$PIDS $BFF"
    for i in $(seq 1 50); do curl -sf http://127.0.0.1:$BFF_PORT/health >/dev/null && break; sleep 0.1; done
    sleep 0.3 # Redis connected
    curl -sf http://127.0.0.1:$BFF_PORT/dashboard/42 >"$DIR/body.json"
    curl -sfi http://127.0.0.1:$BFF_PORT/dashboard/42 | grep -qi '^x-cache: hit' ||
        { echo "error: the dashboard is not answered from the cache" >&2; exit 1; }
}

run_bffd "" 64MiB
L1=$(measure l1 http://127.0.0.1:$BFF_PORT/dashboard/42 $BFF)
kill $BFF; wait $BFF 2>/dev/null || true
run_bffd "redis://127.0.0.1:$REDIS_PORT/0" 0
L2=$(measure l2 http://127.0.0.1:$BFF_PORT/dashboard/42 $BFF)
kill $BFF; wait $BFF 2>/dev/null || true

taskset -c 0 "$BUILD"/tests/upstream/fixed_body --port $FIXED_PORT --body "$DIR/body.json" &
FIX=$!
PIDS="$PIDS $FIX"
sleep 0.3
FIXED=$(measure fixed http://127.0.0.1:$FIXED_PORT/dashboard/42 $FIX)

echo "cache-hit path, mobile dashboard ($(wc -c <"$DIR/body.json") bytes), 1 worker on CPU 0, wrk -c$CONNS -d${SECS}s on CPU 1"
printf '%-28s %10s %8s %8s %14s\n' "" "req/s" "p50" "p99" "CPU us/req"
printf '%-28s %10s %8s %8s %14s\n' "bffd L1 hit" $L1
printf '%-28s %10s %8s %8s %14s\n' "bffd L2 hit (L1 off, Redis)" $L2
printf '%-28s %10s %8s %8s %14s\n' "bare h2o, fixed body" $FIXED
echo "$L1 $FIXED" | awk '{printf "L1 hit / bare h2o: %.2f of the req/s\n", $1 / $5}'
