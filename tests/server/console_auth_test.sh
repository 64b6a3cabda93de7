#!/usr/bin/env bash
# Black-box tests of console sign-in and the roles on the admin API: `warden passwd`, the
# console.users configuration and its errors, POST /ui/login (cookie attributes, wrong
# passwords, unknown users, content type, lockout after repeated failures), /ui/session and its
# CSRF token, viewers read only, moderators change bans and cases but not modes, admins switch
# modes, a change without (or with a wrong) CSRF token is refused, the bearer admin token keeps
# working, sign-out ends the session, every human action lands in the audit trail with the
# user's name; Secure cookies when configured; the console switched off.
source "$(dirname "$0")/common.sh"

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
ADMIN=test-admin-token-0123456789
AUTH=(-H "Authorization: Bearer $ADMIN")

# --- warden passwd
H_ADMIN=$(echo 'admin-pass-1' | "$W" passwd)
check "passwd prints a scrypt PHC hash" grep -Eq '^\$scrypt\$ln=16,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$' <<<"$H_ADMIN"
H_MOD=$(echo 'mod-pass-2' | "$W" passwd --kdf pbkdf2)
check "passwd --kdf pbkdf2 prints a PBKDF2-SHA256 hash" grep -Eq '^\$pbkdf2-sha256\$i=600000\$' <<<"$H_MOD"
LINE=$(echo 'viewer-pass-3' | "$W" passwd --user vera --role viewer)
check "passwd --user --role prints the YAML entry" grep -Eq '^- \{name: vera, role: viewer, password_hash: "\$scrypt\$' <<<"$LINE"
H_VIEW=$(sed -E 's/.*password_hash: "([^"]*)".*/\1/' <<<"$LINE")
printf 'file-pass\n' >"$tmp/pw"
check "passwd --password-file" grep -q '^\$scrypt\$' <<<"$("$W" passwd --password-file "$tmp/pw")"
echo '' | "$W" passwd >/dev/null 2>&1
check "passwd refuses an empty password (exit 2)" test $? = 2
"$W" passwd --user x >/dev/null 2>&1 </dev/null
check "passwd: --user without --role is a usage error" test $? = 2
"$W" passwd --user 'bad name' --role viewer >/dev/null 2>&1 </dev/null
check "passwd: a bad user name is a usage error" test $? = 2
"$W" passwd --role root --user x >/dev/null 2>&1 </dev/null
check "passwd: an unknown role is a usage error" test $? = 2
"$W" passwd hunter2 >/dev/null 2>&1 </dev/null
check "passwd: a password on the command line is refused" test $? = 2

base_config() { # base_config FILE [extra console keys]
  cat >"$1" <<EOF
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
console:
  session_idle: 600
${2:-}
  users:
    - {name: ada, role: admin, password_hash: "$H_ADMIN"}
    - {name: mo, role: moderator, password_hash: "$H_MOD"}
    - {name: vera, role: viewer, password_hash: "$H_VIEW"}
EOF
}

