#!/usr/bin/env bash
# Black-box tests of `warden analyze`: a generated nginx log of 40 viewers on their own networks
# and 3 tokens each handed to 10 networks of different operators (no geo data: the networks'
# /16s tell operators apart); the shared tokens (and only they) are reported, in
# the report and as JSON lines with every documented field; --token-param, stdin, CloudFront
# and Warden logs, unreadable lines counted without stopping, a missing file and bad options.
set -uo pipefail
W=${WARDEN:?WARDEN must name the warden binary}
command -v jq >/dev/null || { echo "skip: jq is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

# gen PARAM: an nginx combined log (sorted by time) with the token in query parameter PARAM
gen() {
  awk -v P="$1" 'BEGIN {
    t0 = 1795000000; n = 0
    for (v = 0; v < 40; v++)                    # viewers: one network each, 40 segments
      for (s = 0; s < 40; s++)
        line[n++] = sprintf("%d 10.%d.%d.7 legit%02d %d", t0 + s * 6 + (v % 6), 1 + int(v / 200), v, v, s)
    for (k = 0; k < 3; k++)                     # shared: 10 operators each, 20 segments
      for (p = 0; p < 10; p++)
        for (s = 5; s < 25; s++)
          line[n++] = sprintf("%d 100.%d.%d.9 shared%d %d", t0 + s * 6 + p % 6, 60 + p, k, k, s)
    for (i = 0; i < n; i++) print line[i]
  }' | sort -n | awk -v P="$1" '{
    split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon, " ")
    t = $1; d = strftime("%d/%m/%Y:%H:%M:%S", t, 1); split(d, a, "[/:]")
    printf "%s - - [%s/%s/%s:%s:%s:%s +0000] \"GET /live/ch1/v0/seg%d.ts?%s=%s HTTP/1.1\" 200 1234 \"-\" \"Mozilla/5.0\"\n",
      $2, a[1], mon[a[2] + 0], a[3], a[4], a[5], a[6], $4, P, $3
  }'
}
gen token >"$tmp/access.log"
check "the generated log has 2200 lines" test "$(wc -l <"$tmp/access.log")" -eq 2200

"$W" analyze --no-geo --json "$tmp/access.log" >"$tmp/out.jsonl" 2>"$tmp/err"
check "analyze exits 0" test $? -eq 0
check "three tokens are flagged" test "$(wc -l <"$tmp/out.jsonl")" -eq 3
check "exactly the shared tokens, all of them" test "$(jq -r .token "$tmp/out.jsonl" | sort | tr '\n' ' ')" = "shared0 shared1 shared2 "
check "each is shared" test "$(jq -r .verdict "$tmp/out.jsonl" | sort -u)" = shared
check "every documented field is there" test "$(jq -c 'keys - ["explanation"]' "$tmp/out.jsonl" | sort -u)" = '["asns","countries","first_seen","flagged_at","last_seen","networks","reasons","requests","score","token","token_id","verdict"]'
check "networks are counted" test "$(jq '.networks >= 5' "$tmp/out.jsonl" | sort -u)" = true
check "reasons name the signals" test "$(jq -r '.reasons | index("networks") != null' "$tmp/out.jsonl" | sort -u)" = true
check "token_id is the token's identity" test "$(jq -r '.token_id | startswith("sha256:")' "$tmp/out.jsonl" | sort -u)" = true
check "first_seen and last_seen come from the log" test "$(jq '.first_seen >= 1795000000 and .last_seen > .first_seen' "$tmp/out.jsonl" | sort -u)" = true
check "flagged_at is when it was found shared, in log time" test "$(jq '.flagged_at >= .first_seen and .flagged_at <= .last_seen + 1' "$tmp/out.jsonl" | sort -u)" = true

