/*
 * The token dispatcher: one entry point per operation (verify, issue, inspect, extract) that
 * routes to the scheme's implementation, plus the result helpers every scheme uses.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token/internal.h"

void wd_result_init(wd_result_t *r) {
  memset(r, 0, sizeof *r);
  r->replay = -1;
}

void wd_result_cleanup(wd_result_t *r) {
  if (!r)
    return;
  json_decref(r->claims);
  free(r->renewed_token);
  for (size_t i = 0; i < r->response.nheaders; i++) {
    free(r->response.headers[i].name);
    free(r->response.headers[i].value);
  }
  wd_result_init(r);
}

int wd_response_add(wd_response_t *resp, const char *name, const char *value) {
  if (resp->nheaders >= WD_MAX_RESPONSE_HEADERS)
    return WD_ERANGE;
  char *n = strdup(name), *v = strdup(value);
  if (!n || !v) {
    free(n);
    free(v);
    return WD_ENOMEM;
  }
  resp->headers[resp->nheaders].name = n;
  resp->headers[resp->nheaders].value = v;
  resp->nheaders++;
  return 0;
}

int wd_result_fail(wd_result_t *r, int code, const char *claim, const char *fmt, ...) {
  r->code = code;
  if (claim)
    snprintf(r->failed_claim, sizeof r->failed_claim, "%s", claim);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->reason, sizeof r->reason, fmt, ap);
  va_end(ap);
  return code;
}

typedef struct scheme_ops {
  int (*verify)(wd_verifier_t *, const wd_verify_opts_t *, const char *, size_t,
                const wd_request_t *, wd_result_t *);
  int (*issue)(const wd_keyring_t *, const json_t *, const wd_issue_opts_t *, char **, char *,
               size_t);
  int (*inspect)(const char *, size_t, json_t **);
  int (*extract)(const wd_verify_opts_t *, const wd_request_t *, char *, size_t, const char **,
                 size_t *);
} scheme_ops_t;

#define OPS(name) {wd__##name##_verify, wd__##name##_issue, wd__##name##_inspect, wd__##name##_extract}
static const scheme_ops_t ops[WD_SCHEME_COUNT] = {
    [WD_SCHEME_CAT] = OPS(cat),
    [WD_SCHEME_JWT] = OPS(jwt),
    [WD_SCHEME_AKAMAI] = OPS(akamai),
    [WD_SCHEME_SECURELINK] = OPS(securelink),
    [WD_SCHEME_CLOUDFRONT] = OPS(cloudfront),
    [WD_SCHEME_BUNNY] = OPS(bunny),
};

static const wd_verify_opts_t default_opts;

int wd_token_verify(wd_verifier_t *v, const wd_verify_opts_t *opts, wd_scheme_t scheme,
                    const char *token, size_t len, const wd_request_t *req, wd_result_t *r) {
  if (!v || !r || scheme <= WD_SCHEME_NONE || scheme >= WD_SCHEME_COUNT)
    return WD_EINVAL;
  if (!opts)
    opts = &default_opts;
  r->id.scheme = scheme;
  if (token && len > WD_TOKEN_MAX)
    return wd_result_fail(r, WD_ETOOBIG, NULL, "token of %zu bytes exceeds the %d byte limit", len,
                          WD_TOKEN_MAX);
  int rc = ops[scheme].verify(v, opts, token, len, req, r);
  r->code = rc;
  if (rc && !r->reason[0])
    snprintf(r->reason, sizeof r->reason, "%s", wd_strerror(rc));
  return rc;
}

int wd_token_issue(const wd_keyring_t *ring, wd_scheme_t scheme, const json_t *claims,
                   const wd_issue_opts_t *opts, char **out, char *err, size_t errlen) {
  static const wd_issue_opts_t defaults;
  if (!ring || !out || scheme <= WD_SCHEME_NONE || scheme >= WD_SCHEME_COUNT)
    return WD_EINVAL;
  if (err && errlen)
    err[0] = '\0';
  int rc = ops[scheme].issue(ring, claims, opts ? opts : &defaults, out, err, errlen);
  if (rc && err && errlen && !err[0])
    snprintf(err, errlen, "%s", wd_strerror(rc));
  return rc;
}

int wd_token_inspect(const char *token, size_t len, json_t **out, char *err, size_t errlen) {
  /* Order: formats with unambiguous markers first, the CBOR/base64 catch-all (CAT) last. */
  static const wd_scheme_t order[] = {WD_SCHEME_CLOUDFRONT, WD_SCHEME_AKAMAI, WD_SCHEME_JWT,
                                      WD_SCHEME_SECURELINK, WD_SCHEME_BUNNY, WD_SCHEME_CAT};
  if (!token || !out)
    return WD_EINVAL;
  if (len > WD_TOKEN_MAX) {
    if (err)
      snprintf(err, errlen, "token of %zu bytes exceeds the %d byte limit", len, WD_TOKEN_MAX);
    return WD_ETOOBIG;
  }
  for (size_t i = 0; i < sizeof order / sizeof *order; i++)
    if (ops[order[i]].inspect(token, len, out) == 0)
      return 0;
  if (err)
    snprintf(err, errlen, "not a token of any supported format");
  return WD_EMALFORMED;
}

int wd_token_extract(wd_scheme_t scheme, const wd_verify_opts_t *opts, const wd_request_t *req,
                     char *buf, size_t cap, const char **tok, size_t *len) {
  if (scheme <= WD_SCHEME_NONE || scheme >= WD_SCHEME_COUNT || !req)
    return WD_EINVAL;
  return ops[scheme].extract(opts ? opts : &default_opts, req, buf, cap, tok, len);
}
