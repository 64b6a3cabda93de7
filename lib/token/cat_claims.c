/*
 * CAT claim validation (CTA-5007 claims table, docs/tokens.md): one pass records where each
 * claim's value sits in the payload, a second checks each claim against the request, reading
 * values straight from the payload bytes with the CBOR cursor. Nothing is allocated on the way
 * (a regex claim compiles its pattern, the only exception); request components (URL parts, client
 * address) are derived once, when a claim first needs them.
 *
 * Decisions where implementations differ:
 * - exp: rejected when now > exp + leeway (a token is still valid during its exp second), as
 *   node-cat, zig-common-access-token and the CTA-5007 summary do (JWT's RFC 7519 reading, reject
 *   at now >= exp, is the minority for CAT); nbf: rejected when now + leeway < nbf.
 * - aud / iss: when audiences / issuers are configured, a token without the claim is rejected.
 * - URI: stem/extension split at the last dot (first with stem_first_dot), the extension keeps
 *   its dot (".m3u8"); port is "" for the scheme's default port unless port_explicit; the query
 *   is matched with the token's own parameter removed, other parameters kept in their order.
 * - Missing request information (no URL for catu, no client address for catnip...) fails the
 *   claim, with a reason naming what was missing.
 * - Composite claims (or / nor / and) hold arrays of claim sets; a set passes when all its
 *   claims pass. Structural problems inside a set (malformed or unknown claims, missing request
 *   information) fail the composite whatever its kind, so `nor` cannot be satisfied by a claim
 *   that could not be evaluated.
 * - crit: every listed claim must be present and enforced by Warden; the informational claims
 *   (cnf, catpor, catgeoalt, cattpk, catdpop) cannot be critical.
 */
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "token/cat_internal.h"
#include "util/codec.h"
#include "util/ip.h"

/* Compact claim indices. */
enum {
  CI_ISS, CI_SUB, CI_AUD, CI_EXP, CI_NBF, CI_IAT, CI_CTI, CI_CNF, CI_OR, CI_NOR, CI_AND, CI_CRIT,
  CI_GEOHASH, CI_REPLAY, CI_POR, CI_V, CI_NIP, CI_U, CI_M, CI_ALPN, CI_H, CI_GEOISO, CI_GEOCOORD,
  CI_GEOALT, CI_TPK, CI_IFDATA, CI_DPOP, CI_IF, CI_R, CI_OR_D, CI_NOR_D, CI_AND_D, CI_COUNT
};

static const struct {
  int64_t label;
  const char *name;
  int enforced; /* Warden checks it (or it only carries data): may be listed in crit */
} claims[CI_COUNT] = {
    [CI_ISS] = {WD_CAT_ISS, "iss", 1},
    [CI_SUB] = {WD_CAT_SUB, "sub", 1},
    [CI_AUD] = {WD_CAT_AUD, "aud", 1},
    [CI_EXP] = {WD_CAT_EXP, "exp", 1},
    [CI_NBF] = {WD_CAT_NBF, "nbf", 1},
    [CI_IAT] = {WD_CAT_IAT, "iat", 1},
    [CI_CTI] = {WD_CAT_CTI, "cti", 1},
    [CI_CNF] = {WD_CAT_CNF, "cnf", 0},
    [CI_OR] = {WD_CAT_OR, "or", 1},
    [CI_NOR] = {WD_CAT_NOR, "nor", 1},
    [CI_AND] = {WD_CAT_AND, "and", 1},
    [CI_CRIT] = {WD_CAT_CRIT, "crit", 1},
    [CI_GEOHASH] = {WD_CAT_GEOHASH, "geohash", 1},
    [CI_REPLAY] = {WD_CAT_REPLAY, "catreplay", 1},
    [CI_POR] = {WD_CAT_POR, "catpor", 0},
    [CI_V] = {WD_CAT_V, "catv", 1},
    [CI_NIP] = {WD_CAT_NIP, "catnip", 1},
    [CI_U] = {WD_CAT_U, "catu", 1},
    [CI_M] = {WD_CAT_M, "catm", 1},
    [CI_ALPN] = {WD_CAT_ALPN, "catalpn", 1},
    [CI_H] = {WD_CAT_H, "cath", 1},
    [CI_GEOISO] = {WD_CAT_GEOISO3166, "catgeoiso3166", 1},
    [CI_GEOCOORD] = {WD_CAT_GEOCOORD, "catgeocoord", 1},
    [CI_GEOALT] = {WD_CAT_GEOALT, "catgeoalt", 0},
    [CI_TPK] = {WD_CAT_TPK, "cattpk", 0},
    [CI_IFDATA] = {WD_CAT_IFDATA, "catifdata", 1},
    [CI_DPOP] = {WD_CAT_DPOP, "catdpop", 0},
    [CI_IF] = {WD_CAT_IF, "catif", 1},
    [CI_R] = {WD_CAT_R, "catr", 1},
    [CI_OR_D] = {WD_CAT_OR_DRAFT, "or", 1},
    [CI_NOR_D] = {WD_CAT_NOR_DRAFT, "nor", 1},
    [CI_AND_D] = {WD_CAT_AND_DRAFT, "and", 1},
};

static int claim_index(const wd_verify_opts_t *opts, int64_t label) {
  switch (label) {
  case WD_CAT_ISS: return CI_ISS;
  case WD_CAT_SUB: return CI_SUB;
  case WD_CAT_AUD: return CI_AUD;
  case WD_CAT_EXP: return CI_EXP;
  case WD_CAT_NBF: return CI_NBF;
  case WD_CAT_IAT: return CI_IAT;
  case WD_CAT_CTI: return CI_CTI;
  case WD_CAT_CNF: return CI_CNF;
  case WD_CAT_CRIT: return CI_CRIT;
  case WD_CAT_GEOHASH: return CI_GEOHASH;
  case WD_CAT_REPLAY: return CI_REPLAY;
  case WD_CAT_POR: return CI_POR;
  case WD_CAT_V: return CI_V;
  case WD_CAT_NIP: return CI_NIP;
  case WD_CAT_U: return CI_U;
  case WD_CAT_M: return CI_M;
  case WD_CAT_ALPN: return CI_ALPN;
  case WD_CAT_H: return CI_H;
  case WD_CAT_GEOISO3166: return CI_GEOISO;
  case WD_CAT_GEOCOORD: return CI_GEOCOORD;
  case WD_CAT_GEOALT: return CI_GEOALT;
  case WD_CAT_TPK: return CI_TPK;
  case WD_CAT_IFDATA: return CI_IFDATA;
  case WD_CAT_DPOP: return CI_DPOP;
  case WD_CAT_IF: return CI_IF;
  case WD_CAT_R: return CI_R;
  case WD_CAT_OR:
  case WD_CAT_NOR:
  case WD_CAT_AND:
    if (opts->cat.labels == WD_CAT_LABELS_DRAFT)
      return -1;
    return label == WD_CAT_OR ? CI_OR : label == WD_CAT_NOR ? CI_NOR : CI_AND;
  case WD_CAT_OR_DRAFT:
  case WD_CAT_NOR_DRAFT:
  case WD_CAT_AND_DRAFT:
    if (opts->cat.labels == WD_CAT_LABELS_AKAMAI)
      return -1;
    return label == WD_CAT_OR_DRAFT ? CI_OR_D : label == WD_CAT_NOR_DRAFT ? CI_NOR_D : CI_AND_D;
  default:
    return -1;
  }
}

/* ---- failures ---- */

