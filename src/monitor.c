/*
 * The monitor thread, the console's live statistics and the what-if of a mode switch (see
 * monitor.h).
 *
 * Samples are cumulative counters (sums over the loop threads' metrics); the series /v1/stats
 * returns are their per-second differences, so a sample missed or late never distorts a rate.
 * Per-policy counters are snapshotted every POL_EVERY_S seconds for POL_SNAPS snapshots: the
 * what-if and the overview read "the last five minutes" from the oldest one.
 */
#include "monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "console.h"
#include "http.h"
#include "request.h"
#include "writer.h"

#define POL_EVERY_S 5
#define POL_SNAPS 61                /* 5 minutes back, at POL_EVERY_S */
#define TOP_STALE_S 600             /* spread entries not seen for this long are dropped */
#define TOP_SHOWN 10
#define WHATIF_RECENT_S 3600        /* cases seen within this count as current */
#define WHATIF_SCAN_MAX 100000

typedef struct top_entry {
  char token_id[WD_ID_MAX];
  char subject[WD_ID_MAX];
  char policy[72];
  unsigned networks, asns, countries, score;
  wd_verdict_level_t level;
  int64_t last;
} top_entry_t;

struct mon_loop {
  pthread_mutex_t mu;
  top_entry_t top[MONITOR_TOP];
  size_t ntop;
  _Atomic uint64_t *pol;            /* per policy: decisions, flagged (automate would act) */
  size_t npol;
};

struct monitor {
  srv_t *s;
  pthread_t tid;
  int started;
  pthread_mutex_t mu;               /* ring, snapshots, alert state */
  pthread_cond_t cv;
  int stop;
  monitor_sample_t ring[MONITOR_HISTORY];
  size_t head, n;                   /* ring[(head + n - 1) % H] is the newest */
  uint64_t *polsnap;                /* POL_SNAPS x npol x 2 */
  int64_t polsnap_t[POL_SNAPS];
  size_t polsnap_head, polsnap_n;
  size_t npol;
  mon_loop_t *loops;                /* one per event-loop thread */
  alerts_t *alerts;
};

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* ---------------------------------------------------------------- the request path */

static void note_spread(mon_loop_t *m, const wd_decision_t *d) {
  const wd_identity_t *id = &d->token.id;
  if (!id->token_id[0])
    return;
  int64_t now = now_s();
  pthread_mutex_lock(&m->mu);
  top_entry_t *e = NULL, *weakest = NULL;
  for (size_t i = 0; i < m->ntop; i++) {
    top_entry_t *x = &m->top[i];
    if (!strcmp(x->token_id, id->token_id)) {
      e = x;
      break;
    }
    if (!weakest || x->last + TOP_STALE_S < now ||
        (weakest->last + TOP_STALE_S >= now && x->networks < weakest->networks))
      weakest = x;
  }
  if (!e && m->ntop < MONITOR_TOP)
    e = &m->top[m->ntop++];
  else if (!e && weakest &&
           (weakest->last + TOP_STALE_S < now || weakest->networks < d->verdict.networks))
    e = weakest;
  if (e) {
    snprintf(e->token_id, sizeof e->token_id, "%s", id->token_id);
    snprintf(e->subject, sizeof e->subject, "%s", id->subject);
    snprintf(e->policy, sizeof e->policy, "%.64s", d->policy ? d->policy->name : "");
    e->networks = d->verdict.networks;
    e->asns = d->verdict.asns;
    e->countries = d->verdict.countries;
    e->score = d->verdict.score;
    e->level = d->verdict.level;
    e->last = now;
  }
  pthread_mutex_unlock(&m->mu);
}

void monitor_note_decision(loop_t *l, wd_decider_t *dec, const wd_decision_t *d) {
  mon_loop_t *m = l->mon;
  if (!m)
    return;
  if (d->policy && m->npol) {
    size_t i = wd_decider_policy_index(dec, d->policy);
    if (i < m->npol) {
      metrics_inc(&m->pol[i * 2]);
      if (d->enforced != WD_ACT_ALLOW && d->enforced != WD_ACT_RENEW)
        metrics_inc(&m->pol[i * 2 + 1]);
    }
  }
  if (d->detected && d->verdict.networks >= 2)
    note_spread(m, d);
}

