/*
 * Policies and the decider that holds them: the stable names of actions, modes and reasons;
 * building a decider (deep copies of the caller's policies, validated, with the host pattern,
 * path prefix, CIDR list and schemes to try worked out once); matching a request's host and
 * path to its policy. After create everything here is read-only except each policy's mode,
 * which is atomic, so any number of threads may decide at once.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decide/internal.h"
#include "util/url.h"
#include "warden/error.h"

/* ---- names ---- */

static const char *const action_names[WD_ACT_COUNT] = {
    [WD_ACT_ALLOW] = "allow",           [WD_ACT_BLOCK] = "block",
    [WD_ACT_THROTTLE] = "throttle",     [WD_ACT_SUBSTITUTE] = "substitute",
    [WD_ACT_REDIRECT] = "redirect",     [WD_ACT_CALLOUT] = "callout",
    [WD_ACT_RENEW] = "renew",
};

static const char *const mode_names[] = {
    [WD_MODE_MONITOR] = "monitor",
    [WD_MODE_MODERATE] = "moderate",
    [WD_MODE_AUTOMATE] = "automate",
};
#define MODE_COUNT (sizeof mode_names / sizeof *mode_names)

static const char *const reason_names[WD_REASON_COUNT] = {
    [WD_REASON_NO_TOKEN] = "no_token", [WD_REASON_INVALID] = "invalid",
    [WD_REASON_EXPIRED] = "expired",   [WD_REASON_BANNED] = "banned",
    [WD_REASON_REPLAY] = "replay",     [WD_REASON_GEO] = "geo",
    [WD_REASON_REFERER] = "referer",   [WD_REASON_USER_AGENT] = "user_agent",
    [WD_REASON_ORIGIN_IP] = "origin_ip", [WD_REASON_SHARED] = "shared",
};

static int name_parse(const char *const *names, size_t n, const char *s) {
  if (!s)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(s, names[i]) == 0)
      return (int)i;
  return -1;
}

const char *wd_action_name(wd_action_t a) {
  return (unsigned)a < WD_ACT_COUNT ? action_names[a] : "unknown";
}

int wd_action_parse(const char *s, wd_action_t *out) {
  int i = name_parse(action_names, WD_ACT_COUNT, s);
  if (i < 0 || !out)
    return WD_EINVAL;
  *out = (wd_action_t)i;
  return 0;
}

const char *wd_mode_name(wd_mode_t m) {
  return (unsigned)m < MODE_COUNT ? mode_names[m] : "unknown";
}

int wd_mode_parse(const char *s, wd_mode_t *out) {
  int i = name_parse(mode_names, MODE_COUNT, s);
  if (i < 0 || !out)
    return WD_EINVAL;
  *out = (wd_mode_t)i;
  return 0;
}

const char *wd_reason_name(wd_reason_t r) {
  return (unsigned)r < WD_REASON_COUNT ? reason_names[r] : "unknown";
}

int wd_reason_parse(const char *s, wd_reason_t *out) {
  int i = name_parse(reason_names, WD_REASON_COUNT, s);
  if (i < 0 || !out)
    return WD_EINVAL;
  *out = (wd_reason_t)i;
  return 0;
}

/* ---- policies ---- */

void wd_policy_init(wd_policy_t *p) {
  memset(p, 0, sizeof *p);
  atomic_init(&p->mode, WD_MODE_MONITOR);
  p->require_token = 1;
  p->ban_shared = 1;
  for (int r = 0; r < WD_REASON_COUNT; r++)
    p->on[r].action = WD_ACT_BLOCK;
}

wd_mode_t wd_policy_mode(const wd_policy_t *p) {
  return (wd_mode_t)atomic_load_explicit(&p->mode, memory_order_relaxed);
}

int wd_policy_set_mode(wd_policy_t *p, wd_mode_t m) {
  if (!p || (unsigned)m >= MODE_COUNT)
    return WD_EINVAL;
  atomic_store_explicit(&p->mode, (int)m, memory_order_relaxed);
  return 0;
}