/* Quote n bytes for a reason: printable ASCII, at most 60 characters. */
static const char *quote(const void *p, size_t n, char *out, size_t cap) {
  const unsigned char *s = p;
  size_t o = 0, max = cap > 64 ? 60 : cap - 4;
  for (size_t i = 0; i < n && o < max; i++)
    out[o++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? (char)s[i] : '?';
  if (n > max && o >= 3)
    memcpy(out + o - 3, "...", 3);
  out[o] = '\0';
  return out;
}

/* Record a failure of claim ci: reason "claim NAME failed: ..." */
static int failv(wd_cat_check_t *c, int code, int ci, int hard, const char *fmt, va_list ap) {
  int n = 0;
  c->code = code;
  c->hard = hard;
  c->failed_label = ci >= 0 ? (int)claims[ci].label : -1;
  snprintf(c->claim, sizeof c->claim, "%s", ci >= 0 ? claims[ci].name : "");
  if (ci >= 0)
    n = snprintf(c->why, sizeof c->why, "claim %s failed: ", claims[ci].name);
  if (n < 0 || (size_t)n >= sizeof c->why)
    n = 0;
  vsnprintf(c->why + n, sizeof c->why - (size_t)n, fmt, ap);
  return code;
}

__attribute__((format(printf, 3, 4))) static int soft(wd_cat_check_t *c, int ci, const char *fmt,
                                                      ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = failv(c, WD_ECLAIM, ci, 0, fmt, ap);
  va_end(ap);
  return rc;
}

__attribute__((format(printf, 4, 5))) static int failc(wd_cat_check_t *c, int code, int ci,
                                                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = failv(c, code, ci, 0, fmt, ap);
  va_end(ap);
  return rc;
}

/* Structural failure (hard) with a code. */
__attribute__((format(printf, 4, 5))) static int hardc(wd_cat_check_t *c, int code, int ci,
                                                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = failv(c, code, ci, 1, fmt, ap);
  va_end(ap);
  return rc;
}

/* Malformed value: hard. */
__attribute__((format(printf, 3, 4))) static int malformed(wd_cat_check_t *c, int ci,
                                                           const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = failv(c, WD_ECLAIM, ci, 1, fmt, ap);
  va_end(ap);
  return rc;
}

/* The request lacks what the claim needs: fail closed, hard. */
static int missing(wd_cat_check_t *c, int ci, const char *what) {
  c->missing = 1;
  return malformed(c, ci, "%s", what);
}

/* ---- reading values ---- */

void wd__cat_check_init(wd_cat_check_t *c, wd_verifier_t *v, const wd_verify_opts_t *opts,
                        const wd_request_t *req, uint8_t *scratch, size_t cap, size_t used) {
  c->v = v;
  c->opts = opts;
  c->req = req;
  c->now = wd__now(req);
  c->legacy = opts->cat.allow_text_payload || opts->cat.unknown == WD_CAT_UNKNOWN_LENIENT;
  c->scratch = scratch;
  c->scratch_cap = cap;
  c->scratch_used = used;
  c->payload = NULL;
  c->payload_len = 0;
  c->nentries = 0;
  c->exp = c->iss = c->catr = c->catif = c->cti = c->iat = NULL;
  c->exp_value = 0;
  c->iss_text[0] = '\0';
  c->code = 0;
  c->hard = 0;
  c->missing = 0;
  c->failed_label = -1;
  c->replay = -1;
  c->claim[0] = '\0';
  c->why[0] = '\0';
  c->rq.url_state = 0;
  c->rq.ip_state = 0;
}

int wd__cat_next(wd_cat_check_t *c, wd_cbor_reader_t *rd, wd_cbor_item_t *it) {
  int rc = wd_cbor_next(rd, it);
  if (rc == 0 && c->legacy && it->kind == WD_CBOR_TAG && it->u == 259)
    rc = wd_cbor_next(rd, it);
  return rc;
}

/* A set of claims by claim index: where each value is, and its head, decoded once by the scan. */
typedef struct claim_set {
  const uint8_t *val[CI_COUNT];   /* value bytes (tag-259 wrapper included), NULL when absent */
  size_t len[CI_COUNT];
  wd_cbor_item_t head[CI_COUNT];  /* the value's head (after a tag-259 wrapper) */
  const uint8_t *after[CI_COUNT]; /* first byte after that head */
  int top;
} claim_set_t;

/* A reader over a claim value, positioned after its head (*it). */
static int open_val(wd_cat_check_t *c, const claim_set_t *s, int ci, wd_cbor_reader_t *rd,
                    wd_cbor_item_t *it) {
  (void)c;
  *it = s->head[ci];
  wd_cbor_init(rd, s->after[ci], (size_t)(s->val[ci] + s->len[ci] - s->after[ci]));
  return 0;
}

static int read_str(wd_cat_check_t *c, int ci, wd_cbor_reader_t *rd, const wd_cbor_item_t *it,
                    wd_cbor_kind_t kind, const uint8_t **p, size_t *n) {
  int rc = wd_cbor_string(rd, it, kind, c->scratch, c->scratch_cap, &c->scratch_used, p, n);
  if (rc == WD_ETOOBIG)
    return failc(c, WD_ETOOBIG, ci, "indefinite-length strings exceed %zu bytes", c->scratch_cap);
  if (rc)
    return malformed(c, ci, "expected a %s string", kind == WD_CBOR_TEXT ? "text" : "byte");
  return 0;
}

/* A number (int or float) as double. */
static int item_num(const wd_cbor_item_t *it, double *out) {
  int64_t v;
  if (it->kind == WD_CBOR_FLOAT) {
    *out = it->f;
    return isfinite(it->f) ? 0 : -1;
  }
  if (wd_cbor_int(it, &v) == 0) {
    *out = (double)v;
    return 0;
  }
  return -1;
}

/* NumericDate: int, or float (floored). */
static int item_time(const wd_cbor_item_t *it, int64_t *out) {
  if (wd_cbor_int(it, out) == 0)
    return 0;
  if (it->kind == WD_CBOR_FLOAT && isfinite(it->f) && it->f > -9.2e18 && it->f < 9.2e18) {
    *out = (int64_t)floor(it->f);
    return 0;
  }
  return -1;
}

/*
 * Iterate "one value or an array of values": after the head `it` was read, call list_next() to
 * read each element's head into *el. Returns 1 with an element, 0 at the end, <0 malformed.
 */
typedef struct list {
  wd_cbor_item_t arr;
  int single, done;
  uint64_t i;
} list_t;

static void list_open(list_t *l, const wd_cbor_item_t *it) {
  l->arr = *it;
  l->single = it->kind != WD_CBOR_ARRAY;
  l->done = 0;
  l->i = 0;
}

static int list_next(wd_cat_check_t *c, wd_cbor_reader_t *rd, list_t *l, wd_cbor_item_t *el) {
  if (l->single) {
    if (l->done)
      return 0;
    l->done = 1;
    *el = l->arr;
    return 1;
  }
  int rc = wd_cbor_more(rd, &l->arr, &l->i);
  if (rc <= 0)
    return rc;
  return wd__cat_next(c, rd, el) ? WD_EMALFORMED : 1;
}

/* ---- request components ---- */

static int ci_eq(const char *a, size_t an, const char *b) {
  size_t bn = strlen(b);
  return an == bn && strncasecmp(a, b, an) == 0;
}

static size_t lower_copy(char *dst, size_t cap, const char *src, size_t n) {
  if (n >= cap)
    return (size_t)-1;
  for (size_t i = 0; i < n; i++)
    dst[i] = (char)tolower((unsigned char)src[i]);
  dst[n] = '\0';
  return n;
}

/* Is query key k (raw) one of the token's parameter names? */
static int is_token_param(const wd_cat_check_t *c, const char *k, size_t n) {
  if (c->opts->cat.query_param)
    return strlen(c->opts->cat.query_param) == n && memcmp(k, c->opts->cat.query_param, n) == 0;
  return n == 3 && (memcmp(k, "cat", 3) == 0 || memcmp(k, "CAT", 3) == 0);
}

enum { U_SCHEME, U_HOST, U_PORT, U_PATH, U_QUERY, U_PARENT, U_FILENAME, U_STEM, U_EXT };
static const char *const uri_part_names[9] = {"scheme", "host", "port", "path", "query",
                                              "parent-path", "filename", "stem", "extension"};

static int url_parts(wd_cat_check_t *c) {
  wd_cat_reqcache_t *q = &c->rq;
  if (q->url_state)
    return q->url_state == 1 ? 0 : q->url_state;
  q->url_state = WD_EMALFORMED;
  wd_url_t u;
  if (!c->req || !c->req->url || !c->req->url[0]) {
    q->url_err = "no request URL";
    return q->url_state;
  }
  if (wd_url_split(c->req->url, &u)) {
    q->url_err = "the request URL is malformed";
    return q->url_state;
  }
  memset(q->part, 0, sizeof q->part);
  /* scheme (lowercase), host (lowercase; Host header for origin-form URLs), port */
  if (u.scheme.n) {
    if (lower_copy(q->scheme, sizeof q->scheme, u.scheme.p, u.scheme.n) == (size_t)-1) {
      q->url_err = "the request URL scheme is too long";
      return q->url_state;
    }
    q->part[U_SCHEME] = (wd_span_t){q->scheme, u.scheme.n};
  }
  wd_span_t host = u.host, port = u.port;
  if (!u.scheme.n) {
    const char *h = wd_request_header(c->req, "Host");
    if (h) {
      size_t hn = strlen(h);
      const char *colon = NULL;
      if (h[0] == '[') {
        const char *rb = strchr(h, ']');
        colon = rb && rb[1] == ':' ? rb + 1 : NULL;
      } else {
        colon = strchr(h, ':');
      }
      host = (wd_span_t){h, colon ? (size_t)(colon - h) : hn};
      port = colon ? (wd_span_t){colon + 1, strlen(colon + 1)} : (wd_span_t){NULL, 0};
    }
  }
  if (host.n) {
    if (lower_copy(q->host, sizeof q->host, host.p, host.n) == (size_t)-1) {
      q->url_err = "the request host is too long";
      return q->url_state;
    }
    q->part[U_HOST] = (wd_span_t){q->host, host.n};
  }
  const char *defport = NULL;
  if (ci_eq(q->part[U_SCHEME].p ? q->part[U_SCHEME].p : "", q->part[U_SCHEME].n, "https"))
    defport = "443";
  else if (ci_eq(q->part[U_SCHEME].p ? q->part[U_SCHEME].p : "", q->part[U_SCHEME].n, "http"))
    defport = "80";
  q->port[0] = '\0';
  if (port.n && port.n < sizeof q->port) {
    memcpy(q->port, port.p, port.n);
    q->port[port.n] = '\0';
  }
  if (!c->opts->cat.port_explicit && defport && strcmp(q->port, defport) == 0)
    q->port[0] = '\0';
  else if (c->opts->cat.port_explicit && defport && !q->port[0])
    snprintf(q->port, sizeof q->port, "%s", defport);
  q->part[U_PORT] = (wd_span_t){q->port, strlen(q->port)};
  /* path and the parts derived from it */
  wd_span_t path = u.path;
  if (!path.n && u.scheme.n)
    path = (wd_span_t){"/", 1};
  q->part[U_PATH] = path;
  const char *slash = NULL;
  for (size_t i = path.n; i-- > 0;)
    if (path.p[i] == '/') {
      slash = path.p + i;
      break;
    }
  if (slash) {
    q->part[U_PARENT] = (wd_span_t){path.p, (size_t)(slash - path.p)};
    q->part[U_FILENAME] = (wd_span_t){slash + 1, path.n - (size_t)(slash + 1 - path.p)};
  } else {
    q->part[U_PARENT] = (wd_span_t){path.p, 0};
    q->part[U_FILENAME] = path;
  }
  wd_span_t fn = q->part[U_FILENAME];
  const char *dot = NULL;
  for (size_t i = 0; i < fn.n; i++)
    if (fn.p[i] == '.') {
      dot = fn.p + i;
      if (c->opts->cat.stem_first_dot)
        break;
    }
  if (dot) {
    q->part[U_STEM] = (wd_span_t){fn.p, (size_t)(dot - fn.p)};
    q->part[U_EXT] = (wd_span_t){dot, fn.n - (size_t)(dot - fn.p)};
  } else {
    q->part[U_STEM] = fn;
    q->part[U_EXT] = (wd_span_t){fn.p, 0};
  }
  /* query without the token's own parameter */
  size_t o = 0;
  const char *p = u.query.p, *end = p ? p + u.query.n : NULL;
  while (p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pe - p));
    size_t kn = (size_t)((eq ? eq : pe) - p), pn = (size_t)(pe - p);
    if (pn && !is_token_param(c, p, kn)) {
      if (o + pn + 1 > sizeof q->query) {
        q->url_err = "the request query is too long";
        return q->url_state;
      }
      if (o)
        q->query[o++] = '&';
      memcpy(q->query + o, p, pn);
      o += pn;
    }
    p = amp ? amp + 1 : end;
  }
  q->part[U_QUERY] = (wd_span_t){q->query, o};
  q->url_state = 1;
  return 0;
}

