#!/usr/bin/env bash
# Detection quality against ground truth: `warden sim` writes labelled live events (CDN log and
# truth.jsonl), `warden analyze --json` replays each log through sharing detection, and the
# flagged tokens are joined with the truth. Per run and over all runs: precision and recall at
# the default thresholds (verdict "shared" is the positive; "suspect" is reported apart: what
# would go to review), the verdicts per pattern, and the time to detect a shared token: from
# its third network (truth; for impossible_travel, which has two, from the far country's first
# request) to the first time it was found shared (analyze's flagged_at), in segment durations.
# Then one smaller event sent live (`warden sim --live`) to a real `warden serve` started here,
# as the detector runs in production: the same figures from the server's answers.
#
#   bench/detect_quality.sh [--quick] [--format nginx|cloudfront|warden-requests] [--no-live]
#                           [--live-audience N] [--live-duration S] [--live-speed N] [--keep]
#
# --quick: the two default-sized offline runs only and a 120 s live event. --format: the log
# the sim writes for analyze (nginx, the default, and CloudFront logs give times to the second:
# offline delays are then measured on the log's clock, the third network's first request at
# its second; warden-requests carries milliseconds). WARDEN=path/to/warden uses that binary;
# otherwise Warden is built (Release) into ${BENCH_BUILD_DIR:-build-bench}.
# Needs jq (scripts/deps.sh --test); the geo data (scripts/deps.sh) gives real addresses, ASNs
# and countries, without it everything runs on synthetic addresses. Figures only: the script
# fails only when something does not run. The goals (the detection issue): precision >= 99%,
# recall >= 95%, a shared token flagged within two segment durations of its third network.
# shellcheck disable=SC2016  # jq programs in single quotes
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 live=1 keep=0 live_audience=300 live_duration=300 live_speed=1 format=nginx
while (($#)); do
  case $1 in
    --quick) quick=1; live_duration=120 ;;
    --no-live) live=0 ;;
    --keep) keep=1 ;;
    --format) format=${2:?}; shift ;;
    --live-audience) live_audience=${2:?}; shift ;;
    --live-duration) live_duration=${2:?}; shift ;;
    --live-speed) live_speed=${2:?}; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "detect_quality: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case $format in
  nginx|cloudfront|warden-requests) ;;
  *) echo "detect_quality: --format must be nginx, cloudfront or warden-requests" >&2; exit 2 ;;
esac
res=1000
[[ $format == warden-requests ]] && res=1
for v in "$live_audience" "$live_duration" "$live_speed"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] ||
    { echo "detect_quality: '$v' is not a positive whole number" >&2; exit 2; }
done
command -v jq >/dev/null ||
  { echo "detect_quality: jq is needed (scripts/deps.sh --test)" >&2; exit 1; }

if [[ -z ${WARDEN:-} ]]; then
  build=${BENCH_BUILD_DIR:-build-bench}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DWARDEN_WERROR=OFF \
    >/dev/null
  cmake --build "$build" -j2 --target warden-cli >/dev/null
  WARDEN=$build/warden
fi
W=$WARDEN

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null || true
  fi
  if ((keep)); then echo "detect_quality: files kept in $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

SEG=4                  # segment duration of every run (the sim's default)
START=1790000000       # a fixed start: the same runs give the same files
KEY=5b0f3c8ad1e2f4a69788776655443322110fedcba98765432100123456789abc  # a benchmark key

# name|seed|warden sim options
runs=("default|1|" "default-seed2|2|")
summaries=()
((quick)) || runs+=("audience-5000|3|--audience 5000" "shared-15%|4|--shared 0.15")

# The join. $truth: truth.jsonl, $flag: flagged tokens ({token_id, verdict, flagged_ms}),
# $seg: seconds, $res: the clock's resolution in ms (1000 for logs with whole seconds). One
# object: counts, per pattern, and time-to-detect samples (segment durations).
JOIN='
def ref_ms: (if .label == "shared" and (.networks | length) >= 3 then .networks[2].first_ms
             else .became_shared_ms end) | (. / $res | floor) * $res;
