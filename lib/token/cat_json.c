/*
 * CAT claims between JSON and CBOR, and the CAT issue / inspect entry points.
 *
 * The JSON names and shapes are those of @eyevinn/cat (node-cat) generateFromJson / toDict:
 * "iss", "exp", "cti" as hex, "catu": {"path": {"prefix-match": "/x/"}}, "catr": {"type":
 * "header", "expadd": 120, ...}, "catnip": ["10.0.0.0/8", "2001:db8::1", 64500], and so on.
 * For the same input the CBOR is byte-identical to node-cat's, so a token issued here equals
 * the one node-cat issues with the same key:
 *   - the top-level claims map is ordered by ascending label (node-cat builds a JavaScript
 *     object keyed by label), with catv: 1 appended when the claims carry no catv;
 *   - catu / cath / catr / catif maps keep the JSON order;
 *   - catnip prefixes carry the full address bytes: "192.168.1.0/24" -> 52([24, h'c0a80100']);
 *   - sha256-match / sha512-256-match values stay text (hex) as node-cat writes them;
 *   - plain JSON objects in free-form values (catpor, unknown claims) become maps with a
 *     16-bit count head (0xb9) and JavaScript key order, as cbor-x writes them;
 *   - numbers: integers as CBOR integers, other numbers as float64.
 * Where node-cat produces something another CAT implementation would refuse, Warden writes
 * the conformant form instead: catalpn entries are byte strings; a catif entry without a kid
 * is a 2-element array (node-cat appends `undefined`); integers beyond 32 bits stay integers
 * (node-cat writes float64); cnf and catdpop use integer labels; the claims of a catif
 * Location [url, claims] are encoded as claims. Claims node-cat lacks (crit, or / nor / and,
 * catgeoalt, catdpop) use the CTA-5007 labels.
 *
 * Decoding (claims_to_json, inspect) runs a small bounded CBOR reader over the bytes: nesting
 * deeper than CBOR_MAX_DEPTH, truncated items and lengths past the input end are refused before
 * anything is allocated for them.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <cbor.h>

#include "token/cat_internal.h"
#include "util/codec.h"

/* Deepest nesting of arrays, maps and tags accepted in either direction. */
#define CBOR_MAX_DEPTH 16
/* Largest claims map produced (bytes of CBOR). */
#define ENC_MAX WD_CAT_MAX_BYTES

/* ---------------------------------------------------------------------------------------- */
/* Claim table                                                                              */

typedef enum kind {
  K_TSTR,      /* text */
  K_AUD,       /* text or [text] */
  K_INT,       /* integer (NumericDate) */
  K_UINT,      /* non-negative integer */
  K_CATV,      /* integer >= 1 */
  K_HEX,       /* hex text -> bstr */
  K_STRLIST,   /* [text] */
  K_STRORLIST, /* text or [text] */
  K_ARRAY,     /* any array, free-form */
  K_ANY,       /* any value, free-form */
  K_NIP,       /* catnip */
  K_URI,       /* catu */
  K_HDR,       /* cath */
  K_RENEW,     /* catr */
  K_IF,        /* catif */
  K_ALPN,      /* [text] -> [bstr] */
  K_GEOCOORD,  /* [[lat, lon, radius]] or [lat, lon, radius] */
  K_CRIT,      /* [claim name or label] -> [label] */
  K_CNF,       /* {"jkt": hex} -> {3: bstr} */
  K_DPOP,      /* {"window": s, "jti": 0/1} -> {0: s, 1: 0/1} */
  K_COMPOSITE, /* [claims] */
} kind_t;

typedef struct claim_def {
  const char *name;
  int64_t label;
  kind_t kind;
} claim_def_t;

static const claim_def_t claim_defs[] = {
    {"iss", WD_CAT_ISS, K_TSTR},
    {"sub", WD_CAT_SUB, K_TSTR},
    {"aud", WD_CAT_AUD, K_AUD},
    {"exp", WD_CAT_EXP, K_INT},
    {"nbf", WD_CAT_NBF, K_INT},
    {"iat", WD_CAT_IAT, K_INT},
    {"cti", WD_CAT_CTI, K_HEX},
    {"cnf", WD_CAT_CNF, K_CNF},
    {"or", WD_CAT_OR, K_COMPOSITE},
    {"nor", WD_CAT_NOR, K_COMPOSITE},
    {"and", WD_CAT_AND, K_COMPOSITE},
    {"crit", WD_CAT_CRIT, K_CRIT},
    {"geohash", WD_CAT_GEOHASH, K_STRORLIST},
    {"catreplay", WD_CAT_REPLAY, K_UINT},
    {"catpor", WD_CAT_POR, K_ARRAY},
    {"catv", WD_CAT_V, K_CATV},
    {"catnip", WD_CAT_NIP, K_NIP},
    {"catu", WD_CAT_U, K_URI},
    {"catm", WD_CAT_M, K_STRLIST},
    {"catalpn", WD_CAT_ALPN, K_ALPN},
    {"cath", WD_CAT_H, K_HDR},
    {"catgeoiso3166", WD_CAT_GEOISO3166, K_STRLIST},
    {"catgeocoord", WD_CAT_GEOCOORD, K_GEOCOORD},
    {"catgeoalt", WD_CAT_GEOALT, K_ANY},
    {"cattpk", WD_CAT_TPK, K_HEX},
    {"catifdata", WD_CAT_IFDATA, K_STRORLIST},
    {"catdpop", WD_CAT_DPOP, K_DPOP},
    {"catif", WD_CAT_IF, K_IF},
    {"catr", WD_CAT_R, K_RENEW},
    /* Names that only decode: the draft composite labels, node-cat's spelling of catdpop. */
    {"or", WD_CAT_OR_DRAFT, K_COMPOSITE},
    {"nor", WD_CAT_NOR_DRAFT, K_COMPOSITE},
    {"and", WD_CAT_AND_DRAFT, K_COMPOSITE},
    {"catadpop", WD_CAT_DPOP, K_DPOP},
};
#define NCLAIMS (sizeof claim_defs / sizeof *claim_defs)

static const claim_def_t *claim_by_label(int64_t label) {
  for (size_t i = 0; i < NCLAIMS; i++)
    if (claim_defs[i].label == label)
      return &claim_defs[i];
  return NULL;
}

static const claim_def_t *claim_by_name(const char *name) {
  for (size_t i = 0; i < NCLAIMS; i++)
    if (!strcmp(claim_defs[i].name, name))
      return &claim_defs[i];
  return NULL;
}

/* Label of a named claim for encoding: the composite names follow the labels option. */
static int64_t name_label(const claim_def_t *d, wd_cat_labels_t labels) {
  if (d->kind == K_COMPOSITE && labels == WD_CAT_LABELS_DRAFT) {
    if (d->label == WD_CAT_OR)
      return WD_CAT_OR_DRAFT;
    if (d->label == WD_CAT_NOR)
      return WD_CAT_NOR_DRAFT;
    if (d->label == WD_CAT_AND)
      return WD_CAT_AND_DRAFT;
  }
  return d->label;
}

static const char *const uri_parts[] = {"scheme", "host",     "port", "path",     "query",
                                        "parent-path", "filename", "stem", "extension"};
#define NURI (sizeof uri_parts / sizeof *uri_parts)

static const struct {
  const char *name;
  int64_t label;
} match_types[] = {
    {"exact-match", 0},  {"prefix-match", 1},  {"suffix-match", 2},      {"contains-match", 3},
    {"regex-match", 4}, {"sha256-match", -1}, {"sha512-256-match", -2},
};
#define NMATCH (sizeof match_types / sizeof *match_types)

static const char *const renew_fields[] = {"type",        "expadd",        "deadline",
                                           "cookie-name", "header-name",   "cookie-params",
                                           "header-params", "code"};
#define NRENEW (sizeof renew_fields / sizeof *renew_fields)

static const char *const renew_types[] = {"automatic", "cookie", "header", "redirect"};
#define NRENEWTYPE (sizeof renew_types / sizeof *renew_types)

static const char *const dpop_fields[] = {"window", "jti"};

enum { CNF_JKT = 3 };

/* Index of name in a table of n names, -1 when absent. */
static int name_index(const char *const *names, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(names[i], name))
      return (int)i;
  return -1;
}

/* A decimal integer key ("400", "-5"): 1 and *out, else 0. */
static int parse_label(const char *s, int64_t *out) {
  const char *p = s;
  int neg = 0;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  if (!*p || strlen(p) > 18)
    return 0;
  int64_t v = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9')
      return 0;
    v = v * 10 + (*p - '0');
  }
  *out = neg ? -v : v;
  return 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoder                                                                                  */

typedef struct enc {
  uint8_t *p;
  size_t n, cap;
  char *err;
  size_t errlen;
  wd_cat_labels_t labels;
} enc_t;

