/*
 * Akamai EdgeAuth Token 2.0 (`__token__`, `hdnts`): issue, verify, inspect, extract.
 *
 * A token is `[ip=..~][st=..~]exp=..~[acl=..~][id=..~][data=..~]hmac=HEX`. The HMAC (SHA-256 by
 * default, SHA-1 or MD5, pinned per key; the key is the hex-decoded secret) covers the fields
 * as sent, then `~url=<path>` for URL tokens (the URL is signed, never sent) and `~salt=..`
 * when a salt is configured. ACL tokens carry `acl=` entries joined by `!` with `*` (any run,
 * `/` included) and `?` (one character) wildcards; they are matched against the request path,
 * percent-decoded and normalised so `..` cannot climb out of an ACL.
 *
 * escape_early (issuing): ip, id, data and the signed URL are percent-escaped, either as the
 * Node reference library does (encodeURIComponent, then `~'*` escaped, lowercase hex: the
 * default) or as the Python one (quote_plus: space becomes `+`, `~` kept). The verifier needs
 * no setting for the fields (it MACs them as received); for URL tokens the request path (and
 * path?query, for tokens issued for a URL with a query) is escaped the same way when
 * opts->akamai.escape_early is set, else it is signed as sent, then percent-decoded.
 *
 * Times: a token is valid from st (not before, minus leeway) while now < exp (plus leeway), the
 * edge's reading of "exp": at exp it has expired.
 *
 * Parsing is strict: each field at most once, an unknown field is malformed, except that text
 * after `id=` or `data=` that is not a known field continues that value (the Python library
 * leaves `~` unescaped in data). The HMAC is the last `~hmac=`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token/internal.h"
#include "util/codec.h"
#include "util/ip.h"
#include "util/url.h"

#define AK_PATH_MAX 4096  /* request path considered for ACL and URL tokens */
#define AK_DELIM_MAX 8    /* field and ACL delimiters */
#define AK_VALUE_MAX 4096 /* each value when issuing */
#define AK_NUM_DIGITS 18

enum { F_IP, F_ST, F_EXP, F_ACL, F_ID, F_DATA, F_COUNT };
static const char *const field_names[F_COUNT] = {"ip", "st", "exp", "acl", "id", "data"};

typedef struct ak_token {
  wd_span_t f[F_COUNT];
  int has[F_COUNT];
  wd_span_t signed_part; /* everything before "<delim>hmac=" */
  wd_span_t hmac;        /* hex */
  int64_t st, exp;
} ak_token_t;

static const char *field_delim(const wd_akamai_opts_t *o) {
  return o->field_delimiter && *o->field_delimiter ? o->field_delimiter : "~";
}
static const char *acl_delim(const wd_akamai_opts_t *o) {
  return o->acl_delimiter && *o->acl_delimiter ? o->acl_delimiter : "!";
}

static int parse_num(wd_span_t s, int64_t *out) {
  int64_t v = 0;
  if (s.n == 0 || s.n > AK_NUM_DIGITS)
    return -1;
  for (size_t i = 0; i < s.n; i++) {
    if (s.p[i] < '0' || s.p[i] > '9')
      return -1;
    v = v * 10 + (s.p[i] - '0');
  }
  *out = v;
  return 0;
}

/* First occurrence of needle (nn > 0 bytes) in hay, or NULL. */
static const char *find(const char *hay, size_t hn, const char *needle, size_t nn) {
  for (size_t i = 0; i + nn <= hn; i++)
    if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
      return hay + i;
  return NULL;
}

/* Last occurrence of needle (nn bytes) in hay, or NULL. */
static const char *memrmem(const char *hay, size_t hn, const char *needle, size_t nn) {
  if (nn > hn)
    return NULL;
  for (size_t i = hn - nn + 1; i-- > 0;)
    if (memcmp(hay + i, needle, nn) == 0)
      return hay + i;
  return NULL;
}

