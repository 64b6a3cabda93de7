/*
 * HTTP layer on h2o 2.2's evloop (see http.h): sockets, TLS, threads, routing, responses.
 *
 * Each event-loop thread runs its own h2o context over its own epoll loop and its own listening
 * sockets, bound with SO_REUSEPORT so the kernel spreads connections over the threads. The
 * contexts share one h2o_globalconf_t (read-only after start) and one SSL_CTX.
 *
 * Shutdown: the main thread posts a stop message to every loop. A loop then closes its
 * listeners and asks h2o for a graceful shutdown (HTTP/1 connections close after their current
 * response, HTTP/2 ones get GOAWAY). Connections still open halfway through the grace period
 * (idle keep-alive ones) are shut down at the socket level, which h2o sees as the peer leaving
 * and cleans up itself; the loop stops once no connection is left and its thread parks (see
 * park()). The main thread then disposes the contexts.
 */
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "h2o/http2.h"

#include "console.h"
#include "request.h"
#include "util/codec.h"
#include "writer.h"

/* One accepted connection, tracked so shutdown can end idle ones. */
typedef struct conn_ref {
  h2o_linklist_t link;
  h2o_socket_t *sock;
  loop_t *loop;
} conn_ref_t;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- responses */

static const char *reason_phrase(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 451: return "Unavailable For Legal Reasons";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error"
                                                                                  : "Server Error";
  }
}

void http_header(h2o_req_t *req, const char *name, const char *value) {
  size_t nl = strlen(name), vl = strlen(value);
  char *lname = h2o_mem_alloc_pool(&req->pool, nl + 1);
  for (size_t i = 0; i <= nl; i++)
    lname[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
  h2o_iovec_t v = h2o_strdup(&req->pool, value, vl);
  h2o_add_header_by_str(&req->pool, &req->res.headers, lname, nl, 1, name, v.base, v.len);
}

void http_send(h2o_req_t *req, metrics_route_t route, int status, const char *ctype,
               const char *body, size_t len) {
  static h2o_generator_t generator = {NULL, NULL};
  req->res.status = status;
  req->res.reason = reason_phrase(status);
  req->res.content_length = len;
  if (ctype)
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
                   strlen(ctype));
  metrics_request(&loop_of(req)->metrics, route, status);
  h2o_start_response(req, &generator);
  if (len == 0 || req_method_is(req, "HEAD", 4)) {
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    return;
  }
  h2o_iovec_t buf = h2o_strdup(&req->pool, body, len);
  h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

void http_send_jw(h2o_req_t *req, metrics_route_t route, int status, jw_t *w) {
  if (w->err) {
    jw_free(w);
    http_send(req, route, 500, "application/json",
              "{\"error\":\"internal\",\"message\":\"response too large or out of memory\"}\n", 70);
    return;
  }
  jw_raw(w, "\n", 1);
  http_send(req, route, status, "application/json", w->p, w->n);
  jw_free(w);
}

void http_send_error(h2o_req_t *req, metrics_route_t route, int status, const char *code,
                     const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char buf[1024];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 8192);
  jw_obj(&w);
  jw_kstr(&w, "error", code);
  jw_kstr(&w, "message", msg);
  jw_obj_end(&w);
  http_send_jw(req, route, status, &w);
}

int http_admin_ok(h2o_req_t *req, metrics_route_t route) {
  return console_auth(req, route, WD_ROLE_ADMIN, NULL);
}

const char *http_body(h2o_req_t *req, size_t *n) {
  if (!req->entity.base || req->entity.len == 0) {
    *n = 0;
    return "";
  }
  *n = req->entity.len;
  return h2o_strdup(&req->pool, req->entity.base, req->entity.len).base;
}

/* ---------------------------------------------------------------- routing */

static int path_is(h2o_iovec_t p, const char *lit) {
  return h2o_memis(p.base, p.len, lit, strlen(lit));
}

static int path_has_prefix(h2o_iovec_t p, const char *lit) {
  size_t n = strlen(lit);
  return p.len >= n && memcmp(p.base, lit, n) == 0;
}

static void method_not_allowed(h2o_req_t *req, metrics_route_t route, const char *allow) {
  http_header(req, "Allow", allow);
  http_send_error(req, route, 405, "method_not_allowed", "use %s for this path", allow);
}

