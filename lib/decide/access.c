/*
 * Access rules: the control layers a policy adds on top of a valid token.
 *   geo blocking        the request's country against countries_allow / countries_deny;
 *   domain restriction  the Origin (else Referer) host against referers_allow;
 *   origin protection   the client address against the ip_allow CIDRs (only the CDNs' addresses
 *                       may reach the origin).
 * Device restriction (user-agent binding) happens in the token verifier (a JWT `ua` claim);
 * decide.c turns its failure into reason user_agent. Nothing here allocates; every value read
 * from the request has a length bound.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "decide/internal.h"
#include "util/url.h"

#define COUNTRY_MAX 16

/* entry "SE" matches "SE" and "SE-AB"; "US-CA" only "US-CA" (entries are uppercase). */
static int country_matches(const char *entry, const char *c, size_t n) {
  size_t el = strlen(entry);
  if (n < el || strncasecmp(entry, c, el) != 0)
    return 0;
  return n == el || (el == 2 && c[2] == '-');
}

static int in_list(char *const *list, size_t n, const char *c, size_t cl) {
  for (size_t i = 0; i < n; i++)
    if (country_matches(list[i], c, cl))
      return 1;
  return 0;
}

int wd__access_geo(const wd__policy_t *p, const wd_request_t *req, char *detail, size_t cap) {
  const wd_policy_t *pol = &p->pub;
  if (!pol->ncountries_allow && !pol->ncountries_deny)
    return 0;
  const char *c = req->country && *req->country ? req->country : NULL;
  size_t cl = c ? strnlen(c, COUNTRY_MAX) : 0;
  if (cl >= COUNTRY_MAX) /* not a country code: unknown */
    c = NULL, cl = 0;
  if (pol->ncountries_allow) {
    if (!c) {
      snprintf(detail, cap, "country unknown and policy %s allows only listed countries",
               pol->name);
      return 1;
    }
    if (!in_list(pol->countries_allow, pol->ncountries_allow, c, cl)) {
      snprintf(detail, cap, "country %.*s is not allowed by policy %s", (int)cl, c, pol->name);
      return 1;
    }
  }
  if (c && in_list(pol->countries_deny, pol->ncountries_deny, c, cl)) {
    snprintf(detail, cap, "country %.*s is denied by policy %s", (int)cl, c, pol->name);
    return 1;
  }
  return 0;
}

int wd__access_referer(const wd__policy_t *p, const wd_request_t *req, char *detail,
                       size_t cap) {
  const wd_policy_t *pol = &p->pub;
  if (!pol->nreferers_allow)
    return 0;
  const char *what = "Origin";
  const char *v = wd_request_header(req, "Origin");
  if (!v || !*v || strcmp(v, "null") == 0) {
    what = "Referer";
    v = wd_request_header(req, "Referer");
  }
  if (!v || !*v) {
    snprintf(detail, cap, "no Origin or Referer header and policy %s restricts them", pol->name);
    return 1;
  }
  if (strnlen(v, WD__REFERER_MAX + 1) > WD__REFERER_MAX) {
    snprintf(detail, cap, "%s header exceeds %d bytes", what, WD__REFERER_MAX);
    return 1;
  }
  wd_url_t u;
  char host[WD__HOST_MAX];
  size_t hl = 0;
  if (wd_url_split(v, &u) == 0 && u.host.n)
    hl = wd__request_host(u.host.p, u.host.n, NULL, NULL, host);
  if (hl == 0) {
    snprintf(detail, cap, "%s header has no host", what);
    return 1;
  }
  for (size_t i = 0; i < pol->nreferers_allow; i++)
    if (wd__host_matches(pol->referers_allow[i], host, hl))
      return 0;
  snprintf(detail, cap, "%s host %.100s is not allowed by policy %s", what, host, pol->name);
  return 1;
}

int wd__access_ip(const wd__policy_t *p, const wd_request_t *req, char *detail, size_t cap) {
  const wd_policy_t *pol = &p->pub;
  if (!p->nip_allow)
    return 0;
  wd_ip_t ip;
  if (!req->ip || !*req->ip) {
    snprintf(detail, cap, "client address unknown and policy %s has an ip_allow list",
             pol->name);
    return 1;
  }
  size_t n = strnlen(req->ip, 64);
  if (wd_ip_parse(req->ip, n, &ip) != 0) {
    snprintf(detail, cap, "client address is not an IP address (policy %s has an ip_allow list)",
             pol->name);
    return 1;
  }
  for (size_t i = 0; i < p->nip_allow; i++) {
    const wd__cidr_t *c = &p->ip_allow[i];
    if (wd_ip_in_prefix(&ip, c->net.family, c->net.a, sizeof c->net.a, c->plen))
      return 0;
  }
  char txt[64];
  wd_ip_format(&ip, txt, sizeof txt);
  snprintf(detail, cap, "client %s is not in the ip_allow list of policy %s", txt, pol->name);
  return 1;
}
