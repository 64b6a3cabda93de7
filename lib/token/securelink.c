/*
 * md5 secure links: nginx secure_link_md5, the Gcore-style `?md5=TOKEN&expires=EXP` links and
 * CDN77's `?secure=TOKEN,EXP`.
 *
 * TOKEN is the MD5 of a string built from a template (`$expires$uri$remote_addr $secret`, ...)
 * in base64url without padding (CDN77: with padding). The key is the secret text (a WD_ALG_MD5
 * key) substituted for `$secret`; literal text in the template is signed as written.
 *
 * Verification follows ngx_http_secure_link_module exactly: the value is at most 24 characters,
 * decoding stops at the first '=', '+' and '/' are refused, the hash must be 16 bytes; the hash
 * is checked before the expiry, so a wrong hash on an expired link says "invalid" (nginx "",
 * 403: WD_ESIGNATURE) and only a right hash past its time says "expired" (nginx "0", 410:
 * WD_EEXPIRED). A link is expired when expires < now. Parameters are read raw (not
 * percent-decoded), the first of repeated ones, names compared case-insensitively, as nginx's
 * $arg_* are. `$uri` is the request path decoded and
 * normalised (nginx's $uri), never the query. A link without an expires parameter never
 * expires; a template that signs `$expires` then needs one (as nginx's usual
 * `secure_link $arg_md5,$arg_expires`, where an empty expires is invalid).
 *
 * This file also holds wd__path_normalize, the $uri computation the other URL schemes reuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "token/internal.h"
#include "util/codec.h"
#include "util/url.h"

#define SL_TPL_MAX 1024  /* template text */
#define SL_TPL_SEGS 32   /* literal and variable pieces in a template */
#define SL_TOKEN_MAX 24  /* nginx refuses longer values */
#define SL_PATH_MAX 4096 /* decoded request path */
#define SL_URL_MAX 16384 /* request or issued URL */
#define SL_EXPIRES_DIGITS 18

/* ---- $uri: decoded, normalised path ------------------------------------------------------ */

long wd__path_normalize(const char *path, size_t n, char *out, size_t cap) {
  size_t o = 0;
  if (cap < 2)
    return WD_ETOOBIG;
  if (n == 0) { /* "http://host" asks for "/" */
    out[0] = '/';
    out[1] = '\0';
    return 1;
  }
  if (path[0] != '/')
    return WD_EMALFORMED;
  for (size_t i = 0; i < n; i++) {
    char c = path[i];
    if (c == '%') {
      if (i + 2 >= n)
        return WD_EMALFORMED;
      int h = wd_hex_digit(path[i + 1]), l = wd_hex_digit(path[i + 2]);
      if (h < 0 || l < 0)
        return WD_EMALFORMED;
      c = (char)(h << 4 | l);
      i += 2;
    }
    if (c == '\0')
      return WD_EMALFORMED;
    if (c == '/' && o > 0 && out[o - 1] == '/')
      continue; /* merge_slashes */
    if (o + 1 >= cap)
      return WD_ETOOBIG;
    out[o++] = c;
    if (c != '/')
      continue;
    /* A segment just ended at this '/': resolve it when it is "." or "..". */
    if (o >= 3 && out[o - 2] == '.' && out[o - 3] == '/') {
      o -= 2; /* "/./" -> "/" */
    } else if (o >= 4 && out[o - 2] == '.' && out[o - 3] == '.' && out[o - 4] == '/') {
      o -= 3; /* drop "../" and the segment before it */
      if (o == 1)
        return WD_EMALFORMED; /* above the root */
      o--;
      while (o > 0 && out[o - 1] != '/')
        o--;
    }
  }
  /* A final "." or ".." segment without a trailing slash. */
  if (o >= 2 && out[o - 1] == '.' && out[o - 2] == '/') {
    o--;
  } else if (o >= 3 && out[o - 1] == '.' && out[o - 2] == '.' && out[o - 3] == '/') {
    o -= 2;
    if (o == 1)
      return WD_EMALFORMED;
    o--;
    while (o > 0 && out[o - 1] != '/')
      o--;
  }
  out[o] = '\0';
  return (long)o;
}

/* ---- templates --------------------------------------------------------------------------- */

typedef enum { SEG_LIT, SEG_EXPIRES, SEG_URI, SEG_ADDR, SEG_SECRET } seg_kind_t;

