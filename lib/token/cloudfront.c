/*
 * AWS CloudFront signed URLs and signed cookies: issue, verify, inspect, extract.
 *
 * A CloudFront token is a policy (JSON), a signature over its bytes and the Key-Pair-Id of the
 * signing key. A canned policy is not sent: it is rebuilt from the request URL and `Expires`,
 *   {"Statement":[{"Resource":"URL","Condition":{"DateLessThan":{"AWS:EpochTime":EXP}}}]}
 * where URL is the request URL as sent, without the CloudFront parameters (Expires, Policy,
 * Signature, Key-Pair-Id, Hash-Algorithm). A custom policy travels base64-encoded in `Policy`
 * and may add DateGreaterThan, IpAddress (AWS:SourceIp CIDR) and `*`/`?` wildcards in Resource.
 * The signature is RSASSA-PKCS1-v1_5 or ECDSA (DER) over the policy bytes with SHA-1, or SHA-256
 * when `Hash-Algorithm=SHA256` is sent. Policy and signature use CloudFront's base64: standard
 * alphabet with `+`->`-`, `=`->`_`, `/`->`~`. Query parameters carry the token in a URL; cookies
 * CloudFront-Expires/-Policy/-Signature/-Key-Pair-Id/-Hash-Algorithm carry it for a whole site.
 *
 * Verification is strict where CloudFront's own rules are loose: a custom policy must hold one
 * statement with a Resource and DateLessThan, conditions other than DateLessThan,
 * DateGreaterThan and IpAddress are refused (they cannot be enforced), and a parameter given
 * twice is malformed.
 *
 * Issuing reproduces `@aws-sdk/cloudfront-signer` byte for byte: the same URL normalisation of
 * the URL to sign (encodeUrlPath), the same policy layout (JSON.stringify) and the same
 * parameter order and escaping. The hash comes from the token, not from the key: an RSA or EC
 * key of the cloudfront scheme verifies and signs with SHA-1 and SHA-256 alike.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "token/internal.h"
#include "util/codec.h"
#include "util/ip.h"
#include "util/url.h"

#define CF_URL_MAX 16384                               /* request URL, URL to sign, resource */
#define CF_COOKIE_MAX 16384                            /* one Cookie header value */
#define CF_POLICY_MAX 6144                             /* decoded custom policy */
#define CF_POLICY_B64_MAX ((CF_POLICY_MAX + 2) / 3 * 4) /* its encoded text */
#define CF_SIG_MAX 512                                 /* RSA-4096 */
#define CF_SIG_B64_MAX ((CF_SIG_MAX + 2) / 3 * 4)
#define CF_KPID_MAX 127
#define CF_EPOCH_MAX 253402300799LL                    /* 9999-12-31T23:59:59Z */

/* ---------------------------------------------------------------- string builder */

typedef struct sb {
  char *p;
  size_t n, cap;
  int oom;
} sb_t;

static void sb_put(sb_t *b, const void *s, size_t n) {
  if (b->oom)
    return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void sb_puts(sb_t *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_putc(sb_t *b, char c) { sb_put(b, &c, 1); }

static void sb_int(sb_t *b, int64_t v) {
  char t[32];
  int n = snprintf(t, sizeof t, "%lld", (long long)v);
  sb_put(b, t, (size_t)n);
}

static void sb_pct(sb_t *b, unsigned char c) {
  static const char hx[] = "0123456789ABCDEF";
  char t[3] = {'%', hx[c >> 4], hx[c & 15]};
  sb_put(b, t, 3);
}

/* A JSON string as JavaScript's JSON.stringify writes it (input is valid UTF-8). */
static void sb_json_str(sb_t *b, const char *s, size_t n) {
  static const char hx[] = "0123456789abcdef";
  sb_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': sb_put(b, "\\\"", 2); break;
    case '\\': sb_put(b, "\\\\", 2); break;
    case '\b': sb_put(b, "\\b", 2); break;
    case '\f': sb_put(b, "\\f", 2); break;
    case '\n': sb_put(b, "\\n", 2); break;
    case '\r': sb_put(b, "\\r", 2); break;
    case '\t': sb_put(b, "\\t", 2); break;
    default:
      if (c < 0x20) {
        char t[6] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15]};
        sb_put(b, t, 6);
      } else {
        sb_putc(b, (char)c);
      }
    }
  }
  sb_putc(b, '"');
}

/* ---------------------------------------------------------------- small helpers */

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len;
    unsigned cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (n - i < len)
      return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += len;
  }
  return 1;
}

/* encodeURIComponent keeps these; extendedEncodeURIComponent keeps only the first four groups. */
static int uri_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~' || c == '!' || c == '*' || c == '\'' || c == '(' ||
         c == ')';
}

static int ext_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

static void encode_uri_component(sb_t *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (uri_unreserved(c))
      sb_putc(b, (char)c);
    else
      sb_pct(b, c);
  }
}

/* @smithy's extendedEncodeURIComponent: encodeURIComponent that also escapes !'()*. */
static void encode_ext(sb_t *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (ext_unreserved(c))
      sb_putc(b, (char)c);
    else
      sb_pct(b, c);
  }
}

/*
 * JavaScript's decodeURIComponent: %XX escapes decoded; escapes of bytes >= 0x80 must form one
 * valid UTF-8 sequence of escapes. Returns the decoded length, or -1 where JS throws URIError.
 * out needs n bytes.
 */
static long decode_uri_component(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') {
      out[o++] = s[i];
      continue;
    }
    if (i + 2 >= n || wd_hex_digit(s[i + 1]) < 0 || wd_hex_digit(s[i + 2]) < 0)
      return -1;
    unsigned b = (unsigned)(wd_hex_digit(s[i + 1]) << 4 | wd_hex_digit(s[i + 2]));
    i += 2;
    if (b < 0x80) {
      out[o++] = (char)b;
      continue;
    }
    size_t len;
    if ((b & 0xE0) == 0xC0)
      len = 2;
    else if ((b & 0xF0) == 0xE0)
      len = 3;
    else if ((b & 0xF8) == 0xF0)
      len = 4;
    else
      return -1;
    unsigned char seq[4] = {(unsigned char)b};
    for (size_t k = 1; k < len; k++) {
      if (i + 3 >= n || s[i + 1] != '%' || wd_hex_digit(s[i + 2]) < 0 || wd_hex_digit(s[i + 3]) < 0)
        return -1;
      seq[k] = (unsigned char)(wd_hex_digit(s[i + 2]) << 4 | wd_hex_digit(s[i + 3]));
      i += 3;
    }
    if (!utf8_valid(seq, len))
      return -1;
    memcpy(out + o, seq, len);
    o += len;
  }
  return (long)o;
}

/* One path segment as the SDK rewrites it: encodeURIComponent(decodeURIComponent(seg)), or
 * encodeURIComponent(seg) when decoding fails. */
static void encode_path_segment(sb_t *b, const char *s, size_t n) {
  char *tmp = malloc(n ? n : 1);
  if (!tmp) {
    b->oom = 1;
    return;
  }
  long d = decode_uri_component(s, n, tmp);
  if (d >= 0)
    encode_uri_component(b, tmp, (size_t)d);
  else
    encode_uri_component(b, s, n);
  free(tmp);
}

/* The SDK's encodeQueryComponent: valid %XX kept (hex uppercased), '+' kept, ' escaped. */
static void encode_query_component(sb_t *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%' && i + 2 < n && wd_hex_digit(s[i + 1]) >= 0 && wd_hex_digit(s[i + 2]) >= 0) {
      sb_pct(b, (unsigned char)(wd_hex_digit(s[i + 1]) << 4 | wd_hex_digit(s[i + 2])));
      i += 2;
    } else if (c == '+') {
      sb_putc(b, '+');
    } else if (c == '\'' || !uri_unreserved(c)) {
      sb_pct(b, c);
    } else {
      sb_putc(b, (char)c);
    }
  }
}

