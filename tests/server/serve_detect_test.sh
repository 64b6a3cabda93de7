#!/usr/bin/env bash
# Black-box tests of sharing detection in `warden serve`: one token used from many networks,
# ASNs and countries is found shared (automate: the configured action, and an automatic token
# ban until the token expires with the verdict as evidence); a viewer on one network, a
# dual-stack viewer and a mobile carrier rotating addresses stay ok; moderate mode allows and
# opens a case with the tracker's evidence; ban_shared: false does not ban; detection: false on
# a policy turns it off; verdicts are counted in /metrics.
source "$(dirname "$0")/common.sh"

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ADMIN=test-admin-token-0123456789
AUTH=(-H "Authorization: Bearer $ADMIN")

cat >"$tmp/warden.yaml" <<EOF
listen: [127.0.0.1:0]
data_dir: $tmp/data
admin_token: $ADMIN
trusted_proxies: [127.0.0.1]
client_ip_header: X-Real-IP
country_header: X-Country
asn_header: X-ASN
geo: false
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - name: live
    path_prefix: /live/
    mode: automate
    actions:
      shared: {action: callout, target: /slates/shared.m3u8}
  - name: nobans
    path_prefix: /nobans/
    mode: automate
    ban_shared: false
    actions:
      shared: {action: callout, target: /slates/shared.m3u8}
  - name: mod
    path_prefix: /mod/
    mode: moderate
  - name: off
    path_prefix: /off/
    mode: automate
    detection: false
detection:
  window: 60
EOF

issue() { "$W" token issue --scheme cat --key-hex $KEY --claims "{\"cti\":\"$1\",\"sub\":\"$2\"}" --ttl 600; }
# auth PATHPREFIX TOKEN IP COUNTRY ASN SEG -> prints "status action"
auth() {
  curl -s -o /dev/null -D "$tmp/h" -w '%{http_code}' "$(base_url)/auth" \
    -H "X-Original-URI: $1/ch1/seg$6.ts?CAT=$2" -H "X-Real-IP: $3" -H "X-Country: $4" -H "X-ASN: $5"
  echo " $(grep -i '^x-warden-action:' "$tmp/h" | tr -d '\r' | cut -d' ' -f2)"
}

start_server main --config "$tmp/warden.yaml" || { bad "server starts"; finish; }

# --- a token handed to pirates in five countries: shared, callout, banned automatically
S=$(issue 5a5a carol)
NETS=("198.51.100.10 SE 3301" "203.0.113.20 DE 3209" "192.0.2.30 FR 3215" "100.64.1.40 BR 28573" "100.65.2.50 US 7922" "100.66.3.60 IN 9829")
got=()
for i in "${!NETS[@]}"; do
  read -r ip cc asn <<<"${NETS[$i]}"
  got+=("$(auth /live "$S" "$ip" "$cc" "$asn" $((10 + i)))")
done
check "the first viewer is served" test "${got[0]}" = "200 allow"
printf '%s\n' "${got[@]}" | grep -q "^200 callout$" && ok "the shared token gets the configured action (callout)" || bad "shared token gets callout: ${got[*]}"
sleep 0.2
req GET "/v1/bans?type=token&value=5a5a" "${AUTH[@]}"
check "the shared token is banned automatically" test "$CODE" = 200
check "the automatic ban is by the detector" test "$(jq -r .ban.actor "$tmp/body")" = detector
jq -r .ban.reason "$tmp/body" | grep -q "^shared: .*networks" && ok "the ban's reason explains the verdict" || bad "ban reason: $(jq -r .ban.reason "$tmp/body")"
UNTIL=$(jq -r .ban.until "$tmp/body")
check "the automatic ban ends when the token does" test "$UNTIL" -gt "$(date +%s)" -a "$UNTIL" -le $(( $(date +%s) + 601 ))
req GET "/v1/audit?limit=20" "${AUTH[@]}"
check "the audit log keeps the verdict as evidence" test "$(jq -r '[.audit[] | select(.value == "5a5a")][0].evidence.verdict.level' "$tmp/body")" = shared
check "the next request of the banned token is refused as banned" test "$(auth /live "$S" 198.51.100.10 SE 3301 99)" = "403 block"

# --- the same spread with ban_shared: false: the action, but no ban
N=$(issue 6b6b dave)
for i in "${!NETS[@]}"; do
  read -r ip cc asn <<<"${NETS[$i]}"
  auth /nobans "$N" "$ip" "$cc" "$asn" $((10 + i)) >/dev/null
