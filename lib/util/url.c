/* URL, query, cookie and header helpers over borrowed strings; see url.h. */
#include "util/url.h"
#include "util/codec.h"

#include <string.h>
#include <strings.h>

static wd_span_t span(const char *p, size_t n) {
  wd_span_t s = {p, n};
  return s;
}

int wd_url_split(const char *url, wd_url_t *out) {
  wd_url_t u;
  memset(&u, 0, sizeof u);
  if (!url || !*url)
    return WD_EMALFORMED;
  const char *p = url;
  if (*p != '/') {
    const char *c = strstr(p, "://");
    if (!c || c == p)
      return WD_EMALFORMED;
    for (const char *q = p; q < c; q++)
      if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
            *q == '+' || *q == '-' || *q == '.'))
        return WD_EMALFORMED;
    u.scheme = span(p, (size_t)(c - p));
    p = c + 3;
    const char *end = p + strcspn(p, "/?#");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at)
      p = at + 1;
    const char *hend = end;
    if (*p == '[') { /* IPv6 literal: host keeps the brackets */
      const char *rb = memchr(p, ']', (size_t)(end - p));
      if (!rb)
        return WD_EMALFORMED;
      hend = rb + 1;
      if (hend < end && *hend != ':')
        return WD_EMALFORMED;
    } else {
      const char *colon = memchr(p, ':', (size_t)(end - p));
      if (colon)
        hend = colon;
    }
    u.host = span(p, (size_t)(hend - p));
    if (hend < end)
      u.port = span(hend + 1, (size_t)(end - hend - 1));
    for (size_t i = 0; i < u.port.n; i++)
      if (u.port.p[i] < '0' || u.port.p[i] > '9')
        return WD_EMALFORMED;
    p = end;
  }
  size_t plen = strcspn(p, "?#");
  u.path = span(p, plen);
  p += plen;
  if (*p == '?') {
    p++;
    u.query = span(p, strcspn(p, "#"));
  }
  *out = u;
  return 0;
}

int wd_query_find(wd_span_t query, const char *name, wd_span_t *val) {
  if (!query.p || !query.n)
    return WD_ENOTOKEN;
  size_t nl = strlen(name);
  const char *p = query.p, *end = query.p + query.n;
  while (p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pe - p));
    const char *ke = eq ? eq : pe;
    if ((size_t)(ke - p) == nl && memcmp(p, name, nl) == 0) {
      *val = eq ? span(eq + 1, (size_t)(pe - eq - 1)) : span(pe, 0);
      return 0;
    }
    p = amp ? amp + 1 : end;
  }
  return WD_ENOTOKEN;
}

int wd_cookie_find(const char *cookies, const char *name, wd_span_t *val) {
  size_t nl = strlen(name);
  const char *p = cookies;
  while (p && *p) {
    while (*p == ' ' || *p == '\t' || *p == ';')
      p++;
    const char *end = p + strcspn(p, ";");
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (eq && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
      const char *v = eq + 1, *ve = end;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
      if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
        v++;
        ve--;
      }
      *val = span(v, (size_t)(ve - v));
      return 0;
    }
    p = end;
  }
  return WD_ENOTOKEN;
}

long wd_pct_decode(const char *in, size_t n, char *out, size_t cap, int plus_space) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= n)
        return -1;
      int h = wd_hex_digit(in[i + 1]), l = wd_hex_digit(in[i + 2]);
      if (h < 0 || l < 0)
        return -1;
      c = (char)(h << 4 | l);
      i += 2;
    } else if (c == '+' && plus_space) {
      c = ' ';
    }
    if (o >= cap)
      return -1;
    out[o++] = c;
  }
  if (o < cap)
    out[o] = '\0';
  return (long)o;
}

const char *wd_request_header(const wd_request_t *req, const char *name) {
  if (!req)
    return NULL;
  for (size_t i = 0; i < req->nheaders; i++)
    if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
      return req->headers[i].value;
  return NULL;
}

int wd_request_find_token(const wd_request_t *req, const char *query_name, const char *cookie_name,
                          const char *header_name, wd_span_t *val) {
  if (!req)
    return WD_ENOTOKEN;
  wd_url_t u;
  if (query_name && req->url && wd_url_split(req->url, &u) == 0 &&
      wd_query_find(u.query, query_name, val) == 0 && val->n > 0)
    return 0;
  if (cookie_name) {
    const char *c = wd_request_header(req, "Cookie");
    if (c && wd_cookie_find(c, cookie_name, val) == 0 && val->n > 0)
      return 0;
  }
  if (header_name) {
    const char *h = wd_request_header(req, header_name);
    if (h && *h) {
      while (*h == ' ')
        h++;
      *val = span(h, strlen(h));
      return 0;
    }
  }
  return WD_ENOTOKEN;
}
