/*
 * The writer thread: the one place that writes to disk.
 *
 * At start it opens the ban list, the allow list, the case store and the replay memory in the data directory and publishes the
 * decider (the server becomes ready). Then, in a loop woken by new work or every few
 * milliseconds:
 *   - ban and allow-list changes submitted by the loop threads are committed in one
 *     wd_banlist_apply per list and round (group commit), case verdicts recorded, and each
 *     submission is sent back to the loop thread that made it, which only then answers the
 *     client (201: the ban is durable);
 *   - changed review cases are flushed (wd_cases_flush), at most once a second;
 *   - queued replay entries are flushed (wd_replay_flush);
 *   - every loop thread's decision-log ring is drained into the log file;
 *   - expired bans are purged once a minute;
 *   - audit records (writer_audit, and one per committed change or verdict) are appended to
 *     the audit trail.
 * On stop it finishes all of that once more before returning.
 */
#ifndef WARDEN_SRC_WRITER_H
#define WARDEN_SRC_WRITER_H

#include <stddef.h>

#include "warden/audit.h"

#include "server.h"

typedef struct ban_op_ref ban_op_ref_t;

/* One submission: the changes of one admin request. Owned by the writer while queued, then by
 * the loop thread's receiver, which frees it with ban_op_free. */
typedef struct ban_op {
  h2o_multithread_message_t msg;  /* link in the loop's receiver queue */
  struct ban_op *next;            /* link in the writer's queue */
  loop_t *origin;                 /* where the answer goes */
  h2o_req_t *req;                 /* NULL once the client's request is gone */
  ban_op_ref_t *ref;              /* the request-pool object that clears req */
  int rc;                         /* wd_banlist_apply's return (per change: changes[i].result) */
  int kind;                       /* what the handler asked (api_bans.c, api_cases.c) */
  list_kind_t list;               /* the list the changes go to */
  size_t n;                       /* may be 0: a case verdict without a list change */
  wd_ban_change_t *changes;       /* n changes; evidence strings owned by the op */
  uint64_t case_id;               /* a verdict: once the changes all commit, the case gets */
  wd_case_status_t case_status;   /* this status, made durable before the answer */
  char case_actor[64];
  char case_note[WD_CASE_TEXT_MAX];
  char who_role[16];              /* the audit trail: the requester's role ("" for the */
  char who_via[16];               /* detector), "console", "api" or "detector", and address */
  char who_ip[64];
  /* Changes received from the other nodes of a cluster (cluster.c): applied idempotently, not
   * sent again, and the stream position `cursor_value` stored under `cursor` (when not NULL)
   * in the same transaction. done (when set) is called on the writer thread once committed,
   * instead of answering a loop thread; the op then belongs to done's caller. */
  int from_cluster;
  char **origins;                 /* the node ids the changes' origin_node point into, owned */
  size_t norigins;
  const char *cursor;
  uint64_t cursor_value;
  void (*done)(struct ban_op *op, void *arg);
  void *done_arg;
} ban_op_t;

/* Allocate an op with room for n changes (zeroed). NULL on allocation failure. */
ban_op_t *ban_op_create(size_t n);
void ban_op_free(ban_op_t *op);

/* Answer a committed op on its loop thread (api_bans.c; a verdict: api_cases.c): respond when
 * the request is still there, then free the op. */
void api_bans_answer(ban_op_t *op);
void api_cases_answer(ban_op_t *op);

/* Hand op to the writer for the request (api_bans.c); when the writer cannot take it, answer
 * 503 (counted under route) and free op. */
void ban_op_submit(loop_t *l, h2o_req_t *req, ban_op_t *op, metrics_route_t route);

/* The request still waiting for op, detached from it (NULL when the client went away). */
h2o_req_t *ban_op_take_req(ban_op_t *op);

/* Start the writer thread. It loads the ban list and replay memory, then sets srv->ready. */
int writer_start(srv_t *srv, writer_t **out);

/* Queue an op; the writer sends it back to op->origin->done_receiver once committed. Returns -1
 * (the op is still the caller's) when limits.max_pending_bans changes are already waiting or
 * the writer is stopping (ops from_cluster are bounded by their sender and only refused when
 * the writer is stopping). */
int writer_submit(writer_t *w, ban_op_t *op);

/*
 * Queue an audit record (copied) for the writer to append in its next round (one synced
 * transaction per round). Never blocks; -1 when WRITER_AUDIT_MAX records are already waiting or
 * the writer has stopped (counted in warden_audit_dropped_total). Any thread.
 */
#define WRITER_AUDIT_MAX 10000
int writer_audit(writer_t *w, const wd_audit_entry_t *e);

/* Changes waiting for the writer. */
size_t writer_depth(writer_t *w);

/* Finish queued work, stop and join the thread, free the writer. */
void writer_stop(writer_t *w);

#endif