done
check "ban_shared: false: the shared token still gets the action" test "$(auth /nobans "$N" 100.67.4.70 NO 2119 30)" = "200 callout"
sleep 0.2
req GET "/v1/bans?type=token&value=6b6b" "${AUTH[@]}"
check "ban_shared: false: no automatic ban" test "$CODE" = 404

# --- legitimate viewers stay ok
L=$(issue 1e1e erin)
bad_legit=0
for i in $(seq 1 10); do
  r=$(auth /live "$L" 198.51.100.77 SE 3301 $((40 + i)))
  [[ $r == "200 allow" ]] || bad_legit=1
done
check "one viewer on one network, 10 segments: served throughout" test $bad_legit -eq 0
D=$(issue d5d5 frank)   # dual-stack: one IPv4 and one IPv6 address of one ASN, alternating
bad_ds=0
for i in $(seq 1 8); do
  if ((i % 2)); then ip=203.0.113.88; else ip=2001:db8:77::5; fi
  r=$(auth /live "$D" "$ip" DE 3209 $((60 + i)))
  [[ $r == "200 allow" ]] || bad_ds=1
done
check "a dual-stack viewer (IPv4 and IPv6 in one ASN) is served throughout" test $bad_ds -eq 0
M=$(issue 3c3c gina)    # a mobile carrier moving the viewer across /24s of one ASN
bad_m=0
for i in $(seq 1 8); do
  r=$(auth /live "$M" "100.70.$i.9" SE 1257 $((80 + i)))
  [[ $r == "200 allow" ]] || bad_m=1
done
check "a carrier rotating addresses within one ASN is served throughout" test $bad_m -eq 0

# --- /v1/decide shows the verdict
req GET "/v1/decide?token=$L&ip=198.51.100.77&country=SE&asn=3301&url=/live/ch1/seg99.ts"
check "/v1/decide reports the verdict" test "$(jq -r .verdict.level "$tmp/body")" = ok
check "/v1/decide's verdict has an explanation" test -n "$(jq -r .verdict.explanation "$tmp/body")"

# --- moderate: allowed, and a case with the tracker's evidence
Q=$(issue 9d9d hank)
for i in "${!NETS[@]}"; do
  read -r ip cc asn <<<"${NETS[$i]}"
  r=$(auth /mod "$Q" "$ip" "$cc" "$asn" $((10 + i)))
  [[ ${r%% *} == 200 ]] || bad "moderate serves request $i ($r)"
done
sleep 0.2
req GET "/v1/cases" "${AUTH[@]}"
CQ=$(jq -r '.cases[] | select(.key == "9d9d") | .id' "$tmp/body")
check "moderate: the shared token has a case" test -n "$CQ"
req GET "/v1/cases/$CQ" "${AUTH[@]}"
check "the case has the detection score" test "$(jq '.case.score >= 40' "$tmp/body")" = true
check "the case carries the tracker's evidence (networks)" test "$(jq '.evidence.networks | length' "$tmp/body")" -ge 3
check "the evidence explains the verdict" test -n "$(jq -r '.evidence.explanation' "$tmp/body")"
req GET "/v1/bans?type=token&value=9d9d" "${AUTH[@]}"
check "moderate: no automatic ban" test "$CODE" = 404

# --- detection: false on a policy
O=$(issue 0f0f ivan)
for i in "${!NETS[@]}"; do
  read -r ip cc asn <<<"${NETS[$i]}"
  r=$(auth /off "$O" "$ip" "$cc" "$asn" $((10 + i)))
done
check "detection: false: never flagged" test "$r" = "200 allow"

# --- metrics
req GET /metrics
grep -Eq '^warden_detection_verdicts_total\{verdict="shared"\} [1-9]' "$tmp/body" && ok "metrics count shared verdicts" || bad "metrics count shared verdicts"
grep -Eq '^warden_auto_bans_total [1-9]' "$tmp/body" && ok "metrics count automatic bans" || bad "metrics count automatic bans"
grep -Eq '^warden_detection_tokens [1-9]' "$tmp/body" && ok "metrics report tracked tokens" || bad "metrics report tracked tokens"

# --- a bad detection setting is a configuration error
sed 's/  window: 60/  window: 5/' "$tmp/warden.yaml" >"$tmp/bad.yaml"
"$W" serve --config "$tmp/bad.yaml" --check-config >"$tmp/bad.out" 2>&1
check "detection.window out of range: exit 2" test $? -eq 2
grep -q "detection.window must be a number from 10 to 3600, got '5'" "$tmp/bad.out" && ok "the error names the setting and its range" || bad "error: $(cat "$tmp/bad.out")"
stop_server
finish
