/* cloudfront: placeholder until the scheme lands; every entry point reports WD_EUNSUPPORTED. */
#include "token/internal.h"

int wd__cloudfront_verify(wd_verifier_t *v, const wd_verify_opts_t *opts, const char *tok, size_t len,
                    const wd_request_t *req, wd_result_t *r) {
  return wd_result_fail(r, WD_EUNSUPPORTED, NULL, "scheme cloudfront is not built yet");
}
int wd__cloudfront_issue(const wd_keyring_t *ring, const json_t *claims, const wd_issue_opts_t *opts,
                   char **out, char *err, size_t errlen) {
  return WD_EUNSUPPORTED;
}
int wd__cloudfront_inspect(const char *tok, size_t len, json_t **out) { return WD_EMALFORMED; }
int wd__cloudfront_extract(const wd_verify_opts_t *opts, const wd_request_t *req, char *buf, size_t cap,
                     const char **tok, size_t *len) {
  return WD_ENOTOKEN;
}
