#!/usr/bin/env bash
# HTTP benchmark of `warden serve` against nginx `return 200`, in one invocation on one machine:
#   1. nginx (worker_processes 1) answering `location / { return 200; }`
#   2. warden serve --threads 1, GET /auth: a valid CAT in X-Original-URI, the viewer in X-Real-IP
#   3. warden serve --threads 1, GET /v1/decide?token=<valid CAT>&ip=<viewer>&url=...
# Each server runs alone on CPU ${BENCH_SERVER_CPU:-1}; wrk (1 thread, keep-alive) on CPU
# ${BENCH_CLIENT_CPU:-0}; everything on 127.0.0.1. For each target: a curl check that the request
# is really allowed (200, and "action":"allow" for /v1/decide), a warm-up, a run at full speed
# and a run at half of nginx's full-speed rate. Prints requests/s, p50 and p99, the ratios
# warden / nginx and warden's resident memory. Figures only: the script fails only when
# something does not build or start, or a request is not allowed.
#
#   bench/serve_bench.sh [--duration S] [--warmup S] [--conns N] [--tokens N] [--no-declog] [--no-geo]
#                        [--no-detect]
# Environment: WARDEN (a warden binary: nothing is built), BENCH_BUILD_DIR (default build-bench),
# NGINX (default /usr/sbin/nginx), BENCH_SERVER_CPU, BENCH_CLIENT_CPU, BENCH_KEEP=1 (keep the
# temporary directory with the wrk outputs, logs and configurations).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

duration=10 warmup=2 conns=64 ntokens=1000 declog=1 geo=1 detect=1
while (($#)); do
  case $1 in
  --duration) duration=$2; shift 2 ;;
  --warmup) warmup=$2; shift 2 ;;
  --conns) conns=$2; shift 2 ;;
  --tokens) ntokens=$2; shift 2 ;;
  --no-declog) declog=0; shift ;;
  --no-geo) geo=0; shift ;;
  --no-detect) detect=0; shift ;;
  -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "serve_bench: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$duration" "$warmup" "$conns" "$ntokens"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "serve_bench: '$v' is not a whole number" >&2; exit 2; }
done
((duration > 0 && conns > 0 && ntokens > 0)) || { echo "serve_bench: zero duration, connections or tokens" >&2; exit 2; }

nginx=${NGINX:-/usr/sbin/nginx}
scpu=${BENCH_SERVER_CPU:-1}
ccpu=${BENCH_CLIENT_CPU:-0}
for t in wrk curl taskset timeout "$nginx"; do
  command -v "$t" >/dev/null || { echo "serve_bench: $t not found (scripts/deps.sh --test installs wrk and nginx)" >&2; exit 1; }
done
spin=(taskset -c "$scpu")
cpin=(taskset -c "$ccpu")
{ "${spin[@]}" true && "${cpin[@]}" true; } 2>/dev/null ||
  { echo "serve_bench: cannot pin to CPUs $scpu and $ccpu (set BENCH_SERVER_CPU, BENCH_CLIENT_CPU)" >&2; exit 1; }

if [[ -n ${WARDEN:-} ]]; then
  warden=$WARDEN
else
  build=${BENCH_BUILD_DIR:-$root/build-bench}
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DWARDEN_WERROR=OFF >/dev/null
  cmake --build "$build" -j2 --target warden-cli >/dev/null
  warden=$build/warden
fi
[[ -x $warden ]] || { echo "serve_bench: $warden is not executable" >&2; exit 1; }

# ---------------------------------------------------------------- processes and clean-up

