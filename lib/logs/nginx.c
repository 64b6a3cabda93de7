/*
 * nginx `combined` access log lines:
 *
 *   $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
 *   "$http_referer" "$http_user_agent"
 *
 * A quoted field after the user agent is taken as "$http_x_forwarded_for" (nginx's stock `main`
 * format); anything after that (request times, upstream fields) is ignored, and a line that
 * ends after $body_bytes_sent (the common log format) has no referer or user agent.
 *
 * Quoted fields are decoded as nginx escapes them: `\xHH` (escape=default: '"', '\' and bytes
 * outside 0x20-0x7e), `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f` and `\uXXXX` (escape=json);
 * `\x00` and `\u0000` stay as written, so a record string never ends early. `-` is empty.
 *
 * The request splits into method, target and protocol. A target in absolute form
 * ("http://host/path?q", proxies) gives the host; the path is cut at the first '?'. A request
 * field that is not `METHOD TARGET [HTTP/x]` (a TLS handshake sent to a plain-text port, `-`)
 * leaves method, path and query empty: the line still counts as a record.
 */
#include <string.h>

#include "logs/internal.h"
#include "util/codec.h"

static int digit(char c) { return c >= '0' && c <= '9'; }

static const char *dash(char *s) { return s[0] == '-' && s[1] == '\0' ? "" : s; }

/* Two digits at s, or -1. */
static int two(const char *s) {
  return digit(s[0]) && digit(s[1]) ? (s[0] - '0') * 10 + s[1] - '0' : -1;
}

/* "10/Oct/2026:13:55:36 +0000" (26 bytes at s) as unix milliseconds UTC; 0 or -1. */
static int parse_time(const char *s, int64_t *ms) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  int day = two(s), hh = two(s + 12), mi = two(s + 15), ss = two(s + 18);
  int oh = two(s + 22), om = two(s + 24);
  int y1 = two(s + 7), y2 = two(s + 9);
  unsigned mon = 0;
  if (s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' || s[20] != ' ' ||
      (s[21] != '+' && s[21] != '-'))
    return -1;
  for (unsigned m = 0; m < 12; m++)
    if (memcmp(s + 3, months + 3 * m, 3) == 0)
      mon = m + 1;
  if (!mon || y1 < 0 || y2 < 0 || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 60 ||
      oh < 0 || oh > 23 || om < 0 || om > 59)
    return -1;
  int64_t year = y1 * 100 + y2;
  if (day < 1 || (unsigned)day > wd__log_month_days(year, mon))
    return -1;
  int64_t off = (int64_t)(oh * 60 + om) * 60;
  int64_t t = wd__log_days(year, mon, (unsigned)day) * 86400 + hh * 3600 + mi * 60 + ss;
  t -= s[21] == '-' ? -off : off;
  *ms = t * 1000;
  return 0;
}

/*
 * The quoted field whose text starts at s (just after its opening quote): decoded in place and
 * NUL-terminated; *end is set just past the closing quote. NULL when there is no closing quote.
 */
static char *unquote(char *s, char **end) {
  char *q = strchr(s, '"');
  if (!q)
    return NULL;
  char *r = memchr(s, '\\', (size_t)(q - s));
  if (!r) { /* nothing escaped: the common case */
    *q = '\0';
    *end = q + 1;
    return s;
  }
  char *w = r;
  for (;;) {
    char c = *r;
    if (c == '\0')
      return NULL;
    if (c == '"')
      break;
    if (c != '\\') {
      *w++ = c;
      r++;
      continue;
    }
    char e = r[1];
    int v = -1, len = 2;
    switch (e) {
    case '"':
    case '\\':
      v = (unsigned char)e;
      break;
    case 'n':
      v = '\n';
      break;
    case 'r':
      v = '\r';
      break;
    case 't':
      v = '\t';
      break;
    case 'b':
      v = '\b';
      break;
    case 'f':
      v = '\f';
      break;
    case 'x':
      if (wd_hex_digit(r[2]) >= 0 && wd_hex_digit(r[3]) >= 0) {
        v = wd_hex_digit(r[2]) << 4 | wd_hex_digit(r[3]);
        len = 4;
      }
      break;
    case 'u':
      if (wd_hex_digit(r[2]) >= 0 && wd_hex_digit(r[3]) >= 0 && wd_hex_digit(r[4]) >= 0 && wd_hex_digit(r[5]) >= 0) {
        v = wd_hex_digit(r[2]) << 12 | wd_hex_digit(r[3]) << 8 | wd_hex_digit(r[4]) << 4 | wd_hex_digit(r[5]);
        len = 6;
        if (v >= 0xD800 && v <= 0xDFFF) /* a surrogate half: left as written */
          v = -1;
      }
      break;
    default:
      break;
    }
    if (v <= 0) { /* not an escape we decode (or a NUL): keep the backslash, go on after it */
      *w++ = *r++;
      continue;
    }
    if (e == 'u' && v >= 0x80) { /* UTF-8: at most 3 bytes for the 6 read */
      if (v < 0x800) {
        *w++ = (char)(0xC0 | v >> 6);
      } else {
        *w++ = (char)(0xE0 | v >> 12);
        *w++ = (char)(0x80 | (v >> 6 & 0x3F));
      }
      *w++ = (char)(0x80 | (v & 0x3F));
    } else {
      *w++ = (char)v;
    }
    r += len;
  }
  *w = '\0';
  *end = r + 1;
  return s;
}

