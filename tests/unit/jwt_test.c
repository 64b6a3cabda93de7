/* lib/token/jwt.c: JWS compact issue/verify/inspect/extract, algorithm pinning, claims, bindings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "testutil.h"
#include "token/internal.h"
#include "util/codec.h"
#include "warden/warden.h"

#define SECRET "hls-jwt-demo-secret-0123456789abcdef"

/* ---- helpers ---------------------------------------------------------------------------- */

static wd_keyring_t *ring_new(void) {
  wd_keyring_t *ring = NULL;
  assert_int_equal(wd_keyring_create(&ring), 0);
  return ring;
}

static const wd_key_t *add_secret(wd_keyring_t *ring, wd_alg_t alg, const char *kid,
                                  const char *secret) {
  const wd_key_t *k = NULL;
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_JWT, alg, kid, kid ? strlen(kid) : 0, NULL,
                                         secret, strlen(secret), &k),
                   0);
  return k;
}

/* PEM text of a key (private or public); malloc'd. */
static char *pem_of(EVP_PKEY *pk, int priv) {
  BIO *b = BIO_new(BIO_s_mem());
  assert_non_null(b);
  if (priv)
    assert_int_equal(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL), 1);
  else
    assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
  char *data;
  long n = BIO_get_mem_data(b, &data);
  char *out = malloc((size_t)n + 1);
  assert_non_null(out);
  memcpy(out, data, (size_t)n);
  out[n] = '\0';
  BIO_free(b);
  return out;
}

static EVP_PKEY *keygen(wd_alg_t alg) {
  EVP_PKEY *pk = NULL;
  if (alg == WD_ALG_RS256)
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  else if (alg == WD_ALG_ES256)
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  else
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  assert_non_null(pk);
  return pk;
}

static const wd_key_t *add_pem(wd_keyring_t *ring, const char *pem, const char *kid) {
  const wd_key_t *k = NULL;
  assert_int_equal(wd_keyring_add_pem(ring, WD_SCHEME_JWT, WD_ALG_NONE, kid, kid ? strlen(kid) : 0,
                                      NULL, pem, strlen(pem), &k),
                   0);
  return k;
}

static int verify_full(const wd_keyring_t *ring, const wd_verify_opts_t *opts, const char *tok,
                       const wd_request_t *req, wd_result_t *r) {
  wd_verifier_t *v = NULL;
  assert_int_equal(wd_verifier_create(ring, &v), 0);
  wd_result_init(r);
  int rc = wd_token_verify(v, opts, WD_SCHEME_JWT, tok, tok ? strlen(tok) : 0, req, r);
  assert_int_equal(r->code, rc);
  if (rc)
    assert_true(r->reason[0] != '\0');
  wd_verifier_destroy(v);
  return rc;
}

/* Verify and throw the result away; returns the code. */
static int verify_rc(const wd_keyring_t *ring, const wd_verify_opts_t *opts, const char *tok,
                     const wd_request_t *req) {
  wd_result_t r;
  int rc = verify_full(ring, opts, tok, req, &r);
  wd_result_cleanup(&r);
  return rc;
}

/* Verify, expecting `code` and `claim` as failed_claim (NULL: don't care). */
static void expect_fail(const wd_keyring_t *ring, const wd_verify_opts_t *opts, const char *tok,
                        const wd_request_t *req, int code, const char *claim) {
  wd_result_t r;
  int rc = verify_full(ring, opts, tok, req, &r);
  if (rc != code)
    fail_msg("expected %s, got %s (%s) for %s", wd_errname(code), wd_errname(rc), r.reason ? r.reason : "-", tok ? tok : "(from request)");
  if (claim)
    assert_string_equal(r.failed_claim, claim);
  assert_null(r.claims);
  wd_result_cleanup(&r);
}

static char *b64url(const void *p, size_t n) {
  char *out = malloc(wd_b64_enc_len(n, 0) + 1);
  assert_non_null(out);
  wd_b64_encode(p, n, out, 1, 0);
  return out;
}

/* A token from raw header and payload texts, HMAC-signed with `secret` (digest: "SHA256"...). */
static char *hs_token(const char *digest, const char *secret, const char *hdr, const char *payload) {
  char *h = b64url(hdr, strlen(hdr)), *p = b64url(payload, strlen(payload));
  size_t n = strlen(h) + strlen(p) + 1;
  char *tok = malloc(n + 1 + 100);
  assert_non_null(tok);
  snprintf(tok, n + 1, "%s.%s", h, p);
  unsigned char mac[64];
  size_t maclen = 0;
  assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, secret, strlen(secret),
                            (unsigned char *)tok, n, mac, sizeof mac, &maclen));
  tok[n] = '.';
  wd_b64_encode(mac, maclen, tok + n + 1, 1, 0);
  free(h);
  free(p);
  return tok;
}

static char *hs256(const char *payload) {
  return hs_token("SHA256", SECRET, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload);
}

static char *issue(const wd_keyring_t *ring, const char *claims_json, const wd_issue_opts_t *o) {
  static const wd_issue_opts_t defaults;
  json_error_t e;
  json_t *claims = json_loads(claims_json, 0, &e);
  assert_non_null(claims);
  char *out = NULL, err[256];
  int rc = wd_token_issue(ring, WD_SCHEME_JWT, claims, o ? o : &defaults, &out, err, sizeof err);
  if (rc)
    fail_msg("issue failed: %s (%s)", wd_errname(rc), err);
  json_decref(claims);
  return out;
}

/* Decoded text of segment i of a token; malloc'd. */
static char *segment_text(const char *tok, int i) {
  const char *p = tok;
  for (int k = 0; k < i; k++) {
    p = strchr(p, '.');
    assert_non_null(p);
    p++;
  }
  size_t n = strcspn(p, ".");
  char *out = malloc(n + 1);
  size_t outlen = 0;
  assert_int_equal(wd_b64_decode(p, n, (uint8_t *)out, n, &outlen, WD_B64_URL), 0);
  out[outlen] = '\0';
  return out;
}

/* ---- the published vector --------------------------------------------------------------- */