/* ---- host names ---- */

static int host_char(char c) {
  return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

int wd__host_matches(const char *pattern, const char *host, size_t n) {
  if (n == 0)
    return 0;
  if (pattern[0] == '*' && pattern[1] == '\0')
    return 1;
  if (pattern[0] == '*') { /* "*.name": sub-domains of name */
    size_t sl = strlen(pattern + 1);
    return n > sl && memcmp(host + n - sl, pattern + 1, sl) == 0;
  }
  return strlen(pattern) == n && memcmp(pattern, host, n) == 0;
}

/* Copy a host (n bytes, maybe with ":port") into out in lowercase; see wd__request_host. */
static size_t host_copy(const char *s, size_t n, int may_have_port, char *out) {
  if (!s)
    return 0;
  size_t end = n;
  if (s[0] == '[') { /* IPv6 literal: keep the brackets */
    const char *rb = memchr(s, ']', n);
    if (!rb)
      return 0;
    end = (size_t)(rb - s) + 1;
    if (end < n && !(may_have_port && s[end] == ':'))
      return 0;
  } else if (may_have_port) {
    const char *colon = memchr(s, ':', n);
    if (colon)
      end = (size_t)(colon - s);
  }
  if (end > 0 && s[end - 1] == '.')
    end--;
  if (end == 0 || end >= WD__HOST_MAX)
    return 0;
  int v6 = s[0] == '[';
  for (size_t i = 0; i < end; i++) {
    char c = s[i];
    if (!(host_char(c) || (v6 && (c == '[' || c == ']' || c == ':'))))
      return 0;
    out[i] = (char)tolower((unsigned char)c);
  }
  out[end] = '\0';
  return end;
}

size_t wd__request_host(const char *url_host, size_t url_host_len, const char *fallback,
                        const wd_request_t *req, char *out) {
  out[0] = '\0';
  if (url_host && url_host_len)
    return host_copy(url_host, url_host_len, 0, out);
  const char *h = fallback && *fallback ? fallback : NULL;
  if (!h && req)
    h = wd_request_header(req, "Host");
  if (!h)
    return 0;
  size_t n = strnlen(h, WD__HOST_MAX + 8);
  return host_copy(h, n, 1, out);
}

/* A policy's host pattern: "name", "*.name" or "*" (any). */
static int host_pattern_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= WD__HOST_MAX)
    return 0;
  if (strcmp(s, "*") == 0)
    return 1;
  if (s[0] == '*') {
    if (s[1] != '.' || n < 3)
      return 0;
    s += 2;
  }
  int v6 = s[0] == '[';
  for (; *s; s++)
    if (!(host_char(*s) || (v6 && (*s == '[' || *s == ']' || *s == ':'))) || *s == '*')
      return 0;
  return 1;
}

/* ---- the decider ---- */

static int own(wd_decider_t *d, void *p) {
  if (!p)
    return WD_ENOMEM;
  if (d->nowned == d->capowned) {
    size_t cap = d->capowned ? d->capowned * 2 : 64;
    void **n = realloc(d->owned, cap * sizeof *n);
    if (!n) {
      free(p);
      return WD_ENOMEM;
    }
    d->owned = n;
    d->capowned = cap;
  }
  d->owned[d->nowned++] = p;
  return 0;
}

enum { CASE_KEEP = 0, CASE_LOWER, CASE_UPPER };

/* Duplicate s (NULL stays NULL) into *out, owned by the decider. */
static int dup_str(wd_decider_t *d, const char *s, int fold, char **out) {
  *out = NULL;
  if (!s)
    return 0;
  char *c = strdup(s);
  int rc = own(d, c);
  if (rc)
    return rc;
  for (char *p = c; fold && *p; p++)
    *p = (char)(fold == CASE_LOWER ? tolower((unsigned char)*p) : toupper((unsigned char)*p));
  *out = c;
  return 0;
}

static int dup_cstr(wd_decider_t *d, const char **s) {
  char *c;
  int rc = dup_str(d, *s, CASE_KEEP, &c);
  *s = c;
  return rc;
}