typedef struct tpl_seg {
  seg_kind_t kind;
  const char *p; /* literal text */
  size_t n;
} tpl_seg_t;

typedef struct tpl {
  tpl_seg_t seg[SL_TPL_SEGS];
  size_t nseg;
  int uses[SEG_SECRET + 1];
} tpl_t;

static const char *default_template(const wd_securelink_opts_t *o) {
  if (o->template_str)
    return o->template_str;
  return o->style == WD_SECURELINK_CDN77 ? "$expires$uri$secret" : "$expires$uri $secret";
}

static int is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int tpl_add(tpl_t *t, seg_kind_t kind, const char *p, size_t n) {
  if (kind == SEG_LIT && n == 0)
    return 0;
  if (t->nseg >= SL_TPL_SEGS)
    return WD_EINVAL;
  t->seg[t->nseg].kind = kind;
  t->seg[t->nseg].p = p;
  t->seg[t->nseg].n = n;
  t->nseg++;
  t->uses[kind] = 1;
  return 0;
}

/* Compile a template; WD_EINVAL with a reason in err for an unknown variable or one too long. */
static int tpl_parse(const char *s, tpl_t *t, char *err, size_t errlen) {
  static const struct {
    const char *name;
    seg_kind_t kind;
  } vars[] = {{"expires", SEG_EXPIRES},
              {"secure_link_expires", SEG_EXPIRES},
              {"uri", SEG_URI},
              {"remote_addr", SEG_ADDR},
              {"secret", SEG_SECRET}};
  memset(t, 0, sizeof *t);
  size_t len = strlen(s);
  if (len == 0 || len > SL_TPL_MAX) {
    snprintf(err, errlen, "secure link template must be 1..%d bytes", SL_TPL_MAX);
    return WD_EINVAL;
  }
  const char *lit = s, *p = s, *end = s + len;
  while (p < end) {
    if (*p != '$') {
      p++;
      continue;
    }
    if (tpl_add(t, SEG_LIT, lit, (size_t)(p - lit)))
      goto toolong;
    const char *name = p + 1, *ne;
    int braced = name < end && *name == '{';
    if (braced)
      name++;
    ne = name;
    while (ne < end && is_name_char(*ne))
      ne++;
    if (braced && (ne >= end || *ne != '}')) {
      snprintf(err, errlen, "secure link template: unterminated ${ at offset %zu", (size_t)(p - s));
      return WD_EINVAL;
    }
    size_t nl = (size_t)(ne - name);
    size_t i;
    for (i = 0; i < sizeof vars / sizeof *vars; i++)
      if (strlen(vars[i].name) == nl && memcmp(vars[i].name, name, nl) == 0)
        break;
    if (i == sizeof vars / sizeof *vars) {
      snprintf(err, errlen,
               "secure link template: unknown variable '$%.*s' (expected $expires, $uri, "
               "$remote_addr or $secret)",
               (int)(nl > 40 ? 40 : nl), name);
      return WD_EINVAL;
    }
    if (tpl_add(t, vars[i].kind, NULL, 0))
      goto toolong;
    p = ne + (braced ? 1 : 0);
    lit = p;
  }
  if (tpl_add(t, SEG_LIT, lit, (size_t)(end - lit)))
    goto toolong;
  return 0;
toolong:
  snprintf(err, errlen, "secure link template has more than %d pieces", SL_TPL_SEGS);
  return WD_EINVAL;
}

typedef struct tpl_vals {
  wd_span_t expires, uri, addr, secret;
} tpl_vals_t;

static size_t tpl_expand(const tpl_t *t, const tpl_vals_t *v, wd_iov_t *parts) {
  for (size_t i = 0; i < t->nseg; i++) {
    const tpl_seg_t *s = &t->seg[i];
    wd_span_t x = {s->p, s->n};
    switch (s->kind) {
    case SEG_EXPIRES:
      x = v->expires;
      break;
    case SEG_URI:
      x = v->uri;
      break;
    case SEG_ADDR:
      x = v->addr;
      break;
    case SEG_SECRET:
      x = v->secret;
      break;
    default:
      break;
    }
    parts[i].p = x.p;
    parts[i].n = x.n;
  }
  return t->nseg;
}

