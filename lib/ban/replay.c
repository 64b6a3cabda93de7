/*
 * Replay memory for CAT catreplay=1; see warden/replay.h.
 *
 * In memory: 64 shards, each a mutex over an open-addressing table of entries keyed by two
 * independent seeded 64-bit hashes of "issuer NUL id" (a false "seen" needs both to collide:
 * about 2^-128 per pair) with the entry's expiry. Critical sections are a probe and a store; a
 * shard's table is rebuilt (dropping expired entries, growing when still full) under its lock
 * when it reaches 75%. New entries are also queued per shard, with their text key, for
 * wd_replay_flush.
 *
 * On disk: "replay.mdb" in the data directory, sub-databases "replay" (issuer NUL id -> until,
 * 8 bytes) and "expiry" (until big-endian + key, for purging). Opening reloads every entry.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ban/hash.h"
#include "ban/store.h"
#include "warden/error.h"
#include "warden/replay.h"
#include "warden/token.h"

#define REPLAY_FORMAT "warden-replay"
#define REPLAY_VERSION 1u
#define NSHARD 64u
#define SHARD_MIN_CAP 64u
#define KEY_MAX (2 * WD_ID_MAX)
#define PURGE_MAX 16384 /* expired entries deleted from the store per flush */

enum { DB_REPLAY = 0, DB_EXPIRY, DB_COUNT };
static const char *const db_names[DB_COUNT] = {"replay", "expiry"};

typedef struct rp_slot {
  uint64_t h1, h2; /* h1 == 0: empty */
  int64_t until;   /* 0: never expires */
} rp_slot_t;

typedef struct rp_pend {
  char *key;
  size_t klen;
  int64_t until;
} rp_pend_t;

typedef struct rp_shard {
  _Alignas(64) pthread_mutex_t mu;
  rp_slot_t *slots;
  size_t cap, n;
  rp_pend_t *pend; /* queued for the next flush */
  size_t npend, cappend;
} rp_shard_t;

struct wd_replay {
  rp_shard_t shards[NSHARD];
  wd__store_t st;
  uint64_t seed1, seed2;
  /* Writer thread only: entries of a flush whose commit failed, retried next time. */
  rp_pend_t *carry;
  size_t ncarry, capcarry;
  unsigned sweep_next;
  int64_t last_sweep;
  _Atomic int closed;   /* wd_replay_set_closed: first uses refused */
};

static int live(int64_t until, int64_t now) { return until == 0 || until > now; }

static rp_slot_t *slot_find(rp_shard_t *s, uint64_t h1, uint64_t h2) {
  size_t mask = s->cap - 1;
  for (size_t i = h1 & mask;; i = (i + 1) & mask) {
    rp_slot_t *e = &s->slots[i];
    if (e->h1 == 0 || (e->h1 == h1 && e->h2 == h2))
      return e;
  }
}

/* Rebuild the shard's table without entries expired at now, at least doubling when still over
 * half full. Caller holds the lock (or owns the shard). */
static int shard_rebuild(rp_shard_t *s, size_t more, int64_t now) {
  size_t keep = more;
  for (size_t i = 0; i < s->cap; i++)
    keep += s->slots[i].h1 && live(s->slots[i].until, now);
  size_t cap = SHARD_MIN_CAP;
  while (keep * 2 > cap)
    cap <<= 1;
  rp_slot_t *ns = calloc(cap, sizeof *ns);
  if (!ns)
    return WD_ENOMEM;
  rp_slot_t *old = s->slots;
  size_t oldcap = s->cap;
  s->slots = ns;
  s->cap = cap;
  s->n = 0;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].h1 && live(old[i].until, now)) {
      *slot_find(s, old[i].h1, old[i].h2) = old[i];
      s->n++;
    }
  free(old);
  return 0;
}

/* Remember (h1, h2) until `until`; 1 when already live. Caller holds the lock. */
static int shard_seen(rp_shard_t *s, uint64_t h1, uint64_t h2, int64_t until, int64_t now,
                      int *inserted) {
  *inserted = 0;
  if ((s->n + 1) * 4 > s->cap * 3) {
    int rc = shard_rebuild(s, 1, now);
    if (rc)
      return rc;
  }
  rp_slot_t *e = slot_find(s, h1, h2);
  if (e->h1) {
    if (live(e->until, now))
      return 1;
    e->until = until; /* an old use that has expired: this one counts as first */
    *inserted = 1;
    return 0;
  }
  e->h1 = h1;
  e->h2 = h2;
  e->until = until;
  s->n++;
  *inserted = 1;
  return 0;
}

