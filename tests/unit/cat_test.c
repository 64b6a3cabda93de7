/*
 * CAT verification (lib/token/cat.c, cat_claims.c): every vector of tests/vectors/cat reproduces
 * its expected outcome; every claim passes and fails where it should; renewal and catif produce
 * the answers node-cat's HTTP flow shows; hostile input ends in a clean WD_E* code.
 *
 * Claim tests build their tokens here: CBOR written with libcbor's encoders, sealed with
 * wd__cose_seal under the RFC 8392 Symmetric256 key.
 */
#define _GNU_SOURCE /* memmem */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "token/cat_internal.h"
#include "util/codec.h"

#define KEY_HEX "403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388"
#define NOW 1750000000
#define URL "https://cdn.example.com/content/a/index.m3u8"

static wd_keyring_t *ring;
static wd_verifier_t *ver;
static const wd_key_t *key; /* kid Symmetric256, HS256 */

static int setup(void **state) {
  size_t n;
  uint8_t *k = tu_hex(KEY_HEX, &n);
  assert_int_equal(wd_keyring_create(&ring), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_HS256, "Symmetric256", 12,
                                         NULL, k, n, &key), 0);
  assert_int_equal(wd_verifier_create(ring, &ver), 0);
  free(k);
  (void)state;
  return 0;
}

static int teardown(void **state) {
  wd_verifier_destroy(ver);
  wd_keyring_destroy(ring);
  (void)state;
  return 0;
}

/* ---- building tokens ---- */

typedef struct cb {
  uint8_t b[8192];
  size_t n;
} cb_t;

static void put(cb_t *c, size_t w) {
  assert_true(w > 0);
  c->n += w;
}
static void cb_u(cb_t *c, uint64_t v) { put(c, cbor_encode_uint(v, c->b + c->n, sizeof c->b - c->n)); }
static void cb_i(cb_t *c, int64_t v) {
  if (v >= 0)
    cb_u(c, (uint64_t)v);
  else
    put(c, cbor_encode_negint((uint64_t)(-1 - v), c->b + c->n, sizeof c->b - c->n));
}
static void cb_raw(cb_t *c, const void *p, size_t n) {
  assert_true(c->n + n <= sizeof c->b);
  memcpy(c->b + c->n, p, n);
  c->n += n;
}
static void cb_s(cb_t *c, const char *s) {
  put(c, cbor_encode_string_start(strlen(s), c->b + c->n, sizeof c->b - c->n));
  cb_raw(c, s, strlen(s));
}
static void cb_b(cb_t *c, const void *p, size_t n) {
  put(c, cbor_encode_bytestring_start(n, c->b + c->n, sizeof c->b - c->n));
  cb_raw(c, p, n);
}
static void cb_a(cb_t *c, size_t n) { put(c, cbor_encode_array_start(n, c->b + c->n, sizeof c->b - c->n)); }
static void cb_m(cb_t *c, size_t n) { put(c, cbor_encode_map_start(n, c->b + c->n, sizeof c->b - c->n)); }
static void cb_t_(cb_t *c, uint64_t t) { put(c, cbor_encode_tag(t, c->b + c->n, sizeof c->b - c->n)); }
static void cb_f(cb_t *c, double d) { put(c, cbor_encode_double(d, c->b + c->n, sizeof c->b - c->n)); }

/* {1: "eyevinn", 4: NOW + 3600, ...extra entries follow} */
static void base(cb_t *c, size_t extra) {
  c->n = 0;
  cb_m(c, 2 + extra);
  cb_u(c, 1);
  cb_s(c, "eyevinn");
  cb_u(c, 4);
  cb_u(c, NOW + 3600);
}

static char *to_text(const uint8_t *b, size_t n) {
  char *t = malloc(wd_b64_enc_len(n, 0) + 1);
  wd_b64_encode(b, n, t, 1, 0);
  return t;
}

static char *seal_with(const wd_key_t *k, const cb_t *p, int untagged) {
  uint8_t *out = NULL;
  size_t n = 0;
  assert_int_equal(wd__cose_seal(k, p->b, p->n, untagged, &out, &n), 0);
  char *t = to_text(out, n);
  free(out);
  return t;
}

static wd_request_t request(void) {
  wd_request_t q;
  memset(&q, 0, sizeof q);
  q.now = NOW;
  q.url = URL;
  q.ip = "10.0.0.1";
  q.method = "GET";
  return q;
}

static int verify_text(const char *t, const wd_verify_opts_t *o, const wd_request_t *q,
                       wd_result_t *r) {
  static const wd_verify_opts_t dflt;
  wd_request_t dq = request();
  wd_result_init(r);
  return wd_token_verify(ver, o ? o : &dflt, WD_SCHEME_CAT, t, t ? strlen(t) : 0, q ? q : &dq, r);
}

/* Seal p, verify it; check code and failed claim; return the code. */
static int expect_(const cb_t *p, const wd_verify_opts_t *o, const wd_request_t *q, int code,
                   const char *claim, const char *reason_part, int line) {
  char *t = seal_with(key, p, 0);
  wd_result_t r;
  int rc = verify_text(t, o, q, &r);
  if (rc != code || (claim && strcmp(r.failed_claim, claim)) ||
      (reason_part && !strstr(r.reason, reason_part)))
    fail_msg("line %d: got %d (%s) claim '%s' reason \"%s\"; want %d claim '%s' reason ~\"%s\"", line,
             rc, wd_errname(rc), r.failed_claim, r.reason, code, claim ? claim : "",
             reason_part ? reason_part : "");
  if (rc == 0)
    assert_string_equal(r.reason, "");
  wd_result_cleanup(&r);
  free(t);
  return rc;
}
#define EXPECT(p, o, q, code, claim, part) expect_(p, o, q, code, claim, part, __LINE__)

/* ---- vectors ---- */

static void generated_vectors(void **state) {
  (void)state;
  json_t *vec = tu_load_vectors("cat/eyevinn-node-cat-generated.json");
  size_t i;
  json_t *v;
  int n = 0;
  json_array_foreach(json_object_get(vec, "vectors"), i, v) {
    const char *name = json_string_value(json_object_get(v, "name"));
    const char *tok = json_string_value(json_object_get(v, "token"));
    json_t *lv = json_object_get(v, "libraryValidate");
    int ok = json_is_true(json_object_get(lv, "ok"));
    const char *err = json_string_value(json_object_get(lv, "error"));
    /* the hex is the decoded token */
    size_t hn, rn;
    uint8_t *hex = tu_hex(json_string_value(json_object_get(v, "hex")), &hn), raw[4096];
    assert_int_equal(wd_b64_decode(tok, strlen(tok), raw, sizeof raw, &rn, WD_B64_URL), 0);
    assert_int_equal(rn, hn);
    assert_memory_equal(raw, hex, hn);
    free(hex);

    wd_verify_opts_t o;
    memset(&o, 0, sizeof o);
    wd_request_t q = request();
    wd_result_t r;
    int payload_bstr = json_is_true(json_object_get(v, "payloadIsBstr"));
    int rc = verify_text(tok, &o, &q, &r);
    if (!payload_bstr) {
      /* node-cat's hex-text payload: refused unless allowed */
      assert_int_equal(rc, WD_EMALFORMED);
      assert_non_null(strstr(r.reason, "text"));
      wd_result_cleanup(&r);
      o.cat.allow_text_payload = 1;
      rc = verify_text(tok, &o, &q, &r);
    }
    if (ok) {
      if (rc)
        fail_msg("%s: %s", name, r.reason);
      json_t *claims = json_object_get(lv, "claims");
      const char *cti = json_string_value(json_object_get(claims, "cti"));
      assert_string_equal(r.id.issuer, json_string_value(json_object_get(claims, "iss")));
      if (cti)
        assert_string_equal(r.id.token_id, cti);
      else
        assert_int_equal(strncmp(r.id.token_id, "sha256:", 7), 0);
      assert_true(r.id.exp == json_integer_value(json_object_get(claims, "exp")));
      if (json_object_get(claims, "catreplay"))
        assert_int_equal(r.replay, json_integer_value(json_object_get(claims, "catreplay")));
      else
        assert_int_equal(r.replay, -1);
    } else if (strstr(err, "Expired")) {
      assert_int_equal(rc, WD_EEXPIRED);
      assert_string_equal(r.failed_claim, "exp");
    } else {
      /* UriNotAllowedError for the URL the vector names */
      assert_non_null(strstr(err, URL));
      assert_int_equal(rc, WD_ECLAIM);
      assert_string_equal(r.failed_claim, "catu");
      assert_non_null(strstr(r.reason, "path \"/content/a/index.m3u8\" does not match regex"));
    }
    wd_result_cleanup(&r);
    n++;
  }
  assert_int_equal(n, 8);
  json_decref(vec);
}

static const char *published(json_t *vec, const char *id) {
  size_t i;
  json_t *v;
  json_array_foreach(vec, i, v) {
    if (!strcmp(json_string_value(json_object_get(v, "id")), id))
      return json_string_value(json_object_get(v, "token"));
  }
  fail_msg("no vector %s", id);
  return NULL;
}

/* Verify with a ring holding the test key without a kid (the published tokens carry other kids,
 * and a kid-less key is tried for any kid). */
static wd_verifier_t *anykid_ver;
static int verify_any(const char *t, const wd_verify_opts_t *o, const wd_request_t *q,
                      wd_result_t *r) {
  wd_result_init(r);
  return wd_token_verify(anykid_ver, o, WD_SCHEME_CAT, t, strlen(t), q, r);
}

