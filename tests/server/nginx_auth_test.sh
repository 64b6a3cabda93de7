#!/usr/bin/env bash
# Warden behind real nginx, configured from the shipped docs/nginx/warden.conf (only its ADAPT
# lines are rewritten: Warden's port, nginx's port, the root and the access log), serving the
# committed HLS fixture (tests/fixtures/hls). Asserted with curl against nginx:
#   a valid CAT gets the playlists and segments byte for byte; no token 401; a bad token 401; an
#   expired one the configured 410; a banned token the configured action: callout (slate bytes),
#   substitute (the /ads/ mirror tree), throttle (limit_rate: the transfer cannot finish in
#   time), redirect (302 and Location); an address ban through X-Real-IP that the viewer cannot
#   spoof; CAT renewal by header, by cookie and by redirect reaching the viewer, and none for a
#   banned token; monitor mode serves and logs what automate would have done; malformed input
#   does not disturb the next request; tokens stay out of the access log; Warden down: 500.
# Policies differ by host (Host: substitute.test, ...), so one URL tree tests every action.
# Skipped (77) when nginx is not installed.
source "$(dirname "$0")/common.sh"

NGINX=${WARDEN_NGINX:-/usr/sbin/nginx}
[[ -x $NGINX ]] || { echo "skip: nginx is not installed at $NGINX (scripts/deps.sh --test)"; exit 77; }
"$NGINX" -V 2>&1 | grep -q -- --with-http_auth_request_module ||
  { echo "skip: $NGINX lacks the auth_request module"; exit 77; }