/* Duplicate a list of n strings (the option arrays of wd_verify_opts_t). */
static int dup_names(wd_decider_t *d, const char *const **list, size_t n) {
  if (n == 0) {
    *list = NULL;
    return 0;
  }
  if (!*list || n > 1024)
    return WD_EINVAL;
  const char **c = calloc(n, sizeof *c);
  int rc = own(d, (void *)c);
  for (size_t i = 0; !rc && i < n; i++) {
    c[i] = (*list)[i];
    rc = c[i] ? dup_cstr(d, &c[i]) : WD_EINVAL;
  }
  *list = c;
  return rc;
}

static int dup_verify(wd_decider_t *d, wd_verify_opts_t *o) {
  int rc = 0;
  rc = rc ? rc : dup_names(d, &o->cat.issuers, o->cat.nissuers);
  rc = rc ? rc : dup_names(d, &o->cat.audiences, o->cat.naudiences);
  rc = rc ? rc : dup_cstr(d, &o->cat.query_param);
  rc = rc ? rc : dup_cstr(d, &o->cat.header_name);
  rc = rc ? rc : dup_cstr(d, &o->cat.cookie_name);
  rc = rc ? rc : dup_names(d, &o->jwt.issuers, o->jwt.nissuers);
  rc = rc ? rc : dup_names(d, &o->jwt.audiences, o->jwt.naudiences);
  rc = rc ? rc : dup_cstr(d, &o->jwt.query_param);
  rc = rc ? rc : dup_cstr(d, &o->jwt.cookie_name);
  rc = rc ? rc : dup_cstr(d, &o->akamai.name);
  rc = rc ? rc : dup_cstr(d, &o->akamai.field_delimiter);
  rc = rc ? rc : dup_cstr(d, &o->akamai.acl_delimiter);
  rc = rc ? rc : dup_cstr(d, &o->akamai.salt);
  rc = rc ? rc : dup_cstr(d, &o->securelink.template_str);
  rc = rc ? rc : dup_cstr(d, &o->securelink.md5_param);
  rc = rc ? rc : dup_cstr(d, &o->securelink.expires_param);
  rc = rc ? rc : dup_cstr(d, &o->cloudfront.resource);
  rc = rc ? rc : dup_cstr(d, &o->cloudfront.ip_cidr);
  rc = rc ? rc : dup_cstr(d, &o->cloudfront.origin);
  rc = rc ? rc : dup_cstr(d, &o->bunny.token_path);
  return rc;
}

/* Duplicate a list of n strings into the fixed array of a policy. */
static int dup_list(wd_decider_t *d, char **arr, size_t n, int fold) {
  if (n > WD_POLICY_MAX_LIST)
    return WD_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!arr[i])
      return WD_EINVAL;
    int rc = dup_str(d, arr[i], fold, &arr[i]);
    if (rc)
      return rc;
  }
  return 0;
}

static int spec_ok(const wd_action_spec_t *s) {
  if ((unsigned)s->action >= WD_ACT_COUNT || s->status < 0 || s->status > 599)
    return 0;
  switch (s->action) {
  case WD_ACT_REDIRECT:
    if (s->status && (s->status < 300 || s->status > 399))
      return 0;
    /* fall through */
  case WD_ACT_SUBSTITUTE:
  case WD_ACT_CALLOUT:
    return s->target && *s->target;
  case WD_ACT_THROTTLE:
    return s->rate > 0;
  case WD_ACT_BLOCK:
    return s->status == 0 || s->status >= 400;
  default:
    return 1;
  }
}