static int field_of(const char *seg, size_t n) {
  for (int i = 0; i < F_COUNT; i++) {
    size_t l = strlen(field_names[i]);
    if (n > l && memcmp(seg, field_names[i], l) == 0 && seg[l] == '=')
      return i;
  }
  return -1;
}

/* Split a token into its fields. WD_EMALFORMED with a reason in why. */
static int ak_parse(const char *tok, size_t len, const char *delim, ak_token_t *t, char *why,
                    size_t whylen) {
  size_t dl = strlen(delim);
  char marker[AK_DELIM_MAX + 8];
  memset(t, 0, sizeof *t);
  if (dl == 0 || dl > AK_DELIM_MAX) {
    snprintf(why, whylen, "field delimiter must be 1..%d bytes", AK_DELIM_MAX);
    return WD_EINVAL;
  }
  memcpy(marker, delim, dl);
  memcpy(marker + dl, "hmac=", 5);
  const char *h = memrmem(tok, len, marker, dl + 5);
  if (!h) {
    snprintf(why, whylen, "no hmac field");
    return WD_EMALFORMED;
  }
  t->signed_part.p = tok;
  t->signed_part.n = (size_t)(h - tok);
  t->hmac.p = h + dl + 5;
  t->hmac.n = len - (size_t)(t->hmac.p - tok);
  int last = -1; /* field the previous segment belonged to */
  const char *p = tok, *end = tok + t->signed_part.n;
  while (p <= end) {
    const char *d = p < end ? find(p, (size_t)(end - p), delim, dl) : NULL;
    const char *se = d ? d : end;
    size_t sn = (size_t)(se - p);
    int f = field_of(p, sn);
    if (f >= 0 && !t->has[f]) {
      t->has[f] = 1;
      t->f[f].p = p + strlen(field_names[f]) + 1;
      t->f[f].n = sn - strlen(field_names[f]) - 1;
      last = f;
    } else if (f < 0 && (last == F_ID || last == F_DATA)) {
      t->f[last].n = (size_t)(se - t->f[last].p); /* the value goes on across the delimiter */
    } else if (f >= 0) {
      snprintf(why, whylen, "field '%s' appears twice", field_names[f]);
      return WD_EMALFORMED;
    } else {
      const char *eq = memchr(p, '=', sn);
      size_t nl = eq ? (size_t)(eq - p) : sn;
      snprintf(why, whylen, "unknown field '%.*s'", (int)(nl > 24 ? 24 : nl), p);
      return WD_EMALFORMED;
    }
    if (!d)
      break;
    p = d + dl;
  }
  if (!t->has[F_EXP]) {
    snprintf(why, whylen, "no exp field");
    return WD_EMALFORMED;
  }
  if (parse_num(t->f[F_EXP], &t->exp) || t->exp <= 0) {
    snprintf(why, whylen, "exp is not a unix time");
    return WD_EMALFORMED;
  }
  if (t->has[F_ST] && (parse_num(t->f[F_ST], &t->st) || t->st <= 0)) {
    snprintf(why, whylen, "st is not a unix time");
    return WD_EMALFORMED;
  }
  return 0;
}

/* ---- escaping ---------------------------------------------------------------------------- */

/* escape_early of n bytes into out (3n+1 bytes); returns the length. */
static size_t escape_early(wd_akamai_escape_t mode, const char *s, size_t n, char *out) {
  static const char hexd[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    if (mode == WD_AKAMAI_ESCAPE_OFF)
      keep = 1;
    else if (mode == WD_AKAMAI_ESCAPE_PYTHON)
      keep = keep || c == '~'; /* quote_plus(safe='') */
    else
      keep = keep || c == '!' || c == '(' || c == ')'; /* encodeURIComponent minus ~'* */
    if (keep) {
      out[o++] = (char)c;
    } else if (c == ' ' && mode == WD_AKAMAI_ESCAPE_PYTHON) {
      out[o++] = '+';
    } else {
      out[o++] = '%';
      out[o++] = hexd[c >> 4];
      out[o++] = hexd[c & 15];
    }
  }
  out[o] = '\0';
  return o;
}

/* ---- ACL matching ------------------------------------------------------------------------ */