static int method_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || digit(c) || c == '-' || c == '_' ||
         c == '.';
}

/* Split the decoded request "METHOD TARGET [HTTP/x]" in place into the record. */
static void split_request(char *req, wd_log_record_t *r) {
  size_t n = strlen(req);
  char *sp = memchr(req, ' ', n);
  if (!sp || sp == req)
    return;
  for (char *m = req; m < sp; m++)
    if (!method_char(*m))
      return;
  char *t = sp + 1, *tend = req + n, *last = req + n;
  while (last > t && last[-1] != ' ')
    last--;
  if (last > t && strncmp(last, "HTTP/", 5) == 0) {
    r->protocol = last;
    tend = last - 1;
    while (tend > t && tend[-1] == ' ')
      tend--;
  }
  *sp = '\0';
  *tend = '\0';
  r->method = req;
  char *sep = t[0] != '/' ? strstr(t, "://") : NULL;
  if (sep) { /* absolute form: the host moves left over "//" to end in a NUL */
    char *h = sep + 3;
    size_t hl = strcspn(h, "/?#");
    char *at = memchr(h, '@', hl);
    if (at) {
      hl -= (size_t)(at + 1 - h);
      h = at + 1;
    }
    t = h + hl;
    memmove(sep + 1, h, hl);
    sep[1 + hl] = '\0';
    r->host = sep + 1;
  }
  char *q = strchr(t, '?');
  if (q) {
    *q = '\0';
    r->query = q + 1;
  }
  r->path = t;
}

/* A quoted field at c (expected: a space, then the opening quote): 0 and *out, *c past it. */
static int quoted(char **c, char **out) {
  if ((*c)[0] != ' ' || (*c)[1] != '"')
    return -1;
  char *v = unquote(*c + 2, c);
  if (!v)
    return -1;
  *out = v;
  return 0;
}

int wd__log_nginx(wd_log_parser_t *p, char *s, size_t n, wd_log_record_t *r) {
  char *end = s + n, *c = s, *v;
  char *sp = memchr(c, ' ', n);
  if (!sp || sp == c)
    return wd__log_fail(p, WD_EMALFORMED, c,
                        "(client address): expected the address and a space (nginx combined)");
  *sp = '\0';
  r->client_ip = c;
  c = sp + 1;

  /* "- $remote_user " up to the time's '[' */
  char *lb = memchr(c, '[', (size_t)(end - c));
  if (!lb || lb == c || lb[-1] != ' ')
    return wd__log_fail(p, WD_EMALFORMED, c, "(remote user): expected \"- user [time]\"");
  if (end - lb < 28 || lb[27] != ']' || parse_time(lb + 1, &r->time_ms))
    return wd__log_fail(p, WD_EMALFORMED, lb,
                        "(time): expected [dd/Mon/yyyy:HH:MM:SS +hhmm], a valid date and offset");
  c = lb + 28;

  char *at = c + 1;
  if (quoted(&c, &v))
    return wd__log_fail(
        p, WD_EMALFORMED, at,
        "(request): expected a space and the quoted request with its closing quote");
  split_request(v, r);

  at = c + 1;
  if (c[0] != ' ' || !digit(c[1]) || !digit(c[2]) || !digit(c[3]) || (c[4] != ' ' && c[4] != '\0'))
    return wd__log_fail(p, WD_EMALFORMED, at, "(status): expected a space and three digits");
  r->status = (c[1] - '0') * 100 + (c[2] - '0') * 10 + (c[3] - '0');
  c += 4;

  at = c + 1;
  if (c[0] != ' ')
    return wd__log_fail(p, WD_EMALFORMED, at, "(bytes): expected a space and the body size");
  c++;
  if (c[0] == '-' && (c[1] == ' ' || c[1] == '\0')) {
    c++;
  } else {
    size_t k = 0;
    while (digit(c[k]))
      k++;
    if ((c[k] != ' ' && c[k] != '\0') || wd__log_uint(c, k, UINT64_MAX, &r->bytes))
      return wd__log_fail(p, WD_EMALFORMED, at, "(bytes): expected a number or '-'");
    c += k;
  }
  if (*c == '\0') /* common log format */
    return 0;

  at = c + 1;
  if (quoted(&c, &v))
    return wd__log_fail(
        p, WD_EMALFORMED, at,
        "(referer): expected a space and the quoted referer with its closing quote");
  r->referer = dash(v);
  at = c + 1;
  if (quoted(&c, &v))
    return wd__log_fail(p, WD_EMALFORMED, at,
                        "(user agent): expected a space and the quoted user agent with its closing "
                        "quote");
  r->user_agent = dash(v);
  if (quoted(&c, &v) == 0) /* the stock `main` format's "$http_x_forwarded_for" */
    r->forwarded_for = dash(v);
  return 0;
}
