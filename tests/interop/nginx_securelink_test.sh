#!/usr/bin/env bash
# Warden's md5 secure links against the real thing: Debian's nginx with ngx_http_secure_link.
#
# nginx runs as the current user on a free 127.0.0.1 port, everything in a temp dir, with
#   /s/  secure_link $arg_md5,$arg_expires; secure_link_md5 "$secure_link_expires$uri$remote_addr secret"
#   /g/  the same without the address (Gcore's plain template)
# answering 200 when $secure_link is "1", 410 when "0" (hash right, expired) and 403 when ""
# (wrong or malformed). For a table of requests (valid, wrong secret, expired, tampered path or
# expires, another address, missing or empty md5, missing expires, padding, '+' and '/', too long,
# how the query is read, percent-encoded and dot-segment paths) curl (bound to 127.0.0.1) asks
# nginx, and Warden verifies the same URL for the same address and time: valid <-> 200,
# expired <-> 410, invalid <-> 403.
# Then URLs Warden issues are requested from nginx.
set -euo pipefail
source "$(dirname "$0")/common.sh"

NGINX=${WARDEN_NGINX:-/usr/sbin/nginx}
[[ -x $NGINX ]] || die "nginx is not installed at $NGINX (Debian: apt-get install nginx-light)"
command -v curl >/dev/null 2>&1 || die "curl is not installed"
command -v openssl >/dev/null 2>&1 || die "openssl is not installed"
"$NGINX" -V 2>&1 | grep -q -- --with-http_secure_link_module || die "$NGINX lacks the secure_link module"

SECRET=secret
# shellcheck disable=SC2016 # Warden's template variables, not the shell's
TPL_IP='$expires$uri$remote_addr $secret'
# shellcheck disable=SC2016
TPL_PLAIN='$expires$uri $secret'
ngx=$tmp/nginx
mkdir -p "$ngx/temp"

write_conf() {
  local port=$1 user_line=""
  [[ $(id -u) -ne 0 ]] || user_line="user root;"
  cat >"$ngx/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $ngx/nginx.pid;
lock_file $ngx/nginx.lock;
error_log $ngx/error.log info;
events { worker_connections 64; }
http {
  access_log $ngx/access.log;
  client_body_temp_path $ngx/temp/body;
  proxy_temp_path $ngx/temp/proxy;
  fastcgi_temp_path $ngx/temp/fastcgi;
  uwsgi_temp_path $ngx/temp/uwsgi;
  scgi_temp_path $ngx/temp/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$port;
    location /s/ {
      secure_link \$arg_md5,\$arg_expires;
      secure_link_md5 "\$secure_link_expires\$uri\$remote_addr $SECRET";
      if (\$secure_link = "") { return 403; }
      if (\$secure_link = "0") { return 410; }
      return 200 "valid\n";
    }
    location /g/ {
      secure_link \$arg_md5,\$arg_expires;
      secure_link_md5 "\$secure_link_expires\$uri $SECRET";
      if (\$secure_link = "") { return 403; }
      if (\$secure_link = "0") { return 410; }
      return 200 "valid\n";
    }
  }
}
EOF
}

# Start nginx on a free port (a few tries: another process may take the port first).
PORT=""
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi # in use
  write_conf "$port"
  "$NGINX" -t -q -p "$ngx/" -c "$ngx/nginx.conf" -e "$ngx/error.log" 2>"$ngx/test.err" ||
    die "nginx rejects its configuration: $(head -c 500 "$ngx/test.err" "$ngx/error.log" 2>/dev/null)"
  timeout 280 "$NGINX" -p "$ngx/" -c "$ngx/nginx.conf" -e "$ngx/error.log" -g 'daemon off;' \
    >"$ngx/stdout.log" 2>&1 &
  pid=$!
  STOP_PIDS+=("$pid")
  for _ in $(seq 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null || true)
    [[ $code == 000 || -z $code ]] || break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null && [[ $code != 000 && -n $code ]]; then
    PORT=$port
    break
  fi
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
[[ -n $PORT ]] || die "nginx did not start: $(tail -c 500 "$ngx/error.log" 2>/dev/null)"
ok "nginx listens on 127.0.0.1:$PORT"
BASEURL=http://127.0.0.1:$PORT

NOW=$(date +%s)
FUT=$((NOW + 3600))
PAST=$((NOW - 3600))

# md5b64 STRING: nginx's token, base64url of the MD5 without padding.
md5b64() { printf '%s' "$1" | openssl md5 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# nginx_status PATH_AND_QUERY: the status nginx answers curl from 127.0.0.1.
nginx_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 --interface 127.0.0.1 --path-as-is -g "$BASEURL$1" || echo 000
}
# warden_status TEMPLATE PATH_AND_QUERY [IP]: Warden's verdict as a status: valid 200, expired 410,
# other failures 403 (anything else: "exit N").
warden_status() {
  run_w token verify --scheme securelink --secret "$SECRET" --template "$1" --url "$BASEURL$2" \
    --ip "${3:-127.0.0.1}" --now "$NOW"
  case $RC in
    0) echo 200 ;;
    1) if grep -qi expired "$tmp/err"; then echo 410; else echo 403; fi ;;
    *) echo "exit $RC" ;;
  esac
}

