/*
 * BunnyCDN token authentication, HS256 form: issue, verify, inspect, extract.
 *
 * TOKEN = "HS256-" ["1-"] b64url-nopad(HMAC-SHA256(key, path || EXP || ip || params)), the key
 * being the pull zone's secret text. `path` is token_path when the URL carries one, else the
 * request path; `ip` is present (and flagged by "1-") when the token is bound to an address: 4
 * raw bytes for IPv4, the /64 prefix for IPv6 (16 bytes, the last 8 zero); `params` are the
 * query parameters other than token and expires, decoded, sorted by name, joined as
 * `k=v&k=v`. With token_ignore_params=true only that flag (and token_path) is signed; the
 * speed limit (`limit`) and the country lists are ordinary signed parameters.
 *
 * Two URL forms: `/path?token=T&k=v&expires=E` and the path-based
 * `/bcdn_token=T&k=v&expires=E/path` (the parameters then live in the first path segment;
 * a query after the path is signed too, unless token_ignore_params).
 *
 * Verification: the HMAC first (a wrong address shows as a bad signature: the address is
 * signed, not sent), then expiry (expired when expires < now, leeway allowed), then token_path
 * (the decoded, normalised request path must start with it) and the country lists against
 * req->country: an allow list fails closed when the country is unknown, a block list passes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "token/internal.h"
#include "util/codec.h"
#include "util/ip.h"
#include "util/url.h"

#define BN_URL_MAX 8192  /* request or issued URL */
#define BN_PARAMS_MAX 64 /* query parameters */
#define BN_MAC_B64 43    /* b64url nopad of 32 bytes */
#define BN_NUM_DIGITS 18

typedef struct bparam {
  const char *k, *v;
  size_t kn, vn;
} bparam_t;

typedef struct bparams {
  bparam_t p[BN_PARAMS_MAX];
  size_t n;
} bparams_t;

static int param_cmp(const bparam_t *a, const bparam_t *b) {
  size_t n = a->kn < b->kn ? a->kn : b->kn;
  int c = memcmp(a->k, b->k, n);
  if (c)
    return c;
  return a->kn < b->kn ? -1 : a->kn > b->kn;
}

static void params_sort(bparams_t *ps) {
  for (size_t i = 1; i < ps->n; i++) {
    bparam_t x = ps->p[i];
    size_t j = i;
    while (j > 0 && param_cmp(&ps->p[j - 1], &x) > 0) {
      ps->p[j] = ps->p[j - 1];
      j--;
    }
    ps->p[j] = x;
  }
}

static bparam_t *params_get(bparams_t *ps, const char *k) {
  size_t kn = strlen(k);
  for (size_t i = 0; i < ps->n; i++)
    if (ps->p[i].kn == kn && memcmp(ps->p[i].k, k, kn) == 0)
      return &ps->p[i];
  return NULL;
}

/* Add or replace k=v. WD_ERANGE when full. */
static int params_set(bparams_t *ps, const char *k, size_t kn, const char *v, size_t vn) {
  for (size_t i = 0; i < ps->n; i++)
    if (ps->p[i].kn == kn && memcmp(ps->p[i].k, k, kn) == 0) {
      ps->p[i].v = v;
      ps->p[i].vn = vn;
      return 0;
    }
  if (ps->n >= BN_PARAMS_MAX)
    return WD_ERANGE;
  ps->p[ps->n++] = (bparam_t){k, v, kn, vn};
  return 0;
}

/* `k=v&k=v` of the sorted parameters into out; returns the length or -1 when it does not fit. */
static long signing_data(const bparams_t *ps, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < ps->n; i++) {
    if (o + ps->p[i].kn + ps->p[i].vn + 2 > cap)
      return -1;
    if (i)
      out[o++] = '&';
    memcpy(out + o, ps->p[i].k, ps->p[i].kn);
    o += ps->p[i].kn;
    out[o++] = '=';
    memcpy(out + o, ps->p[i].v, ps->p[i].vn);
    o += ps->p[i].vn;
  }
  return (long)o;
}

/* Parsed parameters of a request: the token, expires and the rest (decoded into scratch). */
typedef struct bunny_url {
  wd_span_t token, expires, path; /* raw */
  int has_token, has_expires;
  bparams_t params;
  char *scratch;
  size_t used, cap;
} bunny_url_t;

