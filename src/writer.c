/*
 * The writer thread (see writer.h). One mutex guards the queue of ban submissions; the thread
 * sleeps on a condition variable for at most WRITER_TICK_MS so replay entries and decision-log
 * lines never wait long, and wakes at once when a ban arrives.
 */
#include "writer.h"

#include "cluster.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WRITER_TICK_MS 5
#define EXPIRE_EVERY_S 60
#define TRACKER_EXPIRE_EVERY_S 5
#define CASES_FLUSH_MS 1000

struct writer {
  srv_t *srv;
  pthread_t tid;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  ban_op_t *head, *tail;
  size_t pending;          /* changes queued */
  int stop;
  int answer;              /* loop threads still receive answers */
  wd_banlist_t *bans;
  wd_banlist_t *allow;
  wd_cases_t *cases;
  double cases_flushed_ms;
  wd_replay_t *replay;
  wd_decider_t *decider;
  wd_audit_t *audit;
  struct audit_node *audit_head, *audit_tail; /* queued by writer_audit (under mu) */
  struct audit_node *own_head, *own_tail;     /* made on the writer thread this round */
  size_t audit_pending;
};

ban_op_t *ban_op_create(size_t n) {
  ban_op_t *op = calloc(1, sizeof *op);
  if (!op)
    return NULL;
  op->changes = calloc(n ? n : 1, sizeof *op->changes);
  if (!op->changes) {
    free(op);
    return NULL;
  }
  op->n = n;
  return op;
}

void ban_op_free(ban_op_t *op) {
  if (!op)
    return;
  for (size_t i = 0; i < op->n; i++)
    free((char *)op->changes[i].evidence);
  for (size_t i = 0; i < op->norigins; i++)
    free(op->origins[i]);
  free(op->origins);
  free(op->changes);
  free(op);
}

static int64_t now_s(void) { return (int64_t)time(NULL); }

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Start-up on the writer thread: open the stores and publish the decider. */
static int load(writer_t *w) {
  srv_t *s = w->srv;
  const conf_t *c = s->conf;
  double t0 = mono_ms();
  int rc = wd_banlist_open(c->data_dir, NULL, &w->bans);
  if (rc) {
    fprintf(stderr, "warden: cannot open the ban list in %s: %s\n", c->data_dir, wd_strerror(rc));
    return -1;
  }
  wd_banlist_opts_t allow_opts = {.file = "allow.mdb"};
  rc = wd_banlist_open(c->data_dir, &allow_opts, &w->allow);
  if (rc) {
    fprintf(stderr, "warden: cannot open the allow list in %s: %s\n", c->data_dir,
            wd_strerror(rc));
    return -1;
  }
  rc = wd_cases_open(c->data_dir, NULL, &w->cases);
  if (rc) {
    fprintf(stderr, "warden: cannot open the review cases in %s: %s\n", c->data_dir,
            wd_strerror(rc));
    return -1;
  }
  rc = wd_audit_open(c->data_dir, NULL, &w->audit);
  if (rc) {
    fprintf(stderr, "warden: cannot open the audit trail in %s: %s\n", c->data_dir,
            wd_strerror(rc));
    return -1;
  }
  atomic_store_explicit(&s->audit, w->audit, memory_order_release);
  rc = wd_replay_open(c->data_dir, &w->replay);
  if (rc) {
    fprintf(stderr, "warden: cannot open the replay memory in %s: %s\n", c->data_dir,
            wd_strerror(rc));
    return -1;
  }
  rc = wd_decider_create(c->policies, c->npolicies, s->ring, w->bans, w->replay, &w->decider);
  if (rc) {
    fprintf(stderr, "warden: cannot set up the policies: %s\n", wd_strerror(rc));
    return -1;
  }
  wd_decider_set_allowlist(w->decider, w->allow);
  for (size_t i = 0; i < c->npolicies; i++)
    if (s->policy_tracker[i])
      wd_decider_set_tracker(w->decider, wd_decider_policy_at(w->decider, i), s->policy_tracker[i]);
  long expired = wd_banlist_expire(w->bans, now_s());
  if (expired > 0)
    metrics_shared_add(&s->gm.bans_expired, (uint64_t)expired);
  wd_banlist_expire(w->allow, now_s());
  wd_banlist_stats_t st;
  wd_banlist_stats(w->bans, &st);
  atomic_store_explicit(&s->bans, w->bans, memory_order_release);
  atomic_store_explicit(&s->allow, w->allow, memory_order_release);
  atomic_store_explicit(&s->cases, w->cases, memory_order_release);
  atomic_store_explicit(&s->replay, w->replay, memory_order_release);
  atomic_store_explicit(&s->decider, w->decider, memory_order_release);
  atomic_store_explicit(&s->ready, 1, memory_order_release);
  fprintf(stderr, "warden: ready: %llu bans loaded from %s in %.0f ms\n",
          (unsigned long long)(st.bans[1] + st.bans[2] + st.bans[3] + st.bans[4]), c->data_dir,
          mono_ms() - t0);
  return 0;
}

