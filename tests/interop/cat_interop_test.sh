#!/usr/bin/env bash
# Interop of Warden's CTA-5007 Common Access Tokens with the reference library @eyevinn/cat
# (node-cat, pinned in package-lock.json), both ways:
#   - tokens made by node-cat (CAT.generateFromJson, CWT-tagged) for several claim sets verify in
#     Warden against a matching request, and fail against a request that breaks catu/catnip/catm;
#   - tokens Warden issues for the same claims validate in node-cat, and are byte-identical to
#     node-cat's;
#   - node-cat's default (untagged, hex-text payload) output is rejected unless
#     --allow-text-payload; HMAC 256/64 tokens verify with --algo 4;
#   - a token inside its catr deadline is renewed by Warden, and node-cat accepts the new token;
#   - tampered tokens fail in both; expired tokens fail in both with "expired".
set -euo pipefail
source "$(dirname "$0")/common.sh"
need_node @eyevinn/cat

K=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
KID=Symmetric256
NOW=1900000000
IAT=$NOW
EXP=$((NOW + 3600))
URL=https://cdn.example.com/content/master.m3u8
IP=192.168.1.77
KEY=(--key-hex "$K" --kid "$KID")
REQ_ANY_ISS=(--url "$URL" --ip "$IP" --method GET --now $((NOW + 10)))
REQ=(--issuer eyevinn "${REQ_ANY_ISS[@]}")
NODE_REQ=(--key "$K" --issuer eyevinn --url "$URL" --ip "$IP" --now $((NOW + 10)))

# Claim sets in node-cat's JSON names. Each carries catv, iat and cti so that neither side adds
# anything (node-cat appends catv=1 when it is absent); the claim order is the label order.
names=(minimal full replay0 replay1)
declare -A CLAIMS=(
  [minimal]='{"iss":"eyevinn","exp":'$EXP',"iat":'$IAT',"cti":"deadbeef","catv":1}'
  [full]='{"iss":"eyevinn","sub":"jonas","aud":["one","two"],"exp":'$EXP',"nbf":'$IAT',"iat":'$IAT',
    "cti":"0123456789abcdef0123456789abcdef","catv":1,
    "catnip":["192.168.1.0/24","10.0.0.1","2001:db8::/32"],
    "catu":{"scheme":{"exact-match":"https"},"host":{"suffix-match":".example.com"},
            "path":{"prefix-match":"/content/"},"extension":{"exact-match":".m3u8"}},
    "catm":["GET","HEAD"],
    "catr":{"type":"header","header-name":"cta-common-access-token","expadd":120,"deadline":60}}'
  [replay0]='{"iss":"eyevinn","exp":'$EXP',"iat":'$IAT',"cti":"cafe0000","catreplay":0,"catv":1}'
  [replay1]='{"iss":"eyevinn","exp":'$EXP',"iat":'$IAT',"cti":"cafe0001","catreplay":1,"catv":1}'
)
declare -A CTI=([minimal]=deadbeef [full]=0123456789abcdef0123456789abcdef [replay0]=cafe0000 [replay1]=cafe0001)

# node_ok DESC [-s KEY] -- ARGS...: node-cat must accept the token (cat.mjs validate ARGS).
node_ok() {
  local desc=$1 set_key=""
  shift
  [[ $1 == -s ]] && { set_key=$2; shift 2; }
  shift # --
  if node_run cat.mjs validate "$@" >"$tmp/nout" 2>"$tmp/nerr"; then
    ok "$desc"
    [[ -z $set_key ]] || BASE[$set_key]=1
  else
    bad "$desc: $(cat "$tmp/nout" "$tmp/nerr" | head -c 300 | tr '\n' ' ')"
  fi
}
# node_rejects DESC [-r REASON] [-a KEY] -- ARGS...: node-cat must reject the token (REASON in its
# error); with -a, only once baseline KEY passed.
node_rejects() {
  local desc=$1 reason="" after_key="" rc=0
  shift
  while [[ $1 != -- ]]; do
    case $1 in
      -r) reason=$2 ;;
      -a) after_key=$2 ;;
    esac
    shift 2
  done
  shift # --
  if [[ -n $after_key && -z ${BASE[$after_key]:-} ]]; then
    bad "$desc (not run: its valid case '$after_key' did not pass)"
    return 0
  fi
  node_run cat.mjs validate "$@" >"$tmp/nout" 2>"$tmp/nerr" || rc=$?
  if [[ $rc -ne 1 ]]; then
    bad "$desc (cat.mjs exit $rc, want 1): $(cat "$tmp/nout" "$tmp/nerr" | head -c 300 | tr '\n' ' ')"
  elif [[ -n $reason ]] && ! grep -qi -- "$reason" "$tmp/nout"; then
    bad "$desc (node-cat said '$(head -c 200 "$tmp/nout")', not '$reason')"
  else
    ok "$desc"
  fi
}