static void vector_reproduces(void **state) {
  (void)state;
  json_t *vec = tu_load_vectors("cdn/jwt-hls.json");
  json_t *cases = json_object_get(vec, "cases"), *c;
  size_t i;
  assert_true(json_array_size(cases) > 0);
  json_array_foreach(cases, i, c) {
    const char *secret = json_string_value(json_object_get(c, "secret"));
    const char *expected = json_string_value(json_object_get(c, "expected"));
    json_t *claims = json_object_get(c, "claims");
    wd_keyring_t *ring = ring_new();
    add_secret(ring, WD_ALG_HS256, NULL, secret);

    static const wd_issue_opts_t io;
    char *out = NULL, err[128];
    assert_int_equal(wd_token_issue(ring, WD_SCHEME_JWT, claims, &io, &out, err, sizeof err), 0);
    assert_string_equal(out, expected);
    free(out);

    wd_header_t hdrs[] = {{"User-Agent", json_string_value(json_object_get(claims, "ua"))}};
    wd_request_t req = {.url = "https://cdn.example.com/hls/vid123/index.m3u8?token=x",
                        .ip = json_string_value(json_object_get(claims, "ip")),
                        .headers = hdrs,
                        .nheaders = 1};
    int64_t exp = json_integer_value(json_object_get(claims, "exp"));
    req.now = exp - 1;
    wd_verify_opts_t vo = {.want_claims = 1};
    wd_result_t r;
    assert_int_equal(verify_full(ring, &vo, expected, &req, &r), 0);
    assert_int_equal(r.id.scheme, WD_SCHEME_JWT);
    assert_int_equal(r.id.exp, exp);
    assert_int_equal(r.id.iat, 0);
    assert_string_equal(r.id.ip, "203.0.113.7");
    assert_int_equal(strncmp(r.id.token_id, "sha256:", 7), 0);
    assert_int_equal(strlen(r.id.token_id), 7 + 40);
    assert_non_null(r.claims);
    assert_true(json_equal(r.claims, claims));
    wd_result_cleanup(&r);

    /* the same token one second later: exp is "on or after" */
    req.now = exp;
    expect_fail(ring, &vo, expected, &req, WD_EEXPIRED, "exp");
    /* a different secret does not verify it */
    wd_keyring_t *other = ring_new();
    add_secret(other, WD_ALG_HS256, NULL, "another-secret");
    req.now = exp - 1;
    expect_fail(other, &vo, expected, &req, WD_ESIGNATURE, NULL);
    wd_keyring_destroy(other);
    wd_keyring_destroy(ring);
  }
  json_decref(vec);
}

/* ---- every algorithm -------------------------------------------------------------------- */

static void roundtrip_one(wd_alg_t alg) {
  wd_keyring_t *signer = ring_new(), *verifier = ring_new();
  EVP_PKEY *pk = NULL;
  if (alg == WD_ALG_HS256 || alg == WD_ALG_HS384 || alg == WD_ALG_HS512) {
    add_secret(signer, alg, "k1", "s3cret-s3cret-s3cret-s3cret-s3cret");
    add_secret(verifier, alg, "k1", "s3cret-s3cret-s3cret-s3cret-s3cret");
  } else {
    pk = keygen(alg);
    char *priv = pem_of(pk, 1), *pub = pem_of(pk, 0);
    const wd_key_t *k = add_pem(signer, priv, "k1");
    assert_int_equal(k->alg, alg);
    assert_true(k->is_private);
    k = add_pem(verifier, pub, "k1");
    assert_false(k->is_private);
    free(priv);
    free(pub);
  }
  wd_issue_opts_t io = {.now = 1000, .ttl = 60};
  char *tok = issue(signer, "{\"sub\":\"alice\",\"jti\":\"j-1\",\"iat\":1000}", &io);

  json_t *ins = NULL;
  assert_int_equal(wd__jwt_inspect(tok, strlen(tok), &ins), 0);
  assert_string_equal(json_string_value(json_object_get(json_object_get(ins, "header"), "alg")),
                      wd_alg_name(alg));
  assert_string_equal(json_string_value(json_object_get(json_object_get(ins, "header"), "kid")), "k1");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(ins, "claims"), "exp")), 1060);
  json_int_t sigbytes = json_integer_value(json_object_get(ins, "signature_bytes"));
  switch (alg) {
  case WD_ALG_HS256: assert_int_equal(sigbytes, 32); break;
  case WD_ALG_HS384: assert_int_equal(sigbytes, 48); break;
  case WD_ALG_HS512: assert_int_equal(sigbytes, 64); break;
  case WD_ALG_RS256: assert_int_equal(sigbytes, 256); break;
  case WD_ALG_ES256: assert_int_equal(sigbytes, 64); break; /* raw r||s, not DER */
  default: assert_int_equal(sigbytes, 64); break;
  }
  json_decref(ins);

  wd_request_t req = {.now = 1030};
  wd_verify_opts_t vo = {0};
  wd_result_t r;
  assert_int_equal(verify_full(verifier, &vo, tok, &req, &r), 0);
  assert_string_equal(r.id.token_id, "j-1");
  assert_string_equal(r.id.subject, "alice");
  assert_int_equal(r.id.iat, 1000);
  assert_int_equal(r.id.exp, 1060);
  assert_null(r.claims); /* not asked for */
  wd_result_cleanup(&r);
  /* the signing ring (private key) verifies too */
  assert_int_equal(verify_rc(signer, &vo, tok, &req), 0);
  req.now = 1060;
  expect_fail(verifier, &vo, tok, &req, WD_EEXPIRED, "exp");
  req.now = 1030;

  /* a changed payload breaks the signature */
  char *bad = issue(signer, "{\"sub\":\"mallory\",\"jti\":\"j-1\",\"iat\":1000}", &io);
  char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
  char *bdot1 = strchr(bad, '.'), *bdot2 = strchr(bdot1 + 1, '.');
  size_t plen = (size_t)(bdot2 - bdot1);
  char *forged = malloc(strlen(tok) + plen + 1);
  size_t hl = (size_t)(dot1 - tok);
  memcpy(forged, tok, hl);
  memcpy(forged + hl, bdot1, plen);
  strcpy(forged + hl + plen, dot2);
  expect_fail(verifier, &vo, forged, &req, WD_ESIGNATURE, NULL);
  free(forged);
  free(bad);

  /* a key of another algorithm for the same kid is not used */
  wd_keyring_t *wrong = ring_new();
  if (alg == WD_ALG_HS256)
    add_secret(wrong, WD_ALG_HS512, "k1", "s3cret-s3cret-s3cret-s3cret-s3cret");
  else
    add_secret(wrong, WD_ALG_HS256, "k1", "s3cret-s3cret-s3cret-s3cret-s3cret");
  expect_fail(wrong, &vo, tok, &req, WD_EALG, "alg");
  wd_keyring_destroy(wrong);

  free(tok);
  EVP_PKEY_free(pk);
  wd_keyring_destroy(signer);
  wd_keyring_destroy(verifier);
}

