/*
 * Fuzz target codec: the base64 (every alphabet and padding flag) and hex decoders every token
 * text goes through (lib/util/codec.h). Invariants: the output never exceeds its cap (exact-size
 * heap buffers under ASan), and what decodes re-encodes to text that decodes to the same bytes.
 */
#include "fuzz_util.h"

static const int flags[] = {WD_B64_STD, WD_B64_URL, WD_B64_ANY, WD_B64_URL | WD_B64_NOPAD,
                            WD_B64_STD | WD_B64_PAD, WD_B64_ANY | WD_B64_NOPAD};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 16384)
    return 0;
  const char *s = (const char *)data;
  size_t cap = wd_b64_dec_max(size);
  for (size_t f = 0; f < sizeof flags / sizeof *flags; f++) {
    uint8_t *out = malloc(cap ? cap : 1);
    size_t outlen = (size_t)-1;
    if (!out)
      abort();
    int rc = wd_b64_decode(s, size, out, cap, &outlen, flags[f]);
    if (rc == 0) {
      FZ_ASSERT(outlen <= cap, "decoded %zu bytes into %zu", outlen, cap);
      int url = (flags[f] & WD_B64_URL) != 0;
      char *re = malloc(wd_b64_enc_len(outlen, 1) + 1);
      uint8_t *back = malloc(outlen ? outlen : 1);
      size_t backlen = 0;
      if (!re || !back)
        abort();
      size_t rl = wd_b64_encode(out, outlen, re, url, !(flags[f] & WD_B64_NOPAD));
      FZ_ASSERT(wd_b64_decode(re, rl, back, outlen, &backlen, flags[f]) == 0 &&
                    backlen == outlen && !memcmp(back, out, outlen),
                "base64 of %zu bytes does not round-trip (flags %d)", outlen, flags[f]);
      free(re);
      free(back);
    } else {
      FZ_ASSERT(outlen == (size_t)-1, "outlen written on failure");
    }
    /* A cap one byte short of the result must fail, not overflow. */
    if (rc == 0 && outlen > 0) {
      uint8_t *small = malloc(outlen - 1 ? outlen - 1 : 1);
      size_t sl;
      if (!small)
        abort();
      FZ_ASSERT(wd_b64_decode(s, size, small, outlen - 1, &sl, flags[f]) != 0,
                "decode into a short buffer succeeded");
      free(small);
    }
    free(out);
  }
  uint8_t *hex = malloc(size / 2 + 1);
  size_t hl = 0;
  if (!hex)
    abort();
  if (wd_hex_decode(s, size, hex, size / 2, &hl) == 0)
    FZ_ASSERT(hl * 2 == size, "hex decoded %zu bytes from %zu chars", hl, size);
  free(hex);
  return 0;
}