declare -A NODE_TOK WARDEN_TOK
for n in "${names[@]}"; do
  claims=$(tr -d '\n ' <<<"${CLAIMS[$n]}")

  # node-cat -> Warden
  if ! NODE_TOK[$n]=$(node_run cat.mjs issue --key "$K" --kid "$KID" --tagged "$claims" 2>"$tmp/nerr"); then
    bad "$n: node-cat issues: $(head -c 300 "$tmp/nerr")"
    continue
  fi
  node_ok "$n: node-cat validates its own token" -s "nodeself-$n" -- "${NODE_REQ[@]}" "${NODE_TOK[$n]}"
  expect_w 0 "$n: node-cat token verifies in Warden" -s "node-$n" -- \
    token verify --scheme cat "${KEY[@]}" "${REQ[@]}" "${NODE_TOK[$n]}"
  if [[ $RC -eq 0 ]]; then
    got=$(json_get "$tmp/out" 'j.identity.token_id')
    same "$n: Warden identity token_id is the cti" "$got" "${CTI[$n]}"
    got=$(json_get "$tmp/out" '[j.claims.iss, j.claims.exp, j.identity.exp].join(" ")')
    same "$n: Warden reads iss, claims.exp and identity.exp" "$got" "eyevinn $EXP $EXP"
  fi

  # Warden -> node-cat
  if ! WARDEN_TOK[$n]=$(w token issue --scheme cat "${KEY[@]}" --claims "$claims" 2>"$tmp/err"); then
    bad "$n: Warden issues: $(head -c 300 "$tmp/err")"
    continue
  fi
  expect_w 0 "$n: Warden verifies its own token" -s "wself-$n" -- \
    token verify --scheme cat "${KEY[@]}" "${REQ[@]}" "${WARDEN_TOK[$n]}"
  node_ok "$n: Warden token validates in node-cat" -s "warden-$n" -- "${NODE_REQ[@]}" "${WARDEN_TOK[$n]}"
  same "$n: Warden's token is byte-identical to node-cat's" "${WARDEN_TOK[$n]}" "${NODE_TOK[$n]}"
  if untagged=$(w token issue --scheme cat "${KEY[@]}" --untagged --claims "$claims" 2>"$tmp/err"); then
    node_ok "$n: Warden --untagged token validates in node-cat" -- "${NODE_REQ[@]}" "$untagged"
  else
    bad "$n: Warden issues --untagged: $(head -c 300 "$tmp/err")"
  fi
done

# The claims that bind the request, on both sides.
if [[ -n ${NODE_TOK[full]:-} ]]; then
  t=${NODE_TOK[full]}
  V=(token verify --scheme cat "${KEY[@]}")
  expect_w 1 "full: Warden rejects another path (catu)" -r catu -a node-full -- \
    "${V[@]}" "${REQ[@]}" --url https://cdn.example.com/private/master.m3u8 "$t"
  expect_w 1 "full: Warden rejects another extension (catu)" -r catu -a node-full -- \
    "${V[@]}" "${REQ[@]}" --url https://cdn.example.com/content/seg1.ts "$t"
  expect_w 1 "full: Warden rejects http (catu scheme)" -r catu -a node-full -- \
    "${V[@]}" "${REQ[@]}" --url http://cdn.example.com/content/master.m3u8 "$t"
  expect_w 1 "full: Warden rejects another client address (catnip)" -r catnip -a node-full -- \
    "${V[@]}" "${REQ[@]}" --ip 192.168.2.1 "$t"
  expect_w 0 "full: Warden accepts an address in the IPv6 prefix (catnip)" -- "${V[@]}" "${REQ[@]}" --ip 2001:db8:1::5 "$t"
  expect_w 1 "full: Warden rejects an address outside the IPv6 prefix (catnip)" -r catnip -a node-full -- \
    "${V[@]}" "${REQ[@]}" --ip 2001:db9::5 "$t"
  expect_w 1 "full: Warden rejects POST (catm)" -r catm -a node-full -- "${V[@]}" "${REQ[@]}" --method POST "$t"
  expect_w 1 "full: Warden rejects another issuer" -r iss -a node-full -- "${V[@]}" "${REQ_ANY_ISS[@]}" --issuer other "$t"
  expect_w 0 "full: Warden accepts a listed audience" -- "${V[@]}" "${REQ[@]}" --audience two "$t"
  expect_w 1 "full: Warden rejects an unlisted audience" -r aud -a node-full -- "${V[@]}" "${REQ[@]}" --audience three "$t"
  expect_w 1 "full: Warden rejects the token before nbf" -r 'nbf\|not yet\|before' -a node-full -- \
    "${V[@]}" "${REQ[@]}" --now $((NOW - 100)) "$t"
