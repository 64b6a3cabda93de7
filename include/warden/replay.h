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

/* Open the replay store inside the LMDB directory `dir` (it may share the ban list's directory). */
int wd_replay_open(const char *dir, wd_replay_t **out);
void wd_replay_close(wd_replay_t *rp);

/*
 * Record a use of token `id` (the identity's token_id, scoped by issuer) valid until `until`.
 * Returns 0 on the first use, 1 when it was seen before (a replay), WD_E* on error.
 */
int wd_replay_seen(wd_replay_t *rp, const char *issuer, const char *id, int64_t until, int64_t now);

/* Persist queued entries and drop expired ones. Writer thread only. Returns entries written. */
long wd_replay_flush(wd_replay_t *rp, int64_t now);

#endif
