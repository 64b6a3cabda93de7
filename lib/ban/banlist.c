/*
 * The ban list: durable changes in LMDB, the hot-path check against the in-memory index, and
 * the read side (get, list, audit, stats); see warden/ban.h for the contract, index.h for the
 * index and store.h for the files.
 *
 * Records. "bans": key = type byte + canonical value; data = version byte, created (i64),
 * until (i64), actor (u8 length + bytes), reason (u16 length + bytes), host byte order.
 * "expiry": key = until (big-endian u64) + type byte + value, empty data, only for bans that
 * expire. "audit": key = sequence (big-endian u64), data = one JSON line. "outbox": key = id
 * (big-endian u64, from 1), data = op byte, type byte, value length byte, value, then a "bans"
 * record; key 0 holds the last id handed out (so ids are never reused after a trim). "cursor":
 * key = name, data = u64 (host order).
 *
 * Order of a change: validate, reserve index memory (so nothing can fail after the commit),
 * write and commit the LMDB transaction (synced), then update the index in batch order. Inside
 * the transaction the "bans" and "expiry" records of a batch are written in key order, so that
 * neighbouring changes land on the same pages (changes to one ban keep their batch order: the
 * result is the same), then the audit and outbox records in batch order. Audit records are
 * written as the JSON jansson would give, without building it (audit_change).
 */
#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ban/index.h"
#include "ban/store.h"
#include "util/codec.h"
#include "util/ip.h"
#include "warden/ban.h"
#include "warden/error.h"

#define BANS_FORMAT "warden-bans"
#define BANS_VERSION 1u
#define REC_VERSION 1
#define REC_MAX (1 + 8 + 8 + 1 + 64 + 2 + WD_BAN_TEXT_MAX)
#define KEY_MAX (1 + WD_BAN_VALUE_MAX)
#define EXPIRE_CHUNK 8192

enum { DB_BANS = 0, DB_EXPIRY, DB_AUDIT, DB_OUTBOX, DB_CURSOR, DB_COUNT };
static const char *const db_names[DB_COUNT] = {"bans", "expiry", "audit", "outbox", "cursor"};

struct wd_banlist {
  wd__store_t st;
  wd__banidx_t *ix;
  _Atomic uint64_t nbans[5];
};

static const char *const type_names[] = {NULL, "token", "subject", "ip", "cidr"};

const char *wd_ban_type_name(wd_ban_type_t t) {
  return (t >= WD_BAN_TOKEN && t <= WD_BAN_CIDR) ? type_names[t] : "unknown";
}

int wd_ban_type_parse(const char *s, wd_ban_type_t *out) {
  for (int t = WD_BAN_TOKEN; s && t <= WD_BAN_CIDR; t++)
    if (strcmp(s, type_names[t]) == 0) {
      *out = (wd_ban_type_t)t;
      return 0;
    }
  return WD_EINVAL;
}

static int type_ok(int t) { return t >= WD_BAN_TOKEN && t <= WD_BAN_CIDR; }

/* UTF-8 without control characters, n bytes. */
static int text_ok(const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  for (size_t i = 0; i < n;) {
    uint8_t c = p[i];
    if (c < 0x20 || c == 0x7f)
      return 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (i + len > n)
      return 0;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
      return 0;
    i += len;
  }
  return 1;
}

/* A NUL-terminated field of a fixed array, valid text. */
static int field_ok(const char *s, size_t cap) {
  size_t n = strnlen(s, cap);
  return n < cap && text_ok(s, n);
}

/* "addr/len" or a bare address; host bits cleared. */
static int parse_prefix(const char *s, size_t n, wd_ip_t *net, int *plen) {
  const char *slash = memchr(s, '/', n);
  size_t an = slash ? (size_t)(slash - s) : n;
  wd_ip_t ip;
  if (wd_ip_parse(s, an, &ip) != 0)
    return WD_EINVAL;
  int v6text = memchr(s, ':', an) != NULL;
  int len;
  if (slash) {
    size_t ln = n - an - 1;
    if (ln == 0 || ln > 3)
      return WD_EINVAL;
    len = 0;
    for (size_t i = 0; i < ln; i++) {
      char c = slash[1 + i];
      if (c < '0' || c > '9')
        return WD_EINVAL;
      len = len * 10 + (c - '0');
    }
    if (v6text && ip.family == 4) { /* ::ffff:a.b.c.d/len: an IPv4 prefix of len - 96 */
      if (len < 96 || len > 128)
        return WD_EINVAL;
      len -= 96;
    }
  } else {
    len = ip.family == 4 ? 32 : 128;
  }
  if (len > (ip.family == 4 ? 32 : 128))
    return WD_EINVAL;
  size_t nb = ip.family == 4 ? 4 : 16;
  for (size_t i = 0; i < nb; i++) {
    int bits = len - (int)(i * 8);
    if (bits < 8)
      ip.a[i] = bits <= 0 ? 0 : (uint8_t)(ip.a[i] & (0xff << (8 - bits)));
  }
  *net = ip;
  *plen = len;
  return 0;
}

int wd_ban_canonical(wd_ban_type_t type, const char *value, char *out) {
  if (!value || !out)
    return WD_EINVAL;
  size_t n = strnlen(value, WD_BAN_VALUE_MAX);
  if (n == 0 || n >= WD_BAN_VALUE_MAX)
    return WD_EINVAL;
  wd_ip_t ip;
  int plen;
  char buf[64];
  switch (type) {
  case WD_BAN_TOKEN:
  case WD_BAN_SUBJECT:
    if (!text_ok(value, n))
      return WD_EINVAL;
    memmove(out, value, n + 1);
    return 0;
  case WD_BAN_IP:
    if (wd_ip_parse(value, n, &ip) != 0)
      return WD_EINVAL;
    wd_ip_format(&ip, buf, sizeof buf);
    if (!buf[0])
      return WD_EINVAL;
    memcpy(out, buf, strlen(buf) + 1);
    return 0;
  case WD_BAN_CIDR:
    if (parse_prefix(value, n, &ip, &plen) != 0)
      return WD_EINVAL;
    wd_ip_format(&ip, buf, sizeof buf);
    if (!buf[0])
      return WD_EINVAL;
    snprintf(out, WD_BAN_VALUE_MAX, "%s/%d", buf, plen);
    return 0;
  }
  return WD_EINVAL;
}

/* --- records --- */

typedef struct ban_key {
  uint8_t b[KEY_MAX];
  size_t n;
} ban_key_t;

static void key_make(ban_key_t *k, int type, const char *canon) {
  size_t n = strlen(canon);
  k->b[0] = (uint8_t)type;
  memcpy(k->b + 1, canon, n);
  k->n = 1 + n;
}