/* $uri of a raw path: decoded, normalised, cut after the last '/' for directory scope. */
static long uri_of(const wd_securelink_opts_t *o, wd_span_t path, char *out, size_t cap) {
  long n = wd__path_normalize(path.p, path.n, out, cap);
  if (n < 0)
    return n;
  if (o->directory_scope) {
    while (n > 0 && out[n - 1] != '/')
      n--;
    out[n] = '\0';
  }
  return n;
}

/* ---- token values ------------------------------------------------------------------------ */

/* nginx ngx_decode_base64url over a secure_link value: 16 bytes or -1. */
static int decode_hash(const char *s, size_t n, uint8_t out[16]) {
  size_t len = 0, ol = 0;
  if (n > SL_TOKEN_MAX)
    return -1;
  while (len < n && s[len] != '=') {
    char c = s[len];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return -1;
    len++;
  }
  if (len != 22) /* the only length that decodes to 16 bytes */
    return -1;
  if (wd_b64_decode(s, len, out, 16, &ol, WD_B64_URL) || ol != 16)
    return -1;
  return 0;
}

/* nginx ngx_atotm plus its `expires <= 0` check: digits only, positive, no overflow. */
static int parse_expires(const char *s, size_t n, int64_t *out) {
  int64_t v = 0;
  if (n == 0 || n > SL_EXPIRES_DIGITS)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (v <= 0)
    return -1;
  *out = v;
  return 0;
}

/* The raw value of the first query parameter `name=`, the name compared case-insensitively as
 * nginx's $arg_* are (a bare `name` without '=' does not count); WD_ENOTOKEN when absent. */
static int arg_find(wd_span_t query, const char *name, wd_span_t *val) {
  if (!query.p || !query.n)
    return WD_ENOTOKEN;
  size_t nl = strlen(name);
  const char *p = query.p, *end = query.p + query.n;
  while (p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pe - p));
    const char *ke = eq ? eq : pe;
    if (eq && (size_t)(ke - p) == nl && strncasecmp(p, name, nl) == 0) {
      val->p = eq + 1;
      val->n = (size_t)(pe - eq - 1);
      return 0;
    }
    p = amp ? amp + 1 : end;
  }
  return WD_ENOTOKEN;
}

static const char *md5_name(const wd_securelink_opts_t *o) {
  return o->md5_param ? o->md5_param : "md5";
}
static const char *expires_name(const wd_securelink_opts_t *o) {
  return o->expires_param ? o->expires_param : "expires";
}

/* ---- verify ------------------------------------------------------------------------------ */

