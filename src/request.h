/*
 * Reading an HTTP request the way the route handlers need it: query parameters decoded, headers
 * as NUL-terminated strings, and the client's address (the peer, or the address a trusted proxy
 * reports). Every string returned lives in the request's memory pool: valid until the response
 * is sent, freed with the request.
 */
#ifndef WARDEN_SRC_REQUEST_H
#define WARDEN_SRC_REQUEST_H

#include <stddef.h>

#include <h2o.h>

#include "warden/token.h"

#include "config.h"

/* The path part of the request target (no query). */
h2o_iovec_t req_path(const h2o_req_t *req);

/* The raw query after '?' ({NULL, 0} when none). */
h2o_iovec_t req_query(const h2o_req_t *req);

/* Query parameter `name`, percent-decoded ('+' is a space), NUL-terminated, at most max bytes.
 * Returns 1 and *out when present, 0 when absent, -1 when malformed or longer than max. */
int req_query_param(h2o_req_t *req, const char *name, size_t max, char **out);

/* First header `name` (lower case) as a NUL-terminated pool copy, or NULL. */
const char *req_header(h2o_req_t *req, const char *name);

/* Copy up to max request headers into out (names lower case). Returns how many. */
size_t req_headers(h2o_req_t *req, wd_header_t *out, size_t max);

/* Total bytes of header names and values. */
size_t req_header_bytes(const h2o_req_t *req);

/* The peer's address as text (IPv4-mapped IPv6 shown as IPv4). 0, or -1 when unknown. */
int req_peer_ip(h2o_req_t *req, char *out, size_t cap);

/*
 * The client's address: the peer, unless the peer is a trusted proxy and the configured
 * client_ip_header carries an address (X-Forwarded-For: the right-most address that is not
 * itself a trusted proxy). *via_proxy is set when the header was used. 0, or -1 when unknown.
 */
int req_client_ip(const conf_t *c, h2o_req_t *req, char *out, size_t cap, int *via_proxy);

/* The Authorization bearer credential (pool copy), or NULL when absent or not "Bearer". */
const char *req_bearer(h2o_req_t *req);

/* Does the method equal m (upper case)? */
static inline int req_method_is(const h2o_req_t *req, const char *m, size_t n) {
  return h2o_memis(req->method.base, req->method.len, m, n);
}

#endif
