/*
 * The cluster message codec; see warden/cluster.h for the format and docs/cluster.md for how
 * the messages travel.
 *
 * Decoding reads the bytes in one pass with a reader made for this format (below: the JSON
 * grammar exactly as jansson takes it, invalid UTF-8 and repeated keys refused, without
 * building a tree or allocating; a node catching up decodes hundreds of thousands a second)
 * and then checks every field of the message's kind against the same bounds the receiving
 * stores enforce, so a message that decodes can be applied. Encoding builds the object with
 * jansson and refuses what decoding would.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ip.h"
#include "warden/cluster.h"
#include "warden/error.h"

#define TIME_MAX ((int64_t)1 << 42) /* seconds (year 141,000) and milliseconds bounds */

static const char *const kinds[] = {NULL, "ban", "net", "use"};
static const char *const fnames[] = {"v", "k",   "n", "t",  "l",   "o",   "bt",  "bv",
                                     "c", "u",   "r", "a",  "p",   "key", "x",   "ip",
                                     "asn", "cc", "lat", "lon", "iss", "id"};

void wd_cluster_msg_init(wd_cluster_msg_t *m, wd_cluster_kind_t k, const char *node,
                         int64_t time_ms) {
  memset(m, 0, sizeof *m);
  m->kind = k;
  if (node)
    snprintf(m->node, sizeof m->node, "%s", node);
  m->time_ms = time_ms;
  m->lat = m->lon = NAN;
}

int wd_cluster_node_ok(const char *s) {
  if (!s)
    return 0;
  size_t n = strnlen(s, WD_CLUSTER_NODE_MAX);
  if (n == 0 || n >= WD_CLUSTER_NODE_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* Text without control characters (the UTF-8 itself is checked by jansson or the encoder's
 * caller), of at most cap - 1 bytes; min bytes at least. */
static int text_ok(const char *s, size_t cap, size_t min) {
  size_t n = strnlen(s, cap);
  if (n >= cap || n < min)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f)
      return 0;
  }
  return 1;
}