static size_t make_key(char *buf, const char *issuer, size_t il, const char *id, size_t dl) {
  memcpy(buf, issuer, il);
  buf[il] = '\0';
  memcpy(buf + il + 1, id, dl);
  return il + 1 + dl;
}

static void key_hash(const wd_replay_t *rp, const void *key, size_t n, uint64_t *h1, uint64_t *h2) {
  *h1 = wd__hash64(rp->seed1, key, n);
  *h2 = wd__hash64(rp->seed2, key, n);
  if (*h1 == 0)
    *h1 = 1;
}

static rp_shard_t *shard_of(wd_replay_t *rp, uint64_t h1) { return &rp->shards[h1 >> 58]; }

static int pend_push(rp_pend_t **arr, size_t *n, size_t *cap, rp_pend_t e) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    rp_pend_t *na = realloc(*arr, nc * sizeof *na);
    if (!na)
      return WD_ENOMEM;
    *arr = na;
    *cap = nc;
  }
  (*arr)[(*n)++] = e;
  return 0;
}

static int load(wd_replay_t *rp) {
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  int rc = mdb_txn_begin(rp->st.env, NULL, MDB_RDONLY, &txn);
  if (!rc)
    rc = mdb_cursor_open(txn, rp->st.dbi[DB_REPLAY], &cur);
  MDB_val k, v;
  for (int op = MDB_FIRST; !rc; op = MDB_NEXT) {
    rc = mdb_cursor_get(cur, &k, &v, op);
    if (rc)
      break;
    if (k.mv_size < 2 || k.mv_size > KEY_MAX || v.mv_size != 8) {
      rc = MDB_CORRUPTED;
      break;
    }
    int64_t until;
    memcpy(&until, v.mv_data, 8);
    uint64_t h1, h2;
    key_hash(rp, k.mv_data, k.mv_size, &h1, &h2);
    int ins;
    /* now = INT64_MIN: nothing counts as expired while loading */
    int src = shard_seen(shard_of(rp, h1), h1, h2, until, INT64_MIN, &ins);
    if (src < 0) {
      rc = ENOMEM;
      break;
    }
  }
  if (rc == MDB_NOTFOUND)
    rc = 0;
  if (cur)
    mdb_cursor_close(cur);
  if (txn)
    mdb_txn_abort(txn);
  return wd__store_err(rc);
}

int wd_replay_open(const char *dir, wd_replay_t **out) {
  if (!dir || !out)
    return WD_EINVAL;
  size_t sz = (sizeof(wd_replay_t) + 63) / 64 * 64;
  wd_replay_t *rp = aligned_alloc(64, sz);
  if (!rp)
    return WD_ENOMEM;
  memset(rp, 0, sz);
  rp->st.owner_fd = -1;
  uint64_t seed[2];
  if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
    seed[0] = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)rp;
    seed[1] = ~seed[0] * 0xC2B2AE3D27D4EB4FULL;
  }
  rp->seed1 = seed[0];
  rp->seed2 = seed[1] ^ 0x5bd1e9955bd1e995ULL;
  unsigned i = 0;
  int rc = 0;
  for (; i < NSHARD && !rc; i++) {
    rp_shard_t *s = &rp->shards[i];
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
      rc = WD_ENOMEM;
      break;
    }
    s->cap = SHARD_MIN_CAP;
    s->slots = calloc(s->cap, sizeof *s->slots);
    if (!s->slots)
      rc = WD_ENOMEM;
  }
  if (!rc)
    rc = wd__store_open(&rp->st, dir, "replay.mdb", REPLAY_FORMAT, REPLAY_VERSION, (size_t)8 << 30,
                        0, db_names, DB_COUNT);
  if (!rc)
    rc = load(rp);
  if (rc) {
    wd__store_close(&rp->st);
    for (unsigned j = 0; j < NSHARD; j++) {
      if (j < i)
        pthread_mutex_destroy(&rp->shards[j].mu);
      free(rp->shards[j].slots);
    }
    free(rp);
    return rc;
  }
  *out = rp;
  return 0;
}

static void pend_free(rp_pend_t *arr, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(arr[i].key);
  free(arr);
}