#define IS(m) req_method_is(req, m, sizeof(m) - 1)

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  loop_t *l = loop_of(req);
  const conf_limits_t *lim = &l->srv->conf->limits;
  if (req->path.len > lim->max_url) {
    req->http1_is_persistent = 0;
    http_send_error(req, ROUTE_OTHER, 414, "uri_too_long", "the request target is over %zu bytes",
                    lim->max_url);
    return 0;
  }
  if (req_header_bytes(req) > lim->max_header_bytes) {
    req->http1_is_persistent = 0;
    http_send_error(req, ROUTE_OTHER, 431, "headers_too_large",
                    "the request headers are over %zu bytes", lim->max_header_bytes);
    return 0;
  }
  h2o_iovec_t p = req_path(req);
  if (path_is(p, "/auth")) {
    if (IS("GET") || IS("HEAD"))
      api_auth(l, req);
    else
      method_not_allowed(req, ROUTE_AUTH, "GET, HEAD");
  } else if (path_is(p, "/v1/decide")) {
    if (IS("GET") || IS("POST"))
      api_decide(l, req);
    else
      method_not_allowed(req, ROUTE_DECIDE, "GET, POST");
  } else if (path_is(p, "/v1/token")) {
    if (IS("GET"))
      api_token(l, req);
    else
      method_not_allowed(req, ROUTE_TOKEN, "GET");
  } else if (path_has_prefix(p, "/v1/key/")) {
    if (IS("GET") || IS("HEAD"))
      api_key(l, req, p.base + 8, p.len - 8);
    else
      method_not_allowed(req, ROUTE_KEY, "GET, HEAD");
  } else if (path_is(p, "/v1/bans") || path_has_prefix(p, "/v1/bans/")) {
    api_bans(l, req, LIST_BANS, p.base + 8, p.len - 8);
  } else if (path_is(p, "/v1/allow") || path_has_prefix(p, "/v1/allow/")) {
    api_bans(l, req, LIST_ALLOW, p.base + 9, p.len - 9);
  } else if (path_is(p, "/v1/cases") || path_has_prefix(p, "/v1/cases/")) {
    api_cases(l, req, p.base + 9, p.len - 9);
  } else if (path_is(p, "/v1/audit")) {
    if (IS("GET"))
      api_audit(l, req);
    else
      method_not_allowed(req, ROUTE_AUDIT, "GET");
  } else if (path_is(p, "/v1/policies") || path_has_prefix(p, "/v1/policies/")) {
    api_policies(l, req, p.base + 12, p.len - 12);
  } else if (path_is(p, "/v1/stats")) {
    if (IS("GET"))
      api_stats(l, req);
    else
      method_not_allowed(req, ROUTE_STATS, "GET");
  } else if (path_is(p, "/ui/login")) {
    api_ui_login(l, req);
  } else if (path_is(p, "/ui/logout")) {
    api_ui_logout(l, req);
  } else if (path_is(p, "/ui/session")) {
    api_ui_session(l, req);
  } else if (path_is(p, "/ui") || path_has_prefix(p, "/ui/")) {
    api_ui_asset(l, req, p.base + 3, p.len - 3);
  } else if (path_is(p, "/")) {
    http_header(req, "Location", "/ui/");
    http_send(req, ROUTE_UI, 302, "text/plain; charset=utf-8", "the console is at /ui/\n", 23);
  } else if (path_is(p, "/healthz")) {
    if (IS("GET") || IS("HEAD"))
      api_healthz(l, req);
    else
      method_not_allowed(req, ROUTE_HEALTH, "GET, HEAD");
  } else if (path_is(p, "/readyz")) {
    if (IS("GET") || IS("HEAD"))
      api_readyz(l, req);
    else
      method_not_allowed(req, ROUTE_HEALTH, "GET, HEAD");
  } else if (path_is(p, "/metrics")) {
    if (IS("GET"))
      api_metrics(l, req);
    else
      method_not_allowed(req, ROUTE_METRICS, "GET");
  } else {
    http_send_error(req, ROUTE_OTHER, 404, "not_found", "no such endpoint (see docs/config.md)");
  }
  return 0;
}

/* ---------------------------------------------------------------- connections */

static void on_conn_close(void *data) {
  conn_ref_t *c = data;
  loop_t *l = c->loop;
  h2o_linklist_unlink(&c->link);
  l->nconns--;
  atomic_store_explicit(&l->metrics.open_conns, l->nconns, memory_order_relaxed);
  free(c);
}

