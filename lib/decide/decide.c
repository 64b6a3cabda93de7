/*
 * The decision pipeline, one request at a time:
 *
 *   policy -> token -> access rules -> bans -> replay -> (usage) -> renewal -> action -> mode
 *
 * Each stage adds the reasons it finds to the decision (in stage order, so the first reason is
 * the most severe) and the first reason's action is what automate mode enforces. The stages
 * never stop early except when no policy applies: a monitor-mode log then shows everything
 * that was wrong with a request, not just the first thing. The happy path allocates nothing
 * beyond what the token verifier does; all scratch lives on the stack.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "decide/internal.h"
#include "token/internal.h"
#include "util/ip.h"
#include "util/url.h"

/* ---- the decision ---- */

void wd_decision_init(wd_decision_t *d) {
  memset(d, 0, sizeof *d);
  wd_result_init(&d->token);
  d->action = WD_ACT_ALLOW;
  d->enforced = WD_ACT_ALLOW;
  d->status = 200;
}

void wd_decision_cleanup(wd_decision_t *d) {
  if (!d)
    return;
  wd_result_cleanup(&d->token);
  wd_decision_init(d);
}

/* Add a reason (once); the detail of the first reason that gives one is kept. */
static void add_reason(wd_decision_t *out, wd_reason_t r, const char *detail) {
  for (size_t i = 0; i < out->nreasons; i++)
    if (out->reasons[i] == r)
      return;
  if (out->nreasons < WD_DECISION_MAX_REASONS)
    out->reasons[out->nreasons++] = r;
  if (detail && !out->detail[0])
    snprintf(out->detail, sizeof out->detail, "%s", detail);
}

/* A decision without a policy: block 403, reason invalid, enforced whatever the modes. */
static void refuse(wd_decision_t *out, const char *detail) {
  add_reason(out, WD_REASON_INVALID, detail);
  out->mode = WD_MODE_AUTOMATE;
  out->action = out->enforced = WD_ACT_BLOCK;
  out->status = 403;
}

/* The detail goes to logs and headers: one line of printable text. */
static void one_line(char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      *s = '?';
}

/* ---- the token stage ---- */

/*
 * How telling a failed verification is, for choosing among schemes: 3 the signature verified
 * and a time or claim check failed, 2 the token parsed but its key or signature did not check
 * out, 1 anything else (malformed, too big), 0 no token at all.
 */
static int fail_rank(int rc) {
  switch (rc) {
  case WD_ENOTOKEN:
    return 0;
  case WD_EEXPIRED:
  case WD_ENOTYET:
  case WD_ECLAIM:
  case WD_EISSUER:
  case WD_EAUDIENCE:
    return 3;
  case WD_ESIGNATURE:
  case WD_ENOKEY:
  case WD_EALG:
  case WD_EUNSUPPORTED:
    return 2;
  default:
    return 1;
  }
}

static int scheme_listed(const wd__policy_t *p, wd_scheme_t s) {
  for (size_t i = 0; i < p->nschemes; i++)
    if (p->schemes[i] == s)
      return 1;
  return 0;
}

/* What the token stage found. */
enum { TOKEN_NONE = 0, TOKEN_TRUSTED_ID, TOKEN_VALID };

/*
 * Verify the request's token under the policy. The best result ends up in out->token (its code
 * set); the reason (if any) is added. Returns TOKEN_VALID, TOKEN_TRUSTED_ID when the signature
 * verified but a time or claim check failed, else TOKEN_NONE.
 */