fi
if [[ -n ${WARDEN_TOK[full]:-} ]]; then
  t=${WARDEN_TOK[full]}
  node_rejects "full: node-cat rejects Warden's token for another path" -r uri -a warden-full -- \
    "${NODE_REQ[@]}" --url https://cdn.example.com/private/master.m3u8 "$t"
  node_rejects "full: node-cat rejects Warden's token from another address" -r ip -a warden-full -- \
    "${NODE_REQ[@]}" --ip 192.168.2.1 "$t"
  node_rejects "full: node-cat rejects Warden's token for another issuer" -r issuer -a warden-full -- \
    "${NODE_REQ[@]}" --issuer other "$t"
fi
if [[ -n ${NODE_TOK[replay1]:-} ]]; then
  run_w token verify --scheme cat "${KEY[@]}" "${REQ[@]}" "${NODE_TOK[replay1]}"
  got="exit $RC"
  [[ $RC -ne 0 ]] || got=$(json_get "$tmp/out" 'j.replay')
  same "replay1: Warden reports catreplay 1" "$got" 1
fi

# Renewal (catr): a node-cat token inside its renewal deadline makes Warden mint a new token;
# node-cat must accept it, with a fresh cti, iat = now and exp = now + expadd.
renew='{"iss":"eyevinn","exp":'$((NOW + 30))',"iat":'$NOW',"cti":"abcd0001","catv":1,
  "catr":{"type":"header","header-name":"cta-common-access-token","expadd":120,"deadline":60}}'
renew=$(tr -d '\n ' <<<"$renew")
if t=$(node_run cat.mjs issue --key "$K" --kid "$KID" --tagged "$renew" 2>"$tmp/nerr"); then
  run_w token verify --scheme cat "${KEY[@]}" "${REQ[@]}" "$t"
  got=$(json_get "$tmp/out" '[j.response.renewal, j.response.headers[0][0]].join(" ")' 2>/dev/null || true)
  if [[ $RC -eq 0 && $got == "header cta-common-access-token" ]]; then
    ok "renewal: Warden renews a node-cat token in a cta-common-access-token header"
    nt=$(json_get "$tmp/out" 'j.response.token')
    node_ok "renewal: node-cat accepts Warden's renewed token" -s renewed -- "${NODE_REQ[@]}" "$nt"
    if [[ -n ${BASE[renewed]:-} ]]; then
      got=$(json_get "$tmp/nout" '[j.claims.iat, j.claims.exp, j.claims.cti !== "abcd0001", j.claims.catr.expadd].join(" ")')
      want="$((NOW + 10)) $((NOW + 130)) true 120"
      same "renewal: the renewed token has iat now, exp now+expadd, a new cti, the catr" "$got" "$want"
    fi
  else
    bad "renewal: Warden renews (exit $RC, response '$got'): $(head -c 300 "$tmp/err")"
  fi
else
  bad "renewal: node-cat issues: $(head -c 300 "$tmp/nerr")"
fi

