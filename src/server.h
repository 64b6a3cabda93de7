/*
 * The running `warden serve`: state shared by the event-loop threads, the writer thread and the
 * route handlers (api_*.c).
 *
 * Threads:
 *   - N event-loop threads (config `threads`), each with its own h2o context, listening sockets
 *     (SO_REUSEPORT on the same port), wd_verifier_t, metrics and decision-log ring. A request
 *     is handled start to finish on the thread that accepted its connection; nothing on these
 *     threads waits for a disk.
 *   - One writer thread (writer.c): opens the ban and allow lists, the review cases and the
 *     replay memory at start (then the server is ready), commits list changes in groups and
 *     answers them back through the loop's h2o multithread receiver, flushes cases and replay
 *     entries, purges expired bans, writes the decision log.
 *   - The main thread: start-up, signals, shutdown.
 *
 * Shared state is either immutable after start (configuration, key rings, TLS context) or
 * published atomically (the decider, once the ban list is loaded). A policy's mode is an atomic
 * int switched by PUT /v1/policies/<name>/mode.
 */
#ifndef WARDEN_SRC_SERVER_H
#define WARDEN_SRC_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <h2o.h>

#include "warden/audit.h"
#include "warden/auth.h"
#include "warden/cases.h"
#include "warden/decide.h"
#include "warden/geo.h"
#include "warden/warden.h"

#include "config.h"
#include "declog.h"
#include "metrics.h"

typedef struct srv srv_t;

/* The two lists of the same structure (wd_banlist_t): bans, and viewers allowed after review. */
typedef enum list_kind { LIST_BANS = 0, LIST_ALLOW } list_kind_t;
typedef struct writer writer_t;
typedef struct cluster cluster_t;

typedef struct loop {
  srv_t *srv;
  int index;
  pthread_t tid;
  h2o_context_t ctx;
  h2o_accept_ctx_t accept_plain;
  h2o_accept_ctx_t accept_tls;
  h2o_socket_t *listeners[CONF_MAX_LISTEN];
  int fds[CONF_MAX_LISTEN];
  size_t nlisteners;
  h2o_multithread_receiver_t done_receiver; /* ban changes committed by the writer */
  h2o_multithread_receiver_t ctl_receiver;  /* stop requests from the main thread */
  h2o_multithread_receiver_t console_receiver; /* sign-ins checked by the console worker */
  h2o_multithread_message_t ctl_msg;
  wd_verifier_t *verifier;                  /* token verification for decisions */
  wd_verifier_t *viewer_verifier;           /* viewer JWTs for the token API */
  declog_ring_t *declog;                    /* NULL when the decision log is off */
  uint64_t rng;                             /* xorshift state for log sampling */
  int stopping;
  int started;
  struct geo_slot *geo_cache;               /* GEO_CACHE_SLOTS recent lookups (api_decide.c) */
  char recent_bans[8][WD_ID_MAX];           /* tokens this thread auto-banned lately */
  unsigned recent_next;
  h2o_linklist_t conns;                     /* open connections (http.c) */
  uint64_t nconns;
  double end_at, stop_at;                   /* shutdown: end idle connections, give up */
  struct mon_loop *mon;                     /* the console's per-thread counters (monitor.c) */
  metrics_thread_t metrics;
} loop_t;

struct srv {
  conf_t *conf;
  wd_keyring_t *ring;                       /* keys for decisions and the token API */
  wd_keyring_t *viewer_ring;                /* keys for viewers' bearer JWTs (token API) */
  wd_geo_t *geo;                            /* country, location, ASN; NULL: no data */
  wd_tracker_t *policy_tracker[CONF_MAX_POLICIES]; /* sharing detection per policy (NULL: off;
                                                      several may share one tracker) */
  wd_tracker_t *trackers[CONF_MAX_POLICIES + 1];   /* the distinct ones, owned */
  size_t ntrackers;
  _Atomic(wd_decider_t *) decider;          /* NULL until the ban list is loaded */
  _Atomic(wd_banlist_t *) bans;
  _Atomic(wd_banlist_t *) allow;
  _Atomic(wd_cases_t *) cases;
  _Atomic(wd_replay_t *) replay;
  _Atomic(wd_audit_t *) audit;              /* the audit trail (opened by the writer) */
  wd_sessions_t *sessions;                  /* console sessions (console.c) */
  struct console *console;                  /* the sign-in worker (console.c) */
  struct monitor *monitor;                  /* samples, live stats, alerts (monitor.c) */
  _Atomic int ready;
  _Atomic int stopping;
  _Atomic int fatal;                        /* start-up failed on the writer thread */
  unsigned char admin_hash[32];             /* SHA-256 of the admin token */
  int have_admin;
  h2o_globalconf_t h2o;
  int h2o_ready;                            /* h2o was configured (http_setup) */
  SSL_CTX *ssl_ctx;
  loop_t *loops;
  int nloops;
  writer_t *writer;
  cluster_t *cluster;                       /* NULL: one node, no broker (cluster.c) */
  declog_file_t *declog_file;               /* owned by the writer thread once started */
  metrics_global_t gm;
  double start_time;
  pid_t pid;
};

/* Route handlers (api_*.c). Each answers the request (or hands it to the writer). */
void api_decide(loop_t *l, h2o_req_t *req);
void api_auth(loop_t *l, h2o_req_t *req);
void api_token(loop_t *l, h2o_req_t *req);
void api_bans(loop_t *l, h2o_req_t *req, list_kind_t list, const char *rest, size_t restlen);
void api_audit(loop_t *l, h2o_req_t *req);
void api_cases(loop_t *l, h2o_req_t *req, const char *rest, size_t restlen);
void api_policies(loop_t *l, h2o_req_t *req, const char *rest, size_t restlen);
void api_healthz(loop_t *l, h2o_req_t *req);
void api_readyz(loop_t *l, h2o_req_t *req);
void api_metrics(loop_t *l, h2o_req_t *req);
void api_stats(loop_t *l, h2o_req_t *req);
void api_key(loop_t *l, h2o_req_t *req, const char *id, size_t idlen);

/* The decision for a request of `url` (origin-form path and query) on `host` (NULL: the
 * request's X-Original-Host from a trusted proxy, else its Host), taking the client address,
 * the trusted country and ASN headers and every header (the token's cookie or header) from req:
 * the decision a segment of that asset would get (api_decide.c, for the key endpoint). Counted,
 * logged (route "key") and fed to detection like any decision. Returns 0 with *d filled (the
 * caller answers and cleans d up), or answers itself (503 while loading, 400) and returns -1. */
int decide_for_asset(loop_t *l, h2o_req_t *req, const char *url, const char *host,
                     wd_decision_t *d);

/* The loop thread owning a request. */
static inline loop_t *loop_of(h2o_req_t *req) {
  return H2O_STRUCT_FROM_MEMBER(loop_t, ctx, req->conn->ctx);
}

/* Open or update the review case of a decision with has_case (api_cases.c). */
void cases_note_decision(srv_t *s, const wd_decide_input_t *in, const wd_decision_t *d);

/* The decider, or NULL while the ban list is still loading. */
static inline wd_decider_t *srv_decider(srv_t *s) {
  return atomic_load_explicit(&s->decider, memory_order_acquire);
}

#endif