/* ---------------------------------------------------------------- sampling */

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void take_sample(srv_t *s, monitor_sample_t *out) {
  memset(out, 0, sizeof *out);
  out->t = now_s();
  for (int i = 0; i < s->nloops; i++) {
    metrics_thread_t *m = &s->loops[i].metrics;
    for (int a = 0; a < WD_ACT_COUNT; a++)
      for (int r = 0; r <= WD_REASON_COUNT; r++)
        for (int k = 0; k < WD_SCHEME_COUNT; k++) {
          uint64_t v = LOAD(m->decisions[a][r][k]);
          if (!v)
            continue;
          out->act[a] += v;
          out->decisions += v;
          if (r == WD_REASON_NO_TOKEN || r == WD_REASON_INVALID || r == WD_REASON_EXPIRED)
            out->failures += v;
        }
    for (int a = 0; a < WD_ACT_COUNT; a++)
      out->enforced[a] += LOAD(m->enforced[a]);
    out->verdicts[0] += LOAD(m->verdicts[0]);
    out->verdicts[1] += LOAD(m->verdicts[1]);
    out->verdicts[2] += LOAD(m->verdicts[2]);
    out->auto_bans += LOAD(m->auto_bans);
    for (int r = 0; r < ROUTE_COUNT; r++)
      out->http5xx += LOAD(m->requests[r][5]);
  }
  out->blocks = out->act[WD_ACT_BLOCK];
  wd_banlist_t *bl = atomic_load_explicit(&s->bans, memory_order_acquire);
  if (bl) {
    wd_banlist_stats_t st;
    wd_banlist_stats(bl, &st);
    out->bans = st.bans[1] + st.bans[2] + st.bans[3] + st.bans[4];
  }
  out->bans_added = LOAD(s->gm.bans_added);
  out->errors = LOAD(s->gm.ban_errors) + LOAD(s->gm.case_errors) +
                LOAD(s->gm.declog_write_errors) + LOAD(s->gm.replay_errors) +
                LOAD(s->gm.audit_dropped);
  out->ban_changes = LOAD(s->gm.ban_changes);
}

static void snap_policies(monitor_t *mo, int64_t t) {
  if (!mo->npol)
    return;
  size_t slot = (mo->polsnap_head + mo->polsnap_n) % POL_SNAPS;
  if (mo->polsnap_n == POL_SNAPS) {
    slot = mo->polsnap_head;
    mo->polsnap_head = (mo->polsnap_head + 1) % POL_SNAPS;
  } else {
    mo->polsnap_n++;
  }
  uint64_t *row = mo->polsnap + slot * mo->npol * 2;
  memset(row, 0, mo->npol * 2 * sizeof *row);
  for (int i = 0; i < mo->s->nloops; i++)
    for (size_t k = 0; k < mo->npol * 2; k++)
      row[k] += LOAD(mo->loops[i].pol[k]);
  mo->polsnap_t[slot] = t;
}

static void *monitor_main(void *arg) {
  monitor_t *mo = arg;
  int64_t next_pol = 0;
  for (;;) {
    monitor_sample_t smp;
    take_sample(mo->s, &smp);
    pthread_mutex_lock(&mo->mu);
    if (mo->n == MONITOR_HISTORY) {
      mo->ring[mo->head] = smp;
      mo->head = (mo->head + 1) % MONITOR_HISTORY;
    } else {
      mo->ring[(mo->head + mo->n) % MONITOR_HISTORY] = smp;
      mo->n++;
    }
    if (smp.t >= next_pol) {
      snap_policies(mo, smp.t);
      next_pol = smp.t + POL_EVERY_S;
    }
    pthread_mutex_unlock(&mo->mu);
    if (mo->alerts)
      alerts_check(mo->alerts, mo);
    pthread_mutex_lock(&mo->mu);
    if (!mo->stop) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait(&mo->cv, &mo->mu, &ts);
    }
    int stop = mo->stop;
    pthread_mutex_unlock(&mo->mu);
    if (stop)
      break;
  }
  return NULL;
}

size_t monitor_samples(monitor_t *mo, size_t max, monitor_sample_t *out) {
  pthread_mutex_lock(&mo->mu);
  size_t k = mo->n < max ? mo->n : max;
  for (size_t i = 0; i < k; i++)
    out[i] = mo->ring[(mo->head + mo->n - k + i) % MONITOR_HISTORY];
  pthread_mutex_unlock(&mo->mu);
  return k;
}

struct alerts *monitor_alerts(monitor_t *mo) { return mo ? mo->alerts : NULL; }

