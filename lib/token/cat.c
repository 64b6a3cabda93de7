/*
 * CTA-5007 Common Access Token verification: find the token in the request, decode its text
 * (base64url; padded and standard base64 tolerated), open and check the COSE envelope (cose.c),
 * validate the claims against the request (cat_claims.c), fill the identity, and when the token
 * asks for it compute a renewed token (catr) or the answer for a failed claim (catif).
 *
 * The hot path (a valid token, want_claims off, no renewal due) allocates nothing: the decoded
 * token, the scratch for indefinite strings and the claim table live on the stack, the MAC uses
 * the verifier's pre-keyed context. Renewal and catif allocate (new tokens, response headers).
 *
 * Issuing and inspecting (wd__cat_issue, wd__cat_inspect) live in cat_json.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cbor.h>

#include "token/cat_internal.h"
#include "util/codec.h"
#include "util/url.h"

#define DEFAULT_HEADER "CTA-Common-Access-Token"
#define ALT_HEADER "Common-Access-Token"
#define RENEW_HEADER "cta-common-access-token" /* node-cat's response header and cookie name */

/* ---- finding the token ---- */

/* Token text of a header value: up to the first ';', ',' or white space. */
static wd_span_t header_token(const char *h) {
  while (*h == ' ' || *h == '\t')
    h++;
  size_t n = strcspn(h, "; \t,");
  return (wd_span_t){h, n};
}

static int from_cookies(const wd_request_t *req, const char *name, wd_span_t *val) {
  for (size_t i = 0; i < req->nheaders; i++) {
    const wd_header_t *h = &req->headers[i];
    if (h->name && h->value && strcasecmp(h->name, "Cookie") == 0 &&
        wd_cookie_find(h->value, name, val) == 0 && val->n > 0)
      return 0;
  }
  return WD_ENOTOKEN;
}

/* Percent-decode into buf when the value needs it. */
static int settle(wd_span_t val, char *buf, size_t cap, const char **tok, size_t *len) {
  if (!memchr(val.p, '%', val.n)) {
    *tok = val.p;
    *len = val.n;
    return 0;
  }
  if (!buf || cap == 0)
    return WD_ETOOBIG;
  long n = wd_pct_decode(val.p, val.n, buf, cap, 0);
  if (n < 0)
    return WD_EMALFORMED;
  *tok = buf;
  *len = (size_t)n;
  return 0;
}

int wd__cat_find(const wd_verify_opts_t *opts, const wd_request_t *req, char *buf, size_t cap,
                 const char **tok, size_t *len, wd_cat_source_t *src, const char **name) {
  const wd_cat_opts_t *o = &opts->cat;
  const char *hnames[2] = {o->header_name ? o->header_name : DEFAULT_HEADER,
                           o->header_name ? NULL : ALT_HEADER};
  const char *cnames[4] = {DEFAULT_HEADER, ALT_HEADER, RENEW_HEADER, "common-access-token"};
  size_t ncookie = 4;
  const char *qnames[2] = {o->query_param ? o->query_param : "cat",
                           o->query_param ? NULL : "CAT"};
  wd_span_t val;
  if (!req)
    return WD_ENOTOKEN;
  if (o->cookie_name || o->header_name) {
    cnames[0] = o->cookie_name ? o->cookie_name : o->header_name;
    ncookie = 1;
  }
  for (size_t i = 0; i < 2; i++) {
    const char *h = hnames[i] ? wd_request_header(req, hnames[i]) : NULL;
    if (h && (val = header_token(h)).n > 0) {
      *src = WD_CAT_FROM_HEADER;
      *name = hnames[i];
      return settle(val, buf, cap, tok, len);
    }
  }
  for (size_t i = 0; i < ncookie; i++) {
    if (from_cookies(req, cnames[i], &val) == 0) {
      *src = WD_CAT_FROM_COOKIE;
      *name = cnames[i];
      return settle(val, buf, cap, tok, len);
    }
  }
  wd_url_t u;
  if (req->url && wd_url_split(req->url, &u) == 0) {
    for (size_t i = 0; i < 2; i++) {
      if (qnames[i] && wd_query_find(u.query, qnames[i], &val) == 0 && val.n > 0) {
        *src = WD_CAT_FROM_QUERY;
        *name = qnames[i];
        return settle(val, buf, cap, tok, len);
      }
    }
  }
  return WD_ENOTOKEN;
}