static int country_ok(const char *cc) {
  return cc[0] == '\0' ||
         (cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z' && cc[2] == '\0');
}

/* Field checks shared by encode and decode: 0, or WD_EINVAL with the field named in err. */
static int check(const wd_cluster_msg_t *m, char *err, size_t errlen) {
#define BAD(...)                                                                                   \
  do {                                                                                             \
    if (err && errlen)                                                                             \
      snprintf(err, errlen, __VA_ARGS__);                                                          \
    return WD_EINVAL;                                                                              \
  } while (0)
  if (!wd_cluster_node_ok(m->node))
    BAD("n: not a node id (1..63 of A-Z a-z 0-9 _ -)");
  if (m->time_ms < 0 || m->time_ms > TIME_MAX)
    BAD("t: out of range");
  switch (m->kind) {
  case WD_CLUSTER_BAN: {
    if (m->list != WD_CLUSTER_LIST_BANS && m->list != WD_CLUSTER_LIST_ALLOW)
      BAD("l: not bans or allow");
    if (m->op != WD_BAN_ADD && m->op != WD_BAN_LIFT)
      BAD("o: not add or lift");
    char canon[WD_BAN_VALUE_MAX];
    if (strnlen(m->ban.value, WD_BAN_VALUE_MAX) >= WD_BAN_VALUE_MAX ||
        wd_ban_canonical(m->ban.type, m->ban.value, canon) != 0 || strcmp(canon, m->ban.value))
      BAD("bv: not a canonical %s value", wd_ban_type_name(m->ban.type));
    if (m->ban.created < 0 || m->ban.created > TIME_MAX || (m->op == WD_BAN_ADD && !m->ban.created))
      BAD("c: out of range");
    if (m->ban.until < 0 || m->ban.until > TIME_MAX)
      BAD("u: out of range");
    if (!text_ok(m->ban.reason, sizeof m->ban.reason, 0))
      BAD("r: too long or has control characters");
    if (!text_ok(m->ban.actor, sizeof m->ban.actor, 0))
      BAD("a: too long or has control characters");
    return 0;
  }
  case WD_CLUSTER_NET: {
    if (!text_ok(m->policy, sizeof m->policy, 1))
      BAD("p: empty, too long or has control characters");
    if (!text_ok(m->key, sizeof m->key, 1))
      BAD("key: empty, too long or has control characters");
    if (m->exp < 0 || m->exp > TIME_MAX)
      BAD("x: out of range");
    int maxlen = m->family == 4 ? 32 : 128, minlen = m->family == 4 ? 8 : 16;
    if ((m->family != 4 && m->family != 6) || m->prefix_len < minlen || m->prefix_len > maxlen)
      BAD("ip: not an IPv4 /8../32 or IPv6 /16../128 network");
    for (int i = 0; i < (m->family == 4 ? 4 : 16); i++) {
      int keep = m->prefix_len - 8 * i;
      uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
      if (m->prefix[i] & ~mask)
        BAD("ip: host bits set");
    }
    if (m->family == 4)
      for (int i = 4; i < 16; i++)
        if (m->prefix[i])
          BAD("ip: bytes beyond an IPv4 address");
    if (!country_ok(m->country))
      BAD("cc: not two upper-case letters");
    if (isnan(m->lat) != isnan(m->lon) ||
        (!isnan(m->lat) && !(m->lat >= -90 && m->lat <= 90 && m->lon >= -180 && m->lon <= 180)))
      BAD("lat/lon: out of range or only one given");
    return 0;
  }
  case WD_CLUSTER_USE:
    if (!text_ok(m->issuer, sizeof m->issuer, 0))
      BAD("iss: too long or has control characters");
    if (!text_ok(m->id, sizeof m->id, 1))
      BAD("id: empty, too long or has control characters");
    if (m->until < 0 || m->until > TIME_MAX)
      BAD("u: out of range");
    return 0;
  }
  BAD("k: unknown kind");
#undef BAD
}

int wd_cluster_msg_encode(const wd_cluster_msg_t *m, char *buf, size_t cap, size_t *len) {
  if (!m || !buf || (m->kind < WD_CLUSTER_BAN || m->kind > WD_CLUSTER_USE))
    return WD_EINVAL;
  int rc = check(m, NULL, 0);
  if (rc)
    return rc;
  json_t *o = json_object();
  if (!o)
    return WD_ENOMEM;
  int bad = 0;
#define SET(k, v) bad |= json_object_set_new(o, k, v)
  SET("v", json_integer(WD_CLUSTER_VERSION));
  SET("k", json_string(kinds[m->kind]));
  SET("n", json_string(m->node));
  SET("t", json_integer(m->time_ms));
  char ipbuf[64];
  switch (m->kind) {
  case WD_CLUSTER_BAN:
    SET("l", json_string(m->list == WD_CLUSTER_LIST_ALLOW ? "allow" : "bans"));
    SET("o", json_string(m->op == WD_BAN_ADD ? "add" : "lift"));
    SET("bt", json_string(wd_ban_type_name(m->ban.type)));
    SET("bv", json_string(m->ban.value));
    SET("c", json_integer(m->ban.created));
    SET("u", json_integer(m->ban.until));
    SET("r", json_string(m->ban.reason));
    SET("a", json_string(m->ban.actor));
    break;
  case WD_CLUSTER_NET: {
    SET("p", json_string(m->policy));
    SET("key", json_string(m->key));
    SET("x", json_integer(m->exp));
    wd_ip_t ip = {.family = m->family};
    memcpy(ip.a, m->prefix, 16);
    wd_ip_format(&ip, ipbuf, sizeof ipbuf);
    size_t l = strlen(ipbuf);
    snprintf(ipbuf + l, sizeof ipbuf - l, "/%d", m->prefix_len);
    SET("ip", json_string(ipbuf));
    if (m->asn)
      SET("asn", json_integer(m->asn));
    if (m->country[0])
      SET("cc", json_string(m->country));
    if (!isnan(m->lat)) {
      SET("lat", json_real(round(m->lat * 1e4) / 1e4));
      SET("lon", json_real(round(m->lon * 1e4) / 1e4));
    }
    break;
  }
  case WD_CLUSTER_USE:
    SET("iss", json_string(m->issuer));
    SET("id", json_string(m->id));
    SET("u", json_integer(m->until));
    break;
  }
#undef SET
  if (bad) {
    json_decref(o);
    return WD_EINVAL; /* a string jansson refused: not UTF-8 */
  }
  size_t n = json_dumpb(o, buf, cap, JSON_COMPACT);
  json_decref(o);
  if (n == 0)
    return WD_ENOMEM;
  if (n >= cap)
    return WD_ETOOBIG;
  buf[n] = '\0';
  if (len)
    *len = n;
  return 0;
}

/* --- decode ---
 *
 * A reader for exactly this format, without building a tree: one pass over the bytes that
 * accepts precisely the JSON documents jansson accepts (RFC 8259 grammar; UTF-8 without
 * overlong forms, surrogates or code points past U+10FFFF; \u escapes with surrogate pairs and
 * without \u0000; integers within int64; reals that do not overflow; no repeated key in any
 * object), keeps the top-level fields this format knows, decodes their strings into a scratch
 * buffer, and validates whatever else it meets so that the verdict, and the error code, are the
 * same as decoding the whole document first (fuzz/cluster_msg_fuzz.c compares the two; the one
 * difference: jansson skips a NUL byte after a number or a literal, this reader refuses it). Every
 * bound follows from WD_CLUSTER_MSG_MAX: a key takes at least 4 bytes and a nesting level 2.
 */

/* The top-level fields of every kind; any other name is an unknown field. */
enum {
  F_V, F_K, F_N, F_T, F_L, F_O, F_BT, F_BV, F_C, F_U, F_R, F_A, F_P, F_KEY, F_X, F_IP, F_ASN,
  F_CC, F_LAT, F_LON, F_ISS, F_ID, F_COUNT
};

static int field_id(const char *k, size_t n) {
  if (n == 1) {
    static const char one[] = "vkntlocurapx";
    static const int ids[] = {F_V, F_K, F_N, F_T, F_L, F_O, F_C, F_U, F_R, F_A, F_P, F_X};
    const char *hit = k[0] ? memchr(one, k[0], sizeof one - 1) : NULL;
    return hit ? ids[hit - one] : -1;
  }
  static const struct {
    const char *name;
    int id;
  } longer[] = {{"bt", F_BT},   {"bv", F_BV},   {"ip", F_IP},   {"cc", F_CC},
                {"id", F_ID},   {"key", F_KEY}, {"asn", F_ASN}, {"lat", F_LAT},
                {"lon", F_LON}, {"iss", F_ISS}};
  for (size_t i = 0; i < sizeof longer / sizeof *longer; i++)
    if (strlen(longer[i].name) == n && !memcmp(longer[i].name, k, n))
      return longer[i].id;
  return -1;
}

enum { J_NONE = 0, J_STR, J_INT, J_REAL, J_OTHER };

typedef struct jfield {
  int type;          /* J_NONE: absent */
  const char *s;     /* J_STR: decoded, NUL-terminated, in the scratch buffer */
  size_t slen;
  int64_t i;         /* J_INT */
  double d;          /* J_INT, J_REAL */
} jfield_t;

#define KEYS_MAX (WD_CLUSTER_MSG_MAX / 4 + 1)  /* "":0 is the shortest member */
#define DEPTH_MAX (WD_CLUSTER_MSG_MAX / 2 + 1) /* each level takes an opening and a closing byte */

typedef struct dec {
  const uint8_t *p, *end;
  char *w;                           /* next free byte of the scratch buffer */
  uint16_t koff[KEYS_MAX], klen[KEYS_MAX]; /* keys of the objects open (repeats are refused) */
  size_t nkeys;
  char *scratch;
  jfield_t f[F_COUNT];
  size_t unknown;                    /* top-level fields of other names */
  size_t used;                       /* known fields consumed */
  const char *why;                   /* the syntax error */
  char *err;
  size_t errlen;
} dec_t;

static int fail(dec_t *d, const char *fmt, ...) {
  if (d->err && d->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, d->errlen, fmt, ap);
    va_end(ap);
  }
  return WD_EINVAL;
}

