/*
 * Fuzz target ip: client addresses and prefixes as they arrive from outside (the request's
 * address, X-Forwarded-For style text, CIDR rules, CAT catnip entries): wd_ip_parse,
 * wd_cidr_parse, wd_ip_in_prefix and wd_ip_format. Invariant: a parsed address formats to text
 * that parses back to the same address, and an address is always inside its own full-length
 * prefix.
 */
#include "fuzz_util.h"
#include "util/ip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 256)
    return 0;
  const char *s = (const char *)data;
  wd_ip_t ip, back, net;
  char text[64];
  if (wd_ip_parse(s, size, &ip) == 0) {
    FZ_ASSERT(ip.family == 4 || ip.family == 6, "family %d", ip.family);
    wd_ip_format(&ip, text, sizeof text);
    FZ_ASSERT(memchr(text, '\0', sizeof text) != NULL, "format not terminated");
    FZ_ASSERT(wd_ip_parse(text, strlen(text), &back) == 0, "formatted '%s' does not parse", text);
    FZ_ASSERT(back.family == ip.family && !memcmp(back.a, ip.a, ip.family == 4 ? 4 : 16),
              "'%s' does not round-trip", text);
    int bits = ip.family == 4 ? 32 : 128;
    FZ_ASSERT(wd_ip_in_prefix(&ip, ip.family, ip.a, (size_t)bits / 8, bits) == 1,
              "address not in its own prefix");
    /* Truncated prefixes as CAT catnip carries them. */
    for (size_t k = 0; k <= (size_t)bits / 8; k++)
      (void)wd_ip_in_prefix(&ip, ip.family, ip.a, k, (int)(k * 8));
    (void)wd_ip_in_prefix(&ip, ip.family, ip.a, 1, bits + 1);
  }
  int plen = -1;
  if (wd_cidr_parse(s, size, &net, &plen) == 0) {
    FZ_ASSERT(net.family == 4 || net.family == 6, "family %d", net.family);
    FZ_ASSERT(plen >= 0 && plen <= (net.family == 4 ? 32 : 128), "prefix length %d", plen);
    FZ_ASSERT(wd_ip_in_prefix(&net, net.family, net.a, net.family == 4 ? 4 : 16, plen) == 1,
              "network not in its own prefix");
  }
  /* Prefix bytes straight from the input (catnip bstrs of any length). */
  if (size >= 2) {
    wd_ip_t a;
    memset(&a, 0, sizeof a);
    a.family = (data[0] & 1) ? 6 : 4;
    (void)wd_ip_in_prefix(&a, a.family, data + 2, size - 2, (int)(int8_t)data[1]);
  }
  return 0;
}
