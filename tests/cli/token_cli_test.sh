#!/usr/bin/env bash
# Black-box tests of `warden token`: the exit-code contract (0 valid, 1 invalid, 2 usage), clear
# messages for bad input, and an issue -> verify round trip for every scheme.
set -uo pipefail
W=${WARDEN:?WARDEN must name the warden binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }

# expect CODE DESCRIPTION -- command...   (also checks stderr is one non-empty line on failure)
expect() {
  local want=$1 desc=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -ne $want ]]; then
    bad "$desc (exit $got, want $want): $(head -c 300 "$tmp/err")"
  elif [[ $want -ne 0 && ! -s "$tmp/err" ]]; then
    bad "$desc (no message on stderr)"
  else
    ok "$desc"
  fi
}

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
NOW=1800000000

# --- usage errors: exit 2 with a message
expect 2 "no subcommand" -- "$W" token
expect 2 "unknown subcommand" -- "$W" token frobnicate
expect 2 "unknown scheme" -- "$W" token verify --scheme catt --key-hex "$KEY" x
expect 2 "missing scheme" -- "$W" token verify --key-hex "$KEY" x
expect 2 "missing key" -- "$W" token verify --scheme cat x
expect 2 "bad hex key" -- "$W" token verify --scheme cat --key-hex xyz x
expect 2 "unknown option" -- "$W" token verify --scheme cat --key-hex "$KEY" --frob x
expect 2 "claims not JSON" -- "$W" token issue --scheme cat --key-hex "$KEY" --claims '{"iss":'
expect 2 "claims not an object" -- "$W" token issue --scheme cat --key-hex "$KEY" --claims '[1]'
expect 2 "bad --now" -- "$W" token verify --scheme cat --key-hex "$KEY" --now yesterday x
expect 2 "bad --ttl" -- "$W" token issue --scheme cat --key-hex "$KEY" --ttl -5
expect 2 "bad header" -- "$W" token verify --scheme cat --key-hex "$KEY" --header nocolon x
expect 2 "unreadable key file" -- "$W" token verify --scheme jwt --key-file "$tmp/none.pem" x
echo "not a pem" >"$tmp/junk.pem"
expect 2 "key file not PEM" -- "$W" token verify --scheme jwt --key-file "$tmp/junk.pem" x
expect 2 "unknown akamai algo" -- "$W" token verify --scheme akamai --key-hex "$KEY" --algo sha3 x
expect 0 "help" -- "$W" token --help
grep -q -- '--key-pair-id' "$tmp/out" && ok "help names the key options" || bad "help names the key options"
expect 2 "unknown command" -- "$W" frobnicate

# --- invalid tokens: exit 1 with a one-line reason
expect 1 "garbage CAT" -- "$W" token verify --scheme cat --key-hex "$KEY" '!!!notbase64'
[[ $(wc -l <"$tmp/err") -eq 1 ]] && ok "reason is one line" || bad "reason is one line"
expect 1 "garbage JWT" -- "$W" token verify --scheme jwt --secret s3cret 'a.b'
expect 1 "inspect garbage" -- "$W" token inspect 'definitely not a token'
big=$(head -c 20000 /dev/zero | tr '\0' 'A')
expect 1 "oversized token" -- "$W" token verify --scheme cat --key-hex "$KEY" "$big"

# --- round trips: issue, verify (exit 0), tamper (exit 1), expire (exit 1)
roundtrip() {
  local scheme=$1; shift
  local -a keyopts=() verifyopts=()
  while [[ $1 != -- ]]; do keyopts+=("$1"); shift; done; shift
  while (($#)); do verifyopts+=("$1"); shift; done
  local tok
  if ! tok=$("$W" token issue --scheme "$scheme" "${keyopts[@]}" --now "$NOW" --ttl 300 "${ISSUE_EXTRA[@]}" 2>"$tmp/err"); then
    bad "$scheme issue: $(cat "$tmp/err")"; return
  fi
  ok "$scheme issue"
  if [[ $tok == http* ]]; then
    expect 0 "$scheme verify" -- "$W" token verify --scheme "$scheme" "${keyopts[@]}" "${verifyopts[@]}" --now $((NOW + 10)) --url "$tok"
    expect 1 "$scheme expired" -- "$W" token verify --scheme "$scheme" "${keyopts[@]}" "${verifyopts[@]}" --now $((NOW + 100000)) --url "$tok"
    local t2=${tok/seg1/seg2}
    expect 1 "$scheme other path" -- "$W" token verify --scheme "$scheme" "${keyopts[@]}" "${verifyopts[@]}" --now $((NOW + 10)) --url "$t2"
  else
    expect 0 "$scheme verify" -- "$W" token verify --scheme "$scheme" "${keyopts[@]}" "${verifyopts[@]}" --now $((NOW + 10)) "$tok"
    grep -q '"token_id"' "$tmp/out" && ok "$scheme identity printed" || bad "$scheme identity printed"
    expect 1 "$scheme expired" -- "$W" token verify --scheme "$scheme" "${keyopts[@]}" "${verifyopts[@]}" --now $((NOW + 100000)) "$tok"
    local last=${tok: -2:1}; local repl=0; [[ $last == 0 ]] && repl=1
    local tampered="${tok:0:${#tok}-2}${repl}${tok: -1}"
    expect 1 "$scheme tampered" -- "$W" token verify --scheme "$scheme" "${keyopts[@]}" "${verifyopts[@]}" --now $((NOW + 10)) "$tampered"
  fi
}

ISSUE_EXTRA=(--claims '{"iss":"warden","sub":"u1","cti":"0011223344556677"}')
roundtrip cat --key-hex "$KEY" --kid k1 -- --issuer warden
ISSUE_EXTRA=(--claims '{"iss":"warden","sub":"u1","jti":"j-1"}')
roundtrip jwt --secret 'jwt-secret-0123456789abcdef0123456789' -- --issuer warden
ISSUE_EXTRA=(--claims '{"acl":"/live/ch1/*","id":"viewer-1"}')
roundtrip akamai --key-hex 52a152a152a152a152a152a152a1 -- --url https://cdn.example.com/live/ch1/seg1.ts
ISSUE_EXTRA=(--url https://cdn.example.com/live/ch1/seg1.ts --claims '{}')
roundtrip securelink --secret s3cret --
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/cf.pem" 2>/dev/null
ISSUE_EXTRA=(--url https://d111.cloudfront.net/live/ch1/seg1.ts --claims '{}')
roundtrip cloudfront --key-file "$tmp/cf.pem" --key-pair-id K2JCJMDEHXQW5F --
ISSUE_EXTRA=(--url https://myzone.b-cdn.net/live/ch1/seg1.ts --claims '{}')
roundtrip bunny --secret bunny-secret --

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
