/*
 * The sharing-detection tracker; see warden/detect.h and docs/detection.md.
 *
 * DESIGN
 * Tokens are spread over `shards` tables by the top bits of a seeded 64-bit hash of their key.
 * A shard is a mutex, an array of 32-bit chain heads (at most one token per head on average:
 * 4-8 bytes a token) and the 64-byte token records themselves, allocated 64 at a time and
 * reused through a free list, so memory follows the number of tokens without the doubling
 * steps of an open-addressing table. The record (dt_slot_t) keeps two networks inline, the
 * request and user-agent counters of the current and previous window, and the last location.
 * A third network in use at once, or an impossible travel, moves the networks into a detail
 * record (dt_detail_t, 352 bytes: eight networks with locations and prefixes, the recent
 * segments and which networks fetched them, the travel) from a pool bounded by max_detail;
 * the record goes back to inline when the window holds two networks again and the verdict is
 * OK. With the pool full a token keeps two networks and sets one bit per displaced network.
 *
 * City names (for explanations) are interned in one lock-free table of write-once entries,
 * so records hold a 16-bit id.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ban/hash.h"
#include "detect/internal.h"
#include "util/ip.h"
#include "warden/error.h"

_Static_assert(sizeof(dt_slot_t) == 64, "token record is one cache line");
_Static_assert(sizeof(dt_net_t) == 32, "detail network is 32 bytes");

#define CHUNK 64u           /* token records per allocation */
#define DCHUNK 16u          /* detail records per allocation */
#define MIN_BUCKETS 64u
#define REBASE_AT 60000     /* re-base a record whose clock passes this */
#define CITY_CAP 32768u     /* interned city names */
#define CITY_PROBES 64

typedef struct shard {
  _Alignas(64) pthread_mutex_t mu;
  uint32_t *heads;          /* chain heads: record index + 1 */
  uint32_t nheads;          /* a power of two */
  dt_slot_t **chunks;
  uint32_t nchunks, capchunks;
  uint32_t used;            /* records handed out from chunks (high-water mark) */
  uint32_t free;            /* free list of records: index + 1 */
  uint64_t n;               /* tracked tokens */
  dt_detail_t **dchunks;
  uint32_t ndchunks, capdchunks, dused, dfree;
  uint64_t ndetail;
  uint64_t observations, untracked, degraded;
  uint32_t last_sweep;      /* unix s of the last sweep made because the shard was full */
} shard_t;

typedef struct cidr {
  wd_ip_t net;
  int plen;
} cidr_t;

typedef struct subj {
  uint64_t h;
  char *s;
} subj_t;

typedef struct city {
  _Atomic uint64_t h;       /* 0 empty, 1 being written, else the name's hash */
  char name[WD_DETECT_CITY_MAX];
} city_t;

struct wd_tracker {
  wd_detect_config_t cfg;   /* lists point at the copies below */
  uint32_t *asns;           /* sorted */
  cidr_t *cidrs;
  subj_t *subjects;         /* sorted by hash */
  uint64_t seed_key, seed_net, seed_misc;
  unsigned shard_bits;      /* log2(shards) */
  uint64_t shard_max;       /* tokens per shard */
  uint64_t detail_max;
  _Atomic uint64_t detail_used;
  city_t *cities;
  shard_t *shards;
};

/* ---- small helpers ---- */

static uint16_t clamp16(int64_t v) { return v < 0 ? 0 : v > 65535 ? 65535 : (uint16_t)v; }
static unsigned popcount8(unsigned x) { return (unsigned)__builtin_popcount(x & 0xFF); }

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_subj(const void *a, const void *b) {
  uint64_t x = ((const subj_t *)a)->h, y = ((const subj_t *)b)->h;
  return x < y ? -1 : x > y;
}

static uint64_t key_hash(const wd_tracker_t *t, const char *s, size_t n) {
  uint64_t h = wd__hash64(t->seed_key, s, n);
  return h ? h : 1;
}

/* The shard of a key: its hash's top bits (chains use the low bits). */
static shard_t *shard_of(wd_tracker_t *t, uint64_t key) {
  return &t->shards[t->shard_bits ? key >> (64 - t->shard_bits) : 0];
}

/* ---- cities ---- */

static uint16_t city_id(wd_tracker_t *t, const char *name) {
  if (!name || !*name)
    return 0;
  size_t n = strnlen(name, WD_DETECT_CITY_MAX - 1);
  uint64_t h = wd__hash64(t->seed_misc, name, n);
  if (h < 2)
    h += 2;
  uint32_t i = (uint32_t)h & (CITY_CAP - 1);
  for (int probe = 0; probe < CITY_PROBES;) {
    city_t *e = &t->cities[i];
    uint64_t v = atomic_load_explicit(&e->h, memory_order_acquire);
    if (v == 0) {
      uint64_t zero = 0;
      if (!atomic_compare_exchange_strong(&e->h, &zero, 1))
        continue; /* another writer took it: look again */
      memcpy(e->name, name, n);
      e->name[n] = '\0';
      atomic_store_explicit(&e->h, h, memory_order_release);
      return (uint16_t)(i + 1);
    }
    if (v == h && memcmp(e->name, name, n) == 0 && e->name[n] == '\0')
      return (uint16_t)(i + 1);
    i = (i + 1) & (CITY_CAP - 1);
    probe++;
  }
  return 0; /* full around here: the explanation falls back to the country */
}

static const char *city_name(const wd_tracker_t *t, uint16_t id) {
  if (!id || id > CITY_CAP)
    return "";
  const city_t *e = &t->cities[id - 1];
  return atomic_load_explicit(&((city_t *)e)->h, memory_order_acquire) >= 2 ? e->name : "";
}

/* ---- create / destroy ---- */

void wd_observation_init(wd_observation_t *o) { memset(o, 0, sizeof *o); }

int wd_detect_is_segment(const char *path) {
  static const char *const ext[] = {"ts",  "m4s",  "mp4",  "m4v",  "m4a",    "mp3",  "aac", "ac3",
                                    "ec3", "cmfv", "cmfa", "cmft", "webvtt", "fmp4", "vtt"};
  if (!path)
    return 0;
  size_t n = strcspn(path, "?#");
  size_t dot = n;
  while (dot > 0 && path[dot - 1] != '.' && path[dot - 1] != '/')
    dot--;
  if (dot == 0 || path[dot - 1] != '.')
    return 0;
  size_t elen = n - dot;
  for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
    if (strlen(ext[i]) == elen && strncasecmp(path + dot, ext[i], elen) == 0)
      return 1;
  return 0;
}

void wd_tracker_destroy(wd_tracker_t *t) {
  if (!t)
    return;
  if (t->shards) {
    for (unsigned i = 0; i < t->cfg.shards; i++) {
      shard_t *s = &t->shards[i];
      for (uint32_t k = 0; k < s->nchunks; k++)
        free(s->chunks[k]);
      for (uint32_t k = 0; k < s->ndchunks; k++)
        free(s->dchunks[k]);
      free(s->chunks);
      free(s->dchunks);
      free(s->heads);
      pthread_mutex_destroy(&s->mu);
    }
    free(t->shards);
  }
  for (size_t i = 0; i < t->cfg.nallow_subjects; i++)
    free(t->subjects[i].s);
  free(t->subjects);
  free(t->asns);
  free(t->cidrs);
  free(t->cities);
  free(t);
}