/* Glob match: '*' any run of bytes (including '/'), '?' exactly one byte. */
static int glob_match(const char *p, size_t pn, const char *s, size_t sn) {
  size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
  while (si < sn) {
    if (pi < pn && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < pn && (p[pi] == '?' || p[pi] == s[si])) {
      pi++;
      si++;
    } else if (star != (size_t)-1) {
      pi = star + 1;
      si = ++mark;
    } else {
      return 0;
    }
  }
  while (pi < pn && p[pi] == '*')
    pi++;
  return pi == pn;
}

/* 1 when path matches one of the delimiter-separated ACL entries. */
static int acl_allows(wd_span_t acl, const char *delim, const char *path, size_t pn) {
  size_t dl = strlen(delim);
  const char *p = acl.p, *end = acl.p + acl.n;
  while (p <= end) {
    const char *d = p < end ? find(p, (size_t)(end - p), delim, dl) : NULL;
    const char *e = d ? d : end;
    if (e > p && glob_match(p, (size_t)(e - p), path, pn))
      return 1;
    if (!d)
      break;
    p = d + dl;
  }
  return 0;
}

/* ---- verify ------------------------------------------------------------------------------ */

static size_t digest_len(wd_alg_t a) {
  switch (a) {
  case WD_ALG_HS256:
    return 32;
  case WD_ALG_HS1:
    return 20;
  case WD_ALG_HMD5:
    return 16;
  default:
    return 0;
  }
}

static int ip_equal(const char *a, size_t an, const char *b, size_t bn) {
  wd_ip_t x, y;
  if (wd_ip_parse(a, an, &x) == 0 && wd_ip_parse(b, bn, &y) == 0)
    return x.family == y.family && memcmp(x.a, y.a, x.family == 4 ? 4 : 16) == 0;
  return an == bn && memcmp(a, b, an) == 0;
}

static json_t *claims_json(const ak_token_t *t) {
  json_t *c = json_object();
  if (!c)
    return NULL;
  for (int i = 0; i < F_COUNT; i++) {
    if (!t->has[i])
      continue;
    if (i == F_ST)
      json_object_set_new(c, "st", json_integer(t->st));
    else if (i == F_EXP)
      json_object_set_new(c, "exp", json_integer(t->exp));
    else
      json_object_set_new(c, field_names[i], json_stringn(t->f[i].p, t->f[i].n));
  }
  json_object_set_new(c, "type", json_string(t->has[F_ACL] ? "acl" : "url"));
  return c;
}

