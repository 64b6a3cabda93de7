#!/usr/bin/env bash
# Three `warden serve` nodes replicating through a three-node NATS JetStream cluster (Debian's
# nats-server), all on 127.0.0.1 (docs/cluster.md):
#   - a ban made at node A is enforced at B and C; a lift at C reaches A and B;
#   - one token used from networks spread over the three nodes is found shared (automate: the
#     node that sees it bans it, and the ban reaches the others);
#   - node A is killed with SIGKILL in the middle of a ban burst, a ban is made at C while A is
#     down; A restarts on its data directory: every ban A acknowledged is at A, B and C, and A
#     has C's;
#   - hostile messages published straight into the bans stream are counted and never applied;
#   - the whole broker is stopped: the nodes keep deciding from local state and keep taking
#     bans; the broker restarts and every node converges.
source "$(dirname "$0")/common.sh"
command -v nats-server >/dev/null || { echo "skip: nats-server is not installed (scripts/deps.sh --test)"; exit 77; }

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ADMIN=cluster-admin-token-0123456789
AUTH=(-H "Authorization: Bearer $ADMIN")
T0=$SECONDS

declare -a NPID WPID WPORT CPORT RPORT MPORT
NODES=(a b c)

# kill9 PID: SIGKILL a process started under `timeout` and the process it runs (timeout does
# not pass SIGKILL on)
kill9() {
  local child
  child=$(pgrep -P "$1" | head -1)
  [[ -z $child ]] || kill -KILL "$child" 2>/dev/null
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
stop_all() {
  local p
  for p in "${BURST[@]}" "${WPID[@]}" "${NPID[@]}"; do
    [[ -n $p ]] && kill9 "$p"
  done
  cleanup
}
BURST=()
trap stop_all EXIT

# A port nothing listens on (probed; the range is above the kernel's ephemeral ports' usual
# start, collisions only make a start fail, which the test reports).
used_ports=" "
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    [[ $used_ports == *" $p "* ]] && continue
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && continue
    used_ports+="$p "
    echo "$p"
    return
  done
}
for i in 0 1 2; do
  CPORT[$i]=$(free_port)
  RPORT[$i]=$(free_port)
  MPORT[$i]=$(free_port)
done
NATS_URLS="nats://127.0.0.1:${CPORT[0]}, nats://127.0.0.1:${CPORT[1]}, nats://127.0.0.1:${CPORT[2]}"

# --- the broker: three nats-servers with JetStream, routes on loopback
start_nats() {
  local i=$1 routes="" j
  for j in 0 1 2; do
    [[ $j -ne $i ]] && routes+="nats-route://127.0.0.1:${RPORT[$j]}, "
  done
  cat >"$tmp/nats$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:${CPORT[$i]}
http: 127.0.0.1:${MPORT[$i]}
jetstream { store_dir: "$tmp/js$i", max_memory_store: 64MB, max_file_store: 1GB }
cluster { name: wdtest, listen: 127.0.0.1:${RPORT[$i]}, routes: [${routes%, }] }
EOF
  timeout -s KILL 300 nats-server -c "$tmp/nats$i.conf" >"$tmp/nats$i.log" 2>&1 &
  NPID[$i]=$!
}
# wait_broker: until every server reports a JetStream meta leader (20 s at most)
wait_broker() {
  local i k
  for k in $(seq 1 200); do
    local okn=0
    for i in 0 1 2; do
      curl -s "http://127.0.0.1:${MPORT[$i]}/jsz" 2>/dev/null | jq -e '.meta_cluster.leader // empty' >/dev/null && okn=$((okn + 1))
    done
    [[ $okn -eq 3 ]] && return 0
    sleep 0.1
  done
  for i in 0 1 2; do echo "# nats $i:"; tail -5 "$tmp/nats$i.log" | sed 's/^/#   /'; done
  return 1
}
for i in 0 1 2; do start_nats $i; done
wait_broker && ok "three-node JetStream cluster up" || { bad "JetStream cluster up"; finish; }

# --- three Warden nodes
for i in 0 1 2; do
  n=${NODES[$i]}
  cat >"$tmp/$n.yaml" <<EOF