static void on_accept(h2o_socket_t *listener, const char *err) {
  if (err)
    return;
  h2o_accept_ctx_t *actx = listener->data;
  loop_t *l = H2O_STRUCT_FROM_MEMBER(loop_t, ctx, actx->ctx);
  for (int i = 0; i < 32; i++) {
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (!sock)
      return;
    conn_ref_t *c = NULL;
    if (l->stopping || l->nconns >= (uint64_t)l->srv->conf->limits.max_connections ||
        !(c = calloc(1, sizeof *c))) {
      metrics_inc(&l->metrics.conns_refused);
      h2o_socket_close(sock);
      continue;
    }
    c->sock = sock;
    c->loop = l;
    h2o_linklist_insert(&l->conns, &c->link);
    l->nconns++;
    atomic_store_explicit(&l->metrics.open_conns, l->nconns, memory_order_relaxed);
    sock->on_close.cb = on_conn_close;
    sock->on_close.data = c;
    h2o_accept(actx, sock);
  }
}

/* ---------------------------------------------------------------- setup */

static int setup_tls(srv_t *s, char *err, size_t errlen) {
  const conf_t *c = s->conf;
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    snprintf(err, errlen, "cannot create the TLS context");
    return -1;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
    snprintf(err, errlen, "tls.cert %s: cannot load the certificate chain (PEM expected)",
             c->tls_cert);
    goto fail;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1) {
    unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
      snprintf(err, errlen, "tls.key %s does not match the certificate %s", c->tls_key,
               c->tls_cert);
    else
      snprintf(err, errlen, "tls.key %s: cannot load the private key (PEM expected): %s",
               c->tls_key, e ? ERR_reason_error_string(e) : "unknown error");
    goto fail;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    snprintf(err, errlen, "tls.key %s does not match the certificate %s", c->tls_key,
             c->tls_cert);
    goto fail;
  }
  h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
  s->ssl_ctx = ctx;
  return 0;
fail:
  ERR_clear_error();
  SSL_CTX_free(ctx);
  return -1;
}

static int open_listener(const conf_listen_t *ls, const char *port, int first, int *fd_out,
                         char *bound_port, char *err, size_t errlen) {
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int rc = getaddrinfo(ls->host, port, &hints, &res);
  if (rc) {
    snprintf(err, errlen, "listen %s:%s: %s", ls->host, port, gai_strerror(rc));
    return -1;
  }
  int on = 1;
  if (first && strcmp(port, "0")) {
    /* SO_REUSEPORT would let this process share a port another process of the same user
     * listens on: probe without it first so "address in use" is reported, not hidden */
    int probe = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && (setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
                       bind(probe, res->ai_addr, res->ai_addrlen))) {
      snprintf(err, errlen, "listen %s:%s: %s", ls->host, port, strerror(errno));
      close(probe);
      freeaddrinfo(res);
      return -1;
    }
    if (probe >= 0)
      close(probe);
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) ||
      bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 4096)) {
    snprintf(err, errlen, "listen %s:%s: %s", ls->host, port, strerror(errno));
    if (fd >= 0)
      close(fd);
    freeaddrinfo(res);
    return -1;
  }
  freeaddrinfo(res);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    int pnum = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    snprintf(bound_port, 8, "%d", pnum);
  } else {
    size_t pl = strnlen(port, 7);
    memcpy(bound_port, port, pl);
    bound_port[pl] = '\0';
  }
  *fd_out = fd;
  return 0;
}

