/*
 * Shared helpers of the libFuzzer targets (fuzz/<target>_fuzz.c): the fixed keys and requests every
 * target verifies against, a NUL-terminated copy of the input, and the few signing primitives a
 * target needs to wrap fuzzed claims in a valid MAC so the claim checks behind the MAC are reached.
 *
 * Harness state (key ring, verifier) is created once per process and kept in statics: it stays
 * reachable, so LeakSanitizer reports only what a single input leaks.
 */
#ifndef WARDEN_FUZZ_UTIL_H
#define WARDEN_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/params.h>

#include "util/codec.h"
#include "warden/warden.h"

/* Fixed verification time: after every vector's nbf/iat, before the far-future exps. */
#define FZ_NOW 1750000000

/* The RFC 8392 "Symmetric256" key the node-cat vectors use, with its kid. */
static const uint8_t fz_cat_key[32] = {
    0x40, 0x36, 0x97, 0xde, 0x87, 0xaf, 0x64, 0x61, 0x1c, 0x1d, 0x32, 0xa0, 0x5d, 0xab, 0x0f, 0xe1,
    0xfc, 0xb7, 0x15, 0xa8, 0x6a, 0xb4, 0x35, 0xf1, 0xec, 0x99, 0x19, 0x2d, 0x79, 0x56, 0x93, 0x88};
#define FZ_CAT_KID "Symmetric256"
/* Kid of the tokens published in node-cat's own tests (same key bytes). */
#define FZ_CAT_KID2 "akamai_key_hs256"

#define FZ_JWT_SECRET "hls-jwt-demo-secret-0123456789abcdef"
static const uint8_t fz_akamai_key[14] = {0x52, 0xa1, 0x52, 0xa1, 0x52, 0xa1, 0x52,
                                          0xa1, 0x52, 0xa1, 0x52, 0xa1, 0x52, 0xa1};
#define FZ_SECURELINK_SECRET "secret"
#define FZ_BUNNY_KEY "SecurityKey"
#define FZ_CLOUDFRONT_KID "APKAEIBAERJR2EXAMPLE"

/* Print a harness invariant violation and abort: libFuzzer saves the input as a crash. */
#define FZ_ASSERT(cond, ...)                                                                       \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz invariant failed at %s:%d: ", __FILE__, __LINE__);                   \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* Setup failures are harness bugs, not findings: stop loudly. */
static inline void fz_check_setup(int rc, const char *what) {
  if (rc) {
    fprintf(stderr, "fuzz setup failed: %s: %s\n", what, wd_strerror(rc));
    abort();
  }
}

/* malloc'd NUL-terminated copy of the input (interior NULs kept: C-string APIs see a prefix). */
static inline char *fz_strndup(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s)
    abort();
  if (size)
    memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* Read a whole file (the CloudFront test key); aborts when missing. Caller frees. */
static inline char *fz_read_vector(const char *name, size_t *len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", WARDEN_VECTORS_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "fuzz setup failed: cannot open %s\n", path);
    abort();
  }
  char *buf = malloc(1 << 16);
  if (!buf)
    abort();
  size_t n = fread(buf, 1, (1 << 16) - 1, f);
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* One key ring with every fixed key, and one verifier over it, for the whole process. */
static inline wd_keyring_t *fz_ring(void) {
  static wd_keyring_t *ring;
  if (ring)
    return ring;
  fz_check_setup(wd_keyring_create(&ring), "keyring");
  fz_check_setup(wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_HS256, FZ_CAT_KID,
                                       strlen(FZ_CAT_KID), NULL, fz_cat_key, sizeof fz_cat_key, NULL),
                 "cat key");
  fz_check_setup(wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_HS256, FZ_CAT_KID2,
                                       strlen(FZ_CAT_KID2), NULL, fz_cat_key, sizeof fz_cat_key,
                                       NULL),
                 "cat key 2");
  fz_check_setup(wd_keyring_add_secret(ring, WD_SCHEME_JWT, WD_ALG_HS256, NULL, 0, NULL,
                                       FZ_JWT_SECRET, strlen(FZ_JWT_SECRET), NULL),
                 "jwt key");
  fz_check_setup(wd_keyring_add_secret(ring, WD_SCHEME_AKAMAI, WD_ALG_HS256, NULL, 0, NULL,
                                       fz_akamai_key, sizeof fz_akamai_key, NULL),
                 "akamai key");
  fz_check_setup(wd_keyring_add_secret(ring, WD_SCHEME_SECURELINK, WD_ALG_MD5, NULL, 0, NULL,
                                       FZ_SECURELINK_SECRET, strlen(FZ_SECURELINK_SECRET), NULL),
                 "securelink key");
  fz_check_setup(wd_keyring_add_secret(ring, WD_SCHEME_BUNNY, WD_ALG_HS256, NULL, 0, NULL,
                                       FZ_BUNNY_KEY, strlen(FZ_BUNNY_KEY), NULL),
                 "bunny key");
  size_t n;
  char *pem = fz_read_vector("cdn/cloudfront-test-key.pem", &n);
  fz_check_setup(wd_keyring_add_pem(ring, WD_SCHEME_CLOUDFRONT, WD_ALG_NONE, FZ_CLOUDFRONT_KID,
                                    strlen(FZ_CLOUDFRONT_KID), NULL, pem, n, NULL),
                 "cloudfront key");
  free(pem);
  return ring;
}

static inline wd_verifier_t *fz_verifier(void) {
  static wd_verifier_t *v;
  if (!v)
    fz_check_setup(wd_verifier_create(fz_ring(), &v), "verifier");
  return v;
}