static void published_vectors(void **state) {
  (void)state;
  json_t *vec = tu_load_vectors("cat/published-test-tokens.json");
  wd_verify_opts_t o;
  wd_request_t q = request();
  wd_result_t r;
  const char *t;
  wd_keyring_t *anyring;
  size_t kn;
  uint8_t *ksec = tu_hex(KEY_HEX, &kn);
  assert_int_equal(wd_keyring_create(&anyring), 0);
  assert_int_equal(wd_keyring_add_secret(anyring, WD_SCHEME_CAT, WD_ALG_HS256, NULL, 0, NULL, ksec, kn, NULL), 0);
  assert_int_equal(wd_verifier_create(anyring, &anykid_ver), 0);
  free(ksec);
  /* the kid-pinned ring does not know kid akamai_key_hs256 */
  memset(&o, 0, sizeof o);
  assert_int_equal(verify_text(published(vec, "nodecat-not-expired"), &o, &q, &r), WD_ENOKEY);
  assert_non_null(strstr(r.reason, "akamai_key_hs256"));
  wd_result_cleanup(&r);

  /* nodecat-expired: exp 1742159862; boundary: valid during its exp second */
  t = published(vec, "nodecat-expired");
  memset(&o, 0, sizeof o);
  assert_int_equal(verify_any(t, &o, &q, &r), WD_EEXPIRED);
  assert_string_equal(r.failed_claim, "exp");
  wd_result_cleanup(&r);
  q.now = 1742159862;
  assert_int_equal(verify_any(t, &o, &q, &r), WD_ENOTYET); /* nbf 1742159883 is later */
  wd_result_cleanup(&r);
  o.leeway = 30;
  assert_int_equal(verify_any(t, &o, &q, &r), 0);
  wd_result_cleanup(&r);
  q.now = 1742159862 + 30;
  assert_int_equal(verify_any(t, &o, &q, &r), 0);
  wd_result_cleanup(&r);
  q.now = 1742159862 + 31;
  assert_int_equal(verify_any(t, &o, &q, &r), WD_EEXPIRED);
  wd_result_cleanup(&r);

  /* nodecat-not-expired; with the one-nibble-changed key the MAC fails */
  t = published(vec, "nodecat-not-expired");
  memset(&o, 0, sizeof o);
  q.now = NOW;
  assert_int_equal(verify_any(t, &o, &q, &r), 0);
  assert_int_equal(r.id.exp, 1963080379);
  assert_int_equal(strncmp(r.id.token_id, "sha256:", 7), 0); /* no cti */
  wd_result_cleanup(&r);
  {
    wd_keyring_t *kr;
    wd_verifier_t *kv;
    size_t n;
    uint8_t *k = tu_hex("403697de87af64611c1d32b05dab0fe1fcb715a86ab435f1ec99192d79569388", &n);
    assert_int_equal(wd_keyring_create(&kr), 0);
    assert_int_equal(wd_keyring_add_secret(kr, WD_SCHEME_CAT, WD_ALG_HS256, NULL, 0, NULL, k, n, NULL), 0);
    assert_int_equal(wd_verifier_create(kr, &kv), 0);
    wd_result_init(&r);
    assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, t, strlen(t), &q, &r), WD_ESIGNATURE);
    wd_result_cleanup(&r);
    wd_verifier_destroy(kv);
    wd_keyring_destroy(kr);
    free(k);
  }

  /* nodecat-cwt-tag-iss / nodecat-wrong-issuer */
  const char *issuers[] = {"coap://jonas.example.com"};
  o.cat.issuers = issuers;
  o.cat.nissuers = 1;
  assert_int_equal(verify_any(published(vec, "nodecat-cwt-tag-iss"), &o, &q, &r), 0);
  assert_string_equal(r.id.issuer, "coap://jonas.example.com");
  assert_int_equal(r.id.iat, 1741985961);
  wd_result_cleanup(&r);
  assert_int_equal(verify_any(published(vec, "nodecat-wrong-issuer"), &o, &q, &r), WD_EISSUER);
  assert_string_equal(r.failed_claim, "iss");
  assert_non_null(strstr(r.reason, "\"jonas\""));
  wd_result_cleanup(&r);
  /* a token without iss when issuers are configured */
  assert_int_equal(verify_any(published(vec, "nodecat-not-expired"), &o, &q, &r), WD_EISSUER);
  wd_result_cleanup(&r);
  memset(&o, 0, sizeof o);

  /* nodecat-audience */
  const char *aud_ok[] = {"one", "three"}, *aud_bad[] = {"three"};
  o.cat.audiences = aud_ok;
  o.cat.naudiences = 2;
  assert_int_equal(verify_any(published(vec, "nodecat-audience"), &o, &q, &r), 0);
  wd_result_cleanup(&r);
  o.cat.audiences = aud_bad;
  o.cat.naudiences = 1;
  assert_int_equal(verify_any(published(vec, "nodecat-audience"), &o, &q, &r), WD_EAUDIENCE);
  assert_string_equal(r.failed_claim, "aud");
  wd_result_cleanup(&r);
  memset(&o, 0, sizeof o);

  /* nodecat-catu-legacy-tag259: refused by default, accepted when lenient */
  t = published(vec, "nodecat-catu-legacy-tag259");
  q.url = "https://example.com/content/path/file.m3u8";
  assert_int_equal(verify_any(t, &o, &q, &r), WD_EMALFORMED);
  assert_non_null(strstr(r.reason, "259"));
  wd_result_cleanup(&r);
  o.cat.unknown = WD_CAT_UNKNOWN_LENIENT;
  assert_int_equal(verify_any(t, &o, &q, &r), 0);
  wd_result_cleanup(&r);
  q.url = "https://example.com/other/path/file.m3u8";
  assert_int_equal(verify_any(t, &o, &q, &r), WD_ECLAIM);
  assert_string_equal(r.failed_claim, "catu");
  wd_result_cleanup(&r);
  q.url = URL;
  memset(&o, 0, sizeof o);

  /* nodecat-legacy-text-payload */
  t = published(vec, "nodecat-legacy-text-payload");
  assert_int_equal(verify_any(t, &o, &q, &r), WD_EMALFORMED);
  wd_result_cleanup(&r);
  o.cat.allow_text_payload = 1;
  assert_int_equal(verify_any(t, &o, &q, &r), 0);
  assert_string_equal(r.id.issuer, "coap://as.example.com");
  wd_result_cleanup(&r);

  /* nodecat-readme-rfc8392-style-hmac64: alg 4, needs a key pinned to HS256/64 */
  t = published(vec, "nodecat-readme-rfc8392-style-hmac64");
  assert_int_equal(verify_any(t, &o, &q, &r), WD_ENOKEY);
  wd_result_cleanup(&r);
  {
    wd_keyring_t *kr;
    wd_verifier_t *kv;
    size_t n;
    uint8_t *k = tu_hex(KEY_HEX, &n);
    assert_int_equal(wd_keyring_create(&kr), 0);
    assert_int_equal(wd_keyring_add_secret(kr, WD_SCHEME_CAT, WD_ALG_HS256_64, "Symmetric256", 12,
                                           NULL, k, n, NULL), 0);
    assert_int_equal(wd_verifier_create(kr, &kv), 0);
    wd_result_init(&r);
    assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, t, strlen(t), &q, &r), WD_EEXPIRED);
    wd_result_cleanup(&r);
    q.now = 1444000000;
    wd_result_init(&r);
    assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, t, strlen(t), &q, &r), 0);
    assert_string_equal(r.id.subject, "jonas");
    assert_string_equal(r.id.token_id, "0b71");
    wd_result_cleanup(&r);
    q.now = NOW;
    wd_verifier_destroy(kv);
    wd_keyring_destroy(kr);
    free(k);
  }
  memset(&o, 0, sizeof o);

  /* zig-readme: cti is 32 ASCII bytes */
  t = published(vec, "zig-readme");
  q.now = 1762282100;
  assert_int_equal(verify_any(t, &o, &q, &r), 0);
  assert_string_equal(r.id.token_id,
                      "3562626334323635656661303138623862353863623939343263623038316631");
  assert_string_equal(r.id.subject, "user123");
  wd_result_cleanup(&r);
  q.now = 1762282199;
  assert_int_equal(verify_any(t, &o, &q, &r), WD_EEXPIRED);
  wd_result_cleanup(&r);
  wd_verifier_destroy(anykid_ver);
  wd_keyring_destroy(anyring);
  json_decref(vec);
}

/* ---- renewal ---- */

