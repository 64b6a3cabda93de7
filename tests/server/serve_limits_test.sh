#!/usr/bin/env bash
# Hostile input: malformed HTTP, oversized headers, URLs and bodies, broken chunking, deep JSON,
# a stalled half-request. Each gets a 4xx (or a closed connection), never a crash, while a
# parallel client keeps getting answers the whole time.
source "$(dirname "$0")/common.sh"

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
start_server lim --listen 127.0.0.1:0 --data-dir "$tmp/data" --key cat:hex:$KEY \
  --key jwt:secret:x --key securelink:secret:y || { bad "server starts"; finish; }
ok "server starts"

# The parallel client: /healthz in a loop until told to stop; counts answers and failures.
(
  n=0 f=0
  while [[ ! -e $tmp/stop-client ]]; do
    if [[ $(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz") == 200 ]]; then
      n=$((n + 1))
    else
      f=$((f + 1))
    fi
  done
  echo "$n $f" >"$tmp/client"
) &
CLIENT=$!

# raw REQUEST-BYTES-FILE: send bytes on a fresh connection, print the status line (or "closed")
raw() {
  local f=$1 line=
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || { echo "connect-failed"; return; }
  cat "$f" >&3 2>/dev/null
  IFS= read -r -t 5 line <&3
  exec 3<&- 3>&-
  line=${line%$'\r'}
  echo "${line:-closed}"
}
expect_4xx() { # expect_4xx DESC FILE [status]
  local got
  got=$(raw "$2")
  if [[ $got =~ ^HTTP/1\.[01]\ ${3:-4[0-9][0-9]} ]]; then ok "$1: $got"
  elif [[ -z ${3:-} && $got == closed ]]; then ok "$1: connection closed"
  else bad "$1: got '$got'"
  fi
}

printf 'GARBAGE\r\n\r\n' >"$tmp/r1"
expect_4xx "garbage request line" "$tmp/r1" 400
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n' >"$tmp/r2"
expect_4xx "header line without a colon" "$tmp/r2" 400
printf 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n' >"$tmp/r3"
expect_4xx "unknown HTTP version" "$tmp/r3"
{ printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n'; for i in $(seq 1 150); do printf 'X-H%d: v\r\n' "$i"; done; printf '\r\n'; } >"$tmp/r4"
expect_4xx "150 headers" "$tmp/r4" 400
{ printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: '; head -c 40000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } >"$tmp/r5"
expect_4xx "a 40 KB header" "$tmp/r5" 431
{ printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n'; for i in $(seq 1 60); do printf 'X-B%d: ' "$i"; head -c 8000 /dev/zero | tr '\0' b; printf '\r\n'; done; printf '\r\n'; } >"$tmp/r6"
expect_4xx "480 KB of headers" "$tmp/r6"
{ printf 'GET /v1/decide?url='; head -c 10000 /dev/zero | tr '\0' u; printf ' HTTP/1.1\r\nHost: x\r\n\r\n'; } >"$tmp/r7"
expect_4xx "a 10 KB URL" "$tmp/r7" 414
printf 'POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n' >"$tmp/r8"
expect_4xx "Content-Length of 10 MB" "$tmp/r8" 413
printf 'POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n' >"$tmp/r9"
expect_4xx "malformed Content-Length" "$tmp/r9" 400
printf 'POST /v1/decide HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n' >"$tmp/r10"
expect_4xx "unknown Transfer-Encoding" "$tmp/r10" 400
printf 'POST /v1/decide HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n' >"$tmp/r11"
expect_4xx "broken chunked encoding" "$tmp/r11" 400
{ printf 'POST /v1/decide HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'; for i in $(seq 1 20); do printf '1000\r\n'; head -c 4096 /dev/zero | tr '\0' c; printf '\r\n'; done; printf '0\r\n\r\n'; } >"$tmp/r12"
expect_4xx "an 80 KB chunked body" "$tmp/r12" 413
head -c 3000 /dev/urandom >"$tmp/r13"
expect_4xx "random bytes" "$tmp/r13"
printf 'GET /v1/decide?url=%%zz HTTP/1.1\r\nHost: x\r\n\r\n' >"$tmp/r14"
expect_4xx "bad percent-encoding in the query" "$tmp/r14" 400

# bodies through curl
head -c 100000 /dev/zero | tr '\0' '{' >"$tmp/big.json"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$tmp/big.json" "$(base_url)/v1/decide")
check "a 100 KB body: 413" test "$CODE" = 413
python_nest() { local n=$1; printf '%*s' "$n" '' | tr ' ' '['; printf '%*s' "$n" '' | tr ' ' ']'; }
python_nest 30000 >"$tmp/deep.json"
CODE=$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST --data-binary @"$tmp/deep.json" "$(base_url)/v1/decide")
check "JSON nested 30000 deep: 400" test "$CODE" = 400
jq -e .error "$tmp/body" >/dev/null && ok "deep JSON: JSON error body" || bad "deep JSON: JSON error body"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary $'\xff\xfe{"url":"/x"}' "$(base_url)/v1/decide")
check "invalid UTF-8 JSON: 400" test "$CODE" = 400

# a client that sends half a request and stalls does not hold anyone up
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' >&4
CODE=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$(base_url)/healthz")
check "others are served while a request stalls" test "$CODE" = 200

# pipelining: two requests in one write, two answers in order
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&5
timeout 5 cat <&5 >"$tmp/pipe" 2>/dev/null
exec 5<&- 5>&-
[[ $(grep -c '^HTTP/1.1 ' "$tmp/pipe") == 2 && $(grep '^HTTP/1.1 ' "$tmp/pipe" | tr -d '\r' | tr '\n' ,) == "HTTP/1.1 200 OK,HTTP/1.1 404 Not Found," ]] \
  && ok "pipelined requests answered in order" || bad "pipelining: $(grep '^HTTP' "$tmp/pipe")"
printf 'GET /healthz HTTP/1.0\r\n\r\n' >"$tmp/r15"
[[ $(raw "$tmp/r15") == "HTTP/1.1 200 OK" ]] && ok "HTTP/1.0 without Host: 200" || bad "HTTP/1.0 without Host"

sleep 0.5
touch "$tmp/stop-client"
wait $CLIENT
read -r answered failed <"$tmp/client"
[[ $answered -gt 5 && $failed -eq 0 ]] && ok "the parallel client got $answered answers and no failure" \
  || bad "parallel client: $answered answered, $failed failed"
exec 4<&- 4>&-
check "the server is still running" kill -0 "$SERVER_PID"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$(base_url)/healthz")
check "and still answers" test "$CODE" = 200
stop_server
check "clean stop after all that (exit 0)" test $? -eq 0
finish