listen: [127.0.0.1:0]
data_dir: $tmp/data-$n
admin_token: $ADMIN
trusted_proxies: [127.0.0.1]
client_ip_header: X-Real-IP
geo: false
decision_log: false
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - name: live
    path_prefix: /live/
    mode: automate
    actions:
      shared: {action: block, status: 403}
detection:
  window: 60
cluster:
  nats: [$NATS_URLS]
  node_id: node-$n
  replicas: 3
EOF
done
echo "  replay_when_down: closed" >>"$tmp/b.yaml" # B refuses catreplay=1 first uses without the broker
# start_node I: start node I, wait for /readyz (10 s); sets WPID[I] and WPORT[I]
start_node() {
  local i=$1 n=${NODES[$1]} k
  : >"$tmp/$n.err"
  timeout -s KILL 300 "$W" serve --config "$tmp/$n.yaml" >"$tmp/$n.out" 2>>"$tmp/$n.err" &
  WPID[$i]=$!
  WPORT[$i]=
  for k in $(seq 1 200); do
    [[ -z ${WPORT[$i]} ]] && WPORT[$i]=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/$n.err" | tail -1 | grep -o '[0-9]*$')
    if [[ -n ${WPORT[$i]} ]] && curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${WPORT[$i]}/readyz" | grep -q 200; then
      return 0
    fi
    kill -0 "${WPID[$i]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "# node $n did not start:"; tail -20 "$tmp/$n.err" | sed 's/^/#   /'
  return 1
}
url() { echo "http://127.0.0.1:${WPORT[$1]}"; }
for i in 0 1 2; do
  start_node $i || { bad "node ${NODES[$i]} starts"; finish; }
done
ok "three Warden nodes up"

