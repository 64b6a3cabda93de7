#!/usr/bin/env bash
# Interop of Warden's JWT scheme with the reference library `jose`, for HS256, HS384, HS512,
# RS256, ES256 and EdDSA (keys made in the test by jose and exported to PEM):
#   - jose's SignJWT tokens verify in Warden with the algorithm pinned (identity from jti/sub);
#   - Warden-issued tokens verify in jose's jwtVerify with only that algorithm allowed;
#   - tampered and expired tokens fail on both sides, a token fails under another pinned algorithm;
#   - forged tokens are rejected by Warden: alg "none", HMAC keyed with the public key PEM
#     (HS/RS and HS/ES confusion), a signature by another key, a kid naming another key.
set -euo pipefail
source "$(dirname "$0")/common.sh"
need_node jose

NOW=1900000000
ISS=warden-test
algs=(HS256 HS384 HS512 RS256 ES256 EdDSA)
declare -A SECRET=(
  [HS256]=hs256-secret-0123456789abcdef0123456789abcdef
  [HS384]=hs384-secret-0123456789abcdef0123456789abcdef0123456789abcdef
  [HS512]=hs512-secret-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
)

# Key options for each side: SIGN_* to issue, VERIFY_* to verify (public key only).
declare -A SIGN_W VERIFY_W SIGN_N VERIFY_N
for a in "${algs[@]}"; do
  if [[ -n ${SECRET[$a]:-} ]]; then
    SIGN_W[$a]="--secret ${SECRET[$a]}"
    VERIFY_W[$a]=${SIGN_W[$a]}
    SIGN_N[$a]=${SIGN_W[$a]}
    VERIFY_N[$a]=${SIGN_W[$a]}
  else
    node_run jwt.mjs keygen "$a" "$tmp/$a.key.pem" "$tmp/$a.pub.pem" || die "jose cannot make a $a key pair"
    SIGN_W[$a]="--key-file $tmp/$a.key.pem"
    VERIFY_W[$a]="--key-file $tmp/$a.pub.pem"
    SIGN_N[$a]="--key $tmp/$a.key.pem"
    VERIFY_N[$a]="--key $tmp/$a.pub.pem"
  fi
done
node_run jwt.mjs keygen RS256 "$tmp/other.key.pem" "$tmp/other.pub.pem" || die "jose cannot make an RSA key pair"

# jose_ok DESC [-s KEY] -- ARGS / jose_rejects DESC [-r CODE] [-a KEY] -- ARGS: jwt.mjs verify ARGS.
jose_ok() {
  local desc=$1 set_key=""
  shift
  [[ $1 == -s ]] && { set_key=$2; shift 2; }
  shift
  if node_run jwt.mjs verify "$@" >"$tmp/nout" 2>"$tmp/nerr"; then
    ok "$desc"
    [[ -z $set_key ]] || BASE[$set_key]=1
  else
    bad "$desc: $(cat "$tmp/nout" "$tmp/nerr" | head -c 300 | tr '\n' ' ')"
  fi
}
jose_rejects() {
  local desc=$1 code="" after_key="" rc=0
  shift
  while [[ $1 != -- ]]; do
    case $1 in
      -r) code=$2 ;;
      -a) after_key=$2 ;;
    esac
    shift 2
  done
  shift
  if [[ -n $after_key && -z ${BASE[$after_key]:-} ]]; then
    bad "$desc (not run: its valid case '$after_key' did not pass)"
    return 0
  fi
  node_run jwt.mjs verify "$@" >"$tmp/nout" 2>"$tmp/nerr" || rc=$?
  if [[ $rc -ne 1 ]]; then
    bad "$desc (jwt.mjs exit $rc, want 1): $(cat "$tmp/nout" "$tmp/nerr" | head -c 300 | tr '\n' ' ')"
  elif [[ -n $code ]] && ! grep -q -- "\"$code\"" "$tmp/nout"; then
    bad "$desc (jose said $(head -c 200 "$tmp/nout"), not $code)"
  else
    ok "$desc"
  fi
}