/*
 * The SDK's encodeUrlPath: the origin kept, each path segment re-encoded, each query pair
 * `k=v` re-encoded (a pair without '=' gains one, empty pairs dropped, no '?' when none left).
 */
static void encode_url_path(sb_t *b, const char *url) {
  const char *pe = strstr(url, "//");
  const char *path = pe ? strchr(pe + 2, '/') : NULL;
  if (!path) {
    sb_puts(b, url);
    return;
  }
  sb_put(b, url, (size_t)(path - url));
  const char *q = strchr(path, '?');
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  for (size_t i = 0; i < plen;) {
    if (path[i] == '/') {
      sb_putc(b, '/');
      i++;
      continue;
    }
    size_t j = i;
    while (j < plen && path[j] != '/')
      j++;
    encode_path_segment(b, path + i, j - i);
    i = j;
  }
  if (!q)
    return;
  int first = 1;
  for (const char *p = q + 1; *p;) {
    size_t n = strcspn(p, "&");
    if (n) {
      const char *eq = memchr(p, '=', n);
      size_t kn = eq ? (size_t)(eq - p) : n;
      sb_putc(b, first ? '?' : '&');
      first = 0;
      encode_query_component(b, p, kn);
      sb_putc(b, '=');
      if (eq)
        encode_query_component(b, eq + 1, n - kn - 1);
    }
    p += n;
    if (*p == '&')
      p++;
  }
}

/* CloudFront base64 of n bytes, NUL-terminated, malloc'd. */
static char *cf_b64_encode(const uint8_t *in, size_t n) {
  char *s = malloc(wd_b64_enc_len(n, 1) + 1);
  if (!s)
    return NULL;
  wd_b64_encode(in, n, s, 0, 1);
  for (char *p = s; *p; p++)
    *p = *p == '+' ? '-' : *p == '=' ? '_' : *p == '/' ? '~' : *p;
  return s;
}

/* Decode CloudFront base64 (padding optional); `in` is rewritten in place. */
static int cf_b64_decode(char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen) {
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (c == '+' || c == '/' || c == '=')
      return WD_EMALFORMED;
    in[i] = c == '-' ? '+' : c == '_' ? '=' : c == '~' ? '/' : c;
  }
  return wd_b64_decode(in, n, out, cap, outlen, WD_B64_STD);
}

/* The policy CloudFront signs, in the SDK's layout (JSON.stringify of its buildPolicy). */
static void build_policy(sb_t *b, const char *res, size_t rn, int64_t exp, int64_t nbf,
                         const char *ip) {
  sb_puts(b, "{\"Statement\":[{\"Resource\":");
  sb_json_str(b, res, rn);
  sb_puts(b, ",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":");
  sb_int(b, exp);
  sb_putc(b, '}');
  if (nbf) {
    sb_puts(b, ",\"DateGreaterThan\":{\"AWS:EpochTime\":");
    sb_int(b, nbf);
    sb_putc(b, '}');
  }
  if (ip) {
    sb_puts(b, ",\"IpAddress\":{\"AWS:SourceIp\":");
    sb_json_str(b, ip, strlen(ip));
    sb_putc(b, '}');
  }
  sb_puts(b, "}}]}");
}

/* `*` matches any run of characters, `?` exactly one; everything else itself. */
static int wildcard_match(const char *pat, size_t pn, const char *s, size_t sn) {
  size_t p = 0, i = 0, star = (size_t)-1, mark = 0;
  while (i < sn) {
    if (p < pn && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pn && (pat[p] == '?' || pat[p] == s[i])) {
      p++;
      i++;
    } else if (star != (size_t)-1) {
      p = star + 1;
      i = ++mark;
    } else {
      return 0;
    }
  }
  while (p < pn && pat[p] == '*')
    p++;
  return p == pn;
}

/* Copy text into a reason, replacing what is not printable ASCII, truncated to cap-1. */
static void printable(char *dst, size_t cap, const char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  dst[o] = '\0';
}

/* ---------------------------------------------------------------- parameters */

enum { P_EXPIRES, P_POLICY, P_SIGNATURE, P_KPID, P_HASH, P_COUNT };

static const char *const query_names[P_COUNT] = {"Expires", "Policy", "Signature", "Key-Pair-Id",
                                                 "Hash-Algorithm"};
static const char *const cookie_names[P_COUNT] = {"CloudFront-Expires", "CloudFront-Policy",
                                                  "CloudFront-Signature", "CloudFront-Key-Pair-Id",
                                                  "CloudFront-Hash-Algorithm"};

/* The CloudFront parameters found in a query string or cookie string (raw, undecoded). */
typedef struct cf_params {
  wd_span_t v[P_COUNT];
  int have[P_COUNT];
  int dup;    /* 1 + index of a parameter given twice, 0 when none */
  int cookie; /* from cookies */
} cf_params_t;

static int param_index(const char *name, size_t n, int cookie) {
  const char *const *names = cookie ? cookie_names : query_names;
  for (int i = 0; i < P_COUNT; i++)
    if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
      return i;
  return -1;
}

static void param_set(cf_params_t *p, int i, const char *v, size_t n) {
  if (i < 0)
    return;
  if (p->have[i]) {
    if (!p->dup)
      p->dup = i + 1;
    return;
  }
  p->have[i] = 1;
  p->v[i].p = v;
  p->v[i].n = n;
}

static void scan_query(cf_params_t *p, const char *q, size_t n) {
  const char *end = q + n;
  while (q && q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(q, '=', (size_t)(pe - q));
    const char *ke = eq ? eq : pe;
    param_set(p, param_index(q, (size_t)(ke - q), 0), eq ? eq + 1 : pe,
              eq ? (size_t)(pe - eq - 1) : 0);
    q = amp ? amp + 1 : end;
  }
}

/* Cookie pairs separated by ';' (a Cookie header) or newlines (issue's output). */
static void scan_cookies(cf_params_t *p, const char *s, size_t n) {
  const char *end = s + n;
  while (s < end) {
    while (s < end && (*s == ' ' || *s == '\t' || *s == ';' || *s == '\n' || *s == '\r'))
      s++;
    const char *pe = s;
    while (pe < end && *pe != ';' && *pe != '\n' && *pe != '\r')
      pe++;
    const char *eq = memchr(s, '=', (size_t)(pe - s));
    if (eq) {
      const char *ke = eq;
      while (ke > s && (ke[-1] == ' ' || ke[-1] == '\t'))
        ke--;
      const char *v = eq + 1, *ve = pe;
      while (v < ve && (*v == ' ' || *v == '\t'))
        v++;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
      if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
        v++;
        ve--;
      }
      param_set(p, param_index(s, (size_t)(ke - s), 1), v, (size_t)(ve - v));
    }
    s = pe;
  }
}

static int has_any(const cf_params_t *p) {
  for (int i = 0; i < P_COUNT; i++)
    if (p->have[i])
      return 1;
  return 0;
}

/* The query of a URL span (after '?', before '#'); empty span when none. */
static wd_span_t url_query(const char *url, size_t n) {
  wd_span_t q = {NULL, 0};
  const char *hash = memchr(url, '#', n);
  size_t end = hash ? (size_t)(hash - url) : n;
  const char *qm = memchr(url, '?', end);
  if (qm) {
    q.p = qm + 1;
    q.n = end - (size_t)(qm + 1 - url);
  }
  return q;
}

/* A token string: cookie pairs, a full URL, or a query string. */
typedef enum { TOK_QUERY, TOK_URL, TOK_COOKIE } tok_form_t;

