#!/usr/bin/env bash
# Interop of Warden's Akamai EdgeAuth 2.0 tokens with the reference library akamai-edgeauth
# (Node, pinned in package-lock.json):
#   - ACL tokens (generateACLToken: sha256, sha1, md5; st, ip, id, data; "!" lists; escape_early)
#     and URL tokens (generateURLToken: plain, ip, salt, escape_early) verify in Warden against the matching
#     request URL (token given directly, in the query as __token__, or in a Cookie), and fail for
#     another path, another client address, before st, after exp or when tampered;
#   - Warden issues byte-identical tokens for the same inputs (the salt given with --salt or as a
#     claim).
set -euo pipefail
source "$(dirname "$0")/common.sh"
need_node akamai-edgeauth

K1=52a152a152a152a152a152a152a1
K2=aabbccddeeff00112233445566778899
NOW=1900000000
ST=$NOW
END=$((NOW + 300))
AT=$((NOW + 10))
HOST=https://cdn.example.com

declare -A TOK

# akamai_case NAME KEY ALGO NODE_KIND NODE_OPTS TARGET WARDEN_CLAIMS GOOD_URL [VERIFY_ARGS...]
#   node-edgeauth makes the token (NODE_KIND acl|url), Warden verifies it against GOOD_URL (plus
#   VERIFY_ARGS) at $AT (baseline "node-NAME"); Warden issues WARDEN_CLAIMS (plus the issue
#   options among VERIFY_ARGS: --escape-early, --salt=) and must print the same token.
akamai_case() {
  local name=$1 key=$2 algo=$3 kind=$4 nopts=$5 target=$6 wclaims=$7 good=$8
  shift 8
  local -a vargs=("$@") iargs=()
  local a
  for a in "${vargs[@]}"; do [[ $a == --escape-early* || $a == --salt=* ]] && iargs+=("$a"); done
  local t wt
  if ! t=$(node_run akamai.mjs "$kind" "$nopts" "$target" 2>"$tmp/nerr"); then
    bad "$name: akamai-edgeauth makes the token: $(head -c 300 "$tmp/nerr")"
    return 0
  fi
  TOK[$name]=$t
  expect_w 0 "$name: library token verifies in Warden" -s "node-$name" -- \
    token verify --scheme akamai --key-hex "$key" --algo "$algo" --url "$good" --now "$AT" "${vargs[@]}" "$t"
  if wt=$(w token issue --scheme akamai --key-hex "$key" --algo "$algo" "${iargs[@]}" --claims "$wclaims" 2>"$tmp/err"); then
    # A URL form (".../path?__token__=TOKEN") carries the token in its query.
    if [[ $wt == *__token__=* ]]; then
      wt=${wt#*__token__=}
      wt=${wt%%&*}
    fi
    same "$name: Warden issues the library's token byte for byte" "$wt" "$t"
  else
    bad "$name: Warden issues: $(head -c 300 "$tmp/err")"
  fi
}

akamai_case acl_sha256 "$K1" sha256 acl \
  '{"key":"'$K1'","algorithm":"sha256","startTime":'$ST',"endTime":'$END'}' "/vod/movie1/*" \
  '{"st":'$ST',"exp":'$END',"acl":"/vod/movie1/*"}' "$HOST/vod/movie1/seg1.ts"
akamai_case acl_exp_only "$K1" sha256 acl \
  '{"key":"'$K1'","algorithm":"sha256","endTime":'$END'}' "/*" \
  '{"exp":'$END',"acl":"/*"}' "$HOST/any/thing.m3u8"
akamai_case acl_list "$K1" sha256 acl \
  '{"key":"'$K1'","algorithm":"sha256","startTime":'$ST',"endTime":'$END'}' '["/vod/movie1/*","/vod/movie1.m3u8"]' \
  '{"st":'$ST',"exp":'$END',"acl":"/vod/movie1/*!/vod/movie1.m3u8"}' "$HOST/vod/movie1.m3u8"
akamai_case acl_sha1_ip_id_data "$K2" sha1 acl \
  '{"key":"'$K2'","algorithm":"sha1","startTime":'$ST',"endTime":'$END',"ip":"203.0.113.7","sessionId":"sess42","payload":"user=alice"}' \
  "/live/ch1/*" \
  '{"ip":"203.0.113.7","st":'$ST',"exp":'$END',"acl":"/live/ch1/*","id":"sess42","data":"user=alice"}' \
  "$HOST/live/ch1/seg7.ts" --ip 203.0.113.7
akamai_case acl_md5 "$K2" md5 acl \
  '{"key":"'$K2'","algorithm":"md5","endTime":'$END'}' "/live/*" \
  '{"exp":'$END',"acl":"/live/*"}' "$HOST/live/ch2/index.m3u8"
akamai_case acl_wildcard_qmark "$K1" sha256 acl \
  '{"key":"'$K1'","algorithm":"sha256","endTime":'$END'}' "/vod/movie?/index.m3u8" \
  '{"exp":'$END',"acl":"/vod/movie?/index.m3u8"}' "$HOST/vod/movie7/index.m3u8"
akamai_case acl_escape_early "$K2" sha256 acl \
  '{"key":"'$K2'","algorithm":"sha256","endTime":'$END',"sessionId":"sess 42","payload":"x y~z","escapeEarly":true}' \
  "/live/*" \
  '{"exp":'$END',"acl":"/live/*","id":"sess 42","data":"x y~z"}' "$HOST/live/ch1/seg1.ts" --escape-early=node
akamai_case url_sha256 "$K1" sha256 url \
  '{"key":"'$K1'","algorithm":"sha256","startTime":'$ST',"endTime":'$END'}' "/vod/movie1/master.m3u8" \
  '{"st":'$ST',"exp":'$END',"url":"/vod/movie1/master.m3u8"}' "$HOST/vod/movie1/master.m3u8"
akamai_case url_sha1_ip "$K2" sha1 url \
  '{"key":"'$K2'","algorithm":"sha1","endTime":'$END',"ip":"198.51.100.20"}' "/vod/movie2/master.m3u8" \
  '{"ip":"198.51.100.20","exp":'$END',"url":"/vod/movie2/master.m3u8"}' "$HOST/vod/movie2/master.m3u8" \
  --ip 198.51.100.20
akamai_case url_escape_early "$K2" sha256 url \
  '{"key":"'$K2'","algorithm":"sha256","endTime":'$END',"escapeEarly":true}' "/vod/movie3/master.m3u8" \
  '{"exp":'$END',"url":"/vod/movie3/master.m3u8"}' "$HOST/vod/movie3/master.m3u8" --escape-early=node

akamai_case url_salt "$K2" sha256 url \
  '{"key":"'$K2'","algorithm":"sha256","endTime":'$END',"salt":"mysalt"}' "/vod/movie4/master.m3u8" \
  '{"exp":'$END',"url":"/vod/movie4/master.m3u8"}' "$HOST/vod/movie4/master.m3u8" --salt=mysalt
akamai_case acl_salt "$K1" sha256 acl \
  '{"key":"'$K1'","algorithm":"sha256","endTime":'$END',"salt":"s4lt","sessionId":"u7"}' "/vod/*" \
  '{"exp":'$END',"acl":"/vod/*","id":"u7"}' "$HOST/vod/movie4/seg1.ts" --salt=s4lt

# The salt as a claim when issuing.
if t=$(node_run akamai.mjs url '{"key":"'$K2'","algorithm":"sha256","endTime":'$END',"salt":"mysalt"}' /salt 2>"$tmp/nerr") &&
  wt=$(w token issue --scheme akamai --key-hex "$K2" --algo sha256 --claims '{"exp":'$END',"url":"/salt","salt":"mysalt"}' 2>"$tmp/err"); then
  [[ $wt == *__token__=* ]] && { wt=${wt#*__token__=}; wt=${wt%%&*}; }
  same "salt claim: Warden issues the library's token byte for byte" "$wt" "$t"
else
  bad "salt claim: issue: $(cat "$tmp/nerr" "$tmp/err" 2>/dev/null | head -c 300)"
fi

# Where the token travels: query parameter __token__ and a Cookie.
if [[ -n ${TOK[acl_sha256]:-} ]]; then
  t=${TOK[acl_sha256]}
  V=(token verify --scheme akamai --key-hex "$K1" --algo sha256 --now "$AT")
  expect_w 0 "acl_sha256: Warden finds the token in the query (__token__)" -- \
    "${V[@]}" --url "$HOST/vod/movie1/seg1.ts?__token__=$t"
  expect_w 0 "acl_sha256: Warden finds the token in a Cookie" -- \
    "${V[@]}" --url "$HOST/vod/movie1/seg1.ts" --header "Cookie: other=1; __token__=$t"
  expect_w 1 "acl_sha256: another path fails" -a node-acl_sha256 -- "${V[@]}" --url "$HOST/vod/movie2/seg1.ts" "$t"
  expect_w 1 "acl_sha256: after exp fails (expired)" -r expired -a node-acl_sha256 -- \
    token verify --scheme akamai --key-hex "$K1" --algo sha256 --now $((END + 1)) --url "$HOST/vod/movie1/seg1.ts" "$t"
  expect_w 1 "acl_sha256: before st fails" -a node-acl_sha256 -- \
    token verify --scheme akamai --key-hex "$K1" --algo sha256 --now $((ST - 100)) --url "$HOST/vod/movie1/seg1.ts" "$t"
  expect_w 1 "acl_sha256: another key fails" -a node-acl_sha256 -- \
    token verify --scheme akamai --key-hex "$K2" --algo sha256 --now "$AT" --url "$HOST/vod/movie1/seg1.ts" "$t"
  expect_w 1 "acl_sha256: pinned sha1 fails" -a node-acl_sha256 -- \
    token verify --scheme akamai --key-hex "$K1" --algo sha1 --now "$AT" --url "$HOST/vod/movie1/seg1.ts" "$t"
  expect_w 1 "acl_sha256: a widened ACL fails" -a node-acl_sha256 -- "${V[@]}" --url "$HOST/vod/movie2/seg1.ts" "${t/acl=\/vod\/movie1\/\*/acl=/*}"
  expect_w 1 "acl_sha256: a later exp fails" -a node-acl_sha256 -- "${V[@]}" --url "$HOST/vod/movie1/seg1.ts" "${t/exp=$END/exp=$((END + 3600))}"
fi
if [[ -n ${TOK[acl_list]:-} ]]; then
  V=(token verify --scheme akamai --key-hex "$K1" --algo sha256 --now "$AT")
  expect_w 0 "acl_list: the first ACL of the list matches" -- "${V[@]}" --url "$HOST/vod/movie1/a/b.ts" "${TOK[acl_list]}"
  expect_w 1 "acl_list: a path in neither ACL fails" -a node-acl_list -- "${V[@]}" --url "$HOST/vod/movie2.m3u8" "${TOK[acl_list]}"
fi
if [[ -n ${TOK[acl_sha1_ip_id_data]:-} ]]; then
  V=(token verify --scheme akamai --key-hex "$K2" --algo sha1 --now "$AT" --url "$HOST/live/ch1/seg7.ts")
  run_w "${V[@]}" --ip 203.0.113.7 "${TOK[acl_sha1_ip_id_data]}"
  got="exit $RC: $(head -c 200 "$tmp/err")"
  [[ $RC -ne 0 ]] || got=$(json_get "$tmp/out" 'j.identity.token_id')
  same "acl_sha1_ip_id_data: Warden identity token_id is the id field" "$got" sess42
  expect_w 1 "acl_sha1_ip_id_data: another client address fails" -a node-acl_sha1_ip_id_data -- \
    "${V[@]}" --ip 203.0.113.8 "${TOK[acl_sha1_ip_id_data]}"
  expect_w 1 "acl_sha1_ip_id_data: changed data fails" -a node-acl_sha1_ip_id_data -- \
    "${V[@]}" --ip 203.0.113.7 "${TOK[acl_sha1_ip_id_data]/user=alice/user=alicf}"
fi
if [[ -n ${TOK[acl_wildcard_qmark]:-} ]]; then
  expect_w 1 "acl_wildcard_qmark: '?' matches one character only" -a node-acl_wildcard_qmark -- \
    token verify --scheme akamai --key-hex "$K1" --algo sha256 --now "$AT" --url "$HOST/vod/movie77/index.m3u8" \
    "${TOK[acl_wildcard_qmark]}"
fi
if [[ -n ${TOK[url_sha256]:-} ]]; then
  V=(token verify --scheme akamai --key-hex "$K1" --algo sha256 --now "$AT")
  expect_w 1 "url_sha256: another file fails" -a node-url_sha256 -- "${V[@]}" --url "$HOST/vod/movie1/other.m3u8" "${TOK[url_sha256]}"
  expect_w 0 "url_sha256: Warden finds the token in the query" -- \
    "${V[@]}" --url "$HOST/vod/movie1/master.m3u8?__token__=${TOK[url_sha256]}"
fi
if [[ -n ${TOK[acl_escape_early]:-} ]]; then
  expect_w 0 "acl_escape_early: verifies without --escape-early too (fields are signed as sent)" -- \
    token verify --scheme akamai --key-hex "$K2" --algo sha256 --now "$AT" --url "$HOST/live/ch1/seg1.ts" \
    "${TOK[acl_escape_early]}"
fi
if [[ -n ${TOK[url_escape_early]:-} ]]; then
  expect_w 1 "url_escape_early: fails without --escape-early (the URL was signed escaped)" -a node-url_escape_early -- \
    token verify --scheme akamai --key-hex "$K2" --algo sha256 --now "$AT" --url "$HOST/vod/movie3/master.m3u8" \
    "${TOK[url_escape_early]}"
fi
for n in url_salt acl_salt; do
  [[ -n ${TOK[$n]:-} ]] || continue
  if [[ $n == url_salt ]]; then k=$K2 u=$HOST/vod/movie4/master.m3u8 salt=mysalt; else k=$K1 u=$HOST/vod/movie4/seg1.ts salt=s4lt; fi
  expect_w 1 "$n: fails without the salt" -a "node-$n" -- \
    token verify --scheme akamai --key-hex "$k" --algo sha256 --now "$AT" --url "$u" "${TOK[$n]}"
  expect_w 1 "$n: fails with another salt" -a "node-$n" -- \
    token verify --scheme akamai --key-hex "$k" --algo sha256 --now "$AT" --url "$u" --salt "$salt-x" "${TOK[$n]}"
done
if [[ -n ${TOK[url_sha1_ip]:-} ]]; then
  expect_w 1 "url_sha1_ip: another client address fails" -a node-url_sha1_ip -- \
    token verify --scheme akamai --key-hex "$K2" --algo sha1 --now "$AT" --url "$HOST/vod/movie2/master.m3u8" \
    --ip 198.51.100.21 "${TOK[url_sha1_ip]}"
fi

finish