static int client_ip(wd_cat_check_t *c) {
  wd_cat_reqcache_t *q = &c->rq;
  if (!q->ip_state) {
    wd_ip_t ip;
    q->ip_state = -1;
    if (c->req && c->req->ip && wd_ip_parse(c->req->ip, strlen(c->req->ip), &ip) == 0) {
      memcpy(q->ip, ip.a, 16);
      q->ip_family = ip.family;
      q->ip_state = 1;
    }
  }
  return q->ip_state == 1;
}

/* ---- match maps (catu, cath) ---- */

static const char *match_name(int64_t t) {
  switch (t) {
  case 0: return "exact";
  case 1: return "prefix";
  case 2: return "suffix";
  case 3: return "contains";
  case 4: return "regex";
  case -1: return "sha256";
  case -2: return "sha512-256";
  default: return "?";
  }
}

static int contains(const char *h, size_t hn, const uint8_t *n, size_t nn) {
  if (nn == 0)
    return 1;
  for (size_t i = 0; i + nn <= hn; i++)
    if (memcmp(h + i, n, nn) == 0)
      return 1;
  return 0;
}

/* Translate a JavaScript-style pattern (as node-cat writes them) to POSIX extended syntax. */
static int js_to_posix(const uint8_t *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  int in_br = 0;
  /* What the last token was: a quantifier may only follow an atom, as in JavaScript ("nothing
   * to repeat"); this also keeps stacked quantifiers, which glibc compiles very slowly, out. */
  enum { NOTHING, ATOM, QUANTIFIER } last = NOTHING;
#define EMIT(str)                                                                                  \
  do {                                                                                             \
    size_t l_ = strlen(str);                                                                       \
    if (o + l_ >= cap)                                                                             \
      return -1;                                                                                   \
    memcpy(out + o, str, l_);                                                                      \
    o += l_;                                                                                       \
  } while (0)
  for (size_t i = 0; i < n; i++) {
    char ch = (char)s[i], buf[3] = {ch, 0, 0};
    if (ch == '\0')
      return -1;
    if (ch == '\\' && i + 1 < n) {
      char e = (char)s[++i];
      if (in_br) {
        if (e == 'd')
          EMIT("0-9");
        else if (e == 'w')
          EMIT("A-Za-z0-9_");
        else if (e == 's')
          EMIT(" \t\n\r\f\v");
        else if (e == ']' || e == '\\' || e == '-' || e == '^') /* no portable escape: fail */
          return -1;
        else {
          buf[0] = e;
          EMIT(buf);
        }
        continue;
      }
      if (e == 'd')
        EMIT("[0-9]");
      else if (e == 'D')
        EMIT("[^0-9]");
      else if (e == '/')
        EMIT("/");
      else {
        buf[0] = '\\';
        buf[1] = e;
        EMIT(buf);
      }
      last = ATOM;
      continue;
    }
    if (in_br) {
      if (ch == ']') {
        in_br = 0;
        last = ATOM;
      }
      EMIT(buf);
      continue;
    }
    if (ch == '[') {
      in_br = 1;
      EMIT("[");
      if (i + 1 < n && s[i + 1] == '^') {
        EMIT("^");
        i++;
      }
      if (i + 1 < n && s[i + 1] == ']') {
        EMIT("]");
        i++;
      }
      continue;
    }
    if (ch == '(' && i + 2 < n && s[i + 1] == '?' && s[i + 2] == ':') {
      EMIT("(");
      i += 2;
      last = NOTHING;
      continue;
    }
    size_t qend = i; /* for '{': the index of its '}' when it is a bounded repetition */
    if (ch == '{') {
      size_t j = i + 1;
      while (j < n && (isdigit(s[j]) || s[j] == ','))
        j++;
      qend = j < n && s[j] == '}' && j > i + 1 && isdigit(s[i + 1]) ? j : i;
      if (qend == i) { /* JavaScript reads a '{' that starts no repetition literally */
        EMIT("\\{");
        last = ATOM;
        continue;
      }
    }
    if (ch == '*' || ch == '+' || ch == '?' || ch == '{') {
      if (last != ATOM)
        return -1;
      for (; i <= qend; i++) {
        buf[0] = (char)s[i];
        EMIT(buf);
      }
      i--;
      /* lazy quantifiers only change what is captured, not whether the pattern matches */
      if (i + 1 < n && s[i + 1] == '?')
        i++;
      last = QUANTIFIER;
      continue;
    }
    EMIT(buf);
    last = ch == '(' || ch == '|' || ch == '^' || ch == '$' ? NOTHING : ATOM;
  }
#undef EMIT
  out[o] = '\0';
  return 0;
}

/* Bounds on catu/cath regex patterns. */
#define REGEX_MAX_LEN 512
#define REGEX_MAX_QUANTIFIERS 24