int wd_tracker_create(const wd_detect_config_t *c, wd_tracker_t **out) {
  if (!out || wd_detect_config_check(c, NULL, 0) != 0)
    return WD_EINVAL;
  wd_tracker_t *t = calloc(1, sizeof *t);
  if (!t)
    return WD_ENOMEM;
  int rc = WD_ENOMEM;
  t->cfg = *c;
  t->cfg.allow_asns = NULL;
  t->cfg.allow_cidrs = NULL;
  t->cfg.allow_subjects = NULL;
  size_t na = c->nallow_asns, nc = c->nallow_cidrs, ns = c->nallow_subjects;
  t->cfg.nallow_asns = t->cfg.nallow_cidrs = t->cfg.nallow_subjects = 0;

  uint64_t seed = c->seed;
  if (!seed && getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
    seed = (uint64_t)(uintptr_t)t ^ 0x9e3779b97f4a7c15ULL;
  t->seed_key = wd__hash64(seed, "key", 3);
  t->seed_net = wd__hash64(seed, "net", 3);
  t->seed_misc = wd__hash64(seed, "misc", 4);

  if (na) {
    if (!(t->asns = malloc(na * sizeof *t->asns)))
      goto fail;
    memcpy(t->asns, c->allow_asns, na * sizeof *t->asns);
    qsort(t->asns, na, sizeof *t->asns, cmp_u32);
    t->cfg.nallow_asns = na;
  }
  if (nc) {
    if (!(t->cidrs = malloc(nc * sizeof *t->cidrs)))
      goto fail;
    for (size_t i = 0; i < nc; i++)
      wd_cidr_parse(c->allow_cidrs[i], strlen(c->allow_cidrs[i]), &t->cidrs[i].net,
                    &t->cidrs[i].plen);
    t->cfg.nallow_cidrs = nc;
  }
  if (ns) {
    if (!(t->subjects = calloc(ns, sizeof *t->subjects)))
      goto fail;
    t->cfg.nallow_subjects = ns;
    for (size_t i = 0; i < ns; i++) {
      if (!(t->subjects[i].s = strdup(c->allow_subjects[i])))
        goto fail;
      t->subjects[i].h = wd__hash64(t->seed_misc, c->allow_subjects[i], strlen(c->allow_subjects[i]));
    }
    qsort(t->subjects, ns, sizeof *t->subjects, cmp_subj);
  }

  unsigned bits = 0;
  while ((1u << bits) < c->shards)
    bits++;
  t->shard_bits = bits;
  t->shard_max = (c->max_tokens + c->shards - 1) / c->shards;
  t->detail_max = c->max_detail ? c->max_detail : c->max_tokens / 16;
  if (t->detail_max < 1024 && !c->max_detail)
    t->detail_max = 1024;
  if (!(t->cities = calloc(CITY_CAP, sizeof *t->cities)))
    goto fail;
  if (!(t->shards = aligned_alloc(64, c->shards * sizeof *t->shards)))
    goto fail;
  memset(t->shards, 0, c->shards * sizeof *t->shards);
  for (unsigned i = 0; i < c->shards; i++)
    pthread_mutex_init(&t->shards[i].mu, NULL);
  *out = t;
  return 0;
fail:
  wd_tracker_destroy(t);
  return rc;
}

/* ---- records ---- */

static dt_slot_t *slot_at(shard_t *s, uint32_t idx) { return &s->chunks[idx / CHUNK][idx % CHUNK]; }
static dt_detail_t *detail_at(shard_t *s, uint32_t idx) {
  return &s->dchunks[idx / DCHUNK][idx % DCHUNK];
}

static dt_slot_t *find(shard_t *s, uint64_t key) {
  if (!s->nheads)
    return NULL;
  for (uint32_t i = s->heads[key & (s->nheads - 1)]; i;) {
    dt_slot_t *e = slot_at(s, i - 1);
    if (e->key == key)
      return e;
    i = e->next;
  }
  return NULL;
}

/* Double the chain heads (or create them). Returns 0 or WD_ENOMEM (the old heads stay). */
static int grow_heads(shard_t *s) {
  uint32_t n = s->nheads ? s->nheads * 2 : MIN_BUCKETS;
  uint32_t *h = calloc(n, sizeof *h);
  if (!h)
    return WD_ENOMEM;
  for (uint32_t i = 0; i < s->used; i++) {
    dt_slot_t *e = slot_at(s, i);
    if (!e->key)
      continue;
    uint32_t b = e->key & (n - 1);
    e->next = h[b];
    h[b] = i + 1;
  }
  free(s->heads);
  s->heads = h;
  s->nheads = n;
  return 0;
}

/* A fresh record for key, linked in; NULL when out of memory. */
static dt_slot_t *insert(shard_t *s, uint64_t key) {
  if ((s->n + 1 > s->nheads) && grow_heads(s) != 0 && !s->nheads)
    return NULL;
  uint32_t idx;
  if (s->free) {
    idx = s->free - 1;
    s->free = slot_at(s, idx)->next;
  } else {
    if (s->used == s->nchunks * CHUNK) {
      if (s->nchunks == s->capchunks) {
        uint32_t cap = s->capchunks ? s->capchunks * 2 : 4;
        dt_slot_t **c = realloc(s->chunks, cap * sizeof *c);
        if (!c)
          return NULL;
        s->chunks = c;
        s->capchunks = cap;
      }
      if (!(s->chunks[s->nchunks] = calloc(CHUNK, sizeof(dt_slot_t))))
        return NULL;
      s->nchunks++;
    }
    idx = s->used++;
  }
  dt_slot_t *e = slot_at(s, idx);
  memset(e, 0, sizeof *e);
  e->key = key;
  uint32_t b = key & (s->nheads - 1);
  e->next = s->heads[b];
  s->heads[b] = idx + 1;
  s->n++;
  return e;
}

static dt_detail_t *detail_of(shard_t *s, const dt_slot_t *e) {
  return e->flags & DT_PROMOTED ? detail_at(s, e->u.ext - 1) : NULL;
}

static void detail_free(wd_tracker_t *t, shard_t *s, dt_slot_t *e) {
  if (!(e->flags & DT_PROMOTED))
    return;
  uint32_t idx = e->u.ext - 1;
  detail_at(s, idx)->next = s->dfree;
  s->dfree = idx + 1;
  s->ndetail--;
  atomic_fetch_sub(&t->detail_used, 1);
  e->flags &= (uint8_t)~DT_PROMOTED;
  memset(&e->u, 0, sizeof e->u);
}

/* A zeroed detail record, or NULL when the pool is full or memory is short. */
static dt_detail_t *detail_new(wd_tracker_t *t, shard_t *s, uint32_t *idx_out) {
  if (atomic_fetch_add(&t->detail_used, 1) >= t->detail_max) {
    atomic_fetch_sub(&t->detail_used, 1);
    return NULL;
  }
  uint32_t idx;
  if (s->dfree) {
    idx = s->dfree - 1;
    s->dfree = detail_at(s, idx)->next;
  } else {
    if (s->dused == s->ndchunks * DCHUNK) {
      if (s->ndchunks == s->capdchunks) {
        uint32_t cap = s->capdchunks ? s->capdchunks * 2 : 4;
        dt_detail_t **c = realloc(s->dchunks, cap * sizeof *c);
        if (!c)
          goto nomem;
        s->dchunks = c;
        s->capdchunks = cap;
      }
      if (!(s->dchunks[s->ndchunks] = malloc(DCHUNK * sizeof(dt_detail_t))))
        goto nomem;
      s->ndchunks++;
    }
    idx = s->dused++;
  }
  dt_detail_t *d = detail_at(s, idx);
  memset(d, 0, sizeof *d);
  for (int i = 0; i < DT_NETS; i++)
    d->net[i].lat = d->net[i].lon = DT_NOWHERE;
  s->ndetail++;
  *idx_out = idx;
  return d;
nomem:
  atomic_fetch_sub(&t->detail_used, 1);
  return NULL;
}

/* Unlink and free a record. */
static void remove_slot(wd_tracker_t *t, shard_t *s, dt_slot_t *e, uint32_t idx) {
  uint32_t *p = &s->heads[e->key & (s->nheads - 1)];
  while (*p && *p != idx + 1)
    p = &slot_at(s, *p - 1)->next;
  if (*p)
    *p = e->next;
  detail_free(t, s, e);
  memset(e, 0, sizeof *e);
  e->next = s->free;
  s->free = idx + 1;
  s->n--;
}

/* Drop expired records of one shard (lock held); returns how many. */
static uint64_t sweep(wd_tracker_t *t, shard_t *s, uint32_t now_s) {
  uint64_t k = 0;
  for (uint32_t i = 0; i < s->used; i++) {
    dt_slot_t *e = slot_at(s, i);
    if (e->key && e->expires <= now_s) {
      remove_slot(t, s, e, i);
      k++;
    }
  }
  return k;
}

/* ---- the record's clock ---- */

static void shift(uint16_t *v, uint32_t d) { *v = *v > d ? (uint16_t)(*v - d) : 0; }

/* Move the record's time origin forward by d seconds. */
static void rebase(dt_slot_t *e, dt_detail_t *d, uint32_t delta) {
  e->base += delta;
  shift(&e->win, delta);
  shift(&e->loc_t, delta);
  if (d) {
    for (int i = 0; i < DT_NETS; i++) {
      shift(&d->net[i].first, delta);
      shift(&d->net[i].last, delta);
    }
    for (int i = 0; i < DT_SEGS; i++)
      shift(&d->seg[i].t, delta);
    if (d->travel.km && d->travel.at < delta)
      d->travel.km = 0;
    shift(&d->travel.at, delta);
  } else {
    for (int i = 0; i < 2; i++) {
      shift(&e->u.net[i].first, delta);
      shift(&e->u.net[i].last, delta);
    }
  }
}

/* The latest time recorded for any network. */
static int32_t latest(const dt_slot_t *e, const dt_detail_t *d) {
  int32_t m = 0;
  for (int i = 0; i < (d ? DT_NETS : 2); i++) {
    uint32_t fp = d ? d->net[i].fp : e->u.net[i].fp;
    int32_t l = d ? d->net[i].last : e->u.net[i].last;
    if (fp && l > m)
      m = l;
  }
  return m;
}

/* Convert an absolute time to the record's clock, re-basing when needed. */
static int32_t record_time(const wd_tracker_t *t, dt_slot_t *e, dt_detail_t *d, uint32_t now_s) {
  int64_t rel = (int64_t)now_s - e->base;
  if (rel > REBASE_AT) {
    int64_t keep = 2 * (int64_t)t->cfg.window_s + 60;
    rebase(e, d, (uint32_t)(rel - keep));
    rel = keep;
  }
  if (rel < 0)
    rel = 0;
  int32_t l = latest(e, d);
  return rel < l ? l : (int32_t)rel;
}

/* Roll the rate window to now. */
static void roll(const wd_tracker_t *t, dt_slot_t *e, int32_t now) {
  int32_t w = (int32_t)t->cfg.window_s, age = now - e->win;
  if (age >= 2 * w || age < 0) {
    e->req_cur = e->req_prev = 0;
    e->ua_cur = e->ua_prev = e->over_cur = e->over_prev = 0;
    e->win = clamp16(now);
  } else if (age >= w) {
    e->req_prev = e->req_cur;
    e->ua_prev = e->ua_cur;
    e->over_prev = e->over_cur;
    e->req_cur = 0;
    e->ua_cur = e->over_cur = 0;
    e->win = clamp16(e->win + w);
  }
}

/* ---- the view the judgement sees ---- */

static void place_of(const wd_tracker_t *t, wd_detect_place_t *p, uint16_t city, unsigned cc,
                     int16_t lat, int16_t lon) {
  snprintf(p->city, sizeof p->city, "%s", city_name(t, city));
  wd__dt_country_unpack(cc, p->country);
  p->lat = wd__dt_lat_unpack(lat);
  p->lon = wd__dt_lon_unpack(lon);
}

/* Build the view at `now` (record clock); idx_map (when not NULL) receives the view index of
 * each stored network (-1: not live). */
static void make_view(const wd_tracker_t *t, const dt_slot_t *e, const dt_detail_t *d,
                      int32_t now, dt_view_t *v, int idx_map[DT_NETS]) {
  memset(v, 0, sizeof *v);
  int32_t w = (int32_t)t->cfg.window_s;
  v->now = now;
  int map[DT_NETS];
  for (int i = 0; i < (d ? DT_NETS : 2); i++) {
    map[i] = -1;
    uint32_t fp = d ? d->net[i].fp : e->u.net[i].fp;
    int32_t first = d ? d->net[i].first : e->u.net[i].first;
    int32_t last = d ? d->net[i].last : e->u.net[i].last;
    if (!fp || last < now - w)
      continue;
    map[i] = (int)v->n;
    v->net[v->n++] = (dt_vnet_t){fp, d ? d->net[i].asn : e->u.net[i].asn, first, last};
  }
  if (idx_map)
    for (int i = 0; i < DT_NETS; i++)
      idx_map[i] = i < (d ? DT_NETS : 2) ? map[i] : -1;
  double frac = 1.0 - (double)(now - e->win) / w;
  if (frac < 0)
    frac = 0;
  v->requests = e->req_cur + e->req_prev * frac;
  v->user_agents = popcount8(e->ua_cur | e->ua_prev);
  if (d) {
    /* the last user agent of each network in the window: exact where the bits collide */
    uint16_t seen[DT_NETS];
    unsigned k = 0;
    for (int i = 0; i < DT_NETS; i++) {
      if (map[i] < 0 || !d->net[i].ua)
        continue;
      unsigned j = 0;
      while (j < k && seen[j] != d->net[i].ua)
        j++;
      if (j == k)
        seen[k++] = d->net[i].ua;
    }
    if (k > v->user_agents)
      v->user_agents = k;
  }
  v->over = popcount8(e->over_cur | e->over_prev);
  if (d) {
    for (int s = 0; s < DT_SEGS; s++) {
      if (!d->seg[s].h || d->seg[s].t < now - w)
        continue;
      unsigned m = 0;
      for (int i = 0; i < DT_NETS; i++)
        if ((d->seg[s].nets >> i & 1) && map[i] >= 0)
          m |= 1u << map[i];
      v->seg_nets[v->nsegs++] = (uint8_t)m;
      if (popcount8(d->seg[s].paths) > v->renditions)
        v->renditions = popcount8(d->seg[s].paths);
    }
    const dt_travel_t *tr = &d->travel;
    if (tr->km && tr->at >= now - w) {
      v->travel = 1;
      v->travel_km = tr->km;
      v->travel_s = tr->secs;
      place_of(t, &v->from, tr->from_city, tr->from_cc, tr->from_lat, tr->from_lon);
      place_of(t, &v->to, tr->to_city, tr->to_cc, tr->to_lat, tr->to_lon);
    }
  }
}

/* ---- observe ---- */

/* What an observation contributes, computed before the lock. */
typedef struct obs {
  uint64_t key;
  uint32_t now_s;
  uint32_t fp, asn;
  uint8_t prefix[8], plen;
  int16_t lat, lon;
  uint16_t city;
  uint32_t seg;             /* 0: not a segment; else the hash of its name (see prepare) */
  uint8_t path;             /* a segment's whole path: one bit of 8 by its hash */
  int32_t prev_last;        /* when the token last used this network (record clock), -1 when
                               not within the window; set by the caller before note_network */
  int ua;                   /* -1: none, else the bit */
  uint16_t ua16;            /* the user agent's 16-bit hash (never 0), 0 none */
} obs_t;

static void prefix_of(const wd_tracker_t *t, const wd_observation_t *o, obs_t *ob) {
  uint8_t a[16];
  int family = o->family;
  memcpy(a, o->addr, 16);
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family == 6 && memcmp(a, mapped, 12) == 0) {
    memmove(a, a + 12, 4);
    memset(a + 4, 0, 12);
    family = 4;
  }
  int plen = family == 4 ? t->cfg.v4_prefix : t->cfg.v6_prefix;
  int bytes = family == 4 ? 4 : 16;
  for (int i = 0; i < bytes; i++) {
    int keep = plen - 8 * i;
    if (keep <= 0)
      a[i] = 0;
    else if (keep < 8)
      a[i] &= (uint8_t)(0xFF << (8 - keep));
  }
  uint8_t buf[17];
  buf[0] = (uint8_t)family;
  memcpy(buf + 1, a, (size_t)bytes);
  uint32_t h = (uint32_t)wd__hash64(t->seed_net, buf, (size_t)bytes + 1) & DT_FP_HASH;
  if (!h)
    h = 1;
  unsigned cc = o->geo ? wd__dt_country_pack(o->geo->country) : 0;
  ob->fp = h | (family == 6 ? DT_FP_V6 : 0) | (uint32_t)cc << DT_FP_COUNTRY_SHIFT;
  memcpy(ob->prefix, a, 8);
  ob->plen = (uint8_t)(plen > 64 ? 64 : plen);
}

