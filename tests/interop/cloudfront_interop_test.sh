#!/usr/bin/env bash
# Interop of Warden's CloudFront signed URLs and cookies with the reference library
# @aws-sdk/cloudfront-signer (pinned in package-lock.json), with an RSA key pair made in the test:
#   - getSignedUrl / getSignedCookies output (canned and custom policies, SHA-1 and SHA-256,
#     wildcard resources, IP conditions, URLs with a query) verifies in Warden, and fails for
#     another path, address, time or key;
#   - Warden issues the SDK's URLs and cookie values byte for byte (RSA PKCS#1 v1.5 signatures are
#     deterministic), and its URLs pass cloudfront.mjs `check`, which verifies them with node's
#     crypto the way CloudFront does.
set -euo pipefail
source "$(dirname "$0")/common.sh"
need_node @aws-sdk/cloudfront-signer
command -v openssl >/dev/null 2>&1 || die "openssl is not installed"

KPID=K2JCJMDEHXQW5F
NOW=1900000000
ST=$((NOW - 60))
EXP=$((NOW + 300))
AT=$((NOW + 10))
CF=https://d111111abcdef8.cloudfront.net
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/cf.key.pem" 2>/dev/null ||
  die "openssl cannot make an RSA key"
openssl pkey -in "$tmp/cf.key.pem" -pubout -out "$tmp/cf.pub.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/other.key.pem" 2>/dev/null
openssl pkey -in "$tmp/other.key.pem" -pubout -out "$tmp/other.pub.pem"
WV=(token verify --scheme cloudfront --key-file "$tmp/cf.pub.pem" --key-pair-id "$KPID")
WI=(token issue --scheme cloudfront --key-file "$tmp/cf.key.pem" --key-pair-id "$KPID")

# sdk KIND ARGS_JSON_FIELDS: the SDK's signed URL (KIND url) or cookies JSON (KIND cookies).
sdk() {
  node_run cloudfront.mjs "$1" '{"keyPairId":"'$KPID'","keyFile":"'"$tmp/cf.key.pem"'",'"$2"'}'
}
# cookie_header COOKIES_JSON: "Cookie: a=1; b=2" from the SDK's cookies object.
cookie_header() {
  timeout 20 node -e 'const c = JSON.parse(process.argv[1]);
    process.stdout.write("Cookie: " + Object.entries(c).map(([k, v]) => k + "=" + v).join("; "));' "$1"
}
# query_of URL: the query string (after '?'), for moving a signature onto another URL.
query_of() { printf '%s' "${1#*\?}"; }

declare -A URL
# sdk_url_case NAME SDK_FIELDS GOOD_VERIFY_ARGS...: the SDK signs, Warden verifies at $AT.
sdk_url_case() {
  local name=$1 fields=$2
  shift 2
  if ! URL[$name]=$(sdk url "$fields" 2>"$tmp/nerr"); then
    bad "$name: the SDK signs: $(head -c 300 "$tmp/nerr")"
    return 0
  fi
  expect_w 0 "$name: SDK URL verifies in Warden" -s "sdk-$name" -- "${WV[@]}" --now "$AT" --url "${URL[$name]}" "$@"
}

M=$CF/hls/movie1/master.m3u8
sdk_url_case canned_sha1 '"url":"'$M'","dateLessThan":'$EXP
sdk_url_case canned_sha256 '"url":"'$M'","dateLessThan":'$EXP',"algorithm":"SHA256"'
sdk_url_case canned_query '"url":"'$CF'/video/a.m3u8?quality=hd&lang=en","dateLessThan":'$EXP
sdk_url_case custom_ip '"url":"'$M'","dateLessThan":'$EXP',"dateGreaterThan":'$ST',"ipAddress":"127.0.0.1"' --ip 127.0.0.1
sdk_url_case custom_cidr_sha256 '"url":"'$M'","dateLessThan":'$EXP',"ipAddress":"10.0.0.0/8","algorithm":"SHA256"' \
  --ip 10.20.30.40
WILD='{\"Statement\":[{\"Resource\":\"'$CF'/hls/movie1/*\",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":'$EXP'}}}]}'
sdk_url_case custom_wildcard '"url":"'$M'","policy":"'"$WILD"'"'

