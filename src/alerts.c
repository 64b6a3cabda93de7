/*
 * Alerts: threshold checks on the monitor's samples and webhook delivery (see alerts.h).
 *
 * One mutex guards the alert states, the recent events and the delivery queue; the monitor
 * thread takes it once a second, the delivery thread around each attempt, /v1/stats and
 * /metrics to read. The HTTP requests themselves run outside it.
 */
#include "alerts.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/codec.h"

enum { AL_SHARED = 0, AL_SUSPECT, AL_FAILURES, AL_BLOCKS, AL_BAN_STORM, AL_COUNT };
static const char *const alert_names[AL_COUNT] = {"shared_share", "suspect_share", "failures",
                                                  "blocks", "ban_storm"};
#define RECENT 20
#define BACKOFF_MAX_S 300.0

typedef struct alert_state {
  int active;
  int64_t since;            /* when it fired (active) */
  int64_t last_fired;       /* 0 never */
  double value, threshold;
  char title[128];
  char message[320];
  uint64_t fired;
} alert_state_t;

typedef struct event {
  int kind;
  int resolved;
  int64_t time;
  char title[128];
} event_t;

typedef struct delivery {
  struct delivery *next;
  int hook;                 /* index in conf alerts.webhooks */
  char *body;
  char event[24];
  uint64_t id;
  int attempt;              /* attempts made */
  double due;               /* monotonic seconds */
} delivery_t;

struct alerts {
  srv_t *s;
  const conf_alerts_t *c;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  alert_state_t st[AL_COUNT];
  event_t recent[RECENT];
  size_t nrecent, recent_head;
  delivery_t *head;
  size_t queued;
  uint64_t next_id;
  pthread_t tid;
  int started, stop, curl_ready;
  uint64_t delivered, retried, failed, dropped;
  char node[64];
  monitor_sample_t *buf;    /* the monitor thread's scratch: window + baseline samples */
  size_t bufcap;
};

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- thresholds */

static void thousands(char *out, size_t cap, double v) {
  char raw[32];
  snprintf(raw, sizeof raw, "%.0f", v);
  size_t n = strlen(raw), o = 0;
  for (size_t i = 0; i < n && o + 2 < cap; i++) {
    out[o++] = raw[i];
    size_t left = n - i - 1;
    if (left && left % 3 == 0 && raw[i] != '-')
      out[o++] = ',';
  }
  out[o] = '\0';
}

/* The newest sample at least `back` seconds older than v[end]; v[0] when none is. */
static size_t at_or_before(const monitor_sample_t *v, size_t end, int64_t t) {
  size_t i = end;
  while (i > 0 && v[i].t > t)
    i--;
  return i;
}

/* The JSON of one event, for the webhooks. */
static char *event_body(alerts_t *a, int kind, int resolved, const alert_state_t *st,
                        int64_t now, int slack) {
  json_t *o = json_object();
  if (slack) {
    char text[600];
    snprintf(text, sizeof text, "%s Warden (%s): %s. %s", resolved ? "[RESOLVED]" : "[FIRING]",
             a->node, st->title, st->message);
    json_object_set_new(o, "text", json_string(text));
  } else {
    json_object_set_new(o, "source", json_string("warden"));
    json_object_set_new(o, "node", json_string(a->node));
    json_object_set_new(o, "alert", json_string(alert_names[kind]));
    json_object_set_new(o, "status", json_string(resolved ? "resolved" : "firing"));
    json_object_set_new(o, "title", json_string(st->title));
    json_object_set_new(o, "message", json_string(st->message));
    json_object_set_new(o, "value", json_real(st->value));
    json_object_set_new(o, "threshold", json_real(st->threshold));
    json_object_set_new(o, "window_s", json_integer(a->c->window));
    json_object_set_new(o, "started", json_integer(st->since));
    json_object_set_new(o, "time", json_integer(now));
    json_object_set_new(o, "console", json_string("/ui/#/overview"));
  }
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return text;
}

