/*
 * Fuzz target jwt_verify: JWS compact tokens. The first byte picks the shape:
 *   0: the bytes are the token text;
 *   1: the bytes are a payload (JSON text), signed HS256 by the harness under a fixed header;
 *   2: the bytes are "HEADER\nPAYLOAD" (JSON texts), signed HS256 by the harness, so header
 *      handling (alg, kid, typ, crit) is reached with a valid MAC;
 *   3: the bytes go in the request URL (?token=...) and the verifier extracts the token itself.
 * Invariant: a token whose header does not name HS256 (the only algorithm the key allows) never
 * verifies. Results are released each run.
 */
#include "fuzz_util.h"

static const wd_header_t headers[] = {
    {"User-Agent", "Mozilla/5.0"},
    {"Cookie", "token=x"},
};

/* Signed token text for header and payload bytes; malloc'd. */
static char *sign_hs256(const uint8_t *hdr, size_t hn, const uint8_t *pl, size_t pn, size_t *len) {
  size_t a, b;
  char *h64 = fz_b64url(hdr, hn, &a), *p64 = fz_b64url(pl, pn, &b);
  char *tok = malloc(a + b + 64);
  if (!tok)
    abort();
  memcpy(tok, h64, a);
  tok[a] = '.';
  memcpy(tok + a + 1, p64, b);
  unsigned char mac[64];
  size_t maclen = fz_hmac("SHA256", FZ_JWT_SECRET, strlen(FZ_JWT_SECRET), tok, a + 1 + b, mac);
  tok[a + 1 + b] = '.';
  *len = a + 2 + b + wd_b64_encode(mac, maclen, tok + a + 2 + b, 1, 0);
  free(h64);
  free(p64);
  return tok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char std_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  if (size < 1 || size > 6000)
    return 0;
  int mode = data[0] & 3;
  data++;
  size--;
  wd_request_t req = {
      .url = "https://cdn.example.com/vid123/master.m3u8?token=x",
      .ip = "203.0.113.7",
      .method = "GET",
      .headers = headers,
      .nheaders = sizeof headers / sizeof *headers,
      .now = FZ_NOW,
  };
  wd_verify_opts_t opts = {.want_claims = 1, .leeway = 30};
  char *tok = NULL, *url = NULL;
  size_t len = 0;
  const uint8_t *hdr = (const uint8_t *)std_header;
  size_t hn = sizeof std_header - 1;
  switch (mode) {
  case 0:
    tok = fz_strndup(data, size);
    len = size;
    break;
  case 1:
    tok = sign_hs256(hdr, hn, data, size, &len);
    break;
  case 2: {
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl)
      return 0;
    hdr = data;
    hn = (size_t)(nl - data);
    tok = sign_hs256(hdr, hn, nl + 1, size - hn - 1, &len);
    break;
  }
  default:
    url = malloc(size + 64);
    if (!url)
      abort();
    memcpy(url, "/vid123/master.m3u8?token=", 26);
    memcpy(url + 26, data, size);
    url[26 + size] = '\0';
    req.url = url;
    break;
  }
  int rc = fz_verify(&opts, WD_SCHEME_JWT, tok, len, &req);
  if (rc == 0 && mode == 2) {
    /* Only a header jansson reads unambiguously (no duplicate names) is judged. */
    json_t *h = json_loadb((const char *)hdr, hn, JSON_REJECT_DUPLICATES, NULL);
    const char *alg = json_string_value(json_object_get(h, "alg"));
    FZ_ASSERT(!h || (alg && !strcmp(alg, "HS256")), "token with header alg %s verified with an HS256 key",
              alg ? alg : "(none)");
    json_decref(h);
  }
  /* Same token with every binding off and an issuer/audience list configured. */
  static const char *const iss[] = {"warden", "eyevinn"};
  static const char *const aud[] = {"cdn"};
  wd_verify_opts_t o2 = {.want_claims = 1};
  o2.jwt.issuers = iss;
  o2.jwt.nissuers = 2;
  o2.jwt.audiences = aud;
  o2.jwt.naudiences = 1;
  o2.jwt.no_bind_ip = o2.jwt.no_bind_ua = o2.jwt.no_bind_path = 1;
  fz_verify(&o2, WD_SCHEME_JWT, tok, len, &req);
  if (tok)
    fz_inspect(tok, len);
  free(tok);
  free(url);
  return 0;
}
