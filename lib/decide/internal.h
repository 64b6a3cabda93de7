/*
 * Internals of the decision pipeline: the decider with its compiled policies (host pattern,
 * path prefix, CIDRs and the schemes to try, worked out once at create), policy matching
 * (policy.c) and the access rules (access.c) that decide.c runs per request.
 */
#ifndef WARDEN_DECIDE_INTERNAL_H
#define WARDEN_DECIDE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/ip.h"
#include "warden/decide.h"
#include "warden/detect.h"

#define WD__HOST_MAX 256       /* host names, bytes including the NUL */
#define WD__POLICIES_MAX 4096
#define WD__REFERER_MAX 4096   /* longer Referer / Origin values are not allowed */

typedef enum wd__host_kind {
  WD__HOST_ANY = 0,
  WD__HOST_SUFFIX,             /* host holds ".example.com" */
  WD__HOST_EXACT,
} wd__host_kind_t;

typedef struct wd__cidr {
  wd_ip_t net;
  int plen;
} wd__cidr_t;

/* One policy as the pipeline uses it; `pub` is what callers see (wd_decider_policy). */
typedef struct wd__policy {
  wd_policy_t pub;
  wd__host_kind_t host_kind;
  char host[WD__HOST_MAX];     /* lowercase; ".example.com" for a suffix pattern */
  size_t host_len;
  size_t prefix_len;           /* 0: any path */
  wd_scheme_t schemes[WD_SCHEME_COUNT]; /* to try, in order */
  size_t nschemes;
  wd__cidr_t ip_allow[WD_POLICY_MAX_LIST];
  size_t nip_allow;
  wd_tracker_t *tracker;       /* sharing detection (borrowed), NULL: off */
} wd__policy_t;

struct wd_decider {
  const wd_keyring_t *ring;
  wd_banlist_t *bans;
  wd_replay_t *replay;
  wd_banlist_t *allow;         /* the allow list (borrowed), NULL: none */
  wd__policy_t *pols;
  size_t npols;
  void **owned;                /* strings and arrays duplicated from the caller's policies */
  size_t nowned, capowned;
};

/*
 * The policy for a request's host (lowercase, no port; n may be 0: unknown host, which matches
 * only policies for any host) and normalised path. NULL when none matches.
 */
const wd__policy_t *wd__policy_match(const wd_decider_t *d, const char *host, size_t hostlen,
                                     const char *path, size_t pathlen);

/* Does host (lowercase, n bytes) match pattern ("name" or "*.name", lowercase)? */
int wd__host_matches(const char *pattern, const char *host, size_t n);

/*
 * Write the request's host into out (WD__HOST_MAX bytes) in lowercase without port or trailing
 * dot: from the URL's host span, else `fallback` (wd_decide_input_t.host), else the Host header.
 * Returns its length; 0 when unknown, empty, too long or holding bytes a host cannot have.
 */
size_t wd__request_host(const char *url_host, size_t url_host_len, const char *fallback,
                        const wd_request_t *req, char *out);

/*
 * Access rules. Each returns 0 when the request passes, 1 when the rule denies it (with a one-line
 * detail written to detail, cap bytes).
 */
int wd__access_geo(const wd__policy_t *p, const wd_request_t *req, char *detail, size_t cap);
int wd__access_referer(const wd__policy_t *p, const wd_request_t *req, char *detail, size_t cap);
int wd__access_ip(const wd__policy_t *p, const wd_request_t *req, char *detail, size_t cap);

#endif