static int regex_match(wd_cat_check_t *c, int ci, wd_cbor_reader_t *rd, const wd_cbor_item_t *v,
                       const char *what, const char *subj, size_t sn, int *matched) {
  char qa[64];
  if (v->kind != WD_CBOR_ARRAY)
    return malformed(c, ci, "%s: regex match needs [pattern, flags...]", what);
  list_t l;
  wd_cbor_item_t el;
  const uint8_t *pat = NULL, *fl;
  size_t pn = 0, fn;
  int flags = REG_EXTENDED | REG_NOSUB, rc;
  list_open(&l, v);
  while ((rc = list_next(c, rd, &l, &el)) > 0) {
    const uint8_t **dst = pat ? &fl : &pat;
    size_t *dn = pat ? &fn : &pn;
    if ((rc = read_str(c, ci, rd, &el, WD_CBOR_TEXT, dst, dn)) != 0)
      return rc;
    if (dst == &fl) {
      for (size_t i = 0; i < fn; i++) {
        if (fl[i] == 'i')
          flags |= REG_ICASE;
        else if (fl[i] == 'm')
          flags |= REG_NEWLINE;
        else if (!strchr("gsuyd", fl[i]) || fl[i] == '\0')
          return malformed(c, ci, "%s: regex flag '%s' is not supported", what,
                           quote(fl + i, 1, qa, sizeof qa));
      }
    }
  }
  if (rc < 0 || !pat)
    return malformed(c, ci, "%s: regex match needs a pattern", what);
  /* glibc compiles repetitions into automata whose size grows with every quantifier: bound the
   * pattern and its quantifiers so a hostile (or careless) issuer cannot exhaust memory. */
  size_t quantifiers = 0;
  for (size_t i = 0; i < pn; i++)
    quantifiers += pat[i] == '*' || pat[i] == '+' || pat[i] == '?' || pat[i] == '{';
  if (quantifiers > REGEX_MAX_QUANTIFIERS)
    return malformed(c, ci, "%s: regex has more than %d quantifiers", what, REGEX_MAX_QUANTIFIERS);
  char pattern[2048];
  if (pn > REGEX_MAX_LEN || js_to_posix(pat, pn, pattern, sizeof pattern))
    return malformed(c, ci, "%s: regex \"%s\" is too long or not supported", what,
                     quote(pat, pn, qa, sizeof qa));
  regex_t re;
  if (regcomp(&re, pattern, flags) != 0)
    return malformed(c, ci, "%s: regex \"%s\" does not compile", what,
                     quote(pat, pn, qa, sizeof qa));
  regmatch_t m[1] = {{.rm_so = 0, .rm_eo = (regoff_t)sn}};
  *matched = regexec(&re, subj ? subj : "", 1, m, REG_STARTEND) == 0;
  regfree(&re);
  return 0;
}

static int digest_match(wd_cat_check_t *c, int ci, wd_cbor_reader_t *rd, const wd_cbor_item_t *v,
                        int64_t type, const char *what, const char *subj, size_t sn,
                        int *matched) {
  wd_md_t md = type == -1 ? WD_MD_SHA256
                          : c->opts->cat.sha512_256_full ? WD_MD_SHA512 : WD_MD_SHA512_256;
  unsigned char d[WD_DIGEST_MAX];
  size_t dn = 0;
  wd_iov_t part = {subj, sn};
  if (wd__digest(c->v, md, &part, 1, d, &dn))
    return failc(c, WD_ECRYPTO, ci, "%s: digest %s is unavailable", what, match_name(type));
  const uint8_t *p;
  size_t n;
  int rc;
  if (v->kind == WD_CBOR_BYTES) {
    if ((rc = read_str(c, ci, rd, v, WD_CBOR_BYTES, &p, &n)) != 0)
      return rc;
    *matched = n == dn && memcmp(p, d, dn) == 0;
    return 0;
  }
  if ((rc = read_str(c, ci, rd, v, WD_CBOR_TEXT, &p, &n)) != 0)
    return rc;
  uint8_t want[WD_DIGEST_MAX];
  size_t wn = 0;
  if (n != 2 * dn || wd_hex_decode((const char *)p, n, want, sizeof want, &wn))
    return malformed(c, ci, "%s: %s match value is not a %zu-byte digest", what,
                     match_name(type), dn);
  *matched = memcmp(want, d, dn) == 0;
  return 0;
}

/*
 * Check subject against a match map {type: value, ...} whose head `m` was read from rd: every
 * entry must match. `what` names the component ("path", "header X-Foo").
 */
static int match_map(wd_cat_check_t *c, int ci, wd_cbor_reader_t *rd, const wd_cbor_item_t *m,
                     const char *what, const char *subj, size_t sn) {
  char qa[64], qb[64];
  uint64_t i = 0;
  int rc;
  if (m->kind != WD_CBOR_MAP)
    return malformed(c, ci, "%s: match is not a map", what);
  while ((rc = wd_cbor_more(rd, m, &i)) > 0) {
    wd_cbor_item_t k, v;
    int64_t type;
    int matched = 0;
    if (wd__cat_next(c, rd, &k) || wd_cbor_int(&k, &type) || wd__cat_next(c, rd, &v))
      return malformed(c, ci, "%s: match type is not an integer", what);
    const uint8_t *p;
    size_t n;
    switch (type) {
    case 0:
    case 1:
    case 2:
    case 3:
      if ((rc = read_str(c, ci, rd, &v, WD_CBOR_TEXT, &p, &n)) != 0)
        return rc;
      if (type == 0)
        matched = sn == n && memcmp(subj, p, n) == 0;
      else if (type == 1)
        matched = sn >= n && memcmp(subj, p, n) == 0;
      else if (type == 2)
        matched = sn >= n && memcmp(subj + sn - n, p, n) == 0;
      else
        matched = contains(subj, sn, p, n);
      if (!matched)
        return soft(c, ci, "%s \"%s\" does not match %s \"%s\"", what, quote(subj, sn, qa, sizeof qa),
                    match_name(type), quote(p, n, qb, sizeof qb));
      break;
    case 4: {
      const uint8_t *pat = NULL;
      size_t pn = 0;
      wd_cbor_reader_t peek = *rd; /* for the reason: the pattern text */
      wd_cbor_item_t pe;
      if (v.kind == WD_CBOR_ARRAY && wd_cbor_more(&peek, &v, &(uint64_t){0}) > 0 &&
          wd__cat_next(c, &peek, &pe) == 0 && pe.kind == WD_CBOR_TEXT && !pe.indef) {
        pat = pe.data;
        pn = (size_t)pe.u;
      }
      if ((rc = regex_match(c, ci, rd, &v, what, subj, sn, &matched)) != 0)
        return rc;
      if (!matched)
        return soft(c, ci, "%s \"%s\" does not match regex \"%s\"", what,
                    quote(subj, sn, qa, sizeof qa), quote(pat, pn, qb, sizeof qb));
      break;
    }
    case -1:
    case -2:
      if ((rc = digest_match(c, ci, rd, &v, type, what, subj, sn, &matched)) != 0)
        return rc;
      if (!matched)
        return soft(c, ci, "%s \"%s\" does not match the %s digest in the token", what,
                    quote(subj, sn, qa, sizeof qa), match_name(type));
      break;
    default:
      return malformed(c, ci, "%s: unknown match type %lld", what, (long long)type);
    }
  }
  return rc < 0 ? malformed(c, ci, "%s: match map is truncated", what) : 0;
}

/* ---- individual claims ---- */

static int check_catu(wd_cat_check_t *c, const claim_set_t *s) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t m, k, v;
  uint64_t i = 0;
  int rc;
  if ((rc = open_val(c, s, CI_U, &rd, &m)) != 0)
    return rc;
  if (m.kind != WD_CBOR_MAP)
    return malformed(c, CI_U, "value is not a map");
  while ((rc = wd_cbor_more(&rd, &m, &i)) > 0) {
    int64_t part;
    if (wd__cat_next(c, &rd, &k) || wd_cbor_int(&k, &part) || wd__cat_next(c, &rd, &v))
      return malformed(c, CI_U, "URI component is not an integer");
    if (part < 0 || part > 8)
      return malformed(c, CI_U, "unknown URI component %lld", (long long)part);
    if ((rc = url_parts(c)) != 0)
      return missing(c, CI_U, c->rq.url_err);
    wd_span_t sp = c->rq.part[part];
    if (part == U_SCHEME && !sp.n)
      return missing(c, CI_U, "the request URL has no scheme");
    if (part == U_HOST && !sp.n)
      return missing(c, CI_U, "the request has no host");
    if ((rc = match_map(c, CI_U, &rd, &v, uri_part_names[part], sp.p ? sp.p : "", sp.n)) != 0)
      return rc;
  }
  return rc < 0 ? malformed(c, CI_U, "value is truncated") : 0;
}

