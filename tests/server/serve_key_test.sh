#!/usr/bin/env bash
# Black-box tests of the content-key endpoint of `warden serve` (GET /v1/key/<id>, docs/keys.md):
# the 16 key bytes, with Cache-Control: no-store, only for a token that passes the decision a
# segment of the stream would get; the token from the query, a cookie or a header; no key
# without a token, for a bad, expired, foreign-path, banned or shared token (automate mode); in
# monitor mode the key, and the decision log records what automate would have done; a CAT
# renewal rides along; a key's host pins the policy (a viewer cannot pick a lax one); keys from
# hex, a raw file and a hex file; unknown ids 404, other methods 405; the key is in no log.
source "$(dirname "$0")/common.sh"

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ADMIN=key-test-admin-token-0123456789
CK1=00112233445566778899aabbccddeeff
CK2=f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
CK3=0f0e0d0c0b0a09080706050403020100
printf '%s' "$CK2" | xxd -r -p >"$tmp/ch2.key"
echo "$CK3" >"$tmp/ch3.hex"
[[ $(wc -c <"$tmp/ch2.key") == 16 ]] || { bad "xxd writes the raw key file"; finish; }

cat >"$tmp/warden.yaml" <<EOF
listen: [127.0.0.1:0]
data_dir: $tmp/data
admin_token: $ADMIN
trusted_proxies: [127.0.0.1]
client_ip_header: X-Real-IP
geo: false
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - name: live
    path_prefix: /live/
    mode: automate
    actions:
      banned: {action: callout, target: /slates/banned.m3u8}
      shared: {action: callout, target: /slates/shared.m3u8}
      expired: {action: block, status: 410}
  - name: watch
    host: monitor.test
    path_prefix: /live/
    mode: monitor
    actions:
      banned: {action: callout, target: /slates/banned.m3u8}
content_keys:
  - {id: ch1, path: /live/ch1/, value: $CK1}
  - {id: ch2, path: /live/ch2/, file: $tmp/ch2.key}
  - {id: ch3, path: /live/ch3/, file: $tmp/ch3.hex}
  - {id: ch1-watch, path: /live/ch1/, host: monitor.test, value: $CK1}
decision_log: {path: $tmp/decisions.log}
EOF

"$W" serve --config "$tmp/warden.yaml" --check-config >"$tmp/check.out" 2>&1
check "--check-config accepts content_keys" test $? -eq 0
grep -q "content key ch2: /v1/key/ch2 for /live/ch2/ (file $tmp/ch2.key)" "$tmp/check.out" &&
  ok "--check-config lists each key by id, path and source" || bad "check-config: $(cat "$tmp/check.out")"

start_server main --config "$tmp/warden.yaml" || { bad "server starts"; finish; }
B=$(base_url)
NOW=$(date +%s)
cat_token() { # cat_token CLAIMS [issue args...]
  local claims=$1
  shift
  "$W" token issue --scheme cat --key-hex $KEY --claims "$claims" "$@"
}
ch() { echo "{\"cti\":\"$1\",\"catu\":{\"path\":{\"prefix-match\":\"/live/$2/\"}}${3:-}}"; }
GOOD=$(cat_token "$(ch 600d0001 ch1)" --ttl 600)
GOOD2=$(cat_token "$(ch 600d0002 ch2)" --ttl 600)
GOOD3=$(cat_token "$(ch 600d0003 ch3)" --ttl 600)
OTHER=$(cat_token "$(ch 0e000001 ch9)" --ttl 600)
EXPIRED=$(cat_token "$(ch e0000001 ch1)" --now $((NOW - 7200)) --ttl 60)
BANNED=$(cat_token "$(ch ba000001 ch1)" --ttl 600)
RENEW=$(cat_token "$(ch 7e000001 ch1 ',"catr":{"type":"header","expadd":120,"deadline":900}')" --ttl 600)
SHARED=$(cat_token "$(ch 5a000001 ch1)" --ttl 600)
[[ -n $GOOD && -n $GOOD2 && -n $GOOD3 && -n $OTHER && -n $EXPIRED && -n $BANNED && -n $RENEW && -n $SHARED ]] ||
  { bad "warden token issue makes the test tokens"; finish; }

