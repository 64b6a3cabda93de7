/*
 * Warden decision log lines (docs/decision-log.md): one flat JSON object a line.
 *
 * Read: ts (unix seconds, required) -> time_ms; ip -> client_ip; method, host, path, edge,
 * country, scheme, token_id, subject, action, enforced, mode, policy, verdict (strings or null);
 * status and asn (integers or null); reasons (a list of strings or null) joined by ','. Every other
 * key is skipped whatever its value, as the schema asks of readers (fields may be added).
 *
 * Why a dedicated scanner rather than jansson: jansson builds a tree with a heap allocation per
 * object, key and string (about 20 per line) and hashes every key, several microseconds a line
 * where the analysis budget is a microsecond for everything; the schema is flat and known. The
 * scanner is still a complete JSON checker for one line: strict grammar (numbers, literals, the
 * escapes, surrogate pairs, no raw control characters, nothing after the object), nested values
 * of unknown keys skipped without recursion up to jansson's depth limit (2048). Strings are
 * decoded in place (\uXXXX to UTF-8); "\u0000" is refused, as jansson does by default. Duplicate
 * keys: the last one wins (jansson's behaviour). Bytes that are not UTF-8 are passed through
 * (Warden never writes them). fuzz/logs_warden_fuzz.c checks every line jansson accepts with
 * valid field types is accepted here with the same values.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "logs/internal.h"

#define JS_MAX_DEPTH 2048

typedef struct js {
  wd_log_parser_t *p;
  char *c;
} js_t;

static int fail(js_t *j, const char *at, const char *what) {
  return wd__log_fail(j->p, WD_EMALFORMED, at, "%s (Warden decision log JSON)", what);
}

static int fail_field(js_t *j, const char *at, const char *key, const char *what) {
  return wd__log_fail(j->p, WD_EMALFORMED, at, "(field \"%s\"): %s", key, what);
}

static inline void ws(js_t *j) {
  char *c = j->c;
  if ((unsigned char)*c > ' ') /* the common case: no white space */
    return;
  while (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r')
    c++;
  j->c = c;
}

static int hex4(const char *s) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return -1; /* also stops at the NUL: nothing past it is read */
    v = v << 4 | d;
  }
  return v;
}

static char *put_utf8(char *w, unsigned cp) {
  if (cp < 0x80) {
    *w++ = (char)cp;
  } else if (cp < 0x800) {
    *w++ = (char)(0xC0 | cp >> 6);
    *w++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *w++ = (char)(0xE0 | cp >> 12);
    *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *w++ = (char)(0xF0 | cp >> 18);
    *w++ = (char)(0x80 | (cp >> 12 & 0x3F));
    *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  }
  return w;
}

/* The first byte at r or after it that is '"', '\\' or below 0x20. The NUL ending the line stops
 * it, and the buffer has WD_LOG_PAD readable bytes after that NUL. */
static inline char *next_special(char *r) {
#if WD_LOG_SWAR
  for (;;) {
    uint64_t x, m;
    memcpy(&x, r, 8);
    m = wd__log_eq(x, '"') | wd__log_eq(x, '\\') | wd__log_below(x, 0x20);
    if (m)
      return r + wd__log_first(m);
    r += 8;
  }
#else
  while (*r != '"' && *r != '\\' && (unsigned char)*r >= 0x20)
    r++;
  return r;
#endif
}

/* The rest of a string from r, the first special byte, on: escapes decoded in place. */
static int string_slow(js_t *j, char *s, char *r, char **out, char **end) {
  char *w = r;
  for (;;) {
    unsigned char ch = (unsigned char)*r;
    if (ch == '"')
      break;
    if (ch == '\0')
      return fail(j, s - 1, "string without its closing quote");
    if (ch < 0x20)
      return fail(j, r, "control character in a string");
    if (ch != '\\') {
      *w++ = (char)ch;
      r++;
      continue;
    }
    char e = r[1];
    switch (e) {
    case '"':
    case '\\':
    case '/':
      *w++ = e;
      break;
    case 'b':
      *w++ = '\b';
      break;
    case 'f':
      *w++ = '\f';
      break;
    case 'n':
      *w++ = '\n';
      break;
    case 'r':
      *w++ = '\r';
      break;
    case 't':
      *w++ = '\t';
      break;
    case 'u': {
      int cp = hex4(r + 2);
      if (cp < 0)
        return fail(j, r, "\\u not followed by four hex digits");
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(j, r, "lone low surrogate in a \\u escape");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        int lo = r[6] == '\\' && r[7] == 'u' ? hex4(r + 8) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
          return fail(j, r, "high surrogate without its low half in a \\u escape");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        r += 6;
      }
      if (cp == 0)
        return fail(j, r, "\\u0000 in a string");
      w = put_utf8(w, (unsigned)cp);
      r += 4; /* with the 2 below: the 6 bytes of \uXXXX */
      break;
    }
    case '\0':
      return fail(j, s - 1, "string without its closing quote");
    default:
      return fail(j, r, "unknown escape in a string");
    }
    r += 2;
  }
  *w = '\0';
  *out = s;
  *end = w;
  j->c = r + 1;
  return 0;
}