/* Read `k=v&...` (raw) into b. WD_EMALFORMED for a bad escape or a repeated name. */
static int collect(bunny_url_t *b, wd_span_t list) {
  if (!list.p || !list.n)
    return 0;
  const char *p = list.p, *end = list.p + list.n;
  while (p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pe - p));
    const char *ke = eq ? eq : pe;
    if (pe > p) {
      char *k = b->scratch + b->used;
      long kn = wd_pct_decode(p, (size_t)(ke - p), k, b->cap - b->used, 1);
      if (kn < 0)
        return WD_EMALFORMED;
      b->used += (size_t)kn;
      char *v = b->scratch + b->used;
      long vn = eq ? wd_pct_decode(eq + 1, (size_t)(pe - eq - 1), v, b->cap - b->used, 1) : 0;
      if (vn < 0)
        return WD_EMALFORMED;
      b->used += (size_t)vn;
      wd_span_t raw = {eq ? eq + 1 : pe, eq ? (size_t)(pe - eq - 1) : 0};
      if ((kn == 5 && !memcmp(k, "token", 5)) || (kn == 10 && !memcmp(k, "bcdn_token", 10))) {
        if (b->has_token)
          return WD_EMALFORMED;
        b->token = raw;
        b->has_token = 1;
      } else if (kn == 7 && !memcmp(k, "expires", 7)) {
        if (b->has_expires)
          return WD_EMALFORMED;
        b->expires = raw;
        b->has_expires = 1;
      } else {
        bparam_t x = {k, v, (size_t)kn, (size_t)vn};
        for (size_t i = 0; i < b->params.n; i++)
          if (param_cmp(&b->params.p[i], &x) == 0)
            return WD_EMALFORMED; /* multi-valued parameters are not signable */
        if (b->params.n >= BN_PARAMS_MAX)
          return WD_ETOOBIG;
        b->params.p[b->params.n++] = x;
      }
    }
    p = amp ? amp + 1 : end;
  }
  return 0;
}

/* Split a request URL into its token parts, in either form. */
static int parse_url(const char *url, bunny_url_t *b, char *why, size_t whylen) {
  wd_url_t u;
  if (strlen(url) > BN_URL_MAX) {
    snprintf(why, whylen, "request URL exceeds %d bytes", BN_URL_MAX);
    return WD_ETOOBIG;
  }
  if (wd_url_split(url, &u)) {
    snprintf(why, whylen, "request URL cannot be parsed");
    return WD_EMALFORMED;
  }
  b->path = u.path;
  int rc = 0;
  if (u.path.n > 12 && memcmp(u.path.p, "/bcdn_token=", 12) == 0) {
    const char *segend = memchr(u.path.p + 1, '/', u.path.n - 1);
    wd_span_t seg = {u.path.p + 1, segend ? (size_t)(segend - u.path.p - 1) : u.path.n - 1};
    b->path.p = segend ? segend : u.path.p + u.path.n;
    b->path.n = u.path.n - 1 - seg.n;
    rc = collect(b, seg);
  }
  if (!rc)
    rc = collect(b, u.query);
  if (rc)
    snprintf(why, whylen,
             rc == WD_ETOOBIG ? "more than %d query parameters"
                              : "query parameters are malformed or repeated (max %d)",
             BN_PARAMS_MAX);
  return rc;
}

static int parse_num(wd_span_t s, int64_t *out) {
  int64_t v = 0;
  if (s.n == 0 || s.n > BN_NUM_DIGITS)
    return -1;
  for (size_t i = 0; i < s.n; i++) {
    if (s.p[i] < '0' || s.p[i] > '9')
      return -1;
    v = v * 10 + (s.p[i] - '0');
  }
  *out = v;
  return 0;
}

/* "HS256-[1-]B64": the MAC and whether an address is bound. */
static int parse_token(const char *t, size_t n, uint8_t mac[32], int *ipbound) {
  size_t ol = 0;
  if (n < 6 || memcmp(t, "HS256-", 6) != 0)
    return WD_EMALFORMED;
  t += 6;
  n -= 6;
  *ipbound = 0;
  if (n == BN_MAC_B64 + 2 && t[0] == '1' && t[1] == '-') {
    *ipbound = 1;
    t += 2;
    n -= 2;
  }
  if (n != BN_MAC_B64 || wd_b64_decode(t, n, mac, 32, &ol, WD_B64_URL | WD_B64_NOPAD) || ol != 32)
    return WD_EMALFORMED;
  return 0;
}

