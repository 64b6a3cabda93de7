/* The ban list's lock-free in-memory index: hash table and CIDR snapshots; see index.h. */
#include "ban/index.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "ban/hash.h"
#include "warden/error.h"

#define SLOT_EMPTY 0u
#define SLOT_TOMB 1u
#define MIN_CAP 1024u
#define MAX_FILL_PCT 85u    /* live + tombstones, before a rebuild */
#define TARGET_FILL_PCT 78u /* live entries right after a rebuild, at most */
#define NSTRIPE 16u
#define CACHE_LINE 64
#define HUGE_MIN ((size_t)2 << 20) /* arrays this big get their own mapping, with huge pages */

typedef struct htab {
  uint64_t mask; /* capacity - 1, a power of two minus one */
  _Atomic uint64_t *keys;
  _Atomic uint32_t *exps;
  uint64_t bytes;
} htab_t;

/*
 * Zeroed memory for a table array. Big arrays are mapped on their own and marked for
 * transparent huge pages: lookups are random accesses across the whole table, and with 4 KiB
 * pages most of them would also miss the TLB.
 */
static void *array_alloc(size_t n) {
  if (n < HUGE_MIN)
    return calloc(1, n);
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  (void)madvise(p, n, MADV_HUGEPAGE); /* a hint; fine when unsupported */
  return p;
}

static void array_free(void *p, size_t n) {
  if (!p)
    return;
  if (n < HUGE_MIN)
    free(p);
  else
    munmap(p, n);
}

typedef struct cidr_ent {
  uint8_t a[16]; /* the prefix, host bits clear; IPv4 in the first 4 bytes */
  int64_t until;
} cidr_ent_t;

typedef struct cidr_level {
  int plen;
  size_t n;
  const cidr_ent_t *e; /* sorted by address */
} cidr_level_t;

/* An immutable snapshot: per family (0: IPv4, 1: IPv6), levels by descending prefix length. */
typedef struct cidr_snap {
  size_t nlev[2];
  cidr_level_t lev[2][129];
  size_t cap;
  uint64_t bytes;
  cidr_ent_t ent[];
} cidr_snap_t;

/* The writer's master list, sorted by (family, prefix length descending, address). */
typedef struct cidr_master {
  uint8_t fam; /* 0: IPv4, 1: IPv6 */
  uint8_t plen;
  uint8_t a[16];
  int64_t until;
} cidr_master_t;

typedef struct stripe {
  _Alignas(CACHE_LINE) _Atomic unsigned long n;
} stripe_t;

struct wd__banidx {
  stripe_t active[2][NSTRIPE]; /* readers inside, by epoch parity and stripe */
  _Alignas(CACHE_LINE) _Atomic unsigned epoch;
  _Atomic(htab_t *) tab;
  _Atomic(cidr_snap_t *) cidr;
  uint64_t seed;
  /* Writer-side state; the counters are read by stats from any thread. */
  _Alignas(CACHE_LINE) _Atomic uint64_t live; /* slots holding a key */
  _Atomic uint64_t tomb;                     /* tombstones */
  _Atomic uint64_t bytes;                    /* everything below and above */
  _Atomic uint64_t ncidr;                    /* prefixes in the published snapshot */
  cidr_master_t *master;
  size_t nmaster, capmaster;
  cidr_snap_t *next_snap; /* reserved for the next publish */
};

static unsigned caller_stripe(void) {
  char probe;
  uint64_t x = (uint64_t)(uintptr_t)&probe;
  return (unsigned)(((x >> 14) * 0x9E3779B97F4A7C15ULL) >> 60) & (NSTRIPE - 1);
}

void wd__banidx_enter(wd__banidx_t *ix, wd__banidx_guard_t *g) {
  unsigned s = caller_stripe();
  for (;;) {
    unsigned e = atomic_load(&ix->epoch);
    atomic_fetch_add(&ix->active[e & 1][s].n, 1);
    if (atomic_load(&ix->epoch) == e) {
      g->epoch = e;
      g->stripe = s;
      return;
    }
    /* The writer flipped the epoch in between: announce again under the new one. */
    atomic_fetch_sub(&ix->active[e & 1][s].n, 1);
  }
}