/* The string whose opening quote is at j->c: decoded in place (it only shrinks) and
 * NUL-terminated at *end; *out is its first byte. j->c moves past the closing quote. Inline:
 * most strings have no escape and end at the first special byte. */
static inline int string(js_t *j, char **out, char **end) {
  char *s = j->c + 1, *r = next_special(s);
  if (*r != '"')
    return string_slow(j, s, r, out, end);
  *r = '\0';
  *out = s;
  *end = r;
  j->c = r + 1;
  return 0;
}

static int digit(char c) { return c >= '0' && c <= '9'; }

/* A JSON number at j->c: its text in [*s, *s + *n); *integral when it has no fraction,
 * exponent or sign. */
static int number(js_t *j, char **s, size_t *n, int *integral) {
  char *c = j->c;
  *integral = 1;
  if (*c == '-') {
    c++;
    *integral = 0;
  }
  if (*c == '0')
    c++;
  else if (digit(*c))
    while (digit(*c))
      c++;
  else
    return fail(j, j->c, "expected a value");
  if (*c == '.') {
    c++;
    *integral = 0;
    if (!digit(*c))
      return fail(j, c, "expected a digit after the decimal point");
    while (digit(*c))
      c++;
  }
  if (*c == 'e' || *c == 'E') {
    c++;
    *integral = 0;
    if (*c == '+' || *c == '-')
      c++;
    if (!digit(*c))
      return fail(j, c, "expected a digit in the exponent");
    while (digit(*c))
      c++;
  }
  *s = j->c;
  *n = (size_t)(c - j->c);
  j->c = c;
  return 0;
}

/* true, false or null at j->c: 1, 0 or 2 (and j->c past it), or -1. The compares may read up
 * to 5 bytes past the line's NUL: the buffer has WD_LOG_PAD bytes there. */
static int literal(js_t *j) {
  if (memcmp(j->c, "true", 4) == 0) {
    j->c += 4;
    return 1;
  }
  if (memcmp(j->c, "false", 5) == 0) {
    j->c += 5;
    return 0;
  }
  if (memcmp(j->c, "null", 4) == 0) {
    j->c += 4;
    return 2;
  }
  return -1;
}

/* null at j->c: 1 (and j->c past it) or 0 (reads as literal() does). */
static int null(js_t *j) {
  if (memcmp(j->c, "null", 4) != 0)
    return 0;
  j->c += 4;
  return 1;
}

/* One scalar (string, number, literal) at j->c, checked and passed over. */
static int scalar(js_t *j) {
  char *s, *e;
  size_t n;
  int integral;
  if (*j->c == '"')
    return string(j, &s, &e);
  if (*j->c == '-' || digit(*j->c))
    return number(j, &s, &n, &integral);
  if (literal(j) >= 0)
    return 0;
  return fail(j, j->c, "expected a value");
}

/* A key and its ':' at j->c (inside an object being skipped). */
static int key_colon(js_t *j) {
  char *s, *e;
  ws(j);
  if (*j->c != '"')
    return fail(j, j->c, "expected a key string");
  if (string(j, &s, &e))
    return WD_EMALFORMED;
  ws(j);
  if (*j->c != ':')
    return fail(j, j->c, "expected ':' after a key");
  j->c++;
  return 0;
}

/* Any value at j->c, checked and passed over; nesting without recursion (a bit per level:
 * 1 for an object). */