static void roundtrip_hs256(void **s) { (void)s; roundtrip_one(WD_ALG_HS256); }
static void roundtrip_hs384(void **s) { (void)s; roundtrip_one(WD_ALG_HS384); }
static void roundtrip_hs512(void **s) { (void)s; roundtrip_one(WD_ALG_HS512); }
static void roundtrip_rs256(void **s) { (void)s; roundtrip_one(WD_ALG_RS256); }
static void roundtrip_es256(void **s) { (void)s; roundtrip_one(WD_ALG_ES256); }
static void roundtrip_eddsa(void **s) { (void)s; roundtrip_one(WD_ALG_EDDSA); }

/* ---- algorithm attacks ------------------------------------------------------------------ */

static void alg_none_rejected(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  wd_verify_opts_t vo = {0};
  wd_request_t req = {.now = 100};
  static const char *const headers[] = {"{\"alg\":\"none\"}", "{\"alg\":\"NONE\",\"typ\":\"JWT\"}",
                                        "{\"alg\":\"nOnE\"}"};
  char *p = b64url("{\"sub\":\"x\"}", 11);
  for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
    char *h = b64url(headers[i], strlen(headers[i]));
    char tok[256];
    snprintf(tok, sizeof tok, "%s.%s.", h, p);
    expect_fail(ring, &vo, tok, &req, WD_EALG, "alg");
    snprintf(tok, sizeof tok, "%s.%s.AAAA", h, p); /* with some signature bytes too */
    expect_fail(ring, &vo, tok, &req, WD_EALG, "alg");
    free(h);
  }
  free(p);
  /* algorithms Warden does not verify */
  char *t = hs_token("SHA256", SECRET, "{\"alg\":\"HS1\"}", "{}");
  expect_fail(ring, &vo, t, &req, WD_EALG, "alg");
  free(t);
  t = hs_token("SHA256", SECRET, "{\"alg\":\"hs256\"}", "{}"); /* JOSE names are case-sensitive */
  expect_fail(ring, &vo, t, &req, WD_EALG, "alg");
  free(t);
  t = hs_token("SHA256", SECRET, "{\"alg\":256}", "{}");
  expect_fail(ring, &vo, t, &req, WD_EMALFORMED, "alg");
  free(t);
  t = hs_token("SHA256", SECRET, "{\"typ\":\"JWT\"}", "{}");
  expect_fail(ring, &vo, t, &req, WD_EMALFORMED, "alg");
  free(t);
  wd_keyring_destroy(ring);
}

static void hs_rs_confusion_rejected(void **state) {
  (void)state;
  EVP_PKEY *pk = keygen(WD_ALG_RS256);
  char *pub = pem_of(pk, 0);
  wd_keyring_t *ring = ring_new();
  add_pem(ring, pub, NULL);
  wd_verify_opts_t vo = {0};
  wd_request_t req = {.now = 100};
  /* an HS256 token MACed with the public key's PEM text (and its DER) as the secret */
  char *t = hs_token("SHA256", pub, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"admin\"}");
  expect_fail(ring, &vo, t, &req, WD_EALG, "alg");
  free(t);
  /* even with an HS key added for another kid the RSA key is never used as a MAC secret */
  add_secret(ring, WD_ALG_HS256, "hs", "unrelated-secret-unrelated-secret");
  t = hs_token("SHA256", pub, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"admin\"}");
  expect_fail(ring, &vo, t, &req, WD_ESIGNATURE, NULL); /* only the HS key was tried */
  free(t);
  /* and an RS256 header against a ring that only holds secrets */
  wd_keyring_t *hs = ring_new();
  add_secret(hs, WD_ALG_HS256, NULL, SECRET);
  t = hs_token("SHA256", SECRET, "{\"alg\":\"RS256\"}", "{\"sub\":\"admin\"}");
  expect_fail(hs, &vo, t, &req, WD_EALG, "alg");
  free(t);
  wd_keyring_destroy(hs);
  wd_keyring_destroy(ring);
  free(pub);
  EVP_PKEY_free(pk);
}

static void kid_selection_and_rotation(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, "old", "old-secret-old-secret-old-secret");
  add_secret(ring, WD_ALG_HS256, "new", "new-secret-new-secret-new-secret");
  wd_issue_opts_t io = {.now = 100};
  char *tnew = issue(ring, "{\"sub\":\"a\"}", &io);
  char *hdr = segment_text(tnew, 0);
  assert_string_equal(hdr, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"new\"}"); /* newest signs */
  free(hdr);
  io.kid = "old";
  char *told = issue(ring, "{\"sub\":\"a\"}", &io);
  hdr = segment_text(told, 0);
  assert_string_equal(hdr, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"old\"}");
  free(hdr);

  wd_verify_opts_t vo = {0};
  wd_request_t req = {.now = 100};
  assert_int_equal(verify_rc(ring, &vo, tnew, &req), 0);
  assert_int_equal(verify_rc(ring, &vo, told, &req), 0); /* old tokens still verify */

  /* after the old key is retired its tokens name a kid no key has */
  wd_keyring_t *retired = ring_new();
  add_secret(retired, WD_ALG_HS256, "new", "new-secret-new-secret-new-secret");
  expect_fail(retired, &vo, told, &req, WD_ENOKEY, "kid");
  assert_int_equal(verify_rc(retired, &vo, tnew, &req), 0);
  wd_keyring_destroy(retired);

  /* a kid must select its own key: the old token relabelled "new" fails */
  char *relabel = hs_token("SHA256", "old-secret-old-secret-old-secret",
                           "{\"alg\":\"HS256\",\"kid\":\"new\"}", "{\"sub\":\"a\"}");
  expect_fail(ring, &vo, relabel, &req, WD_ESIGNATURE, NULL);
  free(relabel);
  /* no kid in the token: every JWT key is tried */
  char *nokid = hs_token("SHA256", "old-secret-old-secret-old-secret", "{\"alg\":\"HS256\"}",
                         "{\"sub\":\"a\"}");
  assert_int_equal(verify_rc(ring, &vo, nokid, &req), 0);
  free(nokid);
  /* a key configured without kid verifies tokens of any kid */
  wd_keyring_t *anykid = ring_new();
  add_secret(anykid, WD_ALG_HS256, NULL, "old-secret-old-secret-old-secret");
  assert_int_equal(verify_rc(anykid, &vo, told, &req), 0);
  wd_keyring_destroy(anykid);
  /* a kid that is not a string */
  char *badkid = hs_token("SHA256", "old-secret-old-secret-old-secret",
                          "{\"alg\":\"HS256\",\"kid\":7}", "{}");
  expect_fail(ring, &vo, badkid, &req, WD_EMALFORMED, "kid");
  free(badkid);
  /* no JWT key at all */
  wd_keyring_t *empty = ring_new();
  assert_int_equal(wd_keyring_add_secret(empty, WD_SCHEME_CAT, WD_ALG_HS256, NULL, 0, NULL, "x", 1, NULL), 0);
  expect_fail(empty, &vo, tnew, &req, WD_ENOKEY, NULL);
  wd_keyring_destroy(empty);

  /* a key bound to an issuer verifies only that issuer's tokens */
  wd_keyring_t *scoped = ring_new();
  assert_int_equal(wd_keyring_add_secret(scoped, WD_SCHEME_JWT, WD_ALG_HS256, NULL, 0, "issuer-a",
                                         SECRET, strlen(SECRET), NULL),
                   0);
  char *ta = hs256("{\"iss\":\"issuer-a\"}"), *tb = hs256("{\"iss\":\"issuer-b\"}");
  assert_int_equal(verify_rc(scoped, &vo, ta, &req), 0);
  expect_fail(scoped, &vo, tb, &req, WD_ENOKEY, "iss");
  free(ta);
  free(tb);
  wd_keyring_destroy(scoped);

  free(tnew);
  free(told);
  wd_keyring_destroy(ring);
}

