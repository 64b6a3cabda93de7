/* lib/ban/replay.c: catreplay=1 memory: first and later uses, expiry, persistence, threads. */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "testutil.h"
#include "warden/ban.h"
#include "warden/error.h"
#include "warden/replay.h"
#include "warden/token.h"

#define NOW 1700000000

static wd_replay_t *open_rp(const char *dir) {
  wd_replay_t *rp = NULL;
  assert_int_equal(wd_replay_open(dir, &rp), 0);
  assert_non_null(rp);
  return rp;
}

/* Entries in the store's "replay" sub-database, read directly (without LMDB's lock file, whose
 * locks a second handle in this process would disturb; the writer is idle meanwhile). */
static size_t stored_entries(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/replay.mdb", dir);
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  MDB_stat st;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
  assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "replay", 0, &dbi), 0);
  assert_int_equal(mdb_stat(txn, dbi, &st), 0);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return st.ms_entries;
}

static void first_then_replay(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_replay_t *rp = open_rp(dir);
  assert_int_equal(wd_replay_seen(rp, "iss-a", "cti-1", NOW + 60, NOW), 0);
  assert_int_equal(wd_replay_seen(rp, "iss-a", "cti-1", NOW + 60, NOW + 1), 1);
  assert_int_equal(wd_replay_seen(rp, "iss-a", "cti-1", NOW + 60, NOW + 59), 1);
  /* scoped by issuer */
  assert_int_equal(wd_replay_seen(rp, "iss-b", "cti-1", NOW + 60, NOW), 0);
  assert_int_equal(wd_replay_seen(rp, NULL, "cti-1", NOW + 60, NOW), 0);
  assert_int_equal(wd_replay_seen(rp, "", "cti-1", NOW + 60, NOW), 1); /* NULL and "" are one */
  /* the separator cannot be forged by moving bytes between issuer and id */
  assert_int_equal(wd_replay_seen(rp, "iss-a", "cti-12", NOW + 60, NOW), 0);
  assert_int_equal(wd_replay_seen(rp, "iss-a", "cti-12", NOW + 60, NOW), 1);
  /* tokens without exp are remembered for ever */
  assert_int_equal(wd_replay_seen(rp, "iss-a", "forever", 0, NOW), 0);
  assert_int_equal(wd_replay_seen(rp, "iss-a", "forever", 0, NOW + 100000000), 1);
  wd_replay_close(rp);
  tu_tmpdir_free(dir);
}

static void expiry(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_replay_t *rp = open_rp(dir);
  assert_int_equal(wd_replay_seen(rp, "i", "short", NOW + 10, NOW), 0);
  assert_int_equal(wd_replay_seen(rp, "i", "short", NOW + 10, NOW + 9), 1);
  /* after its expiry the entry is forgotten (the token itself is expired by then) */
  assert_int_equal(wd_replay_seen(rp, "i", "short", NOW + 30, NOW + 10), 0);
  assert_int_equal(wd_replay_seen(rp, "i", "short", NOW + 30, NOW + 29), 1);
  /* an already expired token is not remembered */
  assert_int_equal(wd_replay_seen(rp, "i", "dead", NOW - 1, NOW), 0);
  assert_int_equal(wd_replay_seen(rp, "i", "dead", NOW - 1, NOW), 0);

  /* the store drops expired entries on flush */
  for (int i = 0; i < 100; i++) {
    char id[32];
    snprintf(id, sizeof id, "e-%d", i);
    assert_int_equal(wd_replay_seen(rp, "i", id, i < 50 ? NOW + 100 : NOW + 1000, NOW), 0);
  }
  assert_int_equal(wd_replay_flush(rp, NOW), 102); /* 100 + both uses of "short" */
  assert_int_equal(wd_replay_flush(rp, NOW), 0);   /* nothing queued */
  assert_int_equal(stored_entries(dir), 101);
  assert_int_equal(wd_replay_flush(rp, NOW + 100), 0);
  assert_int_equal(stored_entries(dir), 50); /* e-50..e-99 */
  /* in memory too: seen again after expiry counts as first use */
  assert_int_equal(wd_replay_seen(rp, "i", "e-3", NOW + 2000, NOW + 100), 0);
  assert_int_equal(wd_replay_seen(rp, "i", "e-60", NOW + 2000, NOW + 100), 1);
  wd_replay_close(rp);
  tu_tmpdir_free(dir);
}

