/* LMDB environments for the ban list and replay memory: open, format check, errors; see store.h. */
#include "ban/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "warden/error.h"

#define STORE_PATH_MAX 4096
#define STORE_MAP_DEFAULT ((size_t)256 << 30)
#define STORE_MAX_READERS 1024

int wd__store_err(int rc) {
  switch (rc) {
  case 0:
    return 0;
  case MDB_INVALID:
  case MDB_CORRUPTED:
  case MDB_PAGE_NOTFOUND:
  case MDB_PANIC:
  case MDB_INCOMPATIBLE:
  case MDB_BAD_VALSIZE:
    return WD_ECORRUPT;
  case MDB_VERSION_MISMATCH:
    return WD_EUNSUPPORTED;
  case MDB_MAP_FULL:
  case MDB_TXN_FULL:
  case MDB_PAGE_FULL:
  case MDB_CURSOR_FULL:
    return WD_ETOOBIG;
  case ENOMEM:
    return WD_ENOMEM;
  case EINVAL:
    return WD_EINVAL;
  default:
    return WD_EIO;
  }
}

/* A new environment has an empty main database; ours has "meta" with the format tag. */
static int check_format(wd__store_t *st, const char *format, unsigned version,
                        const char *const *names, size_t n) {
  MDB_txn *txn = NULL;
  int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
  if (rc)
    return wd__store_err(rc);
  MDB_dbi main_dbi;
  MDB_stat ms;
  rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
  if (!rc)
    rc = mdb_stat(txn, main_dbi, &ms);
  if (rc) {
    rc = wd__store_err(rc);
    goto out;
  }
  char want[96];
  int wl = snprintf(want, sizeof want, "%s/%u", format, version);
  if (wl < 0 || (size_t)wl >= sizeof want) {
    rc = WD_EINVAL;
    goto out;
  }
  size_t flen = strlen(format);
  MDB_dbi meta;
  MDB_val k = {.mv_size = 6, .mv_data = "format"}, v;
  if (ms.ms_entries == 0) {
    rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta);
    if (!rc) {
      v.mv_size = (size_t)wl;
      v.mv_data = want;
      rc = mdb_put(txn, meta, &k, &v, 0);
    }
    if (rc) {
      rc = wd__store_err(rc);
      goto out;
    }
  } else {
    rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc) { /* an LMDB file without our meta: someone else's */
      rc = rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE ? WD_ECORRUPT : wd__store_err(rc);
      goto out;
    }
    rc = mdb_get(txn, meta, &k, &v);
    if (rc) {
      rc = rc == MDB_NOTFOUND ? WD_ECORRUPT : wd__store_err(rc);
      goto out;
    }
    const char *s = v.mv_data;
    if (v.mv_size <= flen + 1 || memcmp(s, format, flen) != 0 || s[flen] != '/') {
      rc = WD_ECORRUPT;
      goto out;
    }
    unsigned have = 0;
    for (size_t i = flen + 1; i < v.mv_size; i++) {
      if (s[i] < '0' || s[i] > '9' || have > 100000) {
        rc = WD_ECORRUPT;
        goto out;
      }
      have = have * 10 + (unsigned)(s[i] - '0');
    }
    if (have > version) {
      rc = WD_EUNSUPPORTED;
      goto out;
    }
  }
  for (size_t i = 0; i < n; i++) {
    rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &st->dbi[i]);
    if (rc) {
      rc = rc == MDB_INCOMPATIBLE ? WD_ECORRUPT : wd__store_err(rc);
      goto out;
    }
  }
  rc = wd__store_err(mdb_txn_commit(txn));
  txn = NULL;
out:
  if (txn)
    mdb_txn_abort(txn);
  return rc;
}

int wd__store_open(wd__store_t *st, const char *dir, const char *file, const char *format,
                   unsigned version, size_t map_size, int no_sync, const char *const *names,
                   size_t n) {
  if (!st)
    return WD_EINVAL;
  memset(st, 0, sizeof *st);
  st->owner_fd = -1;
  if (!dir || !*dir || !file || !format || n > WD__STORE_MAX_DBS)
    return WD_EINVAL;
  char path[STORE_PATH_MAX];
  int pl = snprintf(path, sizeof path, "%s/%s", dir, file);
  if (pl < 0 || (size_t)pl >= sizeof path - 8) /* room for LMDB's "-lock" suffix */
    return WD_EINVAL;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return WD_EIO;
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return WD_EIO;
  /* Claim the file before LMDB opens it: a second LMDB handle on it in this process would
   * release the first one's locks when it closed. (An empty new file is a new LMDB store.) */
  st->owner_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (st->owner_fd < 0)
    return WD_EIO;
  if (flock(st->owner_fd, LOCK_EX | LOCK_NB) != 0) {
    int busy = errno == EWOULDBLOCK;
    close(st->owner_fd);
    st->owner_fd = -1;
    return busy ? WD_EBUSY : WD_EIO;
  }

  int rc = mdb_env_create(&st->env);
  if (rc) {
    wd__store_close(st);
    return wd__store_err(rc);
  }
  rc = mdb_env_set_maxdbs(st->env, WD__STORE_MAX_DBS + 1);
  if (!rc)
    rc = mdb_env_set_maxreaders(st->env, STORE_MAX_READERS);
  if (!rc)
    rc = mdb_env_set_mapsize(st->env, map_size ? map_size : STORE_MAP_DEFAULT);
  if (!rc)
    rc = mdb_env_open(st->env, path, MDB_NOSUBDIR | (no_sync ? MDB_NOSYNC : 0), 0600);
  if (rc) {
    /* An existing file that LMDB cannot read as its own is corrupt or foreign. */
    rc = (rc == ENOENT || rc == EACCES || rc == EROFS || rc == ENOSPC) ? WD_EIO : wd__store_err(rc);
    if (rc == WD_EINVAL) /* e.g. a file too short to hold LMDB's meta pages */
      rc = WD_ECORRUPT;
    wd__store_close(st);
    return rc;
  }
  rc = check_format(st, format, version, names, n);
  if (rc)
    wd__store_close(st);
  return rc;
}

void wd__store_close(wd__store_t *st) {
  if (!st)
    return;
  if (st->env) {
    mdb_env_close(st->env);
    st->env = NULL;
  }
  if (st->owner_fd >= 0) {
    close(st->owner_fd);
    st->owner_fd = -1;
  }
}

uint64_t wd__store_bytes(const wd__store_t *st) {
  MDB_envinfo info;
  MDB_stat ms;
  if (!st->env || mdb_env_info(st->env, &info) || mdb_env_stat(st->env, &ms))
    return 0;
  return ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
}
