/*
 * Decision log: the per-thread ring, the line format and the rotating file (see declog.h).
 *
 * Ring layout: records of [uint32 length][bytes], each padded to 8 bytes, at monotonically
 * increasing positions taken modulo the capacity. A record never wraps: when the space left
 * before the end is too short, the producer writes a skip marker (length UINT32_MAX) and starts
 * again at offset 0. `tail` is published with release order after the bytes are written, and
 * `head` after the consumer has copied them out, so neither side reads bytes the other is
 * still writing.
 */
#include "declog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- ring */

struct declog_ring {
  char *buf;
  size_t cap;                       /* power of two */
  _Alignas(64) _Atomic size_t tail; /* producer */
  _Atomic uint64_t dropped;
  _Alignas(64) _Atomic size_t head; /* consumer */
};

#define SKIP UINT32_MAX

int declog_ring_create(size_t bytes, declog_ring_t **out) {
  size_t cap = 65536;
  while (cap < bytes && cap < ((size_t)1 << 30))
    cap <<= 1;
  declog_ring_t *r = calloc(1, sizeof *r);
  if (!r)
    return -1;
  r->buf = malloc(cap);
  if (!r->buf) {
    free(r);
    return -1;
  }
  r->cap = cap;
  atomic_init(&r->tail, 0);
  atomic_init(&r->head, 0);
  atomic_init(&r->dropped, 0);
  *out = r;
  return 0;
}

void declog_ring_destroy(declog_ring_t *r) {
  if (!r)
    return;
  free(r->buf);
  free(r);
}

static size_t rec_size(size_t n) { return (4 + n + 7) & ~(size_t)7; }

int declog_ring_push(declog_ring_t *r, const char *line, size_t n) {
  if (n == 0 || n > DECLOG_LINE_MAX)
    goto drop;
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  size_t need = rec_size(n);
  size_t off = tail & (r->cap - 1);
  size_t room_to_end = r->cap - off;
  size_t total = need <= room_to_end ? need : room_to_end + need;
  if (tail + total - head > r->cap)
    goto drop;
  if (need > room_to_end) {
    uint32_t skip = SKIP;
    memcpy(r->buf + off, &skip, 4); /* room_to_end >= 8: positions are 8-aligned */
    tail += room_to_end;
    off = 0;
  }
  uint32_t len = (uint32_t)n;
  memcpy(r->buf + off, &len, 4);
  memcpy(r->buf + off + 4, line, n);
  atomic_store_explicit(&r->tail, tail + need, memory_order_release);
  return 0;
drop:
  atomic_store_explicit(&r->dropped,
                        atomic_load_explicit(&r->dropped, memory_order_relaxed) + 1,
                        memory_order_relaxed);
  return -1;
}

uint64_t declog_ring_dropped(const declog_ring_t *r) {
  return atomic_load_explicit(&((declog_ring_t *)r)->dropped, memory_order_relaxed);
}

size_t declog_ring_drain(declog_ring_t *r, void (*fn)(const char *p, size_t n, void *arg),
                         void *arg) {
  size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  size_t lines = 0;
  while (head != tail) {
    size_t off = head & (r->cap - 1);
    uint32_t len;
    memcpy(&len, r->buf + off, 4);
    if (len == SKIP) {
      head += r->cap - off;
      continue;
    }
    fn(r->buf + off + 4, len, arg);
    head += rec_size(len);
    lines++;
  }
  atomic_store_explicit(&r->head, head, memory_order_release);
  return lines;
}

/* ---------------------------------------------------------------- line format */