/* Decode a token's payload and return the value span of a claim (or NULL). */
static const uint8_t *payload_claim(const char *tok, int64_t label, size_t *len, uint8_t *raw,
                                    size_t *labels_out, int64_t *labels) {
  static uint8_t scratch[WD_CAT_SCRATCH];
  size_t rn = 0, used = 0;
  wd_cose_t m;
  char why[200];
  assert_int_equal(wd_b64_decode(tok, strlen(tok), raw, 4096, &rn, WD_B64_URL), 0);
  assert_int_equal(wd__cose_open(raw, rn, scratch, sizeof scratch, &used, &m, why, sizeof why), 0);
  wd_cbor_reader_t rd;
  wd_cbor_item_t map, k;
  uint64_t i = 0;
  const uint8_t *found = NULL;
  size_t nl = 0;
  wd_cbor_init(&rd, m.payload, m.payload_len);
  assert_int_equal(wd_cbor_next(&rd, &map), 0);
  while (wd_cbor_more(&rd, &map, &i) > 0) {
    int64_t l;
    const uint8_t *s;
    size_t n;
    assert_int_equal(wd_cbor_next(&rd, &k), 0);
    assert_int_equal(wd_cbor_int(&k, &l), 0);
    assert_int_equal(wd_cbor_span(&rd, &s, &n), 0);
    if (labels)
      labels[nl++] = l;
    if (l == label) {
      found = s;
      *len = n;
    }
  }
  if (labels_out)
    *labels_out = nl;
  return found;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The renewal-flow input token: {1: eyevinn, 4: exp, 6: iat, 7: cti, 310: 1, 323: catr}. */
static char *flow_token(int64_t exp, const cb_t *catr) {
  cb_t p;
  p.n = 0;
  cb_m(&p, 6);
  cb_u(&p, 1);
  cb_s(&p, "eyevinn");
  cb_u(&p, 4);
  cb_i(&p, exp);
  cb_u(&p, 6);
  cb_i(&p, exp - 600);
  cb_u(&p, 7);
  cb_b(&p, "\x01\x02\x03\x04", 4);
  cb_u(&p, 310);
  cb_u(&p, 1);
  cb_u(&p, 323);
  cb_raw(&p, catr->b, catr->n);
  return seal_with(key, &p, 0);
}

static void check_renewed(const char *renewed, int64_t now, const cb_t *catr, const char *vector_tok) {
  uint8_t raw[4096], raw2[4096];
  size_t n, nl, vl;
  int64_t labels[32], vlabels[32];
  const uint8_t *v;
  /* verifies with the same key */
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  o.cat.no_renew = 1;
  wd_request_t q = request();
  q.now = now;
  wd_result_t r;
  assert_int_equal(verify_text(renewed, &o, &q, &r), 0);
  assert_true(r.id.iat == now);
  assert_true(r.id.exp == now + 120);
  assert_int_equal(strlen(r.id.token_id), 32); /* 16 random bytes */
  assert_string_not_equal(r.id.token_id, "01020304");
  wd_result_cleanup(&r);
  /* catr copied byte for byte */
  v = payload_claim(renewed, 323, &n, raw, &nl, labels);
  assert_non_null(v);
  assert_int_equal(n, catr->n);
  assert_memory_equal(v, catr->b, n);
  /* the same claims as node-cat's renewed token */
  assert_non_null(payload_claim(vector_tok, 323, &n, raw2, &vl, vlabels));
  qsort(labels, nl, sizeof *labels, cmp_i64);
  qsort(vlabels, vl, sizeof *vlabels, cmp_i64);
  assert_int_equal(nl, vl);
  assert_memory_equal(labels, vlabels, nl * sizeof *labels);
}

static const char *flow_header(json_t *res, const char *name) {
  return json_string_value(json_object_get(json_object_get(res, "responseHeaders"), name));
}

static void renewal_flow(void **state) {
  (void)state;
  json_t *flow = tu_load_vectors("cat/eyevinn-http-flow-renewal.json");
  json_t *results = json_object_get(flow, "results");
  int64_t now = json_integer_value(json_object_get(flow, "now"));
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  wd_result_t r;
  cb_t catr;

  /* renew header (inside the window): {0: 2, 4: "cta-common-access-token", 1: 120, 2: 60} */
  catr.n = 0;
  cb_m(&catr, 4);
  cb_u(&catr, 0), cb_u(&catr, 2);
  cb_u(&catr, 4), cb_s(&catr, "cta-common-access-token");
  cb_u(&catr, 1), cb_u(&catr, 120);
  cb_u(&catr, 2), cb_u(&catr, 60);
  char *t = flow_token(now + 30, &catr);
  wd_header_t hdr[2] = {{"CTA-Common-Access-Token", t}, {NULL, NULL}};
  wd_request_t q = request();
  q.now = now;
  q.headers = hdr;
  q.nheaders = 1;
  assert_int_equal(verify_text(NULL, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_HEADER);
  assert_non_null(r.renewed_token);
  assert_int_equal(r.response.nheaders, 1);
  assert_int_equal(r.response.status, 0);
  assert_string_equal(r.response.headers[0].name, "cta-common-access-token");
  assert_string_equal(r.response.headers[0].value, r.renewed_token);
  check_renewed(r.renewed_token, now, &catr,
                flow_header(json_array_get(results, 0), "cta-common-access-token"));
  wd_result_cleanup(&r);
  /* the vector's own renewed token verifies too, and is not renewed again yet (exp - now = 120) */
  assert_int_equal(verify_text(flow_header(json_array_get(results, 0), "cta-common-access-token"),
                               &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_NONE);
  wd_result_cleanup(&r);
  /* no_renew */
  o.cat.no_renew = 1;
  assert_int_equal(verify_text(t, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_NONE);
  assert_int_equal(r.response.nheaders, 0);
  wd_result_cleanup(&r);
  o.cat.no_renew = 0;
  q.nheaders = 0;
  free(t);

  /* outside the window: exp - now = 30 > deadline 10 */
  catr.n = 0;
  cb_m(&catr, 4);
  cb_u(&catr, 0), cb_u(&catr, 2);
  cb_u(&catr, 4), cb_s(&catr, "cta-common-access-token");
  cb_u(&catr, 1), cb_u(&catr, 120);
  cb_u(&catr, 2), cb_u(&catr, 10);
  t = flow_token(now + 30, &catr);
  assert_int_equal(verify_text(t, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_NONE);
  assert_null(r.renewed_token);
  assert_int_equal(r.response.nheaders, 0);
  wd_result_cleanup(&r);
  free(t);

  /* renew cookie with params: {0: 1, 3: name, 1: 120, 2: 60, 5: ["Secure", "HttpOnly"]} */
  catr.n = 0;
  cb_m(&catr, 5);
  cb_u(&catr, 0), cb_u(&catr, 1);
  cb_u(&catr, 3), cb_s(&catr, "cta-common-access-token");
  cb_u(&catr, 1), cb_u(&catr, 120);
  cb_u(&catr, 2), cb_u(&catr, 60);
  cb_u(&catr, 5), cb_a(&catr, 2), cb_s(&catr, "Secure"), cb_s(&catr, "HttpOnly");
  t = flow_token(now + 30, &catr);
  char cookie[1024];
  snprintf(cookie, sizeof cookie, "a=b; cta-common-access-token=%s", t);
  hdr[0] = (wd_header_t){"Cookie", cookie};
  q.nheaders = 1;
  assert_int_equal(verify_text(NULL, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_COOKIE);
  assert_string_equal(r.response.headers[0].name, "Set-Cookie");
  {
    char want[1024];
    snprintf(want, sizeof want, "cta-common-access-token=%s; Secure; HttpOnly", r.renewed_token);
    assert_string_equal(r.response.headers[0].value, want);
    /* the vector's Set-Cookie has the same shape */
    const char *vc = flow_header(json_array_get(results, 2), "set-cookie");
    assert_int_equal(strncmp(vc, "cta-common-access-token=", 24), 0);
    assert_non_null(strstr(vc, "; Secure; HttpOnly"));
    char vt[512];
    size_t vtl = strcspn(vc + 24, ";");
    memcpy(vt, vc + 24, vtl);
    vt[vtl] = '\0';
    check_renewed(r.renewed_token, now, &catr, vt);
  }
  wd_result_cleanup(&r);
  free(t);

  /* renew redirect, token in the query: {0: 3, 1: 120, 2: 60, 7: 307} */
  catr.n = 0;
  cb_m(&catr, 4);
  cb_u(&catr, 0), cb_u(&catr, 3);
  cb_u(&catr, 1), cb_u(&catr, 120);
  cb_u(&catr, 2), cb_u(&catr, 60);
  cb_u(&catr, 7), cb_u(&catr, 307);
  t = flow_token(now + 30, &catr);
  char url[1024];
  snprintf(url, sizeof url, "https://cdn.example.com/content/a/index.m3u8?cat=%s", t);
  q.url = url;
  q.nheaders = 0;
  assert_int_equal(verify_text(NULL, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_REDIRECT);
  /* key 7 is honoured (node-cat answers 302 whatever it says) */
  assert_int_equal(json_integer_value(json_object_get(json_array_get(results, 3), "status")), 302);
  assert_int_equal(r.response.status, 307);
  assert_string_equal(r.response.headers[0].name, "Location");
  {
    char want[1024];
    snprintf(want, sizeof want, "https://cdn.example.com/content/a/index.m3u8?cat=%s", r.renewed_token);
    assert_string_equal(r.response.headers[0].value, want);
    const char *loc = flow_header(json_array_get(results, 3), "location");
    assert_int_equal(strncmp(loc, want, strlen("https://cdn.example.com/content/a/index.m3u8?cat=")), 0);
    check_renewed(r.renewed_token, now, &catr, strstr(loc, "cat=") + 4);
  }
  wd_result_cleanup(&r);
  /* the token passed directly but present in the query: still a redirect, other params kept */
  snprintf(url, sizeof url, "/content/a/index.m3u8?a=1&cat=%s&b=2#frag", t);
  q.url = url;
  assert_int_equal(verify_text(t, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_REDIRECT);
  {
    char want[1024];
    snprintf(want, sizeof want, "/content/a/index.m3u8?a=1&cat=%s&b=2#frag", r.renewed_token);
    assert_string_equal(r.response.headers[0].value, want);
  }
  wd_result_cleanup(&r);
  free(t);
  q.url = URL;

  /* automatic, token came in a cookie: {0: 0, 1: 120, 2: 60} */
  catr.n = 0;
  cb_m(&catr, 3);
  cb_u(&catr, 0), cb_u(&catr, 0);
  cb_u(&catr, 1), cb_u(&catr, 120);
  cb_u(&catr, 2), cb_u(&catr, 60);
  t = flow_token(now + 30, &catr);
  snprintf(cookie, sizeof cookie, "cta-common-access-token=%s", t);
  hdr[0] = (wd_header_t){"Cookie", cookie};
  q.nheaders = 1;
  assert_int_equal(verify_text(NULL, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_COOKIE);
  {
    char want[1024];
    snprintf(want, sizeof want, "cta-common-access-token=%s", r.renewed_token);
    assert_string_equal(r.response.headers[0].value, want);
    const char *vc = flow_header(json_array_get(results, 4), "set-cookie");
    char vt[512];
    size_t vtl = strcspn(vc + 24, ";");
    memcpy(vt, vc + 24, vtl);
    vt[vtl] = '\0';
    check_renewed(r.renewed_token, now, &catr, vt);
  }
  wd_result_cleanup(&r);
  /* automatic, same token in a header -> header; passed directly -> header */
  hdr[0] = (wd_header_t){"Common-Access-Token", t};
  assert_int_equal(verify_text(NULL, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_HEADER);
  wd_result_cleanup(&r);
  q.nheaders = 0;
  assert_int_equal(verify_text(t, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_HEADER);
  wd_result_cleanup(&r);
  /* at exp - deadline exactly: renewed; one second earlier: not */
  q.now = now + 30 - 60;
  assert_int_equal(verify_text(t, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_HEADER);
  wd_result_cleanup(&r);
  q.now = now + 30 - 61;
  assert_int_equal(verify_text(t, &o, &q, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_NONE);
  wd_result_cleanup(&r);
  /* expired */
  q.now = now + 31;
  assert_int_equal(verify_text(t, &o, &q, &r), WD_EEXPIRED);
  assert_int_equal(r.renew, WD_DELIVER_NONE);
  wd_result_cleanup(&r);
  free(t);

  /* catm forbids GET; catnip without an address */
  cb_t p;
  base(&p, 1);
  cb_u(&p, 313), cb_a(&p, 1), cb_s(&p, "POST");
  q = request();
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catm", "method \"GET\" is not allowed");
  base(&p, 1);
  cb_u(&p, 311), cb_a(&p, 1), cb_t_(&p, 52), cb_b(&p, "\x0a\x00\x00\x01", 4);
  q.ip = NULL;
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catnip", "IP address is unknown");
  json_decref(flow);
}

static void renewal_header_params_and_signer(void **state) {
  (void)state;
  cb_t catr;
  wd_result_t r;
  catr.n = 0;
  cb_m(&catr, 5);
  cb_u(&catr, 0), cb_u(&catr, 2);
  cb_u(&catr, 4), cb_s(&catr, "X-Token");
  cb_u(&catr, 1), cb_u(&catr, 300);
  cb_u(&catr, 2), cb_u(&catr, 60);
  cb_u(&catr, 6), cb_s(&catr, "max-age=300");
  char *t = flow_token(NOW + 10, &catr);
  assert_int_equal(verify_text(t, NULL, NULL, &r), 0);
  assert_int_equal(r.renew, WD_DELIVER_HEADER);
  assert_string_equal(r.response.headers[0].name, "X-Token");
  char want[1024];
  snprintf(want, sizeof want, "%s; max-age=300", r.renewed_token);
  assert_string_equal(r.response.headers[0].value, want);
  wd_result_cleanup(&r);
  free(t);
  /* catr without expadd is refused; with a bad type too */
  cb_t p;
  base(&p, 1);
  cb_u(&p, 323), cb_m(&p, 1), cb_u(&p, 0), cb_u(&p, 2);
  EXPECT(&p, NULL, NULL, WD_ECLAIM, "catr", "expadd");
  base(&p, 1);
  cb_u(&p, 323), cb_m(&p, 2), cb_u(&p, 0), cb_u(&p, 9), cb_u(&p, 1), cb_u(&p, 60);
  EXPECT(&p, NULL, NULL, WD_ECLAIM, "catr", NULL);
}

/* ---- catif ---- */

static void catif_on_expiry(void **state) {
  (void)state;
  cb_t p;
  wd_result_t r;
  /* {1: eyevinn, 4: NOW - 10, 322: {4: [302, {"Location": ["https://auth.example.com/renew?cat=",
   *   {4: NOW + 600, 2: "jonas"}], "X-Why": "expired"}, "Symmetric256"]}} */
  p.n = 0;
  cb_m(&p, 3);
  cb_u(&p, 1), cb_s(&p, "eyevinn");
  cb_u(&p, 4), cb_u(&p, NOW - 10);
  cb_u(&p, 322), cb_m(&p, 1), cb_u(&p, 4), cb_a(&p, 3), cb_u(&p, 302), cb_m(&p, 2);
  cb_s(&p, "Location"), cb_a(&p, 2), cb_s(&p, "https://auth.example.com/renew?cat=");
  cb_m(&p, 2), cb_u(&p, 4), cb_u(&p, NOW + 600), cb_u(&p, 2), cb_s(&p, "jonas");
  cb_s(&p, "X-Why"), cb_s(&p, "expired");
  cb_s(&p, "Symmetric256");
  char *t = seal_with(key, &p, 0);
  assert_int_equal(verify_text(t, NULL, NULL, &r), WD_EEXPIRED);
  assert_string_equal(r.failed_claim, "exp");
  assert_int_equal(r.response.status, 302);
  assert_int_equal(r.response.nheaders, 2);
  assert_string_equal(r.response.headers[0].name, "Location");
  const char *loc = r.response.headers[0].value;
  const char *prefix = "https://auth.example.com/renew?cat=";
  assert_int_equal(strncmp(loc, prefix, strlen(prefix)), 0);
  assert_string_equal(r.response.headers[1].name, "X-Why");
  assert_string_equal(r.response.headers[1].value, "expired");
  /* the minted token verifies, with its claims plus iss and iat added */
  wd_result_t r2;
  assert_int_equal(verify_text(loc + strlen(prefix), NULL, NULL, &r2), 0);
  assert_string_equal(r2.id.subject, "jonas");
  assert_string_equal(r2.id.issuer, "eyevinn");
  assert_true(r2.id.iat == NOW);
  assert_true(r2.id.exp == NOW + 600);
  wd_result_cleanup(&r2);
  wd_result_cleanup(&r);
  free(t);
  /* a catif entry for another claim does nothing */
  p.n = 0;
  cb_m(&p, 3);
  cb_u(&p, 1), cb_s(&p, "eyevinn");
  cb_u(&p, 4), cb_u(&p, NOW - 10);
  cb_u(&p, 322), cb_m(&p, 1), cb_u(&p, 312), cb_a(&p, 2), cb_u(&p, 403), cb_m(&p, 0);
  t = seal_with(key, &p, 0);
  assert_int_equal(verify_text(t, NULL, NULL, &r), WD_EEXPIRED);
  assert_int_equal(r.response.status, 0);
  wd_result_cleanup(&r);
  free(t);
  /* catif for catu: status only; header values with CR/LF are refused */
  p.n = 0;
  cb_m(&p, 4);
  cb_u(&p, 1), cb_s(&p, "eyevinn");
  cb_u(&p, 4), cb_u(&p, NOW + 10);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 3), cb_m(&p, 1), cb_u(&p, 1), cb_s(&p, "/live/");
  cb_u(&p, 322), cb_m(&p, 1), cb_u(&p, 312), cb_a(&p, 2), cb_u(&p, 403), cb_m(&p, 1);
  cb_s(&p, "X-Bad"), cb_s(&p, "a\r\nSet-Cookie: x=1");
  t = seal_with(key, &p, 0);
  assert_int_equal(verify_text(t, NULL, NULL, &r), WD_ECLAIM);
  assert_string_equal(r.failed_claim, "catu");
  assert_int_equal(r.response.status, 403);
  assert_int_equal(r.response.nheaders, 0);
  wd_result_cleanup(&r);
  free(t);
}

/* ---- keys ---- */

static char *ec_pem(void) {
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  assert_non_null(pk);
  BIO *b = BIO_new(BIO_s_mem());
  assert_true(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL));
  char *data;
  long n = BIO_get_mem_data(b, &data);
  char *out = malloc((size_t)n + 1);
  memcpy(out, data, (size_t)n);
  out[n] = '\0';
  BIO_free(b);
  EVP_PKEY_free(pk);
  return out;
}

static void alg_confusion(void **state) {
  (void)state;
  wd_keyring_t *kr;
  wd_verifier_t *kv;
  const wd_key_t *k64, *k5, *kes;
  size_t n;
  uint8_t *sec = tu_hex(KEY_HEX, &n);
  char *pem = ec_pem();
  cb_t p;
  base(&p, 0);
  assert_int_equal(wd_keyring_create(&kr), 0);
  /* same secret, same kid, different pinned algorithms, in separate rings */
  assert_int_equal(wd_keyring_add_secret(kr, WD_SCHEME_CAT, WD_ALG_HS256_64, "k", 1, NULL, sec, n, &k64), 0);
  assert_int_equal(wd_verifier_create(kr, &kv), 0);
  char *t5 = seal_with(key, &p, 0); /* alg 5, kid Symmetric256 */
  wd_keyring_t *kr2;
  assert_int_equal(wd_keyring_create(&kr2), 0);
  assert_int_equal(wd_keyring_add_secret(kr2, WD_SCHEME_CAT, WD_ALG_HS256, "k", 1, NULL, sec, n, &k5), 0);
  assert_int_equal(wd_keyring_add_pem(kr2, WD_SCHEME_CAT, WD_ALG_ES256, "e", 1, NULL, pem, strlen(pem), &kes), 0);
  char *t4 = seal_with(k64, &p, 0), *t5k = seal_with(k5, &p, 0), *tes = seal_with(kes, &p, 0);
  wd_result_t r;
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  wd_request_t q = request();
  /* ring 1 holds only the alg-4 key "k" */
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, t4, strlen(t4), &q, &r), 0);
  wd_result_cleanup(&r);
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, t5k, strlen(t5k), &q, &r), WD_ENOKEY);
  wd_result_cleanup(&r);
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, tes, strlen(tes), &q, &r), WD_ENOKEY);
  wd_result_cleanup(&r);
  wd_verifier_destroy(kv);
  /* ring 2: "k" pinned to alg 5, "e" ES256 */
  assert_int_equal(wd_verifier_create(kr2, &kv), 0);
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, t4, strlen(t4), &q, &r), WD_ENOKEY);
  wd_result_cleanup(&r);
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, t5k, strlen(t5k), &q, &r), 0);
  wd_result_cleanup(&r);
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, tes, strlen(tes), &q, &r), 0);
  assert_string_equal(r.id.issuer, "eyevinn");
  wd_result_cleanup(&r);
  /* the ES256 token with kid rewritten to "k" (an HMAC key): not verified with it */
  {
    uint8_t raw[512];
    size_t rn;
    assert_int_equal(wd_b64_decode(tes, strlen(tes), raw, sizeof raw, &rn, WD_B64_URL), 0);
    uint8_t *kid = memmem(raw, rn, "\xa1\x04\x41" "e", 4);
    assert_non_null(kid);
    kid[3] = 'k';
    char *t = to_text(raw, rn);
    wd_result_init(&r);
    assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, t, strlen(t), &q, &r), WD_ENOKEY);
    wd_result_cleanup(&r);
    free(t);
  }
  /* t5 (kid Symmetric256) in ring 2: no such kid and no kid-less key */
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, t5, strlen(t5), &q, &r), WD_ENOKEY);
  wd_result_cleanup(&r);
  wd_verifier_destroy(kv);
  wd_keyring_destroy(kr);
  wd_keyring_destroy(kr2);
  free(t4), free(t5), free(t5k), free(tes), free(pem), free(sec);
}

