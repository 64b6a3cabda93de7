/*
 * Log parsers: the parser object, format detection, the per-line entry point that checks the
 * line's bounds and dispatches to one format, and the small number and time helpers the
 * formats share (see include/warden/logs.h and lib/logs/internal.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logs/internal.h"
#include "util/codec.h"

static const char *const format_names[] = {"auto", "nginx", "cloudfront", "warden"};

int wd_log_parser_create(wd_log_format_t format, wd_log_parser_t **out) {
  if (!out || format < WD_LOG_AUTO || format > WD_LOG_WARDEN)
    return WD_EINVAL;
  wd_log_parser_t *p = malloc(sizeof *p);
  if (!p)
    return WD_ENOMEM;
  p->format = format;
  p->err[0] = '\0';
  memset(p->buf, 0, sizeof p->buf);
  wd__log_cf_default(p);
  *out = p;
  return 0;
}

void wd_log_parser_destroy(wd_log_parser_t *p) { free(p); }

const char *wd_log_parser_error(const wd_log_parser_t *p) { return p ? p->err : ""; }

wd_log_format_t wd_log_parser_format(const wd_log_parser_t *p) {
  return p ? p->format : WD_LOG_AUTO;
}

const char *wd_log_format_name(wd_log_format_t f) {
  return f >= WD_LOG_AUTO && f <= WD_LOG_WARDEN ? format_names[f] : "unknown";
}

int wd_log_format_parse(const char *name, wd_log_format_t *out) {
  if (!name || !out)
    return WD_EINVAL;
  for (int i = WD_LOG_AUTO; i <= WD_LOG_WARDEN; i++)
    if (strcasecmp(name, format_names[i]) == 0) {
      *out = (wd_log_format_t)i;
      return 0;
    }
  return WD_EINVAL;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

wd_log_format_t wd_log_detect(const char *line, size_t len) {
  size_t i = 0;
  if (!line)
    return WD_LOG_AUTO;
  while (i < len && (is_blank(line[i]) || line[i] == '\r' || line[i] == '\n'))
    i++;
  if (i == len)
    return WD_LOG_AUTO;
  const char *s = line + i;
  size_t n = len - i;
  if ((n >= 8 && memcmp(s, "#Version", 8) == 0) || (n >= 7 && memcmp(s, "#Fields", 7) == 0))
    return WD_LOG_CLOUDFRONT;
  if (*s == '{')
    return WD_LOG_WARDEN;
  return WD_LOG_NGINX;
}

int wd__log_fail(wd_log_parser_t *p, int code, const char *at, const char *fmt, ...) {
  size_t o = 0;
  if (at && at >= p->buf && at <= p->buf + WD_LOG_LINE_MAX)
    o = (size_t)snprintf(p->err, sizeof p->err,
                         fmt[0] == '(' ? "column %zu " : "column %zu: ", (size_t)(at - p->buf) + 1);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err + o, sizeof p->err - o, fmt, ap);
  va_end(ap);
  return code;
}

static void record_clear(wd_log_record_t *r) {
  static const char empty[] = "";
  r->time_ms = 0;
  r->status = 0;
  r->bytes = 0;
  r->asn = 0;
  r->client_ip = r->method = r->host = r->path = r->query = r->protocol = empty;
  r->referer = r->user_agent = r->forwarded_for = r->cookie = r->edge = r->country = empty;
  r->scheme = r->token_id = r->subject = r->action = r->enforced = r->mode = r->reasons = empty;
  r->policy = r->verdict = empty;
}

int wd_log_parse(wd_log_parser_t *p, const char *line, size_t len, wd_log_record_t *rec) {
  if (!p || !rec || (!line && len))
    return WD_EINVAL;
  record_clear(rec);
  p->err[0] = '\0';
  if (len && line[len - 1] == '\n')
    len--;
  if (len && line[len - 1] == '\r')
    len--;
  if (len > WD_LOG_LINE_MAX)
    return wd__log_fail(p, WD_ETOOBIG, NULL, "line of %zu bytes exceeds the limit of %d bytes", len,
                        WD_LOG_LINE_MAX);
  if (len)
    memcpy(p->buf, line, len);
  p->buf[len] = '\0';
  size_t i = 0;
  while (i < len && is_blank(p->buf[i]))
    i++;
  if (i == len)
    return WD_LOG_SKIP;
  const char *nul = memchr(p->buf, '\0', len);
  if (nul)
    return wd__log_fail(p, WD_EMALFORMED, nul, "NUL byte in the line");
  if (p->format == WD_LOG_AUTO)
    p->format = wd_log_detect(p->buf, len);
  int rc;
  switch (p->format) {
  case WD_LOG_NGINX:
    rc = wd__log_nginx(p, p->buf, len, rec);
    break;
  case WD_LOG_CLOUDFRONT:
    rc = wd__log_cloudfront(p, p->buf, len, rec);
    break;
  default:
    rc = wd__log_warden(p, p->buf, len, rec);
    break;
  }
  if (rc != 0) /* nothing half-parsed is left behind */
    record_clear(rec);
  return rc;
}