/*
 * Find the CAT in the request: header CTA-Common-Access-Token / Common-Access-Token (or
 * opts->cat.header_name), then a cookie of those names (or cookie_name), then the query parameter
 * cat / CAT (or query_param). Percent-encoded values are decoded into buf.
 */
int wd__cat_extract(const wd_verify_opts_t *opts, const wd_request_t *req, char *buf, size_t cap,
                    const char **tok, size_t *len) {
  wd_cat_source_t src;
  const char *name;
  return wd__cat_find(opts, req, buf, cap, tok, len, &src, &name);
}

/* ---- writing claims maps ---- */

/* Claim values that replace (or are added to) a copied claims map. */
typedef struct override {
  int64_t label;
  const uint8_t *val; /* encoded CBOR value */
  size_t len;
  int if_missing;     /* only added when the map lacks the claim */
} override_t;

/*
 * A claims map made of the entries as received (bytes copied, never re-encoded) with overrides
 * applied. *out is malloc'd.
 */
static int rebuild_map(const wd_cat_entry_t *e, size_t n, const override_t *ov, size_t nov,
                       uint8_t **out, size_t *outlen) {
  size_t cap = 16, count = 0, at = 0;
  int present[8] = {0};
  if (nov > 8)
    return WD_EINVAL;
  for (size_t i = 0; i < n; i++) {
    cap += (size_t)(e[i].val + e[i].val_len - e[i].key);
    for (size_t j = 0; j < nov; j++)
      if (e[i].label == ov[j].label)
        present[j] = 1;
  }
  for (size_t j = 0; j < nov; j++)
    cap += ov[j].len + 9;
  count = n;
  for (size_t j = 0; j < nov; j++)
    if (!present[j])
      count++;
  uint8_t *buf = malloc(cap);
  if (!buf)
    return WD_ENOMEM;
  at = cbor_encode_map_start(count, buf, cap);
  for (size_t i = 0; i < n; i++) {
    const override_t *rep = NULL;
    for (size_t j = 0; j < nov; j++)
      if (e[i].label == ov[j].label && !ov[j].if_missing)
        rep = &ov[j];
    if (rep) {
      size_t kl = (size_t)(e[i].val - e[i].key);
      memcpy(buf + at, e[i].key, kl);
      memcpy(buf + at + kl, rep->val, rep->len);
      at += kl + rep->len;
    } else {
      size_t l = (size_t)(e[i].val + e[i].val_len - e[i].key);
      memcpy(buf + at, e[i].key, l);
      at += l;
    }
  }
  for (size_t j = 0; j < nov; j++) {
    if (present[j])
      continue;
    at += ov[j].label >= 0 ? cbor_encode_uint((uint64_t)ov[j].label, buf + at, cap - at)
                           : cbor_encode_negint((uint64_t)(-1 - ov[j].label), buf + at, cap - at);
    memcpy(buf + at, ov[j].val, ov[j].len);
    at += ov[j].len;
  }
  *out = buf;
  *outlen = at;
  return 0;
}

/* Entries of a (nested) claims map. */
static int map_entries(wd_cat_check_t *c, wd_cbor_reader_t *rd, const wd_cbor_item_t *m,
                       wd_cat_entry_t *e, size_t max, size_t *n) {
  uint64_t i = 0;
  int rc;
  *n = 0;
  if (m->kind != WD_CBOR_MAP)
    return WD_EMALFORMED;
  while ((rc = wd_cbor_more(rd, m, &i)) > 0) {
    wd_cbor_item_t k;
    int64_t label = INT64_MIN;
    const uint8_t *ks = rd->p, *vs;
    size_t vl;
    if (*n >= max || wd__cat_next(c, rd, &k) || wd_cbor_skip(rd, &k, 1) ||
        wd_cbor_span(rd, &vs, &vl))
      return WD_EMALFORMED;
    if (wd_cbor_int(&k, &label))
      label = INT64_MIN;
    e[*n] = (wd_cat_entry_t){label, ks, vs, vl};
    (*n)++;
  }
  return rc < 0 ? WD_EMALFORMED : 0;
}

