/*
 * Fuzz target url: the request helpers every scheme's extraction runs on (lib/util/url.h):
 * wd_url_split, wd_query_find, wd_cookie_find, wd_pct_decode, wd_request_header and
 * wd_request_find_token. Invariants: every span points inside the input, decoding never grows
 * the text and never writes past its buffer (ASan watches the exact-size heap buffers).
 */
#include "fuzz_util.h"
#include "util/url.h"

static const char *const names[] = {"cat", "CAT", "token", "__token__", "md5", "expires", "Policy",
                                    "Signature", "Key-Pair-Id", ""};

static void check_span(const char *base, size_t n, wd_span_t s, const char *what) {
  if (s.n == 0)
    return;
  FZ_ASSERT(s.p >= base && s.p + s.n <= base + n, "%s span outside the input", what);
}

static void decode(const char *p, size_t n) {
  for (int plus = 0; plus < 2; plus++) {
    char *out = malloc(n ? n : 1);
    if (!out)
      abort();
    long d = wd_pct_decode(p, n, out, n, plus);
    FZ_ASSERT(d >= -1 && d <= (long)n, "pct_decode returned %ld for %zu bytes", d, n);
    free(out);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 16384)
    return 0;
  char *s = fz_strndup(data, size);
  size_t n = strlen(s);
  wd_url_t u;
  if (wd_url_split(s, &u) == 0) {
    check_span(s, n, u.scheme, "scheme");
    check_span(s, n, u.host, "host");
    check_span(s, n, u.port, "port");
    check_span(s, n, u.path, "path");
    check_span(s, n, u.query, "query");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
      wd_span_t v;
      if (wd_query_find(u.query, names[i], &v) == 0) {
        check_span(s, n, v, "query value");
        decode(v.p, v.n);
      }
    }
    decode(u.path.p, u.path.n);
  }
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    wd_span_t v;
    if (wd_cookie_find(s, names[i], &v) == 0)
      check_span(s, n, v, "cookie value");
  }
  decode(s, size); /* the whole input, interior NULs included */

  /* The same text as URL, Cookie and header of a request. */
  wd_header_t headers[] = {{"Cookie", s}, {"CTA-Common-Access-Token", s}, {NULL, "x"}};
  wd_request_t req = {.url = s, .headers = headers, .nheaders = 3};
  FZ_ASSERT(wd_request_header(&req, "cookie") == s, "header lookup is not case-insensitive");
  wd_span_t v;
  if (wd_request_find_token(&req, "cat", "cat", "CTA-Common-Access-Token", &v) == 0)
    check_span(s, n, v, "token");
  free(s);
  return 0;
}