/* Two fingerprints of one prefix (the country may differ: the geo data changed). */
static int same_prefix(uint32_t a, uint32_t b) { return ((a ^ b) & (DT_FP_HASH | DT_FP_V6)) == 0; }

/* Find or place the observation's network in the inline pair. Returns its index, or -1 when
 * both are in use within the window (promote, or displace when the pool is full). */
static int inline_net(dt_slot_t *e, const obs_t *ob, int32_t now, int32_t w) {
  int empty = -1, stale = -1;
  for (int i = 0; i < 2; i++) {
    const dt_net1_t *n = &e->u.net[i];
    if (n->fp && same_prefix(n->fp, ob->fp))
      return i;
    if (!n->fp) {
      if (empty < 0)
        empty = i;
    } else if (n->last < now - w && (stale < 0 || n->last < e->u.net[stale].last)) {
      stale = i;
    }
  }
  int k = empty >= 0 ? empty : stale;
  if (k < 0)
    return -1;
  if (e->loc_net == k)
    e->loc_net = 0xFF;
  e->u.net[k] = (dt_net1_t){ob->fp, ob->asn, clamp16(now), clamp16(now)};
  return k;
}

/* Find or place the observation's network in a detail record: an empty entry, else the least
 * recently seen (*displaced: its fingerprint when it was still in the window, else 0). */
