/*
 * lib/token/cat_json.c: the JSON <-> CBOR mapping of CAT claims (byte-identical to
 * @eyevinn/cat for the same input), CAT issuing and inspecting.
 *
 * Expected bytes come from the node-cat vectors (tests/vectors/cat), from @eyevinn/cat 0.16.4
 * run on the inputs of node_cat_table, and, for claims node-cat does not encode, from the
 * CTA-5007 shapes written out by hand (each checked with an independent CBOR decoder).
 * Payloads inside vector tokens are extracted with libcbor, not with the code under test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "testutil.h"
#include "token/cat_internal.h"
#include "util/codec.h"
#include "warden/warden.h"

#define GENERATED "cat/eyevinn-node-cat-generated.json"
#define PUBLISHED "cat/published-test-tokens.json"

static char *hex_of(const uint8_t *p, size_t n) {
  char *s = malloc(n * 2 + 1);
  assert_non_null(s);
  wd_hex_encode(p, n, s);
  return s;
}

/* Encode JSON text; returns the rc, *hex (malloc'd) on success, err filled. */
static int encode_text(const char *json, wd_cat_labels_t labels, char **hex, char *err,
                       size_t errlen) {
  json_error_t je;
  json_t *j = json_loads(json, 0, &je);
  if (!j)
    fail_msg("test input is not JSON: %s: %s", json, je.text);
  uint8_t *out = NULL;
  size_t n = 0;
  int rc = wd__cat_claims_from_json_labels(j, labels, &out, &n, err, errlen);
  json_decref(j);
  *hex = NULL;
  if (rc == 0) {
    *hex = hex_of(out, n);
    free(out);
  } else {
    assert_null(out);
  }
  return rc;
}

static void assert_encodes(const char *json, wd_cat_labels_t labels, const char *want) {
  char *hex, err[256];
  int rc = encode_text(json, labels, &hex, err, sizeof err);
  if (rc)
    fail_msg("%s: rc %d: %s", json, rc, err);
  if (strcmp(hex, want))
    fail_msg("%s\n  got  %s\n  want %s", json, hex, want);
  free(hex);
}

/* The payload bytes of a COSE structure (hex), found with libcbor; a text payload (node-cat's
 * legacy form) is the hex of the claims map and is decoded. */
static uint8_t *vector_payload(const char *hex, size_t *len) {
  size_t n;
  uint8_t *b = tu_hex(hex, &n);
  /* libcbor 0.8 refuses one-byte tags 17 / 18, so the tags are skipped here by hand:
   * 61 is d8 3d, 17 / 18 are d1 / d2. */
  size_t off = 0;
  if (n > 2 && b[0] == 0xd8 && b[1] == 0x3d)
    off = 2;
  if (off < n && (b[off] == 0xd1 || b[off] == 0xd2))
    off++;
  struct cbor_load_result res;
  cbor_item_t *root = cbor_load(b + off, n - off, &res);
  assert_non_null(root);
  assert_int_equal(res.read, n - off);
  free(b);
  cbor_item_t *it = root;
  assert_true(cbor_isa_array(it));
  assert_int_equal(cbor_array_size(it), 4);
  cbor_item_t *p = cbor_array_handle(it)[2];
  uint8_t *out;
  if (cbor_isa_bytestring(p)) {
    *len = cbor_bytestring_length(p);
    out = malloc(*len + 1);
    assert_non_null(out);
    memcpy(out, cbor_bytestring_handle(p), *len);
  } else {
    assert_true(cbor_isa_string(p));
    char *text = strndup((const char *)cbor_string_handle(p), cbor_string_length(p));
    out = tu_hex(text, len);
    free(text);
  }
  cbor_decref(&root);
  return out;
}

/* What toDict gives for a vector: libraryValidate.claims, else the input with catv 1. */
static json_t *expected_claims(const json_t *v) {
  json_t *c = json_object_get(json_object_get(v, "libraryValidate"), "claims");
  if (c)
    return json_incref(c);
  json_t *in = json_deep_copy(json_object_get(v, "inputJson"));
  if (!json_object_get(in, "catv"))
    json_object_set_new(in, "catv", json_integer(1));
  return in;
}

static void assert_json_equal(const json_t *got, const json_t *want, const char *what) {
  if (!json_equal((json_t *)got, (json_t *)want)) {
    char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    fail_msg("%s\n  got  %s\n  want %s", what, g ? g : "(null)", w ? w : "(null)");
  }
}

/* ---- node-cat vectors ---- */

static void vectors_encode_byte_identical(void **state) {
  (void)state;
  json_t *doc = tu_load_vectors(GENERATED);
  json_t *vs = json_object_get(doc, "vectors");
  assert_true(json_array_size(vs) >= 8);
  size_t i;
  json_t *v;
  json_array_foreach(vs, i, v) {
    size_t plen;
    uint8_t *want = vector_payload(json_string_value(json_object_get(v, "hex")), &plen);
    uint8_t *got = NULL;
    size_t glen = 0;
    char err[256];
    int rc = wd__cat_claims_from_json(json_object_get(v, "inputJson"), &got, &glen, err, sizeof err);
    if (rc)
      fail_msg("%s: rc %d: %s", json_string_value(json_object_get(v, "name")), rc, err);
    if (glen != plen || memcmp(got, want, plen)) {
      char *g = hex_of(got, glen), *w = hex_of(want, plen);
      fail_msg("%s\n  got  %s\n  want %s", json_string_value(json_object_get(v, "name")), g, w);
    }
    free(got);
    free(want);
  }
  json_decref(doc);
}

