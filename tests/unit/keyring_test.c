/* lib/token/keyring.c and verifier.c: key lookup by kid, rotation, algorithm pinning, HMAC. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "testutil.h"
#include "token/internal.h"
#include "util/codec.h"
#include "warden/warden.h"

static void names(void **state) {
  (void)state;
  wd_scheme_t s;
  assert_int_equal(wd_scheme_parse("CloudFront", &s), 0);
  assert_int_equal(s, WD_SCHEME_CLOUDFRONT);
  assert_string_equal(wd_scheme_name(WD_SCHEME_SECURELINK), "securelink");
  assert_int_equal(wd_scheme_parse("catt", &s), WD_EINVAL);
  wd_alg_t a;
  assert_int_equal(wd_alg_parse("es256", &a), 0);
  assert_int_equal(a, WD_ALG_ES256);
  assert_int_equal(wd_alg_parse("none", &a), WD_EINVAL);
}

static void lookup_and_rotation(void **state) {
  (void)state;
  wd_keyring_t *ring;
  const wd_key_t *old, *cur, *anykid, *other;
  assert_int_equal(wd_keyring_create(&ring), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_NONE, "k1", 2, "iss", "a", 1, &old), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_JWT, WD_ALG_HS512, "k1", 2, NULL, "b", 1, &other), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_NONE, NULL, 0, NULL, "c", 1, &anykid), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_HS256, "k2", 2, "iss", "d", 1, &cur), 0);
  assert_int_equal(old->alg, WD_ALG_HS256);
  assert_int_equal(wd_keyring_count(ring), 4);

  /* kid k1: the exact match first, then keys without kid; never other schemes. */
  unsigned c = 0;
  assert_ptr_equal(wd_keyring_next(ring, WD_SCHEME_CAT, "k1", 2, &c), old);
  assert_ptr_equal(wd_keyring_next(ring, WD_SCHEME_CAT, "k1", 2, &c), anykid);
  assert_null(wd_keyring_next(ring, WD_SCHEME_CAT, "k1", 2, &c));
  /* unknown kid: only the kid-less key */
  c = 0;
  assert_ptr_equal(wd_keyring_next(ring, WD_SCHEME_CAT, "zz", 2, &c), anykid);
  assert_null(wd_keyring_next(ring, WD_SCHEME_CAT, "zz", 2, &c));
  /* no kid in the token: every key of the scheme, newest first, once each */
  c = 0;
  assert_ptr_equal(wd_keyring_next(ring, WD_SCHEME_CAT, NULL, 0, &c), cur);
  assert_ptr_equal(wd_keyring_next(ring, WD_SCHEME_CAT, NULL, 0, &c), anykid);
  assert_ptr_equal(wd_keyring_next(ring, WD_SCHEME_CAT, NULL, 0, &c), old);
  assert_null(wd_keyring_next(ring, WD_SCHEME_CAT, NULL, 0, &c));

  /* the newest key signs; a kid picks its key */
  assert_ptr_equal(wd_keyring_signer(ring, WD_SCHEME_CAT, NULL, "iss"), cur);
  assert_ptr_equal(wd_keyring_signer(ring, WD_SCHEME_CAT, "k1", NULL), old);
  assert_ptr_equal(wd_keyring_signer(ring, WD_SCHEME_JWT, NULL, NULL), other);
  assert_null(wd_keyring_signer(ring, WD_SCHEME_AKAMAI, NULL, NULL));
  wd_keyring_destroy(ring);
}

static void rejects_bad_keys(void **state) {
  (void)state;
  wd_keyring_t *ring;
  assert_int_equal(wd_keyring_create(&ring), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_NONE, NULL, 0, NULL, "", 0, NULL), WD_EINVAL);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_RS256, NULL, 0, NULL, "x", 1, NULL), WD_EINVAL);
  assert_int_equal(wd_keyring_add_pem(ring, WD_SCHEME_JWT, WD_ALG_NONE, NULL, 0, NULL, "junk", 4, NULL), WD_EKEY);
  /* an EC key cannot be pinned to RS256 */
  EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  assert_non_null(pk);
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
  char *pem;
  long n = BIO_get_mem_data(b, &pem);
  assert_int_equal(wd_keyring_add_pem(ring, WD_SCHEME_JWT, WD_ALG_RS256, NULL, 0, NULL, pem, (size_t)n, NULL), WD_EKEY);
  const wd_key_t *k;
  assert_int_equal(wd_keyring_add_pem(ring, WD_SCHEME_JWT, WD_ALG_NONE, "ec", 2, NULL, pem, (size_t)n, &k), 0);
  assert_int_equal(k->alg, WD_ALG_ES256);
  assert_true(k->is_private);
  BIO_free(b);
  EVP_PKEY_free(pk);
  assert_int_equal(wd_keyring_count(ring), 1);
  wd_keyring_destroy(ring);
}

/* RFC 4231 test case 2 through the verifier's cached context, twice (context reuse). */
static void hmac_reuse(void **state) {
  (void)state;
  wd_keyring_t *ring;
  wd_verifier_t *v;
  const wd_key_t *k;
  assert_int_equal(wd_keyring_create(&ring), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_JWT, WD_ALG_HS256, NULL, 0, NULL, "Jefe", 4, &k), 0);
  assert_int_equal(wd_verifier_create(ring, &v), 0);
  for (int i = 0; i < 2; i++) {
    unsigned char mac[WD_DIGEST_MAX];
    size_t n;
    wd_iov_t parts[] = {{"what do ya want ", 16}, {"for nothing?", 12}};
    assert_int_equal(wd__hmac(v, k, parts, 2, mac, &n), 0);
    char hex[2 * WD_DIGEST_MAX + 1];
    wd_hex_encode(mac, n, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_int_equal(wd__hmac_oneshot(k, parts, 2, mac, &n), 0);
    wd_hex_encode(mac, n, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
  wd_verifier_destroy(v);
  wd_keyring_destroy(ring);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names),
      cmocka_unit_test(lookup_and_rotation),
      cmocka_unit_test(rejects_bad_keys),
      cmocka_unit_test(hmac_reuse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