int wd__securelink_verify(wd_verifier_t *v, const wd_verify_opts_t *opts, const char *tok,
                          size_t len, const wd_request_t *req, wd_result_t *r) {
  const wd_securelink_opts_t *o = &opts->securelink;
  char err[160];
  tpl_t t;
  int rc = tpl_parse(default_template(o), &t, err, sizeof err);
  if (rc)
    return wd_result_fail(r, rc, NULL, "%s", err);

  wd_url_t u;
  int have_url =
      req && req->url && strlen(req->url) <= SL_URL_MAX && wd_url_split(req->url, &u) == 0;
  if (req && req->url && !have_url)
    return wd_result_fail(r, WD_EMALFORMED, NULL, "request URL cannot be parsed");

  /* The token and its expires: "TOKEN,EXP" (CDN77 secure=, nginx's secure_link variable), or the
   * md5 parameter plus the expires parameter. */
  wd_span_t val, exp = {NULL, 0};
  int have_exp = 0;
  if (tok) {
    val.p = tok;
    val.n = len;
  } else {
    if (!have_url)
      return wd_result_fail(r, WD_ENOTOKEN, NULL, "no request URL to take the secure link from");
    const char *pname = o->style == WD_SECURELINK_CDN77 ? "secure" : md5_name(o);
    if (arg_find(u.query, pname, &val))
      return wd_result_fail(r, WD_ENOTOKEN, NULL, "no '%s' parameter in the request URL", pname);
  }
  if (val.n > SL_URL_MAX)
    return wd_result_fail(r, WD_ETOOBIG, NULL, "secure link value too long");
  const char *comma = memchr(val.p, ',', val.n);
  if (comma) {
    exp.p = comma + 1;
    exp.n = val.n - (size_t)(comma - val.p) - 1;
    val.n = (size_t)(comma - val.p);
    have_exp = 1;
  } else if (o->style == WD_SECURELINK_NGINX && have_url &&
             arg_find(u.query, expires_name(o), &exp) == 0) {
    have_exp = 1;
  }

  uint8_t hash[16];
  int64_t expires = 0;
  if (decode_hash(val.p, val.n, hash))
    return wd_result_fail(r, WD_ESIGNATURE, NULL,
                          "invalid secure link: the hash is not 22 base64url characters");
  if (have_exp && parse_expires(exp.p, exp.n, &expires))
    return wd_result_fail(r, WD_ESIGNATURE, NULL,
                          "invalid secure link: expires is not a positive unix time");
  if (!have_exp && t.uses[SEG_EXPIRES])
    return wd_result_fail(r, WD_ESIGNATURE, NULL,
                          "invalid secure link: the template signs $expires but the link has none");

  char canon[32];
  wd_b64_encode(hash, 16, canon, 1, 0);
  wd__identity_hash_id(v, &r->id, canon, strlen(canon));
  r->id.exp = expires;

  char uri[SL_PATH_MAX];
  long urilen = 0;
  if (t.uses[SEG_URI]) {
    if (!have_url)
      return wd_result_fail(r, WD_EINVAL, NULL,
                            "the template signs $uri but the request has no URL");
    urilen = uri_of(o, u.path, uri, sizeof uri);
    if (urilen < 0)
      return wd_result_fail(r, WD_ESIGNATURE, NULL,
                            "invalid secure link: the request path does not decode");
  }
  wd_span_t addr = {NULL, 0};
  if (t.uses[SEG_ADDR]) {
    if (!req || !req->ip || !*req->ip)
      return wd_result_fail(
          r, WD_ECLAIM, "ip",
          "the link is bound to $remote_addr but the request has no client address");
    addr.p = req->ip;
    addr.n = strlen(req->ip);
    if (addr.n > 64)
      return wd_result_fail(r, WD_ECLAIM, "ip", "client address too long");
    wd__copy_field(r->id.ip, sizeof r->id.ip, addr.p, addr.n);
  }

  tpl_vals_t vals = {exp, {uri, (size_t)urilen}, addr, {NULL, 0}};
  wd_iov_t parts[SL_TPL_SEGS];
  unsigned cursor = 0;
  const wd_key_t *k;
  int nkeys = 0, ok = 0;
  while (!ok && (k = wd_keyring_next(v->ring, WD_SCHEME_SECURELINK, NULL, 0, &cursor)) != NULL) {
    if (k->alg != WD_ALG_MD5 || !k->secret)
      continue;
    nkeys++;
    vals.secret.p = (const char *)k->secret;
    vals.secret.n = k->secret_len;
    size_t np = tpl_expand(&t, &vals, parts);
    unsigned char d[WD_DIGEST_MAX];
    size_t dn = 0;
    rc = wd__digest(v, WD_MD_MD5, parts, np, d, &dn);
    if (rc)
      return wd_result_fail(r, rc, NULL, "md5 digest failed");
    ok = dn == 16 && wd_ct_equal(d, hash, 16);
  }
  if (!nkeys)
    return wd_result_fail(r, WD_ENOKEY, NULL, "no securelink (MD5) key configured");
  if (!ok)
    return wd_result_fail(r, WD_ESIGNATURE, NULL, "invalid secure link: hash mismatch");

  int64_t now = wd__now(req);
  if (expires && expires + opts->leeway < now)
    return wd_result_fail(r, WD_EEXPIRED, NULL, "secure link expired at %lld (now %lld)",
                          (long long)expires, (long long)now);

  if (opts->want_claims) {
    json_t *c = json_object();
    json_object_set_new(c, "md5", json_string(canon));
    json_object_set_new(c, "expires", expires ? json_integer(expires) : json_null());
    if (t.uses[SEG_URI])
      json_object_set_new(c, "uri", json_stringn(uri, (size_t)urilen));
    json_object_set_new(c, "style",
                        json_string(o->style == WD_SECURELINK_CDN77 ? "cdn77" : "nginx"));
    r->claims = c;
  }
  return 0;
}

/* ---- issue ------------------------------------------------------------------------------- */