/* The top-level map keys of a payload are integers in ascending order (checked with libcbor). */
static int ascending_keys(const uint8_t *p, size_t n) {
  struct cbor_load_result res;
  cbor_item_t *m = cbor_load(p, n, &res);
  assert_non_null(m);
  assert_true(cbor_isa_map(m));
  int ok = 1;
  struct cbor_pair *pairs = cbor_map_handle(m);
  for (size_t i = 1; i < cbor_map_size(m); i++)
    if (cbor_get_int(pairs[i].key) <= cbor_get_int(pairs[i - 1].key))
      ok = 0;
  cbor_decref(&m);
  return ok;
}

static void vectors_decode_like_todict(void **state) {
  (void)state;
  json_t *doc = tu_load_vectors(GENERATED);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(doc, "vectors"), i, v) {
    size_t plen;
    uint8_t *p = vector_payload(json_string_value(json_object_get(v, "hex")), &plen);
    json_t *got = wd__cat_claims_to_json(p, plen);
    assert_non_null(got);
    json_t *want = expected_claims(v);
    assert_json_equal(got, want, json_string_value(json_object_get(v, "name")));
    /* and back: the rendered JSON encodes to the same claims, and to the same bytes when the
     * payload was in ascending label order (node-cat appends a missing catv at the end; a
     * re-encoding puts it in place, as node-cat's renewal does) */
    uint8_t *again = NULL;
    size_t alen = 0;
    char err[256];
    assert_int_equal(wd__cat_claims_from_json(got, &again, &alen, err, sizeof err), 0);
    json_t *back = wd__cat_claims_to_json(again, alen);
    assert_json_equal(back, want, "re-encoded");
    json_decref(back);
    if (ascending_keys(p, plen)) {
      assert_int_equal(alen, plen);
      assert_memory_equal(again, p, plen);
    }
    free(again);
    json_decref(want);
    json_decref(got);
    free(p);
  }
  json_decref(doc);
}

/* ---- claim shapes ---- */

/* Inputs run through @eyevinn/cat 0.16.4 (fromDict, cbor-x encode of the payload). */
static const struct {
  const char *json, *hex;
} node_cat_table[] = {
    {"{\"cath\":{\"X-Foo\":{\"exact-match\":\"bar\"},\"User-Agent\":{\"contains-match\":\"Safari\"}}}",
     "a219013ba265582d466f6fa100636261726a557365722d4167656e74a1036653616661726919013601"},
    {"{\"catgeocoord\":[[59.33,18.07,5000]],\"catgeoiso3166\":[\"SE\",\"US-CA\"]}",
     "a319013c826253456555532d434119013d8183fb404daa3d70a3d70afb403211eb851eb85219138819013601"},
    {"{\"iss\":\"x\",\"catnip\":[\"192.168.1.5/24\",\"::ffff:1.2.3.4\",\"2001:db8::1\",\"0\"]}",
     "a301617819013784d83482181844c0a80105d8365000000000000000000000ffff01020304d8365020010db8"
     "0000000000000000000000010019013601"},
    {"{\"catr\":{\"type\":\"automatic\",\"expadd\":60,\"header-params\":[\"a\"]}}",
     "a2190143a3000001183c0681616119013601"},
    {"{\"catifdata\":[\"a\",\"b\"],\"geohash\":\"u6sc\",\"catpor\":[1,2,{\"b\":1,\"2\":3,\"a\":[]}]}",
     "a419011a6475367363190135830102b90003613203616201616180190140826161616219013601"},
    {"{\"catu\":{\"query\":{\"exact-match\":\"a=1\"},\"filename\":{\"sha512-256-match\":\"ab\"},"
     "\"stem\":{\"contains-match\":\"x\"},\"parent-path\":{\"prefix-match\":\"/a\"},"
     "\"port\":{\"exact-match\":\"443\"}}}",
     "a2190138a504a10063613d3106a12162616207a103617805a101622f6102a1006334343319013601"},
    {"{\"cattpk\":\"0a0b\"}", "a219013f420a0b19013601"},
    {"{\"catm\":[\"GET\"],\"sub\":\"x\",\"aud\":\"y\",\"nbf\":-5,\"iat\":-70000}",
     "a60261780361790524063a0001116f190139816347455419013601"},
    {"{\"iss\":\"a\",\"catif\":{\"exp\":[302,{\"Location\":\"https://x/\",\"X-A\":\"b\"},\"kid1\"]}}",
     "a3016161190142a1048319012ea2684c6f636174696f6e6a68747470733a2f2f782f63582d416162646b69643119013601"},
    {"{\"catpor\":[1.5,0.1,-0.0,1e300,true,false,null,\"\\u00e9\"]}",
     "a219013588fb3ff8000000000000fb3fb999999999999a00fb7e37e43c8800759cf5f4f662c3a919013601"},
    {"{\"catv\":1,\"catreplay\":0,\"iss\":\"a\"}", "a30161611901340019013601"},
    {"{\"catr\":{\"deadline\":10,\"type\":\"cookie\",\"cookie-name\":\"c\",\"cookie-params\":[],"
     "\"expadd\":5}}",
     "a2190143a5020a00010361630580010519013601"},
    {"{\"catu\":{\"host\":{\"regex-match\":[\"^a$\"]}}}", "a2190138a101a10481635e612419013601"},
};

