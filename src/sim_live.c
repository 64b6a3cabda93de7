/* The `warden sim --live` HTTP client; see sim_live.h. */
#include "sim_live.h"

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX 16384              /* an /auth answer is headers and at most a short JSON error */
#define OUT_MAX 16384
#define REQUEST_TIMEOUT_MS 10000

enum { C_IDLE = 0, C_CONNECTING, C_SENDING, C_RECEIVING };

typedef struct conn {
  int fd;                         /* -1: not connected */
  int state;
  int served;                     /* answers received on this connection */
  int retried;
  live_req_t req;
  char out[OUT_MAX];
  size_t outn, outoff;
  char in[IN_MAX];
  size_t inn;
  int64_t sent_ms;
  int64_t t0_us;
} conn_t;

struct live {
  struct sockaddr_storage addr;
  socklen_t alen;
  char host[300];                 /* Host header */
  conn_t *c;
  int n;
  int inflight;
  live_answer_fn fn;
  void *ctx;
};

static void conn_close(conn_t *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  c->served = 0;
}

/* Start connecting; 0, or -1 with errno. */
static int conn_connect(live_t *l, conn_t *c) {
  c->fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->served = 0;
  if (connect(c->fd, (struct sockaddr *)&l->addr, l->alen) == 0) {
    c->state = C_SENDING;
    return 0;
  }
  if (errno != EINPROGRESS) {
    int e = errno;
    conn_close(c);
    errno = e;
    return -1;
  }
  c->state = C_CONNECTING;
  return 0;
}

static void deliver(live_t *l, conn_t *c, int status, const char *action, const char *enforced,
                    const char *reasons, const char *error) {
  live_answer_t a = {&c->req, status, action, enforced && enforced[0] ? enforced : action,
                     reasons, error, c->sent_ms, cli_mono_us() - c->t0_us};
  c->state = C_IDLE;
  c->inn = 0;
  l->inflight--;
  l->fn(l->ctx, &a);
}

static void fail(live_t *l, conn_t *c, const char *why) {
  conn_close(c);
  deliver(l, c, 0, "", "", "", why);
}

/* The connection broke before any byte of the answer: a connection the server closed while
 * idle. Send again once on a new one. */
static void retry_or_fail(live_t *l, conn_t *c, const char *why) {
  int reusable = c->served > 0 && c->inn == 0 && !c->retried;
  conn_close(c);
  if (reusable) {
    c->retried = 1;
    c->outoff = 0;
    if (conn_connect(l, c) == 0)
      return;
  }
  deliver(l, c, 0, "", "", "", why);
}

static void do_send(live_t *l, conn_t *c) {
  while (c->outoff < c->outn) {
    ssize_t k = send(c->fd, c->out + c->outoff, c->outn - c->outoff, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return;
      retry_or_fail(l, c, strerror(errno));
      return;
    }
    c->outoff += (size_t)k;
  }
  c->state = C_RECEIVING;
}

/* Copy a header's value (after "Name:") into out, trimmed. */
static void header_value(const char *v, const char *eol, char *out, size_t cap) {
  while (v < eol && (*v == ' ' || *v == '\t'))
    v++;
  size_t n = (size_t)(eol - v);
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  if (n >= cap)
    n = cap - 1;
  memcpy(out, v, n);
  out[n] = '\0';
}

/* Is a whole answer in c->in? Delivers it and returns 1; 0 when more is needed; -1 when it
 * cannot be an HTTP answer. */