static int skip_value(js_t *j) {
  unsigned char stack[JS_MAX_DEPTH / 8];
  size_t depth = 0;
  for (;;) {
    ws(j);
    char c = *j->c;
    int closed = 0;
    if (c == '{' || c == '[') {
      if (depth == JS_MAX_DEPTH)
        return fail(j, j->c, "values nested too deep");
      int obj = c == '{';
      if (obj)
        stack[depth / 8] |= (unsigned char)(1u << (depth % 8));
      else
        stack[depth / 8] &= (unsigned char)~(1u << (depth % 8));
      depth++;
      j->c++;
      ws(j);
      if (*j->c == (obj ? '}' : ']')) {
        j->c++;
        depth--;
        closed = 1;
      } else if (obj && key_colon(j)) {
        return WD_EMALFORMED;
      }
      if (!closed)
        continue; /* the first member's value */
    } else if (scalar(j)) {
      return WD_EMALFORMED;
    }
    /* A value ended: close containers until one continues with ','. */
    for (;;) {
      if (depth == 0)
        return 0;
      int obj = stack[(depth - 1) / 8] >> ((depth - 1) % 8) & 1;
      ws(j);
      if (*j->c == ',') {
        j->c++;
        if (obj && key_colon(j))
          return WD_EMALFORMED;
        break;
      }
      if (*j->c != (obj ? '}' : ']'))
        return fail(j, j->c, obj ? "expected ',' or '}'" : "expected ',' or ']'");
      j->c++;
      depth--;
    }
  }
}

typedef enum kind { K_TS, K_STR, K_STATUS, K_ASN, K_REASONS } kind_t;

enum {
  F_TS,
  F_IP,
  F_ASN,
  F_HOST,
  F_PATH,
  F_EDGE,
  F_MODE,
  F_METHOD,
  F_STATUS,
  F_SCHEME,
  F_ACTION,
  F_POLICY,
  F_COUNTRY,
  F_SUBJECT,
  F_REASONS,
  F_VERDICT,
  F_TOKEN_ID,
  F_ENFORCED,
  F_COUNT
};

static const struct field {
  const char *name;
  kind_t kind;
  size_t off; /* of the member in wd_log_record_t */
} fields[F_COUNT] = {
#define F(id, name, kind, member) [id] = {name, kind, offsetof(wd_log_record_t, member)}
    F(F_TS, "ts", K_TS, time_ms),
    F(F_IP, "ip", K_STR, client_ip),
    F(F_ASN, "asn", K_ASN, asn),
    F(F_HOST, "host", K_STR, host),
    F(F_PATH, "path", K_STR, path),
    F(F_EDGE, "edge", K_STR, edge),
    F(F_MODE, "mode", K_STR, mode),
    F(F_METHOD, "method", K_STR, method),
    F(F_STATUS, "status", K_STATUS, status),
    F(F_SCHEME, "scheme", K_STR, scheme),
    F(F_ACTION, "action", K_STR, action),
    F(F_POLICY, "policy", K_STR, policy),
    F(F_COUNTRY, "country", K_STR, country),
    F(F_SUBJECT, "subject", K_STR, subject),
    F(F_REASONS, "reasons", K_REASONS, reasons),
    F(F_VERDICT, "verdict", K_STR, verdict),
    F(F_TOKEN_ID, "token_id", K_STR, token_id),
    F(F_ENFORCED, "enforced", K_STR, enforced),
#undef F
};

/* The field a key names, or NULL: by length first, then constant-size compares. */
static const struct field *lookup(const char *k, size_t len) {
#define IS(lit) (memcmp(k, lit, sizeof lit - 1) == 0)
  int id = -1;
  switch (len) {
  case 2:
    id = IS("ts") ? F_TS : IS("ip") ? F_IP : -1;
    break;
  case 3:
    id = IS("asn") ? F_ASN : -1;
    break;
  case 4:
    id = IS("host") ? F_HOST : IS("path") ? F_PATH : IS("edge") ? F_EDGE : IS("mode") ? F_MODE : -1;
    break;
  case 6:
    id = IS("method")   ? F_METHOD
         : IS("status") ? F_STATUS
         : IS("scheme") ? F_SCHEME
         : IS("action") ? F_ACTION
         : IS("policy") ? F_POLICY
                        : -1;
    break;
  case 7:
    id = IS("country")   ? F_COUNTRY
         : IS("subject") ? F_SUBJECT
         : IS("reasons") ? F_REASONS
         : IS("verdict") ? F_VERDICT
                         : -1;
    break;
  case 8:
    id = IS("token_id") ? F_TOKEN_ID : IS("enforced") ? F_ENFORCED : -1;
    break;
  default:
    break;
  }
#undef IS
  return id >= 0 ? &fields[id] : NULL;
}