static int check_cath(wd_cat_check_t *c, const claim_set_t *s) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t m, k, v;
  uint64_t i = 0;
  int rc;
  char name[128], what[160], qa[64];
  if ((rc = open_val(c, s, CI_H, &rd, &m)) != 0)
    return rc;
  if (m.kind != WD_CBOR_MAP)
    return malformed(c, CI_H, "value is not a map");
  while ((rc = wd_cbor_more(&rd, &m, &i)) > 0) {
    const uint8_t *p;
    size_t n;
    if (wd__cat_next(c, &rd, &k))
      return malformed(c, CI_H, "value is truncated");
    if ((rc = read_str(c, CI_H, &rd, &k, WD_CBOR_TEXT, &p, &n)) != 0)
      return rc;
    if (n == 0 || n >= sizeof name || memchr(p, '\0', n))
      return malformed(c, CI_H, "header name of %zu bytes is not usable", n);
    memcpy(name, p, n);
    name[n] = '\0';
    if (wd__cat_next(c, &rd, &v))
      return malformed(c, CI_H, "value is truncated");
    const char *hv = wd_request_header(c->req, name);
    snprintf(what, sizeof what, "header %s", quote(name, n, qa, sizeof qa));
    if (!hv) {
      if (wd_cbor_skip(&rd, &v, 1))
        return malformed(c, CI_H, "value is malformed");
      return soft(c, CI_H, "the request has no header %s", qa);
    }
    if ((rc = match_map(c, CI_H, &rd, &v, what, hv, strlen(hv))) != 0)
      return rc;
  }
  return rc < 0 ? malformed(c, CI_H, "value is truncated") : 0;
}

/* One catnip entry: ASN (uint) or 52/54 tagged address / prefix. */
static int nip_entry(wd_cat_check_t *c, wd_cbor_reader_t *rd, const wd_cbor_item_t *el,
                     int *matched, int *need_ip, int *need_asn) {
  if (el->kind == WD_CBOR_UINT) {
    if (el->u > 0xffffffffu)
      return malformed(c, CI_NIP, "ASN %llu is out of range", (unsigned long long)el->u);
    if (!c->req || !c->req->asn)
      *need_asn = 1;
    else if (c->req->asn == el->u)
      *matched = 1;
    return 0;
  }
  if (el->kind != WD_CBOR_TAG || (el->u != 52 && el->u != 54))
    return malformed(c, CI_NIP, "entry is neither an ASN nor an RFC 9164 address (tag 52/54)");
  int fam = el->u == 52 ? 4 : 6, alen = fam == 4 ? 4 : 16, plen = alen * 8;
  wd_cbor_item_t v, a, b;
  const uint8_t *bytes = NULL;
  size_t bn = 0;
  if (wd_cbor_next(rd, &v))
    return malformed(c, CI_NIP, "entry is truncated");
  if (v.kind == WD_CBOR_BYTES && !v.indef) {
    if (v.u != (uint64_t)alen)
      return malformed(c, CI_NIP, "IPv%d address of %llu bytes", fam, (unsigned long long)v.u);
    bytes = v.data;
    bn = (size_t)v.u;
  } else if (v.kind == WD_CBOR_ARRAY && !v.indef && v.u == 2) {
    if (wd_cbor_next(rd, &a) || wd_cbor_next(rd, &b))
      return malformed(c, CI_NIP, "entry is truncated");
    if (a.kind == WD_CBOR_BYTES && b.kind == WD_CBOR_UINT) { /* [address, plen]: interface form */
      wd_cbor_item_t t = a;
      a = b;
      b = t;
      if (b.indef || b.u != (uint64_t)alen)
        return malformed(c, CI_NIP, "IPv%d interface address is not %d bytes", fam, alen);
    }
    if (a.kind != WD_CBOR_UINT || b.kind != WD_CBOR_BYTES || b.indef ||
        a.u > (uint64_t)(alen * 8) || b.u > (uint64_t)alen)
      return malformed(c, CI_NIP, "IPv%d prefix is malformed", fam);
    plen = (int)a.u;
    bytes = b.data;
    bn = (size_t)b.u;
  } else {
    return malformed(c, CI_NIP, "IPv%d entry is neither an address nor [length, prefix]", fam);
  }
  if (!client_ip(c)) {
    *need_ip = 1;
    return 0;
  }
  wd_ip_t ip;
  ip.family = c->rq.ip_family;
  memcpy(ip.a, c->rq.ip, 16);
  if (wd_ip_in_prefix(&ip, fam, bytes, bn, plen))
    *matched = 1;
  return 0;
}

static int check_catnip(wd_cat_check_t *c, const claim_set_t *s) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v, el;
  list_t l;
  int rc, matched = 0, need_ip = 0, need_asn = 0, n = 0;
  if ((rc = open_val(c, s, CI_NIP, &rd, &v)) != 0)
    return rc;
  if (v.kind != WD_CBOR_ARRAY)
    return malformed(c, CI_NIP, "value is not an array");
  list_open(&l, &v);
  while ((rc = list_next(c, &rd, &l, &el)) > 0) {
    n++;
    if ((rc = nip_entry(c, &rd, &el, &matched, &need_ip, &need_asn)) != 0)
      return rc;
  }
  if (rc < 0)
    return malformed(c, CI_NIP, "value is truncated");
  if (matched)
    return 0;
  if (need_ip && !(c->req && c->req->ip))
    return missing(c, CI_NIP, "the client IP address is unknown");
  if (need_ip)
    return missing(c, CI_NIP, "the client IP address is not parseable");
  if (need_asn)
    return missing(c, CI_NIP, "the client ASN is unknown");
  if (n == 0)
    return soft(c, CI_NIP, "no address is allowed (empty list)");
  char qa[64];
  if (c->req && c->req->ip)
    return soft(c, CI_NIP, "client %s (AS%u) is not in any allowed network",
                quote(c->req->ip, strlen(c->req->ip), qa, sizeof qa), c->req->asn);
  return soft(c, CI_NIP, "client AS%u is not allowed", c->req ? c->req->asn : 0);
}

/* catm, catalpn, catgeoiso3166: the request's value must be in a list of strings. */
static int check_strlist(wd_cat_check_t *c, const claim_set_t *s, int ci, const char *have,
                         const char *what) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v, el;
  list_t l;
  int rc;
  char qa[64];
  if ((rc = open_val(c, s, ci, &rd, &v)) != 0)
    return rc;
  if (!have)
    return missing(c, ci, what);
  size_t hn = strlen(have);
  list_open(&l, &v);
  while ((rc = list_next(c, &rd, &l, &el)) > 0) {
    const uint8_t *p;
    size_t n;
    wd_cbor_kind_t kind = ci == CI_ALPN && el.kind == WD_CBOR_BYTES ? WD_CBOR_BYTES : WD_CBOR_TEXT;
    if ((rc = read_str(c, ci, &rd, &el, kind, &p, &n)) != 0)
      return rc;
    if (ci == CI_GEOISO) {
      /* "SE" covers "SE-AB"; comparisons ignore case */
      const char *dash = strchr(have, '-');
      size_t cc = dash ? (size_t)(dash - have) : hn;
      if ((n == hn && strncasecmp((const char *)p, have, n) == 0) ||
          (!memchr(p, '-', n) && n == cc && strncasecmp((const char *)p, have, n) == 0))
        return 0;
    } else if (n == hn && memcmp(p, have, n) == 0) {
      return 0;
    }
  }
  if (rc < 0)
    return malformed(c, ci, "value is truncated");
  return soft(c, ci, "%s \"%s\" is not allowed",
              ci == CI_M ? "method" : ci == CI_ALPN ? "ALPN" : "country",
              quote(have, hn, qa, sizeof qa));
}

static double haversine_m(double lat1, double lon1, double lat2, double lon2) {
  const double r = 6371008.8, rad = M_PI / 180.0;
  double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
  double a = sin(dlat / 2) * sin(dlat / 2) +
             cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
  return 2 * r * atan2(sqrt(a), sqrt(1 - a));
}

/* One [lat, lon, radius_m] entry (its array head already read): distance beyond the radius. */
static int geo_entry(wd_cat_check_t *c, wd_cbor_reader_t *rd, const wd_cbor_item_t *el,
                     double *beyond) {
  double num[3];
  uint64_t i = 0;
  int k = 0, rc;
  wd_cbor_item_t x;
  if (el->kind != WD_CBOR_ARRAY)
    return malformed(c, CI_GEOCOORD, "entry is not [lat, lon, radius]");
  while ((rc = wd_cbor_more(rd, el, &i)) > 0) {
    if (wd_cbor_next(rd, &x) || k >= 3 || item_num(&x, &num[k]))
      return malformed(c, CI_GEOCOORD, "entry is not [lat, lon, radius]");
    k++;
  }
  if (rc < 0 || k != 3 || num[0] < -90 || num[0] > 90 || num[1] < -180 || num[1] > 180 ||
      num[2] < 0)
    return malformed(c, CI_GEOCOORD, "entry is not [lat, lon, radius]");
  *beyond = haversine_m(num[0], num[1], c->req->lat, c->req->lon) - num[2];
  return 0;
}

