#!/usr/bin/env bash
# TLS listener with a self-signed certificate made here by openssl: HTTP/1.1 and HTTP/2 (ALPN
# h2) over TLS, beside a plain listener, with two event-loop threads sharing the port.
source "$(dirname "$0")/common.sh"
command -v openssl >/dev/null || { echo "skip: openssl is not installed"; exit 77; }

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -days 2 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1
check "openssl made a self-signed certificate" test -s "$tmp/cert.pem"
cat >"$tmp/tls.yaml" <<EOF
listen: ['https://127.0.0.1:0', '127.0.0.1:0']
threads: 2
tls: {cert: $tmp/cert.pem, key: $tmp/key.pem}
data_dir: $tmp/data
keys: [{scheme: cat, kind: hex, value: $KEY}]
policies: [{name: all, mode: automate}]
EOF
SCHEME=https
start_server tls --config "$tmp/tls.yaml" || { bad "TLS server starts"; finish; }
ok "TLS server starts with 2 threads"
HTTP_PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/tls.err" | grep -o '[0-9]*$')

CODE=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/healthz")
check "HTTPS /healthz: 200" test "$CODE" = 200
V=$(curl -sk -o /dev/null -w '%{http_version}' --http1.1 "https://127.0.0.1:$PORT/healthz")
check "HTTP/1.1 over TLS" test "$V" = 1.1
if curl --version | grep -q HTTP2; then
  V=$(curl -sk -o /dev/null -w '%{http_version}' --http2 "https://127.0.0.1:$PORT/healthz")
  check "HTTP/2 over TLS (ALPN h2)" test "$V" = 2
  T=$("$W" token issue --scheme cat --key-hex $KEY --claims '{"cti":"aa"}' --ttl 60)
  BODY=$(curl -sk --http2 -G "https://127.0.0.1:$PORT/v1/decide" --data-urlencode "token=$T" --data-urlencode url=/live/x.ts)
  [[ $(jq -r .action <<<"$BODY") == allow && $(jq -r .token_id <<<"$BODY") == aa ]] && ok "decide over HTTP/2" || bad "decide over HTTP/2: $BODY"
  # several requests multiplexed on one HTTP/2 connection
  U="https://127.0.0.1:$PORT"
  N=$(curl -sk --http2 -w '%{http_code}:%{num_connects}\n' -o /dev/null "$U/healthz" -o /dev/null "$U/readyz" \
    -o /dev/null "$U/nothing" | tr '\n' ,)
  check "three requests on one HTTP/2 connection ($N)" test "$N" = "200:1,200:0,404:0,"
  # h2o refuses an HTTP/2 request body over limits.max_body with RST_STREAM (REFUSED_STREAM)
  CODE=$(head -c 100000 /dev/zero | curl -sk --http2 -o /dev/null -w '%{http_code}' -X POST --data-binary @- "$U/v1/decide")
  [[ $CODE != 200 ]] && ok "HTTP/2: oversized body refused ($CODE)" || bad "HTTP/2: oversized body accepted"
  CODE=$(curl -sk --http2 -o /dev/null -w '%{http_code}' "$U/healthz")
  check "HTTP/2: served after the refusal" test "$CODE" = 200
else
  echo "# curl without HTTP/2: h2 checks skipped"
fi
CODE=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz")
check "the plain listener beside it: 200" test "$CODE" = 200
CODE=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
[[ $CODE != 200 ]] && ok "plain HTTP to the TLS port is not served ($CODE)" || bad "plain HTTP on the TLS port answered 200"
CODE=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/healthz")
check "TLS still serves after that" test "$CODE" = 200
# many connections over both threads
pids=()
for i in $(seq 1 40); do
  curl -sk -o /dev/null -w '%{http_code}\n' "https://127.0.0.1:$PORT/healthz" >>"$tmp/many" &
  pids+=($!)
done
wait "${pids[@]}"
[[ $(grep -c 200 "$tmp/many") == 40 ]] && ok "40 parallel TLS connections answered" || bad "parallel TLS: $(sort "$tmp/many" | uniq -c)"
stop_server
check "clean stop (exit 0)" test $? -eq 0

# a key that does not match the certificate is refused at start, naming both files
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other \
  -days 2 -keyout "$tmp/key2.pem" -out "$tmp/cert2.pem" >/dev/null 2>&1
sed "s|key: $tmp/key.pem|key: $tmp/key2.pem|" "$tmp/tls.yaml" >"$tmp/mismatch.yaml"
timeout 20 "$W" serve --config "$tmp/mismatch.yaml" >/dev/null 2>"$tmp/mismatch.err"
rc=$?
[[ $rc -eq 1 ]] && grep -q "does not match the certificate" "$tmp/mismatch.err" && ok "mismatched TLS key: refused at start" \
  || bad "mismatched key: rc $rc $(cat "$tmp/mismatch.err")"
finish
