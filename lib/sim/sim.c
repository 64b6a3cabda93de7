/*
 * The traffic generator of a live event; see warden/sim.h and docs/sim.md.
 *
 * DESIGN
 * Everyone who fetches is an actor: a player with an address (or two), a user agent, a
 * rendition and the next segment it wants. Actors sit in a binary min-heap keyed by the time
 * of their next request (ties broken by creation order, so the stream is deterministic);
 * wd_sim_next pops the earliest, produces its request and pushes it back with its next time,
 * or frees it when it leaves. The audience arrives as a sorted sequence of join times drawn
 * lazily (order statistics of uniforms mapped through the arrival curve), and each arrival
 * creates one unit: a viewer, a household's tokens, or a shared token with its owner and the
 * others who will use it. So memory follows the actors watching at once, never the requests.
 *
 * A token (token_t) is shared by the actors using it; it is issued through the caller's
 * callback at its first request, accumulates its own ground truth (networks, viewers, when it
 * became misuse), is replaced by a renewal when a token lifetime is set, and is queued for
 * wd_sim_truth_next once no actor holds it.
 *
 * Pattern counts are exact: the audience is apportioned among the patterns up front and each
 * arrival draws its pattern in proportion to what is left, so small audiences still hold every
 * pattern and large ones hold the configured mix.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/internal.h"
#include "util/ip.h"
#include "warden/error.h"

#define NO_TIME INT64_MAX
#define SEG_BASE 100                /* segments published before the event starts */
#define RENEW_MARGIN_MS 60000       /* renew this long before exp (at most a quarter of the ttl) */
#define TOKEN_SLACK_S 600           /* ttl 0: tokens end this long after the event */
#define MAX_POOL4 4                 /* addresses an interleaving carrier spreads requests over */
#define FAR_KM 4000.0               /* impossible travel: countries at least this far apart */

enum { STEP_PLAYLIST = 0, STEP_SEGMENT };

/* ---------------------------------------------------------------- names */

static const char *const pattern_names[WD_SIM_PATTERN_COUNT] = {
    "single", "carrier_rotation", "dual_stack", "wifi_to_mobile", "household", "cgnat",
    "casting", "friends", "pirates", "impossible_travel", "restreamer"};

const char *wd_sim_pattern_name(wd_sim_pattern_t p) {
  return (unsigned)p < WD_SIM_PATTERN_COUNT ? pattern_names[p] : "?";
}

const char *wd_sim_label_name(wd_sim_label_t l) {
  switch (l) {
  case WD_SIM_LEGIT: return "legit";
  case WD_SIM_SHARED: return "shared";
  case WD_SIM_RESTREAM: return "restream";
  }
  return "?";
}

wd_sim_label_t wd_sim_pattern_label(wd_sim_pattern_t p) {
  if (p == WD_SIM_RESTREAMER)
    return WD_SIM_RESTREAM;
  return p >= WD_SIM_FRIENDS ? WD_SIM_SHARED : WD_SIM_LEGIT;
}

/* ---------------------------------------------------------------- user agents */

static const char *const ua_desktop[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"};
static const char *const ua_phone[] = {
    "AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X; en_us)",
    "com.example.player/4.2.0 (Linux;Android 14) ExoPlayerLib/2.19.1",
    "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
    "AppleCoreMedia/1.0.0.21G93 (iPad; U; CPU OS 17_6 like Mac OS X; en_us)"};
static const char *const ua_tv[] = {
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/5.0 Chrome/94.0.4606.31 TV Safari/537.36",
    "Roku/DVP-12.5 (12.5.0.4178-46)",
    "AppleCoreMedia/1.0.0.21J354 (Apple TV; U; CPU OS 17_6 like Mac OS X; en_us)",
    "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager"};
static const char *const ua_pirate[] = {
    "VLC/3.0.20 LibVLC/3.0.20",
    "Kodi/21.0 (X11; Linux x86_64) App_Bitness/64 Version/21.0",
    "IPTVSmartersPro/3.1.5 (Linux;Android 11) ExoPlayerLib/2.14.2",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "com.example.player/4.2.0 (Linux;Android 14) ExoPlayerLib/2.19.1"};
static const char ua_cast[] =
    "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 CrKey/1.56.500000";
static const char ua_restream[] = "Lavf/60.16.100";

#define PICK(rng, arr) ((arr)[wd__rng_below(rng, sizeof(arr) / sizeof((arr)[0]))])

/* ---------------------------------------------------------------- state */

typedef struct token token_t;
struct token {
  token_t *next;              /* the retired queue */
  token_t *successor;         /* its renewal */
  char *text;                 /* NULL until issued (at its first request) */
  char id[33];
  char subject[24];
  uint64_t index, group;
  uint32_t renewal;
  wd_sim_pattern_t pattern;
  int64_t iat, exp;           /* seconds */
  uint32_t users;             /* actors holding it */
  uint32_t viewers;           /* actors that made a request with it */
  int64_t first_ms, last_ms, became_ms;
  const char *rule;
  uint64_t requests;
  wd_sim_network_t *nets;
  size_t nnets, capnets;
};

typedef struct actor {
  int64_t next_ms;
  uint64_t order;             /* creation order: breaks ties in the heap */
  token_t *tok;
  const char *ua;
  uint64_t counted;           /* index + 1 of the token it was last counted a viewer of */
  size_t rec;                 /* index of its last network in tok->nets */
  int64_t seg;                /* the next segment it wants */
  int64_t end_ms;             /* leaves at its first request after this */
  int64_t change_ms;          /* next address or device change; NO_TIME */
  int64_t pause_ms, resume_ms;
  uint32_t viewer;
  uint16_t net, alt;          /* pool nets: now, and the hand-over target */
  uint8_t pattern, step, fresh, family;
  uint8_t rend, nrend, rcur;  /* rendition; restreamer: renditions fetched, the one in hand */
  uint8_t npool4;             /* interleaving carrier: addresses in pool4 */
  uint8_t a4[4], a6[16];
  uint8_t pool4[MAX_POOL4][4];
} actor_t;

typedef struct country {
  char cc[3];
  double lat, lon;
  int has_isp, has_mobile;
} country_t;

struct wd_sim {
  wd_sim_config_t cfg;
  const char *rend_names[WD_SIM_MAX_RENDITIONS];
  const wd_sim_pool_t *pool;
  wd_sim_issue_fn issue;
  void *ctx;
  wd__rng_t rng, idrng;
  int64_t end_ms, seg_ms;
  char prefix[WD_SIM_PATH_MAX];
  country_t *countries;
  size_t ncountries;

  actor_t **heap;
  size_t nheap, capheap;
  uint64_t order;

  /* arrivals */
  uint64_t remaining[WD_SIM_PATTERN_COUNT]; /* tokens still to arrive, per pattern */
  uint64_t arrived, audience;
  double u;                   /* the last order statistic drawn */
  int64_t next_unit_ms;       /* NO_TIME when everyone has arrived */
  uint64_t groups, holders, issued;

  token_t *retired, *retired_tail, *handed;
  uint32_t *t_asns;
  char (*t_countries)[3];
  size_t cap_asns, cap_countries;

  char path[WD_SIM_PATH_MAX];
  char buf[WD_SIM_TOKEN_MAX];
  int error;
  wd_sim_stats_t st;
};

/* ---------------------------------------------------------------- memory, counted */

static void account(wd_sim_t *s, long long delta) {
  s->st.bytes = (size_t)((long long)s->st.bytes + delta);
  if (s->st.bytes > s->st.bytes_peak)
    s->st.bytes_peak = s->st.bytes;
}

static void *mem_alloc(wd_sim_t *s, size_t n) {
  void *p = calloc(1, n);
  if (p)
    account(s, (long long)n);
  return p;
}

static void mem_free(wd_sim_t *s, void *p, size_t n) {
  if (p) {
    account(s, -(long long)n);
    free(p);
  }
}

/* Grow *arr (elem bytes each) from *cap to hold at least need, counted. */
static int grow(wd_sim_t *s, void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t cap2 = *cap ? *cap * 2 : 8;
  while (cap2 < need)
    cap2 *= 2;
  void *p = realloc(*arr, cap2 * elem);
  if (!p)
    return WD_ENOMEM;
  account(s, (long long)((cap2 - *cap) * elem));
  *arr = p;
  *cap = cap2;
  return 0;
}

/* ---------------------------------------------------------------- the heap */

static int before(const actor_t *a, const actor_t *b) {
  return a->next_ms < b->next_ms || (a->next_ms == b->next_ms && a->order < b->order);
}

static int heap_push(wd_sim_t *s, actor_t *a) {
  if (grow(s, (void **)&s->heap, &s->capheap, s->nheap + 1, sizeof *s->heap))
    return WD_ENOMEM;
  size_t i = s->nheap++;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (!before(a, s->heap[up]))
      break;
    s->heap[i] = s->heap[up];
    i = up;
  }
  s->heap[i] = a;
  return 0;
}