int wd__akamai_verify(wd_verifier_t *v, const wd_verify_opts_t *opts, const char *tok, size_t len,
                      const wd_request_t *req, wd_result_t *r) {
  const wd_akamai_opts_t *o = &opts->akamai;
  char buf[WD_TOKEN_MAX + 1], why[96];
  int rc;
  if (!tok) {
    rc = req ? wd__akamai_extract(opts, req, buf, sizeof buf, &tok, &len) : WD_ENOTOKEN;
    if (rc == WD_ETOOBIG)
      return wd_result_fail(r, rc, NULL, "token in the request exceeds %d bytes", WD_TOKEN_MAX);
    if (rc == WD_EMALFORMED)
      return wd_result_fail(r, rc, NULL, "token in the request does not percent-decode");
    if (rc)
      return wd_result_fail(r, WD_ENOTOKEN, NULL, "no %s token in query, cookie or header",
                            o->name ? o->name : "__token__/hdnts");
  }
  if (len > WD_TOKEN_MAX)
    return wd_result_fail(r, WD_ETOOBIG, NULL, "token exceeds %d bytes", WD_TOKEN_MAX);
  const char *fd = field_delim(o);
  ak_token_t t;
  rc = ak_parse(tok, len, fd, &t, why, sizeof why);
  if (rc)
    return wd_result_fail(r, rc, NULL, "%s", why);

  /* Identity as soon as the fields are known (also logged on failure). */
  if (t.has[F_ID])
    wd__copy_field(r->id.token_id, sizeof r->id.token_id, t.f[F_ID].p, t.f[F_ID].n);
  else
    wd__identity_hash_id(v, &r->id, tok, len);
  r->id.iat = t.st;
  r->id.exp = t.exp;
  char ipbuf[64];
  long ipn = 0;
  if (t.has[F_IP]) {
    ipn = t.f[F_IP].n < sizeof ipbuf
              ? wd_pct_decode(t.f[F_IP].p, t.f[F_IP].n, ipbuf, sizeof ipbuf, 0)
              : -1;
    if (ipn <= 0)
      return wd_result_fail(r, WD_EMALFORMED, NULL, "ip field is not an address");
    wd__copy_field(r->id.ip, sizeof r->id.ip, ipbuf, (size_t)ipn);
  }

  uint8_t mac[WD_DIGEST_MAX];
  size_t maclen = 0;
  if (t.hmac.n == 0 || t.hmac.n > 2 * WD_DIGEST_MAX ||
      wd_hex_decode(t.hmac.p, t.hmac.n, mac, sizeof mac, &maclen))
    return wd_result_fail(r, WD_EMALFORMED, NULL, "hmac is not hex");
  if (maclen != 32 && maclen != 20 && maclen != 16)
    return wd_result_fail(r, WD_EMALFORMED, NULL,
                          "hmac of %zu bytes is no SHA-256, SHA-1 or MD5 MAC", maclen);

  /* URL tokens sign the request path (or path?query); ACL tokens are matched against it. */
  wd_url_t u;
  int have_path = req && req->url && wd_url_split(req->url, &u) == 0;
  char decoded[2][AK_PATH_MAX], escaped[2][3 * AK_PATH_MAX + 1];
  wd_span_t urls[4];
  size_t nurls = 0;
  if (!t.has[F_ACL]) {
    if (!have_path)
      return wd_result_fail(r, WD_ECLAIM, "url", "URL token but the request has no URL");
    if (u.path.n >= AK_PATH_MAX)
      return wd_result_fail(r, WD_ETOOBIG, "url", "request path exceeds %d bytes", AK_PATH_MAX);
    wd_span_t forms[2] = {u.path, {u.path.p, u.path.n + 1 + u.query.n}};
    size_t nforms = u.query.n && forms[1].n < AK_PATH_MAX ? 2 : 1;
    for (size_t i = 0; i < nforms; i++) {
      long dn = wd_pct_decode(forms[i].p, forms[i].n, decoded[i], AK_PATH_MAX, 0);
      if (o->escape_early && o->escape != WD_AKAMAI_ESCAPE_OFF) {
        if (dn < 0)
          continue;
        urls[nurls].n = escape_early(o->escape, decoded[i], (size_t)dn, escaped[i]);
        urls[nurls++].p = escaped[i];
      } else {
        urls[nurls++] = forms[i];
        if (dn >= 0 && ((size_t)dn != forms[i].n || memcmp(decoded[i], forms[i].p, forms[i].n))) {
          urls[nurls].p = decoded[i];
          urls[nurls++].n = (size_t)dn;
        }
      }
    }
    if (!nurls)
      return wd_result_fail(r, WD_ESIGNATURE, "url", "request path does not percent-decode");
  }

  const char *salt = o->salt;
  unsigned cursor = 0;
  const wd_key_t *k;
  int nkeys = 0, nfit = 0, ok = 0;
  while (!ok && (k = wd_keyring_next(v->ring, WD_SCHEME_AKAMAI, NULL, 0, &cursor)) != NULL) {
    nkeys++;
    if (digest_len(k->alg) != maclen)
      continue; /* the algorithm is pinned per key */
    nfit++;
    for (size_t i = 0; i < (nurls ? nurls : 1) && !ok; i++) {
      wd_iov_t parts[7] = {{t.signed_part.p, t.signed_part.n}};
      size_t np = 1;
      if (nurls) {
        parts[np++] = (wd_iov_t){fd, strlen(fd)};
        parts[np++] = (wd_iov_t){"url=", 4};
        parts[np++] = (wd_iov_t){urls[i].p, urls[i].n};
      }
      if (salt && *salt) {
        parts[np++] = (wd_iov_t){fd, strlen(fd)};
        parts[np++] = (wd_iov_t){"salt=", 5};
        parts[np++] = (wd_iov_t){salt, strlen(salt)};
      }
      uint8_t d[WD_DIGEST_MAX];
      size_t dn = 0;
      rc = wd__hmac(v, k, parts, np, d, &dn);
      if (rc)
        return wd_result_fail(r, rc, NULL, "HMAC computation failed");
      ok = dn == maclen && wd_ct_equal(d, mac, maclen);
    }
  }
  if (!nkeys)
    return wd_result_fail(r, WD_ENOKEY, NULL, "no akamai key configured");
  if (!nfit)
    return wd_result_fail(r, WD_EALG, NULL,
                          "hmac length %zu fits no configured akamai key's algorithm", maclen);
  if (!ok)
    return wd_result_fail(r, WD_ESIGNATURE, NULL, "hmac mismatch");

  int64_t now = wd__now(req);
  if (t.has[F_ST] && now + opts->leeway < t.st)
    return wd_result_fail(r, WD_ENOTYET, "st", "token not valid before %lld (now %lld)",
                          (long long)t.st, (long long)now);
  if (now >= t.exp + opts->leeway)
    return wd_result_fail(r, WD_EEXPIRED, "exp", "token expired at %lld (now %lld)",
                          (long long)t.exp, (long long)now);
  if (t.has[F_ACL]) {
    if (!have_path)
      return wd_result_fail(r, WD_ECLAIM, "acl", "ACL token but the request has no URL");
    long pn = wd__path_normalize(u.path.p, u.path.n, decoded[0], AK_PATH_MAX);
    if (pn < 0)
      return wd_result_fail(r, WD_ECLAIM, "acl", "request path does not decode to a valid path");
    if (!acl_allows(t.f[F_ACL], acl_delim(o), decoded[0], (size_t)pn))
      return wd_result_fail(r, WD_ECLAIM, "acl", "request path is outside the token's ACL");
  }
  if (t.has[F_IP]) {
    if (!req || !req->ip)
      return wd_result_fail(r, WD_ECLAIM, "ip", "token is bound to an address, request has none");
    if (!ip_equal(ipbuf, (size_t)ipn, req->ip, strlen(req->ip)))
      return wd_result_fail(r, WD_ECLAIM, "ip", "client address differs from the token's ip");
  }
  if (opts->want_claims)
    r->claims = claims_json(&t);
  return 0;
}

