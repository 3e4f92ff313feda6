#!/bin/sh
# Installs the Debian packages bffd needs to build, test, benchmark and run the demo.
# Only what is missing is installed; `apt-get update` runs first when anything is.
# libtcmalloc-minimal4: the allocator bffd links (CMakeLists.txt, BFF_MALLOC; README, "Allocator").
# haproxy: the load balancer the two-instance test puts in front of two bffd processes (its
# packaged service, if the init system starts it, listens nowhere with Debian's default config;
# the test runs its own haproxy with its own configuration).
set -eu
PACKAGES="build-essential cmake pkg-config clang libclang-rt-14-dev
libh2o-evloop-dev libyaml-dev libjansson-dev libcurl4-openssl-dev libhiredis-dev libssl-dev
libtcmalloc-minimal4
redis-server python3 python3-yaml python3-jsonschema curl openssl nghttp2-client wrk haproxy"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
# Node.js and npm for the standard clients the tests use (graphql-js): Debian's packages when
# no node is installed yet; then the pinned npm packages of tests/js (package-lock.json):
# graphql-js, jose, which mints the JWTs the auth tests present, and the OpenAPI validator and
# TypeScript compiler that check the consumer contracts.
if ! command -v npm >/dev/null 2>&1; then
    echo "installing: nodejs npm"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
JS="$(dirname "$0")/../tests/js"
if [ ! -d "$JS/node_modules/graphql" ] || [ ! -d "$JS/node_modules/jose" ] ||
    [ ! -d "$JS/node_modules/@seriousme/openapi-schema-validator" ] ||
    [ ! -d "$JS/node_modules/typescript" ]; then
    (cd "$(dirname "$0")/../tests/js" && npm ci --no-audit --no-fund --silent)
fi
