/*
 * GET|POST /v1/decide and GET /auth: translate an HTTP request into wd_decide_input_t, decide,
 * count, log, and translate the decision back.
 *
 * /v1/decide is for edges that ask over an API: the answer is JSON (action, reasons, identity,
 * the status and headers to send). /auth is for nginx `auth_request`: the original request
 * arrives as the subrequest's headers (X-Original-URI, Cookie, User-Agent, ...) and the answer
 * is a status nginx understands (2xx allow, 401/403 deny) with X-Warden-* headers for the
 * actions nginx carries out itself (substitute, callout, redirect, throttle) and the renewal
 * headers to pass on to the viewer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cluster.h"
#include "http.h"
#include "monitor.h"
#include "request.h"
#include "writer.h"

#define MAX_REQ_HEADERS 64
#define FIELD_MAX 4096        /* query parameters other than token and url */

typedef struct decide_ctx {
  wd_decide_input_t in;
  wd_header_t headers[MAX_REQ_HEADERS + 4];
  char ip[64];
  char country[3];            /* from the geo data when the request gave none */
  const char *path;           /* for the log: URL path without the query */
  const char *host;
} decide_ctx_t;

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double real_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

/* The path of a URL (absolute or origin-form) without the query, as a pool string. */
static const char *url_path(h2o_req_t *req, const char *url) {
  if (!url)
    return NULL;
  const char *p = url;
  const char *sch = strstr(url, "://");
  if (sch && sch < strchr(url, '/') + 1) {
    p = strchr(sch + 3, '/');
    if (!p)
      return "/";
  }
  size_t n = strcspn(p, "?#");
  return h2o_strdup(&req->pool, p, n).base;
}

/*
 * Decide, then count and log. Returns 0 with *d filled (the caller answers and cleans d up),
 * or answers itself (503 while loading, 400 for unusable input) and returns -1.
 */
/* A direct-mapped cache of recent lookups per loop thread, by exact address: a viewer asks
 * every few seconds from the same address, and a lookup costs about a microsecond. */
#define GEO_CACHE_SLOTS 4096
struct geo_slot {
  wd_ip_t ip;                 /* family 0: empty */
  wd_geo_info_t info;
};

/* Look ip up through the thread's cache; 0 and *out, or -1 when ip is not an address. */
static int geo_cached(loop_t *l, const wd_geo_t *geo, const char *ip, wd_geo_info_t *out) {
  wd_ip_t a;
  memset(&a, 0, sizeof a);
  if (wd_ip_parse(ip, strlen(ip), &a))
    return -1;
  if (!l->geo_cache && !(l->geo_cache = calloc(GEO_CACHE_SLOTS, sizeof *l->geo_cache)))
    return wd_geo_lookup(geo, a.family, a.a, out) ? -1 : 0;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < sizeof a.a; i++)
    h = (h ^ a.a[i]) * 1099511628211ull;
  struct geo_slot *s = &l->geo_cache[(h ^ h >> 29) & (GEO_CACHE_SLOTS - 1)];
  if (s->ip.family != a.family || memcmp(s->ip.a, a.a, sizeof a.a)) {
    if (wd_geo_lookup(geo, a.family, a.a, &s->info))
      return -1;
    s->ip = a;
  }
  *out = s->info;
  return 0;
}

/* Fill what the request did not say (country, ASN, location) from the geo data: a country or
 * ASN given by the caller or a trusted CDN header wins. */
static void add_geo(loop_t *l, const wd_geo_t *geo, decide_ctx_t *c) {
  wd_request_t *r = &c->in.req;
  if (!geo || !r->ip || (r->country && r->asn && r->has_coord))
    return;
  wd_geo_info_t gi;
  if (geo_cached(l, geo, r->ip, &gi))
    return;
  if (!r->country && gi.country[0]) {
    memcpy(c->country, gi.country, sizeof c->country);
    r->country = c->country;
  }
  if (!r->asn)
    r->asn = gi.asn;
  if (!r->has_coord && gi.lat == gi.lat && gi.lon == gi.lon) {
    r->has_coord = 1;
    r->lat = gi.lat;
    r->lon = gi.lon;
  }
}

