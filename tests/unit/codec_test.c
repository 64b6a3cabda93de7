/* lib/util/codec.c: base64 (both alphabets, padding rules), hex, constant-time equality. */
#include <string.h>

#include "testutil.h"
#include "util/codec.h"
#include "warden/error.h"

static void b64_roundtrip(void **state) {
  (void)state;
  const uint8_t in[] = {0xfb, 0xff, 0x00, 0x10, 0x83};
  char out[16];
  for (size_t n = 0; n <= sizeof in; n++) {
    for (int url = 0; url < 2; url++) {
      for (int pad = 0; pad < 2; pad++) {
        size_t len = wd_b64_encode(in, n, out, url, pad);
        assert_int_equal(len, wd_b64_enc_len(n, pad));
        uint8_t back[8];
        size_t blen = 99;
        assert_int_equal(wd_b64_decode(out, len, back, sizeof back, &blen, url ? WD_B64_URL : WD_B64_STD), 0);
        assert_int_equal(blen, n);
        assert_memory_equal(back, in, n);
      }
    }
  }
}

static void b64_known(void **state) {
  (void)state;
  char out[16];
  wd_b64_encode((const uint8_t *)"\xfb\xff", 2, out, 1, 0);
  assert_string_equal(out, "-_8");
  wd_b64_encode((const uint8_t *)"\xfb\xff", 2, out, 0, 1);
  assert_string_equal(out, "+/8=");
}

static void b64_rejects(void **state) {
  (void)state;
  uint8_t buf[16];
  size_t n = 7;
  assert_int_equal(wd_b64_decode("-_8", 3, buf, sizeof buf, &n, WD_B64_STD), WD_EMALFORMED);
  assert_int_equal(wd_b64_decode("+/8", 3, buf, sizeof buf, &n, WD_B64_URL), WD_EMALFORMED);
  assert_int_equal(wd_b64_decode("abcde", 5, buf, sizeof buf, &n, WD_B64_ANY), WD_EMALFORMED);
  assert_int_equal(wd_b64_decode("ab=c", 4, buf, sizeof buf, &n, WD_B64_ANY), WD_EMALFORMED);
  assert_int_equal(wd_b64_decode("YQ==", 4, buf, sizeof buf, &n, WD_B64_ANY | WD_B64_NOPAD), WD_EMALFORMED);
  assert_int_equal(wd_b64_decode("YQ", 2, buf, sizeof buf, &n, WD_B64_ANY | WD_B64_PAD), WD_EMALFORMED);
  assert_int_equal(wd_b64_decode("YWJjZA", 6, buf, 3, &n, WD_B64_ANY), WD_ETOOBIG);
  assert_int_equal(n, 7); /* untouched on failure */
  assert_int_equal(wd_b64_decode("YQ==", 4, buf, sizeof buf, &n, WD_B64_ANY), 0);
  assert_int_equal(n, 1);
  assert_int_equal(buf[0], 'a');
}

static void hex(void **state) {
  (void)state;
  uint8_t buf[4];
  size_t n = 0;
  char out[9];
  assert_int_equal(wd_hex_decode("DEadBEef", 8, buf, sizeof buf, &n), 0);
  assert_int_equal(n, 4);
  wd_hex_encode(buf, n, out);
  assert_string_equal(out, "deadbeef");
  assert_int_equal(wd_hex_decode("abc", 3, buf, sizeof buf, &n), WD_EMALFORMED);
  assert_int_equal(wd_hex_decode("zz", 2, buf, sizeof buf, &n), WD_EMALFORMED);
  assert_int_equal(wd_hex_decode("0011223344", 10, buf, sizeof buf, &n), WD_ETOOBIG);
}

static void ct_equal(void **state) {
  (void)state;
  assert_true(wd_ct_equal("abcd", "abcd", 4));
  assert_false(wd_ct_equal("abcd", "abce", 4));
}

static void errors(void **state) {
  (void)state;
  assert_string_equal(wd_strerror(WD_EEXPIRED), "token expired");
  assert_string_equal(wd_errname(WD_ESIGNATURE), "ESIGNATURE");
  assert_string_equal(wd_strerror(12345), "unknown error");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(b64_roundtrip), cmocka_unit_test(b64_known), cmocka_unit_test(b64_rejects),
      cmocka_unit_test(hex),           cmocka_unit_test(ct_equal),  cmocka_unit_test(errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