void wd__banidx_exit(wd__banidx_t *ix, const wd__banidx_guard_t *g) {
  atomic_fetch_sub(&ix->active[g->epoch & 1][g->stripe].n, 1);
}

/*
 * Wait until no reader can still hold a pointer unpublished before this call. Readers that
 * entered under the old epoch are counted in its counters; readers that enter later confirm the
 * new epoch first and so load the new pointers (stored before the flip).
 */
static void synchronize(wd__banidx_t *ix) {
  unsigned e = atomic_load(&ix->epoch);
  atomic_store(&ix->epoch, e + 1);
  for (unsigned s = 0; s < NSTRIPE; s++)
    while (atomic_load(&ix->active[e & 1][s].n) != 0)
      sched_yield();
}

static htab_t *htab_new(uint64_t cap) {
  htab_t *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->mask = cap - 1;
  t->keys = array_alloc(cap * sizeof *t->keys);
  t->exps = array_alloc(cap * sizeof *t->exps);
  if (!t->keys || !t->exps) {
    array_free((void *)t->keys, cap * sizeof *t->keys);
    array_free((void *)t->exps, cap * sizeof *t->exps);
    free(t);
    return NULL;
  }
  t->bytes = sizeof *t + cap * (sizeof *t->keys + sizeof *t->exps);
  return t;
}

static void htab_free(htab_t *t) {
  if (!t)
    return;
  array_free((void *)t->keys, (t->mask + 1) * sizeof *t->keys);
  array_free((void *)t->exps, (t->mask + 1) * sizeof *t->exps);
  free(t);
}

static uint64_t cap_for(uint64_t n) {
  uint64_t cap = MIN_CAP;
  while (n * 100 > cap * TARGET_FILL_PCT)
    cap <<= 1;
  return cap;
}

static cidr_snap_t *snap_new(size_t cap) {
  cidr_snap_t *s = calloc(1, sizeof *s + cap * sizeof(cidr_ent_t));
  if (!s)
    return NULL;
  s->cap = cap;
  s->bytes = sizeof *s + cap * sizeof(cidr_ent_t);
  return s;
}

int wd__banidx_create(size_t expected, wd__banidx_t **out) {
  size_t sz = (sizeof(wd__banidx_t) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
  wd__banidx_t *ix = aligned_alloc(CACHE_LINE, sz);
  if (!ix)
    return WD_ENOMEM;
  memset(ix, 0, sz);
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
    seed = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)ix;
  ix->seed = seed;
  htab_t *t = htab_new(cap_for(expected));
  cidr_snap_t *s = snap_new(0);
  if (!t || !s) {
    htab_free(t);
    free(s);
    free(ix);
    return WD_ENOMEM;
  }
  atomic_init(&ix->tab, t);
  atomic_init(&ix->cidr, s);
  atomic_init(&ix->bytes, sz + t->bytes + s->bytes);
  *out = ix;
  return 0;
}

void wd__banidx_destroy(wd__banidx_t *ix) {
  if (!ix)
    return;
  htab_free(atomic_load(&ix->tab));
  free(atomic_load(&ix->cidr));
  free(ix->next_snap);
  free(ix->master);
  free(ix);
}

uint64_t wd__banidx_key(const wd__banidx_t *ix, int type, const void *data, size_t n) {
  uint64_t h = wd__hash64(ix->seed ^ ((uint64_t)(unsigned)type * 0x9E3779B97F4A7C15ULL), data, n);
  return h < 2 ? h + 2 : h;
}

uint32_t wd__banidx_exp(int64_t until) {
  return (until <= 0 || until >= (int64_t)UINT32_MAX) ? 0 : (uint32_t)until;
}

/* --- hash table, writer side --- */