static actor_t *heap_pop(wd_sim_t *s) {
  actor_t *top = s->heap[0], *last = s->heap[--s->nheap];
  size_t i = 0, n = s->nheap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && before(s->heap[c + 1], s->heap[c]))
      c++;
    if (!before(s->heap[c], last))
      break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  if (n)
    s->heap[i] = last;
  return top;
}

/* ---------------------------------------------------------------- networks and addresses */

typedef struct want {
  unsigned kinds;             /* 1 << wd_sim_net_kind_t */
  const char *cc;             /* this country only */
  const char *not_cc;         /* any country but this */
  uint32_t not_asn;
  int need_v6, min_v4, weighted;
} want_t;

#define K(kind) (1u << (kind))

/* A net matching w, drawn by weight (or uniformly); -1 when none does. */
static int pick_net(wd_sim_t *s, const want_t *w) {
  size_t n = wd_sim_pool_count(s->pool);
  uint64_t total = 0;
  for (int pass = 0; pass < 2; pass++) {
    uint64_t draw = pass ? wd__rng_below(&s->rng, total) : 0, acc = 0;
    for (size_t i = 0; i < n; i++) {
      const wd_sim_net_t *e = wd_sim_pool_net(s->pool, i);
      if (!(w->kinds & K(e->kind)) || (w->cc && strcmp(e->country, w->cc)) ||
          (w->not_cc && !strcmp(e->country, w->not_cc)) || (w->not_asn && e->asn == w->not_asn) ||
          (w->need_v6 && !e->nv6) || e->nv4 < (size_t)(w->min_v4 > 1 ? w->min_v4 : 1))
        continue;
      uint64_t wt = w->weighted ? (e->weight ? e->weight : 1) : 1;
      if (!pass)
        total += wt;
      else if ((acc += wt) > draw)
        return (int)i;
    }
    if (!total)
      return -1;
  }
  return -1;
}

static const wd_sim_net_t *net_at(const wd_sim_t *s, int i) {
  return wd_sim_pool_net(s->pool, (size_t)i);
}

static const country_t *country_of(const wd_sim_t *s, const char *cc) {
  for (size_t i = 0; i < s->ncountries; i++)
    if (!strcmp(s->countries[i].cc, cc))
      return &s->countries[i];
  return NULL;
}

static double km(double lat1, double lon1, double lat2, double lon2) {
  const double r = 6371.0, d = M_PI / 180.0;
  double a = sin((lat2 - lat1) * d / 2), b = sin((lon2 - lon1) * d / 2);
  double h = a * a + cos(lat1 * d) * cos(lat2 * d) * b * b;
  return 2 * r * asin(sqrt(h < 1 ? h : 1));
}

/* A country other than cc, drawn uniformly; far: at least FAR_KM away (the farthest when none
 * is). NULL when the pool has one country. */
static const char *other_country(wd_sim_t *s, const char *cc, int far) {
  const country_t *home = country_of(s, cc);
  size_t cand = 0, best = 0;
  double bestd = -1;
  for (int pass = 0; pass < 2; pass++) {
    size_t draw = pass && cand ? wd__rng_below(&s->rng, cand) : 0, k = 0;
    for (size_t i = 0; i < s->ncountries; i++) {
      const country_t *c = &s->countries[i];
      if (!strcmp(c->cc, cc))
        continue;
      double d = home ? km(home->lat, home->lon, c->lat, c->lon) : 0;
      if (!pass && d > bestd) {
        bestd = d;
        best = i;
      }
      if (far && d < FAR_KM)
        continue;
      if (!pass)
        cand++;
      else if (k++ == draw)
        return c->cc;
    }
    if (!cand)
      return bestd >= 0 ? s->countries[best].cc : NULL;
  }
  return NULL;
}

/* A fresh address of the net in the family: a random block, a random host. */
static void draw_addr(wd_sim_t *s, const wd_sim_net_t *n, int family, uint8_t *out) {
  if (family == 4) {
    const wd_sim_block_t *b = &n->v4[wd__rng_below(&s->rng, n->nv4)];
    memcpy(out, b->prefix, 3);
    out[3] = (uint8_t)wd__rng_range(&s->rng, 2, 254);
    return;
  }
  const wd_sim_block_t *b = &n->v6[wd__rng_below(&s->rng, n->nv6)];
  memcpy(out, b->prefix, 8);
  uint64_t host = wd__rng_u64(&s->rng) | 1;
  for (int i = 15; i >= 8; i--, host >>= 8)
    out[i] = (uint8_t)host;
}

/* Give the actor its address on net i: IPv6 when v6 is set (and the net has it), else IPv4. */
static void place(wd_sim_t *s, actor_t *a, int i, int v6) {
  const wd_sim_net_t *n = net_at(s, i);
  a->net = (uint16_t)i;
  draw_addr(s, n, 4, a->a4);
  if (n->nv6)
    draw_addr(s, n, 6, a->a6);
  a->family = v6 && n->nv6 ? 6 : 4;
}

/* ---------------------------------------------------------------- tokens */

/* A token of a new holder (subject NULL: the next "viewer-N") or a renewal (its subject). */
static token_t *token_new(wd_sim_t *s, wd_sim_pattern_t p, uint64_t group, const char *subject) {
  token_t *t = mem_alloc(s, sizeof *t);
  if (!t)
    return NULL;
  t->pattern = p;
  t->group = group;
  t->first_ms = t->last_ms = t->became_ms = -1;
  if (subject)
    snprintf(t->subject, sizeof t->subject, "%s", subject);
  else
    snprintf(t->subject, sizeof t->subject, "viewer-%06llu", (unsigned long long)s->holders++);
  return t;
}

static void token_free(wd_sim_t *s, token_t *t) {
  if (!t)
    return;
  if (t->text)
    mem_free(s, t->text, strlen(t->text) + 1);
  mem_free(s, t->nets, t->capnets * sizeof *t->nets);
  mem_free(s, t, sizeof *t);
}

