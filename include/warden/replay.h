/*
 * Replay memory for CAT catreplay=1: the first use of (issuer, cti) is accepted and any later
 * use refused until the token's expiry (+ leeway), across restarts.
 *
 * wd_replay_seen runs on the hot path: it consults and updates an in-memory set (sharded, short
 * critical sections) and queues the new entry for persistence; wd_replay_flush, called by the
 * program's writer thread, commits queued entries to LMDB in one transaction. A restart reloads
 * unexpired entries. A crash loses at most the entries not yet flushed (the writer flushes every
 * few milliseconds).
 */
#ifndef WARDEN_REPLAY_H
#define WARDEN_REPLAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct wd_replay wd_replay_t;

/*
 * Open the replay store in directory `dir` (created when absent; it may be the ban list's data
 * directory: the replay memory has its own file, "replay.mdb") and reload every remembered
 * entry. Errors as wd_banlist_open: WD_EIO, WD_ECORRUPT, WD_EUNSUPPORTED, WD_ENOMEM.
 */
int wd_replay_open(const char *dir, wd_replay_t **out);
/* Close; entries not yet flushed are lost (call wd_replay_flush first). No call may be running. */
void wd_replay_close(wd_replay_t *rp);

/*
 * Record a use of token `id` (the identity's token_id, scoped by issuer, which may be NULL or "")
 * valid until `until` (the token's exp plus the verification leeway; 0: never expires).
 * Returns 0 on the first use, 1 when it was seen before and is still remembered (a replay),
 * WD_EINVAL for an empty id, an id or issuer of WD_ID_MAX bytes or more, or a negative until,
 * WD_ENOMEM, WD_EUNAVAILABLE for a first use while closed (wd_replay_set_closed). A token already expired at `now` is not remembered (returns 0; verification refuses
 * it anyway). Any thread; a short critical section on one of 64 shards.
 */
int wd_replay_seen(wd_replay_t *rp, const char *issuer, const char *id, int64_t until, int64_t now);

/*
 * Close (closed 1) or reopen (0) the memory to first uses: while closed, wd_replay_seen still
 * answers 1 for a token it remembers, and WD_EUNAVAILABLE instead of recording a first use. A
 * node of a cluster closes it while it cannot reach the other nodes and its configuration says
 * fail-closed (docs/cluster.md). Any thread.
 */
void wd_replay_set_closed(wd_replay_t *rp, int closed);

/*
 * Persist queued entries in one synced LMDB transaction, purge expired ones from the store (a
 * bounded number per call) and from memory (one shard per second of `now`). Returns the entries
 * written, or a WD_E* code (the entries stay queued for the next call). Does nothing on disk
 * when nothing is queued or due. Writer thread only.
 */
long wd_replay_flush(wd_replay_t *rp, int64_t now);

#endif
