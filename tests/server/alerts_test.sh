#!/usr/bin/env bash
# Black-box tests of alerts: a spike in token failures and a ban storm fire, reach the webhooks
# (Warden's JSON, signed with HMAC-SHA256, and Slack's format), a webhook that answers 500 gets
# the same delivery again with backoff, the alert resolves when the spike ends; /v1/stats and
# /metrics show the alerts; a receiver that never answers is given up after the retries; bad
# alert configuration is refused with the line.
source "$(dirname "$0")/common.sh"
command -v node >/dev/null || { echo "skip: node is not installed (scripts/deps.sh --test)"; exit 77; }
command -v openssl >/dev/null || { echo "skip: openssl is not installed"; exit 77; }

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ADMIN=test-admin-token-0123456789
AUTH=(-H "Authorization: Bearer $ADMIN")
SECRET=webhook-secret-0123456789

RECV_PID=
stop_receiver() { [[ -z $RECV_PID ]] || { kill -TERM "$RECV_PID" 2>/dev/null; wait "$RECV_PID" 2>/dev/null; RECV_PID=; }; }
trap 'stop_receiver; cleanup' EXIT
FAIL_FIRST=2 timeout -s KILL 300 node "$(dirname "$0")/webhook_receiver.mjs" "$tmp/hook.port" "$tmp/hook.log" &
RECV_PID=$!
for i in $(seq 1 100); do [[ -s $tmp/hook.port ]] && break; sleep 0.05; done
HPORT=$(cat "$tmp/hook.port")
: >"$tmp/hook.log"

# --- configuration errors
bad_alerts() { # DESC PATTERN YAML
  printf 'keys:\n  - {scheme: cat, kind: hex, value: %s}\npolicies:\n  - {name: live}\nalerts:\n%s\n' "$KEY" "$3" >"$tmp/bad.yaml"
  local out rc
  out=$("$W" serve --config "$tmp/bad.yaml" --check-config 2>&1); rc=$?
  if [[ $rc == 2 ]] && grep -q "$2" <<<"$out"; then ok "$1"; else bad "$1 (exit $rc: $out)"; fi
}
bad_alerts "config: a webhook that is not http(s)" "must start with http:// or https://" "  webhooks: [ftp://example.com/x]"
bad_alerts "config: a short webhook secret" "at least 16 characters" "  webhooks: [{url: http://127.0.0.1:9/x, secret: short}]"
bad_alerts "config: an unknown format" "webhook format 'xml'" "  webhooks: [{url: http://127.0.0.1:9/x, format: xml}]"
bad_alerts "config: a share above 1" "alerts.shared_share must be a number from 0 to 1" "  shared_share: 5"
bad_alerts "config: an unknown key" "unknown key 'treshold'" "  treshold: 3"

cat >"$tmp/warden.yaml" <<YAML
listen: [127.0.0.1:0]
data_dir: $tmp/data
admin_token: $ADMIN
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - {name: live, path_prefix: /live/, mode: automate}
alerts:
  window: 5
  baseline: 60
  cooldown: 120
  failures_spike: 2
  failures_min: 2
  blocks_spike: 0
  ban_storm: 10
  retries: 5
  timeout: 2
  webhooks:
    - {url: "http://127.0.0.1:$HPORT/hook", secret: $SECRET}
    - {url: "http://127.0.0.1:$HPORT/slack", format: slack}
YAML
start_server main --config "$tmp/warden.yaml" || { bad "server starts"; finish; }

# wait_for DESC JQ_FILTER: poll the receiver's log (at most 30 s) until the filter holds
wait_for() {
  local i
  for i in $(seq 1 300); do
    if [[ -s $tmp/hook.log ]] && jq -se "$2" "$tmp/hook.log" >/dev/null 2>&1; then ok "$1"; return 0; fi
    sleep 0.1
  done
  bad "$1"; echo "# receiver log:"; sed 's/^/#   /' "$tmp/hook.log" | cut -c1-300; return 1
}
decoded='map(. + {body: (.body_b64 | @base64d | fromjson)})'

# --- a spike of token failures: garbage tokens, tens a second, until the checks below are done
SPIKE_PID=
( set +e; i=0
  while :; do
    curl -s -o /dev/null "$(base_url)/v1/decide?token=garbage-$i&url=/live/ch1/seg1.ts&ip=192.0.2.1"
    i=$((i + 1)); (( i % 20 == 0 )) && sleep 0.3
  done ) &
SPIKE_PID=$!
stop_spike() { [[ -z $SPIKE_PID ]] || { kill "$SPIKE_PID" 2>/dev/null; wait "$SPIKE_PID" 2>/dev/null; SPIKE_PID=; }; }
trap 'stop_spike; stop_receiver; cleanup' EXIT
wait_for "the failures alert reaches the webhook" "$decoded | map(select(.path == \"/hook\" and .body.alert == \"failures\" and .body.status == \"firing\" and (.failed | not))) | length >= 1"
wait_for "Slack's format reaches the other webhook" "$decoded | map(select(.path == \"/slack\" and (.body.text | startswith(\"[FIRING] Warden\")))) | length >= 1"
FIRST=$(jq -sc '[.[] | select(.path == "/hook")][0]' "$tmp/hook.log")
ID=$(jq -r '.headers["x-warden-delivery"]' <<<"$FIRST")
OKREC=$(jq -sc --arg id "$ID" '[.[] | select(.headers["x-warden-delivery"] == $id and (.failed | not))][0]' "$tmp/hook.log")
check "the first attempt was refused by the receiver (500)" test "$(jq .failed <<<"$FIRST")" = true
check "the refused delivery came again with the same id and counted attempts" \
  test "$(jq -sr --arg id "$ID" '[.[] | select(.headers["x-warden-delivery"] == $id) | .headers["x-warden-attempt"]] | join(",")' "$tmp/hook.log")" = "1,2,3"
