#!/usr/bin/env bash
# Black-box tests of the JSON the console reads and of the console's files: GET /v1/stats (its
# shape, series, totals, top tokens by spread, policies, cases, node health; roles), GET
# /v1/policies/<name>/whatif (current cases of the policy, recent decisions, the summary, bad
# input), and /ui/ (index, the bundled script and style, security headers, ETag, redirects).
source "$(dirname "$0")/common.sh"

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ADMIN=test-admin-token-0123456789
AUTH=(-H "Authorization: Bearer $ADMIN")
H_VIEW=$(echo 'viewer-pass-3' | "$W" passwd --kdf pbkdf2)

cat >"$tmp/warden.yaml" <<EOF
listen: [127.0.0.1:0]
data_dir: $tmp/data
admin_token: $ADMIN
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - name: live
    path_prefix: /live/
    mode: moderate
    countries_deny: [XX]
  - name: vod
    path_prefix: /vod/
    mode: monitor
console:
  users:
    - {name: vera, role: viewer, password_hash: "$H_VIEW"}
EOF
start_server main --config "$tmp/warden.yaml" || { bad "server starts"; finish; }

issue() { "$W" token issue --scheme cat --key-hex $KEY --claims "{\"cti\":\"$1\",\"sub\":\"$2\"}" --ttl 600; }
decide() { req GET "/v1/decide?token=$1&ip=$2&country=${3:-SE}&url=$4"; }

# --- the stats need a reader
req GET /v1/stats
check "/v1/stats without credentials: 401" test "$CODE" = 401
CODE=$(curl -s -o /dev/null -w '%{http_code}' -c "$tmp/jar" -X POST "$(base_url)/ui/login" -H 'Content-Type: application/json' \
  -d '{"user":"vera","password":"viewer-pass-3"}')
check "viewer signs in" test "$CODE" = 200
req GET /v1/stats -b "$tmp/jar"
check "/v1/stats for a viewer: 200" test "$CODE" = 200
check "no caching of the stats" test "$(curl -s -D - -o /dev/null -b "$tmp/jar" "$(base_url)/v1/stats" | grep -ci '^cache-control: no-store')" = 1
for f in now window_s series totals last_minute bans allow cases policies top_tokens nodes; do
  jq -e "has(\"$f\")" <<<"$BODY" >/dev/null || bad "stats has $f"
done
ok "stats has series, totals, last_minute, bans, allow, cases, policies, top_tokens, nodes"
check "policies and their modes" test "$(jq -c '[.policies[] | .name + ":" + .mode]' <<<"$BODY")" = '["live:moderate","vod:monitor"]'
check "one node, ready" test "$(jq -r '.nodes | length as $n | .[0] | "\($n) \(.ready) \(.status)"' <<<"$BODY")" = "1 true ok"

# --- traffic: one token from 4 networks (spread), one flagged by geo (a case), plain ones
S=$(issue aa01 sara)
for net in 192.0.2 198.51.100 203.0.113 100.64.0; do
  for i in 1 2 3; do decide "$S" "$net.$i" SE /live/ch1/seg$i.ts; done
done
G=$(issue bb02 gus)
for i in 1 2 3; do decide "$G" 192.0.2.50 XX /live/ch1/seg$i.ts; done
V=$(issue cc03 vic)
for i in $(seq 1 20); do decide "$V" 198.51.100.77 SE /vod/film/seg$i.ts; done
decide "garbage" 192.0.2.9 SE /live/ch1/seg1.ts
for i in $(seq 1 100); do # the monitor samples once a second: wait for a sample with all of them
  req GET "/v1/stats?window=60" -b "$tmp/jar"
  [[ $(jq '.totals.decisions == 36 and (.series.t | length) >= 1' <<<"$BODY") == true ]] && break
  sleep 0.2
done
check "stats window=60: 200" test "$CODE" = 200
check "totals count every decision" test "$(jq .totals.decisions <<<"$BODY")" = 36
check "totals by action: blocks are counted (monitor/moderate allow)" test "$(jq '.totals.by_action.allow + .totals.by_action.block' <<<"$BODY")" = 36
check "series: timestamps and one value per action each" test "$(jq '(.series.t | length) as $n | $n > 0 and ([.series.decisions[] | length == $n] | all) and (.series.total | length == $n)' <<<"$BODY")" = true
check "series: the decisions per second add up to the decisions" test "$(jq '[.series.total[]] | add | . > 0' <<<"$BODY")" = true
for k in suspect_share shared_share failures blocks would_enforce bans; do
  jq -e ".series | has(\"$k\")" <<<"$BODY" >/dev/null || bad "series has $k"
done
ok "series has suspect_share, shared_share, failures, blocks, would_enforce, bans"
check "the token on 4 networks tops the spread list" test "$(jq -r '.top_tokens[0] | "\(.token_id) \(.networks) \(.subject) \(.policy)"' <<<"$BODY")" = "aa01 4 sara live"
check "tokens on one network are not in the spread list" test "$(jq '[.top_tokens[] | select(.token_id == "cc03")] | length' <<<"$BODY")" = 0
check "cases: the geo case is open" test "$(jq '.cases.open >= 1' <<<"$BODY")" = true
check "recent traffic per policy" test "$(jq -c '[.policies[] | .recent_decisions]' <<<"$BODY")" = "[16,20]"
check "recent flagged per policy (geo and the invalid token on live)" test "$(jq '.policies[0].recent_would_enforce >= 4' <<<"$BODY")" = true
req GET "/v1/stats?window=5" -b "$tmp/jar"
check "window below 10: 400" test "$CODE" = 400
req GET "/v1/stats?window=x" -b "$tmp/jar"
check "window not a number: 400" test "$CODE" = 400
req POST /v1/stats "${AUTH[@]}"
check "POST /v1/stats: 405" test "$CODE" = 405