static int syntax(dec_t *d, const char *why) {
  d->why = why;
  return -1;
}

static void ws(dec_t *d) {
  while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
    d->p++;
}

static int hex4(const uint8_t *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int c = p[i], x;
    if (c >= '0' && c <= '9')
      x = c - '0';
    else if (c >= 'a' && c <= 'f')
      x = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      x = c - 'A' + 10;
    else
      return -1;
    v = v << 4 | (unsigned)x;
  }
  *out = v;
  return 0;
}

static char *put_utf8(char *w, unsigned cp) {
  if (cp < 0x80) {
    *w++ = (char)cp;
  } else if (cp < 0x800) {
    *w++ = (char)(0xc0 | cp >> 6);
    *w++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *w++ = (char)(0xe0 | cp >> 12);
    *w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
    *w++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *w++ = (char)(0xf0 | cp >> 18);
    *w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
    *w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
    *w++ = (char)(0x80 | (cp & 0x3f));
  }
  return w;
}

/* The string at d->p (its opening quote), decoded into the scratch buffer and NUL-terminated
 * (the decoded text plus its NUL never take more bytes than the quoted text). */
static int jstring(dec_t *d, const char **out, size_t *outlen) {
  const uint8_t *p = d->p + 1, *end = d->end;
  char *start = d->w, *w = d->w;
  for (;;) {
    if (p >= end)
      return syntax(d, "unterminated string");
    uint8_t c = *p;
    if (c == '"') {
      p++;
      break;
    }
    if (c < 0x20)
      return syntax(d, "control character in a string");
    if (c < 0x80 && c != '\\') {
      *w++ = (char)c;
      p++;
      continue;
    }
    if (c == '\\') {
      if (p + 1 >= end)
        return syntax(d, "unterminated string");
      uint8_t e = p[1];
      p += 2;
      static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
      const char *hit = e ? memchr(from, e, sizeof from - 1) : NULL;
      if (hit) {
        *w++ = to[hit - from];
        continue;
      }
      unsigned cp, lo;
      if (e != 'u' || end - p < 4 || hex4(p, &cp))
        return syntax(d, "invalid escape");
      p += 4;
      if (cp >= 0xdc00 && cp <= 0xdfff)
        return syntax(d, "invalid Unicode escape (a lone low surrogate)");
      if (cp >= 0xd800 && cp <= 0xdbff) {
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo))
          return syntax(d, "invalid Unicode escape (a high surrogate alone)");
        if (lo < 0xdc00 || lo > 0xdfff)
          return syntax(d, "invalid Unicode escape (a high surrogate alone)");
        p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      }
      if (cp == 0)
        return syntax(d, "\\u0000 in a string");
      w = put_utf8(w, cp);
      continue;
    }
    /* UTF-8: the length from the first byte, then the code point must need that length */
    size_t len;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return syntax(d, "invalid UTF-8");
    }
    if ((size_t)(end - p) < len)
      return syntax(d, "invalid UTF-8");
    for (size_t i = 1; i < len; i++) {
      if ((p[i] & 0xc0) != 0x80)
        return syntax(d, "invalid UTF-8");
      cp = cp << 6 | (p[i] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      return syntax(d, "invalid UTF-8");
    memcpy(w, p, len);
    w += len;
    p += len;
  }
  *w++ = '\0';
  d->p = p;
  d->w = w;
  if (out)
    *out = start;
  if (outlen)
    *outlen = (size_t)(w - 1 - start);
  return 0;
}

