/*
 * The per-thread verifier: keyed HMAC contexts cached per key (re-initialised, never re-keyed,
 * per call: the cheapest way through OpenSSL 3), pre-fetched digests, and the signature helpers
 * every scheme shares.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "token/internal.h"
#include "util/codec.h"

static const char *const md_names[] = {"SHA256", "SHA1", "MD5", "SHA384", "SHA512", "SHA512-256"};

int wd_verifier_create(const wd_keyring_t *ring, wd_verifier_t **out) {
  wd_verifier_t *v = calloc(1, sizeof *v);
  if (!v)
    return WD_ENOMEM;
  v->ring = ring;
  v->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  v->mdctx = EVP_MD_CTX_new();
  for (size_t i = 0; i < sizeof md_names / sizeof *md_names; i++)
    v->md[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
  if (!v->hmac || !v->mdctx || !v->md[WD_MD_SHA256]) {
    wd_verifier_destroy(v);
    return WD_ECRYPTO;
  }
  *out = v;
  return 0;
}

void wd_verifier_destroy(wd_verifier_t *v) {
  if (!v)
    return;
  for (unsigned i = 0; i < v->nmac; i++)
    EVP_MAC_CTX_free(v->mac[i]);
  free(v->mac);
  EVP_MAC_free(v->hmac);
  EVP_MD_CTX_free(v->mdctx);
  for (size_t i = 0; i < sizeof v->md / sizeof *v->md; i++)
    EVP_MD_free((EVP_MD *)v->md[i]);
  free(v);
}

const wd_keyring_t *wd_verifier_keyring(const wd_verifier_t *v) { return v->ring; }

static const char *hmac_digest(wd_alg_t a) {
  switch (a) {
  case WD_ALG_HS256:
  case WD_ALG_HS256_64:
    return "SHA256";
  case WD_ALG_HS384:
    return "SHA384";
  case WD_ALG_HS512:
    return "SHA512";
  case WD_ALG_HS1:
    return "SHA1";
  case WD_ALG_HMD5:
    return "MD5";
  default:
    return NULL;
  }
}

static EVP_MAC_CTX *keyed_ctx(wd_verifier_t *v, const wd_key_t *k) {
  if (k->index >= v->nmac) {
    unsigned n = wd_keyring_count(v->ring);
    if (n <= k->index)
      n = k->index + 1;
    EVP_MAC_CTX **m = realloc(v->mac, n * sizeof *m);
    if (!m)
      return NULL;
    memset(m + v->nmac, 0, (n - v->nmac) * sizeof *m);
    v->mac = m;
    v->nmac = n;
  }
  if (!v->mac[k->index]) {
    const char *dg = hmac_digest(k->alg);
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(v->hmac);
    if (!c)
      return NULL;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)dg, 0),
                            OSSL_PARAM_construct_end()};
    if (!EVP_MAC_init(c, k->secret, k->secret_len, params)) {
      EVP_MAC_CTX_free(c);
      return NULL;
    }
    v->mac[k->index] = c;
    return c;
  }
  EVP_MAC_CTX *c = v->mac[k->index];
  if (!EVP_MAC_init(c, NULL, 0, NULL))
    return NULL;
  return c;
}

int wd__hmac(wd_verifier_t *v, const wd_key_t *k, const wd_iov_t *parts, size_t nparts,
             unsigned char *out, size_t *outlen) {
  if (!k->secret || !hmac_digest(k->alg))
    return WD_EALG;
  EVP_MAC_CTX *c = keyed_ctx(v, k);
  if (!c)
    return WD_ECRYPTO;
  for (size_t i = 0; i < nparts; i++)
    if (parts[i].n && !EVP_MAC_update(c, parts[i].p, parts[i].n))
      return WD_ECRYPTO;
  if (!EVP_MAC_final(c, out, outlen, WD_DIGEST_MAX))
    return WD_ECRYPTO;
  return 0;
}

int wd__hmac_oneshot(const wd_key_t *k, const wd_iov_t *parts, size_t nparts, unsigned char *out,
                     size_t *outlen) {
  const char *dg = hmac_digest(k->alg);
  if (!k->secret || !dg)
    return WD_EALG;
  int rc = WD_ECRYPTO;
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
  OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)dg, 0),
                          OSSL_PARAM_construct_end()};
  if (!c || !EVP_MAC_init(c, k->secret, k->secret_len, params))
    goto out;
  for (size_t i = 0; i < nparts; i++)
    if (parts[i].n && !EVP_MAC_update(c, parts[i].p, parts[i].n))
      goto out;
  if (!EVP_MAC_final(c, out, outlen, WD_DIGEST_MAX))
    goto out;
  rc = 0;
out:
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(mac);
  return rc;
}

int wd__digest(wd_verifier_t *v, wd_md_t md, const wd_iov_t *parts, size_t nparts,
               unsigned char *out, size_t *outlen) {
  const EVP_MD *m = v->md[md];
  unsigned int n = 0;
  if (!m || !EVP_DigestInit_ex(v->mdctx, m, NULL))
    return WD_ECRYPTO;
  for (size_t i = 0; i < nparts; i++)
    if (parts[i].n && !EVP_DigestUpdate(v->mdctx, parts[i].p, parts[i].n))
      return WD_ECRYPTO;
  if (!EVP_DigestFinal_ex(v->mdctx, out, &n))
    return WD_ECRYPTO;
  *outlen = n;
  return 0;
}

static const char *sig_digest(wd_alg_t a) {
  switch (a) {
  case WD_ALG_RS256:
  case WD_ALG_ES256:
    return "SHA256";
  case WD_ALG_RS1:
    return "SHA1";
  default:
    return NULL; /* EdDSA: none */
  }
}