int monitor_start(srv_t *s, char *err, size_t errlen) {
  monitor_t *mo = calloc(1, sizeof *mo);
  if (!mo)
    goto oom;
  mo->s = s;
  mo->npol = s->conf->npolicies;
  mo->loops = calloc((size_t)s->nloops, sizeof *mo->loops);
  mo->polsnap = calloc(POL_SNAPS * (mo->npol ? mo->npol : 1) * 2, sizeof *mo->polsnap);
  if (!mo->loops || !mo->polsnap)
    goto oom;
  for (int i = 0; i < s->nloops; i++) {
    mon_loop_t *m = &mo->loops[i];
    pthread_mutex_init(&m->mu, NULL);
    m->npol = mo->npol;
    m->pol = calloc(mo->npol * 2 + 1, sizeof *m->pol);
    if (!m->pol)
      goto oom;
  }
  pthread_mutex_init(&mo->mu, NULL);
  pthread_cond_init(&mo->cv, NULL);
  s->monitor = mo;
  for (int i = 0; i < s->nloops; i++)
    s->loops[i].mon = &mo->loops[i];
  if (alerts_create(s, &mo->alerts, err, errlen))
    return -1;
  if (pthread_create(&mo->tid, NULL, monitor_main, mo)) {
    snprintf(err, errlen, "cannot start the monitor thread");
    return -1;
  }
  mo->started = 1;
  return 0;
oom:
  if (mo) {
    for (int i = 0; mo->loops && i < s->nloops; i++)
      free(mo->loops[i].pol);
    free(mo->loops);
    free(mo->polsnap);
    free(mo);
  }
  snprintf(err, errlen, "out of memory");
  return -1;
}

void monitor_stop(srv_t *s) {
  monitor_t *mo = s->monitor;
  if (!mo)
    return;
  if (mo->started) {
    pthread_mutex_lock(&mo->mu);
    mo->stop = 1;
    pthread_cond_signal(&mo->cv);
    pthread_mutex_unlock(&mo->mu);
    pthread_join(mo->tid, NULL);
  }
  alerts_destroy(mo->alerts);
  for (int i = 0; i < s->nloops; i++) {
    s->loops[i].mon = NULL;
    pthread_mutex_destroy(&mo->loops[i].mu);
    free(mo->loops[i].pol);
  }
  free(mo->loops);
  free(mo->polsnap);
  pthread_mutex_destroy(&mo->mu);
  pthread_cond_destroy(&mo->cv);
  free(mo);
  s->monitor = NULL;
}

/* ---------------------------------------------------------------- /v1/stats */

/* Per-policy decisions and flagged ones over the snapshots' span (about 5 minutes). */
static void policy_recent(monitor_t *mo, size_t i, uint64_t *decisions, uint64_t *flagged,
                          int64_t *span) {
  *decisions = *flagged = 0;
  *span = 0;
  pthread_mutex_lock(&mo->mu);
  if (mo->polsnap_n >= 1 && i < mo->npol) {
    size_t oldest = mo->polsnap_head;
    const uint64_t *row = mo->polsnap + oldest * mo->npol * 2;
    uint64_t d = 0, f = 0;
    for (int k = 0; k < mo->s->nloops; k++) {
      d += LOAD(mo->loops[k].pol[i * 2]);
      f += LOAD(mo->loops[k].pol[i * 2 + 1]);
    }
    *decisions = d - row[i * 2];
    *flagged = f - row[i * 2 + 1];
    *span = now_s() - mo->polsnap_t[oldest];
  }
  pthread_mutex_unlock(&mo->mu);
}

static int top_cmp(const void *a, const void *b) {
  const top_entry_t *x = a, *y = b;
  if (x->networks != y->networks)
    return x->networks < y->networks ? 1 : -1;
  if (x->score != y->score)
    return x->score < y->score ? 1 : -1;
  return x->last < y->last ? 1 : x->last > y->last ? -1 : 0;
}

