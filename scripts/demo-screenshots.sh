#!/usr/bin/env bash
# Takes the README's demo screenshots (docs/demo/*.png): runs the demo's browser test
# (tests/e2e/demo_test.sh) with SHOTS=docs/demo. Needs what scripts/deps.sh --test installs.
# WARDEN_BUILD_DIR: the build directory (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
BUILD=${WARDEN_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target warden-cli >/dev/null
WARDEN=$PWD/$BUILD/warden WARDEN_SRC=$PWD SHOTS=$PWD/docs/demo bash tests/e2e/demo_test.sh
ls -l docs/demo/*.png