static int detail_net(dt_slot_t *e, dt_detail_t *d, const obs_t *ob, int32_t now, int32_t w,
                      uint32_t *displaced) {
  int empty = -1, lru = -1;
  *displaced = 0;
  for (int i = 0; i < DT_NETS; i++) {
    dt_net_t *n = &d->net[i];
    if (n->fp && same_prefix(n->fp, ob->fp))
      return i;
    if (!n->fp) {
      if (empty < 0)
        empty = i;
    } else if (lru < 0 || n->last < d->net[lru].last) {
      lru = i;
    }
  }
  int k = empty >= 0 ? empty : lru;
  *displaced = empty < 0 && d->net[k].last >= now - w ? d->net[k].fp : 0;
  for (int s = 0; s < DT_SEGS; s++)
    d->seg[s].nets &= (uint8_t)~(1u << k);
  if (e->loc_net == k)
    e->loc_net = 0xFF;
  dt_net_t *n = &d->net[k];
  memset(n, 0, sizeof *n);
  n->fp = ob->fp;
  n->asn = ob->asn;
  n->first = n->last = clamp16(now);
  n->lat = n->lon = DT_NOWHERE;
  memcpy(n->prefix, ob->prefix, 8);
  n->plen = ob->plen;
  return k;
}

/* Move the inline networks into a new detail record; 0, or -1 when the pool is full. */
static int promote(wd_tracker_t *t, shard_t *s, dt_slot_t *e) {
  uint32_t idx;
  dt_detail_t *d = detail_new(t, s, &idx);
  if (!d)
    return -1;
  for (int i = 0; i < 2; i++) {
    const dt_net1_t *n = &e->u.net[i];
    d->net[i].fp = n->fp;
    d->net[i].asn = n->asn;
    d->net[i].first = n->first;
    d->net[i].last = n->last;
  }
  if (e->loc_net < 2 && d->net[e->loc_net].fp) {
    d->net[e->loc_net].lat = e->loc_lat;
    d->net[e->loc_net].lon = e->loc_lon;
    d->net[e->loc_net].city = e->loc_city;
  }
  int32_t first = latest(e, NULL);
  for (int i = 0; i < 2; i++)
    if (e->u.net[i].fp && e->u.net[i].first < first)
      first = e->u.net[i].first;
  d->first_seen = e->base + (uint32_t)first;
  e->flags |= DT_PROMOTED;
  e->u.ext = idx + 1;
  return 0;
}

