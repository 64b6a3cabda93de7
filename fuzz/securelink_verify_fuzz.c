/*
 * Fuzz target securelink_verify: md5 secure links, where the token lives in the URL. The first
 * byte picks the options (style nginx/cdn77, directory scope, string-to-sign template) and
 * whether the rest is
 *   bit 0 clear: the whole request URL (query parsing, md5/expires extraction, decoding);
 *   bit 0 set:   a path the harness signs (Gcore plain template, "$expires$uri $secret") into
 *                PATH?md5=TOKEN&expires=EXP, so the path handling after a matching hash is reached.
 * Results are released each run.
 */
#include "fuzz_util.h"

static const char *const templates[] = {
    NULL,
    "$expires$uri$remote_addr $secret",
    "$secret$uri$expires",
    "$uri$$expires$remote_addr$unknown $secret",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 6000)
    return 0;
  uint8_t mode = data[0];
  data++;
  size--;
  char *url;
  wd_verify_opts_t opts = {.want_claims = 1};
  if (mode & 1) {
    /* Sign "2147483647" + path + " secret" with plain MD5, as Gcore and nginx do. */
    static const char exp[] = "2147483647";
    size_t n = sizeof exp - 1 + 1 + size + 1 + strlen(FZ_SECURELINK_SECRET);
    char *msg = malloc(n + 1);
    url = malloc(size + 128);
    if (!msg || !url)
      abort();
    size_t o = 0;
    memcpy(msg, exp, sizeof exp - 1);
    o = sizeof exp - 1;
    msg[o++] = '/';
    memcpy(msg + o, data, size);
    o += size;
    msg[o++] = ' ';
    memcpy(msg + o, FZ_SECURELINK_SECRET, strlen(FZ_SECURELINK_SECRET));
    o += strlen(FZ_SECURELINK_SECRET);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (!EVP_Digest(msg, o, md, &mdlen, EVP_md5(), NULL))
      abort();
    char b64[32];
    wd_b64_encode(md, mdlen, b64, 1, 0);
    url[0] = '/';
    memcpy(url + 1, data, size);
    snprintf(url + 1 + size, 128, "?md5=%s&expires=%s", b64, exp);
    free(msg);
  } else {
    url = fz_strndup(data, size);
    opts.securelink.style = (wd_securelink_style_t)((mode >> 1) & 1);
    opts.securelink.directory_scope = (mode >> 2) & 1;
    opts.securelink.template_str = templates[(mode >> 3) & 3];
    if (mode & 0x20) {
      opts.securelink.md5_param = "st";
      opts.securelink.expires_param = "e";
    }
  }
  wd_request_t req = {
      .url = url,
      .ip = (mode & 0x40) ? "2001:db8::1" : "127.0.0.1",
      .method = "GET",
      .now = FZ_NOW,
  };
  fz_verify(&opts, WD_SCHEME_SECURELINK, NULL, 0, &req);
  fz_inspect(url, strlen(url));
  free(url);
  return 0;
}