static void slot_put(htab_t *t, uint64_t key, uint32_t exp, wd__banidx_t *ix) {
  uint64_t i = key & t->mask;
  for (;;) {
    uint64_t k = atomic_load_explicit(&t->keys[i], memory_order_relaxed);
    if (k == SLOT_EMPTY || k == SLOT_TOMB) {
      if (k == SLOT_TOMB && ix)
        atomic_fetch_sub_explicit(&ix->tomb, 1, memory_order_relaxed);
      atomic_store_explicit(&t->exps[i], exp, memory_order_relaxed);
      atomic_store_explicit(&t->keys[i], key, memory_order_release);
      return;
    }
    i = (i + 1) & t->mask;
  }
}

int wd__banidx_reserve(wd__banidx_t *ix, size_t more, int64_t now) {
  htab_t *old = atomic_load_explicit(&ix->tab, memory_order_relaxed);
  uint64_t live = atomic_load_explicit(&ix->live, memory_order_relaxed);
  uint64_t tomb = atomic_load_explicit(&ix->tomb, memory_order_relaxed);
  uint64_t cap = old->mask + 1;
  if ((live + tomb + more) * 100 <= cap * MAX_FILL_PCT)
    return 0;
  htab_t *t = htab_new(cap_for(live + more));
  if (!t)
    return WD_ENOMEM;
  uint64_t kept = 0;
  for (uint64_t i = 0; i <= old->mask; i++) {
    uint64_t k = atomic_load_explicit(&old->keys[i], memory_order_relaxed);
    if (k == SLOT_EMPTY || k == SLOT_TOMB)
      continue;
    uint32_t e = atomic_load_explicit(&old->exps[i], memory_order_relaxed);
    if (e != 0 && (int64_t)e <= now)
      continue; /* expired: never matches; its later removal finds nothing, which is fine */
    slot_put(t, k, e, NULL);
    kept++;
  }
  atomic_store_explicit(&ix->tab, t, memory_order_release);
  atomic_store_explicit(&ix->live, kept, memory_order_relaxed);
  atomic_store_explicit(&ix->tomb, 0, memory_order_relaxed);
  atomic_fetch_add_explicit(&ix->bytes, t->bytes, memory_order_relaxed);
  synchronize(ix);
  atomic_fetch_sub_explicit(&ix->bytes, old->bytes, memory_order_relaxed);
  htab_free(old);
  return 0;
}

void wd__banidx_insert(wd__banidx_t *ix, uint64_t key, uint32_t exp) {
  htab_t *t = atomic_load_explicit(&ix->tab, memory_order_relaxed);
  slot_put(t, key, exp, ix);
  atomic_fetch_add_explicit(&ix->live, 1, memory_order_relaxed);
}

/* Index of the slot holding (key, exp), or -1. */
static int64_t slot_find(const htab_t *t, uint64_t key, uint32_t exp) {
  uint64_t i = key & t->mask;
  for (;;) {
    uint64_t k = atomic_load_explicit(&t->keys[i], memory_order_relaxed);
    if (k == SLOT_EMPTY)
      return -1;
    if (k == key && atomic_load_explicit(&t->exps[i], memory_order_relaxed) == exp)
      return (int64_t)i;
    i = (i + 1) & t->mask;
  }
}

void wd__banidx_update(wd__banidx_t *ix, uint64_t key, uint32_t old_exp, uint32_t new_exp) {
  htab_t *t = atomic_load_explicit(&ix->tab, memory_order_relaxed);
  int64_t i = slot_find(t, key, old_exp);
  if (i < 0) {
    wd__banidx_insert(ix, key, new_exp);
    return;
  }
  atomic_store_explicit(&t->exps[i], new_exp, memory_order_release);
}

void wd__banidx_remove(wd__banidx_t *ix, uint64_t key, uint32_t exp) {
  htab_t *t = atomic_load_explicit(&ix->tab, memory_order_relaxed);
  int64_t i = slot_find(t, key, exp);
  if (i < 0)
    return;
  atomic_store_explicit(&t->keys[i], SLOT_TOMB, memory_order_release);
  atomic_fetch_sub_explicit(&ix->live, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&ix->tomb, 1, memory_order_relaxed);
}