/* Back to inline with the live networks (the caller checked there are at most two and that
 * nothing else needs the record: the verdict is OK and no travel is in the window). */
static void demote(wd_tracker_t *t, shard_t *s, dt_slot_t *e, int32_t now) {
  dt_detail_t *d = detail_of(s, e);
  int32_t w = (int32_t)t->cfg.window_s;
  dt_net1_t keep[2];
  memset(keep, 0, sizeof keep);
  int k = 0, loc = 0xFF;
  for (int i = 0; i < DT_NETS && k < 2; i++) {
    const dt_net_t *n = &d->net[i];
    if (!n->fp || n->last < now - w)
      continue;
    if (e->loc_net == i)
      loc = k;
    keep[k++] = (dt_net1_t){n->fp, n->asn, n->first, n->last};
  }
  detail_free(t, s, e);
  memcpy(e->u.net, keep, sizeof keep);
  e->loc_net = (uint8_t)loc;
}

/* A record (re)started at now_s: everything cleared but its key and chain link. */
static void slot_start(dt_slot_t *e, uint32_t now_s) {
  uint64_t key = e->key;
  uint32_t next = e->next;
  memset(e, 0, sizeof *e);
  e->key = key;
  e->next = next;
  e->base = now_s;
  e->loc_lat = e->loc_lon = DT_NOWHERE;
  e->loc_net = 0xFF;
}

/* Count the observation's network: inline while the token has at most two in the window, in
 * its detail record beyond (created here), or displacing the older inline one when the pool is
 * full. Returns the network's index (inline or detail). */
static int note_network(wd_tracker_t *t, shard_t *s, dt_slot_t *e, const obs_t *ob,
                        int32_t now) {
  int32_t w = (int32_t)t->cfg.window_s;
  dt_detail_t *d = detail_of(s, e);
  int k = d ? -1 : inline_net(e, ob, now, w);
  if (k >= 0) {
    dt_net1_t *n = &e->u.net[k];
    n->last = clamp16(now);
    if (!n->asn)
      n->asn = ob->asn;
    if (!dt_fp_country(n->fp))
      n->fp = ob->fp;
    return k;
  }
  if (!d && promote(t, s, e) == 0)
    d = detail_of(s, e);
  if (!d) {
    /* pool full: keep the two most recent networks, one bit for the one displaced */
    s->degraded++;
    k = e->u.net[0].last <= e->u.net[1].last ? 0 : 1;
    e->over_cur |= (uint8_t)(1u << (e->u.net[k].fp & 7));
    e->u.net[k] = (dt_net1_t){ob->fp, ob->asn, clamp16(now), clamp16(now)};
    if (e->loc_net == k)
      e->loc_net = 0xFF;
    return k;
  }
  uint32_t displaced;
  k = detail_net(e, d, ob, now, w, &displaced);
  if (displaced)
    e->over_cur |= (uint8_t)(1u << (displaced & 7));
  dt_net_t *n = &d->net[k];
  n->last = clamp16(now);
  if (!n->asn)
    n->asn = ob->asn;
  if (!dt_fp_country(n->fp))
    n->fp = ob->fp;
  if (!n->plen) {
    memcpy(n->prefix, ob->prefix, 8);
    n->plen = ob->plen;
  }
  if (n->nreq < UINT16_MAX)
    n->nreq++;
  if (ob->ua16)
    n->ua = ob->ua16;
  if (ob->lat != DT_NOWHERE) {
    n->lat = ob->lat;
    n->lon = ob->lon;
    n->city = ob->city;
  }
  return k;
}

/* Note that detail network k fetched segment `seg` under the path bit `path`: the live entry
 * for it, else an empty one, else the oldest. */
static void note_segment(dt_detail_t *d, uint32_t seg, uint8_t path, int k, int32_t now,
                         int32_t w) {
  int slot = -1, victim = 0;
  for (int i = 0; i < DT_SEGS; i++) {
    const dt_seg_t *g = &d->seg[i];
    if (g->h == seg && g->t >= now - w) {
      slot = i;
      break;
    }
    int32_t ri = g->h ? g->t + 1 : 0, rv = d->seg[victim].h ? d->seg[victim].t + 1 : 0;
    if (ri < rv)
      victim = i;
  }
  if (slot < 0) {
    slot = victim;
    d->seg[slot] = (dt_seg_t){seg, 0, 0, 0};
  }
  d->seg[slot].t = clamp16(now);
  d->seg[slot].nets |= (uint8_t)(1u << k);
  d->seg[slot].paths |= path;
}

/* Whether network j (the last location's) and the observation's network k were in use at the
 * same time: k before this request (ob->prev_last) and j overlapping by more than a segment
 * duration, as countries at once are counted (verdict.c). A network new to the window, or
 * coming back after j took over, was not. */
static int used_at_once(const wd_tracker_t *t, const dt_slot_t *e, const dt_detail_t *d,
                        const obs_t *ob, int j, int k, int32_t now) {
  int32_t grace = (int32_t)lround(t->cfg.segment_seconds);
  if (grace < 1)
    grace = 1;
  if (ob->prev_last < 0 || ob->prev_last < now - (int32_t)t->cfg.window_s)
    return 0;
  int32_t jf = d ? d->net[j].first : e->u.net[j].first, jl = d ? d->net[j].last : e->u.net[j].last;
  int32_t kf = d ? d->net[k].first : e->u.net[k].first;
  int32_t from = jf > kf ? jf : kf, to = jl < ob->prev_last ? jl : ob->prev_last;
  return from <= to - grace;
}

/* The travel check, for an observation with a location from network netk: against the last
 * location, when it came from another network. Within one known country only when both
 * networks are in use at once: a sequential change there (Wi-Fi to a mobile carrier) is no
 * evidence, since carriers' addresses are placed at their gateways or the country's centre,
 * hundreds of km off. An impossible travel goes into the token's detail record (created for it
 * when the pool allows) and into *v for this observation. The observation's location becomes
 * the last one. */