metric() { curl -s "$(url "$1")/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
# until SECONDS COMMAND...: retry the command every 0.1 s until it succeeds or SECONDS pass
until_ok() {
  local t=$1 k; shift
  for k in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done
  "$@"
}
has_ban() { [[ $(curl -s -o /dev/null -w '%{http_code}' "$(url "$1")/v1/bans?type=$2&value=$3" "${AUTH[@]}") == 200 ]]; }
no_ban() { [[ $(curl -s -o /dev/null -w '%{http_code}' "$(url "$1")/v1/bans?type=$2&value=$3" "${AUTH[@]}") == 404 ]]; }
post_ban() { curl -s -o /dev/null -w '%{http_code}' -X POST "$(url "$1")/v1/bans" "${AUTH[@]}" -d "$2"; }
all_connected() { local i; for i in 0 1 2; do [[ $(metric $i 'warden_cluster_connected{node="node-'${NODES[$i]}'"}') == 1 ]] || return 1; done; }
until_ok 10 all_connected && ok "every node is connected to the broker" || bad "nodes connected"

echo "# at $((SECONDS - T0)) s"
# --- 1. a ban at A is enforced at B and C; a lift at C reaches A and B
code=$(post_ban 0 '{"type":"ip","value":"192.0.2.99","ttl":3600,"reason":"restreamer"}')
[[ $code == 201 ]] && ok "ban made at A (201)" || bad "ban at A: $code"
until_ok 10 has_ban 1 ip 192.0.2.99 && until_ok 5 has_ban 2 ip 192.0.2.99 \
  && ok "the ban reached B and C" || bad "ban not replicated to B and C"
TOK=$("$W" token issue --scheme cat --key-hex $KEY --claims '{"cti":"0a01"}' --ttl 600)
for i in 1 2; do
  R=$(curl -s -G "$(url $i)/v1/decide" --data-urlencode "token=$TOK" --data-urlencode url=/live/a.m3u8 --data-urlencode ip=192.0.2.99)
  [[ $(jq -r '.reasons[0]' <<<"$R") == banned && $(jq -r .action <<<"$R") == block ]] \
    && ok "node ${NODES[$i]} enforces A's ban" || bad "node ${NODES[$i]} decision: $R"
done
B=$(curl -s "$(url 1)/v1/bans?type=ip&value=192.0.2.99" "${AUTH[@]}")
[[ $(jq -r .ban.until <<<"$B") -gt $(date +%s) && $(jq -r .ban.reason <<<"$B") == restreamer ]] \
  && ok "the replicated ban keeps its expiry and reason" || bad "replicated ban: $B"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$(url 2)/v1/bans?type=ip&value=192.0.2.99" "${AUTH[@]}")
[[ $code == 200 ]] && ok "lift at C (200)" || bad "lift at C: $code"
until_ok 10 no_ban 0 ip 192.0.2.99 && until_ok 5 no_ban 1 ip 192.0.2.99 \
  && ok "the lift reached A and B" || bad "lift not replicated"
# A's own change came back to A without a second audit record
n=$(curl -s "$(url 0)/v1/audit?limit=100" "${AUTH[@]}" | jq '[.audit[] | select(.value=="192.0.2.99" and .op=="add")] | length')
[[ $n == 1 ]] && ok "the echo of A's own ban is not applied twice" || bad "A's audit has $n adds"

echo "# at $((SECONDS - T0)) s"
# --- 2. one token from networks spread over the three nodes is shared: two networks at A,
# two at B once A's reached it, then C, which has seen none itself, gets a fifth: shared at 5
# networks (no ASN known)
SH=$("$W" token issue --scheme cat --key-hex $KEY --claims '{"cti":"5b01"}' --ttl 600)
decide_at() { curl -s -G "$(url "$1")/v1/decide" --data-urlencode "token=$SH" --data-urlencode "url=/live/ch/seg$3.ts" --data-urlencode "ip=$2"; }
merged_at() { [[ $(metric "$1" 'warden_cluster_applied_total{kind="net"}') -ge $2 ]]; }
NET0_B=$(metric 1 'warden_cluster_applied_total{kind="net"}')
NET0_C=$(metric 2 'warden_cluster_applied_total{kind="net"}')
k=0
declare -a RS
for i in 0 1 2; do
  [[ $i -eq 1 ]] && { until_ok 10 merged_at 1 $((NET0_B + 2)) || bad "B did not hear of A's networks"; }
  [[ $i -eq 2 ]] && { until_ok 10 merged_at 2 $((NET0_C + 4)) || bad "C did not hear of A's and B's networks"; }
  for net in 1 2; do
    [[ $i -eq 2 && $net -eq 2 ]] && sleep 0.2 # the ban C made commits
    k=$((k + 1))
    RS[$k]=$(decide_at $i "100.$((64 + k)).$net.10" $k)
    echo "# node ${NODES[$i]}, network $k: $(jq -c '[.verdict.level, .verdict.networks, .reasons]' <<<"${RS[$k]}")"
  done
done
[[ $(jq -r .verdict.level <<<"${RS[4]}") == ok ]] && ok "B, with 2 networks of its own and 2 of A's, says ok at 4" || bad "B at 4 networks: ${RS[4]}"
R=${RS[5]}
[[ $(jq -r .verdict.level <<<"$R") == shared && $(jq -r .verdict.networks <<<"$R") -ge 5 ]] \
  && ok "C, on its first request, counts the 4 networks seen elsewhere and finds the token shared ($(jq -r .verdict.explanation <<<"$R"))" \
  || bad "spread token verdict at C: $R"
[[ $(jq -r '.reasons[0]' <<<"$R") == shared && $(jq -r .action <<<"$R") == block ]] \
  && ok "C enforces it (automate)" || bad "C action: $R"
[[ $(jq -r '.reasons[0]' <<<"${RS[6]}") == banned ]] && ok "and has banned it" || bad "C next request: ${RS[6]}"
TID=$(jq -r .token_id <<<"$R")
until_ok 10 has_ban 0 token "$TID" && until_ok 5 has_ban 1 token "$TID" \
  && ok "C's automatic ban of the shared token reached A and B" || bad "auto-ban not replicated"
R=$(decide_at 0 100.70.1.1 100)
[[ $(jq -r '.reasons[0]' <<<"$R") == banned ]] && ok "A refuses the shared token" || bad "A on the shared token: $R"

# --- 2b. catreplay=1: the first use at A makes a use at B or C a replay
ONCE=$("$W" token issue --scheme cat --key-hex $KEY --claims '{"cti":"0c01","catreplay":1}' --ttl 600)
once_at() { curl -s -G "$(url "$1")/v1/decide" --data-urlencode "token=$ONCE" --data-urlencode url=/live/once.m3u8 --data-urlencode ip=192.0.2.200; }
R=$(once_at 0)
[[ $(jq -r .action <<<"$R") == allow ]] && ok "catreplay=1: the first use, at A, is allowed" || bad "first use at A: $R"
replay_at() { R=$(once_at "$1"); [[ $(jq -r '.reasons[0]' <<<"$R") == replay ]]; }
until_ok 10 replay_at 1 && ok "a second use at B is a replay" || bad "second use at B: $R"
replay_at 2 && ok "and at C" || bad "use at C: $R"

echo "# at $((SECONDS - T0)) s"
# --- 3. kill -9 node A during a ban burst
WORKERS=4
for w in $(seq 1 $WORKERS); do
  (
    : >"$tmp/acked.$w"
    fails=0
    for j in $(seq 1 3000); do
      v="10.$w.$((j / 250)).$((j % 250))"
      code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "$(url 0)/v1/bans" "${AUTH[@]}" \
        -d "{\"type\":\"ip\",\"value\":\"$v\",\"ttl\":3600,\"reason\":\"burst $w\"}")
      if [[ $code == 201 ]]; then echo "$v" >>"$tmp/acked.$w"; else fails=$((fails + 1)); [[ $fails -ge 3 ]] && break; fi
    done
  ) &
  BURST+=($!)