/* The signed address bytes: IPv4 as 4 bytes, IPv6 masked to /64; text form for the identity. */
static int ip_bytes(const char *ip, uint8_t out[16], size_t *n, char *text, size_t textcap) {
  wd_ip_t a;
  if (wd_ip_parse(ip, strlen(ip), &a))
    return WD_EMALFORMED;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a.family == 6 && memcmp(a.a, mapped, 12) == 0) {
    memmove(a.a, a.a + 12, 4);
    a.family = 4;
  }
  if (a.family == 4) {
    memcpy(out, a.a, 4);
    *n = 4;
    if (text)
      wd_ip_format(&a, text, textcap);
    return 0;
  }
  memcpy(out, a.a, 8);
  memset(out + 8, 0, 8);
  memset(a.a + 8, 0, 8);
  *n = 16;
  if (text && textcap >= 64) {
    wd_ip_format(&a, text, textcap);
    size_t l = strlen(text);
    snprintf(text + l, textcap - l, "/64");
  }
  return 0;
}

/* 1 when cc (ISO code, "SE" or "US-CA") is in a comma-separated list. */
static int country_in(const char *cc, const char *list, size_t n) {
  size_t cl = strcspn(cc, "-");
  const char *p = list, *end = list + n;
  while (p < end) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    const char *e = c ? c : end;
    const char *s = p;
    while (s < e && *s == ' ')
      s++;
    const char *t = e;
    while (t > s && t[-1] == ' ')
      t--;
    if ((size_t)(t - s) == cl && strncasecmp(s, cc, cl) == 0)
      return 1;
    p = c ? c + 1 : end;
  }
  return 0;
}

/* ---- verify ------------------------------------------------------------------------------ */

