/*
 * The key ring: every key Warden verifies or signs with, per scheme.
 *
 * A key has a scheme, an optional kid (CAT kid, JWT kid, CloudFront Key-Pair-Id), an optional
 * issuer, a pinned algorithm, and material: secret bytes (HMAC schemes, md5 links) or an
 * OpenSSL key (RSA, EC P-256, Ed25519; private keys can sign, public keys only verify).
 *
 * Rotation: keys are kept in the order added; the newest key of a scheme (and issuer) signs,
 * all of them verify. Lookup by kid returns keys whose kid equals it, then keys configured
 * without a kid (those are tried for tokens of any kid: the MAC or signature still decides).
 *
 * A ring is built at start-up and not changed while verifiers use it; to rotate at run time
 * build a new ring and new verifiers. The ring owns copies of everything added to it.
 */
#ifndef WARDEN_KEYRING_H
#define WARDEN_KEYRING_H

#include <stddef.h>
#include <stdint.h>

typedef enum wd_scheme {
  WD_SCHEME_NONE = 0,
  WD_SCHEME_CAT,
  WD_SCHEME_JWT,
  WD_SCHEME_AKAMAI,
  WD_SCHEME_SECURELINK,
  WD_SCHEME_CLOUDFRONT,
  WD_SCHEME_BUNNY,
  WD_SCHEME_COUNT
} wd_scheme_t;

/* "cat", "jwt", "akamai", "securelink", "cloudfront", "bunny". */
const char *wd_scheme_name(wd_scheme_t s);
/* Parse a scheme name; returns WD_EINVAL for an unknown one. */
int wd_scheme_parse(const char *name, wd_scheme_t *out);

/* Algorithms, pinned per key. A token whose header names another algorithm is refused. */
typedef enum wd_alg {
  WD_ALG_NONE = 0,    /* unset: the scheme's default for this kind of key */
  WD_ALG_HS256,       /* HMAC-SHA256: JWT HS256, CAT alg 5 (HMAC 256/256), Akamai sha256 */
  WD_ALG_HS256_64,    /* CAT alg 4: HMAC-SHA256 truncated to 64 bits */
  WD_ALG_HS384,
  WD_ALG_HS512,
  WD_ALG_HS1,         /* HMAC-SHA1: Akamai sha1 */
  WD_ALG_HMD5,        /* HMAC-MD5: Akamai md5 */
  WD_ALG_MD5,         /* plain MD5 over a template: secure links */
  WD_ALG_RS256,       /* RSASSA-PKCS1-v1_5 SHA-256 */
  WD_ALG_RS1,         /* RSASSA-PKCS1-v1_5 SHA-1: CloudFront default */
  WD_ALG_ES256,       /* ECDSA P-256 SHA-256 */
  WD_ALG_EDDSA,       /* Ed25519 */
  WD_ALG_COUNT
} wd_alg_t;

/* "HS256", "HS256/64", "HS384", "HS512", "HS1", "HMD5", "MD5", "RS256", "RS1", "ES256", "EdDSA". */
const char *wd_alg_name(wd_alg_t a);
int wd_alg_parse(const char *name, wd_alg_t *out);

typedef struct wd_keyring wd_keyring_t;

/* One key. Read-only for callers; lives as long as its ring. */
typedef struct wd_key {
  unsigned index;        /* position in the ring, dense from 0: verifiers cache per index */
  wd_scheme_t scheme;
  wd_alg_t alg;
  char kid[128];         /* "" when configured without one */
  size_t kid_len;        /* kids may be binary (CAT bstr) */
  char issuer[128];      /* "" when any issuer */
  unsigned char *secret; /* HMAC / md5 secret, NULL for asymmetric keys */
  size_t secret_len;
  void *pkey;            /* EVP_PKEY*, NULL for secrets */
  int is_private;        /* pkey can sign */
} wd_key_t;

int wd_keyring_create(wd_keyring_t **out);
void wd_keyring_destroy(wd_keyring_t *ring);

/* Number of keys; wd_keyring_at(ring, i) for 0 <= i < count. */
unsigned wd_keyring_count(const wd_keyring_t *ring);
const wd_key_t *wd_keyring_at(const wd_keyring_t *ring, unsigned i);

/*
 * Add a secret key (copied). kid may be NULL or binary (kid_len bytes); issuer may be NULL.
 * alg WD_ALG_NONE picks the scheme's default (HS256; MD5 for securelink).
 * Returns WD_EINVAL for an empty secret or an algorithm that is not a MAC, WD_ENOMEM.
 */
int wd_keyring_add_secret(wd_keyring_t *ring, wd_scheme_t scheme, wd_alg_t alg, const void *kid,
                          size_t kid_len, const char *issuer, const void *secret, size_t len,
                          const wd_key_t **out);

/*
 * Add a PEM key (public or private; a private key also verifies). alg WD_ALG_NONE picks from the
 * key type: RSA -> RS256 (RS1 for cloudfront), EC P-256 -> ES256, Ed25519 -> EdDSA.
 * Returns WD_EKEY when the PEM does not parse or does not fit alg.
 */
int wd_keyring_add_pem(wd_keyring_t *ring, wd_scheme_t scheme, wd_alg_t alg, const void *kid,
                       size_t kid_len, const char *issuer, const char *pem, size_t len,
                       const wd_key_t **out);

/*
 * Iterate the keys that may verify a token of `scheme` with this kid (kid NULL: every key of the
 * scheme). Exact kid matches first (newest first), then keys without a kid. *cursor starts at 0.
 * Returns the next key or NULL when done.
 */
const wd_key_t *wd_keyring_next(const wd_keyring_t *ring, wd_scheme_t scheme, const void *kid,
                                size_t kid_len, unsigned *cursor);

/*
 * The key that signs for `scheme`: the newest one with this kid (when kid is not NULL), else the
 * newest of the scheme whose issuer matches (issuer NULL: any). Asymmetric keys must be private.
 * Returns NULL when there is none.
 */
const wd_key_t *wd_keyring_signer(const wd_keyring_t *ring, wd_scheme_t scheme, const char *kid,
                                  const char *issuer);

#endif