static int fail_issue(char *err, size_t errlen, int code, const char *msg) {
  if (err && errlen)
    snprintf(err, errlen, "%s", msg);
  return code;
}

int wd__securelink_issue(const wd_keyring_t *ring, const json_t *claims,
                         const wd_issue_opts_t *opts, char **out, char *err, size_t errlen) {
  const wd_securelink_opts_t *o = &opts->securelink;
  tpl_t t;
  char msg[160];
  int rc = tpl_parse(default_template(o), &t, msg, sizeof msg);
  if (rc)
    return fail_issue(err, errlen, rc, msg);
  if (!opts->url)
    return fail_issue(err, errlen, WD_EINVAL, "a secure link needs the URL to sign (--url)");
  size_t ulen = strlen(opts->url);
  wd_url_t u;
  if (ulen > SL_URL_MAX || wd_url_split(opts->url, &u))
    return fail_issue(err, errlen, WD_EINVAL, "the URL to sign is not an absolute or /path URL");
  const char *pname = o->style == WD_SECURELINK_CDN77 ? "secure" : md5_name(o);
  wd_span_t dummy;
  if (arg_find(u.query, pname, &dummy) == 0 ||
      (o->style == WD_SECURELINK_NGINX && arg_find(u.query, expires_name(o), &dummy) == 0))
    return fail_issue(err, errlen, WD_EINVAL, "the URL already carries secure link parameters");

  const wd_key_t *k = wd_keyring_signer(ring, WD_SCHEME_SECURELINK, opts->kid, NULL);
  if (!k)
    return fail_issue(err, errlen, WD_ENOKEY, "no securelink key to sign with");
  if (k->alg != WD_ALG_MD5 || !k->secret)
    return fail_issue(err, errlen, WD_EALG, "the securelink key is not an MD5 secret");

  json_t *je = claims ? json_object_get(claims, "exp") : NULL;
  if (!je && claims)
    je = json_object_get(claims, "expires");
  int64_t expires = 0;
  if (je) {
    if (!json_is_integer(je) || json_integer_value(je) <= 0)
      return fail_issue(err, errlen, WD_EINVAL, "exp must be a positive unix time");
    expires = json_integer_value(je);
  } else if (opts->ttl > 0) {
    expires = (opts->now ? opts->now : wd__now(NULL)) + opts->ttl;
  }
  if (!expires && t.uses[SEG_EXPIRES])
    return fail_issue(err, errlen, WD_EINVAL, "the template signs $expires: give exp or a ttl");
  const char *ip = opts->ip;
  json_t *jip = claims ? json_object_get(claims, "ip") : NULL;
  if (!ip && json_is_string(jip))
    ip = json_string_value(jip);
  if (t.uses[SEG_ADDR] && (!ip || !*ip))
    return fail_issue(err, errlen, WD_EINVAL,
                      "the template signs $remote_addr: give the client IP");

  char uri[SL_PATH_MAX];
  long urilen = 0;
  if (t.uses[SEG_URI]) {
    urilen = uri_of(o, u.path, uri, sizeof uri);
    if (urilen < 0)
      return fail_issue(err, errlen, WD_EINVAL, "the URL path does not decode to a valid path");
  }
  char exptext[24] = "";
  if (expires)
    snprintf(exptext, sizeof exptext, "%lld", (long long)expires);
  tpl_vals_t vals = {{exptext, strlen(exptext)},
                     {uri, (size_t)urilen},
                     {ip, ip ? strlen(ip) : 0},
                     {(const char *)k->secret, k->secret_len}};
  wd_iov_t parts[SL_TPL_SEGS];
  size_t np = tpl_expand(&t, &vals, parts);
  wd_verifier_t *v = NULL;
  unsigned char d[WD_DIGEST_MAX];
  size_t dn = 0;
  rc = wd_verifier_create(ring, &v);
  if (!rc)
    rc = wd__digest(v, WD_MD_MD5, parts, np, d, &dn);
  wd_verifier_destroy(v);
  if (rc)
    return fail_issue(err, errlen, rc, "md5 digest failed");

  char tokb[32];
  wd_b64_encode(d, 16, tokb, 1, o->style == WD_SECURELINK_CDN77);

  /* URL (fragment kept last) + "?" or "&" + the parameters. */
  const char *frag = strchr(opts->url, '#');
  size_t base = frag ? (size_t)(frag - opts->url) : ulen;
  size_t cap = ulen + strlen(pname) + strlen(expires_name(o)) + 80;
  char *s = malloc(cap);
  if (!s)
    return fail_issue(err, errlen, WD_ENOMEM, "out of memory");
  const char *sep = !u.query.p ? "?" : u.query.n ? "&" : "";
  const char *fr = frag ? frag : "";
  int n;
  if (o->style == WD_SECURELINK_CDN77)
    n = snprintf(s, cap, "%.*s%s%s=%s%s%s%s", (int)base, opts->url, sep, pname, tokb,
                 expires ? "," : "", exptext, fr);
  else if (expires)
    n = snprintf(s, cap, "%.*s%s%s=%s&%s=%s%s", (int)base, opts->url, sep, pname, tokb,
                 expires_name(o), exptext, fr);
  else
    n = snprintf(s, cap, "%.*s%s%s=%s%s", (int)base, opts->url, sep, pname, tokb, fr);
  if (n < 0 || (size_t)n >= cap) {
    free(s);
    return fail_issue(err, errlen, WD_ERANGE, "signed URL too long");
  }
  *out = s;
  return 0;
}

