#!/bin/sh
# bffd against the proxy floor, in one run: nginx (1 worker) proxying ONE upstream call per
# request, then bffd (1 worker) composing the mobile dashboard from FOUR calls, each pinned to
# CPU 0 with the demo upstream and wrk on CPU 1, wrk -c64, ids cycling. Prints req/s, p50/p99,
# CPU per request and bffd's share of nginx's req/s (issue 9's target: 20% or more), for the
# mobile profile as it ships and for a copy whose upstreams have `propagate: []` (like for like).
# Needs nginx (Debian package nginx); this machine's speed drifts, so compare the ratio.
#   usage: bench/vs-nginx.sh [connections] [seconds] [rounds]
set -eu
cd "$(dirname "$0")/.."
CONNS=${1:-64}
SECS=${2:-8}
ROUNDS=${3:-2}
BUILD=${BFF_BUILD_DIR:-build}
UP_PORT=19130
NGX_PORT=18130
BFF_PORT=18131
command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
DIR=$(mktemp -d)
cat >"$DIR/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $DIR/nginx.pid;
error_log stderr error;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $DIR; proxy_temp_path $DIR; fastcgi_temp_path $DIR;
    uwsgi_temp_path $DIR; scgi_temp_path $DIR;
    upstream demo { server 127.0.0.1:$UP_PORT; keepalive 256; }
    server {
        listen 127.0.0.1:$NGX_PORT;
        location / {
            proxy_pass http://demo;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
cat >"$DIR/users.lua" <<'LUA'
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/users/" .. (counter % 100000))
end
LUA
taskset -c 1 "$BUILD"/tests/upstream/demo_upstream --port $UP_PORT >/dev/null &
UP=$!
trap 'kill $UP 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
sleep 0.3
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
HZ=$(getconf CLK_TCK)
# run NAME URL SCRIPT: wrk against the process $P; prints "req/s p50 p99 cpu_ms_per_req"
measure() {
    taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$3" "$2" >/dev/null
    c0=$(cpu_ticks "$P")
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$3" "$2" >"$DIR/out.txt"
    c1=$(cpu_ticks "$P")
    grep -q "Non-2xx" "$DIR/out.txt" && { echo "error: $1 answered non-2xx" >&2; exit 1; }
    rps=$(awk '/Requests\/sec/ {print $2}' "$DIR/out.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$DIR/out.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$DIR/out.txt")
    reqs=$(awk '/requests in/ {print $1}' "$DIR/out.txt")
    cpu=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$reqs" 'BEGIN {printf "%.4f", t * 1000 / hz / n}')
    echo "$rps $p50 $p99 $cpu"
}
# The like-for-like variant: the same profile with `propagate: []` on its upstreams, so bffd's
# calls carry no X-Request-ID and traceparent lines (nginx adds no such headers either).
# (graph.yaml names ../../schemas/..., hence the same layout.)
mkdir -p "$DIR/bff"
cp -r bff/mobile "$DIR/bff/mobile-bare"
ln -s "$PWD/schemas" "$DIR/schemas"
BARE=$DIR/bff/mobile-bare
sed -i 's/^\(    url: \${[A-Z_]*_URL:-[^}]*}\)$/\1\n    propagate: []/' "$BARE/profile.yaml"
[ "$(grep -c 'propagate: \[\]' "$BARE/profile.yaml")" -ge 4 ] || { echo "error: could not set propagate" >&2; exit 1; }
# run_bffd PROFILE_DIR: bffd on CPU 0 against the demo upstream, measured; prints measure's line
run_bffd() {
    USERS_URL=http://127.0.0.1:$UP_PORT ORDERS_URL=http://127.0.0.1:$UP_PORT CATALOG_URL=http://127.0.0.1:$UP_PORT \
    NOTIFICATIONS_URL=http://127.0.0.1:$UP_PORT SHIPPING_URL=http://127.0.0.1:$UP_PORT BFF_ACCESS_LOG=off \
        taskset -c 0 "$BUILD"/bffd --profile "$1" --threads 1 --listen 127.0.0.1:$BFF_PORT >/dev/null &
    P=$!
    sleep 0.5
    measure bffd "http://127.0.0.1:$BFF_PORT" bench/ids.lua
    kill $P; wait $P 2>/dev/null || true
}
printf "%-6s %-32s %-32s %-32s %s\n" round "nginx (1 call): req/s p50 p99 cpu" "bffd (4 calls)" \
    "bffd, propagate: []" "bffd/nginx (default, bare)"
for r in $(seq 1 "$ROUNDS"); do
    taskset -c 0 nginx -c "$DIR/nginx.conf" -p "$DIR" &
    P=$!
    sleep 0.3
    N=$(measure nginx "http://127.0.0.1:$NGX_PORT" "$DIR/users.lua")
    kill $P; wait $P 2>/dev/null || true
    B=$(run_bffd bff/mobile)
    X=$(run_bffd "$BARE")
    ratios=$(echo "$N $B $X" | awk '{printf "%.1f%% %.1f%%", $5 * 100 / $1, $9 * 100 / $1}')
    printf "%-6s %-32s %-32s %-32s %s\n" "$r" "$N" "$B" "$X" "$ratios"
    # req/s ratios and CPU-per-request ratios (nginx's as a share of bffd's), for the medians
    echo "$N $B $X" | awk '{printf "%f %f %f %f\n", $5 * 100 / $1, $4 * 100 / $8, $9 * 100 / $1, $4 * 100 / $12}' >>"$DIR/ratios"
done
# Medians over the rounds: the VM drifts, so one round says little.
median() { sort -n | awk '{v[NR] = $1} END {printf "%.1f%%", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# summary NAME REQ_COLUMN CPU_COLUMN (columns of $DIR/ratios)
summary() {
    printf "median bffd/nginx req/s, %s: %s (%s of %s rounds at 20%% or more); nginx CPU per request as a share of bffd's: %s\n" \
        "$1" "$(cut -d' ' -f"$2" "$DIR/ratios" | median)" "$(awk -v c="$2" '$c >= 20' "$DIR/ratios" | wc -l)" \
        "$ROUNDS" "$(cut -d' ' -f"$3" "$DIR/ratios" | median)"
}
summary default 1 2
summary "propagate: []" 3 4
