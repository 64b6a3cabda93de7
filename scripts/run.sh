#!/usr/bin/env bash
# Builds Warden and runs it. Without arguments: `warden serve` with the embedded default
# (monitor mode, one catch-all policy, data in ./warden-data, http://127.0.0.1:8080, keys and an
# admin token generated for the run and printed once). With arguments: `warden ARGS...`, e.g.
#   scripts/run.sh serve --config warden.yaml
#   scripts/run.sh token inspect TOKEN
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" --target warden-cli
if (($#)); then
  exec build/warden "$@"
fi
exec build/warden serve