/* The detector's verdict as a JSON object (the decision's evidence). */
static void verdict_json(jw_t *w, const wd_verdict_t *v) {
  jw_obj(w);
  jw_kstr(w, "level", wd_verdict_level_name(v->level));
  jw_kint(w, "score", v->score);
  jw_key(w, "signals");
  jw_arr(w);
  for (unsigned b = 0; b < WD_SIGNAL_COUNT; b++)
    if (v->signals & (1u << b))
      jw_str(w, wd_signal_name(1u << b));
  jw_arr_end(w);
  jw_kint(w, "networks", v->networks);
  jw_kint(w, "asns", v->asns);
  jw_kint(w, "countries", v->countries);
  jw_kint(w, "requests", v->requests);
  jw_kint(w, "window_s", v->window_s);
  char line[256];
  wd_detect_explain(v, line, sizeof line);
  jw_kstr(w, "explanation", line);
  jw_obj_end(w);
}

/* Automate mode found the token shared: ban it until it expires, with the verdict as evidence.
 * Nobody waits for the commit; a token this thread banned moments ago is not queued again. */
static void auto_ban(loop_t *l, const wd_decide_input_t *in, const wd_decision_t *d) {
  const wd_identity_t *id = &d->token.id;
  for (unsigned i = 0; i < 8; i++)
    if (!strcmp(l->recent_bans[i], id->token_id))
      return;
  snprintf(l->recent_bans[l->recent_next++ % 8], WD_ID_MAX, "%s", id->token_id);
  ban_op_t *op = ban_op_create(1);
  if (!op)
    return;
  op->list = LIST_BANS;
  wd_ban_change_t *ch = &op->changes[0];
  ch->op = WD_BAN_ADD;
  ch->ban.type = WD_BAN_TOKEN;
  int64_t now = (int64_t)real_s();
  ch->ban.until = id->exp > now ? id->exp : now + 86400;
  char line[200];
  wd_detect_explain(&d->verdict, line, sizeof line);
  snprintf(ch->ban.reason, sizeof ch->ban.reason, "shared: %s", line);
  snprintf(ch->ban.actor, sizeof ch->ban.actor, "detector");
  snprintf(op->who_via, sizeof op->who_via, "detector");
  snprintf(op->who_ip, sizeof op->who_ip, "%s", in->req.ip ? in->req.ip : "");
  jw_t w;
  jw_init(&w, NULL, 0, WD_BAN_EVIDENCE_MAX);
  jw_obj(&w);
  jw_key(&w, "verdict");
  verdict_json(&w, &d->verdict);
  jw_kstr(&w, "policy", d->policy ? d->policy->name : NULL);
  jw_kstr(&w, "ip", in->req.ip);
  jw_kstr(&w, "country", in->req.country);
  jw_kint(&w, "asn", in->req.asn);
  jw_obj_end(&w);
  ch->evidence = w.err ? NULL : strndup(w.p, w.n);
  jw_free(&w);
  if (wd_ban_canonical(WD_BAN_TOKEN, id->token_id, ch->ban.value) || !l->srv->writer ||
      writer_submit(l->srv->writer, op)) {
    ban_op_free(op);
    l->recent_bans[(l->recent_next - 1) % 8][0] = '\0'; /* the next request tries again */
  }
}