static void travel(wd_tracker_t *t, shard_t *s, dt_slot_t *e, const obs_t *ob, int netk,
                   int32_t now, dt_view_t *v) {
  const wd_detect_config_t *c = &t->cfg;
  if (e->loc_lat != DT_NOWHERE && c->travel_kmh > 0 && e->loc_net != netk) {
    dt_detail_t *d = detail_of(s, e);
    uint32_t loc_asn = 0;
    unsigned loc_cc = 0;
    if (e->loc_net != 0xFF) {
      uint32_t fp = d ? d->net[e->loc_net].fp : e->u.net[e->loc_net].fp;
      loc_asn = d ? d->net[e->loc_net].asn : e->u.net[e->loc_net].asn;
      loc_cc = dt_fp_country(fp);
    }
    /* one provider's addresses, or a city-level location against a country-level one: the
     * distance is the geolocation's error, not travel */
    int same_asn = loc_asn && loc_asn == ob->asn;
    int one_city = (e->loc_city != 0) != (ob->city != 0);
    int in_turn = loc_cc && loc_cc == dt_fp_country(ob->fp) &&
                  !used_at_once(t, e, d, ob, e->loc_net, netk, now);
    double km = wd__dt_km(wd__dt_lat_unpack(e->loc_lat), wd__dt_lon_unpack(e->loc_lon),
                          wd__dt_lat_unpack(ob->lat), wd__dt_lon_unpack(ob->lon));
    int32_t dt = now - e->loc_t;
    if (dt < 1)
      dt = 1;
    if (!same_asn && !one_city && !in_turn && km >= c->travel_min_km && km >= 1 &&
        km * 3600.0 / dt > c->travel_kmh) {
      dt_travel_t tr = {
          .at = clamp16(now),
          .km = (uint16_t)(km > 65535 ? 65535 : lround(km)),
          .secs = (uint32_t)dt,
          .from_city = e->loc_city,
          .to_city = ob->city,
          .from_cc = (uint16_t)loc_cc,
          .to_cc = (uint16_t)dt_fp_country(ob->fp),
          .from_lat = e->loc_lat,
          .from_lon = e->loc_lon,
          .to_lat = ob->lat,
          .to_lon = ob->lon,
      };
      if (!d && promote(t, s, e) == 0) {
        d = detail_of(s, e);
        d->net[netk].lat = ob->lat;
        d->net[netk].lon = ob->lon;
        d->net[netk].city = ob->city;
      }
      if (d)
        d->travel = tr;
      else
        s->degraded++;
      v->travel = 1;
      v->travel_km = tr.km;
      v->travel_s = tr.secs;
      place_of(t, &v->from, tr.from_city, tr.from_cc, tr.from_lat, tr.from_lon);
      place_of(t, &v->to, tr.to_city, tr.to_cc, tr.to_lat, tr.to_lon);
    }
  }
  e->loc_t = clamp16(now);
  e->loc_lat = ob->lat;
  e->loc_lon = ob->lon;
  e->loc_city = ob->city;
  e->loc_net = (uint8_t)netk;
}

static int allowlisted(const wd_tracker_t *t, const wd_observation_t *o) {
  const wd_detect_config_t *c = &t->cfg;
  if (c->nallow_subjects && o->subject && *o->subject) {
    size_t n = strnlen(o->subject, WD_DETECT_KEY_MAX + 1);
    subj_t k = {wd__hash64(t->seed_misc, o->subject, n), NULL};
    const subj_t *hit = bsearch(&k, t->subjects, c->nallow_subjects, sizeof k, cmp_subj);
    if (hit) {
      /* equal hashes may neighbour the hit */
      while (hit > t->subjects && hit[-1].h == k.h)
        hit--;
      for (; hit < t->subjects + c->nallow_subjects && hit->h == k.h; hit++)
        if (strcmp(hit->s, o->subject) == 0)
          return 1;
    }
  }
  if (c->nallow_asns && o->geo && o->geo->asn &&
      bsearch(&o->geo->asn, t->asns, c->nallow_asns, sizeof *t->asns, cmp_u32))
    return 1;
  if (c->nallow_cidrs) {
    wd_ip_t ip = {o->family, {0}};
    memcpy(ip.a, o->addr, 16);
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (ip.family == 6 && memcmp(ip.a, mapped, 12) == 0) {
      memmove(ip.a, ip.a + 12, 4);
      memset(ip.a + 4, 0, 12);
      ip.family = 4;
    }
    for (size_t i = 0; i < c->nallow_cidrs; i++)
      if (wd_ip_in_prefix(&ip, t->cidrs[i].net.family, t->cidrs[i].net.a, 16, t->cidrs[i].plen))
        return 1;
  }
  return 0;
}

static void verdict_ok(const wd_tracker_t *t, wd_verdict_t *out) {
  memset(out, 0, sizeof *out);
  out->level = WD_VERDICT_OK;
  out->window_s = t ? t->cfg.window_s : 0;
}

/* Everything the observation contributes that needs no lock: hashes, prefix, packed geo. */
static void prepare(wd_tracker_t *t, const wd_observation_t *o, size_t klen, obs_t *ob) {
  memset(ob, 0, sizeof *ob);
  ob->key = key_hash(t, o->key, klen);
  ob->now_s = (uint32_t)(o->now_ms / 1000);
  ob->asn = o->geo ? o->geo->asn : 0;
  prefix_of(t, o, ob);
  if (!ob->asn || ob->asn >= DT_PSEUDO_ASN) {
    uint8_t coarse[5] = {(uint8_t)(ob->fp & DT_FP_V6 ? 6 : 4), ob->prefix[0], ob->prefix[1],
                         0, 0};
    if (ob->fp & DT_FP_V6) {
      coarse[3] = ob->prefix[2];
      coarse[4] = ob->prefix[3];
    }
    ob->asn = DT_PSEUDO_ASN + (uint32_t)(wd__hash64(t->seed_net, coarse, sizeof coarse) %
                                         (UINT32_MAX - DT_PSEUDO_ASN));
  }
  ob->lat = ob->lon = DT_NOWHERE;
  if (o->geo && !isnan(o->geo->lat) && !isnan(o->geo->lon)) {
    ob->lat = wd__dt_lat_pack(o->geo->lat);
    ob->lon = wd__dt_lon_pack(o->geo->lon);
    if (ob->lat == DT_NOWHERE || ob->lon == DT_NOWHERE)
      ob->lat = ob->lon = DT_NOWHERE;
    else
      ob->city = city_id(t, o->geo->city);
  }
  ob->prev_last = -1;
  if (o->segment && *o->segment) {
    /* A segment is known by its file name when that holds a number: the same segment in
     * another rendition sits in a sibling directory (/live/720p/seg12.ts, /live/1080p/seg12.ts).
     * A name without a number (/live/720p/12/media.ts) says nothing: the whole path counts. */
    size_t n = strcspn(o->segment, "?#"), name = n, i;
    while (name > 0 && o->segment[name - 1] != '/')
      name--;
    for (i = name; i < n && (o->segment[i] < '0' || o->segment[i] > '9'); i++)
      ;
    size_t from = i < n ? name : 0;
    ob->seg = (uint32_t)wd__hash64(t->seed_misc, o->segment + from, n - from);
    if (!ob->seg)
      ob->seg = 1;
    ob->path = (uint8_t)(1u << (wd__hash64(t->seed_misc ^ 2, o->segment, n) & 7));
  }
  ob->ua = -1;
  if (o->user_agent && *o->user_agent) {
    uint64_t h = wd__hash64(t->seed_misc ^ 1, o->user_agent, strlen(o->user_agent));
    ob->ua = (int)(h & 7);
    ob->ua16 = (uint16_t)(h >> 48) ? (uint16_t)(h >> 48) : 1;
  }
}

#define MAX_MS ((int64_t)UINT32_MAX * 1000)

/* When the token last used the observation's network (record clock), -1 when not within the
 * window. Called before note_network updates it. */
