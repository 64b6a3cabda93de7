/*
 * Review cases: the moderate step of monitor -> moderate -> automate.
 *
 * In moderate mode a decision that would have been enforced against a verified viewer is
 * allowed, and the viewer gets a case: one per identity (token id, or subject), updated by every
 * later flagged request (hits, reasons, addresses, countries, the latest detail), until a person
 * gives a verdict. Verdicts: ban (the program adds the ban, then records the verdict), allow (an
 * allow-list entry: no new cases for that viewer, detection does not flag it), dismiss (closed;
 * the case opens again if the viewer is flagged again), escalate (kept open for someone with
 * more authority).
 *
 * Memory: cases live in memory (about 1.4 KB each, at most `max_cases`; when full, new cases are
 * counted as dropped, never evicting open ones) and in LMDB ("cases.mdb" in the data
 * directory). wd_cases_note runs on the request path (one short critical section); changes are
 * made durable by wd_cases_flush, which the program's writer thread calls every few
 * milliseconds, and which also forgets closed cases older than the retention.
 */
#ifndef WARDEN_CASES_H
#define WARDEN_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "warden/ban.h"

typedef enum wd_case_status {
  WD_CASE_OPEN = 0,
  WD_CASE_ESCALATED,   /* open, for a person with more authority */
  WD_CASE_BANNED,      /* closed: the viewer was banned */
  WD_CASE_ALLOWED,     /* closed: a false positive, allow-listed */
  WD_CASE_DISMISSED,   /* closed: nothing to do (opens again when flagged again) */
  WD_CASE_STATUS_COUNT
} wd_case_status_t;

/* "open", "escalated", "banned", "allowed", "dismissed"; parse returns WD_EINVAL otherwise. */
const char *wd_case_status_name(wd_case_status_t s);
int wd_case_status_parse(const char *s, wd_case_status_t *out);

#define WD_CASE_ADDRS 8          /* distinct client addresses kept per case */
#define WD_CASE_COUNTRIES 8
#define WD_CASE_TEXT_MAX 256

typedef struct wd_case {
  uint64_t id;                          /* 1, 2, ... in the order cases were opened */
  wd_ban_type_t key_type;               /* WD_BAN_TOKEN or WD_BAN_SUBJECT (or an address type) */
  char key[WD_BAN_VALUE_MAX];           /* the identity the case is about */
  char subject[WD_BAN_VALUE_MAX];       /* the token's subject, "" when none */
  char scheme[16];
  char policy[64];
  wd_case_status_t status;
  uint32_t reasons;                     /* bit (1u << wd_reason_t) for every reason seen */
  uint64_t hits;                        /* flagged requests */
  uint32_t score;                       /* highest sharing-detection score seen (0-100) */
  int64_t opened, last_seen;            /* unix seconds */
  int64_t token_exp;                    /* the token's expiry, 0 unknown: the default ban TTL */
  char detail[WD_CASE_TEXT_MAX];        /* the latest explanation */
  char addrs[WD_CASE_ADDRS][46];        /* first distinct client addresses */
  uint32_t naddrs;
  uint32_t more_addrs;                  /* distinct addresses beyond those kept (approximate) */
  char countries[WD_CASE_COUNTRIES][4];
  uint32_t ncountries;
  int64_t verdict_time;                 /* when the status last changed by a person, 0 never */
  char verdict_actor[64];
  char verdict_note[WD_CASE_TEXT_MAX];
} wd_case_t;

/* One flagged request. Strings may be NULL (treated as ""); over-long text is truncated. */
typedef struct wd_case_event {
  wd_ban_type_t key_type;
  const char *key;                      /* required, 1..WD_BAN_VALUE_MAX-1 bytes */
  const char *subject, *scheme, *policy, *detail, *addr, *country;
  uint32_t reasons;
  uint32_t score;                       /* sharing-detection score, 0 when none */
  int64_t token_exp;
  int64_t now;
} wd_case_event_t;

typedef struct wd_cases wd_cases_t;

typedef struct wd_cases_opts {
  size_t max_cases;          /* 0: 100000 */
  int64_t retention;         /* seconds closed cases (and open ones not seen) are kept; 0: 30 days */
  int no_sync;               /* tests only */
} wd_cases_opts_t;

/* Open (creating when absent) the case store in `dir` and load it. Errors as wd_banlist_open:
 * WD_EIO, WD_EBUSY, WD_ECORRUPT, WD_EUNSUPPORTED, WD_ENOMEM. opts may be NULL. */
int wd_cases_open(const char *dir, const wd_cases_opts_t *opts, wd_cases_t **out);
/* Close; call wd_cases_flush first to keep the latest changes. No call may be running. */
void wd_cases_close(wd_cases_t *cs);

/*
 * Record a flagged request: open a case for its key or update the existing one (a dismissed
 * case opens again). *id (when not NULL) receives the case id. Returns 0; 1 when the key's case
 * is closed as banned or allowed (nothing changes: the verdict stands); WD_EINVAL for a missing
 * or over-long key; WD_ETOOBIG when the store holds max_cases (counted as dropped). Any thread.
 */
int wd_cases_note(wd_cases_t *cs, const wd_case_event_t *ev, uint64_t *id);

/* Copy one case by id or by key: 0, or WD_ENOTOKEN when absent. Any thread. */
int wd_cases_get(wd_cases_t *cs, uint64_t id, wd_case_t *out);
int wd_cases_find(wd_cases_t *cs, wd_ban_type_t key_type, const char *key, wd_case_t *out);

/*
 * Set a case's status with who and why (a verdict). Returns 0, WD_ENOTOKEN when the case does
 * not exist, WD_EINVAL for a status out of range. Durable after the next wd_cases_flush. Any
 * thread.
 */
int wd_cases_set_status(wd_cases_t *cs, uint64_t id, wd_case_status_t status, const char *actor,
                        const char *note, int64_t now);

/*
 * List cases newest first, with ids below `before` (0: from the newest), optionally only those
 * whose status bit is in `statuses` (bit (1u << wd_case_status_t); 0: all), calling fn for at
 * most `limit` (capped at 1000) copies outside the lock. *next (when not NULL) receives the
 * cursor for the next page, 0 when no more follow. A non-zero return from fn stops and is
 * returned. Returns 0 or WD_ENOMEM. Any thread.
 */
int wd_cases_list(wd_cases_t *cs, uint32_t statuses, uint64_t before, size_t limit,
                  int (*fn)(const wd_case_t *c, void *arg), void *arg, uint64_t *next);

/* Write changed cases in one synced transaction and forget those past retention at `now`.
 * Returns the cases written, or a WD_E* code (they stay pending). One thread at a time. */
long wd_cases_flush(wd_cases_t *cs, int64_t now);

typedef struct wd_cases_stats {
  uint64_t by_status[WD_CASE_STATUS_COUNT];
  uint64_t dropped;          /* events refused because the store was full */
  uint64_t bytes;            /* memory held */
} wd_cases_stats_t;
void wd_cases_stats(wd_cases_t *cs, wd_cases_stats_t *out);

#endif