static void top_json(jw_t *w, monitor_t *mo) {
  size_t cap = (size_t)mo->s->nloops * MONITOR_TOP, n = 0;
  top_entry_t *all = malloc(cap * sizeof *all);
  int64_t now = now_s();
  for (int i = 0; all && i < mo->s->nloops; i++) {
    mon_loop_t *m = &mo->loops[i];
    pthread_mutex_lock(&m->mu);
    for (size_t k = 0; k < m->ntop; k++) {
      if (m->top[k].last + TOP_STALE_S < now)
        continue;
      size_t j = 0;
      while (j < n && strcmp(all[j].token_id, m->top[k].token_id))
        j++;
      if (j == n)
        all[n++] = m->top[k];
      else if (m->top[k].last > all[j].last)
        all[j] = m->top[k];
    }
    pthread_mutex_unlock(&m->mu);
  }
  if (all)
    qsort(all, n, sizeof *all, top_cmp);
  jw_key(w, "top_tokens");
  jw_arr(w);
  for (size_t i = 0; i < n && i < TOP_SHOWN; i++) {
    jw_obj(w);
    jw_kstr(w, "token_id", all[i].token_id);
    jw_kstr(w, "subject", all[i].subject[0] ? all[i].subject : NULL);
    jw_kstr(w, "policy", all[i].policy);
    jw_kint(w, "networks", all[i].networks);
    jw_kint(w, "asns", all[i].asns);
    jw_kint(w, "countries", all[i].countries);
    jw_kint(w, "score", all[i].score);
    jw_kstr(w, "verdict", wd_verdict_level_name(all[i].level));
    jw_kint(w, "last_seen", all[i].last);
    jw_obj_end(w);
  }
  jw_arr_end(w);
  free(all);
}

static double rate(uint64_t a, uint64_t b, int64_t dt) {
  return dt > 0 && b >= a ? (double)(b - a) / (double)dt : 0;
}

/* One series: per-second rates of a cumulative field between consecutive samples. */
#define SERIES(name, expr)                                                                        \
  do {                                                                                            \
    jw_key(w, name);                                                                              \
    jw_arr(w);                                                                                    \
    for (size_t i = 1; i < n; i++) {                                                              \
      const monitor_sample_t *p = &v[i - 1], *c = &v[i];                                          \
      (void)p;                                                                                    \
      (void)c;                                                                                    \
      jw_double(w, (double)(long long)((expr) * 1000 + 0.5) / 1000);                              \
    }                                                                                             \
    jw_arr_end(w);                                                                                \
  } while (0)

static double share(uint64_t part0, uint64_t part1, uint64_t all0, uint64_t all1) {
  return all1 > all0 && part1 >= part0 ? (double)(part1 - part0) / (double)(all1 - all0) : 0;
}

static void series_json(jw_t *w, const monitor_sample_t *v, size_t n) {
  jw_key(w, "series");
  jw_obj(w);
  jw_key(w, "t");
  jw_arr(w);
  for (size_t i = 1; i < n; i++)
    jw_int(w, v[i].t);
  jw_arr_end(w);
  jw_key(w, "decisions");
  jw_obj(w);
  for (int a = 0; a < WD_ACT_COUNT; a++)
    SERIES(wd_action_name((wd_action_t)a), rate(p->act[a], c->act[a], c->t - p->t));
  jw_obj_end(w);
  SERIES("total", rate(p->decisions, c->decisions, c->t - p->t));
  SERIES("suspect_share", share(p->verdicts[1], c->verdicts[1], p->decisions, c->decisions));
  SERIES("shared_share", share(p->verdicts[2], c->verdicts[2], p->decisions, c->decisions));
  SERIES("failures", rate(p->failures, c->failures, c->t - p->t));
  SERIES("blocks", rate(p->blocks, c->blocks, c->t - p->t));
  SERIES("would_enforce", rate(p->decisions - p->enforced[WD_ACT_ALLOW] - p->enforced[WD_ACT_RENEW],
                               c->decisions - c->enforced[WD_ACT_ALLOW] - c->enforced[WD_ACT_RENEW],
                               c->t - p->t));
  SERIES("bans", (double)c->bans);
  jw_obj_end(w);
}

