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
#include "warden/detect.h"
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

/* Stable lowercase names used in JSON, headers (X-Warden-Action), metrics labels and the
 * configuration: "allow", "block", "throttle", "substitute", "redirect", "callout", "renew".
 * name returns "unknown" for a value out of range; parse accepts the names in any ASCII case and
 * returns 0, or WD_EINVAL (out untouched) for anything else. */
const char *wd_action_name(wd_action_t a);
int wd_action_parse(const char *s, wd_action_t *out);

typedef enum wd_mode {
  WD_MODE_MONITOR = 0, /* always allow; log what would have happened */
  WD_MODE_MODERATE,    /* allow; open a case for human review */
  WD_MODE_AUTOMATE,    /* enforce */
} wd_mode_t;

/* "monitor", "moderate", "automate"; conventions as wd_action_name / wd_action_parse. */
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

/* "no_token", "invalid", "expired", "banned", "replay", "geo", "referer", "user_agent",
 * "origin_ip", "shared"; conventions as wd_action_name / wd_action_parse. */
const char *wd_reason_name(wd_reason_t r);
int wd_reason_parse(const char *s, wd_reason_t *out);

/* What to do for a reason: the action and its parameters. */
typedef struct wd_action_spec {
  wd_action_t action;
  int status;          /* HTTP status; 0: the default: block 401 for no_token / invalid, 403
                          otherwise (a CAT's catif answer for its failed claim when it has one);
                          redirect 302; 200 for the others. A redirect status must be 3xx, a
                          block status 4xx or 5xx. */
  char *target;        /* redirect / substitute / callout asset URL or path; owned by the policy */
  uint64_t rate;       /* throttle: bytes per second */
} wd_action_spec_t;

#define WD_POLICY_MAX_SCHEMES 6
#define WD_POLICY_MAX_LIST 64

/*
 * A policy: where it applies, how tokens are checked, the access rules, and what to do.
 * Start from wd_policy_init (the defaults below); a zeroed struct differs: require_token 0 and
 * every reason's action "allow".
 *
 * Matching: the host is the request URL's host, else wd_decide_input_t.host, else the Host
 * header (port and a trailing dot dropped, compared in lowercase). An exact host beats a
 * "*.suffix" pattern (which matches sub-domains only, longer suffixes first), which beats any
 * host (NULL or "*"); among policies of the most specific matching host, the longest path prefix
 * wins (a plain string prefix of the normalised path: %XX decoded, "." and ".." resolved, as
 * nginx's $uri); ties go to the policy listed first.
 */
typedef struct wd_policy {
  char *name;
  char *host;          /* exact host, "*.example.com" suffix, or NULL: any */
  char *path_prefix;   /* NULL or "/": any; else starts with "/" */
  wd_scheme_t schemes[WD_POLICY_MAX_SCHEMES]; /* schemes to try in order; none: every scheme with
                                                 a key in the ring, in wd_scheme_t order */
  size_t nschemes;
  wd_verify_opts_t verify;   /* per-scheme verification options */
  _Atomic int mode;          /* wd_mode_t; switched at run time without a restart */
  wd_action_spec_t on[WD_REASON_COUNT]; /* action per reason (default: block) */
  /* access rules (control layers): empty lists do not restrict */
  char *countries_allow[WD_POLICY_MAX_LIST];  /* "SE" (also matches "SE-AB") or "US-CA"; the
                                                 request's country must match one (unknown:
                                                 denied) */
  size_t ncountries_allow;
  char *countries_deny[WD_POLICY_MAX_LIST];   /* same forms; a match is denied */
  size_t ncountries_deny;
  char *referers_allow[WD_POLICY_MAX_LIST];   /* host or "*.host" of the Origin header (else the
                                                 Referer); neither present (or "Origin: null"):
                                                 denied */
  size_t nreferers_allow;
  int bind_user_agent;                        /* a JWT `ua` claim must equal User-Agent (checked
                                                 even when verify.jwt.no_bind_ua); a token
                                                 without one, or of another scheme, has nothing
                                                 to bind. A failed ua claim is reason user_agent
                                                 whatever this flag says. */
  char *ip_allow[WD_POLICY_MAX_LIST];         /* CIDRs (or addresses) allowed to reach this path
                                                 (origin protection); an unknown client address
                                                 is denied */
  size_t nip_allow;
  int require_token;                          /* default 1; 0: no token stage at all (no
                                                 identity: bans by address only) */
  int ban_shared;                             /* default 1: in automate mode a token found
                                                 shared is also banned until it expires
                                                 (wd_decision_t.ban_token; the program adds the
                                                 ban with the evidence) */
} wd_policy_t;