int wd__bunny_verify(wd_verifier_t *v, const wd_verify_opts_t *opts, const char *tok, size_t len,
                     const wd_request_t *req, wd_result_t *r) {
  char scratch[BN_URL_MAX], sd[BN_URL_MAX + 64], why[96], canon[64];
  if (!req || !req->url)
    return wd_result_fail(r, tok ? WD_EINVAL : WD_ENOTOKEN, NULL,
                          "bunny tokens are checked against the request URL, and there is none");
  bunny_url_t b;
  memset(&b, 0, sizeof b);
  b.scratch = scratch;
  b.cap = sizeof scratch;
  int rc = parse_url(req->url, &b, why, sizeof why);
  if (rc)
    return wd_result_fail(r, rc, NULL, "%s", why);
  if (tok) {
    b.token.p = tok;
    b.token.n = len;
  } else if (!b.has_token || b.token.n == 0) {
    return wd_result_fail(r, WD_ENOTOKEN, NULL, "no token or bcdn_token in the request URL");
  }
  uint8_t mac[32];
  int ipbound;
  if (b.token.n > WD_TOKEN_MAX || parse_token(b.token.p, b.token.n, mac, &ipbound))
    return wd_result_fail(r, WD_EMALFORMED, NULL,
                          "token is not HS256-[1-]<43 base64url characters>");
  int64_t expires;
  if (!b.has_expires)
    return wd_result_fail(r, WD_EMALFORMED, NULL, "no expires parameter");
  if (parse_num(b.expires, &expires) || expires <= 0)
    return wd_result_fail(r, WD_EMALFORMED, NULL, "expires is not a unix time");

  /* Identity: the MAC names the token (re-encoded, so spare base64 bits change nothing). */
  int cn = snprintf(canon, sizeof canon, "HS256-%s", ipbound ? "1-" : "");
  wd_b64_encode(mac, 32, canon + cn, 1, 0);
  wd__identity_hash_id(v, &r->id, canon, strlen(canon));
  r->id.exp = expires;

  uint8_t ipb[16];
  size_t ipn = 0;
  if (ipbound) {
    if (!req->ip || ip_bytes(req->ip, ipb, &ipn, r->id.ip, sizeof r->id.ip))
      return wd_result_fail(r, WD_ECLAIM, "ip", "token is bound to an address, request has %s",
                            req->ip ? "an unparsable one" : "none");
  }

  bparam_t *tp = params_get(&b.params, "token_path");
  bparam_t *ign = params_get(&b.params, "token_ignore_params");
  bparams_t signed_params = b.params;
  if (ign && ign->vn == 4 && memcmp(ign->v, "true", 4) == 0) {
    signed_params.n = 0;
    params_set(&signed_params, ign->k, ign->kn, ign->v, ign->vn);
    if (tp)
      params_set(&signed_params, tp->k, tp->kn, tp->v, tp->vn);
  }
  params_sort(&signed_params);
  long sdn = signing_data(&signed_params, sd, sizeof sd);
  if (sdn < 0)
    return wd_result_fail(r, WD_ETOOBIG, NULL, "signed parameters too long");

  /* Signature path: token_path, else the path as sent (then decoded, when it differs). */
  char decoded[BN_URL_MAX];
  wd_span_t paths[2];
  size_t npaths = 0;
  if (tp) {
    paths[npaths++] = (wd_span_t){tp->v, tp->vn};
  } else {
    paths[npaths++] = b.path;
    long dn = wd_pct_decode(b.path.p, b.path.n, decoded, sizeof decoded, 0);
    if (dn >= 0 && ((size_t)dn != b.path.n || memcmp(decoded, b.path.p, b.path.n)))
      paths[npaths++] = (wd_span_t){decoded, (size_t)dn};
  }

  unsigned cursor = 0;
  const wd_key_t *k;
  int nkeys = 0, ok = 0;
  while (!ok && (k = wd_keyring_next(v->ring, WD_SCHEME_BUNNY, NULL, 0, &cursor)) != NULL) {
    if (k->alg != WD_ALG_HS256 || !k->secret)
      continue;
    nkeys++;
    for (size_t i = 0; i < npaths && !ok; i++) {
      wd_iov_t parts[4] = {
          {paths[i].p, paths[i].n}, {b.expires.p, b.expires.n}, {ipb, ipn}, {sd, (size_t)sdn}};
      uint8_t d[WD_DIGEST_MAX];
      size_t dn = 0;
      rc = wd__hmac(v, k, parts, 4, d, &dn);
      if (rc)
        return wd_result_fail(r, rc, NULL, "HMAC computation failed");
      ok = dn == 32 && wd_ct_equal(d, mac, 32);
    }
  }
  if (!nkeys)
    return wd_result_fail(r, WD_ENOKEY, NULL, "no bunny (HS256) key configured");
  if (!ok)
    return wd_result_fail(r, WD_ESIGNATURE, NULL, "token signature mismatch%s",
                          ipbound ? " (the token is bound to a client address)" : "");

  int64_t now = wd__now(req);
  if (expires + opts->leeway < now)
    return wd_result_fail(r, WD_EEXPIRED, "expires", "token expired at %lld (now %lld)",
                          (long long)expires, (long long)now);
  if (tp) {
    long pn = wd__path_normalize(b.path.p, b.path.n, decoded, sizeof decoded);
    if (pn < 0 || (size_t)pn < tp->vn || memcmp(decoded, tp->v, tp->vn) != 0)
      return wd_result_fail(r, WD_ECLAIM, "token_path", "request path is outside token_path");
  }
  bparam_t *allow = params_get(&b.params, "token_countries");
  bparam_t *block = params_get(&b.params, "token_countries_blocked");
  const char *cc = req->country && *req->country ? req->country : NULL;
  if (allow && allow->vn && (!cc || !country_in(cc, allow->v, allow->vn)))
    return wd_result_fail(r, WD_ECLAIM, "token_countries", "client country %s is not allowed",
                          cc ? cc : "(unknown)");
  if (block && cc && country_in(cc, block->v, block->vn))
    return wd_result_fail(r, WD_ECLAIM, "token_countries_blocked", "client country %s is blocked",
                          cc);

  if (opts->want_claims) {
    json_t *c = json_object(), *pj = json_object();
    json_object_set_new(c, "expires", json_integer(expires));
    json_object_set_new(c, "ip_bound", json_boolean(ipbound));
    for (size_t i = 0; i < b.params.n; i++) {
      char key[256];
      wd__copy_field(key, sizeof key, b.params.p[i].k, b.params.p[i].kn);
      json_object_set_new(pj, key, json_stringn(b.params.p[i].v, b.params.p[i].vn));
    }
    json_object_set_new(c, "params", pj);
    r->claims = c;
  }
  return 0;
}