static int digit(const dec_t *d, const uint8_t *p) { return p < d->end && *p >= '0' && *p <= '9'; }

/* The number at d->p into *f (J_INT within int64, else J_REAL). */
static int jnumber(dec_t *d, jfield_t *f) {
  const uint8_t *s = d->p, *p = d->p;
  int neg = p < d->end && *p == '-', real = 0;
  p += neg;
  if (p < d->end && *p == '0') {
    p++;
    if (digit(d, p))
      return syntax(d, "invalid number (a leading zero)");
  } else if (digit(d, p)) {
    while (digit(d, p))
      p++;
  } else {
    return syntax(d, "invalid token");
  }
  if (p < d->end && *p == '.') {
    p++;
    if (!digit(d, p))
      return syntax(d, "invalid number");
    while (digit(d, p))
      p++;
    real = 1;
  }
  if (p < d->end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < d->end && (*p == '+' || *p == '-'))
      p++;
    if (!digit(d, p))
      return syntax(d, "invalid number");
    while (digit(d, p))
      p++;
    real = 1;
  }
  d->p = p;
  if (!real) {
    uint64_t u = 0, lim = (uint64_t)INT64_MAX + (uint64_t)neg;
    for (const uint8_t *q = s + neg; q < p; q++) {
      unsigned x = (unsigned)(*q - '0');
      if (u > (lim - x) / 10)
        return syntax(d, "integer out of range");
      u = u * 10 + x;
    }
    f->type = J_INT;
    f->i = neg ? (int64_t)(0 - u) : (int64_t)u;
    f->d = (double)f->i;
    return 0;
  }
  /* strtod wants a NUL-terminated copy: the scratch buffer has room (the number is not
   * kept there) */
  size_t n = (size_t)(p - s);
  memcpy(d->w, s, n);
  d->w[n] = '\0';
  errno = 0;
  double v = strtod(d->w, NULL);
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL))
    return syntax(d, "real number overflow");
  f->type = J_REAL;
  f->d = v;
  return 0;
}

