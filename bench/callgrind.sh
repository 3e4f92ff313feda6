#!/bin/sh
# Instructions per composed request (mobile dashboard: 4 upstream calls, shaping, response),
# counted by callgrind over two runs of different length so start-up cost cancels out:
#   (Ir(N2) - Ir(N1)) / (N2 - N1). Instruction counts are repeatable, unlike timings.
# One client connection by default; CONNS=64 sends from 64 at once (h2load), which is what
# makes curl hold and walk a pool of connections per upstream, as under wrk -c64.
#   usage: [CONNS=1] bench/callgrind.sh [N1] [N2]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BFF_BUILD_DIR:-build}
N1=${1:-500}
N2=${2:-2500}
UP_PORT=19200
BFF_PORT=18092
"$BUILD"/tests/upstream/demo_upstream --port $UP_PORT >/dev/null &
UP=$!
trap 'kill $UP 2>/dev/null' EXIT
sleep 0.3

count() {
    out=$(mktemp)
    USERS_URL=http://127.0.0.1:$UP_PORT ORDERS_URL=http://127.0.0.1:$UP_PORT CATALOG_URL=http://127.0.0.1:$UP_PORT \
    NOTIFICATIONS_URL=http://127.0.0.1:$UP_PORT SHIPPING_URL=http://127.0.0.1:$UP_PORT BFF_ACCESS_LOG=off \
        valgrind --tool=callgrind --callgrind-out-file="$out" "$BUILD"/bffd --profile bff/mobile --threads 1 \
        --listen 127.0.0.1:$BFF_PORT >/dev/null 2>&1 &
    pid=$!
    for i in $(seq 1 100); do curl -sf http://127.0.0.1:$BFF_PORT/health >/dev/null 2>&1 && break; sleep 0.2; done
    if [ "${CONNS:-1}" -gt 1 ]; then
        # 64 ids, asked in turn: no two in-flight requests need be alike
        h2load --h1 -n "$1" -c "$CONNS" $(seq -f "http://127.0.0.1:$BFF_PORT/dashboard/%g" 1 64) |
            grep -q "$1 succeeded" || echo "error: h2load: not every request succeeded" >&2
    else
    # keep-alive, one connection, ids cycling
    python3 - "$BFF_PORT" "$1" <<'PY'
import http.client, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    c.request("GET", "/dashboard/%d" % i)
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
    fi
    kill -INT $pid; wait $pid 2>/dev/null || true
    grep -E "^(summary|totals):" "$out" | head -1 | awk '{print $2}'
    rm -f "$out"
}
I1=$(count "$N1")
I2=$(count "$N2")
echo "instructions per composed request (bffd, all threads, incl. libcurl/h2o/libc): $(( (I2 - I1) / (N2 - N1) ))"