/* Seal a payload with a signer and return base64url text (malloc'd). */
static int seal_text(const wd_key_t *k, const uint8_t *payload, size_t plen, int untagged,
                     char **text) {
  uint8_t *cose = NULL;
  size_t clen = 0;
  int rc = wd__cose_seal(k, payload, plen, untagged, &cose, &clen);
  if (rc)
    return rc;
  char *t = malloc(wd_b64_enc_len(clen, 0) + 1);
  if (!t) {
    free(cose);
    return WD_ENOMEM;
  }
  wd_b64_encode(cose, clen, t, 1, 0);
  free(cose);
  *text = t;
  return 0;
}

/* Safe as a response header piece: no control characters. */
static int header_safe(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] < 0x20 || p[i] == 0x7f)
      return 0;
  return 1;
}

/* Does p[0..n) contain one of the characters of set? */
static int has_any(const uint8_t *p, size_t n, const char *set) {
  for (; *set; set++)
    if (memchr(p, *set, n))
      return 1;
  return 0;
}

/* Small growable string for response headers. */
typedef struct sbuf {
  char *p;
  size_t n, cap;
  int err;
} sbuf_t;

static void sb_add(sbuf_t *b, const void *s, size_t n) {
  if (b->err)
    return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->err = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void sb_str(sbuf_t *b, const char *s) { sb_add(b, s, strlen(s)); }

/* ---- renewal (catr) ---- */

typedef struct renewal {
  int type;                  /* 0 automatic, 1 cookie, 2 header, 3 redirect */
  int64_t expadd, deadline;
  int status;
  const uint8_t *cookie_name, *header_name;
  size_t cookie_name_len, header_name_len;
  const uint8_t *cookie_params, *header_params; /* encoded items: tstr or [tstr] */
  size_t cookie_params_len, header_params_len;
} renewal_t;

static int parse_catr(wd_cat_check_t *c, renewal_t *rn) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t m, k, v;
  uint64_t i = 0;
  int rc;
  memset(rn, 0, sizeof *rn);
  rn->deadline = 60;
  rn->status = 302;
  wd_cbor_init(&rd, c->catr->val, c->catr->val_len);
  if (wd__cat_next(c, &rd, &m) || m.kind != WD_CBOR_MAP)
    return WD_EMALFORMED;
  while ((rc = wd_cbor_more(&rd, &m, &i)) > 0) {
    int64_t key, n = 0;
    const uint8_t *vs = rd.p;
    if (wd__cat_next(c, &rd, &k) || wd_cbor_int(&k, &key))
      return WD_EMALFORMED;
    vs = rd.p;
    if (wd__cat_next(c, &rd, &v))
      return WD_EMALFORMED;
    const uint8_t *p;
    size_t len;
    switch (key) {
    case 0:
    case 1:
    case 2:
    case 7:
      if (wd_cbor_int(&v, &n))
        return WD_EMALFORMED;
      if (key == 0)
        rn->type = (int)n;
      else if (key == 1)
        rn->expadd = n;
      else if (key == 2)
        rn->deadline = n;
      else
        rn->status = (int)n;
      break;
    case 3:
    case 4:
      if (wd_cbor_string(&rd, &v, WD_CBOR_TEXT, c->scratch, c->scratch_cap, &c->scratch_used, &p,
                         &len) ||
          !header_safe(p, len) || len == 0 || has_any(p, len, "=;:, "))
        return WD_EMALFORMED;
      if (key == 3)
        rn->cookie_name = p, rn->cookie_name_len = len;
      else
        rn->header_name = p, rn->header_name_len = len;
      break;
    case 5:
    case 6:
      if (wd_cbor_skip(&rd, &v, 1))
        return WD_EMALFORMED;
      if (key == 5)
        rn->cookie_params = vs, rn->cookie_params_len = (size_t)(rd.p - vs);
      else
        rn->header_params = vs, rn->header_params_len = (size_t)(rd.p - vs);
      break;
    default:
      if (wd_cbor_skip(&rd, &v, 1))
        return WD_EMALFORMED;
    }
  }
  return rc < 0 ? WD_EMALFORMED : 0;
}