/* ---- time claims ------------------------------------------------------------------------ */

static void exp_nbf_leeway(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  char *t = hs256("{\"nbf\":500,\"exp\":1000}");
  wd_verify_opts_t vo = {0};
  wd_request_t req = {0};
  req.now = 999;
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  req.now = 1000;
  expect_fail(ring, &vo, t, &req, WD_EEXPIRED, "exp");
  req.now = 500;
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  req.now = 499;
  expect_fail(ring, &vo, t, &req, WD_ENOTYET, "nbf");
  vo.leeway = 5;
  req.now = 1004;
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  req.now = 1005;
  expect_fail(ring, &vo, t, &req, WD_EEXPIRED, "exp");
  req.now = 495;
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  req.now = 494;
  expect_fail(ring, &vo, t, &req, WD_ENOTYET, "nbf");
  free(t);

  /* fractional NumericDates and extreme values */
  vo.leeway = 0;
  t = hs256("{\"exp\":1000.5}");
  req.now = 1000;
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  req.now = 1001;
  expect_fail(ring, &vo, t, &req, WD_EEXPIRED, "exp");
  free(t);
  t = hs256("{\"exp\":9223372036854775807,\"nbf\":-9223372036854775807}");
  vo.leeway = 86400;
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  free(t);
  t = hs256("{\"exp\":1e300}");
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  free(t);

  /* NumericDates must be numbers */
  static const char *const bad[][2] = {
      {"{\"exp\":\"2000\"}", "exp"}, {"{\"nbf\":\"1\"}", "nbf"},  {"{\"iat\":\"1\"}", "iat"},
      {"{\"exp\":null}", "exp"},     {"{\"exp\":true}", "exp"},   {"{\"exp\":[2000]}", "exp"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    t = hs256(bad[i][0]);
    expect_fail(ring, &vo, t, &req, WD_EMALFORMED, bad[i][1]);
    free(t);
  }
  /* no exp: never expires, identity exp 0 */
  t = hs256("{\"sub\":\"x\"}");
  wd_result_t r;
  req.now = 4000000000;
  assert_int_equal(verify_full(ring, &vo, t, &req, &r), 0);
  assert_int_equal(r.id.exp, 0);
  wd_result_cleanup(&r);
  free(t);
  wd_keyring_destroy(ring);
}

/* ---- iss / aud / crit / typ ------------------------------------------------------------- */

static void issuer_audience_crit(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  static const char *const issuers[] = {"https://a.example", "https://b.example"};
  static const char *const auds[] = {"player", "cdn"};
  wd_verify_opts_t vo = {.jwt = {.issuers = issuers, .nissuers = 2, .audiences = auds, .naudiences = 2}};
  wd_request_t req = {.now = 100};
  char *t = hs256("{\"iss\":\"https://b.example\",\"aud\":\"cdn\"}");
  wd_result_t r;
  assert_int_equal(verify_full(ring, &vo, t, &req, &r), 0);
  assert_string_equal(r.id.issuer, "https://b.example");
  wd_result_cleanup(&r);
  free(t);
  t = hs256("{\"iss\":\"https://a.example\",\"aud\":[\"x\",\"player\"]}");
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  free(t);
  t = hs256("{\"iss\":\"https://c.example\",\"aud\":\"cdn\"}");
  expect_fail(ring, &vo, t, &req, WD_EISSUER, "iss");
  free(t);
  t = hs256("{\"aud\":\"cdn\"}");
  expect_fail(ring, &vo, t, &req, WD_EISSUER, "iss");
  free(t);
  t = hs256("{\"iss\":[\"https://a.example\"],\"aud\":\"cdn\"}");
  expect_fail(ring, &vo, t, &req, WD_EISSUER, "iss");
  free(t);
  t = hs256("{\"iss\":\"https://a.example\",\"aud\":[\"x\",\"y\"]}");
  expect_fail(ring, &vo, t, &req, WD_EAUDIENCE, "aud");
  free(t);
  t = hs256("{\"iss\":\"https://a.example\"}");
  expect_fail(ring, &vo, t, &req, WD_EAUDIENCE, "aud");
  free(t);
  t = hs256("{\"iss\":\"https://a.example\",\"aud\":\"cdnx\"}");
  expect_fail(ring, &vo, t, &req, WD_EAUDIENCE, "aud");
  free(t);
  /* not configured: neither is checked */
  wd_verify_opts_t open = {0};
  t = hs256("{\"iss\":\"anyone\",\"aud\":\"anything\"}");
  assert_int_equal(verify_rc(ring, &open, t, &req), 0);
  free(t);

  /* crit always names something Warden does not understand */
  t = hs_token("SHA256", SECRET, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{}");
  expect_fail(ring, &open, t, &req, WD_EUNSUPPORTED, "crit");
  free(t);
  t = hs_token("SHA256", SECRET, "{\"alg\":\"HS256\",\"crit\":[]}", "{}");
  expect_fail(ring, &open, t, &req, WD_EMALFORMED, "crit");
  free(t);
  t = hs_token("SHA256", SECRET, "{\"alg\":\"HS256\",\"crit\":\"b64\"}", "{}");
  expect_fail(ring, &open, t, &req, WD_EMALFORMED, "crit");
  free(t);
  /* any typ is accepted */
  t = hs_token("SHA256", SECRET, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", "{}");
  assert_int_equal(verify_rc(ring, &open, t, &req), 0);
  free(t);
  wd_keyring_destroy(ring);
}

/* ---- binding claims --------------------------------------------------------------------- */

static void binding_ip(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  wd_verify_opts_t vo = {0};
  wd_request_t req = {.now = 100, .ip = "203.0.113.7"};
  char *t = hs256("{\"ip\":\"203.0.113.7\"}");
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  req.ip = "::ffff:203.0.113.7"; /* the same client, IPv4-mapped */
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  req.ip = "203.0.113.8";
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "ip");
  req.ip = NULL;
  wd_result_t r;
  assert_int_equal(verify_full(ring, &vo, t, &req, &r), WD_ECLAIM);
  assert_non_null(strstr(r.reason, "no client address"));
  assert_string_equal(r.id.ip, "203.0.113.7"); /* identity known even on failure */
  wd_result_cleanup(&r);
  vo.jwt.no_bind_ip = 1;
  req.ip = "198.51.100.1";
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  vo.jwt.no_bind_ip = 0;
  free(t);

  t = hs256("{\"ip\":\"10.0.0.0/8\"}");
  req.ip = "10.200.3.4";
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  req.ip = "11.0.0.1";
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "ip");
  req.ip = "2001:db8::1";
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "ip");
  free(t);
  t = hs256("{\"ip\":\"2001:db8::/32\"}");
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  req.ip = "2001:db9::1";
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "ip");
  free(t);
  t = hs256("{\"ip\":\"2001:DB8:0::1\"}"); /* another spelling of the same address */
  req.ip = "2001:db8::1";
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  free(t);
  t = hs256("{\"ip\":\"not-an-ip\"}");
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "ip");
  free(t);
  t = hs256("{\"ip\":12345}");
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "ip");
  free(t);
  wd_keyring_destroy(ring);
}