/* --- hash table, readers --- */

void wd__banidx_prefetch(wd__banidx_t *ix, uint64_t key) {
  const htab_t *t = atomic_load_explicit(&ix->tab, memory_order_acquire);
  __builtin_prefetch((const void *)&t->keys[key & t->mask]);
}

int wd__banidx_has(wd__banidx_t *ix, uint64_t key, int64_t now) {
  const htab_t *t = atomic_load_explicit(&ix->tab, memory_order_acquire);
  uint64_t i = key & t->mask;
  for (;;) {
    uint64_t k = atomic_load_explicit(&t->keys[i], memory_order_acquire);
    if (k == SLOT_EMPTY)
      return 0;
    if (k == key) {
      uint32_t e = atomic_load_explicit(&t->exps[i], memory_order_acquire);
      if (e == 0 || (int64_t)e > now)
        return 1;
    }
    i = (i + 1) & t->mask;
  }
}

/* --- CIDR --- */

static size_t addr_bytes(int fam) { return fam ? 16 : 4; }

static void mask_addr(uint8_t *a, int plen, size_t nbytes) {
  for (size_t i = 0; i < nbytes; i++) {
    int bits = plen - (int)(i * 8);
    if (bits >= 8)
      continue;
    a[i] = bits <= 0 ? 0 : (uint8_t)(a[i] & (0xff << (8 - bits)));
  }
}

/* Master order: family, prefix length descending, address. */
static int master_cmp(const cidr_master_t *x, int fam, int plen, const uint8_t *a) {
  if (x->fam != fam)
    return x->fam < fam ? -1 : 1;
  if (x->plen != plen)
    return x->plen > plen ? -1 : 1;
  return memcmp(x->a, a, 16);
}