/* recent_errors: errors within the stats window; the node is "degraded" while there are. */
static void health_json(jw_t *w, srv_t *s, uint64_t recent_errors) {
  uint64_t conns = 0;
  for (int i = 0; i < s->nloops; i++)
    conns += LOAD(s->loops[i].metrics.open_conns);
  uint64_t rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    unsigned long long size, res;
    if (fscanf(f, "%llu %llu", &size, &res) == 2)
      rss = res * (uint64_t)sysconf(_SC_PAGESIZE);
    fclose(f);
  }
  uint64_t declog_dropped = 0;
  for (int i = 0; i < s->nloops; i++)
    if (s->loops[i].declog)
      declog_dropped += declog_ring_dropped(s->loops[i].declog);
  uint64_t tracked = 0;
  for (size_t i = 0; i < s->ntrackers; i++) {
    wd_tracker_stats_t ts;
    wd_tracker_stats(s->trackers[i], &ts);
    tracked += ts.tokens;
  }
  int ready = atomic_load_explicit(&s->ready, memory_order_acquire);
  char host[64] = "";
  if (gethostname(host, sizeof host - 1))
    host[0] = '\0';
  jw_key(w, "nodes");
  jw_arr(w);
  jw_obj(w);
  jw_kstr(w, "name", host[0] ? host : "this node");
  jw_kstr(w, "status", !ready ? "starting" : recent_errors ? "degraded" : "ok");
  jw_kint(w, "recent_errors", (long long)recent_errors);
  jw_kbool(w, "ready", ready);
  jw_kstr(w, "version", WARDEN_VERSION);
  jw_kint(w, "uptime_s", (long long)((double)time(NULL) - s->start_time));
  jw_kint(w, "threads", s->nloops);
  jw_kint(w, "connections", (long long)conns);
  jw_kint(w, "rss_bytes", (long long)rss);
  jw_kint(w, "writer_queue", s->writer ? (long long)writer_depth(s->writer) : 0);
  jw_kint(w, "tracked_tokens", (long long)tracked);
  jw_kint(w, "sessions", (long long)wd_sessions_count(s->sessions));
  jw_kbool(w, "geo", s->geo != NULL);
  jw_key(w, "errors"); /* since start */
  jw_obj(w);
  jw_kint(w, "ban_commits", (long long)LOAD(s->gm.ban_errors));
  jw_kint(w, "case_flushes", (long long)LOAD(s->gm.case_errors));
  jw_kint(w, "decision_log", (long long)LOAD(s->gm.declog_write_errors));
  jw_kint(w, "decision_log_dropped", (long long)declog_dropped);
  jw_kint(w, "replay", (long long)LOAD(s->gm.replay_errors));
  jw_kint(w, "audit_dropped", (long long)LOAD(s->gm.audit_dropped));
  jw_obj_end(w);
  jw_obj_end(w);
  jw_arr_end(w);
}

