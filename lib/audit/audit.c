/*
 * The audit trail (see warden/audit.h): an LMDB log of JSON records keyed by a big-endian
 * sequence number, so the newest record is the last key and a page is a backwards cursor walk.
 * Records are built with jansson (strings escaped, detail checked to be JSON) and trimmed to
 * max_records at each append, oldest first, a bounded number at a time.
 */
#include "warden/audit.h"

#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ban/store.h"
#include "warden/error.h"

#define AUDIT_FORMAT "warden-audit"
#define AUDIT_VERSION 1u
#define AUDIT_MAP_SIZE ((size_t)4 << 30)
#define DEFAULT_MAX 1000000
#define TRIM_PER_APPEND 1000
#define SCAN_MAX 100000

enum { DB_LOG = 0, DB_COUNT };
static const char *const db_names[DB_COUNT] = {"log"};

struct wd_audit {
  wd__store_t st;
  uint64_t max_records;
  _Atomic uint64_t records, last_seq;
};

static int read_bounds(wd_audit_t *a) {
  MDB_txn *txn;
  int rc = mdb_txn_begin(a->st.env, NULL, MDB_RDONLY, &txn);
  if (rc)
    return wd__store_err(rc);
  MDB_stat ms;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  uint64_t last = 0;
  rc = mdb_stat(txn, a->st.dbi[DB_LOG], &ms);
  if (!rc)
    rc = mdb_cursor_open(txn, a->st.dbi[DB_LOG], &cur);
  if (!rc) {
    int g = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (g == 0 && k.mv_size == 8)
      last = wd__store_rd_be64(k.mv_data);
    else if (g != MDB_NOTFOUND && g != 0)
      rc = g;
    mdb_cursor_close(cur);
  }
  mdb_txn_abort(txn);
  if (rc)
    return wd__store_err(rc);
  atomic_store(&a->records, ms.ms_entries);
  atomic_store(&a->last_seq, last);
  return 0;
}

int wd_audit_open(const char *dir, const wd_audit_opts_t *opts, wd_audit_t **out) {
  if (!dir || !out)
    return WD_EINVAL;
  wd_audit_opts_t o = opts ? *opts : (wd_audit_opts_t){0};
  wd_audit_t *a = calloc(1, sizeof *a);
  if (!a)
    return WD_ENOMEM;
  a->max_records = o.max_records ? o.max_records : DEFAULT_MAX;
  int rc = wd__store_open(&a->st, dir, "audit.mdb", AUDIT_FORMAT, AUDIT_VERSION,
                          o.map_size ? o.map_size : AUDIT_MAP_SIZE, o.no_sync, db_names, DB_COUNT);
  if (!rc)
    rc = read_bounds(a);
  if (rc) {
    wd__store_close(&a->st);
    free(a);
    return rc;
  }
  *out = a;
  return 0;
}

void wd_audit_close(wd_audit_t *a) {
  if (!a)
    return;
  wd__store_close(&a->st);
  free(a);
}

/* Text fit for a record: control characters become spaces, cut at max bytes on a UTF-8
 * boundary. out has WD_AUDIT_TEXT_MAX bytes. */
static const char *clean(const char *s, char *out) {
  if (!s)
    return NULL;
  size_t n = strnlen(s, WD_AUDIT_TEXT_MAX - 1);
  while (n > 0 && n < strlen(s) && ((unsigned char)s[n] & 0xC0) == 0x80)
    n--; /* do not split a multi-byte character */
  for (size_t i = 0; i < n; i++)
    out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
  out[n] = '\0';
  return out;
}

static void set_text(json_t *o, const char *key, const char *s) {
  char buf[WD_AUDIT_TEXT_MAX];
  if (!clean(s, buf) || !buf[0])
    return;
  json_t *v = json_string(buf);
  if (!v) { /* not UTF-8: keep the ASCII */
    for (char *p = buf; *p; p++)
      if ((unsigned char)*p >= 0x80)
        *p = '?';
    v = json_string(buf);
  }
  if (v)
    json_object_set_new(o, key, v);
}

static char *encode(const wd_audit_entry_t *e, uint64_t seq) {
  json_t *o = json_object();
  if (!o)
    return NULL;
  json_object_set_new(o, "seq", json_integer((json_int_t)seq));
  json_object_set_new(o, "time", json_integer(e->time));
  set_text(o, "actor", e->actor);
  set_text(o, "role", e->role);
  set_text(o, "via", e->via);
  set_text(o, "action", e->action);
  set_text(o, "target", e->target);
  set_text(o, "ip", e->ip);
  json_object_set_new(o, "ok", json_boolean(e->ok));
  if (e->detail) {
    json_t *d = strlen(e->detail) <= WD_AUDIT_DETAIL_MAX ? json_loads(e->detail, 0, NULL) : NULL;
    if (d)
      json_object_set_new(o, "detail", d);
    else
      json_object_set_new(o, "detail_dropped", json_true());
  }
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return text;
}

