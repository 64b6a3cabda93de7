/* lib/sim internals: the pool's layout and the random numbers both halves draw. */
#ifndef WARDEN_SIM_INTERNAL_H
#define WARDEN_SIM_INTERNAL_H

#include <stdint.h>

#include "warden/sim.h"

struct wd_sim_pool {
  wd_sim_net_t *nets;
  size_t n;
  wd_sim_block_t *blocks;     /* every net's v4 and v6 point into this one array */
  int synthetic;
};

/* xoshiro256** seeded through splitmix64: fast, and the same sequence everywhere. */
typedef struct wd__rng {
  uint64_t s[4];
} wd__rng_t;

static inline uint64_t wd__splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline void wd__rng_seed(wd__rng_t *r, uint64_t seed) {
  for (int i = 0; i < 4; i++)
    r->s[i] = wd__splitmix64(&seed);
}

static inline uint64_t wd__rng_u64(wd__rng_t *r) {
  uint64_t *s = r->s;
  uint64_t x = s[1] * 5, out = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 45) | (s[3] >> 19);
  return out;
}

/* Uniform in [0, n) (n > 0; the bias of the modulo is below 2^-40 for the n used here). */
static inline uint64_t wd__rng_below(wd__rng_t *r, uint64_t n) {
  return wd__rng_u64(r) % n;
}

/* Uniform in [0, 1). */
static inline double wd__rng_unit(wd__rng_t *r) {
  return (double)(wd__rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [lo, hi] (lo <= hi). */
static inline int64_t wd__rng_range(wd__rng_t *r, int64_t lo, int64_t hi) {
  return lo + (int64_t)wd__rng_below(r, (uint64_t)(hi - lo) + 1);
}

#endif