/* Append "; p1; p2" from an encoded tstr or [tstr]. */
static int add_params(wd_cat_check_t *c, sbuf_t *b, const uint8_t *enc, size_t n) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t v, el;
  uint64_t i = 0;
  int rc;
  if (!enc)
    return 0;
  wd_cbor_init(&rd, enc, n);
  if (wd__cat_next(c, &rd, &v))
    return WD_EMALFORMED;
  int single = v.kind != WD_CBOR_ARRAY;
  while (single || (rc = wd_cbor_more(&rd, &v, &i)) > 0) {
    const uint8_t *p;
    size_t len;
    if (single)
      el = v;
    else if (wd__cat_next(c, &rd, &el))
      return WD_EMALFORMED;
    if (wd_cbor_string(&rd, &el, WD_CBOR_TEXT, c->scratch, c->scratch_cap, &c->scratch_used, &p,
                       &len) ||
        !header_safe(p, len))
      return WD_EMALFORMED;
    sb_str(b, "; ");
    sb_add(b, p, len);
    if (single)
      return 0;
  }
  return rc < 0 ? WD_EMALFORMED : 0;
}

/* The request URL with the token query parameter set to `token` (replaced or appended). */
static int redirect_url(const char *url, const char *name, const char *token, sbuf_t *b) {
  const char *hash = strchr(url, '#');
  size_t end = hash ? (size_t)(hash - url) : strlen(url);
  const char *q = memchr(url, '?', end);
  if (q) {
    const char *p = q + 1, *e = url + end;
    while (p < e) {
      const char *amp = memchr(p, '&', (size_t)(e - p));
      const char *pe = amp ? amp : e;
      const char *eq = memchr(p, '=', (size_t)(pe - p));
      size_t kn = (size_t)((eq ? eq : pe) - p);
      if (kn == strlen(name) && memcmp(p, name, kn) == 0) {
        sb_add(b, url, (size_t)(p - url));
        sb_str(b, name);
        sb_str(b, "=");
        sb_str(b, token);
        sb_str(b, pe);
        return b->err ? WD_ENOMEM : 0;
      }
      p = amp ? amp + 1 : e;
    }
  }
  sb_add(b, url, end);
  sb_str(b, !q ? "?" : (q + 1 == url + end) ? "" : "&");
  sb_str(b, name);
  sb_str(b, "=");
  sb_str(b, token);
  if (hash)
    sb_str(b, hash);
  return b->err ? WD_ENOMEM : 0;
}

static int add_header(wd_result_t *r, const char *name, size_t nlen, const char *value) {
  char nm[128];
  if (nlen >= sizeof nm)
    return WD_ERANGE;
  memcpy(nm, name, nlen);
  nm[nlen] = '\0';
  return wd_response_add(&r->response, nm, value);
}

/* When due, mint the renewed token and say how to deliver it. Renewal problems never fail the
 * (valid) token; they leave r->renew at WD_DELIVER_NONE. */