static int check_geocoord(wd_cat_check_t *c, const claim_set_t *s) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v, el;
  uint64_t i = 0;
  int rc;
  double beyond, best = -1;
  if ((rc = open_val(c, s, CI_GEOCOORD, &rd, &v)) != 0)
    return rc;
  if (v.kind != WD_CBOR_ARRAY)
    return malformed(c, CI_GEOCOORD, "value is not an array");
  if (!c->req || !c->req->has_coord)
    return missing(c, CI_GEOCOORD, "the client coordinates are unknown");
  /* [[lat, lon, r], ...], or one [lat, lon, r] */
  wd_cbor_reader_t peek = rd;
  if (wd_cbor_more(&peek, &v, &(uint64_t){0}) > 0 && wd_cbor_next(&peek, &el) == 0 &&
      el.kind != WD_CBOR_ARRAY) {
    if ((rc = geo_entry(c, &rd, &v, &beyond)) != 0)
      return rc;
    if (beyond <= 0)
      return 0;
    best = beyond;
  } else {
    while ((rc = wd_cbor_more(&rd, &v, &i)) > 0) {
      if (wd_cbor_next(&rd, &el))
        return malformed(c, CI_GEOCOORD, "value is truncated");
      if ((rc = geo_entry(c, &rd, &el, &beyond)) != 0)
        return rc;
      if (beyond <= 0)
        return 0;
      if (best < 0 || beyond < best)
        best = beyond;
    }
    if (rc < 0)
      return malformed(c, CI_GEOCOORD, "value is truncated");
  }
  return soft(c, CI_GEOCOORD, "client at %.4f,%.4f is %.0f m outside the nearest allowed area",
              c->req->lat, c->req->lon, best < 0 ? 0 : best);
}

static int check_geohash(wd_cat_check_t *c, const claim_set_t *s) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v, el;
  list_t l;
  int rc, short_client = 0;
  char qa[64];
  if ((rc = open_val(c, s, CI_GEOHASH, &rd, &v)) != 0)
    return rc;
  if (!c->req || !c->req->geohash || !c->req->geohash[0])
    return missing(c, CI_GEOHASH, "the client geohash is unknown");
  const char *gh = c->req->geohash;
  size_t gn = strlen(gh);
  list_open(&l, &v);
  while ((rc = list_next(c, &rd, &l, &el)) > 0) {
    const uint8_t *p;
    size_t n;
    if ((rc = read_str(c, CI_GEOHASH, &rd, &el, WD_CBOR_TEXT, &p, &n)) != 0)
      return rc;
    if (n > gn)
      short_client = 1;
    else if (n && strncasecmp((const char *)p, gh, n) == 0)
      return 0;
  }
  if (rc < 0)
    return malformed(c, CI_GEOHASH, "value is truncated");
  if (short_client)
    return missing(c, CI_GEOHASH, "the client geohash is less precise than the claim");
  return soft(c, CI_GEOHASH, "client geohash \"%s\" is not in an allowed area",
              quote(gh, gn, qa, sizeof qa));
}

static int check_aud(wd_cat_check_t *c, const claim_set_t *s) {
  const wd_cat_opts_t *o = &c->opts->cat;
  wd_cbor_reader_t rd;
  wd_cbor_item_t v, el;
  list_t l;
  int rc;
  if (!s->val[CI_AUD]) {
    if (o->naudiences && s->top)
      return failc(c, WD_EAUDIENCE, CI_AUD, "token has no aud but audiences are configured");
    return 0;
  }
  if ((rc = open_val(c, s, CI_AUD, &rd, &v)) != 0)
    return rc;
  list_open(&l, &v);
  char first[64] = "";
  while ((rc = list_next(c, &rd, &l, &el)) > 0) {
    const uint8_t *p;
    size_t n;
    if ((rc = read_str(c, CI_AUD, &rd, &el, WD_CBOR_TEXT, &p, &n)) != 0)
      return rc;
    if (!first[0])
      quote(p, n, first, sizeof first);
    for (size_t i = 0; i < o->naudiences; i++)
      if (strlen(o->audiences[i]) == n && memcmp(o->audiences[i], p, n) == 0)
        return 0;
  }
  if (rc < 0)
    return malformed(c, CI_AUD, "value is truncated");
  if (!o->naudiences)
    return 0;
  return failc(c, WD_EAUDIENCE, CI_AUD, "audience \"%s\" is not accepted", first);
}

static int check_iss(wd_cat_check_t *c, const claim_set_t *s) {
  const wd_cat_opts_t *o = &c->opts->cat;
  wd_cbor_reader_t rd;
  wd_cbor_item_t v;
  const uint8_t *p;
  size_t n;
  int rc;
  char qa[64];
  if (!s->val[CI_ISS]) {
    if (o->nissuers && s->top)
      return failc(c, WD_EISSUER, CI_ISS, "token has no iss but issuers are configured");
    return 0;
  }
  if ((rc = open_val(c, s, CI_ISS, &rd, &v)) != 0 ||
      (rc = read_str(c, CI_ISS, &rd, &v, WD_CBOR_TEXT, &p, &n)) != 0)
    return rc;
  if (!o->nissuers)
    return 0;
  for (size_t i = 0; i < o->nissuers; i++)
    if (strlen(o->issuers[i]) == n && memcmp(o->issuers[i], p, n) == 0)
      return 0;
  return failc(c, WD_EISSUER, CI_ISS, "issuer \"%s\" is not accepted", quote(p, n, qa, sizeof qa));
}

static int check_time(wd_cat_check_t *c, const claim_set_t *s, int ci) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v;
  int64_t t;
  int rc;
  if ((rc = open_val(c, s, ci, &rd, &v)) != 0)
    return rc;
  if (item_time(&v, &t))
    return malformed(c, ci, "value is not a NumericDate");
  int64_t lw = c->opts->leeway < 0 ? 0 : c->opts->leeway;
  if (ci == CI_EXP && c->now > t && c->now - t > lw)
    return failc(c, WD_EEXPIRED, ci, "token expired at %lld (now %lld, leeway %llds)",
                 (long long)t, (long long)c->now, (long long)lw);
  if (ci == CI_NBF && t > c->now && t - c->now > lw)
    return failc(c, WD_ENOTYET, ci, "token not valid before %lld (now %lld, leeway %llds)",
                 (long long)t, (long long)c->now, (long long)lw);
  return 0;
}

/* Check the value has the expected kind (informational claims). */
static int check_kind(wd_cat_check_t *c, const claim_set_t *s, int ci) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v;
  int rc;
  int64_t t;
  if ((rc = open_val(c, s, ci, &rd, &v)) != 0)
    return rc;
  switch (ci) {
  case CI_SUB:
    return v.kind == WD_CBOR_TEXT ? 0 : malformed(c, ci, "value is not a text string");
  case CI_IAT:
    return item_time(&v, &t) == 0 ? 0 : malformed(c, ci, "value is not a NumericDate");
  case CI_CTI:
    return v.kind == WD_CBOR_BYTES || v.kind == WD_CBOR_TEXT
               ? 0 : malformed(c, ci, "value is not a byte string");
  case CI_CNF:
  case CI_DPOP:
  case CI_IF:
    return v.kind == WD_CBOR_MAP ? 0 : malformed(c, ci, "value is not a map");
  case CI_POR:
    return v.kind == WD_CBOR_ARRAY ? 0 : malformed(c, ci, "value is not an array");
  case CI_TPK:
    return v.kind == WD_CBOR_BYTES ? 0 : malformed(c, ci, "value is not a byte string");
  case CI_IFDATA:
    return v.kind == WD_CBOR_TEXT || v.kind == WD_CBOR_ARRAY
               ? 0 : malformed(c, ci, "value is not text or an array");
  default:
    return 0;
  }
}

static int check_catv(wd_cat_check_t *c, const claim_set_t *s) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v;
  int rc;
  if ((rc = open_val(c, s, CI_V, &rd, &v)) != 0)
    return rc;
  if (v.kind != WD_CBOR_UINT || v.u != 1)
    return malformed(c, CI_V, "version must be 1");
  return 0;
}

static int check_replay(wd_cat_check_t *c, const claim_set_t *s, int *out) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v;
  int rc;
  if ((rc = open_val(c, s, CI_REPLAY, &rd, &v)) != 0)
    return rc;
  if (v.kind != WD_CBOR_UINT || v.u > 2)
    return malformed(c, CI_REPLAY, "value must be 0, 1 or 2");
  *out = (int)v.u;
  return 0;
}