static int fail(enc_t *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(enc_t *e, int code, const char *fmt, ...) {
  if (e->err && e->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err, e->errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

static int put(enc_t *e, const void *b, size_t n) {
  if (n > ENC_MAX - e->n)
    return fail(e, WD_ETOOBIG, "claims encode to more than %d bytes", ENC_MAX);
  if (e->n + n > e->cap) {
    size_t cap = e->cap ? e->cap : 256;
    while (cap < e->n + n)
      cap *= 2;
    uint8_t *p = realloc(e->p, cap);
    if (!p)
      return fail(e, WD_ENOMEM, "out of memory");
    e->p = p;
    e->cap = cap;
  }
  memcpy(e->p + e->n, b, n);
  e->n += n;
  return 0;
}

enum { M_UINT, M_NEGINT, M_BSTR, M_TSTR, M_ARRAY, M_MAP, M_TAG, M_SIMPLE };

/* Head of a major type with argument v, shortest form (libcbor's encoders). */
static int put_head(enc_t *e, int major, uint64_t v) {
  unsigned char b[9];
  size_t n = 0;
  switch (major) {
  case M_UINT: n = cbor_encode_uint(v, b, sizeof b); break;
  case M_NEGINT: n = cbor_encode_negint(v, b, sizeof b); break;
  case M_BSTR: n = cbor_encode_bytestring_start((size_t)v, b, sizeof b); break;
  case M_TSTR: n = cbor_encode_string_start((size_t)v, b, sizeof b); break;
  case M_ARRAY: n = cbor_encode_array_start((size_t)v, b, sizeof b); break;
  case M_MAP: n = cbor_encode_map_start((size_t)v, b, sizeof b); break;
  case M_TAG: n = cbor_encode_tag(v, b, sizeof b); break;
  default: break;
  }
  if (n == 0)
    return fail(e, WD_EINVAL, "cannot encode CBOR head");
  return put(e, b, n);
}

static int put_int(enc_t *e, int64_t v) {
  return v >= 0 ? put_head(e, M_UINT, (uint64_t)v) : put_head(e, M_NEGINT, (uint64_t)(-(v + 1)));
}

static int put_str(enc_t *e, int major, const void *s, size_t n) {
  int rc = put_head(e, major, n);
  return rc ? rc : put(e, s, n);
}

static int put_tstr(enc_t *e, const char *s) { return put_str(e, M_TSTR, s, strlen(s)); }

static int put_double(enc_t *e, double d) {
  unsigned char b[9];
  size_t n = cbor_encode_double(d, b, sizeof b);
  return n ? put(e, b, n) : fail(e, WD_EINVAL, "cannot encode a number");
}

/* A JSON number as an exact integer, JavaScript style (1.0 is 1). */
static int json_int(const json_t *v, int64_t *out) {
  if (json_is_integer(v)) {
    *out = (int64_t)json_integer_value(v);
    return 1;
  }
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d) {
      *out = (int64_t)d;
      return 1;
    }
  }
  return 0;
}

/* A key JavaScript treats as an array index: such keys come first, in ascending order. */
static int js_index_key(const char *k, uint64_t *out) {
  size_t n = strlen(k);
  if (n == 0 || n > 10 || (n > 1 && k[0] == '0'))
    return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (k[i] < '0' || k[i] > '9')
      return 0;
    v = v * 10 + (uint64_t)(k[i] - '0');
  }
  if (v > 4294967294u)
    return 0;
  *out = v;
  return 1;
}

typedef struct okey {
  const char *key;
  json_t *value;
  int64_t order;   /* sort key for the index keys, -1 for the others */
  size_t pos;      /* insertion position */
  int64_t label;   /* claims maps: the label */
  const claim_def_t *def;
} okey_t;

/* Index keys ascending, then the others in insertion order (JavaScript property order). */
static int okey_cmp(const void *a, const void *b) {
  const okey_t *x = a, *y = b;
  if ((x->order >= 0) != (y->order >= 0))
    return x->order >= 0 ? -1 : 1;
  if (x->order >= 0 && x->order != y->order)
    return x->order < y->order ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int enc_generic(enc_t *e, const char *claim, const json_t *v, int depth);

/* A plain JSON object as cbor-x writes it: 16-bit count head, JavaScript key order. */
static int enc_object(enc_t *e, const char *claim, const json_t *o, int depth) {
  size_t n = json_object_size(o);
  if (n > 0xffff)
    return fail(e, WD_ETOOBIG, "claim %s: object too large", claim);
  okey_t *ks = calloc(n ? n : 1, sizeof *ks);
  if (!ks)
    return fail(e, WD_ENOMEM, "out of memory");
  const char *k;
  json_t *v;
  size_t i = 0;
  json_object_foreach((json_t *)o, k, v) {
    uint64_t idx;
    ks[i].key = k;
    ks[i].value = v;
    ks[i].pos = i;
    ks[i].order = js_index_key(k, &idx) ? (int64_t)idx : -1;
    i++;
  }
  qsort(ks, n, sizeof *ks, okey_cmp);
  uint8_t head[3] = {0xb9, (uint8_t)(n >> 8), (uint8_t)n};
  int rc = put(e, head, sizeof head);
  for (i = 0; !rc && i < n; i++) {
    rc = put_tstr(e, ks[i].key);
    if (!rc)
      rc = enc_generic(e, claim, ks[i].value, depth + 1);
  }
  free(ks);
  return rc;
}

/* Any JSON value, the way cbor-x encodes the JavaScript value JSON.parse gives. */
static int enc_generic(enc_t *e, const char *claim, const json_t *v, int depth) {
  if (depth > CBOR_MAX_DEPTH)
    return fail(e, WD_EINVAL, "claim %s nests deeper than %d levels", claim, CBOR_MAX_DEPTH);
  int64_t i;
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return enc_object(e, claim, v, depth);
  case JSON_ARRAY: {
    int rc = put_head(e, M_ARRAY, json_array_size(v));
    for (size_t j = 0; !rc && j < json_array_size(v); j++)
      rc = enc_generic(e, claim, json_array_get(v, j), depth + 1);
    return rc;
  }
  case JSON_STRING:
    return put_str(e, M_TSTR, json_string_value(v), json_string_length(v));
  case JSON_INTEGER:
  case JSON_REAL:
    if (json_int(v, &i))
      return put_int(e, i);
    return put_double(e, json_real_value(v));
  case JSON_TRUE: {
    unsigned char b = 0xf5;
    return put(e, &b, 1);
  }
  case JSON_FALSE: {
    unsigned char b = 0xf4;
    return put(e, &b, 1);
  }
  case JSON_NULL: {
    unsigned char b = 0xf6;
    return put(e, &b, 1);
  }
  }
  return fail(e, WD_EINVAL, "claim %s has an unsupported value", claim);
}

static int is_str_array(const json_t *v) {
  if (!json_is_array(v))
    return 0;
  for (size_t i = 0; i < json_array_size(v); i++)
    if (!json_is_string(json_array_get(v, i)))
      return 0;
  return 1;
}

static int enc_str_array(enc_t *e, const json_t *v, int major) {
  int rc = put_head(e, M_ARRAY, json_array_size(v));
  for (size_t i = 0; !rc && i < json_array_size(v); i++) {
    const json_t *s = json_array_get(v, i);
    rc = put_str(e, major, json_string_value(s), json_string_length(s));
  }
  return rc;
}

static int enc_hex(enc_t *e, const char *claim, const json_t *v) {
  const char *s = json_string_value(v);
  size_t n = s ? json_string_length(v) : 0;
  uint8_t buf[512];
  size_t len;
  if (!s || n == 0 || n % 2 || n / 2 > sizeof buf || wd_hex_decode(s, n, buf, sizeof buf, &len))
    return fail(e, WD_EINVAL, "claim %s must be a hex string (at most %zu bytes)", claim, sizeof buf);
  return put_str(e, M_BSTR, buf, len);
}