/* Queue an event for every webhook (lock held). */
static void enqueue(alerts_t *a, int kind, int resolved, int64_t now) {
  event_t *e = &a->recent[(a->recent_head + a->nrecent) % RECENT];
  if (a->nrecent == RECENT)
    a->recent_head = (a->recent_head + 1) % RECENT;
  else
    a->nrecent++;
  e->kind = kind;
  e->resolved = resolved;
  e->time = now;
  memcpy(e->title, a->st[kind].title, sizeof e->title);
  fprintf(stderr, "warden: alert %s %s: %s\n", alert_names[kind], resolved ? "resolved" : "firing",
          a->st[kind].message);
  for (size_t h = 0; h < a->c->nwebhooks && a->started; h++) {
    if (a->queued >= (size_t)a->c->queue) {
      a->dropped++;
      continue;
    }
    delivery_t *d = calloc(1, sizeof *d);
    char *body = d ? event_body(a, kind, resolved, &a->st[kind], now, a->c->webhooks[h].slack)
                   : NULL;
    if (!d || !body) {
      free(d);
      free(body);
      a->dropped++;
      continue;
    }
    d->hook = (int)h;
    d->body = body;
    d->id = ++a->next_id;
    snprintf(d->event, sizeof d->event, "%s", alert_names[kind]);
    d->due = mono();
    d->next = a->head;
    a->head = d;
    a->queued++;
  }
  pthread_cond_signal(&a->cv);
}

/* Fire or resolve one alert (lock held). */
static void judge(alerts_t *a, int kind, int holds, int64_t now) {
  alert_state_t *st = &a->st[kind];
  if (holds && !st->active) {
    if (st->last_fired && now - st->last_fired < a->c->cooldown)
      return;
    st->active = 1;
    st->since = now;
    st->last_fired = now;
    st->fired++;
    enqueue(a, kind, 0, now);
  } else if (!holds && st->active) {
    st->active = 0;
    enqueue(a, kind, 1, now);
  }
}