# --- configuration errors name the line and the fix
bad_config() { # bad_config DESC PATTERN USERS_YAML
  cat >"$tmp/bad.yaml" <<EOF
listen: [127.0.0.1:0]
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - {name: live}
console:
  users:
$3
EOF
  local out
  out=$("$W" serve --config "$tmp/bad.yaml" --check-config 2>&1)
  local rc=$?
  if [[ $rc == 2 ]] && grep -q "$2" <<<"$out"; then ok "$1"; else bad "$1 (exit $rc: $out)"; fi
}
bad_config "config: unknown role" "line 8: unknown role 'root'" "    - {name: a, role: root, password_hash: \"$H_ADMIN\"}"
bad_config "config: a plain password is refused" "password_hash is not a usable hash" "    - {name: a, role: admin, password_hash: hunter2}"
bad_config "config: a weak hash is refused" "not a usable hash" '    - {name: a, role: admin, password_hash: "$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0c2FsdA$T78tEi/mr8Yageny/jk6s5+Qanjd3ceXdjwOeEhX6bQ"}'
bad_config "config: a user twice" "user 'a' is listed twice" "    - {name: a, role: admin, password_hash: \"$H_ADMIN\"}
    - {name: a, role: viewer, password_hash: \"$H_ADMIN\"}"
bad_config "config: a user without a hash" "needs a 'password_hash'" "    - {name: a, role: admin}"
bad_config "config: a bad user name" "user name 'a b'" "    - {name: a b, role: admin, password_hash: \"$H_ADMIN\"}"
bad_config "config: an unknown key" "unknown key 'password'" "    - {name: a, role: admin, password: x}"

base_config "$tmp/warden.yaml"
start_server main --config "$tmp/warden.yaml" || { bad "server starts"; finish; }

# login USER PASSWORD JAR: sets CODE, BODY, headers in $tmp/hdr
login() {
  CODE=$(curl -s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' -c "$3" -X POST "$(base_url)/ui/login" \
    -H 'Content-Type: application/json' -d "{\"user\":\"$1\",\"password\":\"$2\"}")
  BODY=$(cat "$tmp/body")
}
csrf_of() { curl -s -b "$1" "$(base_url)/ui/session" | jq -r .csrf; }

# --- sign-in
login ada wrong-pass "$tmp/jar0"
check "wrong password: 401" test "$CODE" = 401
check "wrong password: no cookie" test -z "$(grep -i '^set-cookie' "$tmp/hdr")"
login nobody some-pass "$tmp/jar0"
check "unknown user: 401 with the same message" test "$CODE:$(jq -r .message <<<"$BODY")" = "401:wrong user name or password"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$(base_url)/ui/login" -d 'user=ada&password=admin-pass-1')
check "a form post is refused (415)" test "$CODE" = 415
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$(base_url)/ui/login" -H 'Content-Type: application/json' -d '{"user":"ada"}')
check "login without a password: 400" test "$CODE" = 400
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$(base_url)/ui/login" -H 'Content-Type: application/json' -d '{"user":"ada","password":"x","extra":1}')
check "login with an unknown field: 400" test "$CODE" = 400
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$(base_url)/ui/login")
check "GET /ui/login: 405" test "$CODE" = 405

login ada admin-pass-1 "$tmp/jar_a"
check "admin signs in: 200" test "$CODE" = 200
check "the answer names user and role" test "$(jq -r '.user + "/" + .role' <<<"$BODY")" = ada/admin
COOKIE=$(grep -i '^set-cookie:' "$tmp/hdr" | tr -d '\r')
check "the cookie is HttpOnly" grep -q 'HttpOnly' <<<"$COOKIE"
check "the cookie is SameSite=Strict" grep -q 'SameSite=Strict' <<<"$COOKIE"
check "the cookie has Path=/ and a Max-Age" grep -Eq 'Path=/;.*Max-Age=[0-9]+' <<<"$COOKIE"
check "no Secure on plain http (auto)" test -z "$(grep -o Secure <<<"$COOKIE")"
check "the session id is 256 random bits (43 base64url characters)" grep -Eq 'warden_session=[A-Za-z0-9_-]{43};' <<<"$COOKIE"
check "login answers are not cached" grep -qi '^cache-control: no-store' "$tmp/hdr"
CSRF_A=$(jq -r .csrf <<<"$BODY")
check "the login answer carries a CSRF token" grep -Eq '^[A-Za-z0-9_-]{43}$' <<<"$CSRF_A"
req GET /ui/session -b "$tmp/jar_a"
check "/ui/session: 200 with the same CSRF token" test "$CODE:$(jq -r .csrf <<<"$BODY")" = "200:$CSRF_A"
req GET /ui/session
check "/ui/session without a cookie: 401" test "$CODE" = 401
req GET /ui/session -H 'Cookie: warden_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
check "/ui/session with a made-up id: 401" test "$CODE" = 401

login mo mod-pass-2 "$tmp/jar_m"
check "moderator signs in (PBKDF2 hash)" test "$CODE" = 200
CSRF_M=$(jq -r .csrf <<<"$BODY")
check "each session has its own CSRF token" test "$CSRF_M" != "$CSRF_A"
login vera viewer-pass-3 "$tmp/jar_v"
check "viewer signs in" test "$CODE" = 200
CSRF_V=$(jq -r .csrf <<<"$BODY")

# --- viewers read only
for p in /v1/bans /v1/allow /v1/cases /v1/policies "/v1/audit?list=actions" /v1/audit; do
  req GET "$p" -b "$tmp/jar_v"
  check "viewer reads $p" test "$CODE" = 200
done
req POST /v1/bans -b "$tmp/jar_v" -H "X-CSRF-Token: $CSRF_V" -d '{"type":"token","value":"t-viewer","ttl":600}'
check "viewer cannot ban (403 forbidden)" test "$CODE:$(jq -r .error <<<"$BODY")" = "403:forbidden"
req DELETE "/v1/bans/token/t-viewer" -b "$tmp/jar_v" -H "X-CSRF-Token: $CSRF_V"
check "viewer cannot lift (403)" test "$CODE" = 403
req PUT /v1/policies/live/mode -b "$tmp/jar_v" -H "X-CSRF-Token: $CSRF_V" -d '{"mode":"automate"}'
check "viewer cannot switch modes (403)" test "$CODE" = 403
req POST /v1/cases/1/verdict -b "$tmp/jar_v" -H "X-CSRF-Token: $CSRF_V" -d '{"verdict":"dismiss"}'
check "viewer cannot give a verdict (403)" test "$CODE" = 403

# --- CSRF: state changes with the cookie need the session's token
req POST /v1/bans -b "$tmp/jar_m" -d '{"type":"token","value":"t-csrf","ttl":600}'
check "moderator ban without the CSRF token: 403 csrf" test "$CODE:$(jq -r .error <<<"$BODY")" = "403:csrf"
req POST /v1/bans -b "$tmp/jar_m" -H "X-CSRF-Token: $CSRF_A" -d '{"type":"token","value":"t-csrf","ttl":600}'
check "moderator ban with another session's CSRF token: 403" test "$CODE" = 403
req POST /v1/bans -b "$tmp/jar_m" -H "X-CSRF-Token: ${CSRF_M:0:42}" -d '{"type":"token","value":"t-csrf","ttl":600}'
check "moderator ban with a truncated CSRF token: 403" test "$CODE" = 403
req GET "/v1/bans?type=token&value=t-csrf" "${AUTH[@]}"
check "the refused bans were not made" test "$CODE" = 404

# --- moderators change bans and cases, not modes
req POST /v1/bans -b "$tmp/jar_m" -H "X-CSRF-Token: $CSRF_M" -d '{"type":"token","value":"t-mod","ttl":600,"reason":"forum post"}'
check "moderator bans with the CSRF token: 201" test "$CODE" = 201
check "the ban's actor is the moderator" test "$(jq -r .ban.actor <<<"$BODY")" = mo
req POST /v1/bans -b "$tmp/jar_m" -H "X-CSRF-Token: $CSRF_M" -d '[{"type":"cidr","value":"203.0.113.0/24","ttl":600},{"type":"ip","value":"198.51.100.1","ttl":600}]'
check "moderator bulk ban: 201" test "$CODE" = 201
req DELETE "/v1/bans/ip/198.51.100.1" -b "$tmp/jar_m" -H "X-CSRF-Token: $CSRF_M"
check "moderator lifts: 200" test "$CODE" = 200
req POST /v1/allow -b "$tmp/jar_m" -H "X-CSRF-Token: $CSRF_M" -d '{"type":"subject","value":"family-account","ttl":600}'
check "moderator allow-lists: 201" test "$CODE" = 201
req PUT /v1/policies/live/mode -b "$tmp/jar_m" -H "X-CSRF-Token: $CSRF_M" -d '{"mode":"automate"}'
check "moderator cannot switch modes (403)" test "$CODE" = 403
T=$("$W" token issue --scheme cat --key-hex $KEY --claims '{"cti":"cafe01","sub":"zoe"}' --ttl 600)
req GET "/v1/decide?token=$T&ip=192.0.2.10&country=XX&url=/live/ch1/seg1.ts"
sleep 0.1
req GET /v1/cases -b "$tmp/jar_m"
CASE=$(jq -r '.cases[] | select(.key == "cafe01") | .id' <<<"$BODY")
check "a case opened" test -n "$CASE"
req POST "/v1/cases/$CASE/verdict" -b "$tmp/jar_m" -d '{"verdict":"escalate"}'
check "verdict without the CSRF token: 403" test "$CODE" = 403
req POST "/v1/cases/$CASE/verdict" -b "$tmp/jar_m" -H "X-CSRF-Token: $CSRF_M" -d '{"verdict":"escalate","note":"needs a second look"}'
check "moderator escalates: 200" test "$CODE:$(jq -r .case.verdict.actor <<<"$BODY")" = "200:mo"

# --- admins switch modes
req PUT /v1/policies/live/mode -b "$tmp/jar_a" -d '{"mode":"monitor"}'
check "admin mode switch without the CSRF token: 403" test "$CODE" = 403
req PUT /v1/policies/live/mode -b "$tmp/jar_a" -H "X-CSRF-Token: $CSRF_A" -d '{"mode":"monitor"}'
check "admin switches the mode: 200" test "$CODE:$(jq -r .mode <<<"$BODY")" = "200:monitor"

# --- the bearer token keeps working for everything, without CSRF
req PUT /v1/policies/live/mode "${AUTH[@]}" -d '{"mode":"moderate"}'
check "bearer: mode switch 200" test "$CODE" = 200
req POST /v1/bans "${AUTH[@]}" -d '{"type":"subject","value":"s-bearer","ttl":600}'
check "bearer: ban 201, actor admin" test "$CODE:$(jq -r .ban.actor <<<"$BODY")" = "201:admin"
req GET /v1/bans -H "Authorization: Bearer wrong-token-0123456789"
check "a wrong bearer token: 401 (even with a session cookie)" test "$CODE" = 401
req GET /v1/bans -b "$tmp/jar_a" -H "Authorization: Bearer wrong-token-0123456789"
check "a wrong bearer token beside a good cookie: 401" test "$CODE" = 401
req GET /v1/bans
check "no credentials: 401" test "$CODE" = 401

# --- sign-out
req POST /ui/logout -b "$tmp/jar_v"
check "logout without the CSRF token: 403" test "$CODE" = 403
CODE=$(curl -s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' -b "$tmp/jar_v" -X POST "$(base_url)/ui/logout" -H "X-CSRF-Token: $CSRF_V")
check "logout: 200" test "$CODE" = 200
check "logout clears the cookie" grep -qi '^set-cookie: warden_session=; Path=/; Max-Age=0' "$tmp/hdr"
req GET /v1/bans -b "$tmp/jar_v"
check "the old cookie no longer works: 401" test "$CODE:$(jq -r .error <<<"$BODY")" = "401:session_expired"

# --- lockout after five failures in a row (the right password is refused while locked)
for i in 1 2 3 4 5; do login mo "bad-$i" "$tmp/jar0"; done
check "fifth failure: 401" test "$CODE" = 401
login mo mod-pass-2 "$tmp/jar0"
check "locked: 429 even with the right password" test "$CODE" = 429
check "locked: Retry-After" grep -qi '^retry-after: [0-9]' "$tmp/hdr"
for i in $(seq 1 100); do # the lock ends (after about 10 s): poll, at most 30 s
  login mo mod-pass-2 "$tmp/jar0"
  [[ $CODE == 429 ]] || break
  sleep 0.3
done
check "after the lock: signs in" test "$CODE" = 200

# --- the audit trail names the people
sleep 0.2
req GET "/v1/audit?list=actions&limit=200" "${AUTH[@]}"
audit_has() { jq -e --arg a "$1" --arg c "$2" --arg t "${3:-}" \
  '[.audit[] | select(.actor == $a and .action == $c and ($t == "" or .target == $t))] | length > 0' <<<"$BODY" >/dev/null; }
check "audit: ada's login" audit_has ada login
check "audit: failed logins with the name tried" audit_has nobody login.failed
check "audit: mo's ban with the target" audit_has mo ban.add "token t-mod"
check "audit: mo's lift" audit_has mo ban.lift "ip 198.51.100.1"
check "audit: mo's allow-list entry" audit_has mo allow.add "subject family-account"
check "audit: mo's verdict" audit_has mo case.verdict "case $CASE"
check "audit: ada's mode switch" audit_has ada policy.mode "policy live"
check "audit: the bearer token's actions as admin" audit_has admin ban.add "subject s-bearer"
check "audit: vera's logout" audit_has vera logout
check "audit: refused changes are not recorded as done" test "$(jq '[.audit[] | select(.target == "token t-csrf")] | length' <<<"$BODY")" = 0
check "audit: records carry role, via and address" test "$(jq -r '[.audit[] | select(.action == "ban.add" and .actor == "mo")][0] | .role + " " + .via + " " + .ip' <<<"$BODY")" = "moderator console 127.0.0.1"
req GET "/v1/audit?list=actions&actor=mo&action=ban." -b "$tmp/jar_a"
check "audit filters: actor and action prefix" test "$(jq '[.audit[] | select(.actor != "mo" or (.action | startswith("ban.") | not))] | length' <<<"$BODY"):$(jq '.audit | length' <<<"$BODY")" = "0:4"
req GET "/v1/audit?list=bans&type=token&value=t-mod" -b "$tmp/jar_a"
check "the ban's own change log: why it exists" test "$(jq -r '.audit[0].reason + " by " + .audit[0].actor' <<<"$BODY")" = "forum post by mo"
req GET "/v1/audit?list=nope" -b "$tmp/jar_a"
check "audit: unknown list 400" test "$CODE" = 400

stop_server || bad "server stops cleanly"

# --- restart: sessions are gone (in memory), the audit trail stays
start_server again --config "$tmp/warden.yaml" || { bad "server restarts"; finish; }
req GET /ui/session -b "$tmp/jar_a"
check "after a restart the old session is gone" test "$CODE" = 401
req GET "/v1/audit?list=actions&actor=ada" "${AUTH[@]}"
check "after a restart the audit trail is kept" test "$(jq '.audit | length > 0' <<<"$BODY")" = true
stop_server || bad "server stops cleanly (2)"

# --- Secure cookies when configured; the console switched off
base_config "$tmp/secure.yaml" "  secure_cookie: true"
start_server secure --config "$tmp/secure.yaml" || { bad "server starts (secure)"; finish; }
login ada admin-pass-1 "$tmp/jar_s"
COOKIE=$(grep -i '^set-cookie:' "$tmp/hdr" | tr -d '\r')
check "secure_cookie: the cookie is Secure with the __Host- prefix" grep -Eqi '^set-cookie: __Host-warden_session=[A-Za-z0-9_-]{43}; Path=/; Max-Age=[0-9]+; HttpOnly; SameSite=Strict; Secure$' <<<"$COOKIE"
stop_server || bad "server stops cleanly (3)"

base_config "$tmp/off.yaml" "  enabled: false"
start_server off --config "$tmp/off.yaml" || { bad "server starts (console off)"; finish; }
login ada admin-pass-1 "$tmp/jar_o"
check "console off: /ui/login 404" test "$CODE" = 404
req GET /ui/
check "console off: /ui/ 404" test "$CODE" = 404
req GET /v1/bans "${AUTH[@]}"
check "console off: the bearer token works" test "$CODE" = 200
stop_server || bad "server stops cleanly (4)"
finish