/* One catnip entry: ASN, IPv4 / IPv6 address, or IPv4 / IPv6 prefix (node-cat's forms). */
static int enc_nip_entry(enc_t *e, const json_t *v, size_t idx) {
  char text[80];
  int64_t asn;
  if (json_is_number(v)) {
    if (!json_int(v, &asn) || asn < 0 || asn > 0xffffffffLL)
      return fail(e, WD_EINVAL, "claim catnip entry %zu must be an ASN (0 to 4294967295)", idx);
    return put_int(e, asn);
  }
  if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= sizeof text)
    return fail(e, WD_EINVAL, "claim catnip entry %zu must be an IP address, a CIDR prefix or an ASN",
                idx);
  memcpy(text, json_string_value(v), json_string_length(v) + 1);
  if (!strchr(text, '.') && !strchr(text, ':')) {
    if (parse_label(text, &asn) && text[0] != '-' && asn <= 0xffffffffLL)
      return put_int(e, asn);
    return fail(e, WD_EINVAL, "claim catnip entry %zu ('%s') is not an IP address, CIDR prefix or ASN",
                idx, text);
  }
  char *slash = strchr(text, '/');
  int plen = -1;
  if (slash) {
    *slash = '\0';
    int64_t l;
    if (!parse_label(slash + 1, &l) || slash[1] == '-' || l > 128)
      goto bad;
    plen = (int)l;
  }
  uint8_t a[16];
  int tag, alen;
  if (inet_pton(AF_INET, text, a) == 1) {
    tag = 52;
    alen = 4;
  } else if (inet_pton(AF_INET6, text, a) == 1) {
    tag = 54;
    alen = 16;
  } else {
    goto bad;
  }
  if (plen > alen * 8)
    goto bad;
  int rc = put_head(e, M_TAG, (uint64_t)tag);
  if (!rc && plen >= 0) {
    rc = put_head(e, M_ARRAY, 2);
    if (!rc)
      rc = put_int(e, plen);
  }
  return rc ? rc : put_str(e, M_BSTR, a, (size_t)alen);
bad:
  return fail(e, WD_EINVAL, "claim catnip entry %zu ('%s') is not an IP address, CIDR prefix or ASN",
              idx, json_string_value(v));
}

/* Label of a sub-map key: its index in names (plus offset), or a decimal label. */
static int sub_label(const char *const *names, size_t n, const char *key, int64_t *out) {
  int i = name_index(names, n, key);
  if (i >= 0) {
    *out = i;
    return 1;
  }
  return parse_label(key, out);
}

/* {"prefix-match": "/x/", ...} -> {1: "/x/", ...} (catu and cath). */
static int enc_match_map(enc_t *e, const char *claim, const char *part, const json_t *m,
                         int depth) {
  if (!json_is_object(m))
    return fail(e, WD_EINVAL, "claim %s: %s must be an object of match types", claim, part);
  int rc = put_head(e, M_MAP, json_object_size(m));
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)m, k, v) {
    if (rc)
      break;
    int64_t label;
    size_t i;
    for (i = 0; i < NMATCH && strcmp(match_types[i].name, k); i++)
      ;
    if (i < NMATCH)
      label = match_types[i].label;
    else if (!parse_label(k, &label))
      return fail(e, WD_EINVAL,
                  "claim %s: unknown match type '%s' for %s (expected exact-match, prefix-match, "
                  "suffix-match, contains-match, regex-match, sha256-match or sha512-256-match)",
                  claim, k, part);
    rc = put_int(e, label);
    if (rc)
      break;
    if (label == 4) {
      if (!is_str_array(v) || json_array_size(v) < 1 || json_array_size(v) > 2)
        return fail(e, WD_EINVAL, "claim %s: regex-match for %s must be [pattern] or [pattern, flags]",
                    claim, part);
      rc = enc_str_array(e, v, M_TSTR);
    } else if (i < NMATCH) {
      if (!json_is_string(v))
        return fail(e, WD_EINVAL, "claim %s: %s for %s must be a string", claim, k, part);
      rc = put_str(e, M_TSTR, json_string_value(v), json_string_length(v));
    } else {
      rc = enc_generic(e, claim, v, depth + 1);
    }
  }
  return rc;
}

static int enc_uri(enc_t *e, const json_t *v, int depth) {
  if (!json_is_object(v))
    return fail(e, WD_EINVAL, "claim catu must be an object of URI components");
  int rc = put_head(e, M_MAP, json_object_size(v));
  const char *k;
  json_t *m;
  json_object_foreach((json_t *)v, k, m) {
    if (rc)
      break;
    int64_t label;
    if (!sub_label(uri_parts, NURI, k, &label))
      return fail(e, WD_EINVAL,
                  "claim catu: unknown URI component '%s' (expected scheme, host, port, path, query, "
                  "parent-path, filename, stem or extension)",
                  k);
    rc = put_int(e, label);
    if (!rc)
      rc = enc_match_map(e, "catu", k, m, depth + 1);
  }
  return rc;
}

static int enc_hdr(enc_t *e, const json_t *v, int depth) {
  if (!json_is_object(v))
    return fail(e, WD_EINVAL, "claim cath must be an object of header names");
  int rc = put_head(e, M_MAP, json_object_size(v));
  const char *k;
  json_t *m;
  json_object_foreach((json_t *)v, k, m) {
    if (rc)
      break;
    rc = put_tstr(e, k);
    if (!rc)
      rc = enc_match_map(e, "cath", k, m, depth + 1);
  }
  return rc;
}

static int enc_renew(enc_t *e, const json_t *v, int depth) {
  if (!json_is_object(v))
    return fail(e, WD_EINVAL, "claim catr must be an object");
  int rc = put_head(e, M_MAP, json_object_size(v));
  const char *k;
  json_t *f;
  json_object_foreach((json_t *)v, k, f) {
    if (rc)
      break;
    int64_t label, iv;
    if (!sub_label(renew_fields, NRENEW, k, &label))
      return fail(e, WD_EINVAL,
                  "claim catr: unknown field '%s' (expected type, expadd, deadline, cookie-name, "
                  "header-name, cookie-params, header-params or code)",
                  k);
    rc = put_int(e, label);
    if (rc)
      break;
    switch (label) {
    case 0: {
      int t = json_is_string(f) ? name_index(renew_types, NRENEWTYPE, json_string_value(f)) : -1;
      if (t < 0 && json_int(f, &iv) && iv >= 0)
        t = (int)(iv > 255 ? 255 : iv);
      if (t < 0)
        return fail(e, WD_EINVAL,
                    "claim catr: type must be automatic, cookie, header or redirect");
      rc = put_int(e, t);
      break;
    }
    case 1:
    case 2:
    case 7:
      if (!json_int(f, &iv))
        return fail(e, WD_EINVAL, "claim catr: %s must be an integer", k);
      rc = put_int(e, iv);
      break;
    case 3:
    case 4:
      if (!json_is_string(f))
        return fail(e, WD_EINVAL, "claim catr: %s must be a string", k);
      rc = put_str(e, M_TSTR, json_string_value(f), json_string_length(f));
      break;
    case 5:
    case 6:
      if (!is_str_array(f))
        return fail(e, WD_EINVAL, "claim catr: %s must be an array of strings", k);
      rc = enc_str_array(e, f, M_TSTR);
      break;
    default:
      rc = enc_generic(e, "catr", f, depth + 1);
    }
  }
  return rc;
}

static int enc_claims(enc_t *e, const json_t *claims, int sorted, int add_catv, int depth);

/* catif: {claim: [status, {header: value or [url, claims]}, kid?]}. */
static int enc_if(enc_t *e, const json_t *v, int depth) {
  if (!json_is_object(v))
    return fail(e, WD_EINVAL, "claim catif must be an object of claim names");
  if (depth > CBOR_MAX_DEPTH)
    return fail(e, WD_EINVAL, "claim catif nests deeper than %d levels", CBOR_MAX_DEPTH);
  int rc = put_head(e, M_MAP, json_object_size(v));
  const char *k;
  json_t *a;
  json_object_foreach((json_t *)v, k, a) {
    if (rc)
      break;
    const claim_def_t *d = claim_by_name(k);
    int64_t label, status;
    if (d)
      label = name_label(d, e->labels);
    else if (!parse_label(k, &label))
      return fail(e, WD_EINVAL, "claim catif: unknown claim '%s'", k);
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n < 2 || n > 3 || !json_int(json_array_get(a, 0), &status) ||
        !json_is_object(json_array_get(a, 1)) || (n == 3 && !json_is_string(json_array_get(a, 2))))
      return fail(e, WD_EINVAL, "claim catif: %s must be [status, {header: value}, kid]", k);
    rc = put_int(e, label);
    if (!rc)
      rc = put_head(e, M_ARRAY, n);
    if (!rc)
      rc = put_int(e, status);
    const json_t *hdrs = json_array_get(a, 1);
    if (!rc)
      rc = put_head(e, M_MAP, json_object_size(hdrs));
    const char *h;
    json_t *hv;
    json_object_foreach((json_t *)hdrs, h, hv) {
      if (rc)
        break;
      rc = put_tstr(e, h);
      if (rc)
        break;
      if (json_is_string(hv)) {
        rc = put_str(e, M_TSTR, json_string_value(hv), json_string_length(hv));
      } else if (json_is_array(hv) && json_array_size(hv) == 2 &&
                 json_is_string(json_array_get(hv, 0)) && json_is_object(json_array_get(hv, 1))) {
        const json_t *url = json_array_get(hv, 0);
        rc = put_head(e, M_ARRAY, 2);
        if (!rc)
          rc = put_str(e, M_TSTR, json_string_value(url), json_string_length(url));
        if (!rc)
          rc = enc_claims(e, json_array_get(hv, 1), 0, 0, depth + 3);
      } else {
        return fail(e, WD_EINVAL, "claim catif: header %s of %s must be a string or [url, claims]",
                    h, k);
      }
    }
    if (!rc && n == 3) {
      const json_t *kid = json_array_get(a, 2);
      rc = put_str(e, M_TSTR, json_string_value(kid), json_string_length(kid));
    }
  }
  return rc;
}

