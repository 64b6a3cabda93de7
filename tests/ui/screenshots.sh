#!/usr/bin/env bash
# Makes the screenshots in docs/console/ (referenced by docs/console.md and the README): starts
# `warden serve` with three console users and two policies, feeds it a simulated live event
# (`warden sim --live`), gives a few verdicts and bans as a moderator would, then photographs the
# sign-in, overview, cases, ban list, policies and audit screens in headless Chromium.
#   tests/ui/screenshots.sh [BUILD_DIR] [OUTDIR]      (defaults: build, docs/console)
# About two minutes; needs what scripts/deps.sh --test installs.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
out=$(mkdir -p "${2:-$root/docs/console}" && cd "${2:-$root/docs/console}" && pwd)
W=$build/warden
tmp=$(mktemp -d)
SERVER_PID= SIM_PID=
cleanup() {
  [[ -z $SIM_PID ]] || kill -TERM "$SIM_PID" 2>/dev/null || true
  [[ -z $SERVER_PID ]] || kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
hash() { echo "$1" | "$W" passwd --kdf pbkdf2; }
cat >"$tmp/warden.yaml" <<YAML
listen: [127.0.0.1:0]
data_dir: $tmp/data
admin_token: screenshots-admin-token-0123
trusted_proxies: [127.0.0.1]
client_ip_header: X-Real-IP
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - name: live
    path_prefix: /live/
    mode: moderate
    actions:
      banned: {action: callout, target: /slates/banned.m3u8}
      shared: {action: substitute, target: /slates/shared.m3u8}
  - {name: vod, path_prefix: /vod/, mode: monitor}
  - {name: sports, host: "*.sports.example.com", mode: automate}
detection:            # the event runs 4 times faster than real time (--speed 4)
  window: 15
  segment_seconds: 1
console:
  users:
    - {name: alice, role: admin, password_hash: "$(hash alice-pass-1)"}
    - {name: maria, role: moderator, password_hash: "$(hash maria-pass-2)"}
    - {name: victor, role: viewer, password_hash: "$(hash victor-pass-3)"}
YAML
"$W" serve --config "$tmp/warden.yaml" 2>"$tmp/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/serve.err" | grep -o '[0-9]*$' || true)
  [[ -n $PORT ]] && curl -s -o /dev/null "http://127.0.0.1:$PORT/readyz" && break
  sleep 0.1
done
base=http://127.0.0.1:$PORT
echo "screenshots: warden serve on $base"
"$W" sim --out "$tmp/sim" --live "$base" --speed 4 --duration 2400 --audience 600 --shared 0.08 --seed 11 \
  --key "cat:hex:$KEY" >"$tmp/sim.out" 2>&1 &
SIM_PID=$!

# a moderator at work, through the same API the console uses
curl -s -o /dev/null -c "$tmp/jar" -X POST "$base/ui/login" -H 'Content-Type: application/json' \
  -d '{"user":"maria","password":"maria-pass-2"}'
CSRF=$(curl -s -b "$tmp/jar" "$base/ui/session" | jq -r .csrf)
api() { curl -s -b "$tmp/jar" -H "X-CSRF-Token: $CSRF" -X "$1" "$base$2" ${3:+-d "$3"}; }
sleep 35
cases() { curl -s -b "$tmp/jar" "$base/v1/cases?status=open&limit=200"; }
shared=$(cases | jq -r '[.cases[] | select(.reasons | index("shared"))] | sort_by(-.hits) | .[].id')
n=0
for id in $shared; do
  n=$((n + 1))
  case $n in
    2) api POST "/v1/cases/$id/verdict" '{"verdict":"ban","note":"restreamed on a forum"}' >/dev/null ;;
    4) api POST "/v1/cases/$id/verdict" '{"verdict":"escalate","note":"subscriber of the enterprise plan"}' >/dev/null ;;
  esac
done
suspect=$(cases | jq -r '[.cases[] | select(.reasons | length == 0)] | .[0:2] | .[].id')
for id in $suspect; do api POST "/v1/cases/$id/verdict" '{"verdict":"allow","scope":"subject","note":"household on a mobile carrier"}' >/dev/null; done
api POST /v1/bans '{"type":"cidr","value":"203.0.113.0/24","ttl":604800,"reason":"restream farm reported by the rights holder"}' >/dev/null
api POST /v1/bans '{"type":"subject","value":"viewer-000317","ttl":2592000,"reason":"account resold on a marketplace"}' >/dev/null
api POST /v1/bans '{"type":"ip","value":"198.51.100.23","ttl":86400,"reason":"credential stuffing against the token API"}' >/dev/null
sleep 45
# the case of the token with the widest spread, for the cases screen
top=$(curl -s -b "$tmp/jar" "$base/v1/stats" | jq -r '.top_tokens[].token_id')
all=$(curl -s -b "$tmp/jar" "$base/v1/cases?status=open,escalated&limit=500")
CASE=
for t in $top; do
  CASE=$(jq -r --arg t "$t" '[.cases[] | select(.key == $t)][0].id // empty' <<<"$all")
  [[ -n $CASE ]] && break
done
[[ -n $CASE ]] || CASE=$(echo "$shared" | head -1)
echo "screenshots: case $CASE, writing $out"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium} node "$root/tests/ui/screenshots.mjs" "$base" "$out" alice:alice-pass-1 "$CASE"
ls -l "$out"