static void node_cat_shapes(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof node_cat_table / sizeof *node_cat_table; i++)
    assert_encodes(node_cat_table[i].json, WD_CAT_LABELS_DEFAULT, node_cat_table[i].hex);
}

/* Claims node-cat does not encode (or encodes non-conformantly): CTA-5007 shapes. */
static void cta_shapes(void **state) {
  (void)state;
  /* catalpn: byte strings */
  assert_encodes("{\"catalpn\":[\"h2\",\"http/1.1\"]}", 0,
                 "a219013a8242683248687474702f312e3119013601");
  /* catif without a kid: two elements */
  assert_encodes("{\"catif\":{\"exp\":[302,{\"Location\":\"https://x/\"}]}}", 0,
                 "a2190142a1048219012ea1684c6f636174696f6e6a68747470733a2f2f782f19013601");
  /* catif Location [url, claims]: the claims are claims (cti as bstr, catu labelled) */
  assert_encodes("{\"catif\":{\"catu\":[403,{\"Location\":[\"https://a/?cat=\",{\"iss\":\"i\","
                 "\"cti\":\"ab\",\"catu\":{\"path\":{\"exact-match\":\"/\"}}}]},\"k\"]}}",
                 0,
                 "a2190142a119013883190193a1684c6f636174696f6e826f68747470733a2f2f612f3f6361743d"
                 "a30161690741ab190138a103a100612f616b19013601");
  /* crit: names and labels to labels */
  assert_encodes("{\"crit\":[\"catu\",\"exp\",400],\"catu\":{}}", 0,
                 "a3182d8319013804190190190138a019013601");
  assert_encodes("{\"cnf\":{\"jkt\":\"00112233\"}}", 0, "a208a103440011223319013601");
  assert_encodes("{\"catdpop\":{\"window\":300,\"jti\":1}}", 0,
                 "a2190141a20019012c010119013601");
  assert_encodes("{\"catadpop\":{\"0\":300,\"1\":1}}", 0, "a2190141a20019012c010119013601");
  assert_encodes("{\"catgeoalt\":[100,10]}", 0, "a219013e8218640a19013601");
  assert_encodes("{\"catifdata\":\"x\"}", 0, "a2190140617819013601");
  assert_encodes("{\"catv\":2}", 0, "a119013602");
  assert_encodes("{\"catr\":{\"type\":2,\"expadd\":1}}", 0, "a2190143a20002010119013601");
  /* unknown numeric claims: integer keys, generic values; negative labels after the others */
  assert_encodes("{\"400\":{\"a\":1},\"iss\":\"x\"}", 0,
                 "a3016178190190b9000161610119013601");
  assert_encodes("{\"-5\":\"n\",\"exp\":5000000000}", 0, "a3041b000000012a05f20024616e19013601");
  /* a known claim given by its label is that claim */
  assert_encodes("{\"4\":1.0}", 0, "a2040119013601");
}

static void composite_labels(void **state) {
  (void)state;
  const char *in = "{\"or\":[{\"iss\":\"a\"},{\"catm\":[\"GET\"]}]}";
  assert_encodes(in, WD_CAT_LABELS_DEFAULT, "a2182982a1016161a1190139816347455419013601");
  assert_encodes(in, WD_CAT_LABELS_AKAMAI, "a2182982a1016161a1190139816347455419013601");
  assert_encodes(in, WD_CAT_LABELS_DRAFT, "a219014482a1016161a1190139816347455419013601");
  assert_encodes("{\"nor\":[],\"and\":[{}]}", WD_CAT_LABELS_DEFAULT, "a3182a80182b81a019013601");
  assert_encodes("{\"nor\":[],\"and\":[{}]}", WD_CAT_LABELS_DRAFT,
                 "a319014580190146" "81a019013601");
  /* nested composites, and decoding both label sets to the same names */
  assert_encodes("{\"and\":[{\"or\":[{\"sub\":\"s\"}]}]}", 0, "a2182b81a1182981a102617319013601");
  uint8_t p1[] = {0xa1, 0x18, 0x29, 0x81, 0xa1, 0x02, 0x61, 0x73};
  uint8_t p2[] = {0xa1, 0x19, 0x01, 0x44, 0x81, 0xa1, 0x02, 0x61, 0x73};
  json_t *j1 = wd__cat_claims_to_json(p1, sizeof p1), *j2 = wd__cat_claims_to_json(p2, sizeof p2);
  json_t *want = json_loads("{\"or\":[{\"sub\":\"s\"}]}", 0, NULL);
  assert_json_equal(j1, want, "or 41");
  assert_json_equal(j2, want, "or 324");
  json_decref(j1);
  json_decref(j2);
  json_decref(want);
}

