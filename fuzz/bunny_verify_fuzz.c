/*
 * Fuzz target bunny_verify: BunnyCDN token authentication, where the token lives in the URL (query
 * form ?token=&expires= or path form /bcdn_token=...&expires=.../path). The bytes are the request
 * URL; the first byte picks the client (IPv4 or IPv6 address, country). Results are released
 * each run.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 6000)
    return 0;
  uint8_t mode = data[0];
  char *url = fz_strndup(data + 1, size - 1);
  wd_request_t req = {
      .url = url,
      .ip = (mode & 1) ? "2001:db8:85a3::8a2e:370:7334" : "203.0.113.7",
      .method = "GET",
      .country = (mode & 2) ? "CA" : "RU",
      .now = 1598020000,
  };
  wd_verify_opts_t opts = {.want_claims = 1};
  if (mode & 4)
    opts.bunny.token_path = "/abc";
  fz_verify(&opts, WD_SCHEME_BUNNY, NULL, 0, &req);
  /* The token part alone, as a caller that extracted it would pass it. */
  const char *t = strstr(url, "HS256-");
  if (t) {
    size_t n = strcspn(t, "&/?#");
    fz_verify(&opts, WD_SCHEME_BUNNY, t, n, &req);
  }
  fz_inspect(url, strlen(url));
  free(url);
  return 0;
}