/* One holder less (an actor, or the token it renews). When none is left its truth is final:
 * queued for wd_sim_truth_next (tokens never issued are dropped), and its hold on its renewal
 * goes too. */
static void token_release(wd_sim_t *s, token_t *t) {
  while (t && --t->users == 0) {
    token_t *succ = t->successor;
    if (!t->text) {
      token_free(s, t);
    } else {
      t->next = NULL;
      if (s->retired_tail)
        s->retired_tail->next = t;
      else
        s->retired = t;
      s->retired_tail = t;
    }
    t = succ;
  }
}

static int token_issue(wd_sim_t *s, token_t *t, int64_t now_ms) {
  static const char hex[] = "0123456789abcdef";
  uint64_t a = wd__rng_u64(&s->idrng), b = wd__rng_u64(&s->idrng);
  for (int i = 0; i < 16; i++) {
    t->id[i] = hex[(a >> (60 - 4 * i)) & 15];
    t->id[16 + i] = hex[(b >> (60 - 4 * i)) & 15];
  }
  t->id[32] = '\0';
  t->index = s->issued;
  t->iat = now_ms / 1000;
  t->exp = s->cfg.token_ttl_s > 0 ? t->iat + s->cfg.token_ttl_s
                                  : (s->end_ms + 999) / 1000 + TOKEN_SLACK_S;
  wd_sim_token_req_t r = {t->index, t->id, t->subject, t->iat, t->exp, s->prefix, t->pattern};
  s->buf[0] = '\0';
  int rc = s->issue(s->ctx, &r, s->buf, sizeof s->buf);
  if (rc)
    return rc < 0 ? rc : WD_EINVAL;
  size_t n = strnlen(s->buf, sizeof s->buf);
  if (n == 0 || n == sizeof s->buf)
    return WD_EINVAL;
  t->text = mem_alloc(s, n + 1);
  if (!t->text)
    return WD_ENOMEM;
  memcpy(t->text, s->buf, n + 1);
  s->issued++;
  s->st.tokens++;
  s->st.tokens_by_pattern[t->pattern]++;
  return 0;
}

/* The actor holds tok (its first token, or a renewal) and lets go of the one it had. */
static void attach(wd_sim_t *s, actor_t *a, token_t *tok) {
  token_t *old = a->tok;
  a->tok = tok;
  tok->users++;
  if (old)
    token_release(s, old);
}

/* ---------------------------------------------------------------- actors */

static int64_t live_edge(const wd_sim_t *s, int64_t t) {
  int64_t d = t - s->cfg.start_ms;
  return SEG_BASE + (d >= 0 ? d / s->seg_ms : -((-d + s->seg_ms - 1) / s->seg_ms));
}

static int64_t available_at(const wd_sim_t *s, int64_t seg) {
  return s->cfg.start_ms + (seg - SEG_BASE) * s->seg_ms;
}

static actor_t *actor_new(wd_sim_t *s, token_t *tok, wd_sim_pattern_t p, uint32_t viewer,
                          int64_t join_ms) {
  if (join_ms >= s->end_ms)
    return NULL;
  actor_t *a = mem_alloc(s, sizeof *a);
  if (!a)
    return NULL;
  a->next_ms = join_ms < s->cfg.start_ms ? s->cfg.start_ms : join_ms;
  a->order = s->order++;
  a->pattern = (uint8_t)p;
  a->viewer = viewer;
  a->fresh = 1;
  a->end_ms = s->end_ms;
  a->change_ms = a->pause_ms = a->resume_ms = NO_TIME;
  a->nrend = 1;
  attach(s, a, tok);
  s->st.viewers_live++;
  if (s->st.viewers_live > s->st.viewers_peak)
    s->st.viewers_peak = s->st.viewers_live;
  return a;
}

static void actor_free(wd_sim_t *s, actor_t *a) {
  token_release(s, a->tok);
  s->st.viewers_live--;
  mem_free(s, a, sizeof *a);
}

/* A viewer's own life: leaves early or stays to the end, maybe pauses once. */
static void session(wd_sim_t *s, actor_t *a, double stay, double pause) {
  int64_t join = a->next_ms, left = s->end_ms - join;
  if (wd__rng_unit(&s->rng) >= stay && left > 240000)
    a->end_ms = join + wd__rng_range(&s->rng, 120000, left);
  int64_t len = a->end_ms - join;
  if (wd__rng_unit(&s->rng) < pause && len > 300000) {
    a->pause_ms = join + (int64_t)(len * (0.2 + 0.4 * wd__rng_unit(&s->rng)));
    a->resume_ms = a->pause_ms + wd__rng_range(&s->rng, 60000, 480000);
  }
}

static uint8_t start_rendition(wd_sim_t *s, const wd_sim_net_t *n) {
  int nr = (int)s->cfg.nrenditions;
  if (nr == 1)
    return 0;
  if (n->kind == WD_SIM_MOBILE)
    return (uint8_t)wd__rng_range(&s->rng, nr > 2 ? 1 : 0, nr - 1);
  return (uint8_t)wd__rng_range(&s->rng, 0, nr > 2 ? 1 : 0);
}

static const char *home_ua(wd_sim_t *s, const wd_sim_net_t *n) {
  if (n->kind == WD_SIM_MOBILE)
    return PICK(&s->rng, ua_phone);
  switch (wd__rng_below(&s->rng, 3)) {
  case 0: return PICK(&s->rng, ua_desktop);
  case 1: return PICK(&s->rng, ua_tv);
  default: return PICK(&s->rng, ua_phone);
  }
}

static int push_new(wd_sim_t *s, actor_t *a) {
  if (!a)
    return 0;
  return heap_push(s, a);
}

/* A viewer of a token on net (IPv6 when v6 and the net has it), with a user agent and a
 * rendition that suit the network. */
static actor_t *viewer_on(wd_sim_t *s, token_t *tok, wd_sim_pattern_t p, uint32_t viewer,
                          int64_t join, int net, int v6) {
  actor_t *a = actor_new(s, tok, p, viewer, join);
  if (!a)
    return NULL;
  place(s, a, net, v6);
  const wd_sim_net_t *n = net_at(s, net);
  a->ua = home_ua(s, n);
  a->rend = start_rendition(s, n);
  return a;
}

/* An ISP (70%) or mobile viewer drawn by audience weight. */
static int audience_net(wd_sim_t *s, const char *cc, const char *not_cc, uint32_t not_asn) {
  want_t w = {.kinds = K(wd__rng_unit(&s->rng) < 0.7 ? WD_SIM_ISP : WD_SIM_MOBILE), .cc = cc,
              .not_cc = not_cc, .not_asn = not_asn, .weighted = 1};
  int i = pick_net(s, &w);
  if (i < 0) {
    w.kinds = K(WD_SIM_ISP) | K(WD_SIM_MOBILE);
    i = pick_net(s, &w);
  }
  if (i < 0) { /* nothing else there: any home or mobile network */
    want_t any = {.kinds = K(WD_SIM_ISP) | K(WD_SIM_MOBILE), .weighted = 1};
    i = pick_net(s, &any);
  }
  return i;
}

static int same_prefix(const actor_t *a, const actor_t *b) {
  if (a->family != b->family)
    return 0;
  return a->family == 4 ? !memcmp(a->a4, b->a4, 3) : !memcmp(a->a6, b->a6, 8);
}

/* ---------------------------------------------------------------- arrivals: one unit each */

