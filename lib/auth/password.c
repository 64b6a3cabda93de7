/*
 * Password hashes in the PHC string format over OpenSSL 3's scrypt (EVP_PBE_scrypt) and
 * PBKDF2-HMAC-SHA256 (PKCS5_PBKDF2_HMAC), and the role names (see warden/auth.h).
 *
 * The parser reads the encoded text field by field without sscanf: every number is bounded
 * before it is used, so a hostile configuration line can neither overflow nor ask for more
 * than the ceiling's memory or time.
 */
#include "warden/auth.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/codec.h"
#include "warden/error.h"

#define SCRYPT_LN_MIN 14u
#define SCRYPT_LN_MAX 20u
#define SCRYPT_R_MAX 32u
#define SCRYPT_P_MAX 16u
#define SCRYPT_MEM_MAX (1ull << 30)
#define PBKDF2_MIN 100000u
#define PBKDF2_MAX 10000000u
#define SALT_MIN 8u
#define SALT_MAX 64u
#define HASH_MIN 16u
#define HASH_MAX 64u

/* ---------------------------------------------------------------- roles */

const char *wd_role_name(wd_role_t r) {
  switch (r) {
  case WD_ROLE_VIEWER: return "viewer";
  case WD_ROLE_MODERATOR: return "moderator";
  case WD_ROLE_ADMIN: return "admin";
  default: return "unknown";
  }
}

int wd_role_parse(const char *s, wd_role_t *out) {
  if (!s || !out)
    return WD_EINVAL;
  for (int r = WD_ROLE_VIEWER; r <= WD_ROLE_ADMIN; r++) {
    if (!strcmp(s, wd_role_name((wd_role_t)r))) {
      *out = (wd_role_t)r;
      return 0;
    }
  }
  return WD_EINVAL;
}

/* ---------------------------------------------------------------- parameters */

void wd_password_params_default(wd_kdf_t kdf, wd_password_params_t *out) {
  memset(out, 0, sizeof *out);
  out->kdf = kdf == WD_KDF_PBKDF2_SHA256 ? WD_KDF_PBKDF2_SHA256 : WD_KDF_SCRYPT;
  out->log2_n = 16;
  out->r = 8;
  out->p = 1;
  out->iterations = 600000;
  out->salt_len = 16;
  out->hash_len = 32;
}

static int params_ok(const wd_password_params_t *p) {
  if (p->salt_len < SALT_MIN || p->salt_len > SALT_MAX || p->hash_len < HASH_MIN ||
      p->hash_len > HASH_MAX)
    return 0;
  if (p->kdf == WD_KDF_SCRYPT)
    return p->log2_n >= SCRYPT_LN_MIN && p->log2_n <= SCRYPT_LN_MAX && p->r >= 1 &&
           p->r <= SCRYPT_R_MAX && p->p >= 1 && p->p <= SCRYPT_P_MAX &&
           128ull * p->r * (1ull << p->log2_n) <= SCRYPT_MEM_MAX &&
           128ull * p->r * p->p <= SCRYPT_MEM_MAX;
  if (p->kdf == WD_KDF_PBKDF2_SHA256)
    return p->iterations >= PBKDF2_MIN && p->iterations <= PBKDF2_MAX;
  return 0;
}

/* Derive hash_len bytes into out. 0 or WD_ECRYPTO. */
static int derive(const char *pw, size_t len, const uint8_t *salt, const wd_password_params_t *p,
                  uint8_t *out) {
  if (p->kdf == WD_KDF_SCRYPT) {
    uint64_t n = 1ull << p->log2_n;
    /* OpenSSL counts V (128 r N) and B (128 r p) against maxmem, plus a little */
    uint64_t maxmem = 128ull * p->r * (n + p->p) + (1u << 20);
    return EVP_PBE_scrypt(pw, len, salt, p->salt_len, n, p->r, p->p, maxmem, out, p->hash_len) == 1
               ? 0
               : WD_ECRYPTO;
  }
  return PKCS5_PBKDF2_HMAC(pw, (int)len, salt, (int)p->salt_len, (int)p->iterations, EVP_sha256(),
                           (int)p->hash_len, out) == 1
             ? 0
             : WD_ECRYPTO;
}

/* ---------------------------------------------------------------- encoding */