/* ---- issue ------------------------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static int issue_fail(char *err, size_t errlen, int code,
                                                            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen)
    vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return code;
}

/* Percent-encode (RFC 3986 unreserved kept, uppercase hex) into out; returns the length or -1. */
static long pct_encode(const char *s, size_t n, char *out, size_t cap) {
  static const char hexd[] = "0123456789ABCDEF";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == '~';
    if (o + 4 > cap)
      return -1;
    if (keep) {
      out[o++] = (char)c;
    } else {
      out[o++] = '%';
      out[o++] = hexd[c >> 4];
      out[o++] = hexd[c & 15];
    }
  }
  return (long)o;
}

/* A claim that is a string, or an array of strings joined by ','; copied into buf. */
static int claim_list(const json_t *claims, const char *name, char *buf, size_t cap,
                      const char **out) {
  json_t *j = json_object_get(claims, name);
  *out = NULL;
  if (!j)
    return 0;
  size_t o = 0;
  if (json_is_string(j)) {
    if (json_string_length(j) >= cap)
      return -1;
    memcpy(buf, json_string_value(j), json_string_length(j));
    o = json_string_length(j);
  } else if (json_is_array(j)) {
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e) {
      if (!json_is_string(e) || o + json_string_length(e) + 2 > cap)
        return -1;
      if (i)
        buf[o++] = ',';
      memcpy(buf + o, json_string_value(e), json_string_length(e));
      o += json_string_length(e);
    }
  } else {
    return -1;
  }
  buf[o] = '\0';
  if (o && memchr(buf, '\0', o))
    return -1;
  *out = o ? buf : NULL;
  return 0;
}

