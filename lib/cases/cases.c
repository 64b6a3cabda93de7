/*
 * Review cases (see warden/cases.h).
 *
 * Memory: a vector of cases sorted by id (ids only grow, so opening appends) and an
 * open-addressed table from the key's hash to a vector index; one mutex guards both. Forgetting
 * old cases compacts the vector and rebuilds the table (at most once a minute, in the flush).
 * Disk: "cases.mdb", sub-database "cases": big-endian id -> the case as a JSON object; a case
 * changed since the last flush is marked dirty and rewritten whole.
 */
#include "warden/cases.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ban/store.h"
#include "warden/error.h"

#define CASES_FORMAT "warden-cases"
#define CASES_VERSION 1u
#define CASES_MAP_SIZE ((size_t)4 << 30)
#define DEFAULT_MAX 100000
#define DEFAULT_RETENTION (30 * 86400)
#define LIST_MAX 1000
#define PURGE_EVERY_S 60

typedef struct slot {
  wd_case_t c;
  int dirty;
} slot_t;

struct wd_cases {
  pthread_mutex_t mu;
  slot_t *v;                 /* sorted by id */
  size_t n, cap;
  uint32_t *table;           /* vector index + 1; 0 empty */
  size_t tcap;               /* power of two, at least 2 * max */
  size_t max;
  int64_t retention;
  uint64_t next_id;
  uint64_t dropped;
  size_t ndirty;
  uint64_t *deleted;         /* ids forgotten, to delete from the store at the next flush */
  size_t ndeleted, deleted_cap;
  int64_t next_purge;
  wd__store_t st;
};

static const char *const status_names[WD_CASE_STATUS_COUNT] = {
    "open", "escalated", "banned", "allowed", "dismissed"};

const char *wd_case_status_name(wd_case_status_t s) {
  return (unsigned)s < WD_CASE_STATUS_COUNT ? status_names[s] : "unknown";
}

int wd_case_status_parse(const char *s, wd_case_status_t *out) {
  for (int i = 0; s && i < WD_CASE_STATUS_COUNT; i++)
    if (!strcasecmp(s, status_names[i])) {
      *out = (wd_case_status_t)i;
      return 0;
    }
  return WD_EINVAL;
}

/* FNV-1a over the type and the key. */
static uint64_t key_hash(wd_ban_type_t t, const char *key) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)t;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  return h ^ (h >> 29);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid (overlong forms,
 * surrogates and code points above U+10FFFF included). */
