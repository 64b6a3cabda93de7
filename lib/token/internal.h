/*
 * Internals shared by the token schemes: the per-thread verifier (keyed MAC and digest contexts
 * reused across calls), and the entry points every scheme implements for the dispatcher.
 */
#ifndef WARDEN_TOKEN_INTERNAL_H
#define WARDEN_TOKEN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "warden/token.h"

/* A piece of a message to MAC or hash, so callers need not concatenate. */
typedef struct wd_iov {
  const void *p;
  size_t n;
} wd_iov_t;

/* Digest output buffer size (largest: SHA-512). */
#define WD_DIGEST_MAX 64

struct wd_verifier {
  const wd_keyring_t *ring;
  EVP_MAC *hmac;            /* fetched once */
  EVP_MAC_CTX **mac;        /* keyed context per key index, created on first use */
  unsigned nmac;
  EVP_MD_CTX *mdctx;        /* reused for plain digests and signature checks */
  const EVP_MD *md[6];      /* pre-fetched: sha256, sha1, md5, sha384, sha512, sha512-256 */
};

typedef enum wd_md {
  WD_MD_SHA256 = 0,
  WD_MD_SHA1,
  WD_MD_MD5,
  WD_MD_SHA384,
  WD_MD_SHA512,
  WD_MD_SHA512_256,
} wd_md_t;

/*
 * HMAC over the concatenation of parts with the key's secret and the digest its alg implies
 * (HS256/HS256_64 -> SHA-256, HS384, HS512, HS1 -> SHA-1, HMD5 -> MD5). Writes the full MAC to
 * out (WD_DIGEST_MAX bytes) and its length to *outlen. WD_EALG when the key is not an HMAC key.
 */
int wd__hmac(wd_verifier_t *v, const wd_key_t *k, const wd_iov_t *parts, size_t nparts,
             unsigned char *out, size_t *outlen);

/* Plain digest of the concatenation of parts. */
int wd__digest(wd_verifier_t *v, wd_md_t md, const wd_iov_t *parts, size_t nparts,
               unsigned char *out, size_t *outlen);

/* Verify an asymmetric signature (RS*, ES256 in DER or raw r||s form per `raw_ecdsa`, EdDSA)
 * made by key k over msg. Returns 0, WD_ESIGNATURE or WD_EALG. */
int wd__verify_sig(wd_verifier_t *v, const wd_key_t *k, const void *msg, size_t msglen,
                   const unsigned char *sig, size_t siglen, int raw_ecdsa);

/* Sign msg with private key k. *sig is malloc'd (raw r||s for ECDSA when raw_ecdsa). */
int wd__sign(const wd_key_t *k, const void *msg, size_t msglen, unsigned char **sig,
             size_t *siglen, int raw_ecdsa);

/* HMAC with a key's secret without a verifier (issuing paths). */
int wd__hmac_oneshot(const wd_key_t *k, const wd_iov_t *parts, size_t nparts, unsigned char *out,
                     size_t *outlen);

/* Current time when req->now is 0. */
int64_t wd__now(const wd_request_t *req);

/* Random bytes from the OS CSPRNG. */
int wd__random(void *buf, size_t n);

/* Set identity token_id to "sha256:<hex>" of the token text. */
void wd__identity_hash_id(wd_verifier_t *v, wd_identity_t *id, const char *tok, size_t len);

/* Copy a (not NUL-terminated) string into a fixed field, truncating. */
void wd__copy_field(char *dst, size_t cap, const char *src, size_t n);

/*
 * The request path as nginx computes $uri: %XX decoded, "//" merged, "." and ".." segments
 * resolved (lib/token/securelink.c). Writes out (cap bytes, NUL-terminated) and returns the
 * length, or WD_EMALFORMED (bad escape, NUL byte, ".." above the root, no leading "/"),
 * WD_ETOOBIG when it does not fit.
 */
long wd__path_normalize(const char *path, size_t n, char *out, size_t cap);

/* Each scheme implements these four (lib/token/<scheme>.c). */
#define WD_SCHEME_DECLARE(name)                                                                    \
  int wd__##name##_verify(wd_verifier_t *v, const wd_verify_opts_t *opts, const char *tok,        \
                          size_t len, const wd_request_t *req, wd_result_t *r);                   \
  int wd__##name##_issue(const wd_keyring_t *ring, const json_t *claims,                          \
                         const wd_issue_opts_t *opts, char **out, char *err, size_t errlen);      \
  int wd__##name##_inspect(const char *tok, size_t len, json_t **out);                            \
  int wd__##name##_extract(const wd_verify_opts_t *opts, const wd_request_t *req, char *buf,       \
                           size_t cap, const char **tok, size_t *len);

WD_SCHEME_DECLARE(cat)
WD_SCHEME_DECLARE(jwt)
WD_SCHEME_DECLARE(akamai)
WD_SCHEME_DECLARE(securelink)
WD_SCHEME_DECLARE(cloudfront)
WD_SCHEME_DECLARE(bunny)

#endif