/* A key of the innermost open object (frame: its first key), refused when repeated; *id: the
 * known top-level field it names, else -1. A known field repeats when already set; other keys
 * are compared with the other keys of their object. */
static int jkey(dec_t *d, int top, size_t frame, int *id) {
  const char *key;
  size_t klen;
  if (d->p >= d->end || *d->p != '"')
    return syntax(d, "string or '}' expected");
  if (jstring(d, &key, &klen))
    return -1;
  *id = top ? field_id(key, klen) : -1;
  if (*id >= 0) {
    if (d->f[*id].type != J_NONE)
      return syntax(d, "duplicate object key");
  } else {
    if (d->nkeys >= KEYS_MAX)
      return syntax(d, "too many keys");
    for (size_t i = frame; i < d->nkeys; i++)
      if (d->klen[i] == klen && !memcmp(d->scratch + d->koff[i], key, klen))
        return syntax(d, "duplicate object key");
    d->koff[d->nkeys] = (uint16_t)(key - d->scratch);
    d->klen[d->nkeys++] = (uint16_t)klen;
  }
  ws(d);
  if (d->p >= d->end || *d->p != ':')
    return syntax(d, "':' expected");
  d->p++;
  return 0;
}

/* The document: one object. Its known fields go to d->f; nested values are validated and
 * dropped. 0, or -1 with d->why. */
static int jparse(dec_t *d) {
  uint8_t opener[DEPTH_MAX]; /* '{' or '[' per level */
  uint16_t frame[DEPTH_MAX]; /* the level's first key */
  size_t depth = 0;
  ws(d);
  if (d->p >= d->end || *d->p != '{')
    return syntax(d, "not a JSON object");
  goto open;
open: /* at '{' or '[' */
  if (depth == DEPTH_MAX)
    return syntax(d, "nested too deep");
  opener[depth] = *d->p++;
  frame[depth] = (uint16_t)d->nkeys;
  depth++;
  ws(d);
  if (d->p < d->end && *d->p == (opener[depth - 1] == '{' ? '}' : ']')) {
    d->p++;
    goto close;
  }
member: {
  jfield_t scratch_field, *f = &scratch_field;
  if (opener[depth - 1] == '{') {
    int id;
    if (jkey(d, depth == 1, frame[depth - 1], &id))
      return -1;
    if (id >= 0)
      f = &d->f[id];
    else if (depth == 1)
      d->unknown++;
  }
  ws(d);
  if (d->p >= d->end)
    return syntax(d, "value expected");
  uint8_t c = *d->p;
  if (c == '{' || c == '[') {
    f->type = J_OTHER;
    goto open;
  }
  if (c == '"') {
    f->type = J_STR;
    if (jstring(d, &f->s, &f->slen))
      return -1;
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    if (jnumber(d, f))
      return -1;
  } else {
    const uint8_t *s = d->p;
    while (d->p < d->end && ((*d->p >= 'a' && *d->p <= 'z') || (*d->p >= 'A' && *d->p <= 'Z')))
      d->p++;
    size_t n = (size_t)(d->p - s);
    if (!((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5)) ||
          (n == 4 && !memcmp(s, "null", 4))))
      return syntax(d, "invalid token");
    f->type = J_OTHER;
  }
}
next: /* after a value */
  ws(d);
  if (d->p < d->end && *d->p == ',') {
    d->p++;
    ws(d);
    goto member;
  }
  if (d->p >= d->end || *d->p != (opener[depth - 1] == '{' ? '}' : ']'))
    return syntax(d, opener[depth - 1] == '{' ? "',' or '}' expected" : "',' or ']' expected");
  d->p++;