void alerts_check(alerts_t *a, monitor_t *mo) {
  if (!a)
    return;
  const conf_alerts_t *c = a->c;
  size_t n = monitor_samples(mo, a->bufcap, a->buf);
  if (n < 2)
    return;
  const monitor_sample_t *v = a->buf;
  size_t end = n - 1;
  const monitor_sample_t *cur = &v[end];
  int young = cur->t - v[0].t < 5; /* too little history to judge rates and shares */
  size_t i0 = at_or_before(v, end, cur->t - c->window);
  const monitor_sample_t *w0 = &v[i0];
  size_t ib = at_or_before(v, i0, w0->t - c->baseline);
  const monitor_sample_t *b0 = &v[ib];
  double dt = (double)(cur->t - w0->t), bt = (double)(w0->t - b0->t);
  if (dt <= 0)
    return;
  int64_t now = cur->t;
  uint64_t dec = cur->decisions - w0->decisions;
  char d1[32], d2[32];
  thousands(d1, sizeof d1, (double)dec);

  pthread_mutex_lock(&a->mu);
  /* the share of decisions on shared and on suspect tokens */
  for (int k = 0; k < 2; k++) {
    int kind = k ? AL_SUSPECT : AL_SHARED;
    double thr = k ? c->suspect_share : c->shared_share;
    alert_state_t *st = &a->st[kind];
    double share = dec ? (double)(cur->verdicts[k ? 1 : 2] - w0->verdicts[k ? 1 : 2]) / (double)dec
                       : 0;
    int holds = !young && thr > 0 && dec >= c->min_decisions && share >= thr;
    if (holds || !st->active) {
      st->value = share;
      st->threshold = thr;
      snprintf(st->title, sizeof st->title, "%s-token traffic at %.1f%%", k ? "Suspect" : "Shared",
               share * 100);
      snprintf(st->message, sizeof st->message,
               "%.1f%% of the %s decisions of the last %.0f s were on tokens found %s "
               "(threshold %.1f%%)",
               share * 100, d1, dt, k ? "suspect" : "shared", thr * 100);
    }
    judge(a, kind, holds, now);
  }
  /* spikes: token failures and blocks a second against the baseline */
  for (int k = 0; k < 2; k++) {
    int kind = k ? AL_BLOCKS : AL_FAILURES;
    double spike = k ? c->blocks_spike : c->failures_spike;
    double floor_ = k ? c->blocks_min : c->failures_min;
    uint64_t x1 = k ? cur->blocks : cur->failures, x0 = k ? w0->blocks : w0->failures;
    uint64_t xb = k ? b0->blocks : b0->failures;
    double rate = (double)(x1 - x0) / dt;
    double base = bt >= 10 ? (double)(x0 - xb) / bt : 0;
    double thr = fmax(floor_, spike * base);
    int holds = !young && spike > 0 && rate >= floor_ && rate >= spike * base && rate > 0;
    alert_state_t *st = &a->st[kind];
    if (holds || !st->active) {
      st->value = rate;
      st->threshold = thr;
      snprintf(st->title, sizeof st->title, "%s spiking at %.1f/s",
               k ? "Blocked requests" : "Token failures", rate);
      snprintf(st->message, sizeof st->message,
               "%.1f %s a second over the last %.0f s, against %.1f/s before "
               "(threshold %.1fx and %.1f/s)",
               rate, k ? "requests answered block" : "token failures (no token, invalid, expired)",
               dt, base, spike, floor_);
    }
    judge(a, kind, holds, now);
  }
  /* ban storm: bans added within the window */
  {
    alert_state_t *st = &a->st[AL_BAN_STORM];
    double grown = (double)(cur->bans_added - w0->bans_added);
    double by_detector = (double)(cur->auto_bans - w0->auto_bans);
    int holds = c->ban_storm && grown >= (double)c->ban_storm;
    if (holds || !st->active) {
      thousands(d2, sizeof d2, grown);
      st->value = grown;
      st->threshold = (double)c->ban_storm;
      snprintf(st->title, sizeof st->title, "Ban storm: %s new bans in %.0f s", d2, dt);
      snprintf(st->message, sizeof st->message,
               "%s bans were added in the last %.0f s, %.0f of them by the detector "
               "(threshold %llu)",
               d2, dt, by_detector, (unsigned long long)c->ban_storm);
    }
    judge(a, AL_BAN_STORM, holds, now);
  }
  pthread_mutex_unlock(&a->mu);
}

/* ---------------------------------------------------------------- delivery */

static size_t discard(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  (void)arg;
  return size * n; /* the receiver's answer body is not kept */
}

/* One attempt: 0 on a 2xx answer. */
static int post(alerts_t *a, CURL *curl, const delivery_t *d) {
  const conf_webhook_t *wh = &a->c->webhooks[d->hook];
  struct curl_slist *hdr = NULL;
  char line[160];
  hdr = curl_slist_append(hdr, "Content-Type: application/json");
  snprintf(line, sizeof line, "X-Warden-Event: %s", d->event);
  hdr = curl_slist_append(hdr, line);
  snprintf(line, sizeof line, "X-Warden-Delivery: %llu", (unsigned long long)d->id);
  hdr = curl_slist_append(hdr, line);
  snprintf(line, sizeof line, "X-Warden-Attempt: %d", d->attempt + 1);
  hdr = curl_slist_append(hdr, line);
  if (wh->secret) {
    unsigned char mac[32];
    unsigned int ml = 0;
    char hex[65];
    if (HMAC(EVP_sha256(), wh->secret, (int)strlen(wh->secret), (const unsigned char *)d->body,
             strlen(d->body), mac, &ml) && ml == 32) {
      wd_hex_encode(mac, 32, hex);
      snprintf(line, sizeof line, "X-Warden-Signature: sha256=%s", hex);
      hdr = curl_slist_append(hdr, line);
    }
  }
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, wh->url);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, d->body);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "warden/" WARDEN_VERSION);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)a->c->timeout);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)a->c->timeout);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  if (rc == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hdr);
  if (rc != CURLE_OK || status < 200 || status > 299) {
    fprintf(stderr, "warden: webhook %s (%s, attempt %d): %s\n", wh->url, d->event, d->attempt + 1,
            rc != CURLE_OK ? curl_easy_strerror(rc) : "the receiver did not answer 2xx");
    return -1;
  }
  return 0;
}

