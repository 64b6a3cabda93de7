/*
 * Metrics: per-thread counters and the Prometheus text rendering (see metrics.h). Series whose
 * value is zero are left out of the decision counters to keep the scrape short: a label set
 * appears once it has happened.
 */
#include "metrics.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const uint64_t lat_bounds_ns[METRICS_LAT_BUCKETS] = {
    10000,   25000,    50000,    100000,   250000,    500000,    1000000,
    2500000, 5000000, 10000000, 25000000, 50000000, 100000000, 1000000000};

static const char *const route_names[ROUTE_COUNT] = {
    "decide",   "auth",   "token",   "bans", "allow", "cases", "audit",
    "policies", "health", "metrics", "ui", "stats", "key", "other"};

void metrics_decision(metrics_thread_t *m, const wd_decision_t *d, uint64_t latency_ns) {
  int reason = d->nreasons ? (int)d->reasons[0] : WD_REASON_COUNT;
  int scheme = (int)d->token.id.scheme;
  int action = (int)d->action, enforced = (int)d->enforced;
  if (reason < 0 || reason > WD_REASON_COUNT)
    reason = WD_REASON_COUNT;
  if (scheme < 0 || scheme >= WD_SCHEME_COUNT)
    scheme = WD_SCHEME_NONE;
  if (action < 0 || action >= WD_ACT_COUNT)
    action = WD_ACT_BLOCK;
  if (enforced < 0 || enforced >= WD_ACT_COUNT)
    enforced = action;
  metrics_inc(&m->decisions[action][reason][scheme]);
  metrics_inc(&m->enforced[enforced]);
  if (d->has_case)
    metrics_inc(&m->cases);
  if (d->detected && (unsigned)d->verdict.level < 3)
    metrics_inc(&m->verdicts[d->verdict.level]);
  if (d->ban_token)
    metrics_inc(&m->auto_bans);
  int b = 0;
  while (b < METRICS_LAT_BUCKETS && latency_ns > lat_bounds_ns[b])
    b++;
  metrics_inc(&m->lat_bucket[b]);
  metrics_add(&m->lat_sum_ns, latency_ns);
}

void metrics_request(metrics_thread_t *m, metrics_route_t route, int status) {
  int cls = status / 100;
  if (cls < 1 || cls > 5)
    cls = 0;
  if ((unsigned)route >= ROUTE_COUNT)
    route = ROUTE_OTHER;
  metrics_inc(&m->requests[route][cls]);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static uint64_t sum_threads(metrics_thread_t *const *t, size_t n, size_t offset) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i++)
    s += atomic_load_explicit((_Atomic uint64_t *)((char *)t[i] + offset), memory_order_relaxed);
  return s;
}

static void counter_head(jw_t *w, const char *name, const char *help, const char *type) {
  jw_printf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void process_memory(uint64_t *rss, uint64_t *vsz) {
  *rss = *vsz = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f)
    return;
  unsigned long long size = 0, res = 0;
  if (fscanf(f, "%llu %llu", &size, &res) == 2) {
    long page = sysconf(_SC_PAGESIZE);
    *vsz = size * (uint64_t)page;
    *rss = res * (uint64_t)page;
  }
  fclose(f);
}

