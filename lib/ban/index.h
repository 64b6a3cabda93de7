/*
 * The ban list's in-memory index: what wd_banlist_check consults on every request.
 *
 * Two structures behind one handle, both read without locks:
 *
 *  - An open-addressing hash table (linear probing) of 64-bit keys, each the seeded hash of a
 *    ban's type and value, with a 32-bit expiry per slot, stored as two parallel arrays (12 bytes
 *    a slot; tables are kept at most 85% full, so about 16 bytes a ban). The table is a multiset:
 *    one slot per stored ban, even when two bans share a hash, so removing one never hides the
 *    other. A hit means "maybe": the caller confirms it against the stored value. Token, subject
 *    and single-address bans live here (an address is hashed in binary form).
 *  - CIDR prefixes: an immutable snapshot of sorted arrays, one per prefix length present, per
 *    address family. A lookup masks the address once per length, longest first, and binary
 *    searches. The writer keeps the master list and publishes a new snapshot after each change.
 *
 * Concurrency. One writer thread (wd__banidx_reserve/insert/update/remove/cidr_*), any number of
 * readers (wd__banidx_has, wd__banidx_cidr_match) inside wd__banidx_enter/exit. Slot writes are
 * single atomic stores (expiry before key, release/acquire), so a reader sees a slot either
 * before or after a change, never half of it; deletions leave tombstones, so entries never move
 * under a reader. Growth and tombstone clean-up build a new table and publish it with an atomic
 * pointer swap; the old table (and an old CIDR snapshot) is freed once every reader that could
 * hold it has left: readers announce themselves in one of two epoch counters (striped across
 * cache lines), and the writer flips the epoch and waits for the old counters to drain. Readers
 * never wait; only the writer does, and only for reads already in progress.
 */
#ifndef WARDEN_BAN_INDEX_H
#define WARDEN_BAN_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "util/ip.h"

typedef struct wd__banidx wd__banidx_t;

typedef struct wd__banidx_guard {
  unsigned epoch;
  unsigned stripe;
} wd__banidx_guard_t;

/* Create an index sized for `expected` hashed entries. */
int wd__banidx_create(size_t expected, wd__banidx_t **out);
/* Free everything; no reader may be inside. */
void wd__banidx_destroy(wd__banidx_t *ix);

/* Key of a hashed ban: seeded hash of the type and `n` bytes of data (never 0 or 1). */
uint64_t wd__banidx_key(const wd__banidx_t *ix, int type, const void *data, size_t n);
/* Slot expiry for a ban's `until`: 0 (never) for 0 and for times past 2106. */
uint32_t wd__banidx_exp(int64_t until);

/* --- writer thread only --- */

/*
 * Make room for `more` inserts without further allocation: rebuild into a bigger (or, when
 * tombstones pile up, same-size) table when needed, dropping slots expired at `now`, publish it,
 * and free the old one after the readers have left. WD_ENOMEM leaves the index unchanged.
 */
int wd__banidx_reserve(wd__banidx_t *ix, size_t more, int64_t now);
/* Add one slot (room reserved beforehand). */
void wd__banidx_insert(wd__banidx_t *ix, uint64_t key, uint32_t exp);
/* Change the expiry of the slot (key, old_exp); inserts when it is gone (room reserved). */
void wd__banidx_update(wd__banidx_t *ix, uint64_t key, uint32_t old_exp, uint32_t new_exp);
/* Remove one slot (key, exp); absent is fine. */
void wd__banidx_remove(wd__banidx_t *ix, uint64_t key, uint32_t exp);

/* Make room for `more` CIDR additions and the next snapshot. WD_ENOMEM leaves it unchanged. */
int wd__banidx_cidr_reserve(wd__banidx_t *ix, size_t more);
/* Add or replace a prefix (host bits already clear) in the master list (room reserved). */
void wd__banidx_cidr_put(wd__banidx_t *ix, const wd_ip_t *net, int plen, int64_t until);
/* Remove a prefix from the master list; absent is fine. */
void wd__banidx_cidr_del(wd__banidx_t *ix, const wd_ip_t *net, int plen);
/* Publish the master list to readers (into the reserved snapshot) and free the old snapshot. */
void wd__banidx_cidr_publish(wd__banidx_t *ix);

/* --- readers, any thread --- */

void wd__banidx_enter(wd__banidx_t *ix, wd__banidx_guard_t *g);
void wd__banidx_exit(wd__banidx_t *ix, const wd__banidx_guard_t *g);
/* Inside a guard: start loading the cache line where `key` would be (several keys prefetched
 * before probing them overlap their memory latency). */
void wd__banidx_prefetch(wd__banidx_t *ix, uint64_t key);
/* Inside a guard: 1 when a slot with `key` is live at `now` (expiry 0 or > now). */
int wd__banidx_has(wd__banidx_t *ix, uint64_t key, int64_t now);
/* Inside a guard: prefix lengths of the live CIDR bans containing ip, longest first (at most
 * max); returns how many. */
size_t wd__banidx_cidr_match(wd__banidx_t *ix, const wd_ip_t *ip, int64_t now, int *plens,
                             size_t max);

/* Hashed entries (slots in use, expired or not) and published CIDR prefixes; any thread. */
uint64_t wd__banidx_count(const wd__banidx_t *ix);
uint64_t wd__banidx_cidr_count(const wd__banidx_t *ix);
/* Bytes held: tables, snapshots and the master list; any thread. */
uint64_t wd__banidx_bytes(const wd__banidx_t *ix);
/* Current table capacity in slots; writer thread only (tests and the benchmark). */
uint64_t wd__banidx_capacity(const wd__banidx_t *ix);

#endif
