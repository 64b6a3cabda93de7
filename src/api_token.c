/*
 * GET /v1/token?path=/live/ch1/master.m3u8&expire=60: the token API a player calls to refresh
 * its CDN token before it expires. Answers
 *   {"token", "token_ip", "client_ip", "expires", "url", "url_ip", "scheme"}
 * for the configured CDN scheme: `token` valid from any address, `token_ip` bound to the
 * viewer's address, and ready-made URLs carrying each.
 *
 * Only for an authorized viewer: `Authorization: Bearer <JWT>` from the platform's login,
 * verified with token_api.viewer_key (issuer and audience checked when configured). Without it,
 * or with a token that does not verify: 401 and never a token. The viewer's `sub` becomes the
 * subject of CAT and JWT tokens, so bans and detection see who the token was minted for. CAT
 * tokens carry the configured renewal (token_api.cat_renewal, the catr claim) when there is one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "http.h"
#include "request.h"
#include "util/codec.h"
#include "util/url.h"

#define PATH_MAX_LEN 2048

static void refuse(loop_t *l, h2o_req_t *req, int status, const char *code, const char *msg) {
  metrics_inc(&l->metrics.token_api_refused);
  if (status == 401)
    http_header(req, "WWW-Authenticate", "Bearer realm=\"warden-token\"");
  http_header(req, "Cache-Control", "no-store");
  http_send_error(req, ROUTE_TOKEN, status, code, "%s", msg);
}

static int valid_path(const char *p) {
  if (p[0] != '/')
    return 0;
  for (const unsigned char *s = (const unsigned char *)p; *s; s++)
    if (*s <= 0x20 || *s == 0x7f || *s == '?' || *s == '#' || *s == '"' || *s == '\\')
      return 0;
  return strstr(p, "/../") == NULL && strstr(p, "/./") == NULL;
}

/* Value of query parameter `name` in url (raw), as a pool string; NULL when absent. */
static const char *url_param(h2o_req_t *req, const char *url, const char *name) {
  wd_url_t u;
  wd_span_t v;
  if (wd_url_split(url, &u) || wd_query_find(u.query, name, &v))
    return NULL;
  return h2o_strdup(&req->pool, v.p ? v.p : "", v.n).base;
}

static const char *url_query(h2o_req_t *req, const char *url) {
  const char *q = strchr(url, '?');
  return q ? h2o_strdup(&req->pool, q + 1, strlen(q + 1)).base : "";
}

static void random_hex(char *out, size_t bytes) {
  unsigned char b[32];
  if (bytes > sizeof b)
    bytes = sizeof b;
  if (RAND_bytes(b, (int)bytes) != 1)
    memset(b, 0, bytes); /* never happens with a seeded RNG; ids then collide, tokens still sign */
  wd_hex_encode(b, bytes, out);
}

typedef struct issued {
  char *token;  /* malloc'd by the library */
  char *url;    /* pool */
} issued_t;

