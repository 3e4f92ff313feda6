#!/bin/sh
# Two builds of bffd side by side, alternating in one run (this VM's speed drifts, so only pairs
# taken a few seconds apart compare): the mobile dashboard (4 upstream calls), one worker on
# CPU 0, wrk -c64 and the demo upstream on CPU 1, ids cycling. Prints req/s and bffd's CPU per
# dashboard for each build in each round.
#   usage: [CONNS=64] bench/ab-builds.sh BUILD_A BUILD_B [seconds] [rounds]
#   e.g.   cmake -S . -B /tmp/build-glibc -DBFF_MALLOC=system && cmake --build /tmp/build-glibc
#          bench/ab-builds.sh /tmp/build-glibc build 5 5
set -eu
cd "$(dirname "$0")/.."
A=$1
B=$2
SECS=${3:-5}
ROUNDS=${4:-5}
UP_PORT=19330
BFF_PORT=18331
taskset -c 1 build/tests/upstream/demo_upstream --port $UP_PORT >/dev/null &
UP=$!
OUT=$(mktemp)
trap 'kill $UP 2>/dev/null; wait 2>/dev/null; rm -f "$OUT"' EXIT INT TERM
sleep 0.3
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
# one BUILD: "req/s cpu-ms-per-dashboard"
one() {
    U=http://127.0.0.1:$UP_PORT
    USERS_URL=$U ORDERS_URL=$U CATALOG_URL=$U NOTIFICATIONS_URL=$U SHIPPING_URL=$U BFF_ACCESS_LOG=off \
        taskset -c 0 "$1"/bffd --profile bff/mobile --threads 1 --listen 127.0.0.1:$BFF_PORT >/dev/null 2>&1 &
    P=$!
    sleep 0.5
    taskset -c 1 wrk -t1 -c"${CONNS:-64}" -d2s -s bench/ids.lua http://127.0.0.1:$BFF_PORT >/dev/null
    c0=$(cpu_ticks $P)
    taskset -c 1 wrk -t1 -c"${CONNS:-64}" -d"${SECS}s" -s bench/ids.lua http://127.0.0.1:$BFF_PORT >"$OUT"
    c1=$(cpu_ticks $P)
    kill $P
    wait $P 2>/dev/null || true
    grep -q "Non-2xx" "$OUT" && { echo "error: $1 answered non-2xx" >&2; exit 1; }
    rps=$(awk '/Requests\/sec/ {print $2}' "$OUT")
    n=$(awk '/requests in/ {print $1}' "$OUT")
    echo "$rps $(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$n" 'BEGIN {printf "%.4f", t * 1000 / hz / n}')"
}
printf "%-6s %-28s %-28s %s\n" round "A: req/s cpu-ms/dashboard" "B: req/s cpu-ms/dashboard" "B/A req/s"
for r in $(seq 1 "$ROUNDS"); do
    ra=$(one "$A")
    rb=$(one "$B")
    printf "%-6s %-28s %-28s %s\n" "$r" "$ra" "$rb" "$(echo "$ra $rb" | awk '{printf "%.2f", $3 / $1}')"
done
