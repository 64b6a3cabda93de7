/*
 * The live view of `warden serve`: a monitor thread samples the counters once a second into a
 * ring (an hour of history), keeps what the console's overview shows, and checks the alert
 * thresholds on every sample (alerts.h sends the webhooks).
 *
 *   GET /v1/stats[?window=300]   the overview as JSON (viewer role): per-second series over the
 *                                window (decisions by action, share of traffic on suspect and
 *                                shared tokens, token failures, blocks, bans), totals, ban and
 *                                case counts, each policy's mode and recent traffic, the top
 *                                tokens by spread, node health and alerts
 *   GET /v1/policies/<name>/whatif?mode=automate   what switching the mode would enforce
 *
 * The request path adds two cheap things per decision (monitor_note_decision): the policy's
 * counters (decisions, and those automate mode would enforce), and, for a token seen on two or
 * more networks, an entry in the thread's table of the tokens with the widest spread (a short
 * critical section on a per-thread mutex only the monitor also takes).
 */
#ifndef WARDEN_SRC_MONITOR_H
#define WARDEN_SRC_MONITOR_H

#include <stdint.h>

#include "server.h"

#define MONITOR_HISTORY 3600        /* samples kept: one a second */
#define MONITOR_TOP 32              /* tokens kept per thread in the spread table */

typedef struct monitor monitor_t;
typedef struct mon_loop mon_loop_t;

/* One sample: cumulative counters since start (gauges where marked). */
typedef struct monitor_sample {
  int64_t t;                        /* unix seconds */
  uint64_t act[WD_ACT_COUNT];       /* decisions by action taken */
  uint64_t enforced[WD_ACT_COUNT];  /* decisions by the action automate mode takes */
  uint64_t decisions;
  uint64_t verdicts[3];             /* detection verdicts: ok, suspect, shared */
  uint64_t failures;                /* decisions whose first reason is no_token, invalid, expired */
  uint64_t blocks;                  /* decisions answered with block */
  uint64_t auto_bans;
  uint64_t http5xx;                 /* answers with a 5xx status, every route */
  uint64_t bans;                    /* gauge: bans in the ban list */
  uint64_t bans_added;              /* bans committed to the ban list */
  uint64_t errors;                  /* storage errors and lost records (node health) */
  uint64_t ban_changes;             /* ban and allow-list changes committed */
} monitor_sample_t;

/* The monitor's alerts (never NULL once started). */
struct alerts *monitor_alerts(monitor_t *mo);

/* Copy the newest max samples, oldest first, into out; returns how many. Any thread. */
size_t monitor_samples(monitor_t *mo, size_t max, monitor_sample_t *out);

/* Start the monitor (after the loops are allocated, before they start); 0, or -1 with err. */
int monitor_start(srv_t *s, char *err, size_t errlen);
/* Stop it (after the loops have stopped) and free what it holds. */
void monitor_stop(srv_t *s);

/* Count one decision for the console (the loop thread that made it). */
void monitor_note_decision(loop_t *l, wd_decider_t *dec, const wd_decision_t *d);

/* The what-if of a mode switch for GET /v1/policies/<name>/whatif (api_policies.c). Answers. */
void monitor_whatif(loop_t *l, h2o_req_t *req, const wd_policy_t *p, wd_mode_t mode);

#endif