static size_t rec_encode(uint8_t *buf, int64_t created, int64_t until, const char *actor,
                         const char *reason) {
  size_t al = strlen(actor), rl = strlen(reason), o = 0;
  buf[o++] = REC_VERSION;
  memcpy(buf + o, &created, 8);
  o += 8;
  memcpy(buf + o, &until, 8);
  o += 8;
  buf[o++] = (uint8_t)al;
  memcpy(buf + o, actor, al);
  o += al;
  uint16_t rl16 = (uint16_t)rl;
  memcpy(buf + o, &rl16, 2);
  o += 2;
  memcpy(buf + o, reason, rl);
  return o + rl;
}

/* Fill created, until, actor, reason of *b from a record; WD_ECORRUPT when malformed. */
static int rec_decode(const MDB_val *v, wd_ban_t *b) {
  const uint8_t *p = v->mv_data;
  size_t n = v->mv_size, o = 0;
  if (n < 1 + 8 + 8 + 1 + 2 || p[0] != REC_VERSION)
    return WD_ECORRUPT;
  o = 1;
  memcpy(&b->created, p + o, 8);
  o += 8;
  memcpy(&b->until, p + o, 8);
  o += 8;
  size_t al = p[o++];
  if (al >= sizeof b->actor || o + al + 2 > n)
    return WD_ECORRUPT;
  memcpy(b->actor, p + o, al);
  b->actor[al] = '\0';
  o += al;
  uint16_t rl;
  memcpy(&rl, p + o, 2);
  o += 2;
  if (rl >= sizeof b->reason || o + rl != n)
    return WD_ECORRUPT;
  memcpy(b->reason, p + o, rl);
  b->reason[rl] = '\0';
  return 0;
}

/* Type and value of a "bans" key into *b; WD_ECORRUPT when malformed. */
static int key_decode(const MDB_val *k, wd_ban_t *b) {
  const uint8_t *p = k->mv_data;
  if (k->mv_size < 2 || k->mv_size > KEY_MAX - 1 + 1 || !type_ok(p[0]) ||
      k->mv_size - 1 >= WD_BAN_VALUE_MAX)
    return WD_ECORRUPT;
  b->type = (wd_ban_type_t)p[0];
  memcpy(b->value, p + 1, k->mv_size - 1);
  b->value[k->mv_size - 1] = '\0';
  return 0;
}

static int ban_decode(const MDB_val *k, const MDB_val *v, wd_ban_t *b) {
  memset(b, 0, sizeof *b);
  int rc = key_decode(k, b);
  return rc ? rc : rec_decode(v, b);
}

/* Index key of a hashed ban (token, subject: the text; ip: family and address in binary). */
static int index_key(const wd_banlist_t *bl, int type, const char *canon, uint64_t *key) {
  if (type == WD_BAN_IP) {
    wd_ip_t ip;
    if (wd_ip_parse(canon, strlen(canon), &ip) != 0)
      return WD_ECORRUPT;
    uint8_t d[17];
    d[0] = (uint8_t)ip.family;
    memcpy(d + 1, ip.a, 16);
    *key = wd__banidx_key(bl->ix, type, d, sizeof d);
    return 0;
  }
  *key = wd__banidx_key(bl->ix, type, canon, strlen(canon));
  return 0;
}

/* --- open / close --- */

static int load_index(wd_banlist_t *bl) {
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  MDB_stat ms;
  int rc = mdb_txn_begin(bl->st.env, NULL, MDB_RDONLY, &txn);
  if (!rc)
    rc = mdb_stat(txn, bl->st.dbi[DB_BANS], &ms);
  if (!rc)
    rc = mdb_cursor_open(txn, bl->st.dbi[DB_BANS], &cur);
  if (rc) {
    rc = wd__store_err(rc);
    goto out;
  }
  rc = wd__banidx_create(ms.ms_entries, &bl->ix);
  if (rc)
    goto out;
  MDB_val k, v;
  wd_ban_t b;
  int ncidr = 0;
  for (int op = MDB_FIRST;; op = MDB_NEXT) {
    int mrc = mdb_cursor_get(cur, &k, &v, op);
    if (mrc == MDB_NOTFOUND)
      break;
    if (mrc) {
      rc = wd__store_err(mrc);
      goto out;
    }
    rc = ban_decode(&k, &v, &b);
    if (rc)
      goto out;
    if (b.type == WD_BAN_CIDR) {
      wd_ip_t net;
      int plen;
      rc = parse_prefix(b.value, strlen(b.value), &net, &plen);
      if (!rc)
        rc = wd__banidx_cidr_reserve(bl->ix, 1);
      if (rc) {
        rc = rc == WD_EINVAL ? WD_ECORRUPT : rc;
        goto out;
      }
      wd__banidx_cidr_put(bl->ix, &net, plen, b.until);
      ncidr++;
    } else {
      uint64_t key;
      rc = index_key(bl, b.type, b.value, &key);
      if (rc)
        goto out;
      wd__banidx_insert(bl->ix, key, wd__banidx_exp(b.until));
    }
    atomic_fetch_add(&bl->nbans[b.type], 1);
  }
  if (ncidr)
    wd__banidx_cidr_publish(bl->ix);
out:
  if (cur)
    mdb_cursor_close(cur);
  if (txn)
    mdb_txn_abort(txn);
  return rc;
}

int wd_banlist_open(const char *dir, const wd_banlist_opts_t *opts, wd_banlist_t **out) {
  if (!dir || !out)
    return WD_EINVAL;
  wd_banlist_t *bl = calloc(1, sizeof *bl);
  if (!bl)
    return WD_ENOMEM;
  bl->st.owner_fd = -1;
  const char *file = opts && opts->file ? opts->file : "bans.mdb";
  int rc = wd__store_open(&bl->st, dir, file, BANS_FORMAT, BANS_VERSION,
                          opts ? opts->map_size : 0, opts ? opts->no_sync : 0, db_names, DB_COUNT);
  if (!rc)
    rc = load_index(bl);
  if (rc) {
    wd_banlist_close(bl);
    return rc;
  }
  *out = bl;
  return 0;
}

void wd_banlist_close(wd_banlist_t *bl) {
  if (!bl)
    return;
  wd__banidx_destroy(bl->ix);
  wd__store_close(&bl->st);
  free(bl);
}

/* --- apply --- */

/* What one change does to the index once the transaction has committed. */
typedef struct pending {
  int valid;      /* passed validation */
  int effect;     /* 0 none, 1 add new, 2 replace, 3 remove */
  int type;
  char canon[WD_BAN_VALUE_MAX];
  json_t *evidence;
  int64_t until, old_until;
  int64_t created, old_created; /* what the add stored; what the store held (lift) */
} pending_t;

/* Is the stored ban (old) the same as the one an ADD would write? */
static int same_ban(const wd_ban_t *old, const wd_ban_change_t *c) {
  return c->ban.created > 0 && old->created == c->ban.created && old->until == c->ban.until &&
         strcmp(old->reason, c->ban.reason) == 0 && strcmp(old->actor, c->ban.actor) == 0;
}