static void key_rotation(void **state) {
  (void)state;
  wd_keyring_t *kr;
  wd_verifier_t *kv;
  const wd_key_t *ka, *kb, *kn;
  assert_int_equal(wd_keyring_create(&kr), 0);
  assert_int_equal(wd_keyring_add_secret(kr, WD_SCHEME_CAT, WD_ALG_HS256, "a", 1, NULL, "secret-a-0123456789", 19, &ka), 0);
  assert_int_equal(wd_keyring_add_secret(kr, WD_SCHEME_CAT, WD_ALG_HS256, "b", 1, NULL, "secret-b-0123456789", 19, &kb), 0);
  assert_int_equal(wd_keyring_add_secret(kr, WD_SCHEME_CAT, WD_ALG_HS256, NULL, 0, NULL, "secret-n-0123456789", 19, &kn), 0);
  assert_int_equal(wd_verifier_create(kr, &kv), 0);
  cb_t p;
  base(&p, 0);
  char *ta = seal_with(ka, &p, 0), *tb = seal_with(kb, &p, 0), *tn = seal_with(kn, &p, 0);
  wd_result_t r;
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  wd_request_t q = request();
  const char *toks[] = {ta, tb, tn};
  for (int i = 0; i < 3; i++) {
    wd_result_init(&r);
    assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, toks[i], strlen(toks[i]), &q, &r), 0);
    wd_result_cleanup(&r);
  }
  /* the kid-less key is tried for a token of any kid: re-label the kid-less token "zzz" */
  {
    wd_key_t fake = *kn;
    memcpy(fake.kid, "zzz", 3);
    fake.kid_len = 3;
    char *tz = seal_with(&fake, &p, 0);
    wd_result_init(&r);
    assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, tz, strlen(tz), &q, &r), 0);
    wd_result_cleanup(&r);
    free(tz);
    /* key a's secret under kid b: kid b's key and the kid-less key both fail */
    wd_key_t wrong = *ka;
    memcpy(wrong.kid, "b", 1);
    tz = seal_with(&wrong, &p, 0);
    wd_result_init(&r);
    assert_int_equal(wd_token_verify(kv, &o, WD_SCHEME_CAT, tz, strlen(tz), &q, &r), WD_ESIGNATURE);
    assert_non_null(strstr(r.reason, "2 keys"));
    wd_result_cleanup(&r);
    free(tz);
  }
  free(ta), free(tb), free(tn);
  wd_verifier_destroy(kv);
  wd_keyring_destroy(kr);
}