static void binding_ua(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  wd_verify_opts_t vo = {0};
  wd_header_t h[] = {{"user-agent", "Mozilla/5.0"}};
  wd_request_t req = {.now = 100, .headers = h, .nheaders = 1};
  char *t = hs256("{\"ua\":\"Mozilla/5.0\"}");
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  h[0].value = "Mozilla/5.0 (X11)";
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "ua");
  h[0].value = "Mozilla/5.";
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "ua");
  req.nheaders = 0;
  wd_result_t r;
  assert_int_equal(verify_full(ring, &vo, t, &req, &r), WD_ECLAIM);
  assert_non_null(strstr(r.reason, "none"));
  wd_result_cleanup(&r);
  vo.jwt.no_bind_ua = 1;
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  free(t);
  wd_keyring_destroy(ring);
}

static void binding_path(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  wd_verify_opts_t vo = {0};
  wd_request_t req = {.now = 100};
  static const struct {
    const char *claim, *url;
    int ok;
  } cases[] = {
      {"/videos/", "https://cdn.example/videos/a/seg1.ts?token=x", 1},
      {"/videos/", "/videos/", 1},
      {"/videos/", "/videos", 0},
      {"/videos/", "/videos2/a.ts", 0},
      {"/videos/", "/other/a.ts", 0},
      {"/videos/", "/videos/../secret/key", 0},
      {"/videos/", "/videos/%2e%2e/secret/key", 0},
      {"/videos/", "/videos/./a.ts", 0},
      {"/videos/*", "/videos/a.ts", 1},
      {"/videos*", "/videos-hd/a.ts", 1},
      {"/v/a.m3u8", "/v/a.m3u8?x=1", 1},
      {"/v/a.m3u8", "/v/a.m3u8x", 0},
      {"/v/a.m3u8", "/v/A.m3u8", 0},
      {"/v/my video.m3u8", "/v/my%20video.m3u8", 1},
      {"/v/my%20video.m3u8", "/v/my%20video.m3u8", 1},
      {"/videos/", "/videos/%zz", 0},
      {"/videos/", "/videos/a%00b", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char payload[256];
    snprintf(payload, sizeof payload, "{\"path\":\"%s\"}", cases[i].claim);
    char *t = hs256(payload);
    req.url = cases[i].url;
    int rc = verify_rc(ring, &vo, t, &req);
    if (cases[i].ok && rc != 0)
      fail_msg("path %s should allow %s, got %s", cases[i].claim, cases[i].url, wd_errname(rc));
    if (!cases[i].ok)
      expect_fail(ring, &vo, t, &req, WD_ECLAIM, "path");
    free(t);
  }
  char *t = hs256("{\"path\":\"/videos/\"}");
  req.url = NULL;
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "path");
  vo.jwt.no_bind_path = 1;
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  free(t);
  wd_keyring_destroy(ring);
}

static void binding_video_id(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  wd_verify_opts_t vo = {0};
  wd_request_t req = {.now = 100};
  static const struct {
    const char *url;
    int ok;
  } cases[] = {
      {"/hls/vid123/index.m3u8", 1}, {"https://cdn.example/vid123.mp4?token=t", 1},
      {"/vid123", 1},                {"/hls/vid1234/index.m3u8", 0},
      {"/hls/xvid123/a.ts", 0},      {"/hls/a.ts?v=vid123", 0},
      {"/hls/vid12/3/a.ts", 0},
  };
  char *t = hs256("{\"video_id\":\"vid123\"}");
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    req.url = cases[i].url;
    if (cases[i].ok)
      assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
    else
      expect_fail(ring, &vo, t, &req, WD_ECLAIM, "video_id");
  }
  vo.jwt.no_bind_path = 1;
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  vo.jwt.no_bind_path = 0;
  free(t);
  t = hs256("{\"video_id\":42}");
  req.url = "/v/42/a.ts";
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  req.url = "/v/43/a.ts";
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "video_id");
  free(t);
  t = hs256("{\"video_id\":{\"a\":1}}");
  expect_fail(ring, &vo, t, &req, WD_ECLAIM, "video_id");
  free(t);
  wd_keyring_destroy(ring);
}

