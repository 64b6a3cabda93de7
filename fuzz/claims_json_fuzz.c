/*
 * Fuzz target claims_json: JSON claims text, as an operator or an API client hands it to
 * `warden token issue`, through wd_token_issue for CAT (the JSON -> CBOR claim encoder) and JWT,
 * signed with the fixed keys. The first byte picks issue options (CAT tags, ttl, bound IP).
 * Invariants on every token issued: it inspects as its own scheme, and verifying it never fails
 * on the envelope (WD_EMALFORMED) or the MAC (WD_ESIGNATURE): what Warden issues, Warden reads.
 */
#include "fuzz_util.h"

static void roundtrip(wd_scheme_t scheme, const char *tok, const char *claims_text) {
  size_t len = strlen(tok);
  if (len > WD_TOKEN_MAX)
    return;
  json_t *j = NULL;
  char err[256];
  int rc = wd_token_inspect(tok, len, &j, err, sizeof err);
  FZ_ASSERT(rc == 0, "issued %s token does not inspect (%s): %s", wd_scheme_name(scheme), err, tok);
  const char *s = json_string_value(json_object_get(j, "scheme"));
  FZ_ASSERT(s && !strcmp(s, wd_scheme_name(scheme)), "issued %s token inspects as %s",
            wd_scheme_name(scheme), s ? s : "(no scheme)");
  json_decref(j);

  wd_request_t req = {.url = "https://cdn.example.com/content/a/index.m3u8", .ip = "192.168.1.10",
                      .method = "GET", .now = FZ_NOW};
  wd_verify_opts_t opts = {.want_claims = 1};
  opts.cat.unknown = WD_CAT_UNKNOWN_LENIENT;
  opts.jwt.no_bind_ip = opts.jwt.no_bind_ua = opts.jwt.no_bind_path = 1;
  wd_result_t r;
  wd_result_init(&r);
  rc = wd_token_verify(fz_verifier(), &opts, scheme, tok, len, &req, &r);
  FZ_ASSERT(rc != WD_EMALFORMED && rc != WD_ESIGNATURE,
            "issued %s token fails verification: %s (%s)\nclaims: %s\ntoken: %s",
            wd_scheme_name(scheme), wd_errname(rc), r.reason, claims_text, tok);
  wd_result_cleanup(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 8192)
    return 0;
  uint8_t mode = data[0];
  json_t *claims = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
  if (!claims)
    return 0;
  char *text = fz_strndup(data + 1, size - 1);
  wd_issue_opts_t o = {.now = FZ_NOW};
  if (mode & 1)
    o.ttl = 3600;
  if (mode & 2)
    o.ip = "192.168.1.10";
  o.cat.tagless = (mode >> 2) & 1;
  if (mode & 8)
    o.kid = FZ_CAT_KID;
  static const wd_scheme_t schemes[] = {WD_SCHEME_CAT, WD_SCHEME_JWT};
  for (size_t i = 0; i < 2; i++) {
    char *out = NULL, err[256];
    int rc = wd_token_issue(fz_ring(), schemes[i], claims, &o, &out, err, sizeof err);
    if (rc == 0) {
      FZ_ASSERT(out != NULL, "issue succeeded without a token");
      if (json_is_object(claims) && !(schemes[i] == WD_SCHEME_JWT && (mode & 8)))
        roundtrip(schemes[i], out, text);
    } else {
      FZ_ASSERT(out == NULL, "issue failed (%d) but set *out", rc);
      FZ_ASSERT(memchr(err, '\0', sizeof err) != NULL && err[0], "issue failed without a message");
    }
    free(out);
  }
  free(text);
  json_decref(claims);
  return 0;
}
