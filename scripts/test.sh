#!/bin/sh
# The whole test suite, from a fresh clone: installs what is missing, builds bffd twice
# (plain with -Werror, then with AddressSanitizer + UndefinedBehaviorSanitizer) and runs every
# unit test, fuzz-corpus replay and integration test against real processes in each build.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
JOBS=$(nproc)

echo "== build (plain, -Werror) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBFF_WERROR=ON >/dev/null
cmake --build build -j"$JOBS"
echo "== tests (plain) =="
(cd build && ctest --output-on-failure -j"$JOBS")

echo "== build (ASan + UBSan) =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBFF_WERROR=ON -DBFF_SANITIZE='address;undefined' >/dev/null
cmake --build build-asan -j"$JOBS"
echo "== tests (ASan + UBSan) =="
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions="$PWD/../tests/lsan.supp":print_suppressions=0 ctest --output-on-failure -j"$JOBS")
