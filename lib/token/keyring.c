/* The key ring: an append-only array of keys per scheme; see warden/keyring.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "warden/error.h"
#include "warden/keyring.h"

struct wd_keyring {
  wd_key_t **keys;
  unsigned count, cap;
};

static const char *const scheme_names[WD_SCHEME_COUNT] = {
    [WD_SCHEME_NONE] = "none",         [WD_SCHEME_CAT] = "cat",
    [WD_SCHEME_JWT] = "jwt",           [WD_SCHEME_AKAMAI] = "akamai",
    [WD_SCHEME_SECURELINK] = "securelink", [WD_SCHEME_CLOUDFRONT] = "cloudfront",
    [WD_SCHEME_BUNNY] = "bunny",
};

const char *wd_scheme_name(wd_scheme_t s) {
  return (s > WD_SCHEME_NONE && s < WD_SCHEME_COUNT) ? scheme_names[s] : "none";
}

int wd_scheme_parse(const char *name, wd_scheme_t *out) {
  for (int s = WD_SCHEME_CAT; s < WD_SCHEME_COUNT; s++)
    if (name && strcasecmp(name, scheme_names[s]) == 0) {
      *out = (wd_scheme_t)s;
      return 0;
    }
  return WD_EINVAL;
}

static const char *const alg_names[WD_ALG_COUNT] = {
    [WD_ALG_NONE] = "none",   [WD_ALG_HS256] = "HS256", [WD_ALG_HS256_64] = "HS256/64",
    [WD_ALG_HS384] = "HS384", [WD_ALG_HS512] = "HS512", [WD_ALG_HS1] = "HS1",
    [WD_ALG_HMD5] = "HMD5",   [WD_ALG_MD5] = "MD5",     [WD_ALG_RS256] = "RS256",
    [WD_ALG_RS1] = "RS1",     [WD_ALG_ES256] = "ES256", [WD_ALG_EDDSA] = "EdDSA",
};

const char *wd_alg_name(wd_alg_t a) { return (a >= 0 && a < WD_ALG_COUNT) ? alg_names[a] : "none"; }

int wd_alg_parse(const char *name, wd_alg_t *out) {
  for (int a = WD_ALG_HS256; a < WD_ALG_COUNT; a++)
    if (name && strcasecmp(name, alg_names[a]) == 0) {
      *out = (wd_alg_t)a;
      return 0;
    }
  return WD_EINVAL;
}

int wd_keyring_create(wd_keyring_t **out) {
  wd_keyring_t *r = calloc(1, sizeof *r);
  if (!r)
    return WD_ENOMEM;
  *out = r;
  return 0;
}

void wd_keyring_destroy(wd_keyring_t *ring) {
  if (!ring)
    return;
  for (unsigned i = 0; i < ring->count; i++) {
    wd_key_t *k = ring->keys[i];
    if (k->secret) {
      OPENSSL_cleanse(k->secret, k->secret_len);
      free(k->secret);
    }
    EVP_PKEY_free(k->pkey);
    free(k);
  }
  free(ring->keys);
  free(ring);
}

unsigned wd_keyring_count(const wd_keyring_t *ring) { return ring ? ring->count : 0; }

const wd_key_t *wd_keyring_at(const wd_keyring_t *ring, unsigned i) {
  return (ring && i < ring->count) ? ring->keys[i] : NULL;
}

static int is_mac_alg(wd_alg_t a) {
  return a == WD_ALG_HS256 || a == WD_ALG_HS256_64 || a == WD_ALG_HS384 || a == WD_ALG_HS512 ||
         a == WD_ALG_HS1 || a == WD_ALG_HMD5 || a == WD_ALG_MD5;
}

static int key_new(wd_keyring_t *ring, wd_scheme_t scheme, wd_alg_t alg, const void *kid,
                   size_t kid_len, const char *issuer, wd_key_t **out) {
  if (scheme <= WD_SCHEME_NONE || scheme >= WD_SCHEME_COUNT)
    return WD_EINVAL;
  if (!kid)
    kid_len = 0;
  if (kid_len >= sizeof(((wd_key_t *)0)->kid) ||
      (issuer && strlen(issuer) >= sizeof(((wd_key_t *)0)->issuer)))
    return WD_ETOOBIG;
  if (ring->count == ring->cap) {
    unsigned nc = ring->cap ? ring->cap * 2 : 8;
    wd_key_t **nk = realloc(ring->keys, nc * sizeof *nk);
    if (!nk)
      return WD_ENOMEM;
    ring->keys = nk;
    ring->cap = nc;
  }
  wd_key_t *k = calloc(1, sizeof *k);
  if (!k)
    return WD_ENOMEM;
  k->scheme = scheme;
  k->alg = alg;
  if (kid_len)
    memcpy(k->kid, kid, kid_len);
  k->kid_len = kid_len;
  if (issuer)
    strcpy(k->issuer, issuer);
  *out = k;
  return 0;
}

static void key_commit(wd_keyring_t *ring, wd_key_t *k, const wd_key_t **out) {
  k->index = ring->count;
  ring->keys[ring->count++] = k;
  if (out)
    *out = k;
}

int wd_keyring_add_secret(wd_keyring_t *ring, wd_scheme_t scheme, wd_alg_t alg, const void *kid,
                          size_t kid_len, const char *issuer, const void *secret, size_t len,
                          const wd_key_t **out) {
  if (!ring || !secret || len == 0)
    return WD_EINVAL;
  if (alg == WD_ALG_NONE)
    alg = scheme == WD_SCHEME_SECURELINK ? WD_ALG_MD5 : WD_ALG_HS256;
  if (!is_mac_alg(alg))
    return WD_EINVAL;
  wd_key_t *k;
  int rc = key_new(ring, scheme, alg, kid, kid_len, issuer, &k);
  if (rc)
    return rc;
  k->secret = malloc(len);
  if (!k->secret) {
    free(k);
    return WD_ENOMEM;
  }
  memcpy(k->secret, secret, len);
  k->secret_len = len;
  key_commit(ring, k, out);
  return 0;
}

int wd_keyring_add_pem(wd_keyring_t *ring, wd_scheme_t scheme, wd_alg_t alg, const void *kid,
                       size_t kid_len, const char *issuer, const char *pem, size_t len,
                       const wd_key_t **out) {
  if (!ring || !pem || len == 0 || len > (1u << 20))
    return WD_EINVAL;
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (!bio)
    return WD_ENOMEM;
  int is_private = 1;
  EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  if (!pk) {
    is_private = 0;
    (void)BIO_reset(bio);
    pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  }
  BIO_free(bio);
  if (!pk)
    return WD_EKEY;
  int type = EVP_PKEY_get_base_id(pk);
  wd_alg_t want;
  if (type == EVP_PKEY_RSA)
    want = (alg == WD_ALG_RS1 || (alg == WD_ALG_NONE && scheme == WD_SCHEME_CLOUDFRONT)) ? WD_ALG_RS1
                                                                                         : WD_ALG_RS256;
  else if (type == EVP_PKEY_EC && EVP_PKEY_get_bits(pk) == 256)
    want = WD_ALG_ES256;
  else if (type == EVP_PKEY_ED25519)
    want = WD_ALG_EDDSA;
  else
    want = WD_ALG_NONE;
  if (want == WD_ALG_NONE || (alg != WD_ALG_NONE && alg != want)) {
    EVP_PKEY_free(pk);
    return WD_EKEY;
  }
  wd_key_t *k;
  int rc = key_new(ring, scheme, want, kid, kid_len, issuer, &k);
  if (rc) {
    EVP_PKEY_free(pk);
    return rc;
  }
  k->pkey = pk;
  k->is_private = is_private;
  key_commit(ring, k, out);
  return 0;
}

/* Cursor encoding: pass 0 walks exact-kid matches newest first, pass 1 keys without kid. */
const wd_key_t *wd_keyring_next(const wd_keyring_t *ring, wd_scheme_t scheme, const void *kid,
                                size_t kid_len, unsigned *cursor) {
  if (!ring)
    return NULL;
  unsigned n = ring->count;
  while (*cursor < 2 * n) {
    unsigned c = (*cursor)++;
    int pass = c >= n;
    const wd_key_t *k = ring->keys[n - 1 - (c % n)];
    if (k->scheme != scheme)
      continue;
    if (!kid) {
      if (!pass)
        return k; /* no kid in the token: every key of the scheme, once */
      continue;
    }
    if (!pass && k->kid_len && k->kid_len == kid_len && memcmp(k->kid, kid, kid_len) == 0)
      return k;
    if (pass && k->kid_len == 0)
      return k;
  }
  return NULL;
}

const wd_key_t *wd_keyring_signer(const wd_keyring_t *ring, wd_scheme_t scheme, const char *kid,
                                  const char *issuer) {
  if (!ring)
    return NULL;
  for (unsigned i = ring->count; i-- > 0;) {
    const wd_key_t *k = ring->keys[i];
    if (k->scheme != scheme || (k->pkey && !k->is_private))
      continue;
    if (kid) {
      if (k->kid_len == strlen(kid) && memcmp(k->kid, kid, k->kid_len) == 0)
        return k;
      continue;
    }
    if (issuer && k->issuer[0] && strcmp(k->issuer, issuer) != 0)
      continue;
    return k;
  }
  return NULL;
}
