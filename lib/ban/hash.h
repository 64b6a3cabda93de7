/*
 * A fast seeded 64-bit hash for the ban index and the replay set (multiply-fold mixing in the
 * style of wyhash). Keys are hashed with a per-process random seed, so probe sequences cannot be
 * predicted from outside; exactness never depends on the hash (the ban list confirms a hit
 * against the stored value, the replay set compares two independent 64-bit hashes).
 */
#ifndef WARDEN_BAN_HASH_H
#define WARDEN_BAN_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t wd__hash_mum(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t wd__hash_rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static inline uint64_t wd__hash_rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Hash n bytes at p with seed; any n, any alignment. */
static inline uint64_t wd__hash64(uint64_t seed, const void *p, size_t n) {
  static const uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL,
                        k2 = 0x8ebc6af09c88c6e3ULL, k3 = 0x589965cc75374cc3ULL;
  const uint8_t *s = p;
  uint64_t h = seed ^ wd__hash_mum(seed ^ k0, (uint64_t)n ^ k1);
  size_t left = n;
  while (left > 16) {
    h = wd__hash_mum(wd__hash_rd64(s) ^ k1 ^ h, wd__hash_rd64(s + 8) ^ k2);
    s += 16;
    left -= 16;
  }
  uint64_t a = 0, b = 0;
  if (left >= 8) {
    a = wd__hash_rd64(s);
    b = wd__hash_rd64(s + left - 8);
  } else if (left >= 4) {
    a = wd__hash_rd32(s);
    b = wd__hash_rd32(s + left - 4);
  } else if (left > 0) {
    a = ((uint64_t)s[0] << 16) | ((uint64_t)s[left >> 1] << 8) | s[left - 1];
  }
  return wd__hash_mum(k1 ^ (uint64_t)n, wd__hash_mum(a ^ k1 ^ h, b ^ k3 ^ h) ^ k0);
}

#endif