close:
  depth--;
  d->nkeys = frame[depth];
  if (depth)
    goto next;
  ws(d);
  if (d->p != d->end)
    return syntax(d, "end of input expected");
  return 0;
}

/* A string field into out (cap bytes); optional fields leave out untouched when absent. */
static int get_str(dec_t *d, int id, char *out, size_t cap, int required) {
  const jfield_t *v = &d->f[id];
  if (v->type == J_NONE)
    return required ? fail(d, "%s: missing", fnames[id]) : 0;
  d->used++;
  if (v->type != J_STR)
    return fail(d, "%s: not a string", fnames[id]);
  if (v->slen >= cap || memchr(v->s, '\0', v->slen))
    return fail(d, "%s: too long or has a NUL", fnames[id]);
  memcpy(out, v->s, v->slen + 1);
  return 0;
}

static int get_int(dec_t *d, int id, int64_t min, int64_t max, int64_t *out, int required) {
  const jfield_t *v = &d->f[id];
  if (v->type == J_NONE)
    return required ? fail(d, "%s: missing", fnames[id]) : 0;
  d->used++;
  if (v->type != J_INT)
    return fail(d, "%s: not an integer", fnames[id]);
  if (v->i < min || v->i > max)
    return fail(d, "%s: out of range", fnames[id]);
  *out = v->i;
  return 0;
}

static int get_num(dec_t *d, int id, double min, double max, double *out) {
  const jfield_t *v = &d->f[id];
  if (v->type == J_NONE)
    return 0;
  d->used++;
  if (v->type != J_INT && v->type != J_REAL)
    return fail(d, "%s: not a number", fnames[id]);
  double x = v->d;
  if (!(x >= min && x <= max))
    return fail(d, "%s: out of range", fnames[id]);
  *out = x;
  return 0;
}

static int decode_ban(dec_t *d, wd_cluster_msg_t *m) {
  char l[8], o[8], bt[12];
  int64_t c = 0, u = 0;
  int rc = get_str(d, F_L, l, sizeof l, 1);
  if (!rc)
    rc = get_str(d, F_O, o, sizeof o, 1);
  if (!rc)
    rc = get_str(d, F_BT, bt, sizeof bt, 1);
  if (!rc)
    rc = get_str(d, F_BV, m->ban.value, sizeof m->ban.value, 1);
  if (!rc)
    rc = get_int(d, F_C, 0, TIME_MAX, &c, 1);
  if (!rc)
    rc = get_int(d, F_U, 0, TIME_MAX, &u, 1);
  if (!rc)
    rc = get_str(d, F_R, m->ban.reason, sizeof m->ban.reason, 1);
  if (!rc)
    rc = get_str(d, F_A, m->ban.actor, sizeof m->ban.actor, 1);
  if (rc)
    return rc;
  if (!strcmp(l, "bans"))
    m->list = WD_CLUSTER_LIST_BANS;
  else if (!strcmp(l, "allow"))
    m->list = WD_CLUSTER_LIST_ALLOW;
  else
    return fail(d, "l: '%s' is not bans or allow", l);
  if (!strcmp(o, "add"))
    m->op = WD_BAN_ADD;
  else if (!strcmp(o, "lift"))
    m->op = WD_BAN_LIFT;
  else
    return fail(d, "o: '%s' is not add or lift", o);
  if (wd_ban_type_parse(bt, &m->ban.type))
    return fail(d, "bt: '%s' is not a ban type", bt);
  m->ban.created = c;
  m->ban.until = u;
  return 0;
}