/* catr: {0: type 0..3, 1: expadd, 2: deadline, 3/4: names, 5/6: params, 7: status}. */
static int check_catr(wd_cat_check_t *c, const claim_set_t *s) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t m, k, v;
  uint64_t i = 0;
  int rc, have_type = 0, have_add = 0;
  if ((rc = open_val(c, s, CI_R, &rd, &m)) != 0)
    return rc;
  if (m.kind != WD_CBOR_MAP)
    return malformed(c, CI_R, "value is not a map");
  while ((rc = wd_cbor_more(&rd, &m, &i)) > 0) {
    int64_t key, n;
    if (wd__cat_next(c, &rd, &k) || wd_cbor_int(&k, &key) || wd__cat_next(c, &rd, &v))
      return malformed(c, CI_R, "key is not an integer");
    int ok = 1;
    switch (key) {
    case 0:
      ok = v.kind == WD_CBOR_UINT && v.u <= 3;
      have_type = 1;
      break;
    case 1:
    case 2:
      ok = wd_cbor_int(&v, &n) == 0 && n >= 0 && n <= 366LL * 86400 * 10;
      have_add |= key == 1;
      break;
    case 3:
    case 4:
      ok = v.kind == WD_CBOR_TEXT;
      break;
    case 5:
    case 6:
      ok = v.kind == WD_CBOR_TEXT || v.kind == WD_CBOR_ARRAY;
      break;
    case 7:
      ok = v.kind == WD_CBOR_UINT && v.u >= 300 && v.u <= 399;
      break;
    default:
      break;
    }
    if (!ok)
      return malformed(c, CI_R, "renewal parameter %lld has a bad value", (long long)key);
    if (wd_cbor_skip(&rd, &v, 1))
      return malformed(c, CI_R, "value is malformed");
  }
  if (rc < 0)
    return malformed(c, CI_R, "value is truncated");
  if (!have_type || !have_add)
    return malformed(c, CI_R, "renewal needs a type (0) and an expadd (1)");
  return 0;
}

/* ---- claim sets ---- */

static int validate_set(wd_cat_check_t *c, claim_set_t *s, unsigned depth);

/* Scan a claims map: record value spans; unknown claims per the options. */
static int scan_set(wd_cat_check_t *c, const uint8_t *map, size_t len, claim_set_t *s) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t m, k;
  uint64_t i = 0;
  int rc;
  memset(s->val, 0, sizeof s->val);
  wd_cbor_init(&rd, map, len);
  if (wd_cbor_next(&rd, &m))
    return hardc(c, WD_EMALFORMED, -1, "claims are not CBOR");
  if (m.kind == WD_CBOR_TAG && m.u == 259) {
    if (!c->legacy)
      return hardc(c, WD_EMALFORMED, -1,
                   "claims map wrapped in tag 259 (legacy node-cat encoding) is not accepted");
    if (wd_cbor_next(&rd, &m))
      return hardc(c, WD_EMALFORMED, -1, "claims are truncated");
  }
  if (m.kind != WD_CBOR_MAP)
    return hardc(c, WD_EMALFORMED, -1, "claims are not a CBOR map");
  const wd_cat_unknown_t mode = c->opts->cat.unknown;
  /* unknown claims are judged after crit is known */
  int64_t unknown[WD_CAT_MAX_CLAIMS];
  size_t nunknown = 0;
  while ((rc = wd_cbor_more(&rd, &m, &i)) > 0) {
    const uint8_t *kstart = rd.p;
    int64_t label = INT64_MIN;
    if (wd_cbor_next(&rd, &k))
      return hardc(c, WD_EMALFORMED, -1, "claims map is truncated");
    if (wd_cbor_int(&k, &label) != 0) {
      label = INT64_MIN;
      if (k.kind != WD_CBOR_TEXT || wd_cbor_skip(&rd, &k, 1))
        return hardc(c, WD_EMALFORMED, -1, "claim key is neither an integer nor text");
      if (mode == WD_CAT_UNKNOWN_STRICT) {
        char qa[64];
        const char *kp = k.indef ? "" : (const char *)k.data;
        return hardc(c, WD_ECLAIM, -1, "unknown claim \"%s\" (text key)",
                     quote(kp, k.indef ? 0 : (size_t)k.u, qa, sizeof qa));
      }
    }
    const uint8_t *vstart = rd.p, *vafter;
    wd_cbor_item_t vh;
    if (wd__cat_next(c, &rd, &vh) || (vafter = rd.p, wd_cbor_skip(&rd, &vh, 1)))
      return hardc(c, WD_EMALFORMED, -1,
                   "claims map is malformed (truncated, or nested deeper than %d)",
                   WD_CBOR_MAX_DEPTH);
    size_t vlen = (size_t)(rd.p - vstart);
    if (s->top) {
      if (c->nentries >= WD_CAT_MAX_CLAIMS)
        return hardc(c, WD_ETOOBIG, -1, "more than %d claims", WD_CAT_MAX_CLAIMS);
      wd_cat_entry_t *e = &c->entries[c->nentries++];
      e->label = label;
      e->key = kstart;
      e->val = vstart;
      e->val_len = vlen;
    }
    if (label == INT64_MIN)
      continue;
    int ci = claim_index(c->opts, label);
    if (ci < 0) {
      if (nunknown < WD_CAT_MAX_CLAIMS)
        unknown[nunknown++] = label;
      continue;
    }
    if (s->val[ci])
      return hardc(c, WD_EMALFORMED, ci, "claim %s appears twice", claims[ci].name);
    s->val[ci] = vstart;
    s->len[ci] = vlen;
    s->head[ci] = vh;
    s->after[ci] = vafter;
  }
  if (rc < 0)
    return hardc(c, WD_EMALFORMED, -1, "claims map is truncated");
  if (!wd_cbor_at_end(&rd))
    return hardc(c, WD_EMALFORMED, -1, "trailing bytes after the claims map");

  /* crit: listed claims must be present and enforced */
  if (s->val[CI_CRIT]) {
    wd_cbor_reader_t cr;
    wd_cbor_item_t v, el;
    list_t l;
    if ((rc = open_val(c, s, CI_CRIT, &cr, &v)) != 0)
      return rc;
    if (v.kind != WD_CBOR_ARRAY)
      return malformed(c, CI_CRIT, "value is not an array");
    list_open(&l, &v);
    while ((rc = list_next(c, &cr, &l, &el)) > 0) {
      int64_t lab;
      if (wd_cbor_int(&el, &lab))
        return malformed(c, CI_CRIT, "entry is not a claim label");
      int ci = claim_index(c->opts, lab);
      if (ci < 0)
        return malformed(c, CI_CRIT, "critical claim %lld is not understood", (long long)lab);
      if (!claims[ci].enforced)
        return malformed(c, CI_CRIT, "critical claim %s is not enforced by this verifier",
                         claims[ci].name);
      if (!s->val[ci])
        return malformed(c, CI_CRIT, "critical claim %s is absent", claims[ci].name);
    }
    if (rc < 0)
      return malformed(c, CI_CRIT, "value is truncated");
  }
  for (size_t j = 0; j < nunknown; j++) {
    int64_t lab = unknown[j];
    int reject = mode == WD_CAT_UNKNOWN_STRICT ||
                 (mode == WD_CAT_UNKNOWN_DEFAULT && lab >= 308 && lab <= 399);
    if (reject)
      return hardc(c, WD_ECLAIM, -1, "unknown claim %lld", (long long)lab);
  }
  return 0;
}

/* or / nor / and over an array of claim sets. */
static int check_composite(wd_cat_check_t *c, const claim_set_t *s, int ci, unsigned depth) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v;
  int rc, kind = (ci == CI_OR || ci == CI_OR_D) ? 0 : (ci == CI_NOR || ci == CI_NOR_D) ? 1 : 2;
  if (depth >= 4)
    return malformed(c, ci, "composite claims nested deeper than 4");
  if ((rc = open_val(c, s, ci, &rd, &v)) != 0)
    return rc;
  if (v.kind != WD_CBOR_ARRAY)
    return malformed(c, ci, "value is not an array of claim sets");
  uint64_t i = 0;
  unsigned n = 0, passed = 0;
  char first[sizeof c->why] = "";
  while ((rc = wd_cbor_more(&rd, &v, &i)) > 0) {
    const uint8_t *p;
    size_t len;
    n++;
    if (wd_cbor_span(&rd, &p, &len))
      return malformed(c, ci, "claim set %u is malformed", n);
    claim_set_t sub;
    sub.top = 0;
    size_t mark = c->scratch_used;
    rc = scan_set(c, p, len, &sub);
    if (rc == 0)
      rc = validate_set(c, &sub, depth + 1);
    c->scratch_used = mark;
    if (rc && c->hard) {
      /* cannot be evaluated: the composite fails whatever its kind */
      char inner[sizeof c->why];
      snprintf(inner, sizeof inner, "%s", c->why);
      int missing_info = c->missing;
      rc = malformed(c, ci, "set %u: %s", n, inner);
      c->missing = missing_info;
      return rc;
    }
    if (rc == 0) {
      passed++;
      if (kind == 0)
        break; /* or: one is enough (the rest is not read) */
      if (kind == 1)
        return soft(c, ci, "claim set %u matches", n);
    } else {
      if (!first[0])
        snprintf(first, sizeof first, "%s", c->why);
      if (kind == 2)
        return soft(c, ci, "set %u: %s", n, first);
    }
  }
  if (rc < 0)
    return malformed(c, ci, "value is truncated");
  if (kind == 0 && !passed)
    return soft(c, ci, "no claim set matches%s%s%s", first[0] ? " (first: " : "", first,
                first[0] ? ")" : "");
  c->code = 0;
  return 0;
}