/* Drop the oldest records beyond max_records (at most TRIM_PER_APPEND in one go). */
static int trim(wd_audit_t *a, MDB_txn *txn, uint64_t *count) {
  if (*count <= a->max_records)
    return 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, a->st.dbi[DB_LOG], &cur);
  if (rc)
    return rc;
  MDB_val k, v;
  size_t n = 0;
  while (*count > a->max_records && n < TRIM_PER_APPEND &&
         (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
    rc = mdb_cursor_del(cur, 0);
    if (rc)
      break;
    (*count)--;
    n++;
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

long wd_audit_append(wd_audit_t *a, const wd_audit_entry_t *e, size_t n) {
  if (!a || (!e && n))
    return WD_EINVAL;
  MDB_txn *txn;
  int rc = mdb_txn_begin(a->st.env, NULL, 0, &txn);
  if (rc)
    return wd__store_err(rc);
  uint64_t seq = atomic_load(&a->last_seq), count = atomic_load(&a->records);
  long written = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    if (!e[i].actor || !e[i].actor[0] || !e[i].action || !e[i].action[0])
      continue;
    char *text = encode(&e[i], seq + 1);
    if (!text) {
      rc = ENOMEM;
      break;
    }
    uint8_t kb[8];
    wd__store_be64(kb, seq + 1);
    MDB_val k = {.mv_size = 8, .mv_data = kb}, v = {.mv_size = strlen(text), .mv_data = text};
    rc = mdb_put(txn, a->st.dbi[DB_LOG], &k, &v, MDB_APPEND);
    free(text);
    if (!rc) {
      seq++;
      count++;
      written++;
    }
  }
  if (!rc)
    rc = trim(a, txn, &count);
  if (rc) {
    mdb_txn_abort(txn);
    return rc == ENOMEM ? WD_ENOMEM : wd__store_err(rc);
  }
  rc = mdb_txn_commit(txn);
  if (rc)
    return wd__store_err(rc);
  atomic_store(&a->last_seq, seq);
  atomic_store(&a->records, count);
  return written;
}

static int ci_contains(const char *hay, size_t hn, const char *needle) {
  size_t nn = strlen(needle);
  if (nn == 0)
    return 1;
  for (size_t i = 0; i + nn <= hn; i++)
    if (!strncasecmp(hay + i, needle, nn))
      return 1;
  return 0;
}

/* Does the record text match the filter? Checks fields by their JSON text, so no parse. */
static int match(const char *t, size_t n, const wd_audit_filter_t *f) {
  if (!f)
    return 1;
  if (f->text && f->text[0] && !ci_contains(t, n, f->text))
    return 0;
  if ((f->actor && f->actor[0]) || (f->action && f->action[0]) || f->since) {
    json_t *o = json_loadb(t, n, 0, NULL);
    if (!o)
      return 0;
    int ok = 1;
    const char *actor = json_string_value(json_object_get(o, "actor"));
    const char *action = json_string_value(json_object_get(o, "action"));
    if (f->actor && f->actor[0] && (!actor || strcmp(actor, f->actor)))
      ok = 0;
    if (ok && f->action && f->action[0]) {
      size_t al = strlen(f->action);
      if (!action)
        ok = 0;
      else if (f->action[al - 1] == '.')
        ok = !strncmp(action, f->action, al);
      else
        ok = !strcmp(action, f->action);
    }
    if (ok && f->since && json_integer_value(json_object_get(o, "time")) < f->since)
      ok = 0;
    json_decref(o);
    return ok;
  }
  return 1;
}

int wd_audit_list(wd_audit_t *a, uint64_t before, size_t limit, const wd_audit_filter_t *f,
                  int (*fn)(const char *json, void *arg), void *arg, uint64_t *next) {
  if (!a || !fn)
    return WD_EINVAL;
  if (limit > WD_AUDIT_PAGE_MAX)
    limit = WD_AUDIT_PAGE_MAX;
  char **out = calloc(limit ? limit : 1, sizeof *out);
  if (!out)
    return WD_ENOMEM;
  size_t got = 0;
  uint64_t cursor = 0;
  MDB_txn *txn;
  int rc = mdb_txn_begin(a->st.env, NULL, MDB_RDONLY, &txn);
  if (rc) {
    free(out);
    return wd__store_err(rc);
  }
  MDB_cursor *cur;
  rc = mdb_cursor_open(txn, a->st.dbi[DB_LOG], &cur);
  if (!rc) {
    MDB_val k, v;
    uint8_t kb[8];
    int g;
    if (before) {
      wd__store_be64(kb, before);
      k.mv_size = 8;
      k.mv_data = kb;
      g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
      if (g == 0)
        g = mdb_cursor_get(cur, &k, &v, MDB_PREV);
      else if (g == MDB_NOTFOUND)
        g = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    } else {
      g = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }
    size_t scanned = 0;
    while (g == 0 && got < limit && scanned < SCAN_MAX) {
      scanned++;
      uint64_t seq = k.mv_size == 8 ? wd__store_rd_be64(k.mv_data) : 0;
      cursor = seq;
      if (match(v.mv_data, v.mv_size, f)) {
        out[got] = strndup(v.mv_data, v.mv_size);
        if (!out[got]) {
          rc = ENOMEM;
          break;
        }
        got++;
      }
      g = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
    if (!rc && g != 0 && g != MDB_NOTFOUND)
      rc = g;
    if (g == MDB_NOTFOUND)
      cursor = 0; /* nothing older */
    mdb_cursor_close(cur);
  }
  mdb_txn_abort(txn);
  int result = rc == ENOMEM ? WD_ENOMEM : rc ? wd__store_err(rc) : 0;
  for (size_t i = 0; i < got; i++) {
    if (!result)
      result = fn(out[i], arg);
    free(out[i]);
  }
  free(out);
  if (next && (result == 0))
    *next = cursor;
  return result;
}

void wd_audit_stats(wd_audit_t *a, uint64_t *records, uint64_t *last_seq) {
  if (records)
    *records = a ? atomic_load(&a->records) : 0;
  if (last_seq)
    *last_seq = a ? atomic_load(&a->last_seq) : 0;
}