/* ---- claims ---- */

static void claim_times_iss_aud(void **state) {
  (void)state;
  cb_t p;
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  /* nbf in the future, with and without leeway */
  base(&p, 1);
  cb_u(&p, 5), cb_u(&p, NOW + 20);
  EXPECT(&p, &o, NULL, WD_ENOTYET, "nbf", NULL);
  o.leeway = 20;
  EXPECT(&p, &o, NULL, 0, NULL, NULL);
  o.leeway = 0;
  /* exp as a float */
  p.n = 0;
  cb_m(&p, 1), cb_u(&p, 4), cb_f(&p, NOW - 0.5);
  EXPECT(&p, &o, NULL, WD_EEXPIRED, "exp", NULL);
  /* exp as text: malformed claim */
  p.n = 0;
  cb_m(&p, 1), cb_u(&p, 4), cb_s(&p, "tomorrow");
  EXPECT(&p, &o, NULL, WD_ECLAIM, "exp", "NumericDate");
  /* aud as one text string */
  const char *auds[] = {"cdn"};
  o.cat.audiences = auds;
  o.cat.naudiences = 1;
  base(&p, 1);
  cb_u(&p, 3), cb_s(&p, "cdn");
  EXPECT(&p, &o, NULL, 0, NULL, NULL);
  base(&p, 1);
  cb_u(&p, 3), cb_s(&p, "other");
  EXPECT(&p, &o, NULL, WD_EAUDIENCE, "aud", "\"other\"");
  base(&p, 0);
  EXPECT(&p, &o, NULL, WD_EAUDIENCE, "aud", "no aud");
  memset(&o, 0, sizeof o);
  /* iss must be text */
  p.n = 0;
  cb_m(&p, 1), cb_u(&p, 1), cb_u(&p, 7);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "iss", NULL);
  /* sub, iat, cti types */
  base(&p, 1);
  cb_u(&p, 2), cb_u(&p, 7);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "sub", NULL);
  base(&p, 1);
  cb_u(&p, 7), cb_m(&p, 0);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "cti", NULL);
  /* catv must be 1 */
  base(&p, 1);
  cb_u(&p, 310), cb_u(&p, 2);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "catv", "version");
  base(&p, 1);
  cb_u(&p, 310), cb_u(&p, 1);
  EXPECT(&p, &o, NULL, 0, NULL, NULL);
  /* catreplay: reported, 3 refused */
  base(&p, 1);
  cb_u(&p, 308), cb_u(&p, 2);
  char *t = seal_with(key, &p, 0);
  wd_result_t r;
  assert_int_equal(verify_text(t, NULL, NULL, &r), 0);
  assert_int_equal(r.replay, 2);
  wd_result_cleanup(&r);
  free(t);
  base(&p, 1);
  cb_u(&p, 308), cb_u(&p, 3);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "catreplay", NULL);
  /* informational claims are accepted */
  base(&p, 6);
  cb_u(&p, 8), cb_m(&p, 1), cb_u(&p, 3), cb_b(&p, "01234567890123456789012345678901", 32);
  cb_u(&p, 309), cb_a(&p, 1), cb_u(&p, 0);
  cb_u(&p, 318), cb_u(&p, 100);
  cb_u(&p, 319), cb_b(&p, "pin", 3);
  cb_u(&p, 320), cb_s(&p, "data");
  cb_u(&p, 321), cb_m(&p, 1), cb_u(&p, 0), cb_u(&p, 30);
  EXPECT(&p, &o, NULL, 0, NULL, NULL);
}

static void claim_unknown_and_crit(void **state) {
  (void)state;
  cb_t p;
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  /* 350: in the CAT range -> refused by default; 1000 and a text key: ignored by default */
  base(&p, 1);
  cb_u(&p, 350), cb_u(&p, 1);
  EXPECT(&p, &o, NULL, WD_ECLAIM, NULL, "unknown claim 350");
  base(&p, 2);
  cb_u(&p, 1000), cb_u(&p, 1);
  cb_s(&p, "x-custom"), cb_u(&p, 1);
  EXPECT(&p, &o, NULL, 0, NULL, NULL);
  o.cat.unknown = WD_CAT_UNKNOWN_STRICT;
  EXPECT(&p, &o, NULL, WD_ECLAIM, NULL, "unknown claim");
  base(&p, 1);
  cb_i(&p, -70000), cb_u(&p, 1);
  EXPECT(&p, &o, NULL, WD_ECLAIM, NULL, "unknown claim -70000");
  o.cat.unknown = WD_CAT_UNKNOWN_LENIENT;
  base(&p, 1);
  cb_u(&p, 350), cb_u(&p, 1);
  EXPECT(&p, &o, NULL, 0, NULL, NULL);
  /* ... unless crit names it */
  base(&p, 2);
  cb_u(&p, 350), cb_u(&p, 1);
  cb_u(&p, 45), cb_a(&p, 1), cb_u(&p, 350);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "crit", "not understood");
  memset(&o, 0, sizeof o);
  /* crit naming a present, enforced claim */
  base(&p, 2);
  cb_u(&p, 313), cb_a(&p, 1), cb_s(&p, "GET");
  cb_u(&p, 45), cb_a(&p, 1), cb_u(&p, 313);
  EXPECT(&p, &o, NULL, 0, NULL, NULL);
  /* ... an absent one */
  base(&p, 1);
  cb_u(&p, 45), cb_a(&p, 1), cb_u(&p, 313);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "crit", "absent");
  /* ... one Warden does not enforce */
  base(&p, 2);
  cb_u(&p, 319), cb_b(&p, "pin", 3);
  cb_u(&p, 45), cb_a(&p, 1), cb_u(&p, 319);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "crit", "not enforced");
  /* duplicate claims */
  base(&p, 1);
  cb_u(&p, 1), cb_s(&p, "again");
  EXPECT(&p, &o, NULL, WD_EMALFORMED, "iss", "twice");
}

/* {312: {component: {type: value}}} with one match, against url */
static void catu1(cb_t *p, int comp, int type, const char *val) {
  base(p, 1);
  cb_u(p, 312), cb_m(p, 1), cb_u(p, (uint64_t)comp), cb_m(p, 1), cb_i(p, type), cb_s(p, val);
}