static void wrong_types_name_the_claim(void **state) {
  (void)state;
  static const struct {
    const char *json, *msg;
  } cases[] = {
      {"{\"exp\":\"soon\"}", "claim exp must be an integer"},
      {"{\"exp\":1.5}", "claim exp must be an integer"},
      {"{\"nbf\":null}", "claim nbf must be an integer"},
      {"{\"iss\":5}", "claim iss must be a string"},
      {"{\"sub\":[\"a\"]}", "claim sub must be a string"},
      {"{\"aud\":[1]}", "claim aud must be"},
      {"{\"cti\":\"xyz\"}", "claim cti must be a hex string"},
      {"{\"cti\":\"abc\"}", "claim cti must be a hex string"},
      {"{\"cti\":\"\"}", "claim cti must be a hex string"},
      {"{\"catv\":0}", "claim catv must be"},
      {"{\"catreplay\":-1}", "claim catreplay must be"},
      {"{\"catm\":\"GET\"}", "claim catm must be an array of strings"},
      {"{\"catalpn\":[1]}", "claim catalpn must be"},
      {"{\"catnip\":\"10.0.0.1\"}", "claim catnip must be an array"},
      {"{\"catnip\":[\"nope\"]}", "claim catnip entry 0 ('nope')"},
      {"{\"catnip\":[\"10.0.0.1/33\"]}", "claim catnip entry 0"},
      {"{\"catnip\":[\"10.1\"]}", "claim catnip entry 0"},
      {"{\"catnip\":[1,4294967296]}", "claim catnip entry 1"},
      {"{\"catnip\":[-3]}", "claim catnip entry 0"},
      {"{\"catu\":[]}", "claim catu must be an object"},
      {"{\"catu\":{\"fragment\":{\"exact-match\":\"x\"}}}", "unknown URI component 'fragment'"},
      {"{\"catu\":{\"path\":{\"glob-match\":\"x\"}}}", "claim catu: unknown match type 'glob-match'"},
      {"{\"catu\":{\"path\":{\"prefix-match\":1}}}", "claim catu: prefix-match for path"},
      {"{\"catu\":{\"path\":{\"regex-match\":\"^/\"}}}", "claim catu: regex-match for path"},
      {"{\"catu\":{\"path\":\"/x\"}}", "claim catu: path must be an object"},
      {"{\"cath\":{\"X\":{\"nope\":\"x\"}}}", "claim cath: unknown match type 'nope'"},
      {"{\"catr\":{\"type\":\"teleport\"}}", "claim catr: type must be"},
      {"{\"catr\":{\"expadd\":\"1\"}}", "claim catr: expadd must be an integer"},
      {"{\"catr\":{\"cookie-params\":\"x\"}}", "claim catr: cookie-params must be"},
      {"{\"catr\":{\"colour\":1}}", "claim catr: unknown field 'colour'"},
      {"{\"catif\":{\"exp\":302}}", "claim catif: exp must be"},
      {"{\"catif\":{\"nope\":[302,{}]}}", "claim catif: unknown claim 'nope'"},
      {"{\"catif\":{\"exp\":[302,{\"Location\":5}]}}", "claim catif: header Location of exp"},
      {"{\"catgeocoord\":[[1]]}", "claim catgeocoord must be"},
      {"{\"catgeocoord\":[]}", "claim catgeocoord must be"},
      {"{\"crit\":[\"nope\"]}", "claim crit: 'nope'"},
      {"{\"cnf\":{\"jkt\":\"zz\"}}", "claim cnf jkt must be a hex string"},
      {"{\"cnf\":{\"x5t\":\"00\"}}", "claim cnf: unknown field 'x5t'"},
      {"{\"catdpop\":{\"window\":\"5\"}}", "claim catdpop: window must be an integer"},
      {"{\"or\":{}}", "claim or must be an array of claim sets"},
      {"{\"or\":[1]}", "claim or must be an array of claim sets"},
      {"{\"or\":[{\"exp\":\"x\"}]}", "claim exp must be an integer"},
      {"{\"catpor\":5}", "claim catpor must be an array"},
      {"{\"foo\":1}", "unknown claim 'foo'"},
      {"{\"exp\":1,\"4\":2}", "claim exp given twice"},
      {"[1]", "claims must be a JSON object"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *hex, err[256] = "";
    int rc = encode_text(cases[i].json, 0, &hex, err, sizeof err);
    if (rc != WD_EINVAL || !strstr(err, cases[i].msg))
      fail_msg("%s: rc %d, err '%s', want EINVAL with '%s'", cases[i].json, rc, err, cases[i].msg);
  }
}

static void encode_bounds(void **state) {
  (void)state;
  char err[256];
  char *hex;
  /* nesting beyond the limit in a free-form value and in composites */
  char deep[256] = "{\"400\":";
  for (int i = 0; i < 40; i++)
    strcat(deep, "[");
  for (int i = 0; i < 40; i++)
    strcat(deep, "]");
  strcat(deep, "}");
  assert_int_equal(encode_text(deep, 0, &hex, err, sizeof err), WD_EINVAL);
  assert_non_null(strstr(err, "nests deeper"));
  char comp[1024] = "";
  for (int i = 0; i < 20; i++)
    strcat(comp, "{\"or\":[");
  strcat(comp, "{}");
  for (int i = 0; i < 20; i++)
    strcat(comp, "]}");
  assert_int_equal(encode_text(comp, 0, &hex, err, sizeof err), WD_EINVAL);
  /* output larger than a CAT can be */
  json_t *big = json_object();
  char *s = malloc(5000);
  memset(s, 'a', 4999);
  s[4999] = '\0';
  json_object_set_new(big, "sub", json_string(s));
  free(s);
  uint8_t *out = NULL;
  size_t n;
  assert_int_equal(wd__cat_claims_from_json(big, &out, &n, err, sizeof err), WD_ETOOBIG);
  assert_null(out);
  json_decref(big);
}

/* ---- decoding ---- */

/* hex may contain spaces for readability */
static void assert_decodes(const char *spaced, const char *want_json) {
  char hex[1024];
  size_t h = 0;
  for (const char *c = spaced; *c && h < sizeof hex - 1; c++)
    if (*c != ' ')
      hex[h++] = *c;
  hex[h] = '\0';
  size_t n;
  uint8_t *b = tu_hex(hex, &n);
  json_t *got = wd__cat_claims_to_json(b, n);
  json_error_t je;
  json_t *want = json_loads(want_json, 0, &je);
  assert_non_null(want);
  assert_json_equal(got, want, hex);
  json_decref(got);
  json_decref(want);
  free(b);
}

static void decode_shapes(void **state) {
  (void)state;
  /* catnip: truncated prefixes (Akamai), full addresses, ASN; node-cat's text forms */
  assert_decodes("a119013784d834821818 43c0a801 d834440a000001 d836821820 4420010db8 1a00010000",
                 "{\"catnip\":[\"192.168.1.0/24\",\"10.0.0.1\",\"2001:db8:0:0:0:0:0:0/32\",65536]}");
  /* catu with a bstr digest (CTA-5007) and an unknown component label */
  assert_decodes("a1190138a203a1204201ff09a10061 78",
                 "{\"catu\":{\"path\":{\"sha256-match\":\"01ff\"},\"9\":{\"exact-match\":\"x\"}}}");
  /* catr: unknown type stays a number */
  assert_decodes("a1190143a20009 0118 78", "{\"catr\":{\"type\":9,\"expadd\":120}}");
  /* catalpn, crit, cnf, catdpop, cattpk */
  assert_decodes("a119013a82426832 4201ff", "{\"catalpn\":[\"h2\",\"01ff\"]}");
  assert_decodes("a1182d8319013804 190190", "{\"crit\":[\"catu\",\"exp\",400]}");
  assert_decodes("a108a1034400112233", "{\"cnf\":{\"jkt\":\"00112233\"}}");
  assert_decodes("a1190141a20019012c0101", "{\"catdpop\":{\"window\":300,\"jti\":1}}");
  /* unknown claims under their label; text keys as they are; tags generic */
  assert_decodes("a3190190f5 6161 d82001 3903e7 f93c00",
                 "{\"400\":true,\"a\":{\"tag\":32,\"value\":1},\"-1000\":1.0}");
  /* node-cat's legacy tag-259 map wrappers are looked through */
  assert_decodes("d90103a2016161190138d90103a103d90103a101622f63",
                 "{\"iss\":\"a\",\"catu\":{\"path\":{\"prefix-match\":\"/c\"}}}");
  /* catif with a location [url, claims] */
  assert_decodes("a1190142a119013883190193a1684c6f636174696f6e826f68747470733a2f2f612f3f6361743d"
                 "a30161690741ab190138a103a100612f616b",
                 "{\"catif\":{\"catu\":[403,{\"Location\":[\"https://a/?cat=\",{\"iss\":\"i\","
                 "\"cti\":\"ab\",\"catu\":{\"path\":{\"exact-match\":\"/\"}}}]},\"k\"]}}");
  /* indefinite-length strings and containers */
  assert_decodes("bf 01 7f 6161 6162 ff 0d 9f ff ff", "{\"iss\":\"ab\",\"13\":[]}");
}

/* Bytes that must not decode, must not crash and must not leak. */
static void decode_rejects(void **state) {
  (void)state;
  static const char *bad[] = {
      "",            /* nothing */
      "01",          /* not a map */
      "a1",          /* truncated */
      "a10164",      /* text past the end */
      "a2010101",    /* one pair short */
      "a10101ff",    /* trailing bytes */
      "bb7fffffffffffffff", /* huge count */
      "a1019b00000000ffffffff", /* huge array count */
      "a1017f6161",  /* unterminated indefinite text */
      "a1017f0101ff", /* indefinite text with a non-text chunk */
      "a101fc",      /* reserved additional info */
      "a101ff",      /* break outside an indefinite item */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    size_t n = 0;
    uint8_t *b = strlen(bad[i]) ? tu_hex(bad[i], &n) : malloc(1);
    json_t *j = wd__cat_claims_to_json(b, n);
    if (j)
      fail_msg("decoded %s", bad[i]);
    free(b);
  }
  /* 10,000 nested arrays, then tags, in a claim value: {0: [[[...0]]]} */
  size_t n = 2 + 10000 + 1;
  uint8_t *deep = malloc(n);
  deep[0] = 0xa1;
  deep[1] = 0x00;
  memset(deep + 2, 0x81, n - 3);
  deep[n - 1] = 0x00;
  assert_null(wd__cat_claims_to_json(deep, n));
  for (size_t i = 2; i + 1 < n - 1; i += 2) {
    deep[i] = 0xd8;
    deep[i + 1] = 0x20;
  }
  assert_null(wd__cat_claims_to_json(deep, n));
  /* nested composites: {41: [{41: [...{}]}]} */
  size_t nc = 2500 * 4 + 1;
  uint8_t *comp = malloc(nc);
  for (size_t i = 0; i + 4 <= nc - 1; i += 4)
    memcpy(comp + i, "\xa1\x18\x29\x81", 4);
  comp[nc - 1] = 0xa0;
  assert_null(wd__cat_claims_to_json(comp, nc));
  free(comp);
  free(deep);
  /* every strict prefix of every vector payload */
  json_t *doc = tu_load_vectors(GENERATED);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(doc, "vectors"), i, v) {
    size_t plen;
    uint8_t *p = vector_payload(json_string_value(json_object_get(v, "hex")), &plen);
    for (size_t k = 0; k < plen; k++) {
      uint8_t *cut = malloc(k + 1);
      memcpy(cut, p, k);
      json_t *j = wd__cat_claims_to_json(cut, k);
      if (j)
        fail_msg("prefix %zu of %s decoded", k, json_string_value(json_object_get(v, "name")));
      free(cut);
    }
    free(p);
  }
  json_decref(doc);
}