/* Fill the defaults: monitor mode, require_token 1, every reason blocked with its default
 * status, no schemes listed (every scheme with a key), no access rules. */
void wd_policy_init(wd_policy_t *p);

/* Read and switch a policy's mode (atomic: any thread, while decisions run). set returns
 * WD_EINVAL for a mode out of range. */
wd_mode_t wd_policy_mode(const wd_policy_t *p);
int wd_policy_set_mode(wd_policy_t *p, wd_mode_t m);

typedef struct wd_decider wd_decider_t;

/*
 * Create a decider over policies (copied: the caller may free its array; strings are duplicated,
 * those of `verify` included), a key ring, and optional ban list and replay memory (borrowed,
 * like the ring; they must outlive the decider). The ring decides which schemes a policy without
 * a scheme list tries; it should be the ring of the verifiers passed to wd_decide (NULL: none).
 * Returns 0, WD_ENOMEM, or WD_EINVAL for policies it cannot use: more than 4096, NULL name, a
 * host pattern other than "name", "*.name" or "*", a path prefix without a leading "/", a
 * scheme, mode, action or count out of range, a NULL list entry, an ip_allow entry that is not an
 * address or prefix, a redirect / substitute / callout without a target, a throttle without a
 * rate, a redirect status that is not 3xx, a block status below 400.
 */
int wd_decider_create(const wd_policy_t *policies, size_t npolicies, const wd_keyring_t *ring,
                      wd_banlist_t *bans, wd_replay_t *replay, wd_decider_t **out);
void wd_decider_destroy(wd_decider_t *d);

/*
 * Attach a sharing-detection tracker to a policy (borrowed: it must outlive the decider; several
 * policies may share one; NULL detaches). Every request the policy decides with a valid token
 * that is not banned or allow-listed is then observed, keyed by the token id: a SHARED verdict
 * is reason `shared` (its explanation in detail), a SUSPECT one opens a review case in moderate
 * and automate modes. For CAT catreplay=2 (reuse is to be detected) SUSPECT already counts as
 * shared. Returns 0, or WD_EINVAL when p is not one of d's policies. Call before decisions run.
 */
int wd_decider_set_tracker(wd_decider_t *d, wd_policy_t *p, wd_tracker_t *t);

/* Attach an allow list (a wd_banlist_t opened on another file, borrowed like the ban list; NULL
 * detaches): viewers a person reviewed and found legitimate, by token id, subject, address or
 * prefix. An allow-listed request opens no case and is exempt from sharing detection; token
 * validity, bans, replay and the access rules still apply. Call before decisions run. */
void wd_decider_set_allowlist(wd_decider_t *d, wd_banlist_t *allow);

/* Find a policy by name, for run-time changes (mode, through wd_policy_set_mode: the other
 * fields must not change). NULL when absent. Valid as long as the decider. */
wd_policy_t *wd_decider_policy(wd_decider_t *d, const char *name);
size_t wd_decider_npolicies(const wd_decider_t *d);
wd_policy_t *wd_decider_policy_at(wd_decider_t *d, size_t i);
/* The position of one of the decider's policies (as wd_decider_policy_at takes it), or
 * wd_decider_npolicies when p is not one of them. Constant time. */