static int decide(loop_t *l, h2o_req_t *req, decide_ctx_t *c, metrics_route_t route,
                  const char *route_name, wd_decision_t *d) {
  srv_t *s = l->srv;
  wd_decider_t *dec = srv_decider(s);
  if (!dec) {
    http_header(req, "Retry-After", "1");
    http_send_error(req, route, 503, "loading", "the ban list is still loading");
    return -1;
  }
  wd_decision_init(d);
  uint64_t t0 = mono_ns();
  add_geo(l, s->geo, c);
  int rc = wd_decide(dec, l->verifier, &c->in, d);
  uint64_t dt = mono_ns() - t0;
  if (rc) {
    wd_decision_cleanup(d);
    http_send_error(req, route, 400, "bad_request", "cannot decide: %s", wd_strerror(rc));
    return -1;
  }
  metrics_decision(&l->metrics, d, dt);
  monitor_note_decision(l, dec, d);
  if (d->has_case)
    cases_note_decision(s, &c->in, d);
  if (d->ban_token)
    auto_ban(l, &c->in, d);
  cluster_note_decision(s->cluster, &c->in, d);
  if (l->declog) {
    double sample = s->conf->declog.sample;
    int keep = d->nreasons > 0 || sample >= 1.0 ||
               (sample > 0 && (double)(xorshift(&l->rng) >> 11) * 0x1.0p-53 < sample);
    if (keep) {
      char buf[4096];
      jw_t w;
      jw_init(&w, buf, sizeof buf, DECLOG_LINE_MAX);
      declog_entry_t e = {.ts = real_s(),
                          .route = route_name,
                          .ip = c->in.req.ip,
                          .country = c->in.req.country,
                          .asn = c->in.req.asn,
                          .edge = c->in.edge,
                          .host = c->host,
                          .path = c->path,
                          .method = c->in.req.method,
                          .latency_ns = dt};
      declog_format(&w, d, &e);
      if (!w.err)
        declog_ring_push(l->declog, w.p, w.n);
      jw_free(&w);
    }
  }
  return 0;
}

static const char *delivery_name(wd_delivery_t dl) {
  switch (dl) {
  case WD_DELIVER_HEADER: return "header";
  case WD_DELIVER_COOKIE: return "cookie";
  case WD_DELIVER_REDIRECT: return "redirect";
  default: return NULL;
  }
}

/* ---------------------------------------------------------------- /v1/decide */

static void answer_json(h2o_req_t *req, const wd_decision_t *d) {
  char buf[4096];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 256 * 1024);
  const wd_identity_t *id = &d->token.id;
  jw_obj(&w);
  jw_kstr(&w, "action", wd_action_name(d->action));
  jw_kstr(&w, "enforced", wd_action_name(d->enforced));
  jw_kstr(&w, "mode", wd_mode_name(d->mode));
  jw_kint(&w, "status", d->status);
  jw_key(&w, "reasons");
  jw_arr(&w);
  for (size_t i = 0; i < d->nreasons && i < WD_DECISION_MAX_REASONS; i++)
    jw_str(&w, wd_reason_name(d->reasons[i]));
  jw_arr_end(&w);
  jw_key(&w, "policy");
  jw_str(&w, d->policy ? d->policy->name : NULL);
  int known = id->scheme != WD_SCHEME_NONE;
  jw_key(&w, "scheme");
  jw_str(&w, known ? wd_scheme_name(id->scheme) : NULL);
  jw_key(&w, "token_id");
  jw_str(&w, known && id->token_id[0] ? id->token_id : NULL);
  if (known && id->subject[0])
    jw_kstr(&w, "subject", id->subject);
  if (known && id->issuer[0])
    jw_kstr(&w, "issuer", id->issuer);
  if (known && id->exp)
    jw_kint(&w, "exp", id->exp);
  jw_kstr(&w, "detail", d->detail);
  if (d->target)
    jw_kstr(&w, "target", d->target);
  if (d->action == WD_ACT_THROTTLE || d->enforced == WD_ACT_THROTTLE)
    jw_kint(&w, "rate", (long long)d->rate);
  jw_kbool(&w, "case", d->has_case);
  if (d->detected) {
    jw_key(&w, "verdict");
    verdict_json(&w, &d->verdict);
  }
  if (d->ban_token)
    jw_kbool(&w, "auto_ban", 1);
  if (d->allowlisted)
    jw_kbool(&w, "allowlisted", 1);
  const char *renewal = d->action == WD_ACT_RENEW ? delivery_name(d->token.renew) : NULL;
  if (renewal)
    jw_kstr(&w, "renewal", renewal);
  jw_key(&w, "headers");
  jw_arr(&w);
  int have_location = 0;
  for (size_t i = 0; d->use_token_response && i < d->token.response.nheaders; i++) {
    jw_arr(&w);
    jw_str(&w, d->token.response.headers[i].name);
    jw_str(&w, d->token.response.headers[i].value);
    jw_arr_end(&w);
    if (!strcasecmp(d->token.response.headers[i].name, "Location"))
      have_location = 1;
  }
  if (d->action == WD_ACT_REDIRECT && d->target && !have_location) {
    jw_arr(&w);
    jw_str(&w, "Location");
    jw_str(&w, d->target);
    jw_arr_end(&w);
  }
  jw_arr_end(&w);
  jw_obj_end(&w);
  http_header(req, "Cache-Control", "no-store");
  http_send_jw(req, ROUTE_DECIDE, 200, &w);
}