# --- what if
req GET "/v1/policies/live/whatif?mode=automate" -b "$tmp/jar"
check "whatif for a viewer: 200" test "$CODE" = 200
check "whatif: current cases of the policy would be enforced" test "$(jq '.cases.would_enforce == (.cases.open + .cases.escalated) and .cases.open >= 1' <<<"$BODY")" = true
check "whatif: recent decisions of the policy" test "$(jq .recent.decisions <<<"$BODY")" = 16
check "whatif: the summary says how many cases" grep -Eq "Switching live to automate .* [0-9]+ current case" <<<"$(jq -r .summary <<<"$BODY")"
check "whatif: current and target modes" test "$(jq -r '.current + ">" + .mode' <<<"$BODY")" = "moderate>automate"
req GET "/v1/policies/live/whatif?mode=monitor" "${AUTH[@]}"
check "whatif to monitor enforces nothing" test "$(jq .cases.would_enforce <<<"$BODY")" = 0
req GET "/v1/policies/vod/whatif?mode=automate" "${AUTH[@]}"
check "whatif counts only the policy's own cases" test "$(jq '.cases.open + .cases.escalated' <<<"$BODY")" = 0
req GET "/v1/policies/live/whatif?mode=moderate" "${AUTH[@]}"
check "whatif to the current mode says so" grep -q "already in moderate mode" <<<"$(jq -r .summary <<<"$BODY")"
req GET "/v1/policies/live/whatif?mode=chaos" "${AUTH[@]}"
check "whatif with an unknown mode: 400" test "$CODE" = 400
req GET "/v1/policies/live/whatif" "${AUTH[@]}"
check "whatif without a mode: 400" test "$CODE" = 400
req GET "/v1/policies/nope/whatif?mode=automate" "${AUTH[@]}"
check "whatif for an unknown policy: 404" test "$CODE" = 404
req PUT "/v1/policies/live/whatif?mode=automate" "${AUTH[@]}"
check "PUT whatif: 405 (a viewer's read is not a change)" test "$CODE" = 405
req GET "/v1/policies/live/whatif?mode=automate"
check "whatif without credentials: 401" test "$CODE" = 401

# --- the case's evidence names the networks' operators when the geo data has them
CASE=$(curl -s "${AUTH[@]}" "$(base_url)/v1/cases" | jq -r '.cases[] | select(.key == "bb02") | .id')
req GET "/v1/cases/$CASE" -b "$tmp/jar"
check "a viewer reads a case" test "$CODE" = 200

# --- the console's files
CODE=$(curl -s -o "$tmp/index" -D "$tmp/hdr" -w '%{http_code}' "$(base_url)/ui/")
check "/ui/: 200" test "$CODE" = 200
check "/ui/ is HTML" grep -qi '^content-type: text/html' "$tmp/hdr"
check "CSP: nothing from outside, no inline script" grep -qi "^content-security-policy: default-src 'self'; script-src 'self'" "$tmp/hdr"
check "frames refused" grep -qi '^x-frame-options: DENY' "$tmp/hdr"
check "nosniff" grep -qi '^x-content-type-options: nosniff' "$tmp/hdr"
check "no external URL in the page" test "$(grep -Eco 'https?://' "$tmp/index")" = 0
if grep -q 'app.js' "$tmp/index"; then
  CODE=$(curl -s -o "$tmp/app.js" -D "$tmp/hdr" -w '%{http_code}' "$(base_url)/ui/app.js")
  check "app.js: 200 JavaScript" test "$CODE:$(grep -ci '^content-type: text/javascript' "$tmp/hdr")" = 200:1
  check "app.js bundles uPlot" grep -q 'uplot' "$tmp/app.js"
  check "app.js loads nothing from another host" test "$(grep -Eo "(fetch|src|href)\(?[\"'\`]https?://" "$tmp/app.js" | wc -l)" = 0
  CODE=$(curl -s -o /dev/null -D "$tmp/hdr" -w '%{http_code}' "$(base_url)/ui/app.css")
  check "app.css: 200 CSS" test "$CODE:$(grep -ci '^content-type: text/css' "$tmp/hdr")" = 200:1
  ETAG=$(grep -i '^etag:' "$tmp/hdr" | cut -d' ' -f2 | tr -d '\r')
  CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$(base_url)/ui/app.css")
  check "If-None-Match with the ETag: 304" test "$CODE" = 304
else
  echo "# the console was built without ui/node_modules: only the fallback page is checked"
  check "the fallback page says how to build the console" grep -q 'scripts/deps.sh' "$tmp/index"
fi
CODE=$(curl -s -o /dev/null -D "$tmp/hdr" -w '%{http_code}' "$(base_url)/ui")
check "/ui redirects to /ui/" test "$CODE:$(grep -i '^location:' "$tmp/hdr" | tr -d '\r' | cut -d' ' -f2)" = "301:/ui/"
CODE=$(curl -s -o /dev/null -D "$tmp/hdr" -w '%{http_code}' "$(base_url)/")
check "/ redirects to the console" test "$CODE:$(grep -i '^location:' "$tmp/hdr" | tr -d '\r' | cut -d' ' -f2)" = "302:/ui/"
req GET /ui/missing.js
check "an unknown file: 404" test "$CODE" = 404
req GET /ui/cases
check "a deep path without extension: the page" test "$CODE" = 200
req POST /ui/
check "POST /ui/: 405" test "$CODE" = 405
req GET "/ui/../v1/bans"
check "no path tricks past /ui/" test "$CODE" != 200

stop_server || bad "server stops cleanly"
finish