/* Mutated payloads: whatever comes out, nothing crashes or leaks (ASan watches). */
static void decode_mutations(void **state) {
  (void)state;
  json_t *doc = tu_load_vectors(GENERATED);
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  size_t i, decoded = 0;
  json_t *v;
  json_array_foreach(json_object_get(doc, "vectors"), i, v) {
    size_t plen;
    uint8_t *p = vector_payload(json_string_value(json_object_get(v, "hex")), &plen);
    uint8_t *m = malloc(plen);
    for (int round = 0; round < 3000; round++) {
      memcpy(m, p, plen);
      for (int k = 0; k < 1 + round % 4; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        m[(x >> 8) % plen] = (uint8_t)x;
      }
      json_t *j = wd__cat_claims_to_json(m, plen);
      if (j) {
        decoded++;
        uint8_t *out = NULL;
        size_t n;
        char err[256];
        if (wd__cat_claims_from_json(j, &out, &n, err, sizeof err) == 0)
          free(out);
      }
      json_decref(j);
    }
    free(m);
    free(p);
  }
  assert_true(decoded > 0); /* many single-byte changes leave a valid map */
  json_decref(doc);
}

/* ---- inspect ---- */

static void inspect_vectors(void **state) {
  (void)state;
  json_t *doc = tu_load_vectors(GENERATED);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(doc, "vectors"), i, v) {
    const char *name = json_string_value(json_object_get(v, "name"));
    const char *tok = json_string_value(json_object_get(v, "token"));
    json_t *out = NULL;
    assert_int_equal(wd__cat_inspect(tok, strlen(tok), &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "scheme")), "cat");
    assert_json_equal(json_object_get(out, "tags"), json_object_get(v, "tags"), name);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "protected"), "alg")), 5);
    json_t *unp = json_object_get(out, "unprotected");
    assert_string_equal(json_string_value(json_object_get(unp, "kid_text")), "Symmetric256");
    assert_string_equal(json_string_value(json_object_get(unp, "kid")), "53796d6d6574726963323536");
    json_t *want = expected_claims(v);
    assert_json_equal(json_object_get(out, "claims"), want, name);
    json_decref(want);
    /* the MAC is the last 32 bytes of the structure */
    const char *hex = json_string_value(json_object_get(v, "hex"));
    assert_string_equal(json_string_value(json_object_get(out, "mac")), hex + strlen(hex) - 64);
    if (!json_is_true(json_object_get(v, "payloadIsBstr")))
      assert_string_equal(json_string_value(json_object_get(out, "payload_format")), "hex-text");
    json_decref(out);
    /* through the dispatcher too */
    char err[128];
    assert_int_equal(wd_token_inspect(tok, strlen(tok), &out, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "scheme")), "cat");
    json_decref(out);
  }
  json_decref(doc);

  doc = tu_load_vectors(PUBLISHED);
  json_array_foreach(doc, i, v) {
    const char *tok = json_string_value(json_object_get(v, "token"));
    json_t *out = NULL;
    if (wd__cat_inspect(tok, strlen(tok), &out))
      fail_msg("%s does not inspect", json_string_value(json_object_get(v, "id")));
    assert_json_equal(json_object_get(out, "tags"), json_object_get(v, "tags"),
                      json_string_value(json_object_get(v, "id")));
    assert_true(json_is_object(json_object_get(out, "claims")));
    assert_non_null(json_object_get(json_object_get(out, "unprotected"), "kid"));
    json_decref(out);
  }
  json_decref(doc);
}