/* Take the queued delivery due first when it is due by `by` (lock held). */
static delivery_t *take_due(alerts_t *a, double by, double *earliest) {
  delivery_t **best = NULL;
  *earliest = 0;
  for (delivery_t **p = &a->head; *p; p = &(*p)->next) {
    if (!best || (*p)->due < (*best)->due)
      best = p;
  }
  if (!best)
    return NULL;
  if ((*best)->due > by) {
    *earliest = (*best)->due;
    return NULL;
  }
  delivery_t *d = *best;
  *best = d->next;
  a->queued--;
  return d;
}

static void delivery_free(delivery_t *d) {
  free(d->body);
  free(d);
}

static void *deliver_main(void *arg) {
  alerts_t *a = arg;
  CURL *curl = curl_easy_init();
  double stop_by = 0;
  for (;;) {
    pthread_mutex_lock(&a->mu);
    double earliest = 0;
    delivery_t *d = NULL;
    for (;;) {
      double now = mono();
      if (a->stop && !stop_by)
        stop_by = now + 1; /* on the way out: what is due within a second, once */
      d = take_due(a, stop_by ? stop_by : now, &earliest);
      if (d || a->stop)
        break;
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      double wait = earliest ? earliest - now : 3600;
      if (wait < 0.001)
        wait = 0.001;
      ts.tv_sec += (time_t)wait;
      ts.tv_nsec += (long)((wait - floor(wait)) * 1e9);
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&a->cv, &a->mu, &ts);
    }
    pthread_mutex_unlock(&a->mu);
    if (!d)
      break;
    int ok = curl && post(a, curl, d) == 0;
    pthread_mutex_lock(&a->mu);
    d->attempt++;
    if (ok) {
      a->delivered++;
      delivery_free(d);
    } else if (d->attempt >= a->c->retries || stop_by) {
      a->failed++;
      delivery_free(d);
    } else {
      unsigned r = 0;
      RAND_bytes((unsigned char *)&r, sizeof r);
      double back = fmin(BACKOFF_MAX_S, ldexp(1.0, d->attempt - 1));
      d->due = mono() + back * (0.8 + 0.4 * (r % 1000) / 1000.0);
      d->next = a->head;
      a->head = d;
      a->queued++;
      a->retried++;
    }
    pthread_mutex_unlock(&a->mu);
  }
  if (curl)
    curl_easy_cleanup(curl);
  return NULL;
}

/* ---------------------------------------------------------------- life cycle */

int alerts_create(srv_t *s, alerts_t **out, char *err, size_t errlen) {
  alerts_t *a = calloc(1, sizeof *a);
  if (!a) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  a->s = s;
  a->c = &s->conf->alerts;
  a->bufcap = (size_t)a->c->window + (size_t)a->c->baseline + 2;
  if (a->bufcap > MONITOR_HISTORY)
    a->bufcap = MONITOR_HISTORY;
  a->buf = calloc(a->bufcap, sizeof *a->buf);
  if (!a->buf) {
    free(a);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (gethostname(a->node, sizeof a->node - 1))
    snprintf(a->node, sizeof a->node, "warden");
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->cv, NULL);
  *out = a;
  if (!a->c->nwebhooks)
    return 0;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(err, errlen, "cannot initialise libcurl for the alert webhooks");
    return -1;
  }
  a->curl_ready = 1;
  if (pthread_create(&a->tid, NULL, deliver_main, a)) {
    snprintf(err, errlen, "cannot start the alert delivery thread");
    return -1;
  }
  a->started = 1;
  return 0;
}

void alerts_destroy(alerts_t *a) {
  if (!a)
    return;
  if (a->started) {
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->tid, NULL);
  }
  while (a->head) {
    delivery_t *d = a->head;
    a->head = d->next;
    a->dropped++;
    delivery_free(d);
  }
  if (a->curl_ready)
    curl_global_cleanup();
  pthread_mutex_destroy(&a->mu);
  pthread_cond_destroy(&a->cv);
  free(a->buf);
  free(a);
}