static void renew(wd_cat_check_t *c, const wd_request_t *req, wd_result_t *r,
                  wd_cat_source_t src, const char *srcname) {
  const wd_verify_opts_t *opts = c->opts;
  renewal_t rn;
  if (!c->catr || !c->exp || opts->cat.no_renew)
    return;
  int64_t now = c->now, exp = c->exp_value;
  size_t mark = c->scratch_used;
  if (parse_catr(c, &rn) || rn.expadd <= 0 || rn.deadline < 0 || !(now >= exp - rn.deadline) ||
      !(now < exp)) {
    c->scratch_used = mark;
    return;
  }
  const wd_key_t *k = wd_keyring_signer(wd_verifier_keyring(c->v), WD_SCHEME_CAT, NULL,
                                        c->iss_text[0] ? c->iss_text : NULL);
  uint8_t cti[17], iat[9], expv[9], *payload = NULL;
  size_t plen = 0;
  char *token = NULL;
  sbuf_t val = {0};
  cti[0] = 0x50; /* bstr of 16 */
  if (!k || wd__random(cti + 1, 16))
    goto out;
  if (now < 0)
    goto out;
  override_t ov[3] = {
      {WD_CAT_CTI, cti, sizeof cti, 0},
      {WD_CAT_IAT, iat, cbor_encode_uint((uint64_t)now, iat, sizeof iat), 0},
      {WD_CAT_EXP, expv, cbor_encode_uint((uint64_t)(now + rn.expadd), expv, sizeof expv), 0},
  };
  if (rebuild_map(c->entries, c->nentries, ov, 3, &payload, &plen) ||
      seal_text(k, payload, plen, opts->cat.tagless, &token))
    goto out;

  wd_delivery_t how = rn.type == 1   ? WD_DELIVER_COOKIE
                      : rn.type == 2 ? WD_DELIVER_HEADER
                      : rn.type == 3 ? WD_DELIVER_REDIRECT
                      : src == WD_CAT_FROM_COOKIE ? WD_DELIVER_COOKIE
                      : src == WD_CAT_FROM_QUERY  ? WD_DELIVER_REDIRECT
                                                  : WD_DELIVER_HEADER;
  if (how == WD_DELIVER_REDIRECT && !(req && req->url))
    how = WD_DELIVER_HEADER; /* nowhere to redirect to */
  int rc = 0;
  if (how == WD_DELIVER_HEADER) {
    sb_str(&val, token);
    rc = add_params(c, &val, rn.header_params, rn.header_params_len);
    if (!rc && !val.err)
      rc = rn.header_name
               ? add_header(r, (const char *)rn.header_name, rn.header_name_len, val.p)
               : wd_response_add(&r->response, RENEW_HEADER, val.p);
  } else if (how == WD_DELIVER_COOKIE) {
    if (rn.cookie_name)
      sb_add(&val, rn.cookie_name, rn.cookie_name_len);
    else
      sb_str(&val, RENEW_HEADER);
    sb_str(&val, "=");
    sb_str(&val, token);
    rc = add_params(c, &val, rn.cookie_params, rn.cookie_params_len);
    if (!rc && !val.err)
      rc = wd_response_add(&r->response, "Set-Cookie", val.p);
  } else {
    const char *qname = src == WD_CAT_FROM_QUERY && srcname ? srcname
                        : opts->cat.query_param             ? opts->cat.query_param
                                                            : "cat";
    rc = redirect_url(req->url, qname, token, &val);
    if (!rc && !val.err)
      rc = wd_response_add(&r->response, "Location", val.p);
    if (!rc)
      r->response.status = rn.status >= 300 && rn.status <= 399 ? rn.status : 302;
  }
  if (rc || val.err)
    goto out;
  r->renew = how;
  r->renewed_token = token;
  token = NULL;
out:
  c->scratch_used = mark;
  free(val.p);
  free(token);
  free(payload);
}

/* ---- catif ---- */