/* Copy, validate and compile one policy into dp. */
static int compile(wd_decider_t *d, const wd_policy_t *src, wd__policy_t *dp) {
  wd_policy_t *p = &dp->pub;
  int mode = atomic_load(&src->mode);
  int rc;
  memcpy(p, src, sizeof *p);
  atomic_store(&p->mode, mode);
  if (!src->name || (unsigned)mode >= MODE_COUNT)
    return WD_EINVAL;
  if ((rc = dup_str(d, src->name, CASE_KEEP, &p->name)))
    return rc;

  /* host */
  if ((rc = dup_str(d, src->host, CASE_LOWER, &p->host)))
    return rc;
  dp->host_kind = WD__HOST_ANY;
  if (p->host) {
    if (!host_pattern_ok(p->host))
      return WD_EINVAL;
    if (p->host[0] == '*' && p->host[1] == '.') {
      dp->host_kind = WD__HOST_SUFFIX;
      dp->host_len = strlen(p->host + 1);
      memcpy(dp->host, p->host + 1, dp->host_len + 1);
    } else if (p->host[0] != '*') {
      dp->host_kind = WD__HOST_EXACT;
      dp->host_len = strlen(p->host);
      if (dp->host_len && dp->host[dp->host_len - 1] == '.')
        dp->host_len--;
      memcpy(dp->host, p->host, dp->host_len);
      dp->host[dp->host_len] = '\0';
    }
  }

  /* path prefix */
  if ((rc = dup_str(d, src->path_prefix, CASE_KEEP, &p->path_prefix)))
    return rc;
  if (p->path_prefix) {
    size_t n = strlen(p->path_prefix);
    if (p->path_prefix[0] != '/' || n > WD_DECIDE_URL_MAX)
      return WD_EINVAL;
    dp->prefix_len = n == 1 ? 0 : n;
  }

  /* schemes: the listed ones, else every scheme with a key in the ring */
  if (p->nschemes > WD_POLICY_MAX_SCHEMES)
    return WD_EINVAL;
  for (size_t i = 0; i < p->nschemes; i++) {
    if (p->schemes[i] <= WD_SCHEME_NONE || p->schemes[i] >= WD_SCHEME_COUNT)
      return WD_EINVAL;
    for (size_t j = 0; j < i; j++)
      if (p->schemes[j] == p->schemes[i])
        return WD_EINVAL;
    dp->schemes[dp->nschemes++] = p->schemes[i];
  }
  if (p->nschemes == 0 && d->ring) {
    int has[WD_SCHEME_COUNT] = {0};
    unsigned nk = wd_keyring_count(d->ring);
    for (unsigned i = 0; i < nk; i++) {
      const wd_key_t *k = wd_keyring_at(d->ring, i);
      if (k && k->scheme > WD_SCHEME_NONE && k->scheme < WD_SCHEME_COUNT)
        has[k->scheme] = 1;
    }
    for (int s = WD_SCHEME_NONE + 1; s < WD_SCHEME_COUNT; s++)
      if (has[s])
        dp->schemes[dp->nschemes++] = (wd_scheme_t)s;
  }
  if ((rc = dup_verify(d, &p->verify)))
    return rc;
  if (p->bind_user_agent)
    p->verify.jwt.no_bind_ua = 0;

  /* actions */
  for (int r = 0; r < WD_REASON_COUNT; r++) {
    if (!spec_ok(&src->on[r]))
      return WD_EINVAL;
    if ((rc = dup_str(d, src->on[r].target, CASE_KEEP, &p->on[r].target)))
      return rc;
  }

  /* access rules */
  if ((rc = dup_list(d, p->countries_allow, p->ncountries_allow, CASE_UPPER)) ||
      (rc = dup_list(d, p->countries_deny, p->ncountries_deny, CASE_UPPER)) ||
      (rc = dup_list(d, p->referers_allow, p->nreferers_allow, CASE_LOWER)) ||
      (rc = dup_list(d, p->ip_allow, p->nip_allow, CASE_KEEP)))
    return rc;
  for (size_t i = 0; i < p->nreferers_allow; i++)
    if (!host_pattern_ok(p->referers_allow[i]))
      return WD_EINVAL;
  for (size_t i = 0; i < p->nip_allow; i++) {
    if (wd_cidr_parse(p->ip_allow[i], strlen(p->ip_allow[i]), &dp->ip_allow[i].net,
                      &dp->ip_allow[i].plen))
      return WD_EINVAL;
  }
  dp->nip_allow = p->nip_allow;
  return 0;
}

