#!/usr/bin/env bash
# Black-box tests of moderate mode: misuse by a verified viewer is allowed and opens a review
# case (one per token, gathering addresses and countries); expired or invalid tokens open none;
# verdicts: ban (the next request gets the ban's action once the policy enforces), allow (an
# allow-list entry: no new case), dismiss (opens again when flagged again), escalate; the case
# store and the allow list survive a restart; bad requests get 4xx.
source "$(dirname "$0")/common.sh"

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ADMIN=test-admin-token-0123456789
AUTH=(-H "Authorization: Bearer $ADMIN")

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
    actions:
      banned: {action: callout, target: /slates/banned.m3u8}
EOF

issue() { "$W" token issue --scheme cat --key-hex $KEY --claims "{\"cti\":\"$1\",\"sub\":\"$2\"}" --ttl "${3:-600}"; }
A=$(issue a0a0 alice)
B=$(issue b0b0 bob)
C=$(issue c0c0 carol)
D=$(issue d0d0 dave)
OLD=$("$W" token issue --scheme cat --key-hex $KEY --claims '{"cti":"e0e0"}' --now $(( $(date +%s) - 7200 )) --ttl 60)

start_server main --config "$tmp/warden.yaml" || { bad "server starts"; finish; }

decide() { # TOKEN IP COUNTRY
  req GET "/v1/decide?token=$1&ip=$2&country=$3&url=/live/ch1/seg1.ts"
}
case_of() { # TOKEN_ID -> case id (or empty)
  req GET "/v1/cases?limit=100" "${AUTH[@]}"
  jq -r --arg k "$1" '.cases[] | select(.key == $k) | .id' "$tmp/body" | head -1
}

# --- flagged requests are allowed and open one case per token
decide "$A" 192.0.2.10 XX
check "moderate: a geo violation is allowed" test "$(jq -r .action "$tmp/body")" = allow
check "moderate: the enforced action is reported" test "$(jq -r .enforced "$tmp/body")" = block
TID_A=$(jq -r .token_id "$tmp/body")
decide "$A" 198.51.100.20 XX
decide "$A" 192.0.2.10 XX
decide "$A" 192.0.2.10 SE   # not flagged: no hit
decide "$OLD" 192.0.2.30 XX # expired: not a case
decide "garbage-token" 192.0.2.31 XX
sleep 0.1
req GET "/v1/cases" "${AUTH[@]}"
check "GET /v1/cases 200" test "$CODE" = 200
check "one case only (expired and invalid tokens open none)" test "$(jq '.cases | length' "$tmp/body")" = 1
CA=$(case_of "$TID_A")
check "the case is about token a" test -n "$CA"
req GET "/v1/cases/$CA" "${AUTH[@]}"
check "GET /v1/cases/<id> 200" test "$CODE" = 200
check "the case counts 3 flagged requests" test "$(jq .case.hits "$tmp/body")" = 3
check "the case lists both addresses" test "$(jq -c '.case.addresses' "$tmp/body")" = '["192.0.2.10","198.51.100.20"]'
check "the case names the reason" test "$(jq -c '.case.reasons' "$tmp/body")" = '["geo"]'
check "the case carries the subject" test "$(jq -r '.case.subject' "$tmp/body")" = alice
check "the case is open" test "$(jq -r '.case.status' "$tmp/body")" = open
check "the case has the token's expiry" test "$(jq '.case.token_exp > 0' "$tmp/body")" = true

# --- admin only
req GET "/v1/cases"
check "cases need the admin token (401)" test "$CODE" = 401

# --- verdict ban: a token ban with the case as evidence; enforced once the policy automates
req POST "/v1/cases/$CA/verdict" "${AUTH[@]}" -d '{"verdict":"ban","note":"restreamed on a forum"}'
check "ban verdict 200" test "$CODE" = 200
check "the case is banned" test "$(jq -r .case.status "$tmp/body")" = banned
check "the verdict is recorded" test "$(jq -r .case.verdict.note "$tmp/body")" = "restreamed on a forum"
check "the ban is a token ban on the case key" test "$(jq -r .ban.value "$tmp/body")" = "$TID_A"
check "the ban ends when the token does" test "$(jq '.ban.until == .case.token_exp' "$tmp/body")" = true
req GET "/v1/bans?type=token&value=$TID_A" "${AUTH[@]}"
check "the ban is in the ban list" test "$CODE" = 200
req GET "/v1/audit?limit=5" "${AUTH[@]}"
check "the audit log keeps the case as evidence" test "$(jq -r --arg k "$TID_A" '[.audit[] | select(.value == $k)][0].evidence.case.id' "$tmp/body")" = "$CA"
req PUT /v1/policies/live/mode "${AUTH[@]}" -d '{"mode":"automate"}'
check "switch to automate" test "$CODE" = 200
decide "$A" 192.0.2.10 SE
check "automate: the banned token gets the ban's action" test "$(jq -r .action "$tmp/body")" = callout
req PUT /v1/policies/live/mode "${AUTH[@]}" -d '{"mode":"moderate"}'