void metrics_render(jw_t *w, metrics_thread_t *const *t, size_t n, const metrics_global_t *g,
                    const metrics_extra_t *x) {
  counter_head(w, "warden_decisions_total",
               "Decisions by action taken, first reason and token scheme.", "counter");
  for (int a = 0; a < WD_ACT_COUNT; a++)
    for (int r = 0; r <= WD_REASON_COUNT; r++)
      for (int s = 0; s < WD_SCHEME_COUNT; s++) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
          v += LOAD(t[i]->decisions[a][r][s]);
        if (!v)
          continue;
        jw_printf(w, "warden_decisions_total{action=\"%s\",reason=\"%s\",scheme=\"%s\"} %llu\n",
                  wd_action_name((wd_action_t)a),
                  r == WD_REASON_COUNT ? "none" : wd_reason_name((wd_reason_t)r),
                  s == WD_SCHEME_NONE ? "none" : wd_scheme_name((wd_scheme_t)s),
                  (unsigned long long)v);
      }
  counter_head(w, "warden_decisions_enforced_total",
               "Decisions by the action automate mode takes (differs from the action in monitor "
               "and moderate mode).",
               "counter");
  for (int a = 0; a < WD_ACT_COUNT; a++) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
      v += LOAD(t[i]->enforced[a]);
    jw_printf(w, "warden_decisions_enforced_total{action=\"%s\"} %llu\n",
              wd_action_name((wd_action_t)a), (unsigned long long)v);
  }
  counter_head(w, "warden_cases_total", "Decisions that open or update a case for review.",
               "counter");
  jw_printf(w, "warden_cases_total %llu\n",
            (unsigned long long)sum_threads(t, n, offsetof(metrics_thread_t, cases)));
  counter_head(w, "warden_detection_verdicts_total",
               "Sharing-detection verdicts on observed requests, by level.", "counter");
  for (int v = 0; v < 3; v++)
    jw_printf(w, "warden_detection_verdicts_total{verdict=\"%s\"} %llu\n",
              wd_verdict_level_name((wd_verdict_level_t)v),
              (unsigned long long)sum_threads(
                  t, n, offsetof(metrics_thread_t, verdicts) + (size_t)v * sizeof(uint64_t)));
  counter_head(w, "warden_auto_bans_total",
               "Automate-mode decisions that ban a token found shared.", "counter");
  jw_printf(w, "warden_auto_bans_total %llu\n",
            (unsigned long long)sum_threads(t, n, offsetof(metrics_thread_t, auto_bans)));
  counter_head(w, "warden_detection_tokens", "Tokens tracked by sharing detection.", "gauge");
  jw_printf(w, "warden_detection_tokens %llu\n", (unsigned long long)x->tracked_tokens);
  counter_head(w, "warden_detection_bytes", "Memory held by sharing detection.", "gauge");
  jw_printf(w, "warden_detection_bytes %llu\n", (unsigned long long)x->tracker_bytes);

  counter_head(w, "warden_decision_seconds", "Time spent deciding (wd_decide), in seconds.",
               "histogram");
  uint64_t cum = 0;
  for (int b = 0; b <= METRICS_LAT_BUCKETS; b++) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
      v += LOAD(t[i]->lat_bucket[b]);
    cum += v;
    if (b < METRICS_LAT_BUCKETS)
      jw_printf(w, "warden_decision_seconds_bucket{le=\"%g\"} %llu\n", lat_bounds_ns[b] / 1e9,
                (unsigned long long)cum);
    else
      jw_printf(w, "warden_decision_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
  }
  jw_printf(w, "warden_decision_seconds_sum %.9f\n",
            (double)sum_threads(t, n, offsetof(metrics_thread_t, lat_sum_ns)) / 1e9);
  jw_printf(w, "warden_decision_seconds_count %llu\n", (unsigned long long)cum);

  counter_head(w, "warden_http_requests_total", "Answered requests by route and status class.",
               "counter");
  static const char *const cls[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (int r = 0; r < ROUTE_COUNT; r++)
    for (int c = 0; c < 6; c++) {
      uint64_t v = 0;
      for (size_t i = 0; i < n; i++)
        v += LOAD(t[i]->requests[r][c]);
      if (v)
        jw_printf(w, "warden_http_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
                  route_names[r], cls[c], (unsigned long long)v);
    }
  counter_head(w, "warden_token_api_total", "Token API answers: issued tokens and refusals.",
               "counter");
  jw_printf(w, "warden_token_api_total{result=\"issued\"} %llu\n",
            (unsigned long long)sum_threads(t, n, offsetof(metrics_thread_t, token_api_issued)));
  jw_printf(w, "warden_token_api_total{result=\"refused\"} %llu\n",
            (unsigned long long)sum_threads(t, n, offsetof(metrics_thread_t, token_api_refused)));
  counter_head(w, "warden_connections", "Open client connections.", "gauge");
  jw_printf(w, "warden_connections %llu\n",
            (unsigned long long)sum_threads(t, n, offsetof(metrics_thread_t, open_conns)));
  counter_head(w, "warden_connections_refused_total",
               "Connections closed at once because limits.max_connections was reached.",
               "counter");
  jw_printf(w, "warden_connections_refused_total %llu\n",
            (unsigned long long)sum_threads(t, n, offsetof(metrics_thread_t, conns_refused)));

  counter_head(w, "warden_bans", "Bans in the ban list by type (expired ones not yet purged "
               "included).", "gauge");
  static const char *const btypes[5] = {"", "token", "subject", "ip", "cidr"};
  for (int b = 1; b < 5; b++)
    jw_printf(w, "warden_bans{type=\"%s\"} %llu\n", btypes[b],
              (unsigned long long)(x->have_bans ? x->bans[b] : 0));
  counter_head(w, "warden_allow_list", "Allow-list entries by type (viewers cleared after "
               "review).", "gauge");
  for (int b = 1; b < 5; b++)
    jw_printf(w, "warden_allow_list{type=\"%s\"} %llu\n", btypes[b],
              (unsigned long long)x->allow[b]);
  counter_head(w, "warden_cases", "Review cases by status.", "gauge");
  for (int c = 0; c < WD_CASE_STATUS_COUNT; c++)
    jw_printf(w, "warden_cases{status=\"%s\"} %llu\n", wd_case_status_name((wd_case_status_t)c),
              (unsigned long long)(x->have_cases ? x->cases[c] : 0));
  counter_head(w, "warden_cases_dropped_total",
               "Flagged requests that got no case because the case store was full.", "counter");
  jw_printf(w, "warden_cases_dropped_total %llu\n", (unsigned long long)x->cases_dropped);
  counter_head(w, "warden_case_flush_errors_total", "Case-store flushes that failed.", "counter");
  jw_printf(w, "warden_case_flush_errors_total %llu\n", (unsigned long long)LOAD(g->case_errors));
  counter_head(w, "warden_audit_dropped_total",
               "Audit records lost because the queue was full or the write failed.", "counter");
  jw_printf(w, "warden_audit_dropped_total %llu\n", (unsigned long long)LOAD(g->audit_dropped));
  counter_head(w, "warden_console_logins_total", "Console sign-ins by result.", "counter");
  jw_printf(w, "warden_console_logins_total{result=\"ok\"} %llu\n",
            (unsigned long long)LOAD(g->logins[1]));
  jw_printf(w, "warden_console_logins_total{result=\"failed\"} %llu\n",
            (unsigned long long)LOAD(g->logins[0]));
  counter_head(w, "warden_ban_index_bytes", "Memory held by the in-memory ban index.", "gauge");
  jw_printf(w, "warden_ban_index_bytes %llu\n", (unsigned long long)x->ban_index_bytes);
  counter_head(w, "warden_ban_store_bytes", "LMDB pages in use by the ban store.", "gauge");
  jw_printf(w, "warden_ban_store_bytes %llu\n", (unsigned long long)x->ban_store_bytes);
  counter_head(w, "warden_ban_commits_total", "Ban-list transactions committed by the writer.",
               "counter");
  jw_printf(w, "warden_ban_commits_total %llu\n", (unsigned long long)LOAD(g->ban_batches));
  counter_head(w, "warden_ban_changes_total", "Ban changes (adds and lifts) committed.", "counter");
  jw_printf(w, "warden_ban_changes_total %llu\n", (unsigned long long)LOAD(g->ban_changes));
  counter_head(w, "warden_ban_commit_errors_total", "Ban-list commits that failed.", "counter");
  jw_printf(w, "warden_ban_commit_errors_total %llu\n", (unsigned long long)LOAD(g->ban_errors));
  counter_head(w, "warden_bans_added_total",
               "Bans added to the ban list (people, the API, the detector, the cluster).",
               "counter");
  jw_printf(w, "warden_bans_added_total %llu\n", (unsigned long long)LOAD(g->bans_added));
  counter_head(w, "warden_bans_expired_total", "Expired bans purged.", "counter");
  jw_printf(w, "warden_bans_expired_total %llu\n", (unsigned long long)LOAD(g->bans_expired));
  counter_head(w, "warden_replay_flushed_total", "Replay (catreplay=1) entries persisted.",
               "counter");
  jw_printf(w, "warden_replay_flushed_total %llu\n", (unsigned long long)LOAD(g->replay_flushed));
  counter_head(w, "warden_replay_flush_errors_total", "Replay flushes that failed.", "counter");
  jw_printf(w, "warden_replay_flush_errors_total %llu\n",
            (unsigned long long)LOAD(g->replay_errors));

  counter_head(w, "warden_queue_dropped_total",
               "Work dropped or refused because a bounded queue was full.", "counter");
  jw_printf(w, "warden_queue_dropped_total{queue=\"decision_log\"} %llu\n",
            (unsigned long long)x->declog_dropped);
  jw_printf(w, "warden_queue_dropped_total{queue=\"bans\"} %llu\n",
            (unsigned long long)LOAD(g->ban_queue_full));
  counter_head(w, "warden_queue_depth", "Ban changes waiting for the writer.", "gauge");
  jw_printf(w, "warden_queue_depth{queue=\"bans\"} %llu\n", (unsigned long long)x->ban_queue_depth);
  counter_head(w, "warden_decision_log_lines_total", "Decision-log lines written.", "counter");
  jw_printf(w, "warden_decision_log_lines_total %llu\n", (unsigned long long)LOAD(g->declog_written));
  counter_head(w, "warden_decision_log_errors_total", "Decision-log write failures.", "counter");
  jw_printf(w, "warden_decision_log_errors_total %llu\n",
            (unsigned long long)LOAD(g->declog_write_errors));
  counter_head(w, "warden_decision_log_rotations_total", "Decision-log rotations.", "counter");
  jw_printf(w, "warden_decision_log_rotations_total %llu\n",
            (unsigned long long)LOAD(g->declog_rotations));

  uint64_t rss, vsz;
  process_memory(&rss, &vsz);
  counter_head(w, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
  jw_printf(w, "process_resident_memory_bytes %llu\n", (unsigned long long)rss);
  counter_head(w, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge");
  jw_printf(w, "process_virtual_memory_bytes %llu\n", (unsigned long long)vsz);
  counter_head(w, "process_start_time_seconds", "Start time of the process, unix seconds.",
               "gauge");
  jw_printf(w, "process_start_time_seconds %.3f\n", x->start_time);
  counter_head(w, "warden_ready", "1 once the ban list is loaded and decisions are served.",
               "gauge");
  jw_printf(w, "warden_ready %d\n", x->ready ? 1 : 0);
}