done
for k in $(seq 1 150); do
  [[ $(cat "$tmp"/acked.* 2>/dev/null | wc -l) -ge 300 ]] && break
  sleep 0.05
done
kill9 "${WPID[0]}"
WPID[0]=
wait "${BURST[@]}" 2>/dev/null # the workers notice and stop
BURST=()
ACKED=$(cat "$tmp"/acked.* | sort -u | wc -l)
[[ $ACKED -ge 100 ]] && ok "A acknowledged $ACKED bans before SIGKILL" || bad "too few bans acknowledged ($ACKED)"
code=$(post_ban 2 '{"type":"token","value":"made-while-a-was-down","ttl":3600}')
[[ $code == 201 ]] && ok "C takes a ban while A is down" || bad "ban at C: $code"
start_node 0 && ok "A restarts on its data directory" || { bad "A restarts"; finish; }
count_at() { curl -s "$(url "$1")/v1/bans?type=ip&prefix=10.&limit=10000" "${AUTH[@]}" | jq -r '.bans[].value' | sort -u >"$tmp/at.$1"; comm -23 <(cat "$tmp"/acked.* | sort -u) "$tmp/at.$1" | wc -l; }
all_there() { [[ $(count_at "$1") -eq 0 ]]; }
for i in 0 1 2; do
  if until_ok 20 all_there $i; then
    ok "every ban A acknowledged is at node ${NODES[$i]}"
  else
    bad "$(count_at $i) of $ACKED acknowledged bans missing at node ${NODES[$i]}"
  fi
done
until_ok 10 has_ban 0 token made-while-a-was-down && ok "A caught up with the ban made while it was down" || bad "A missed C's ban"

echo "# at $((SECONDS - T0)) s"
# --- 4. hostile messages straight into the stream: counted, never applied
# nats_pub PORT SUBJECT PAYLOAD: one message in the NATS text protocol (ASCII payload)
nats_pub() {
  local line rc=1
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  if read -r -t 2 -u 3 line; then # INFO
    printf 'CONNECT {"verbose":false,"pedantic":false}\r\nPUB %s %d\r\n%s\r\nPING\r\n' "$2" "${#3}" "$3" >&3
    read -r -t 2 -u 3 line && [[ $line == PONG* ]] && rc=0
  fi
  exec 3>&-
  return $rc
}
REJ0=$(metric 1 'warden_cluster_rejected_total{stream="bans"}')
nats_pub "${CPORT[0]}" warden.bans.add 'not json at all' &&
  nats_pub "${CPORT[1]}" warden.bans.add '{"v":1,"k":"ban","n":"evil","t":1,"l":"bans","o":"add","bt":"cidr","bv":"0.0.0.0/0","c":1,"u":0,"r":"","a":"x","extra":1}' &&
  nats_pub "${CPORT[2]}" warden.bans.add '{"v":9,"k":"ban"}' \
  && ok "three hostile messages published into the bans stream" || bad "raw publish failed"
