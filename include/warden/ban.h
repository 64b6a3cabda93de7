/*
 * The ban list: revocation by token id, subject, IP address or CIDR prefix.
 *
 * Two parts behind one handle. An in-memory index answers wd_banlist_check on the request hot
 * path without locks that a writer could hold up (readers never wait). An LMDB environment in the
 * data directory makes every change durable: wd_banlist_apply returns only after the batch is
 * committed and synced, so an acknowledged ban survives kill -9. Opening the list rebuilds the
 * index from LMDB.
 *
 * Threads: wd_banlist_check and the read-only calls may run on any number of threads at once;
 * wd_banlist_apply and wd_banlist_expire must be called from one writer thread at a time (the
 * program's writer thread batches changes into one apply call: group commit).
 *
 * Capacity: the index keeps a 64-bit hash and an expiry per token/subject ban (about 16 bytes
 * with the table's slack), so 100 million bans fit in well under 4 GB; a hash hit is confirmed
 * against the exact value so a collision never bans the wrong viewer.
 */
#ifndef WARDEN_BAN_H
#define WARDEN_BAN_H

#include <stddef.h>
#include <stdint.h>

#include "warden/token.h"

typedef enum wd_ban_type {
  WD_BAN_TOKEN = 1,   /* value: identity token_id ("sha256:..." or the token's own id) */
  WD_BAN_SUBJECT,     /* value: identity subject */
  WD_BAN_IP,          /* value: one address, IPv4 or IPv6 */
  WD_BAN_CIDR,        /* value: a prefix "10.0.0.0/8", "2001:db8::/32" (longest prefix wins) */
} wd_ban_type_t;

/* "token", "subject", "ip", "cidr"; parse returns WD_EINVAL for anything else. */
const char *wd_ban_type_name(wd_ban_type_t t);
int wd_ban_type_parse(const char *s, wd_ban_type_t *out);

#define WD_BAN_VALUE_MAX 160
#define WD_BAN_TEXT_MAX 256

typedef struct wd_ban {
  wd_ban_type_t type;
  char value[WD_BAN_VALUE_MAX];  /* canonical form (addresses and prefixes normalised) */
  int64_t created;               /* unix seconds */
  int64_t until;                 /* expiry, unix seconds; 0: never */
  char reason[WD_BAN_TEXT_MAX];  /* why, as given by the operator or the detector */
  char actor[64];                /* who: admin token name, "detector", "cluster:<node>" */
} wd_ban_t;

/* One change in a batch. */
typedef enum wd_ban_op { WD_BAN_ADD = 1, WD_BAN_LIFT } wd_ban_op_t;
typedef struct wd_ban_change {
  wd_ban_op_t op;
  wd_ban_t ban;                  /* for LIFT only type and value (and actor, reason) count */
  const char *evidence;          /* JSON text kept in the audit log, may be NULL */
  int result;                    /* out: 0, or WD_E* for this change (others still apply) */
} wd_ban_change_t;

typedef struct wd_banlist wd_banlist_t;

typedef struct wd_banlist_opts {
  size_t map_size;               /* LMDB map size in bytes; 0: 16 GiB (sparse) */
  int no_sync;                   /* tests only: skip fsync (durability is then not guaranteed) */
} wd_banlist_opts_t;

/* Open (creating when absent) the ban store in directory `dir` and load the index. */
int wd_banlist_open(const char *dir, const wd_banlist_opts_t *opts, wd_banlist_t **out);
void wd_banlist_close(wd_banlist_t *bl);

/* Canonicalise and validate a ban value for its type (into out, WD_BAN_VALUE_MAX bytes). */
int wd_ban_canonical(wd_ban_type_t type, const char *value, char *out);

/*
 * Apply a batch of changes in one durable transaction, with one audit record each. Returns 0
 * when the transaction committed (each change's own outcome is in its `result`: WD_EINVAL for a
 * bad value, WD_ERANGE when lifting a ban that does not exist), or a WD_E* code when nothing was
 * committed. Writer thread only.
 */
int wd_banlist_apply(wd_banlist_t *bl, wd_ban_change_t *changes, size_t n, int64_t now);

/*
 * Is this request banned? Checks the identity's token id and subject, and the client address
 * against IP and CIDR bans (longest prefix). On a hit fills *hit (when not NULL) and returns 1;
 * 0 when not banned. Expired bans never match. Any thread, never blocks on the writer.
 */
int wd_banlist_check(wd_banlist_t *bl, const wd_identity_t *id, const char *client_ip, int64_t now,
                     wd_ban_t *hit);

/* Look one ban up by type and value: 0 and *out filled, or WD_ENOTOKEN when absent. */
int wd_banlist_get(wd_banlist_t *bl, wd_ban_type_t type, const char *value, wd_ban_t *out);

/*
 * List bans in key order, optionally of one type (0: all) and value prefix (NULL: all), starting
 * after `after` (an opaque cursor from the previous page, NULL for the first). Calls fn for each
 * of at most `limit`; *next receives the cursor of the last one (malloc'd, NULL at the end).
 */
int wd_banlist_list(wd_banlist_t *bl, wd_ban_type_t type, const char *prefix, const char *after,
                    size_t limit, int (*fn)(const wd_ban_t *ban, void *arg), void *arg, char **next);

/* Remove expired bans from the index and the store; returns how many. Writer thread only. */
long wd_banlist_expire(wd_banlist_t *bl, int64_t now);

typedef struct wd_banlist_stats {
  uint64_t bans[5];              /* by wd_ban_type_t index (0 unused) */
  uint64_t index_bytes;          /* memory held by the in-memory index */
  uint64_t store_bytes;          /* LMDB pages in use */
} wd_banlist_stats_t;
void wd_banlist_stats(wd_banlist_t *bl, wd_banlist_stats_t *out);

/*
 * Read the audit log (every applied change: when, who, what, why, evidence) as JSON lines, newest
 * first, calling fn for at most `limit` records.
 */
int wd_banlist_audit(wd_banlist_t *bl, size_t limit, int (*fn)(const char *json_line, void *arg),
                     void *arg);

#endif
