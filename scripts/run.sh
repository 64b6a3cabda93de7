#!/usr/bin/env bash
# Builds Warden and runs it. With arguments, runs `warden ARGS...`; without, a demonstration of
# the token library: a fresh key, a CAT issued for a path and verified against a request.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" --target warden-cli
if (($#)); then
  exec build/warden "$@"
fi
key=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
echo "key (hex): a fresh random key for this run"
claims='{"iss":"warden-demo","sub":"viewer-42","catu":{"path":{"prefix-match":"/live/ch1/"}},"catm":["GET"]}'
token=$(build/warden token issue --scheme cat --key-hex "$key" --kid demo --claims "$claims" --ttl 60)
echo "issued CAT: $token"
echo "verify for GET https://cdn.example.com/live/ch1/seg1.ts:"
build/warden token verify --scheme cat --key-hex "$key" --kid demo --issuer warden-demo \
  --url https://cdn.example.com/live/ch1/seg1.ts --method GET "$token"
echo "verify for another path (expected to fail):"
build/warden token verify --scheme cat --key-hex "$key" --kid demo --issuer warden-demo \
  --url https://cdn.example.com/vod/other.ts --method GET "$token" || true