static int try_parse(live_t *l, conn_t *c) {
  c->in[c->inn < IN_MAX ? c->inn : IN_MAX - 1] = '\0';
  char *end = strstr(c->in, "\r\n\r\n");
  if (!end)
    return c->inn >= IN_MAX - 1 ? -1 : 0;
  size_t head = (size_t)(end - c->in) + 4;
  int status = 0;
  if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1 || status < 100 || status > 999)
    return -1;
  char action[64] = "", enforced[64] = "", reasons[256] = "", val[64];
  long long clen = -1;
  int chunked = 0, close_after = 0;
  for (char *p = strstr(c->in, "\r\n") + 2; p < end;) {
    char *eol = strstr(p, "\r\n");
    char *colon = memchr(p, ':', (size_t)(eol - p));
    if (colon) {
      size_t nlen = (size_t)(colon - p);
#define IS(name) (nlen == sizeof(name) - 1 && !strncasecmp(p, name, nlen))
      if (IS("x-warden-action"))
        header_value(colon + 1, eol, action, sizeof action);
      else if (IS("x-warden-enforced"))
        header_value(colon + 1, eol, enforced, sizeof enforced);
      else if (IS("x-warden-reason"))
        header_value(colon + 1, eol, reasons, sizeof reasons);
      else if (IS("content-length")) {
        header_value(colon + 1, eol, val, sizeof val);
        clen = strtoll(val, NULL, 10);
      } else if (IS("transfer-encoding")) {
        header_value(colon + 1, eol, val, sizeof val);
        chunked = !strcasecmp(val, "chunked");
      } else if (IS("connection")) {
        header_value(colon + 1, eol, val, sizeof val);
        close_after = !strcasecmp(val, "close");
      }
#undef IS
    }
    p = eol + 2;
  }
  size_t body = c->inn - head;
  if (chunked) { /* complete when the last chunk has come */
    if (!(body >= 5 && !memcmp(c->in + c->inn - 5, "0\r\n\r\n", 5)))
      return 0;
  } else if (clen > 0 && body < (size_t)clen) {
    return (size_t)clen > IN_MAX - head ? -1 : 0;
  }
  c->served++;
  c->retried = 0;
  deliver(l, c, status, action, enforced, reasons, NULL);
  if (close_after || (clen < 0 && !chunked && status >= 200 && status != 204 && status != 304))
    conn_close(c);
  return 1;
}

static void do_recv(live_t *l, conn_t *c) {
  for (;;) {
    ssize_t k = recv(c->fd, c->in + c->inn, IN_MAX - 1 - c->inn, 0);
    if (k < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return;
      retry_or_fail(l, c, strerror(errno));
      return;
    }
    if (k == 0) {
      retry_or_fail(l, c, "the server closed the connection");
      return;
    }
    c->inn += (size_t)k;
    int rc = try_parse(l, c);
    if (rc < 0)
      fail(l, c, "the answer is not HTTP/1.1 or too large");
    if (rc)
      return;
  }
}

void live_poll(live_t *l, int timeout_ms) {
  struct pollfd pf[LIVE_MAX_CONNECTIONS];
  int idx[LIVE_MAX_CONNECTIONS], np = 0;
  for (int i = 0; i < l->n; i++) {
    conn_t *c = &l->c[i];
    if (c->fd < 0)
      continue;
    short ev = c->state == C_CONNECTING || c->state == C_SENDING ? POLLOUT : POLLIN;
    pf[np] = (struct pollfd){c->fd, ev, 0};
    idx[np++] = i;
  }
  if (!np) {
    if (timeout_ms > 0)
      poll(NULL, 0, timeout_ms);
    return;
  }
  if (poll(pf, (nfds_t)np, timeout_ms) < 0)
    return;
  for (int k = 0; k < np; k++) {
    conn_t *c = &l->c[idx[k]];
    if (!pf[k].revents || c->fd != pf[k].fd)
      continue;
    if (c->state == C_IDLE) { /* the server closed an idle connection */
      conn_close(c);
      continue;
    }
    if (c->state == C_CONNECTING) {
      int e = 0;
      socklen_t el = sizeof e;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el);
      if (e) {
        fail(l, c, strerror(e));
        continue;
      }
      c->state = C_SENDING;
    }
    if (c->state == C_SENDING)
      do_send(l, c);
    else if (c->state == C_RECEIVING)
      do_recv(l, c);
  }
  int64_t now = cli_mono_us();
  for (int i = 0; i < l->n; i++) {
    conn_t *c = &l->c[i];
    if (c->state != C_IDLE && now - c->t0_us > (int64_t)REQUEST_TIMEOUT_MS * 1000)
      fail(l, c, "no answer within 10 s");
  }
}