static int token_stage(const wd__policy_t *p, wd_verifier_t *v, const wd_decide_input_t *in,
                       wd_decision_t *out) {
  const wd_policy_t *pol = &p->pub;
  const wd_scheme_t *list = p->schemes;
  size_t n = p->nschemes;
  char msg[256];

  if (in->scheme != WD_SCHEME_NONE) {
    if ((unsigned)in->scheme >= WD_SCHEME_COUNT) {
      add_reason(out, WD_REASON_INVALID, "unknown token scheme");
      return TOKEN_NONE;
    }
    if (pol->nschemes && !scheme_listed(p, in->scheme)) {
      snprintf(msg, sizeof msg, "scheme %s is not accepted by policy %s",
               wd_scheme_name(in->scheme), pol->name);
      add_reason(out, WD_REASON_INVALID, msg);
      return TOKEN_NONE;
    }
    list = &in->scheme;
    n = 1;
  }
  const char *tok = in->token;
  size_t len = 0;
  if (tok) {
    len = strnlen(tok, WD_TOKEN_MAX + 1); /* longer: the verifier refuses it as too big */
    if (len == 0)
      tok = NULL;
  }
  if (n == 0) {
    snprintf(msg, sizeof msg, "policy %s has no token scheme with a key", pol->name);
    add_reason(out, tok ? WD_REASON_INVALID : WD_REASON_NO_TOKEN, msg);
    return TOKEN_NONE;
  }

  wd_result_t trial;
  int best = -1, best_rc = WD_ENOTOKEN;
  for (size_t i = 0; i < n; i++) {
    wd_result_t *r = best < 0 ? &out->token : &trial;
    if (r == &trial)
      wd_result_init(&trial);
    int rc = wd_token_verify(v, &pol->verify, list[i], tok, len, &in->req, r);
    int rank = rc == 0 ? 4 : fail_rank(rc);
    if (r == &trial) {
      if (rank > best) {
        wd_result_cleanup(&out->token);
        out->token = trial; /* ownership moves */
      } else {
        wd_result_cleanup(&trial);
      }
    }
    if (rank > best) {
      best = rank;
      best_rc = rc;
    }
    if (rc == 0)
      break;
  }
  int rc = out->token.code = best_rc;
  if (rc == 0)
    return TOKEN_VALID;

  if (rc == WD_ENOTOKEN) {
    size_t k = (size_t)snprintf(msg, sizeof msg, "no token in the request (");
    for (size_t i = 0; i < n && k < sizeof msg; i++)
      k += (size_t)snprintf(msg + k, sizeof msg - k, "%s%s", i ? ", " : "",
                            wd_scheme_name(list[i]));
    if (k < sizeof msg)
      snprintf(msg + k, sizeof msg - k, ")");
    add_reason(out, WD_REASON_NO_TOKEN, msg);
    return TOKEN_NONE;
  }
  wd_reason_t reason = WD_REASON_INVALID;
  if (rc == WD_EEXPIRED || rc == WD_ENOTYET)
    reason = WD_REASON_EXPIRED;
  else if (rc == WD_ECLAIM && strcmp(out->token.failed_claim, "ua") == 0)
    reason = WD_REASON_USER_AGENT;
  snprintf(msg, sizeof msg, "%s: %.220s", wd_scheme_name(out->token.id.scheme),
           out->token.reason);
  add_reason(out, reason, msg);
  return fail_rank(rc) == 3 ? TOKEN_TRUSTED_ID : TOKEN_NONE;
}

/* ---- the pipeline ---- */

/* Status for a non-allow action of reason r (spec from the policy). */
static int action_status(const wd_action_spec_t *s, wd_reason_t r, const wd_decision_t *out,
                         int *from_token) {
  *from_token = 0;
  if (s->status)
    return s->status;
  switch (s->action) {
  case WD_ACT_BLOCK:
    if ((r == WD_REASON_INVALID || r == WD_REASON_EXPIRED) && out->token.response.status) {
      *from_token = 1; /* the CAT's catif answer for its failed claim */
      return out->token.response.status;
    }
    return r == WD_REASON_NO_TOKEN || r == WD_REASON_INVALID ? 401 : 403;
  case WD_ACT_REDIRECT:
    return 302;
  default:
    return 200;
  }
}

static int has_reason(const wd_decision_t *out, wd_reason_t r) {
  for (size_t i = 0; i < out->nreasons; i++)
    if (out->reasons[i] == r)
      return 1;
  return 0;
}

/* Reasons that say a verified viewer misused its token (a case for review), as opposed to a
 * token that is missing, invalid, expired or already banned. */
static int has_abuse_reason(const wd_decision_t *out) {
  for (size_t i = 0; i < out->nreasons; i++)
    switch (out->reasons[i]) {
    case WD_REASON_REPLAY:
    case WD_REASON_GEO:
    case WD_REASON_REFERER:
    case WD_REASON_USER_AGENT:
    case WD_REASON_ORIGIN_IP:
    case WD_REASON_SHARED:
      return 1;
    default:
      break;
    }
  return 0;
}