static int decode_net(dec_t *d, wd_cluster_msg_t *m) {
  char ip[64];
  int64_t asn = 0;
  int rc = get_str(d, F_P, m->policy, sizeof m->policy, 1);
  if (!rc)
    rc = get_str(d, F_KEY, m->key, sizeof m->key, 1);
  if (!rc)
    rc = get_int(d, F_X, 0, TIME_MAX, &m->exp, 1);
  if (!rc)
    rc = get_str(d, F_IP, ip, sizeof ip, 1);
  if (!rc)
    rc = get_int(d, F_ASN, 0, UINT32_MAX, &asn, 0);
  if (!rc)
    rc = get_str(d, F_CC, m->country, sizeof m->country, 0);
  if (!rc)
    rc = get_num(d, F_LAT, -90, 90, &m->lat);
  if (!rc)
    rc = get_num(d, F_LON, -180, 180, &m->lon);
  if (rc)
    return rc;
  wd_ip_t net;
  int plen;
  if (!strchr(ip, '/') || wd_cidr_parse(ip, strlen(ip), &net, &plen))
    return fail(d, "ip: '%s' is not a network", ip);
  m->family = net.family;
  memcpy(m->prefix, net.a, 16);
  m->prefix_len = plen;
  m->asn = (uint32_t)asn;
  return 0;
}

static int decode_use(dec_t *d, wd_cluster_msg_t *m) {
  int rc = get_str(d, F_ISS, m->issuer, sizeof m->issuer, 1);
  if (!rc)
    rc = get_str(d, F_ID, m->id, sizeof m->id, 1);
  if (!rc)
    rc = get_int(d, F_U, 0, TIME_MAX, &m->until, 1);
  return rc;
}

int wd_cluster_msg_decode(const void *data, size_t n, wd_cluster_msg_t *out, char *err,
                          size_t errlen) {
  if (err && errlen)
    err[0] = '\0';
  if (!out || (!data && n))
    return WD_EINVAL;
  if (n > WD_CLUSTER_MSG_MAX) {
    if (err && errlen)
      snprintf(err, errlen, "message of %zu bytes (at most %d)", n, WD_CLUSTER_MSG_MAX);
    return WD_ETOOBIG;
  }
  char scratch[WD_CLUSTER_MSG_MAX + 1];
  dec_t d;
  d.p = data;
  d.end = d.p + n;
  d.scratch = d.w = scratch;
  d.nkeys = d.unknown = d.used = 0;
  memset(d.f, 0, sizeof d.f);
  d.why = NULL;
  d.err = err;
  d.errlen = errlen;
  wd_cluster_msg_t m;
  int rc;
  if (jparse(&d)) {
    rc = fail(&d, "not JSON: %s at byte %zu", d.why, (size_t)(d.p - (const uint8_t *)data));
    goto out;
  }
  wd_cluster_msg_init(&m, 0, NULL, 0);
  int64_t v = 0;
  char kind[8];
  rc = get_int(&d, F_V, 0, INT32_MAX, &v, 1);
  if (rc)
    goto out;
  if (v != WD_CLUSTER_VERSION) {
    fail(&d, "version %lld (this node reads %d)", (long long)v, WD_CLUSTER_VERSION);
    rc = WD_EUNSUPPORTED;
    goto out;
  }
  rc = get_str(&d, F_K, kind, sizeof kind, 1);
  if (!rc)
    rc = get_str(&d, F_N, m.node, sizeof m.node, 1);
  if (!rc)
    rc = get_int(&d, F_T, 0, TIME_MAX, &m.time_ms, 1);
  if (rc)
    goto out;
  for (int k = WD_CLUSTER_BAN; k <= WD_CLUSTER_USE; k++)
    if (!strcmp(kind, kinds[k]))
      m.kind = (wd_cluster_kind_t)k;
  if (!m.kind) {
    fail(&d, "k: unknown kind '%s'", kind);
    rc = WD_EUNSUPPORTED;
    goto out;
  }
  rc = m.kind == WD_CLUSTER_BAN   ? decode_ban(&d, &m)
       : m.kind == WD_CLUSTER_NET ? decode_net(&d, &m)
                                  : decode_use(&d, &m);
  if (rc)
    goto out;
  size_t present = 0;
  for (int i = 0; i < F_COUNT; i++)
    present += d.f[i].type != J_NONE;
  if (d.unknown || d.used != present) {
    rc = fail(&d, "unknown field in a %s message", kind);
    goto out;
  }
  rc = check(&m, err, errlen);
  if (!rc)
    *out = m;
out:
  /* the reason quotes the message: keep it on one line */
  for (char *p = err; rc && p && errlen && *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return rc;
}
