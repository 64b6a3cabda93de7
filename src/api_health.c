/*
 * GET /healthz (the process answers), GET /readyz (the ban list is loaded and decisions are
 * served; 503 until then and while stopping) and GET /metrics (Prometheus text).
 */
#include <string.h>

#include "cluster.h"
#include "alerts.h"
#include "http.h"
#include "monitor.h"
#include "writer.h"

void api_healthz(loop_t *l, h2o_req_t *req) {
  (void)l;
  http_send(req, ROUTE_HEALTH, 200, "application/json", "{\"status\":\"ok\"}\n", 16);
}

void api_readyz(loop_t *l, h2o_req_t *req) {
  srv_t *s = l->srv;
  if (atomic_load_explicit(&s->ready, memory_order_acquire) &&
      !atomic_load_explicit(&s->stopping, memory_order_relaxed)) {
    http_send(req, ROUTE_HEALTH, 200, "application/json", "{\"status\":\"ready\"}\n", 19);
    return;
  }
  http_header(req, "Retry-After", "1");
  if (atomic_load_explicit(&s->stopping, memory_order_relaxed))
    http_send(req, ROUTE_HEALTH, 503, "application/json", "{\"status\":\"stopping\"}\n", 22);
  else
    http_send(req, ROUTE_HEALTH, 503, "application/json", "{\"status\":\"loading\"}\n", 21);
}

void api_metrics(loop_t *l, h2o_req_t *req) {
  srv_t *s = l->srv;
  metrics_extra_t x = {0};
  metrics_thread_t *threads[64];
  size_t n = 0;
  for (int i = 0; i < s->nloops && n < 64; i++)
    threads[n++] = &s->loops[i].metrics;
  wd_banlist_t *bl = atomic_load_explicit(&s->bans, memory_order_acquire);
  if (bl) {
    wd_banlist_stats_t st;
    wd_banlist_stats(bl, &st);
    x.have_bans = 1;
    memcpy(x.bans, st.bans, sizeof x.bans);
    x.ban_index_bytes = st.index_bytes;
    x.ban_store_bytes = st.store_bytes;
  }
  wd_banlist_t *al = atomic_load_explicit(&s->allow, memory_order_acquire);
  if (al) {
    wd_banlist_stats_t st;
    wd_banlist_stats(al, &st);
    memcpy(x.allow, st.bans, sizeof x.allow);
  }
  for (size_t i = 0; i < s->ntrackers; i++) {
    wd_tracker_stats_t ts;
    wd_tracker_stats(s->trackers[i], &ts);
    x.tracked_tokens += ts.tokens;
    x.tracker_bytes += ts.bytes;
  }
  wd_cases_t *cs = atomic_load_explicit(&s->cases, memory_order_acquire);
  if (cs) {
    wd_cases_stats_t st;
    wd_cases_stats(cs, &st);
    x.have_cases = 1;
    memcpy(x.cases, st.by_status, sizeof x.cases);
    x.cases_dropped = st.dropped;
  }
  for (int i = 0; i < s->nloops; i++)
    if (s->loops[i].declog)
      x.declog_dropped += declog_ring_dropped(s->loops[i].declog);
  x.ban_queue_depth = s->writer ? writer_depth(s->writer) : 0;
  x.ready = atomic_load_explicit(&s->ready, memory_order_acquire);
  x.start_time = s->start_time;
  jw_t w;
  jw_init(&w, NULL, 0, 8u << 20);
  metrics_render(&w, threads, n, &s->gm, &x);
  if (monitor_alerts(s->monitor))
    alerts_metrics(monitor_alerts(s->monitor), &w);
  cluster_metrics(s->cluster, &w);
  if (w.err) {
    jw_free(&w);
    http_send_error(req, ROUTE_METRICS, 500, "internal", "cannot render the metrics");
    return;
  }
  http_send(req, ROUTE_METRICS, 200, "text/plain; version=0.0.4; charset=utf-8", w.p, w.n);
  jw_free(&w);
}