static void answer(writer_t *w, ban_op_t *op) {
  if (op->done)
    op->done(op, op->done_arg);
  else if (w->answer && op->origin)
    h2o_multithread_send_message(&op->origin->done_receiver, &op->msg);
  else
    ban_op_free(op); /* the loops are gone: the change is committed, nobody waits */
}

/* A verdict's case status, once all of its changes committed; durable before the answer. */
static void settle_case(writer_t *w, ban_op_t *op) {
  if (!op->case_id || op->rc || !w->cases)
    return;
  for (size_t i = 0; i < op->n; i++)
    if (op->changes[i].result)
      return;
  int rc = wd_cases_set_status(w->cases, op->case_id, op->case_status, op->case_actor,
                               op->case_note, now_s());
  long n = rc ? rc : wd_cases_flush(w->cases, now_s());
  if (n < 0) {
    op->rc = (int)n;
    fprintf(stderr, "warden: case %llu: verdict not recorded: %s\n",
            (unsigned long long)op->case_id, wd_strerror((int)n));
  }
}

/* ---------------------------------------------------------------- audit trail */

/* One queued record with its own copies of the text. */
typedef struct audit_node {
  struct audit_node *next;
  wd_audit_entry_t e;
  char actor[64], role[16], via[16], action[32], target[WD_BAN_VALUE_MAX + 32], ip[64];
  char *detail;
} audit_node_t;

static audit_node_t *audit_node(const wd_audit_entry_t *e) {
  audit_node_t *n = calloc(1, sizeof *n);
  if (!n)
    return NULL;
  snprintf(n->actor, sizeof n->actor, "%s", e->actor ? e->actor : "");
  snprintf(n->role, sizeof n->role, "%s", e->role ? e->role : "");
  snprintf(n->via, sizeof n->via, "%s", e->via ? e->via : "");
  snprintf(n->action, sizeof n->action, "%s", e->action ? e->action : "");
  snprintf(n->target, sizeof n->target, "%s", e->target ? e->target : "");
  snprintf(n->ip, sizeof n->ip, "%s", e->ip ? e->ip : "");
  n->detail = e->detail ? strdup(e->detail) : NULL;
  n->e = (wd_audit_entry_t){.time = e->time ? e->time : now_s(), .actor = n->actor,
                            .role = n->role, .via = n->via, .action = n->action,
                            .target = n->target, .ip = n->ip, .ok = e->ok, .detail = n->detail};
  return n;
}

static void audit_node_free(audit_node_t *n) {
  free(n->detail);
  free(n);
}

/* Records made on the writer thread itself wait for the round's append. */
static void audit_local(writer_t *w, const wd_audit_entry_t *e) {
  audit_node_t *n = audit_node(e);
  if (!n) {
    metrics_shared_add(&w->srv->gm.audit_dropped, 1);
    return;
  }
  if (w->own_tail)
    w->own_tail->next = n;
  else
    w->own_head = n;
  w->own_tail = n;
}

/* One record per change of a committed op, or one for a verdict, when the op came from a
 * person or the detector (cluster ops are recorded where they were made). */
