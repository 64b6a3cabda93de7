#!/usr/bin/env bash
# Black-box tests of `warden sim`: the files it writes (an nginx log every line of which
# parses, with a real CAT token that verifies; a CloudFront log of 33 tab-separated fields; the
# warden-requests JSON lines; the truth, one object per token, every pattern with its label and
# the requests adding up), the same files for the same seed, warden analyze reading all three
# formats, the addresses from the installed geo data (or synthetic ones with --no-geo), usage
# errors, and a --live run against a real `warden serve` on 127.0.0.1 whose answers land in
# answers.jsonl next to the truth. Parts needing the geo data are skipped, with a message,
# when it is not installed.
source "$(dirname "$0")/../server/common.sh"

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
START=1790000000
SIM=(--seed 3 --start $START --duration 180 --audience 200 --shared 0.1 --restreamers 2
     --key cat:hex:$KEY)

# --- files: nginx
timeout 120 "$W" sim --out "$tmp/a" "${SIM[@]}" >"$tmp/a.out" 2>"$tmp/a.err"
check "sim writes the files and exits 0" test $? -eq 0 -a -s "$tmp/a/access.log" -a -s "$tmp/a/truth.jsonl"
check "no key is printed when one is given" test ! -s "$tmp/a.err"
check "the summary counts the tokens" grep -q "tokens: 202 (legit 180, shared 20, restream 2)" "$tmp/a.out"
LOG=$tmp/a/access.log TRUTH=$tmp/a/truth.jsonl
lines=$(wc -l <"$LOG")
bad_lines=$(grep -Evc '^[0-9a-f.:]+ - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} \+0000\] "GET /live/ch1/[0-9a-z]+/(index\.m3u8|seg[0-9]+\.ts)\?CAT=[A-Za-z0-9_-]+ HTTP/1\.1" 200 [0-9]+ "-" "[^"]+"$' "$LOG")
check "every nginx line parses ($lines lines)" test "$bad_lines" -eq 0 -a "$lines" -gt 10000
check "lines are in time order" bash -c "awk '{print \$4}' '$LOG' | tr -d '[' | awk -F'[/:]' 'BEGIN{split(\"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec\",m,\" \");for(i=1;i<=12;i++)M[m[i]]=i} {k=sprintf(\"%04d%02d%02d%02d%02d%02d\",\$3,M[\$2],\$1,\$4,\$5,\$6); if(k<p) bad=1; p=k} END{exit bad}'"
check "the truth has one line per token" test "$(wc -l <"$TRUTH")" -eq 202 -a "$(jq -r .token_id "$TRUTH" | sort -u | wc -l)" -eq 202
check "the requests add up to the log's lines" test "$(jq -s 'map(.requests) | add' "$TRUTH")" -eq "$lines"
check "every token in the log is in the truth" test "$(grep -o 'CAT=[A-Za-z0-9_-]*' "$LOG" | cut -c5- | sort -u | comm -23 - <(jq -r .token "$TRUTH" | sort -u) | wc -l)" -eq 0
check "labels are legit, shared or restream" test "$(jq -r .label "$TRUTH" | sort -u | tr '\n' ' ')" = "legit restream shared "
check "every pattern is there" test "$(jq -r .pattern "$TRUTH" | sort -u | tr '\n' ' ')" = "carrier_rotation casting cgnat dual_stack friends household impossible_travel pirates restreamer single wifi_to_mobile "
check "each pattern has its label" test "$(jq -r '[.pattern, .label] | @tsv' "$TRUTH" | sort -u | awk '($1 ~ /^(friends|pirates|impossible_travel)$/ && $2 != "shared") || ($1 == "restreamer" && $2 != "restream") || ($1 ~ /^(single|carrier_rotation|dual_stack|wifi_to_mobile|household|cgnat|casting)$/ && $2 != "legit")' | wc -l)" -eq 0
check "misuse has a time it began, legit tokens none" test "$(jq -r 'select((.label == "legit") == (.became_shared_ms != null)) | .token_id' "$TRUTH" | wc -l)" -eq 0
check "shared tokens reach three viewers or two countries" test "$(jq -r 'select(.label == "shared" and .viewers < 3 and (.countries | length) < 2) | .token_id' "$TRUTH" | wc -l)" -eq 0
check "a household is several tokens on one network" test "$(jq -s '[.[] | select(.pattern == "household")] | group_by(.group) | map(length >= 2 and (map(.networks[0].prefix) | unique | length) == 1) | all' "$TRUTH")" = true
check "a dual-stack viewer is one IPv4 and one IPv6 network of one ASN" test "$(jq -s '[.[] | select(.pattern == "dual_stack") | (.networks | length) == 2 and (.asns | length) == 1] | all' "$TRUTH")" = true
check "every truth field is there" test "$(jq -c 'keys' "$TRUTH" | sort -u)" = '["addresses","asns","became_shared_ms","countries","exp","first_ms","group","iat","label","last_ms","networks","pattern","renewal","requests","shared_rule","subject","token","token_id","viewers"]'

