/*
 * Server metrics, rendered as Prometheus text by GET /metrics.
 *
 * Each event-loop thread owns one metrics_thread_t and is its only writer: a counter update is a
 * relaxed load and store (no locked instruction, no shared cache line between threads). The
 * scrape sums every thread's counters with relaxed loads. Counters of rare events (writer
 * batches, queue rejections) live in metrics_global_t and use atomic adds.
 */
#ifndef WARDEN_SRC_METRICS_H
#define WARDEN_SRC_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/cases.h"
#include "warden/decide.h"

#include "jsonw.h"

/* Upper bounds of the decision latency histogram, in nanoseconds (+Inf is implicit). */
#define METRICS_LAT_BUCKETS 14

/* Routes counted by requests_total. */
typedef enum metrics_route {
  ROUTE_DECIDE = 0,
  ROUTE_AUTH,
  ROUTE_TOKEN,
  ROUTE_BANS,
  ROUTE_ALLOW,
  ROUTE_CASES,
  ROUTE_AUDIT,
  ROUTE_POLICIES,
  ROUTE_HEALTH,
  ROUTE_METRICS,
  ROUTE_UI,                                     /* the console: /ui, /ui/login, ... */
  ROUTE_STATS,                                  /* /v1/stats, what-if */
  ROUTE_KEY,                                    /* /v1/key/<id>: content keys */
  ROUTE_OTHER,
  ROUTE_COUNT
} metrics_route_t;

typedef struct metrics_thread {
  /* decisions by action taken, primary reason (WD_REASON_COUNT: none) and scheme */
  _Atomic uint64_t decisions[WD_ACT_COUNT][WD_REASON_COUNT + 1][WD_SCHEME_COUNT];
  /* decisions by the action automate mode would take */
  _Atomic uint64_t enforced[WD_ACT_COUNT];
  _Atomic uint64_t cases;                       /* decisions opening or updating a case */
  _Atomic uint64_t verdicts[3];                 /* detection verdicts: ok, suspect, shared */
  _Atomic uint64_t auto_bans;                   /* shared tokens banned automatically */
  _Atomic uint64_t lat_bucket[METRICS_LAT_BUCKETS + 1];
  _Atomic uint64_t lat_sum_ns;
  _Atomic uint64_t requests[ROUTE_COUNT][6];    /* by route and status class 1xx..5xx (0: other) */
  _Atomic uint64_t token_api_issued;
  _Atomic uint64_t token_api_refused;
  _Atomic uint64_t conns_refused;               /* over limits.max_connections */
  _Atomic uint64_t open_conns;                  /* gauge */
} metrics_thread_t;

typedef struct metrics_global {
  _Atomic uint64_t ban_batches;                 /* writer commits */
  _Atomic uint64_t ban_changes;                 /* changes applied */
  _Atomic uint64_t ban_errors;                  /* commits that failed */
  _Atomic uint64_t ban_queue_full;              /* POST/DELETE refused with 503 */
  _Atomic uint64_t replay_flushed;
  _Atomic uint64_t replay_errors;
  _Atomic uint64_t bans_expired;
  _Atomic uint64_t declog_written;              /* lines */
  _Atomic uint64_t declog_write_errors;
  _Atomic uint64_t declog_rotations;
  _Atomic uint64_t case_errors;                 /* case flushes that failed */
  _Atomic uint64_t bans_added;                  /* bans committed to the ban list (any actor) */
  _Atomic uint64_t audit_dropped;               /* audit records lost: queue full, write failed */
  _Atomic uint64_t logins[2];                   /* console sign-ins: failed, succeeded */
} metrics_global_t;

static inline void metrics_inc(_Atomic uint64_t *c) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}
static inline void metrics_add(_Atomic uint64_t *c, uint64_t v) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}
static inline void metrics_shared_add(_Atomic uint64_t *c, uint64_t v) {
  atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* Count one decision (owning thread only). latency_ns is the time wd_decide took. */
void metrics_decision(metrics_thread_t *m, const wd_decision_t *d, uint64_t latency_ns);

/* Count one answered request by route and status. */
void metrics_request(metrics_thread_t *m, metrics_route_t route, int status);

/* What /metrics adds beyond the counters: gauges read at scrape time. */
typedef struct metrics_extra {
  int have_bans;
  uint64_t bans[5];            /* by wd_ban_type_t */
  uint64_t ban_index_bytes;
  uint64_t ban_store_bytes;
  uint64_t allow[5];           /* allow-list entries by wd_ban_type_t */
  int have_cases;
  uint64_t cases[WD_CASE_STATUS_COUNT];
  uint64_t cases_dropped;      /* flagged requests refused a case: the store was full */
  uint64_t tracked_tokens;     /* sharing detection: tokens tracked, memory held */
  uint64_t tracker_bytes;
  uint64_t declog_dropped;     /* decision-log lines dropped on full queues */
  uint64_t ban_queue_depth;
  int ready;
  double start_time;           /* unix seconds */
} metrics_extra_t;

/*
 * Render the Prometheus text exposition (version 0.0.4) of every thread's counters, the global
 * counters, the extra gauges and the process's memory into w.
 */
void metrics_render(jw_t *w, metrics_thread_t *const *threads, size_t nthreads,
                    const metrics_global_t *g, const metrics_extra_t *x);

#endif