static int64_t arrival_time(const wd_sim_t *s, double u) {
  /* 55% arrive in the first 90 s (or 15% of the event), the rest until 85% of it */
  double dur = (double)(s->end_ms - s->cfg.start_ms);
  double early = dur * 0.15 < 90000 ? dur * 0.15 : 90000, late = dur * 0.85;
  double t = u < 0.55 ? u / 0.55 * early : early + (u - 0.55) / 0.45 * (late - early);
  return s->cfg.start_ms + (int64_t)t;
}

/* Advance the order statistics by one arrival; its time. */
static int64_t next_arrival(wd_sim_t *s) {
  uint64_t left = s->audience - s->arrived;
  if (!left)
    return NO_TIME;
  double v = wd__rng_unit(&s->rng);
  s->u = 1.0 - (1.0 - s->u) * pow(1.0 - v, 1.0 / (double)left);
  s->arrived++;
  return arrival_time(s, s->u);
}

static wd_sim_pattern_t draw_pattern(wd_sim_t *s) {
  uint64_t total = 0;
  for (int p = 0; p < WD_SIM_PATTERN_COUNT; p++)
    total += s->remaining[p];
  if (!total) /* cannot happen: every arrival is one token still to come */
    return WD_SIM_PATTERN_COUNT;
  uint64_t d = wd__rng_below(&s->rng, total);
  for (int p = 0; p < WD_SIM_PATTERN_COUNT; p++) {
    if (d < s->remaining[p])
      return (wd_sim_pattern_t)p;
    d -= s->remaining[p];
  }
  return WD_SIM_SINGLE;
}

/* Tokens a household-like unit takes: k drawn in [lo, hi], never leaving a lone one behind. */
static uint64_t take(wd_sim_t *s, wd_sim_pattern_t p, uint64_t lo, uint64_t hi) {
  uint64_t left = s->remaining[p], k = (uint64_t)wd__rng_range(&s->rng, (int64_t)lo, (int64_t)hi);
  if (k >= left || left - k == 1)
    k = left;
  return k;
}

/* Several tokens behind one address: a home (household) or a carrier's CGNAT address. */
static int spawn_shared_address(wd_sim_t *s, wd_sim_pattern_t p, int64_t t) {
  int cg = p == WD_SIM_CGNAT;
  uint64_t k = cg ? take(s, p, 10, 40) : take(s, p, 2, 6);
  want_t w = {.kinds = K(cg ? WD_SIM_MOBILE : WD_SIM_ISP), .weighted = 1};
  int net = pick_net(s, &w);
  uint8_t addr[4];
  draw_addr(s, net_at(s, net), 4, addr);
  uint64_t group = s->groups++;
  int64_t spread = cg ? 600000 : 120000;
  if (spread > (s->end_ms - t) / 2)
    spread = (s->end_ms - t) / 2;
  for (uint64_t i = 0; i < k; i++) {
    token_t *tok = token_new(s, p, group, NULL);
    if (!tok)
      return WD_ENOMEM;
    int64_t join = t + (i ? wd__rng_range(&s->rng, 0, spread) : 0);
    if (i) /* every token is one arrival: the members' own times are drawn around the first */
      next_arrival(s);
    tok->users++; /* hold it while its actor is made */
    actor_t *a = viewer_on(s, tok, p, 0, join, net, 0);
    if (a) {
      memcpy(a->a4, addr, 4);
      a->family = 4;
      a->ua = cg ? PICK(&s->rng, ua_phone) : home_ua(s, net_at(s, net));
      session(s, a, 0.55, 0.1);
    }
    token_release(s, tok);
    int rc = push_new(s, a);
    if (rc)
      return rc;
  }
  s->remaining[p] -= k;
  return 0;
}

/* A shared token: its owner and the others. */
static int spawn_shared(wd_sim_t *s, wd_sim_pattern_t p, int64_t t) {
  token_t *tok = token_new(s, p, s->groups++, NULL);
  if (!tok)
    return WD_ENOMEM;
  tok->users++;
  int rc = 0;
  int onet = audience_net(s, NULL, NULL, 0);
  actor_t *owner = viewer_on(s, tok, p, 0, t, onet, 0);
  if (owner)
    session(s, owner, p == WD_SIM_TRAVEL ? 1.0 : 0.7, 0);
  const wd_sim_net_t *on = net_at(s, onet);
  int64_t left = s->end_ms - t;
  uint32_t others;
  if (p == WD_SIM_FRIENDS) {
    uint32_t lo = s->cfg.pirates_min > 2 ? s->cfg.pirates_min : 2;
    uint32_t hi = s->cfg.pirates_max < 5 ? s->cfg.pirates_max : 5;
    others = (uint32_t)wd__rng_range(&s->rng, lo, hi > lo ? hi : lo);
  } else if (p == WD_SIM_PIRATES) {
    double lo = s->cfg.pirates_min > 6 ? s->cfg.pirates_min : 6, hi = s->cfg.pirates_max;
    if (hi < lo)
      hi = lo;
    others = (uint32_t)floor(exp(log(lo) + wd__rng_unit(&s->rng) * (log(hi + 1) - log(lo))));
    if (others > hi)
      others = (uint32_t)hi;
  } else {
    others = 1;
  }
  /* when the others come: friends within ten minutes, pirates after the link is posted,
   * the far traveller a few minutes later */
  int64_t post = t, spread;
  if (p == WD_SIM_PIRATES) {
    post = t + wd__rng_range(&s->rng, left / 20, left / 5);
    spread = (s->end_ms - post) * 6 / 10;
  } else if (p == WD_SIM_FRIENDS) {
    spread = left / 2 < 600000 ? left / 2 : 600000;
  } else {
    post = t + (left / 3 < 60000 ? left / 3 : 60000);
    spread = (s->end_ms - post) / 3 < 540000 ? (s->end_ms - post) / 3 : 540000;
  }
  actor_t *made[8];
  size_t nmade = 0;
  if (owner)
    made[nmade++] = owner;
  for (uint32_t v = 1; v <= others && !rc; v++) {
    int64_t join = post + wd__rng_range(&s->rng, 0, spread > 0 ? spread : 0);
    int net;
    if (p == WD_SIM_TRAVEL) {
      const char *far = other_country(s, on->country, 1);
      net = audience_net(s, far, far ? NULL : on->country, on->asn);
    } else if (p == WD_SIM_FRIENDS) {
      int home = wd__rng_unit(&s->rng) < 0.5;
      net = audience_net(s, home ? on->country : NULL, home ? NULL : on->country, on->asn);
    } else if (wd__rng_unit(&s->rng) < 0.15) { /* a pirate behind a VPN */
      want_t w = {.kinds = K(WD_SIM_DATACENTER)};
      net = pick_net(s, &w);
      if (net < 0)
        net = audience_net(s, NULL, NULL, 0);
    } else {
      const char *cc = other_country(s, on->country, 0);
      net = audience_net(s, wd__rng_unit(&s->rng) < 0.8 ? cc : NULL, NULL, 0);
    }
    actor_t *a = viewer_on(s, tok, p, v, join, net, 0);
    if (!a)
      continue;
    /* a few others each on a network of their own: a /24 nobody else of the token uses */
    for (int tries = 0; nmade < 8 && tries < 8; tries++) {
      int clash = 0;
      for (size_t k = 0; k < nmade && !clash; k++)
        clash = same_prefix(a, made[k]);
      if (!clash)
        break;
      place(s, a, net, 0);
    }
    if (nmade < 8)
      made[nmade++] = a;
    if (p == WD_SIM_PIRATES)
      a->ua = PICK(&s->rng, ua_pirate);
    session(s, a, p == WD_SIM_TRAVEL ? 1.0 : 0.6, 0);
    rc = push_new(s, a);
  }
  if (!rc)
    rc = push_new(s, owner);
  else if (owner)
    actor_free(s, owner);
  token_release(s, tok);
  s->remaining[p]--;
  return rc;
}

