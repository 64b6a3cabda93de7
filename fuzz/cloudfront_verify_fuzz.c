/*
 * Fuzz target cloudfront_verify: CloudFront signed URLs and cookies. The first byte picks the shape:
 *   0: the bytes are the request URL (query parsing, Expires/Policy/Signature/Key-Pair-Id, the
 *      CloudFront base64 variant, the RSA check);
 *   1: the bytes are a policy (JSON text) the harness signs with the test key (RSA SHA-1), sent as
 *      ?Policy=&Signature=&Key-Pair-Id=, so the policy parser and its conditions (Resource
 *      wildcards, DateLessThan, DateGreaterThan, IpAddress) see fuzzed policies that pass the
 *      signature check;
 *   2: the bytes are the Cookie header of a request for a fixed URL.
 * Signing costs ~1 ms, so mode 1 runs slower than the others. Results are released each run.
 */
#include <openssl/pem.h>

#include "fuzz_util.h"

#define HOST "https://d111111abcdef8.cloudfront.net"
#define RESOURCE HOST "/private-content/private.jpeg"

static EVP_PKEY *signing_key(void) {
  static EVP_PKEY *pk;
  if (!pk) {
    size_t n;
    char *pem = fz_read_vector("cdn/cloudfront-test-key.pem", &n);
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    free(pem);
    if (!pk)
      abort();
  }
  return pk;
}

/* Standard base64 with + -> -, = -> _, / -> ~ (malloc'd). */
static char *cf_b64(const uint8_t *in, size_t n) {
  char *s = malloc(wd_b64_enc_len(n, 1) + 1);
  if (!s)
    abort();
  wd_b64_encode(in, n, s, 0, 1);
  for (char *p = s; *p; p++)
    *p = *p == '+' ? '-' : *p == '=' ? '_' : *p == '/' ? '~' : *p;
  return s;
}

static char *signed_policy_url(const uint8_t *policy, size_t n) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned char sig[1024];
  size_t siglen = sizeof sig;
  if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha1(), NULL, signing_key()) != 1 ||
      EVP_DigestSign(ctx, sig, &siglen, policy, n) != 1)
    abort();
  EVP_MD_CTX_free(ctx);
  char *p64 = cf_b64(policy, n), *s64 = cf_b64(sig, siglen);
  size_t cap = strlen(p64) + strlen(s64) + 256;
  char *url = malloc(cap);
  if (!url)
    abort();
  snprintf(url, cap, "%s?Policy=%s&Signature=%s&Key-Pair-Id=%s", RESOURCE, p64, s64,
           FZ_CLOUDFRONT_KID);
  free(p64);
  free(s64);
  return url;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 6000)
    return 0;
  int mode = data[0] % 3;
  data++;
  size--;
  char *url = NULL, *cookie = NULL;
  wd_header_t headers[2] = {{"User-Agent", "Mozilla/5.0"}, {"Cookie", ""}};
  wd_request_t req = {
      .ip = "10.0.0.0",
      .method = "GET",
      .headers = headers,
      .nheaders = 1,
      .now = 1576000000,
  };
  if (mode == 0) {
    url = fz_strndup(data, size);
    req.url = url;
  } else if (mode == 1) {
    url = signed_policy_url(data, size);
    req.url = url;
  } else {
    cookie = fz_strndup(data, size);
    headers[1].value = cookie;
    req.nheaders = 2;
    req.url = HOST "/hls/movie1/seg1.ts";
  }
  wd_verify_opts_t opts = {.want_claims = 1};
  fz_verify(&opts, WD_SCHEME_CLOUDFRONT, NULL, 0, &req);
  if (url)
    fz_inspect(url, strlen(url));
  free(url);
  free(cookie);
  return 0;
}
