/*
 * detect_bench: the sharing-detection tracker (lib/detect) on one thread: observe() cost, memory
 * per tracked token (the tracker's own count and the process's resident memory) and expire()
 * cost, at 1 million and 10 million active tokens.
 *
 * For each size N: a tracker with the default configuration (max_tokens raised to fit), then
 *   insert     N tokens observed once each (a new record per call)
 *   steady     observations of random known tokens from their own network, a segment each
 *              (what the server does for most requests); median of --runs runs of ~--time s
 *   moving     the same with one observation in ten from one of two other networks of the
 *              token (other ASNs), so tokens seen on three networks within the window hold
 *              detail records
 *   memory     wd_tracker_stats bytes / tokens, and the growth of VmRSS since before the
 *              tracker was created, / tokens
 *   expire     wd_tracker_expire with nothing due (the periodic scan), then with everything
 *              due (dropping all N)
 * Keys are "tok-" and 16 hex digits, formatted per call (about 10 ns, included). The clock
 * given to the tracker advances so that each token is seen every 3 s on average.
 *
 * usage: detect_bench [--time SECONDS] [--runs N] [--tokens N]...   (default 1000000 10000000)
 * Figures, not pass/fail; pin it (taskset -c 1). 10 million tokens need about 1 GB of memory.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warden/detect.h"
#include "warden/error.h"
#include "bench_util.h"

#define T0 1700000000000LL

/* The key of token i: "tok-" + 16 hex digits of a scrambled i. */
static void key_of(uint64_t i, char out[24]) {
  static const char hex[] = "0123456789abcdef";
  uint64_t v = i * 0x9E3779B97F4A7C15ULL;
  memcpy(out, "tok-", 4);
  for (int k = 0; k < 16; k++)
    out[4 + k] = hex[v >> (60 - 4 * k) & 15];
  out[20] = '\0';
}

/* Token i's own network: a /24 of 10.0.0.0/8 or a /64 (one in four) in one of 1000 ASNs. */
static void own_network(uint64_t i, wd_observation_t *o, wd_geo_info_t *g) {
  memset(o->addr, 0, 16);
  if (i % 4 == 3) {
    o->family = 6;
    o->addr[0] = 0x20;
    o->addr[1] = 0x01;
    o->addr[2] = 0x0d;
    o->addr[3] = 0xb8;
    memcpy(o->addr + 4, &i, 4);
    o->addr[15] = 1;
  } else {
    o->family = 4;
    o->addr[0] = 10;
    o->addr[1] = (uint8_t)(i >> 16);
    o->addr[2] = (uint8_t)(i >> 8);
    o->addr[3] = (uint8_t)i;
  }
  g->asn = 64500 + (uint32_t)(i % 1000);
  memcpy(g->country, "SE", 3);
}