int http_setup(srv_t *s, char *err, size_t errlen) {
  const conf_t *c = s->conf;
  int need_tls = 0;
  for (size_t i = 0; i < c->nlisten; i++)
    need_tls |= c->listen[i].tls;
  if (need_tls && setup_tls(s, err, errlen))
    return -1;

  h2o_config_init(&s->h2o);
  s->h2o_ready = 1;
  s->h2o.server_name = h2o_iovec_init(H2O_STRLIT("warden"));
  s->h2o.max_request_entity_size = c->limits.max_body;
  s->h2o.http1.req_timeout = (uint64_t)c->limits.idle_timeout * 1000;
  s->h2o.http2.idle_timeout = (uint64_t)c->limits.idle_timeout * 1000;
  s->h2o.http2.graceful_shutdown_timeout = 2000;
  s->h2o.http2.max_concurrent_requests_per_connection = (size_t)c->limits.http2_max_concurrent;
  s->h2o.handshake_timeout = (uint64_t)c->limits.idle_timeout * 1000;
  h2o_hostconf_t *host =
      h2o_config_register_host(&s->h2o, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
  h2o_handler_t *handler = h2o_create_handler(path, sizeof *handler);
  handler->on_req = on_req;

  char ports[CONF_MAX_LISTEN][8];
  for (int t = 0; t < s->nloops; t++) {
    loop_t *l = &s->loops[t];
    h2o_linklist_init_anchor(&l->conns);
    h2o_context_init(&l->ctx, h2o_evloop_create(), &s->h2o);
    l->accept_plain.ctx = &l->ctx;
    l->accept_plain.hosts = s->h2o.hosts;
    l->accept_tls = l->accept_plain;
    l->accept_tls.ssl_ctx = s->ssl_ctx;
    for (size_t i = 0; i < c->nlisten; i++) {
      const conf_listen_t *ls = &c->listen[i];
      char bound[8];
      if (open_listener(ls, t == 0 ? ls->port : ports[i], t == 0, &l->fds[i], bound, err, errlen))
        return -1;
      if (t == 0)
        memcpy(ports[i], bound, sizeof bound);
      h2o_socket_t *sock = h2o_evloop_socket_create(l->ctx.loop, l->fds[i],
                                                    H2O_SOCKET_FLAG_DONT_READ);
      sock->data = ls->tls ? &l->accept_tls : &l->accept_plain;
      l->listeners[i] = sock;
      l->nlisteners = i + 1;
    }
  }
  for (size_t i = 0; i < c->nlisten; i++) {
    const conf_listen_t *ls = &c->listen[i];
    int v6 = strchr(ls->host, ':') != NULL;
    fprintf(stderr, "warden: listening on %s://%s%s%s:%s (%d thread%s%s)\n",
            ls->tls ? "https" : "http", v6 ? "[" : "", ls->host, v6 ? "]" : "", ports[i],
            s->nloops, s->nloops == 1 ? "" : "s", ls->tls ? ", HTTP/1.1 and HTTP/2" : "");
  }
  return 0;
}

/* ---------------------------------------------------------------- threads */

static void on_ban_done(h2o_multithread_receiver_t *recv, h2o_linklist_t *messages) {
  (void)recv;
  while (!h2o_linklist_is_empty(messages)) {
    h2o_multithread_message_t *m =
        H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
    h2o_linklist_unlink(&m->link);
    ban_op_t *op = (ban_op_t *)m;
    if (op->case_id)
      api_cases_answer(op);
    else
      api_bans_answer(op);
  }
}

static void begin_stop(loop_t *l) {
  if (l->stopping)
    return;
  l->stopping = 1;
  for (size_t i = 0; i < l->nlisteners; i++) {
    if (l->listeners[i]) {
      h2o_socket_read_stop(l->listeners[i]);
      h2o_socket_close(l->listeners[i]);
      l->listeners[i] = NULL;
    }
  }
  h2o_context_request_shutdown(&l->ctx);
}

static void on_ctl(h2o_multithread_receiver_t *recv, h2o_linklist_t *messages) {
  loop_t *l = H2O_STRUCT_FROM_MEMBER(loop_t, ctl_receiver, recv);
  while (!h2o_linklist_is_empty(messages)) {
    h2o_multithread_message_t *m =
        H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
    h2o_linklist_unlink(&m->link);
  }
  begin_stop(l);
}

/* Half-way through the grace period: end connections that are still open (idle keep-alive). */
static void end_connections(loop_t *l) {
  for (h2o_linklist_t *n = l->conns.next; n != &l->conns; n = n->next) {
    conn_ref_t *c = H2O_STRUCT_FROM_MEMBER(conn_ref_t, link, n);
    shutdown(h2o_socket_get_fd(c->sock), SHUT_RDWR);
  }
}

/*
 * Finished event-loop threads park here instead of exiting. h2o 2.2 keeps per-thread free
 * lists of memory chunks and socket buffers (some in file-static thread-local variables no API
 * can reach); a thread that exits turns them into leaks, one that waits keeps them reachable
 * until the process ends. Static because the parked threads outlive the server state.
 */
static pthread_mutex_t park_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cv = PTHREAD_COND_INITIALIZER;
static int parked;

static void park(void) {
  pthread_mutex_lock(&park_mu);
  parked++;
  pthread_cond_broadcast(&park_cv);
  for (;;)
    pthread_cond_wait(&park_cv, &park_mu);
}

static void *loop_main(void *arg) {
  loop_t *l = arg;
  int ended = 0;
  for (;;) {
    h2o_evloop_run(l->ctx.loop, l->stopping ? 20 : INT32_MAX);
    if (!l->stopping)
      continue;
    if (l->nconns == 0)
      break;
    double now = mono_s();
    if (!ended && now >= l->end_at) {
      end_connections(l);
      ended = 1;
    }
    if (now >= l->stop_at)
      break; /* give up on stragglers: the context is then not disposed */
  }
  park();
  return NULL;
}

int http_start(srv_t *s, char *err, size_t errlen) {
  for (int t = 0; t < s->nloops; t++) {
    loop_t *l = &s->loops[t];
    h2o_multithread_register_receiver(l->ctx.queue, &l->done_receiver, on_ban_done);
    h2o_multithread_register_receiver(l->ctx.queue, &l->ctl_receiver, on_ctl);
    h2o_multithread_register_receiver(l->ctx.queue, &l->console_receiver, console_on_answers);
    for (size_t i = 0; i < l->nlisteners; i++)
      h2o_socket_read_start(l->listeners[i], on_accept);
  }
  for (int t = 0; t < s->nloops; t++) {
    loop_t *l = &s->loops[t];
    if (pthread_create(&l->tid, NULL, loop_main, l)) {
      snprintf(err, errlen, "cannot start event-loop thread %d: %s", t, strerror(errno));
      return -1;
    }
    pthread_detach(l->tid);
    l->started = 1;
  }
  return 0;
}

void http_stop(srv_t *s, int grace_ms) {
  double now = mono_s();
  for (int t = 0; t < s->nloops; t++) {
    loop_t *l = &s->loops[t];
    if (!l->started)
      continue;
    /* the loop reads these only after the message, which the queue's lock orders */
    l->end_at = now + grace_ms / 2000.0;
    l->stop_at = now + grace_ms / 1000.0;
    h2o_multithread_send_message(&l->ctl_receiver, &l->ctl_msg);
  }
  int started = 0;
  for (int t = 0; t < s->nloops; t++)
    started += s->loops[t].started;
  pthread_mutex_lock(&park_mu);
  while (parked < started)
    pthread_cond_wait(&park_cv, &park_mu);
  parked -= started;
  pthread_mutex_unlock(&park_mu);
  for (int t = 0; t < s->nloops; t++)
    s->loops[t].started = 0;
}

void http_cleanup(srv_t *s) {
  for (int t = 0; s->loops && t < s->nloops; t++) {
    loop_t *l = &s->loops[t];
    if (!l->ctx.loop)
      continue;
    for (size_t i = 0; i < l->nlisteners; i++) {
      if (l->listeners[i]) {
        h2o_socket_read_stop(l->listeners[i]);
        h2o_socket_close(l->listeners[i]);
        l->listeners[i] = NULL;
      }
    }
    if (l->nconns) {
      fprintf(stderr, "warden: %llu connection%s still open on thread %d at exit\n",
              (unsigned long long)l->nconns, l->nconns == 1 ? "" : "s", t);
      continue; /* h2o cannot dispose a context with live connections */
    }
    /* let h2o run the close callbacks of the listeners before the loop goes */
    h2o_evloop_run(l->ctx.loop, 0);
    /* h2o's HTTP/2 graceful shutdown leaves a GOAWAY timer armed even without connections */
    if (h2o_timeout_is_linked(&l->ctx.http2._graceful_shutdown_timeout))
      h2o_timeout_unlink(&l->ctx.http2._graceful_shutdown_timeout);
    if (l->done_receiver.queue)
      h2o_multithread_unregister_receiver(l->ctx.queue, &l->done_receiver);
    if (l->ctl_receiver.queue)
      h2o_multithread_unregister_receiver(l->ctx.queue, &l->ctl_receiver);
    if (l->console_receiver.queue)
      h2o_multithread_unregister_receiver(l->ctx.queue, &l->console_receiver);
    h2o_evloop_t *loop = l->ctx.loop;
    h2o_multithread_queue_t *queue = l->ctx.queue;
    h2o_context_dispose(&l->ctx);
    h2o_evloop_destroy(loop);
    free(queue); /* h2o 2.2's evloop build never frees the queue it created for the context */
    l->ctx.loop = NULL;
  }
  if (s->h2o_ready)
    h2o_config_dispose(&s->h2o);
  s->h2o_ready = 0;
  if (s->ssl_ctx)
    SSL_CTX_free(s->ssl_ctx);
  s->ssl_ctx = NULL;
}