/* ---- identity and claims ---------------------------------------------------------------- */

static void identity_and_claims(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  wd_verify_opts_t vo = {.want_claims = 1};
  wd_request_t req = {.now = 100};
  wd_result_t r;
  char *t = hs256("{\"jti\":12345,\"sub\":\"user-9\",\"iss\":\"me\",\"iat\":90,\"exp\":200,\"x\":[1]}");
  assert_int_equal(verify_full(ring, &vo, t, &req, &r), 0);
  assert_string_equal(r.id.token_id, "12345");
  assert_string_equal(r.id.subject, "user-9");
  assert_string_equal(r.id.issuer, "me");
  assert_int_equal(r.id.iat, 90);
  assert_int_equal(r.id.exp, 200);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(r.claims, "x"), 0)), 1);
  wd_result_cleanup(&r);
  free(t);
  /* no jti: a hash of the signed part, the same for two encodings of one signature */
  t = hs256("{\"sub\":\"s\"}");
  assert_int_equal(verify_full(ring, &vo, t, &req, &r), 0);
  char id1[WD_ID_MAX];
  strcpy(id1, r.id.token_id);
  assert_int_equal(strncmp(id1, "sha256:", 7), 0);
  wd_result_cleanup(&r);
  char *padded = malloc(strlen(t) + 2);
  sprintf(padded, "%s=", t); /* padding is tolerated */
  assert_int_equal(verify_full(ring, &vo, padded, &req, &r), 0);
  assert_string_equal(r.id.token_id, id1);
  wd_result_cleanup(&r);
  free(padded);
  free(t);
  t = hs256("{\"sub\":\"other\"}");
  assert_int_equal(verify_full(ring, &vo, t, &req, &r), 0);
  assert_string_not_equal(r.id.token_id, id1);
  wd_result_cleanup(&r);
  free(t);
  /* a jti too long to keep is hashed, not truncated */
  char payload[600];
  memset(payload, 0, sizeof payload);
  strcpy(payload, "{\"jti\":\"");
  memset(payload + 8, 'j', 300);
  strcat(payload, "\"}");
  t = hs256(payload);
  assert_int_equal(verify_full(ring, &vo, t, &req, &r), 0);
  assert_int_equal(strncmp(r.id.token_id, "sha256:", 7), 0);
  wd_result_cleanup(&r);
  free(t);
  wd_keyring_destroy(ring);
}

/* ---- malformed input -------------------------------------------------------------------- */

static void bad_input(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  wd_verify_opts_t vo = {0};
  wd_request_t req = {.now = 100};
  char *good = hs256("{\"sub\":\"x\"}");
  assert_int_equal(verify_rc(ring, &vo, good, &req), 0);
  char *dot1 = strchr(good, '.'), *dot2 = strchr(dot1 + 1, '.');
  char buf[WD_TOKEN_MAX * 2];

  /* segment counts */
  expect_fail(ring, &vo, "abc", &req, WD_EMALFORMED, NULL);
  expect_fail(ring, &vo, "", &req, WD_EMALFORMED, NULL);
  expect_fail(ring, &vo, "..", &req, WD_EMALFORMED, NULL);
  snprintf(buf, sizeof buf, "%.*s", (int)(dot2 - good), good);
  expect_fail(ring, &vo, buf, &req, WD_EMALFORMED, NULL);
  snprintf(buf, sizeof buf, "%s.AAAA", good);
  expect_fail(ring, &vo, buf, &req, WD_EMALFORMED, NULL);
  snprintf(buf, sizeof buf, "%s", dot1); /* empty header */
  expect_fail(ring, &vo, buf, &req, WD_EMALFORMED, NULL);

  /* base64: standard alphabet, stray characters, impossible length */
  static const char *const badseg[] = {"eyJ+bGciOiJIUzI1NiJ9", "eyJhbGci*iJIUzI1NiJ9", "eyJhb",
                                       "eyJhbGciOiJIUzI1NiJ9 ", "eyJh=bGc"};
  for (size_t i = 0; i < sizeof badseg / sizeof *badseg; i++) {
    snprintf(buf, sizeof buf, "%s%s", badseg[i], dot1);
    expect_fail(ring, &vo, buf, &req, WD_EMALFORMED, NULL);
  }
  snprintf(buf, sizeof buf, "%.*s.%s", (int)(dot2 - good), good, "ab/c+d");
  expect_fail(ring, &vo, buf, &req, WD_EMALFORMED, NULL);
  /* payload segment with a standard-alphabet character */
  snprintf(buf, sizeof buf, "%.*s.e+J9%s", (int)(dot1 - good), good, dot2);
  expect_fail(ring, &vo, buf, &req, WD_EMALFORMED, NULL);

  /* header / payload not JSON objects, duplicate keys, bad JSON, bad UTF-8 */
  static const char *const hdrs[] = {"[\"alg\",\"HS256\"]", "\"HS256\"", "{\"alg\":\"HS256\"",
                                     "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", "null", ""};
  for (size_t i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
    char *t = hs_token("SHA256", SECRET, hdrs[i], "{}");
    expect_fail(ring, &vo, t, &req, WD_EMALFORMED, NULL);
    free(t);
  }
  static const char *const payloads[] = {"[1,2]", "42", "{\"exp\":1,\"exp\":2}", "{\"a\":",
                                         "{\"a\":\"\xff\xfe\"}", "{\"a\":\"\\u0000\"}", "",
                                         "{\"a\":1}x"};
  for (size_t i = 0; i < sizeof payloads / sizeof *payloads; i++) {
    char *t = hs256(payloads[i]);
    expect_fail(ring, &vo, t, &req, WD_EMALFORMED, NULL);
    free(t);
  }

  /* signatures: empty, truncated, too long, bit-flipped */
  snprintf(buf, sizeof buf, "%.*s.", (int)(dot2 - good), good);
  expect_fail(ring, &vo, buf, &req, WD_ESIGNATURE, NULL);
  snprintf(buf, sizeof buf, "%.*s", (int)strlen(good) - 4, good);
  expect_fail(ring, &vo, buf, &req, WD_ESIGNATURE, NULL);
  int n = snprintf(buf, sizeof buf, "%.*s.", (int)(dot2 - good), good);
  memset(buf + n, 'A', 2000);
  buf[n + 2000] = '\0';
  expect_fail(ring, &vo, buf, &req, WD_EMALFORMED, NULL);
  strcpy(buf, good);
  buf[dot2 - good + 5] = buf[dot2 - good + 5] == 'A' ? 'B' : 'A';
  expect_fail(ring, &vo, buf, &req, WD_ESIGNATURE, NULL);

  /* size bound */
  memset(buf, 'A', WD_TOKEN_MAX + 10);
  buf[10] = '.';
  buf[20] = '.';
  buf[WD_TOKEN_MAX + 10] = '\0';
  expect_fail(ring, &vo, buf, &req, WD_ETOOBIG, NULL);
  wd_result_t r;
  wd_result_init(&r);
  wd_verifier_t *v;
  assert_int_equal(wd_verifier_create(ring, &v), 0);
  assert_int_equal(wd__jwt_verify(v, &vo, buf, strlen(buf), &req, &r), WD_ETOOBIG);
  /* embedded NUL inside the given length */
  strcpy(buf, good);
  buf[3] = '\0';
  assert_int_equal(wd__jwt_verify(v, &vo, buf, strlen(good), &req, &r), WD_EMALFORMED);
  wd_verifier_destroy(v);
  wd_result_cleanup(&r);
  /* a large but legal token verifies */
  char *big = malloc(6000);
  strcpy(big, "{\"pad\":\"");
  memset(big + 8, 'p', 5900);
  strcpy(big + 5908, "\"}");
  char *t = hs256(big);
  assert_true(strlen(t) <= WD_TOKEN_MAX);
  assert_int_equal(verify_rc(ring, &vo, t, &req), 0);
  free(t);
  free(big);

  /* random single-byte damage: never accepted unless the signed part is intact, never a crash */
  unsigned seed = 12345;
  size_t len = strlen(good), signed_len = (size_t)(dot2 - good);
  for (int i = 0; i < 3000; i++) {
    strcpy(buf, good);
    seed = seed * 1103515245u + 12345u;
    size_t pos = (seed >> 8) % len;
    seed = seed * 1103515245u + 12345u;
    buf[pos] = (char)(1 + (seed >> 8) % 255);
    if (buf[pos] == good[pos])
      continue;
    int rc = verify_rc(ring, &vo, buf, &req);
    if (rc == 0)
      assert_true(pos > signed_len && strncmp(buf, good, signed_len) == 0);
    else
      assert_true(rc == WD_EMALFORMED || rc == WD_ESIGNATURE || rc == WD_EALG || rc == WD_ENOKEY ||
                  rc == WD_EUNSUPPORTED);
  }
  free(good);
  wd_keyring_destroy(ring);
}