static int32_t last_use(const wd_tracker_t *t, shard_t *s, const dt_slot_t *e, const obs_t *ob,
                        int32_t now) {
  const dt_detail_t *d = detail_of(s, e);
  for (int i = 0; i < (d ? DT_NETS : 2); i++) {
    uint32_t fp = d ? d->net[i].fp : e->u.net[i].fp;
    int32_t last = d ? d->net[i].last : e->u.net[i].last;
    if (fp && same_prefix(fp, ob->fp))
      return last >= now - (int32_t)t->cfg.window_s ? last : -1;
  }
  return -1;
}

/* A token above BUSY times the real-time rate keeps a detail record, so that its segments show
 * whether the excess is one segment in every rendition (a mirror) or something else. */
#define BUSY 2.0

/* The request rate against real time, judged (unlike the verdict's) over what a token new to
 * the window has done so far, at least three segment durations: a mirror shows within seconds,
 * a player filling its buffer at start-up stays below BUSY. */
static double busy_rate(const wd_detect_config_t *c, const dt_slot_t *e, int32_t now) {
  int32_t w = (int32_t)c->window_s;
  double span = w, frac = 1.0 - (double)(now - e->win) / w;
  if (!e->req_prev) {
    double since = now - e->win, least = 3 * c->segment_seconds;
    span = since < least ? least : since < w ? since : w;
  }
  double requests = e->req_cur + e->req_prev * (frac > 0 ? frac : 0);
  return requests / (span * 2.0 * c->renditions / c->segment_seconds);
}

/* ---- the cluster's view: networks announced to and merged from other nodes ---- */

/* Should the other nodes hear of this observation's network (before it is noted)? Yes when
 * the token had no such network in the window (a first sighting); and, for a token another node
 * has reported too (DT_REMOTE), when the network's use has crossed a half-window boundary
 * counted from its first sighting, so that a network in steady use is announced again about
 * twice a window and never ages out at the other nodes. A token seen at one node only costs
 * one message per network. */
static int announce_due(const wd_tracker_t *t, shard_t *s, const dt_slot_t *e, const obs_t *ob,
                        int32_t now) {
  int32_t w = (int32_t)t->cfg.window_s, half = w / 2 > 0 ? w / 2 : 1;
  const dt_detail_t *d = detail_of(s, e);
  for (int i = 0; i < (d ? DT_NETS : 2); i++) {
    uint32_t fp = d ? d->net[i].fp : e->u.net[i].fp;
    if (!fp || !same_prefix(fp, ob->fp))
      continue;
    int32_t first = d ? d->net[i].first : e->u.net[i].first;
    int32_t last = d ? d->net[i].last : e->u.net[i].last;
    if (last < now - w)
      return 1; /* out of the window: a new sighting */
    return (e->flags & DT_REMOTE) && (now - first) / half > (last - first) / half;
  }
  return 1;
}

int wd_tracker_merge(wd_tracker_t *t, const wd_observation_t *o) {
  if (!t || !o || !o->key)
    return WD_EINVAL;
  size_t klen = strnlen(o->key, WD_DETECT_KEY_MAX + 1);
  if (klen == 0 || klen > WD_DETECT_KEY_MAX || (o->family != 4 && o->family != 6) ||
      o->now_ms < 0 || o->now_ms >= MAX_MS || o->exp < 0)
    return WD_EINVAL;
  if (allowlisted(t, o))
    return 0;
  const wd_detect_config_t *c = &t->cfg;
  obs_t ob;
  wd_observation_t plain = *o;
  plain.segment = NULL;
  plain.user_agent = NULL;
  prepare(t, &plain, klen, &ob);
  if (o->exp > 0 && (uint64_t)o->exp <= ob.now_s)
    return 0;
  shard_t *s = shard_of(t, ob.key);
  pthread_mutex_lock(&s->mu);
  dt_slot_t *e = find(s, ob.key);
  if (e && e->expires <= ob.now_s) {
    detail_free(t, s, e);
    slot_start(e, ob.now_s);
  }
  if (!e) {
    if (s->n >= t->shard_max || !(e = insert(s, ob.key))) {
      s->untracked++;
      pthread_mutex_unlock(&s->mu);
      return 0;
    }
    slot_start(e, ob.now_s);
  }
  dt_detail_t *d = detail_of(s, e);
  int32_t now = record_time(t, e, d, ob.now_s);
  int k = note_network(t, s, e, &ob, now);
  e->flags |= DT_REMOTE;
  if (ob.lat != DT_NOWHERE) {
    dt_view_t tv;
    memset(&tv, 0, sizeof tv);
    travel(t, s, e, &ob, k, now, &tv);
  }
  uint32_t exp = e->base + (uint32_t)now + c->idle_s;
  if (o->exp > 0 && (uint64_t)o->exp < exp)
    exp = (uint32_t)o->exp;
  if (exp > e->expires)
    e->expires = exp;
  pthread_mutex_unlock(&s->mu);
  return 0;
}

int wd_tracker_observe(wd_tracker_t *t, const wd_observation_t *o, wd_verdict_t *out) {
  return wd_tracker_observe_ex(t, o, out, NULL);
}

int wd_tracker_observe_ex(wd_tracker_t *t, const wd_observation_t *o, wd_verdict_t *out,
                          int *announce) {
  if (announce)
    *announce = 0;
  wd_verdict_t scratch;
  if (!out)
    out = &scratch;
  verdict_ok(t, out);
  if (!t || !o || !o->key)
    return WD_EINVAL;
  size_t klen = strnlen(o->key, WD_DETECT_KEY_MAX + 1);
  if (klen == 0 || klen > WD_DETECT_KEY_MAX || (o->family != 4 && o->family != 6) ||
      o->now_ms < 0 || o->now_ms >= MAX_MS || o->exp < 0)
    return WD_EINVAL;
  if (allowlisted(t, o)) {
    out->allowlisted = 1;
    return 0;
  }
  const wd_detect_config_t *c = &t->cfg;
  obs_t ob;
  prepare(t, o, klen, &ob);

  shard_t *s = shard_of(t, ob.key);
  int32_t w = (int32_t)c->window_s;
  pthread_mutex_lock(&s->mu);
  s->observations++;
  dt_slot_t *e = find(s, ob.key);
  if (e && e->expires <= ob.now_s) {
    /* expired or idle: start again */
    detail_free(t, s, e);
    slot_start(e, ob.now_s);
  }
  if (!e) {
    if (s->n >= t->shard_max && s->last_sweep != ob.now_s) {
      s->last_sweep = ob.now_s;
      sweep(t, s, ob.now_s);
    }
    if (s->n >= t->shard_max || !(e = insert(s, ob.key))) {
      s->untracked++;
      pthread_mutex_unlock(&s->mu);
      out->untracked = 1;
      return 0;
    }
    slot_start(e, ob.now_s);
  }
  dt_detail_t *d = detail_of(s, e);
  int32_t now = record_time(t, e, d, ob.now_s);
  roll(t, e, now);
  if (e->req_cur < UINT16_MAX)
    e->req_cur++;
  if (ob.ua >= 0)
    e->ua_cur |= (uint8_t)(1u << ob.ua);

  if (announce)
    *announce = announce_due(t, s, e, &ob, now);
  ob.prev_last = last_use(t, s, e, &ob, now);
  int k = note_network(t, s, e, &ob, now);
  d = detail_of(s, e);
  int busy = c->mirror_renditions && busy_rate(c, e, now) > BUSY;
  if (busy && !d && ob.seg && promote(t, s, e) == 0)
    d = detail_of(s, e);
  if (d && ob.seg)
    note_segment(d, ob.seg, ob.path, k, now, w);

  dt_view_t v;
  dt_view_t tv; /* the travel found by this observation, when the record cannot keep it */
  memset(&tv, 0, sizeof tv);
  if (ob.lat != DT_NOWHERE)
    travel(t, s, e, &ob, k, now, &tv);
  d = detail_of(s, e);
  make_view(t, e, d, now, &v, NULL);
  if (tv.travel && !v.travel) {
    v.travel = 1;
    v.travel_km = tv.travel_km;
    v.travel_s = tv.travel_s;
    v.from = tv.from;
    v.to = tv.to;
  }
  uint32_t exp = e->base + (uint32_t)now + c->idle_s; /* now: the token's latest time */
  if (o->exp > 0 && (uint64_t)o->exp < exp)
    exp = (uint32_t)o->exp;
  e->expires = exp;
  wd__detect_judge(c, &v, out);
  if (d && out->level == WD_VERDICT_OK && v.n <= 2 && !v.travel && !busy)
    demote(t, s, e, now);
  pthread_mutex_unlock(&s->mu);
  return 0;
}