static void audit_op(writer_t *w, ban_op_t *op) {
  if (!w->audit || !op->who_via[0] || op->from_cluster)
    return;
  const char *listname = op->list == LIST_ALLOW ? "allow" : "ban";
  for (size_t i = 0; i < op->n; i++) {
    const wd_ban_change_t *c = &op->changes[i];
    int ok = !op->rc && !c->result;
    char action[32], target[WD_BAN_VALUE_MAX + 32];
    snprintf(action, sizeof action, "%s.%s", listname, c->op == WD_BAN_LIFT ? "lift" : "add");
    snprintf(target, sizeof target, "%s %s", wd_ban_type_name(c->ban.type), c->ban.value);
    json_t *d = json_object();
    if (c->ban.reason[0])
      json_object_set_new(d, "reason", json_string(c->ban.reason));
    if (c->op == WD_BAN_ADD)
      json_object_set_new(d, "until", c->ban.until ? json_integer(c->ban.until) : json_null());
    if (op->case_id)
      json_object_set_new(d, "case", json_integer((json_int_t)op->case_id));
    if (!ok)
      json_object_set_new(d, "error", json_string(wd_strerror(op->rc ? op->rc : c->result)));
    char *text = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    audit_local(w, &(wd_audit_entry_t){.actor = c->ban.actor, .role = op->who_role,
                                    .via = op->who_via, .action = action, .target = target,
                                    .ip = op->who_ip, .ok = ok, .detail = text});
    free(text);
  }
  if (op->case_id) {
    char target[48];
    snprintf(target, sizeof target, "case %llu", (unsigned long long)op->case_id);
    int ok = !op->rc;
    for (size_t i = 0; i < op->n; i++)
      ok = ok && !op->changes[i].result;
    json_t *d = json_object();
    json_object_set_new(d, "verdict", json_string(wd_case_status_name(op->case_status)));
    if (op->case_note[0])
      json_object_set_new(d, "note", json_string(op->case_note));
    char *text = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    audit_local(w, &(wd_audit_entry_t){.actor = op->case_actor, .role = op->who_role,
                                    .via = op->who_via, .action = "case.verdict",
                                    .target = target, .ip = op->who_ip, .ok = ok,
                                    .detail = text});
    free(text);
  }
}

int writer_audit(writer_t *w, const wd_audit_entry_t *e) {
  audit_node_t *n = NULL;
  pthread_mutex_lock(&w->mu);
  int full = w->stop || w->audit_pending >= WRITER_AUDIT_MAX;
  pthread_mutex_unlock(&w->mu);
  if (!full)
    n = audit_node(e);
  if (!n) {
    metrics_shared_add(&w->srv->gm.audit_dropped, 1);
    return -1;
  }
  pthread_mutex_lock(&w->mu);
  if (w->stop) { /* stopped meanwhile: its last round may be over */
    pthread_mutex_unlock(&w->mu);
    audit_node_free(n);
    metrics_shared_add(&w->srv->gm.audit_dropped, 1);
    return -1;
  }
  if (w->audit_tail)
    w->audit_tail->next = n;
  else
    w->audit_head = n;
  w->audit_tail = n;
  w->audit_pending++;
  pthread_mutex_unlock(&w->mu);
  return 0;
}

/* Append the round's records (the queue's, then the writer's own) in one transaction. */
static void do_audit(writer_t *w) {
  pthread_mutex_lock(&w->mu);
  audit_node_t *list = w->audit_head;
  w->audit_head = w->audit_tail = NULL;
  w->audit_pending = 0;
  pthread_mutex_unlock(&w->mu);
  if (w->own_head) {
    w->own_tail->next = list;
    list = w->own_head;
    w->own_head = w->own_tail = NULL;
  }
  size_t n = 0;
  for (audit_node_t *a = list; a; a = a->next)
    n++;
  if (!n)
    return;
  wd_audit_entry_t *v = malloc(n * sizeof *v);
  size_t k = 0;
  for (audit_node_t *a = list; a && v; a = a->next)
    v[k++] = a->e;
  long rc = v && w->audit ? wd_audit_append(w->audit, v, n) : WD_ENOMEM;
  if (rc < 0) {
    metrics_shared_add(&w->srv->gm.audit_dropped, n);
    fprintf(stderr, "warden: %zu audit record%s not written: %s\n", n, n == 1 ? "" : "s",
            wd_strerror((int)rc));
  }
  free(v);
  while (list) {
    audit_node_t *next = list->next;
    audit_node_free(list);
    list = next;
  }
}

/* Commit the ops in [first, ...) whose changes fit one batch into list bl; returns the first op
 * not taken. A batch holds either changes made here (recorded in the outbox when the node is in
 * a cluster) or one op received from the cluster (applied idempotently, with its cursor). */