/* ---- issue details ---------------------------------------------------------------------- */

static void issue_details(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  wd_issue_opts_t io = {.now = 1000, .ttl = 300, .ip = "198.51.100.4"};
  char *t = issue(ring, "{\"url\":\"https://a/b\",\"ctl\":\"a\\u001fb\\u00e9\",\"n\":5.0,\"f\":1.5,\"e\":[]}", &io);
  char *p = segment_text(t, 1);
  assert_string_equal(p, "{\"url\":\"https://a/b\",\"ctl\":\"a\\u001fb\xc3\xa9\",\"n\":5,\"f\":1.5,"
                         "\"e\":[],\"exp\":1300,\"ip\":\"198.51.100.4\"}");
  free(p);
  char *h = segment_text(t, 0);
  assert_string_equal(h, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
  free(h);
  free(t);
  /* a given exp and ip are kept */
  t = issue(ring, "{\"exp\":5000,\"ip\":\"10.0.0.0/8\"}", &io);
  p = segment_text(t, 1);
  assert_string_equal(p, "{\"exp\":5000,\"ip\":\"10.0.0.0/8\"}");
  free(p);
  free(t);

  char *out = NULL, err[256];
  json_t *c = json_pack("{s:s}", "exp", "tomorrow");
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_JWT, c, &io, &out, err, sizeof err), WD_EINVAL);
  assert_non_null(strstr(err, "exp"));
  assert_null(out);
  json_decref(c);
  c = json_array();
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_JWT, c, &io, &out, err, sizeof err), WD_EINVAL);
  json_decref(c);
  /* NULL claims: {} plus exp */
  wd_issue_opts_t plain = {.now = 10, .ttl = 5};
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_JWT, NULL, &plain, &out, err, sizeof err), 0);
  p = segment_text(out, 1);
  assert_string_equal(p, "{\"exp\":15}");
  free(p);
  free(out);
  out = NULL;
  /* unknown kid, public-only key, no key */
  wd_issue_opts_t bykid = {.kid = "nope"};
  c = json_object();
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_JWT, c, &bykid, &out, err, sizeof err), WD_ENOKEY);
  EVP_PKEY *pk = keygen(WD_ALG_EDDSA);
  char *pub = pem_of(pk, 0);
  wd_keyring_t *pubring = ring_new();
  add_pem(pubring, pub, NULL);
  static const wd_issue_opts_t none;
  assert_int_equal(wd_token_issue(pubring, WD_SCHEME_JWT, c, &none, &out, err, sizeof err), WD_ENOKEY);
  wd_keyring_destroy(pubring);
  /* a key of an algorithm JWT does not have */
  wd_keyring_t *md5 = ring_new();
  assert_int_equal(wd_keyring_add_secret(md5, WD_SCHEME_JWT, WD_ALG_HMD5, NULL, 0, NULL, "x", 1, NULL), 0);
  assert_int_equal(wd_token_issue(md5, WD_SCHEME_JWT, c, &none, &out, err, sizeof err), WD_EALG);
  wd_keyring_destroy(md5);
  /* the signer follows the claims' issuer */
  wd_keyring_t *two = ring_new();
  assert_int_equal(wd_keyring_add_secret(two, WD_SCHEME_JWT, WD_ALG_HS256, "ka", 2, "A", "secret-a", 8, NULL), 0);
  assert_int_equal(wd_keyring_add_secret(two, WD_SCHEME_JWT, WD_ALG_HS512, "kb", 2, "B", "secret-b", 8, NULL), 0);
  t = issue(two, "{\"iss\":\"A\"}", NULL);
  h = segment_text(t, 0);
  assert_string_equal(h, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"ka\"}");
  free(h);
  wd_verify_opts_t vo = {0};
  wd_request_t req = {.now = 1};
  assert_int_equal(verify_rc(two, &vo, t, &req), 0);
  free(t);
  wd_keyring_destroy(two);
  json_decref(c);
  free(pub);
  EVP_PKEY_free(pk);
  wd_keyring_destroy(ring);
}

