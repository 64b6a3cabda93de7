/*
 * LMDB plumbing shared by the ban list and the replay memory.
 *
 * Each keeps its own LMDB environment, one file in the data directory ("bans.mdb",
 * "replay.mdb", each with its "-lock" file), so their writers never queue behind each other and
 * neither file can be mistaken for the other: a "meta" sub-database holds a format tag that
 * wd__store_open checks. A file that is not LMDB, is damaged, or is an LMDB file of some other
 * program is refused with WD_ECORRUPT; a newer format version with WD_EUNSUPPORTED.
 *
 * Environments use LMDB's default thread-local reader slots: a thread holds at most one read
 * transaction of an environment at a time, so functions here never call out to user code while
 * a read transaction is open.
 */
#ifndef WARDEN_BAN_STORE_H
#define WARDEN_BAN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#define WD__STORE_MAX_DBS 8

typedef struct wd__store {
  MDB_env *env;
  int owner_fd;                   /* the data file, flock'ed while open */
  MDB_dbi dbi[WD__STORE_MAX_DBS]; /* in the order of the names given to open */
} wd__store_t;

/*
 * Open (creating when absent) directory `dir` and the LMDB file `file` inside it, check or write
 * the format tag `format` (e.g. "warden-bans") at `version`, and open or create the named
 * sub-databases `names[0..n)` (n <= WD__STORE_MAX_DBS) into st->dbi. map_size 0 means 256 GiB
 * (address space only: the file grows as pages are used). no_sync skips fsync (tests only).
 * Only one handle may have a store open (LMDB forbids two environments on one file in a
 * process, and a second process would keep its own index): the data file is flock'ed first.
 * Returns 0, WD_EINVAL (bad arguments, path too long), WD_EIO (directory or file cannot be
 * created or opened), WD_EBUSY (open elsewhere), WD_ECORRUPT (not LMDB, damaged, or another
 * program's store), WD_EUNSUPPORTED (written by a newer format version), WD_ENOMEM.
 */
int wd__store_open(wd__store_t *st, const char *dir, const char *file, const char *format,
                   unsigned version, size_t map_size, int no_sync, const char *const *names,
                   size_t n);
void wd__store_close(wd__store_t *st);

/* Map an LMDB or errno code to a WD_E* code. */
int wd__store_err(int mdb_rc);

/* Bytes of the file's pages in use (last used page + 1, times the page size). */
uint64_t wd__store_bytes(const wd__store_t *st);

/* Big-endian 64-bit encoding, so keys sort by number. */
static inline void wd__store_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}
static inline uint64_t wd__store_rd_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

#endif
