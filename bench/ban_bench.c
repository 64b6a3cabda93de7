/*
 * ban_bench: memory and lookup speed of the ban list at scale.
 *
 * Phase 1 (index only): N token bans ("sha256:<64 hex>", the identity id of a token without its
 * own id) hashed into the in-memory index the way wd_banlist_apply does (reserve per batch,
 * growing from the minimum size), then one-thread lookups of random banned (hit) and never
 * banned (miss) values, hashing included. Reports index bytes per ban, RSS, lookups/s.
 *
 * Phase 2 (skipped with --index-only): the same through the public API: wd_banlist_apply in
 * synced batches into LMDB (every ban expiring within a day, as token bans do), then
 * wd_banlist_check per request (token id + subject + client IP, the server's call) for banned
 * and clean requests, then close and time wd_banlist_open, which rebuilds the index from LMDB.
 *
 * usage: ban_bench [--count N] [--lmdb-count N] [--index-only] [--batch N] [--lookups N]
 *                  [--dir DIR] [--keep]
 *   --count: bans for phase 1 (default 10000000); --lmdb-count: for phase 2 (default --count)
 *   --dir: where phase 2 puts its store (default a new /tmp/wd-ban-bench-XXXXXX, removed at the
 *          end unless --keep). Figures, not pass/fail; pin it (taskset -c 1) for steadier rates.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ban/index.h"
#include "warden/ban.h"
#include "warden/error.h"
#include "bench_util.h"

#define NOW 1750000000

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* Value i: "sha256:" + 64 hex digits derived from i (71 bytes). Values >= N are never banned. */
static size_t make_value(uint64_t i, char *out) {
  static const char hex[] = "0123456789abcdef";
  uint64_t s = i * 0x2545F4914F6CDD1DULL + 12345;
  memcpy(out, "sha256:", 7);
  char *p = out + 7;
  for (int w = 0; w < 4; w++) {
    uint64_t v = splitmix(&s);
    for (int b = 0; b < 16; b++) {
      *p++ = hex[v & 15];
      v >>= 4;
    }
  }
  *p = '\0';
  return 71;
}