/* ---- inspect ---------------------------------------------------------------------------- */

static void inspect(void **state) {
  (void)state;
  json_t *vec = tu_load_vectors("cdn/jwt-hls.json");
  json_t *c = json_array_get(json_object_get(vec, "cases"), 0);
  const char *tok = json_string_value(json_object_get(c, "expected"));
  json_t *o = NULL;
  char err[128];
  assert_int_equal(wd_token_inspect(tok, strlen(tok), &o, err, sizeof err), 0);
  assert_string_equal(json_string_value(json_object_get(o, "scheme")), "jwt");
  assert_string_equal(json_string_value(json_object_get(json_object_get(o, "header"), "typ")), "JWT");
  assert_true(json_equal(json_object_get(o, "claims"), json_object_get(c, "claims")));
  assert_int_equal(json_integer_value(json_object_get(o, "signature_bytes")), 32);
  json_decref(o);
  json_decref(vec);

  static const char *const bad[] = {"", "abc", "a.b", "a.b.c.d", "eyJhbGciOiJIUzI1NiJ9.e30",
                                    "e30.e30.", /* header {} has no alg */
                                    "WzFd.e30.", /* header [1] */
                                    "eyJhbGciOiJIUzI1NiJ9.WzFd.", /* payload [1] */
                                    "eyJhbGciOiJIUzI1NiJ9.e30.a+b", "eyJhbGciOiJIUzI1NiJ9 .e30."};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o = NULL;
    assert_int_equal(wd__jwt_inspect(bad[i], strlen(bad[i]), &o), WD_EMALFORMED);
    assert_null(o);
  }
  o = NULL;
  assert_int_equal(wd__jwt_inspect("eyJhbGciOiJub25lIn0.e30.", 24, &o), 0); /* alg none decodes */
  assert_int_equal(json_integer_value(json_object_get(o, "signature_bytes")), 0);
  json_decref(o);
}

/* ---- extract ---------------------------------------------------------------------------- */

static void extract(void **state) {
  (void)state;
  wd_verify_opts_t vo = {0};
  char buf[WD_TOKEN_MAX + 1];
  const char *tok;
  size_t len;
  wd_request_t req = {.url = "/v/a.m3u8?x=1&token=aa.bb.cc&jwt=dd.ee.ff"};
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), 0);
  assert_int_equal(len, 8);
  assert_memory_equal(tok, "aa.bb.cc", 8);
  req.url = "https://h/v/a.m3u8?jwt=dd.ee.ff";
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), 0);
  assert_memory_equal(tok, "dd.ee.ff", 8);
  req.url = "/v/a.m3u8?token=aa%2Ebb%2ecc";
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), 0);
  assert_ptr_equal(tok, buf);
  assert_int_equal(len, 8);
  assert_memory_equal(tok, "aa.bb.cc", 8);
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, 4, &tok, &len), WD_ETOOBIG);
  req.url = "/v/a.m3u8?token=aa%2";
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), WD_EMALFORMED);
  /* a configured name replaces both defaults */
  vo.jwt.query_param = "t";
  req.url = "/v/a.m3u8?token=aa.bb.cc&t=gg.hh.ii";
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), 0);
  assert_memory_equal(tok, "gg.hh.ii", 8);
  req.url = "/v/a.m3u8?token=aa.bb.cc";
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), WD_ENOTOKEN);
  vo.jwt.query_param = NULL;

  wd_header_t h[2] = {{"authorization", "bearer  jj.kk.ll "}, {"Cookie", "a=1; token=mm.nn.oo; b=2"}};
  req.url = "/v/a.m3u8?other=1";
  req.headers = h;
  req.nheaders = 2;
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), 0);
  assert_int_equal(len, 8);
  assert_memory_equal(tok, "jj.kk.ll", 8);
  h[0].value = "Basic dXNlcjpwYXNz";
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), 0);
  assert_memory_equal(tok, "mm.nn.oo", 8);
  vo.jwt.cookie_name = "jwtc";
  h[1].value = "token=mm.nn.oo; jwtc=pp.qq.rr";
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), 0);
  assert_memory_equal(tok, "pp.qq.rr", 8);
  h[1].value = "token=mm.nn.oo";
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), WD_ENOTOKEN);
  req.nheaders = 0;
  req.url = NULL;
  assert_int_equal(wd_token_extract(WD_SCHEME_JWT, &vo, &req, buf, sizeof buf, &tok, &len), WD_ENOTOKEN);

  /* verify without a token argument takes it from the URL */
  wd_keyring_t *ring = ring_new();
  add_secret(ring, WD_ALG_HS256, NULL, SECRET);
  char *t = hs256("{\"path\":\"/v/\"}");
  char url[512];
  snprintf(url, sizeof url, "/v/a.m3u8?token=%s", t);
  wd_request_t vreq = {.url = url, .now = 100};
  wd_verify_opts_t dflt = {0};
  assert_int_equal(verify_rc(ring, &dflt, NULL, &vreq), 0);
  vreq.url = "/v/a.m3u8";
  expect_fail(ring, &dflt, NULL, &vreq, WD_ENOTOKEN, NULL);
  free(t);
  wd_keyring_destroy(ring);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vector_reproduces),
      cmocka_unit_test(roundtrip_hs256),
      cmocka_unit_test(roundtrip_hs384),
      cmocka_unit_test(roundtrip_hs512),
      cmocka_unit_test(roundtrip_rs256),
      cmocka_unit_test(roundtrip_es256),
      cmocka_unit_test(roundtrip_eddsa),
      cmocka_unit_test(alg_none_rejected),
      cmocka_unit_test(hs_rs_confusion_rejected),
      cmocka_unit_test(kid_selection_and_rotation),
      cmocka_unit_test(exp_nbf_leeway),
      cmocka_unit_test(issuer_audience_crit),
      cmocka_unit_test(binding_ip),
      cmocka_unit_test(binding_ua),
      cmocka_unit_test(binding_path),
      cmocka_unit_test(binding_video_id),
      cmocka_unit_test(identity_and_claims),
      cmocka_unit_test(bad_input),
      cmocka_unit_test(issue_details),
      cmocka_unit_test(inspect),
      cmocka_unit_test(extract),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
