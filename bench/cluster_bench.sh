#!/usr/bin/env bash
# Cluster benchmark (docs/cluster.md), everything on 127.0.0.1, in one invocation:
#   1. ban propagation latency: a three-server JetStream cluster (streams R3) and two Warden
#      nodes A and B; N bans, one at a time, POSTed to A; for each, the time from A's 201 until
#      B answers 200 for it (a keep-alive client polling B as fast as it answers). p50, p90, p99,
#      max.
#   2. catch-up rate: M ban messages published straight into the bans stream (bench/cluster_fill),
#      then, once A and B have applied them too, a new node C starts on an empty data directory:
#      the time until it has applied all M (its warden_cluster_stream_seq, read by a keep-alive
#      client every 50 ms), bans/s, and C's ban store and index bytes per ban. The ban values
#      are "fill-filler-<i>" (nearly in key order), or with --catchup-values random
#      "sha256:<64 hex>" spread over the key space, as the identity ids of real tokens are
#      (each lands on another page of the store).
#   3. broker messages per 1,000 decisions: `warden sim --live` (a live event: viewers, friends,
#      pirates, restreamers) against A; messages A published (bans, usage, first uses) per
#      1,000 decisions it made.
# Figures only: fails only when something does not build or start.
#
#   bench/cluster_bench.sh [--bans N] [--catchup M] [--catchup-values seq|random]
#                          [--sim-audience N] [--sim-duration S]
# Defaults: --bans 500, --catchup 1000000, --catchup-values seq, --sim-audience 2000,
# --sim-duration 120.
# Environment: BENCH_BUILD_DIR (default build-bench: Release build of warden and cluster_fill),
# WARDEN (a warden binary), BENCH_KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
nbans=500 ncatch=1000000 values=seq audience=2000 simdur=120
while (($#)); do
  case $1 in
  --bans) nbans=$2; shift 2 ;;
  --catchup) ncatch=$2; shift 2 ;;
  --catchup-values) values=$2; shift 2 ;;
  --sim-audience) audience=$2; shift 2 ;;
  --sim-duration) simdur=$2; shift 2 ;;
  -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "cluster_bench: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $values == seq || $values == random ]] ||
  { echo "cluster_bench: --catchup-values is seq or random" >&2; exit 2; }
command -v nats-server >/dev/null || { echo "cluster_bench: nats-server is not installed (scripts/deps.sh --test)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "cluster_bench: python3 is required" >&2; exit 2; }

build=${BENCH_BUILD_DIR:-$root/build-bench}
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
fi
cmake --build "$build" -j2 --target warden-cli cluster_fill >/dev/null
W=${WARDEN:-$build/warden}
FILL=$build/bench/cluster_fill

tmp=$(mktemp -d)
PIDS=()
cleanup() {
  local p c
  for p in "${PIDS[@]}"; do
    c=$(pgrep -P "$p" | head -1 || true)
    [[ -z $c ]] || kill -KILL "$c" 2>/dev/null || true
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  [[ ${BENCH_KEEP:-0} == 1 ]] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

used=" "
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    [[ $used == *" $p "* ]] && continue
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && continue
    used+="$p "; echo "$p"; return
  done
}
declare -a CP RP MP
for i in 0 1 2; do CP[$i]=$(free_port); RP[$i]=$(free_port); MP[$i]=$(free_port); done
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do [[ $j -ne $i ]] && routes+="nats-route://127.0.0.1:${RP[$j]}, "; done
  cat >"$tmp/nats$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:${CP[$i]}
http: 127.0.0.1:${MP[$i]}
jetstream { store_dir: "$tmp/js$i", max_memory_store: 256MB, max_file_store: 8GB }
cluster { name: bench, listen: 127.0.0.1:${RP[$i]}, routes: [${routes%, }] }
EOF
  timeout -s KILL 3600 nats-server -c "$tmp/nats$i.conf" >"$tmp/nats$i.log" 2>&1 &
  PIDS+=($!)
done
for k in $(seq 1 300); do
  n=0
  for i in 0 1 2; do
    curl -s "http://127.0.0.1:${MP[$i]}/jsz" | grep -q '"leader"' && n=$((n + 1))
  done
  [[ $n -eq 3 ]] && break
  sleep 0.1
done
[[ $n -eq 3 ]] || { echo "cluster_bench: the JetStream cluster did not come up" >&2; exit 1; }
URLS="nats://127.0.0.1:${CP[0]}, nats://127.0.0.1:${CP[1]}, nats://127.0.0.1:${CP[2]}"
KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ADMIN=bench-admin-token-0123456789

declare -A PORT
start_node() { # NAME REPLICAS
  cat >"$tmp/$1.yaml" <<EOF
listen: [127.0.0.1:0]
data_dir: $tmp/data-$1
admin_token: $ADMIN
trusted_proxies: [127.0.0.1]
client_ip_header: X-Real-IP
decision_log: false
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - name: live
    path_prefix: /
    mode: automate
cluster:
  nats: [$URLS]
  node_id: node-$1
  replicas: $2
EOF
  timeout -s KILL 3600 "$W" serve --config "$tmp/$1.yaml" >"$tmp/$1.out" 2>"$tmp/$1.err" &
  PIDS+=($!)
  local k p=
  for k in $(seq 1 600); do
    [[ -z $p ]] && p=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/$1.err" | grep -o '[0-9]*$' || true)
    if [[ -n $p ]] && curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/readyz" | grep -q 200; then
      PORT[$1]=$p
      return 0
    fi
    sleep 0.05
  done
  echo "cluster_bench: node $1 did not start:" >&2; tail "$tmp/$1.err" >&2; exit 1
}
metric() { curl -s "http://127.0.0.1:${PORT[$1]}/metrics" | awk -v m="$2" '$1 == m {print $2}'; }

echo "# cluster_bench: $(nproc) cores, nats-server $(nats-server --version | awk '{print $2}'), $(date -u +%Y-%m-%dT%H:%MZ)"
start_node a 3
start_node b 3
for k in $(seq 1 100); do
  [[ $(metric a 'warden_cluster_connected{node="node-a"}') == 1 && $(metric b 'warden_cluster_connected{node="node-b"}') == 1 ]] && break
  sleep 0.1
done

# --- 1. propagation latency
python3 - "${PORT[a]}" "${PORT[b]}" "$ADMIN" "$nbans" <<'PY'
import http.client, json, sys, time
pa, pb, admin, n = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
h = {"Authorization": "Bearer " + admin}
ca = http.client.HTTPConnection("127.0.0.1", pa)
cb = http.client.HTTPConnection("127.0.0.1", pb)
lat, polls = [], 0
for i in range(n):
    v = "lat-%d-%d" % (int(time.time()), i)
    body = json.dumps({"type": "token", "value": v, "ttl": 3600, "reason": "bench"})
    ca.request("POST", "/v1/bans", body, h)
    r = ca.getresponse(); r.read()
    t0 = time.perf_counter()
    if r.status != 201:
        sys.exit("POST answered %d" % r.status)
    while True:
        cb.request("GET", "/v1/bans?type=token&value=" + v, headers=h)
        r = cb.getresponse(); r.read(); polls += 1
        if r.status == 200:
            break
        if time.perf_counter() - t0 > 10:
            sys.exit("ban %s never reached B" % v)
    lat.append((time.perf_counter() - t0) * 1000)
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print("propagation A -> B, %d bans one at a time (streams R3): p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%.1f polls a ban)"
      % (n, q(0.5), q(0.9), q(0.99), lat[-1], polls / n))
PY

# --- 2. catch-up of a new node
base=$(metric a 'warden_cluster_stream_seq{stream="bans"}') # all of A's bans, applied
fill=$("$FILL" "nats://127.0.0.1:${CP[0]}" "$ncatch" WARDEN_BANS warden filler "$values")
echo "filled the bans stream ($values values): $fill"
target=$((base + ncatch))
for n in a b; do # A and B apply the same bans as they come: C starts once they are done
  for k in $(seq 1 6000); do
    s=$(metric $n 'warden_cluster_stream_seq{stream="bans"}')
    [[ -n $s && $s -ge $target ]] && break
    sleep 0.1
  done
done
t0=$(date +%s.%N)
start_node c 3
tready=$(date +%s.%N)
python3 - "${PORT[c]}" "$target" <<'PY'
import http.client, sys, time
port, target = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
want = 'warden_cluster_stream_seq{stream="bans"} '
while True:
    c.request("GET", "/metrics")
    body = c.getresponse().read().decode()
    seq = [int(l[len(want):]) for l in body.splitlines() if l.startswith(want)]
    if seq and seq[0] >= target:
        break
    time.sleep(0.05)
PY
t1=$(date +%s.%N)
awk -v n="$target" -v a="$t0" -v r="$tready" -v b="$t1" 'BEGIN {
  printf "catch-up: new node applied %d bans in %.2f s from start (%.2f s after ready): %.0f bans/s\n", n, b - a, b - r, n / (b - r) }'