/* Issue one token (bind_ip: the IP-bound variant). 0, or -1 with err. */
static int issue_one(loop_t *l, h2o_req_t *req, const char *path, const char *dir, int64_t now,
                     int64_t expires, const char *sub, const char *client_ip, int bind_ip,
                     issued_t *out, char *err, size_t errlen) {
  const conf_token_api_t *t = &l->srv->conf->token_api;
  const char *base = bind_ip && t->url_ip ? t->url_ip : t->url ? t->url : "";
  char full[4096];
  snprintf(full, sizeof full, "%s%s", base, path);
  json_t *claims = json_object();
  wd_issue_opts_t o;
  memset(&o, 0, sizeof o);
  o.now = now;
  o.ip = bind_ip ? client_ip : NULL;
  char cti[33];
  const char *qparam = t->query_param;
  int url_scheme = 0;
  switch (t->scheme) {
  case WD_SCHEME_CAT: {
    random_hex(cti, 16);
    json_object_set_new(claims, "exp", json_integer(expires));
    json_object_set_new(claims, "iat", json_integer(now));
    json_object_set_new(claims, "cti", json_string(cti));
    if (sub)
      json_object_set_new(claims, "sub", json_string(sub));
    json_t *m = json_object();
    json_object_set_new(m, t->scope_directory ? "prefix-match" : "exact-match",
                        json_string(t->scope_directory ? dir : path));
    json_t *u = json_object();
    json_object_set_new(u, "path", m);
    json_object_set_new(claims, "catu", u);
    if (t->catr_type) {
      json_t *r = json_object();
      json_object_set_new(r, "type", json_string(t->catr_type));
      json_object_set_new(r, "expadd", json_integer(t->catr_expadd));
      json_object_set_new(r, "deadline", json_integer(t->catr_deadline));
      json_object_set_new(claims, "catr", r);
    }
    if (!qparam)
      qparam = "cat";
    break;
  }
  case WD_SCHEME_JWT:
    random_hex(cti, 16);
    json_object_set_new(claims, "exp", json_integer(expires));
    json_object_set_new(claims, "iat", json_integer(now));
    json_object_set_new(claims, "jti", json_string(cti));
    if (sub)
      json_object_set_new(claims, "sub", json_string(sub));
    if (!qparam)
      qparam = "token";
    break;
  case WD_SCHEME_AKAMAI: {
    json_object_set_new(claims, "exp", json_integer(expires));
    char acl[PATH_MAX_LEN + 2];
    snprintf(acl, sizeof acl, "%s%s", t->scope_directory ? dir : path,
             t->scope_directory ? "*" : "");
    json_object_set_new(claims, "acl", json_string(acl));
    if (!qparam)
      qparam = "__token__";
    break;
  }
  case WD_SCHEME_SECURELINK:
    url_scheme = 1;
    json_object_set_new(claims, "exp", json_integer(expires));
    o.url = full;
    o.securelink.template_str = bind_ip ? (t->template_ip ? t->template_ip
                                                          : "$expires$uri$remote_addr $secret")
                                        : t->template_str;
    o.securelink.directory_scope = t->scope_directory;
    break;
  case WD_SCHEME_BUNNY:
    url_scheme = 1;
    json_object_set_new(claims, "exp", json_integer(expires));
    o.url = full;
    if (t->scope_directory)
      o.bunny.token_path = dir;
    break;
  case WD_SCHEME_CLOUDFRONT: {
    url_scheme = 1;
    json_object_set_new(claims, "exp", json_integer(expires));
    o.url = full;
    char resource[4200], cidr[80];
    if (t->scope_directory) {
      snprintf(resource, sizeof resource, "%s%s*", base, dir);
      o.cloudfront.resource = resource;
      o.cloudfront.custom = 1;
    }
    if (bind_ip && client_ip) {
      snprintf(cidr, sizeof cidr, "%s/%d", client_ip, strchr(client_ip, ':') ? 128 : 32);
      o.cloudfront.ip_cidr = cidr;
      o.cloudfront.custom = 1;
      o.ip = NULL;
    }
    char *tok = NULL;
    int rc = wd_token_issue(l->srv->ring, t->scheme, claims, &o, &tok, err, errlen);
    json_decref(claims);
    if (rc)
      return -1;
    out->url = h2o_strdup(&req->pool, tok, strlen(tok)).base;
    out->token = tok;
    return 0;
  }
  default:
    json_decref(claims);
    snprintf(err, errlen, "the token API does not issue %s tokens", wd_scheme_name(t->scheme));
    return -1;
  }
  char *tok = NULL;
  int rc = wd_token_issue(l->srv->ring, t->scheme, claims, &o, &tok, err, errlen);
  json_decref(claims);
  if (rc)
    return -1;
  if (url_scheme) {
    out->url = h2o_strdup(&req->pool, tok, strlen(tok)).base;
    out->token = tok;
    return 0;
  }
  size_t n = strlen(full) + strlen(qparam) + strlen(tok) + 4;
  char *u = h2o_mem_alloc_pool(&req->pool, n);
  snprintf(u, n, "%s%c%s=%s", full, strchr(full, '?') ? '&' : '?', qparam, tok);
  out->url = u;
  out->token = tok;
  return 0;
}

/* The token as the answer shows it: the token itself, or for URL schemes the parameter the
 * CDN checks (md5 for secure links, token for Bunny) or the signed query (CloudFront). */
static const char *token_text(h2o_req_t *req, const conf_t *c, const issued_t *is) {
  switch (c->token_api.scheme) {
  case WD_SCHEME_SECURELINK: {
    const char *v = url_param(req, is->url, "md5");
    if (!v)
      v = url_param(req, is->url, "secure");
    return v ? v : url_query(req, is->url);
  }
  case WD_SCHEME_BUNNY: {
    const char *v = url_param(req, is->url, "token");
    return v ? v : url_query(req, is->url);
  }
  case WD_SCHEME_CLOUDFRONT:
    return url_query(req, is->url);
  default:
    return is->token;
  }
}

