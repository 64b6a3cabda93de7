#!/usr/bin/env bash
# Throughput of `warden analyze` on one core: a generated nginx combined log of a live event
# (LINES lines, default 2,000,000: viewers fetching one segment per 4 s from their own address,
# one in fifty tokens shared to 12 networks; public addresses, so the geo data answers), read
# from a file by `taskset -c 1 warden analyze`, with and without the geo data. Prints lines per
# second and the time. Figures only.
#   bench/analyze_bench.sh [LINES]        WARDEN=path/to/warden to skip the build
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-2000000}
[[ $lines =~ ^[0-9]+$ ]] || { echo "analyze_bench: LINES must be a number" >&2; exit 2; }
if [[ -z ${WARDEN:-} ]]; then
  build=${BENCH_BUILD_DIR:-build-bench}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target warden-cli >/dev/null
  WARDEN=$build/warden
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v N="$lines" 'BEGIN {
  split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon, " ")
  t0 = 1795000000; viewers = int(N / 150) + 1; n = 0
  for (s = 0; n < N; s++) {
    t = t0 + s * 4; d = strftime("%d/%m/%Y:%H:%M:%S", t, 1); split(d, a, "[/:]")
    ts = sprintf("%s/%s/%s:%s:%s:%s +0000", a[1], mon[a[2] + 0], a[3], a[4], a[5], a[6])
    for (v = 0; v < viewers && n < N; v++) {
      tok = sprintf("tok%07d", v)
      if (v % 50 == 0) ip = sprintf("%d.%d.%d.%d", 31 + (s + v) % 12 * 7, (v / 50) % 250, s % 200, 9)
      else ip = sprintf("%d.%d.%d.%d", 81 + v % 40, int(v / 40) % 250, v % 250, 7)
      printf "%s - - [%s] \"GET /live/ch1/v0/seg%d.ts?token=%s HTTP/1.1\" 200 812345 \"-\" \"Mozilla/5.0 (Player)\"\n", ip, ts, s, tok
      n++
    }
  }
}' >"$tmp/access.log"
size=$(du -m "$tmp/access.log" | cut -f1)
echo "analyze_bench: $lines lines, $size MB"
printf '%-12s %12s %10s %10s\n' geo lines/s seconds flagged
for geo in on off; do
  args=(--quiet)
  [[ $geo == off ]] && args+=(--no-geo)
  start=$(date +%s.%N)
  taskset -c "${BENCH_SERVER_CPU:-1}" "$WARDEN" analyze "${args[@]}" "$tmp/access.log" >"$tmp/report.$geo"
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  flagged=$(awk '/shared tokens/ { s = $3 } /suspect tokens/ { u = $3 } END { print s + u }' "$tmp/report.$geo")
  printf '%-12s %12.0f %10s %10s\n' "$geo" "$(awk -v n="$lines" -v s="$secs" 'BEGIN { print n / s }')" "$secs" "$flagged"
done
