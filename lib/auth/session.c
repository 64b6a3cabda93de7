/*
 * The console's session table (see warden/auth.h).
 *
 * An open-addressed table (linear probing, tombstones) of slots keyed by the SHA-256 of the
 * session id; the capacity is a power of two at least twice max_sessions, and the table is
 * rebuilt in place when tombstones fill a quarter of it. One mutex guards everything: sessions
 * are looked up once per console request, a few per second per person.
 */
#include "warden/auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/codec.h"
#include "warden/error.h"

#define DEFAULT_MAX 10000
#define DEFAULT_PER_USER 16
#define DEFAULT_TTL (12 * 3600)
#define DEFAULT_IDLE (30 * 60)

enum { EMPTY = 0, USED, DEAD };

typedef struct slot {
  uint8_t state;
  uint8_t key[32];           /* SHA-256 of the id text */
  wd_session_t s;
} slot_t;

struct wd_sessions {
  pthread_mutex_t mu;
  slot_t *v;
  size_t cap;                /* power of two */
  size_t used, dead;
  wd_sessions_opts_t o;
};

int wd_sessions_create(const wd_sessions_opts_t *opts, wd_sessions_t **out) {
  wd_sessions_opts_t o = opts ? *opts : (wd_sessions_opts_t){0};
  if (!out || o.ttl < 0 || o.idle < 0)
    return WD_EINVAL;
  if (!o.max_sessions)
    o.max_sessions = DEFAULT_MAX;
  if (!o.max_per_user)
    o.max_per_user = DEFAULT_PER_USER;
  if (!o.ttl)
    o.ttl = DEFAULT_TTL;
  if (!o.idle)
    o.idle = DEFAULT_IDLE;
  if (o.max_sessions > (1u << 24))
    return WD_EINVAL;
  wd_sessions_t *t = calloc(1, sizeof *t);
  if (!t)
    return WD_ENOMEM;
  t->cap = 16;
  while (t->cap < o.max_sessions * 2)
    t->cap *= 2;
  t->v = calloc(t->cap, sizeof *t->v);
  if (!t->v) {
    free(t);
    return WD_ENOMEM;
  }
  t->o = o;
  pthread_mutex_init(&t->mu, NULL);
  *out = t;
  return 0;
}