static int spawn_unit(wd_sim_t *s, int64_t t) {
  wd_sim_pattern_t p = draw_pattern(s);
  if (p == WD_SIM_PATTERN_COUNT)
    return 0;
  if (p == WD_SIM_HOUSEHOLD || p == WD_SIM_CGNAT)
    return spawn_shared_address(s, p, t);
  if (wd_sim_pattern_label(p) == WD_SIM_SHARED)
    return spawn_shared(s, p, t);

  token_t *tok = token_new(s, p, s->groups++, NULL);
  if (!tok)
    return WD_ENOMEM;
  tok->users++;
  want_t w = {.kinds = K(WD_SIM_ISP), .weighted = 1};
  actor_t *a = NULL;
  int net = -1, v6 = 0;
  switch (p) {
  case WD_SIM_CARRIER_ROTATION:
    w.kinds = K(WD_SIM_MOBILE);
    w.min_v4 = 2;
    net = pick_net(s, &w);
    a = viewer_on(s, tok, p, 0, t, net, 0);
    if (a && wd__rng_unit(&s->rng) < 0.3) { /* requests spread over a few addresses at once */
      const wd_sim_net_t *n = net_at(s, net);
      a->npool4 = (uint8_t)wd__rng_range(&s->rng, 2, n->nv4 < MAX_POOL4 ? (int64_t)n->nv4 : MAX_POOL4);
      for (int i = 0; i < a->npool4; i++)
        draw_addr(s, n, 4, a->pool4[i]);
    } else if (a) {
      a->change_ms = t + wd__rng_range(&s->rng, 60000, 300000);
    }
    break;
  case WD_SIM_DUAL_STACK:
    w.need_v6 = 1;
    net = pick_net(s, &w);
    a = viewer_on(s, tok, p, 0, t, net, 1);
    break;
  case WD_SIM_WIFI_TO_MOBILE: {
    /* a home in a country with a mobile carrier too */
    for (int tries = 0; tries < 16; tries++) {
      net = pick_net(s, &w);
      const country_t *c = country_of(s, net_at(s, net)->country);
      if (c && c->has_mobile)
        break;
    }
    want_t m = {.kinds = K(WD_SIM_MOBILE), .cc = net_at(s, net)->country, .weighted = 1};
    int alt = pick_net(s, &m);
    if (alt < 0) { /* a country without one: hand over to any carrier */
      m.cc = NULL;
      alt = pick_net(s, &m);
    }
    a = viewer_on(s, tok, p, 0, t, net, 0);
    if (a) {
      a->alt = (uint16_t)alt;
      a->ua = PICK(&s->rng, ua_phone);
    }
    break;
  }
  case WD_SIM_CASTING:
    w.need_v6 = 1;
    net = pick_net(s, &w);
    a = viewer_on(s, tok, p, 0, t, net, 1);
    if (a)
      a->ua = PICK(&s->rng, ua_phone);
    break;
  default: /* single */
    net = audience_net(s, NULL, NULL, 0);
    v6 = wd__rng_unit(&s->rng) < 0.3;
    a = viewer_on(s, tok, p, 0, t, net, v6);
    break;
  }
  if (a) {
    session(s, a, 0.55, p == WD_SIM_SINGLE ? 0.1 : 0);
    int64_t len = a->end_ms - a->next_ms;
    if (p == WD_SIM_WIFI_TO_MOBILE)
      a->change_ms = a->next_ms + (int64_t)(len * (0.2 + 0.5 * wd__rng_unit(&s->rng)));
    else if (p == WD_SIM_CASTING)
      a->change_ms = a->next_ms + (len / 3 < 300000 ? len / 3 : wd__rng_range(&s->rng, 60000, 300000));
  }
  int rc = push_new(s, a);
  token_release(s, tok);
  s->remaining[p]--;
  return rc;
}

static int spawn_restreamers(wd_sim_t *s) {
  want_t w = {.kinds = K(WD_SIM_DATACENTER)};
  int64_t dur = s->end_ms - s->cfg.start_ms;
  for (uint32_t i = 0; i < s->cfg.restreamers; i++) {
    token_t *tok = token_new(s, WD_SIM_RESTREAMER, s->groups++, NULL);
    if (!tok)
      return WD_ENOMEM;
    tok->users++;
    int64_t join = s->cfg.start_ms + wd__rng_range(&s->rng, 0, dur * 3 / 10 < 120000 ? dur * 3 / 10 : 120000);
    actor_t *a = actor_new(s, tok, WD_SIM_RESTREAMER, 0, join);
    if (a) {
      place(s, a, pick_net(s, &w), 0);
      a->ua = ua_restream;
      int all = wd__rng_unit(&s->rng) < 0.5;
      a->rend = 0;
      a->nrend = (uint8_t)(all ? s->cfg.nrenditions : 1);
    }
    int rc = push_new(s, a);
    token_release(s, tok);
    if (rc)
      return rc;
  }
  return 0;
}

/* ---------------------------------------------------------------- one request */

/* Expand a path template: <rendition> and <N>. */
static int expand(char *out, size_t cap, const char *tpl, const char *rend, int64_t seg) {
  size_t n = 0;
  for (const char *p = tpl; *p;) {
    const char *rep = NULL;
    char num[24];
    if (!strncmp(p, "<rendition>", 11)) {
      rep = rend;
      p += 11;
    } else if (!strncmp(p, "<N>", 3)) {
      snprintf(num, sizeof num, "%lld", (long long)seg);
      rep = num;
      p += 3;
    }
    if (rep) {
      size_t k = strlen(rep);
      if (n + k >= cap)
        return -1;
      memcpy(out + n, rep, k);
      n += k;
      continue;
    }
    if (n + 1 >= cap)
      return -1;
    out[n++] = *p++;
  }
  out[n] = '\0';
  return 0;
}

static void change(wd_sim_t *s, actor_t *a, int64_t t) {
  a->change_ms = NO_TIME;
  const wd_sim_net_t *n = net_at(s, a->net);
  switch (a->pattern) {
  case WD_SIM_CARRIER_ROTATION: { /* the carrier moves the viewer to another /24 */
    uint8_t old[4];
    memcpy(old, a->a4, 4);
    for (int tries = 0; tries < 8 && !memcmp(old, a->a4, 3); tries++)
      draw_addr(s, n, 4, a->a4);
    a->change_ms = t + wd__rng_range(&s->rng, 60000, 300000);
    break;
  }
  case WD_SIM_WIFI_TO_MOBILE: /* leaves home: the phone goes on to the carrier */
    place(s, a, a->alt, 0);
    break;
  case WD_SIM_CASTING: /* the TV takes over on the home's IPv4, starting playback afresh */
    a->family = 4;
    a->ua = ua_cast;
    a->rend = 0;
    a->fresh = 1;
    break;
  default:
    break;
  }
}