static void claim_catu(void **state) {
  (void)state;
  cb_t p;
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  wd_request_t q = request();
  q.url = "https://CDN.Example.com:8443/content/a/seg.01.ts?x=1&cat=abc&y=2";
  struct {
    int comp, type;
    const char *val;
    int ok;
  } cases[] = {
      {0, 0, "https", 1},          {0, 0, "http", 0},
      {1, 0, "cdn.example.com", 1}, {1, 2, ".example.com", 1}, {1, 1, "cdn.", 1},
      {1, 3, "example", 1},        {1, 3, "exemple", 0},      {1, 2, ".example.org", 0},
      {2, 0, "8443", 1},           {2, 0, "", 0},
      {3, 0, "/content/a/seg.01.ts", 1}, {3, 1, "/content/", 1}, {3, 1, "/live/", 0},
      {4, 0, "x=1&y=2", 1},        {4, 3, "cat=", 0},
      {5, 0, "/content/a", 1},     {5, 0, "/content", 0},
      {6, 0, "seg.01.ts", 1},      {6, 2, ".m3u8", 0},
      {7, 0, "seg.01", 1},         {7, 0, "seg", 0},
      {8, 0, ".ts", 1},            {8, 0, ".01.ts", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    catu1(&p, cases[i].comp, cases[i].type, cases[i].val);
    char *t = seal_with(key, &p, 0);
    wd_result_t r;
    int rc = verify_text(t, &o, &q, &r);
    if (cases[i].ok ? rc != 0 : (rc != WD_ECLAIM || strcmp(r.failed_claim, "catu")))
      fail_msg("case %zu (%d/%d \"%s\"): %d %s", i, cases[i].comp, cases[i].type, cases[i].val, rc, r.reason);
    wd_result_cleanup(&r);
    free(t);
  }
  /* the documented reason */
  q.url = "https://cdn.example.com/other/x.ts";
  catu1(&p, 3, 1, "/content/");
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu",
         "claim catu failed: path \"/other/x.ts\" does not match prefix \"/content/\"");
  /* stem / extension at the first dot (node-cat), default port "" vs explicit */
  q.url = "https://cdn.example.com/a/seg.01.ts";
  o.cat.stem_first_dot = 1;
  catu1(&p, 7, 0, "seg");
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  catu1(&p, 8, 0, ".01.ts");
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  o.cat.stem_first_dot = 0;
  catu1(&p, 2, 0, "");
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  q.url = "https://cdn.example.com:443/a/seg.01.ts";
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  o.cat.port_explicit = 1;
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "port");
  catu1(&p, 2, 0, "443");
  q.url = "https://cdn.example.com/a/seg.01.ts";
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  o.cat.port_explicit = 0;
  /* a configured token parameter name is removed from the query */
  q.url = "https://cdn.example.com/a?tok=zz&x=1";
  catu1(&p, 4, 0, "x=1");
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "query");
  o.cat.query_param = "tok";
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  o.cat.query_param = NULL;
  /* origin-form URL: host from the Host header; scheme unknown -> fails closed */
  wd_header_t hh = {"Host", "cdn.example.com:8080"};
  q.url = "/content/a.ts";
  q.headers = &hh;
  q.nheaders = 1;
  catu1(&p, 1, 0, "cdn.example.com");
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  catu1(&p, 2, 0, "8080");
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  catu1(&p, 0, 0, "https");
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "no scheme");
  q.nheaders = 0;
  /* no URL at all */
  q.url = NULL;
  catu1(&p, 3, 1, "/");
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "no request URL");
  /* an unknown component and an unknown match type */
  q = request();
  catu1(&p, 9, 0, "x");
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "component 9");
  catu1(&p, 3, 5, "x");
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "match type 5");
}

static void claim_catu_regex_digest(void **state) {
  (void)state;
  cb_t p;
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  wd_request_t q = request();
  /* regex with the i flag, \d and (?:) */
  base(&p, 1);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 3), cb_m(&p, 1), cb_u(&p, 4), cb_a(&p, 2);
  cb_s(&p, "^/CONTENT/(?:[a-z]+)/index\\.m3u8$"), cb_s(&p, "i");
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  base(&p, 1);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 3), cb_m(&p, 1), cb_u(&p, 4), cb_a(&p, 1);
  cb_s(&p, "^/CONTENT/");
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "regex");
  base(&p, 1);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 6), cb_m(&p, 1), cb_u(&p, 4), cb_a(&p, 1);
  cb_s(&p, "^seg-\\d{3}\\.ts$");
  q.url = "https://cdn.example.com/v/seg-042.ts";
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  q.url = "https://cdn.example.com/v/seg-04x.ts";
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", NULL);
  base(&p, 1);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 6), cb_m(&p, 1), cb_u(&p, 4), cb_a(&p, 2);
  cb_s(&p, "x"), cb_s(&p, "q");
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "flag");
  base(&p, 1);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 6), cb_m(&p, 1), cb_u(&p, 4), cb_a(&p, 1);
  cb_s(&p, "([a-z");
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "compile");
  /* as in JavaScript: lazy quantifiers and a literal '{' are fine, a quantifier with nothing to
   * repeat (stacked, or at the start) is refused */
  static const struct {
    const char *pattern;
    int rc;
  } js[] = {
      {"^seg-\\d{2,3}?\\.ts$", 0}, {"^seg-0+?42\\.ts$", 0},
      {"^seg-0*?4[0-9]??\\.ts$", 0},      {"^seg-{0}", 0},
      {"^seg-0**42", WD_ECLAIM},          {"^seg-0+++42", WD_ECLAIM},
      {"^seg-0???42", WD_ECLAIM},         {"*seg", WD_ECLAIM},
      {"^(?:*seg)", WD_ECLAIM},           {"^seg-(?:0|4)+2\\.ts$", 0},
  };
  q.url = "https://cdn.example.com/v/seg-042.ts";
  for (size_t i = 0; i < sizeof js / sizeof js[0]; i++) {
    base(&p, 1);
    cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 6), cb_m(&p, 1), cb_u(&p, 4), cb_a(&p, 1);
    cb_s(&p, js[i].pattern);
    EXPECT(&p, &o, &q, js[i].rc, js[i].rc ? "catu" : NULL, NULL);
  }
  base(&p, 1);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 6), cb_m(&p, 1), cb_u(&p, 4), cb_a(&p, 1);
  cb_s(&p, "0+++");
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "not supported");
  /* sha256 of the host as bstr and as hex; sha512-256 truncated vs full */
  q = request();
  uint8_t d[64];
  unsigned dl;
  EVP_Digest("cdn.example.com", 15, d, &dl, EVP_sha256(), NULL);
  base(&p, 1);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 1), cb_m(&p, 1), cb_i(&p, -1), cb_b(&p, d, 32);
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  d[0] ^= 1;
  base(&p, 1);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 1), cb_m(&p, 1), cb_i(&p, -1), cb_b(&p, d, 32);
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", "sha256");
  EVP_Digest("/content/a/index.m3u8", 21, d, &dl, EVP_sha512_256(), NULL);
  char hex[129];
  wd_hex_encode(d, 32, hex);
  base(&p, 1);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 3), cb_m(&p, 1), cb_i(&p, -2), cb_s(&p, hex);
  EXPECT(&p, &o, &q, 0, NULL, NULL);
  o.cat.sha512_256_full = 1;
  EXPECT(&p, &o, &q, WD_ECLAIM, "catu", NULL);
  EVP_Digest("/content/a/index.m3u8", 21, d, &dl, EVP_sha512(), NULL);
  wd_hex_encode(d, 64, hex);
  base(&p, 1);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 3), cb_m(&p, 1), cb_i(&p, -2), cb_s(&p, hex);
  EXPECT(&p, &o, &q, 0, NULL, NULL);
}

static void nip1(cb_t *p, void (*entry)(cb_t *)) {
  base(p, 1);
  cb_u(p, 311), cb_a(p, 1);
  entry(p);
}
static void e_v4(cb_t *p) { cb_t_(p, 52), cb_b(p, "\xc0\xa8\x01\x07", 4); }
static void e_v4net(cb_t *p) { cb_t_(p, 52), cb_a(p, 2), cb_u(p, 24), cb_b(p, "\xc0\xa8\x01", 3); }
static void e_v4short(cb_t *p) { cb_t_(p, 52), cb_a(p, 2), cb_u(p, 8), cb_b(p, "\x0a", 1); }
static void e_v6net(cb_t *p) { cb_t_(p, 54), cb_a(p, 2), cb_u(p, 32), cb_b(p, "\x20\x01\x0d\xb8", 4); }
static void e_asn(cb_t *p) { cb_u(p, 64500); }
static void e_bad(cb_t *p) { cb_t_(p, 52), cb_b(p, "\x01\x02", 2); }

static void claim_catnip(void **state) {
  (void)state;
  cb_t p;
  wd_request_t q = request();
  struct {
    void (*entry)(cb_t *);
    const char *ip;
    uint32_t asn;
    int code;
    const char *part;
  } cases[] = {
      {e_v4, "192.168.1.7", 0, 0, NULL},
      {e_v4, "192.168.1.8", 0, WD_ECLAIM, "not in any allowed network"},
      {e_v4net, "192.168.1.200", 0, 0, NULL},
      {e_v4net, "192.168.2.1", 0, WD_ECLAIM, NULL},
      {e_v4short, "10.20.30.40", 0, 0, NULL},
      {e_v4short, "11.0.0.1", 0, WD_ECLAIM, NULL},
      {e_v4short, "::ffff:10.1.1.1", 0, 0, NULL},
      {e_v6net, "2001:db8::1", 0, 0, NULL},
      {e_v6net, "2001:db9::1", 0, WD_ECLAIM, NULL},
      {e_v6net, "10.0.0.1", 0, WD_ECLAIM, NULL},
      {e_asn, "10.0.0.1", 64500, 0, NULL},
      {e_asn, "10.0.0.1", 64501, WD_ECLAIM, NULL},
      {e_asn, "10.0.0.1", 0, WD_ECLAIM, "ASN is unknown"},
      {e_v4, NULL, 0, WD_ECLAIM, "IP address is unknown"},
      {e_v4, "not-an-ip", 0, WD_ECLAIM, "not parseable"},
      {e_bad, "10.0.0.1", 0, WD_ECLAIM, "IPv4 address of 2 bytes"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    nip1(&p, cases[i].entry);
    q.ip = cases[i].ip;
    q.asn = cases[i].asn;
    char *t = seal_with(key, &p, 0);
    wd_result_t r;
    int rc = verify_text(t, NULL, &q, &r);
    if (rc != cases[i].code || (rc && strcmp(r.failed_claim, "catnip")) ||
        (cases[i].part && !strstr(r.reason, cases[i].part)))
      fail_msg("case %zu: %d %s", i, rc, r.reason);
    wd_result_cleanup(&r);
    free(t);
  }
  /* several entries: any match passes; identity ip is the first address entry */
  base(&p, 1);
  cb_u(&p, 311), cb_a(&p, 3);
  e_asn(&p), e_v4net(&p), e_v6net(&p);
  q.ip = "2001:db8::5";
  q.asn = 0;
  char *t = seal_with(key, &p, 0);
  wd_result_t r;
  assert_int_equal(verify_text(t, NULL, &q, &r), 0);
  assert_string_equal(r.id.ip, "192.168.1.0/24");
  wd_result_cleanup(&r);
  free(t);
}

static void claim_request_lists(void **state) {
  (void)state;
  cb_t p;
  wd_request_t q = request();
  /* catm is case-sensitive */
  base(&p, 1);
  cb_u(&p, 313), cb_a(&p, 2), cb_s(&p, "GET"), cb_s(&p, "HEAD");
  EXPECT(&p, NULL, &q, 0, NULL, NULL);
  q.method = "get";
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catm", NULL);
  q.method = NULL;
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catm", "method is unknown");
  q = request();
  /* catalpn: byte strings */
  base(&p, 1);
  cb_u(&p, 314), cb_a(&p, 2), cb_b(&p, "h2", 2), cb_b(&p, "h3", 2);
  q.alpn = "h2";
  EXPECT(&p, NULL, &q, 0, NULL, NULL);
  q.alpn = "http/1.1";
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catalpn", NULL);
  q.alpn = NULL;
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catalpn", "ALPN is unknown");
  /* catgeoiso3166: "SE" covers "SE-AB"; "US-CA" does not cover "US" */
  base(&p, 1);
  cb_u(&p, 316), cb_a(&p, 2), cb_s(&p, "SE"), cb_s(&p, "US-CA");
  q.country = "SE-AB";
  EXPECT(&p, NULL, &q, 0, NULL, NULL);
  q.country = "us-ca";
  EXPECT(&p, NULL, &q, 0, NULL, NULL);
  q.country = "US";
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catgeoiso3166", "\"US\"");
  q.country = "NO";
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catgeoiso3166", NULL);
  q.country = NULL;
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catgeoiso3166", "country is unknown");
  /* cath: header present and matching */
  wd_header_t hs[2] = {{"User-Agent", "Shaka/4.3"}, {"X-Device", "tv-123"}};
  q = request();
  q.headers = hs;
  q.nheaders = 2;
  base(&p, 1);
  cb_u(&p, 315), cb_m(&p, 2);
  cb_s(&p, "user-agent"), cb_m(&p, 1), cb_u(&p, 1), cb_s(&p, "Shaka/");
  cb_s(&p, "X-Device"), cb_m(&p, 1), cb_u(&p, 2), cb_s(&p, "-123");
  EXPECT(&p, NULL, &q, 0, NULL, NULL);
  hs[1].value = "tv-124";
  EXPECT(&p, NULL, &q, WD_ECLAIM, "cath", "header X-Device \"tv-124\" does not match suffix \"-123\"");
  q.nheaders = 1;
  EXPECT(&p, NULL, &q, WD_ECLAIM, "cath", "no header X-Device");
}