/* Append one change to the outbox (key 0 keeps the last id). */
static int outbox_put(wd_banlist_t *bl, MDB_txn *txn, int op, int type, const char *canon,
                      int64_t created, int64_t until, const char *actor, const char *reason) {
  uint8_t k0[8] = {0}, kb[8];
  MDB_val k = {.mv_size = 8, .mv_data = k0}, v;
  uint64_t last = 0;
  int rc = mdb_get(txn, bl->st.dbi[DB_OUTBOX], &k, &v);
  if (rc == 0 && v.mv_size == 8)
    memcpy(&last, v.mv_data, 8);
  else if (rc && rc != MDB_NOTFOUND)
    return rc;
  last++;
  v.mv_size = 8;
  v.mv_data = &last;
  rc = mdb_put(txn, bl->st.dbi[DB_OUTBOX], &k, &v, 0);
  if (rc)
    return rc;
  uint8_t buf[3 + WD_BAN_VALUE_MAX + REC_MAX];
  size_t vl = strlen(canon);
  buf[0] = (uint8_t)op;
  buf[1] = (uint8_t)type;
  buf[2] = (uint8_t)vl;
  memcpy(buf + 3, canon, vl);
  size_t n = 3 + vl + rec_encode(buf + 3 + vl, created, until, actor, reason);
  wd__store_be64(kb, last);
  k.mv_data = kb;
  v.mv_size = n;
  v.mv_data = buf;
  return mdb_put(txn, bl->st.dbi[DB_OUTBOX], &k, &v, MDB_APPEND);
}

static int outbox_decode(const MDB_val *k, const MDB_val *v, wd_ban_outbox_entry_t *e) {
  const uint8_t *p = v->mv_data;
  memset(e, 0, sizeof *e);
  if (k->mv_size != 8 || v->mv_size < 3)
    return WD_ECORRUPT;
  e->id = wd__store_rd_be64(k->mv_data);
  size_t vl = p[2];
  if ((p[0] != WD_BAN_ADD && p[0] != WD_BAN_LIFT) || !type_ok(p[1]) || vl == 0 ||
      vl >= WD_BAN_VALUE_MAX || 3 + vl > v->mv_size)
    return WD_ECORRUPT;
  e->op = (wd_ban_op_t)p[0];
  e->ban.type = (wd_ban_type_t)p[1];
  memcpy(e->ban.value, p + 3, vl);
  MDB_val rv = {.mv_size = v->mv_size - 3 - vl, .mv_data = (void *)(p + 3 + vl)};
  return rec_decode(&rv, &e->ban);
}

static int validate(const wd_ban_change_t *c, int64_t now, pending_t *p) {
  const wd_ban_t *b = &c->ban;
  if (c->op != WD_BAN_ADD && c->op != WD_BAN_LIFT)
    return WD_EINVAL;
  if (!type_ok(b->type))
    return WD_EINVAL;
  if (strnlen(b->value, sizeof b->value) >= sizeof b->value)
    return WD_EINVAL;
  int rc = wd_ban_canonical(b->type, b->value, p->canon);
  if (rc)
    return rc;
  if (!field_ok(b->reason, sizeof b->reason) || !field_ok(b->actor, sizeof b->actor))
    return WD_EINVAL;
  if (c->op == WD_BAN_ADD && (b->until < 0 || (b->until != 0 && b->until <= now) || b->created < 0))
    return WD_EINVAL;
  if (c->origin_node && (c->evidence || !c->origin_node[0] ||
                         !field_ok(c->origin_node, WD_BAN_ORIGIN_MAX)))
    return WD_EINVAL;
  if (c->evidence) {
    size_t en = strnlen(c->evidence, WD_BAN_EVIDENCE_MAX + 1);
    if (en > WD_BAN_EVIDENCE_MAX)
      return WD_EINVAL;
    json_error_t err;
    p->evidence = json_loadb(c->evidence, en, JSON_DECODE_ANY, &err);
    if (!p->evidence)
      return WD_EINVAL;
  }
  p->type = b->type;
  p->until = c->op == WD_BAN_ADD ? b->until : 0;
  p->valid = 1;
  return 0;
}

static int audit_put(wd_banlist_t *bl, MDB_txn *txn, uint64_t *seq, const char *line, size_t n) {
  uint8_t kb[8];
  wd__store_be64(kb, ++*seq);
  MDB_val k = {.mv_size = 8, .mv_data = kb}, v = {.mv_size = n, .mv_data = (void *)line};
  return mdb_put(txn, bl->st.dbi[DB_AUDIT], &k, &v, MDB_APPEND);
}

/* An audit record being written: the JSON jansson's json_dumps(JSON_COMPACT) would give for
 * the same object (members in order, strings escaped the same way), without building one. */
typedef struct jbuf {
  char *p;
  size_t n, cap;
  int over; /* ran out of room: the record is not written */
} jbuf_t;

