/*
 * `warden sim --live`: a small HTTP/1.1 client that sends simulated requests to a running
 * `warden serve` as nginx's auth_request would (GET /auth with X-Original-URI and X-Real-IP),
 * over a bounded number of keep-alive connections, and hands every answer back.
 *
 * One request at a time per connection, no pipelining; plain http:// only (loopback tests and
 * demos). A request that meets a connection the server had closed while idle is sent again
 * once on a new connection; any other failure is reported as that request's answer.
 */
#ifndef WARDEN_SRC_SIM_LIVE_H
#define WARDEN_SRC_SIM_LIVE_H

#include <stddef.h>
#include <stdint.h>

#define LIVE_MAX_CONNECTIONS 256

/* What is sent, and what the answer is filed under. */
typedef struct live_req {
  uint64_t seq;                 /* caller's number */
  int64_t t_ms;                 /* simulated time */
  uint64_t token_index;
  char token_id[40];
  char ip[46];
  char path[512];
  int label, pattern;
  uint32_t viewer;
} live_req_t;

typedef struct live_answer {
  const live_req_t *req;
  int status;                   /* HTTP status; 0 when the request failed */
  const char *action;           /* X-Warden-Action, "" when absent */
  const char *enforced;         /* X-Warden-Enforced, else the action */
  const char *reasons;          /* X-Warden-Reason, "" when absent */
  const char *error;            /* NULL, or why there is no answer */
  int64_t sent_ms;              /* unix ms when it was sent */
  int64_t latency_us;
} live_answer_t;

typedef void (*live_answer_fn)(void *ctx, const live_answer_t *a);

typedef struct live live_t;

/* Parse http://HOST:PORT[/], resolve it and make sure a connection can be opened. -1 with a
 * message in err. */
int live_open(const char *url, int connections, live_answer_fn fn, void *ctx, live_t **out,
              char *err, size_t errlen);

/* Send a request (the HTTP text is built here from r and the given header values; uri is
 * the original URI with the token, extra is more header lines, each ending in \r\n, or "").
 * Waits, answering what comes in, until a connection is free. 0, or -1 when no connection
 * can be made (err says why). */
int live_send(live_t *l, const live_req_t *r, const char *uri, const char *user_agent,
              const char *extra, char *err, size_t errlen);

/* Process what is in flight for at most timeout_ms (0: only what is ready now). */
void live_poll(live_t *l, int timeout_ms);

/* Wait for every answer (at most timeout_ms in all; the rest are answered as timed out). */
void live_drain(live_t *l, int timeout_ms);

/* Requests in flight now. */
int live_inflight(const live_t *l);

void live_close(live_t *l);

#endif