/* ---- issue ------------------------------------------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
  int oom;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void sb_field(sbuf_t *b, const char *delim, const char *name, const char *val, size_t vn) {
  if (b->n)
    sb_put(b, delim, strlen(delim));
  sb_put(b, name, strlen(name));
  sb_put(b, "=", 1);
  sb_put(b, val, vn);
}

/* Escape (when escape_early) into a malloc'd string; NULL on failure. */
static char *esc_dup(const wd_akamai_opts_t *o, const char *s, size_t *outn) {
  size_t n = strlen(s);
  char *out = malloc(3 * n + 1);
  if (!out)
    return NULL;
  *outn = escape_early(o->escape_early ? o->escape : WD_AKAMAI_ESCAPE_OFF, s, n, out);
  return out;
}

__attribute__((format(printf, 4, 5))) static int issue_fail(char *err, size_t errlen, int code,
                                                            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen)
    vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return code;
}

static int claim_string(const json_t *claims, const char *name, const char **out, char *err,
                        size_t errlen) {
  json_t *j = json_object_get(claims, name);
  if (!j)
    return 0;
  if (!json_is_string(j) || json_string_length(j) == 0 || json_string_length(j) > AK_VALUE_MAX ||
      strlen(json_string_value(j)) != json_string_length(j))
    return issue_fail(err, errlen, WD_EINVAL, "akamai claim '%s' must be a non-empty string", name);
  *out = json_string_value(j);
  return 0;
}