static int cookie_name_at(const char *t, size_t n) {
  return n >= 11 && memcmp(t, "CloudFront-", 11) == 0;
}

static tok_form_t tok_form(const char *t, size_t n) {
  size_t i = 0;
  while (i < n && (t[i] == ' ' || t[i] == '\t'))
    i++;
  if (cookie_name_at(t + i, n - i))
    return TOK_COOKIE;
  for (size_t j = 0; j < n; j++) {
    if (t[j] != ';' && t[j] != '\n')
      continue;
    size_t k = j + 1;
    while (k < n && (t[k] == ' ' || t[k] == '\t'))
      k++;
    if (cookie_name_at(t + k, n - k))
      return TOK_COOKIE;
  }
  if (n && t[0] == '/')
    return TOK_URL;
  const char *qm = memchr(t, '?', n);
  size_t lim = qm ? (size_t)(qm - t) : n;
  for (size_t j = 0; j + 3 <= lim; j++)
    if (memcmp(t + j, "://", 3) == 0)
      return TOK_URL;
  return TOK_QUERY;
}

/* Parameters from a token string; *url is set to the URL when the token is a full URL. */
static void params_from_token(const char *t, size_t n, cf_params_t *p, wd_span_t *url) {
  memset(p, 0, sizeof *p);
  url->p = NULL;
  url->n = 0;
  switch (tok_form(t, n)) {
  case TOK_COOKIE:
    p->cookie = 1;
    scan_cookies(p, t, n);
    break;
  case TOK_URL: {
    wd_span_t q = url_query(t, n);
    url->p = t;
    url->n = n;
    if (q.p)
      scan_query(p, q.p, q.n);
    break;
  }
  case TOK_QUERY:
    if (n && t[0] == '?') {
      t++;
      n--;
    }
    scan_query(p, t, n);
    break;
  }
}

/* Parameters from the request: the URL's query when it holds a CloudFront signature, else the
 * Cookie headers. WD_ENOTOKEN when neither does. */
static int params_from_request(const wd_request_t *req, cf_params_t *p, char *why, size_t cap) {
  memset(p, 0, sizeof *p);
  if (!req)
    return WD_ENOTOKEN;
  if (req->url) {
    size_t n = strnlen(req->url, CF_URL_MAX + 1);
    if (n > CF_URL_MAX) {
      snprintf(why, cap, "request URL exceeds %d bytes", CF_URL_MAX);
      return WD_ETOOBIG;
    }
    wd_span_t q = url_query(req->url, n);
    if (q.p) {
      scan_query(p, q.p, q.n);
      if (p->have[P_SIGNATURE] || p->have[P_KPID] || p->have[P_POLICY])
        return 0;
    }
    memset(p, 0, sizeof *p);
  }
  p->cookie = 1;
  for (size_t i = 0; i < req->nheaders; i++) {
    const wd_header_t *h = &req->headers[i];
    if (!h->name || !h->value || strcasecmp(h->name, "Cookie") != 0)
      continue;
    size_t n = strnlen(h->value, CF_COOKIE_MAX + 1);
    if (n > CF_COOKIE_MAX) {
      snprintf(why, cap, "Cookie header exceeds %d bytes", CF_COOKIE_MAX);
      return WD_ETOOBIG;
    }
    scan_cookies(p, h->value, n);
  }
  if (!has_any(p)) {
    snprintf(why, cap, "no CloudFront signature in the URL or cookies");
    return WD_ENOTOKEN;
  }
  return 0;
}

/* ---------------------------------------------------------------- decoded token */

typedef struct cf_policy {
  const char *resource; /* borrowed from the policy JSON */
  size_t resource_len;
  int64_t exp;
  int64_t nbf;          /* 0: none */
  const char *ip;       /* AWS:SourceIp text, NULL: none */
  wd_ip_t net;
  int plen;
} cf_policy_t;

typedef struct cf_token {
  int custom;
  int sha256;
  int cookie;
  int64_t expires;                  /* canned */
  char kpid[CF_KPID_MAX + 1];
  size_t kpid_len;
  uint8_t sig[CF_SIG_MAX];
  size_t sig_len;
  uint8_t *policy;                  /* decoded custom policy, malloc'd, NUL-terminated */
  size_t policy_len;
} cf_token_t;

static void token_cleanup(cf_token_t *t) {
  free(t->policy);
  t->policy = NULL;
}

/* Percent-decode a parameter value into out (cap bytes incl. NUL). */
static int decode_param(wd_span_t s, char *out, size_t cap, size_t *outlen) {
  if (s.n >= cap)
    return WD_ETOOBIG;
  long n = s.n ? wd_pct_decode(s.p, s.n, out, cap, 0) : 0;
  if (n < 0)
    return WD_EMALFORMED;
  out[n] = '\0';
  *outlen = (size_t)n;
  return 0;
}

static int parse_epoch(const char *s, size_t n, int64_t *out) {
  if (n == 0 || n > 12 || s[0] == '0')
    return WD_EMALFORMED;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return WD_EMALFORMED;
    v = v * 10 + (s[i] - '0');
  }
  if (v > CF_EPOCH_MAX)
    return WD_EMALFORMED;
  *out = v;
  return 0;
}

/* Check and decode the parameters: which policy, which hash, the key id, the signature and
 * (custom) the policy bytes. Returns 0 or a WD_E* code with a reason in why. */
static int token_decode(const cf_params_t *p, cf_token_t *t, char *why, size_t cap) {
  const char *const *names = p->cookie ? cookie_names : query_names;
  memset(t, 0, sizeof *t);
  t->cookie = p->cookie;
  if (p->dup) {
    snprintf(why, cap, "parameter %s appears more than once", names[p->dup - 1]);
    return WD_EMALFORMED;
  }
  static const int required[] = {P_SIGNATURE, P_KPID};
  for (size_t i = 0; i < sizeof required / sizeof *required; i++)
    if (!p->have[required[i]] || p->v[required[i]].n == 0) {
      snprintf(why, cap, "missing %s", names[required[i]]);
      return WD_EMALFORMED;
    }
  if (p->have[P_EXPIRES] == p->have[P_POLICY]) {
    snprintf(why, cap, p->have[P_EXPIRES] ? "both %s and %s given" : "neither %s nor %s given",
             names[P_EXPIRES], names[P_POLICY]);
    return WD_EMALFORMED;
  }
  t->custom = p->have[P_POLICY];

  char buf[CF_SIG_B64_MAX + 1];
  size_t n;
  if (p->have[P_HASH]) {
    if (decode_param(p->v[P_HASH], buf, 16, &n) || (strcmp(buf, "SHA1") && strcmp(buf, "SHA256"))) {
      snprintf(why, cap, "%s must be SHA1 or SHA256", names[P_HASH]);
      return WD_EALG;
    }
    t->sha256 = strcmp(buf, "SHA256") == 0;
  }
  if (decode_param(p->v[P_KPID], t->kpid, sizeof t->kpid, &t->kpid_len) || t->kpid_len == 0) {
    snprintf(why, cap, "%s is not 1..%d characters", names[P_KPID], CF_KPID_MAX);
    return WD_EMALFORMED;
  }
  int rc = decode_param(p->v[P_SIGNATURE], buf, sizeof buf, &n);
  if (rc == 0)
    rc = cf_b64_decode(buf, n, t->sig, sizeof t->sig, &t->sig_len);
  if (rc || t->sig_len == 0) {
    snprintf(why, cap, "%s is not CloudFront base64 of at most %d bytes", names[P_SIGNATURE],
             CF_SIG_MAX);
    return rc == WD_ETOOBIG ? WD_ETOOBIG : WD_EMALFORMED;
  }
  if (!t->custom) {
    if (decode_param(p->v[P_EXPIRES], buf, 16, &n) || parse_epoch(buf, n, &t->expires) ||
        t->expires == 0) {
      snprintf(why, cap, "%s is not a unix time", names[P_EXPIRES]);
      return WD_EMALFORMED;
    }
    return 0;
  }
  if (p->v[P_POLICY].n > CF_POLICY_B64_MAX) {
    snprintf(why, cap, "%s exceeds %d characters", names[P_POLICY], CF_POLICY_B64_MAX);
    return WD_ETOOBIG;
  }
  char *text = malloc(CF_POLICY_B64_MAX + 1);
  t->policy = malloc(CF_POLICY_MAX + 1);
  if (!text || !t->policy) {
    free(text);
    snprintf(why, cap, "out of memory");
    return WD_ENOMEM;
  }
  rc = decode_param(p->v[P_POLICY], text, CF_POLICY_B64_MAX + 1, &n);
  if (rc == 0)
    rc = cf_b64_decode(text, n, t->policy, CF_POLICY_MAX, &t->policy_len);
  free(text);
  if (rc || t->policy_len == 0) {
    snprintf(why, cap, "%s is not CloudFront base64 of at most %d bytes", names[P_POLICY],
             CF_POLICY_MAX);
    return rc == WD_ETOOBIG ? WD_ETOOBIG : WD_EMALFORMED;
  }
  t->policy[t->policy_len] = '\0';
  return 0;
}

