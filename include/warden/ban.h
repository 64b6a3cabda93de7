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
 * Capacity: the index keeps a 64-bit hash and an expiry per token/subject/IP ban (12 bytes a
 * slot, tables at most 85% full: about 16 bytes a ban), so 100 million bans take about 1.6 GB;
 * a hash hit is confirmed against the exact value in LMDB (a read-only transaction, which never
 * waits for the writer) so a collision never bans the wrong viewer. CIDR bans are kept exactly,
 * as sorted arrays per prefix length.
 *
 * Storage: the file "bans.mdb" (and "bans.mdb-lock") in the data directory; sub-databases
 * "bans" (type and value -> ban), "expiry" (until, type, value: for wd_banlist_expire) and
 * "audit" (sequence -> JSON line), "outbox" (changes waiting to be sent to other nodes) and
 * "cursor" (positions reached in replicated streams). One process opens a directory at a time.
 *
 * Expiry: a ban with `until` in the past never matches, whether or not wd_banlist_expire has
 * purged it yet. Token bans should end when the token would have: when the operator gives no
 * ttl/until, the caller passes the banned identity's `exp` as `until` (0 only for tokens that
 * never expire), so the list does not keep bans for tokens that can no longer be used.
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

#define WD_BAN_VALUE_MAX 160        /* value bytes including the NUL; longer is WD_EINVAL */
#define WD_BAN_TEXT_MAX 256
#define WD_BAN_EVIDENCE_MAX 65536   /* evidence JSON text, bytes */
#define WD_BAN_ORIGIN_MAX 64        /* origin node id bytes including the NUL */
#define WD_BAN_BATCH_MAX 65536      /* changes in one wd_banlist_apply */
#define WD_BAN_PAGE_MAX 10000       /* bans or audit records delivered by one list/audit call */

typedef struct wd_ban {
  wd_ban_type_t type;
  char value[WD_BAN_VALUE_MAX];  /* canonical form (addresses and prefixes normalised) */
  int64_t created;               /* unix seconds; 0 in a change: the apply time */
  int64_t until;                 /* expiry, unix seconds; 0: never (token bans: see above) */
  char reason[WD_BAN_TEXT_MAX];  /* why, as given by the operator or the detector */
  char actor[64];                /* who: admin token name, "detector", "cluster:<node>" */
} wd_ban_t;
/* Text fields (value, reason, actor) are UTF-8 without control characters. */

/* One change in a batch. */
typedef enum wd_ban_op { WD_BAN_ADD = 1, WD_BAN_LIFT } wd_ban_op_t;
typedef struct wd_ban_change {
  wd_ban_op_t op;
  wd_ban_t ban;                  /* for LIFT only type and value (and actor, reason) count */
  const char *evidence;          /* JSON text kept in the audit log, may be NULL; at most
                                    WD_BAN_EVIDENCE_MAX bytes, must parse as JSON */
  const char *origin_node;       /* a change read from the cluster's stream (evidence NULL):
                                    the node that made it (1..WD_BAN_ORIGIN_MAX - 1 bytes of
                                    text) and the stream sequence it came with, recorded as the
                                    evidence {"cluster":{"node":...,"seq":...}}; NULL otherwise */
  uint64_t origin_seq;
  int result;                    /* out: 0, or WD_E* for this change (others still apply) */
} wd_ban_change_t;

typedef struct wd_banlist wd_banlist_t;

typedef struct wd_banlist_opts {
  size_t map_size;               /* LMDB map size in bytes, the store's upper bound; 0: 256 GiB
                                    (address space only: the file grows as used, about 600
                                    bytes a token ban with its expiry and audit records, up to
                                    about 1 KB with LMDB's free pages after bulk loads) */
  int no_sync;                   /* tests only: skip fsync (durability is then not guaranteed) */
  const char *file;              /* the store's file name in the directory; NULL: "bans.mdb".
                                    The same structure serves as an allow list ("allow.mdb"). */
} wd_banlist_opts_t;

/*
 * Open (creating the directory and the store when absent) the ban store in directory `dir` and
 * load the index (opts may be NULL). Returns 0; WD_EIO when the directory or file cannot be
 * created or opened; WD_ECORRUPT when the file is not LMDB, is damaged, or is not a Warden ban
 * store; WD_EUNSUPPORTED when a newer Warden wrote it; WD_ENOMEM.
 */
