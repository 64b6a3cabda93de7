/*
 * The audit trail: who did what, when, from where, and with what outcome.
 *
 * Every human action (signing in and out, failed sign-ins, case verdicts, bans and allow-list
 * entries added or lifted, policy modes switched) and every automatic one (a token banned by
 * the detector) becomes one record. The ban and allow lists keep their own change logs
 * (wd_banlist_audit); this one is the single place a person reads "what happened".
 *
 * A record as JSON (one object, the shape wd_audit_list hands out):
 *   {"seq":42,"time":1700000000,"actor":"alice","role":"moderator","via":"console",
 *    "action":"case.verdict","target":"case 17","ip":"192.0.2.1","ok":true,
 *    "detail":{...}}
 * ("role", "via", "target", "ip", "detail" only when given).
 *
 * Storage: "audit.mdb" in the data directory, sub-database "log": big-endian sequence -> the
 * record's JSON text. Appends are durable (synced) when wd_audit_append returns. The log keeps
 * at most max_records; older records are dropped as new ones come.
 *
 * Threads: wd_audit_append from one thread at a time (the program's writer thread); the read
 * calls from any thread, at any time.
 */
#ifndef WARDEN_AUDIT_H
#define WARDEN_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define WD_AUDIT_TEXT_MAX 256        /* actor, role, via, action, target, ip: bytes incl. NUL */
#define WD_AUDIT_DETAIL_MAX 16384    /* detail JSON text, bytes */
#define WD_AUDIT_PAGE_MAX 1000       /* records one wd_audit_list call delivers */

/* One record to append. Strings may be NULL except actor and action; they are copied, control
 * characters replaced, over-long text truncated at a UTF-8 boundary. */
typedef struct wd_audit_entry {
  int64_t time;                      /* unix seconds */
  const char *actor;                 /* a user name, "admin" (bearer token), "detector" */
  const char *role;                  /* viewer, moderator, admin */
  const char *via;                   /* "console", "api", "detector" */
  const char *action;                /* "login", "login.failed", "logout", "ban.add", ... */
  const char *target;                /* what it acted on: "case 17", "token sha256:...", ... */
  const char *ip;                    /* the client address */
  int ok;                            /* the outcome */
  const char *detail;                /* a JSON object as text, or NULL; must parse, at most
                                        WD_AUDIT_DETAIL_MAX bytes (else the record is kept
                                        without it, with "detail_dropped":true) */
} wd_audit_entry_t;

typedef struct wd_audit wd_audit_t;

typedef struct wd_audit_opts {
  uint64_t max_records;              /* 0: 1000000 */
  size_t map_size;                   /* 0: 4 GiB */
  int no_sync;                       /* tests only */
} wd_audit_opts_t;

/* Open (creating when absent) the log in dir. Errors as wd_banlist_open: WD_EIO, WD_EBUSY,
 * WD_ECORRUPT, WD_EUNSUPPORTED, WD_ENOMEM, WD_EINVAL. opts may be NULL. */
int wd_audit_open(const char *dir, const wd_audit_opts_t *opts, wd_audit_t **out);
void wd_audit_close(wd_audit_t *a);

/*
 * Append n records in one synced transaction (records with a NULL or empty actor or action
 * are skipped). Returns how many were written, or a WD_E* code when nothing was (WD_EIO,
 * WD_ETOOBIG when the store is full, WD_ENOMEM).
 */
long wd_audit_append(wd_audit_t *a, const wd_audit_entry_t *e, size_t n);

/* What to list; zeroed: everything. */
typedef struct wd_audit_filter {
  const char *actor;                 /* exact actor, or NULL */
  const char *action;                /* an action, or a prefix ending in '.' ("ban."), or NULL */
  const char *text;                  /* a substring of the record's JSON text (case-blind
                                        ASCII), or NULL */
  int64_t since;                     /* records at or after this time; 0: any */
} wd_audit_filter_t;

/*
 * Call fn with the JSON text of matching records, newest first, with sequence numbers below
 * `before` (0: from the newest), at most `limit` (capped at WD_AUDIT_PAGE_MAX) of them and
 * scanning at most 100000 records. *next (when not NULL) gets the cursor for the next page, 0
 * when the log has no older records. fn runs outside the read transaction; the text is valid
 * during the call; a non-zero return stops and is returned. Returns 0, WD_EINVAL, WD_EIO,
 * WD_ENOMEM.
 */
int wd_audit_list(wd_audit_t *a, uint64_t before, size_t limit, const wd_audit_filter_t *f,
                  int (*fn)(const char *json, void *arg), void *arg, uint64_t *next);

/* Records held, and the newest sequence number (0 when empty). Any thread. */
void wd_audit_stats(wd_audit_t *a, uint64_t *records, uint64_t *last_seq);

#endif