/* A /proc/self/status field in kB, 0 when absent. */
static long status_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return 0;
  char line[256];
  long v = 0;
  size_t fl = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
      v = strtol(line + fl + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

static void print_mem(const char *what) {
  printf("  %-28s RSS %.0f MiB (anon %.0f MiB, file %.0f MiB), peak RSS %.0f MiB\n", what,
         status_kb("VmRSS") / 1024.0, status_kb("RssAnon") / 1024.0, status_kb("RssFile") / 1024.0,
         status_kb("VmHWM") / 1024.0);
}

static void rm_store(const char *dir) {
  const char *files[] = {"bans.mdb", "bans.mdb-lock"};
  char p[4200];
  for (size_t i = 0; i < 2; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    unlink(p);
  }
  rmdir(dir);
}

static int phase_index(uint64_t n, uint64_t batch, uint64_t lookups) {
  printf("index only: %llu token bans\n", (unsigned long long)n);
  long anon0 = status_kb("RssAnon");
  wd__banidx_t *ix;
  if (wd__banidx_create(0, &ix) != 0)
    return 1;
  char v[80];
  double t0 = now_s();
  for (uint64_t i = 0; i < n; i += batch) {
    uint64_t end = i + batch < n ? i + batch : n;
    if (wd__banidx_reserve(ix, end - i, NOW) != 0) {
      fprintf(stderr, "out of memory at %llu\n", (unsigned long long)i);
      return 1;
    }
    for (uint64_t j = i; j < end; j++) {
      size_t len = make_value(j, v);
      wd__banidx_insert(ix, wd__banidx_key(ix, WD_BAN_TOKEN, v, len), NOW + 3600 + (uint32_t)(j % 86400));
    }
  }
  double t1 = now_s();
  uint64_t bytes = wd__banidx_bytes(ix), cap = wd__banidx_capacity(ix);
  printf("  insert                       %.1f s, %.2f M bans/s\n", t1 - t0, n / (t1 - t0) / 1e6);
  printf("  index                        %.1f MiB, %.2f bytes/ban (%llu slots, %.0f%% full)\n",
         bytes / 1048576.0, (double)bytes / (double)n, (unsigned long long)cap, 100.0 * n / cap);
  printf("  anonymous RSS growth         %.1f MiB\n", (status_kb("RssAnon") - anon0) / 1024.0);
  print_mem("after insert:");

  /* the cost of making and hashing a value alone, to separate the index probe */
  uint64_t seed = 99, found = 0, sink = 0;
  double tb = now_s();
  for (uint64_t k = 0; k < lookups; k++) {
    size_t len = make_value(splitmix(&seed) % n, v);
    sink += wd__banidx_key(ix, WD_BAN_TOKEN, v, len);
  }
  double tb1 = now_s();
  double base_ns = (tb1 - tb) / lookups * 1e9;
  printf("  make + hash a value alone    %.0f ns (%llx)\n", base_ns, (unsigned long long)(sink & 0xf));
  wd__banidx_guard_t g;
  double t2 = now_s();
  for (uint64_t k = 0; k < lookups; k++) {
    size_t len = make_value(splitmix(&seed) % n, v);
    wd__banidx_enter(ix, &g);
    found += (uint64_t)wd__banidx_has(ix, wd__banidx_key(ix, WD_BAN_TOKEN, v, len), NOW);
    wd__banidx_exit(ix, &g);
  }
  double t3 = now_s();
  uint64_t missed = 0;
  for (uint64_t k = 0; k < lookups; k++) {
    size_t len = make_value(n + splitmix(&seed) % (n + 1), v);
    wd__banidx_enter(ix, &g);
    missed += (uint64_t)wd__banidx_has(ix, wd__banidx_key(ix, WD_BAN_TOKEN, v, len), NOW);
    wd__banidx_exit(ix, &g);
  }
  double t4 = now_s();
  printf("  lookup hits                  %.2f M/s (%.0f ns; probe %.0f ns), %llu/%llu found\n",
         lookups / (t3 - t2) / 1e6, (t3 - t2) / lookups * 1e9,
         (t3 - t2) / lookups * 1e9 - base_ns, (unsigned long long)found,
         (unsigned long long)lookups);
  printf("  lookup misses                %.2f M/s (%.0f ns; probe %.0f ns), %llu false hits\n",
         lookups / (t4 - t3) / 1e6, (t4 - t3) / lookups * 1e9,
         (t4 - t3) / lookups * 1e9 - base_ns, (unsigned long long)missed);

  /* A request probes three keys (token id, subject, address): one after the other, or with the
   * three home slots prefetched first as wd_banlist_check does. Same keys for both runs. */
  uint64_t nreq = lookups / 3, *keys = malloc(nreq * 3 * sizeof *keys), hits3 = 0;
  if (!keys)
    return 1;
  for (uint64_t k = 0; k < nreq * 3; k++) {
    size_t len = make_value(n + splitmix(&seed) % (n + 1), v);
    keys[k] = wd__banidx_key(ix, WD_BAN_TOKEN, v, len);
  }
  double t5 = now_s();
  for (uint64_t r = 0; r < nreq; r++) {
    wd__banidx_enter(ix, &g);
    for (int j = 0; j < 3; j++)
      hits3 += (uint64_t)wd__banidx_has(ix, keys[r * 3 + j], NOW);
    wd__banidx_exit(ix, &g);
  }
  double t6 = now_s();
  for (uint64_t r = 0; r < nreq; r++) {
    wd__banidx_enter(ix, &g);
    for (int j = 0; j < 3; j++)
      wd__banidx_prefetch(ix, keys[r * 3 + j]);
    for (int j = 0; j < 3; j++)
      hits3 += (uint64_t)wd__banidx_has(ix, keys[r * 3 + j], NOW);
    wd__banidx_exit(ix, &g);
  }
  double t7 = now_s();
  free(keys);
  printf("  3-key request, sequential    %.0f ns (keys precomputed)\n", (t6 - t5) / nreq * 1e9);
  printf("  3-key request, prefetched    %.0f ns (%llu false hits)\n", (t7 - t6) / nreq * 1e9,
         (unsigned long long)hits3);
  wd__banidx_destroy(ix);
  return found == lookups ? 0 : 1;
}

static int phase_lmdb(const char *dir, uint64_t n, uint64_t batch, uint64_t lookups) {
  printf("LMDB + index through the API: %llu token bans in %s\n", (unsigned long long)n, dir);
  wd_banlist_opts_t o = {.map_size = (size_t)256 << 30};
  wd_banlist_t *bl;
  int rc = wd_banlist_open(dir, &o, &bl);
  if (rc) {
    fprintf(stderr, "open: %s\n", wd_strerror(rc));
    return 1;
  }
  if (batch > WD_BAN_BATCH_MAX)
    batch = WD_BAN_BATCH_MAX;
  wd_ban_change_t *cs = calloc(batch, sizeof *cs);
  if (!cs)
    return 1;
  double t0 = now_s(), last = t0;
  for (uint64_t i = 0; i < n; i += batch) {
    uint64_t end = i + batch < n ? i + batch : n;
    for (uint64_t j = i; j < end; j++) {
      wd_ban_change_t *c = &cs[j - i];
      memset(c, 0, sizeof *c);
      c->op = WD_BAN_ADD;
      c->ban.type = WD_BAN_TOKEN;
      make_value(j, c->ban.value);
      c->ban.until = NOW + 3600 + (int64_t)(j % 86400);
      strcpy(c->ban.actor, "detector");
      strcpy(c->ban.reason, "shared");
    }
    rc = wd_banlist_apply(bl, cs, end - i, NOW);
    if (rc) {
      fprintf(stderr, "apply at %llu: %s\n", (unsigned long long)i, wd_strerror(rc));
      return 1;
    }
    if (now_s() - last > 30) {
      last = now_s();
      fprintf(stderr, "  ... %llu bans, %.0f s\n", (unsigned long long)end, last - t0);
    }
  }
  double t1 = now_s();
  free(cs);
  wd_banlist_stats_t st;
  wd_banlist_stats(bl, &st);
  printf("  apply (batches of %llu, synced) %.1f s, %.0f bans/s\n", (unsigned long long)batch,
         t1 - t0, n / (t1 - t0));
  printf("  store                        %.1f MiB, %.0f bytes/ban (bans, expiry index, audit)\n",
         st.store_bytes / 1048576.0, (double)st.store_bytes / (double)n);
  printf("  index                        %.1f MiB, %.2f bytes/ban\n", st.index_bytes / 1048576.0,
         (double)st.index_bytes / (double)n);
  print_mem("after apply:");

  wd_identity_t id;
  memset(&id, 0, sizeof id);
  strcpy(id.subject, "viewer-1234");
  uint64_t seed = 7, hits = 0;
  double t2 = now_s();
  for (uint64_t k = 0; k < lookups; k++) {
    make_value(splitmix(&seed) % n, id.token_id);
    hits += (uint64_t)wd_banlist_check(bl, &id, "203.0.113.7", NOW, NULL);
  }
  double t3 = now_s();
  uint64_t false_hits = 0;
  for (uint64_t k = 0; k < lookups; k++) {
    make_value(n + splitmix(&seed) % (n + 1), id.token_id);
    false_hits += (uint64_t)wd_banlist_check(bl, &id, "203.0.113.7", NOW, NULL);
  }
  double t4 = now_s();
  printf("  check() banned requests      %.2f M/s (%.0f ns, LMDB confirm included), %llu/%llu\n",
         lookups / (t3 - t2) / 1e6, (t3 - t2) / lookups * 1e9, (unsigned long long)hits,
         (unsigned long long)lookups);
  printf("  check() clean requests       %.2f M/s (%.0f ns, token+subject+ip+cidr), %llu banned\n",
         lookups / (t4 - t3) / 1e6, (t4 - t3) / lookups * 1e9, (unsigned long long)false_hits);
  wd_banlist_close(bl);

  double t5 = now_s();
  rc = wd_banlist_open(dir, &o, &bl);
  double t6 = now_s();
  if (rc) {
    fprintf(stderr, "reopen: %s\n", wd_strerror(rc));
    return 1;
  }
  wd_banlist_stats(bl, &st);
  printf("  open (index rebuilt from LMDB) %.1f s, %.2f M bans/s, %llu bans\n", t6 - t5,
         n / (t6 - t5) / 1e6, (unsigned long long)st.bans[WD_BAN_TOKEN]);
  print_mem("after reopen:");
  make_value(n / 2, id.token_id);
  int ok = wd_banlist_check(bl, &id, NULL, NOW, NULL) == 1 && hits == lookups && false_hits == 0;
  wd_banlist_close(bl);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  uint64_t count = 10000000, lmdb_count = 0, batch = 50000, lookups = 2000000;
  int index_only = 0, keep = 0;
  const char *dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--count") && i + 1 < argc)
      count = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--lmdb-count") && i + 1 < argc)
      lmdb_count = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
      batch = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--lookups") && i + 1 < argc)
      lookups = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else if (!strcmp(argv[i], "--index-only"))
      index_only = 1;
    else if (!strcmp(argv[i], "--keep"))
      keep = 1;
    else {
      fprintf(stderr,
              "usage: ban_bench [--count N] [--lmdb-count N] [--index-only] [--batch N] "
              "[--lookups N] [--dir DIR] [--keep]\n");
      return 2;
    }
  }
  if (count == 0 || batch == 0 || lookups == 0)
    return 2;
  if (!lmdb_count)
    lmdb_count = count;
  int rc = phase_index(count, batch, lookups);
  if (!index_only && !rc) {
    char tmpl[] = "/tmp/wd-ban-bench-XXXXXX";
    int made = 0;
    if (!dir) {
      if (!mkdtemp(tmpl))
        return 1;
      dir = tmpl;
      made = 1;
    }
    rc = phase_lmdb(dir, lmdb_count, batch, lookups);
    if (made && !keep)
      rm_store(dir);
  }
  return rc;
}
