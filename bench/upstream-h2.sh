#!/bin/sh
# HTTP/2 to upstreams, measured: the mobile dashboard (4 upstream calls) with its upstreams over
#   h1    HTTP/1.1 cleartext (the default, what every other benchmark here uses),
#   h1tls HTTP/1.1 over TLS,
#   h2    HTTP/2 over TLS (`http2: true`: calls share connections as multiplexed streams),
# alternating in one run: bffd (1 worker) on CPU 0, wrk and the demo upstream on CPU 1. Prints
# req/s, p99, bffd's CPU per dashboard and the upstream connections bffd opened per dashboard.
#   usage: [MODES="h1 h1tls h2"] bench/upstream-h2.sh [connections] [seconds] [rounds]
set -eu
cd "$(dirname "$0")/.."
CONNS=${1:-64}
SECS=${2:-6}
ROUNDS=${3:-3}
BUILD=${BFF_BUILD_DIR:-build}
UP_PORT=19140
TLS_PORT=19141
BFF_PORT=18141
DIR=$(mktemp -d)
# ECDSA P-256, the cheaper handshake for the upstream's one core
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$DIR/up.key" -out "$DIR/up.crt" 2>/dev/null
# Profile copies whose upstreams carry the TLS keys; graph.yaml finds ../../schemas beside them.
ln -s "$PWD/schemas" "$DIR/schemas"
mkdir "$DIR/bff"
for v in h1tls h2; do
    cp -r bff/mobile "$DIR/bff/$v"
    extra="    tls: { ca: $DIR/up.crt }"
    [ $v = h2 ] && extra="$extra\n    http2: true"
    sed -i "s|^    url: .*|&\n$extra|" "$DIR/bff/$v/profile.yaml"
done
taskset -c 1 "$BUILD"/tests/upstream/demo_upstream --port $UP_PORT >/dev/null &
UP=$!
taskset -c 1 "$BUILD"/tests/upstream/demo_upstream --port $TLS_PORT --tls-cert "$DIR/up.crt" \
    --tls-key "$DIR/up.key" >/dev/null &
UPT=$!
trap 'kill $UP $UPT 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
sleep 0.3
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
active_opens() { awk '/^Tcp:/ && $6 ~ /^[0-9]+$/ {print $6}' /proc/net/snmp; }
HZ=$(getconf CLK_TCK)
# one VARIANT: prints "req/s p99 cpu-ms/dashboard upstream-connections/dashboard"
one() {
    case $1 in
    h1) prof=bff/mobile url=http://127.0.0.1:$UP_PORT ;;
    *) prof=$DIR/bff/$1 url=https://127.0.0.1:$TLS_PORT ;;
    esac
    USERS_URL=$url ORDERS_URL=$url CATALOG_URL=$url NOTIFICATIONS_URL=$url SHIPPING_URL=$url \
    BFF_ACCESS_LOG=off taskset -c 0 "$BUILD"/bffd --profile "$prof" --threads 1 \
        --listen 127.0.0.1:$BFF_PORT >"$DIR/bffd.log" 2>&1 &
    P=$!
    for i in $(seq 1 50); do curl -sf http://127.0.0.1:$BFF_PORT/dashboard/1 >/dev/null && break; sleep 0.1; done
    # warm-up, ramped: each new TLS connection costs bffd's loop ~1.5 ms in curl, and 256 at once
    # outlast connect_timeout (README, Known limitations)
    for c in 4 8 16 32 48 "$CONNS"; do
        taskset -c 1 wrk -t1 -c"$c" -d1s -s bench/ids.lua http://127.0.0.1:$BFF_PORT >/dev/null
    done
    c0=$(cpu_ticks $P); o0=$(active_opens)
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s bench/ids.lua \
        http://127.0.0.1:$BFF_PORT >"$DIR/out.txt"
    c1=$(cpu_ticks $P); o1=$(active_opens)
    kill $P; wait $P 2>/dev/null || true
    grep -q "Non-2xx" "$DIR/out.txt" && { echo "error: $1 answered non-2xx" >&2; cat "$DIR/bffd.log" >&2; exit 1; }
    n=$(awk '/requests in/ {print $1}' "$DIR/out.txt")
    awk -v n="$n" -v c=$((c1 - c0)) -v hz="$HZ" -v o=$((o1 - o0 - CONNS)) '
        /Requests\/sec/ {rps = $2} $1 == "99%" {p99 = $2}
        END {printf "%9.0f %8s %8.4f %8.4f", rps, p99, c * 1000 / hz / n, o / n}' "$DIR/out.txt"
}
printf "%-6s %-5s %9s %8s %8s %8s\n" round mode req/s p99 cpu-ms conns/dash
for r in $(seq 1 "$ROUNDS"); do
    for v in ${MODES:-h1 h1tls h2}; do
        printf "%-6s %-5s %s\n" "$r" "$v" "$(one $v)"
    done
done