static int enc_crit(enc_t *e, const json_t *v) {
  if (!json_is_array(v))
    return fail(e, WD_EINVAL, "claim crit must be an array of claim names or labels");
  int rc = put_head(e, M_ARRAY, json_array_size(v));
  for (size_t i = 0; !rc && i < json_array_size(v); i++) {
    const json_t *c = json_array_get(v, i);
    int64_t label;
    const claim_def_t *d = json_is_string(c) ? claim_by_name(json_string_value(c)) : NULL;
    if (d)
      label = name_label(d, e->labels);
    else if (!json_int(c, &label) &&
             !(json_is_string(c) && parse_label(json_string_value(c), &label)))
      return fail(e, WD_EINVAL, "claim crit: '%s' is not a claim name or label",
                  json_is_string(c) ? json_string_value(c) : "(not a string)");
    rc = put_int(e, label);
  }
  return rc;
}

/* cnf / catdpop: objects with named or numeric keys -> maps with integer labels. */
static int enc_labeled_map(enc_t *e, const char *claim, const json_t *v, int depth) {
  if (!json_is_object(v))
    return fail(e, WD_EINVAL, "claim %s must be an object", claim);
  int is_cnf = !strcmp(claim, "cnf");
  int rc = put_head(e, M_MAP, json_object_size(v));
  const char *k;
  json_t *f;
  json_object_foreach((json_t *)v, k, f) {
    if (rc)
      break;
    int64_t label, iv;
    if (is_cnf && !strcmp(k, "jkt"))
      label = CNF_JKT;
    else if (!is_cnf && name_index(dpop_fields, 2, k) >= 0)
      label = name_index(dpop_fields, 2, k);
    else if (!parse_label(k, &label))
      return fail(e, WD_EINVAL, "claim %s: unknown field '%s' (expected %s or a numeric label)",
                  claim, k, is_cnf ? "jkt" : "window, jti");
    rc = put_int(e, label);
    if (rc)
      break;
    if (is_cnf && label == CNF_JKT) {
      rc = enc_hex(e, "cnf jkt", f);
    } else if (!is_cnf && (label == 0 || label == 1)) {
      if (!json_int(f, &iv))
        return fail(e, WD_EINVAL, "claim %s: %s must be an integer", claim, dpop_fields[label]);
      rc = put_int(e, iv);
    } else {
      rc = enc_generic(e, claim, f, depth + 1);
    }
  }
  return rc;
}

static int is_num_array(const json_t *v, size_t min, size_t max) {
  size_t n = json_array_size(v);
  if (!json_is_array(v) || n < min || n > max)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!json_is_number(json_array_get(v, i)))
      return 0;
  return 1;
}

/* One claim's value. */
static int enc_claim(enc_t *e, const claim_def_t *d, const char *name, const json_t *v,
                     int depth) {
  int64_t iv;
  if (!d)
    return enc_generic(e, name, v, depth);
  switch (d->kind) {
  case K_TSTR:
    if (!json_is_string(v))
      return fail(e, WD_EINVAL, "claim %s must be a string", name);
    return put_str(e, M_TSTR, json_string_value(v), json_string_length(v));
  case K_AUD:
  case K_STRORLIST:
    if (json_is_string(v))
      return put_str(e, M_TSTR, json_string_value(v), json_string_length(v));
    if (!is_str_array(v))
      return fail(e, WD_EINVAL, "claim %s must be a string or an array of strings", name);
    return enc_str_array(e, v, M_TSTR);
  case K_STRLIST:
    if (!is_str_array(v))
      return fail(e, WD_EINVAL, "claim %s must be an array of strings", name);
    return enc_str_array(e, v, M_TSTR);
  case K_ALPN:
    if (!is_str_array(v))
      return fail(e, WD_EINVAL, "claim %s must be an array of strings", name);
    return enc_str_array(e, v, M_BSTR);
  case K_INT:
    if (!json_int(v, &iv))
      return fail(e, WD_EINVAL, "claim %s must be an integer", name);
    return put_int(e, iv);
  case K_UINT:
    if (!json_int(v, &iv) || iv < 0)
      return fail(e, WD_EINVAL, "claim %s must be a non-negative integer", name);
    return put_int(e, iv);
  case K_CATV:
    if (!json_int(v, &iv) || iv < 1)
      return fail(e, WD_EINVAL, "claim %s must be an integer of at least 1", name);
    return put_int(e, iv);
  case K_HEX:
    return enc_hex(e, name, v);
  case K_ARRAY:
    if (!json_is_array(v))
      return fail(e, WD_EINVAL, "claim %s must be an array", name);
    return enc_generic(e, name, v, depth);
  case K_ANY:
    return enc_generic(e, name, v, depth);
  case K_NIP: {
    if (!json_is_array(v))
      return fail(e, WD_EINVAL, "claim catnip must be an array of IP addresses, prefixes or ASNs");
    int rc = put_head(e, M_ARRAY, json_array_size(v));
    for (size_t i = 0; !rc && i < json_array_size(v); i++)
      rc = enc_nip_entry(e, json_array_get(v, i), i);
    return rc;
  }
  case K_URI:
    return enc_uri(e, v, depth);
  case K_HDR:
    return enc_hdr(e, v, depth);
  case K_RENEW:
    return enc_renew(e, v, depth);
  case K_IF:
    return enc_if(e, v, depth);
  case K_GEOCOORD: {
    int ok = is_num_array(v, 2, 3);
    if (!ok && json_is_array(v) && json_array_size(v) > 0) {
      ok = 1;
      for (size_t i = 0; ok && i < json_array_size(v); i++)
        ok = is_num_array(json_array_get(v, i), 2, 3);
    }
    if (!ok)
      return fail(e, WD_EINVAL, "claim %s must be an array of [lat, lon, radius] arrays", name);
    return enc_generic(e, name, v, depth);
  }
  case K_CRIT:
    return enc_crit(e, v);
  case K_CNF:
  case K_DPOP:
    return enc_labeled_map(e, d->kind == K_CNF ? "cnf" : "catdpop", v, depth);
  case K_COMPOSITE: {
    if (!json_is_array(v))
      return fail(e, WD_EINVAL, "claim %s must be an array of claim sets", name);
    int rc = put_head(e, M_ARRAY, json_array_size(v));
    for (size_t i = 0; !rc && i < json_array_size(v); i++) {
      const json_t *set = json_array_get(v, i);
      if (!json_is_object(set))
        return fail(e, WD_EINVAL, "claim %s must be an array of claim sets (objects)", name);
      rc = enc_claims(e, set, 1, 0, depth + 2);
    }
    return rc;
  }
  }
  return fail(e, WD_EINVAL, "claim %s is not supported", name);
}

/*
 * A claims map. sorted: order as node-cat's top level (ascending labels, negative ones last in
 * JSON order); otherwise JSON order. add_catv: append catv 1 when absent.
 */
static int enc_claims(enc_t *e, const json_t *claims, int sorted, int add_catv, int depth) {
  if (depth > CBOR_MAX_DEPTH)
    return fail(e, WD_EINVAL, "claims nest deeper than %d levels", CBOR_MAX_DEPTH);
  size_t n = json_object_size(claims);
  if (n > 1024)
    return fail(e, WD_ETOOBIG, "too many claims (%zu, at most 1024)", n);
  okey_t *ks = calloc(n ? n : 1, sizeof *ks);
  if (!ks)
    return fail(e, WD_ENOMEM, "out of memory");
  int rc = 0, have_catv = 0;
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)claims, k, v) {
    int64_t label;
    const claim_def_t *d = claim_by_name(k);
    if (d) {
      label = name_label(d, e->labels);
    } else if (parse_label(k, &label)) {
      d = claim_by_label(label);
    } else {
      rc = fail(e, WD_EINVAL, "unknown claim '%s' (not a CAT claim name or a numeric label)", k);
      break;
    }
    ks[i].key = k;
    ks[i].value = v;
    ks[i].pos = i;
    ks[i].label = label;
    ks[i].def = d;
    ks[i].order = sorted && label >= 0 ? label : -1;
    if (label == WD_CAT_V)
      have_catv = 1;
    i++;
  }
  if (!rc && sorted)
    qsort(ks, n, sizeof *ks, okey_cmp);
  for (size_t a = 0; !rc && a < n; a++)
    for (size_t b = a + 1; !rc && b < n; b++)
      if (ks[a].label == ks[b].label)
        rc = fail(e, WD_EINVAL, "claim %s given twice ('%s' and '%s')", ks[a].key, ks[a].key,
                  ks[b].key);
  add_catv = add_catv && !have_catv;
  if (!rc)
    rc = put_head(e, M_MAP, n + (add_catv ? 1 : 0));
  for (i = 0; !rc && i < n; i++) {
    rc = put_int(e, ks[i].label);
    if (!rc)
      rc = enc_claim(e, ks[i].def, ks[i].def ? ks[i].def->name : ks[i].key, ks[i].value,
                     depth + 1);
  }
  if (!rc && add_catv) {
    rc = put_int(e, WD_CAT_V);
    if (!rc)
      rc = put_int(e, 1);
  }
  free(ks);
  return rc;
}