tmp=$(mktemp -d /tmp/serve_bench.XXXXXX)
pids=()
stop_pid() { # stop_pid PID: TERM, up to 5 s, then KILL
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
cleanup() {
  local p
  for p in "${pids[@]}"; do stop_pid "$p"; done
  pids=()
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "serve_bench: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
forget_pid() { local p keep=(); for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done; pids=("${keep[@]}"); }

fcurl() { curl --noproxy '*' -sS -m 5 "$@"; }

wait_http() { # wait_http URL PID: until URL answers 200, at most 10 s, while PID lives
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$2" 2>/dev/null || return 1
    [[ $(fcurl -o /dev/null -w '%{http_code}' "$1" 2>/dev/null) == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- wrk

lua=$root/bench/wrk/serve.lua
hz=$(getconf CLK_TCK)
srv=() # PIDs of the server under test, for its CPU time

proc_ticks() { # user + system clock ticks of the processes (all their threads)
  local p n=0
  for p in "$@"; do
    n=$((n + $(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null | awk '{ print $12 + $13 }' || echo 0)))
  done
  echo "$n"
}
child_ticks() { # user + system clock ticks of this script's finished children (wrk)
  sed 's/^.*) //' /proc/$$/stat | awk '{ print $14 + $15 }'
}
core_ticks() { # busy clock ticks of CPU $1 (anything but idle and iowait), from /proc/stat
  awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

declare -A R # R[TARGET,max|half,rps|p50|p99|err|srv|other|wrk|wother]
# wrk_run TARGET PORT RATE SECONDS [KEY]: one wrk run on the client CPU; with KEY (max or half),
# its figures go to R[TARGET,KEY,...], with the CPU the server, other work on the server's core,
# wrk and other work on wrk's core took, in percent of one core.
wrk_run() {
  local t=$1 port=$2 rate=$3 secs=$4 key=${5:-} out line s0 c0 d0 w0 t0 s1 c1 d1 w1 t1 wp cpu
  out=$tmp/wrk-$t-${key:-warmup}.txt
  s0=$(proc_ticks "${srv[@]}") c0=$(core_ticks "$scpu") d0=$(core_ticks "$ccpu") w0=$(child_ticks) t0=$(date +%s%N)
  # in the background so that a signal stops the script at once (cleanup() stops wrk too)
  BENCH_TARGET=$t BENCH_TOKENS=$tmp/tokens.txt BENCH_RATE=$rate BENCH_THREADS=1 \
    timeout -k 5 $((secs + 30)) "${cpin[@]}" wrk -t1 -c"$conns" -d"${secs}s" --timeout 2s \
    -s "$lua" "http://127.0.0.1:$port/" >"$out" 2>&1 &
  wp=$!
  pids+=("$wp")
  wait "$wp" || { echo "serve_bench: wrk failed ($t ${key:-warm-up}):" >&2; cat "$out" >&2; exit 1; }
  forget_pid "$wp"
  s1=$(proc_ticks "${srv[@]}") c1=$(core_ticks "$scpu") d1=$(core_ticks "$ccpu") w1=$(child_ticks) t1=$(date +%s%N)
  line=$(grep -m1 '^BENCH ' "$out") || { echo "serve_bench: no summary from wrk ($t):" >&2; cat "$out" >&2; exit 1; }
  [[ -n $key ]] || return 0
  R[$t,$key,rps]=$(field rps "$line") R[$t,$key,p50]=$(field p50_us "$line") R[$t,$key,p99]=$(field p99_us "$line")
  R[$t,$key,err]=$(($(field non2xx "$line") + $(field timeouts "$line") + $(field read_err "$line") +
    $(field write_err "$line") + $(field connect_err "$line")))
  cpu=$(awk -v s=$((s1 - s0)) -v c=$((c1 - c0)) -v w=$((w1 - w0)) -v d=$((d1 - d0)) -v hz="$hz" -v ns=$((t1 - t0)) 'BEGIN {
    f = 100 / hz / (ns / 1e9); o = c - s; p = d - w
    printf "%.0f %.0f %.0f %.0f", s * f, o < 0 ? 0 : o * f, w * f, p < 0 ? 0 : p * f }')
  read -r "R[$t,$key,srv]" "R[$t,$key,other]" "R[$t,$key,wrk]" "R[$t,$key,wother]" <<<"$cpu"
}
field() { sed -n "s/.*[ ]$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

measure() { # measure TARGET PORT: warm-up, full speed, half of nginx's full speed
  local t=$1 port=$2
  ((warmup == 0)) || wrk_run "$t" "$port" 0 "$warmup"
  wrk_run "$t" "$port" 0 "$duration" max
  [[ $t != nginx ]] || half=$(awk -v r="${R[nginx,max,rps]}" 'BEGIN { printf "%d", r / 2 }')
  wrk_run "$t" "$port" "$half" "$duration" half
}

echo "== $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"
echo "== servers on CPU $scpu (one at a time), wrk on CPU $ccpu: 1 thread, $conns keep-alive connections, ${duration} s runs after ${warmup} s warm-up"
echo "== $("$nginx" -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), tree $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $warden built $(date -r "$warden" '+%F %T')"

# ---------------------------------------------------------------- tokens

key=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
now=$(date +%s)
exp=$((now + 86400))
for ((i = 0; i < ntokens; i++)); do
  # the shape of node-cat's `minimal` vector: iss, exp, iat, 4-byte cti, catv; kid Symmetric256
  "$warden" token issue --scheme cat --key-hex "$key" --kid Symmetric256 \
    --claims "{\"iss\":\"eyevinn\",\"exp\":$exp,\"iat\":$now,\"cti\":\"$(printf '%08x' "$i")\"}"
done >"$tmp/tokens.raw"
# one viewer address per token, spread over public IPv4 space (first octet 1-223 but 10 and 127)
awk '{ h = (NR * 2654435761) % 4294967296; o = 1 + int(h / 16777216) % 221; if (o >= 10) o++; if (o >= 127) o++
       printf "%s %d.%d.%d.%d\n", $1, o, int(h / 65536) % 256, int(h / 256) % 256, 1 + h % 254 }' \
  "$tmp/tokens.raw" >"$tmp/tokens.txt"
echo "== $ntokens distinct CAT tokens (HMAC 256/256, $(head -1 "$tmp/tokens.raw" | tr -d '\n' | wc -c) characters, exp in 24 h), each with its own viewer address"

# ---------------------------------------------------------------- nginx

nport=
mkdir -p "$tmp/nginx/tmp"
for _ in 1 2 3 4 5; do
  nport=$((20000 + RANDOM % 40000))
  cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $tmp/nginx/tmp/body;
  proxy_temp_path $tmp/nginx/tmp/proxy;
  fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
  uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
  scgi_temp_path $tmp/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$nport;
    location / { return 200; }
  }
}
EOF
  "${spin[@]}" "$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>>"$tmp/nginx/stderr" &
  npid=$!
  pids+=("$npid")
  wait_http "http://127.0.0.1:$nport/" "$npid" && break
  stop_pid "$npid"; forget_pid "$npid"; npid=
  grep -q 'Address already in use' "$tmp/nginx/error.log" "$tmp/nginx/stderr" 2>/dev/null || break
done
[[ -n ${npid:-} ]] || { echo "serve_bench: nginx did not start:" >&2; cat "$tmp/nginx/stderr" "$tmp/nginx/error.log" >&2 2>/dev/null; exit 1; }

workers=()
read -ra workers <"/proc/$npid/task/$npid/children" || true
srv=("$npid" "${workers[@]}")
measure nginx "$nport"
nginx_rss=0
for p in "${srv[@]}"; do
  nginx_rss=$((nginx_rss + $(awk '/^VmRSS:/ { print $2 }' /proc/"$p"/status 2>/dev/null || echo 0)))
done
stop_pid "$npid"; forget_pid "$npid"

# ---------------------------------------------------------------- warden

# The embedded default's catch-all policy, with the client address from X-Real-IP as nginx
# auth_request sends it from the same host; the geo data is found as by default. Sharing
# detection's rate signal is off: each of the tokens makes ~100 requests a second here, hundreds
# of times a player's rate, and would turn suspect and update a review case on every request.
{
  printf 'policies:\n  - {name: default}\ntrusted_proxies: [127.0.0.1]\nclient_ip_header: X-Real-IP\n'
  ((declog)) || echo 'decision_log: false'
  ((geo)) || echo 'geo: false'
  ((detect)) && echo 'detection: {rate_factor: 0}' || echo 'detection: false'
} >"$tmp/warden.yaml"
wargs=(serve --config "$tmp/warden.yaml" --threads 1 --listen 127.0.0.1:0 --data-dir "$tmp/warden-data"
  --mode automate --key "cat:hex:$key")
WARDEN_ADMIN_TOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n') \
  "${spin[@]}" "$warden" "${wargs[@]}" 2>"$tmp/warden.log" &
wpid=$!
pids+=("$wpid")
touch "$tmp/warden.log"
wport=
for ((i = 0; i < 100 && ${#wport} == 0; i++)); do
  kill -0 "$wpid" 2>/dev/null || break
  wport=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$tmp/warden.log" | head -1)
  [[ -n $wport ]] || sleep 0.1
done
{ [[ -n $wport ]] && wait_http "http://127.0.0.1:$wport/readyz" "$wpid"; } ||
  { echo "serve_bench: warden did not start:" >&2; cat "$tmp/warden.log" >&2; exit 1; }
rss_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/"$wpid"/status; }
rss_idle=$(rss_kb VmRSS)

# Every token must be allowed through both endpoints before anything is measured.
{
  while read -r tok ip; do
    printf 'url = "http://127.0.0.1:%s/v1/decide?token=%s&ip=%s&url=https://cdn.example.com/live/ch1/seg1.ts"\n' "$wport" "$tok" "$ip"
  done <"$tmp/tokens.txt"
} >"$tmp/curl-decide.cfg"
ok=$(fcurl -K "$tmp/curl-decide.cfg" | grep -c '"action":"allow"' || true)
[[ $ok == "$ntokens" ]] || { echo "serve_bench: /v1/decide allowed $ok of $ntokens tokens; first answer:" >&2; fcurl -K <(head -1 "$tmp/curl-decide.cfg") >&2; exit 1; }
{
  sep=
  while read -r tok ip; do
    printf '%surl = "http://127.0.0.1:%s/auth"\nmax-time = 5\nnoproxy = "*"\nheader = "X-Original-URI: /live/ch1/seg1.ts?cat=%s"\nheader = "X-Real-IP: %s"\no = /dev/null\nw = "%%{http_code} %%header{x-warden-action}\\n"\n' "$sep" "$wport" "$tok" "$ip"
    sep=$'next\n'
  done <"$tmp/tokens.txt"
} >"$tmp/curl-auth.cfg"
ok=$(fcurl -K "$tmp/curl-auth.cfg" | grep -c '^200 allow$' || true)
[[ $ok == "$ntokens" ]] || { echo "serve_bench: /auth allowed $ok of $ntokens tokens; first answer:" >&2; fcurl -i -K <(head -5 "$tmp/curl-auth.cfg") >&2; exit 1; }
echo "== every token allowed by /v1/decide and /auth (curl)"

# decisions other than a plain allow, from /metrics
not_allowed() {
  fcurl "http://127.0.0.1:$wport/metrics" |
    awk '/^warden_decisions_total\{/ && !/action="allow",reason="none"/ { n += $NF } END { print n + 0 }'
}
bad0=$(not_allowed)
srv=("$wpid")
measure auth "$wport"
measure decide "$wport"
bad=$(($(not_allowed) - bad0))
rss_end=$(rss_kb VmRSS) rss_peak=$(rss_kb VmHWM)
stop_pid "$wpid"; forget_pid "$wpid"

# ---------------------------------------------------------------- report

row() { # row TARGET KEY LABEL
  local t=$1 k=$2
  awk -v l="$3" -v a="${R[$t,$k,rps]}" -v b="${R[$t,$k,p50]}" -v c="${R[$t,$k,p99]}" -v d="${R[$t,$k,err]}" \
    -v e="${R[$t,$k,srv]}" -v f="${R[$t,$k,other]}" -v g="${R[$t,$k,wrk]}" -v h="${R[$t,$k,wother]}" \
    'BEGIN { printf "%-18s %9.0f %7.3f %7.3f %6d %5d%% %5d%% %5d%% %5d%% %7.1f\n", l, a, b / 1000, c / 1000, d, e, f, g, h, a ? e * 1e4 / a : 0 }'
}
table() { # table KEY TITLE
  echo
  echo "$2"
  printf '%-18s %9s %7s %7s %6s %6s %6s %6s %6s %7s\n' "" "req/s" "p50 ms" "p99 ms" "errors" "server" "+other" "wrk" "+other" "us/req"
  row nginx "$1" "nginx return 200"
  row auth "$1" "warden /auth"
  row decide "$1" "warden /v1/decide"
}
echo
echo "CPU in % of a core: the server and other work on its core, wrk and other work on its core;"
echo "us/req: the server's CPU time per request"
table max "Full speed, $conns connections"
table half "At half of nginx's full speed: $half req/s (wrk sends them in 1 ms batches of ~$((half / 1000)))"
for t in nginx auth decide; do
  ((R[$t,max,srv] >= 90)) ||
    echo "note: $t had ${R[$t,max,srv]}% of its core at full speed: its rate is bounded by wrk or by other work"
  ((R[$t,max,other] < 10 && R[$t,max,wother] < 10 && R[$t,half,other] < 10 && R[$t,half,wother] < 10)) ||
    echo "note: other work took 10% or more of a core during the $t runs: its figures are disturbed"
  ((R[$t,max,wrk] < 95)) ||
    echo "note: wrk used ${R[$t,max,wrk]}% of its core against $t: $t's full-speed rate may be wrk's"
done
echo
echo "== warden / nginx (goal: at least 0.5 of nginx's rate, p99 under 1 ms at half of it)"
echo "   (cpu: nginx's CPU time per request over warden's, at full speed: the rate ratio on an otherwise idle core)"
for t in auth decide; do
  awk -v t="$t" -v w="${R[$t,max,rps]}" -v n="${R[nginx,max,rps]}" -v ws="${R[$t,max,srv]}" -v ns="${R[nginx,max,srv]}" \
    -v p="${R[$t,half,p99]}" -v hr="${R[$t,half,rps]}" -v h="$half" \
    'BEGIN { printf "%-7s rate %5.2fx   cpu %5.2fx   p99 at half load %.3f ms (%.0f of %d req/s)\n",
             t, w / n, (ws > 0 && n > 0) ? (ns / n) / (ws / w) : 0, p / 1000, hr, h }'
done
echo
echo "== warden RSS: ${rss_idle} KiB idle, ${rss_end} KiB after the runs, ${rss_peak} KiB peak; nginx (master + worker): ${nginx_rss} KiB"
echo "== decision log $( ((declog)) && echo "on (every decision, the default)" || echo off); sharing detection $( ((detect)) && echo "on (rate signal off)" || echo off)"
echo "== geo data $(sed -n 's/^warden: geo data: //p' "$tmp/warden.log" | head -1 | grep . || echo none)"
echo "== decisions other than a plain allow during the runs: $bad"