static void claim_geo(void **state) {
  (void)state;
  cb_t p;
  wd_request_t q = request();
  /* Stockholm, 10 km */
  base(&p, 1);
  cb_u(&p, 317), cb_a(&p, 1), cb_a(&p, 3), cb_f(&p, 59.3293), cb_f(&p, 18.0686), cb_u(&p, 10000);
  q.has_coord = 1;
  q.lat = 59.35, q.lon = 18.10; /* ~3 km away */
  EXPECT(&p, NULL, &q, 0, NULL, NULL);
  q.lat = 59.8586, q.lon = 17.6389; /* Uppsala, ~64 km */
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catgeocoord", "outside");
  q.has_coord = 0;
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catgeocoord", "coordinates are unknown");
  /* a single [lat, lon, r] and integer coordinates */
  base(&p, 1);
  cb_u(&p, 317), cb_a(&p, 3), cb_u(&p, 59), cb_u(&p, 18), cb_u(&p, 100000);
  q.has_coord = 1;
  q.lat = 59.3293, q.lon = 18.0686;
  EXPECT(&p, NULL, &q, 0, NULL, NULL);
  base(&p, 1);
  cb_u(&p, 317), cb_a(&p, 1), cb_a(&p, 2), cb_u(&p, 59), cb_u(&p, 18);
  EXPECT(&p, NULL, &q, WD_ECLAIM, "catgeocoord", "[lat, lon, radius]");
  /* geohash at the claim's precision */
  base(&p, 1);
  cb_u(&p, 282), cb_a(&p, 2), cb_s(&p, "u6sc"), cb_s(&p, "gcpv");
  q.geohash = "u6sce0t";
  EXPECT(&p, NULL, &q, 0, NULL, NULL);
  q.geohash = "u6t00";
  EXPECT(&p, NULL, &q, WD_ECLAIM, "geohash", NULL);
  q.geohash = "u6";
  EXPECT(&p, NULL, &q, WD_ECLAIM, "geohash", "less precise");
  q.geohash = NULL;
  EXPECT(&p, NULL, &q, WD_ECLAIM, "geohash", "unknown");
  base(&p, 1);
  cb_u(&p, 282), cb_s(&p, "gcpv");
  q.geohash = "gcpvj0";
  EXPECT(&p, NULL, &q, 0, NULL, NULL);
}

/* {LABEL: [set...]} where each set is {313: [method]} */
static void comp(cb_t *p, uint64_t label, const char *const *methods, size_t n) {
  base(p, 1);
  cb_u(p, label), cb_a(p, n);
  for (size_t i = 0; i < n; i++) {
    cb_m(p, 1), cb_u(p, 313), cb_a(p, 1), cb_s(p, methods[i]);
  }
}

static void claim_composites(void **state) {
  (void)state;
  cb_t p;
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  const char *post_get[] = {"POST", "GET"}, *post_put[] = {"POST", "PUT"}, *get[] = {"GET"};
  const uint64_t or_l[] = {41, 324}, nor_l[] = {42, 325}, and_l[] = {43, 326};
  for (int i = 0; i < 2; i++) {
    comp(&p, or_l[i], post_get, 2);
    EXPECT(&p, &o, NULL, 0, NULL, NULL);
    comp(&p, or_l[i], post_put, 2);
    EXPECT(&p, &o, NULL, WD_ECLAIM, "or", "no claim set matches");
    comp(&p, nor_l[i], post_put, 2);
    EXPECT(&p, &o, NULL, 0, NULL, NULL);
    comp(&p, nor_l[i], post_get, 2);
    EXPECT(&p, &o, NULL, WD_ECLAIM, "nor", "set 2 matches");
    comp(&p, and_l[i], get, 1);
    EXPECT(&p, &o, NULL, 0, NULL, NULL);
    comp(&p, and_l[i], post_get, 2);
    EXPECT(&p, &o, NULL, WD_ECLAIM, "and", "set 1");
  }
  /* label sets per option: Akamai-only makes 324 an unknown CAT-range claim; draft-only makes
   * 41 an unknown claim outside the range (ignored) */
  o.cat.labels = WD_CAT_LABELS_AKAMAI;
  comp(&p, 324, post_get, 2);
  EXPECT(&p, &o, NULL, WD_ECLAIM, NULL, "unknown claim 324");
  comp(&p, 41, post_put, 2);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "or", NULL);
  o.cat.labels = WD_CAT_LABELS_DRAFT;
  comp(&p, 41, post_put, 2);
  EXPECT(&p, &o, NULL, 0, NULL, NULL);
  comp(&p, 324, post_put, 2);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "or", NULL);
  o.cat.labels = WD_CAT_LABELS_DEFAULT;
  /* a set that cannot be evaluated (no client IP) fails nor too */
  base(&p, 1);
  cb_u(&p, 42), cb_a(&p, 1), cb_m(&p, 1), cb_u(&p, 311), cb_a(&p, 1), e_v4(&p);
  wd_request_t q = request();
  q.ip = NULL;
  EXPECT(&p, &o, &q, WD_ECLAIM, "nor", "IP address is unknown");
  /* an unknown claim inside a set fails the composite */
  base(&p, 1);
  cb_u(&p, 41), cb_a(&p, 2), cb_m(&p, 1), cb_u(&p, 399), cb_u(&p, 1), cb_m(&p, 0);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "or", "unknown claim 399");
  /* nesting: or inside and inside or ... beyond 4 levels */
  p.n = 0;
  cb_m(&p, 2), cb_u(&p, 1), cb_s(&p, "eyevinn");
  for (int i = 0; i < 6; i++) {
    cb_u(&p, 41), cb_a(&p, 1), cb_m(&p, 1);
  }
  cb_u(&p, 313), cb_a(&p, 1), cb_s(&p, "GET");
  EXPECT(&p, &o, NULL, WD_ECLAIM, "or", "deeper");
  p.n = 0;
  cb_m(&p, 2), cb_u(&p, 1), cb_s(&p, "eyevinn");
  for (int i = 0; i < 3; i++) {
    cb_u(&p, 41), cb_a(&p, 1), cb_m(&p, 1);
  }
  cb_u(&p, 313), cb_a(&p, 1), cb_s(&p, "GET");
  EXPECT(&p, &o, NULL, 0, NULL, NULL);
  /* not an array of maps */
  base(&p, 1);
  cb_u(&p, 43), cb_a(&p, 1), cb_u(&p, 5);
  EXPECT(&p, &o, NULL, WD_ECLAIM, "and", NULL);
}

/* ---- identity, claims output, extraction ---- */

static void identity_and_claims(void **state) {
  (void)state;
  cb_t p;
  wd_result_t r;
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  base(&p, 3);
  cb_u(&p, 2), cb_s(&p, "user-42");
  cb_u(&p, 6), cb_u(&p, NOW - 5);
  cb_u(&p, 7), cb_b(&p, "\xde\xad\xbe\xef", 4);
  char *t = seal_with(key, &p, 0);
  o.want_claims = 1;
  assert_int_equal(verify_text(t, &o, NULL, &r), 0);
  assert_int_equal(r.id.scheme, WD_SCHEME_CAT);
  assert_string_equal(r.id.token_id, "deadbeef");
  assert_string_equal(r.id.subject, "user-42");
  assert_string_equal(r.id.issuer, "eyevinn");
  assert_true(r.id.iat == NOW - 5 && r.id.exp == NOW + 3600);
  assert_non_null(r.claims);
  assert_string_equal(json_string_value(json_object_get(r.claims, "sub")), "user-42");
  wd_result_cleanup(&r);
  /* identity is filled for an expired token too */
  wd_request_t q = request();
  q.now = NOW + 4000;
  assert_int_equal(verify_text(t, &o, &q, &r), WD_EEXPIRED);
  assert_string_equal(r.id.token_id, "deadbeef");
  wd_result_cleanup(&r);
  free(t);
  /* without cti: a hash of the token text */
  base(&p, 0);
  t = seal_with(key, &p, 0);
  o.want_claims = 0;
  assert_int_equal(verify_text(t, &o, NULL, &r), 0);
  assert_null(r.claims);
  assert_int_equal(strncmp(r.id.token_id, "sha256:", 7), 0);
  assert_int_equal(strlen(r.id.token_id), 7 + 40);
  wd_result_cleanup(&r);
  free(t);
}

