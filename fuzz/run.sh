#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs each one for
# SECONDS (default 20) over a scratch copy of its seed corpus in fuzz/corpus/<target>/.
# Fails (exit 1) when any target crashes, leaks, times out or runs out of memory; the
# reproducer is copied to fuzz/crashes/<target>/ and the target's log tail is printed. Every
# file already in fuzz/crashes/<target>/ is replayed first, so a fixed finding that comes back
# fails at once.
#
#   fuzz/run.sh [SECONDS]            every target
#   FUZZ_TARGETS="cat_cbor url" fuzz/run.sh 60     only these
#   FUZZ_JOBS=2 fuzz/run.sh           run two targets at a time (default 1)
#
# The committed corpus is never modified: new inputs libFuzzer finds stay in the scratch copy
# (FUZZ_KEEP=1 keeps it under build-fuzz/corpus-run/ for minimising into fuzz/corpus/ by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${1:-20}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}

if ! command -v clang >/dev/null; then
  echo "fuzz/run.sh: clang is required (apt-get install clang libclang-rt-dev)" >&2
  exit 2
fi

# Clang-only warnings must not stop fuzzing: the gcc build is the -Werror gate. An existing
# build directory keeps its own sanitizer flags (FUZZ_BUILD_DIR may point at a custom one).
if [[ ! -f $build/CMakeCache.txt ]]; then
  CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWARDEN_FUZZ=ON \
    -DWARDEN_SANITIZE=ON -DBUILD_TESTING=OFF -DWARDEN_WERROR=OFF >/dev/null
else
  cmake "$build" -DWARDEN_FUZZ=ON >/dev/null
fi
cmake --build "$build" -j"${FUZZ_BUILD_JOBS:-2}" >/dev/null

targets=${FUZZ_TARGETS:-$(cd fuzz && ls ./*_fuzz.c | sed 's|^\./||; s|_fuzz\.c$||')}
work=$build/corpus-run
rm -rf "$work"
mkdir -p "$work"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local t=$1 bin=$build/fuzz/${1}_fuzz
  local dir=$work/$t art=$work/$t-artifacts/ log=$work/$t.log
  if [[ ! -x $bin ]]; then
    echo "FAIL $t: $bin was not built"
    return 1
  fi
  mkdir -p "$dir" "$art"
  [[ -d fuzz/corpus/$t ]] && cp -r "fuzz/corpus/$t/." "$dir/"
  local dict=()
  [[ -f fuzz/$t.dict ]] && dict=(-dict="fuzz/$t.dict")
  local rc=0
  # Reproducers of past findings run first, as regression inputs (read, never written).
  local past=()
  [[ -d fuzz/crashes/$t ]] && past=("fuzz/crashes/$t")
  "$bin" "$dir" "${past[@]}" "${dict[@]}" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$art" >"$log" 2>&1 || rc=$?
  local stats
  stats=$(grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$log" |
    awk '{printf "%s ", $2}')
  if ((rc != 0)) || compgen -G "$art*" >/dev/null; then
    mkdir -p "fuzz/crashes/$t"
    cp "$art"* "fuzz/crashes/$t/" 2>/dev/null || true
    echo "FAIL $t (exit $rc): reproducer in fuzz/crashes/$t/, log $log"
    # The first report and its frames in Warden's code.
    awk '/runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|fuzz invariant/ { p = 1 } p' "$log" |
      grep -v -E 'fuzzer::|libc[.-]|_start |__sanitizer|INFO:|^MS:|^0x|^artifact|^Base64' | head -14 | sed 's/^/    /'
    return 1
  fi
  echo "ok   $t: executions, new inputs: ${stats:-?}"
}

fail=0
jobs=${FUZZ_JOBS:-1}
if ((jobs <= 1)); then
  for t in $targets; do
    run_one "$t" || fail=1
  done
else
  pids=()
  for t in $targets; do
    run_one "$t" &
    pids+=($!)
    if ((${#pids[@]} >= jobs)); then
      wait "${pids[0]}" || fail=1
      pids=("${pids[@]:1}")
    fi
  done
  for p in "${pids[@]}"; do
    wait "$p" || fail=1
  done
fi
[[ ${FUZZ_KEEP:-0} == 1 ]] || rm -rf "$work"/*/
if ((fail)); then
  echo "fuzz: at least one target failed" >&2
  exit 1
fi
echo "fuzz: every target ran ${secs}s without a finding"