/* raw r||s (32+32) -> DER, for EVP verification. */
static int ecdsa_raw_to_der(const unsigned char *sig, size_t siglen, unsigned char **der, size_t *derlen) {
  if (siglen != 64)
    return WD_ESIGNATURE;
  ECDSA_SIG *s = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
  if (!s || !r || !ss || !ECDSA_SIG_set0(s, r, ss)) {
    ECDSA_SIG_free(s);
    BN_free(r);
    BN_free(ss);
    return WD_ENOMEM;
  }
  unsigned char *p = NULL;
  int n = i2d_ECDSA_SIG(s, &p);
  ECDSA_SIG_free(s);
  if (n <= 0)
    return WD_ECRYPTO;
  *der = p;
  *derlen = (size_t)n;
  return 0;
}

int wd__verify_sig(wd_verifier_t *v, const wd_key_t *k, const void *msg, size_t msglen,
                   const unsigned char *sig, size_t siglen, int raw_ecdsa) {
  if (!k->pkey)
    return WD_EALG;
  unsigned char *der = NULL;
  size_t derlen = 0;
  if (k->alg == WD_ALG_ES256 && raw_ecdsa) {
    int rc = ecdsa_raw_to_der(sig, siglen, &der, &derlen);
    if (rc)
      return rc;
    sig = der;
    siglen = derlen;
  }
  EVP_MD_CTX *c = v->mdctx;
  EVP_MD_CTX_reset(c);
  int ok = EVP_DigestVerifyInit_ex(c, NULL, sig_digest(k->alg), NULL, NULL, k->pkey, NULL) == 1 &&
           EVP_DigestVerify(c, sig, siglen, msg, msglen) == 1;
  EVP_MD_CTX_reset(c);
  OPENSSL_free(der);
  return ok ? 0 : WD_ESIGNATURE;
}

int wd__sign(const wd_key_t *k, const void *msg, size_t msglen, unsigned char **sig,
             size_t *siglen, int raw_ecdsa) {
  if (!k->pkey || !k->is_private)
    return WD_EKEY;
  int rc = WD_ECRYPTO;
  unsigned char *buf = NULL;
  size_t n = 0;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (!c)
    return WD_ENOMEM;
  if (EVP_DigestSignInit_ex(c, NULL, sig_digest(k->alg), NULL, NULL, k->pkey, NULL) != 1 ||
      EVP_DigestSign(c, NULL, &n, msg, msglen) != 1)
    goto out;
  buf = malloc(n);
  if (!buf || EVP_DigestSign(c, buf, &n, msg, msglen) != 1)
    goto out;
  if (k->alg == WD_ALG_ES256 && raw_ecdsa) {
    const unsigned char *p = buf;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (!s)
      goto out;
    unsigned char *raw = malloc(64);
    if (!raw || BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + 32, 32) != 32) {
      free(raw);
      ECDSA_SIG_free(s);
      goto out;
    }
    ECDSA_SIG_free(s);
    free(buf);
    buf = raw;
    n = 64;
  }
  *sig = buf;
  *siglen = n;
  buf = NULL;
  rc = 0;
out:
  free(buf);
  EVP_MD_CTX_free(c);
  return rc;
}

int64_t wd__now(const wd_request_t *req) {
  if (req && req->now)
    return req->now;
  return (int64_t)time(NULL);
}

int wd__random(void *buf, size_t n) { return RAND_bytes(buf, (int)n) == 1 ? 0 : WD_ECRYPTO; }

void wd__identity_hash_id(wd_verifier_t *v, wd_identity_t *id, const char *tok, size_t len) {
  unsigned char d[WD_DIGEST_MAX];
  size_t dn = 0;
  wd_iov_t part = {tok, len};
  memcpy(id->token_id, "sha256:", 7);
  if (wd__digest(v, WD_MD_SHA256, &part, 1, d, &dn) == 0) {
    if (dn > 20)
      dn = 20; /* 160 bits name a token uniquely enough and keep ids short */
    wd_hex_encode(d, dn, id->token_id + 7);
  } else {
    id->token_id[0] = '\0';
  }
}

void wd__copy_field(char *dst, size_t cap, const char *src, size_t n) {
  if (!cap)
    return;
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}