/* {"AWS:EpochTime": N} with N a positive integer. */
static int parse_epoch_obj(json_t *o, int64_t *out) {
  json_t *v = json_object_get(o, "AWS:EpochTime");
  if (!json_is_object(o) || json_object_size(o) != 1 || !json_is_integer(v) ||
      json_integer_value(v) <= 0 || json_integer_value(v) > CF_EPOCH_MAX)
    return WD_EMALFORMED;
  *out = (int64_t)json_integer_value(v);
  return 0;
}

/*
 * A custom policy: exactly one statement with a Resource string and a Condition holding
 * DateLessThan and optionally DateGreaterThan and IpAddress. Anything else is refused: a
 * condition Warden does not understand cannot be enforced.
 */
static int policy_parse(json_t *root, cf_policy_t *pol, char *why, size_t cap) {
  memset(pol, 0, sizeof *pol);
  json_t *stmts = json_object_get(root, "Statement");
  if (!json_is_object(root) || json_object_size(root) != 1 || !json_is_array(stmts) ||
      json_array_size(stmts) != 1) {
    snprintf(why, cap, "policy is not {\"Statement\":[one statement]}");
    return WD_EMALFORMED;
  }
  json_t *st = json_array_get(stmts, 0), *res, *cond, *val;
  const char *key;
  if (!json_is_object(st)) {
    snprintf(why, cap, "policy statement is not an object");
    return WD_EMALFORMED;
  }
  json_object_foreach(st, key, val) {
    if (strcmp(key, "Resource") && strcmp(key, "Condition")) {
      snprintf(why, cap, "policy statement field '%.40s' is not supported", key);
      return WD_EMALFORMED;
    }
  }
  res = json_object_get(st, "Resource");
  cond = json_object_get(st, "Condition");
  if (!json_is_string(res) || json_string_length(res) == 0 ||
      json_string_length(res) > CF_URL_MAX) {
    snprintf(why, cap, "policy has no Resource string");
    return WD_EMALFORMED;
  }
  pol->resource = json_string_value(res);
  pol->resource_len = json_string_length(res);
  if (!json_is_object(cond)) {
    snprintf(why, cap, "policy has no Condition object");
    return WD_EMALFORMED;
  }
  int have_exp = 0;
  json_object_foreach(cond, key, val) {
    if (!strcmp(key, "DateLessThan")) {
      if (parse_epoch_obj(val, &pol->exp)) {
        snprintf(why, cap, "DateLessThan is not {\"AWS:EpochTime\": unix time}");
        return WD_EMALFORMED;
      }
      have_exp = 1;
    } else if (!strcmp(key, "DateGreaterThan")) {
      if (parse_epoch_obj(val, &pol->nbf)) {
        snprintf(why, cap, "DateGreaterThan is not {\"AWS:EpochTime\": unix time}");
        return WD_EMALFORMED;
      }
    } else if (!strcmp(key, "IpAddress")) {
      json_t *ip = json_object_get(val, "AWS:SourceIp");
      if (!json_is_object(val) || json_object_size(val) != 1 || !json_is_string(ip) ||
          wd_cidr_parse(json_string_value(ip), json_string_length(ip), &pol->net, &pol->plen)) {
        snprintf(why, cap, "IpAddress is not {\"AWS:SourceIp\": \"address/bits\"}");
        return WD_EMALFORMED;
      }
      pol->ip = json_string_value(ip);
    } else {
      snprintf(why, cap, "policy condition '%.40s' is not supported", key);
      return WD_EMALFORMED;
    }
  }
  if (!have_exp) {
    snprintf(why, cap, "policy has no DateLessThan");
    return WD_EMALFORMED;
  }
  return 0;
}

static json_t *policy_load(const cf_token_t *t) {
  json_error_t e;
  return json_loadb((const char *)t->policy, t->policy_len, JSON_REJECT_DUPLICATES, &e);
}

/* ---------------------------------------------------------------- resource URLs */

static int is_query_name(const char *k, size_t n) { return param_index(k, n, 0) >= 0; }

/*
 * The URL the policy covers, from the URL as sent: fragment dropped, CloudFront query
 * parameters removed (other parameters kept in order, '?' dropped when none is left). An
 * origin-form URL ("/path") is completed with opts->cloudfront.origin, else with the Host
 * header as https:// and then http://. Fills up to two malloc'd candidates.
 */
static int resource_candidates(const char *url, size_t n, const wd_verify_opts_t *opts,
                               const wd_request_t *req, char *cand[2], int *ncand, char *why,
                               size_t cap) {
  const char *hash = memchr(url, '#', n);
  if (hash)
    n = (size_t)(hash - url);
  sb_t rel = {0};
  const char *qm = memchr(url, '?', n);
  size_t pn = qm ? (size_t)(qm - url) : n;
  sb_put(&rel, url, pn);
  if (qm) {
    const char *q = qm + 1, *end = url + n;
    int first = 1;
    while (q <= end) {
      const char *amp = memchr(q, '&', (size_t)(end - q));
      const char *pe = amp ? amp : end;
      const char *eq = memchr(q, '=', (size_t)(pe - q));
      size_t kn = eq ? (size_t)(eq - q) : (size_t)(pe - q);
      if (!is_query_name(q, kn)) {
        sb_putc(&rel, first ? '?' : '&');
        sb_put(&rel, q, (size_t)(pe - q));
        first = 0;
      }
      if (!amp)
        break;
      q = amp + 1;
    }
  }
  if (rel.oom) {
    free(rel.p);
    snprintf(why, cap, "out of memory");
    return WD_ENOMEM;
  }
  *ncand = 0;
  if (rel.n && rel.p[0] != '/') {
    cand[(*ncand)++] = rel.p;
    return 0;
  }
  const char *origin = opts ? opts->cloudfront.origin : NULL;
  const char *host = origin ? NULL : wd_request_header(req, "Host");
  if (!origin && (!host || !*host || strnlen(host, 256) > 255 || strpbrk(host, "/?# \t"))) {
    free(rel.p);
    snprintf(why, cap, "origin-form request URL and no Host header: cannot rebuild the signed URL");
    return WD_EINVAL;
  }
  static const char *const schemes[2] = {"https://", "http://"};
  for (int i = 0; i < (origin ? 1 : 2); i++) {
    sb_t b = {0};
    if (origin) {
      sb_puts(&b, origin);
    } else {
      sb_puts(&b, schemes[i]);
      sb_puts(&b, host);
    }
    sb_put(&b, rel.p ? rel.p : "", rel.n);
    if (b.oom) {
      free(b.p);
      free(rel.p);
      snprintf(why, cap, "out of memory");
      return WD_ENOMEM;
    }
    cand[(*ncand)++] = b.p;
  }
  free(rel.p);
  return 0;
}