/* Position of (fam, plen, a) in the master list, or where it would go; *found set. */
static size_t master_find(const wd__banidx_t *ix, int fam, int plen, const uint8_t *a, int *found) {
  size_t lo = 0, hi = ix->nmaster;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = master_cmp(&ix->master[mid], fam, plen, a);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

int wd__banidx_cidr_reserve(wd__banidx_t *ix, size_t more) {
  size_t need = ix->nmaster + more;
  if (need > ix->capmaster) {
    size_t cap = ix->capmaster ? ix->capmaster : 16;
    while (cap < need)
      cap *= 2;
    cidr_master_t *m = realloc(ix->master, cap * sizeof *m);
    if (!m)
      return WD_ENOMEM;
    atomic_fetch_add_explicit(&ix->bytes, (cap - ix->capmaster) * sizeof *m, memory_order_relaxed);
    ix->master = m;
    ix->capmaster = cap;
  }
  if (!ix->next_snap || ix->next_snap->cap < need) {
    cidr_snap_t *s = snap_new(ix->capmaster > need ? ix->capmaster : need);
    if (!s)
      return WD_ENOMEM;
    if (ix->next_snap) {
      atomic_fetch_sub_explicit(&ix->bytes, ix->next_snap->bytes, memory_order_relaxed);
      free(ix->next_snap);
    }
    ix->next_snap = s;
    atomic_fetch_add_explicit(&ix->bytes, s->bytes, memory_order_relaxed);
  }
  return 0;
}

static int net_key(const wd_ip_t *net, int plen, uint8_t *a) {
  int fam = net->family == 6 ? 1 : 0;
  memset(a, 0, 16);
  memcpy(a, net->a, addr_bytes(fam));
  mask_addr(a, plen, addr_bytes(fam));
  return fam;
}

void wd__banidx_cidr_put(wd__banidx_t *ix, const wd_ip_t *net, int plen, int64_t until) {
  uint8_t a[16];
  int fam = net_key(net, plen, a), found;
  size_t at = master_find(ix, fam, plen, a, &found);
  if (found) {
    ix->master[at].until = until;
    return;
  }
  if (ix->nmaster >= ix->capmaster)
    return; /* not reserved: a caller bug; the snapshot stays as it was */
  memmove(&ix->master[at + 1], &ix->master[at], (ix->nmaster - at) * sizeof *ix->master);
  cidr_master_t *m = &ix->master[at];
  m->fam = (uint8_t)fam;
  m->plen = (uint8_t)plen;
  memcpy(m->a, a, 16);
  m->until = until;
  ix->nmaster++;
}

void wd__banidx_cidr_del(wd__banidx_t *ix, const wd_ip_t *net, int plen) {
  uint8_t a[16];
  int fam = net_key(net, plen, a), found;
  size_t at = master_find(ix, fam, plen, a, &found);
  if (!found)
    return;
  memmove(&ix->master[at], &ix->master[at + 1], (ix->nmaster - at - 1) * sizeof *ix->master);
  ix->nmaster--;
}

void wd__banidx_cidr_publish(wd__banidx_t *ix) {
  cidr_snap_t *s = ix->next_snap;
  if (!s || s->cap < ix->nmaster) {
    if (wd__banidx_cidr_reserve(ix, 0) != 0)
      return; /* out of memory: readers keep the previous snapshot */
    s = ix->next_snap;
  }
  memset(s->nlev, 0, sizeof s->nlev);
  for (size_t i = 0; i < ix->nmaster; i++) {
    const cidr_master_t *m = &ix->master[i];
    memcpy(s->ent[i].a, m->a, 16);
    s->ent[i].until = m->until;
    size_t *nl = &s->nlev[m->fam];
    cidr_level_t *lv = &s->lev[m->fam][*nl ? *nl - 1 : 0];
    if (*nl == 0 || lv->plen != m->plen) {
      lv = &s->lev[m->fam][(*nl)++];
      lv->plen = m->plen;
      lv->n = 0;
      lv->e = &s->ent[i];
    }
    lv->n++;
  }
  ix->next_snap = NULL;
  atomic_store_explicit(&ix->ncidr, ix->nmaster, memory_order_relaxed);
  cidr_snap_t *old = atomic_exchange_explicit(&ix->cidr, s, memory_order_acq_rel);
  synchronize(ix);
  atomic_fetch_sub_explicit(&ix->bytes, old->bytes, memory_order_relaxed);
  free(old);
}

size_t wd__banidx_cidr_match(wd__banidx_t *ix, const wd_ip_t *ip, int64_t now, int *plens,
                             size_t max) {
  const cidr_snap_t *s = atomic_load_explicit(&ix->cidr, memory_order_acquire);
  if (!ip || (ip->family != 4 && ip->family != 6))
    return 0;
  int fam = ip->family == 6 ? 1 : 0;
  size_t nb = addr_bytes(fam), found = 0;
  for (size_t l = 0; l < s->nlev[fam] && found < max; l++) {
    const cidr_level_t *lv = &s->lev[fam][l];
    uint8_t a[16];
    memcpy(a, ip->a, nb);
    mask_addr(a, lv->plen, nb);
    size_t lo = 0, hi = lv->n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      int c = memcmp(lv->e[mid].a, a, nb);
      if (c == 0) {
        int64_t u = lv->e[mid].until;
        if (u == 0 || u > now)
          plens[found++] = lv->plen;
        break;
      }
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  }
  return found;
}

uint64_t wd__banidx_count(const wd__banidx_t *ix) {
  return atomic_load_explicit(&ix->live, memory_order_relaxed);
}

uint64_t wd__banidx_cidr_count(const wd__banidx_t *ix) {
  return atomic_load_explicit(&ix->ncidr, memory_order_relaxed);
}

uint64_t wd__banidx_bytes(const wd__banidx_t *ix) {
  return atomic_load_explicit(&ix->bytes, memory_order_relaxed);
}

uint64_t wd__banidx_capacity(const wd__banidx_t *ix) {
  const htab_t *t = atomic_load_explicit(&ix->tab, memory_order_relaxed);
  return t->mask + 1;
}