int wd__akamai_issue(const wd_keyring_t *ring, const json_t *claims, const wd_issue_opts_t *opts,
                     char **out, char *err, size_t errlen) {
  static const char *const known[] = {"st", "exp", "acl", "url", "ip", "id", "data", "salt"};
  const wd_akamai_opts_t *o = &opts->akamai;
  const char *fd = field_delim(o), *ad = acl_delim(o);
  if (strlen(fd) > AK_DELIM_MAX || strlen(ad) > AK_DELIM_MAX)
    return issue_fail(err, errlen, WD_EINVAL, "akamai delimiters are at most %s bytes", "8");
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
          "unknown akamai claim '%.40s' (expected st, exp, acl, url, ip, id, data, salt)", key);
  }
  const wd_key_t *k = wd_keyring_signer(ring, WD_SCHEME_AKAMAI, opts->kid, NULL);
  if (!k)
    return issue_fail(err, errlen, WD_ENOKEY, "no akamai key to sign with%s", "");
  if (!digest_len(k->alg) || !k->secret)
    return issue_fail(err, errlen, WD_EALG, "akamai keys are sha256, sha1 or md5 secrets%s", "");

  int64_t now = opts->now ? opts->now : wd__now(NULL), st = 0, exp = 0;
  json_t *j = claims ? json_object_get(claims, "st") : NULL;
  if (j && json_is_string(j) && !strcmp(json_string_value(j), "now"))
    st = now;
  else if (j && (!json_is_integer(j) || json_integer_value(j) <= 0))
    return issue_fail(err, errlen, WD_EINVAL, "st must be a positive unix time or \"now\"%s", "");
  else if (j)
    st = json_integer_value(j);
  j = claims ? json_object_get(claims, "exp") : NULL;
  if (j && (!json_is_integer(j) || json_integer_value(j) <= 0))
    return issue_fail(err, errlen, WD_EINVAL, "exp must be a positive unix time%s", "");
  if (j)
    exp = json_integer_value(j);
  else if (opts->ttl > 0)
    exp = (st ? st : now) + opts->ttl;
  else
    return issue_fail(err, errlen, WD_EINVAL, "an akamai token needs exp or a ttl%s", "");
  if (st && exp < st)
    return issue_fail(err, errlen, WD_EINVAL, "exp is before st: the token would never be valid%s",
                      "");

  const char *ip = opts->ip, *id = NULL, *data = NULL, *salt = o->salt, *url = NULL;
  int rc = 0;
  if (claims && ((rc = claim_string(claims, "ip", &ip, err, errlen)) ||
                 (rc = claim_string(claims, "id", &id, err, errlen)) ||
                 (rc = claim_string(claims, "data", &data, err, errlen)) ||
                 (rc = claim_string(claims, "salt", &salt, err, errlen)) ||
                 (rc = claim_string(claims, "url", &url, err, errlen))))
    return rc;

  /* The ACL: a string or an array of strings joined by the ACL delimiter. */
  sbuf_t acl = {0}, b = {0}, hs = {0};
  char *ipe = NULL, *ide = NULL, *datae = NULL, *urle = NULL;
  size_t ipn = 0, idn = 0, datan = 0, urln = 0;
  j = claims ? json_object_get(claims, "acl") : NULL;
  if (j && json_is_string(j) && json_string_length(j) > 0) {
    sb_put(&acl, json_string_value(j), json_string_length(j));
  } else if (j && json_is_array(j) && json_array_size(j) > 0) {
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e) {
      if (!json_is_string(e) || json_string_length(e) == 0 || strstr(json_string_value(e), ad)) {
        rc = issue_fail(err, errlen, WD_EINVAL,
                        "acl entries must be non-empty strings without '%s'", ad);
        goto out;
      }
      if (i)
        sb_put(&acl, ad, strlen(ad));
      sb_put(&acl, json_string_value(e), json_string_length(e));
    }
  } else if (j) {
    rc = issue_fail(err, errlen, WD_EINVAL, "acl must be a path or an array of paths%s", "");
    goto out;
  }
  if (acl.n && url) {
    rc = issue_fail(err, errlen, WD_EINVAL, "give either acl or url, not both%s", "");
    goto out;
  }
  char pathbuf[AK_PATH_MAX];
  if (!acl.n && !url && opts->url) {
    wd_url_t u;
    if (wd_url_split(opts->url, &u) || u.path.n == 0 || u.path.n >= sizeof pathbuf) {
      rc = issue_fail(err, errlen, WD_EINVAL, "--url is not a URL with a path%s", "");
      goto out;
    }
    memcpy(pathbuf, u.path.p, u.path.n);
    pathbuf[u.path.n] = '\0';
    url = pathbuf;
  }
  if (!acl.n && !url) {
    rc = issue_fail(err, errlen, WD_EINVAL, "an akamai token needs an acl or a url%s", "");
    goto out;
  }
  if (acl.n > AK_VALUE_MAX || acl.oom || find(acl.p, acl.n, fd, strlen(fd))) {
    rc =
        issue_fail(err, errlen, WD_EINVAL, "acl is too long or holds the field delimiter '%s'", fd);
    goto out;
  }
  if ((ip && !(ipe = esc_dup(o, ip, &ipn))) || (id && !(ide = esc_dup(o, id, &idn))) ||
      (data && !(datae = esc_dup(o, data, &datan))) || (url && !(urle = esc_dup(o, url, &urln)))) {
    rc = issue_fail(err, errlen, WD_ENOMEM, "out of memory%s", "");
    goto out;
  }

  char num[24];
  if (ip)
    sb_field(&b, fd, "ip", ipe, ipn);
  if (st) {
    snprintf(num, sizeof num, "%lld", (long long)st);
    sb_field(&b, fd, "st", num, strlen(num));
  }
  snprintf(num, sizeof num, "%lld", (long long)exp);
  sb_field(&b, fd, "exp", num, strlen(num));
  if (acl.n)
    sb_field(&b, fd, "acl", acl.p, acl.n);
  if (id)
    sb_field(&b, fd, "id", ide, idn);
  if (data)
    sb_field(&b, fd, "data", datae, datan);
  sb_put(&hs, b.p, b.n);
  if (url)
    sb_field(&hs, fd, "url", urle, urln);
  if (salt && *salt)
    sb_field(&hs, fd, "salt", salt, strlen(salt));
  if (b.oom || hs.oom) {
    rc = issue_fail(err, errlen, WD_ENOMEM, "out of memory%s", "");
    goto out;
  }
  uint8_t d[WD_DIGEST_MAX];
  char hex[2 * WD_DIGEST_MAX + 1];
  size_t dn = 0;
  wd_iov_t part = {hs.p, hs.n};
  rc = wd__hmac_oneshot(k, &part, 1, d, &dn);
  if (rc) {
    issue_fail(err, errlen, rc, "HMAC computation failed%s", "");
    goto out;
  }
  wd_hex_encode(d, dn, hex);
  sb_field(&b, fd, "hmac", hex, strlen(hex));
  if (b.oom || b.n > WD_TOKEN_MAX) {
    rc = issue_fail(err, errlen, b.oom ? WD_ENOMEM : WD_ERANGE, "token too long%s", "");
    goto out;
  }
  /* The token must read back as the fields written: values holding the field delimiter
   * (without escape_early) would be split differently by a verifier. */
  ak_token_t t;
  char why[96];
  if (ak_parse(b.p, b.n, fd, &t, why, sizeof why) || t.has[F_IP] != (ip != NULL) ||
      (ip && t.f[F_IP].n != ipn) || (acl.n && t.f[F_ACL].n != acl.n) ||
      t.has[F_ID] != (id != NULL) || (id && t.f[F_ID].n != idn) ||
      t.has[F_DATA] != (data != NULL) || (data && t.f[F_DATA].n != datan)) {
    rc = issue_fail(
        err, errlen, WD_EINVAL,
        "a value holds the field delimiter '%s' followed by a field name: use escape_early", fd);
    goto out;
  }
  *out = b.p;
  b.p = NULL;