/* For the failed claim, apply catif: [status, {header: value | [url-prefix, claims]}, kid?]. */
static void apply_catif(wd_cat_check_t *c, wd_result_t *r) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t m, k, arr, st, hm, kidit;
  uint64_t i = 0, j = 0;
  int64_t label;
  if (!c->catif || c->failed_label < 0)
    return;
  size_t mark = c->scratch_used;
  wd_cbor_init(&rd, c->catif->val, c->catif->val_len);
  if (wd__cat_next(c, &rd, &m) || m.kind != WD_CBOR_MAP)
    return;
  int found = 0;
  while (wd_cbor_more(&rd, &m, &i) > 0) {
    if (wd__cat_next(c, &rd, &k))
      return;
    if (wd_cbor_int(&k, &label) == 0 && label == c->failed_label) {
      found = 1;
      break;
    }
    if (wd_cbor_skip(&rd, &k, 1) || wd_cbor_next(&rd, &arr) || wd_cbor_skip(&rd, &arr, 1))
      return;
  }
  if (!found || wd__cat_next(c, &rd, &arr) || arr.kind != WD_CBOR_ARRAY || arr.indef ||
      arr.u < 2 || wd_cbor_next(&rd, &st) || st.kind != WD_CBOR_UINT || st.u < 100 || st.u > 599)
    return;
  /* the kid (third element) is needed before the headers: look ahead */
  wd_cbor_reader_t ahead = rd;
  char kid[128] = "";
  if (arr.u >= 3 && wd__cat_next(c, &ahead, &hm) == 0 && wd_cbor_skip(&ahead, &hm, 1) == 0 &&
      wd_cbor_next(&ahead, &kidit) == 0 &&
      (kidit.kind == WD_CBOR_TEXT || kidit.kind == WD_CBOR_BYTES) && !kidit.indef &&
      kidit.u < sizeof kid && !memchr(kidit.data, '\0', (size_t)kidit.u)) {
    memcpy(kid, kidit.data, (size_t)kidit.u);
    kid[kidit.u] = '\0';
  }
  if (wd__cat_next(c, &rd, &hm) || hm.kind != WD_CBOR_MAP)
    return;
  r->response.status = (int)st.u;
  while (wd_cbor_more(&rd, &hm, &j) > 0) {
    wd_cbor_item_t hk, hv;
    const uint8_t *name, *p;
    size_t nlen, len;
    if (wd__cat_next(c, &rd, &hk) ||
        wd_cbor_string(&rd, &hk, WD_CBOR_TEXT, c->scratch, c->scratch_cap, &c->scratch_used,
                       &name, &nlen) ||
        !header_safe(name, nlen) || nlen == 0 || memchr(name, ':', nlen) ||
        wd__cat_next(c, &rd, &hv))
      break;
    if (hv.kind == WD_CBOR_TEXT) {
      if (wd_cbor_string(&rd, &hv, WD_CBOR_TEXT, c->scratch, c->scratch_cap, &c->scratch_used,
                         &p, &len) ||
          !header_safe(p, len))
        break;
      sbuf_t b = {0};
      sb_add(&b, p, len);
      if (!b.err)
        add_header(r, (const char *)name, nlen, b.p);
      free(b.p);
      continue;
    }
    /* [url-prefix, claims]: mint a token with those claims, appended to the prefix */
    wd_cbor_item_t pre, cm;
    wd_cat_entry_t e[WD_CAT_MAX_CLAIMS];
    size_t ne = 0;
    if (hv.kind != WD_CBOR_ARRAY || hv.indef || hv.u != 2 || wd__cat_next(c, &rd, &pre) ||
        wd_cbor_string(&rd, &pre, WD_CBOR_TEXT, c->scratch, c->scratch_cap, &c->scratch_used, &p,
                       &len) ||
        !header_safe(p, len) || wd__cat_next(c, &rd, &cm) ||
        map_entries(c, &rd, &cm, e, WD_CAT_MAX_CLAIMS, &ne))
      break;
    const wd_key_t *key = wd_keyring_signer(wd_verifier_keyring(c->v), WD_SCHEME_CAT,
                                            kid[0] ? kid : NULL,
                                            c->iss_text[0] ? c->iss_text : NULL);
    uint8_t iat[9], iss[300], *payload = NULL;
    size_t isslen = 0, plen = 0;
    char *token = NULL;
    if (c->iss_text[0]) {
      size_t l = strlen(c->iss_text);
      isslen = wd_cbor_head(iss, 3, l);
      memcpy(iss + isslen, c->iss_text, l);
      isslen += l;
    }
    override_t ov[2] = {{WD_CAT_IAT, iat, cbor_encode_uint((uint64_t)(c->now < 0 ? 0 : c->now), iat, sizeof iat), 1},
                        {WD_CAT_ISS, iss, isslen, 1}};
    if (key && rebuild_map(e, ne, ov, isslen ? 2 : 1, &payload, &plen) == 0 &&
        seal_text(key, payload, plen, c->opts->cat.tagless, &token) == 0) {
      sbuf_t b = {0};
      sb_add(&b, p, len);
      sb_str(&b, token);
      if (!b.err)
        add_header(r, (const char *)name, nlen, b.p);
      free(b.p);
    }
    free(token);
    free(payload);
  }
  c->scratch_used = mark;
}

/* ---- verification ---- */