/* ---------------------------------------------------------------- reading */

void alerts_json(alerts_t *a, jw_t *w) {
  pthread_mutex_lock(&a->mu);
  jw_key(w, "alerts");
  jw_obj(w);
  jw_key(w, "active");
  jw_arr(w);
  for (int k = 0; k < AL_COUNT; k++) {
    const alert_state_t *st = &a->st[k];
    if (!st->active)
      continue;
    jw_obj(w);
    jw_kstr(w, "kind", alert_names[k]);
    jw_kstr(w, "title", st->title);
    jw_kstr(w, "message", st->message);
    jw_kint(w, "since", st->since);
    jw_key(w, "value");
    jw_double(w, st->value);
    jw_key(w, "threshold");
    jw_double(w, st->threshold);
    jw_obj_end(w);
  }
  jw_arr_end(w);
  jw_key(w, "recent");
  jw_arr(w);
  for (size_t i = a->nrecent; i-- > 0;) {
    const event_t *e = &a->recent[(a->recent_head + i) % RECENT];
    jw_obj(w);
    jw_kstr(w, "kind", alert_names[e->kind]);
    jw_kstr(w, "status", e->resolved ? "resolved" : "firing");
    jw_kint(w, "time", e->time);
    jw_kstr(w, "title", e->title);
    jw_obj_end(w);
  }
  jw_arr_end(w);
  jw_kint(w, "webhooks", (long long)a->c->nwebhooks);
  jw_key(w, "deliveries");
  jw_obj(w);
  jw_kint(w, "delivered", (long long)a->delivered);
  jw_kint(w, "retried", (long long)a->retried);
  jw_kint(w, "failed", (long long)a->failed);
  jw_kint(w, "dropped", (long long)a->dropped);
  jw_kint(w, "queued", (long long)a->queued);
  jw_obj_end(w);
  jw_obj_end(w);
  pthread_mutex_unlock(&a->mu);
}

void alerts_metrics(alerts_t *a, jw_t *w) {
  pthread_mutex_lock(&a->mu);
  jw_printf(w, "# HELP warden_alert_active 1 while the alert's condition holds.\n"
               "# TYPE warden_alert_active gauge\n");
  for (int k = 0; k < AL_COUNT; k++)
    jw_printf(w, "warden_alert_active{alert=\"%s\"} %d\n", alert_names[k], a->st[k].active);
  jw_printf(w, "# HELP warden_alerts_fired_total Times each alert fired.\n"
               "# TYPE warden_alerts_fired_total counter\n");
  for (int k = 0; k < AL_COUNT; k++)
    jw_printf(w, "warden_alerts_fired_total{alert=\"%s\"} %llu\n", alert_names[k],
              (unsigned long long)a->st[k].fired);
  jw_printf(w, "# HELP warden_alert_deliveries_total Webhook deliveries by outcome (retried "
               "counts attempts that failed and were tried again).\n"
               "# TYPE warden_alert_deliveries_total counter\n");
  jw_printf(w, "warden_alert_deliveries_total{result=\"delivered\"} %llu\n",
            (unsigned long long)a->delivered);
  jw_printf(w, "warden_alert_deliveries_total{result=\"retried\"} %llu\n",
            (unsigned long long)a->retried);
  jw_printf(w, "warden_alert_deliveries_total{result=\"failed\"} %llu\n",
            (unsigned long long)a->failed);
  jw_printf(w, "warden_alert_deliveries_total{result=\"dropped\"} %llu\n",
            (unsigned long long)a->dropped);
  jw_printf(w, "# HELP warden_alert_queue Webhook deliveries waiting.\n"
               "# TYPE warden_alert_queue gauge\n");
  jw_printf(w, "warden_alert_queue %llu\n", (unsigned long long)a->queued);
  pthread_mutex_unlock(&a->mu);
}