/* Add a header to the context's list (value already a pool string). */
static void add_hdr(decide_ctx_t *c, const char *name, const char *value) {
  if (c->in.req.nheaders < MAX_REQ_HEADERS + 4) {
    c->headers[c->in.req.nheaders].name = name;
    c->headers[c->in.req.nheaders].value = value;
    c->in.req.nheaders++;
  }
}

/* The request fields /v1/decide takes, by query parameter or JSON member of the same name. */
enum { F_TOKEN, F_URL, F_IP, F_METHOD, F_UA, F_COUNTRY, F_ASN, F_EDGE, F_SCHEME, F_HOST,
       F_REFERER, F_COOKIE, F_COUNT };
static const struct {
  const char *name;
  size_t max;
} fields[F_COUNT] = {
    [F_TOKEN] = {"token", WD_TOKEN_MAX}, [F_URL] = {"url", 16384},
    [F_IP] = {"ip", 64},                 [F_METHOD] = {"method", 16},
    [F_UA] = {"ua", FIELD_MAX},          [F_COUNTRY] = {"country", 16},
    [F_ASN] = {"asn", 16},               [F_EDGE] = {"edge", 128},
    [F_SCHEME] = {"scheme", 16},         [F_HOST] = {"host", 256},
    [F_REFERER] = {"referer", FIELD_MAX}, [F_COOKIE] = {"cookie", 8192},
};

/* Apply the fields (NULL: absent) to the context. Answers 400 itself and returns -1. */
static int apply_fields(h2o_req_t *req, decide_ctx_t *c, const char *const v[F_COUNT]) {
  c->in.token = v[F_TOKEN] && v[F_TOKEN][0] ? v[F_TOKEN] : NULL;
  c->in.req.url = v[F_URL];
  if (v[F_IP] && v[F_IP][0])
    snprintf(c->ip, sizeof c->ip, "%s", v[F_IP]);
  c->in.req.method = v[F_METHOD] && v[F_METHOD][0] ? v[F_METHOD] : "GET";
  if (v[F_UA])
    add_hdr(c, "user-agent", v[F_UA]);
  c->in.req.country = v[F_COUNTRY] && v[F_COUNTRY][0] ? v[F_COUNTRY] : NULL;
  if (v[F_ASN] && v[F_ASN][0] && wd_geo_parse_asn(v[F_ASN], strlen(v[F_ASN]), &c->in.req.asn)) {
    http_send_error(req, ROUTE_DECIDE, 400, "bad_request", "asn '%s' is not an AS number",
                    v[F_ASN]);
    return -1;
  }
  c->in.edge = v[F_EDGE];
  if (v[F_SCHEME] && v[F_SCHEME][0] &&
      (wd_scheme_parse(v[F_SCHEME], &c->in.scheme) || !c->in.scheme)) {
    http_send_error(req, ROUTE_DECIDE, 400, "bad_request",
                    "unknown scheme '%s' (expected one of cat, jwt, akamai, securelink, "
                    "cloudfront, bunny)",
                    v[F_SCHEME]);
    return -1;
  }
  c->in.host = v[F_HOST];
  if (v[F_REFERER])
    add_hdr(c, "referer", v[F_REFERER]);
  if (v[F_COOKIE])
    add_hdr(c, "cookie", v[F_COOKIE]);
  return 0;
}