void declog_format(jw_t *w, const wd_decision_t *d, const declog_entry_t *e) {
  const wd_identity_t *id = &d->token.id;
  jw_obj(w);
  jw_key(w, "ts");
  jw_fixed(w, e->ts > 0 ? (unsigned long long)(e->ts * 1e6 + 0.5) : 0, 6);
  jw_kstr(w, "route", e->route);
  jw_key(w, "policy");
  jw_str(w, d->policy ? d->policy->name : NULL);
  jw_kstr(w, "action", wd_action_name(d->action));
  jw_kstr(w, "enforced", wd_action_name(d->enforced));
  jw_kstr(w, "mode", wd_mode_name(d->mode));
  jw_key(w, "reasons");
  jw_arr(w);
  for (size_t i = 0; i < d->nreasons && i < WD_DECISION_MAX_REASONS; i++)
    jw_str(w, wd_reason_name(d->reasons[i]));
  jw_arr_end(w);
  jw_kint(w, "status", d->status);
  if (id->scheme != WD_SCHEME_NONE) {
    jw_kstr(w, "scheme", wd_scheme_name(id->scheme));
    jw_key(w, "token_id");
    if (id->token_id[0])
      jw_str_max(w, id->token_id, WD_ID_MAX);
    else
      jw_null(w);
    if (id->subject[0]) {
      jw_key(w, "subject");
      jw_str_max(w, id->subject, WD_ID_MAX);
    }
    if (id->issuer[0]) {
      jw_key(w, "issuer");
      jw_str_max(w, id->issuer, WD_ID_MAX);
    }
    if (id->exp)
      jw_kint(w, "exp", id->exp);
  } else {
    jw_key(w, "scheme");
    jw_null(w);
    jw_key(w, "token_id");
    jw_null(w);
  }
  jw_key(w, "ip");
  jw_str_max(w, e->ip, 64);
  if (e->country && e->country[0]) {
    jw_key(w, "country");
    jw_str_max(w, e->country, 16);
  }
  if (e->asn)
    jw_kint(w, "asn", e->asn);
  if (e->edge && e->edge[0]) {
    jw_key(w, "edge");
    jw_str_max(w, e->edge, 128);
  }
  if (e->host && e->host[0]) {
    jw_key(w, "host");
    jw_str_max(w, e->host, 256);
  }
  jw_key(w, "path");
  jw_str_max(w, e->path, 1024);
  if (e->method && e->method[0]) {
    jw_key(w, "method");
    jw_str_max(w, e->method, 16);
  }
  if (d->detail[0]) {
    jw_key(w, "detail");
    jw_str_max(w, d->detail, sizeof d->detail);
  }
  if (d->has_case)
    jw_kbool(w, "case", 1);
  if (d->detected) {
    jw_kstr(w, "verdict", wd_verdict_level_name(d->verdict.level));
    jw_kint(w, "score", d->verdict.score);
    jw_kint(w, "networks", d->verdict.networks);
  }
  if (d->ban_token)
    jw_kbool(w, "auto_ban", 1);
  jw_key(w, "latency_us");
  jw_fixed(w, e->latency_ns, 3);
  jw_obj_end(w);
  jw_raw(w, "\n", 1);
}

/* ---------------------------------------------------------------- file */

struct declog_file {
  char *path;
  int fd;
  uint64_t size;
  uint64_t rotate_bytes;
  int keep;
  uint64_t rotations;
  size_t n;
  char buf[256 * 1024];
};

static int open_log(declog_file_t *f) {
  f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (f->fd < 0)
    return -1;
  struct stat st;
  f->size = fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
  return 0;
}

int declog_file_open(const char *path, uint64_t rotate_bytes, int keep, declog_file_t **out,
                     char *err, size_t errlen) {
  declog_file_t *f = calloc(1, sizeof *f);
  if (!f || !(f->path = strdup(path))) {
    free(f);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  f->rotate_bytes = rotate_bytes;
  f->keep = keep;
  if (open_log(f)) {
    snprintf(err, errlen, "cannot open the decision log %s: %s", path, strerror(errno));
    free(f->path);
    free(f);
    return -1;
  }
  *out = f;
  return 0;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static void rotate(declog_file_t *f) {
  char from[4200], to[4200];
  close(f->fd);
  f->fd = -1;
  if (f->keep <= 0) {
    f->fd = open(f->path, O_WRONLY | O_TRUNC | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    f->size = 0;
    f->rotations++;
    return;
  }
  snprintf(to, sizeof to, "%s.%d", f->path, f->keep);
  unlink(to);
  for (int i = f->keep - 1; i >= 1; i--) {
    snprintf(from, sizeof from, "%s.%d", f->path, i);
    snprintf(to, sizeof to, "%s.%d", f->path, i + 1);
    rename(from, to);
  }
  snprintf(to, sizeof to, "%s.1", f->path);
  rename(f->path, to);
  open_log(f);
  f->rotations++;
}

int declog_file_flush(declog_file_t *f) {
  if (!f->n)
    return 0;
  int rc = f->fd >= 0 ? write_all(f->fd, f->buf, f->n) : -1;
  if (rc == 0)
    f->size += f->n;
  f->n = 0;
  return rc;
}

int declog_file_write(declog_file_t *f, const char *p, size_t n) {
  int rc = 0;
  if (f->rotate_bytes && f->size + f->n + n > f->rotate_bytes && f->size + f->n > 0) {
    rc = declog_file_flush(f);
    rotate(f);
  }
  if (f->n + n > sizeof f->buf) {
    if (declog_file_flush(f))
      rc = -1;
    if (n > sizeof f->buf) {
      if (f->fd < 0 || write_all(f->fd, p, n))
        return -1;
      f->size += n;
      return rc;
    }
  }
  memcpy(f->buf + f->n, p, n);
  f->n += n;
  return rc;
}

uint64_t declog_file_rotations(const declog_file_t *f) { return f->rotations; }

void declog_file_close(declog_file_t *f) {
  if (!f)
    return;
  declog_file_flush(f);
  if (f->fd >= 0)
    close(f->fd);
  free(f->path);
  free(f);
}