void wd_replay_close(wd_replay_t *rp) {
  if (!rp)
    return;
  for (unsigned i = 0; i < NSHARD; i++) {
    rp_shard_t *s = &rp->shards[i];
    pthread_mutex_destroy(&s->mu);
    free(s->slots);
    pend_free(s->pend, s->npend);
  }
  pend_free(rp->carry, rp->ncarry);
  wd__store_close(&rp->st);
  free(rp);
}

/* Closed: a token remembered and live is a replay (1); any other is refused, not inserted. */
static int closed_seen(wd_replay_t *rp, rp_shard_t *s, uint64_t h1, uint64_t h2, int64_t now) {
  (void)rp;
  pthread_mutex_lock(&s->mu);
  int rc = WD_EUNAVAILABLE;
  if (s->cap) {
    rp_slot_t *e = slot_find(s, h1, h2);
    if (e->h1 && live(e->until, now))
      rc = 1;
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

void wd_replay_set_closed(wd_replay_t *rp, int closed) {
  if (rp)
    atomic_store_explicit(&rp->closed, closed ? 1 : 0, memory_order_relaxed);
}

int wd_replay_seen(wd_replay_t *rp, const char *issuer, const char *id, int64_t until, int64_t now) {
  if (!rp || !id)
    return WD_EINVAL;
  if (!issuer)
    issuer = "";
  size_t il = strnlen(issuer, WD_ID_MAX), dl = strnlen(id, WD_ID_MAX);
  if (il >= WD_ID_MAX || dl == 0 || dl >= WD_ID_MAX || until < 0)
    return WD_EINVAL;
  if (until != 0 && until <= now)
    return 0; /* already expired: the token is refused anyway, nothing to remember */
  char key[KEY_MAX];
  size_t kn = make_key(key, issuer, il, id, dl);
  uint64_t h1, h2;
  key_hash(rp, key, kn, &h1, &h2);
  rp_pend_t pe = {.key = malloc(kn), .klen = kn, .until = until};
  if (!pe.key)
    return WD_ENOMEM;
  memcpy(pe.key, key, kn);

  rp_shard_t *s = shard_of(rp, h1);
  if (atomic_load_explicit(&rp->closed, memory_order_relaxed)) {
    free(pe.key);
    return closed_seen(rp, s, h1, h2, now);
  }
  pthread_mutex_lock(&s->mu);
  int rc = 0, ins = 0;
  if (s->npend == s->cappend) { /* room in the queue first, so nothing fails after the insert */
    rp_pend_t dummy = {0};
    rc = pend_push(&s->pend, &s->npend, &s->cappend, dummy);
    if (!rc)
      s->npend--;
  }
  if (!rc)
    rc = shard_seen(s, h1, h2, until, now, &ins);
  if (ins)
    s->pend[s->npend++] = pe;
  pthread_mutex_unlock(&s->mu);
  if (!ins)
    free(pe.key);
  return rc;
}

/* Put one entry (replacing an older expiry of the same key). */
static int put_entry(wd_replay_t *rp, MDB_txn *txn, const rp_pend_t *e) {
  MDB_val k = {.mv_size = e->klen, .mv_data = e->key}, v;
  uint8_t xk[8 + KEY_MAX];
  int rc = mdb_get(txn, rp->st.dbi[DB_REPLAY], &k, &v);
  if (rc == 0 && v.mv_size == 8) {
    int64_t old;
    memcpy(&old, v.mv_data, 8);
    if (old != 0 && old != e->until) {
      wd__store_be64(xk, (uint64_t)old);
      memcpy(xk + 8, e->key, e->klen);
      MDB_val x = {.mv_size = 8 + e->klen, .mv_data = xk};
      rc = mdb_del(txn, rp->st.dbi[DB_EXPIRY], &x, NULL);
      if (rc && rc != MDB_NOTFOUND)
        return rc;
    }
  } else if (rc && rc != MDB_NOTFOUND) {
    return rc;
  }
  int64_t u = e->until;
  v.mv_size = 8;
  v.mv_data = &u;
  rc = mdb_put(txn, rp->st.dbi[DB_REPLAY], &k, &v, 0);
  if (rc || e->until == 0)
    return rc;
  wd__store_be64(xk, (uint64_t)e->until);
  memcpy(xk + 8, e->key, e->klen);
  MDB_val x = {.mv_size = 8 + e->klen, .mv_data = xk}, empty = {.mv_size = 0, .mv_data = ""};
  return mdb_put(txn, rp->st.dbi[DB_EXPIRY], &x, &empty, 0);
}

/* Delete up to PURGE_MAX entries expired at now; *n counts them. */
static int purge(wd_replay_t *rp, MDB_txn *txn, int64_t now, long *n) {
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, rp->st.dbi[DB_EXPIRY], &cur);
  for (long i = 0; !rc && i < PURGE_MAX; i++) {
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rc)
      break;
    if (k.mv_size < 9 || (int64_t)wd__store_rd_be64(k.mv_data) > now)
      break;
    int64_t until = (int64_t)wd__store_rd_be64(k.mv_data);
    MDB_val rk = {.mv_size = k.mv_size - 8, .mv_data = (uint8_t *)k.mv_data + 8}, rv;
    rc = mdb_get(txn, rp->st.dbi[DB_REPLAY], &rk, &rv);
    if (rc == 0 && rv.mv_size == 8 && memcmp(rv.mv_data, &until, 8) == 0) {
      rc = mdb_del(txn, rp->st.dbi[DB_REPLAY], &rk, NULL);
      ++*n;
    } else if (rc == MDB_NOTFOUND || rc == 0) {
      rc = 0;
    }
    if (!rc)
      rc = mdb_cursor_del(cur, 0);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Is anything in the store due for purging? */
static int purge_due(wd_replay_t *rp, int64_t now) {
  MDB_txn *txn;
  MDB_cursor *cur;
  MDB_val k, v;
  if (mdb_txn_begin(rp->st.env, NULL, MDB_RDONLY, &txn) != 0)
    return 1;
  int due = 1;
  if (mdb_cursor_open(txn, rp->st.dbi[DB_EXPIRY], &cur) == 0) {
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    due = rc == 0 ? (k.mv_size >= 8 && (int64_t)wd__store_rd_be64(k.mv_data) <= now) : rc != MDB_NOTFOUND;
    mdb_cursor_close(cur);
  }
  mdb_txn_abort(txn);
  return due;
}

/* Drop expired entries from one shard's memory (one shard per second of calls). */
static void sweep(wd_replay_t *rp, int64_t now) {
  if (now == rp->last_sweep)
    return;
  rp->last_sweep = now;
  rp_shard_t *s = &rp->shards[rp->sweep_next++ % NSHARD];
  pthread_mutex_lock(&s->mu);
  size_t expired = 0;
  for (size_t i = 0; i < s->cap; i++)
    expired += s->slots[i].h1 && !live(s->slots[i].until, now);
  if (expired)
    shard_rebuild(s, 0, now); /* on failure the expired entries simply stay a while */
  pthread_mutex_unlock(&s->mu);
}

long wd_replay_flush(wd_replay_t *rp, int64_t now) {
  if (!rp)
    return WD_EINVAL;
  /* Take every shard's queue into the carry list. */
  for (unsigned i = 0; i < NSHARD; i++) {
    rp_shard_t *s = &rp->shards[i];
    pthread_mutex_lock(&s->mu);
    rp_pend_t *q = s->pend;
    size_t nq = s->npend;
    s->pend = NULL;
    s->npend = s->cappend = 0;
    pthread_mutex_unlock(&s->mu);
    for (size_t j = 0; j < nq; j++)
      if (pend_push(&rp->carry, &rp->ncarry, &rp->capcarry, q[j]) != 0) {
        /* keep what did not fit for the next flush */
        pthread_mutex_lock(&s->mu);
        for (size_t r = j; r < nq; r++)
          if (pend_push(&s->pend, &s->npend, &s->cappend, q[r]) != 0)
            free(q[r].key);
        pthread_mutex_unlock(&s->mu);
        break;
      }
    free(q);
  }
  sweep(rp, now);
  if (rp->ncarry == 0 && !purge_due(rp, now))
    return 0;

  MDB_txn *txn;
  long purged = 0;
  int rc = mdb_txn_begin(rp->st.env, NULL, 0, &txn);
  if (rc)
    return wd__store_err(rc);
  long written = 0;
  for (size_t i = 0; i < rp->ncarry && !rc; i++)
    if (live(rp->carry[i].until, now)) {
      rc = put_entry(rp, txn, &rp->carry[i]);
      written++;
    }
  if (!rc)
    rc = purge(rp, txn, now, &purged);
  if (!rc)
    rc = mdb_txn_commit(txn);
  else
    mdb_txn_abort(txn);
  if (rc)
    return wd__store_err(rc);
  pend_free(rp->carry, rp->ncarry);
  rp->carry = NULL;
  rp->ncarry = rp->capcarry = 0;
  return written;
}