declare -A NODE_TOK
for a in "${algs[@]}"; do
  claims='{"iss":"'$ISS'","sub":"user-'$a'","jti":"jti-'$a'","iat":'$NOW',"exp":'$((NOW + 300))'}'
  # shellcheck disable=SC2206 # the key options are two words, no spaces inside
  wsign=(${SIGN_W[$a]}) wver=(${VERIFY_W[$a]}) nsign=(${SIGN_N[$a]}) nver=(${VERIFY_N[$a]})
  WV=(token verify --scheme jwt --algo "$a" "${wver[@]}" --issuer "$ISS")

  # jose -> Warden
  if t=$(node_run jwt.mjs sign --alg "$a" "${nsign[@]}" "$claims" 2>"$tmp/nerr"); then
    NODE_TOK[$a]=$t
    expect_w 0 "$a: jose token verifies in Warden" -s "node-$a" -- "${WV[@]}" --now $((NOW + 10)) "$t"
    if [[ $RC -eq 0 ]]; then
      got=$(json_get "$tmp/out" '[j.identity.token_id, j.identity.subject, j.identity.exp].join(" ")')
      same "$a: Warden identity is jti, sub, exp" "$got" "jti-$a user-$a $((NOW + 300))"
    fi
    expect_w 1 "$a: Warden rejects the jose token once expired" -r expired -a "node-$a" -- \
      "${WV[@]}" --now $((NOW + 1000)) "$t"
    tt=$(node_run jwt.mjs tamper "$t")
    expect_w 1 "$a: Warden rejects the tampered jose token" -a "node-$a" -- "${WV[@]}" --now $((NOW + 10)) "$tt"
    expect_w 1 "$a: Warden rejects the jose token for another issuer" -r iss -a "node-$a" -- \
      token verify --scheme jwt --algo "$a" "${wver[@]}" --issuer someone-else --now $((NOW + 10)) "$t"
  else
    bad "$a: jose signs: $(head -c 300 "$tmp/nerr")"
  fi

  # Warden -> jose
  if t=$(w token issue --scheme jwt --algo "$a" "${wsign[@]}" --claims "$claims" 2>"$tmp/err"); then
    expect_w 0 "$a: Warden verifies its own token" -s "wself-$a" -- "${WV[@]}" --now $((NOW + 10)) "$t"
    jose_ok "$a: Warden token verifies in jose" -s "warden-$a" -- \
      --alg "$a" "${nver[@]}" --issuer "$ISS" --now $((NOW + 10)) "$t"
    if [[ -n ${BASE[warden-$a]:-} ]]; then
      got=$(json_get "$tmp/nout" '[j.header.alg, j.payload.sub, j.payload.jti, j.payload.exp].join(" ")')
      same "$a: jose reads Warden's header and claims" "$got" "$a user-$a jti-$a $((NOW + 300))"
    fi
    jose_rejects "$a: jose rejects the Warden token once expired" -r ERR_JWT_EXPIRED -a "warden-$a" -- \
      --alg "$a" "${nver[@]}" --now $((NOW + 1000)) "$t"
    tt=$(node_run jwt.mjs tamper "$t")
    jose_rejects "$a: jose rejects the tampered Warden token" -r ERR_JWS_SIGNATURE_VERIFICATION_FAILED \
      -a "warden-$a" -- --alg "$a" "${nver[@]}" --now $((NOW + 10)) "$tt"
  else
    bad "$a: Warden issues: $(head -c 300 "$tmp/err")"
  fi
done

claims='{"iss":"'$ISS'","sub":"forger","iat":'$NOW',"exp":'$((NOW + 300))'}'
at=$((NOW + 10))

# Another pinned algorithm with the same secret.
if [[ -n ${NODE_TOK[HS256]:-} ]]; then
  expect_w 1 "HS256 token rejected when HS512 is pinned for the same secret" -a node-HS256 -- \
    token verify --scheme jwt --algo HS512 --secret "${SECRET[HS256]}" --now "$at" "${NODE_TOK[HS256]}"
fi

# alg "none".
t=$(node_run jwt.mjs forge-none "$claims")
expect_w 1 "alg none rejected (HS256 key, algorithm pinned)" -a node-HS256 -- \
  token verify --scheme jwt --algo HS256 --secret "${SECRET[HS256]}" --now "$at" "$t"
expect_w 1 "alg none rejected (HS256 key, no --algo)" -a node-HS256 -- \
  token verify --scheme jwt --secret "${SECRET[HS256]}" --now "$at" "$t"
expect_w 1 "alg none rejected (RS256 public key)" -a node-RS256 -- \
  token verify --scheme jwt --key-file "$tmp/RS256.pub.pem" --now "$at" "$t"

# HMAC keyed with the public key's PEM text: algorithm confusion.
for a in RS256 ES256 EdDSA; do
  for h in HS256 HS512; do
    t=$(node_run jwt.mjs forge-hmac --alg "$h" --keyfile "$tmp/$a.pub.pem" "$claims")
    expect_w 1 "$h token keyed with the $a public key rejected (--algo $a)" -a "node-$a" -- \
      token verify --scheme jwt --algo "$a" --key-file "$tmp/$a.pub.pem" --now "$at" "$t"
    expect_w 1 "$h token keyed with the $a public key rejected (no --algo)" -a "node-$a" -- \
      token verify --scheme jwt --key-file "$tmp/$a.pub.pem" --now "$at" "$t"
  done
done

# A signature by another key, and tokens of one asymmetric algorithm against another's key.
if t=$(node_run jwt.mjs sign --alg RS256 --key "$tmp/other.key.pem" "$claims" 2>"$tmp/nerr"); then
  expect_w 1 "RS256 token signed by another key rejected" -a node-RS256 -- \
    token verify --scheme jwt --algo RS256 --key-file "$tmp/RS256.pub.pem" --now "$at" "$t"
fi
if [[ -n ${NODE_TOK[ES256]:-} ]]; then
  expect_w 1 "ES256 token rejected by an RS256 key" -a node-ES256 -- \
    token verify --scheme jwt --key-file "$tmp/RS256.pub.pem" --now "$at" "${NODE_TOK[ES256]}"
fi
if [[ -n ${NODE_TOK[EdDSA]:-} ]]; then
  expect_w 1 "EdDSA token rejected by an ES256 key" -a node-EdDSA -- \
    token verify --scheme jwt --key-file "$tmp/ES256.pub.pem" --now "$at" "${NODE_TOK[EdDSA]}"
fi

# Key ids: jose names kid k2; Warden holds k1 and k2 and must pick k2, and rejects the kid
# when only another key carries it.
if t=$(node_run jwt.mjs sign --alg HS256 --secret "${SECRET[HS256]}" --kid k2 "$claims" 2>"$tmp/nerr"); then
  expect_w 0 "kid k2 selects the second of two keys" -s kid -- token verify --scheme jwt --algo HS256 \
    --kid k1 --secret another-secret-0123456789abcdef0123456789 --kid k2 --secret "${SECRET[HS256]}" --now "$at" "$t"
  expect_w 1 "kid k2 with the right secret filed under k1 rejected" -a kid -- token verify --scheme jwt --algo HS256 \
    --kid k1 --secret "${SECRET[HS256]}" --kid k2 --secret another-secret-0123456789abcdef0123456789 --now "$at" "$t"
else
  bad "jose signs with a kid: $(head -c 300 "$tmp/nerr")"
fi

finish
