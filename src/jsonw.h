/*
 * A small JSON text writer for the server's hot paths (decision answers, decision-log lines,
 * metrics-free JSON bodies): appends to a caller-provided buffer, switching to the heap when it
 * fills, with commas placed automatically. Strings are escaped and any byte sequence that is not
 * valid UTF-8 is written as U+FFFD, so the output is always valid JSON whatever the input.
 * Building a jansson tree per request costs several microseconds; this costs a few hundred
 * nanoseconds.
 */
#ifndef WARDEN_SRC_JSONW_H
#define WARDEN_SRC_JSONW_H

#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 16

typedef struct jw {
  char *p;          /* text so far (not NUL-terminated until jw_finish) */
  size_t n, cap;
  size_t limit;     /* hard cap on the text size; past it jw_t.err is set */
  int heap;         /* p was malloc'd by the writer */
  int err;          /* out of memory or over the limit: the text is unusable */
  int depth;
  uint8_t count[JW_MAX_DEPTH]; /* elements written at each depth (saturating) */
  int after_key;
} jw_t;

/* Start writing into buf (cap bytes; may be NULL/0: heap from the start), at most limit bytes. */
void jw_init(jw_t *w, char *buf, size_t cap, size_t limit);
/* Free heap memory the writer took. */
void jw_free(jw_t *w);
/* NUL-terminate; returns the text (valid until jw_free) or NULL when err is set. */
const char *jw_finish(jw_t *w);

void jw_obj(jw_t *w);
void jw_obj_end(jw_t *w);
void jw_arr(jw_t *w);
void jw_arr_end(jw_t *w);
void jw_key(jw_t *w, const char *key);
void jw_str(jw_t *w, const char *s);               /* NULL writes null */
void jw_strn(jw_t *w, const char *s, size_t n);
/* A string truncated to at most max input bytes (at a UTF-8 boundary), for log fields. */
void jw_str_max(jw_t *w, const char *s, size_t max);
void jw_int(jw_t *w, long long v);
void jw_uint(jw_t *w, unsigned long long v);
void jw_double(jw_t *w, double v);
/* v / 10^decimals written with exactly `decimals` decimals (0..6): jw_fixed(w, 1500, 3) is
 * 1.500. Integer formatting only: cheap on the hot path. */
void jw_fixed(jw_t *w, unsigned long long v, unsigned decimals);
/* Decimal digits of v into b (at least 20 bytes), no NUL; returns the length. */
size_t jw_fmt_uint(char *b, unsigned long long v);
void jw_bool(jw_t *w, int v);
void jw_null(jw_t *w);
/* Already-valid JSON text as one value (a log record kept as JSON). */
void jw_raw_value(jw_t *w, const char *json, size_t n);
/* Raw bytes, no separators: for text around the JSON (a trailing newline). */
void jw_raw(jw_t *w, const char *s, size_t n);

/* Raw printf-style text, no separators (metrics text, messages). */
void jw_printf(jw_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* key + value shorthands */
static inline void jw_kstr(jw_t *w, const char *k, const char *v) { jw_key(w, k); jw_str(w, v); }
static inline void jw_kint(jw_t *w, const char *k, long long v) { jw_key(w, k); jw_int(w, v); }
static inline void jw_kbool(jw_t *w, const char *k, int v) { jw_key(w, k); jw_bool(w, v); }

#endif