void api_stats(loop_t *l, h2o_req_t *req) {
  if (!console_auth(req, ROUTE_STATS, WD_ROLE_VIEWER, NULL))
    return;
  srv_t *s = l->srv;
  monitor_t *mo = s->monitor;
  char *ws = NULL;
  long window = 300;
  if (req_query_param(req, "window", 8, &ws) < 0) {
    http_send_error(req, ROUTE_STATS, 400, "bad_request", "'window' is 10 to %d seconds",
                    MONITOR_HISTORY);
    return;
  }
  if (ws) {
    char *end;
    window = strtol(ws, &end, 10);
    if (*end || window < 10 || window > MONITOR_HISTORY) {
      http_send_error(req, ROUTE_STATS, 400, "bad_request", "'window' is 10 to %d seconds",
                      MONITOR_HISTORY);
      return;
    }
  }
  if (!mo) {
    http_send_error(req, ROUTE_STATS, 503, "loading", "the monitor is not running");
    return;
  }
  monitor_sample_t *v = malloc(((size_t)window + 1) * sizeof *v);
  if (!v) {
    http_send_error(req, ROUTE_STATS, 503, "busy", "out of memory");
    return;
  }
  size_t n = monitor_samples(mo, (size_t)window + 1, v);
  jw_t w;
  jw_init(&w, NULL, 0, 16u << 20);
  jw_obj(&w);
  jw_kint(&w, "now", now_s());
  jw_kint(&w, "window_s", window);
  series_json(&w, v, n);

  /* totals since start, and the last minute's rates */
  const monitor_sample_t *last = n ? &v[n - 1] : NULL;
  uint64_t recent_errors = n ? v[n - 1].errors - v[0].errors : 0;
  const monitor_sample_t *ago = n ? &v[n > 61 ? n - 61 : 0] : NULL;
  int64_t dt = last ? last->t - ago->t : 0;
  jw_key(&w, "totals");
  jw_obj(&w);
  jw_kint(&w, "decisions", last ? (long long)last->decisions : 0);
  jw_key(&w, "by_action");
  jw_obj(&w);
  for (int a = 0; a < WD_ACT_COUNT; a++)
    jw_kint(&w, wd_action_name((wd_action_t)a), last ? (long long)last->act[a] : 0);
  jw_obj_end(&w);
  jw_kint(&w, "suspect", last ? (long long)last->verdicts[1] : 0);
  jw_kint(&w, "shared", last ? (long long)last->verdicts[2] : 0);
  jw_kint(&w, "auto_bans", last ? (long long)last->auto_bans : 0);
  jw_obj_end(&w);
  jw_key(&w, "last_minute");
  jw_obj(&w);
  jw_kint(&w, "span_s", dt);
  jw_key(&w, "decisions_per_s");
  jw_double(&w, last ? rate(ago->decisions, last->decisions, dt) : 0);
  jw_key(&w, "suspect_share");
  jw_double(&w, last ? share(ago->verdicts[1], last->verdicts[1], ago->decisions, last->decisions)
                     : 0);
  jw_key(&w, "shared_share");
  jw_double(&w, last ? share(ago->verdicts[2], last->verdicts[2], ago->decisions, last->decisions)
                     : 0);
  jw_key(&w, "blocks_per_s");
  jw_double(&w, last ? rate(ago->blocks, last->blocks, dt) : 0);
  jw_key(&w, "failures_per_s");
  jw_double(&w, last ? rate(ago->failures, last->failures, dt) : 0);
  jw_obj_end(&w);
  free(v);

  /* the lists and cases now */
  static const char *const btypes[5] = {"", "token", "subject", "ip", "cidr"};
  for (int k = 0; k < 2; k++) {
    wd_banlist_t *bl = atomic_load_explicit(k ? &s->allow : &s->bans, memory_order_acquire);
    wd_banlist_stats_t st = {0};
    if (bl)
      wd_banlist_stats(bl, &st);
    jw_key(&w, k ? "allow" : "bans");
    jw_obj(&w);
    jw_kint(&w, "total", (long long)(st.bans[1] + st.bans[2] + st.bans[3] + st.bans[4]));
    for (int b = 1; b < 5; b++)
      jw_kint(&w, btypes[b], (long long)st.bans[b]);
    jw_obj_end(&w);
  }
  wd_cases_t *cs = atomic_load_explicit(&s->cases, memory_order_acquire);
  wd_cases_stats_t cst = {0};
  if (cs)
    wd_cases_stats(cs, &cst);
  jw_key(&w, "cases");
  jw_obj(&w);
  for (int c = 0; c < WD_CASE_STATUS_COUNT; c++)
    jw_kint(&w, wd_case_status_name((wd_case_status_t)c), (long long)cst.by_status[c]);
  jw_obj_end(&w);

  wd_decider_t *dec = srv_decider(s);
  jw_key(&w, "policies");
  jw_arr(&w);
  for (size_t i = 0; dec && i < wd_decider_npolicies(dec); i++) {
    const wd_policy_t *p = wd_decider_policy_at(dec, i);
    uint64_t d, f;
    int64_t span;
    policy_recent(mo, i, &d, &f, &span);
    jw_obj(&w);
    jw_kstr(&w, "name", p->name);
    jw_kstr(&w, "mode", wd_mode_name(wd_policy_mode(p)));
    jw_kint(&w, "recent_s", span);
    jw_kint(&w, "recent_decisions", (long long)d);
    jw_kint(&w, "recent_would_enforce", (long long)f);
    jw_obj_end(&w);
  }
  jw_arr_end(&w);
  top_json(&w, mo);
  health_json(&w, s, recent_errors);
  if (mo->alerts)
    alerts_json(mo->alerts, &w);
  jw_obj_end(&w);
  http_header(req, "Cache-Control", "no-store");
  http_send_jw(req, ROUTE_STATS, 200, &w);
}

/* ---------------------------------------------------------------- what if */

typedef struct whatif_ctx {
  const char *policy;
  int64_t since;
  uint64_t open, escalated, recent;
} whatif_ctx_t;

static int whatif_one(const wd_case_t *c, void *arg) {
  whatif_ctx_t *x = arg;
  if (strcmp(c->policy, x->policy))
    return 0;
  if (c->status == WD_CASE_OPEN)
    x->open++;
  else
    x->escalated++;
  if (c->last_seen >= x->since)
    x->recent++;
  return 0;
}