size_t wd_decider_policy_index(const wd_decider_t *d, const wd_policy_t *p);

/* One request as the edge saw it. The token may be given directly or left in the request. */
typedef struct wd_decide_input {
  wd_request_t req;          /* url (required for policy matching), ip, method, headers, geo, now */
  const char *token;         /* explicit token; NULL: extract from the request */
  wd_scheme_t scheme;        /* explicit scheme; NONE: try the policy's schemes */
  const char *host;          /* when req.url is origin-form (else the Host header is used) */
  const char *edge;          /* edge / CDN id, for logs and detection */
} wd_decide_input_t;

#define WD_DECISION_MAX_REASONS 8
#define WD_DECIDE_URL_MAX 8192      /* longer request URLs are refused (block 403, invalid) */

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
  int has_case;              /* open (or update) a case for review: a valid token, not
                                allow-listed, and either in moderate mode a reason that is
                                misuse (replay, geo, referer, user_agent, origin_ip, shared)
                                with an enforced action other than allow, or in moderate and
                                automate modes a SUSPECT detection verdict */
  int allowlisted;           /* the identity or address is on the allow list */
  int detected;              /* the detection stage observed this request */
  int ban_token;             /* automate mode, reason shared and the policy's ban_shared: ban
                                token.id until it expires, with the verdict as evidence */
  wd_verdict_t verdict;      /* its verdict (level OK when it did not run) */
  int announce;              /* detection saw a network the other nodes of a cluster should
                                hear of (wd_tracker_observe_ex) */
  int first_use;             /* catreplay=1: this decision recorded the token's first use in
                                the replay memory */
  int use_token_response;    /* the edge answers with token.response's headers (and status when
                                set): a renewal (action renew), or the CAT's catif answer for a
                                failed claim (action block with the default status) */
  int identity_trusted;      /* token.id comes from a token whose signature verified (valid, or
                                failed only on expiry or a claim): bans were checked against it */
} wd_decision_t;

void wd_decision_init(wd_decision_t *d);
/* Free what the decision owns (the token result); it may be reused after. */
void wd_decision_cleanup(wd_decision_t *d);

/*
 * Decide one request: match the policy, verify the token, apply the access rules, the ban list
 * and the replay memory, then the action for the first reason (stages in that order; reasons are
 * listed in that order) and the policy's mode:
 *   automate: action = enforced (and its status, target or rate);
 *   monitor:  action allow (200), enforced and reasons kept for the log;
 *   moderate: as monitor, and has_case for misuse by a verified viewer (see has_case).
 * A verified CAT with a renewal due turns allow into renew (status from the renewal: 200, or 3xx
 * for a redirect renewal; headers in out->token.response); never for a banned or replayed token,
 * in any mode.
 *
 * The token: in->token with in->scheme, or with no scheme each scheme of the policy until one
 * verifies; no in->token (or ""): each scheme looks for its own token in the request (query,
 * cookie, header, URL). When none verifies, the most telling failure is kept: a token whose
 * signature verified but failed on expiry or a claim, over a bad signature or unknown key, over
 * a malformed token, over no token; ties go to the earlier scheme.
 *
 * catreplay=1: the first presentation of a verified token's (issuer, token id) is its use;
 * later ones are reason replay until exp + leeway. Without a replay memory such tokens are
 * refused (reason replay).
 *
 * wd_decide initialises *out itself; call wd_decision_cleanup when done with it (also after an
 * error). Returns 0, or WD_EINVAL when d, v, in or out is NULL or the request has no URL (then
 * *out, when given, holds a block 403 decision, so a caller that ignores the code still denies).
 * Malformed or oversized input from the request is a decision (block, reason invalid), not an
 * error. Any thread, each with its own verifier; no allocation beyond the token verification's
 * (and a replay memory's first sight of a token).
 */
int wd_decide(wd_decider_t *d, wd_verifier_t *v, const wd_decide_input_t *in, wd_decision_t *out);

#endif