SRC=${WARDEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
FIX=$SRC/tests/fixtures/hls
DOC=$SRC/docs/nginx/warden.conf
ngx=$tmp/nginx
NGINX_PID=
stop_nginx() {
  if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -TERM "$NGINX_PID" 2>/dev/null
    wait "$NGINX_PID" 2>/dev/null
  fi
  NGINX_PID=
}
trap 'stop_nginx; cleanup' EXIT

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ADMIN=nginx-test-admin-token-0123456789
NOW=$(date +%s)
SLATE=/slates/banned.m3u8
AWAY=https://example.com/not-for-you.m3u8
CKEY=00112233445566778899aabbccddeeff

cat >"$tmp/warden.yaml" <<EOF
listen: [127.0.0.1:0]
data_dir: $tmp/data
admin_token: $ADMIN
trusted_proxies: [127.0.0.1]
client_ip_header: X-Real-IP
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - name: live
    path_prefix: /live/
    mode: automate
    actions:
      banned: {action: callout, target: $SLATE}
      expired: {action: block, status: 410}
  - name: substitute
    host: substitute.test
    mode: automate
    actions: {banned: {action: substitute, target: /ads/}}
  - name: throttle
    host: throttle.test
    mode: automate
    actions: {banned: {action: throttle, rate: 1000}}
  - name: redirect
    host: redirect.test
    mode: automate
    actions: {banned: {action: redirect, target: '$AWAY'}}
  - name: monitor
    host: monitor.test
    mode: monitor
    actions: {banned: {action: callout, target: $SLATE}}
content_keys:
  - {id: ch1, path: /live/ch1/, value: $CKEY}
decision_log: false
EOF
start_server warden --config "$tmp/warden.yaml" || { bad "warden starts"; finish; }
ok "warden starts on 127.0.0.1:$PORT"
WPORT=$PORT

# --- nginx from the shipped configuration
mkdir -p "$ngx/temp"
cp "$DOC" "$ngx/warden.conf"
# adapt FROM TO: replace the ADAPT line FROM (a fixed string) of the shipped file; the line must
# be there, so the documentation cannot drift from what is tested.
adapt() {
  grep -qF -- "$1" "$ngx/warden.conf" || { bad "docs/nginx/warden.conf has the line '$1'"; finish; }
  awk -v a="$1" -v b="$2" '{ i = index($0, a); if (i) $0 = substr($0, 1, i - 1) b substr($0, i + length(a)); print }' \
    "$ngx/warden.conf" >"$ngx/warden.conf.new" && mv "$ngx/warden.conf.new" "$ngx/warden.conf"
}
adapt "server 127.0.0.1:8080;" "server 127.0.0.1:$WPORT;"
adapt "root /var/www/hls;" "root $FIX;"
adapt "access_log /var/log/nginx/warden-access.log warden;" "access_log $ngx/access.log warden;"
cp "$ngx/warden.conf" "$ngx/warden.conf.base"
write_conf() { # write_conf PORT
  local user_line=""
  [[ $(id -u) -ne 0 ]] || user_line="user root;" # workers that can read the temp directory
  sed "s|listen 80;|listen 127.0.0.1:$1;|" "$ngx/warden.conf.base" >"$ngx/warden.conf"
  cat >"$ngx/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $ngx/nginx.pid;
lock_file $ngx/nginx.lock;
error_log $ngx/error.log notice;
events { worker_connections 256; }
http {
  client_body_temp_path $ngx/temp/body;
  proxy_temp_path $ngx/temp/proxy;
  fastcgi_temp_path $ngx/temp/fastcgi;
  uwsgi_temp_path $ngx/temp/uwsgi;
  scgi_temp_path $ngx/temp/scgi;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  default_type application/octet-stream;
  include $ngx/warden.conf;
}
EOF
}
grep -qF "listen 80;" "$ngx/warden.conf.base" || { bad "docs/nginx/warden.conf has the line 'listen 80;'"; finish; }
NPORT=
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi # in use
  write_conf "$port"
  if ! "$NGINX" -t -q -p "$ngx/" -c "$ngx/nginx.conf" -e "$ngx/error.log" 2>"$ngx/test.err"; then
    bad "nginx accepts the configuration: $(head -c 800 "$ngx/test.err")"
    finish
  fi
  timeout -s KILL 120 "$NGINX" -p "$ngx/" -c "$ngx/nginx.conf" -e "$ngx/error.log" -g 'daemon off;' \
    >"$ngx/stdout.log" 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/slates/banned0.ts" 2>/dev/null)
    [[ $code == 000 || -z $code ]] || break
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$NGINX_PID" 2>/dev/null && [[ $code != 000 && -n $code ]]; then
    NPORT=$port
    break
  fi
  stop_nginx
done
[[ -n $NPORT ]] || { bad "nginx starts: $(tail -c 800 "$ngx/error.log" 2>/dev/null)"; finish; }
ok "nginx runs docs/nginx/warden.conf on 127.0.0.1:$NPORT"
NGX=http://127.0.0.1:$NPORT

# get HOST PATH [curl args...]: CODE, body in $tmp/got, headers in $tmp/hdr
get() {
  local host=$1 path=$2
  shift 2
  CODE=$(curl -s --max-time 5 -o "$tmp/got" -D "$tmp/hdr" -w '%{http_code}' -H "Host: $host" \
    "$@" "$NGX$path")
}
hdr() { grep -i "^$1:" "$tmp/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
same_as() { cmp -s "$tmp/got" "$FIX/$1"; }
# serves DESC FIXTURE_FILE: 200 and the fixture's bytes
serves() {
  if [[ $CODE == 200 ]] && same_as "$2"; then ok "$1"; else bad "$1 (http $CODE, $(wc -c <"$tmp/got") bytes, want $2)"; fi
}
# log_line PATTERN: the access-log line for the last request matching PATTERN (nginx writes it
# when the request ends, just after curl has its answer).
log_line() {
  local i line
  for i in $(seq 60); do
    line=$(grep -- "$1" "$ngx/access.log" 2>/dev/null | tail -1)
    [[ -z $line ]] || break
    sleep 0.05
  done
  echo "$line"
}
cat_token() { # cat_token CLAIMS [issue args...]
  local claims=$1
  shift
  "$W" token issue --scheme cat --key-hex $KEY --claims "$claims" "$@"
}
ban() { # ban JSON: POST /v1/bans with the admin token
  local code
  code=$(curl -s -o "$tmp/ban.out" -w '%{http_code}' -X POST "http://127.0.0.1:$WPORT/v1/bans" \
    -H "Authorization: Bearer $ADMIN" -d "$1")
  [[ $code == 201 ]] && ok "ban $1" || bad "ban $1: $code $(cat "$tmp/ban.out")"
}
H=cdn.example.com

GOOD=$(cat_token '{"cti":"600d0001","sub":"alice"}' --ttl 600)
BANNED=$(cat_token '{"cti":"ba000001","sub":"mallory"}' --ttl 600)
EXPIRED=$(cat_token '{"cti":"e0000001"}' --now $((NOW - 7200)) --ttl 60)
RENEW_H=$(cat_token '{"cti":"7e000001","catr":{"type":"header","expadd":120,"deadline":900}}' --ttl 600)
RENEW_C=$(cat_token '{"cti":"7e000002","catr":{"type":"cookie","expadd":120,"deadline":900}}' --ttl 600)
RENEW_Q=$(cat_token '{"cti":"7e000003","catr":{"type":"automatic","expadd":120,"deadline":900}}' --ttl 600)
BANNED_R=$(cat_token '{"cti":"ba000002","catr":{"type":"header","expadd":120,"deadline":900}}' --ttl 600)
[[ -n $GOOD && -n $BANNED && -n $EXPIRED && -n $RENEW_H && -n $RENEW_C && -n $RENEW_Q && -n $BANNED_R ]] ||
  { bad "warden token issue makes the test tokens"; finish; }

# --- a valid token: the channel, byte for byte, wherever the token is
get $H "/live/ch1/master.m3u8?cat=$GOOD"
serves "valid CAT in the query: the master playlist" live/ch1/master.m3u8
[[ $(hdr Content-Type) == application/vnd.apple.mpegurl* ]] && ok "playlist content type" || bad "playlist content type: $(hdr Content-Type)"
for f in v0/index.m3u8 v0/seg0.ts v0/seg2.ts v1/index.m3u8 v1/seg1.ts; do
  get $H "/live/ch1/$f?cat=$GOOD"
  serves "valid CAT: live/ch1/$f" "live/ch1/$f"
done
get $H /live/ch1/v1/seg0.ts -H "CTA-Common-Access-Token: $GOOD"
serves "valid CAT in a header: a segment" live/ch1/v1/seg0.ts
get $H /live/ch1/v0/seg1.ts -H "Cookie: lang=sv; CTA-Common-Access-Token=$GOOD"
serves "valid CAT in a cookie: a segment" live/ch1/v0/seg1.ts
grep -i '^x-warden' "$tmp/hdr" >/dev/null && bad "no X-Warden-* header reaches the viewer" || ok "no X-Warden-* header reaches the viewer"
[[ -z $(hdr CTA-Common-Access-Token) && -z $(hdr Set-Cookie) ]] && ok "no renewal headers without catr" || bad "no renewal headers without catr: $(cat "$tmp/hdr")"
line=$(log_line '"GET /live/ch1/v0/seg1.ts" 200')
[[ $line == *"action=allow enforced=allow"*"token=600d0001"* ]] && ok "access log: action, enforced, token id" || bad "access log: $line"

# --- denied
get $H /live/ch1/master.m3u8
[[ $CODE == 401 ]] && ok "no token: 401" || bad "no token: $CODE"
line=$(log_line '"GET /live/ch1/master.m3u8" 401')
[[ $line == *"action=block"*"reason=no_token"* ]] && ok "access log: no_token" || bad "access log for no token: $line"
get $H "/live/ch1/master.m3u8?cat=${GOOD%??????}AAAAAA"
[[ $CODE == 401 ]] && ok "tampered token: 401" || bad "tampered token: $CODE"
get $H "/live/ch1/master.m3u8?cat=$EXPIRED"
[[ $CODE == 410 ]] && ok "expired token: 410 as the policy configures" || bad "expired token: $CODE (want 410)"
get $H /live/ch1/master.m3u8 -H "X-Original-URI: /slates/banned.m3u8" -H "X-Warden-Action: allow"
[[ $CODE == 401 ]] && ok "X-Original-URI / X-Warden-* from the viewer change nothing: 401" || bad "viewer-supplied X-Original-URI: $CODE"
get $H /_warden
[[ $CODE == 404 ]] && ok "the auth location is internal: 404" || bad "/_warden from outside: $CODE"
get $H /ads/live/ch1/master.m3u8
[[ $CODE != 200 ]] && ok "alternate assets are not open without a token ($CODE)" || bad "/ads/ without a token: 200"
get $H /slates/banned0.ts
serves "slates are public" slates/banned0.ts

# --- bans: the policy's action, carried out by nginx
ban '{"type":"token","value":"ba000001","ttl":600,"reason":"restreamed"}'
ban '{"type":"token","value":"ba000002","ttl":600,"reason":"restreamed"}'
get $H "/live/ch1/master.m3u8?cat=$BANNED"
serves "banned, callout: the slate playlist instead of the master" slates/banned.m3u8
get $H "/live/ch1/v1/seg2.ts?cat=$BANNED"
serves "banned, callout: the slate (a file target) for a segment too" slates/banned.m3u8
line=$(log_line '"GET /live/ch1/v1/seg2.ts" 200')
[[ $line == *"action=callout"*"reason=banned"*"token=ba000001"* ]] && ok "access log: callout, banned" || bad "access log for callout: $line"
get substitute.test "/live/ch1/master.m3u8?cat=$BANNED"
serves "banned, substitute: the /ads/ mirror's master" ads/live/ch1/master.m3u8
get substitute.test "/live/ch1/v1/index.m3u8?cat=$BANNED"
serves "banned, substitute: the /ads/ mirror's media playlist" ads/live/ch1/v1/index.m3u8
get substitute.test "/live/ch1/v1/seg1.ts?cat=$BANNED"
serves "banned, substitute: the /ads/ mirror's segment" ads/live/ch1/v1/seg1.ts
get substitute.test "/live/ch1/v1/seg1.ts?cat=$GOOD"
serves "not banned on the same host: the original segment" live/ch1/v1/seg1.ts
get redirect.test "/live/ch1/master.m3u8?cat=$BANNED"
[[ $CODE == 302 && $(hdr Location) == "$AWAY" ]] && ok "banned, redirect: 302 to the target" || bad "banned, redirect: $CODE $(hdr Location)"
# throttle: 1000 bytes/s cannot deliver a 13 KB segment within 1.5 s; the same segment unthrottled
# can (a one-sided bound: a slow machine only makes the throttled transfer shorter).
SEG=live/ch1/v1/seg1.ts
SIZE=$(wc -c <"$FIX/$SEG")
get throttle.test "/$SEG?cat=$GOOD"
serves "throttle host, token not banned: the whole segment" $SEG
CODE=$(curl -s --max-time 1.5 -o "$tmp/got" -w '%{http_code}' -H "Host: throttle.test" "$NGX/$SEG?cat=$BANNED")
GOT=$(wc -c <"$tmp/got")
if [[ $CODE == 200 && $GOT -lt $SIZE && $GOT -le 4000 ]] && cmp -s -n "$GOT" "$tmp/got" "$FIX/$SEG"; then
  ok "banned, throttle: limit_rate holds the transfer to $GOT of $SIZE bytes in 1.5 s"
else
  bad "banned, throttle: http $CODE, $GOT of $SIZE bytes in 1.5 s"
fi
line=$(log_line '"GET /live/ch1/v1/seg1.ts" [0-9]* [0-9]* action=throttle')
[[ $line == *"reason=banned"* ]] && ok "access log: throttle" || bad "access log for throttle: $line"

# --- an address ban: the client address is nginx's $remote_addr, not what the viewer claims
if curl -s -o /dev/null --max-time 2 --interface 127.0.0.2 "$NGX/slates/banned0.ts"; then
  ban '{"type":"ip","value":"127.0.0.2","ttl":600,"reason":"abuse"}'
  get $H "/live/ch1/master.m3u8?cat=$GOOD" --interface 127.0.0.2 -H "X-Real-IP: 198.51.100.1" -H "X-Forwarded-For: 198.51.100.1"
  serves "address ban through X-Real-IP: callout, a spoofed X-Real-IP does not help" slates/banned.m3u8
  get $H "/live/ch1/master.m3u8?cat=$GOOD"
  serves "another address: served" live/ch1/master.m3u8
else
  ok "# skip address ban: cannot bind 127.0.0.2"
fi

# --- CAT renewal through nginx to the viewer
get $H /live/ch1/master.m3u8 -H "CTA-Common-Access-Token: $RENEW_H"
serves "renewal by header: the content is served" live/ch1/master.m3u8
NEW=$(hdr CTA-Common-Access-Token)
if [[ -n $NEW && $NEW != "$RENEW_H" ]] && "$W" token verify --scheme cat --key-hex $KEY "$NEW" >"$tmp/v.out" 2>&1 &&
  grep -q '"expadd"' "$tmp/v.out"; then
  ok "renewal by header: CTA-Common-Access-Token carries a new valid CAT with its catr"
else
  bad "renewal by header: '$NEW' $(head -c 300 "$tmp/v.out" 2>/dev/null)"
fi
[[ $(hdr Access-Control-Expose-Headers) == CTA-Common-Access-Token ]] && ok "renewal by header: CORS exposes it" || bad "renewal: Access-Control-Expose-Headers '$(hdr Access-Control-Expose-Headers)'"
get $H /live/ch1/v0/seg0.ts -H "Cookie: CTA-Common-Access-Token=$RENEW_C"
serves "renewal by cookie: the segment is served" live/ch1/v0/seg0.ts
COOKIE=$(hdr Set-Cookie)
NEW=${COOKIE#*=}
NEW=${NEW%%;*}
if [[ ${COOKIE,,} == cta-common-access-token=* && -n $NEW && $NEW != "$RENEW_C" ]] &&
  "$W" token verify --scheme cat --key-hex $KEY "$NEW" >"$tmp/v.out" 2>&1; then
  ok "renewal by cookie: Set-Cookie carries a new valid CAT"
else
  bad "renewal by cookie: Set-Cookie '$COOKIE' $(head -c 300 "$tmp/v.out" 2>/dev/null)"
fi
[[ -z $(hdr CTA-Common-Access-Token) ]] && ok "renewal by cookie: no header" || bad "renewal by cookie sent a header too"
get $H "/live/ch1/v0/index.m3u8?cat=$RENEW_Q"
LOC=$(hdr Location)
NEW=${LOC##*cat=}
if [[ $CODE == 302 && $LOC == */live/ch1/v0/index.m3u8\?cat=* && $NEW != "$RENEW_Q" ]] &&
  "$W" token verify --scheme cat --key-hex $KEY "$NEW" >/dev/null 2>&1; then
  ok "renewal of a query token: 302 to the same URL with a new valid CAT"
else
  bad "renewal of a query token: $CODE Location '$LOC'"
fi
get $H /live/ch1/master.m3u8 -H "CTA-Common-Access-Token: $BANNED_R"
serves "banned token with catr: callout" slates/banned.m3u8
[[ -z $(hdr CTA-Common-Access-Token) && -z $(hdr Set-Cookie) ]] && ok "banned token with catr: no renewal" || bad "banned token was renewed: $(cat "$tmp/hdr")"

# --- monitor mode: served, and the log says what automate would have done
get monitor.test "/live/ch1/v0/index.m3u8?cat=$BANNED"
serves "monitor mode: a banned token is served the content" live/ch1/v0/index.m3u8
line=$(log_line '"GET /live/ch1/v0/index.m3u8" 200 .*token=ba000001')
[[ $line == *"action=allow enforced=callout reason=banned"* ]] && ok "monitor mode: the log has enforced=callout (X-Warden-Enforced)" || bad "monitor mode log: $line"
grep -i '^x-warden' "$tmp/hdr" >/dev/null && bad "monitor mode: nothing tells the viewer" || ok "monitor mode: nothing tells the viewer"

# --- the content key through /keys/ (docs/keys.md): only for a token that passes the decision
is_key() { [[ $CODE == 200 && $(xxd -p "$tmp/got" | tr -d '\n') == "$CKEY" ]]; }
get $H "/keys/ch1?cat=$GOOD"
is_key && ok "key: a valid CAT in the query gets the 16 key bytes" || bad "key with a valid CAT: $CODE"
[[ $(hdr Cache-Control) == no-store ]] && ok "key: Cache-Control no-store reaches the viewer" || bad "key Cache-Control: $(hdr Cache-Control)"
get $H /keys/ch1 -H "Cookie: CTA-Common-Access-Token=$GOOD"
is_key && ok "key: a CAT in a cookie" || bad "key with a cookie: $CODE"
get $H /keys/ch1
[[ $CODE == 401 ]] && ! is_key && ok "key: no token, 401" || bad "key without a token: $CODE"
get $H "/keys/ch1?cat=$BANNED"
[[ $CODE == 403 ]] && ok "key: a banned token, 403 and no key" || bad "key for a banned token: $CODE"
get $H "/keys/ch1?cat=$GOOD" -X POST
[[ $CODE == 403 ]] && ok "key: POST refused" || bad "key POST: $CODE"
get $H "/keys/ch1?cat=$GOOD" -H "X-Real-IP: 127.0.0.2" --interface 127.0.0.1
is_key && ok "key: a viewer's X-Real-IP is replaced by nginx" || bad "key with a spoofed X-Real-IP: $CODE"
get monitor.test "/keys/ch1?cat=$BANNED"
is_key && ok "key: monitor mode (the viewer's host picks the policy) serves a banned token" || bad "key in monitor mode: $CODE"

# --- malformed input, then a good request on the same keep-alive upstream connections
get $H "/live/ch1/master.m3u8?cat=%ZZ%00%ff"
[[ $CODE == 401 ]] && ok "a token of bad escapes: 401" || bad "bad escapes: $CODE"
get $H /live/ch1/master.m3u8 -H "CTA-Common-Access-Token: $(head -c 7000 /dev/zero | tr '\0' A)"
[[ $CODE == 401 ]] && ok "a 7000-byte token header: 401" || bad "a 7000-byte token header: $CODE"
get $H /live/ch1/master.m3u8 -H "Cookie: $(for i in $(seq 300); do printf 'c%d=%d; ' "$i" "$i"; done)"
[[ $CODE == 401 ]] && ok "300 cookies and no token: 401" || bad "300 cookies: $CODE"
get $H "/live/ch1/master.m3u8?cat=$GOOD&cat=$BANNED"
[[ $CODE == 200 || $CODE == 401 || $CODE == 403 ]] && ok "two tokens in the query: a decision ($CODE)" || bad "two tokens: $CODE"
get $H "/live/ch1/master.m3u8?cat=$GOOD"
serves "the next good request is served" live/ch1/master.m3u8

grep -qF "$GOOD" "$ngx/access.log" && bad "tokens stay out of the access log" || ok "tokens stay out of the access log"
if grep -E '\[(alert|crit|emerg)\]' "$ngx/error.log" >/dev/null; then
  bad "nginx error log has no alert: $(grep -E '\[(alert|crit|emerg)\]' "$ngx/error.log" | head -3)"
else
  ok "nginx error log has no alert"
fi

# --- Warden down: nginx fails closed
stop_server
check "warden stops cleanly" test $? -eq 0
get $H "/live/ch1/master.m3u8?cat=$GOOD"
[[ $CODE == 500 ]] && ok "warden unreachable: 500 (fail closed)" || bad "warden unreachable: $CODE"

kill -TERM "$NGINX_PID" 2>/dev/null
wait "$NGINX_PID"
rc=$?
NGINX_PID=
check "nginx stops on SIGTERM" test $rc -eq 0
finish