static size_t utf8_len(const unsigned char *p) {
  unsigned c = p[0];
  size_t n;
  unsigned cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

/* Copy src into dst (size n) as valid UTF-8 text: control characters become spaces, invalid
 * bytes '?', and a character that does not fit whole is left out. */
static void copy_text(char *dst, size_t n, const char *src) {
  size_t k = 0;
  const unsigned char *p = (const unsigned char *)(src ? src : "");
  while (*p) {
    size_t len = utf8_len(p);
    if (len <= 1) {
      if (k + 1 >= n)
        break;
      dst[k++] = len == 0 ? '?' : *p < 0x20 || *p == 0x7f ? ' ' : (char)*p;
      p++;
      continue;
    }
    if (k + len >= n)
      break;
    memcpy(dst + k, p, len);
    k += len;
    p += len;
  }
  dst[k] = '\0';
}

/* ---------------------------------------------------------------- the key table */

static uint32_t *find_slot(wd_cases_t *cs, wd_ban_type_t t, const char *key) {
  size_t mask = cs->tcap - 1;
  for (size_t i = key_hash(t, key) & mask;; i = (i + 1) & mask) {
    uint32_t e = cs->table[i];
    if (!e)
      return &cs->table[i];
    const wd_case_t *c = &cs->v[e - 1].c;
    if (c->key_type == t && !strcmp(c->key, key))
      return &cs->table[i];
  }
}

static void rebuild_table(wd_cases_t *cs) {
  memset(cs->table, 0, cs->tcap * sizeof *cs->table);
  for (size_t i = 0; i < cs->n; i++)
    *find_slot(cs, cs->v[i].c.key_type, cs->v[i].c.key) = (uint32_t)(i + 1);
}

static slot_t *by_id(wd_cases_t *cs, uint64_t id) {
  size_t lo = 0, hi = cs->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cs->v[mid].c.id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < cs->n && cs->v[lo].c.id == id ? &cs->v[lo] : NULL;
}

static void mark(wd_cases_t *cs, slot_t *s) {
  if (!s->dirty) {
    s->dirty = 1;
    cs->ndirty++;
  }
}

/* Append a case (ids ascending); the caller checked capacity. */
static slot_t *append(wd_cases_t *cs, const wd_case_t *c) {
  if (cs->n == cs->cap) {
    size_t cap = cs->cap ? cs->cap * 2 : 64;
    if (cap > cs->max)
      cap = cs->max;
    slot_t *v = realloc(cs->v, cap * sizeof *v);
    if (!v)
      return NULL;
    cs->v = v;
    cs->cap = cap;
  }
  slot_t *s = &cs->v[cs->n++];
  s->c = *c;
  s->dirty = 0;
  *find_slot(cs, c->key_type, c->key) = (uint32_t)cs->n;
  return s;
}

/* ---------------------------------------------------------------- JSON on disk */

static json_t *to_json(const wd_case_t *c) {
  json_t *addrs = json_array(), *countries = json_array();
  for (uint32_t i = 0; i < c->naddrs; i++)
    json_array_append_new(addrs, json_string(c->addrs[i]));
  for (uint32_t i = 0; i < c->ncountries; i++)
    json_array_append_new(countries, json_string(c->countries[i]));
  json_t *o = json_pack("{sI si ss ss ss ss si sI sI sI sI sI ss so sI so sI ss ss}",
                   "id", (json_int_t)c->id, "key_type", (int)c->key_type, "key", c->key,
                   "subject", c->subject, "scheme", c->scheme, "policy", c->policy, "status",
                   (int)c->status, "reasons", (json_int_t)c->reasons, "hits",
                   (json_int_t)c->hits, "opened", (json_int_t)c->opened, "last_seen",
                   (json_int_t)c->last_seen, "token_exp", (json_int_t)c->token_exp, "detail",
                   c->detail, "addrs", addrs, "more_addrs", (json_int_t)c->more_addrs,
                   "countries", countries, "verdict_time", (json_int_t)c->verdict_time,
                   "verdict_actor", c->verdict_actor, "verdict_note", c->verdict_note);
  if (o && c->score)
    json_object_set_new(o, "score", json_integer(c->score));
  return o;
}

static int from_json(const char *text, size_t len, wd_case_t *c) {
  json_t *o = json_loadb(text, len, 0, NULL);
  if (!o)
    return WD_ECORRUPT;
  memset(c, 0, sizeof *c);
  json_int_t id = 0, reasons = 0, hits = 0, opened = 0, last = 0, exp = 0, more = 0, vt = 0;
  int kt = 0, status = 0;
  const char *key = NULL, *subject = "", *scheme = "", *policy = "", *detail = "", *va = "",
             *vn = "";
  json_t *addrs = NULL, *countries = NULL;
  int rc = json_unpack(o, "{sI si ss s?s s?s s?s si sI sI sI sI sI s?s s?o s?I s?o s?I s?s s?s}",
                       "id", &id, "key_type", &kt, "key", &key, "subject", &subject, "scheme",
                       &scheme, "policy", &policy, "status", &status, "reasons", &reasons,
                       "hits", &hits, "opened", &opened, "last_seen", &last, "token_exp", &exp,
                       "detail", &detail, "addrs", &addrs, "more_addrs", &more, "countries",
                       &countries, "verdict_time", &vt, "verdict_actor", &va, "verdict_note",
                       &vn);
  if (rc || id <= 0 || (unsigned)status >= WD_CASE_STATUS_COUNT || !key[0] ||
      strlen(key) >= sizeof c->key) {
    json_decref(o);
    return WD_ECORRUPT;
  }
  c->id = (uint64_t)id;
  c->key_type = (wd_ban_type_t)kt;
  copy_text(c->key, sizeof c->key, key);
  copy_text(c->subject, sizeof c->subject, subject);
  copy_text(c->scheme, sizeof c->scheme, scheme);
  copy_text(c->policy, sizeof c->policy, policy);
  c->status = (wd_case_status_t)status;
  c->reasons = (uint32_t)reasons;
  c->hits = (uint64_t)hits;
  c->opened = opened;
  c->last_seen = last;
  c->token_exp = exp;
  copy_text(c->detail, sizeof c->detail, detail);
  size_t i;
  json_t *e;
  json_array_foreach(addrs, i, e) {
    if (c->naddrs < WD_CASE_ADDRS && json_is_string(e))
      copy_text(c->addrs[c->naddrs++], sizeof c->addrs[0], json_string_value(e));
  }
  json_array_foreach(countries, i, e) {
    if (c->ncountries < WD_CASE_COUNTRIES && json_is_string(e))
      copy_text(c->countries[c->ncountries++], sizeof c->countries[0], json_string_value(e));
  }
  c->more_addrs = (uint32_t)more;
  json_t *score = json_object_get(o, "score");
  c->score = json_is_integer(score) && json_integer_value(score) > 0 &&
                     json_integer_value(score) <= 100
                 ? (uint32_t)json_integer_value(score)
                 : 0;
  c->verdict_time = vt;
  copy_text(c->verdict_actor, sizeof c->verdict_actor, va);
  copy_text(c->verdict_note, sizeof c->verdict_note, vn);
  json_decref(o);
  return 0;
}

/* ---------------------------------------------------------------- open, close */

static int load(wd_cases_t *cs) {
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  int rc = mdb_txn_begin(cs->st.env, NULL, MDB_RDONLY, &txn);
  if (!rc)
    rc = mdb_cursor_open(txn, cs->st.dbi[0], &cur);
  MDB_val k, v;
  int op = MDB_FIRST;
  while (!rc && !(rc = mdb_cursor_get(cur, &k, &v, op))) {
    op = MDB_NEXT;
    wd_case_t c;
    if (k.mv_size != 8 || from_json(v.mv_data, v.mv_size, &c) ||
        c.id != wd__store_rd_be64(k.mv_data)) {
      rc = -1;
      break;
    }
    if (cs->n == cs->max)
      continue; /* a smaller max than the store was written with: keep the oldest */
    if (!append(cs, &c)) {
      rc = ENOMEM;
      break;
    }
    if (c.id >= cs->next_id)
      cs->next_id = c.id + 1;
  }
  if (cur)
    mdb_cursor_close(cur);
  if (txn)
    mdb_txn_abort(txn);
  if (rc == MDB_NOTFOUND)
    return 0;
  return rc == -1 ? WD_ECORRUPT : wd__store_err(rc);
}

int wd_cases_open(const char *dir, const wd_cases_opts_t *opts, wd_cases_t **out) {
  if (!dir || !out)
    return WD_EINVAL;
  *out = NULL;
  wd_cases_t *cs = calloc(1, sizeof *cs);
  if (!cs)
    return WD_ENOMEM;
  cs->max = opts && opts->max_cases ? opts->max_cases : DEFAULT_MAX;
  if (cs->max > UINT32_MAX / 4)
    cs->max = UINT32_MAX / 4;
  cs->retention = opts && opts->retention > 0 ? opts->retention : DEFAULT_RETENTION;
  cs->next_id = 1;
  for (cs->tcap = 64; cs->tcap < cs->max * 2; cs->tcap *= 2)
    ;
  cs->table = calloc(cs->tcap, sizeof *cs->table);
  if (!cs->table) {
    free(cs);
    return WD_ENOMEM;
  }
  pthread_mutex_init(&cs->mu, NULL);
  static const char *const names[] = {"cases"};
  int rc = wd__store_open(&cs->st, dir, "cases.mdb", CASES_FORMAT, CASES_VERSION, CASES_MAP_SIZE,
                          opts && opts->no_sync, names, 1);
  if (rc) {
    pthread_mutex_destroy(&cs->mu);
    free(cs->table);
    free(cs);
    return rc;
  }
  rc = load(cs);
  if (rc) {
    wd_cases_close(cs);
    return rc;
  }
  *out = cs;
  return 0;
}

void wd_cases_close(wd_cases_t *cs) {
  if (!cs)
    return;
  wd__store_close(&cs->st);
  pthread_mutex_destroy(&cs->mu);
  free(cs->v);
  free(cs->table);
  free(cs->deleted);
  free(cs);
}

/* ---------------------------------------------------------------- the request path */

static void add_addr(wd_case_t *c, const char *addr) {
  if (!addr || !addr[0])
    return;
  for (uint32_t i = 0; i < c->naddrs; i++)
    if (!strcmp(c->addrs[i], addr))
      return;
  if (c->naddrs < WD_CASE_ADDRS)
    copy_text(c->addrs[c->naddrs++], sizeof c->addrs[0], addr);
  else if (c->more_addrs < UINT32_MAX)
    c->more_addrs++; /* not deduplicated beyond those kept: an upper bound */
}

static void add_country(wd_case_t *c, const char *cc) {
  if (!cc || !cc[0])
    return;
  char code[4];
  copy_text(code, sizeof code, cc);
  for (uint32_t i = 0; i < c->ncountries; i++)
    if (!strcasecmp(c->countries[i], code))
      return;
  if (c->ncountries < WD_CASE_COUNTRIES)
    memcpy(c->countries[c->ncountries++], code, sizeof code);
}

int wd_cases_note(wd_cases_t *cs, const wd_case_event_t *ev, uint64_t *id) {
  if (!cs || !ev || !ev->key || !ev->key[0] || strlen(ev->key) >= WD_BAN_VALUE_MAX)
    return WD_EINVAL;
  int rc = 0;
  pthread_mutex_lock(&cs->mu);
  uint32_t *e = find_slot(cs, ev->key_type, ev->key);
  slot_t *s = *e ? &cs->v[*e - 1] : NULL;
  if (!s) {
    if (cs->n >= cs->max) {
      cs->dropped++;
      pthread_mutex_unlock(&cs->mu);
      return WD_ETOOBIG;
    }
    wd_case_t c;
    memset(&c, 0, sizeof c);
    c.id = cs->next_id;
    c.key_type = ev->key_type;
    copy_text(c.key, sizeof c.key, ev->key);
    c.opened = ev->now;
    s = append(cs, &c);
    if (!s) {
      pthread_mutex_unlock(&cs->mu);
      return WD_ENOMEM;
    }
    cs->next_id++;
  } else if (s->c.status == WD_CASE_BANNED || s->c.status == WD_CASE_ALLOWED) {
    if (id)
      *id = s->c.id;
    pthread_mutex_unlock(&cs->mu);
    return 1;
  } else if (s->c.status == WD_CASE_DISMISSED) {
    s->c.status = WD_CASE_OPEN;
  }
  wd_case_t *c = &s->c;
  c->hits++;
  c->reasons |= ev->reasons;
  if (ev->score > c->score)
    c->score = ev->score > 100 ? 100 : ev->score;
  if (ev->now > c->last_seen)
    c->last_seen = ev->now;
  if (ev->token_exp > c->token_exp)
    c->token_exp = ev->token_exp;
  if (ev->subject && ev->subject[0])
    copy_text(c->subject, sizeof c->subject, ev->subject);
  if (ev->scheme && ev->scheme[0])
    copy_text(c->scheme, sizeof c->scheme, ev->scheme);
  if (ev->policy && ev->policy[0])
    copy_text(c->policy, sizeof c->policy, ev->policy);
  if (ev->detail && ev->detail[0])
    copy_text(c->detail, sizeof c->detail, ev->detail);
  add_addr(c, ev->addr);
  add_country(c, ev->country);
  mark(cs, s);
  if (id)
    *id = c->id;
  pthread_mutex_unlock(&cs->mu);
  return rc;
}

/* ---------------------------------------------------------------- reading, verdicts */

int wd_cases_get(wd_cases_t *cs, uint64_t id, wd_case_t *out) {
  pthread_mutex_lock(&cs->mu);
  slot_t *s = by_id(cs, id);
  if (s)
    *out = s->c;
  pthread_mutex_unlock(&cs->mu);
  return s ? 0 : WD_ENOTOKEN;
}

int wd_cases_find(wd_cases_t *cs, wd_ban_type_t key_type, const char *key, wd_case_t *out) {
  if (!key || strlen(key) >= WD_BAN_VALUE_MAX)
    return WD_ENOTOKEN;
  pthread_mutex_lock(&cs->mu);
  uint32_t e = *find_slot(cs, key_type, key);
  if (e)
    *out = cs->v[e - 1].c;
  pthread_mutex_unlock(&cs->mu);
  return e ? 0 : WD_ENOTOKEN;
}

int wd_cases_set_status(wd_cases_t *cs, uint64_t id, wd_case_status_t status, const char *actor,
                        const char *note, int64_t now) {
  if ((unsigned)status >= WD_CASE_STATUS_COUNT)
    return WD_EINVAL;
  pthread_mutex_lock(&cs->mu);
  slot_t *s = by_id(cs, id);
  if (s) {
    s->c.status = status;
    s->c.verdict_time = now;
    copy_text(s->c.verdict_actor, sizeof s->c.verdict_actor, actor);
    copy_text(s->c.verdict_note, sizeof s->c.verdict_note, note);
    mark(cs, s);
  }
  pthread_mutex_unlock(&cs->mu);
  return s ? 0 : WD_ENOTOKEN;
}

int wd_cases_list(wd_cases_t *cs, uint32_t statuses, uint64_t before, size_t limit,
                  int (*fn)(const wd_case_t *c, void *arg), void *arg, uint64_t *next) {
  if (next)
    *next = 0;
  if (limit > LIST_MAX)
    limit = LIST_MAX;
  if (!limit)
    return 0;
  wd_case_t *page = malloc(limit * sizeof *page);
  if (!page)
    return WD_ENOMEM;
  size_t k = 0;
  int more = 0;
  pthread_mutex_lock(&cs->mu);
  for (size_t i = cs->n; i-- > 0;) {
    const wd_case_t *c = &cs->v[i].c;
    if (before && c->id >= before)
      continue;
    if (statuses && !(statuses & (1u << c->status)))
      continue;
    if (k == limit) {
      more = 1;
      break;
    }
    page[k++] = *c;
  }
  pthread_mutex_unlock(&cs->mu);
  int rc = 0;
  size_t i = 0;
  for (; i < k && !rc; i++)
    rc = fn(&page[i], arg);
  if (next && i > 0 && (rc || more))
    *next = page[i - 1].id;
  free(page);
  return rc;
}

/* ---------------------------------------------------------------- flush, retention */

/* Forget cases past retention (closed ones by their verdict time or last sight, open ones not
 * seen for that long); their ids are deleted from the store at this flush. Under the lock. */
static void purge(wd_cases_t *cs, int64_t now) {
  size_t k = 0, gone = 0;
  for (size_t i = 0; i < cs->n; i++) {
    const wd_case_t *c = &cs->v[i].c;
    int64_t last = c->last_seen > c->verdict_time ? c->last_seen : c->verdict_time;
    if (last + cs->retention <= now) {
      if (cs->ndeleted == cs->deleted_cap) {
        size_t cap = cs->deleted_cap ? cs->deleted_cap * 2 : 64;
        uint64_t *d = realloc(cs->deleted, cap * sizeof *d);
        if (!d) {
          cs->v[k++] = cs->v[i]; /* keep it for a later purge */
          continue;
        }
        cs->deleted = d;
        cs->deleted_cap = cap;
      }
      cs->deleted[cs->ndeleted++] = c->id;
      if (cs->v[i].dirty)
        cs->ndirty--;
      gone++;
      continue;
    }
    cs->v[k++] = cs->v[i];
  }
  if (gone) {
    cs->n = k;
    rebuild_table(cs);
  }
}

long wd_cases_flush(wd_cases_t *cs, int64_t now) {
  pthread_mutex_lock(&cs->mu);
  if (now >= cs->next_purge) {
    purge(cs, now);
    cs->next_purge = now + PURGE_EVERY_S;
  }
  size_t ndirty = cs->ndirty, ndel = cs->ndeleted;
  if (!ndirty && !ndel) {
    pthread_mutex_unlock(&cs->mu);
    return 0;
  }
  /* Serialise under the lock (the texts are small), write outside it. */
  char **texts = calloc(ndirty ? ndirty : 1, sizeof *texts);
  uint64_t *ids = calloc(ndirty ? ndirty : 1, sizeof *ids);
  uint64_t *dels = malloc((ndel ? ndel : 1) * sizeof *dels);
  if (!texts || !ids || !dels) {
    pthread_mutex_unlock(&cs->mu);
    free(texts), free(ids), free(dels);
    return WD_ENOMEM;
  }
  size_t k = 0;
  for (size_t i = 0; i < cs->n && k < ndirty; i++) {
    if (!cs->v[i].dirty)
      continue;
    json_t *o = to_json(&cs->v[i].c);
    texts[k] = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    ids[k] = cs->v[i].c.id;
    cs->v[i].dirty = 0;
    k++;
  }
  cs->ndirty = 0;
  if (ndel)
    memcpy(dels, cs->deleted, ndel * sizeof *dels);
  cs->ndeleted = 0;
  pthread_mutex_unlock(&cs->mu);

  MDB_txn *txn = NULL;
  int rc = mdb_txn_begin(cs->st.env, NULL, 0, &txn);
  for (size_t i = 0; !rc && i < k; i++) {
    if (!texts[i])
      continue; /* cannot be encoded (out of memory): kept in memory, written when next changed */
    uint8_t kb[8];
    wd__store_be64(kb, ids[i]);
    MDB_val kv = {8, kb}, vv = {strlen(texts[i]), texts[i]};
    rc = mdb_put(txn, cs->st.dbi[0], &kv, &vv, 0);
  }
  for (size_t i = 0; !rc && i < ndel; i++) {
    uint8_t kb[8];
    wd__store_be64(kb, dels[i]);
    MDB_val kv = {8, kb};
    rc = mdb_del(txn, cs->st.dbi[0], &kv, NULL);
    if (rc == MDB_NOTFOUND)
      rc = 0;
  }
  if (!rc)
    rc = mdb_txn_commit(txn);
  else if (txn)
    mdb_txn_abort(txn);
  long result = (long)k;
  if (rc) {
    /* Nothing written: mark the cases dirty again and keep the deletions pending. */
    pthread_mutex_lock(&cs->mu);
    for (size_t i = 0; i < k; i++) {
      slot_t *s = by_id(cs, ids[i]);
      if (s)
        mark(cs, s);
    }
    for (size_t i = 0; i < ndel; i++) {
      if (cs->ndeleted < cs->deleted_cap)
        cs->deleted[cs->ndeleted++] = dels[i];
    }
    pthread_mutex_unlock(&cs->mu);
    result = wd__store_err(rc);
  }
  for (size_t i = 0; i < k; i++)
    free(texts[i]);
  free(texts), free(ids), free(dels);
  return result;
}

void wd_cases_stats(wd_cases_t *cs, wd_cases_stats_t *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&cs->mu);
  for (size_t i = 0; i < cs->n; i++)
    out->by_status[cs->v[i].c.status]++;
  out->dropped = cs->dropped;
  out->bytes = sizeof *cs + cs->cap * sizeof *cs->v + cs->tcap * sizeof *cs->table;
  pthread_mutex_unlock(&cs->mu);
}