/* Verify and always release the result; returns the verify code. */
static inline int fz_verify(const wd_verify_opts_t *opts, wd_scheme_t scheme, const char *tok,
                            size_t len, const wd_request_t *req) {
  wd_result_t r;
  wd_result_init(&r);
  int rc = wd_token_verify(fz_verifier(), opts, scheme, tok, len, req, &r);
  FZ_ASSERT(rc == r.code, "return %d differs from result code %d", rc, r.code);
  FZ_ASSERT(rc <= 0, "positive return %d", rc);
  FZ_ASSERT(memchr(r.reason, '\0', sizeof r.reason) != NULL, "reason not terminated");
  FZ_ASSERT(rc == 0 || r.reason[0], "failure %d without a reason", rc);
  FZ_ASSERT(memchr(r.id.token_id, '\0', sizeof r.id.token_id) != NULL, "token_id not terminated");
  if (r.claims)
    FZ_ASSERT(json_is_object(r.claims), "claims are not a JSON object");
  wd_result_cleanup(&r);
  return rc;
}

/* Inspect and release; returns the inspect code. */
static inline int fz_inspect(const char *tok, size_t len) {
  json_t *j = NULL;
  char err[256];
  int rc = wd_token_inspect(tok, len, &j, err, sizeof err);
  if (rc == 0)
    FZ_ASSERT(json_is_object(j), "inspect succeeded without an object");
  json_decref(j);
  return rc;
}

/* HMAC over parts with OpenSSL directly (independent of the library's MAC code). */
static inline size_t fz_hmac(const char *digest, const void *key, size_t keylen, const void *msg,
                             size_t msglen, unsigned char *out) {
  size_t outlen = 0;
  if (!EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key, keylen, msg, msglen, out, 64, &outlen))
    abort();
  return outlen;
}

/* Append a CBOR head (major type mt, argument v) to buf at *o. buf must have 9 bytes free. */
static inline void fz_cbor_head(uint8_t *buf, size_t *o, unsigned mt, uint64_t v) {
  uint8_t m = (uint8_t)(mt << 5);
  if (v < 24) {
    buf[(*o)++] = m | (uint8_t)v;
  } else if (v <= 0xff) {
    buf[(*o)++] = m | 24;
    buf[(*o)++] = (uint8_t)v;
  } else if (v <= 0xffff) {
    buf[(*o)++] = m | 25;
    buf[(*o)++] = (uint8_t)(v >> 8);
    buf[(*o)++] = (uint8_t)v;
  } else {
    buf[(*o)++] = m | 26;
    for (int s = 24; s >= 0; s -= 8)
      buf[(*o)++] = (uint8_t)(v >> s);
  }
}

/*
 * A CAT whose payload bstr holds `payload` (any bytes), MACed with the fixed key (HMAC 256/256),
 * as 61(17([<<{1: 5}>>, {4: kid}, payload, tag])) (tags per `tags`: bit 0 CWT 61, bit 1 COSE 17).
 * Returns the malloc'd base64url text; *len its length.
 */
static inline char *fz_cat_wrap(const uint8_t *payload, size_t n, int tags, size_t *len) {
  static const uint8_t prot[] = {0xa1, 0x01, 0x05};
  size_t cap = n + 128;
  uint8_t *mac0 = malloc(cap), *tok = malloc(cap);
  if (!mac0 || !tok)
    abort();
  size_t o = 0;
  mac0[o++] = 0x84;
  fz_cbor_head(mac0, &o, 3, 4);
  memcpy(mac0 + o, "MAC0", 4);
  o += 4;
  fz_cbor_head(mac0, &o, 2, sizeof prot);
  memcpy(mac0 + o, prot, sizeof prot);
  o += sizeof prot;
  mac0[o++] = 0x40;
  fz_cbor_head(mac0, &o, 2, n);
  memcpy(mac0 + o, payload, n);
  o += n;
  unsigned char tag[64];
  size_t taglen = fz_hmac("SHA256", fz_cat_key, sizeof fz_cat_key, mac0, o, tag);

  size_t t = 0;
  if (tags & 1) {
    tok[t++] = 0xd8;
    tok[t++] = 61;
  }
  if (tags & 2)
    tok[t++] = 0xd1;
  tok[t++] = 0x84;
  fz_cbor_head(tok, &t, 2, sizeof prot);
  memcpy(tok + t, prot, sizeof prot);
  t += sizeof prot;
  tok[t++] = 0xa1;
  tok[t++] = 0x04;
  fz_cbor_head(tok, &t, 2, strlen(FZ_CAT_KID));
  memcpy(tok + t, FZ_CAT_KID, strlen(FZ_CAT_KID));
  t += strlen(FZ_CAT_KID);
  fz_cbor_head(tok, &t, 2, n);
  memcpy(tok + t, payload, n);
  t += n;
  fz_cbor_head(tok, &t, 2, taglen);
  memcpy(tok + t, tag, taglen);
  t += taglen;

  char *text = malloc(wd_b64_enc_len(t, 0) + 1);
  if (!text)
    abort();
  *len = wd_b64_encode(tok, t, text, 1, 0);
  free(mac0);
  free(tok);
  return text;
}

/* base64url (no padding) of n bytes; malloc'd. */
static inline char *fz_b64url(const uint8_t *in, size_t n, size_t *len) {
  char *text = malloc(wd_b64_enc_len(n, 0) + 1);
  if (!text)
    abort();
  *len = wd_b64_encode(in, n, text, 1, 0);
  return text;
}

#endif
