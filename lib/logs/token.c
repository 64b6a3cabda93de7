/*
 * The token in a log record (wd_log_find_token): the parameter and cookie names each scheme's
 * extraction uses (lib/token/<scheme>.c, docs/tokens.md), looked up with the request helpers of
 * lib/util/url.h and percent-decoded once. What comes back is the token's identity for
 * grouping requests: the token text, or the part of a URL token that identifies it (a
 * CloudFront signature, a secure link's hash).
 *
 * Cost: most lines carry zero or one token parameter among a few, so before any lookup one pass
 * over the query notes the first letter of every parameter name; names whose first letter is
 * absent are never looked up.
 */
#include <string.h>

#include "logs/internal.h"
#include "util/url.h"

typedef enum rule {
  R_PLAIN,      /* the value, scheme as given */
  R_CLOUDFRONT, /* only next to Key-Pair-Id and Policy or Expires */
  R_CDN77,      /* "hash,expires": the hash */
  R_TOKEN,      /* jwt when JWT-shaped, bunny next to `expires`, unknown otherwise */
} rule_t;

typedef struct name {
  const char *name;
  wd_scheme_t scheme;
  rule_t rule;
} name_t;

static const name_t query_names[] = {
    {"cat", WD_SCHEME_CAT, R_PLAIN},
    {"CAT", WD_SCHEME_CAT, R_PLAIN},
    {"__token__", WD_SCHEME_AKAMAI, R_PLAIN},
    {"hdnts", WD_SCHEME_AKAMAI, R_PLAIN},
    {"Signature", WD_SCHEME_CLOUDFRONT, R_CLOUDFRONT},
    {"md5", WD_SCHEME_SECURELINK, R_PLAIN},
    {"secure", WD_SCHEME_SECURELINK, R_CDN77},
    {"token", WD_SCHEME_JWT, R_TOKEN},
    {"jwt", WD_SCHEME_JWT, R_PLAIN},
    {"access_token", WD_SCHEME_JWT, R_PLAIN},
};

static const name_t cookie_names[] = {
    {"CTA-Common-Access-Token", WD_SCHEME_CAT, R_PLAIN},
    {"Common-Access-Token", WD_SCHEME_CAT, R_PLAIN},
    {"cta-common-access-token", WD_SCHEME_CAT, R_PLAIN},
    {"common-access-token", WD_SCHEME_CAT, R_PLAIN},
    {"__token__", WD_SCHEME_AKAMAI, R_PLAIN},
    {"hdnts", WD_SCHEME_AKAMAI, R_PLAIN},
    {"CloudFront-Signature", WD_SCHEME_CLOUDFRONT, R_CLOUDFRONT},
    {"token", WD_SCHEME_JWT, R_TOKEN},
};

/* A JWS compact token: three dot-separated parts, the first two not empty, the first starting
 * with 'e' (base64url of a JSON object's '{'). */
static int jwt_shaped(const char *v, size_t n) {
  const char *d1 = n ? memchr(v, '.', n) : NULL;
  if (!d1 || d1 == v || v[0] != 'e')
    return 0;
  const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - v));
  if (!d2 || d2 == d1 + 1)
    return 0;
  return memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - v)) == NULL;
}

/* Scheme of a decoded value found under a name no scheme claims (--token-param). */
static wd_scheme_t guess(const char *v) {
  size_t n = strlen(v);
  if (jwt_shaped(v, n))
    return WD_SCHEME_JWT;
  if (strncmp(v, "HS256-", 6) == 0)
    return WD_SCHEME_BUNNY;
  if (strstr(v, "hmac="))
    return WD_SCHEME_AKAMAI;
  return WD_SCHEME_NONE;
}

/* v percent-decoded into out (NUL-terminated); the decoded text must hold no NUL. */
static int deliver(wd_span_t v, char *out, size_t cap) {
  const char *pct = memchr(v.p, '%', v.n), *end = v.p + v.n;
  if (!pct) { /* nothing to decode: the common case */
    if (v.n >= cap)
      return WD_ETOOBIG;
    memcpy(out, v.p, v.n);
    out[v.n] = '\0';
    return 0;
  }
  size_t escapes = 0;
  while (pct) {
    escapes++;
    pct = memchr(pct + 1, '%', (size_t)(end - pct - 1));
  }
  if (escapes * 3 > v.n)
    return WD_EMALFORMED;
  if (v.n - 2 * escapes >= cap)
    return WD_ETOOBIG;
  long n = wd_pct_decode(v.p, v.n, out, cap, 0);
  if (n <= 0 || memchr(out, '\0', (size_t)n))
    return WD_EMALFORMED;
  out[n] = '\0';
  return 0;
}