void wd_sessions_destroy(wd_sessions_t *t) {
  if (!t)
    return;
  OPENSSL_cleanse(t->v, t->cap * sizeof *t->v);
  free(t->v);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

static void key_of(const char *id, size_t idlen, uint8_t key[32]) {
  unsigned int n = 0;
  if (EVP_Digest(id, idlen, key, &n, EVP_sha256(), NULL) != 1 || n != 32)
    memset(key, 0, 32); /* never matches a stored key: those come from real digests */
}

static size_t home(const uint8_t key[32], size_t cap) {
  uint64_t h;
  memcpy(&h, key, sizeof h);
  return (size_t)h & (cap - 1);
}

/* The slot holding key, or NULL. Called with the lock held. */
static slot_t *find(wd_sessions_t *t, const uint8_t key[32]) {
  for (size_t i = home(key, t->cap), k = 0; k < t->cap; i = (i + 1) & (t->cap - 1), k++) {
    slot_t *sl = &t->v[i];
    if (sl->state == EMPTY)
      return NULL;
    if (sl->state == USED && CRYPTO_memcmp(sl->key, key, 32) == 0)
      return sl;
  }
  return NULL;
}

static void kill_slot(wd_sessions_t *t, slot_t *sl) {
  OPENSSL_cleanse(sl, sizeof *sl);
  sl->state = DEAD;
  t->used--;
  t->dead++;
}

/* Rebuild without tombstones (lock held). */
static void rehash(wd_sessions_t *t) {
  slot_t *old = malloc(t->cap * sizeof *old);
  if (!old)
    return; /* keep the tombstones: lookups still work */
  memcpy(old, t->v, t->cap * sizeof *old);
  memset(t->v, 0, t->cap * sizeof *t->v);
  for (size_t j = 0; j < t->cap; j++) {
    if (old[j].state != USED)
      continue;
    size_t i = home(old[j].key, t->cap);
    while (t->v[i].state != EMPTY)
      i = (i + 1) & (t->cap - 1);
    t->v[i] = old[j];
  }
  OPENSSL_cleanse(old, t->cap * sizeof *old);
  free(old);
  t->dead = 0;
}

static size_t expire_locked(wd_sessions_t *t, int64_t now) {
  size_t n = 0;
  for (size_t i = 0; i < t->cap; i++) {
    if (t->v[i].state == USED && t->v[i].s.expires <= now) {
      kill_slot(t, &t->v[i]);
      n++;
    }
  }
  return n;
}

static int random_token(char *out) {
  uint8_t b[32];
  if (RAND_bytes(b, sizeof b) != 1)
    return WD_ECRYPTO;
  wd_b64_encode(b, sizeof b, out, 1, 0);
  OPENSSL_cleanse(b, sizeof b);
  return 0;
}

static int64_t expiry(const wd_sessions_t *t, const wd_session_t *s) {
  int64_t a = s->created + t->o.ttl, b = s->last_used + t->o.idle;
  return a < b ? a : b;
}

int wd_sessions_open(wd_sessions_t *t, const char *user, wd_role_t role, int64_t now,
                     char *id_out, wd_session_t *out) {
  if (!t || !user || !id_out || role < WD_ROLE_VIEWER || role > WD_ROLE_ADMIN)
    return WD_EINVAL;
  size_t ul = strnlen(user, WD_SESSION_USER_MAX);
  if (ul == 0 || ul >= WD_SESSION_USER_MAX)
    return WD_EINVAL;
  char id[WD_SESSION_TOKEN_LEN + 1];
  wd_session_t s = {.role = role, .created = now, .last_used = now};
  memcpy(s.user, user, ul + 1);
  if (random_token(id) || random_token(s.csrf))
    return WD_ECRYPTO;
  s.expires = expiry(t, &s);
  uint8_t key[32];
  key_of(id, WD_SESSION_TOKEN_LEN, key);

  pthread_mutex_lock(&t->mu);
  expire_locked(t, now);
  /* past max_per_user, the user's least recently used session ends */
  size_t mine = 0;
  slot_t *lru = NULL;
  for (size_t i = 0; i < t->cap; i++) {
    slot_t *sl = &t->v[i];
    if (sl->state != USED || strcmp(sl->s.user, user))
      continue;
    mine++;
    if (!lru || sl->s.last_used < lru->s.last_used)
      lru = sl;
  }
  if (mine >= t->o.max_per_user && lru)
    kill_slot(t, lru);
  if (t->used >= t->o.max_sessions) {
    pthread_mutex_unlock(&t->mu);
    OPENSSL_cleanse(&s, sizeof s);
    return WD_ETOOBIG;
  }
  if (t->dead > t->cap / 4)
    rehash(t);
  size_t i = home(key, t->cap);
  while (t->v[i].state == USED)
    i = (i + 1) & (t->cap - 1);
  if (t->v[i].state == DEAD)
    t->dead--;
  t->v[i].state = USED;
  memcpy(t->v[i].key, key, 32);
  t->v[i].s = s;
  t->used++;
  pthread_mutex_unlock(&t->mu);

  memcpy(id_out, id, sizeof id);
  if (out)
    *out = s;
  OPENSSL_cleanse(id, sizeof id);
  OPENSSL_cleanse(&s, sizeof s);
  return 0;
}

int wd_sessions_check(wd_sessions_t *t, const char *id, size_t idlen, int64_t now,
                      wd_session_t *out) {
  if (!t || !id || idlen != WD_SESSION_TOKEN_LEN)
    return WD_ENOTOKEN;
  uint8_t key[32];
  key_of(id, idlen, key);
  int rc = WD_ENOTOKEN;
  pthread_mutex_lock(&t->mu);
  slot_t *sl = find(t, key);
  if (sl && sl->s.expires <= now) {
    kill_slot(t, sl);
  } else if (sl) {
    if (now > sl->s.last_used)
      sl->s.last_used = now;
    sl->s.expires = expiry(t, &sl->s);
    if (out)
      *out = sl->s;
    rc = 0;
  }
  pthread_mutex_unlock(&t->mu);
  return rc;
}

int wd_sessions_close(wd_sessions_t *t, const char *id, size_t idlen) {
  if (!t || !id || idlen != WD_SESSION_TOKEN_LEN)
    return WD_ENOTOKEN;
  uint8_t key[32];
  key_of(id, idlen, key);
  pthread_mutex_lock(&t->mu);
  slot_t *sl = find(t, key);
  if (sl)
    kill_slot(t, sl);
  pthread_mutex_unlock(&t->mu);
  return sl ? 0 : WD_ENOTOKEN;
}

size_t wd_sessions_expire(wd_sessions_t *t, int64_t now) {
  if (!t)
    return 0;
  pthread_mutex_lock(&t->mu);
  size_t n = expire_locked(t, now);
  if (t->dead > t->cap / 4)
    rehash(t);
  pthread_mutex_unlock(&t->mu);
  return n;
}

size_t wd_sessions_count(wd_sessions_t *t) {
  if (!t)
    return 0;
  pthread_mutex_lock(&t->mu);
  size_t n = t->used;
  pthread_mutex_unlock(&t->mu);
  return n;
}
