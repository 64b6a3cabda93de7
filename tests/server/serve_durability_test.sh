#!/usr/bin/env bash
# An acknowledged ban survives kill -9: several clients POST bans as fast as they can, the
# server is killed with SIGKILL in the middle of the burst, restarted on the same data
# directory, and every ban that was answered 201 must be there.
source "$(dirname "$0")/common.sh"

export WARDEN_ADMIN_TOKEN=durability-admin-token-0123
KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ARGS=(--listen 127.0.0.1:0 --data-dir "$tmp/data" --key cat:hex:$KEY --key jwt:secret:x --key securelink:secret:y)
start_server one "${ARGS[@]}" || { bad "server starts"; finish; }
ok "server starts"
URL="$(base_url)/v1/bans"

WORKERS=6
for w in $(seq 1 $WORKERS); do
  (
    : >"$tmp/acked.$w"
    fails=0
    for i in $(seq 1 2000); do
      v="10.$w.$((i / 250)).$((i % 250))"
      code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "$URL" \
        -H "Authorization: Bearer $WARDEN_ADMIN_TOKEN" \
        -d "{\"type\":\"ip\",\"value\":\"$v\",\"ttl\":3600,\"reason\":\"burst $w\"}")
      if [[ $code == 201 ]]; then
        echo "$v" >>"$tmp/acked.$w"
      else
        fails=$((fails + 1))
        [[ $fails -ge 3 ]] && break # the server is gone
      fi
    done
    echo "$fails" >"$tmp/fails.$w"
  ) &
done

# let the burst run, then SIGKILL the server in the middle of it
for i in $(seq 1 100); do
  [[ $(cat "$tmp"/acked.* 2>/dev/null | wc -l) -ge 150 ]] && break
  sleep 0.05
done
kill -KILL "$WARDEN_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
wait # the workers notice and stop
ACKED=$(cat "$tmp"/acked.* | wc -l)
FAILS=$(cat "$tmp"/fails.* | awk '{s += $1} END {print s}')
[[ $ACKED -ge 100 ]] && ok "burst acknowledged $ACKED bans before the kill" || bad "too few bans acknowledged ($ACKED)"
[[ $FAILS -gt 0 ]] && ok "the kill came during the burst ($FAILS requests failed)" || bad "the kill came after the burst"

start_server two "${ARGS[@]}" || { bad "server restarts on the same data"; finish; }
ok "server restarts on the same data directory"
missing=0
while read -r v; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$(base_url)/v1/bans?type=ip&value=$v" \
    -H "Authorization: Bearer $WARDEN_ADMIN_TOKEN")
  [[ $code == 200 ]] || { missing=$((missing + 1)); echo "# missing $v ($code)"; }
done < <(cat "$tmp"/acked.*)
[[ $missing -eq 0 ]] && ok "every acknowledged ban survived kill -9 ($ACKED checked)" || bad "$missing of $ACKED acknowledged bans lost"
# and they are enforced
V=$(head -1 "$tmp/acked.1")
T=$("$W" token issue --scheme cat --key-hex $KEY --ttl 60)
BODY=$(curl -s -G "$(base_url)/v1/decide" --data-urlencode "token=$T" --data-urlencode url=/x --data-urlencode "ip=$V")
[[ $(jq -r '.reasons[0]' <<<"$BODY") == banned ]] && ok "a surviving ban is enforced" || bad "surviving ban enforced: $BODY"
AUD=$(curl -s "$(base_url)/v1/audit?limit=10000" -H "Authorization: Bearer $WARDEN_ADMIN_TOKEN" | jq '[.audit[] | select(.op=="add")] | length')
[[ $AUD -ge $ACKED ]] && ok "the audit log holds every acknowledged change ($AUD)" || bad "audit has $AUD adds for $ACKED acked"
stop_server
check "clean stop (exit 0)" test $? -eq 0
finish
