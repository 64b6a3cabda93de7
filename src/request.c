/*
 * Request helpers (see request.h): thin adapters from h2o's request structure to the C strings
 * the library takes, allocated from the request's pool (a bump allocator freed with the
 * request, so the hot path never calls malloc).
 */
#include "request.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/ip.h"
#include "util/url.h"

h2o_iovec_t req_path(const h2o_req_t *req) {
  size_t n = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
  return h2o_iovec_init(req->path.base, n);
}

h2o_iovec_t req_query(const h2o_req_t *req) {
  if (req->query_at == SIZE_MAX)
    return h2o_iovec_init(NULL, 0);
  return h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
}

int req_query_param(h2o_req_t *req, const char *name, size_t max, char **out) {
  h2o_iovec_t q = req_query(req);
  if (!q.base)
    return 0;
  wd_span_t qs = {q.base, q.len}, v;
  if (wd_query_find(qs, name, &v))
    return 0;
  if (v.n > max * 3 + 3)
    return -1;
  char *buf = h2o_mem_alloc_pool(&req->pool, v.n + 1);
  long n = wd_pct_decode(v.p ? v.p : "", v.n, buf, v.n + 1, 1);
  if (n < 0 || (size_t)n > max || memchr(buf, '\0', (size_t)n))
    return -1;
  buf[n] = '\0';
  *out = buf;
  return 1;
}

const char *req_header(h2o_req_t *req, const char *name) {
  ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
  if (i < 0)
    return NULL;
  h2o_iovec_t v = req->headers.entries[i].value;
  return h2o_strdup(&req->pool, v.base, v.len).base;
}

size_t req_headers(h2o_req_t *req, wd_header_t *out, size_t max) {
  size_t k = 0;
  for (size_t i = 0; i < req->headers.size && k < max; i++) {
    const h2o_header_t *h = &req->headers.entries[i];
    out[k].name = h2o_strdup(&req->pool, h->name->base, h->name->len).base;
    out[k].value = h2o_strdup(&req->pool, h->value.base, h->value.len).base;
    k++;
  }
  return k;
}

size_t req_header_bytes(const h2o_req_t *req) {
  size_t n = 0;
  for (size_t i = 0; i < req->headers.size; i++)
    n += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
  return n;
}

int req_peer_ip(h2o_req_t *req, char *out, size_t cap) {
  struct sockaddr_storage ss;
  socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
  if (len == 0)
    return -1;
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    return inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)cap) ? 0 : -1;
  }
  if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
      return inet_ntop(AF_INET, a->sin6_addr.s6_addr + 12, out, (socklen_t)cap) ? 0 : -1;
    return inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)cap) ? 0 : -1;
  }
  return -1;
}

/* Copy the address in s[0..n) (trimmed) into out when it parses; 0 or -1. */
static int take_addr(const char *s, size_t n, char *out, size_t cap) {
  while (n && (*s == ' ' || *s == '\t'))
    s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  wd_ip_t ip;
  if (n == 0 || n >= 64 || wd_ip_parse(s, n, &ip))
    return -1;
  wd_ip_format(&ip, out, cap);
  return 0;
}

int req_client_ip(const conf_t *c, h2o_req_t *req, char *out, size_t cap, int *via_proxy) {
  *via_proxy = 0;
  if (req_peer_ip(req, out, cap))
    return -1;
  if (!c->client_ip_header || !c->ntrusted || !conf_is_trusted(c, out))
    return 0;
  char lname[72];
  size_t ln = strlen(c->client_ip_header);
  if (ln >= sizeof lname)
    return 0;
  for (size_t i = 0; i <= ln; i++)
    lname[i] = (char)((c->client_ip_header[i] >= 'A' && c->client_ip_header[i] <= 'Z')
                          ? c->client_ip_header[i] + 32
                          : c->client_ip_header[i]);
  int xff = !strcmp(lname, "x-forwarded-for");
  char cand[64];
  /* Several header lines of X-Forwarded-For count as one list, in order: walk them backwards. */
  ssize_t idx[16];
  size_t nidx = 0;
  for (ssize_t i = -1; nidx < 16 && (i = h2o_find_header_by_str(&req->headers, lname, ln, i)) >= 0;)
    idx[nidx++] = i;
  if (nidx == 0)
    return 0;
  if (!xff) {
    h2o_iovec_t v = req->headers.entries[idx[0]].value;
    if (take_addr(v.base, v.len, cand, sizeof cand) == 0) {
      snprintf(out, cap, "%s", cand);
      *via_proxy = 1;
    }
    return 0;
  }
  for (size_t h = nidx; h-- > 0;) {
    h2o_iovec_t v = req->headers.entries[idx[h]].value;
    size_t end = v.len;
    while (end > 0) {
      size_t start = end;
      while (start > 0 && v.base[start - 1] != ',')
        start--;
      if (take_addr(v.base + start, end - start, cand, sizeof cand) != 0)
        return 0; /* garbage in the chain: stop at the last good hop (the peer) */
      snprintf(out, cap, "%s", cand);
      *via_proxy = 1;
      if (!conf_is_trusted(c, cand))
        return 0;
      end = start ? start - 1 : 0;
    }
  }
  return 0;
}

const char *req_bearer(h2o_req_t *req) {
  ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
  if (i < 0)
    return NULL;
  h2o_iovec_t v = req->headers.entries[i].value;
  if (v.len < 8 || strncasecmp(v.base, "Bearer ", 7))
    return NULL;
  size_t s = 7;
  while (s < v.len && v.base[s] == ' ')
    s++;
  size_t e = v.len;
  while (e > s && (v.base[e - 1] == ' ' || v.base[e - 1] == '\t'))
    e--;
  if (e == s)
    return NULL;
  return h2o_strdup(&req->pool, v.base + s, e - s).base;
}
