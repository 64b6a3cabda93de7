/*
 * Byte codecs shared by the token schemes: base64 (standard and URL alphabets), hex.
 * Encoders write a NUL terminator and return the text length; callers size buffers with the
 * *_len helpers. Decoders never write past `cap` and leave *outlen untouched on failure.
 */
#ifndef WARDEN_UTIL_CODEC_H
#define WARDEN_UTIL_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum {
  WD_B64_STD = 1,     /* accept + and / */
  WD_B64_URL = 2,     /* accept - and _ */
  WD_B64_ANY = 3,     /* accept either alphabet (not mixed meaningfully: each char maps once) */
  WD_B64_NOPAD = 4,   /* reject '=' padding */
  WD_B64_PAD = 8,     /* require '=' padding */
};

/* Text length of n bytes encoded, with or without padding (NUL not counted). */
size_t wd_b64_enc_len(size_t n, int pad);
/* Encode; `url` selects -_ instead of +/. `out` needs wd_b64_enc_len(n, pad) + 1 bytes. */
size_t wd_b64_encode(const uint8_t *in, size_t n, char *out, int url, int pad);
/* Decode with the WD_B64_* flags; WD_EMALFORMED on a bad character or length, WD_ETOOBIG past cap. */
int wd_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen, int flags);
/* Upper bound of the decoded size of n characters. */
static inline size_t wd_b64_dec_max(size_t n) { return (n / 4 + 1) * 3; }

/* The value of one hex digit (either case), -1 for any other character. */
static inline int wd_hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Lowercase hex; out needs 2n+1 bytes. */
void wd_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode hex (either case, even length); WD_EMALFORMED / WD_ETOOBIG. */
int wd_hex_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);

/* Constant-time equality of two byte strings of the same length (lengths are not secret). */
int wd_ct_equal(const void *a, const void *b, size_t n);

#endif