/* ---------------------------------------------------------------- shared helpers */

int64_t wd__log_days(int64_t y, unsigned m, unsigned d) {
  /* Days from civil (H. Hinnant): years start in March so the leap day comes last. */
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

unsigned wd__log_month_days(int64_t y, unsigned m) {
  static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    return 29;
  return m >= 1 && m <= 12 ? days[m - 1] : 0;
}

static int digit(char c) { return c >= '0' && c <= '9'; }

/* 10000-01-01T00:00:00Z in milliseconds: times must be before it. */
#define MS_LIMIT 253402300800000LL

int wd__log_seconds_ms(const char *s, size_t n, int64_t *ms) {
  size_t i = 0;
  uint64_t m = 0;
  int sig = 0;
  int64_t e10 = 3; /* seconds -> milliseconds */
  if (n == 0 || !digit(s[0]) || (s[0] == '0' && n > 1 && digit(s[1])))
    return -1;
  for (; i < n && digit(s[i]); i++) {
    if (sig == 0 && s[i] == '0')
      continue;
    if (sig < 18) {
      m = m * 10 + (uint64_t)(s[i] - '0');
      sig++;
    } else {
      e10++; /* a dropped integer digit still scales */
    }
  }
  if (i < n && s[i] == '.') {
    i++;
    if (i == n || !digit(s[i]))
      return -1;
    for (; i < n && digit(s[i]); i++) {
      if (sig == 0 && s[i] == '0') {
        e10--;
        continue;
      }
      if (sig < 18) {
        m = m * 10 + (uint64_t)(s[i] - '0');
        sig++;
        e10--;
      }
    }
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    int neg = 0;
    int64_t x = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      neg = s[i++] == '-';
    if (i == n || !digit(s[i]))
      return -1;
    for (; i < n && digit(s[i]); i++)
      if (x < 100000)
        x = x * 10 + (s[i] - '0');
    e10 += neg ? -x : x;
  }
  if (i != n)
    return -1;
  if (m == 0) {
    *ms = 0;
    return 0;
  }
  if (e10 >= 0) {
    for (int64_t k = 0; k < e10; k++) {
      if (m > (uint64_t)MS_LIMIT / 10)
        return -1;
      m *= 10;
    }
  } else {
    for (int64_t k = 0; k < -e10 && m; k++)
      m /= 10;
  }
  if (m >= (uint64_t)MS_LIMIT)
    return -1;
  *ms = (int64_t)m;
  return 0;
}

int wd__log_uint(const char *s, size_t n, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (n == 0 || n > 19)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (!digit(s[i]))
      return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > max)
    return -1;
  *out = v;
  return 0;
}

char *wd__log_unescape_pct(char *s) {
  char *r = strchr(s, '%'), *w;
  if (!r)
    return s;
  w = r;
  while (*r) { /* at a '%' */
    int h = wd_hex_digit(r[1]);
    int l = h >= 0 ? wd_hex_digit(r[2]) : -1; /* r[2] exists: r[1] is a hex digit, not the NUL */
    if (l >= 0 && (h | l)) {
      *w++ = (char)(h << 4 | l);
      r += 3;
    } else {
      *w++ = *r++;
    }
    /* Move the text up to the next '%' or the NUL left. */
#if WD_LOG_SWAR
    for (;;) {
      uint64_t x, m;
      memcpy(&x, r, 8);
      m = wd__log_eq(x, '%') | wd__log_eq(x, 0);
      if (m) {
        for (unsigned k = wd__log_first(m); k; k--)
          *w++ = *r++;
        break;
      }
      memcpy(w, &x, 8); /* w + 8 <= r + 6: no byte still to be read is overwritten */
      w += 8;
      r += 8;
    }
#else
    while (*r && *r != '%')
      *w++ = *r++;
#endif
  }
  *w = '\0';
  return s;
}