int wd_decider_create(const wd_policy_t *policies, size_t npolicies, const wd_keyring_t *ring,
                      wd_banlist_t *bans, wd_replay_t *replay, wd_decider_t **out) {
  if (!out || (npolicies && !policies) || npolicies > WD__POLICIES_MAX)
    return WD_EINVAL;
  wd_decider_t *d = calloc(1, sizeof *d);
  if (!d)
    return WD_ENOMEM;
  d->ring = ring;
  d->bans = bans;
  d->replay = replay;
  int rc = 0;
  if (npolicies) {
    d->pols = calloc(npolicies, sizeof *d->pols);
    rc = d->pols ? 0 : WD_ENOMEM;
  }
  for (size_t i = 0; !rc && i < npolicies; i++) {
    rc = compile(d, &policies[i], &d->pols[i]);
    d->npols = i + 1;
  }
  if (rc) {
    wd_decider_destroy(d);
    return rc;
  }
  *out = d;
  return 0;
}

int wd_decider_set_tracker(wd_decider_t *d, wd_policy_t *p, wd_tracker_t *t) {
  for (size_t i = 0; d && p && i < d->npols; i++)
    if (&d->pols[i].pub == p) {
      d->pols[i].tracker = t;
      return 0;
    }
  return WD_EINVAL;
}

void wd_decider_set_allowlist(wd_decider_t *d, wd_banlist_t *allow) {
  if (d)
    d->allow = allow;
}

void wd_decider_destroy(wd_decider_t *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->nowned; i++)
    free(d->owned[i]);
  free(d->owned);
  free(d->pols);
  free(d);
}

wd_policy_t *wd_decider_policy(wd_decider_t *d, const char *name) {
  if (!d || !name)
    return NULL;
  for (size_t i = 0; i < d->npols; i++)
    if (strcmp(d->pols[i].pub.name, name) == 0)
      return &d->pols[i].pub;
  return NULL;
}

size_t wd_decider_npolicies(const wd_decider_t *d) {
  return d ? d->npols : 0;
}

wd_policy_t *wd_decider_policy_at(wd_decider_t *d, size_t i) {
  return d && i < d->npols ? &d->pols[i].pub : NULL;
}

size_t wd_decider_policy_index(const wd_decider_t *d, const wd_policy_t *p) {
  if (!d || !p || !d->npols)
    return d ? d->npols : 0;
  uintptr_t first = (uintptr_t)&d->pols[0].pub, at = (uintptr_t)p;
  if (at < first || (at - first) % sizeof d->pols[0] != 0)
    return d->npols;
  size_t i = (at - first) / sizeof d->pols[0];
  return i < d->npols ? i : d->npols;
}

/* ---- matching ---- */

const wd__policy_t *wd__policy_match(const wd_decider_t *d, const char *host, size_t hostlen,
                                     const char *path, size_t pathlen) {
  const wd__policy_t *best = NULL;
  size_t best_host = 0, best_path = 0;
  for (size_t i = 0; i < d->npols; i++) {
    const wd__policy_t *p = &d->pols[i];
    size_t hs; /* host score: any 1, suffix 2 + its length, exact above every suffix */
    switch (p->host_kind) {
    case WD__HOST_EXACT:
      if (hostlen != p->host_len || memcmp(host, p->host, hostlen) != 0)
        continue;
      hs = 2 * WD__HOST_MAX + 2;
      break;
    case WD__HOST_SUFFIX:
      if (hostlen <= p->host_len || memcmp(host + hostlen - p->host_len, p->host, p->host_len))
        continue;
      hs = 2 + p->host_len;
      break;
    default:
      hs = 1;
    }
    if (p->prefix_len &&
        (pathlen < p->prefix_len || memcmp(path, p->pub.path_prefix, p->prefix_len) != 0))
      continue;
    if (hs > best_host || (hs == best_host && p->prefix_len > best_path)) {
      best = p;
      best_host = hs;
      best_path = p->prefix_len;
    }
  }
  return best;
}