/* First letters of the query's parameter names, as a 256-bit set. */
static void first_letters(wd_span_t q, uint64_t set[4]) {
  const char *p = q.p, *end = q.p + q.n;
  set[0] = set[1] = set[2] = set[3] = 0;
  while (p < end) {
    unsigned char c = (unsigned char)*p;
    set[c >> 6] |= 1ULL << (c & 63);
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if (!amp)
      break;
    p = amp + 1;
  }
}

static int has(wd_span_t q, const char *name) {
  wd_span_t v;
  return wd_query_find(q, name, &v) == 0;
}

/* A value found under `nm`: the rule decides whether it counts and what its identity is.
 * Returns 1 when it does not count (the lookup goes on), else the delivery's code. */
static int take(const name_t *nm, wd_span_t v, wd_span_t q, int cookie, const char *cookies,
                char *out, size_t cap, wd_scheme_t *scheme) {
  wd_scheme_t s = nm->scheme;
  wd_span_t x;
  if (v.n == 0)
    return 1;
  switch (nm->rule) {
  case R_PLAIN:
    break;
  case R_CLOUDFRONT:
    if (cookie ? wd_cookie_find(cookies, "CloudFront-Key-Pair-Id", &x) != 0
               : !has(q, "Key-Pair-Id") || (!has(q, "Policy") && !has(q, "Expires")))
      return 1;
    break;
  case R_CDN77: {
    const char *comma = memchr(v.p, ',', v.n);
    if (!comma || comma == v.p)
      return 1;
    v.n = (size_t)(comma - v.p);
    break;
  }
  case R_TOKEN:
    if (!jwt_shaped(v.p, v.n))
      s = !cookie && has(q, "expires") ? WD_SCHEME_BUNNY : WD_SCHEME_NONE;
    break;
  }
  int rc = deliver(v, out, cap);
  if (rc == 0 && scheme)
    *scheme = s;
  return rc;
}

int wd_log_find_token(const wd_log_record_t *r, const char *param, char *out, size_t cap,
                      wd_scheme_t *scheme) {
  if (!r || !out || cap == 0 || !r->query || !r->cookie || !r->path || !r->token_id || !r->scheme)
    return WD_EINVAL;
  if (r->token_id[0]) { /* a Warden decision: the identity is logged, the token never */
    size_t n = strlen(r->token_id);
    if (n >= cap)
      return WD_ETOOBIG;
    memcpy(out, r->token_id, n + 1);
    if (scheme && wd_scheme_parse(r->scheme, scheme) != 0)
      *scheme = WD_SCHEME_NONE;
    return 0;
  }
  wd_span_t q = {r->query, strlen(r->query)}, v;
  int rc;

  if (param && *param) {
    if ((wd_query_find(q, param, &v) != 0 || v.n == 0) &&
        (!r->cookie[0] || wd_cookie_find(r->cookie, param, &v) != 0 || v.n == 0))
      return WD_ENOTOKEN;
    for (size_t i = 0; i < sizeof query_names / sizeof *query_names; i++)
      if (strcmp(param, query_names[i].name) == 0) {
        rc = take(&query_names[i], v, q, 0, NULL, out, cap, scheme);
        if (rc != 1)
          return rc;
      }
    rc = deliver(v, out, cap);
    if (rc == 0 && scheme)
      *scheme = guess(out);
    return rc;
  }

  if (q.n) {
    uint64_t set[4];
    first_letters(q, set);
    for (size_t i = 0; i < sizeof query_names / sizeof *query_names; i++) {
      unsigned char c = (unsigned char)query_names[i].name[0];
      if (!(set[c >> 6] >> (c & 63) & 1) || wd_query_find(q, query_names[i].name, &v) != 0)
        continue;
      rc = take(&query_names[i], v, q, 0, NULL, out, cap, scheme);
      if (rc != 1)
        return rc;
    }
  }
  if (strncmp(r->path, "/bcdn_token=", 12) == 0) { /* Bunny's path-based form */
    v.p = r->path + 12;
    v.n = strcspn(v.p, "&/?#");
    if (v.n) {
      rc = deliver(v, out, cap);
      if (rc == 0 && scheme)
        *scheme = WD_SCHEME_BUNNY;
      return rc;
    }
  }
  if (r->cookie[0]) {
    for (size_t i = 0; i < sizeof cookie_names / sizeof *cookie_names; i++) {
      if (wd_cookie_find(r->cookie, cookie_names[i].name, &v) != 0)
        continue;
      rc = take(&cookie_names[i], v, q, 1, r->cookie, out, cap, scheme);
      if (rc != 1)
        return rc;
    }
  }
  return WD_ENOTOKEN;
}
