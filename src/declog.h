/*
 * The decision log: one JSON line per decision (schema in docs/decision-log.md), formatted on
 * the event-loop thread, carried to the writer thread through a per-thread lock-free ring, and
 * appended to a file with size-based rotation by the writer thread.
 *
 * The ring is single-producer (its loop thread) single-consumer (the writer): pushing a line is
 * a bounds check and a memcpy, never a lock or a system call. A full ring drops the line and
 * counts it (warden_queue_dropped_total{queue="decision_log"}) instead of blocking the loop.
 */
#ifndef WARDEN_SRC_DECLOG_H
#define WARDEN_SRC_DECLOG_H

#include <stddef.h>
#include <stdint.h>

#include "warden/decide.h"

#include "jsonw.h"

#define DECLOG_LINE_MAX 16384   /* a longer line is dropped (fields are truncated well below) */

typedef struct declog_ring declog_ring_t;

/* A ring of `bytes` (rounded up to a power of two, at least 64 KiB). */
int declog_ring_create(size_t bytes, declog_ring_t **out);
void declog_ring_destroy(declog_ring_t *r);
/* Producer: append one line (n bytes, its '\n' included). 0, or -1 when full (counted). */
int declog_ring_push(declog_ring_t *r, const char *line, size_t n);
/* Lines dropped so far. Any thread. */
uint64_t declog_ring_dropped(const declog_ring_t *r);
/* Consumer: hand every queued line to fn in order, then release their space. Returns the number
 * of lines. fn's return value is ignored (a failed write is the file's business). */
size_t declog_ring_drain(declog_ring_t *r, void (*fn)(const char *p, size_t n, void *arg), void *arg);

/* What the decision does not carry: the request as the HTTP layer saw it. */
typedef struct declog_entry {
  double ts;                 /* unix seconds with microseconds */
  const char *route;         /* "decide" or "auth" */
  const char *ip;
  const char *country;
  uint32_t asn;
  const char *edge;
  const char *host;
  const char *path;          /* URL path without the query (tokens travel in queries) */
  const char *method;
  uint64_t latency_ns;        /* time wd_decide took */
} declog_entry_t;

/* Format one decision as a JSON line (with its '\n') into w. */
void declog_format(jw_t *w, const wd_decision_t *d, const declog_entry_t *e);

typedef struct declog_file declog_file_t;

/*
 * Open (append, create 0640) the log at path; rotate when it reaches rotate_bytes (path -> path.1
 * -> ... -> path.keep, the oldest removed; keep 0: truncate instead). -1 with err when the file
 * cannot be opened.
 */
int declog_file_open(const char *path, uint64_t rotate_bytes, int keep, declog_file_t **out,
                     char *err, size_t errlen);
/* Buffer a line; writes out when the buffer fills. Returns 0, -1 on a write error. */
int declog_file_write(declog_file_t *f, const char *p, size_t n);
/* Write the buffer out. 0 or -1. */
int declog_file_flush(declog_file_t *f);
/* Rotations done so far. */
uint64_t declog_file_rotations(const declog_file_t *f);
void declog_file_close(declog_file_t *f);

#endif