int wd__bunny_issue(const wd_keyring_t *ring, const json_t *claims, const wd_issue_opts_t *opts,
                    char **out, char *err, size_t errlen) {
  static const char *const known[] = {"exp",
                                      "ip",
                                      "token_path",
                                      "token_countries",
                                      "token_countries_blocked",
                                      "limit",
                                      "token_ignore_params"};
  const char *key;
  json_t *val;
  if (claims && !json_is_object(claims))
    return issue_fail(err, errlen, WD_EINVAL, "claims must be a JSON object%s", "");
  json_object_foreach((json_t *)claims, key, val) {
    size_t i;
    for (i = 0; i < sizeof known / sizeof *known; i++)
      if (!strcmp(key, known[i]))
        break;
    if (i == sizeof known / sizeof *known)
      return issue_fail(
          err, errlen, WD_EINVAL,
          "unknown bunny claim '%.40s' (expected exp, ip, token_path, token_countries, "
          "token_countries_blocked, limit, token_ignore_params)",
          key);
  }
  if (!opts->url)
    return issue_fail(err, errlen, WD_EINVAL, "a bunny token needs the URL to sign (--url)%s", "");
  const wd_key_t *k = wd_keyring_signer(ring, WD_SCHEME_BUNNY, opts->kid, NULL);
  if (!k)
    return issue_fail(err, errlen, WD_ENOKEY, "no bunny key to sign with%s", "");
  if (k->alg != WD_ALG_HS256 || !k->secret)
    return issue_fail(err, errlen, WD_EALG, "bunny keys are HS256 secrets%s", "");

  char scratch[BN_URL_MAX], allowbuf[512], blockbuf[512], limitbuf[24], expbuf[24];
  bunny_url_t b;
  memset(&b, 0, sizeof b);
  b.scratch = scratch;
  b.cap = sizeof scratch;
  wd_url_t u;
  if (strlen(opts->url) > BN_URL_MAX || wd_url_split(opts->url, &u))
    return issue_fail(err, errlen, WD_EINVAL, "the URL to sign is not an absolute or /path URL%s",
                      "");
  if (collect(&b, u.query) || b.has_token || b.has_expires)
    return issue_fail(err, errlen, WD_EINVAL,
                      "the URL's query is malformed, repeats a name or already holds a token%s",
                      "");

  int64_t now = opts->now ? opts->now : wd__now(NULL), expires;
  json_t *j = claims ? json_object_get(claims, "exp") : NULL;
  if (j && (!json_is_integer(j) || json_integer_value(j) <= 0))
    return issue_fail(err, errlen, WD_EINVAL, "exp must be a positive unix time%s", "");
  if (j)
    expires = json_integer_value(j);
  else if (opts->ttl > 0)
    expires = now + opts->ttl;
  else
    return issue_fail(err, errlen, WD_EINVAL, "a bunny token needs exp or a ttl%s", "");
  snprintf(expbuf, sizeof expbuf, "%lld", (long long)expires);

  const char *allow = NULL, *block = NULL, *tpath = opts->bunny.token_path, *ip = opts->ip;
  if (claims && (claim_list(claims, "token_countries", allowbuf, sizeof allowbuf, &allow) ||
                 claim_list(claims, "token_countries_blocked", blockbuf, sizeof blockbuf, &block)))
    return issue_fail(err, errlen, WD_EINVAL, "country lists are strings or arrays of strings%s",
                      "");
  j = claims ? json_object_get(claims, "token_path") : NULL;
  if (j && (!json_is_string(j) || json_string_length(j) == 0))
    return issue_fail(err, errlen, WD_EINVAL, "token_path must be a path%s", "");
  if (j)
    tpath = json_string_value(j);
  j = claims ? json_object_get(claims, "ip") : NULL;
  if (j && !json_is_string(j))
    return issue_fail(err, errlen, WD_EINVAL, "ip must be an address%s", "");
  if (j)
    ip = json_string_value(j);
  int ignore = opts->bunny.ignore_params;
  j = claims ? json_object_get(claims, "token_ignore_params") : NULL;
  if (j && !json_is_boolean(j))
    return issue_fail(err, errlen, WD_EINVAL, "token_ignore_params must be true or false%s", "");
  if (j)
    ignore = json_is_true(j);
  limitbuf[0] = '\0';
  j = claims ? json_object_get(claims, "limit") : NULL;
  if (j && (!json_is_integer(j) || json_integer_value(j) < 0))
    return issue_fail(err, errlen, WD_EINVAL, "limit must be a speed limit in kB/s%s", "");
  if (j && json_integer_value(j) > 0)
    snprintf(limitbuf, sizeof limitbuf, "%lld", (long long)json_integer_value(j));

  bparams_t ps;
  if (ignore) {
    ps.n = 0;
    params_set(&ps, "token_ignore_params", 19, "true", 4);
  } else {
    ps = b.params;
    if ((allow && params_set(&ps, "token_countries", 15, allow, strlen(allow))) ||
        (block && params_set(&ps, "token_countries_blocked", 23, block, strlen(block))) ||
        (limitbuf[0] && params_set(&ps, "limit", 5, limitbuf, strlen(limitbuf))))
      return issue_fail(err, errlen, WD_ERANGE, "more than %s query parameters", "64");
  }
  if (tpath && *tpath && params_set(&ps, "token_path", 10, tpath, strlen(tpath)))
    return issue_fail(err, errlen, WD_ERANGE, "more than %s query parameters", "64");
  params_sort(&ps);

  char sd[BN_URL_MAX + 1024];
  long sdn = signing_data(&ps, sd, sizeof sd);
  if (sdn < 0)
    return issue_fail(err, errlen, WD_ERANGE, "parameters too long%s", "");
  uint8_t ipb[16];
  size_t ipn = 0;
  if (ip && *ip && ip_bytes(ip, ipb, &ipn, NULL, 0))
    return issue_fail(err, errlen, WD_EINVAL, "ip '%.64s' is not an IPv4 or IPv6 address", ip);
  wd_span_t sigpath = tpath && *tpath ? (wd_span_t){tpath, strlen(tpath)} : u.path;
  wd_iov_t parts[4] = {
      {sigpath.p, sigpath.n}, {expbuf, strlen(expbuf)}, {ipb, ipn}, {sd, (size_t)sdn}};
  uint8_t d[WD_DIGEST_MAX];
  size_t dn = 0;
  int rc = wd__hmac_oneshot(k, parts, 4, d, &dn);
  if (rc)
    return issue_fail(err, errlen, rc, "HMAC computation failed%s", "");
  char token[64];
  int tn = snprintf(token, sizeof token, "HS256-%s", ipn ? "1-" : "");
  wd_b64_encode(d, 32, token + tn, 1, 0);

  /* The URL: scheme://host of the input, the path, the token, the parameters, expires. */
  size_t baselen = (size_t)(u.path.p - opts->url); /* wd_url_split always points path */
  size_t cap = baselen + u.path.n + sizeof token + 3 * (size_t)sdn + 3 * ps.n + 64;
  char *s = malloc(cap);
  if (!s)
    return issue_fail(err, errlen, WD_ENOMEM, "out of memory%s", "");
  size_t o = 0;
  memcpy(s, opts->url, baselen);
  o = baselen;
  if (!opts->bunny.path_based) {
    memcpy(s + o, u.path.p, u.path.n);
    o += u.path.n;
  }
  o += (size_t)snprintf(s + o, cap - o, "%s%s",
                        opts->bunny.path_based ? "/bcdn_token=" : "?token=", token);
  for (size_t i = 0; i < ps.n; i++) {
    long kn, vn;
    s[o++] = '&';
    kn = pct_encode(ps.p[i].k, ps.p[i].kn, s + o, cap - o);
    if (kn < 0)
      break;
    o += (size_t)kn;
    s[o++] = '=';
    vn = pct_encode(ps.p[i].v, ps.p[i].vn, s + o, cap - o);
    if (vn < 0)
      break;
    o += (size_t)vn;
  }
  o += (size_t)snprintf(s + o, cap - o, "&expires=%s", expbuf);
  if (opts->bunny.path_based && o + u.path.n + 1 <= cap) {
    memcpy(s + o, u.path.p, u.path.n);
    o += u.path.n;
  }
  s[o < cap ? o : cap - 1] = '\0';
  *out = s;
  return 0;
}