/* Count the request into the token's truth. */
static int record(wd_sim_t *s, token_t *tok, actor_t *a, int64_t t, int family, const uint8_t *addr) {
  tok->requests++;
  if (tok->first_ms < 0)
    tok->first_ms = t;
  tok->last_ms = t;
  if (a->counted != tok->index + 1) {
    a->counted = tok->index + 1;
    a->rec = SIZE_MAX;
    tok->viewers++;
    if (tok->became_ms < 0) {
      if ((tok->pattern == WD_SIM_FRIENDS || tok->pattern == WD_SIM_PIRATES) && tok->viewers == 3)
        tok->became_ms = t, tok->rule = "third_viewer";
      else if (tok->pattern == WD_SIM_TRAVEL && a->viewer != 0)
        tok->became_ms = t, tok->rule = "second_country";
      else if (tok->pattern == WD_SIM_RESTREAMER)
        tok->became_ms = t, tok->rule = "first_request";
    }
  }
  size_t plen = family == 4 ? 3 : 8;
  if (a->rec < tok->nnets) {
    const wd_sim_network_t *r = &tok->nets[a->rec];
    if (r->family == family && !memcmp(r->prefix, addr, plen))
      return 0;
  }
  for (size_t i = 0; i < tok->nnets; i++) {
    const wd_sim_network_t *r = &tok->nets[i];
    if (r->family == family && !memcmp(r->prefix, addr, plen)) {
      a->rec = i;
      return 0;
    }
  }
  if (grow(s, (void **)&tok->nets, &tok->capnets, tok->nnets + 1, sizeof *tok->nets))
    return WD_ENOMEM;
  const wd_sim_net_t *n = net_at(s, a->net);
  wd_sim_network_t *r = &tok->nets[tok->nnets];
  memset(r, 0, sizeof *r);
  r->family = family;
  memcpy(r->prefix, addr, plen);
  r->plen = family == 4 ? 24 : 64;
  r->asn = n->asn;
  memcpy(r->country, n->country, 3);
  r->first_ms = t;
  r->viewer = a->viewer;
  a->rec = tok->nnets++;
  return 0;
}

static uint64_t segment_bytes(wd_sim_t *s, int rend) {
  uint64_t kbps = 6000 >> (rend < 5 ? rend : 5);
  if (kbps < 200)
    kbps = 200;
  uint64_t base = kbps * 125 * (uint64_t)s->cfg.segment_s;
  return base * (uint64_t)wd__rng_range(&s->rng, 90, 110) / 100;
}

/* When the actor asks next, after a request at t; 0 when it leaves. */
static int schedule(wd_sim_t *s, actor_t *a, int64_t t) {
  int64_t next;
  if (a->pattern == WD_SIM_RESTREAMER) {
    if (a->step == STEP_PLAYLIST) {
      a->step = STEP_SEGMENT;
      next = t + wd__rng_range(&s->rng, 10, 60);
    } else if (a->rcur + 1 < a->nrend) {
      a->rcur++;
      a->step = STEP_PLAYLIST;
      next = t + wd__rng_range(&s->rng, 10, 60);
    } else { /* this segment is in, in every rendition: the next one as soon as it is out */
      a->rcur = 0;
      a->seg++;
      a->step = STEP_PLAYLIST;
      int64_t out = available_at(s, a->seg) + wd__rng_range(&s->rng, 50, 300);
      next = out > t + 20 ? out : t + wd__rng_range(&s->rng, 20, 80);
    }
  } else if (a->step == STEP_PLAYLIST) {
    a->step = STEP_SEGMENT;
    next = t + wd__rng_range(&s->rng, 30, 250);
  } else {
    a->seg++;
    if (s->cfg.nrenditions > 1 && wd__rng_unit(&s->rng) < 0.02) { /* adaptive bitrate */
      if (a->rend == 0 || (a->rend + 1u < s->cfg.nrenditions && wd__rng_unit(&s->rng) < 0.5))
        a->rend++;
      else
        a->rend--;
    }
    int64_t out = available_at(s, a->seg);
    if (out <= t) { /* behind the live edge (start-up): the next segment straight away */
      next = t + wd__rng_range(&s->rng, 150, 800);
    } else {
      a->step = STEP_PLAYLIST;
      next = out + wd__rng_range(&s->rng, 100, 1500);
    }
  }
  if (next >= a->pause_ms) { /* stops watching for a while, then starts again */
    next = a->resume_ms;
    a->pause_ms = a->resume_ms = NO_TIME;
    a->fresh = 1;
    a->step = STEP_PLAYLIST;
  }
  if (next > a->end_ms || next >= s->end_ms)
    return 0;
  a->next_ms = next;
  return 1;
}

static int act(wd_sim_t *s, actor_t *a, wd_sim_request_t *out) {
  int64_t t = a->next_ms;
  int rc;
  while (a->tok->successor) /* renewed since its last request */
    attach(s, a, a->tok->successor);
  token_t *tok = a->tok;
  if (s->cfg.token_ttl_s > 0 && tok->text) {
    int64_t margin = s->cfg.token_ttl_s * 250 < RENEW_MARGIN_MS ? s->cfg.token_ttl_s * 250 : RENEW_MARGIN_MS;
    if (t >= tok->exp * 1000 - margin) {
      token_t *nt = token_new(s, tok->pattern, tok->group, tok->subject);
      if (!nt) {
        actor_free(s, a);
        return WD_ENOMEM;
      }
      nt->renewal = tok->renewal + 1;
      tok->successor = nt;
      nt->users++; /* held by the token it renews, for its other actors */
      attach(s, a, nt);
    }
  }
  tok = a->tok;
  if (!tok->text && (rc = token_issue(s, tok, t))) {
    actor_free(s, a);
    return rc;
  }
  if (t >= a->change_ms)
    change(s, a, t);

  /* the address of this request */
  int family = a->family;
  const uint8_t *addr = family == 4 ? a->a4 : a->a6;
  if (a->pattern == WD_SIM_DUAL_STACK && wd__rng_unit(&s->rng) < 0.25) { /* Happy Eyeballs */
    a->family = (uint8_t)(a->family == 4 ? 6 : 4);
    family = a->family;
    addr = family == 4 ? a->a4 : a->a6;
  } else if (a->npool4) {
    addr = a->pool4[wd__rng_below(&s->rng, a->npool4)];
  }

  /* what it asks for */
  if (a->fresh) { /* (re)starting playback: the playlist, then the last few segments */
    a->fresh = 0;
    a->step = STEP_PLAYLIST;
    a->rcur = 0;
    a->seg = live_edge(s, t) - (a->pattern == WD_SIM_RESTREAMER ? 4 : 2);
  }
  int rend = a->pattern == WD_SIM_RESTREAMER ? a->rend + a->rcur : a->rend;
  const char *rname = s->rend_names[rend];
  int seg = a->step == STEP_SEGMENT;
  rc = expand(s->path, sizeof s->path, seg ? s->cfg.segment_path : s->cfg.playlist_path, rname,
              a->seg) ? WD_EINVAL : 0; /* cannot fail: checked at create */
  if (rc == 0)
    rc = record(s, tok, a, t, family, addr);
  if (rc) {
    actor_free(s, a);
    return rc;
  }

  memset(out, 0, sizeof *out);
  out->time_ms = t;
  out->family = family;
  memcpy(out->addr, addr, family == 4 ? 4 : 16);
  wd_ip_t ip = {.family = family};
  memcpy(ip.a, addr, family == 4 ? 4 : 16);
  wd_ip_format(&ip, out->ip, sizeof out->ip);
  out->user_agent = a->ua;
  out->path = s->path;
  out->segment = seg;
  out->bytes = seg ? segment_bytes(s, rend) : (uint64_t)wd__rng_range(&s->rng, 380, 620);
  out->token = tok->text;
  out->token_id = tok->id;
  out->token_index = tok->index;
  out->pattern = (wd_sim_pattern_t)a->pattern;
  out->label = wd_sim_pattern_label(out->pattern);
  out->viewer = a->viewer;
  out->net = net_at(s, a->net);
  s->st.requests++;

  if (schedule(s, a, t) && (rc = heap_push(s, a)) == 0)
    return 0;
  actor_free(s, a);
  return rc;
}