/* Checks in order: the token's own validity first, then the request-bound claims. Strings joined
 * into scratch live only for one check. */
static int validate_set(wd_cat_check_t *c, claim_set_t *s, unsigned depth) {
  static const int informational[] = {CI_SUB, CI_IAT, CI_CTI, CI_CNF, CI_POR, CI_TPK,
                                      CI_IFDATA, CI_DPOP, CI_IF};
  static const int composites[] = {CI_OR, CI_NOR, CI_AND, CI_OR_D, CI_NOR_D, CI_AND_D};
  const wd_request_t *q = c->req;
  const size_t mark = c->scratch_used;
  int rc, replay = -1;
#define STEP(cond, call)                                                                           \
  do {                                                                                             \
    if (cond) {                                                                                    \
      rc = (call);                                                                                 \
      c->scratch_used = mark;                                                                      \
      if (rc)                                                                                      \
        return rc;                                                                                 \
    }                                                                                              \
  } while (0)
  c->missing = 0;
  STEP(s->val[CI_V], check_catv(c, s));
  STEP(1, check_iss(c, s));
  STEP(s->val[CI_EXP], check_time(c, s, CI_EXP));
  STEP(s->val[CI_NBF], check_time(c, s, CI_NBF));
  STEP(1, check_aud(c, s));
  for (size_t i = 0; i < sizeof informational / sizeof *informational; i++)
    STEP(s->val[informational[i]], check_kind(c, s, informational[i]));
  STEP(s->val[CI_REPLAY], check_replay(c, s, &replay));
  STEP(s->val[CI_R], check_catr(c, s));
  STEP(s->val[CI_NIP], check_catnip(c, s));
  STEP(s->val[CI_U], check_catu(c, s));
  STEP(s->val[CI_M], check_strlist(c, s, CI_M, q ? q->method : NULL, "the request method is unknown"));
  STEP(s->val[CI_ALPN],
       check_strlist(c, s, CI_ALPN, q ? q->alpn : NULL, "the negotiated ALPN is unknown"));
  STEP(s->val[CI_H], check_cath(c, s));
  STEP(s->val[CI_GEOISO],
       check_strlist(c, s, CI_GEOISO, q ? q->country : NULL, "the client country is unknown"));
  STEP(s->val[CI_GEOCOORD], check_geocoord(c, s));
  STEP(s->val[CI_GEOHASH], check_geohash(c, s));
  for (size_t i = 0; i < sizeof composites / sizeof *composites; i++)
    STEP(s->val[composites[i]], check_composite(c, s, composites[i], depth));
#undef STEP
  if (s->top)
    c->replay = replay;
  return 0;
}

/* ---- identity ---- */

static void fill_identity(wd_cat_check_t *c, const claim_set_t *s, wd_result_t *r) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v;
  const uint8_t *p;
  size_t n;
  int64_t t;
  size_t mark = c->scratch_used;
  wd_identity_t *id = &r->id;
  if (s->val[CI_ISS] && open_val(c, s, CI_ISS, &rd, &v) == 0 &&
      read_str(c, CI_ISS, &rd, &v, WD_CBOR_TEXT, &p, &n) == 0) {
    wd__copy_field(id->issuer, sizeof id->issuer, (const char *)p, n);
    if (n < sizeof c->iss_text && !memchr(p, '\0', n))
      wd__copy_field(c->iss_text, sizeof c->iss_text, (const char *)p, n);
  }
  if (s->val[CI_SUB] && open_val(c, s, CI_SUB, &rd, &v) == 0 &&
      read_str(c, CI_SUB, &rd, &v, WD_CBOR_TEXT, &p, &n) == 0)
    wd__copy_field(id->subject, sizeof id->subject, (const char *)p, n);
  if (s->val[CI_IAT] && open_val(c, s, CI_IAT, &rd, &v) == 0 && item_time(&v, &t) == 0)
    id->iat = t;
  if (s->val[CI_EXP] && open_val(c, s, CI_EXP, &rd, &v) == 0 && item_time(&v, &t) == 0) {
    id->exp = t;
    c->exp_value = t;
  }
  if (s->val[CI_CTI] && open_val(c, s, CI_CTI, &rd, &v) == 0 &&
      (v.kind == WD_CBOR_BYTES || v.kind == WD_CBOR_TEXT) &&
      read_str(c, CI_CTI, &rd, &v, v.kind, &p, &n) == 0 && n > 0) {
    if (2 * n < sizeof id->token_id)
      wd_hex_encode(p, n, id->token_id);
    else
      wd__identity_hash_id(c->v, id, (const char *)p, n);
  }
  if (s->val[CI_NIP] && open_val(c, s, CI_NIP, &rd, &v) == 0 && v.kind == WD_CBOR_ARRAY) {
    list_t l;
    wd_cbor_item_t el, x, a, b;
    list_open(&l, &v);
    while (list_next(c, &rd, &l, &el) > 0) {
      if (el.kind == WD_CBOR_TAG && (el.u == 52 || el.u == 54) && wd_cbor_next(&rd, &x) == 0) {
        wd_ip_t ip;
        memset(&ip, 0, sizeof ip);
        ip.family = el.u == 52 ? 4 : 6;
        size_t alen = ip.family == 4 ? 4 : 16;
        int plen = -1;
        if (x.kind == WD_CBOR_BYTES && !x.indef && x.u == alen) {
          memcpy(ip.a, x.data, alen);
        } else if (x.kind == WD_CBOR_ARRAY && x.u == 2 && wd_cbor_next(&rd, &a) == 0 &&
                   wd_cbor_next(&rd, &b) == 0) {
          if (a.kind == WD_CBOR_BYTES) {
            wd_cbor_item_t tmp = a;
            a = b;
            b = tmp;
          }
          if (a.kind != WD_CBOR_UINT || b.kind != WD_CBOR_BYTES || b.indef || b.u > alen ||
              a.u > alen * 8)
            break;
          memcpy(ip.a, b.data, (size_t)b.u);
          plen = (int)a.u;
        } else {
          break;
        }
        char txt[64];
        wd_ip_format(&ip, txt, sizeof txt);
        size_t tl = strlen(txt);
        if (plen >= 0 && plen <= 128 && tl + 5 < sizeof txt) {
          txt[tl++] = '/';
          if (plen >= 100)
            txt[tl++] = (char)('0' + plen / 100);
          if (plen >= 10)
            txt[tl++] = (char)('0' + plen / 10 % 10);
          txt[tl++] = (char)('0' + plen % 10);
          txt[tl] = '\0';
        }
        wd__copy_field(id->ip, sizeof id->ip, txt, tl);
        break;
      }
      if (wd_cbor_skip(&rd, &el, 1))
        break;
    }
  }
  c->scratch_used = mark;
}

int wd__cat_claims_check(wd_cat_check_t *c, const uint8_t *payload, size_t len, wd_result_t *r) {
  claim_set_t s;
  int rc;
  s.top = 1;
  c->payload = payload;
  c->payload_len = len;
  c->nentries = 0;
  rc = scan_set(c, payload, len, &s);
  if (rc == 0 || c->nentries) {
    for (size_t i = 0; i < c->nentries; i++) {
      const wd_cat_entry_t *e = &c->entries[i];
      switch (e->label) {
      case WD_CAT_EXP: c->exp = e; break;
      case WD_CAT_ISS: c->iss = e; break;
      case WD_CAT_R: c->catr = e; break;
      case WD_CAT_IF: c->catif = e; break;
      case WD_CAT_CTI: c->cti = e; break;
      case WD_CAT_IAT: c->iat = e; break;
      default: break;
      }
    }
  }
  if (rc == 0) {
    fill_identity(c, &s, r);
    rc = validate_set(c, &s, 0);
    if (rc == 0) {
      r->replay = c->replay;
      c->code = 0;
      return 0;
    }
  }
  return wd_result_fail(r, rc, c->claim[0] ? c->claim : NULL, "%s", c->why);
}