if [[ -n ${URL[canned_sha1]:-} ]]; then
  u=${URL[canned_sha1]}
  expect_w 1 "canned_sha1: expired" -r expired -a sdk-canned_sha1 -- "${WV[@]}" --now $((EXP + 1)) --url "$u"
  expect_w 1 "canned_sha1: another path" -a sdk-canned_sha1 -- "${WV[@]}" --now "$AT" --url "${u/master.m3u8/other.m3u8}"
  expect_w 1 "canned_sha1: a later Expires" -a sdk-canned_sha1 -- "${WV[@]}" --now "$AT" --url "${u/Expires=$EXP/Expires=$((EXP + 3600))}"
  expect_w 1 "canned_sha1: a Key-Pair-Id the key ring does not hold" -a sdk-canned_sha1 -- \
    "${WV[@]}" --now "$AT" --url "${u/Key-Pair-Id=$KPID/Key-Pair-Id=OTHERKEYPAIR}"
  expect_w 1 "canned_sha1: the right key filed under another Key-Pair-Id" -a sdk-canned_sha1 -- \
    token verify --scheme cloudfront --key-file "$tmp/cf.pub.pem" --key-pair-id OTHERKEYPAIR --now "$AT" --url "$u"
  expect_w 1 "canned_sha1: another public key" -a sdk-canned_sha1 -- \
    token verify --scheme cloudfront --key-file "$tmp/other.pub.pem" --key-pair-id "$KPID" --now "$AT" --url "$u"
  expect_w 1 "canned_sha1: claimed SHA256" -a sdk-canned_sha1 -- "${WV[@]}" --now "$AT" --url "$u&Hash-Algorithm=SHA256"
fi
if [[ -n ${URL[canned_sha256]:-} ]]; then
  expect_w 1 "canned_sha256: without Hash-Algorithm" -a sdk-canned_sha256 -- \
    "${WV[@]}" --now "$AT" --url "${URL[canned_sha256]/&Hash-Algorithm=SHA256/}"
fi
if [[ -n ${URL[canned_query]:-} ]]; then
  expect_w 1 "canned_query: another query value" -a sdk-canned_query -- \
    "${WV[@]}" --now "$AT" --url "${URL[canned_query]/quality=hd/quality=sd}"
fi
if [[ -n ${URL[custom_ip]:-} ]]; then
  u=${URL[custom_ip]}
  expect_w 1 "custom_ip: another client address" -a sdk-custom_ip -- "${WV[@]}" --now "$AT" --url "$u" --ip 127.0.0.2
  expect_w 1 "custom_ip: before DateGreaterThan" -a sdk-custom_ip -- "${WV[@]}" --now $((ST - 10)) --url "$u" --ip 127.0.0.1
  expect_w 1 "custom_ip: after DateLessThan (expired)" -r expired -a sdk-custom_ip -- \
    "${WV[@]}" --now $((EXP + 1)) --url "$u" --ip 127.0.0.1
fi
if [[ -n ${URL[custom_cidr_sha256]:-} ]]; then
  expect_w 1 "custom_cidr_sha256: an address outside 10.0.0.0/8" -a sdk-custom_cidr_sha256 -- \
    "${WV[@]}" --now "$AT" --url "${URL[custom_cidr_sha256]}" --ip 11.0.0.1
fi
if [[ -n ${URL[custom_wildcard]:-} ]]; then
  q=$(query_of "${URL[custom_wildcard]}")
  expect_w 0 "custom_wildcard: the policy covers a segment in the directory" -- \
    "${WV[@]}" --now "$AT" --url "$CF/hls/movie1/seg5.ts?$q"
  expect_w 1 "custom_wildcard: not a segment of another directory" -a sdk-custom_wildcard -- \
    "${WV[@]}" --now "$AT" --url "$CF/hls/movie2/seg5.ts?$q"
fi