static ban_op_t *commit_batch(writer_t *w, wd_banlist_t *bl, ban_op_t *first) {
  size_t total = 0;
  ban_op_t *end = first;
  while (end && (total == 0 || total + end->n <= WD_BAN_BATCH_MAX) &&
         end->from_cluster == first->from_cluster && (end == first || !first->from_cluster)) {
    total += end->n;
    end = end->next;
  }
  wd_banlist_apply_opts_t ao = {.outbox = w->srv->cluster != NULL && !first->from_cluster,
                                .skip_same = first->from_cluster,
                                .lazy_sync = first->from_cluster,
                                .cursor = first->from_cluster ? first->cursor : NULL,
                                .cursor_value = first->cursor_value};
  wd_ban_change_t *batch = NULL;
  int rc;
  if (total == 0 && !ao.cursor) {
    rc = 0; /* verdicts without a list change */
  } else if (first->next == end) {
    batch = first->changes; /* one op: apply in place */
    rc = wd_banlist_apply_ex(bl, batch, total, now_s(), &ao);
  } else {
    batch = malloc(total * sizeof *batch);
    if (!batch) {
      rc = WD_ENOMEM;
      for (ban_op_t *op = first; op != end; op = op->next)
        for (size_t i = 0; i < op->n; i++)
          op->changes[i].result = rc;
    } else {
      size_t k = 0;
      for (ban_op_t *op = first; op != end; op = op->next)
        for (size_t i = 0; i < op->n; i++)
          batch[k++] = op->changes[i];
      rc = wd_banlist_apply_ex(bl, batch, total, now_s(), &ao);
      k = 0;
      for (ban_op_t *op = first; op != end; op = op->next)
        for (size_t i = 0; i < op->n; i++)
          op->changes[i].result = batch[k++].result;
      free(batch);
    }
  }
  srv_t *s = w->srv;
  if (rc) {
    metrics_shared_add(&s->gm.ban_errors, 1);
    fprintf(stderr, "warden: ban commit failed: %s\n", wd_strerror(rc));
  } else if (total) {
    metrics_shared_add(&s->gm.ban_batches, 1);
    metrics_shared_add(&s->gm.ban_changes, total);
    if (bl == w->bans) { /* bans added, for the ban-storm alert and warden_bans_added_total */
      uint64_t added = 0;
      for (ban_op_t *o = first; o != end; o = o->next)
        for (size_t i = 0; i < o->n; i++)
          added += o->changes[i].op == WD_BAN_ADD && !o->changes[i].result;
      metrics_shared_add(&s->gm.bans_added, added);
    }
    if (ao.outbox)
      cluster_wake(s->cluster); /* the outbox has news for the other nodes */
  }
  ban_op_t *op = first;
  while (op != end) {
    ban_op_t *next = op->next;
    op->rc = rc;
    settle_case(w, op);
    audit_op(w, op);
    answer(w, op);
    op = next;
  }
  return end;
}

/* Commit a queue of ops: those for the ban list, then those for the allow list, each in
 * batches. */
static void do_bans(writer_t *w, ban_op_t *list) {
  ban_op_t *heads[2] = {NULL, NULL}, *tails[2] = {NULL, NULL};
  while (list) {
    ban_op_t *next = list->next;
    int k = list->list == LIST_ALLOW;
    list->next = NULL;
    if (tails[k])
      tails[k]->next = list;
    else
      heads[k] = list;
    tails[k] = list;
    list = next;
  }
  for (int k = 0; k < 2; k++) {
    wd_banlist_t *bl = k ? w->allow : w->bans;
    ban_op_t *op = heads[k];
    while (op) {
      if (!bl) {
        ban_op_t *next = op->next;
        op->rc = WD_EIO;
        answer(w, op);
        op = next;
        continue;
      }
      op = commit_batch(w, bl, op);
    }
  }
}

/* Case updates are coalesced: a case hit by every request of a suspect token is written at
 * most once a second (verdicts are written at once, by settle_case). */
static void do_cases(writer_t *w) {
  double now = mono_ms();
  if (!w->cases || now - w->cases_flushed_ms < CASES_FLUSH_MS)
    return;
  w->cases_flushed_ms = now;
  if (wd_cases_flush(w->cases, now_s()) < 0)
    metrics_shared_add(&w->srv->gm.case_errors, 1);
}

static void write_line(const char *p, size_t n, void *arg) {
  srv_t *s = arg;
  if (declog_file_write(s->declog_file, p, n))
    metrics_shared_add(&s->gm.declog_write_errors, 1);
  metrics_shared_add(&s->gm.declog_written, 1);
}