check "the retried body is the same" test "$(jq -sr --arg id "$ID" '[.[] | select(.headers["x-warden-delivery"] == $id) | .body_b64] | unique | length' "$tmp/hook.log")" = 1
BODY_RAW=$(jq -r .body_b64 <<<"$OKREC" | base64 -d)
SIG=$(jq -r '.headers["x-warden-signature"]' <<<"$OKREC")
WANT=$(printf '%s' "$BODY_RAW" | openssl dgst -sha256 -hmac "$SECRET" | awk '{print $NF}')
check "the body is signed: X-Warden-Signature sha256=HMAC(secret, body)" test "$SIG" = "sha256=$WANT"
check "the slack webhook is not signed (no secret)" test "$(jq -s '[.[] | select(.path == "/slack") | .headers["x-warden-signature"]] | map(select(. != null)) | length' "$tmp/hook.log")" = 0
check "the event names the alert, its value and threshold" test "$(jq -r '"\(.source) \(.alert) \(.status) \(.value >= 2) \(.threshold >= 2) \(.window_s)"' <<<"$BODY_RAW")" = "warden failures firing true true 5"
check "the event has a message a person can read" grep -q "token failures (no token, invalid, expired)" <<<"$(jq -r .message <<<"$BODY_RAW")"
check "the event says what it is in X-Warden-Event" test "$(jq -r '.headers["x-warden-event"]' <<<"$OKREC")" = failures

req GET /v1/stats "${AUTH[@]}"
check "/v1/stats: the failures alert is active" test "$(jq '[.alerts.active[] | .kind] | index("failures") != null' <<<"$BODY")" = true
check "/v1/stats: two webhooks, deliveries retried" test "$(jq '.alerts.webhooks == 2 and .alerts.deliveries.retried >= 2' <<<"$BODY")" = true
req GET /metrics
check "/metrics: warden_alert_active{alert=\"failures\"} 1" grep -q '^warden_alert_active{alert="failures"} 1$' <<<"$BODY"
check "/metrics: warden_alerts_fired_total counts it" grep -Eq '^warden_alerts_fired_total\{alert="failures"\} [1-9]' <<<"$BODY"
check "/metrics: deliveries by outcome" grep -Eq '^warden_alert_deliveries_total\{result="delivered"\} [1-9]' <<<"$BODY"

# --- the spike ends: resolved (and, within the cooldown, not fired again)
stop_spike
wait_for "the failures alert resolves when the spike ends" "$decoded | map(select(.path == \"/hook\" and .body.alert == \"failures\")) | last | .body.status == \"resolved\""
for i in $(seq 1 100); do
  req GET /metrics
  grep -q '^warden_alert_active{alert="failures"} 0$' <<<"$BODY" && break
  sleep 0.2
done
check "/metrics: the alert is no longer active" grep -q '^warden_alert_active{alert="failures"} 0$' <<<"$BODY"
check "/metrics: it fired once (the cooldown holds it back)" grep -q '^warden_alerts_fired_total{alert="failures"} 1$' <<<"$BODY"

# --- a ban storm
BANS=$(jq -nc '[range(0; 12) | {type: "token", value: "storm-\(.)", ttl: 600}]')
req POST /v1/bans "${AUTH[@]}" -d "$BANS"
check "12 bans at once: 201" test "$CODE" = 201
wait_for "a ban storm reaches the webhook" "$decoded | map(select(.path == \"/hook\" and .body.alert == \"ban_storm\" and .body.status == \"firing\" and .body.value >= 12)) | length >= 1"
stop_server || bad "server stops cleanly"

# --- a receiver that never answers: given up after the retries, counted
cat >"$tmp/dead.yaml" <<YAML
listen: [127.0.0.1:0]
data_dir: $tmp/data2
admin_token: $ADMIN
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - {name: live, path_prefix: /live/}
alerts:
  window: 5
  ban_storm: 3
  retries: 2
  timeout: 1
  webhooks: ["http://127.0.0.1:9/nobody-listens"]
YAML
start_server dead --config "$tmp/dead.yaml" || { bad "server starts (dead receiver)"; finish; }
req POST /v1/bans "${AUTH[@]}" -d "$(jq -nc '[range(0; 5) | {type: "ip", value: "198.51.100.\(.)", ttl: 600}]')"
gave_up=0
for i in $(seq 1 150); do
  req GET /v1/stats "${AUTH[@]}"
  if [[ $(jq '.alerts.deliveries.failed' <<<"$BODY") -ge 1 ]]; then gave_up=1; break; fi
  sleep 0.1
done
check "an unreachable webhook is given up after its retries" test "$gave_up" = 1
check "it was tried again before giving up" test "$(jq '.alerts.deliveries.retried >= 1' <<<"$BODY")" = true
check "the alert is still shown in the console" test "$(jq '[.alerts.recent[] | select(.kind == "ban_storm")] | length >= 1' <<<"$BODY")" = true
stop_server || bad "server stops cleanly (dead receiver)"
stop_receiver
finish
