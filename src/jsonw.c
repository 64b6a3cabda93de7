/*
 * JSON text writer: see jsonw.h. Growth doubles the buffer up to the writer's limit; every
 * append checks the error flag first, so a writer that failed stays failed and cheap.
 */
#include "jsonw.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(jw_t *w, char *buf, size_t cap, size_t limit) {
  memset(w, 0, sizeof *w);
  w->p = buf;
  w->cap = buf ? cap : 0;
  w->limit = limit ? limit : (size_t)1 << 30;
}

void jw_free(jw_t *w) {
  if (w->heap)
    free(w->p);
  w->p = NULL;
  w->heap = 0;
  w->n = w->cap = 0;
}

static int reserve(jw_t *w, size_t more) {
  if (w->err)
    return -1;
  if (w->n + more + 1 <= w->cap)
    return 0;
  if (w->n + more + 1 > w->limit) {
    w->err = 1;
    return -1;
  }
  size_t cap = w->cap ? w->cap * 2 : 1024;
  while (cap < w->n + more + 1)
    cap *= 2;
  if (cap > w->limit)
    cap = w->limit;
  char *p;
  if (w->heap) {
    p = realloc(w->p, cap);
  } else {
    p = malloc(cap);
    if (p && w->n)
      memcpy(p, w->p, w->n);
  }
  if (!p) {
    w->err = 1;
    return -1;
  }
  w->p = p;
  w->cap = cap;
  w->heap = 1;
  return 0;
}

void jw_raw(jw_t *w, const char *s, size_t n) {
  if (reserve(w, n))
    return;
  memcpy(w->p + w->n, s, n);
  w->n += n;
}

static inline void put(jw_t *w, char c) {
  if (reserve(w, 1))
    return;
  w->p[w->n++] = c;
}

/* Separator before a value or key in the current container. */
static void before(jw_t *w) {
  if (w->after_key) {
    w->after_key = 0;
    return;
  }
  if (w->depth > 0) {
    if (w->count[w->depth - 1])
      put(w, ',');
    if (w->count[w->depth - 1] < 255)
      w->count[w->depth - 1]++;
  }
}

const char *jw_finish(jw_t *w) {
  if (reserve(w, 0))
    return NULL;
  w->p[w->n] = '\0';
  return w->p;
}

static void open_(jw_t *w, char c) {
  before(w);
  put(w, c);
  if (w->depth >= JW_MAX_DEPTH) {
    w->err = 1;
    return;
  }
  w->count[w->depth++] = 0;
}

static void close_(jw_t *w, char c) {
  if (w->depth > 0)
    w->depth--;
  put(w, c);
}

void jw_obj(jw_t *w) { open_(w, '{'); }
void jw_obj_end(jw_t *w) { close_(w, '}'); }
void jw_arr(jw_t *w) { open_(w, '['); }
void jw_arr_end(jw_t *w) { close_(w, ']'); }

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned min, cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

static void escape(jw_t *w, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  /* Worst case 6 output bytes per input byte. */
  if (reserve(w, n * 6 + 2))
    return;
  char *o = w->p + w->n;
  *o++ = '"';
  size_t i = 0;
  while (i < n) {
    unsigned c = u[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      *o++ = (char)c;
      i++;
      continue;
    }
    if (c >= 0x80) {
      size_t l = utf8_len(u + i, n - i);
      if (l) {
        memcpy(o, u + i, l);
        o += l;
        i += l;
      } else {
        memcpy(o, "\\ufffd", 6);
        o += 6;
        i++;
      }
      continue;
    }
    *o++ = '\\';
    switch (c) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    default:
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
    i++;
  }
  *o++ = '"';
  w->n = (size_t)(o - w->p);
}

void jw_key(jw_t *w, const char *key) {
  before(w);
  escape(w, key, strlen(key));
  put(w, ':');
  w->after_key = 1;
}

void jw_strn(jw_t *w, const char *s, size_t n) {
  before(w);
  if (!s) {
    jw_raw(w, "null", 4);
    return;
  }
  escape(w, s, n);
}

void jw_str(jw_t *w, const char *s) { jw_strn(w, s, s ? strlen(s) : 0); }

void jw_str_max(jw_t *w, const char *s, size_t max) {
  if (!s) {
    jw_strn(w, NULL, 0);
    return;
  }
  size_t n = strnlen(s, max + 1);
  if (n > max) {
    n = max;
    /* back up to a character boundary */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
      n--;
  }
  jw_strn(w, s, n);
}

size_t jw_fmt_uint(char *b, unsigned long long v) {
  char t[20];
  size_t n = 0;
  do {
    t[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++)
    b[i] = t[n - 1 - i];
  return n;
}

void jw_int(jw_t *w, long long v) {
  char b[24];
  size_t k = 0;
  if (v < 0)
    b[k++] = '-';
  k += jw_fmt_uint(b + k, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v);
  before(w);
  jw_raw(w, b, k);
}

void jw_uint(jw_t *w, unsigned long long v) {
  char b[24];
  size_t k = jw_fmt_uint(b, v);
  before(w);
  jw_raw(w, b, k);
}

void jw_fixed(jw_t *w, unsigned long long v, unsigned decimals) {
  static const unsigned long long pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  if (decimals > 6)
    decimals = 6;
  char b[32];
  size_t k = jw_fmt_uint(b, v / pow10[decimals]);
  if (decimals) {
    b[k++] = '.';
    unsigned long long frac = v % pow10[decimals];
    for (unsigned i = decimals; i-- > 0;) {
      b[k + i] = (char)('0' + frac % 10);
      frac /= 10;
    }
    k += decimals;
  }
  before(w);
  jw_raw(w, b, k);
}

void jw_double(jw_t *w, double v) {
  char b[32];
  int k = isfinite(v) ? snprintf(b, sizeof b, "%.17g", v) : snprintf(b, sizeof b, "null");
  before(w);
  jw_raw(w, b, (size_t)k);
}

void jw_bool(jw_t *w, int v) {
  before(w);
  if (v)
    jw_raw(w, "true", 4);
  else
    jw_raw(w, "false", 5);
}

void jw_null(jw_t *w) {
  before(w);
  jw_raw(w, "null", 4);
}

void jw_raw_value(jw_t *w, const char *json, size_t n) {
  before(w);
  jw_raw(w, json, n);
}

void jw_printf(jw_t *w, const char *fmt, ...) {
  char b[512];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  if (k < 0) {
    w->err = 1;
    return;
  }
  if ((size_t)k < sizeof b) {
    jw_raw(w, b, (size_t)k);
    return;
  }
  if (reserve(w, (size_t)k))
    return;
  va_start(ap, fmt);
  vsnprintf(w->p + w->n, (size_t)k + 1, fmt, ap);
  va_end(ap);
  w->n += (size_t)k;
}