static void inspect_published_details(void **state) {
  (void)state;
  json_t *doc = tu_load_vectors(PUBLISHED);
  size_t i;
  json_t *v;
  json_array_foreach(doc, i, v) {
    const char *id = json_string_value(json_object_get(v, "id"));
    const char *tok = json_string_value(json_object_get(v, "token"));
    json_t *out = NULL;
    assert_int_equal(wd__cat_inspect(tok, strlen(tok), &out), 0);
    json_t *claims = json_object_get(out, "claims");
    if (!strcmp(id, "nodecat-catu-legacy-tag259")) {
      json_t *want = json_loads("{\"iss\":\"eyevinn\",\"catu\":{\"scheme\":{\"exact-match\":\"https\"},"
                                "\"path\":{\"prefix-match\":\"/content\"},\"extension\":"
                                "{\"exact-match\":\".m3u8\"}}}", 0, NULL);
      assert_json_equal(claims, want, id);
      json_decref(want);
      assert_string_equal(json_string_value(json_object_get(json_object_get(out, "unprotected"),
                                                            "kid_text")), "Symmetric256");
    } else if (!strcmp(id, "nodecat-readme-rfc8392-style-hmac64")) {
      assert_string_equal(json_string_value(json_object_get(out, "payload_format")), "hex-text");
      assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "protected"), "alg")), 4);
      assert_string_equal(json_string_value(json_object_get(claims, "cti")), "0b71");
      assert_string_equal(json_string_value(json_object_get(out, "mac")), "ab8293ffa4166958");
    } else if (!strcmp(id, "zig-readme")) {
      assert_string_equal(json_string_value(json_object_get(claims, "cti")),
                          "3562626334323635656661303138623862353863623939343263623038316631");
      assert_string_equal(json_string_value(json_object_get(claims, "sub")), "user123");
    }
    json_decref(out);
  }
  json_decref(doc);
}

