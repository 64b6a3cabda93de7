/*
 * The HTTP layer of `warden serve` on h2o's evloop: listening sockets, TLS, the event-loop
 * threads, routing and the response helpers every route handler uses.
 *
 * One handler is registered at "/" and routes on the raw path itself, so unknown paths get a
 * JSON 404 and wrong methods a JSON 405. Limits: h2o refuses bodies over limits.max_body with
 * 413 and unparsable requests with 400 (also more than 100 headers or 400 KiB of them); on top,
 * the router answers 431 when the headers exceed limits.max_header_bytes and 414 when the
 * target exceeds limits.max_url. Connections past limits.max_connections per thread are
 * closed on accept.
 */
#ifndef WARDEN_SRC_HTTP_H
#define WARDEN_SRC_HTTP_H

#include <stddef.h>

#include <jansson.h>

#include "jsonw.h"
#include "metrics.h"
#include "server.h"

/*
 * Prepare h2o's configuration and the TLS context, open the listening sockets (one per
 * listener and thread, SO_REUSEPORT) and create each thread's context. The first socket of a
 * listener with port 0 picks the port; the others reuse it. Prints "listening on ..." lines.
 * Returns 0, or -1 with err.
 */
int http_setup(srv_t *s, char *err, size_t errlen);

/* Start the event-loop threads. */
int http_start(srv_t *s, char *err, size_t errlen);

/*
 * Stop accepting, finish the requests in flight (HTTP/1 connections close after their current
 * response, HTTP/2 ones get GOAWAY), wait up to grace_ms for connections to close, then stop
 * the loops. Returns once every loop has stopped (its thread then waits, idle, until the
 * process exits: see park() in http.c).
 */
void http_stop(srv_t *s, int grace_ms);

/* Free contexts, sockets and the TLS context (after http_stop and writer_stop). */
void http_cleanup(srv_t *s);

/* ---------------------------------------------------------------- responses */

/* Answer with a body (copied into the request pool) and Content-Length. */
void http_send(h2o_req_t *req, metrics_route_t route, int status, const char *ctype,
               const char *body, size_t len);

/* Answer with the JSON text in w (or 500 when w failed), then free w. */
void http_send_jw(h2o_req_t *req, metrics_route_t route, int status, jw_t *w);

/* Answer {"error": code, "message": "..."} with the status. */
void http_send_error(h2o_req_t *req, metrics_route_t route, int status, const char *code,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Add a response header (name and value copied into the pool). */
void http_header(h2o_req_t *req, const char *name, const char *value);

/* An admin-role request: the bearer admin token (constant time) or an admin's console session
 * with its CSRF token (console_auth). 1 when authorized; otherwise answers 401 or 403 and
 * returns 0. */
int http_admin_ok(h2o_req_t *req, metrics_route_t route);

/* The request body as a NUL-terminated pool copy (n bytes), "" when none. */
const char *http_body(h2o_req_t *req, size_t *n);

/* A ban or allow-list entry as a JSON object (api_bans.c). */
void ban_json(jw_t *w, const wd_ban_t *b, int64_t now);

/* A ban's end from the JSON fields "ttl" (seconds) and "until" (unix), either may be NULL or
 * null: *out set when one is given (left alone when neither is); NULL, or a message for a 400. */
const char *ban_until_parse(const json_t *ttl, const json_t *until, int64_t now, int64_t *out);

/* Who made an admin request, for evidence: {"ip", "user_agent", "via"} (api_bans.c). */
json_t *admin_request_info(h2o_req_t *req, const conf_t *conf);

#endif
