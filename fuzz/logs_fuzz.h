/*
 * Shared harness of the log parser targets (logs_nginx, logs_cloudfront, logs_warden): the input
 * is a log file, split on '\n'; every line goes through one parser of the target's format from
 * an exact-size heap copy (ASan sees any read past the line), then through the token lookup.
 *
 * Invariants checked for every line:
 *   - wd_log_parse returns 0, WD_LOG_SKIP, WD_EMALFORMED or WD_ETOOBIG;
 *   - after a success every string field is non-NULL and NUL-terminated (strlen runs inside the
 *     parser's buffer), the status is at most 999, the time lies between years 0 and 9999;
 *   - after anything else the record is cleared, and an error has a one-line reason;
 *   - wd_log_find_token, with no parameter and with a few, into exact-size output buffers of
 *     several sizes, returns 0, WD_ENOTOKEN, WD_EMALFORMED or WD_ETOOBIG; a found token is
 *     non-empty, NUL-terminated within the buffer and the same at every size that fits, and once
 *     a size fits every larger one does; the scheme is set on success only.
 * The target may check more per record through `extra` (the Warden target compares jansson).
 */
#ifndef WARDEN_FUZZ_LOGS_H
#define WARDEN_FUZZ_LOGS_H

#include "fuzz_util.h"
#include "warden/logs.h"

#define LF_MAX_LINES 64
/* Times the parsers can produce: years 0000-9999 (nginx offsets move them by at most a day). */
#define LF_TIME_MIN (-62167219200000LL - 86400000LL)
#define LF_TIME_MAX (253402300800000LL + 86400000LL)

static const char *lf_fields(const wd_log_record_t *r, size_t i) {
  const char *const f[] = {
      r->client_ip,  r->method,        r->host,     r->path, r->query,   r->protocol, r->referer,
      r->user_agent, r->forwarded_for, r->cookie,   r->edge, r->country, r->scheme,   r->token_id,
      r->subject,    r->action,        r->enforced, r->mode, r->reasons, r->policy,   r->verdict};
  return i < sizeof f / sizeof *f ? f[i] : NULL;
}
#define LF_NFIELDS 21

static void lf_check_cleared(const wd_log_record_t *r) {
  for (size_t i = 0; i < LF_NFIELDS; i++)
    FZ_ASSERT(lf_fields(r, i) && !lf_fields(r, i)[0], "field %zu not cleared", i);
  FZ_ASSERT(!r->time_ms && !r->status && !r->bytes && !r->asn, "numbers not cleared");
}

static void lf_check_token(const wd_log_record_t *r, const char *param) {
  static const size_t caps[] = {1, 2, 5, 17, 64, 9000};
  char first[9000];
  int have_first = 0;
  for (size_t k = 0; k < sizeof caps / sizeof *caps; k++) {
    size_t cap = caps[k];
    char *out = malloc(cap);
    if (!out)
      abort();
    wd_scheme_t s = WD_SCHEME_COUNT;
    int rc = wd_log_find_token(r, param, out, cap, &s);
    FZ_ASSERT(rc == 0 || rc == WD_ENOTOKEN || rc == WD_EMALFORMED || rc == WD_ETOOBIG,
              "find_token returned %d", rc);
    if (rc == 0) {
      size_t n = strnlen(out, cap);
      FZ_ASSERT(n < cap && n > 0, "token of %zu bytes in a %zu-byte buffer", n, cap);
      FZ_ASSERT(s >= WD_SCHEME_NONE && s < WD_SCHEME_COUNT, "scheme %d", (int)s);
      if (have_first)
        FZ_ASSERT(strcmp(out, first) == 0, "token differs with the buffer size");
      else
        memcpy(first, out, n + 1);
      have_first = 1;
    } else {
      FZ_ASSERT(s == WD_SCHEME_COUNT, "scheme set on failure %d", rc);
      FZ_ASSERT(!have_first, "a %zu-byte buffer failed with %d where a smaller one did not", cap,
                rc);
    }
    free(out);
  }
}

/* The parser of the line being checked, for the targets' messages. */
static wd_log_parser_t *lf_parser;

typedef void (*lf_extra_fn)(const char *line, size_t n, int rc, const wd_log_record_t *r);

static void lf_run(wd_log_format_t format, const uint8_t *data, size_t size, lf_extra_fn extra) {
  static const char *const params[] = {NULL, "token", "t", "Signature", "md5"};
  wd_log_parser_t *p;
  fz_check_setup(wd_log_parser_create(format, &p), "log parser");
  lf_parser = p;
  const char *s = (const char *)data, *end = s + size;
  for (size_t nl = 0; s < end && nl < LF_MAX_LINES; nl++) {
    const char *e = memchr(s, '\n', (size_t)(end - s));
    size_t n = e ? (size_t)(e - s) : (size_t)(end - s);
    char *line = malloc(n ? n : 1);
    if (!line)
      abort();
    memcpy(line, s, n);
    wd_log_record_t r;
    int rc = wd_log_parse(p, line, n, &r);
    FZ_ASSERT(rc == 0 || rc == WD_LOG_SKIP || rc == WD_EMALFORMED || rc == WD_ETOOBIG,
              "parse returned %d", rc);
    const char *err = wd_log_parser_error(p);
    if (rc < 0)
      FZ_ASSERT(err[0] && !strchr(err, '\n'), "error without a one-line reason");
    else
      FZ_ASSERT(!err[0], "reason left after a success");
    if (rc == 0) {
      for (size_t i = 0; i < LF_NFIELDS; i++) {
        FZ_ASSERT(lf_fields(&r, i) != NULL, "field %zu is NULL", i);
        FZ_ASSERT(strlen(lf_fields(&r, i)) <= n, "field %zu longer than the line", i);
      }
      FZ_ASSERT(r.status >= 0 && r.status <= 999, "status %d", r.status);
      FZ_ASSERT(r.time_ms >= LF_TIME_MIN && r.time_ms < LF_TIME_MAX, "time %lld",
                (long long)r.time_ms);
      for (size_t i = 0; i < sizeof params / sizeof *params; i++)
        lf_check_token(&r, params[i]);
    } else {
      lf_check_cleared(&r);
    }
    if (extra)
      extra(line, n, rc, &r);
    free(line);
    s += n + 1;
  }
  wd_log_parser_destroy(p);
}

#endif