/* ---- inspect and extract ----------------------------------------------------------------- */

int wd__bunny_inspect(const char *tok, size_t len, json_t **out) {
  char buf[BN_URL_MAX + 1], scratch[BN_URL_MAX], why[96];
  if (len > BN_URL_MAX)
    return WD_EMALFORMED;
  memcpy(buf, tok, len);
  buf[len] = '\0';
  bunny_url_t b;
  memset(&b, 0, sizeof b);
  b.scratch = scratch;
  b.cap = sizeof scratch;
  uint8_t mac[32];
  int ipbound;
  int64_t expires = 0;
  json_t *o, *c;
  if (buf[0] == '/' || strstr(buf, "://")) {
    if (parse_url(buf, &b, why, sizeof why) || !b.has_token)
      return WD_EMALFORMED;
  } else {
    b.token.p = buf;
    b.token.n = len;
  }
  if (parse_token(b.token.p, b.token.n, mac, &ipbound))
    return WD_EMALFORMED;
  if (b.has_expires && parse_num(b.expires, &expires))
    return WD_EMALFORMED;
  o = json_object();
  c = json_object();
  if (!o || !c) {
    json_decref(o);
    json_decref(c);
    return WD_ENOMEM;
  }
  json_object_set_new(o, "scheme", json_string("bunny"));
  json_object_set_new(o, "token", json_stringn(b.token.p, b.token.n));
  json_object_set_new(c, "ip_bound", json_boolean(ipbound));
  if (b.has_expires)
    json_object_set_new(c, "expires", json_integer(expires));
  if (b.path.p)
    json_object_set_new(c, "path", json_stringn(b.path.p, b.path.n));
  for (size_t i = 0; i < b.params.n; i++) {
    char key[256];
    wd__copy_field(key, sizeof key, b.params.p[i].k, b.params.p[i].kn);
    json_object_set_new(c, key, json_stringn(b.params.p[i].v, b.params.p[i].vn));
  }
  json_object_set_new(o, "claims", c);
  *out = o;
  return 0;
}

int wd__bunny_extract(const wd_verify_opts_t *opts, const wd_request_t *req, char *buf, size_t cap,
                      const char **tok, size_t *len) {
  wd_url_t u;
  wd_span_t val;
  if (!req->url || wd_url_split(req->url, &u))
    return WD_ENOTOKEN;
  if (u.path.n > 12 && memcmp(u.path.p, "/bcdn_token=", 12) == 0) {
    val.p = u.path.p + 12;
    val.n = strcspn(val.p, "&/?#");
  } else if (wd_query_find(u.query, "token", &val)) {
    return WD_ENOTOKEN;
  }
  if (val.n == 0)
    return WD_ENOTOKEN;
  if (val.n > WD_TOKEN_MAX)
    return WD_ETOOBIG;
  *tok = val.p;
  *len = val.n;
  return 0;
}