# Signed cookies.
# sdk_cookie_case NAME SDK_FIELDS REQUEST_URL [VERIFY_ARGS...]
declare -A COOKIES
sdk_cookie_case() {
  local name=$1 fields=$2 req=$3
  shift 3
  if ! COOKIES[$name]=$(sdk cookies "$fields" 2>"$tmp/nerr"); then
    bad "$name: the SDK makes cookies: $(head -c 300 "$tmp/nerr")"
    return 0
  fi
  expect_w 0 "$name: SDK cookies verify in Warden" -s "sdk-$name" -- \
    "${WV[@]}" --now "$AT" --url "$req" --header "$(cookie_header "${COOKIES[$name]}")" "$@"
}
sdk_cookie_case cookies_canned '"url":"'$M'","dateLessThan":'$EXP "$M"
sdk_cookie_case cookies_wildcard '"policy":"'"$WILD"'"' "$CF/hls/movie1/seg9.ts"
sdk_cookie_case cookies_custom_sha256 \
  '"url":"'$CF'/hls/movie1/*","dateLessThan":'$EXP',"ipAddress":"127.0.0.1","algorithm":"SHA256"' \
  "$CF/hls/movie1/seg9.ts" --ip 127.0.0.1
if [[ -n ${COOKIES[cookies_canned]:-} ]]; then
  expect_w 1 "cookies_canned: another resource" -a sdk-cookies_canned -- \
    "${WV[@]}" --now "$AT" --url "$CF/hls/movie1/other.m3u8" --header "$(cookie_header "${COOKIES[cookies_canned]}")"
fi
if [[ -n ${COOKIES[cookies_wildcard]:-} ]]; then
  expect_w 1 "cookies_wildcard: another directory" -a sdk-cookies_wildcard -- \
    "${WV[@]}" --now "$AT" --url "$CF/hls/movie2/seg9.ts" --header "$(cookie_header "${COOKIES[cookies_wildcard]}")"
  expect_w 1 "cookies_wildcard: expired" -r expired -a sdk-cookies_wildcard -- \
    "${WV[@]}" --now $((EXP + 1)) --url "$CF/hls/movie1/seg9.ts" --header "$(cookie_header "${COOKIES[cookies_wildcard]}")"
fi
if [[ -n ${COOKIES[cookies_custom_sha256]:-} ]]; then
  expect_w 1 "cookies_custom_sha256: another client address" -a sdk-cookies_custom_sha256 -- \
    "${WV[@]}" --now "$AT" --url "$CF/hls/movie1/seg9.ts" --ip 127.0.0.9 \
    --header "$(cookie_header "${COOKIES[cookies_custom_sha256]}")"
fi

# Warden -> SDK: byte-identical URLs, checked by node's crypto.
# warden_url_case NAME SDK_FIELDS CHECK_ARGS -- WARDEN_ISSUE_ARGS...
warden_url_case() {
  local name=$1 fields=$2 check_args=$3
  shift 4
  local su wu
  if ! su=$(sdk url "$fields" 2>"$tmp/nerr"); then
    bad "$name: the SDK signs: $(head -c 300 "$tmp/nerr")"
    return 0
  fi
  if ! wu=$(w "${WI[@]}" --now "$NOW" --ttl 300 "$@" 2>"$tmp/err"); then
    bad "$name: Warden issues: $(head -c 300 "$tmp/err")"
    return 0
  fi
  same "$name: Warden's URL is the SDK's byte for byte" "$wu" "$su"
  # shellcheck disable=SC2086 # check_args are plain words
  if node_run cloudfront.mjs check --pub "$tmp/cf.pub.pem" --now "$AT" $check_args "$wu" >"$tmp/nout" 2>"$tmp/nerr"; then
    ok "$name: Warden's URL verifies with node crypto"
    BASE[check-$name]=1
  else
    bad "$name: node crypto check of Warden's URL: $(cat "$tmp/nout" "$tmp/nerr" | head -c 300)"
  fi
  URL[w-$name]=$wu
}
warden_url_case w_canned_sha1 '"url":"'$M'","dateLessThan":'$EXP '' -- --url "$M"
warden_url_case w_canned_sha256 '"url":"'$M'","dateLessThan":'$EXP',"algorithm":"SHA256"' '' -- --url "$M" --sha256
warden_url_case w_canned_query '"url":"'$CF'/video/a.m3u8?quality=hd","dateLessThan":'$EXP '' -- \
  --url "$CF/video/a.m3u8?quality=hd"