# the tokens are real CAT tokens, bound to the channel
T=$(head -1 "$TRUTH" | jq -r .token)
IAT=$(head -1 "$TRUTH" | jq -r .iat)
"$W" token verify --scheme cat --key-hex $KEY --issuer warden-sim --now $((IAT + 5)) \
  --url https://cdn.example.com/live/ch1/720p/seg200.ts "$T" >"$tmp/v.json" 2>"$tmp/v.err"
check "a simulated token verifies with the key" test $? -eq 0
check "its id is the truth's token_id" test "$(jq -r .identity.token_id "$tmp/v.json")" = "$(head -1 "$TRUTH" | jq -r .token_id)"
"$W" token verify --scheme cat --key-hex $KEY --now $((IAT + 5)) --url https://cdn.example.com/vod/x.ts "$T" >/dev/null 2>&1
check "and covers only the channel's paths" test $? -eq 1

# the same seed, the same files
timeout 120 "$W" sim --out "$tmp/b" "${SIM[@]}" >/dev/null 2>&1
check "the same seed gives the same log" cmp -s "$LOG" "$tmp/b/access.log"
check "and the same truth" cmp -s "$TRUTH" "$tmp/b/truth.jsonl"
timeout 120 "$W" sim --out "$tmp/c" "${SIM[@]}" --seed 4 >/dev/null 2>&1
check "another seed, another log" bash -c "! cmp -s '$LOG' '$tmp/c/access.log'"

"$W" analyze --segment 4 "$LOG" >"$tmp/an.txt" 2>&1
check "warden analyze reads every line of the nginx log" grep -Eq "lines +$lines \($lines requests, 0 skipped, 0 unreadable\)" "$tmp/an.txt"

# --- CloudFront and warden-requests
timeout 120 "$W" sim --out "$tmp/cf" "${SIM[@]}" --format cloudfront >/dev/null 2>&1
CF=$tmp/cf/access.log
check "the CloudFront log starts with #Version and #Fields" test "$(head -1 "$CF")" = "#Version: 1.0" -a "$(sed -n 2p "$CF" | cut -c1-14)" = "#Fields: date "
check "#Fields names the 33 standard fields" test "$(sed -n 2p "$CF" | cut -d' ' -f2- | wc -w)" -eq 33
check "every CloudFront line has 33 tab-separated fields" test "$(tail -n +3 "$CF" | awk -F'\t' 'NF != 33' | wc -l)" -eq 0
check "the same requests as the nginx log" test "$(tail -n +3 "$CF" | wc -l)" -eq "$lines"
check "the token is in cs-uri-query, the user agent URL-encoded" test "$(tail -n +3 "$CF" | awk -F'\t' '$12 !~ /^CAT=/ || $11 ~ / /' | wc -l)" -eq 0
"$W" analyze --segment 4 "$CF" >"$tmp/an-cf.txt" 2>&1
check "warden analyze reads every CloudFront line" grep -Eq "\($lines requests, [0-9]+ skipped, 0 unreadable\)" "$tmp/an-cf.txt"

timeout 120 "$W" sim --out "$tmp/rq" "${SIM[@]}" --format warden-requests >/dev/null 2>&1
RQ=$tmp/rq/access.log
check "warden-requests is JSON lines" test "$(jq -c . "$RQ" 2>/dev/null | wc -l)" -eq "$lines"
check "with the truth's label on each request" test "$(jq -r 'select(.label == null or .pattern == null or .token_id == null or .ip == null) | .ts' "$RQ" | wc -l)" -eq 0
"$W" analyze --segment 4 --format warden "$RQ" >"$tmp/an-rq.txt" 2>&1
check "warden analyze reads it as a decision log" grep -Eq "\($lines requests, 0 skipped, 0 unreadable\)" "$tmp/an-rq.txt"

# --- addresses
timeout 120 "$W" sim --out "$tmp/ng" "${SIM[@]}" --no-geo >"$tmp/ng.out" 2>&1
check "--no-geo: synthetic addresses, said in the truth" test "$(jq -r .addresses "$tmp/ng/truth.jsonl" | sort -u)" = synthetic
check "--no-geo: addresses in 198.18.0.0/15 and 2001:db8::/32" test "$(awk '{print $1}' "$tmp/ng/access.log" | grep -Ev '^(198\.1[89]\.|2001:db8:)' | wc -l)" -eq 0
check "--no-geo: private-use ASNs" test "$(jq -r '.asns[]' "$tmp/ng/truth.jsonl" | awk '$1 < 64512 || $1 > 65534' | wc -l)" -eq 0
if jq -r .addresses "$TRUTH" | grep -q ip-location-db; then
  check "with the geo data: every address looks up to the ASN and country of the truth" grep -q "; 0 of $lines requests' addresses looked up to another ASN or country" "$tmp/a.out"
  check "real ASNs: Telia, Comcast or Deutsche Telekom appear" test "$(jq -r '.asns[]' "$TRUTH" | grep -Ec '^(3301|7922|3320)$')" -gt 0
  check "restreamers are in datacenter ASNs" test "$(jq -r 'select(.pattern == "restreamer") | .asns[]' "$TRUTH" | grep -Evc '^(16276|24940|51167|14061|16509|20473|63949)$')" -eq 0