int wd__cat_claims_from_json_labels(const json_t *claims, wd_cat_labels_t labels, uint8_t **out,
                                    size_t *outlen, char *err, size_t errlen) {
  enc_t e = {.err = err, .errlen = errlen, .labels = labels};
  if (err && errlen)
    err[0] = '\0';
  if (!out || !outlen)
    return WD_EINVAL;
  if (!json_is_object(claims))
    return fail(&e, WD_EINVAL, "claims must be a JSON object");
  int rc = enc_claims(&e, claims, 1, 1, 0);
  if (rc) {
    free(e.p);
    return rc;
  }
  *out = e.p;
  *outlen = e.n;
  return 0;
}

int wd__cat_claims_from_json(const json_t *claims, uint8_t **out, size_t *outlen, char *err,
                             size_t errlen) {
  return wd__cat_claims_from_json_labels(claims, WD_CAT_LABELS_DEFAULT, out, outlen, err, errlen);
}

/* ---------------------------------------------------------------------------------------- */
/* Bounded CBOR reader                                                                      */

typedef struct rd {
  const uint8_t *p;
  size_t n, off;
} rd_t;

typedef struct hd {
  int major, ai, indef;
  uint64_t v;
} hd_t;

enum { RD_OK = 0, RD_BREAK = 1, RD_BAD = -1 };

static int rd_head(rd_t *r, hd_t *h) {
  if (r->off >= r->n)
    return RD_BAD;
  uint8_t b = r->p[r->off++];
  h->major = b >> 5;
  h->ai = b & 31;
  h->indef = 0;
  h->v = (uint64_t)h->ai;
  if (h->ai < 24)
    return RD_OK;
  if (h->ai <= 27) {
    size_t k = (size_t)1 << (h->ai - 24);
    if (r->n - r->off < k)
      return RD_BAD;
    h->v = 0;
    for (size_t i = 0; i < k; i++)
      h->v = h->v << 8 | r->p[r->off++];
    return RD_OK;
  }
  if (h->ai == 31) {
    if (h->major >= M_BSTR && h->major <= M_MAP) {
      h->indef = 1;
      return RD_OK;
    }
    if (h->major == M_SIMPLE)
      return RD_BREAK;
  }
  return RD_BAD;
}

static int rd_peek_break(rd_t *r) { return r->off < r->n && r->p[r->off] == 0xff; }

/* Next element of an array (or pair of a map) of head h exists; consumes the break. */
static int rd_more(rd_t *r, const hd_t *h, uint64_t i) {
  if (!h->indef)
    return i < h->v;
  if (rd_peek_break(r)) {
    r->off++;
    return 0;
  }
  return r->off < r->n;
}

/* A count that cannot fit in the bytes left is refused before any work. */
static int count_ok(const rd_t *r, const hd_t *h, int per) {
  return h->indef || h->v <= (uint64_t)(r->n - r->off) / (uint64_t)per;
}

typedef struct str {
  const uint8_t *p;
  size_t n;
  uint8_t *own;
} str_t;

static void str_free(str_t *s) {
  free(s->own);
  s->own = NULL;
}

/* The string of head h (already read, major 2 or 3); indefinite ones are joined. */
static int rd_str_body(rd_t *r, const hd_t *h, str_t *s) {
  s->own = NULL;
  if (!h->indef) {
    if (h->v > r->n - r->off)
      return RD_BAD;
    s->p = r->p + r->off;
    s->n = (size_t)h->v;
    r->off += (size_t)h->v;
    return RD_OK;
  }
  size_t start = r->off, total = 0;
  for (;;) { /* first pass: validate and size */
    hd_t c;
    int rc = rd_head(r, &c);
    if (rc == RD_BREAK)
      break;
    if (rc || c.major != h->major || c.indef || c.v > r->n - r->off)
      return RD_BAD;
    r->off += (size_t)c.v;
    total += (size_t)c.v;
  }
  s->own = malloc(total ? total : 1);
  if (!s->own)
    return RD_BAD;
  size_t end = r->off, o = 0;
  r->off = start;
  while (r->off < end - 1) {
    hd_t c;
    rd_head(r, &c);
    memcpy(s->own + o, r->p + r->off, (size_t)c.v);
    o += (size_t)c.v;
    r->off += (size_t)c.v;
  }
  r->off = end;
  s->p = s->own;
  s->n = total;
  return RD_OK;
}

static int rd_str(rd_t *r, int major, str_t *s) {
  hd_t h;
  size_t save = r->off;
  if (rd_head(r, &h) || h.major != major || rd_str_body(r, &h, s)) {
    r->off = save;
    return RD_BAD;
  }
  return RD_OK;
}

/* An integer item (major 0 or 1) within int64_t. */
static int rd_int(rd_t *r, int64_t *out) {
  hd_t h;
  size_t save = r->off;
  if (rd_head(r, &h) || (h.major != M_UINT && h.major != M_NEGINT) || h.v > INT64_MAX) {
    r->off = save;
    return RD_BAD;
  }
  *out = h.major == M_UINT ? (int64_t)h.v : -1 - (int64_t)h.v;
  return RD_OK;
}

static int rd_peek_major(const rd_t *r) { return r->off < r->n ? r->p[r->off] >> 5 : -1; }

static double half_to_double(uint16_t h) {
  int ex = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (ex == 0)
    v = ldexp(mant, -24);
  else if (ex != 31)
    v = ldexp(mant + 1024, ex - 25);
  else
    v = mant == 0 ? INFINITY : NAN;
  return (h & 0x8000) ? -v : v;
}

static json_t *hex_json(const uint8_t *p, size_t n) {
  char *s = malloc(n * 2 + 1);
  if (!s)
    return NULL;
  wd_hex_encode(p, n, s);
  json_t *j = json_stringn(s, n * 2);
  free(s);
  return j;
}

/* Text as a JSON string; text that is not UTF-8 comes out as hex. */
static json_t *text_json(const uint8_t *p, size_t n) {
  json_t *j = json_stringn((const char *)p, n);
  return j ? j : hex_json(p, n);
}

static int printable(const uint8_t *p, size_t n) {
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] < 0x20 || p[i] > 0x7e)
      return 0;
  return 1;
}

static json_t *gen_json(rd_t *r, int depth);

/* Key of a map entry as JSON object key text: text as is, integers in decimal. */
static char *key_text(rd_t *r, int depth) {
  int major = rd_peek_major(r);
  char buf[32];
  if (major == M_TSTR) {
    str_t s;
    if (rd_str(r, M_TSTR, &s))
      return NULL;
    char *k = NULL;
    json_t *j = text_json(s.p, s.n);
    if (j)
      k = strdup(json_string_value(j));
    json_decref(j);
    str_free(&s);
    return k;
  }
  if (major == M_UINT || major == M_NEGINT) {
    hd_t h;
    if (rd_head(r, &h))
      return NULL;
    if (major == M_UINT)
      snprintf(buf, sizeof buf, "%llu", (unsigned long long)h.v);
    else if (h.v < UINT64_MAX)
      snprintf(buf, sizeof buf, "-%llu", (unsigned long long)h.v + 1);
    else
      snprintf(buf, sizeof buf, "-18446744073709551616");
    return strdup(buf);
  }
  json_t *j = gen_json(r, depth + 1);
  if (!j)
    return NULL;
  char *k = json_is_string(j) ? strdup(json_string_value(j))
                              : json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(j);
  return k;
}

/* Set obj[k] = v, consuming v; a key jansson refuses is stored as "?". Returns 0 or -1. */
static int obj_set(json_t *obj, const char *k, json_t *v) {
  if (!v)
    return -1;
  if (json_object_set_new(obj, k, v) == 0)
    return 0;
  return json_object_set_new(obj, "?", v) == 0 ? 0 : -1;
}

