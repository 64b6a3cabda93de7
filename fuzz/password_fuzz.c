/*
 * Fuzz target password: the password hashes of console users as they come from the
 * configuration file (wd_password_parse: the PHC strings of scrypt and PBKDF2-SHA256).
 * Invariants: an accepted hash has parameters inside the documented bounds (so a verification
 * never asks for more than 1 GiB or 10 million iterations), salt and hash lengths in range;
 * a refused one leaves the output untouched. Key derivation is not run here (by design it
 * costs tens of milliseconds); the unit tests cover it.
 */
#include "fuzz_util.h"
#include "warden/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 512)
    return 0;
  char *s = fz_strndup(data, size);
  wd_password_params_t p;
  memset(&p, 0xa5, sizeof p);
  wd_password_params_t before = p;
  int rc = wd_password_parse(s, &p);
  FZ_ASSERT(rc == 0 || rc == WD_EINVAL, "unexpected return %d", rc);
  if (rc == 0) {
    FZ_ASSERT(p.salt_len >= 8 && p.salt_len <= 64, "salt length %zu", p.salt_len);
    FZ_ASSERT(p.hash_len >= 16 && p.hash_len <= 64, "hash length %zu", p.hash_len);
    if (p.kdf == WD_KDF_SCRYPT) {
      FZ_ASSERT(p.log2_n >= 14 && p.log2_n <= 20, "ln %u", p.log2_n);
      FZ_ASSERT(128ull * p.r * (1ull << p.log2_n) <= (1ull << 30), "memory r=%u", p.r);
      FZ_ASSERT(p.p >= 1 && p.p <= 16, "p %u", p.p);
    } else {
      FZ_ASSERT(p.kdf == WD_KDF_PBKDF2_SHA256, "kdf %d", (int)p.kdf);
      FZ_ASSERT(p.iterations >= 100000 && p.iterations <= 10000000, "iterations %u",
                p.iterations);
    }
    FZ_ASSERT(strlen(s) < WD_PASSWORD_HASH_MAX, "accepted %zu bytes", strlen(s));
  } else {
    FZ_ASSERT(!memcmp(&p, &before, sizeof p), "params written on failure");
  }
  free(s);
  return 0;
}
