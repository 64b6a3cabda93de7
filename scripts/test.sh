#!/usr/bin/env bash
# Builds Warden and passes every test: installs what is missing, then
#   1. a release build with -Werror, all CTest tests (unit, CLI, interop with the npm reference
#      implementations and nginx),
#   2. the unit, CLI, server and console tests again under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. every libFuzzer target for a short run over its seed corpus.
# FUZZ_SECONDS (default 15) sets the time per fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test

jobs=$(nproc)
echo "== release build and all tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWARDEN_INTEROP=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== ASan + UBSan build, unit, CLI, server and console tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DWARDEN_SANITIZE=ON -DWARDEN_INTEROP=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L 'unit|cli|server|ui'

echo "== fuzz targets (${FUZZ_SECONDS:-15}s each)"
fuzz/run.sh "${FUZZ_SECONDS:-15}"
echo "== all tests passed"
