#!/usr/bin/env bash
# Black-box tests of `warden serve`: health, readiness and metrics; decisions for valid,
# tampered and expired tokens of several schemes (issued with `warden token issue`); nginx-style
# /auth; the token API's authorization; the ban admin API; a mode switch at run time; the
# decision log; --check-config; a clean stop on SIGTERM.
source "$(dirname "$0")/common.sh"

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
AKEY=52a152a152a152a152a152a152a152a1
JWTS=jwt-secret-for-tests
VIEWER=viewer-login-secret
ADMIN=test-admin-token-0123456789
NOW=$(date +%s)
OLD=$((NOW - 7200))

cat >"$tmp/warden.yaml" <<EOF
# test configuration
listen: [127.0.0.1:0]
data_dir: $tmp/data
admin_token: $ADMIN
trusted_proxies: [127.0.0.1]
client_ip_header: X-Real-IP
keys:
  - {scheme: cat, kind: hex, value: $KEY}
  - {scheme: jwt, kind: secret, value: $JWTS}
  - {scheme: securelink, kind: secret, value: s3cret}
  - {scheme: akamai, kind: hex, value: $AKEY}
policies:
  - name: live
    path_prefix: /live/
    mode: automate
    verify:
      securelink: {directory_scope: true}   # as the token API signs (scope: directory)
    actions:
      banned: {action: callout, target: /slates/banned.m3u8}
  - name: vod
    path_prefix: /vod/
    mode: monitor
token_api:
  scheme: securelink
  url: http://cdn.example.com
  viewer_key: {kind: secret, value: $VIEWER}
  viewer_issuers: [login.example.com]
  max_expire: 300
  default_expire: 60
decision_log: {path: decisions.log}
EOF

# --- configuration check
"$W" serve --config "$tmp/warden.yaml" --check-config >"$tmp/check.out" 2>&1
check "--check-config accepts a good configuration (exit 0)" test $? -eq 0
grep -q "policy live" "$tmp/check.out" && ok "--check-config lists the policies" || bad "--check-config lists the policies"
sed 's/mode: automate/mode: automat/' "$tmp/warden.yaml" >"$tmp/bad.yaml"
BADLINE=$(grep -n 'mode: automat$' "$tmp/bad.yaml" | cut -d: -f1)
"$W" serve --config "$tmp/bad.yaml" --check-config >"$tmp/check.out" 2>&1
rc=$?
check "--check-config refuses a bad mode (exit 2)" test $rc -eq 2
grep -q "bad.yaml line $BADLINE: unknown mode 'automat' (expected one of monitor, moderate, automate)" "$tmp/check.out" \
  && ok "the error names file, line and the fix" || bad "the error names file, line and the fix: $(cat "$tmp/check.out")"
"$W" serve --frobnicate >/dev/null 2>&1
check "unknown option is a usage error (exit 2)" test $? -eq 2

start_server main --config "$tmp/warden.yaml" || { bad "server starts"; finish; }
ok "server starts and becomes ready"
grep -q "$ADMIN" "$tmp/main.err" && bad "the configured admin token is never printed" || ok "the configured admin token is never printed"
grep -q "$KEY" "$tmp/main.err" && bad "configured keys are never printed" || ok "configured keys are never printed"

# --- health, readiness, metrics
req GET /healthz
check "healthz 200" test "$CODE" = 200
req GET /readyz
check "readyz 200 once the ban list is loaded" test "$CODE" = 200
req GET /metrics
check "metrics 200" test "$CODE" = 200
grep -q '^warden_decision_seconds_bucket{le="+Inf"}' "$tmp/body" && ok "metrics has the latency histogram" || bad "metrics has the latency histogram"
grep -q '^process_resident_memory_bytes [1-9]' "$tmp/body" && ok "metrics has process memory" || bad "metrics has process memory"
grep -q '^warden_bans{type="token"} 0' "$tmp/body" && ok "metrics has bans by type" || bad "metrics has bans by type"
grep -q '^warden_queue_dropped_total{queue="decision_log"} 0' "$tmp/body" && ok "metrics has queue drops" || bad "metrics has queue drops"