/* ---- inspect and extract ----------------------------------------------------------------- */

int wd__securelink_inspect(const char *tok, size_t len, json_t **out) {
  char buf[SL_URL_MAX + 1];
  if (len > SL_URL_MAX)
    return WD_EMALFORMED;
  memcpy(buf, tok, len);
  buf[len] = '\0';
  wd_span_t query = {buf, len}, path = {NULL, 0};
  wd_url_t u;
  if (buf[0] == '/' || strstr(buf, "://")) {
    if (wd_url_split(buf, &u) || !u.query.p)
      return WD_EMALFORMED;
    query = u.query;
    path = u.path;
  } else if (buf[0] == '?') {
    query.p++;
    query.n--;
  }
  wd_span_t md5, exp = {NULL, 0};
  const char *style = "nginx";
  int have_exp = 0;
  if (arg_find(query, "md5", &md5) == 0) {
    have_exp = arg_find(query, "expires", &exp) == 0;
  } else if (arg_find(query, "secure", &md5) == 0) {
    const char *c = memchr(md5.p, ',', md5.n);
    if (!c)
      return WD_EMALFORMED;
    exp.p = c + 1;
    exp.n = md5.n - (size_t)(c - md5.p) - 1;
    md5.n = (size_t)(c - md5.p);
    have_exp = 1;
    style = "cdn77";
  } else {
    return WD_EMALFORMED;
  }
  uint8_t hash[16];
  int64_t expires = 0;
  if (decode_hash(md5.p, md5.n, hash) || (have_exp && parse_expires(exp.p, exp.n, &expires)))
    return WD_EMALFORMED;
  char hex[33];
  wd_hex_encode(hash, 16, hex);
  json_t *o = json_object(), *c = json_object();
  if (!o || !c) {
    json_decref(o);
    json_decref(c);
    return WD_ENOMEM;
  }
  json_object_set_new(o, "scheme", json_string("securelink"));
  json_object_set_new(o, "style", json_string(style));
  json_object_set_new(o, "md5", json_stringn(md5.p, md5.n));
  json_object_set_new(o, "md5_hex", json_string(hex));
  json_object_set_new(c, "expires", have_exp ? json_integer(expires) : json_null());
  if (path.p)
    json_object_set_new(c, "path", json_stringn(path.p, path.n));
  json_object_set_new(o, "claims", c);
  *out = o;
  return 0;
}

int wd__securelink_extract(const wd_verify_opts_t *opts, const wd_request_t *req, char *buf,
                           size_t cap, const char **tok, size_t *len) {
  const wd_securelink_opts_t *o = &opts->securelink;
  wd_url_t u;
  wd_span_t val;
  if (!req->url || wd_url_split(req->url, &u))
    return WD_ENOTOKEN;
  if (arg_find(u.query, o->style == WD_SECURELINK_CDN77 ? "secure" : md5_name(o), &val) ||
      val.n == 0)
    return WD_ENOTOKEN;
  if (val.n > WD_TOKEN_MAX)
    return WD_ETOOBIG;
  *tok = val.p;
  *len = val.n;
  return 0;
}