static char *b64url(const uint8_t *b, size_t n) {
  char *s = malloc(wd_b64_enc_len(n, 0) + 1);
  wd_b64_encode(b, n, s, 1, 0);
  return s;
}

static void inspect_rejects(void **state) {
  (void)state;
  static const char *bad[] = {
      "",
      "hello",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
      "st=1700000000~exp=1800000000~acl=/*~hmac=00ff",
      "0123456789abcdef0123456789abcdef",
      "2D3RhEOh", /* a CWT tag and nothing more */
      "AAAAAAAAAAAA",
      "hEOhAQWhBExTeW1tZXRyaWMyNTZYAA", /* array of 4, truncated */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *out = NULL;
    assert_int_equal(wd__cat_inspect(bad[i], strlen(bad[i]), &out), WD_EMALFORMED);
    assert_null(out);
  }
  /* every prefix of a vector token */
  json_t *doc = tu_load_vectors(GENERATED);
  const char *tok =
      json_string_value(json_object_get(json_array_get(json_object_get(doc, "vectors"), 0), "token"));
  size_t len = strlen(tok);
  for (size_t k = 0; k < len - 1; k++) {
    json_t *out = NULL;
    if (wd__cat_inspect(tok, k, &out) != WD_EMALFORMED)
      fail_msg("prefix %zu of a token inspected", k);
  }
  json_decref(doc);
  /* deep nesting in the envelope: 61(17([h'', {4: [[[[...]]]]}, ...])) */
  size_t n = 6000;
  uint8_t *b = malloc(n);
  size_t o = 0;
  const uint8_t head[] = {0xd8, 0x3d, 0xd1, 0x84, 0x40, 0xa1, 0x04};
  memcpy(b, head, sizeof head);
  o = sizeof head;
  while (o < n - 4)
    b[o++] = 0x81;
  b[o++] = 0x00;
  b[o++] = 0x40;
  b[o++] = 0x40;
  char *t = b64url(b, o);
  json_t *out = NULL;
  assert_int_equal(wd__cat_inspect(t, strlen(t), &out), WD_EMALFORMED);
  free(t);
  /* deep nesting inside the payload: the envelope inspects, the claims do not decode */
  const uint8_t head2[] = {0xd8, 0x3d, 0xd1, 0x84, 0x40, 0xa0, 0x59, 0x13, 0x88};
  o = 0;
  memcpy(b, head2, sizeof head2);
  o = sizeof head2;
  b[o++] = 0xa1;
  b[o++] = 0x00;
  for (int k = 0; k < 4997; k++)
    b[o++] = 0x81;
  b[o++] = 0x00;
  b[o++] = 0x40;
  t = b64url(b, o);
  assert_int_equal(wd__cat_inspect(t, strlen(t), &out), 0);
  assert_null(json_object_get(out, "claims"));
  assert_true(json_is_string(json_object_get(out, "payload")));
  json_decref(out);
  free(t);
  free(b);
}

/* ---- issue ---- */

static wd_keyring_t *vector_ring(void) {
  wd_keyring_t *ring;
  assert_int_equal(wd_keyring_create(&ring), 0);
  size_t n;
  uint8_t *k = tu_hex("403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388", &n);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_NONE, "Symmetric256", 12, NULL,
                                         k, n, NULL),
                   0);
  free(k);
  return ring;
}

