/*
 * Fuzz target cat_verify: the input is CAT token text as it arrives in a header, cookie or query
 * parameter. It is verified with the fixed Symmetric256 key against a fixed request that satisfies
 * the claims of the node-cat vectors (catu, catnip, catm, catr), with claims mapped to JSON, and
 * then inspected. Every result is released each run.
 */
#include "fuzz_util.h"

static const wd_header_t headers[] = {
    {"User-Agent", "Mozilla/5.0"},
    {"CTA-Common-Access-Token", "x"},
    {"Cookie", "cta-common-access-token=x; other=1"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > WD_TOKEN_MAX + 16)
    return 0;
  char *tok = fz_strndup(data, size);
  wd_request_t req = {
      .url = "https://cdn.example.com/content/a/index.m3u8?x=1",
      .ip = "192.168.1.10",
      .method = "GET",
      .headers = headers,
      .nheaders = sizeof headers / sizeof *headers,
      .alpn = "h2",
      .country = "SE",
      .asn = 64500,
      .has_coord = 1,
      .lat = 59.33,
      .lon = 18.07,
      .geohash = "u6sce",
      .now = FZ_NOW,
  };
  wd_verify_opts_t opts = {.want_claims = 1, .leeway = 5};
  fz_verify(&opts, WD_SCHEME_CAT, tok, size, &req);

  /* Strict, Akamai-label, legacy-payload variant on a bare request. */
  wd_request_t bare = {.now = FZ_NOW};
  wd_verify_opts_t strict = {.want_claims = 1};
  strict.cat.unknown = WD_CAT_UNKNOWN_STRICT;
  strict.cat.labels = WD_CAT_LABELS_AKAMAI;
  strict.cat.allow_text_payload = 1;
  strict.cat.stem_first_dot = 1;
  strict.cat.port_explicit = 1;
  fz_verify(&strict, WD_SCHEME_CAT, tok, size, &bare);

  fz_inspect(tok, size);
  free(tok);
  return 0;
}