/* ---- get, expire, stats ---- */

int wd_tracker_get(wd_tracker_t *t, const char *key, int64_t now_ms, wd_detect_evidence_t *out) {
  if (!t || !key || !out || now_ms < 0 || now_ms >= MAX_MS)
    return WD_EINVAL;
  size_t klen = strnlen(key, WD_DETECT_KEY_MAX + 1);
  if (klen == 0 || klen > WD_DETECT_KEY_MAX)
    return WD_EINVAL;
  uint64_t h = key_hash(t, key, klen);
  uint32_t now_s = (uint32_t)(now_ms / 1000);
  shard_t *s = shard_of(t, h);
  pthread_mutex_lock(&s->mu);
  dt_slot_t *found = find(s, h);
  if (!found || found->expires <= now_s) {
    pthread_mutex_unlock(&s->mu);
    return WD_ENOTOKEN;
  }
  /* work on copies: looking does not change the record */
  dt_slot_t e = *found;
  dt_detail_t dcopy, *d = NULL;
  if (found->flags & DT_PROMOTED) {
    dcopy = *detail_of(s, found);
    d = &dcopy;
  }
  pthread_mutex_unlock(&s->mu);

  memset(out, 0, sizeof *out);
  int32_t now = record_time(t, &e, d, now_s);
  roll(t, &e, now);
  dt_view_t v;
  int map[DT_NETS];
  make_view(t, &e, d, now, &v, map);
  wd__detect_judge(&t->cfg, &v, &out->verdict);
  out->first_seen = d ? d->first_seen : 0;
  out->last_seen = (int64_t)e.base + latest(&e, d);
  out->expires = e.expires;
  /* live networks, most recent first */
  int order[DT_NETS], n = 0;
  for (int i = 0; i < DT_NETS; i++)
    if (map[i] >= 0)
      order[n++] = i;
  for (int a = 1; a < n; a++)
    for (int b = a; b > 0; b--) {
      int x = order[b - 1], y = order[b];
      int32_t lx = d ? d->net[x].last : e.u.net[x].last, ly = d ? d->net[y].last : e.u.net[y].last;
      if (lx >= ly)
        break;
      order[b - 1] = y;
      order[b] = x;
    }
  for (int i = 0; i < n && i < WD_DETECT_EVIDENCE_NETS; i++) {
    wd_detect_network_t *nw = &out->networks[out->nnetworks++];
    int k = order[i];
    uint32_t fp = d ? d->net[k].fp : e.u.net[k].fp;
    nw->family = dt_fp_family(fp);
    nw->asn = d ? d->net[k].asn : e.u.net[k].asn;
    if (!dt_asn_known(nw->asn))
      nw->asn = 0;
    wd__dt_country_unpack(dt_fp_country(fp), nw->country);
    nw->first = (int64_t)e.base + (d ? d->net[k].first : e.u.net[k].first);
    nw->last = (int64_t)e.base + (d ? d->net[k].last : e.u.net[k].last);
    nw->lat = nw->lon = NAN;
    if (d) {
      const dt_net_t *dn = &d->net[k];
      nw->prefix_len = dn->plen;
      memcpy(nw->prefix, dn->prefix, nw->family == 4 ? 4 : 8);
      nw->requests = dn->nreq;
      nw->lat = wd__dt_lat_unpack(dn->lat);
      nw->lon = wd__dt_lon_unpack(dn->lon);
      snprintf(nw->city, sizeof nw->city, "%s", city_name(t, dn->city));
    }
  }
  out->more_networks = v.over;
  wd_detect_explain(&out->verdict, out->explanation, sizeof out->explanation);
  return 0;
}

uint64_t wd_tracker_expire(wd_tracker_t *t, int64_t now_ms) {
  if (!t || now_ms < 0)
    return 0;
  uint32_t now_s = now_ms >= MAX_MS ? UINT32_MAX : (uint32_t)(now_ms / 1000);
  uint64_t k = 0;
  for (unsigned i = 0; i < t->cfg.shards; i++) {
    shard_t *s = &t->shards[i];
    pthread_mutex_lock(&s->mu);
    k += sweep(t, s, now_s);
    pthread_mutex_unlock(&s->mu);
  }
  return k;
}

void wd_tracker_stats(wd_tracker_t *t, wd_tracker_stats_t *out) {
  memset(out, 0, sizeof *out);
  if (!t)
    return;
  out->bytes = sizeof *t + t->cfg.shards * sizeof(shard_t) + CITY_CAP * sizeof(city_t) +
               t->cfg.nallow_asns * sizeof(uint32_t) + t->cfg.nallow_cidrs * sizeof(cidr_t) +
               t->cfg.nallow_subjects * (sizeof(subj_t) + 32);
  for (unsigned i = 0; i < t->cfg.shards; i++) {
    shard_t *s = &t->shards[i];
    pthread_mutex_lock(&s->mu);
    out->tokens += s->n;
    out->detailed += s->ndetail;
    out->token_bytes += (uint64_t)s->nheads * sizeof(uint32_t) +
                        (uint64_t)s->nchunks * CHUNK * sizeof(dt_slot_t) +
                        (uint64_t)s->capchunks * sizeof(void *);
    out->detail_bytes += (uint64_t)s->ndchunks * DCHUNK * sizeof(dt_detail_t) +
                         (uint64_t)s->capdchunks * sizeof(void *);
    out->observations += s->observations;
    out->untracked += s->untracked;
    out->degraded += s->degraded;
    pthread_mutex_unlock(&s->mu);
  }
  out->bytes += out->token_bytes + out->detail_bytes;
}