/* ---------------------------------------------------------------- public */

void wd_sim_config_init(wd_sim_config_t *c) {
  static const char *const rends[] = {"1080p", "720p", "480p", "360p"};
  memset(c, 0, sizeof *c);
  c->seed = 1;
  c->duration_s = 600;
  c->segment_s = 4;
  c->renditions = rends;
  c->nrenditions = 4;
  c->segment_path = "/live/ch1/<rendition>/seg<N>.ts";
  c->playlist_path = "/live/ch1/<rendition>/index.m3u8";
  c->audience = 1000;
  c->shared = 0.05;
  c->pirates_min = 2;
  c->pirates_max = 200;
  c->restreamers = 2;
  c->mix[WD_SIM_SINGLE] = 0.50;
  c->mix[WD_SIM_CARRIER_ROTATION] = 0.12;
  c->mix[WD_SIM_DUAL_STACK] = 0.12;
  c->mix[WD_SIM_WIFI_TO_MOBILE] = 0.06;
  c->mix[WD_SIM_HOUSEHOLD] = 0.10;
  c->mix[WD_SIM_CGNAT] = 0.04;
  c->mix[WD_SIM_CASTING] = 0.06;
  c->mix[WD_SIM_FRIENDS] = 0.6;
  c->mix[WD_SIM_PIRATES] = 0.3;
  c->mix[WD_SIM_TRAVEL] = 0.1;
}

/* Split total among patterns [from, to) by weight (largest remainder), at least one each when
 * there are enough to go round. */
static void apportion(uint64_t *out, const double *w, int from, int to, uint64_t total) {
  double sum = 0;
  int npos = 0;
  for (int p = from; p < to; p++)
    if (w[p] > 0)
      sum += w[p], npos++;
  if (!total || sum <= 0)
    return;
  uint64_t given = 0;
  double rem[WD_SIM_PATTERN_COUNT] = {0};
  for (int p = from; p < to; p++) {
    if (w[p] <= 0)
      continue;
    double x = (double)total * w[p] / sum;
    out[p] = (uint64_t)x;
    rem[p] = x - (double)out[p];
    given += out[p];
  }
  while (given < total) {
    int best = -1;
    for (int p = from; p < to; p++)
      if (w[p] > 0 && (best < 0 || rem[p] > rem[best]))
        best = p;
    out[best]++;
    rem[best] = -1;
    given++;
  }
  if (total < (uint64_t)npos)
    return;
  for (int p = from; p < to; p++) {
    if (w[p] <= 0 || out[p])
      continue;
    int big = -1;
    for (int q = from; q < to; q++)
      if (out[q] > 1 && (big < 0 || out[q] > out[big]))
        big = q;
    if (big < 0)
      break;
    out[big]--;
    out[p]++;
  }
}

static int check_template(const char *tpl, int need_n) {
  if (!tpl || tpl[0] != '/' || (need_n && !strstr(tpl, "<N>")))
    return -1;
  char buf[WD_SIM_PATH_MAX];
  return expand(buf, sizeof buf, tpl, "rendition-name-of-some-length", 9223372036854775807LL);
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return WD_EINVAL; } while (0)

int wd_sim_config_check(const wd_sim_config_t *c, char *err, size_t errlen) {
  if (!c)
    FAIL("no configuration");
  if (c->duration_s < 1 || c->duration_s > 7 * 86400)
    FAIL("duration %lld s is out of range (1 s to 7 days)", (long long)c->duration_s);
  if (c->segment_s < 1 || c->segment_s > 60)
    FAIL("segment duration %d s is out of range (1 to 60)", c->segment_s);
  if (!c->renditions || c->nrenditions < 1 || c->nrenditions > WD_SIM_MAX_RENDITIONS)
    FAIL("%zu renditions: give 1 to %d", c->nrenditions, WD_SIM_MAX_RENDITIONS);
  for (size_t i = 0; i < c->nrenditions; i++)
    if (!c->renditions[i] || !c->renditions[i][0] || strlen(c->renditions[i]) > 32 ||
        strpbrk(c->renditions[i], "/?# \t\r\n\"<>%"))
      FAIL("rendition name '%s' is not a path segment (1-32 characters, no / ? # spaces or quotes)",
           c->renditions[i] ? c->renditions[i] : "");
  if (check_template(c->segment_path, 1))
    FAIL("segment path '%s' must start with / and hold <N> (the segment number)",
         c->segment_path ? c->segment_path : "");
  if (check_template(c->playlist_path, 0))
    FAIL("playlist path '%s' must start with /", c->playlist_path ? c->playlist_path : "");
  if (strpbrk(c->segment_path, "?# \t\r\n\"") || strpbrk(c->playlist_path, "?# \t\r\n\""))
    FAIL("paths may not hold a query, a fragment, spaces or quotes");
  if (c->audience > 10000000)
    FAIL("audience %u is too large (at most 10,000,000)", c->audience);
  if (!(c->shared >= 0 && c->shared <= 1))
    FAIL("the shared share must be from 0 to 1");
  if (c->pirates_min < 1 || c->pirates_max < c->pirates_min || c->pirates_max > 100000)
    FAIL("pirates %u-%u: give 1 <= min <= max <= 100000", c->pirates_min, c->pirates_max);
  if (c->restreamers > 10000)
    FAIL("%u restreamers is too many (at most 10000)", c->restreamers);
  if (c->token_ttl_s < 0 || (c->token_ttl_s > 0 && c->token_ttl_s < 2 * c->segment_s))
    FAIL("token lifetime %lld s: 0 (the whole event) or at least two segments",
         (long long)c->token_ttl_s);
  if (c->start_ms < 0 || c->start_ms > 253402300799000LL - c->duration_s * 1000)
    FAIL("the start time is out of range");
  for (int p = 0; p < WD_SIM_PATTERN_COUNT; p++)
    if (!(c->mix[p] >= 0 && c->mix[p] < 1e9))
      FAIL("pattern weight of %s is not a number from 0", wd_sim_pattern_name((wd_sim_pattern_t)p));
  return 0;
}

/* The pool has a network for every pattern. */
static int check_pool(const wd_sim_config_t *c, const wd_sim_pool_t *pool, char *err, size_t errlen) {
  size_t n = wd_sim_pool_count(pool);
  int isp = 0, isp6 = 0, mob = 0, dc = 0;
  for (size_t i = 0; i < n; i++) {
    const wd_sim_net_t *e = wd_sim_pool_net(pool, i);
    isp |= e->kind == WD_SIM_ISP;
    isp6 |= e->kind == WD_SIM_ISP && e->nv6 > 0;
    mob |= e->kind == WD_SIM_MOBILE && e->nv4 >= 2;
    dc |= e->kind == WD_SIM_DATACENTER;
  }
  if (!isp || !isp6 || !mob)
    FAIL("the address pool needs home networks with IPv4 and IPv6 and a mobile carrier with two "
         "IPv4 blocks or more");
  if (c->restreamers && !dc)
    FAIL("the address pool has no datacenter network for the restreamers");
  return 0;
}