int wd_password_hash(const char *pw, size_t len, const wd_password_params_t *params, char *out,
                     size_t cap) {
  if (!pw || len == 0 || len > WD_PASSWORD_MAX || !params || !out || !params_ok(params))
    return WD_EINVAL;
  uint8_t salt[SALT_MAX], hash[HASH_MAX];
  if (RAND_bytes(salt, (int)params->salt_len) != 1)
    return WD_ECRYPTO;
  int rc = derive(pw, len, salt, params, hash);
  if (rc)
    return rc;
  char s64[SALT_MAX * 2], h64[HASH_MAX * 2], head[64];
  wd_b64_encode(salt, params->salt_len, s64, 0, 0);
  wd_b64_encode(hash, params->hash_len, h64, 0, 0);
  OPENSSL_cleanse(hash, sizeof hash);
  int hl;
  if (params->kdf == WD_KDF_SCRYPT)
    hl = snprintf(head, sizeof head, "$scrypt$ln=%u,r=%u,p=%u", params->log2_n, params->r,
                  params->p);
  else
    hl = snprintf(head, sizeof head, "$pbkdf2-sha256$i=%u", params->iterations);
  size_t need = (size_t)hl + 1 + strlen(s64) + 1 + strlen(h64) + 1;
  if (need > cap)
    return WD_ETOOBIG;
  snprintf(out, cap, "%s$%s$%s", head, s64, h64);
  return 0;
}

/* A decimal number of at most 9 digits from *s up to a delimiter in `ends` (or the end). */
static int number(const char **s, const char *ends, unsigned *out) {
  const char *p = *s;
  unsigned v = 0;
  int digits = 0;
  while (*p >= '0' && *p <= '9') {
    if (++digits > 9 || (digits > 1 && v == 0))
      return -1; /* too long, or a leading zero */
    v = v * 10 + (unsigned)(*p - '0');
    p++;
  }
  if (!digits || (*p && !strchr(ends, *p)))
    return -1;
  *s = p;
  *out = v;
  return 0;
}

/* "name=" then a number; advances *s past it. */
static int field(const char **s, const char *name, const char *ends, unsigned *out) {
  size_t n = strlen(name);
  if (strncmp(*s, name, n) || (*s)[n] != '=')
    return -1;
  *s += n + 1;
  return number(s, ends, out);
}

/* base64 (standard, no padding) from s up to '$' or the end into out; *n gets the length. */
static int b64_field(const char **s, uint8_t *out, size_t cap, size_t *n) {
  const char *p = *s;
  size_t len = strcspn(p, "$");
  if (len == 0 || len > cap * 2 ||
      wd_b64_decode(p, len, out, cap, n, WD_B64_STD | WD_B64_NOPAD))
    return -1;
  *s = p + len;
  return 0;
}

/* Parse into params, salt and hash. 0 or WD_EINVAL. */
static int parse(const char *e, wd_password_params_t *p, uint8_t *salt, uint8_t *hash) {
  if (!e || strnlen(e, WD_PASSWORD_HASH_MAX) >= WD_PASSWORD_HASH_MAX)
    return WD_EINVAL;
  memset(p, 0, sizeof *p);
  const char *s = e;
  if (!strncmp(s, "$scrypt$", 8)) {
    p->kdf = WD_KDF_SCRYPT;
    s += 8;
    if (field(&s, "ln", ",", &p->log2_n) || *s++ != ',' || field(&s, "r", ",", &p->r) ||
        *s++ != ',' || field(&s, "p", "$", &p->p))
      return WD_EINVAL;
  } else if (!strncmp(s, "$pbkdf2-sha256$", 15)) {
    p->kdf = WD_KDF_PBKDF2_SHA256;
    s += 15;
    if (field(&s, "i", "$", &p->iterations))
      return WD_EINVAL;
  } else {
    return WD_EINVAL;
  }
  if (*s++ != '$' || b64_field(&s, salt, SALT_MAX, &p->salt_len) || *s++ != '$' ||
      b64_field(&s, hash, HASH_MAX, &p->hash_len) || *s)
    return WD_EINVAL;
  return params_ok(p) ? 0 : WD_EINVAL;
}

int wd_password_parse(const char *encoded, wd_password_params_t *params) {
  wd_password_params_t p;
  uint8_t salt[SALT_MAX], hash[HASH_MAX];
  int rc = parse(encoded, &p, salt, hash);
  if (!rc && params)
    *params = p;
  return rc;
}

int wd_password_verify(const char *pw, size_t len, const char *encoded) {
  wd_password_params_t p;
  uint8_t salt[SALT_MAX], want[HASH_MAX], got[HASH_MAX];
  if (!pw || len > WD_PASSWORD_MAX || parse(encoded, &p, salt, want))
    return WD_EINVAL;
  int rc = derive(pw, len, salt, &p, got);
  if (rc)
    return rc;
  int match = CRYPTO_memcmp(got, want, p.hash_len) == 0;
  OPENSSL_cleanse(got, sizeof got);
  return match;
}
