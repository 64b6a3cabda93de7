/* Helpers shared by the C benchmarks: a monotonic clock, the process's resident memory, and a
 * fast deterministic random stream (splitmix64). */
#ifndef WARDEN_BENCH_UTIL_H
#define WARDEN_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Resident memory of this process in KiB (VmRSS), 0 when unknown. */
static inline long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return 0;
  char line[256];
  long v = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) {
      v = strtol(line + 6, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

/* splitmix64 over one global state: the same sequence on every run. */
static uint64_t bench_rng = 0x9e3779b97f4a7c15ULL;
static inline uint64_t next_rand(void) {
  uint64_t z = (bench_rng += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

#endif