# --- decisions: GET /v1/decide?token=&ip=&url=
decide() { # decide TOKEN URL [IP]: sets CODE, BODY
  req GET /v1/decide -G --data-urlencode "token=$1" --data-urlencode "url=$2" --data-urlencode "ip=${3:-198.51.100.7}"
}
expect_decision() { # expect_decision DESC ACTION REASON(or -) SCHEME(or -)
  local d=$1 a=$2 r=$3 s=$4
  local got_a got_r got_s
  got_a=$(jq -r .action <<<"$BODY" 2>/dev/null)
  got_r=$(jq -r '.reasons[0] // "-"' <<<"$BODY" 2>/dev/null)
  got_s=$(jq -r '.scheme // "-"' <<<"$BODY" 2>/dev/null)
  if [[ $CODE == 200 && $got_a == "$a" && $got_r == "$r" && ($s == "*" || $got_s == "$s") ]]; then
    ok "$d"
  else
    bad "$d (http $CODE: $BODY)"
  fi
}
# The token with one character of its MAC changed. Eight from the end is inside a whole base64
# group, where every bit is data (the last character may carry padding bits a decoder ignores).
tamper() {
  local t=$1 i=$((${#1} - 8))
  local c=${t:i:1} r=A
  [[ $c == A ]] && r=B
  printf '%s' "${t:0:i}$r${t:i+1}"
}
CAT=$("$W" token issue --scheme cat --key-hex $KEY --claims '{"cti":"c0ffee01","sub":"alice"}' --ttl 600)
CAT_OLD=$("$W" token issue --scheme cat --key-hex $KEY --claims '{"cti":"c0ffee02"}' --now $OLD --ttl 60)
JWT=$("$W" token issue --scheme jwt --secret $JWTS --claims '{"jti":"j-1","sub":"bob"}' --ttl 600)
JWT_OLD=$("$W" token issue --scheme jwt --secret $JWTS --claims '{"jti":"j-2"}' --now $OLD --ttl 60)
SL=$("$W" token issue --scheme securelink --secret s3cret --directory --url /live/ch1/seg1.ts --ttl 600)
SL_OLD=$("$W" token issue --scheme securelink --secret s3cret --directory --url /live/ch1/seg1.ts --now $OLD --ttl 60)
AK=$("$W" token issue --scheme akamai --key-hex $AKEY --claims '{"acl":"/live/*"}' --ttl 600)

decide "$CAT" https://cdn.example.com/live/ch1/seg1.ts
expect_decision "CAT valid: allow" allow - cat
[[ $(jq -r .token_id <<<"$BODY") == c0ffee01 && $(jq -r .subject <<<"$BODY") == alice && $(jq -r .policy <<<"$BODY") == live ]] \
  && ok "CAT identity and policy in the answer" || bad "CAT identity and policy in the answer: $BODY"
for f in action reasons token_id scheme mode status headers enforced detail policy; do
  jq -e "has(\"$f\")" <<<"$BODY" >/dev/null || { bad "decide answer has '$f'"; continue; }
done
ok "decide answer has action, reasons, token_id, scheme, mode, status, headers, enforced, detail, policy"
decide "$(tamper "$CAT")" https://cdn.example.com/live/ch1/seg1.ts
expect_decision "CAT tampered: block (invalid)" block invalid "*"
[[ $(jq -r .status <<<"$BODY") == 401 ]] && ok "invalid token: status 401" || bad "invalid token: status 401: $BODY"
decide "$CAT_OLD" https://cdn.example.com/live/ch1/seg1.ts
expect_decision "CAT expired: block (expired)" block expired cat
decide "$JWT" https://cdn.example.com/live/ch1/seg1.ts
expect_decision "JWT valid: allow" allow - jwt
decide "$JWT_OLD" https://cdn.example.com/live/ch1/seg1.ts
expect_decision "JWT expired: block (expired)" block expired jwt
req GET /v1/decide -G --data-urlencode "url=https://cdn.example.com$SL" --data-urlencode ip=198.51.100.7
expect_decision "secure link valid (token in the URL): allow" allow - securelink
req GET /v1/decide -G --data-urlencode "url=https://cdn.example.com$SL_OLD"
expect_decision "secure link expired: block (expired)" block expired securelink
req GET /v1/decide -G --data-urlencode "url=https://cdn.example.com${SL/md5=/md5=x}"
expect_decision "secure link tampered: block (invalid)" block invalid "*"
decide "$AK" https://cdn.example.com/live/ch1/seg1.ts
expect_decision "Akamai valid: allow" allow - akamai
req GET /v1/decide -G --data-urlencode "url=https://cdn.example.com/live/ch1/seg1.ts"
expect_decision "no token: block (no_token)" block no_token "*"
decide "$CAT" https://cdn.example.com/live/ch1/seg1.ts && req GET /v1/decide -G --data-urlencode "token=$CAT" --data-urlencode "url=/live/x.ts" --data-urlencode scheme=cat
expect_decision "explicit scheme=cat: allow" allow - cat
req GET /v1/decide -G --data-urlencode "token=$CAT" --data-urlencode "url=/live/x.ts" --data-urlencode scheme=catt
check "unknown scheme: 400" test "$CODE" = 400
req GET /v1/decide -G --data-urlencode "token=$CAT"
check "decide without url: 400" test "$CODE" = 400
jq -e .error <<<"$BODY" >/dev/null && ok "400 has a JSON error body" || bad "400 has a JSON error body: $BODY"
# monitor mode: allow, but say what would have happened
decide "$(tamper "$CAT")" https://cdn.example.com/vod/movie.mp4
[[ $(jq -r .action <<<"$BODY") == allow && $(jq -r .enforced <<<"$BODY") == block && $(jq -r .mode <<<"$BODY") == monitor ]] \
  && ok "monitor mode: allow, enforced block" || bad "monitor mode: allow, enforced block: $BODY"
# POST with the token in a header and a cookie
req POST /v1/decide -H 'Content-Type: application/json' \
  -d "{\"url\":\"https://cdn.example.com/live/a.m3u8\",\"ip\":\"198.51.100.7\",\"headers\":{\"CTA-Common-Access-Token\":\"$CAT\"}}"
expect_decision "POST: CAT in a header: allow" allow - cat
req POST /v1/decide -d "{\"url\":\"https://cdn.example.com/live/a.m3u8\",\"cookies\":{\"token\":\"$JWT\"}}"
expect_decision "POST: JWT in a cookie: allow" allow - jwt
req POST /v1/decide -d '{"url": "/live/a.m3u8", "token": '
check "POST invalid JSON: 400" test "$CODE" = 400
[[ $(jq -r .error <<<"$BODY") == invalid_json ]] && ok "invalid JSON: error body says so" || bad "invalid JSON: error body says so: $BODY"
req POST /v1/decide -d '[1,2]'
check "POST JSON that is not an object: 400" test "$CODE" = 400
req POST /v1/decide -d '{"url": 5}'
check "POST url of the wrong type: 400" test "$CODE" = 400

# --- /auth (nginx auth_request)
auth() { # auth URI [extra curl args]: sets CODE, headers in $tmp/hdr
  local uri=$1; shift
  CODE=$(curl -s -o /dev/null -D "$tmp/hdr" -w '%{http_code}' "$(base_url)/auth" -H "X-Original-URI: $uri" "$@")
}
hdr() { grep -i "^$1:" "$tmp/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
auth "/live/ch1/seg1.ts?cat=$CAT" -H 'X-Real-IP: 198.51.100.7'
check "auth: valid CAT in the query: 200" test "$CODE" = 200
[[ $(hdr X-Warden-Action) == allow ]] && ok "auth: X-Warden-Action allow" || bad "auth: X-Warden-Action allow"
auth "/live/ch1/seg1.ts" -H "Cookie: token=$JWT"
check "auth: valid JWT in a cookie: 200" test "$CODE" = 200
auth "/live/ch1/seg1.ts" -H "CTA-Common-Access-Token: $CAT"
check "auth: valid CAT in a header: 200" test "$CODE" = 200
auth "/live/ch1/seg1.ts"
check "auth: no token: 401" test "$CODE" = 401
[[ $(hdr X-Warden-Reason) == no_token ]] && ok "auth: X-Warden-Reason no_token" || bad "auth: X-Warden-Reason no_token: $(cat "$tmp/hdr")"
auth "/live/ch1/seg1.ts?cat=$CAT_OLD"
check "auth: expired CAT: 403" test "$CODE" = 403
[[ $(hdr X-Warden-Reason) == expired ]] && ok "auth: X-Warden-Reason expired" || bad "auth: X-Warden-Reason expired"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$(base_url)/auth")
check "auth without X-Original-URI: 400" test "$CODE" = 400

# --- the token API (seed 003): only for an authorized viewer
req GET "/v1/token?path=/live/ch1/master.m3u8&expire=60"
check "token API without authorization: 401" test "$CODE" = 401
jq -e 'has("token") or has("url")' <<<"$BODY" >/dev/null && bad "401 carries no token" || ok "401 carries no token"
req GET "/v1/token?path=/live/ch1/master.m3u8&expire=60" -H "Authorization: Bearer not.a.jwt"
check "token API with a garbage bearer: 401" test "$CODE" = 401
FORGED=$("$W" token issue --scheme jwt --secret wrong-secret --claims '{"sub":"mallory","iss":"login.example.com"}' --ttl 300)
req GET "/v1/token?path=/live/ch1/master.m3u8&expire=60" -H "Authorization: Bearer $FORGED"
check "token API with a JWT signed by another key: 401" test "$CODE" = 401
OTHERISS=$("$W" token issue --scheme jwt --secret $VIEWER --claims '{"sub":"eve","iss":"elsewhere"}' --ttl 300)
req GET "/v1/token?path=/live/ch1/master.m3u8&expire=60" -H "Authorization: Bearer $OTHERISS"
check "token API with a JWT from another issuer: 401" test "$CODE" = 401
VJWT=$("$W" token issue --scheme jwt --secret $VIEWER --claims '{"sub":"viewer-1","iss":"login.example.com"}' --ttl 300)
req GET "/v1/token?path=/live/ch1/master.m3u8&expire=60" -H "Authorization: Bearer $VJWT" -H "X-Real-IP: 203.0.113.9"
check "token API with a valid viewer JWT: 200" test "$CODE" = 200
for f in token token_ip client_ip expires url url_ip; do
  jq -e "has(\"$f\")" <<<"$BODY" >/dev/null || bad "token API answer has $f"
done
[[ $(jq -r .client_ip <<<"$BODY") == 203.0.113.9 ]] && ok "token API: client_ip from the trusted proxy header" || bad "token API: client_ip: $BODY"
EXP=$(jq -r .expires <<<"$BODY")
[[ $EXP -ge $((NOW + 55)) && $EXP -le $(($(date +%s) + 61)) ]] && ok "token API: expires = now + 60" || bad "token API: expires $EXP"
URL=$(jq -r .url <<<"$BODY")
[[ $URL == http://cdn.example.com/live/ch1/master.m3u8?md5=$(jq -r .token <<<"$BODY")\&expires=$EXP ]] \
  && ok "token API: url carries md5 and expires" || bad "token API: url $URL"
req GET /v1/decide -G --data-urlencode "url=$URL"
expect_decision "a token from the token API is accepted by /v1/decide" allow - securelink
req GET "/v1/token?path=/live/ch1/master.m3u8&expire=999999" -H "Authorization: Bearer $VJWT"
EXP=$(jq -r .expires <<<"$BODY")
[[ $CODE == 200 && $EXP -le $(($(date +%s) + 300)) ]] && ok "token API: expire capped at max_expire" || bad "token API: expire cap ($CODE $BODY)"
req GET "/v1/token?expire=60" -H "Authorization: Bearer $VJWT"
check "token API without path: 400" test "$CODE" = 400

# --- ban admin API
BAN='{"type":"token","value":"c0ffee01","ttl":600,"reason":"shared on a forum"}'
req POST /v1/bans -d "$BAN"
check "ban without admin token: 401" test "$CODE" = 401
req POST /v1/bans -d "$BAN" -H "Authorization: Bearer wrong-token-wrong-token"
check "ban with a wrong admin token: 401" test "$CODE" = 401
req GET /v1/bans
check "list bans without admin token: 401" test "$CODE" = 401
A=(-H "Authorization: Bearer $ADMIN")
req POST /v1/bans -d "$BAN" "${A[@]}"
check "ban a token: 201" test "$CODE" = 201
[[ $(jq -r .ban.value <<<"$BODY") == c0ffee01 && $(jq -r .ban.actor <<<"$BODY") == admin ]] && ok "201 echoes the ban" || bad "201 echoes the ban: $BODY"
decide "$CAT" https://cdn.example.com/live/ch1/seg1.ts
expect_decision "banned token: the policy's action (callout)" callout banned cat
[[ $(jq -r .target <<<"$BODY") == /slates/banned.m3u8 ]] && ok "callout names its target" || bad "callout names its target: $BODY"
auth "/live/ch1/seg1.ts?cat=$CAT"
[[ $CODE == 200 && $(hdr X-Warden-Action) == callout && $(hdr X-Warden-Target) == /slates/banned.m3u8 ]] \
  && ok "auth: banned token: 200 with X-Warden-Action callout and X-Warden-Target" || bad "auth: banned: $CODE $(cat "$tmp/hdr")"
req POST /v1/bans -d '{"type":"ip","value":"198.51.100.66","reason":"abuse"}' "${A[@]}"
check "ban an IP (permanent): 201" test "$CODE" = 201
[[ $(jq -r .ban.until <<<"$BODY") == null ]] && ok "a ban without ttl or until is permanent" || bad "permanent ban: $BODY"
auth "/live/ch1/seg1.ts" -H "Cookie: token=$JWT" -H 'X-Real-IP: 198.51.100.66'
[[ $(hdr X-Warden-Reason) == *banned* ]] && ok "auth: client address from X-Real-IP (trusted proxy) is banned" || bad "auth: banned IP via X-Real-IP: $(cat "$tmp/hdr")"
req POST /v1/bans -d '{"type":"cidr","value":"2001:db8:1::/48","ttl":60}' "${A[@]}"
check "ban an IPv6 prefix: 201" test "$CODE" = 201
req POST /v1/bans -d '{"type":"planet","value":"x"}' "${A[@]}"
check "ban of an unknown type: 400" test "$CODE" = 400
req POST /v1/bans -d '{"type":"ip","value":"999.1.1.1"}' "${A[@]}"
check "ban of a bad address: 400" test "$CODE" = 400
req POST /v1/bans -d '{"type":"ip","value":"192.0.2.1","until":1000}' "${A[@]}"
check "ban with until in the past: 400" test "$CODE" = 400
req POST /v1/bans -d '{"type":"ip",' "${A[@]}"
check "ban with invalid JSON: 400" test "$CODE" = 400
req POST /v1/bans -d '[{"type":"subject","value":"carol","ttl":60},{"type":"ip","value":"192.0.2.77","ttl":60}]' "${A[@]}"
[[ $CODE == 201 && $(jq -r .committed <<<"$BODY") == 2 ]] && ok "a list of bans: 201, both committed" || bad "ban list: $CODE $BODY"
req GET "/v1/bans?type=token&value=c0ffee01" "${A[@]}"
[[ $CODE == 200 && $(jq -r .ban.reason <<<"$BODY") == "shared on a forum" ]] && ok "get one ban" || bad "get one ban: $CODE $BODY"
req GET "/v1/bans/cidr/2001:db8:1::%2F48" "${A[@]}"
[[ $CODE == 200 && $(jq -r .ban.value <<<"$BODY") == 2001:db8:1::/48 ]] && ok "get a ban by path" || bad "get a ban by path: $CODE $BODY"
req GET "/v1/bans?limit=2" "${A[@]}"
N1=$(jq '.bans | length' <<<"$BODY"); NEXT=$(jq -r .next <<<"$BODY")
req GET "/v1/bans?limit=100&after=$(jq -rn --arg v "$NEXT" '$v|@uri')" "${A[@]}"
N2=$(jq '.bans | length' <<<"$BODY")
[[ $N1 == 2 && $NEXT != null && $((N1 + N2)) == 5 ]] && ok "list bans in pages (2 + $N2)" || bad "paging: $N1 $NEXT $N2 $BODY"
req GET "/v1/bans?type=ip" "${A[@]}"
[[ $(jq '.bans | length' <<<"$BODY") == 2 ]] && ok "list bans of one type" || bad "list by type: $BODY"
req DELETE "/v1/bans?type=token&value=c0ffee01&reason=appeal%20accepted" "${A[@]}"
check "lift a ban: 200" test "$CODE" = 200
req DELETE "/v1/bans/token/c0ffee01" "${A[@]}"
check "lift it again: 404" test "$CODE" = 404
req DELETE "/v1/bans/ip/198.51.100.66" "${A[@]}"
check "lift by path: 200" test "$CODE" = 200
req GET "/v1/bans?type=token&value=c0ffee01" "${A[@]}"
check "lifted ban is gone: 404" test "$CODE" = 404
decide "$CAT" https://cdn.example.com/live/ch1/seg1.ts
expect_decision "lifted: allowed again" allow - cat
req DELETE "/v1/bans" "${A[@]}"
check "lift without type/value: 400" test "$CODE" = 400
req PATCH "/v1/bans" "${A[@]}"
check "wrong method on /v1/bans: 405" test "$CODE" = 405
req GET "/v1/audit?limit=50" "${A[@]}"
check "audit: 200" test "$CODE" = 200
[[ $(jq '[.audit[] | select(.op=="lift" and .value=="c0ffee01" and .actor=="admin" and .reason=="appeal accepted")] | length' <<<"$BODY") == 1 ]] \
  && ok "audit records the lift with actor and reason" || bad "audit lift: $BODY"
[[ $(jq '[.audit[] | select(.op=="add" and .value=="c0ffee01" and .reason=="shared on a forum" and .evidence.request.ip=="127.0.0.1")] | length' <<<"$BODY") == 1 ]] \
  && ok "audit records the add with reason and evidence" || bad "audit add: $BODY"
req GET /v1/audit
check "audit without admin token: 401" test "$CODE" = 401

# --- mode switch at run time
decide "$(tamper "$CAT")" https://cdn.example.com/vod/movie.mp4
check "vod starts in monitor mode" test "$(jq -r .action <<<"$BODY")" = allow
req PUT /v1/policies/vod/mode -d '{"mode":"automate"}'
check "mode switch without admin token: 401" test "$CODE" = 401
req PUT /v1/policies/vod/mode -d '{"mode":"automate"}' "${A[@]}"
[[ $CODE == 200 && $(jq -r .previous <<<"$BODY") == monitor ]] && ok "mode switch: 200" || bad "mode switch: $CODE $BODY"
decide "$(tamper "$CAT")" https://cdn.example.com/vod/movie.mp4
[[ $(jq -r .action <<<"$BODY") == block && $(jq -r .mode <<<"$BODY") == automate ]] && ok "the switch takes effect without a restart" || bad "after the switch: $BODY"
req PUT /v1/policies/vod/mode -d '{"mode":"enforce"}' "${A[@]}"
check "unknown mode: 400" test "$CODE" = 400
req PUT /v1/policies/nosuch/mode -d '{"mode":"automate"}' "${A[@]}"
check "unknown policy: 404" test "$CODE" = 404
req GET /v1/policies "${A[@]}"
[[ $(jq -r '.policies[] | select(.name=="vod") | .mode' <<<"$BODY") == automate ]] && ok "GET /v1/policies shows the mode" || bad "policies: $BODY"

# --- routing
req GET /nothing-here
check "unknown path: 404" test "$CODE" = 404
req DELETE /v1/decide
check "wrong method: 405" test "$CODE" = 405

# --- the decision log (written by the writer thread)
sleep 0.2
LOG="$tmp/data/decisions.log"
if [[ -s $LOG ]] && jq -e -s 'length > 10' "$LOG" >/dev/null; then
  ok "decision log written as JSON lines"
else
  bad "decision log written as JSON lines"
fi
jq -e -s 'map(select(.token_id=="c0ffee01" and .scheme=="cat" and .subject=="alice")) | length > 0' "$LOG" >/dev/null \
  && ok "decision log lines carry the identity" || bad "decision log identity"
jq -e -s 'all(has("ts") and has("policy") and has("action") and has("enforced") and has("mode") and has("reasons") and has("token_id") and has("scheme") and has("ip") and has("path") and has("status") and has("latency_us"))' "$LOG" >/dev/null \
  && ok "decision log lines have the documented fields" || bad "decision log fields: $(head -2 "$LOG")"
grep -q "$CAT" "$LOG" && bad "decision log never contains tokens" || ok "decision log never contains tokens"
req GET /metrics
grep -q '^warden_decisions_total{action="callout",reason="banned",scheme="cat"} [1-9]' "$tmp/body" \
  && ok "metrics count decisions by action, reason, scheme" || bad "metrics decisions: $(grep warden_decisions_total "$tmp/body")"

# --- stop
stop_server
check "SIGTERM: clean exit 0" test $? -eq 0
grep -q "warden: stopped" "$tmp/main.err" && ok "stop is logged" || bad "stop is logged"

# --- embedded default: generated keys printed once, monitor mode
start_server default --listen 127.0.0.1:0 --data-dir "$tmp/data2" || { bad "embedded default starts"; finish; }
GEN=$(grep -o -- '--key cat:hex:[0-9a-f]*' "$tmp/default.err" | head -1 | cut -d: -f3)
[[ ${#GEN} == 64 ]] && ok "embedded default prints its generated CAT key" || bad "embedded default key: $(cat "$tmp/default.err")"
T=$("$W" token issue --scheme cat --key-hex "$GEN" --ttl 60)
decide "$T" http://x/anything
expect_decision "embedded default verifies tokens of its printed key" allow - cat
[[ $(jq -r .mode <<<"$BODY") == monitor ]] && ok "embedded default runs in monitor mode" || bad "embedded mode: $BODY"
stop_server
check "embedded default stops cleanly" test $? -eq 0

finish
