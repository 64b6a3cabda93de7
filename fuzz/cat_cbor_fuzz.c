/*
 * Fuzz target cat_cbor: the input is raw CBOR. The first byte picks how it reaches the verifier:
 *   bit 0 clear: the bytes are the whole COSE/CWT structure, base64url-encoded (the envelope parser
 *                sees arbitrary CBOR);
 *   bit 0 set:   the bytes are the claims set, wrapped by the harness in a COSE_Mac0 with a valid
 *                MAC (bits 1-2 pick the tags), so the claim decoder, the claim checks (catu, catnip,
 *                catm, cath, catgeo*, composites, catif, catr renewal) and the JSON mapping all see
 *                arbitrary claims behind a MAC that passes.
 * The token is verified with claims wanted and inspected; results are released each run.
 */
#include "fuzz_util.h"

static const wd_header_t headers[] = {
    {"User-Agent", "Mozilla/5.0"},
    {"Referer", "https://www.example.com/player"},
    {"Cookie", "cta-common-access-token=x"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 6000)
    return 0;
  uint8_t mode = data[0];
  data++;
  size--;
  size_t len;
  char *tok = (mode & 1) ? fz_cat_wrap(data, size, (mode >> 1) & 3, &len) : fz_b64url(data, size, &len);
  wd_request_t req = {
      .url = "https://cdn.example.com:8443/content/a/b/index.m3u8?cat=x&y=2",
      .ip = (mode & 8) ? "2001:db8::7" : "192.168.1.10",
      .method = "GET",
      .headers = headers,
      .nheaders = sizeof headers / sizeof *headers,
      .alpn = "h2",
      .country = "US-CA",
      .asn = 64500,
      .has_coord = 1,
      .lat = 37.77,
      .lon = -122.42,
      .geohash = "9q8yy",
      .now = FZ_NOW,
  };
  wd_verify_opts_t opts = {.want_claims = 1};
  opts.cat.unknown = (wd_cat_unknown_t)((mode >> 4) % 3);
  opts.cat.labels = (wd_cat_labels_t)((mode >> 6) % 3);
  opts.cat.allow_text_payload = (mode >> 4) & 1;
  opts.cat.sha512_256_full = (mode >> 5) & 1;
  fz_verify(&opts, WD_SCHEME_CAT, tok, len, &req);
  fz_inspect(tok, len);
  free(tok);
  return 0;
}
