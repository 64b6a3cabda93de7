/* IP parsing and prefix matching over inet_pton; see ip.h. */
#include "util/ip.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "warden/error.h"

/* Dotted-quad IPv4 as inet_pton(AF_INET) takes it: four decimal octets of at most 255, no
 * leading zeros, nothing else. 0 or -1. */
static int parse_v4(const char *s, size_t n, uint8_t out[4]) {
  unsigned oct = 0, val = 0, digits = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= '0' && c <= '9') {
      if (digits && val == 0)
        return -1;
      val = val * 10 + (c - '0');
      if (val > 255)
        return -1;
      digits++;
    } else if (c == '.' && digits && oct < 3) {
      out[oct++] = (uint8_t)val;
      val = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (!digits || oct != 3)
    return -1;
  out[3] = (uint8_t)val;
  return 0;
}

int wd_ip_parse(const char *s, size_t n, wd_ip_t *out) {
  char buf[64];
  if (!s || n == 0 || n >= sizeof buf)
    return WD_EMALFORMED;
  if (s[0] == '[' && n >= 2 && s[n - 1] == ']') {
    s++;
    n -= 2;
  }
  wd_ip_t ip;
  memset(&ip, 0, sizeof ip);
  if (parse_v4(s, n, ip.a) == 0) {
    ip.family = 4;
    *out = ip;
    return 0;
  }
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (inet_pton(AF_INET6, buf, ip.a) == 1) {
    ip.family = 6;
    /* An IPv4-mapped IPv6 address is its IPv4 address. */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ip.a, mapped, 12) == 0) {
      memmove(ip.a, ip.a + 12, 4);
      memset(ip.a + 4, 0, 12);
      ip.family = 4;
    }
  } else {
    return WD_EMALFORMED;
  }
  *out = ip;
  return 0;
}

int wd_cidr_parse(const char *s, size_t n, wd_ip_t *net, int *plen) {
  const char *slash = memchr(s, '/', n);
  size_t an = slash ? (size_t)(slash - s) : n;
  wd_ip_t ip;
  int rc = wd_ip_parse(s, an, &ip);
  if (rc)
    return rc;
  int max = ip.family == 4 ? 32 : 128, len = max;
  if (slash) {
    size_t ln = n - an - 1;
    if (ln == 0 || ln > 3)
      return WD_EMALFORMED;
    len = 0;
    for (size_t i = 0; i < ln; i++) {
      char c = slash[1 + i];
      if (c < '0' || c > '9')
        return WD_EMALFORMED;
      len = len * 10 + (c - '0');
    }
    if (len > max)
      return WD_EMALFORMED;
  }
  *net = ip;
  *plen = len;
  return 0;
}

int wd_ip_in_prefix(const wd_ip_t *ip, int family, const uint8_t *prefix, size_t prefix_len, int plen) {
  if (!ip || ip->family != family || plen < 0 || plen > (family == 4 ? 32 : 128))
    return 0;
  int full = plen / 8, rem = plen % 8;
  for (int i = 0; i < full; i++) {
    uint8_t p = (size_t)i < prefix_len ? prefix[i] : 0;
    if (ip->a[i] != p)
      return 0;
  }
  if (rem) {
    uint8_t p = (size_t)full < prefix_len ? prefix[full] : 0;
    uint8_t mask = (uint8_t)(0xff << (8 - rem));
    if ((ip->a[full] & mask) != (p & mask))
      return 0;
  }
  return 1;
}

void wd_ip_format(const wd_ip_t *ip, char *out, size_t cap) {
  if (ip->family == 4 && cap >= 16) { /* dotted quad without inet_ntop's sprintf */
    size_t k = 0;
    for (int i = 0; i < 4; i++) {
      unsigned v = ip->a[i];
      if (v >= 100)
        out[k++] = (char)('0' + v / 100);
      if (v >= 10)
        out[k++] = (char)('0' + v / 10 % 10);
      out[k++] = (char)('0' + v % 10);
      out[k++] = i < 3 ? '.' : '\0';
    }
    return;
  }
  if (!inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->a, out, (socklen_t)cap) && cap)
    out[0] = '\0';
}
