/* AWS CloudFront signed URLs and signed cookies, canned and custom policies. */
#ifndef WARDEN_CLOUDFRONT_H
#define WARDEN_CLOUDFRONT_H

#include <stdint.h>

typedef struct wd_cloudfront_opts {
  int sha256;                  /* issue with Hash-Algorithm=SHA256 (default SHA1) */
  int custom;                  /* issue a custom policy even when a canned one would do */
  const char *resource;        /* custom policy Resource (may hold * wildcards); NULL: the URL */
  int64_t not_before;          /* custom DateGreaterThan, 0: none */
  const char *ip_cidr;         /* custom IpAddress AWS:SourceIp, NULL: none */
  int cookies;                 /* issue as Set-Cookie values instead of a URL */
  const char *origin;          /* verify: "https://host" that completes an origin-form request
                                  URL; NULL: https:// then http:// with the Host header */
} wd_cloudfront_opts_t;

#endif