int live_send(live_t *l, const live_req_t *r, const char *uri, const char *user_agent,
              const char *extra, char *err, size_t errlen) {
  conn_t *c = NULL;
  for (;;) {
    for (int i = 0; i < l->n && !c; i++)
      if (l->c[i].state == C_IDLE && l->c[i].fd >= 0)
        c = &l->c[i];
    for (int i = 0; i < l->n && !c; i++)
      if (l->c[i].state == C_IDLE)
        c = &l->c[i];
    if (c)
      break;
    live_poll(l, 1000);
  }
  int n = snprintf(c->out, sizeof c->out,
                   "GET /auth HTTP/1.1\r\nHost: %s\r\nX-Original-URI: %s\r\n"
                   "X-Original-Method: GET\r\nX-Real-IP: %s\r\nUser-Agent: %s\r\n%s\r\n",
                   l->host, uri, r->ip, user_agent, extra);
  if (n < 0 || (size_t)n >= sizeof c->out) {
    snprintf(err, errlen, "request too large for one /auth call (%d bytes)", n);
    return -1;
  }
  c->req = *r;
  c->outn = (size_t)n;
  c->outoff = 0;
  c->inn = 0;
  c->retried = 0;
  c->sent_ms = cli_unix_ms();
  c->t0_us = cli_mono_us();
  l->inflight++;
  if (c->fd < 0) {
    if (conn_connect(l, c)) {
      snprintf(err, errlen, "cannot connect: %s", strerror(errno));
      c->state = C_RECEIVING; /* so that fail() can answer it */
      fail(l, c, err);
      return -1;
    }
  } else {
    c->state = C_SENDING;
  }
  if (c->state == C_SENDING)
    do_send(l, c);
  return 0;
}

void live_drain(live_t *l, int timeout_ms) {
  int64_t until = cli_mono_us() + (int64_t)timeout_ms * 1000;
  while (l->inflight > 0 && cli_mono_us() < until)
    live_poll(l, 100);
  for (int i = 0; i < l->n; i++)
    if (l->c[i].state != C_IDLE)
      fail(l, &l->c[i], "no answer before the end");
}

int live_inflight(const live_t *l) {
  return l->inflight;
}

int live_open(const char *url, int connections, live_answer_fn fn, void *ctx, live_t **out,
              char *err, size_t errlen) {
  if (strncmp(url, "http://", 7)) {
    snprintf(err, errlen, "--live '%s': give http://HOST:PORT (plain HTTP)", url);
    return -1;
  }
  const char *h = url + 7, *slash = strchr(h, '/');
  size_t hl = slash ? (size_t)(slash - h) : strlen(h);
  char host[256], port[16];
  const char *colon;
  if (hl == 0 || hl >= sizeof host) {
    snprintf(err, errlen, "--live '%s': no host", url);
    return -1;
  }
  if (h[0] == '[') {
    const char *rb = memchr(h, ']', hl);
    if (!rb || rb + 1 >= h + hl || rb[1] != ':') {
      snprintf(err, errlen, "--live '%s': give http://[ADDRESS]:PORT", url);
      return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(rb - h - 1), h + 1);
    colon = rb + 1;
  } else {
    colon = memchr(h, ':', hl);
    if (!colon) {
      snprintf(err, errlen, "--live '%s': give a port (http://HOST:PORT)", url);
      return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - h), h);
  }
  size_t pl = (size_t)(h + hl - colon - 1);
  if (pl == 0 || pl >= sizeof port || strspn(colon + 1, "0123456789") < pl) {
    snprintf(err, errlen, "--live '%s': the port is not a number", url);
    return -1;
  }
  snprintf(port, sizeof port, "%.*s", (int)pl, colon + 1);
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_socktype = SOCK_STREAM;
  int g = getaddrinfo(host, port, &hints, &ai);
  if (g || !ai) {
    snprintf(err, errlen, "--live '%s': cannot resolve %s: %s", url, host, gai_strerror(g));
    return -1;
  }
  live_t *l = calloc(1, sizeof *l);
  if (l)
    l->c = calloc((size_t)connections, sizeof *l->c);
  if (!l || !l->c) {
    freeaddrinfo(ai);
    free(l);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  memcpy(&l->addr, ai->ai_addr, ai->ai_addrlen);
  l->alen = ai->ai_addrlen;
  freeaddrinfo(ai);
  snprintf(l->host, sizeof l->host, "%.*s", (int)hl, h);
  l->n = connections;
  l->fn = fn;
  l->ctx = ctx;
  for (int i = 0; i < l->n; i++)
    l->c[i].fd = -1;
  /* is anyone there? */
  int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&l->addr, l->alen)) {
    snprintf(err, errlen, "cannot connect to %s: %s (is warden serve running there?)", url,
             strerror(errno));
    if (fd >= 0)
      close(fd);
    live_close(l);
    return -1;
  }
  close(fd);
  *out = l;
  return 0;
}

void live_close(live_t *l) {
  if (!l)
    return;
  for (int i = 0; i < l->n; i++)
    conn_close(&l->c[i]);
  free(l->c);
  free(l);
}
