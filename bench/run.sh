#!/bin/sh
# Benchmark: wrk against real bffd (1 worker thread, pinned to CPU 0) composing the mobile
# dashboard (4 upstream calls per request) from the C demo upstream (pinned, with wrk, to CPU 1).
# Prints req/s, latency percentiles and the CPU each process used.
#   usage: bench/run.sh [latency_ms] [connections] [seconds]   (WRK_CPU=0 puts wrk beside bffd)
set -eu
cd "$(dirname "$0")/.."
LATENCY=${1:-0}
CONNS=${2:-32}
SECS=${3:-10}
BUILD=${BFF_BUILD_DIR:-build}
UP_PORT=19100
BFF_PORT=18082

cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
# TCP connections this machine opened (wrk's own and bffd's to the upstream).
active_opens() { awk '/^Tcp:/ && $6 ~ /^[0-9]+$/ {print $6}' /proc/net/snmp; }

taskset -c 1 "$BUILD"/tests/upstream/demo_upstream --port $UP_PORT --latency-ms "$LATENCY" >/dev/null &
UP=$!
USERS_URL=http://127.0.0.1:$UP_PORT ORDERS_URL=http://127.0.0.1:$UP_PORT CATALOG_URL=http://127.0.0.1:$UP_PORT \
NOTIFICATIONS_URL=http://127.0.0.1:$UP_PORT SHIPPING_URL=http://127.0.0.1:$UP_PORT BFF_ACCESS_LOG=off \
    taskset -c 0 "$BUILD"/bffd --profile bff/mobile --threads 1 --listen 127.0.0.1:$BFF_PORT >/dev/null &
BFF=$!
trap 'kill $BFF $UP 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
sleep 0.5
curl -sf http://127.0.0.1:$BFF_PORT/dashboard/1 >/dev/null
# warm-up
taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s bench/ids.lua http://127.0.0.1:$BFF_PORT >/dev/null
B0=$(cpu_ticks $BFF); U0=$(cpu_ticks $UP); O0=$(active_opens)
taskset -c "${WRK_CPU:-1}" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s bench/ids.lua http://127.0.0.1:$BFF_PORT | tee /tmp/bffd-bench.txt
B1=$(cpu_ticks $BFF); U1=$(cpu_ticks $UP); O1=$(active_opens)
HZ=$(getconf CLK_TCK)
echo "cpu: bffd $(( (B1 - B0) * 100 / HZ / SECS ))% of one core, demo upstream $(( (U1 - U0) * 100 / HZ / SECS ))% (wrk on CPU ${WRK_CPU:-1})"
REQS=$(awk '/requests in/ {print $1}' /tmp/bffd-bench.txt)
# wrk opens one connection per client connection; the rest are bffd's towards the upstream.
echo "new upstream connections: $(( O1 - O0 - CONNS )) for $REQS requests ($(awk -v o=$(( O1 - O0 - CONNS )) -v r="$REQS" 'BEGIN {printf "%.4f", o / r}') per request)"
grep -q "Non-2xx" /tmp/bffd-bench.txt && { echo "error: some responses were not 2xx"; exit 1; }
exit 0