# compare DESC LOCATION PATH_AND_QUERY WANT_NGINX [WARDEN_IP]: nginx must answer WANT_NGINX (the
# case tests what it says) and Warden must agree with nginx. A rejection counts only once Warden
# accepted a valid link of that location (baseline "LOCATION-valid").
compare() {
  local desc=$1 loc=$2 pq=$3 want=$4 ip=${5:-127.0.0.1} tpl got_n got_w
  [[ $loc == s ]] && tpl=$TPL_IP || tpl=$TPL_PLAIN
  got_n=$(nginx_status "$pq")
  if [[ $got_n != "$want" ]]; then
    bad "$desc: nginx answers $got_n, the case expects $want ($pq)"
    return 0
  fi
  if [[ $want != 200 && -z ${BASE[$loc-valid]:-} ]]; then
    bad "$desc (not run: Warden did not accept a valid link for /$loc/)"
    return 0
  fi
  got_w=$(warden_status "$tpl" "$pq" "$ip")
  if [[ $got_w != "$got_n" ]]; then
    bad "$desc: nginx $got_n, Warden $got_w ($(head -c 200 "$tmp/err" | tr '\n' ' ')) for $pq"
  else
    ok "$desc: nginx and Warden both $got_n"
    [[ $want != 200 ]] || BASE[$loc-valid]=1
  fi
}

ip=127.0.0.1
h=$(md5b64 "$FUT/s/a.ts$ip $SECRET")
compare "valid" s "/s/a.ts?md5=$h&expires=$FUT" 200
compare "valid, parameters swapped" s "/s/a.ts?expires=$FUT&md5=$h" 200
compare "wrong secret" s "/s/a.ts?md5=$(md5b64 "$FUT/s/a.ts$ip wrong")&expires=$FUT" 403
he=$(md5b64 "$PAST/s/a.ts$ip $SECRET")
compare "expired" s "/s/a.ts?md5=$he&expires=$PAST" 410
compare "expired, expires moved to the future" s "/s/a.ts?md5=$he&expires=$FUT" 403
compare "tampered path" s "/s/b.ts?md5=$h&expires=$FUT" 403
compare "tampered expires" s "/s/a.ts?md5=$h&expires=$((FUT + 1))" 403
compare "another address (token for 127.0.0.2)" s "/s/a.ts?md5=$(md5b64 "$FUT/s/a.ts127.0.0.2 $SECRET")&expires=$FUT" 403
compare "missing md5" s "/s/a.ts?expires=$FUT" 403
compare "empty md5" s "/s/a.ts?md5=&expires=$FUT" 403
compare "missing expires (comma form requires it)" s "/s/a.ts?md5=$(md5b64 "/s/a.ts$ip $SECRET")" 403
compare "expires 0" s "/s/a.ts?md5=$(md5b64 "0/s/a.ts$ip $SECRET")&expires=0" 403
compare "expires not a number" s "/s/a.ts?md5=$(md5b64 "12ab/s/a.ts$ip $SECRET")&expires=12ab" 403
compare "padding =" s "/s/a.ts?md5=$h=&expires=$FUT" 200
compare "padding ==" s "/s/a.ts?md5=$h==&expires=$FUT" 200
compare "padding === (25 characters)" s "/s/a.ts?md5=$h===&expires=$FUT" 403
compare "= then a stray character (24 characters, decoding stops at =)" s "/s/a.ts?md5=$h=A&expires=$FUT" 200
compare "too long (26 characters)" s "/s/a.ts?md5=${h}AAAA&expires=$FUT" 403
compare "24 characters of base64url (18 bytes)" s "/s/a.ts?md5=${h}AA&expires=$FUT" 403
compare "truncated (21 characters)" s "/s/a.ts?md5=${h:0:21}&expires=$FUT" 403

# A token whose base64url has '-' or '_': valid as is, invalid with '+' or '/' (standard base64).
found=""
for i in $(seq 0 400); do
  e=$((FUT + i))
  hh=$(md5b64 "$e/s/c.ts$ip $SECRET")
  if [[ $hh == *[-_]* ]]; then
    found=$e
    break
  fi
done
if [[ -n $found ]]; then
  compare "token with - or _" s "/s/c.ts?md5=$hh&expires=$found" 200
  compare "the same token with + and /" s "/s/c.ts?md5=$(tr -- '-_' '+/' <<<"$hh")&expires=$found" 403
else
  bad "no token with - or _ found in 400 tries"
fi