int wd_banlist_open(const char *dir, const wd_banlist_opts_t *opts, wd_banlist_t **out);
/* Close; no other call on bl may be running or follow. */
void wd_banlist_close(wd_banlist_t *bl);

/*
 * Canonicalise and validate a ban value for its type (into out, WD_BAN_VALUE_MAX bytes):
 * token and subject values are kept as given (1..159 bytes of UTF-8, no control characters);
 * addresses are written in their standard text form (IPv4-mapped IPv6 becomes IPv4, IPv6
 * compressed and lowercase); prefixes as "network/length" with the host bits cleared (a bare
 * address is a full-length prefix; "::ffff:a.b.c.d/len" with len >= 96 is the IPv4 prefix
 * /len-96). WD_EINVAL for anything else.
 */
int wd_ban_canonical(wd_ban_type_t type, const char *value, char *out);

/*
 * Apply a batch of changes in one durable transaction, with one audit record each (in batch
 * order; the store itself is written in key order, changes to one ban in batch order). Returns 0
 * when the transaction committed (each change's own outcome is in its `result`: WD_EINVAL for a
 * bad type, value, text, evidence or origin, or an `until` already past; WD_ERANGE when lifting
 * a ban that does not exist), or a WD_E* code when nothing was committed (then every `result`
 * holds it):
 * WD_ETOOBIG (more than WD_BAN_BATCH_MAX changes, or the store is full), WD_EIO, WD_ENOMEM.
 * Adding a ban that exists replaces it (new until, reason, actor). The index changes only after
 * the commit, so a ban is enforced once apply returns and survives a crash from then on.
 * Writer thread only.
 */
int wd_banlist_apply(wd_banlist_t *bl, wd_ban_change_t *changes, size_t n, int64_t now);

/*
 * Options of wd_banlist_apply_ex, for a list replicated between nodes (docs/cluster.md).
 *   outbox     record every change that took effect in the store's outbox, in the same
 *              transaction, for a publisher to send to the other nodes (wd_banlist_outbox_read);
 *              set for changes made at this node, never for changes received from others.
 *   cursor     when not NULL, a name of at most WD_BAN_CURSOR_MAX - 1 bytes: set that cursor to
 *              cursor_value in the same transaction (the position reached in a replicated
 *              stream), even when no change is valid or n is 0.
 *   skip_same  an ADD identical to the ban in the store (created, until, reason and actor) is a
 *              no-op (result 0, no audit record): a node receiving its own change back.
 *   lazy_sync  write the commit's data durably but not its last step (LMDB's MDB_NOMETASYNC):
 *              a system crash (not a process crash) may undo this transaction, never damage the
 *              store; for changes that can be fetched again, with their cursor.
 */
#define WD_BAN_CURSOR_MAX 64
typedef struct wd_banlist_apply_opts {
  int outbox;
  const char *cursor;
  uint64_t cursor_value;
  int skip_same;
  int lazy_sync;
} wd_banlist_apply_opts_t;

/*
 * wd_banlist_apply with options (o may be NULL: exactly wd_banlist_apply). The outbox records
 * and the cursor commit with the changes or not at all. Errors as wd_banlist_apply; WD_EINVAL
 * for a cursor name empty or too long. Writer thread only.
 */
int wd_banlist_apply_ex(wd_banlist_t *bl, wd_ban_change_t *changes, size_t n, int64_t now,
                        const wd_banlist_apply_opts_t *o);

/* The value of a cursor set by wd_banlist_apply_ex: 0 and *out, or WD_ENOTOKEN (*out set to 0)
 * when it was never set; WD_EINVAL for a bad name. Any thread. */
int wd_banlist_cursor(wd_banlist_t *bl, const char *name, uint64_t *out);

/* One change waiting in the outbox: its id (increasing, never reused in a store), the
 * operation and the ban as it was stored (created filled in; for a lift the lifted ban's
 * type and value, with the lift's reason and actor). */
typedef struct wd_ban_outbox_entry {
  uint64_t id;
  wd_ban_op_t op;
  wd_ban_t ban;
} wd_ban_outbox_entry_t;

/*
 * Read outbox entries with id > after, in id order, calling fn for each of at most `limit`
 * (capped at WD_BAN_PAGE_MAX), outside the read snapshot (fn may call any banlist function). A
 * non-zero return from fn stops and is returned. Any thread.
 */