/* Any CBOR item as JSON: bstr as hex, tags as {"tag": n, "value": v} (tag 259 maps unwrapped). */
static json_t *gen_json(rd_t *r, int depth) {
  hd_t h;
  if (depth > CBOR_MAX_DEPTH || rd_head(r, &h))
    return NULL;
  switch (h.major) {
  case M_UINT:
    return h.v <= INT64_MAX ? json_integer((json_int_t)h.v) : json_real((double)h.v);
  case M_NEGINT:
    return h.v <= INT64_MAX ? json_integer(-1 - (json_int_t)h.v) : json_real(-1.0 - (double)h.v);
  case M_BSTR:
  case M_TSTR: {
    str_t s;
    if (rd_str_body(r, &h, &s))
      return NULL;
    json_t *j = h.major == M_BSTR ? hex_json(s.p, s.n) : text_json(s.p, s.n);
    str_free(&s);
    return j;
  }
  case M_ARRAY: {
    if (!count_ok(r, &h, 1))
      return NULL;
    json_t *a = json_array();
    for (uint64_t i = 0; a && rd_more(r, &h, i); i++)
      if (json_array_append_new(a, gen_json(r, depth + 1))) {
        json_decref(a);
        return NULL;
      }
    return a;
  }
  case M_MAP: {
    if (!count_ok(r, &h, 2))
      return NULL;
    json_t *o = json_object();
    for (uint64_t i = 0; o && rd_more(r, &h, i); i++) {
      char *k = key_text(r, depth);
      if (!k || obj_set(o, k, gen_json(r, depth + 1))) {
        free(k);
        json_decref(o);
        return NULL;
      }
      free(k);
    }
    return o;
  }
  case M_TAG: {
    if (h.v == 259 && rd_peek_major(r) == M_MAP)
      return gen_json(r, depth + 1);
    json_t *inner = gen_json(r, depth + 1);
    if (!inner)
      return NULL;
    json_t *t = json_object();
    if (!t || json_object_set_new(t, "tag", json_integer((json_int_t)(h.v & INT64_MAX))) ||
        json_object_set_new(t, "value", inner)) {
      json_decref(t);
      return NULL;
    }
    return t;
  }
  default: /* M_SIMPLE */
    if (h.ai == 20)
      return json_false();
    if (h.ai == 21)
      return json_true();
    if (h.ai == 22 || h.ai == 23)
      return json_null();
    if (h.ai >= 25 && h.ai <= 27) {
      double d;
      if (h.ai == 25) {
        d = half_to_double((uint16_t)h.v);
      } else if (h.ai == 26) {
        uint32_t bits = (uint32_t)h.v;
        float f;
        memcpy(&f, &bits, sizeof f);
        d = f;
      } else {
        uint64_t bits = h.v;
        memcpy(&d, &bits, sizeof d);
      }
      return isfinite(d) ? json_real(d) : json_null();
    }
    {
      json_t *o = json_object();
      if (o && json_object_set_new(o, "simple", json_integer((json_int_t)h.v))) {
        json_decref(o);
        return NULL;
      }
      return o;
    }
  }
}

/* Read the head of a map (skipping a tag 259 wrapper); RD_BAD when the item is not a map. */
static int rd_map_head(rd_t *r, hd_t *h) {
  size_t save = r->off;
  if (rd_head(r, h))
    goto bad;
  if (h->major == M_TAG && h->v == 259 && rd_head(r, h))
    goto bad;
  if (h->major != M_MAP || !count_ok(r, h, 2))
    goto bad;
  return RD_OK;
bad:
  r->off = save;
  return RD_BAD;
}

static int rd_array_head(rd_t *r, hd_t *h) {
  size_t save = r->off;
  if (rd_head(r, h) || h->major != M_ARRAY || !count_ok(r, h, 1)) {
    r->off = save;
    return RD_BAD;
  }
  return RD_OK;
}