/* Fill from the query string of GET /v1/decide. Answers 400 itself and returns -1. */
static int from_query(h2o_req_t *req, decide_ctx_t *c) {
  char *v[F_COUNT] = {0};
  for (size_t i = 0; i < F_COUNT; i++) {
    if (req_query_param(req, fields[i].name, fields[i].max, &v[i]) < 0) {
      http_send_error(req, ROUTE_DECIDE, 400, "bad_request",
                      "query parameter '%s' is malformed or longer than %zu bytes",
                      fields[i].name, fields[i].max);
      return -1;
    }
  }
  return apply_fields(req, c, (const char *const *)v);
}

static const char *pool_str(h2o_req_t *req, const char *s) {
  return h2o_strdup(&req->pool, s, strlen(s)).base;
}

/* Fill from a POST body. Answers 400 itself and returns -1. */
static int from_json(h2o_req_t *req, decide_ctx_t *c, json_t **root_out) {
  size_t n;
  const char *body = http_body(req, &n);
  json_error_t je;
  json_t *root = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
  *root_out = root;
  if (!root) {
    http_send_error(req, ROUTE_DECIDE, 400, "invalid_json", "the body is not JSON: %s (line %d)",
                    je.text, je.line);
    return -1;
  }
  if (!json_is_object(root)) {
    http_send_error(req, ROUTE_DECIDE, 400, "invalid_json", "the body must be a JSON object");
    return -1;
  }
  const char *v[F_COUNT] = {0};
  for (size_t i = 0; i < F_COUNT; i++) {
    json_t *j = json_object_get(root, fields[i].name);
    if (i == F_ASN || !j || json_is_null(j))
      continue; /* asn: a number or a string, below */
    if (!json_is_string(j) || json_string_length(j) > fields[i].max ||
        strlen(json_string_value(j)) != json_string_length(j)) {
      http_send_error(req, ROUTE_DECIDE, 400, "bad_request",
                      "'%s' must be a string of at most %zu bytes", fields[i].name,
                      fields[i].max);
      return -1;
    }
    v[i] = json_string_value(j);
  }
  if (apply_fields(req, c, v))
    return -1;
  json_t *asn = json_object_get(root, "asn");
  if (json_is_integer(asn) && json_integer_value(asn) >= 0 &&
      json_integer_value(asn) <= 4294967295LL) {
    c->in.req.asn = (uint32_t)json_integer_value(asn);
  } else if (json_is_string(asn)) {
    const char *a = json_string_value(asn);
    if (a[0] && wd_geo_parse_asn(a, strlen(a), &c->in.req.asn)) {
      http_send_error(req, ROUTE_DECIDE, 400, "bad_request", "'asn' is not an AS number");
      return -1;
    }
  } else if (asn && !json_is_null(asn)) {
    http_send_error(req, ROUTE_DECIDE, 400, "bad_request", "'asn' must be a number");
    return -1;
  }
  json_t *hdrs = json_object_get(root, "headers");
  if (json_is_object(hdrs)) {
    const char *k;
    json_t *hv;
    json_object_foreach(hdrs, k, hv) {
      if (!json_is_string(hv)) {
        http_send_error(req, ROUTE_DECIDE, 400, "bad_request", "header '%s' must be a string", k);
        return -1;
      }
      add_hdr(c, k, json_string_value(hv));
    }
  } else if (json_is_array(hdrs)) {
    size_t i;
    json_t *pair;
    json_array_foreach(hdrs, i, pair) {
      if (!json_is_array(pair) || json_array_size(pair) != 2 ||
          !json_is_string(json_array_get(pair, 0)) || !json_is_string(json_array_get(pair, 1))) {
        http_send_error(req, ROUTE_DECIDE, 400, "bad_request",
                        "'headers' must be an object or a list of [name, value] pairs");
        return -1;
      }
      add_hdr(c, json_string_value(json_array_get(pair, 0)),
              json_string_value(json_array_get(pair, 1)));
    }
  } else if (hdrs && !json_is_null(hdrs)) {
    http_send_error(req, ROUTE_DECIDE, 400, "bad_request",
                    "'headers' must be an object or a list of [name, value] pairs");
    return -1;
  }
  json_t *cookies = json_object_get(root, "cookies");
  if (json_is_string(cookies)) {
    add_hdr(c, "cookie", json_string_value(cookies));
  } else if (json_is_object(cookies)) {
    char buf[8192];
    size_t k = 0;
    const char *name;
    json_t *cv;
    json_object_foreach(cookies, name, cv) {
      if (!json_is_string(cv)) {
        http_send_error(req, ROUTE_DECIDE, 400, "bad_request", "cookie '%s' must be a string",
                        name);
        return -1;
      }
      int w = snprintf(buf + k, sizeof buf - k, "%s%s=%s", k ? "; " : "", name,
                       json_string_value(cv));
      if (w < 0 || (size_t)w >= sizeof buf - k) {
        http_send_error(req, ROUTE_DECIDE, 400, "bad_request", "'cookies' are over 8 KiB");
        return -1;
      }
      k += (size_t)w;
    }
    if (k)
      add_hdr(c, "cookie", pool_str(req, buf));
  } else if (cookies && !json_is_null(cookies)) {
    http_send_error(req, ROUTE_DECIDE, 400, "bad_request",
                    "'cookies' must be an object of name: value or a Cookie header string");
    return -1;
  }
  return 0;
}