int wd_banlist_outbox_read(wd_banlist_t *bl, uint64_t after, size_t limit,
                           int (*fn)(const wd_ban_outbox_entry_t *e, void *arg), void *arg);

/*
 * Remove outbox entries with id <= upto (sent), and when more than `keep` remain (keep > 0) the
 * oldest beyond keep (the bound on what waits for an unreachable broker); *dropped (may be
 * NULL) receives how many were removed for the bound. One synced transaction, only when
 * something is removed. Any thread (LMDB's write lock serialises it with apply, which may wait
 * for it). Returns 0 or WD_E*.
 */
int wd_banlist_outbox_trim(wd_banlist_t *bl, uint64_t upto, uint64_t keep, uint64_t *dropped);

/* Entries in the outbox. Any thread. */
uint64_t wd_banlist_outbox_count(wd_banlist_t *bl);

/*
 * Is this request banned? Checks the identity's token id and subject, and the client address
 * against IP and CIDR bans (longest prefix). On a hit fills *hit (when not NULL) and returns 1;
 * 0 when not banned. Expired bans never match. `id` and `client_ip` may be NULL; an
 * unparsable client_ip is not checked against address bans. Any thread, never blocks on the
 * writer. The order when several bans apply: token, subject, IP, then the longest CIDR prefix.
 */
int wd_banlist_check(wd_banlist_t *bl, const wd_identity_t *id, const char *client_ip, int64_t now,
                     wd_ban_t *hit);

/* Look one ban up by type and value (canonicalised first: WD_EINVAL when invalid): 0 and *out
 * filled, or WD_ENOTOKEN when absent. An expired ban not yet purged is still returned (compare
 * its `until` with the clock). Any thread. */
int wd_banlist_get(wd_banlist_t *bl, wd_ban_type_t type, const char *value, wd_ban_t *out);

/*
 * List bans in key order, optionally of one type (0: all) and value prefix (NULL: all), starting
 * after `after` (an opaque cursor from the previous page, NULL for the first). Calls fn for each
 * of at most `limit` (capped at WD_BAN_PAGE_MAX); *next (when not NULL) receives the cursor of
 * the last one, malloc'd for the caller to free, or NULL when no more bans follow. Bans are
 * read in one snapshot and fn runs after it is released, so fn may call any banlist function.
 * A non-zero return from fn stops the listing and is returned (*next then resumes after the
 * ban fn stopped at). WD_EINVAL for a bad type, prefix or cursor. Expired bans not yet purged
 * are listed. Any thread.
 */
int wd_banlist_list(wd_banlist_t *bl, wd_ban_type_t type, const char *prefix, const char *after,
                    size_t limit, int (*fn)(const wd_ban_t *ban, void *arg), void *arg, char **next);

/* Remove bans expired at `now` from the store and the index, in transactions of a few thousand,
 * with one audit record ("op":"expire", "count") per transaction; returns how many, or a WD_E*
 * code when a commit failed (earlier transactions stay purged). Writer thread only. */
long wd_banlist_expire(wd_banlist_t *bl, int64_t now);

typedef struct wd_banlist_stats {
  uint64_t bans[5];              /* by wd_ban_type_t index (0 unused), expired not yet purged
                                    included */
  uint64_t index_bytes;          /* memory held by the in-memory index */
  uint64_t store_bytes;          /* LMDB pages in use */
} wd_banlist_stats_t;
/* Any thread. */
void wd_banlist_stats(wd_banlist_t *bl, wd_banlist_stats_t *out);

/*
 * Read the audit log (every applied change: when, who, what, why, evidence) as JSON lines, newest
 * first, calling fn for at most `limit` records (capped at WD_BAN_PAGE_MAX). A record:
 *   {"seq":7,"time":1700000000,"op":"add","type":"token","value":"...","until":1700003600,
 *    "reason":"...","actor":"admin","replaced":false,"evidence":{...}}
 * ("op" is "add", "lift" or "expire"; an expire record has "count" instead of type and value;
 * "evidence" only when given). json_line is valid during the call. Like list, fn runs outside
 * the read snapshot; a non-zero return stops and is returned. Any thread.
 */
int wd_banlist_audit(wd_banlist_t *bl, size_t limit, int (*fn)(const char *json_line, void *arg),
                     void *arg);

#endif