/* ---------------------------------------------------------------- signatures */

static int key_usable(const wd_key_t *k) {
  if (!k->pkey)
    return 0;
  int type = EVP_PKEY_get_base_id(k->pkey);
  return type == EVP_PKEY_RSA || type == EVP_PKEY_EC;
}

static int sig_check(wd_verifier_t *v, const wd_key_t *k, int sha256, const void *msg, size_t n,
                     const uint8_t *sig, size_t siglen) {
  EVP_MD_CTX *c = v->mdctx;
  const EVP_MD *md = v->md[sha256 ? WD_MD_SHA256 : WD_MD_SHA1];
  EVP_MD_CTX_reset(c);
  int ok = md && EVP_DigestVerifyInit(c, NULL, md, NULL, k->pkey) == 1 &&
           EVP_DigestVerify(c, sig, siglen, msg, n) == 1;
  EVP_MD_CTX_reset(c);
  if (!ok)
    ERR_clear_error();
  return ok;
}

static int sign_policy(const wd_key_t *k, int sha256, const void *msg, size_t n, uint8_t **sig,
                       size_t *siglen) {
  int rc = WD_ECRYPTO;
  uint8_t *buf = NULL;
  size_t len = 0;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (!c)
    return WD_ENOMEM;
  if (EVP_DigestSignInit_ex(c, NULL, sha256 ? "SHA256" : "SHA1", NULL, NULL, k->pkey, NULL) != 1 ||
      EVP_DigestSign(c, NULL, &len, msg, n) != 1)
    goto out;
  buf = malloc(len);
  if (!buf || EVP_DigestSign(c, buf, &len, msg, n) != 1)
    goto out;
  *sig = buf;
  *siglen = len;
  buf = NULL;
  rc = 0;
out:
  free(buf);
  EVP_MD_CTX_free(c);
  if (rc)
    ERR_clear_error();
  return rc;
}

/*
 * token_id: a hash of the signature bytes. An ECDSA signature (r, s) also verifies as
 * (r, n - s), so a P-256 signature is hashed in its low-s form: both spellings name one token.
 */
static void set_token_id(wd_verifier_t *v, wd_identity_t *id, const cf_token_t *t,
                         const wd_key_t *k) {
  uint8_t raw[64];
  const uint8_t *p = t->sig;
  size_t n = t->sig_len;
  char group[32];
  if (k && EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_EC &&
      EVP_PKEY_get_group_name(k->pkey, group, sizeof group, NULL) == 1 &&
      !strcmp(group, "prime256v1")) {
    const unsigned char *d = t->sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)t->sig_len);
    BIGNUM *order = NULL, *half = BN_new();
    BIGNUM *s = es ? BN_dup(ECDSA_SIG_get0_s(es)) : NULL;
    if (s && half &&
        BN_hex2bn(&order, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551") &&
        BN_rshift1(half, order)) {
      if (BN_cmp(s, half) > 0)
        BN_sub(s, order, s);
      if (BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32) == 32 &&
          BN_bn2binpad(s, raw + 32, 32) == 32) {
        p = raw;
        n = 64;
      }
    }
    BN_free(s);
    BN_free(half);
    BN_free(order);
    ECDSA_SIG_free(es);
    ERR_clear_error();
  }
  wd__identity_hash_id(v, id, (const char *)p, n);
}

/* ---------------------------------------------------------------- verify */

static json_t *claims_json(const cf_token_t *t, const char *resource, size_t rn, int64_t exp,
                           const cf_policy_t *pol) {
  json_t *o = json_object();
  if (!o)
    return NULL;
  json_object_set_new(o, "policy", json_string(t->custom ? "custom" : "canned"));
  json_object_set_new(o, "Key-Pair-Id", json_stringn(t->kpid, t->kpid_len));
  json_object_set_new(o, "Hash-Algorithm", json_string(t->sha256 ? "SHA256" : "SHA1"));
  if (resource)
    json_object_set_new(o, "Resource", json_stringn(resource, rn));
  json_object_set_new(o, "DateLessThan", json_integer(exp));
  if (pol && pol->nbf)
    json_object_set_new(o, "DateGreaterThan", json_integer(pol->nbf));
  if (pol && pol->ip)
    json_object_set_new(o, "IpAddress", json_string(pol->ip));
  return o;
}

/*
 * Verify a CloudFront token. tok (len bytes) may be a full signed URL, its query string, or
 * cookie pairs ("CloudFront-...=...; ..." or one per line); NULL takes it from req->url's query,
 * else from the Cookie headers. The resource is req->url (else the URL in tok) without the
 * CloudFront parameters. Returns 0 or WD_EMALFORMED (missing, duplicated or undecodable
 * parameters, a policy that is not the supported JSON shape), WD_ETOOBIG, WD_EALG (unknown
 * Hash-Algorithm), WD_ENOKEY (no RSA/EC key for the Key-Pair-Id), WD_ESIGNATURE, WD_EEXPIRED,
 * WD_ENOTYET, WD_ECLAIM ("Resource", "IpAddress"), WD_EINVAL (no URL to check against),
 * WD_ENOTOKEN. Identity: token_id hashes the signature, exp is DateLessThan, ip the SourceIp.
 */