rejected_3() { [[ $(metric 1 'warden_cluster_rejected_total{stream="bans"}') -ge $((REJ0 + 3)) ]]; }
until_ok 10 rejected_3 && ok "B counted them as rejected" || bad "B rejected $(metric 1 'warden_cluster_rejected_total{stream="bans"}') (was $REJ0)"
no_ban 1 cidr 0.0.0.0/0 && no_ban 2 cidr 0.0.0.0/0 && ok "and applied none" || bad "a hostile ban was applied"
code=$(post_ban 1 '{"type":"ip","value":"192.0.2.123","ttl":3600}')
[[ $code == 201 ]] && until_ok 10 has_ban 2 ip 192.0.2.123 && ok "replication goes on after them" || bad "replication stuck after hostile messages"

echo "# at $((SECONDS - T0)) s"
# --- 5. the whole broker down: keep serving, keep taking bans, converge after
for i in 0 1 2; do kill -TERM "${NPID[$i]}" 2>/dev/null; done
for i in 0 1 2; do wait "${NPID[$i]}" 2>/dev/null; NPID[$i]=; done
down() { [[ $(metric 1 'warden_cluster_connected{node="node-b"}') == 0 ]]; }
until_ok 10 down && ok "the nodes see the broker gone" || bad "B still says connected"
R=$(curl -s -G "$(url 1)/v1/decide" --data-urlencode "token=$TOK" --data-urlencode url=/live/a.m3u8 --data-urlencode ip=192.0.2.123)
[[ $(jq -r '.reasons[0]' <<<"$R") == banned ]] && ok "B keeps enforcing from local state" || bad "B without broker: $R"
code=$(post_ban 1 '{"type":"token","value":"made-while-broker-down","ttl":3600}')
[[ $code == 201 ]] && ok "B takes a ban while the broker is down" || bad "ban at B without broker: $code"
code=$(post_ban 2 '{"type":"subject","value":"down-at-c","ttl":3600}')
[[ $code == 201 ]] && ok "C takes a ban while the broker is down" || bad "ban at C without broker: $code"
[[ $(metric 1 'warden_cluster_queue{queue="outbox"}') -ge 1 ]] && ok "B holds it in its outbox" || bad "B outbox empty"
ONCE2=$("$W" token issue --scheme cat --key-hex $KEY --claims '{"cti":"0c02","catreplay":1}' --ttl 600)
R=$(curl -s -G "$(url 1)/v1/decide" --data-urlencode "token=$ONCE2" --data-urlencode url=/live/once.m3u8 --data-urlencode ip=192.0.2.201)
[[ $(jq -r '.reasons[0]' <<<"$R") == replay ]] && ok "B (replay_when_down: closed) refuses a catreplay=1 first use" || bad "B fail-closed: $R"
R=$(curl -s -G "$(url 0)/v1/decide" --data-urlencode "token=$ONCE2" --data-urlencode url=/live/once.m3u8 --data-urlencode ip=192.0.2.201)
[[ $(jq -r .action <<<"$R") == allow ]] && ok "A (replay_when_down: open) allows it from local state" || bad "A fail-open: $R"
for i in 0 1 2; do start_nats $i; done
wait_broker && ok "the broker restarts on its stores" || bad "broker restart"
until_ok 30 has_ban 0 token made-while-broker-down && until_ok 10 has_ban 2 token made-while-broker-down \
  && ok "B's ban reached A and C after the broker came back" || bad "B's ban did not converge"
until_ok 10 has_ban 0 subject down-at-c && until_ok 10 has_ban 1 subject down-at-c \
  && ok "C's ban reached A and B" || bad "C's ban did not converge"

echo "# at $((SECONDS - T0)) s"
# --- clean stop
for i in 0 1 2; do
  kill -TERM "${WPID[$i]}" 2>/dev/null
  wait "${WPID[$i]}"
  rc=$?
  WPID[$i]=
  [[ $rc -eq 0 ]] && ok "node ${NODES[$i]} stops cleanly" || { bad "node ${NODES[$i]} exit $rc"; tail -20 "$tmp/${NODES[$i]}.err" | sed 's/^/#   /'; }
done
echo "# took $((SECONDS - T0)) s"
finish