static void extraction(void **state) {
  (void)state;
  cb_t p;
  base(&p, 0);
  char *t = seal_with(key, &p, 0);
  char buf[WD_TOKEN_MAX + 1], url[2048];
  const char *tok;
  size_t len;
  wd_verify_opts_t o;
  memset(&o, 0, sizeof o);
  wd_request_t q = request();
  assert_int_equal(wd_token_extract(WD_SCHEME_CAT, &o, &q, buf, sizeof buf, &tok, &len), WD_ENOTOKEN);
  /* query CAT, percent-encoded standard base64 with padding */
  snprintf(url, sizeof url, "https://cdn.example.com/a.m3u8?x=1&CAT=%s", t);
  q.url = url;
  assert_int_equal(wd_token_extract(WD_SCHEME_CAT, &o, &q, buf, sizeof buf, &tok, &len), 0);
  assert_int_equal(len, strlen(t));
  assert_memory_equal(tok, t, len);
  {
    uint8_t raw[512];
    size_t rn;
    char std[700], enc[1900];
    assert_int_equal(wd_b64_decode(t, strlen(t), raw, sizeof raw, &rn, WD_B64_URL), 0);
    wd_b64_encode(raw, rn, std, 0, 1);
    size_t e = 0;
    for (const char *s = std; *s; s++) {
      if (*s == '+' || *s == '/' || *s == '=')
        e += (size_t)sprintf(enc + e, "%%%02X", (unsigned char)*s);
      else
        enc[e++] = *s;
    }
    enc[e] = '\0';
    snprintf(url, sizeof url, "https://cdn.example.com/a.m3u8?cat=%s", enc);
    assert_int_equal(wd_token_extract(WD_SCHEME_CAT, &o, &q, buf, sizeof buf, &tok, &len), 0);
    assert_ptr_equal(tok, buf);
    assert_string_equal(buf, std);
    wd_result_t r;
    assert_int_equal(verify_text(NULL, &o, &q, &r), 0);
    wd_result_cleanup(&r);
  }
  /* header with params, then the configured names */
  char hv[1024];
  snprintf(hv, sizeof hv, " %s; max-age=30", t);
  wd_header_t h[1] = {{"common-access-token", hv}};
  q.url = URL;
  q.headers = h;
  q.nheaders = 1;
  assert_int_equal(wd_token_extract(WD_SCHEME_CAT, &o, &q, buf, sizeof buf, &tok, &len), 0);
  assert_int_equal(len, strlen(t));
  o.cat.header_name = "X-Token";
  assert_int_equal(wd_token_extract(WD_SCHEME_CAT, &o, &q, buf, sizeof buf, &tok, &len), WD_ENOTOKEN);
  h[0].name = "x-token";
  assert_int_equal(wd_token_extract(WD_SCHEME_CAT, &o, &q, buf, sizeof buf, &tok, &len), 0);
  o.cat.header_name = NULL;
  /* cookie */
  snprintf(hv, sizeof hv, "sid=1; CTA-Common-Access-Token=%s", t);
  h[0] = (wd_header_t){"Cookie", hv};
  assert_int_equal(wd_token_extract(WD_SCHEME_CAT, &o, &q, buf, sizeof buf, &tok, &len), 0);
  assert_int_equal(len, strlen(t));
  o.cat.cookie_name = "tk";
  assert_int_equal(wd_token_extract(WD_SCHEME_CAT, &o, &q, buf, sizeof buf, &tok, &len), WD_ENOTOKEN);
  /* verify with no token anywhere */
  wd_result_t r;
  assert_int_equal(verify_text(NULL, &o, &q, &r), WD_ENOTOKEN);
  assert_non_null(strstr(r.reason, "no CAT"));
  wd_result_cleanup(&r);
  free(t);
}

/* ---- hostile input ---- */

static void bad_input(void **state) {
  (void)state;
  cb_t p;
  wd_result_t r;
  base(&p, 2);
  cb_u(&p, 7), cb_b(&p, "\x01\x02\x03\x04", 4);
  cb_u(&p, 312), cb_m(&p, 1), cb_u(&p, 3), cb_m(&p, 1), cb_u(&p, 1), cb_s(&p, "/content/");
  uint8_t *cose = NULL;
  size_t cn = 0;
  assert_int_equal(wd__cose_seal(key, p.b, p.n, 0, &cose, &cn), 0);
  /* every truncation: a clean code, never success */
  for (size_t n = 0; n < cn; n++) {
    char *t = to_text(cose, n);
    int rc = verify_text(t, NULL, NULL, &r);
    assert_true(rc < 0);
    assert_true(rc == WD_EMALFORMED || rc == WD_ESIGNATURE || rc == WD_EALG || rc == WD_ENOKEY);
    assert_true(r.reason[0] != '\0');
    wd_result_cleanup(&r);
    free(t);
  }
  /* every single-bit flip: never a crash; success only if the flip is outside the MAC'd bytes */
  for (size_t i = 0; i < cn; i++) {
    for (int b = 0; b < 8; b++) {
      cose[i] ^= (uint8_t)(1 << b);
      char *t = to_text(cose, cn);
      (void)verify_text(t, NULL, NULL, &r);
      wd_result_cleanup(&r);
      free(t);
      cose[i] ^= (uint8_t)(1 << b);
    }
  }
  free(cose);
  /* bad base64, empty, oversized text, oversized decoded */
  assert_int_equal(verify_text("!!!notbase64!!!", NULL, NULL, &r), WD_EMALFORMED);
  wd_result_cleanup(&r);
  assert_int_equal(verify_text("", NULL, NULL, &r), WD_EMALFORMED);
  wd_result_cleanup(&r);
  char *big = malloc(WD_TOKEN_MAX + 2);
  memset(big, 'A', WD_TOKEN_MAX + 1);
  big[WD_TOKEN_MAX + 1] = '\0';
  assert_int_equal(verify_text(big, NULL, NULL, &r), WD_ETOOBIG);
  wd_result_cleanup(&r);
  big[6000] = '\0';
  assert_int_equal(verify_text(big, NULL, NULL, &r), WD_ETOOBIG);
  assert_non_null(strstr(r.reason, "decoded"));
  wd_result_cleanup(&r);
  free(big);
  /* 1000 nested arrays as the whole token, and as a claim value (MAC valid) */
  uint8_t nest[1100];
  memset(nest, 0x81, 1000);
  nest[1000] = 0x00;
  char *t = to_text(nest, 1001);
  assert_int_equal(verify_text(t, NULL, NULL, &r), WD_EMALFORMED);
  wd_result_cleanup(&r);
  free(t);
  base(&p, 1);
  cb_u(&p, 1000);
  cb_raw(&p, nest, 1001);
  EXPECT(&p, NULL, NULL, WD_EMALFORMED, NULL, "nested deeper");
  /* a huge claim: a 3000-byte sub within the size limit, fine; a map announcing 2^32 entries */
  char *s3000 = malloc(3001);
  memset(s3000, 's', 3000);
  s3000[3000] = '\0';
  base(&p, 1);
  cb_u(&p, 2), cb_s(&p, s3000);
  EXPECT(&p, NULL, NULL, 0, NULL, NULL);
  free(s3000);
  base(&p, 1);
  cb_u(&p, 1000);
  cb_raw(&p, "\xbb\x00\x00\x00\x01\x00\x00\x00\x00", 9);
  EXPECT(&p, NULL, NULL, WD_EMALFORMED, NULL, NULL);
  /* claims payload is not a map; trailing bytes after it */
  p.n = 0;
  cb_a(&p, 0);
  EXPECT(&p, NULL, NULL, WD_EMALFORMED, NULL, "not a CBOR map");
  base(&p, 0);
  cb_u(&p, 0);
  EXPECT(&p, NULL, NULL, WD_EMALFORMED, NULL, "trailing");
  /* indefinite-length map and strings: accepted */
  p.n = 0;
  cb_raw(&p, "\xbf", 1);
  cb_u(&p, 1), cb_raw(&p, "\x7f\x63" "eye" "\x64" "vinn" "\xff", 11);
  cb_u(&p, 4), cb_u(&p, NOW + 60);
  cb_u(&p, 313), cb_raw(&p, "\x9f\x63GET\xff", 6);
  cb_raw(&p, "\xff", 1);
  {
    const char *iss[] = {"eyevinn"};
    wd_verify_opts_t o;
    memset(&o, 0, sizeof o);
    o.cat.issuers = iss;
    o.cat.nissuers = 1;
    EXPECT(&p, &o, NULL, 0, NULL, NULL);
  }
  /* ... and without the final break */
  p.n--;
  EXPECT(&p, NULL, NULL, WD_EMALFORMED, NULL, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(generated_vectors),
      cmocka_unit_test(published_vectors),
      cmocka_unit_test(renewal_flow),
      cmocka_unit_test(renewal_header_params_and_signer),
      cmocka_unit_test(catif_on_expiry),
      cmocka_unit_test(alg_confusion),
      cmocka_unit_test(key_rotation),
      cmocka_unit_test(claim_times_iss_aud),
      cmocka_unit_test(claim_unknown_and_crit),
      cmocka_unit_test(claim_catu),
      cmocka_unit_test(claim_catu_regex_digest),
      cmocka_unit_test(claim_catnip),
      cmocka_unit_test(claim_request_lists),
      cmocka_unit_test(claim_geo),
      cmocka_unit_test(claim_composites),
      cmocka_unit_test(identity_and_claims),
      cmocka_unit_test(extraction),
      cmocka_unit_test(bad_input),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