# key ID [curl args...]: CODE, body in $tmp/k, headers in $tmp/kh
key() {
  local id=$1
  shift
  CODE=$(curl -s -o "$tmp/k" -D "$tmp/kh" -w '%{http_code}' "$@" "$B/v1/key/$id")
}
khdr() { grep -i "^$1:" "$tmp/kh" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
is_key() { [[ $CODE == 200 && $(xxd -p "$tmp/k" | tr -d '\n') == "$1" ]]; }
no_key() { [[ $(wc -c <"$tmp/k") -ne 16 ]] && jq -e .error "$tmp/k" >/dev/null 2>&1 && ! xxd -p "$tmp/k" | tr -d '\n' | grep -q "$1"; }

# --- the key for a valid token, wherever the token is
key "ch1?cat=$GOOD"
is_key $CK1 && ok "valid CAT in the query: the 16 key bytes" || bad "valid CAT in the query: $CODE $(xxd -p "$tmp/k")"
[[ $(khdr Cache-Control) == no-store ]] && ok "Cache-Control: no-store" || bad "Cache-Control: $(khdr Cache-Control)"
[[ $(khdr Content-Length) == 16 && $(khdr Content-Type) == application/octet-stream ]] &&
  ok "16 bytes of application/octet-stream" || bad "length/type: $(khdr Content-Length) $(khdr Content-Type)"
key ch1 -H "Cookie: lang=sv; CTA-Common-Access-Token=$GOOD"
is_key $CK1 && ok "valid CAT in a cookie: the key" || bad "CAT in a cookie: $CODE"
key ch1 -H "CTA-Common-Access-Token: $GOOD"
is_key $CK1 && ok "valid CAT in a header: the key" || bad "CAT in a header: $CODE"
key "ch2?cat=$GOOD2"
is_key $CK2 && ok "a key from a raw 16-byte file" || bad "raw key file: $CODE $(xxd -p "$tmp/k")"
key "ch3?cat=$GOOD3"
is_key $CK3 && ok "a key from a hex file" || bad "hex key file: $CODE $(xxd -p "$tmp/k")"
CODE=$(curl -s -o "$tmp/k" -w '%{http_code}' -I "$B/v1/key/ch1?cat=$GOOD")
[[ $CODE == 200 ]] && ok "HEAD: 200" || bad "HEAD: $CODE"

# --- no key
key ch1
[[ $CODE == 401 ]] && no_key $CK1 && ok "no token: 401, no key" || bad "no token: $CODE"
[[ $(khdr WWW-Authenticate) == Bearer* ]] && ok "401 names the scheme" || bad "WWW-Authenticate: $(khdr WWW-Authenticate)"
key "ch1?cat=${GOOD%??????}AAAAAA"
[[ $CODE == 401 ]] && no_key $CK1 && ok "tampered token: 401, no key" || bad "tampered token: $CODE"
key "ch1?cat=$EXPIRED"
[[ $CODE == 410 ]] && no_key $CK1 && ok "expired token: the policy's 410, no key" || bad "expired token: $CODE"
key "ch1?cat=$OTHER"
[[ $CODE == 401 || $CODE == 403 ]] && no_key $CK1 && ok "a token for another channel: $CODE, no key" || bad "foreign path: $CODE"
key "ch2?cat=$GOOD"
[[ $CODE == 401 || $CODE == 403 ]] && no_key $CK2 && ok "ch1's token does not open ch2's key ($CODE)" || bad "ch1 token for ch2: $CODE"
key nope
[[ $CODE == 404 ]] && ok "unknown key id: 404" || bad "unknown id: $CODE"
key "?cat=$GOOD"
[[ $CODE == 404 ]] && ok "no key id: 404" || bad "empty id: $CODE"
CODE=$(curl -s -o /dev/null -D "$tmp/kh" -w '%{http_code}' -X POST "$B/v1/key/ch1?cat=$GOOD")
[[ $CODE == 405 && $(khdr Allow) == "GET, HEAD" ]] && ok "POST: 405 with Allow" || bad "POST: $CODE $(khdr Allow)"
key "ch1?cat=$(head -c 9000 /dev/zero | tr '\0' A)"
[[ $CODE == 414 || $CODE == 401 ]] && ok "a 9000-byte token: $CODE" || bad "9000-byte token: $CODE"

# --- a banned token: the policy's callout is for playlists and segments; the key is refused
curl -s -o /dev/null -X POST "$B/v1/bans" -H "Authorization: Bearer $ADMIN" \
  -d '{"type":"token","value":"ba000001","ttl":600,"reason":"restreamed"}'
key "ch1?cat=$BANNED"
[[ $CODE == 403 ]] && no_key $CK1 && ok "banned token, automate: 403, no key" || bad "banned: $CODE"
[[ $(jq -r .message "$tmp/k") == "no key: banned (callout)" ]] && ok "the refusal names the reason and the action" || bad "refusal: $(cat "$tmp/k")"

# --- monitor mode (the key's host pins the monitor policy): the key, and the log says what
# automate would have done
key "ch1-watch?cat=$BANNED"
is_key $CK1 && ok "monitor mode: a banned token still gets the key" || bad "monitor mode: $CODE"
# the host of a key without one comes from X-Original-Host only through a trusted proxy, so a
# viewer elsewhere cannot choose the lax policy (here every client is 127.0.0.1, a trusted proxy,
# so the header is believed; the key with a host ignores it either way)
key "ch1-watch?cat=$BANNED" -H "X-Original-Host: other.test"
is_key $CK1 && ok "a key's own host wins over X-Original-Host" || bad "host pinning: $CODE"
key "ch1?cat=$BANNED" -H "X-Original-Host: monitor.test"
is_key $CK1 && ok "X-Original-Host from a trusted proxy picks the policy" || bad "X-Original-Host: $CODE"
sleep 1.2 # the decision log is written by the writer thread
line=$(grep '"route":"key"' "$tmp/decisions.log" | grep '"ba000001"' | grep '"mode":"monitor"' | tail -1)
if [[ $(jq -r '[.action, .enforced, (.reasons | join(","))] | join(" ")' <<<"$line" 2>/dev/null) == "allow callout banned" ]]; then
  ok "decision log: route key, action allow, enforced callout, reason banned"
else
  bad "decision log line for the monitor key request: $line"
fi

# --- CAT renewal rides along with the key
key "ch1?cat=$RENEW"
NEW=$(khdr CTA-Common-Access-Token)
if is_key $CK1 && [[ -n $NEW && $NEW != "$RENEW" ]] && "$W" token verify --scheme cat --key-hex $KEY --url http://cdn.test/live/ch1/seg1.ts "$NEW" >/dev/null 2>&1; then
  ok "a renewal due: the key and a new valid CAT in CTA-Common-Access-Token"
else
  bad "renewal with the key: $CODE '$NEW'"
fi

# --- a shared token: used from many networks (through the trusted X-Real-IP), then no key
codes=()
i=0
for ip in 198.51.100.10 203.0.113.20 192.0.2.30 100.64.1.40 100.65.2.50 100.66.3.60 100.67.4.70; do
  i=$((i + 1))
  curl -s -o /dev/null "$B/auth" -H "X-Original-URI: /live/ch1/seg$i.ts?cat=$SHARED" -H "X-Real-IP: $ip"
  key "ch1?cat=$SHARED" -H "X-Real-IP: $ip"
  codes+=("$CODE")
done
[[ ${codes[0]} == 200 ]] && ok "the first network gets the key" || bad "first key request of the shared token: ${codes[0]}"
[[ ${codes[-1]} == 403 ]] && no_key $CK1 && ok "once found shared: 403, no key (${codes[*]})" || bad "shared token key requests: ${codes[*]}"
grep -q '"message":"no key: \(shared\|banned\)' "$tmp/k" && ok "the refusal says shared or banned" || bad "shared refusal: $(cat "$tmp/k")"

# --- metrics and secrecy
curl -s "$B/metrics" >"$tmp/metrics"
grep -q 'warden_http_requests_total{route="key",code="2xx"}' "$tmp/metrics" && ok "key requests are counted by route" || bad "metrics: $(grep key "$tmp/metrics" | head -3)"
stop_server
check "the server stops cleanly" test $? -eq 0
for k in $CK1 $CK2 $CK3; do
  if grep -rqi "$k" "$tmp/decisions.log" "$tmp/main.err" "$tmp/main.out" "$tmp/check.out" "$tmp/metrics" 2>/dev/null; then
    bad "key $k appears in a log"
  else
    ok "key ${k:0:4}... is in no log"
  fi
done
finish