"$W" analyze --no-geo "$tmp/access.log" >"$tmp/report.txt" 2>&1
grep -Eq '^  shared tokens +3$' "$tmp/report.txt" && ok "the report counts 3 shared tokens" || bad "report: $(cat "$tmp/report.txt")"
grep -Eq '^  requests with token +2200 ' "$tmp/report.txt" && ok "the report counts every request" || bad "requests counted"
# 600 of 2200 requests ride on the shared tokens; those before detection are not counted
SHARE=$(awk '/requests on shared/ {sub("%", "", $4); print $4}' "$tmp/report.txt")
awk -v s="$SHARE" 'BEGIN { exit !(s >= 20 && s <= 27.3) }' && ok "the report gives the share on shared tokens ($SHARE%)" || bad "share: $(grep 'on shared' "$tmp/report.txt")"
grep -q "Top tokens by spread" "$tmp/report.txt" && ok "the report lists the top tokens" || bad "top tokens"

# --- the token under another name, from stdin
gen vt >"$tmp/vt.log"
"$W" analyze --no-geo --json <"$tmp/vt.log" >"$tmp/none.jsonl"
check "an unknown parameter name finds no tokens" test ! -s "$tmp/none.jsonl"
"$W" analyze --no-geo --json --token-param vt - <"$tmp/vt.log" >"$tmp/vt.jsonl"
check "--token-param finds them (stdin)" test "$(wc -l <"$tmp/vt.jsonl")" -eq 3

# --- unreadable lines are counted, the rest is analysed
{ head -100 "$tmp/access.log"; echo 'this is not a log line'; printf '1.2.3.4 - - [99/Foo/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"\n'; tail -n +101 "$tmp/access.log"; } >"$tmp/mixed.log"
"$W" analyze --no-geo --format nginx "$tmp/mixed.log" >"$tmp/mixed.txt" 2>"$tmp/mixed.err"
check "bad lines do not stop the analysis (exit 0)" test $? -eq 0
grep -Eq '2 unreadable\)' "$tmp/mixed.txt" && ok "bad lines are counted" || bad "bad lines counted: $(head -3 "$tmp/mixed.txt")"
grep -q "line 101: " "$tmp/mixed.err" && ok "the first bad line is named" || bad "first bad line: $(cat "$tmp/mixed.err")"
grep -Eq '^  shared tokens +3$' "$tmp/mixed.txt" && ok "the shared tokens are still found" || bad "still found"

# --- the other formats
D=${WARDEN_SRC:-.}/tests/data/logs
if [[ -f $D/cloudfront-access.log ]]; then
  "$W" analyze --no-geo "$D/cloudfront-access.log" >"$tmp/cf.txt" 2>&1
  check "a CloudFront log is read (exit 0)" test $? -eq 0
  grep -Eq '^  lines +[0-9]+ \([1-9][0-9]* requests, [1-9][0-9]* skipped, 0 unreadable\)' "$tmp/cf.txt" && ok "CloudFront header lines are skipped, requests read" || bad "cloudfront: $(head -4 "$tmp/cf.txt")"
  "$W" analyze --no-geo "$D/warden-decisions.log" >"$tmp/wd.txt" 2>&1
  check "a Warden decision log is read (exit 0)" test $? -eq 0
  grep -Eq '0 unreadable' "$tmp/wd.txt" && ok "every decision-log line is read" || bad "warden log: $(head -4 "$tmp/wd.txt")"
fi

# --- errors
"$W" analyze --no-geo "$tmp/missing.log" >/dev/null 2>"$tmp/e1"
check "a missing file: exit 1" test $? -eq 1
grep -q "cannot read $tmp/missing.log" "$tmp/e1" && ok "the message names the file" || bad "names the file: $(cat "$tmp/e1")"
"$W" analyze --format apache "$tmp/access.log" >/dev/null 2>"$tmp/e2"
check "an unknown format: exit 2" test $? -eq 2
grep -q "unknown format 'apache'" "$tmp/e2" && ok "the message names the format" || bad "format message"
"$W" analyze --window 1 "$tmp/access.log" >/dev/null 2>&1
check "a window out of range: exit 2" test $? -eq 2
"$W" analyze --frobnicate >/dev/null 2>&1
check "an unknown option: exit 2" test $? -eq 2
"$W" analyze --help | grep -q "usage: warden analyze" && ok "--help prints the usage" || bad "--help"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