out:
  free(acl.p);
  free(b.p);
  free(hs.p);
  free(ipe);
  free(ide);
  free(datae);
  free(urle);
  return rc;
}

/* ---- inspect and extract ----------------------------------------------------------------- */

/* The value after "__token__=" or "hdnts=" when s starts with one, else s. */
static void strip_name(const char **s, size_t *n) {
  static const char *const names[] = {"__token__=", "hdnts="};
  for (size_t i = 0; i < 2; i++) {
    size_t l = strlen(names[i]);
    if (*n > l && memcmp(*s, names[i], l) == 0) {
      *s += l;
      *n -= l;
      return;
    }
  }
}

int wd__akamai_inspect(const char *tok, size_t len, json_t **out) {
  char buf[WD_TOKEN_MAX + 1], why[96];
  if (len > WD_TOKEN_MAX)
    return WD_EMALFORMED;
  memcpy(buf, tok, len);
  buf[len] = '\0';
  const char *s = buf;
  size_t n = len;
  wd_url_t u;
  wd_span_t val;
  if ((buf[0] == '/' || strstr(buf, "://")) && wd_url_split(buf, &u) == 0) {
    if (wd_query_find(u.query, "__token__", &val) && wd_query_find(u.query, "hdnts", &val))
      return WD_EMALFORMED;
    s = val.p;
    n = val.n;
  } else {
    strip_name(&s, &n);
  }
  if (!find(s, n, "hmac=", 5)) { /* maybe percent-encoded (a cookie) */
    long dn = wd_pct_decode(s, n, buf, sizeof buf, 0);
    if (dn < 0)
      return WD_EMALFORMED;
    s = buf;
    n = (size_t)dn;
  }
  ak_token_t t;
  uint8_t mac[WD_DIGEST_MAX];
  size_t maclen = 0;
  if (ak_parse(s, n, "~", &t, why, sizeof why) ||
      wd_hex_decode(t.hmac.p, t.hmac.n, mac, sizeof mac, &maclen) ||
      (maclen != 32 && maclen != 20 && maclen != 16))
    return WD_EMALFORMED;
  json_t *o = json_object(), *c = claims_json(&t);
  if (!o || !c) {
    json_decref(o);
    json_decref(c);
    return WD_ENOMEM;
  }
  json_object_set_new(o, "scheme", json_string("akamai"));
  json_object_set_new(o, "claims", c);
  json_object_set_new(o, "hmac", json_stringn(t.hmac.p, t.hmac.n));
  json_object_set_new(o, "algorithm",
                      json_string(maclen == 32   ? "sha256"
                                  : maclen == 20 ? "sha1"
                                                 : "md5"));
  *out = o;
  return 0;
}

int wd__akamai_extract(const wd_verify_opts_t *opts, const wd_request_t *req, char *buf, size_t cap,
                       const char **tok, size_t *len) {
  const char *names[2] = {opts->akamai.name, NULL};
  if (!names[0]) {
    names[0] = "__token__";
    names[1] = "hdnts";
  }
  for (size_t i = 0; i < 2 && names[i]; i++) {
    wd_span_t val;
    if (wd_request_find_token(req, names[i], names[i], names[i], &val))
      continue;
    const char *s = val.p;
    size_t n = val.n;
    strip_name(&s, &n); /* a header may repeat the name */
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
      n--;
    if (n > WD_TOKEN_MAX)
      return WD_ETOOBIG;
    if (!find(s, n, "hmac=", 5) && memchr(s, '%', n)) {
      /* A percent-encoded value (cookies often are): decode it into buf. */
      long dn = buf && cap ? wd_pct_decode(s, n, buf, cap, 0) : -1;
      if (dn < 0)
        return WD_EMALFORMED;
      s = buf;
      n = (size_t)dn;
    }
    if (n == 0)
      continue;
    *tok = s;
    *len = n;
    return 0;
  }
  return WD_ENOTOKEN;
}