curl -s "http://127.0.0.1:${PORT[c]}/metrics" | awk -v n="$target" '
  $1 == "warden_ban_store_bytes" {s = $2} $1 == "warden_ban_index_bytes" {x = $2}
  $1 == "process_resident_memory_bytes" {m = $2}
  END {printf "node C: ban store %.0f MB (%.0f bytes a ban), index %.0f MB (%.1f bytes a ban), RSS %.0f MB\n",
       s / 1e6, s / n, x / 1e6, x / n, m / 1e6}'
du -sb "$tmp/js0" | awk -v n="$target" '{printf "JetStream store of one server: %.0f MB (%.0f bytes a ban message)\n", $1 / 1e6, $1 / n}'

# --- 3. broker messages per 1,000 decisions
b0=$(metric a 'warden_cluster_published_total{kind="ban"}')
n0=$(metric a 'warden_cluster_published_total{kind="net"}')
u0=$(metric a 'warden_cluster_published_total{kind="use"}')
d0=$(curl -s "http://127.0.0.1:${PORT[a]}/metrics" | awk '$1 ~ /^warden_decisions_total/ {s += $2} END {print s + 0}')
"$W" sim --out "$tmp/sim" --live "http://127.0.0.1:${PORT[a]}" --speed 20 --audience "$audience" \
  --duration "$simdur" --key "cat:hex:$KEY" >"$tmp/sim.out" 2>"$tmp/sim.err" || { echo "sim failed:"; tail "$tmp/sim.err"; exit 1; }
sleep 1
pb=$(($(metric a 'warden_cluster_published_total{kind="ban"}') - b0))
pn=$(($(metric a 'warden_cluster_published_total{kind="net"}') - n0))
pu=$(($(metric a 'warden_cluster_published_total{kind="use"}') - u0))
d1=$(curl -s "http://127.0.0.1:${PORT[a]}/metrics" | awk '$1 ~ /^warden_decisions_total/ {s += $2} END {print s + 0}')
awk -v d=$((d1 - d0)) -v p=$((pb + pn + pu)) -v b="$pb" -v nn="$pn" -v u="$pu" -v aud="$audience" -v dur="$simdur" 'BEGIN {
  printf "sim (%d viewers, %d s): %d decisions, %d messages published (ban %d, net %d, use %d): %.1f messages per 1,000 decisions\n",
         aud, dur, d, p, b, nn, u, d ? p * 1000 / d : 0 }'
