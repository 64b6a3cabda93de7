/* IP addresses and prefixes (IPv4 and IPv6), for IP binding, catnip and CIDR rules. */
#ifndef WARDEN_UTIL_IP_H
#define WARDEN_UTIL_IP_H

#include <stddef.h>
#include <stdint.h>

typedef struct wd_ip {
  int family;     /* 4 or 6 */
  uint8_t a[16];  /* network order; IPv4 in the first 4 bytes */
} wd_ip_t;

/* Parse n bytes of text ("203.0.113.7", "2001:db8::1", "[2001:db8::1]"); WD_EMALFORMED. */
int wd_ip_parse(const char *s, size_t n, wd_ip_t *out);
/* Parse "a.b.c.d/len" or "v6/len" (a bare address is a full-length prefix). */
int wd_cidr_parse(const char *s, size_t n, wd_ip_t *net, int *plen);
/* 1 when the first plen bits of ip equal those of prefix (prefix_len bytes given, may be
 * truncated: missing bytes are zero) and families match; 0 otherwise. */
int wd_ip_in_prefix(const wd_ip_t *ip, int family, const uint8_t *prefix, size_t prefix_len, int plen);
/* Text form into out (at least 64 bytes). */
void wd_ip_format(const wd_ip_t *ip, char *out, size_t cap);

#endif