int wd__cloudfront_verify(wd_verifier_t *v, const wd_verify_opts_t *opts, const char *tok,
                          size_t len, const wd_request_t *req, wd_result_t *r) {
  char why[200] = "";
  cf_params_t p;
  cf_token_t t;
  cf_policy_t pol;
  json_t *root = NULL;
  char *cand[2] = {NULL, NULL};
  sb_t msg[2] = {{0}, {0}};
  int ncand = 0, rc;
  wd_span_t tok_url = {NULL, 0};

  memset(&t, 0, sizeof t);
  memset(&pol, 0, sizeof pol);
  if (tok) {
    params_from_token(tok, len, &p, &tok_url);
    if (!has_any(&p)) {
      rc = wd_result_fail(r, WD_EMALFORMED, NULL, "no CloudFront parameters in the token");
      goto out;
    }
  } else {
    rc = params_from_request(req, &p, why, sizeof why);
    if (rc) {
      rc = wd_result_fail(r, rc, NULL, "%s", why);
      goto out;
    }
  }
  rc = token_decode(&p, &t, why, sizeof why);
  if (rc) {
    rc = wd_result_fail(r, rc, NULL, "%s", why);
    goto out;
  }
  set_token_id(v, &r->id, &t, NULL);
  int64_t exp = t.expires;
  if (t.custom) {
    root = policy_load(&t);
    if (!root) {
      rc = wd_result_fail(r, WD_EMALFORMED, NULL, "Policy is not JSON");
      goto out;
    }
    rc = policy_parse(root, &pol, why, sizeof why);
    if (rc) {
      rc = wd_result_fail(r, rc, NULL, "%s", why);
      goto out;
    }
    exp = pol.exp;
    if (pol.ip)
      wd__copy_field(r->id.ip, sizeof r->id.ip, pol.ip, strlen(pol.ip));
  }
  r->id.exp = exp;

  /* The URL being accessed: the request's, else the token's own when it is a full URL. */
  const char *url = req && req->url ? req->url : tok_url.p;
  size_t url_len = req && req->url ? strnlen(req->url, CF_URL_MAX + 1) : tok_url.n;
  if (!url) {
    rc = wd_result_fail(r, WD_EINVAL, NULL, "no request URL to check the signed resource against");
    goto out;
  }
  if (url_len > CF_URL_MAX) {
    rc = wd_result_fail(r, WD_ETOOBIG, NULL, "request URL exceeds %d bytes", CF_URL_MAX);
    goto out;
  }
  rc = resource_candidates(url, url_len, opts, req, cand, &ncand, why, sizeof why);
  if (rc) {
    rc = wd_result_fail(r, rc, NULL, "%s", why);
    goto out;
  }

  /* The signed bytes: the decoded custom policy, or the canned policy per candidate URL. */
  int nmsg = t.custom ? 1 : ncand;
  for (int i = 0; i < nmsg; i++) {
    if (t.custom)
      sb_put(&msg[i], t.policy, t.policy_len);
    else
      build_policy(&msg[i], cand[i], strlen(cand[i]), exp, 0, NULL);
    if (msg[i].oom) {
      rc = wd_result_fail(r, WD_ENOMEM, NULL, "out of memory");
      goto out;
    }
  }
  const wd_key_t *k, *good = NULL;
  unsigned cursor = 0;
  int tried = 0, matched = -1;
  while (!good) {
    k = wd_keyring_next(v->ring, WD_SCHEME_CLOUDFRONT, t.kpid, t.kpid_len, &cursor);
    if (!k)
      break;
    if (!key_usable(k))
      continue;
    tried++;
    for (int i = 0; i < nmsg && !good; i++)
      if (sig_check(v, k, t.sha256, msg[i].p, msg[i].n, t.sig, t.sig_len)) {
        good = k;
        matched = i;
      }
  }
  char kp[64];
  printable(kp, sizeof kp, t.kpid, t.kpid_len);
  if (!tried) {
    rc = wd_result_fail(r, WD_ENOKEY, NULL, "no RSA or ECDSA key for Key-Pair-Id %s", kp);
    goto out;
  }
  if (!good) {
    rc = wd_result_fail(r, WD_ESIGNATURE, NULL,
                        t.custom ? "Signature does not verify over the Policy with the keys of "
                                   "Key-Pair-Id %s"
                                 : "Signature does not verify over the canned policy of this URL "
                                   "with the keys of Key-Pair-Id %s",
                        kp);
    goto out;
  }
  set_token_id(v, &r->id, &t, good);

  int64_t now = wd__now(req), leeway = opts ? opts->leeway : 0;
  if (now - leeway >= exp) {
    rc = wd_result_fail(r, WD_EEXPIRED, NULL, "expired at %lld (DateLessThan), now %lld",
                        (long long)exp, (long long)now);
    goto out;
  }
  if (pol.nbf && now + leeway < pol.nbf) {
    rc = wd_result_fail(r, WD_ENOTYET, NULL, "not valid before %lld (DateGreaterThan), now %lld",
                        (long long)pol.nbf, (long long)now);
    goto out;
  }
  const char *resource = cand[matched];
  size_t resource_len = strlen(resource);
  if (t.custom) {
    matched = -1;
    for (int i = 0; i < ncand && matched < 0; i++)
      if (wildcard_match(pol.resource, pol.resource_len, cand[i], strlen(cand[i])))
        matched = i;
    if (matched < 0) {
      char res[96];
      printable(res, sizeof res, pol.resource, pol.resource_len);
      rc = wd_result_fail(r, WD_ECLAIM, "Resource", "request URL does not match Resource %s", res);
      goto out;
    }
    resource = pol.resource;
    resource_len = pol.resource_len;
  }
  if (pol.ip) {
    wd_ip_t ip;
    if (!req || !req->ip || wd_ip_parse(req->ip, strnlen(req->ip, 64), &ip)) {
      rc = wd_result_fail(r, WD_ECLAIM, "IpAddress",
                          "policy binds IpAddress %.64s but the client address is unknown", pol.ip);
      goto out;
    }
    if (!wd_ip_in_prefix(&ip, pol.net.family, pol.net.a, sizeof pol.net.a, pol.plen)) {
      char ipt[64];
      wd_ip_format(&ip, ipt, sizeof ipt);
      rc = wd_result_fail(r, WD_ECLAIM, "IpAddress", "client %s is outside IpAddress %.64s", ipt,
                          pol.ip);
      goto out;
    }
  }
  if (opts && opts->want_claims) {
    r->claims = claims_json(&t, resource, resource_len, exp, t.custom ? &pol : NULL);
    if (!r->claims) {
      rc = wd_result_fail(r, WD_ENOMEM, NULL, "out of memory");
      goto out;
    }
  }
  rc = 0;
out:
  for (int i = 0; i < 2; i++) {
    free(cand[i]);
    free(msg[i].p);
  }
  json_decref(root);
  token_cleanup(&t);
  return rc;
}

/* ---------------------------------------------------------------- issue */

static int issue_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int issue_fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* What an issue call asks for, from the claims and the options. */
typedef struct issue_spec {
  int64_t exp, nbf;
  const char *resource;
  const char *ip;
  const char *kid;
  int sha256, custom;
} issue_spec_t;

static int claim_time(const json_t *claims, const char *a, const char *b, int64_t *out, char *err,
                      size_t errlen) {
  json_t *va = json_object_get(claims, a), *vb = json_object_get(claims, b);
  if (va && vb)
    return issue_fail(err, errlen, WD_EINVAL, "give claim %s or %s, not both", a, b);
  json_t *v = va ? va : vb;
  if (!v)
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > CF_EPOCH_MAX)
    return issue_fail(err, errlen, WD_EINVAL, "claim %s must be a unix time", va ? a : b);
  *out = (int64_t)json_integer_value(v);
  return 0;
}

static int claim_str(const json_t *claims, const char *a, const char *b, const char **out,
                     char *err, size_t errlen) {
  json_t *va = json_object_get(claims, a), *vb = b ? json_object_get(claims, b) : NULL;
  if (va && vb)
    return issue_fail(err, errlen, WD_EINVAL, "give claim %s or %s, not both", a, b);
  json_t *v = va ? va : vb;
  if (!v)
    return 0;
  if (!json_is_string(v))
    return issue_fail(err, errlen, WD_EINVAL, "claim %s must be a string", va ? a : b);
  *out = json_string_value(v);
  return 0;
}