void api_token(loop_t *l, h2o_req_t *req) {
  srv_t *s = l->srv;
  const conf_t *c = s->conf;
  const conf_token_api_t *t = &c->token_api;
  if (!t->enabled || !s->viewer_ring) {
    http_send_error(req, ROUTE_TOKEN, 404, "not_found",
                    "the token API is not configured (token_api in the configuration)");
    return;
  }
  const char *bearer = req_bearer(req);
  if (!bearer) {
    refuse(l, req, 401, "unauthorized",
           "the token API needs 'Authorization: Bearer <viewer JWT>' from the platform's login");
    return;
  }
  char ip[64];
  int via_proxy;
  if (req_client_ip(c, req, ip, sizeof ip, &via_proxy)) {
    refuse(l, req, 400, "bad_request", "cannot tell the client's address");
    return;
  }
  /* the viewer's login token */
  wd_verify_opts_t vo;
  memset(&vo, 0, sizeof vo);
  vo.jwt.issuers = t->viewer_issuers;
  vo.jwt.nissuers = t->nviewer_issuers;
  vo.jwt.audiences = t->viewer_audiences;
  vo.jwt.naudiences = t->nviewer_audiences;
  vo.jwt.no_bind_path = 1;
  wd_header_t hdrs[32];
  wd_request_t rq;
  memset(&rq, 0, sizeof rq);
  rq.ip = ip;
  rq.method = "GET";
  rq.headers = hdrs;
  rq.nheaders = req_headers(req, hdrs, 32);
  wd_result_t r;
  wd_result_init(&r);
  size_t blen = strlen(bearer);
  int rc = blen > WD_TOKEN_MAX ? WD_ETOOBIG
                               : wd_token_verify(l->viewer_verifier, &vo, WD_SCHEME_JWT, bearer,
                                                 blen, &rq, &r);
  if (rc) {
    char msg[320];
    snprintf(msg, sizeof msg, "the viewer token is not valid: %s",
             r.reason[0] ? r.reason : wd_strerror(rc));
    wd_result_cleanup(&r);
    refuse(l, req, 401, "unauthorized", msg);
    return;
  }
  const char *sub = r.id.subject[0] ? h2o_strdup(&req->pool, r.id.subject, strlen(r.id.subject)).base
                                    : NULL;
  wd_result_cleanup(&r);

  char *path = NULL, *exps = NULL;
  if (req_query_param(req, "path", PATH_MAX_LEN, &path) <= 0 || !valid_path(path)) {
    refuse(l, req, 400, "bad_request",
           "'path' is required: the absolute path of the stream, like /live/ch1/master.m3u8");
    return;
  }
  if (strncmp(path, t->path_prefix, strlen(t->path_prefix))) {
    refuse(l, req, 403, "forbidden", "tokens are not issued for this path");
    return;
  }
  int64_t expire = t->default_expire;
  int er = req_query_param(req, "expire", 16, &exps);
  if (er < 0) {
    refuse(l, req, 400, "bad_request", "'expire' must be a number of seconds");
    return;
  }
  if (er > 0) {
    char *end;
    long long v = strtoll(exps, &end, 10);
    if (!*exps || *end || v <= 0) {
      refuse(l, req, 400, "bad_request", "'expire' must be a positive number of seconds");
      return;
    }
    expire = v > t->max_expire ? t->max_expire : v;
  }
  int64_t now = (int64_t)time(NULL);
  int64_t expires = now + expire;
  /* the directory the token covers: up to and including the last '/' */
  const char *slash = strrchr(path, '/');
  char *dir = h2o_strdup(&req->pool, path, (size_t)(slash - path) + 1).base;

  issued_t plain = {0}, bound = {0};
  char err[256] = "";
  if (issue_one(l, req, path, dir, now, expires, sub, ip, 0, &plain, err, sizeof err) ||
      issue_one(l, req, path, dir, now, expires, sub, ip, 1, &bound, err, sizeof err)) {
    free(plain.token);
    free(bound.token);
    metrics_inc(&l->metrics.token_api_refused);
    fprintf(stderr, "warden: token API cannot issue a %s token: %s\n", wd_scheme_name(t->scheme),
            err);
    http_send_error(req, ROUTE_TOKEN, 500, "internal", "cannot issue the token: %s", err);
    return;
  }
  char buf[4096];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 256 * 1024);
  jw_obj(&w);
  jw_kstr(&w, "token", token_text(req, c, &plain));
  jw_kstr(&w, "token_ip", token_text(req, c, &bound));
  jw_kstr(&w, "client_ip", ip);
  jw_kint(&w, "expires", expires);
  jw_kstr(&w, "url", plain.url);
  jw_kstr(&w, "url_ip", bound.url);
  jw_kstr(&w, "scheme", wd_scheme_name(t->scheme));
  jw_obj_end(&w);
  free(plain.token);
  free(bound.token);
  metrics_inc(&l->metrics.token_api_issued);
  http_header(req, "Cache-Control", "no-store");
  http_send_jw(req, ROUTE_TOKEN, 200, &w);
}