($flag | map({key: .token_id, value: .}) | from_entries) as $f
| [ $truth[] | ($f[.token_id] // {verdict: "ok"}) as $v
    | {label: .label, pattern: .pattern, verdict: $v.verdict,
       ttd: (if $v.verdict == "shared" and .became_shared_ms != null
             then (($v.flagged_ms - ref_ms) / ($seg * 1000)) else null end)} ] as $rows
| ($rows | map(select(.label != "legit"))) as $pos
| {tokens: ($rows | length),
   legit: ($rows | map(select(.label == "legit")) | length),
   misuse: ($pos | length),
   shared_tokens: ($pos | map(select(.label == "shared")) | length),
   tp: ($pos | map(select(.verdict == "shared")) | length),
   tp_shared: ($pos | map(select(.label == "shared" and .verdict == "shared")) | length),
   fp: ($rows | map(select(.label == "legit" and .verdict == "shared")) | length),
   legit_suspect: ($rows | map(select(.label == "legit" and .verdict == "suspect")) | length),
   misuse_suspect: ($pos | map(select(.verdict == "suspect")) | length),
   patterns: ($rows | group_by(.pattern) | map({key: .[0].pattern, value: {
       label: .[0].label, n: length,
       shared: map(select(.verdict == "shared")) | length,
       suspect: map(select(.verdict == "suspect")) | length}}) | from_entries),
   ttd: ($rows | map(select(.label == "shared" and .ttd != null) | .ttd)),
   ttd_restream: ($rows | map(select(.label == "restream" and .ttd != null) | .ttd))}'

# Sum of run objects.
SUM='reduce .[] as $r ({tokens: 0, legit: 0, misuse: 0, shared_tokens: 0, tp: 0, tp_shared: 0,
       fp: 0, legit_suspect: 0, misuse_suspect: 0, patterns: {}, ttd: [], ttd_restream: []};
  .tokens += $r.tokens | .legit += $r.legit | .misuse += $r.misuse
  | .shared_tokens += $r.shared_tokens | .tp += $r.tp | .tp_shared += $r.tp_shared
  | .fp += $r.fp | .legit_suspect += $r.legit_suspect | .misuse_suspect += $r.misuse_suspect
  | .ttd += $r.ttd | .ttd_restream += $r.ttd_restream
  | reduce ($r.patterns | to_entries[]) as $p (.;
      .patterns[$p.key] |= {label: $p.value.label, n: ((.n // 0) + $p.value.n),
                            shared: ((.shared // 0) + $p.value.shared),
                            suspect: ((.suspect // 0) + $p.value.suspect)}))'

# jq helpers: a percentage, and the nearest-rank quantile of a list (negative delays, found
# before the third network, count 0).
JQDEF='def pct(a; b): if b == 0 then "-" else (1000 * a / b | round / 10 | tostring) + "%" end;
def q(p): if length == 0 then "-"
  else map(if . < 0 then 0 else . end) | sort | .[([((p * length) | ceil) - 1, 0] | max)]
       | . * 100 | round / 100 | tostring end;'

# One line of the runs table from a run object.
LINE="$JQDEF"'
[$name, .tokens, .legit, .misuse, .tp, .fp, .misuse - .tp,
 pct(.tp; .tp + .fp), pct(.tp; .misuse), pct(.tp_shared; .shared_tokens), .legit_suspect,
 .misuse_suspect, (.ttd | q(0.5)), (.ttd | q(0.9)), (.ttd | q(1))] | @tsv'

PATTERNS='(["single","carrier_rotation","dual_stack","wifi_to_mobile","household","cgnat",
   "casting","friends","pirates","impossible_travel","restreamer"]) as $order
| $order[] as $p | (.patterns[$p] // empty) as $x
| [$p, $x.label, $x.n, $x.shared, $x.suspect, $x.n - $x.shared - $x.suspect] | @tsv'

DELAYS="$JQDEF"'
(.ttd | map(select(. >= 0))) as $after
| "Time to detect, in segment durations from the third network (\(.ttd | length) found shared):",
  "  all: median \(.ttd | q(0.5)), 90th percentile \(.ttd | q(0.9)), max \(.ttd | q(1))"
  + " (\(.ttd | length - ($after | length)) found before it, counted 0: two countries at once, travel)",
  "  those found after it (\($after | length)): median \($after | q(0.5)),"
  + " 90th percentile \($after | q(0.9)), max \($after | q(1))",
  "  within two segment durations: \(.ttd | map(select(. <= 2)) | length) of \(.ttd | length)",
  "Restreamers found shared: \(.ttd_restream | length) of \(.patterns.restreamer.n // 0)"
  + (if (.ttd_restream | length) > 0 then ", from their first request: median "
     + (.ttd_restream | q(0.5)) + ", max " + (.ttd_restream | q(1)) + " segment durations"
     else "" end)'

FMT='%-14s %6s %6s %6s %5s %4s %4s %9s %7s %8s %9s %8s %7s %7s %7s\n'
header() {
  # shellcheck disable=SC2059
  printf "$FMT" run tokens legit misuse TP FP FN precision recall r.shared legit-sus misu-sus \
    ttd-p50 ttd-p90 ttd-max
}
row() {
  local line
  while IFS= read -r line; do
    IFS=$'\t' read -r -a f <<<"$line"
    # shellcheck disable=SC2059
    printf "$FMT" "${f[@]}"
  done
}
details() {
  echo "Verdicts per pattern:"
  printf '  %-18s %-9s %6s %7s %8s %6s\n' pattern label tokens shared suspect ok
  jq -r "$PATTERNS" "$1" | while IFS=$'\t' read -r -a f; do
    printf '  %-18s %-9s %6s %7s %8s %6s\n' "${f[@]}"
  done
  jq -r "$DELAYS" "$1"
}
legend() {
  cat <<EOF
  misuse: shared and restream tokens. TP, FP, FN: verdict "shared" on misuse, on legitimate
  tokens, misuse not found shared. precision TP/(TP+FP), recall TP/misuse, r.shared: recall
  over label "shared" alone. legit-sus: legitimate tokens found suspect (would go to review),
  misu-sus: misuse found suspect only. ttd: from the third network to "shared", in segment
  durations ($SEG s), found earlier counts 0.
EOF
}

echo "== warden detection quality ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))," \
  "segments of $SEG s"
geo_note=""

# ---------------------------------------------------------------- offline: sim, analyze, join
for spec in "${runs[@]}"; do
  IFS='|' read -r name seed opts <<<"$spec"
  d=$tmp/$name
  # shellcheck disable=SC2086
  "$W" sim --out "$d" --seed "$seed" --start "$START" --key "cat:hex:$KEY" --segment "$SEG" \
    --format "$format" $opts >"$d.sim" 2>&1 ||
    { echo "detect_quality: warden sim failed:"; cat "$d.sim"; exit 1; }
  t0=$(date +%s.%N)
  "$W" analyze --segment "$SEG" --json --quiet "$d/access.log" >"$d/flagged.jsonl"
  t1=$(date +%s.%N)
  jq -c '{token_id, verdict, flagged_ms: (.flagged_at * 1000 | round)}' "$d/flagged.jsonl" \
    >"$d/flag.jsonl"
  jq -n --slurpfile truth "$d/truth.jsonl" --slurpfile flag "$d/flag.jsonl" \
    --argjson seg "$SEG" --argjson res "$res" "$JOIN" >"$d/summary.json"
  reqs=$(grep -vc '^#' "$d/access.log")
  addr=$(grep -o 'addresses: .*' "$d.sim" | head -1)
  geo_note=${addr%%;*}
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  printf '  %-14s seed %s, %-18s %9d requests, analysed in %s s\n' "$name" "$seed" \
    "${opts:-defaults}" "$reqs" "$secs" >>"$tmp/runs.txt"
  summaries+=("$d/summary.json")
done

echo
echo "== offline: warden sim --format $format, then warden analyze --segment $SEG --json"
echo "   ($geo_note)"
cat "$tmp/runs.txt"
echo
header
for spec in "${runs[@]}"; do
  IFS='|' read -r name _ _ <<<"$spec"
  jq -r --arg name "$name" "$LINE" "$tmp/$name/summary.json" | row
done
jq -s "$SUM" "${summaries[@]}" >"$tmp/all.json"
jq -r --arg name "all" "$LINE" "$tmp/all.json" | row
echo
legend
echo
echo "All offline runs."
details "$tmp/all.json"

# ---------------------------------------------------------------- live: sim --live to serve
((live)) || exit 0
echo
d=$tmp/live
mkdir -p "$d"
# At --speed N the server's clock runs N times slower than the event's (docs/sim.md): its
# window and segment duration shrink N times and travel speeds look N times higher.
if ((60 / live_speed < 10)); then
  echo "detect_quality: --live-speed $live_speed makes the window shorter than 10 s" >&2
  exit 2
fi
cat >"$d/warden.yaml" <<EOF
listen: [127.0.0.1:0]
data_dir: $d/data
trusted_proxies: [127.0.0.1]
client_ip_header: X-Real-IP
country_header: X-Country
asn_header: X-ASN
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - name: live
    path_prefix: /live/
    mode: monitor
detection:
  segment_seconds: $(awk -v s="$SEG" -v n="$live_speed" 'BEGIN { print s / n }')
  window: $((60 / live_speed))
  travel_kmh: $((1000 * live_speed))
EOF
"$W" serve --config "$d/warden.yaml" >"$d/serve.out" 2>"$d/serve.err" &
server_pid=$!
port=
for _ in $(seq 1 200); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$d/serve.err" | head -1 |
         grep -o '[0-9]*$' || true)
  [[ -n $port ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
[[ -n $port ]] || { echo "detect_quality: warden serve did not start:"; cat "$d/serve.err"; exit 1; }
geoh=()
grep -q 'synthetic' "$tmp/default.sim" && geoh=(--geo-headers) # no geo data: tell the server
echo "== live: warden sim --live against warden serve (monitor mode), $live_audience viewers," \
  "$live_duration s, --speed $live_speed, seed 5"
"$W" sim --out "$d/run" --live "http://127.0.0.1:$port" --speed "$live_speed" --seed 5 \
  --audience "$live_audience" --duration "$live_duration" --segment "$SEG" \
  --key "cat:hex:$KEY" "${geoh[@]}" >"$d/sim.out" 2>&1 ||
  { echo "detect_quality: warden sim --live failed:"; cat "$d/sim.out"; exit 1; }
kill -TERM "$server_pid" 2>/dev/null
wait "$server_pid" 2>/dev/null || true
server_pid=
grep -E '^ *(live:|answers:|time to detect)' "$d/sim.out" | sed 's/^ */  /' || true
# a token is flagged from its first answer with reason "shared" (simulated time)
jq -c 'select(.reasons != null and (.reasons | index("shared"))) | {token_id, t_ms}' \
  "$d/run/answers.jsonl" |
  jq -s -c 'group_by(.token_id)[]
            | {token_id: .[0].token_id, verdict: "shared", flagged_ms: (map(.t_ms) | min)}' \
  >"$d/flag.jsonl"
jq -n --slurpfile truth "$d/run/truth.jsonl" --slurpfile flag "$d/flag.jsonl" \
  --argjson seg "$SEG" --argjson res 1 "$JOIN" >"$d/summary.json"
echo
header
jq -r --arg name "live" "$LINE" "$d/summary.json" | row
echo "  (live answers carry \"shared\" only: suspect verdicts do not show in them)"
echo
details "$d/summary.json"