static int64_t now_ms(const wd_request_t *req) {
  if (req->now)
    return req->now * 1000;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Observe a request of a valid token; a SHARED verdict (SUSPECT for catreplay=2) is reason
 * shared. An address that does not parse is not observed. */
static void detect_stage(wd_tracker_t *t, const wd_request_t *req, const char *path,
                         wd_decision_t *out) {
  wd_ip_t ip;
  if (!req->ip || wd_ip_parse(req->ip, strlen(req->ip), &ip))
    return;
  const wd_identity_t *id = &out->token.id;
  wd_geo_info_t gi;
  memset(&gi, 0, sizeof gi);
  if (req->country && strlen(req->country) >= 2 && (req->country[2] == '\0' || req->country[2] == '-')) {
    gi.country[0] = req->country[0];
    gi.country[1] = req->country[1];
  }
  gi.asn = req->asn;
  gi.lat = req->has_coord ? req->lat : NAN;
  gi.lon = req->has_coord ? req->lon : NAN;
  wd_observation_t o;
  wd_observation_init(&o);
  o.key = id->token_id;
  o.subject = id->subject;
  o.exp = id->exp;
  o.now_ms = now_ms(req);
  o.family = ip.family;
  memcpy(o.addr, ip.a, sizeof o.addr);
  o.geo = &gi;
  o.user_agent = wd_request_header(req, "User-Agent");
  o.segment = wd_detect_is_segment(path) ? path : NULL;
  if (wd_tracker_observe_ex(t, &o, &out->verdict, &out->announce))
    return;
  out->detected = 1;
  wd_verdict_level_t shared_at = out->token.replay == 2 ? WD_VERDICT_SUSPECT : WD_VERDICT_SHARED;
  if (out->verdict.level >= shared_at) {
    char msg[256];
    wd_detect_explain(&out->verdict, msg, sizeof msg);
    add_reason(out, WD_REASON_SHARED, msg);
  }
}

int wd_decide(wd_decider_t *d, wd_verifier_t *v, const wd_decide_input_t *in, wd_decision_t *out) {
  if (!out)
    return WD_EINVAL;
  wd_decision_init(out);
  if (!d || !v || !in) {
    refuse(out, "no decider, verifier or input");
    return WD_EINVAL;
  }
  const wd_request_t *req = &in->req;
  if (!req->url || !*req->url) {
    refuse(out, "request has no URL");
    return WD_EINVAL;
  }
  char msg[256];

  /* Stage 1: the policy, by host and normalised path. */
  wd_url_t u;
  if (strnlen(req->url, WD_DECIDE_URL_MAX + 1) > WD_DECIDE_URL_MAX) {
    snprintf(msg, sizeof msg, "request URL exceeds %d bytes", WD_DECIDE_URL_MAX);
    refuse(out, msg);
    return 0;
  }
  if (wd_url_split(req->url, &u) != 0) {
    refuse(out, "request URL is neither absolute nor origin-form");
    return 0;
  }
  char host[WD__HOST_MAX], path[WD_DECIDE_URL_MAX + 1];
  size_t hostlen = wd__request_host(u.host.p, u.host.n, in->host, req, host);
  if (u.scheme.n && !hostlen) {
    refuse(out, "request URL has no usable host name");
    return 0;
  }
  long pathlen = wd__path_normalize(u.path.p ? u.path.p : "", u.path.n, path, sizeof path);
  if (pathlen < 0) {
    refuse(out, "request path does not normalise (bad escape, NUL or '..' above the root)");
    return 0;
  }
  const wd__policy_t *p = wd__policy_match(d, host, hostlen, path, (size_t)pathlen);
  if (!p) {
    snprintf(msg, sizeof msg, "no policy for %.100s%.*s", host, (int)(pathlen > 200 ? 200 : pathlen),
             path);
    refuse(out, msg);
    one_line(out->detail);
    return 0;
  }
  const wd_policy_t *pol = &p->pub;
  out->policy = pol;
  out->mode = wd_policy_mode(pol);
  int64_t now = wd__now(req);

  /* Stage 2: the token (and with it user-agent binding, see access.c). */
  int token = pol->require_token ? token_stage(p, v, in, out) : TOKEN_NONE;
  int trusted = out->identity_trusted = token != TOKEN_NONE;

  /* Stage 3: access rules. */
  if (wd__access_geo(p, req, msg, sizeof msg))
    add_reason(out, WD_REASON_GEO, msg);
  if (wd__access_referer(p, req, msg, sizeof msg))
    add_reason(out, WD_REASON_REFERER, msg);
  if (wd__access_ip(p, req, msg, sizeof msg))
    add_reason(out, WD_REASON_ORIGIN_IP, msg);

  /* Stage 4: bans, by the token's identity when it can be trusted, and by client address. */
  if (d->bans) {
    wd_ban_t hit;
    if (wd_banlist_check(d->bans, trusted ? &out->token.id : NULL, req->ip, now, &hit) == 1) {
      snprintf(msg, sizeof msg, "banned %s %.100s: %.100s", wd_ban_type_name(hit.type),
               hit.value, hit.reason);
      add_reason(out, WD_REASON_BANNED, msg);
    }
  }
  if (d->allow)
    out->allowlisted =
        wd_banlist_check(d->allow, trusted ? &out->token.id : NULL, req->ip, now, NULL) == 1;

  /* Stage 5: replay (CAT catreplay=1). The first presentation of a verified token is its use. */
  if (token == TOKEN_VALID && out->token.replay == 1) {
    const wd_identity_t *id = &out->token.id;
    int64_t leeway = pol->verify.leeway > 0 ? pol->verify.leeway : 0;
    int64_t until = id->exp > 0 ? id->exp + leeway : 0;
    int seen = 1;
    if (!d->replay)
      snprintf(msg, sizeof msg, "catreplay=1 but no replay memory is configured");
    else if ((seen = wd_replay_seen(d->replay, id->issuer, id->token_id, until, now)) == 1)
      snprintf(msg, sizeof msg, "token %.100s was used before (catreplay=1)", id->token_id);
    else if (seen < 0)
      snprintf(msg, sizeof msg, "catreplay=1 but the replay memory failed: %s",
               wd_strerror(seen));
    if (seen != 0)
      add_reason(out, WD_REASON_REPLAY, msg);
    else
      out->first_use = 1;
  }

  /* Stage 6: usage and sharing detection, for a valid token not banned or allow-listed. */
  if (p->tracker && token == TOKEN_VALID && !out->allowlisted &&
      !has_reason(out, WD_REASON_BANNED))
    detect_stage(p->tracker, req, path, out);

  /* Stage 7: the action for the first reason, or renewal. */
  /* A banned or replayed token is never renewed, whatever the mode: a fresh token would outlive
   * the revocation. */
  int renewal = token == TOKEN_VALID && out->token.renew != WD_DELIVER_NONE &&
                !has_reason(out, WD_REASON_BANNED) && !has_reason(out, WD_REASON_REPLAY);
  const wd_action_spec_t *spec = NULL;
  int status = 200, from_token = 0;
  if (out->nreasons) {
    spec = &pol->on[out->reasons[0]];
    out->enforced = spec->action;
    status = action_status(spec, out->reasons[0], out, &from_token);
  }
  if (out->enforced == WD_ACT_ALLOW) {
    spec = NULL;
    status = 200;
    if (renewal)
      out->enforced = WD_ACT_RENEW;
  }

  /* Stage 8: the mode. */
  if (out->mode == WD_MODE_AUTOMATE) {
    out->action = out->enforced;
    out->status = status;
    if (spec && (spec->action == WD_ACT_REDIRECT || spec->action == WD_ACT_SUBSTITUTE ||
                 spec->action == WD_ACT_CALLOUT))
      out->target = spec->target;
    if (spec && spec->action == WD_ACT_THROTTLE)
      out->rate = spec->rate;
    out->use_token_response = from_token && out->action == WD_ACT_BLOCK;
    out->ban_token = pol->ban_shared && has_reason(out, WD_REASON_SHARED) && out->token.id.token_id[0];
  } else {
    out->action = renewal ? WD_ACT_RENEW : WD_ACT_ALLOW;
    out->status = 200;
    out->has_case = out->mode == WD_MODE_MODERATE && token == TOKEN_VALID && !out->allowlisted &&
                    out->enforced != WD_ACT_ALLOW && has_abuse_reason(out);
  }
  /* A suspect verdict is for a person to review, whenever people review (not in monitor). */
  if (out->mode != WD_MODE_MONITOR && out->detected && out->verdict.level == WD_VERDICT_SUSPECT &&
      !has_reason(out, WD_REASON_SHARED))
    out->has_case = 1;
  if (out->action == WD_ACT_RENEW) {
    out->use_token_response = 1;
    if (out->token.response.status)
      out->status = out->token.response.status;
  }
  if (out->detected && out->verdict.level != WD_VERDICT_OK && !has_reason(out, WD_REASON_SHARED) &&
      !out->detail[0])
    wd_detect_explain(&out->verdict, out->detail, sizeof out->detail);
  one_line(out->detail);
  return 0;
}
