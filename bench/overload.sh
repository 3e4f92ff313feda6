#!/bin/sh
# Overload: the users service slows to 2 s per call (the demo upstream's chaos switch) while 500
# client connections keep asking bffd (1 worker) for a user; a second wrk measures /health on
# one connection meanwhile. Then the service heals and we time the return to normal service.
# The profile caps requests in flight at 128 and waiting upstream calls at 64 (64 connections):
# excess requests should get fast 503s, /health stay fast, RSS stay bounded.
#   usage: bench/overload.sh [connections] [seconds] [max_inflight] [max_queued_calls]
set -eu
cd "$(dirname "$0")/.."
CONNS=${1:-500}
SECS=${2:-20}
INFLIGHT=${3:-128}
QUEUED=${4:-64}
BUILD=${BFF_BUILD_DIR:-build}
UP_PORT=19110
BFF_PORT=18092
DIR=$(mktemp -d)
mkdir -p "$DIR/p/endpoints"
cat >"$DIR/p/profile.yaml" <<YAML
name: overload
listen: 127.0.0.1:$BFF_PORT
access_log: off
limits: { max_inflight: $INFLIGHT, max_queued_calls: $QUEUED }
upstreams:
  users: { url: "http://127.0.0.1:$UP_PORT", timeout: 5s, max_connections: 64 }
YAML
cat >"$DIR/p/endpoints/u.yaml" <<YAML
endpoint: GET /u/{id}
timeout: 6s
sources:
  user: { upstream: users, path: "/users/{id}" }
response: { id: user.id, name: user.name }
YAML
cat >"$DIR/ids.lua" <<'LUA'
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/u/" .. (counter % 100000))
end
LUA
ulimit -n 4096
"$BUILD"/tests/upstream/demo_upstream --port $UP_PORT >/dev/null &
UP=$!
"$BUILD"/bffd --profile "$DIR/p" --threads 1 >/dev/null &
BFF=$!
trap 'kill $BFF $UP 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
sleep 0.5
curl -sf http://127.0.0.1:$BFF_PORT/u/1 >/dev/null
RSS0=$(awk '/^VmRSS/ {print $2}' /proc/$BFF/status)
curl -sf -X POST "http://127.0.0.1:$UP_PORT/__chaos?service=users&delay_ms=2000" >/dev/null
wrk -t1 -c1 -d"${SECS}s" --latency http://127.0.0.1:$BFF_PORT/health >"$DIR/health.txt" &
HW=$!
wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 10s --latency -s "$DIR/ids.lua" http://127.0.0.1:$BFF_PORT >"$DIR/load.txt"
wait $HW
RSS1=$(awk '/^VmRSS/ {print $2}' /proc/$BFF/status)
HWM=$(awk '/^VmHWM/ {print $2}' /proc/$BFF/status)
curl -sf -X POST "http://127.0.0.1:$UP_PORT/__chaos?service=users" >/dev/null
T0=$(date +%s%N)
until [ "$(curl -s -o /dev/null -m 1 -w '%{http_code} %{time_total}' http://127.0.0.1:$BFF_PORT/u/7 |
          awk '{print ($1 == 200 && $2 < 0.1) ? "ok" : "no"}')" = ok ]; do sleep 0.05; done
T1=$(date +%s%N)
echo "== load: $CONNS connections, users at 2 s per call, max_inflight $INFLIGHT, max_queued_calls $QUEUED"
sed -n '/Latency Distribution/,/requests in/p' "$DIR/load.txt"
grep -E "Non-2xx|Socket errors|Requests/sec" "$DIR/load.txt" || true
echo "== /health on one connection meanwhile"
sed -n '/Latency Distribution/,/requests in/p' "$DIR/health.txt"
echo "== bffd RSS: ${RSS0} KiB before, ${RSS1} KiB after, peak ${HWM} KiB"
echo "== normal service (200 in < 100 ms) $(( (T1 - T0) / 1000000 )) ms after the service healed"