# node-cat's default output: untagged, payload a CBOR text string of hex (not CTA-5007).
claims=$(tr -d '\n ' <<<"${CLAIMS[minimal]}")
if legacy=$(node_run cat.mjs issue --key "$K" --kid "$KID" "$claims" 2>"$tmp/nerr"); then
  expect_w 0 "legacy: Warden accepts node-cat's hex-text payload with --allow-text-payload" -s legacy -- \
    token verify --scheme cat "${KEY[@]}" "${REQ[@]}" --allow-text-payload "$legacy"
  expect_w 1 "legacy: Warden rejects it by default" -a legacy -- \
    token verify --scheme cat "${KEY[@]}" "${REQ[@]}" "$legacy"
else
  bad "legacy: node-cat issues: $(head -c 300 "$tmp/nerr")"
fi

# HMAC 256/64 (COSE alg 4, 8-byte tag).
if t64=$(node_run cat.mjs issue --key "$K" --kid "$KID" --alg HS256/64 --tagged "$claims" 2>"$tmp/nerr"); then
  expect_w 0 "HS256/64: node-cat token verifies in Warden with --algo 4" -s hs64 -- \
    token verify --scheme cat "${KEY[@]}" --algo 4 "${REQ[@]}" "$t64"
  expect_w 1 "HS256/64: Warden rejects it when HMAC 256/256 is pinned" -a hs64 -- \
    token verify --scheme cat "${KEY[@]}" --algo 5 "${REQ[@]}" "$t64"
  if w64=$(w token issue --scheme cat "${KEY[@]}" --algo 4 --claims "$claims" 2>"$tmp/err"); then
    node_ok "HS256/64: Warden token validates in node-cat" -- "${NODE_REQ[@]}" "$w64"
    same "HS256/64: Warden's token is byte-identical to node-cat's" "$w64" "$t64"
  else
    bad "HS256/64: Warden issues: $(head -c 300 "$tmp/err")"
  fi
else
  bad "HS256/64: node-cat issues: $(head -c 300 "$tmp/nerr")"
fi

# Tampered tokens: a flipped MAC byte, and a claim value changed in place (still valid CBOR).
for who in node warden; do
  # baselines: Warden and node-cat accepted the untampered token
  if [[ $who == node ]]; then
    t=${NODE_TOK[minimal]:-} wbase=node-minimal nbase=nodeself-minimal
  else
    t=${WARDEN_TOK[minimal]:-} wbase=wself-minimal nbase=warden-minimal
  fi
  [[ -n $t ]] || continue
  for how in mac text; do
    if [[ $how == mac ]]; then
      tt=$(node_run cat.mjs tamper-mac "$t") || { bad "tamper the $who token"; continue; }
    else
      tt=$(node_run cat.mjs tamper-text "$t" eyevinn eyevinm) || { bad "tamper the $who token"; continue; }
    fi
    expect_w 1 "tampered ($how) $who token: Warden rejects" -a "$wbase" -- \
      token verify --scheme cat "${KEY[@]}" "${REQ[@]}" "$tt"
    node_rejects "tampered ($how) $who token: node-cat rejects" -a "$nbase" -- "${NODE_REQ[@]}" "$tt"
  done
done

# Expired tokens, from each side, checked by both at the same time.
expired='{"iss":"eyevinn","exp":'$((NOW - 60))',"iat":'$((NOW - 3600))',"cti":"0e0e0e0e","catv":1}'
if t=$(node_run cat.mjs issue --key "$K" --kid "$KID" --tagged "$expired" 2>"$tmp/nerr"); then
  expect_w 1 "expired node-cat token: Warden says expired" -r expired -- \
    token verify --scheme cat "${KEY[@]}" "${REQ[@]}" --now "$NOW" "$t"
  node_rejects "expired node-cat token: node-cat says expired" -r expired -- "${NODE_REQ[@]}" --now "$NOW" "$t"
else
  bad "expired: node-cat issues: $(head -c 300 "$tmp/nerr")"
fi
if t=$(w token issue --scheme cat "${KEY[@]}" --now $((NOW - 3600)) --ttl 60 --claims '{"iss":"eyevinn"}' 2>"$tmp/err"); then
  expect_w 1 "expired Warden token: Warden says expired" -r expired -- \
    token verify --scheme cat "${KEY[@]}" "${REQ[@]}" --now "$NOW" "$t"
  node_rejects "expired Warden token: node-cat says expired" -r expired -- "${NODE_REQ[@]}" --now "$NOW" "$t"
else
  bad "expired: Warden issues: $(head -c 300 "$tmp/err")"
fi

finish