void api_decide(loop_t *l, h2o_req_t *req) {
  decide_ctx_t c;
  memset(&c.in, 0, sizeof c.in);
  c.ip[0] = '\0';
  c.in.req.headers = c.headers;
  json_t *root = NULL;
  int post = req_method_is(req, "POST", 4);
  if (post ? from_json(req, &c, &root) : from_query(req, &c)) {
    json_decref(root);
    return;
  }
  if (!c.in.req.url || !c.in.req.url[0]) {
    json_decref(root);
    http_send_error(req, ROUTE_DECIDE, 400, "bad_request",
                    "'url' is required: the request URL the edge saw (absolute, or /path?query "
                    "with 'host')");
    return;
  }
  c.in.req.ip = c.ip[0] ? c.ip : NULL;
  c.path = url_path(req, c.in.req.url);
  c.host = c.in.host;
  wd_decision_t d;
  if (decide(l, req, &c, ROUTE_DECIDE, "decide", &d) == 0) {
    answer_json(req, &d);
    wd_decision_cleanup(&d);
  }
  json_decref(root);
}

/* ---------------------------------------------------------------- /auth */

/* A request header by its configured name, in any case. */
static const char *header_ci(h2o_req_t *req, const char *name) {
  char lname[72];
  size_t n = strlen(name);
  if (n >= sizeof lname)
    return NULL;
  for (size_t i = 0; i <= n; i++)
    lname[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
  return req_header(req, lname);
}

void api_auth(loop_t *l, h2o_req_t *req) {
  const conf_t *conf = l->srv->conf;
  decide_ctx_t c;
  memset(&c.in, 0, sizeof c.in);
  c.ip[0] = '\0';
  const char *uri = req_header(req, "x-original-uri");
  if (!uri || uri[0] != '/') {
    http_header(req, "X-Warden-Reason", "no_original_uri");
    http_send_error(req, ROUTE_AUTH, 400, "bad_request",
                    "/auth needs X-Original-URI: the original request's $request_uri");
    return;
  }
  int via_proxy = 0;
  if (req_client_ip(conf, req, c.ip, sizeof c.ip, &via_proxy))
    c.ip[0] = '\0';
  c.in.req.url = uri;
  c.in.req.ip = c.ip[0] ? c.ip : NULL;
  const char *m = req_header(req, "x-original-method");
  c.in.req.method = m && m[0] ? m : "GET";
  const char *host = req_header(req, "x-original-host");
  if (!host)
    host = h2o_strdup(&req->pool, req->authority.base, req->authority.len).base;
  c.in.host = host;
  c.host = host;
  if (via_proxy || conf_is_trusted(conf, c.ip)) {
    /* a CDN's placeholder ("XX", "T1") or a malformed value counts as unknown */
    char cc[3];
    const char *v = conf->country_header ? header_ci(req, conf->country_header) : NULL;
    if (v && !wd_geo_parse_country(v, strlen(v), cc))
      c.in.req.country = v;
    v = conf->asn_header ? header_ci(req, conf->asn_header) : NULL;
    if (v && wd_geo_parse_asn(v, strlen(v), &c.in.req.asn))
      c.in.req.asn = 0;
  }
  c.in.req.headers = c.headers;
  c.in.req.nheaders = req_headers(req, c.headers, MAX_REQ_HEADERS);
  c.in.edge = req_header(req, "x-warden-edge");
  c.path = url_path(req, uri);

  wd_decision_t d;
  if (decide(l, req, &c, ROUTE_AUTH, "auth", &d))
    return;
  int deny = d.action == WD_ACT_BLOCK;
  int status = deny ? (d.status == 401 ? 401 : 403) : 200;
  http_header(req, "X-Warden-Action", wd_action_name(d.action));
  if (d.nreasons) {
    char rs[256];
    size_t k = 0;
    rs[0] = '\0';
    for (size_t i = 0; i < d.nreasons && i < WD_DECISION_MAX_REASONS && k < sizeof rs; i++)
      k += (size_t)snprintf(rs + k, sizeof rs - k, "%s%s", i ? "," : "",
                            wd_reason_name(d.reasons[i]));
    http_header(req, "X-Warden-Reason", rs);
  }
  if (d.action != WD_ACT_ALLOW || d.enforced != WD_ACT_ALLOW) {
    char st[16];
    snprintf(st, sizeof st, "%d", d.status);
    http_header(req, "X-Warden-Status", st);
  }
  if (d.enforced != d.action)
    http_header(req, "X-Warden-Enforced", wd_action_name(d.enforced));
  if (d.target && (d.action == WD_ACT_SUBSTITUTE || d.action == WD_ACT_CALLOUT ||
                   d.action == WD_ACT_REDIRECT))
    http_header(req, "X-Warden-Target", d.target);
  if (d.action == WD_ACT_THROTTLE) {
    char rate[32];
    snprintf(rate, sizeof rate, "%llu", (unsigned long long)d.rate);
    http_header(req, "X-Warden-Rate", rate);
  }
  if (d.token.id.scheme != WD_SCHEME_NONE && d.token.id.token_id[0])
    http_header(req, "X-Warden-Token-Id", d.token.id.token_id);
  for (size_t i = 0; d.use_token_response && i < d.token.response.nheaders; i++)
    http_header(req, d.token.response.headers[i].name, d.token.response.headers[i].value);
  http_send(req, ROUTE_AUTH, status, NULL, NULL, 0);
  wd_decision_cleanup(&d);
}

/* ---------------------------------------------------------------- content keys */

int decide_for_asset(loop_t *l, h2o_req_t *req, const char *url, const char *host,
                     wd_decision_t *d) {
  const conf_t *conf = l->srv->conf;
  decide_ctx_t c;
  memset(&c.in, 0, sizeof c.in);
  c.ip[0] = '\0';
  int via_proxy = 0;
  if (req_client_ip(conf, req, c.ip, sizeof c.ip, &via_proxy))
    c.ip[0] = '\0';
  int trusted = via_proxy || conf_is_trusted(conf, c.ip);
  c.in.req.url = url;
  c.in.req.ip = c.ip[0] ? c.ip : NULL;
  c.in.req.method = "GET";
  if (!host && trusted)
    host = req_header(req, "x-original-host");
  if (!host)
    host = h2o_strdup(&req->pool, req->authority.base, req->authority.len).base;
  c.in.host = host;
  c.host = host;
  if (trusted) {
    char cc[3];
    const char *v = conf->country_header ? header_ci(req, conf->country_header) : NULL;
    if (v && !wd_geo_parse_country(v, strlen(v), cc))
      c.in.req.country = v;
    v = conf->asn_header ? header_ci(req, conf->asn_header) : NULL;
    if (v && wd_geo_parse_asn(v, strlen(v), &c.in.req.asn))
      c.in.req.asn = 0;
    c.in.edge = req_header(req, "x-warden-edge");
  }
  c.in.req.headers = c.headers;
  c.in.req.nheaders = req_headers(req, c.headers, MAX_REQ_HEADERS);
  c.path = url_path(req, url);
  return decide(l, req, &c, ROUTE_KEY, "key", d);
}