else
  echo "# skip: the geo data is not installed (scripts/deps.sh): addresses checked as synthetic only"
  check "without the geo data the addresses are synthetic" test "$(jq -r .addresses "$TRUTH" | sort -u)" = synthetic
fi

# --- usage errors
usage() { # usage DESCRIPTION MESSAGE-PART ARGS...
  local d=$1 m=$2; shift 2
  "$W" sim "$@" >"$tmp/u.out" 2>"$tmp/u.err"
  local rc=$?
  if [[ $rc -eq 2 ]] && grep -q -- "$m" "$tmp/u.err"; then ok "$d"; else bad "$d (exit $rc: $(cat "$tmp/u.err"))"; fi
}
usage "no --out" "--out DIR is required" --seed 1
usage "unknown format" "unknown --format 'json'" --out "$tmp/x" --format json
usage "pirates the wrong way round" "--pirates '200-2'" --out "$tmp/x" --pirates 200-2
usage "a share above 1" "--shared '1.5'" --out "$tmp/x" --shared 1.5
usage "a zero duration" "--duration '0'" --out "$tmp/x" --duration 0
usage "a key of another scheme" "issues CAT tokens" --out "$tmp/x" --key jwt:secret:abc
usage "a bad key" "--key" --out "$tmp/x" --key cat:hex:zz
usage "--speed without --live" "go with --live" --out "$tmp/x" --speed 2
usage "--start with --live" "cannot be used with --live" --out "$tmp/x" --live http://127.0.0.1:1 --start 1
usage "an unknown option" "unknown option '--bogus'" --out "$tmp/x" --bogus
usage "a segment path without <N>" "hold <N>" --out "$tmp/x" --segment-path /live/seg.ts
check "nothing written on a usage error" test ! -e "$tmp/x"
"$W" sim --help >"$tmp/help" 2>&1
check "--help exits 0 and lists --live" grep -q -- "--live URL" "$tmp/help"
"$W" sim --out "$tmp/nolive" --live http://127.0.0.1:1 --duration 10 --audience 5 >/dev/null 2>"$tmp/nolive.err"
check "a server that is not there is an error (exit 1)" test $? -eq 1
check "that names the address" grep -q "cannot connect to http://127.0.0.1:1" "$tmp/nolive.err"
"$W" sim --out "$tmp/gen" --duration 20 --audience 5 --restreamers 0 >/dev/null 2>"$tmp/gen.err"
check "without --key a key is generated and printed once" test "$(grep -c -- '--key cat:hex:[0-9a-f]\{64\}' "$tmp/gen.err")" -eq 1

# --- live: against warden serve, nginx-style /auth calls
cat >"$tmp/warden.yaml" <<EOF
listen: [127.0.0.1:0]
data_dir: $tmp/data
admin_token: test-admin-token-0123456789
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
  segment_seconds: 4
EOF
if start_server live --config "$tmp/warden.yaml"; then
  GEOH=()
  jq -r .addresses "$TRUTH" | grep -q ip-location-db || GEOH=(--geo-headers) # no data: tell the server
  timeout 120 "$W" sim --out "$tmp/live" --live "$(base_url)" --speed 4 --connections 4 --seed 5 \
    --duration 40 --audience 40 --shared 0.25 --pirates 8-30 --restreamers 1 --key cat:hex:$KEY "${GEOH[@]}" \
    >"$tmp/live.out" 2>"$tmp/live.err"
  check "--live runs to the end (exit 0)" test $? -eq 0
  A=$tmp/live/answers.jsonl
  n=$(wc -l <"$tmp/live/access.log")
  check "one answer per request ($n)" test "$(wc -l <"$A")" -eq "$n" -a "$n" -gt 500
  check "every answer is a 200 with an action (monitor mode)" test "$(jq -r 'select(.status != 200 or .action == null or .error != null) | .seq' "$A" | wc -l)" -eq 0
  check "answers name the truth's tokens" test "$(jq -r .token_id "$A" | sort -u | comm -23 - <(jq -r .token_id "$tmp/live/truth.jsonl" | sort -u) | wc -l)" -eq 0
  check "answers carry the truth's labels" test "$(jq -r .label "$A" | sort -u | tr '\n' ' ')" = "legit restream shared "
  check "the server found sharing on a shared token" test "$(jq -r 'select(.label == "shared" and (.reasons | index("shared"))) | .token_id' "$A" | sort -u | wc -l)" -ge 1
  check "the summary compares the answers with the truth" grep -q 'tokens answered "shared": legit [0-9]* of [0-9]*, shared [0-9]* of [0-9]*' "$tmp/live.out"
  check "the requests were paced (40 s at speed 4 takes about 10 s)" test "$(jq -s '(map(.sent_ms) | max) - (map(.sent_ms) | min)' "$A")" -ge 7000
  req GET /metrics
  check "the server counted the /auth calls" test "$(grep '^warden_http_requests_total{route="auth"' "$tmp/body" | awk '{s += $2} END {print s + 0}')" -eq "$n"
  stop_server
  check "the server stops cleanly" test $? -eq 0
else
  bad "warden serve starts for the --live test"
fi

finish
