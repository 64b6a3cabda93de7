/*
 * Fuzz target akamai_verify: Akamai EdgeAuth 2.0 tokens. The first byte picks the shape:
 *   0: the bytes are the token text;
 *   1: the bytes are the fields ("st=..~exp=..~acl=.."), the harness appends a valid
 *      ~hmac= (HMAC-SHA256 over the fields), so field parsing and ACL matching see fuzzed
 *      fields behind a MAC that passes;
 *   2: as 1 for a URL token: the MAC also covers "~url=<request path>";
 *   3: the bytes go in the request URL (?__token__=...) and the verifier extracts the token.
 * Results are released each run.
 */
#include "fuzz_util.h"

#define PATH "/this/is/a/test/seg1.ts"

static const wd_header_t headers[] = {
    {"Cookie", "hdnts=exp=1~hmac=00"},
    {"User-Agent", "Mozilla/5.0"},
};

static char *sign(const uint8_t *fields, size_t n, int url, size_t *len) {
  static const char urlpart[] = "~url=" PATH;
  size_t un = url ? sizeof urlpart - 1 : 0;
  char *msg = malloc(n + un + 1);
  char *tok = malloc(n + 6 + 2 * 64 + 1);
  if (!msg || !tok)
    abort();
  memcpy(msg, fields, n);
  memcpy(msg + n, urlpart, un);
  unsigned char mac[64];
  size_t maclen = fz_hmac("SHA256", fz_akamai_key, sizeof fz_akamai_key, msg, n + un, mac);
  memcpy(tok, fields, n);
  memcpy(tok + n, "~hmac=", 6);
  wd_hex_encode(mac, maclen, tok + n + 6);
  *len = n + 6 + 2 * maclen;
  free(msg);
  return tok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 6000)
    return 0;
  int mode = data[0] & 3;
  data++;
  size--;
  wd_request_t req = {
      .url = "https://cdn.example.com" PATH "?a=1",
      .ip = "203.0.113.7",
      .method = "GET",
      .headers = headers,
      .nheaders = sizeof headers / sizeof *headers,
      .now = 1700000100,
  };
  wd_verify_opts_t opts = {.want_claims = 1};
  char *tok = NULL, *url = NULL;
  size_t len = 0;
  switch (mode) {
  case 0:
    tok = fz_strndup(data, size);
    len = size;
    break;
  case 1:
  case 2:
    tok = sign(data, size, mode == 2, &len);
    break;
  default:
    url = malloc(size + 64);
    if (!url)
      abort();
    len = strlen(PATH "?__token__=");
    memcpy(url, PATH "?__token__=", len);
    memcpy(url + len, data, size);
    url[len + size] = '\0';
    req.url = url;
    len = 0;
    break;
  }
  fz_verify(&opts, WD_SCHEME_AKAMAI, tok, len, &req);
  wd_verify_opts_t o2 = {0};
  o2.akamai.name = "hdnts";
  o2.akamai.field_delimiter = ",";
  o2.akamai.acl_delimiter = "|";
  fz_verify(&o2, WD_SCHEME_AKAMAI, tok, len, &req);
  if (tok)
    fz_inspect(tok, len);
  free(tok);
  free(url);
  return 0;
}