static void persistence(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_replay_t *rp = open_rp(dir);
  enum { N = 5000 };
  for (int i = 0; i < N; i++) {
    char id[40];
    snprintf(id, sizeof id, "%032x", i);
    assert_int_equal(wd_replay_seen(rp, "https://issuer.example", id, NOW + 600 + i % 3, NOW), 0);
  }
  assert_int_equal(wd_replay_flush(rp, NOW), N);
  /* one more, never flushed: lost by contract */
  assert_int_equal(wd_replay_seen(rp, "https://issuer.example", "unflushed", NOW + 600, NOW), 0);
  wd_replay_close(rp);

  rp = open_rp(dir);
  for (int i = 0; i < N; i++) {
    char id[40];
    snprintf(id, sizeof id, "%032x", i);
    assert_int_equal(wd_replay_seen(rp, "https://issuer.example", id, NOW + 600, NOW + 1), 1);
  }
  assert_int_equal(wd_replay_seen(rp, "https://issuer.example", "unflushed", NOW + 600, NOW + 1), 0);
  /* reloaded entries keep their expiry */
  assert_int_equal(wd_replay_seen(rp, "https://issuer.example", "0000000000000000000000000000000a",
                                  NOW + 2000, NOW + 700),
                   0);
  assert_int_equal(wd_replay_flush(rp, NOW + 1), 2);
  wd_replay_close(rp);

  /* the ban list and the replay memory share a data directory */
  wd_banlist_t *bl;
  wd_banlist_opts_t o = {.no_sync = 1, .map_size = (size_t)1 << 28};
  assert_int_equal(wd_banlist_open(dir, &o, &bl), 0);
  rp = open_rp(dir);
  assert_int_equal(wd_replay_seen(rp, "https://issuer.example", "unflushed", NOW + 600, NOW + 2), 1);
  wd_replay_close(rp);
  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

static void bad_input(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_replay_t *rp = open_rp(dir);
  char longid[WD_ID_MAX + 1];
  memset(longid, 'x', WD_ID_MAX);
  longid[WD_ID_MAX] = '\0';
  assert_int_equal(wd_replay_seen(rp, "i", NULL, NOW + 1, NOW), WD_EINVAL);
  assert_int_equal(wd_replay_seen(rp, "i", "", NOW + 1, NOW), WD_EINVAL);
  assert_int_equal(wd_replay_seen(rp, "i", longid, NOW + 1, NOW), WD_EINVAL);
  assert_int_equal(wd_replay_seen(rp, longid, "id", NOW + 1, NOW), WD_EINVAL);
  assert_int_equal(wd_replay_seen(rp, "i", "id", -1, NOW), WD_EINVAL);
  assert_int_equal(wd_replay_seen(NULL, "i", "id", NOW + 1, NOW), WD_EINVAL);
  longid[WD_ID_MAX - 1] = '\0'; /* 159 bytes: fine */
  assert_int_equal(wd_replay_seen(rp, longid, longid, NOW + 1, NOW), 0);
  assert_int_equal(wd_replay_seen(rp, longid, longid, NOW + 1, NOW), 1);
  assert_int_equal(wd_replay_flush(NULL, NOW), WD_EINVAL);
  assert_int_equal(wd_replay_flush(rp, NOW), 1);
  wd_replay_close(rp);
  wd_replay_close(NULL);

  /* the ban file is not a replay file: copy it in place of replay.mdb */
  wd_banlist_t *bl;
  wd_banlist_opts_t o = {.no_sync = 1, .map_size = (size_t)1 << 28};
  char *dir2 = tu_tmpdir();
  assert_int_equal(wd_banlist_open(dir2, &o, &bl), 0);
  wd_banlist_close(bl);
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/bans.mdb", dir2);
  snprintf(b, sizeof b, "%s/replay.mdb", dir2);
  assert_int_equal(rename(a, b), 0);
  wd_replay_t *rp2 = NULL;
  rp = open_rp(dir); /* one handle at a time */
  assert_int_equal(wd_replay_open(dir, &rp2), WD_EBUSY);
  assert_null(rp2);
  wd_replay_close(rp);
  assert_int_equal(wd_replay_open(dir2, &rp2), WD_ECORRUPT);
  assert_null(rp2);
  FILE *f = fopen(b, "w");
  assert_non_null(f);
  fputs("garbage garbage garbage", f);
  fclose(f);
  assert_int_equal(wd_replay_open(dir2, &rp2), WD_ECORRUPT);
  tu_tmpdir_free(dir2);
  tu_tmpdir_free(dir);
}

typedef struct race_arg {
  wd_replay_t *rp;
  _Atomic long *firsts;
  _Atomic long *errors;
} race_arg_t;

enum { RACE_IDS = 3000 };

static void *racer(void *p) {
  race_arg_t *a = p;
  for (int i = 0; i < RACE_IDS; i++) {
    char id[32];
    snprintf(id, sizeof id, "race-%d", i);
    int r = wd_replay_seen(a->rp, "iss", id, NOW + 60, NOW);
    if (r == 0)
      atomic_fetch_add(a->firsts, 1);
    else if (r != 1)
      atomic_fetch_add(a->errors, 1);
  }
  return NULL;
}

/* Threads presenting the same tokens at once: each is accepted exactly once. */
static void concurrent_first_use(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_replay_t *rp = open_rp(dir);
  enum { T = 4 };
  _Atomic long firsts = 0, errors = 0;
  pthread_t th[T];
  race_arg_t arg = {rp, &firsts, &errors};
  for (int i = 0; i < T; i++)
    assert_int_equal(pthread_create(&th[i], NULL, racer, &arg), 0);
  /* the writer flushes while they run */
  long written = 0;
  for (int k = 0; k < 50; k++) {
    long w = wd_replay_flush(rp, NOW);
    assert_true(w >= 0);
    written += w;
    usleep(200);
  }
  for (int i = 0; i < T; i++)
    pthread_join(th[i], NULL);
  long w = wd_replay_flush(rp, NOW);
  assert_true(w >= 0);
  written += w;
  assert_int_equal(atomic_load(&errors), 0);
  assert_int_equal(atomic_load(&firsts), RACE_IDS);
  assert_int_equal(written, RACE_IDS);
  assert_int_equal(stored_entries(dir), RACE_IDS);
  wd_replay_close(rp);
  tu_tmpdir_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(first_then_replay),
      cmocka_unit_test(expiry),
      cmocka_unit_test(persistence),
      cmocka_unit_test(bad_input),
      cmocka_unit_test(concurrent_first_use),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