/* One of token i's two other networks (a phone on mobile data, a friend). */
static void other_network(uint64_t i, uint64_t r, wd_observation_t *o, wd_geo_info_t *g) {
  o->family = 4;
  memset(o->addr, 0, 16);
  o->addr[0] = 172;
  o->addr[1] = (uint8_t)(16 + (r & 1));
  o->addr[2] = (uint8_t)(i >> 8);
  o->addr[3] = (uint8_t)i;
  g->asn = 65000 + (uint32_t)(r & 1);
  memcpy(g->country, "SE", 3);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static const char *const segs[] = {"/live/seg1.ts", "/live/seg2.ts", "/live/seg3.ts",
                                   "/live/seg4.ts"};

/* Median ns per observation of random known tokens; one in `other` from another network
 * (0: never). The clock (nanoseconds) advances so that each token is seen every 3 s on
 * average, as a player's requests come. */
static double steady(wd_tracker_t *t, uint64_t n, double secs, int runs, unsigned other,
                     int64_t *clock_ns) {
  double ns[16];
  wd_geo_info_t g;
  memset(&g, 0, sizeof g);
  g.lat = g.lon = NAN;
  wd_observation_t o;
  wd_observation_init(&o);
  o.geo = &g;
  o.user_agent = "Mozilla/5.0 (bench)";
  char key[24];
  o.key = key;
  wd_verdict_t v;
  for (int r = 0; r < runs; r++) {
    uint64_t done = 0;
    double t0 = now_s(), t1;
    do {
      for (int k = 0; k < 65536; k++) {
        uint64_t x = next_rand(), i = x % n;
        key_of(i, key);
        if (other && (x >> 40) % other == 0)
          other_network(i, x >> 20, &o, &g);
        else
          own_network(i, &o, &g);
        o.segment = segs[(x >> 32) & 3];
        *clock_ns += (int64_t)(3000000000ull / n);
        o.now_ms = *clock_ns / 1000000;
        wd_tracker_observe(t, &o, &v);
      }
      done += 65536;
      t1 = now_s();
    } while (t1 - t0 < secs);
    ns[r] = (t1 - t0) * 1e9 / (double)done;
  }
  qsort(ns, (size_t)runs, sizeof ns[0], cmp_double);
  return ns[runs / 2];
}

static int run(uint64_t n, double secs, int runs) {
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  if (c.max_tokens < n)
    c.max_tokens = n;
  long rss0 = rss_kb();
  wd_tracker_t *t = NULL;
  int rc = wd_tracker_create(&c, &t);
  if (rc) {
    fprintf(stderr, "detect_bench: wd_tracker_create: %s\n", wd_strerror(rc));
    return 1;
  }
  printf("== %llu tokens, %u shards, window %u s\n", (unsigned long long)n, c.shards, c.window_s);

  /* insert */
  wd_geo_info_t g;
  memset(&g, 0, sizeof g);
  g.lat = g.lon = NAN;
  wd_observation_t o;
  wd_observation_init(&o);
  o.geo = &g;
  o.user_agent = "Mozilla/5.0 (bench)";
  o.segment = segs[0];
  char key[24];
  o.key = key;
  int64_t clock = T0 * 1000000; /* nanoseconds */
  double t0 = now_s();
  for (uint64_t i = 0; i < n; i++) {
    key_of(i, key);
    own_network(i, &o, &g);
    o.now_ms = T0 + (int64_t)(i * 3000 / n); /* all within 3 s */
    wd_tracker_observe(t, &o, NULL);
  }
  double t1 = now_s();
  clock += 3000000000;
  printf("%-30s %10.0f ns/op %12.0f ops/s\n", "observe, insert (new token)", (t1 - t0) * 1e9 / n,
         n / (t1 - t0));

  wd_tracker_stats_t st;
  wd_tracker_stats(t, &st);
  long rss1 = rss_kb();
  double per = (double)st.bytes / (double)st.tokens;
  double per_rss = (double)(rss1 - rss0) * 1024 / (double)st.tokens;
  printf("%-30s %10.1f B/token (records+index %.1f, detail %.1f), %.0f MB\n",
         "memory, tracker count", per, (double)st.token_bytes / st.tokens,
         (double)st.detail_bytes / st.tokens, st.bytes / 1048576.0);
  printf("%-30s %10.1f B/token, %.0f MB\n", "memory, RSS growth", per_rss,
         (rss1 - rss0) / 1024.0);

  double ns = steady(t, n, secs, runs, 0, &clock);
  printf("%-30s %10.0f ns/op %12.0f ops/s\n", "observe, steady (known token)", ns, 1e9 / ns);
  ns = steady(t, n, secs, runs, 10, &clock);
  wd_tracker_stats(t, &st);
  printf("%-30s %10.0f ns/op %12.0f ops/s (%llu detail records)\n",
         "observe, 1 in 10 other network", ns, 1e9 / ns, (unsigned long long)st.detailed);
  long rss2 = rss_kb();
  printf("%-30s %10.1f B/token (detail %.1f), RSS %.1f B/token\n", "memory after", 
         (double)st.bytes / st.tokens, (double)st.detail_bytes / st.tokens,
         (double)(rss2 - rss0) * 1024 / (double)st.tokens);

  /* expire: a scan with nothing due, then everything due */
  t0 = now_s();
  uint64_t k = wd_tracker_expire(t, clock / 1000000);
  t1 = now_s();
  printf("%-30s %10.1f ms (%llu dropped, %.1f ns/token)\n", "expire, nothing due",
         (t1 - t0) * 1e3, (unsigned long long)k, (t1 - t0) * 1e9 / n);
  t0 = now_s();
  k = wd_tracker_expire(t, clock / 1000000 + (int64_t)c.idle_s * 1000 + 60000);
  t1 = now_s();
  printf("%-30s %10.1f ms (%llu dropped, %.1f ns/token)\n", "expire, everything due",
         (t1 - t0) * 1e3, (unsigned long long)k, (t1 - t0) * 1e9 / n);
  wd_tracker_destroy(t);
  return 0;
}

int main(int argc, char **argv) {
  double secs = 1.0;
  int runs = 3;
  uint64_t sizes[8];
  int nsizes = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--time") && i + 1 < argc)
      secs = atof(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--tokens") && i + 1 < argc && nsizes < 8)
      sizes[nsizes++] = strtoull(argv[++i], NULL, 10);
    else {
      fprintf(stderr, "usage: detect_bench [--time SECONDS] [--runs N] [--tokens N]...\n");
      return 2;
    }
  }
  if (runs < 1 || runs > 16)
    runs = 3;
  if (!nsizes) {
    sizes[nsizes++] = 1000000;
    sizes[nsizes++] = 10000000;
  }
  printf("== detect_bench: one thread, median of %d runs of %.1f s\n", runs, secs);
  for (int i = 0; i < nsizes; i++)
    if (sizes[i] == 0 || run(sizes[i], secs, runs))
      return 1;
  return 0;
}