static int issue_spec(const json_t *claims, const wd_issue_opts_t *o, issue_spec_t *s, char *err,
                      size_t errlen) {
  static const char *const known[] = {"exp", "DateLessThan", "nbf", "DateGreaterThan", "ip",
                                      "IpAddress", "Resource", "resource", "Key-Pair-Id",
                                      "Hash-Algorithm", "policy"};
  const char *key, *hash = NULL, *policy = NULL;
  json_t *val;
  int rc;
  memset(s, 0, sizeof *s);
  if (claims && !json_is_object(claims))
    return issue_fail(err, errlen, WD_EINVAL, "claims must be a JSON object");
  if (claims) {
    json_object_foreach((json_t *)claims, key, val) {
      size_t i = 0;
      while (i < sizeof known / sizeof *known && strcmp(known[i], key))
        i++;
      if (i == sizeof known / sizeof *known)
        return issue_fail(err, errlen, WD_EINVAL,
                          "claim '%.40s' has no place in a CloudFront policy (exp, nbf, ip, "
                          "Resource)",
                          key);
    }
    rc = claim_time(claims, "exp", "DateLessThan", &s->exp, err, errlen);
    if (!rc)
      rc = claim_time(claims, "nbf", "DateGreaterThan", &s->nbf, err, errlen);
    if (!rc)
      rc = claim_str(claims, "ip", "IpAddress", &s->ip, err, errlen);
    if (!rc)
      rc = claim_str(claims, "Resource", "resource", &s->resource, err, errlen);
    if (!rc)
      rc = claim_str(claims, "Key-Pair-Id", NULL, &s->kid, err, errlen);
    if (!rc)
      rc = claim_str(claims, "Hash-Algorithm", NULL, &hash, err, errlen);
    if (!rc)
      rc = claim_str(claims, "policy", NULL, &policy, err, errlen);
    if (rc)
      return rc;
  }
  if (hash && strcmp(hash, "SHA1") && strcmp(hash, "SHA256"))
    return issue_fail(err, errlen, WD_EINVAL, "claim Hash-Algorithm must be SHA1 or SHA256");
  if (policy && strcmp(policy, "canned") && strcmp(policy, "custom"))
    return issue_fail(err, errlen, WD_EINVAL, "claim policy must be canned or custom");
  const wd_cloudfront_opts_t *c = &o->cloudfront;
  if (c->resource)
    s->resource = c->resource;
  if (c->not_before)
    s->nbf = c->not_before;
  if (c->ip_cidr)
    s->ip = c->ip_cidr;
  else if (!s->ip && o->ip)
    s->ip = o->ip;
  if (o->kid)
    s->kid = o->kid;
  s->sha256 = c->sha256 || (hash && !strcmp(hash, "SHA256"));
  s->custom = c->custom || (policy && !strcmp(policy, "custom")) || s->resource || s->nbf || s->ip;
  int64_t now = o->now ? o->now : (int64_t)time(NULL);
  if (!s->exp) {
    if (o->ttl <= 0)
      return issue_fail(err, errlen, WD_EINVAL, "no expiry: give claim exp or a ttl");
    s->exp = now + o->ttl;
  }
  if (s->exp > CF_EPOCH_MAX)
    return issue_fail(err, errlen, WD_EINVAL, "expiry %lld is out of range", (long long)s->exp);
  if (s->nbf && (s->nbf < 0 || s->nbf >= s->exp))
    return issue_fail(err, errlen, WD_EINVAL, "not-before %lld is not before the expiry %lld",
                      (long long)s->nbf, (long long)s->exp);
  return 0;
}

/* "a.b.c.d" -> "a.b.c.d/32" (the SDK's parseCIDR), "v6" -> "v6/128"; a prefix is kept. */
static int source_ip(const char *ip, char *out, size_t cap) {
  size_t n = strnlen(ip, 64);
  wd_ip_t net;
  int plen;
  if (n >= 64 || memchr(ip, '[', n) || wd_cidr_parse(ip, n, &net, &plen))
    return WD_EINVAL;
  if (memchr(ip, '/', n))
    snprintf(out, cap, "%s", ip);
  else
    snprintf(out, cap, "%s/%d", ip, net.family == 4 ? 32 : 128);
  return 0;
}

/* The SDK accepts http, https, ws and wss URLs (rtmp ones it rewrites; Warden does not). */
static int url_scheme_ok(const char *url) {
  static const char *const ok[] = {"http://", "https://", "ws://", "wss://"};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    if (!strncmp(url, ok[i], strlen(ok[i])))
      return 0;
  return strncmp(url, "rtmp://", 7) ? WD_EINVAL : WD_EUNSUPPORTED;
}

static int kid_ok(const wd_key_t *k) {
  if (k->kid_len == 0 || k->kid_len > CF_KPID_MAX)
    return 0;
  for (size_t i = 0; i < k->kid_len; i++) {
    unsigned char c = (unsigned char)k->kid[i];
    if (c <= 0x20 || c >= 0x7f || c == ';' || c == ',' || c == '"' || c == '\\')
      return 0;
  }
  return 1;
}

/*
 * Issue a signed URL for opts->url (the query string alone when opts->url is NULL and a
 * Resource is given), or with opts->cloudfront.cookies the cookie pairs getSignedCookies
 * returns, one "Name=value" per line. Claims: exp|DateLessThan (else now + ttl),
 * nbf|DateGreaterThan, ip|IpAddress, Resource, Key-Pair-Id, Hash-Algorithm, policy
 * ("canned"/"custom"); the options take precedence. A custom policy is used when asked for or
 * when a Resource, not-before or IP is given. Signs with the newest cloudfront key (or the one
 * whose kid is opts->kid); its kid is the Key-Pair-Id. *out is malloc'd.
 */
int wd__cloudfront_issue(const wd_keyring_t *ring, const json_t *claims,
                         const wd_issue_opts_t *opts, char **out, char *err, size_t errlen) {
  issue_spec_t s;
  int rc = issue_spec(claims, opts, &s, err, errlen);
  if (rc)
    return rc;
  const wd_cloudfront_opts_t *c = &opts->cloudfront;
  const wd_key_t *k = wd_keyring_signer(ring, WD_SCHEME_CLOUDFRONT, s.kid, NULL);
  if (!k)
    return issue_fail(err, errlen, WD_ENOKEY, "no CloudFront signing key%s%.64s",
                      s.kid ? " with Key-Pair-Id " : "", s.kid ? s.kid : "");
  if (!key_usable(k) || !k->is_private)
    return issue_fail(err, errlen, WD_EKEY, "CloudFront signs with an RSA or ECDSA private key");
  if (!kid_ok(k))
    return issue_fail(err, errlen, WD_EKEY,
                      "the signing key needs a Key-Pair-Id (--key-pair-id) of printable "
                      "characters");

  const char *url = opts->url;
  if (url) {
    if (strnlen(url, CF_URL_MAX + 1) > CF_URL_MAX)
      return issue_fail(err, errlen, WD_ETOOBIG, "URL exceeds %d bytes", CF_URL_MAX);
    if (!utf8_valid((const unsigned char *)url, strlen(url)))
      return issue_fail(err, errlen, WD_EINVAL, "URL is not valid UTF-8");
    rc = url_scheme_ok(url);
    if (rc)
      return issue_fail(err, errlen, rc, "URL must be http://, https://, ws:// or wss://");
  }
  if (s.resource && (strnlen(s.resource, CF_URL_MAX + 1) > CF_URL_MAX ||
                     !utf8_valid((const unsigned char *)s.resource, strlen(s.resource))))
    return issue_fail(err, errlen, WD_EINVAL, "Resource is not UTF-8 of at most %d bytes",
                      CF_URL_MAX);
  if (!url && !s.resource)
    return issue_fail(err, errlen, WD_EINVAL,
                      "CloudFront needs the URL to sign (--url) or a Resource");
  char ip[80];
  if (s.ip && source_ip(s.ip, ip, sizeof ip))
    return issue_fail(err, errlen, WD_EINVAL, "IpAddress '%.64s' is not an address or prefix",
                      s.ip);

  sb_t base = {0}, policy = {0}, o = {0};
  uint8_t *sig = NULL;
  size_t siglen = 0;
  char *sig64 = NULL, *pol64 = NULL;
  /* Signed URLs sign the SDK's normalised URL; getSignedCookies uses the URL as given. */
  if (url && !c->cookies)
    encode_url_path(&base, url);
  else if (url)
    sb_puts(&base, url);
  const char *res = s.resource ? s.resource : base.p;
  if (!base.oom)
    build_policy(&policy, res, strlen(res), s.exp, s.custom ? s.nbf : 0, s.ip ? ip : NULL);
  if (base.oom || policy.oom) {
    rc = issue_fail(err, errlen, WD_ENOMEM, "out of memory");
    goto out;
  }
  if (s.custom && policy.n > CF_POLICY_MAX) {
    rc = issue_fail(err, errlen, WD_ETOOBIG, "policy of %zu bytes exceeds %d", policy.n,
                    CF_POLICY_MAX);
    goto out;
  }
  rc = sign_policy(k, s.sha256, policy.p, policy.n, &sig, &siglen);
  if (rc) {
    issue_fail(err, errlen, rc, "signing failed");
    goto out;
  }
  sig64 = cf_b64_encode(sig, siglen);
  pol64 = s.custom ? cf_b64_encode((const uint8_t *)policy.p, policy.n) : NULL;
  if (!sig64 || (s.custom && !pol64)) {
    rc = issue_fail(err, errlen, WD_ENOMEM, "out of memory");
    goto out;
  }
  if (c->cookies) {
    /* getSignedCookies' order: Key-Pair-Id, Signature, Expires or Policy, Hash-Algorithm. */
    sb_puts(&o, "CloudFront-Key-Pair-Id=");
    sb_put(&o, k->kid, k->kid_len);
    sb_puts(&o, "\nCloudFront-Signature=");
    sb_puts(&o, sig64);
    if (s.custom) {
      sb_puts(&o, "\nCloudFront-Policy=");
      sb_puts(&o, pol64);
    } else {
      sb_puts(&o, "\nCloudFront-Expires=");
      sb_int(&o, s.exp);
    }
    if (s.sha256)
      sb_puts(&o, "\nCloudFront-Hash-Algorithm=SHA256");
  } else {
    /* getSignedUrl's order: Expires or Policy, Key-Pair-Id, Signature, Hash-Algorithm. */
    if (base.p) {
      sb_put(&o, base.p, base.n);
      sb_putc(&o, strchr(base.p, '?') ? '&' : '?');
    }
    if (s.custom) {
      sb_puts(&o, "Policy=");
      sb_puts(&o, pol64);
    } else {
      sb_puts(&o, "Expires=");
      sb_int(&o, s.exp);
    }
    sb_puts(&o, "&Key-Pair-Id=");
    encode_ext(&o, k->kid, k->kid_len);
    sb_puts(&o, "&Signature=");
    sb_puts(&o, sig64);
    if (s.sha256)
      sb_puts(&o, "&Hash-Algorithm=SHA256");
  }
  if (o.oom) {
    rc = issue_fail(err, errlen, WD_ENOMEM, "out of memory");
    goto out;
  }
  *out = o.p;
  o.p = NULL;
  rc = 0;
out:
  free(o.p);
  free(base.p);
  free(policy.p);
  free(sig);
  free(sig64);
  free(pol64);
  return rc;
}