/* Where a token handed in directly came from, by looking for it in the request. */
static wd_cat_source_t find_source(const wd_verify_opts_t *opts, const wd_request_t *req,
                                   const char *tok, size_t len, const char **name) {
  char buf[WD_TOKEN_MAX + 1];
  const char *t;
  size_t n;
  wd_cat_source_t src;
  if (wd__cat_find(opts, req, buf, sizeof buf, &t, &n, &src, name) == 0 && n == len &&
      memcmp(t, tok, n) == 0)
    return src;
  *name = NULL;
  return WD_CAT_FROM_ARG;
}

int wd__cat_verify(wd_verifier_t *v, const wd_verify_opts_t *opts, const char *tok, size_t len,
                   const wd_request_t *req, wd_result_t *r) {
  char ebuf[WD_TOKEN_MAX + 1];
  uint8_t raw[WD_CAT_MAX_BYTES];
  uint8_t scratch[WD_CAT_SCRATCH];
  size_t rawlen = 0, used = 0;
  wd_cat_source_t src = WD_CAT_FROM_ARG;
  const char *srcname = NULL;
  char why[200];
  int rc;

  if (!tok) {
    rc = wd__cat_find(opts, req, ebuf, sizeof ebuf, &tok, &len, &src, &srcname);
    if (rc == WD_ENOTOKEN)
      return wd_result_fail(r, WD_ENOTOKEN, NULL,
                            "no CAT in the request (header %s, cookie, or query parameter %s)",
                            opts->cat.header_name ? opts->cat.header_name : DEFAULT_HEADER,
                            opts->cat.query_param ? opts->cat.query_param : "cat");
    if (rc)
      return wd_result_fail(r, rc, NULL, "the CAT in the request is badly percent-encoded");
  }
  while (len && isspace((unsigned char)tok[len - 1]))
    len--;
  while (len && isspace((unsigned char)*tok))
    tok++, len--;
  if (len == 0)
    return wd_result_fail(r, WD_EMALFORMED, NULL, "empty token");
  if (len > WD_TOKEN_MAX)
    return wd_result_fail(r, WD_ETOOBIG, NULL, "token of %zu bytes exceeds the %d byte limit", len,
                          WD_TOKEN_MAX);
  rc = wd_b64_decode(tok, len, raw, sizeof raw, &rawlen, WD_B64_ANY);
  if (rc == WD_ETOOBIG)
    return wd_result_fail(r, WD_ETOOBIG, NULL, "decoded token exceeds %d bytes", WD_CAT_MAX_BYTES);
  if (rc)
    return wd_result_fail(r, WD_EMALFORMED, NULL, "token is not base64url text");

  wd_cose_t m;
  if ((rc = wd__cose_open(raw, rawlen, scratch, sizeof scratch, &used, &m, why, sizeof why)) != 0)
    return wd_result_fail(r, rc, NULL, "%s", why);
  const wd_key_t *key = NULL;
  if ((rc = wd__cose_verify(v, &m, &key, why, sizeof why)) != 0)
    return wd_result_fail(r, rc, NULL, "%s", why);

  const uint8_t *payload = m.payload;
  size_t plen = m.payload_len;
  if (m.payload_text) {
    size_t n = 0;
    if (!opts->cat.allow_text_payload)
      return wd_result_fail(r, WD_EMALFORMED, NULL,
                            "payload is a text string (legacy node-cat hex payload), not a byte "
                            "string");
    if (wd_hex_decode((const char *)m.payload, m.payload_len, scratch + used,
                      sizeof scratch - used, &n))
      return wd_result_fail(r, WD_EMALFORMED, NULL, "legacy text payload is not hex");
    payload = scratch + used;
    plen = n;
    used += n;
  }

  wd_cat_check_t c;
  wd__cat_check_init(&c, v, opts, req, scratch, sizeof scratch, used);
  rc = wd__cat_claims_check(&c, payload, plen, r);
  if (!r->id.token_id[0])
    wd__identity_hash_id(v, &r->id, tok, len);
  if (opts->want_claims && !r->claims)
    r->claims = wd__cat_claims_to_json(payload, plen);
  if (rc) {
    apply_catif(&c, r);
    return rc;
  }
  if (c.catr && !opts->cat.no_renew) {
    if (src == WD_CAT_FROM_ARG)
      src = find_source(opts, req, tok, len, &srcname);
    renew(&c, req, r, src, srcname);
  }
  return 0;
}