static void thousands(char *buf, size_t cap, unsigned long long v) {
  char raw[24];
  int n = snprintf(raw, sizeof raw, "%llu", v), k = 0;
  size_t o = 0;
  for (int i = 0; i < n && o + 2 < cap; i++) {
    buf[o++] = raw[i];
    k = n - i - 1;
    if (k && k % 3 == 0)
      buf[o++] = ',';
  }
  buf[o] = '\0';
}

void monitor_whatif(loop_t *l, h2o_req_t *req, const wd_policy_t *p, wd_mode_t mode) {
  srv_t *s = l->srv;
  wd_cases_t *cs = atomic_load_explicit(&s->cases, memory_order_acquire);
  whatif_ctx_t x = {.policy = p->name, .since = now_s() - WHATIF_RECENT_S};
  uint64_t before = 0, next = 0;
  size_t scanned = 0;
  do {
    if (!cs || wd_cases_list(cs, (1u << WD_CASE_OPEN) | (1u << WD_CASE_ESCALATED), before, 1000,
                             whatif_one, &x, &next))
      break;
    before = next;
    scanned += 1000;
  } while (next && scanned < WHATIF_SCAN_MAX);
  uint64_t d = 0, f = 0;
  int64_t span = 0;
  wd_decider_t *dec = srv_decider(s);
  for (size_t i = 0; s->monitor && dec && i < wd_decider_npolicies(dec); i++)
    if (wd_decider_policy_at(dec, i) == p)
      policy_recent(s->monitor, i, &d, &f, &span);
  wd_mode_t cur = wd_policy_mode(p);
  uint64_t cases = x.open + x.escalated;
  uint64_t would = mode == WD_MODE_AUTOMATE ? cases : 0;
  char c1[32], c2[32], c3[32], msg[512];
  thousands(c1, sizeof c1, (unsigned long long)cases);
  thousands(c2, sizeof c2, (unsigned long long)f);
  thousands(c3, sizeof c3, (unsigned long long)d);
  int minutes = span >= 60 ? (int)((span + 30) / 60) : 0;
  char recent[200];
  if (minutes)
    snprintf(recent, sizeof recent, "%s of the %s decisions of the last %d minute%s", c2, c3,
             minutes, minutes == 1 ? "" : "s");
  else
    snprintf(recent, sizeof recent, "%s of the %s decisions since the server started", c2, c3);
  if (mode == cur)
    snprintf(msg, sizeof msg, "Policy %s is already in %s mode.", p->name, wd_mode_name(mode));
  else if (mode == WD_MODE_AUTOMATE)
    snprintf(msg, sizeof msg,
             "Switching %s to automate enforces its actions from the next request: %s current "
             "case%s (%llu open, %llu escalated) would be enforced, and %s would have been.",
             p->name, c1, cases == 1 ? "" : "s", (unsigned long long)x.open,
             (unsigned long long)x.escalated, recent);
  else if (mode == WD_MODE_MODERATE)
    snprintf(msg, sizeof msg,
             "Switching %s to moderate allows every request and opens review cases instead of "
             "enforcing: nothing is enforced; %s were flagged.", p->name, recent);
  else
    snprintf(msg, sizeof msg,
             "Switching %s to monitor allows every request and only logs: nothing is enforced "
             "and no cases open; %s were flagged.", p->name, recent);
  jw_t w;
  char buf[2048];
  jw_init(&w, buf, sizeof buf, 1u << 20);
  jw_obj(&w);
  jw_kstr(&w, "policy", p->name);
  jw_kstr(&w, "current", wd_mode_name(cur));
  jw_kstr(&w, "mode", wd_mode_name(mode));
  jw_key(&w, "cases");
  jw_obj(&w);
  jw_kint(&w, "open", (long long)x.open);
  jw_kint(&w, "escalated", (long long)x.escalated);
  jw_kint(&w, "seen_last_hour", (long long)x.recent);
  jw_kint(&w, "would_enforce", (long long)would);
  jw_obj_end(&w);
  jw_key(&w, "recent");
  jw_obj(&w);
  jw_kint(&w, "span_s", span);
  jw_kint(&w, "decisions", (long long)d);
  jw_kint(&w, "would_enforce", (long long)f);
  jw_obj_end(&w);
  jw_kstr(&w, "summary", msg);
  jw_obj_end(&w);
  http_header(req, "Cache-Control", "no-store");
  http_send_jw(req, ROUTE_POLICIES, 200, &w);
}
