#!/usr/bin/env bash
# Installs what Warden needs to build, run and test on Debian 12, only what is missing.
#   scripts/deps.sh          build and run dependencies
#   scripts/deps.sh --test   also the test tools (cmocka, clang's libFuzzer, nginx, wrk, Node.js)
#                            and the npm reference implementations used by the interop tests
set -euo pipefail
cd "$(dirname "$0")/.."

want=(build-essential cmake pkg-config libssl-dev libcbor-dev libjansson-dev liblmdb-dev
      libh2o-evloop-dev libyaml-dev)
if [[ "${1:-}" == "--test" ]]; then
  want+=(libcmocka-dev clang libclang-rt-14-dev nginx-light curl wrk jq openssl)
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" == "--test" ]]; then
  # The reference implementations (exact versions in tests/interop/package-lock.json).
  if [[ ! -d tests/interop/node_modules ]] || [[ tests/interop/package-lock.json -nt tests/interop/node_modules ]]; then
    echo "deps: installing the npm reference implementations"
    (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