# Query details: nginx reads $arg_* raw (no percent-decoding), takes the first of repeated
# parameters, matches parameter names case-insensitively, and signs expires as written.
compare "md5 with a percent-encoded character" s "/s/a.ts?md5=${h:0:5}%$(printf '%02X' "'${h:5:1}")${h:6}&expires=$FUT" 403
compare "md5 repeated, the first one valid" s "/s/a.ts?md5=$h&md5=AAAAAAAAAAAAAAAAAAAAAA&expires=$FUT" 200
compare "md5 repeated, the first one invalid" s "/s/a.ts?md5=AAAAAAAAAAAAAAAAAAAAAA&md5=$h&expires=$FUT" 403
compare "upper-case parameter names (MD5=, EXPIRES=)" s "/s/a.ts?MD5=$h&EXPIRES=$FUT" 200
compare "expires with leading zeros, signed as written" s "/s/a.ts?md5=$(md5b64 "00$FUT/s/a.ts$ip $SECRET")&expires=00$FUT" 200
compare "expires with leading zeros, signed without them" s "/s/a.ts?md5=$h&expires=00$FUT" 403
compare "expires with a plus sign" s "/s/a.ts?md5=$(md5b64 "+$FUT/s/a.ts$ip $SECRET")&expires=+$FUT" 403
compare "double slash in the path (merged)" s "/s//a.ts?md5=$h&expires=$FUT" 200
compare "encoded slash in the path" s "/s%2Fa.ts?md5=$(md5b64 "$FUT/s/a.ts$ip $SECRET")&expires=$FUT" 200
compare "encoded question mark in the path" s "/s/a%3Fb.ts?md5=$(md5b64 "$FUT/s/a?b.ts$ip $SECRET")&expires=$FUT" 200

# nginx checks the decoded, normalised $uri.
compare "percent-encoded path" s "/s/a%20b.ts?md5=$(md5b64 "$FUT/s/a b.ts$ip $SECRET")&expires=$FUT" 200
compare "dot segments in the path" s "/s/x/../a.ts?md5=$h&expires=$FUT" 200
compare "a token for the encoded form of the path" s "/s/a%20b.ts?md5=$(md5b64 "$FUT/s/a%20b.ts$ip $SECRET")&expires=$FUT" 403

# Gcore's plain template: no address in the string.
hg=$(md5b64 "$FUT/g/v.m3u8 $SECRET")
compare "gcore: valid" g "/g/v.m3u8?md5=$hg&expires=$FUT" 200
compare "gcore: valid from any address" g "/g/v.m3u8?md5=$hg&expires=$FUT" 200 203.0.113.9
compare "gcore: expired" g "/g/v.m3u8?md5=$(md5b64 "$PAST/g/v.m3u8 $SECRET")&expires=$PAST" 410
compare "gcore: tampered path" g "/g/w.m3u8?md5=$hg&expires=$FUT" 403
compare "gcore: wrong secret" g "/g/v.m3u8?md5=$(md5b64 "$FUT/g/v.m3u8 wrong")&expires=$FUT" 403
compare "gcore: token with the address in it" g "/g/v.m3u8?md5=$(md5b64 "$FUT/g/v.m3u8$ip $SECRET")&expires=$FUT" 403

# Warden issues, nginx answers. Warden prints the signed URL.
# issued DESC WANT ISSUE_ARGS...
issued() {
  local desc=$1 want=$2 url got
  shift 2
  if ! url=$(w token issue --scheme securelink --secret "$SECRET" "$@" 2>"$tmp/err"); then
    bad "$desc: Warden issues: $(head -c 300 "$tmp/err")"
    return 0
  fi
  if [[ $url != "$BASEURL"/* ]]; then
    bad "$desc: Warden printed '$url', not a URL on $BASEURL"
    return 0
  fi
  got=$(nginx_status "${url#"$BASEURL"}")
  same "$desc: nginx answers $want ($url)" "$got" "$want"
}
issued "Warden URL bound to 127.0.0.1" 200 --template "$TPL_IP" --url "$BASEURL/s/w.ts" --ip 127.0.0.1 --ttl 600
issued "Warden URL bound to 127.0.0.2" 403 --template "$TPL_IP" --url "$BASEURL/s/w.ts" --ip 127.0.0.2 --ttl 600
issued "Warden URL, expired" 410 --template "$TPL_IP" --url "$BASEURL/s/w.ts" --ip 127.0.0.1 --now $((NOW - 7200)) --ttl 60
issued "Warden URL with a query kept" 200 --template "$TPL_IP" --url "$BASEURL/s/w.ts?quality=hd" --ip 127.0.0.1 --ttl 600
issued "Warden URL for an encoded path" 200 --template "$TPL_IP" --url "$BASEURL/s/a%20b.ts" --ip 127.0.0.1 --ttl 600
issued "Warden gcore URL" 200 --template "$TPL_PLAIN" --url "$BASEURL/g/w.m3u8" --ttl 600
issued "Warden gcore URL (default template)" 200 --url "$BASEURL/g/x.m3u8" --ttl 600

# nginx stayed up and logged no crit/alert/emerg.
if kill -0 "${STOP_PIDS[-1]}" 2>/dev/null && ! grep -qE '\[(crit|alert|emerg)\]' "$ngx/error.log"; then
  ok "nginx ran cleanly"
else
  bad "nginx ran cleanly: $(grep -E '\[(crit|alert|emerg)\]' "$ngx/error.log" | head -c 300)"
fi

finish
