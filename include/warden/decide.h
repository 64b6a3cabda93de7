/*
 * Decisions: the per-request pipeline every edge and nginx asks through.
 *
 *   extract -> verify -> identity -> access rules -> bans -> replay -> (usage) -> mode -> action
 *
 * A decider holds the policies (matched by host and path prefix), the key ring, the ban list and
 * the replay memory. wd_decide is a pure function of its inputs and that state: it does no I/O
 * of its own beyond the in-memory ban and replay lookups, never blocks, and is safe to call from
 * every event-loop thread at once (each with its own wd_verifier_t). The HTTP layer only
 * translates requests into wd_decide_input_t and the decision back into a response.
 */
#ifndef WARDEN_DECIDE_H
#define WARDEN_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "warden/ban.h"
#include "warden/replay.h"
#include "warden/token.h"

typedef enum wd_action {
  WD_ACT_ALLOW = 0,
  WD_ACT_BLOCK,        /* deny: 401 (no/invalid token) or 403 */
  WD_ACT_THROTTLE,     /* serve at a limited rate */
  WD_ACT_SUBSTITUTE,   /* serve another variant (ad-supported, delayed) */
  WD_ACT_REDIRECT,     /* 302 to another asset */
  WD_ACT_CALLOUT,      /* serve a slate that names the abuse */
  WD_ACT_RENEW,        /* allow, and return a renewed token */
  WD_ACT_COUNT
} wd_action_t;

const char *wd_action_name(wd_action_t a);
int wd_action_parse(const char *s, wd_action_t *out);

typedef enum wd_mode {
  WD_MODE_MONITOR = 0, /* always allow; log what would have happened */
  WD_MODE_MODERATE,    /* allow; open a case for human review */
  WD_MODE_AUTOMATE,    /* enforce */
} wd_mode_t;

const char *wd_mode_name(wd_mode_t m);
int wd_mode_parse(const char *s, wd_mode_t *out);

/* Why a request is not plainly allowed. Every decision lists the reasons that applied. */
typedef enum wd_reason {
  WD_REASON_NO_TOKEN = 0,
  WD_REASON_INVALID,     /* malformed, bad signature, no key, claim failed */
  WD_REASON_EXPIRED,     /* expired or not yet valid */
  WD_REASON_BANNED,      /* token, subject, IP or CIDR ban */
  WD_REASON_REPLAY,      /* catreplay=1 token used again */
  WD_REASON_GEO,         /* country not allowed */
  WD_REASON_REFERER,     /* referer / origin not on the allow-list */
  WD_REASON_USER_AGENT,  /* user agent differs from the one the token is bound to */
  WD_REASON_ORIGIN_IP,   /* client address not on the policy's IP allow-list */
  WD_REASON_SHARED,      /* sharing detected (detection stage) */
  WD_REASON_COUNT
} wd_reason_t;

const char *wd_reason_name(wd_reason_t r); /* "no_token", "invalid", "expired", "banned", ... */

/* What to do for a reason: the action and its parameters. */
typedef struct wd_action_spec {
  wd_action_t action;
  int status;          /* HTTP status for block (default 401 no/invalid token, 403 otherwise) */
  char *target;        /* redirect / substitute / callout asset URL or path; owned by the policy */
  uint64_t rate;       /* throttle: bytes per second */
} wd_action_spec_t;

#define WD_POLICY_MAX_SCHEMES 6
#define WD_POLICY_MAX_LIST 64

typedef struct wd_policy {
  char *name;
  char *host;          /* exact host, "*.example.com" suffix, or NULL: any */
  char *path_prefix;   /* NULL or "/": any */
  wd_scheme_t schemes[WD_POLICY_MAX_SCHEMES]; /* schemes to try in order; none: every scheme with a key */
  size_t nschemes;
  wd_verify_opts_t verify;   /* per-scheme verification options */
  _Atomic int mode;          /* wd_mode_t; switched at run time without a restart */
  wd_action_spec_t on[WD_REASON_COUNT]; /* action per reason (default: block) */
  /* access rules (control layers): empty lists do not restrict */
  char *countries_allow[WD_POLICY_MAX_LIST];
  size_t ncountries_allow;
  char *countries_deny[WD_POLICY_MAX_LIST];
  size_t ncountries_deny;
  char *referers_allow[WD_POLICY_MAX_LIST];   /* host or "*.host" of Referer / Origin */
  size_t nreferers_allow;
  int bind_user_agent;                        /* token ua claim (JWT) must equal User-Agent */
  char *ip_allow[WD_POLICY_MAX_LIST];         /* CIDRs allowed to reach this path (origin protection) */
  size_t nip_allow;
  int require_token;                          /* default 1 */
} wd_policy_t;

typedef struct wd_decider wd_decider_t;

/*
 * Create a decider over policies (copied: the caller may free its array; strings are duplicated),
 * a key ring, and optional ban list and replay memory (borrowed; they must outlive the decider).
 */
int wd_decider_create(const wd_policy_t *policies, size_t npolicies, const wd_keyring_t *ring,
                      wd_banlist_t *bans, wd_replay_t *replay, wd_decider_t **out);
void wd_decider_destroy(wd_decider_t *d);

/* Find a policy by name, for run-time changes (mode). NULL when absent. */
wd_policy_t *wd_decider_policy(wd_decider_t *d, const char *name);
size_t wd_decider_npolicies(const wd_decider_t *d);
wd_policy_t *wd_decider_policy_at(wd_decider_t *d, size_t i);

/* One request as the edge saw it. The token may be given directly or left in the request. */
typedef struct wd_decide_input {
  wd_request_t req;          /* url (required for policy matching), ip, method, headers, geo, now */
  const char *token;         /* explicit token; NULL: extract from the request */
  wd_scheme_t scheme;        /* explicit scheme; NONE: try the policy's schemes */
  const char *host;          /* when req.url is origin-form */
  const char *edge;          /* edge / CDN id, for logs and detection */
} wd_decide_input_t;

#define WD_DECISION_MAX_REASONS 8

typedef struct wd_decision {
  wd_action_t action;        /* what to do now (after the mode) */
  wd_action_t enforced;      /* what automate mode would do (== action in automate) */
  wd_mode_t mode;
  const wd_policy_t *policy; /* NULL when no policy matched (then: block 403, reason invalid) */
  int status;                /* HTTP status for the edge */
  wd_reason_t reasons[WD_DECISION_MAX_REASONS];
  size_t nreasons;
  char detail[256];          /* one line: the verification reason or the ban that matched */
  const char *target;        /* redirect / substitute / callout target (policy-owned) */
  uint64_t rate;             /* throttle rate */
  wd_result_t token;         /* the verification result: identity, renewal, response headers */
  int has_case;              /* moderate mode: this decision should open a case for review */
} wd_decision_t;

void wd_decision_init(wd_decision_t *d);
void wd_decision_cleanup(wd_decision_t *d);

/* Decide. Returns 0 (the decision is in *out) or WD_EINVAL for unusable input. */
int wd_decide(wd_decider_t *d, wd_verifier_t *v, const wd_decide_input_t *in, wd_decision_t *out);

#endif