warden_url_case w_custom_ip '"url":"'$M'","dateLessThan":'$EXP',"dateGreaterThan":'$ST',"ipAddress":"10.0.0.0/32"' \
  '--ip 10.0.0.0' -- --url "$M" --not-before "$ST" --ip-cidr 10.0.0.0/32
warden_url_case w_custom_sha256 '"url":"'$M'","dateLessThan":'$EXP',"ipAddress":"192.0.2.0/24","algorithm":"SHA256"' \
  '--ip 192.0.2.55' -- --url "$M" --ip-cidr 192.0.2.0/24 --sha256
warden_url_case w_custom_wildcard '"url":"'$M'","policy":"'"$WILD"'"' '' -- --url "$M" --resource "$CF/hls/movie1/*"
CANNED_AS_CUSTOM='{\"Statement\":[{\"Resource\":\"'$M'\",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":'$EXP'}}}]}'
warden_url_case w_custom_forced '"url":"'$M'","policy":"'"$CANNED_AS_CUSTOM"'"' '' -- --url "$M" --custom-policy

# The node checker is strict too: it refuses Warden's URL for another path, time and address.
check_rejects() {
  local desc=$1 base=$2
  shift 2
  if [[ -z ${BASE[$base]:-} ]]; then
    bad "$desc (not run: its valid case '$base' did not pass)"
  elif node_run cloudfront.mjs check --pub "$tmp/cf.pub.pem" "$@" >"$tmp/nout" 2>"$tmp/nerr"; then
    bad "$desc (accepted)"
  else
    ok "$desc"
  fi
}
if [[ -n ${URL[w-w_canned_sha1]:-} ]]; then
  u=${URL[w-w_canned_sha1]}
  check_rejects "w_canned_sha1: node check refuses another path" check-w_canned_sha1 --now "$AT" "${u/master.m3u8/other.m3u8}"
  check_rejects "w_canned_sha1: node check refuses it after Expires" check-w_canned_sha1 --now $((EXP + 1)) "$u"
fi
if [[ -n ${URL[w-w_custom_ip]:-} ]]; then
  check_rejects "w_custom_ip: node check refuses another address" check-w_custom_ip --now "$AT" --ip 10.0.0.1 \
    "${URL[w-w_custom_ip]}"
fi

# Warden -> SDK: cookies. Warden prints Set-Cookie values; compare each CloudFront-* value.
# warden_cookie_case NAME SDK_FIELDS -- WARDEN_ISSUE_ARGS...
warden_cookie_case() {
  local name=$1 fields=$2
  shift 3
  local sc wc
  if ! sc=$(sdk cookies "$fields" 2>"$tmp/nerr"); then
    bad "$name: the SDK makes cookies: $(head -c 300 "$tmp/nerr")"
    return 0
  fi
  if ! wc=$(w "${WI[@]}" --now "$NOW" --ttl 300 --cookies "$@" 2>"$tmp/err"); then
    bad "$name: Warden issues cookies: $(head -c 300 "$tmp/err")"
    return 0
  fi
  local want got
  want=$(timeout 20 node -e 'const c = JSON.parse(process.argv[1]);
    console.log(Object.keys(c).sort().map((k) => k + "=" + c[k]).join("\n"));' "$sc")
  got=$(grep -o 'CloudFront-[A-Za-z-]*=[^;[:space:]]*' <<<"$wc" | LC_ALL=C sort)
  same "$name: Warden's cookies are the SDK's byte for byte" "$(tr '\n' ' ' <<<"$got")" "$(tr '\n' ' ' <<<"$want")"
}
warden_cookie_case w_cookies_canned '"url":"'$M'","dateLessThan":'$EXP -- --url "$M"
warden_cookie_case w_cookies_wildcard '"policy":"'"$WILD"'"' -- --url "$M" --resource "$CF/hls/movie1/*"
warden_cookie_case w_cookies_sha256 '"url":"'$M'","dateLessThan":'$EXP',"algorithm":"SHA256"' -- --url "$M" --sha256

finish