/* reasons: a list of strings (or null), joined by ',' in place from the '[' on. */
static int reasons(js_t *j, const char **out) {
  char *w = j->c, *start = j->c;
  if (null(j)) {
    *out = "";
    return 0;
  }
  if (*j->c != '[')
    return fail_field(j, j->c, "reasons", "expected a list of strings or null");
  j->c++;
  ws(j);
  if (*j->c == ']') {
    j->c++;
    *start = '\0';
    *out = start;
    return 0;
  }
  for (;;) {
    char *s, *e;
    if (*j->c != '"')
      return fail_field(j, j->c, "reasons", "expected a list of strings");
    if (string(j, &s, &e))
      return WD_EMALFORMED;
    /* The output never catches up with the input: each element gives its length plus one
     * separator and consumes at least two quotes and a separator. */
    memmove(w, s, (size_t)(e - s));
    w += e - s;
    ws(j);
    if (*j->c == ']') {
      j->c++;
      break;
    }
    if (*j->c != ',')
      return fail_field(j, j->c, "reasons", "expected ',' or ']'");
    j->c++;
    ws(j);
    *w++ = ',';
  }
  *w = '\0';
  *out = start;
  return 0;
}

static int value(js_t *j, const struct field *f, wd_log_record_t *r) {
  char *at = j->c, *s, *e;
  size_t n;
  int integral;
  uint64_t v;
  switch (f->kind) {
  case K_STR:
    if (*j->c == '"') {
      if (string(j, &s, &e))
        return WD_EMALFORMED;
      *(const char **)((char *)r + f->off) = s;
      return 0;
    }
    if (null(j)) {
      *(const char **)((char *)r + f->off) = "";
      return 0;
    }
    return fail_field(j, at, f->name, "expected a string or null");
  case K_REASONS:
    return reasons(j, &r->reasons);
  case K_TS:
    if (*j->c == '-' || !digit(*j->c) || number(j, &s, &n, &integral) ||
        wd__log_seconds_ms(s, n, &r->time_ms))
      return fail_field(j, at, f->name, "expected unix seconds (a number from 0 to year 9999)");
    return 0;
  case K_STATUS:
  case K_ASN:
    if (null(j)) {
      v = 0;
    } else if (*j->c == '-' || !digit(*j->c) || number(j, &s, &n, &integral) || !integral ||
               wd__log_uint(s, n, f->kind == K_STATUS ? 999 : UINT32_MAX, &v)) {
      return fail_field(j, at, f->name,
                        f->kind == K_STATUS ? "expected an integer from 0 to 999 or null"
                                            : "expected an integer from 0 to 4294967295 or null");
    }
    if (f->kind == K_STATUS)
      r->status = (int)v;
    else
      r->asn = (uint32_t)v;
    return 0;
  }
  return 0;
}

int wd__log_warden(wd_log_parser_t *p, char *s, size_t n, wd_log_record_t *r) {
  js_t j = {p, s};
  int have_ts = 0;
  (void)n;
  ws(&j);
  if (*j.c != '{')
    return fail(&j, j.c, "expected a JSON object");
  j.c++;
  ws(&j);
  if (*j.c == '}') {
    j.c++;
  } else {
    for (;;) {
      char *key, *kend;
      ws(&j);
      if (*j.c != '"')
        return fail(&j, j.c, "expected a key string");
      if (string(&j, &key, &kend))
        return WD_EMALFORMED;
      ws(&j);
      if (*j.c != ':')
        return fail(&j, j.c, "expected ':' after a key");
      j.c++;
      ws(&j);
      const struct field *f = lookup(key, (size_t)(kend - key));
      if (f) {
        if (value(&j, f, r))
          return WD_EMALFORMED;
        have_ts |= f->kind == K_TS;
      } else if (*j.c == '{' || *j.c == '[' ? skip_value(&j) : scalar(&j)) {
        return WD_EMALFORMED;
      }
      ws(&j);
      if (*j.c == ',') {
        j.c++;
        continue;
      }
      if (*j.c == '}') {
        j.c++;
        break;
      }
      return fail(&j, j.c, "expected ',' or '}'");
    }
  }
  ws(&j);
  if (*j.c)
    return fail(&j, j.c, "text after the JSON object");
  if (!have_ts)
    return wd__log_fail(p, WD_EMALFORMED, NULL, "no \"ts\" field: not a Warden decision log line");
  return 0;
}
