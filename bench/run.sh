#!/usr/bin/env bash
# Token verification benchmarks: builds Warden (Release) into build-bench/, then runs on one core
# (taskset -c ${BENCH_CPU:-1}), in this order and in the same invocation:
#   1. bench/token_bench          Warden, every scheme
#   2. bench/node_cat_bench.mjs   @eyevinn/cat (node-cat) on the same two CAT tokens
# and prints the Warden / node-cat ratio for the minimal and the full CAT. Figures only: the
# script fails only when something does not build or a token does not verify.
#
#   bench/run.sh [--time SECONDS] [--runs N]     (default ~1.5 s per run, median of 5)
# Environment: BENCH_CPU (core to pin to), BENCH_BUILD_DIR (default build-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${BENCH_BUILD_DIR:-$root/build-bench}
cpu=${BENCH_CPU:-1}

# -O3 brings gcc warnings (maybe-uninitialized) the -Werror gate build (RelWithDebInfo, -O2) does
# not see; they must not stop a benchmark.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DWARDEN_WERROR=OFF >/dev/null
cmake --build "$build" -j2 --target token_bench >/dev/null

pin=(taskset -c "$cpu")
if ! "${pin[@]}" true 2>/dev/null; then
  echo "bench: cannot pin to CPU $cpu (taskset missing or core absent); running unpinned" >&2
  pin=()
fi

echo "== $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //'), pinned to CPU $cpu"
echo "== Warden token_bench ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
wd_out=$("${pin[@]}" "$build/bench/token_bench" --vectors "$root/tests/vectors" "$@")
echo "$wd_out"

echo
echo "== node-cat (@eyevinn/cat) node_cat_bench"
node_out=""
if ! command -v node >/dev/null; then
  echo "node not installed: skipped"
elif [[ ! -d tests/interop/node_modules/@eyevinn/cat ]]; then
  echo "tests/interop/node_modules/@eyevinn/cat missing (run 'npm ci' in tests/interop): skipped"
else
  node_out=$("${pin[@]}" node bench/node_cat_bench.mjs "$@")
  echo "$node_out"
fi

rate() { awk -v n="$1" '$1 == n { print $3 }' <<<"$2"; }
if [[ -n $node_out ]]; then
  echo
  echo "== Warden / node-cat (same tokens, same request, same core)"
  for t in cat-minimal cat-full; do
    w=$(rate "$t" "$wd_out")
    n=$(rate "$t" "$node_out")
    if [[ -n $w && -n $n ]]; then
      awk -v t="$t" -v w="$w" -v n="$n" 'BEGIN { printf "%-12s %12.0f / %8.0f = %6.1fx\n", t, w, n, w / n }'
    fi
  done
fi