static void issue_reproduces_vectors(void **state) {
  (void)state;
  wd_keyring_t *ring = vector_ring();
  json_t *doc = tu_load_vectors(GENERATED);
  size_t i, checked = 0;
  json_t *v;
  json_array_foreach(json_object_get(doc, "vectors"), i, v) {
    if (!json_is_true(json_object_get(v, "payloadIsBstr")))
      continue; /* node-cat's legacy text payload is not issued */
    wd_issue_opts_t o = {0};
    o.kid = "Symmetric256";
    o.cat.tagless = !json_is_true(json_object_get(v, "expectCwtTag"));
    char *tok = NULL, err[256];
    int rc = wd_token_issue(ring, WD_SCHEME_CAT, json_object_get(v, "inputJson"), &o, &tok, err,
                            sizeof err);
    if (rc)
      fail_msg("%s: rc %d: %s", json_string_value(json_object_get(v, "name")), rc, err);
    assert_string_equal(tok, json_string_value(json_object_get(v, "token")));
    free(tok);
    checked++;
  }
  assert_true(checked >= 7);
  json_decref(doc);
  wd_keyring_destroy(ring);
}

static json_t *issue_and_inspect(const wd_keyring_t *ring, const char *claims,
                                 const wd_issue_opts_t *o) {
  json_t *c = json_loads(claims, 0, NULL);
  assert_non_null(c);
  char *tok = NULL, err[256];
  int rc = wd_token_issue(ring, WD_SCHEME_CAT, c, o, &tok, err, sizeof err);
  json_decref(c);
  if (rc)
    fail_msg("%s: rc %d: %s", claims, rc, err);
  json_t *out = NULL;
  assert_int_equal(wd__cat_inspect(tok, strlen(tok), &out), 0);
  free(tok);
  return out;
}

static void issue_options(void **state) {
  (void)state;
  wd_keyring_t *ring = vector_ring();
  wd_issue_opts_t o = {0};
  o.now = 1700000000;
  o.ttl = 300;
  /* ttl sets exp only when absent */
  json_t *out = issue_and_inspect(ring, "{\"iss\":\"a\"}", &o);
  json_t *claims = json_object_get(out, "claims");
  assert_int_equal(json_integer_value(json_object_get(claims, "exp")), 1700000300);
  assert_null(json_object_get(claims, "iat")); /* claims kept as given, like node-cat */
  assert_int_equal(json_integer_value(json_object_get(claims, "catv")), 1);
  json_decref(out);
  out = issue_and_inspect(ring, "{\"iss\":\"a\",\"exp\":5}", &o);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "claims"), "exp")), 5);
  json_decref(out);
  /* untagged, client IP bound as catnip */
  o.ttl = 0;
  o.cat.tagless = 1;
  o.ip = "203.0.113.7";
  out = issue_and_inspect(ring, "{}", &o);
  json_t *tags = json_object_get(out, "tags");
  assert_int_equal(json_array_size(tags), 1);
  assert_int_equal(json_integer_value(json_array_get(tags, 0)), 17);
  assert_string_equal(
      json_string_value(json_array_get(json_object_get(json_object_get(out, "claims"), "catnip"), 0)),
      "203.0.113.7");
  json_decref(out);
  wd_keyring_destroy(ring);
}

static void issue_errors(void **state) {
  (void)state;
  wd_keyring_t *ring = vector_ring();
  wd_issue_opts_t o = {0};
  char *tok = NULL, err[256];
  json_t *c = json_loads("{\"exp\":\"later\"}", 0, NULL);
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_CAT, c, &o, &tok, err, sizeof err), WD_EINVAL);
  assert_non_null(strstr(err, "claim exp must be an integer"));
  assert_null(tok);
  json_decref(c);
  c = json_loads("{\"iss\":\"a\"}", 0, NULL);
  o.kid = "other";
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_CAT, c, &o, &tok, err, sizeof err), WD_ENOKEY);
  assert_non_null(strstr(err, "no CAT signing key"));
  wd_keyring_t *empty;
  assert_int_equal(wd_keyring_create(&empty), 0);
  o.kid = NULL;
  assert_int_equal(wd_token_issue(empty, WD_SCHEME_CAT, c, &o, &tok, err, sizeof err), WD_ENOKEY);
  assert_string_equal(err, "no CAT signing key (give --key-hex or --key-file)");
  assert_null(tok);
  json_decref(c);
  wd_keyring_destroy(empty);
  wd_keyring_destroy(ring);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vectors_encode_byte_identical),
      cmocka_unit_test(vectors_decode_like_todict),
      cmocka_unit_test(node_cat_shapes),
      cmocka_unit_test(cta_shapes),
      cmocka_unit_test(composite_labels),
      cmocka_unit_test(wrong_types_name_the_claim),
      cmocka_unit_test(encode_bounds),
      cmocka_unit_test(decode_shapes),
      cmocka_unit_test(decode_rejects),
      cmocka_unit_test(decode_mutations),
      cmocka_unit_test(inspect_vectors),
      cmocka_unit_test(inspect_published_details),
      cmocka_unit_test(inspect_rejects),
      cmocka_unit_test(issue_reproduces_vectors),
      cmocka_unit_test(issue_options),
      cmocka_unit_test(issue_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
