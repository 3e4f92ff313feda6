#!/bin/sh
# Installs the Debian packages bffd needs to build, test, benchmark and run the demo.
# Only what is missing is installed; `apt-get update` runs first when anything is.
set -eu
PACKAGES="build-essential cmake pkg-config clang libclang-rt-14-dev
libh2o-evloop-dev libyaml-dev libjansson-dev libcurl4-openssl-dev libhiredis-dev libssl-dev
redis-server python3 python3-yaml python3-jsonschema curl openssl nghttp2-client wrk"
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