static void do_declog(writer_t *w) {
  srv_t *s = w->srv;
  if (!s->declog_file)
    return;
  uint64_t rot = declog_file_rotations(s->declog_file);
  for (int i = 0; i < s->nloops; i++)
    if (s->loops[i].declog)
      declog_ring_drain(s->loops[i].declog, write_line, s);
  if (declog_file_flush(s->declog_file))
    metrics_shared_add(&s->gm.declog_write_errors, 1);
  uint64_t rot2 = declog_file_rotations(s->declog_file);
  if (rot2 != rot)
    metrics_shared_add(&s->gm.declog_rotations, rot2 - rot);
}

static void do_replay(writer_t *w) {
  if (!w->replay)
    return;
  long n = wd_replay_flush(w->replay, now_s());
  if (n > 0)
    metrics_shared_add(&w->srv->gm.replay_flushed, (uint64_t)n);
  else if (n < 0)
    metrics_shared_add(&w->srv->gm.replay_errors, 1);
}

static void *writer_main(void *arg) {
  writer_t *w = arg;
  srv_t *s = w->srv;
  if (load(w)) {
    atomic_store(&s->fatal, 1);
    kill(s->pid, SIGTERM);
  }
  int64_t next_expire = now_s() + EXPIRE_EVERY_S, next_tracker_expire = now_s();
  for (;;) {
    pthread_mutex_lock(&w->mu);
    if (!w->head && !w->stop) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += WRITER_TICK_MS * 1000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    ban_op_t *list = w->head;
    w->head = w->tail = NULL;
    w->pending = 0;
    int stop = w->stop;
    pthread_mutex_unlock(&w->mu);

    do_bans(w, list);
    do_cases(w);
    do_replay(w);
    do_declog(w);
    do_audit(w);
    if (w->bans && now_s() >= next_expire) {
      long n = wd_banlist_expire(w->bans, now_s());
      if (n > 0)
        metrics_shared_add(&s->gm.bans_expired, (uint64_t)n);
      if (w->allow)
        wd_banlist_expire(w->allow, now_s());
      next_expire = now_s() + EXPIRE_EVERY_S;
    }
    if (now_s() >= next_tracker_expire) {
      for (size_t i = 0; i < s->ntrackers; i++)
        wd_tracker_expire(s->trackers[i], now_s() * 1000);
      next_tracker_expire = now_s() + TRACKER_EXPIRE_EVERY_S;
    }
    if (stop && !list)
      break;
  }
  return NULL;
}

int writer_start(srv_t *srv, writer_t **out) {
  writer_t *w = calloc(1, sizeof *w);
  if (!w)
    return -1;
  w->srv = srv;
  w->answer = 1;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (pthread_create(&w->tid, NULL, writer_main, w)) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return -1;
  }
  *out = w;
  return 0;
}

int writer_submit(writer_t *w, ban_op_t *op) {
  pthread_mutex_lock(&w->mu);
  if (w->stop ||
      (!op->from_cluster && w->pending + op->n > (size_t)w->srv->conf->limits.max_pending_bans)) {
    pthread_mutex_unlock(&w->mu);
    metrics_shared_add(&w->srv->gm.ban_queue_full, 1);
    return -1;
  }
  op->next = NULL;
  if (w->tail)
    w->tail->next = op;
  else
    w->head = op;
  w->tail = op;
  w->pending += op->n;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return 0;
}

size_t writer_depth(writer_t *w) {
  pthread_mutex_lock(&w->mu);
  size_t n = w->pending;
  pthread_mutex_unlock(&w->mu);
  return n;
}

void writer_stop(writer_t *w) {
  if (!w)
    return;
  srv_t *s = w->srv;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  w->answer = 0; /* called after the loop threads have stopped */
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->tid, NULL);
  atomic_store(&s->ready, 0);
  atomic_store(&s->decider, NULL);
  atomic_store(&s->bans, NULL);
  atomic_store(&s->allow, NULL);
  atomic_store(&s->cases, NULL);
  atomic_store(&s->replay, NULL);
  atomic_store(&s->audit, NULL);
  do_audit(w); /* what came in after the thread's last round */
  wd_audit_close(w->audit);
  if (w->decider)
    wd_decider_destroy(w->decider);
  if (w->replay) {
    wd_replay_flush(w->replay, now_s());
    wd_replay_close(w->replay);
  }
  if (w->cases) {
    wd_cases_flush(w->cases, now_s());
    wd_cases_close(w->cases);
  }
  if (w->allow)
    wd_banlist_close(w->allow);
  if (w->bans)
    wd_banlist_close(w->bans);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}