int wd_sim_create(const wd_sim_config_t *cfg, const wd_sim_pool_t *pool, wd_sim_issue_fn issue,
                  void *ctx, wd_sim_t **out, char *err, size_t errlen) {
  if (!cfg || !pool || !issue || !out) {
    snprintf(err, errlen, "missing configuration, pool or issue callback");
    return WD_EINVAL;
  }
  int rc = wd_sim_config_check(cfg, err, errlen);
  if (!rc)
    rc = check_pool(cfg, pool, err, errlen);
  if (rc)
    return rc;
  wd_sim_t *s = calloc(1, sizeof *s);
  if (!s)
    return WD_ENOMEM;
  s->st.bytes = s->st.bytes_peak = sizeof *s;
  s->cfg = *cfg;
  for (size_t i = 0; i < cfg->nrenditions; i++)
    s->rend_names[i] = cfg->renditions[i];
  s->cfg.renditions = s->rend_names;
  s->pool = pool;
  s->issue = issue;
  s->ctx = ctx;
  wd__rng_seed(&s->rng, cfg->seed);
  wd__rng_seed(&s->idrng, cfg->seed ^ 0x5157a7e5c0ffee11ull);
  s->seg_ms = (int64_t)cfg->segment_s * 1000;
  s->end_ms = cfg->start_ms + cfg->duration_s * 1000;

  /* the tokens' path prefix: the templates' common directory */
  const char *a = cfg->segment_path, *b = cfg->playlist_path;
  size_t k = 0, dir = 1;
  while (a[k] && a[k] == b[k] && a[k] != '<') {
    if (a[k] == '/')
      dir = k + 1;
    k++;
  }
  memcpy(s->prefix, a, dir);
  s->prefix[dir] = '\0';

  /* countries of the audience's networks */
  size_t n = wd_sim_pool_count(pool);
  s->countries = mem_alloc(s, (n ? n : 1) * sizeof *s->countries);
  if (!s->countries) {
    wd_sim_destroy(s);
    return WD_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const wd_sim_net_t *e = wd_sim_pool_net(pool, i);
    if (e->kind == WD_SIM_DATACENTER)
      continue;
    country_t *c = (country_t *)country_of(s, e->country);
    if (!c) {
      c = &s->countries[s->ncountries++];
      memcpy(c->cc, e->country, 3);
      c->lat = e->lat;
      c->lon = e->lon;
    }
    c->has_isp |= e->kind == WD_SIM_ISP;
    c->has_mobile |= e->kind == WD_SIM_MOBILE;
  }

  /* who arrives: exact counts per pattern */
  uint64_t shared = (uint64_t)llround((double)cfg->audience * cfg->shared);
  double w[WD_SIM_PATTERN_COUNT];
  memcpy(w, cfg->mix, sizeof w);
  if (cfg->pirates_max <= 5)
    w[WD_SIM_PIRATES] = 0;
  if (cfg->pirates_min > 5)
    w[WD_SIM_FRIENDS] = 0;
  double wsum = 0;
  for (int p = WD_SIM_FRIENDS; p < WD_SIM_RESTREAMER; p++)
    wsum += w[p];
  if (wsum <= 0)
    w[cfg->pirates_max <= 5 ? WD_SIM_FRIENDS : WD_SIM_PIRATES] = 1;
  wsum = 0;
  for (int p = 0; p < WD_SIM_FRIENDS; p++)
    wsum += w[p];
  if (wsum <= 0)
    w[WD_SIM_SINGLE] = 1;
  apportion(s->remaining, w, 0, WD_SIM_FRIENDS, cfg->audience - shared);
  apportion(s->remaining, w, WD_SIM_FRIENDS, WD_SIM_RESTREAMER, shared);
  for (int p = WD_SIM_HOUSEHOLD; p <= WD_SIM_CGNAT; p++) { /* one address needs two tokens */
    if (s->remaining[p] == 1 && s->remaining[WD_SIM_SINGLE] > 0)
      s->remaining[p]++, s->remaining[WD_SIM_SINGLE]--;
    else if (s->remaining[p] == 1)
      s->remaining[p]--, s->remaining[WD_SIM_SINGLE]++;
  }
  s->audience = cfg->audience;
  s->next_unit_ms = next_arrival(s);
  if ((rc = spawn_restreamers(s))) {
    wd_sim_destroy(s);
    return rc;
  }
  *out = s;
  return 0;
}

int wd_sim_next(wd_sim_t *s, wd_sim_request_t *out) {
  if (s->error)
    return s->error;
  for (;;) {
    int have_units = s->next_unit_ms != NO_TIME;
    if (have_units && (!s->nheap || s->next_unit_ms <= s->heap[0]->next_ms)) {
      int rc = spawn_unit(s, s->next_unit_ms);
      if (rc)
        return s->error = rc;
      s->next_unit_ms = next_arrival(s);
      continue;
    }
    if (!s->nheap)
      return 0;
    int rc = act(s, heap_pop(s), out);
    if (rc)
      return s->error = rc;
    return 1;
  }
}

int wd_sim_truth_next(wd_sim_t *s, wd_sim_truth_t *out) {
  if (s->handed) {
    token_free(s, s->handed);
    s->handed = NULL;
  }
  token_t *t = s->retired;
  if (!t)
    return 0;
  s->retired = t->next;
  if (!s->retired)
    s->retired_tail = NULL;
  s->handed = t;
  if (grow(s, (void **)&s->t_asns, &s->cap_asns, t->nnets + 1, sizeof *s->t_asns) ||
      grow(s, (void **)&s->t_countries, &s->cap_countries, t->nnets + 1, sizeof *s->t_countries))
    return WD_ENOMEM;
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < t->nnets; i++) {
    const wd_sim_network_t *r = &t->nets[i];
    size_t k;
    for (k = 0; k < out->nasns && s->t_asns[k] != r->asn; k++)
      ;
    if (k == out->nasns)
      s->t_asns[out->nasns++] = r->asn;
    for (k = 0; k < out->ncountries && strcmp(s->t_countries[k], r->country); k++)
      ;
    if (k == out->ncountries)
      memcpy(s->t_countries[out->ncountries++], r->country, 3);
  }
  out->token = t->text;
  out->token_id = t->id;
  out->subject = t->subject;
  out->token_index = t->index;
  out->group = t->group;
  out->renewal = t->renewal;
  out->pattern = t->pattern;
  out->label = wd_sim_pattern_label(t->pattern);
  out->iat = t->iat;
  out->exp = t->exp;
  out->first_ms = t->first_ms;
  out->last_ms = t->last_ms;
  out->requests = t->requests;
  out->viewers = t->viewers;
  out->networks = t->nets;
  out->nnetworks = t->nnets;
  out->asns = s->t_asns;
  out->countries = (const char(*)[3])s->t_countries;
  out->became_shared_ms = t->became_ms;
  out->shared_rule = t->rule;
  return 1;
}

void wd_sim_stats(const wd_sim_t *s, wd_sim_stats_t *out) {
  *out = s->st;
}

void wd_sim_destroy(wd_sim_t *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->nheap; i++) {
    token_release(s, s->heap[i]->tok);
    mem_free(s, s->heap[i], sizeof *s->heap[i]);
  }
  for (token_t *t = s->retired, *nx; t; t = nx) {
    nx = t->next;
    token_free(s, t);
  }
  token_free(s, s->handed);
  free(s->heap);
  free(s->t_asns);
  free(s->t_countries);
  free(s->countries);
  free(s);
}