/* An address (bytes, possibly truncated) as node-cat prints it. */
static void addr_text(int v6, const uint8_t *b, size_t n, char *out, size_t cap) {
  uint8_t a[16] = {0};
  memcpy(a, b, n);
  if (!v6) {
    snprintf(out, cap, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    return;
  }
  /* ipaddr.js toNormalizedString: eight groups, no zero compression. */
  size_t o = 0;
  for (int i = 0; i < 8 && o < cap; i++)
    o += (size_t)snprintf(out + o, cap - o, "%s%x", i ? ":" : "", a[2 * i] << 8 | a[2 * i + 1]);
}

/* catnip entry: 52/54 with a bstr or [prefix length, bstr]. NULL: not that shape (rewound). */
static json_t *nip_entry_json(rd_t *r) {
  size_t save = r->off;
  hd_t h, ah;
  if (rd_head(r, &h) || h.major != M_TAG || (h.v != 52 && h.v != 54))
    goto no;
  int v6 = h.v == 54;
  size_t max = v6 ? 16 : 4;
  int64_t plen = -1;
  if (rd_peek_major(r) == M_ARRAY) {
    if (rd_array_head(r, &ah) || ah.indef || ah.v != 2 || rd_int(r, &plen) || plen < 0 ||
        plen > (int64_t)max * 8)
      goto no;
  }
  str_t s;
  if (rd_str(r, M_BSTR, &s))
    goto no;
  if (s.n > max || (plen < 0 && s.n != max)) {
    str_free(&s);
    goto no;
  }
  char text[64];
  addr_text(v6, s.p, s.n, text, sizeof text);
  str_free(&s);
  if (plen >= 0) {
    size_t l = strlen(text);
    snprintf(text + l, sizeof text - l, "/%d", (int)plen);
  }
  return json_string(text);
no:
  r->off = save;
  return NULL;
}

/* Shape-specific renderings; each returns NULL (input rewound) when the shape differs. */
static json_t *claims_json(rd_t *r, int depth);

static json_t *match_map_json(rd_t *r, int depth) {
  hd_t h;
  if (depth > CBOR_MAX_DEPTH || rd_map_head(r, &h))
    return NULL;
  json_t *o = json_object();
  for (uint64_t i = 0; o && rd_more(r, &h, i); i++) {
    int64_t label;
    json_t *v = NULL;
    char buf[24];
    const char *name = NULL;
    if (rd_int(r, &label) == RD_OK) {
      for (size_t m = 0; m < NMATCH; m++)
        if (match_types[m].label == label)
          name = match_types[m].name;
      if (!name) {
        snprintf(buf, sizeof buf, "%lld", (long long)label);
        name = buf;
      }
      if (rd_peek_major(r) == M_BSTR) { /* digest as a bstr (CTA-5007) */
        str_t s;
        if (rd_str(r, M_BSTR, &s) == RD_OK) {
          v = hex_json(s.p, s.n);
          str_free(&s);
        }
      } else {
        v = gen_json(r, depth + 1);
      }
      if (obj_set(o, name, v))
        goto bad;
    } else {
      char *k = key_text(r, depth);
      int bad = !k || obj_set(o, k, gen_json(r, depth + 1));
      free(k);
      if (bad)
        goto bad;
    }
  }
  return o;
bad:
  json_decref(o);
  return NULL;
}

/* A map whose integer keys are named by names[0..n) (and whose other keys are kept). */
typedef json_t *(*value_fn)(rd_t *r, int64_t label, int depth);

static json_t *named_map_json(rd_t *r, const char *const *names, size_t n, value_fn fn, int depth) {
  hd_t h;
  if (depth > CBOR_MAX_DEPTH || rd_map_head(r, &h))
    return NULL;
  json_t *o = json_object();
  for (uint64_t i = 0; o && rd_more(r, &h, i); i++) {
    int64_t label;
    char buf[24];
    if (rd_int(r, &label) == RD_OK) {
      const char *name = label >= 0 && (uint64_t)label < n ? names[label] : NULL;
      if (!name) {
        snprintf(buf, sizeof buf, "%lld", (long long)label);
        name = buf;
      }
      size_t save = r->off;
      json_t *v = fn ? fn(r, label, depth + 1) : NULL;
      if (!v) {
        r->off = save;
        v = gen_json(r, depth + 1);
      }
      if (obj_set(o, name, v))
        goto bad;
    } else {
      char *k = key_text(r, depth);
      int bad = !k || obj_set(o, k, gen_json(r, depth + 1));
      free(k);
      if (bad)
        goto bad;
    }
  }
  return o;
bad:
  json_decref(o);
  return NULL;
}

static json_t *uri_value(rd_t *r, int64_t label, int depth) { return match_map_json(r, depth); }

static json_t *renew_value(rd_t *r, int64_t label, int depth) {
  int64_t t;
  if (label == 0 && rd_int(r, &t) == RD_OK) {
    if (t >= 0 && (uint64_t)t < NRENEWTYPE)
      return json_string(renew_types[t]);
    return json_integer((json_int_t)t);
  }
  return NULL;
}

static json_t *cnf_value(rd_t *r, int64_t label, int depth) {
  str_t s;
  if (label != CNF_JKT || rd_str(r, M_BSTR, &s))
    return NULL;
  json_t *j = hex_json(s.p, s.n);
  str_free(&s);
  return j;
}

static json_t *hdr_json(rd_t *r, int depth) {
  hd_t h;
  if (depth > CBOR_MAX_DEPTH || rd_map_head(r, &h))
    return NULL;
  json_t *o = json_object();
  for (uint64_t i = 0; o && rd_more(r, &h, i); i++) {
    char *k = key_text(r, depth);
    size_t save = r->off;
    json_t *v = k ? match_map_json(r, depth + 1) : NULL;
    if (k && !v) {
      r->off = save;
      v = gen_json(r, depth + 1);
    }
    int bad = !k || obj_set(o, k, v);
    free(k);
    if (bad) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

/* catif value [status, {header: text or [url, claims]}, kid]. */
static json_t *if_entry_json(rd_t *r, int depth) {
  size_t save = r->off;
  hd_t ah, mh;
  json_t *a = NULL, *hdrs = NULL;
  if (depth + 2 > CBOR_MAX_DEPTH || rd_array_head(r, &ah) || ah.indef || ah.v < 2 || ah.v > 3)
    goto no;
  a = json_array();
  if (!a || json_array_append_new(a, gen_json(r, depth + 1)) || rd_map_head(r, &mh))
    goto no;
  hdrs = json_object();
  for (uint64_t i = 0; hdrs && rd_more(r, &mh, i); i++) {
    char *k = key_text(r, depth + 1);
    json_t *v = NULL;
    size_t vs = r->off;
    hd_t lh;
    if (k && rd_array_head(r, &lh) == RD_OK && !lh.indef && lh.v == 2 &&
        rd_peek_major(r) == M_TSTR) {
      str_t url;
      if (rd_str(r, M_TSTR, &url) == RD_OK) {
        json_t *u = text_json(url.p, url.n);
        str_free(&url);
        json_t *c = claims_json(r, depth + 3);
        if (u && c) {
          v = json_array();
          json_array_append_new(v, u);
          json_array_append_new(v, c);
        } else {
          json_decref(u);
          json_decref(c);
        }
      }
    }
    if (k && !v) {
      r->off = vs;
      v = gen_json(r, depth + 2);
    }
    int bad = !k || obj_set(hdrs, k, v);
    free(k);
    if (bad)
      goto no;
  }
  if (!hdrs || json_array_append_new(a, hdrs))
    goto no_hdrs_owned;
  hdrs = NULL;
  if (ah.v == 3 && json_array_append_new(a, gen_json(r, depth + 1)))
    goto no;
  return a;
no:
  json_decref(hdrs);
no_hdrs_owned:
  json_decref(a);
  r->off = save;
  return NULL;
}

static json_t *if_json(rd_t *r, int depth) {
  hd_t h;
  if (depth > CBOR_MAX_DEPTH || rd_map_head(r, &h))
    return NULL;
  json_t *o = json_object();
  for (uint64_t i = 0; o && rd_more(r, &h, i); i++) {
    int64_t label;
    char buf[24];
    char *k = NULL;
    const char *name;
    if (rd_int(r, &label) == RD_OK) {
      const claim_def_t *d = claim_by_label(label);
      snprintf(buf, sizeof buf, "%lld", (long long)label);
      name = d ? d->name : buf;
    } else {
      k = key_text(r, depth);
      name = k;
    }
    json_t *v = name ? if_entry_json(r, depth + 1) : NULL;
    if (name && !v)
      v = gen_json(r, depth + 1);
    int bad = !name || obj_set(o, name, v);
    free(k);
    if (bad) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

/* An array whose entries go through fn (NULL from fn: generic). */
typedef json_t *(*entry_fn)(rd_t *r, int depth);

static json_t *array_json(rd_t *r, entry_fn fn, int depth) {
  hd_t h;
  if (depth > CBOR_MAX_DEPTH || rd_array_head(r, &h))
    return NULL;
  json_t *a = json_array();
  for (uint64_t i = 0; a && rd_more(r, &h, i); i++) {
    size_t save = r->off;
    json_t *v = fn(r, depth + 1);
    if (!v) {
      r->off = save;
      v = gen_json(r, depth + 1);
    }
    if (json_array_append_new(a, v)) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

static json_t *nip_entry(rd_t *r, int depth) { return nip_entry_json(r); }

static json_t *alpn_entry(rd_t *r, int depth) {
  str_t s;
  if (rd_str(r, M_BSTR, &s))
    return NULL;
  json_t *j = printable(s.p, s.n) ? json_stringn((const char *)s.p, s.n) : hex_json(s.p, s.n);
  str_free(&s);
  return j;
}

static json_t *crit_entry(rd_t *r, int depth) {
  int64_t label;
  if (rd_int(r, &label))
    return NULL;
  const claim_def_t *d = claim_by_label(label);
  return d ? json_string(d->name) : json_integer((json_int_t)label);
}

static json_t *claims_entry(rd_t *r, int depth) { return claims_json(r, depth); }

/* One claim's value by label; NULL when the shape is not the expected one (rewound). */
static json_t *claim_value_json(rd_t *r, const claim_def_t *d, int depth) {
  str_t s;
  json_t *j;
  switch (d->kind) {
  case K_HEX:
    if (rd_str(r, M_BSTR, &s))
      return NULL;
    j = hex_json(s.p, s.n);
    str_free(&s);
    return j;
  case K_NIP:
    return array_json(r, nip_entry, depth);
  case K_URI:
    return named_map_json(r, uri_parts, NURI, uri_value, depth);
  case K_HDR:
    return hdr_json(r, depth);
  case K_RENEW:
    return named_map_json(r, renew_fields, NRENEW, renew_value, depth);
  case K_IF:
    return if_json(r, depth);
  case K_ALPN:
    return array_json(r, alpn_entry, depth);
  case K_CRIT:
    return array_json(r, crit_entry, depth);
  case K_CNF: {
    static const char *const cnf_names[] = {NULL, NULL, NULL, "jkt"};
    return named_map_json(r, cnf_names, 4, cnf_value, depth);
  }
  case K_DPOP:
    return named_map_json(r, dpop_fields, 2, NULL, depth);
  case K_COMPOSITE:
    return array_json(r, claims_entry, depth);
  default:
    return NULL;
  }
}

/* A claims map as JSON; NULL (rewound) when the item is not a map or is malformed. */
static json_t *claims_json(rd_t *r, int depth) {
  size_t save = r->off;
  hd_t h;
  if (depth > CBOR_MAX_DEPTH || rd_map_head(r, &h))
    return NULL;
  json_t *o = json_object();
  for (uint64_t i = 0; o && rd_more(r, &h, i); i++) {
    int64_t label;
    char buf[24];
    char *k = NULL;
    const char *name;
    const claim_def_t *d = NULL;
    if (rd_int(r, &label) == RD_OK) {
      d = claim_by_label(label);
      snprintf(buf, sizeof buf, "%lld", (long long)label);
      name = d ? d->name : buf;
    } else {
      k = key_text(r, depth);
      name = k;
    }
    json_t *v = NULL;
    if (name && d) {
      size_t vs = r->off;
      v = claim_value_json(r, d, depth + 1);
      if (!v)
        r->off = vs;
    }
    if (name && !v)
      v = gen_json(r, depth + 1);
    int bad = !name || obj_set(o, name, v);
    free(k);
    if (bad) {
      json_decref(o);
      r->off = save;
      return NULL;
    }
  }
  if (!o)
    r->off = save;
  return o;
}

json_t *wd__cat_claims_to_json(const uint8_t *payload, size_t len) {
  if (!payload || len == 0 || len > WD_TOKEN_MAX)
    return NULL;
  rd_t r = {payload, len, 0};
  json_t *o = claims_json(&r, 0);
  if (o && r.off != len) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* ---------------------------------------------------------------------------------------- */
/* Inspect                                                                                  */

static int b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '+' || c == '/';
}

/* Cheap test before any allocation: base64 text whose first byte starts a COSE structure. */
static int looks_like_cat(const char *tok, size_t len) {
  if (len < 8 || len > WD_TOKEN_MAX)
    return 0;
  size_t n = len;
  while (n > 0 && tok[n - 1] == '=' && len - n < 2)
    n--;
  for (size_t i = 0; i < n; i++)
    if (!b64_char(tok[i]))
      return 0;
  uint8_t head[3];
  size_t hn;
  if (wd_b64_decode(tok, 4, head, sizeof head, &hn, WD_B64_ANY) || hn < 2)
    return 0;
  /* 61(..) is d8 3d; 17(..) d1; 18(..) d2; an untagged 4-element array 84. */
  return (head[0] == 0xd8 && head[1] == 0x3d) || head[0] == 0xd1 || head[0] == 0xd2 ||
         head[0] == 0x84;
}

/* Header map (protected contents or unprotected) as JSON: alg and kid named. */
static json_t *header_json(rd_t *r) {
  hd_t h;
  if (rd_map_head(r, &h))
    return NULL;
  json_t *o = json_object();
  for (uint64_t i = 0; o && rd_more(r, &h, i); i++) {
    size_t ks = r->off;
    int64_t label = 0;
    int is_int = rd_int(r, &label) == RD_OK;
    char *k = NULL;
    if (!is_int) {
      r->off = ks;
      k = key_text(r, 1);
      if (k && !strcmp(k, "4")) /* legacy cbor-x text label */
        label = 4;
    } else {
      char buf[24];
      snprintf(buf, sizeof buf, "%lld", (long long)label);
      k = strdup(buf);
    }
    if (!k)
      goto bad;
    int bad = 0;
    if (label == 1 && is_int) {
      bad = obj_set(o, "alg", gen_json(r, 2));
    } else if (label == 4 && rd_peek_major(r) == M_BSTR) {
      str_t s;
      if (rd_str(r, M_BSTR, &s)) {
        bad = 1;
      } else {
        bad = obj_set(o, "kid", hex_json(s.p, s.n));
        if (!bad && printable(s.p, s.n))
          bad = obj_set(o, "kid_text", json_stringn((const char *)s.p, s.n));
        str_free(&s);
      }
    } else {
      bad = obj_set(o, k, gen_json(r, 2));
    }
    free(k);
    if (bad)
      goto bad;
  }
  return o;
bad:
  json_decref(o);
  return NULL;
}

/* The payload (bstr of claims, node-cat's legacy text of hex, or nil) into o. */
static int payload_json(rd_t *r, json_t *o) {
  int major = rd_peek_major(r);
  if (r->off < r->n && r->p[r->off] == 0xf6) { /* detached */
    r->off++;
    return json_object_set_new(o, "payload", json_null()) ? -1 : 0;
  }
  str_t s;
  if ((major != M_BSTR && major != M_TSTR) || rd_str(r, major, &s))
    return -1;
  json_t *claims = NULL;
  int rc = 0;
  if (major == M_BSTR) {
    claims = wd__cat_claims_to_json(s.p, s.n);
  } else if (s.n % 2 == 0 && s.n / 2 <= WD_TOKEN_MAX) {
    uint8_t *bin = malloc(s.n / 2 + 1);
    size_t bl;
    if (bin && wd_hex_decode((const char *)s.p, s.n, bin, s.n / 2 + 1, &bl) == 0)
      claims = wd__cat_claims_to_json(bin, bl);
    free(bin);
    if (claims)
      rc = json_object_set_new(o, "payload_format", json_string("hex-text"));
  }
  if (claims && rc)
    json_decref(claims);
  else if (claims)
    rc = json_object_set_new(o, "claims", claims);
  else
    rc = obj_set(o, "payload", major == M_BSTR ? hex_json(s.p, s.n) : text_json(s.p, s.n));
  str_free(&s);
  return rc ? -1 : 0;
}

/* The protected header: a bstr holding a header map (an empty bstr: no header). */
static json_t *protected_json(rd_t *r) {
  str_t s;
  if (rd_str(r, M_BSTR, &s))
    return NULL;
  json_t *prot = NULL;
  if (s.n == 0) {
    prot = json_object();
  } else {
    rd_t pr = {s.p, s.n, 0};
    prot = header_json(&pr);
    if (prot && pr.off != pr.n) {
      json_decref(prot);
      prot = NULL;
    }
  }
  str_free(&s);
  return prot;
}

static int inspect_cose(const uint8_t *b, size_t n, json_t **out) {
  rd_t r = {b, n, 0};
  hd_t h;
  str_t s = {0};
  int sign = -1;
  json_t *o = json_object(), *tags = json_array();
  if (!o || !tags || json_object_set_new(o, "scheme", json_string("cat")) ||
      json_object_set(o, "tags", tags))
    goto bad;
  for (int i = 0;; i++) { /* 61(17(..)), 17(..), 61(18(..)), 18(..) or untagged */
    if (rd_head(&r, &h) || i > 3)
      goto bad;
    if (h.major != M_TAG)
      break;
    if (h.v == 17)
      sign = 0;
    else if (h.v == 18)
      sign = 1;
    else if (h.v != 61)
      goto bad;
    if (json_array_append_new(tags, json_integer((json_int_t)h.v)))
      goto bad;
  }
  if (h.major != M_ARRAY || h.indef || h.v != 4)
    goto bad;
  json_t *prot = protected_json(&r);
  if (obj_set(o, "protected", prot) || obj_set(o, "unprotected", header_json(&r)))
    goto bad;
  if (sign < 0) { /* untagged: the algorithm tells MAC (positive) from signature (negative) */
    json_t *alg = json_object_get(prot, "alg");
    sign = json_is_integer(alg) && json_integer_value(alg) < 0;
  }
  if (payload_json(&r, o) || rd_str(&r, M_BSTR, &s) || r.off != r.n)
    goto bad;
  if (obj_set(o, sign ? "signature" : "mac", hex_json(s.p, s.n)))
    goto bad;
  str_free(&s);
  json_decref(tags);
  *out = o;
  return 0;
bad:
  str_free(&s);
  json_decref(tags);
  json_decref(o);
  return WD_EMALFORMED;
}

int wd__cat_inspect(const char *tok, size_t len, json_t **out) {
  if (!tok || !out || !looks_like_cat(tok, len))
    return WD_EMALFORMED;
  size_t cap = wd_b64_dec_max(len), n;
  uint8_t *b = malloc(cap);
  if (!b)
    return WD_ENOMEM;
  int rc = wd_b64_decode(tok, len, b, cap, &n, WD_B64_ANY) ? WD_EMALFORMED : inspect_cose(b, n, out);
  free(b);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Issue                                                                                    */

/* The claim by name or by its numeric label text. */
static json_t *claim_get(const json_t *claims, const char *name, int64_t label) {
  json_t *v = json_object_get(claims, name);
  if (!v) {
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)label);
    v = json_object_get(claims, buf);
  }
  return v;
}

int wd__cat_issue(const wd_keyring_t *ring, const json_t *claims, const wd_issue_opts_t *opts,
                  char **out, char *err, size_t errlen) {
  enc_t e = {.err = err, .errlen = errlen};
  if (!out)
    return WD_EINVAL;
  if (claims && !json_is_object(claims))
    return fail(&e, WD_EINVAL, "claims must be a JSON object");
  json_t *c = claims ? json_copy((json_t *)claims) : json_object();
  uint8_t *payload = NULL, *cose = NULL;
  size_t plen = 0, clen = 0;
  char *tok = NULL;
  int rc;
  if (!c)
    return fail(&e, WD_ENOMEM, "out of memory");
  int64_t now = opts->now ? opts->now : (int64_t)time(NULL);
  if (opts->ttl > 0 && !claim_get(c, "exp", WD_CAT_EXP) &&
      json_object_set_new(c, "exp", json_integer((json_int_t)(now + opts->ttl)))) {
    rc = fail(&e, WD_ENOMEM, "out of memory");
    goto out;
  }
  if (opts->ip && opts->ip[0] && !claim_get(c, "catnip", WD_CAT_NIP)) {
    json_t *nip = json_array();
    if (!nip || json_array_append_new(nip, json_string(opts->ip)) ||
        json_object_set_new(c, "catnip", nip)) {
      rc = fail(&e, WD_ENOMEM, "out of memory");
      goto out;
    }
  }
  rc = wd__cat_claims_from_json_labels(c, opts->cat.labels, &payload, &plen, err, errlen);
  if (rc)
    goto out;
  const char *iss = json_string_value(claim_get(c, "iss", WD_CAT_ISS));
  const wd_key_t *key = wd_keyring_signer(ring, WD_SCHEME_CAT, opts->kid, iss);
  if (!key) {
    if (opts->kid)
      rc = fail(&e, WD_ENOKEY, "no CAT signing key with kid '%s' (give --key-hex or --key-file)",
                opts->kid);
    else
      rc = fail(&e, WD_ENOKEY, "no CAT signing key (give --key-hex or --key-file)");
    goto out;
  }
  rc = wd__cose_seal(key, payload, plen, opts->cat.tagless, &cose, &clen);
  if (rc) {
    if (rc == WD_EALG)
      fail(&e, rc, "key cannot seal a CAT (algorithm %s)", wd_alg_name(key->alg));
    else
      fail(&e, rc, "cannot seal the CAT: %s", wd_strerror(rc));
    goto out;
  }
  tok = malloc(wd_b64_enc_len(clen, 0) + 1);
  if (!tok) {
    rc = fail(&e, WD_ENOMEM, "out of memory");
    goto out;
  }
  wd_b64_encode(cose, clen, tok, 1, 0);
  *out = tok;
out:
  free(payload);
  free(cose);
  json_decref(c);
  return rc;
}