# --- verdict allow: an allow-list entry; no new case for that viewer
decide "$B" 192.0.2.40 XX
sleep 0.1
TID_B=$(jq -r .token_id "$tmp/body")
CB=$(case_of "$TID_B")
req POST "/v1/cases/$CB/verdict" "${AUTH[@]}" -d '{"verdict":"allow","scope":"subject","note":"travelling"}'
check "allow verdict 200" test "$CODE" = 200
check "the case is allowed" test "$(jq -r .case.status "$tmp/body")" = allowed
check "the entry is a subject entry" test "$(jq -r '.entry.type + ":" + .entry.value' "$tmp/body")" = subject:bob
req GET "/v1/allow?type=subject&value=bob" "${AUTH[@]}"
check "the entry is on the allow list" test "$CODE" = 200
B2=$(issue b1b1 bob)
decide "$B2" 192.0.2.41 XX
check "an allow-listed viewer is reported as such" test "$(jq -r .allowlisted "$tmp/body")" = true
sleep 0.1
TID_B2=$(jq -r .token_id "$tmp/body")
check "an allow-listed subject opens no new case" test -z "$(case_of "$TID_B2")"

# --- dismiss opens again when flagged again; escalate stays open
decide "$C" 192.0.2.50 XX
sleep 0.1
CC=$(case_of "$(jq -r .token_id "$tmp/body")")
req POST "/v1/cases/$CC/verdict" "${AUTH[@]}" -d '{"verdict":"dismiss"}'
check "dismiss 200" test "$(jq -r .case.status "$tmp/body")" = dismissed
req GET "/v1/cases?status=open" "${AUTH[@]}"
check "a dismissed case is not listed as open" test "$(jq --argjson id "$CC" '[.cases[] | select(.id == $id)] | length' "$tmp/body")" = 0
decide "$C" 192.0.2.51 XX
sleep 0.1
req GET "/v1/cases/$CC" "${AUTH[@]}"
check "a dismissed case opens again when flagged again" test "$(jq -r .case.status "$tmp/body")" = open
decide "$D" 192.0.2.60 XX
sleep 0.1
CD=$(case_of "$(jq -r .token_id "$tmp/body")")
req POST "/v1/cases/$CD/verdict" "${AUTH[@]}" -d '{"verdict":"escalate","note":"needs legal"}'
check "escalate 200" test "$(jq -r .case.status "$tmp/body")" = escalated

# --- bad requests
req POST "/v1/cases/$CD/verdict" "${AUTH[@]}" -d '{"verdict":"nuke"}'
check "unknown verdict 400" test "$CODE" = 400
req POST "/v1/cases/$CD/verdict" "${AUTH[@]}" -d '{"verdict":"ban","scope":"cidr"}'
check "cidr scope without a value 400" test "$CODE" = 400
req POST "/v1/cases/$CD/verdict" "${AUTH[@]}" -d '{"verdict":"ban","ttl":-5}'
check "negative ttl 400" test "$CODE" = 400
req POST "/v1/cases/$CD/verdict" "${AUTH[@]}" -d 'not json'
check "malformed JSON 400" test "$CODE" = 400
req POST "/v1/cases/$CD/verdict" "${AUTH[@]}" -d '{"verdict":"ban","colour":"red"}'
check "unknown field 400" test "$CODE" = 400
req POST "/v1/cases/999999/verdict" "${AUTH[@]}" -d '{"verdict":"ban"}'
check "unknown case 404" test "$CODE" = 404
req GET "/v1/cases/abc" "${AUTH[@]}"
check "a bad case id 404" test "$CODE" = 404
req GET "/v1/cases?status=closed" "${AUTH[@]}"
check "unknown status filter 400" test "$CODE" = 400
req DELETE "/v1/cases/$CD" "${AUTH[@]}"
check "DELETE on a case 405" test "$CODE" = 405
req GET "/v1/cases/$CD" "${AUTH[@]}"
check "the escalated case is unchanged by bad requests" test "$(jq -r .case.status "$tmp/body")" = escalated

# --- metrics
req GET /metrics
grep -q '^warden_cases{status="escalated"} 1' "$tmp/body" && ok "metrics count cases by status" || bad "metrics count cases by status"
grep -q '^warden_allow_list{type="subject"} 1' "$tmp/body" && ok "metrics count allow-list entries" || bad "metrics count allow-list entries"

# --- a restart keeps cases, verdicts and the allow list
stop_server
check "clean stop" test $? -eq 0
start_server again --config "$tmp/warden.yaml" || { bad "server restarts"; finish; }
req GET "/v1/cases/$CA" "${AUTH[@]}"
check "after a restart the banned case is kept" test "$(jq -r .case.status "$tmp/body")" = banned
req GET "/v1/cases/$CD" "${AUTH[@]}"
check "after a restart the escalated note is kept" test "$(jq -r .case.verdict.note "$tmp/body")" = "needs legal"
req GET "/v1/allow?type=subject&value=bob" "${AUTH[@]}"
check "after a restart the allow-list entry is kept" test "$CODE" = 200
req DELETE "/v1/allow?type=subject&value=bob" "${AUTH[@]}"
check "lift the allow-list entry" test "$CODE" = 200
B3=$(issue b2b2 bob)
decide "$B3" 192.0.2.42 XX
sleep 0.1
check "without the entry the viewer opens a case again" test -n "$(case_of "$(jq -r .token_id "$tmp/body")")"
stop_server
finish