/* ---------------------------------------------------------------- inspect, extract */

/*
 * Decode without verifying: a URL, query string or cookie string holding Signature and
 * Key-Pair-Id. *out: {"scheme", "header": {policy, Key-Pair-Id, Hash-Algorithm, delivery},
 * "claims": {Resource, DateLessThan, ...}, "policy": decoded custom policy, "url"}.
 */
int wd__cloudfront_inspect(const char *tok, size_t len, json_t **out) {
  cf_params_t p;
  cf_token_t t;
  wd_span_t url;
  char why[200];
  if (!tok || !out)
    return WD_EINVAL;
  params_from_token(tok, len, &p, &url);
  if (!p.have[P_SIGNATURE] || !p.have[P_KPID])
    return WD_EMALFORMED;
  int rc = token_decode(&p, &t, why, sizeof why);
  if (rc) {
    token_cleanup(&t);
    return rc;
  }
  json_t *o = json_object(), *h = json_object(), *claims = json_object();
  if (!o || !h || !claims) {
    json_decref(o);
    json_decref(h);
    json_decref(claims);
    token_cleanup(&t);
    return WD_ENOMEM;
  }
  json_object_set_new(o, "scheme", json_string("cloudfront"));
  json_object_set_new(h, "policy", json_string(t.custom ? "custom" : "canned"));
  json_object_set_new(h, "Key-Pair-Id", json_stringn(t.kpid, t.kpid_len));
  json_object_set_new(h, "Hash-Algorithm", json_string(t.sha256 ? "SHA256" : "SHA1"));
  json_object_set_new(h, "delivery", json_string(t.cookie ? "cookie" : "query"));
  json_object_set_new(o, "header", h);
  char *cand[2] = {NULL, NULL};
  int ncand = 0;
  /* The URL the token names, CloudFront parameters removed (origin-form stays as it is). */
  if (url.p && url.n <= CF_URL_MAX) {
    static const wd_verify_opts_t none;
    wd_verify_opts_t with_origin = none;
    with_origin.cloudfront.origin = "";
    if (resource_candidates(url.p, url.n, &with_origin, NULL, cand, &ncand, why, sizeof why) == 0 &&
        ncand > 0)
      json_object_set_new(o, "url", json_string(cand[0]));
  }
  if (t.custom) {
    json_t *root = policy_load(&t);
    cf_policy_t pol;
    if (root && policy_parse(root, &pol, why, sizeof why) == 0) {
      json_object_set_new(claims, "Resource", json_stringn(pol.resource, pol.resource_len));
      json_object_set_new(claims, "DateLessThan", json_integer(pol.exp));
      if (pol.nbf)
        json_object_set_new(claims, "DateGreaterThan", json_integer(pol.nbf));
      if (pol.ip)
        json_object_set_new(claims, "IpAddress", json_string(pol.ip));
    }
    if (root)
      json_object_set_new(o, "policy", root);
    else if (utf8_valid(t.policy, t.policy_len))
      json_object_set_new(o, "policy", json_stringn((const char *)t.policy, t.policy_len));
  } else {
    if (ncand > 0)
      json_object_set_new(claims, "Resource", json_string(cand[0]));
    json_object_set_new(claims, "DateLessThan", json_integer(t.expires));
  }
  json_object_set_new(o, "claims", claims);
  free(cand[0]);
  free(cand[1]);
  token_cleanup(&t);
  *out = o;
  return 0;
}

/*
 * Find the token in the request: the query string of req->url (pointing into it) when it holds
 * a Signature, else the CloudFront cookies rebuilt in buf as one cookie string. WD_ENOTOKEN,
 * WD_EMALFORMED (a parameter given twice), WD_ETOOBIG (buf too small or input past its bound).
 */
int wd__cloudfront_extract(const wd_verify_opts_t *opts, const wd_request_t *req, char *buf,
                           size_t cap, const char **tok, size_t *len) {
  cf_params_t p;
  char why[128];
  int rc = params_from_request(req, &p, why, sizeof why);
  if (rc)
    return rc;
  if (!p.have[P_SIGNATURE])
    return WD_ENOTOKEN;
  if (p.dup)
    return WD_EMALFORMED;
  if (!p.cookie) {
    wd_span_t q = url_query(req->url, strlen(req->url));
    *tok = q.p;
    *len = q.n;
    return 0;
  }
  /* From cookies: rebuilt as one cookie string the verifier reads back. */
  size_t o = 0;
  for (int i = 0; i < P_COUNT; i++) {
    if (!p.have[i])
      continue;
    size_t need = (o ? 2 : 0) + strlen(cookie_names[i]) + 1 + p.v[i].n;
    if (!buf || o + need + 1 > cap)
      return WD_ETOOBIG;
    if (o) {
      memcpy(buf + o, "; ", 2);
      o += 2;
    }
    memcpy(buf + o, cookie_names[i], strlen(cookie_names[i]));
    o += strlen(cookie_names[i]);
    buf[o++] = '=';
    memcpy(buf + o, p.v[i].p, p.v[i].n);
    o += p.v[i].n;
  }
  buf[o] = '\0';
  *tok = buf;
  *len = o;
  return 0;
}
