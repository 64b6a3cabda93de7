#!/usr/bin/env bash
# The console in a browser (tests/ui/console.mjs: playwright-core driving Debian's Chromium,
# headless) against a real `warden serve` in moderate mode fed by `warden sim --live`, with one
# token this test shares over six networks itself: a moderator signs in, sees that token's case
# appear, inspects its evidence and bans it; an admin switches the policy to automate after the
# what-if; the next /auth request with the token gets the action configured for banned tokens
# (a callout slate); a viewer cannot ban; a change without the CSRF token is refused.
source "$(dirname "$0")/../server/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null || { echo "skip: node is not installed (scripts/deps.sh --test)"; exit 77; }
[[ -x $CHROMIUM ]] || { echo "skip: $CHROMIUM is not installed (scripts/deps.sh --test)"; exit 77; }
[[ -d $here/node_modules/playwright-core ]] || { echo "skip: tests/ui/node_modules is missing (scripts/deps.sh --test)"; exit 77; }

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ADMIN_TOKEN=test-admin-token-0123456789
hash() { echo "$1" | "$W" passwd --kdf pbkdf2; }
cat >"$tmp/warden.yaml" <<YAML
listen: [127.0.0.1:0]
data_dir: $tmp/data
admin_token: $ADMIN_TOKEN
trusted_proxies: [127.0.0.1]
client_ip_header: X-Real-IP
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - name: live
    path_prefix: /live/
    mode: moderate
    ban_shared: false
    actions:
      banned: {action: callout, target: /slates/banned.m3u8}
console:
  users:
    - {name: vera, role: viewer, password_hash: "$(hash vera-pass-1)"}
    - {name: mo, role: moderator, password_hash: "$(hash mo-pass-2)"}
    - {name: ada, role: admin, password_hash: "$(hash ada-pass-3)"}
YAML
start_server main --config "$tmp/warden.yaml" || { bad "server starts"; finish; }
if [[ $(curl -s -o /dev/null -w '%{http_code}' "$(base_url)/ui/app.js") != 200 ]]; then
  echo "skip: this warden was built without the console (ui/node_modules missing at build time)"
  exit 77
fi

# the audience: a simulated live event, ten times faster than real time
SIM_PID=
timeout -s KILL 240 "$W" sim --out "$tmp/sim" --live "$(base_url)" --speed 10 --duration 1800 \
  --audience 150 --seed 7 --key "cat:hex:$KEY" >"$tmp/sim.out" 2>&1 &
SIM_PID=$!
stop_sim() { [[ -z $SIM_PID ]] || { kill -TERM "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; SIM_PID=; }; }
trap 'stop_sim; cleanup' EXIT

# one token the browser script shares over six networks in six countries, once it watches
TID=c0ffee5a1ade
T=$("$W" token issue --scheme cat --key-hex $KEY --claims "{\"cti\":\"$TID\",\"sub\":\"viewer-browser\"}" --ttl 900)
auth() { # auth IP [SEG]: sets CODE, headers in $tmp/hdr
  CODE=$(curl -s -o /dev/null -D "$tmp/hdr" -w '%{http_code}' "$(base_url)/auth" \
    -H "X-Original-URI: /live/ch1/720p/seg${2:-1}.ts?CAT=$T" -H "X-Real-IP: $1")
}
hdr() { grep -i "^$1:" "$tmp/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
auth 8.8.8.8 1
check "moderate mode: the token is allowed" test "$CODE:$(hdr X-Warden-Action):$(hdr X-Warden-Token-Id)" = "200:allow:$TID"

mkdir -p "$tmp/shots"
TOKEN=$T TOKEN_ID=$TID VIEWER=vera:vera-pass-1 MODERATOR=mo:mo-pass-2 ADMIN=ada:ada-pass-3 CHROMIUM=$CHROMIUM \
  SHOTS="$tmp/shots" timeout -s KILL 200 node "$here/console.mjs" "$(base_url)" >"$tmp/browser.out" 2>&1
rc=$?
cat "$tmp/browser.out"
pass=$((pass + $(grep -c '^ok - ' "$tmp/browser.out")))
fail=$((fail + $(grep -c '^not ok - ' "$tmp/browser.out")))
[[ $rc == 0 ]] || bad "the browser script exits 0 (exit $rc)"

# --- what the browser did, seen from outside
auth 8.8.8.8 3
check "after the ban, automate mode: /auth answers with the configured action (callout)" test "$(hdr X-Warden-Action)" = callout
check "... for the reason banned" grep -q banned <<<"$(hdr X-Warden-Reason)"
check "... with the slate as the target" test "$(hdr X-Warden-Target)" = /slates/banned.m3u8
req GET "/v1/bans?type=token&value=$TID" -H "Authorization: Bearer $ADMIN_TOKEN"
check "the ban was made by the moderator, for an hour, from the case" \
  test "$(jq -r '"\(.ban.actor) \(.ban.until - .ban.created <= 3601) \(.ban.reason | startswith("case "))"' <<<"$BODY")" = "mo true true"
req GET "/v1/bans?type=token&value=no-csrf-token" -H "Authorization: Bearer $ADMIN_TOKEN"
check "the change without the CSRF token was not made" test "$CODE" = 404
req GET "/v1/bans?type=token&value=viewer-tries" -H "Authorization: Bearer $ADMIN_TOKEN"
check "the viewer's ban was not made" test "$CODE" = 404
req GET "/v1/policies/live" -H "Authorization: Bearer $ADMIN_TOKEN"
check "the policy is in automate mode" test "$(jq -r .mode <<<"$BODY")" = automate
req GET "/v1/audit?list=actions&limit=100" -H "Authorization: Bearer $ADMIN_TOKEN"
check "the audit trail has the three sign-ins, the verdict and the switch" \
  test "$(jq -c '[.audit[] | select(.ok) | .actor + ":" + .action] | map(select(. == "vera:login" or . == "mo:login" or . == "ada:login" or . == "mo:case.verdict" or . == "ada:policy.mode")) | unique | length' <<<"$BODY")" = 5
check "the failed sign-in is in the audit trail" test "$(jq '[.audit[] | select(.action == "login.failed" and .actor == "vera")] | length' <<<"$BODY")" = 1

stop_sim
stop_server || bad "server stops cleanly"
finish