static void jb_raw(jbuf_t *b, const char *s, size_t n) {
  if (b->over || n > b->cap - b->n) {
    b->over = 1;
    return;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static void jb_lit(jbuf_t *b, const char *s) { jb_raw(b, s, strlen(s)); }

static void jb_int(jbuf_t *b, int64_t v) {
  char t[24];
  char *e = t + sizeof t, *q = e;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do {
    *--q = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    *--q = '-';
  jb_raw(b, q, (size_t)(e - q));
}

/* A string: quotes, backslashes and control characters escaped as jansson does. */
static void jb_str(jbuf_t *b, const char *s) {
  jb_raw(b, "\"", 1);
  const char *run = s;
  for (;; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    jb_raw(b, run, (size_t)(s - run));
    if (!c)
      break;
    char esc[8];
    switch (c) {
    case '"': jb_raw(b, "\\\"", 2); break;
    case '\\': jb_raw(b, "\\\\", 2); break;
    case '\b': jb_raw(b, "\\b", 2); break;
    case '\f': jb_raw(b, "\\f", 2); break;
    case '\n': jb_raw(b, "\\n", 2); break;
    case '\r': jb_raw(b, "\\r", 2); break;
    case '\t': jb_raw(b, "\\t", 2); break;
    default:
      snprintf(esc, sizeof esc, "\\u%04X", c);
      jb_raw(b, esc, 6);
    }
    run = s + 1;
  }
  jb_raw(b, "\"", 1);
}

/* The audit record of a change: {"seq","time","op","type","value","until",("replaced"),
 * "reason","actor",("evidence")}, the evidence being the caller's JSON (compacted) or, for a
 * replicated change, {"cluster":{"node","seq"}}. */
static int audit_change(wd_banlist_t *bl, MDB_txn *txn, uint64_t *seq, const wd_ban_change_t *c,
                        const pending_t *p, int64_t now, int64_t until, int replaced) {
  char *ev = NULL, stack[2048];
  if (p->evidence) {
    ev = json_dumps(p->evidence, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!ev)
      return ENOMEM;
  }
  jbuf_t b = {.p = stack, .cap = sizeof stack};
  if (ev) {
    b.cap += strlen(ev);
    b.p = malloc(b.cap);
    if (!b.p) {
      free(ev);
      return ENOMEM;
    }
  }
  jb_lit(&b, "{\"seq\":");
  jb_int(&b, (int64_t)(*seq + 1));
  jb_lit(&b, ",\"time\":");
  jb_int(&b, now);
  jb_lit(&b, c->op == WD_BAN_ADD ? ",\"op\":\"add\",\"type\":" : ",\"op\":\"lift\",\"type\":");
  jb_str(&b, wd_ban_type_name(c->ban.type));
  jb_lit(&b, ",\"value\":");
  jb_str(&b, p->canon);
  jb_lit(&b, ",\"until\":");
  jb_int(&b, until);
  if (c->op == WD_BAN_ADD)
    jb_lit(&b, replaced ? ",\"replaced\":true" : ",\"replaced\":false");
  jb_lit(&b, ",\"reason\":");
  jb_str(&b, c->ban.reason);
  jb_lit(&b, ",\"actor\":");
  jb_str(&b, c->ban.actor);
  if (ev) {
    jb_lit(&b, ",\"evidence\":");
    jb_lit(&b, ev);
  } else if (c->origin_node) {
    jb_lit(&b, ",\"evidence\":{\"cluster\":{\"node\":");
    jb_str(&b, c->origin_node);
    jb_lit(&b, ",\"seq\":");
    jb_int(&b, (int64_t)c->origin_seq);
    jb_lit(&b, "}}");
  }
  jb_lit(&b, "}");
  int rc = b.over ? ENOMEM : audit_put(bl, txn, seq, b.p, b.n);
  if (b.p != stack)
    free(b.p);
  free(ev);
  return rc;
}

static int audit_seq(wd_banlist_t *bl, MDB_txn *txn, uint64_t *seq) {
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, bl->st.dbi[DB_AUDIT], &cur);
  if (rc)
    return rc;
  MDB_val k, v;
  rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
  *seq = 0;
  if (rc == 0 && k.mv_size == 8)
    *seq = wd__store_rd_be64(k.mv_data);
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Add or remove (del) the "expiry" record of a ban through a cursor on that database. */
static int expiry_op(MDB_cursor *ce, int64_t until, const ban_key_t *bk, int del) {
  uint8_t kb[8 + KEY_MAX];
  wd__store_be64(kb, (uint64_t)until);
  memcpy(kb + 8, bk->b, bk->n);
  MDB_val k = {.mv_size = 8 + bk->n, .mv_data = kb}, v = {.mv_size = 0, .mv_data = ""};
  if (!del)
    return mdb_cursor_put(ce, &k, &v, 0);
  int rc = mdb_cursor_get(ce, &k, &v, MDB_SET);
  if (rc == 0)
    rc = mdb_cursor_del(ce, 0);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The records of one change in the "bans" and "expiry" databases (cursors cb and ce), inside
 * the write transaction. Returns an LMDB/errno code (aborts the batch), and sets *result for the
 * change's own outcome and p->effect for what it did (0: nothing, no audit record). */
static int store_one(MDB_cursor *cb, MDB_cursor *ce, const wd_ban_change_t *c, pending_t *p,
                     int64_t now, const wd_banlist_apply_opts_t *o, int *result) {
  ban_key_t bk;
  key_make(&bk, p->type, p->canon);
  MDB_val k = {.mv_size = bk.n, .mv_data = bk.b}, v;
  wd_ban_t old;
  int had = 0, rc = mdb_cursor_get(cb, &k, &v, MDB_SET_KEY);
  if (rc == 0) {
    memset(&old, 0, sizeof old);
    if (rec_decode(&v, &old) != 0)
      return MDB_CORRUPTED;
    had = 1;
    p->old_until = old.until;
    p->old_created = old.created;
  } else if (rc != MDB_NOTFOUND) {
    return rc;
  }
  *result = 0;
  if (o && o->skip_same && c->op == WD_BAN_ADD && had && same_ban(&old, c))
    return 0; /* already there, exactly: nothing to do */
  if (c->op == WD_BAN_ADD) {
    uint8_t buf[REC_MAX];
    p->created = c->ban.created > 0 ? c->ban.created : now;
    v.mv_size = rec_encode(buf, p->created, c->ban.until, c->ban.actor, c->ban.reason);
    v.mv_data = buf;
    k.mv_size = bk.n;
    k.mv_data = bk.b;
    rc = mdb_cursor_put(cb, &k, &v, 0);
    if (!rc && had && old.until != 0)
      rc = expiry_op(ce, old.until, &bk, 1);
    if (!rc && c->ban.until != 0)
      rc = expiry_op(ce, c->ban.until, &bk, 0);
    p->effect = had ? 2 : 1;
  } else {
    if (!had) {
      *result = WD_ERANGE;
      return 0;
    }
    rc = mdb_cursor_del(cb, 0);
    if (!rc && old.until != 0)
      rc = expiry_op(ce, old.until, &bk, 1);
    p->effect = 3;
  }
  return rc;
}

/* The outbox and audit records of a change store_one made, in batch order. */
static int record_one(wd_banlist_t *bl, MDB_txn *txn, uint64_t *seq, const wd_ban_change_t *c,
                      const pending_t *p, int64_t now, const wd_banlist_apply_opts_t *o) {
  int rc = 0, add = c->op == WD_BAN_ADD;
  if (o && o->outbox)
    rc = add ? outbox_put(bl, txn, WD_BAN_ADD, p->type, p->canon, p->created, c->ban.until,
                          c->ban.actor, c->ban.reason)
             : outbox_put(bl, txn, WD_BAN_LIFT, p->type, p->canon, p->old_created, p->old_until,
                          c->ban.actor, c->ban.reason);
  if (!rc)
    rc = audit_change(bl, txn, seq, c, p, now, add ? c->ban.until : p->old_until, p->effect == 2);
  return rc;
}

/* Batch order for the store: by key (the order of the "bans" database: type byte, then the
 * value's bytes, a shorter value first), changes to the same key in batch order, so that
 * consecutive changes work on the same or neighbouring pages. */
typedef struct order {
  const char *canon;
  uint32_t len, i;
  int type;
} order_t;

static int order_cmp(const void *a, const void *b) {
  const order_t *x = a, *y = b;
  if (x->type != y->type)
    return x->type < y->type ? -1 : 1;
  uint32_t n = x->len < y->len ? x->len : y->len;
  int r = memcmp(x->canon, y->canon, n);
  if (r)
    return r;
  if (x->len != y->len)
    return x->len < y->len ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* After the commit: the index follows, change by change. */
static void index_apply(wd_banlist_t *bl, const pending_t *p) {
  if (p->effect == 0)
    return;
  if (p->type == WD_BAN_CIDR) {
    wd_ip_t net;
    int plen;
    if (parse_prefix(p->canon, strlen(p->canon), &net, &plen) != 0)
      return;
    if (p->effect == 3)
      wd__banidx_cidr_del(bl->ix, &net, plen);
    else
      wd__banidx_cidr_put(bl->ix, &net, plen, p->until);
  } else {
    uint64_t key;
    if (index_key(bl, p->type, p->canon, &key) != 0)
      return;
    if (p->effect == 1)
      wd__banidx_insert(bl->ix, key, wd__banidx_exp(p->until));
    else if (p->effect == 2)
      wd__banidx_update(bl->ix, key, wd__banidx_exp(p->old_until), wd__banidx_exp(p->until));
    else
      wd__banidx_remove(bl->ix, key, wd__banidx_exp(p->old_until));
  }
  if (p->effect == 1)
    atomic_fetch_add(&bl->nbans[p->type], 1);
  else if (p->effect == 3)
    atomic_fetch_sub(&bl->nbans[p->type], 1);
}

int wd_banlist_apply(wd_banlist_t *bl, wd_ban_change_t *changes, size_t n, int64_t now) {
  return wd_banlist_apply_ex(bl, changes, n, now, NULL);
}

static int cursor_key(const char *name, MDB_val *k) {
  size_t n = name ? strnlen(name, WD_BAN_CURSOR_MAX) : 0;
  if (n == 0 || n >= WD_BAN_CURSOR_MAX)
    return WD_EINVAL;
  k->mv_size = n;
  k->mv_data = (void *)name;
  return 0;
}

int wd_banlist_apply_ex(wd_banlist_t *bl, wd_ban_change_t *changes, size_t n, int64_t now,
                        const wd_banlist_apply_opts_t *o) {
  MDB_val ck;
  if (!bl || (!changes && n) || (o && o->cursor && cursor_key(o->cursor, &ck)))
    return WD_EINVAL;
  int with_cursor = o && o->cursor;
  if (n == 0 && !with_cursor)
    return 0;
  int rc = 0;
  if (n > WD_BAN_BATCH_MAX) {
    rc = WD_ETOOBIG;
    goto fail_all;
  }
  pending_t *p = calloc(n ? n : 1, sizeof *p);
  if (!p) {
    rc = WD_ENOMEM;
    goto fail_all;
  }
  size_t nhash = 0, ncidr = 0, nvalid = 0;
  for (size_t i = 0; i < n; i++) {
    changes[i].result = validate(&changes[i], now, &p[i]);
    if (changes[i].result)
      continue;
    nvalid++;
    if (changes[i].op == WD_BAN_ADD)
      *(p[i].type == WD_BAN_CIDR ? &ncidr : &nhash) += 1;
  }
  MDB_txn *txn = NULL;
  order_t *ord = NULL;
  if (nvalid == 0 && !with_cursor)
    goto out;
  /* Memory first: once the transaction commits, the index update cannot fail. */
  rc = wd__banidx_reserve(bl->ix, nhash, now);
  if (!rc)
    rc = wd__banidx_cidr_reserve(bl->ix, ncidr);
  if (rc)
    goto out;
  ord = malloc((nvalid ? nvalid : 1) * sizeof *ord);
  if (!ord) {
    rc = WD_ENOMEM;
    goto out;
  }
  size_t no = 0;
  for (size_t i = 0; i < n; i++)
    if (p[i].valid)
      ord[no++] = (order_t){p[i].canon, (uint32_t)strlen(p[i].canon), (uint32_t)i, p[i].type};
  qsort(ord, no, sizeof *ord, order_cmp);
  uint64_t seq = 0;
  MDB_cursor *cb = NULL, *ce = NULL;
  rc = mdb_txn_begin(bl->st.env, NULL, o && o->lazy_sync ? MDB_NOMETASYNC : 0, &txn);
  if (!rc)
    rc = audit_seq(bl, txn, &seq);
  if (!rc)
    rc = mdb_cursor_open(txn, bl->st.dbi[DB_BANS], &cb);
  if (!rc)
    rc = mdb_cursor_open(txn, bl->st.dbi[DB_EXPIRY], &ce);
  /* the store in key order, then the audit trail and the outbox in batch order */
  for (size_t j = 0; j < no && !rc; j++) {
    size_t i = ord[j].i;
    rc = store_one(cb, ce, &changes[i], &p[i], now, o, &changes[i].result);
  }
  for (size_t i = 0; i < n && !rc; i++)
    if (p[i].valid && p[i].effect)
      rc = record_one(bl, txn, &seq, &changes[i], &p[i], now, o);
  if (cb)
    mdb_cursor_close(cb);
  if (ce)
    mdb_cursor_close(ce);
  if (!rc && with_cursor) {
    uint64_t cv = o->cursor_value;
    MDB_val v = {.mv_size = 8, .mv_data = &cv};
    rc = mdb_put(txn, bl->st.dbi[DB_CURSOR], &ck, &v, 0);
  }
  if (!rc)
    rc = mdb_txn_commit(txn);
  else
    mdb_txn_abort(txn);
  txn = NULL;
  rc = wd__store_err(rc);
  if (rc)
    goto out;
  int cidr_changed = 0;
  for (size_t i = 0; i < n; i++) {
    index_apply(bl, &p[i]);
    cidr_changed |= p[i].effect && p[i].type == WD_BAN_CIDR;
  }
  if (cidr_changed)
    wd__banidx_cidr_publish(bl->ix);
out:
  for (size_t i = 0; i < n; i++)
    json_decref(p[i].evidence);
  free(ord);
  free(p);
  if (!rc)
    return 0;
fail_all:
  for (size_t i = 0; i < n; i++)
    changes[i].result = rc;
  return rc;
}

/* --- cursors and the outbox --- */

int wd_banlist_cursor(wd_banlist_t *bl, const char *name, uint64_t *out) {
  MDB_val k, v;
  if (out)
    *out = 0;
  if (!bl || !out || cursor_key(name, &k))
    return WD_EINVAL;
  MDB_txn *txn;
  int rc = mdb_txn_begin(bl->st.env, NULL, MDB_RDONLY, &txn);
  if (rc)
    return wd__store_err(rc);
  rc = mdb_get(txn, bl->st.dbi[DB_CURSOR], &k, &v);
  if (rc == 0 && v.mv_size == 8)
    memcpy(out, v.mv_data, 8);
  else if (rc == 0)
    rc = WD_ECORRUPT;
  else
    rc = rc == MDB_NOTFOUND ? WD_ENOTOKEN : wd__store_err(rc);
  mdb_txn_abort(txn);
  return rc;
}

int wd_banlist_outbox_read(wd_banlist_t *bl, uint64_t after, size_t limit,
                           int (*fn)(const wd_ban_outbox_entry_t *e, void *arg), void *arg) {
  if (!bl || !fn)
    return WD_EINVAL;
  if (limit > WD_BAN_PAGE_MAX)
    limit = WD_BAN_PAGE_MAX;
  if (limit == 0)
    return 0;
  wd_ban_outbox_entry_t *es = malloc(limit * sizeof *es);
  if (!es)
    return WD_ENOMEM;
  size_t ne = 0;
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  int rc = mdb_txn_begin(bl->st.env, NULL, MDB_RDONLY, &txn);
  if (!rc)
    rc = mdb_cursor_open(txn, bl->st.dbi[DB_OUTBOX], &cur);
  uint8_t kb[8];
  wd__store_be64(kb, after + 1 > after ? after + 1 : after);
  MDB_val k = {.mv_size = 8, .mv_data = kb}, v;
  for (int op = MDB_SET_RANGE; !rc && ne < limit; op = MDB_NEXT) {
    rc = mdb_cursor_get(cur, &k, &v, op);
    if (rc)
      break;
    if (k.mv_size == 8 && wd__store_rd_be64(k.mv_data) == 0)
      continue; /* the id counter */
    if (outbox_decode(&k, &v, &es[ne]) != 0) {
      rc = MDB_CORRUPTED;
      break;
    }
    ne++;
  }
  if (rc == MDB_NOTFOUND)
    rc = 0;
  rc = wd__store_err(rc);
  if (cur)
    mdb_cursor_close(cur);
  if (txn)
    mdb_txn_abort(txn);
  for (size_t i = 0; i < ne && !rc; i++)
    rc = fn(&es[i], arg);
  free(es);
  return rc;
}

int wd_banlist_outbox_trim(wd_banlist_t *bl, uint64_t upto, uint64_t keep, uint64_t *dropped) {
  if (dropped)
    *dropped = 0;
  if (!bl)
    return WD_EINVAL;
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  MDB_stat ms;
  uint64_t nd = 0, ndel = 0;
  int rc = mdb_txn_begin(bl->st.env, NULL, 0, &txn);
  if (!rc)
    rc = mdb_stat(txn, bl->st.dbi[DB_OUTBOX], &ms);
  if (!rc)
    rc = mdb_cursor_open(txn, bl->st.dbi[DB_OUTBOX], &cur);
  uint64_t left = !rc && ms.ms_entries > 0 ? ms.ms_entries - 1 : 0; /* less the id counter */
  uint8_t one[8];
  wd__store_be64(one, 1);
  while (!rc) {
    MDB_val k = {.mv_size = 8, .mv_data = one}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); /* the oldest entry */
    if (rc)
      break;
    if (k.mv_size != 8) {
      rc = MDB_CORRUPTED;
      break;
    }
    int sent = wd__store_rd_be64(k.mv_data) <= upto, over = keep && left > keep;
    if (!sent && !over)
      break;
    rc = mdb_cursor_del(cur, 0);
    left--;
    ndel++;
    nd += !sent;
  }
  if (rc == MDB_NOTFOUND)
    rc = 0;
  if (cur)
    mdb_cursor_close(cur);
  if (!rc && ndel)
    rc = mdb_txn_commit(txn);
  else if (txn)
    mdb_txn_abort(txn);
  if (!rc && dropped)
    *dropped = nd;
  return wd__store_err(rc);
}

uint64_t wd_banlist_outbox_count(wd_banlist_t *bl) {
  MDB_txn *txn;
  MDB_stat ms;
  if (!bl || mdb_txn_begin(bl->st.env, NULL, MDB_RDONLY, &txn))
    return 0;
  uint64_t n = 0;
  if (mdb_stat(txn, bl->st.dbi[DB_OUTBOX], &ms) == 0)
    n = ms.ms_entries > 0 ? ms.ms_entries - 1 : 0;
  mdb_txn_abort(txn);
  return n;
}

/* --- expire --- */

typedef struct expired {
  int type;
  char canon[WD_BAN_VALUE_MAX];
  int64_t until;
} expired_t;

/* One transaction of at most EXPIRE_CHUNK purges; *done set when nothing more is due. */
static long expire_chunk(wd_banlist_t *bl, int64_t now, expired_t *ex, int *done) {
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  size_t nex = 0, scanned = 0;
  int ncidr = 0;
  *done = 1;
  if (wd__banidx_cidr_reserve(bl->ix, 0) != 0)
    return WD_ENOMEM;
  int rc = mdb_txn_begin(bl->st.env, NULL, 0, &txn);
  if (!rc)
    rc = mdb_cursor_open(txn, bl->st.dbi[DB_EXPIRY], &cur);
  while (!rc && scanned < EXPIRE_CHUNK) {
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rc == MDB_NOTFOUND) {
      rc = 0;
      break;
    }
    if (rc)
      break;
    const uint8_t *kb = k.mv_data;
    if (k.mv_size < 8 + 2 || k.mv_size > 8 + KEY_MAX) {
      rc = MDB_CORRUPTED;
      break;
    }
    int64_t until = (int64_t)wd__store_rd_be64(kb);
    if (until > now)
      break;
    MDB_val bk = {.mv_size = k.mv_size - 8, .mv_data = (void *)(kb + 8)}, bv;
    wd_ban_t b;
    int grc = mdb_get(txn, bl->st.dbi[DB_BANS], &bk, &bv);
    if (grc == 0 && ban_decode(&bk, &bv, &b) == 0 && b.until == until) {
      ex[nex].type = b.type;
      memcpy(ex[nex].canon, b.value, sizeof ex[nex].canon);
      ex[nex].until = until;
      ncidr += b.type == WD_BAN_CIDR;
      nex++;
      rc = mdb_del(txn, bl->st.dbi[DB_BANS], &bk, NULL);
    } else if (grc != 0 && grc != MDB_NOTFOUND) {
      rc = grc;
    }
    if (!rc)
      rc = mdb_cursor_del(cur, 0);
    scanned++;
  }
  if (!rc && scanned == EXPIRE_CHUNK)
    *done = 0;
  if (!rc && nex) {
    uint64_t seq = 0;
    rc = audit_seq(bl, txn, &seq);
    json_t *rec = json_pack("{s:I, s:I, s:s, s:I}", "seq", (json_int_t)(seq + 1), "time",
                            (json_int_t)now, "op", "expire", "count", (json_int_t)nex);
    if (!rc && !rec)
      rc = ENOMEM;
    char *line = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    if (!rc && !line)
      rc = ENOMEM;
    if (!rc)
      rc = audit_put(bl, txn, &seq, line, strlen(line));
    free(line);
    json_decref(rec);
  }
  if (cur)
    mdb_cursor_close(cur);
  if (!rc && scanned)
    rc = mdb_txn_commit(txn);
  else
    mdb_txn_abort(txn);
  if (rc) {
    *done = 1;
    return wd__store_err(rc);
  }
  for (size_t i = 0; i < nex; i++) {
    if (ex[i].type == WD_BAN_CIDR) {
      wd_ip_t net;
      int plen;
      if (parse_prefix(ex[i].canon, strlen(ex[i].canon), &net, &plen) == 0)
        wd__banidx_cidr_del(bl->ix, &net, plen);
    } else {
      uint64_t key;
      if (index_key(bl, ex[i].type, ex[i].canon, &key) == 0)
        wd__banidx_remove(bl->ix, key, wd__banidx_exp(ex[i].until));
    }
    atomic_fetch_sub(&bl->nbans[ex[i].type], 1);
  }
  if (ncidr)
    wd__banidx_cidr_publish(bl->ix);
  return (long)nex;
}

long wd_banlist_expire(wd_banlist_t *bl, int64_t now) {
  if (!bl)
    return WD_EINVAL;
  expired_t *ex = malloc(EXPIRE_CHUNK * sizeof *ex);
  if (!ex)
    return WD_ENOMEM;
  long total = 0;
  int done = 0;
  while (!done) {
    long n = expire_chunk(bl, now, ex, &done);
    if (n < 0) {
      total = n;
      break;
    }
    total += n;
  }
  free(ex);
  return total;
}

/* --- reads --- */

/* Look the exact ban up; 1 when present and live at now (hit filled), 0 when not. When the store
 * cannot be read the index's answer stands (fail closed): 1 with the type and value. */
static int confirm(wd_banlist_t *bl, int type, const char *canon, int64_t now, wd_ban_t *hit) {
  ban_key_t bk;
  key_make(&bk, type, canon);
  MDB_txn *txn;
  MDB_val k = {.mv_size = bk.n, .mv_data = bk.b}, v;
  wd_ban_t b;
  int rc = mdb_txn_begin(bl->st.env, NULL, MDB_RDONLY, &txn);
  if (rc) {
    if (hit) {
      memset(hit, 0, sizeof *hit);
      hit->type = (wd_ban_type_t)type;
      snprintf(hit->value, sizeof hit->value, "%s", canon);
      snprintf(hit->reason, sizeof hit->reason, "ban store unreadable: %s", mdb_strerror(rc));
    }
    return 1;
  }
  rc = mdb_get(txn, bl->st.dbi[DB_BANS], &k, &v);
  int found = rc == 0 && ban_decode(&k, &v, &b) == 0;
  mdb_txn_abort(txn);
  if (!found || (b.until != 0 && b.until <= now))
    return 0;
  if (hit)
    *hit = b;
  return 1;
}

/* A hashed ban the request could match. */
typedef struct candidate {
  int type;
  const char *canon;
  uint64_t key;
  int live;
} candidate_t;

int wd_banlist_check(wd_banlist_t *bl, const wd_identity_t *id, const char *client_ip, int64_t now,
                     wd_ban_t *hit) {
  if (!bl)
    return 0;
  candidate_t cand[3];
  size_t nc = 0;
  if (id && id->token_id[0] && strnlen(id->token_id, sizeof id->token_id) < WD_BAN_VALUE_MAX)
    cand[nc++] = (candidate_t){WD_BAN_TOKEN, id->token_id,
                               wd__banidx_key(bl->ix, WD_BAN_TOKEN, id->token_id,
                                              strlen(id->token_id)),
                               0};
  if (id && id->subject[0] && strnlen(id->subject, sizeof id->subject) < WD_BAN_VALUE_MAX)
    cand[nc++] = (candidate_t){WD_BAN_SUBJECT, id->subject,
                               wd__banidx_key(bl->ix, WD_BAN_SUBJECT, id->subject,
                                              strlen(id->subject)),
                               0};
  wd_ip_t ip;
  int have_ip = client_ip && wd_ip_parse(client_ip, strnlen(client_ip, 64), &ip) == 0;
  char ipbuf[64] = "";
  if (have_ip) {
    uint8_t d[17];
    d[0] = (uint8_t)ip.family;
    memcpy(d + 1, ip.a, 16);
    cand[nc++] = (candidate_t){WD_BAN_IP, ipbuf, wd__banidx_key(bl->ix, WD_BAN_IP, d, sizeof d), 0};
  }
  int plens[129];
  size_t nplen = 0;
  wd__banidx_guard_t g;
  wd__banidx_enter(bl->ix, &g);
  for (size_t i = 0; i < nc; i++)
    wd__banidx_prefetch(bl->ix, cand[i].key);
  for (size_t i = 0; i < nc; i++)
    cand[i].live = wd__banidx_has(bl->ix, cand[i].key, now);
  if (have_ip)
    nplen = wd__banidx_cidr_match(bl->ix, &ip, now, plens, 129);
  wd__banidx_exit(bl->ix, &g);

  for (size_t i = 0; i < nc; i++) {
    if (!cand[i].live)
      continue;
    if (cand[i].type == WD_BAN_IP)
      wd_ip_format(&ip, ipbuf, sizeof ipbuf);
    if (confirm(bl, cand[i].type, cand[i].canon, now, hit))
      return 1;
  }
  if (nplen && !hit)
    return 1;
  for (size_t i = 0; i < nplen; i++) {
    char net[64], canon[WD_BAN_VALUE_MAX];
    wd_ip_t m = ip;
    size_t nb = ip.family == 4 ? 4 : 16;
    for (size_t j = 0; j < nb; j++) {
      int bits = plens[i] - (int)(j * 8);
      if (bits < 8)
        m.a[j] = bits <= 0 ? 0 : (uint8_t)(m.a[j] & (0xff << (8 - bits)));
    }
    wd_ip_format(&m, net, sizeof net);
    snprintf(canon, sizeof canon, "%s/%d", net, plens[i]);
    if (confirm(bl, WD_BAN_CIDR, canon, now, hit))
      return 1;
  }
  return 0;
}

int wd_banlist_get(wd_banlist_t *bl, wd_ban_type_t type, const char *value, wd_ban_t *out) {
  char canon[WD_BAN_VALUE_MAX];
  if (!bl || !out || !type_ok(type))
    return WD_EINVAL;
  int rc = wd_ban_canonical(type, value, canon);
  if (rc)
    return rc;
  ban_key_t bk;
  key_make(&bk, type, canon);
  MDB_txn *txn;
  MDB_val k = {.mv_size = bk.n, .mv_data = bk.b}, v;
  rc = mdb_txn_begin(bl->st.env, NULL, MDB_RDONLY, &txn);
  if (rc)
    return wd__store_err(rc);
  wd_ban_t b;
  rc = mdb_get(txn, bl->st.dbi[DB_BANS], &k, &v);
  if (rc == 0)
    rc = ban_decode(&k, &v, &b);
  else
    rc = rc == MDB_NOTFOUND ? WD_ENOTOKEN : wd__store_err(rc);
  mdb_txn_abort(txn);
  if (rc == 0)
    *out = b;
  return rc;
}

/* Start of the key range [type][prefix]. */
static size_t range_start(uint8_t *kb, int type, const char *prefix, size_t plen) {
  kb[0] = (uint8_t)type;
  memcpy(kb + 1, prefix, plen);
  return 1 + plen;
}

static int in_range(const MDB_val *k, const uint8_t *start, size_t slen) {
  return k->mv_size >= slen && memcmp(k->mv_data, start, slen) == 0;
}

static int key_cmp(const MDB_val *k, const uint8_t *b, size_t n) {
  size_t m = k->mv_size < n ? k->mv_size : n;
  int c = memcmp(k->mv_data, b, m);
  return c ? c : (k->mv_size < n ? -1 : k->mv_size > n);
}

int wd_banlist_list(wd_banlist_t *bl, wd_ban_type_t type, const char *prefix, const char *after,
                    size_t limit, int (*fn)(const wd_ban_t *ban, void *arg), void *arg, char **next) {
  if (next)
    *next = NULL;
  if (!bl || !fn || (type != 0 && !type_ok(type)))
    return WD_EINVAL;
  size_t plen = prefix ? strnlen(prefix, WD_BAN_VALUE_MAX) : 0;
  if (plen >= WD_BAN_VALUE_MAX)
    return WD_EINVAL;
  uint8_t ak[KEY_MAX];
  size_t an = 0;
  if (after) {
    size_t hl = strnlen(after, 2 * KEY_MAX + 1);
    if (hl == 0 || hl > 2 * KEY_MAX || wd_hex_decode(after, hl, ak, sizeof ak, &an) != 0 || an < 2)
      return WD_EINVAL;
  }
  if (limit > WD_BAN_PAGE_MAX)
    limit = WD_BAN_PAGE_MAX;
  if (limit == 0)
    return 0;
  size_t cap = limit < 64 ? limit : 64, nb = 0;
  wd_ban_t *bans = malloc(cap * sizeof *bans);
  if (!bans)
    return WD_ENOMEM;
  int more = 0, rc;
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  rc = mdb_txn_begin(bl->st.env, NULL, MDB_RDONLY, &txn);
  if (!rc)
    rc = mdb_cursor_open(txn, bl->st.dbi[DB_BANS], &cur);
  if (rc) {
    rc = wd__store_err(rc);
    goto out;
  }
  for (int t = type ? (int)type : WD_BAN_TOKEN; t <= (type ? (int)type : WD_BAN_CIDR) && !more; t++) {
    uint8_t start[KEY_MAX];
    size_t sn = range_start(start, t, prefix ? prefix : "", plen);
    MDB_val k = {.mv_size = sn, .mv_data = start}, v;
    int op_next = 0;
    if (an && key_cmp(&k, ak, an) <= 0) {
      k.mv_size = an;
      k.mv_data = ak;
      op_next = 1; /* resume strictly after the cursor */
    }
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (mrc == 0 && op_next && an && key_cmp(&k, ak, an) == 0)
      mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    for (; mrc == 0 && in_range(&k, start, sn); mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (nb == limit) {
        more = 1;
        break;
      }
      if (nb == cap) {
        size_t ncap = cap * 2 < limit ? cap * 2 : limit;
        wd_ban_t *nbans = realloc(bans, ncap * sizeof *bans);
        if (!nbans) {
          rc = WD_ENOMEM;
          goto out;
        }
        bans = nbans;
        cap = ncap;
      }
      rc = ban_decode(&k, &v, &bans[nb]);
      if (rc)
        goto out;
      nb++;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND) {
      rc = wd__store_err(mrc);
      goto out;
    }
  }
out:
  if (cur)
    mdb_cursor_close(cur);
  if (txn)
    mdb_txn_abort(txn);
  if (rc) {
    free(bans);
    return rc;
  }
  size_t i = 0;
  for (; i < nb; i++) {
    rc = fn(&bans[i], arg);
    if (rc)
      break;
  }
  size_t last = rc ? i + 1 : nb; /* resume after the ban fn stopped at */
  if (next && last > 0 && (rc || more || last < nb)) {
    ban_key_t bk;
    key_make(&bk, bans[last - 1].type, bans[last - 1].value);
    *next = malloc(2 * bk.n + 1);
    if (*next)
      wd_hex_encode(bk.b, bk.n, *next);
  }
  free(bans);
  return rc;
}

int wd_banlist_audit(wd_banlist_t *bl, size_t limit, int (*fn)(const char *json_line, void *arg),
                     void *arg) {
  if (!bl || !fn)
    return WD_EINVAL;
  if (limit > WD_BAN_PAGE_MAX)
    limit = WD_BAN_PAGE_MAX;
  if (limit == 0)
    return 0;
  char **lines = calloc(limit, sizeof *lines);
  if (!lines)
    return WD_ENOMEM;
  size_t nl = 0;
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  int rc = mdb_txn_begin(bl->st.env, NULL, MDB_RDONLY, &txn);
  if (!rc)
    rc = mdb_cursor_open(txn, bl->st.dbi[DB_AUDIT], &cur);
  MDB_val k, v;
  for (int op = MDB_LAST; !rc && nl < limit; op = MDB_PREV) {
    rc = mdb_cursor_get(cur, &k, &v, op);
    if (rc)
      break;
    lines[nl] = malloc(v.mv_size + 1);
    if (!lines[nl]) {
      rc = ENOMEM;
      break;
    }
    memcpy(lines[nl], v.mv_data, v.mv_size);
    lines[nl][v.mv_size] = '\0';
    nl++;
  }
  if (rc == MDB_NOTFOUND)
    rc = 0;
  rc = wd__store_err(rc);
  if (cur)
    mdb_cursor_close(cur);
  if (txn)
    mdb_txn_abort(txn);
  for (size_t i = 0; i < nl && !rc; i++)
    rc = fn(lines[i], arg);
  for (size_t i = 0; i < nl; i++)
    free(lines[i]);
  free(lines);
  return rc;
}

void wd_banlist_stats(wd_banlist_t *bl, wd_banlist_stats_t *out) {
  memset(out, 0, sizeof *out);
  if (!bl)
    return;
  for (int t = WD_BAN_TOKEN; t <= WD_BAN_CIDR; t++)
    out->bans[t] = atomic_load(&bl->nbans[t]);
  out->index_bytes = wd__banidx_bytes(bl->ix);
  out->store_bytes = wd__store_bytes(&bl->st);
}
