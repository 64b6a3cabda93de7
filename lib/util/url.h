/*
 * Request helpers: URL splitting, query and cookie lookup, percent-decoding, header lookup.
 * Spans point into the caller's strings and live as long as they do. Nothing allocates.
 */
#ifndef WARDEN_UTIL_URL_H
#define WARDEN_UTIL_URL_H

#include <stddef.h>

#include "warden/token.h"

typedef struct wd_span {
  const char *p;
  size_t n;
} wd_span_t;

/* Components of an absolute URL ("https://h:8443/p/a.ts?x=1") or origin-form ("/p/a.ts?x=1").
 * Absent parts are empty spans (p may be NULL). `query` excludes '?', the fragment is dropped. */
typedef struct wd_url {
  wd_span_t scheme, host, port, path, query;
} wd_url_t;

/* Split; WD_EMALFORMED when the URL is neither absolute nor origin-form. */
int wd_url_split(const char *url, wd_url_t *out);

/* Raw (undecoded) value of the first query parameter `name` (case-sensitive); WD_ENOTOKEN if absent. */
int wd_query_find(wd_span_t query, const char *name, wd_span_t *val);

/* Value of cookie `name` in a Cookie header value; WD_ENOTOKEN if absent. */
int wd_cookie_find(const char *cookies, const char *name, wd_span_t *val);

/* Percent-decode n bytes into out (cap >= n suffices); '+' becomes ' ' when plus_space.
 * Returns the decoded length, or -1 on a malformed escape. out is NUL-terminated when room. */
long wd_pct_decode(const char *in, size_t n, char *out, size_t cap, int plus_space);

/* First header `name` (case-insensitive) in the request, or NULL. */
const char *wd_request_header(const wd_request_t *req, const char *name);

/* Find a token by name in the request: query parameter, then cookie, then header. */
int wd_request_find_token(const wd_request_t *req, const char *query_name, const char *cookie_name,
                          const char *header_name, wd_span_t *val);

static inline int wd_span_eq(wd_span_t s, const char *lit, size_t n) {
  size_t i;
  if (s.n != n)
    return 0;
  for (i = 0; i < n; i++)
    if (s.p[i] != lit[i])
      return 0;
  return 1;
}

#endif
