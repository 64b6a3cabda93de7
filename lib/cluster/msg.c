/*
 * The cluster message codec; see warden/cluster.h for the format and docs/cluster.md for how
 * the messages travel.
 *
 * Decoding goes through jansson (which refuses invalid UTF-8; repeated keys are refused too)
 * and then checks every field of
 * the message's kind against the same bounds the receiving stores enforce, so a message that
 * decodes can be applied. Encoding builds the same object and refuses what decoding would.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ip.h"
#include "warden/cluster.h"
#include "warden/error.h"

#define TIME_MAX ((int64_t)1 << 42) /* seconds (year 141,000) and milliseconds bounds */

static const char *const kinds[] = {NULL, "ban", "net", "use"};

void wd_cluster_msg_init(wd_cluster_msg_t *m, wd_cluster_kind_t k, const char *node,
                         int64_t time_ms) {
  memset(m, 0, sizeof *m);
  m->kind = k;
  if (node)
    snprintf(m->node, sizeof m->node, "%s", node);
  m->time_ms = time_ms;
  m->lat = m->lon = NAN;
}

int wd_cluster_node_ok(const char *s) {
  if (!s)
    return 0;
  size_t n = strnlen(s, WD_CLUSTER_NODE_MAX);
  if (n == 0 || n >= WD_CLUSTER_NODE_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* Text without control characters (the UTF-8 itself is checked by jansson or the encoder's
 * caller), of at most cap - 1 bytes; min bytes at least. */
static int text_ok(const char *s, size_t cap, size_t min) {
  size_t n = strnlen(s, cap);
  if (n >= cap || n < min)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f)
      return 0;
  }
  return 1;
}

static int country_ok(const char *cc) {
  return cc[0] == '\0' ||
         (cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z' && cc[2] == '\0');
}

/* Field checks shared by encode and decode: 0, or WD_EINVAL with the field named in err. */
static int check(const wd_cluster_msg_t *m, char *err, size_t errlen) {
#define BAD(...)                                                                                   \
  do {                                                                                             \
    if (err && errlen)                                                                             \
      snprintf(err, errlen, __VA_ARGS__);                                                          \
    return WD_EINVAL;                                                                              \
  } while (0)
  if (!wd_cluster_node_ok(m->node))
    BAD("n: not a node id (1..63 of A-Z a-z 0-9 _ -)");
  if (m->time_ms < 0 || m->time_ms > TIME_MAX)
    BAD("t: out of range");
  switch (m->kind) {
  case WD_CLUSTER_BAN: {
    if (m->list != WD_CLUSTER_LIST_BANS && m->list != WD_CLUSTER_LIST_ALLOW)
      BAD("l: not bans or allow");
    if (m->op != WD_BAN_ADD && m->op != WD_BAN_LIFT)
      BAD("o: not add or lift");
    char canon[WD_BAN_VALUE_MAX];
    if (strnlen(m->ban.value, WD_BAN_VALUE_MAX) >= WD_BAN_VALUE_MAX ||
        wd_ban_canonical(m->ban.type, m->ban.value, canon) != 0 || strcmp(canon, m->ban.value))
      BAD("bv: not a canonical %s value", wd_ban_type_name(m->ban.type));
    if (m->ban.created < 0 || m->ban.created > TIME_MAX || (m->op == WD_BAN_ADD && !m->ban.created))
      BAD("c: out of range");
    if (m->ban.until < 0 || m->ban.until > TIME_MAX)
      BAD("u: out of range");
    if (!text_ok(m->ban.reason, sizeof m->ban.reason, 0))
      BAD("r: too long or has control characters");
    if (!text_ok(m->ban.actor, sizeof m->ban.actor, 0))
      BAD("a: too long or has control characters");
    return 0;
  }
  case WD_CLUSTER_NET: {
    if (!text_ok(m->policy, sizeof m->policy, 1))
      BAD("p: empty, too long or has control characters");
    if (!text_ok(m->key, sizeof m->key, 1))
      BAD("key: empty, too long or has control characters");
    if (m->exp < 0 || m->exp > TIME_MAX)
      BAD("x: out of range");
    int maxlen = m->family == 4 ? 32 : 128, minlen = m->family == 4 ? 8 : 16;
    if ((m->family != 4 && m->family != 6) || m->prefix_len < minlen || m->prefix_len > maxlen)
      BAD("ip: not an IPv4 /8../32 or IPv6 /16../128 network");
    for (int i = 0; i < (m->family == 4 ? 4 : 16); i++) {
      int keep = m->prefix_len - 8 * i;
      uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
      if (m->prefix[i] & ~mask)
        BAD("ip: host bits set");
    }
    if (m->family == 4)
      for (int i = 4; i < 16; i++)
        if (m->prefix[i])
          BAD("ip: bytes beyond an IPv4 address");
    if (!country_ok(m->country))
      BAD("cc: not two upper-case letters");
    if (isnan(m->lat) != isnan(m->lon) ||
        (!isnan(m->lat) && !(m->lat >= -90 && m->lat <= 90 && m->lon >= -180 && m->lon <= 180)))
      BAD("lat/lon: out of range or only one given");
    return 0;
  }
  case WD_CLUSTER_USE:
    if (!text_ok(m->issuer, sizeof m->issuer, 0))
      BAD("iss: too long or has control characters");
    if (!text_ok(m->id, sizeof m->id, 1))
      BAD("id: empty, too long or has control characters");
    if (m->until < 0 || m->until > TIME_MAX)
      BAD("u: out of range");
    return 0;
  }
  BAD("k: unknown kind");
#undef BAD
}

int wd_cluster_msg_encode(const wd_cluster_msg_t *m, char *buf, size_t cap, size_t *len) {
  if (!m || !buf || (m->kind < WD_CLUSTER_BAN || m->kind > WD_CLUSTER_USE))
    return WD_EINVAL;
  int rc = check(m, NULL, 0);
  if (rc)
    return rc;
  json_t *o = json_object();
  if (!o)
    return WD_ENOMEM;
  int bad = 0;
#define SET(k, v) bad |= json_object_set_new(o, k, v)
  SET("v", json_integer(WD_CLUSTER_VERSION));
  SET("k", json_string(kinds[m->kind]));
  SET("n", json_string(m->node));
  SET("t", json_integer(m->time_ms));
  char ipbuf[64];
  switch (m->kind) {
  case WD_CLUSTER_BAN:
    SET("l", json_string(m->list == WD_CLUSTER_LIST_ALLOW ? "allow" : "bans"));
    SET("o", json_string(m->op == WD_BAN_ADD ? "add" : "lift"));
    SET("bt", json_string(wd_ban_type_name(m->ban.type)));
    SET("bv", json_string(m->ban.value));
    SET("c", json_integer(m->ban.created));
    SET("u", json_integer(m->ban.until));
    SET("r", json_string(m->ban.reason));
    SET("a", json_string(m->ban.actor));
    break;
  case WD_CLUSTER_NET: {
    SET("p", json_string(m->policy));
    SET("key", json_string(m->key));
    SET("x", json_integer(m->exp));
    wd_ip_t ip = {.family = m->family};
    memcpy(ip.a, m->prefix, 16);
    wd_ip_format(&ip, ipbuf, sizeof ipbuf);
    size_t l = strlen(ipbuf);
    snprintf(ipbuf + l, sizeof ipbuf - l, "/%d", m->prefix_len);
    SET("ip", json_string(ipbuf));
    if (m->asn)
      SET("asn", json_integer(m->asn));
    if (m->country[0])
      SET("cc", json_string(m->country));
    if (!isnan(m->lat)) {
      SET("lat", json_real(round(m->lat * 1e4) / 1e4));
      SET("lon", json_real(round(m->lon * 1e4) / 1e4));
    }
    break;
  }
  case WD_CLUSTER_USE:
    SET("iss", json_string(m->issuer));
    SET("id", json_string(m->id));
    SET("u", json_integer(m->until));
    break;
  }
#undef SET
  if (bad) {
    json_decref(o);
    return WD_EINVAL; /* a string jansson refused: not UTF-8 */
  }
  size_t n = json_dumpb(o, buf, cap, JSON_COMPACT);
  json_decref(o);
  if (n == 0)
    return WD_ENOMEM;
  if (n >= cap)
    return WD_ETOOBIG;
  buf[n] = '\0';
  if (len)
    *len = n;
  return 0;
}

/* --- decode --- */

typedef struct dec {
  json_t *o;
  char *err;
  size_t errlen;
  size_t used;   /* fields consumed, to refuse unknown ones */
} dec_t;

static int fail(dec_t *d, const char *fmt, ...) {
  if (d->err && d->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, d->errlen, fmt, ap);
    va_end(ap);
  }
  return WD_EINVAL;
}

/* A string field into out (cap bytes); optional fields leave out untouched when absent. */
static int get_str(dec_t *d, const char *k, char *out, size_t cap, int required) {
  json_t *v = json_object_get(d->o, k);
  if (!v)
    return required ? fail(d, "%s: missing", k) : 0;
  d->used++;
  if (!json_is_string(v))
    return fail(d, "%s: not a string", k);
  size_t n = json_string_length(v);
  const char *s = json_string_value(v);
  if (n >= cap || memchr(s, '\0', n))
    return fail(d, "%s: too long or has a NUL", k);
  memcpy(out, s, n + 1);
  return 0;
}

static int get_int(dec_t *d, const char *k, int64_t min, int64_t max, int64_t *out, int required) {
  json_t *v = json_object_get(d->o, k);
  if (!v)
    return required ? fail(d, "%s: missing", k) : 0;
  d->used++;
  if (!json_is_integer(v))
    return fail(d, "%s: not an integer", k);
  json_int_t x = json_integer_value(v);
  if (x < min || x > max)
    return fail(d, "%s: out of range", k);
  *out = x;
  return 0;
}

static int get_num(dec_t *d, const char *k, double min, double max, double *out) {
  json_t *v = json_object_get(d->o, k);
  if (!v)
    return 0;
  d->used++;
  if (!json_is_number(v))
    return fail(d, "%s: not a number", k);
  double x = json_number_value(v);
  if (!(x >= min && x <= max))
    return fail(d, "%s: out of range", k);
  *out = x;
  return 0;
}

static int decode_ban(dec_t *d, wd_cluster_msg_t *m) {
  char l[8], o[8], bt[12];
  int64_t c = 0, u = 0;
  int rc = get_str(d, "l", l, sizeof l, 1);
  if (!rc)
    rc = get_str(d, "o", o, sizeof o, 1);
  if (!rc)
    rc = get_str(d, "bt", bt, sizeof bt, 1);
  if (!rc)
    rc = get_str(d, "bv", m->ban.value, sizeof m->ban.value, 1);
  if (!rc)
    rc = get_int(d, "c", 0, TIME_MAX, &c, 1);
  if (!rc)
    rc = get_int(d, "u", 0, TIME_MAX, &u, 1);
  if (!rc)
    rc = get_str(d, "r", m->ban.reason, sizeof m->ban.reason, 1);
  if (!rc)
    rc = get_str(d, "a", m->ban.actor, sizeof m->ban.actor, 1);
  if (rc)
    return rc;
  if (!strcmp(l, "bans"))
    m->list = WD_CLUSTER_LIST_BANS;
  else if (!strcmp(l, "allow"))
    m->list = WD_CLUSTER_LIST_ALLOW;
  else
    return fail(d, "l: '%s' is not bans or allow", l);
  if (!strcmp(o, "add"))
    m->op = WD_BAN_ADD;
  else if (!strcmp(o, "lift"))
    m->op = WD_BAN_LIFT;
  else
    return fail(d, "o: '%s' is not add or lift", o);
  if (wd_ban_type_parse(bt, &m->ban.type))
    return fail(d, "bt: '%s' is not a ban type", bt);
  m->ban.created = c;
  m->ban.until = u;
  return 0;
}

static int decode_net(dec_t *d, wd_cluster_msg_t *m) {
  char ip[64];
  int64_t asn = 0;
  int rc = get_str(d, "p", m->policy, sizeof m->policy, 1);
  if (!rc)
    rc = get_str(d, "key", m->key, sizeof m->key, 1);
  if (!rc)
    rc = get_int(d, "x", 0, TIME_MAX, &m->exp, 1);
  if (!rc)
    rc = get_str(d, "ip", ip, sizeof ip, 1);
  if (!rc)
    rc = get_int(d, "asn", 0, UINT32_MAX, &asn, 0);
  if (!rc)
    rc = get_str(d, "cc", m->country, sizeof m->country, 0);
  if (!rc)
    rc = get_num(d, "lat", -90, 90, &m->lat);
  if (!rc)
    rc = get_num(d, "lon", -180, 180, &m->lon);
  if (rc)
    return rc;
  wd_ip_t net;
  int plen;
  if (!strchr(ip, '/') || wd_cidr_parse(ip, strlen(ip), &net, &plen))
    return fail(d, "ip: '%s' is not a network", ip);
  m->family = net.family;
  memcpy(m->prefix, net.a, 16);
  m->prefix_len = plen;
  m->asn = (uint32_t)asn;
  return 0;
}

static int decode_use(dec_t *d, wd_cluster_msg_t *m) {
  int rc = get_str(d, "iss", m->issuer, sizeof m->issuer, 1);
  if (!rc)
    rc = get_str(d, "id", m->id, sizeof m->id, 1);
  if (!rc)
    rc = get_int(d, "u", 0, TIME_MAX, &m->until, 1);
  return rc;
}

int wd_cluster_msg_decode(const void *data, size_t n, wd_cluster_msg_t *out, char *err,
                          size_t errlen) {
  if (err && errlen)
    err[0] = '\0';
  if (!out || (!data && n))
    return WD_EINVAL;
  if (n > WD_CLUSTER_MSG_MAX) {
    if (err && errlen)
      snprintf(err, errlen, "message of %zu bytes (at most %d)", n, WD_CLUSTER_MSG_MAX);
    return WD_ETOOBIG;
  }
  json_error_t je;
  json_t *o = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
  dec_t d = {.o = o, .err = err, .errlen = errlen};
  int rc;
  wd_cluster_msg_t *m = NULL;
  if (!o) {
    rc = fail(&d, "not JSON: %s", je.text);
    goto out;
  }
  m = malloc(sizeof *m);
  if (!m) {
    rc = WD_ENOMEM;
    goto out;
  }
  wd_cluster_msg_init(m, 0, NULL, 0);
  if (!json_is_object(o)) {
    rc = fail(&d, "not a JSON object");
    goto out;
  }
  int64_t v = 0;
  char kind[8];
  rc = get_int(&d, "v", 0, INT32_MAX, &v, 1);
  if (rc)
    goto out;
  if (v != WD_CLUSTER_VERSION) {
    fail(&d, "version %lld (this node reads %d)", (long long)v, WD_CLUSTER_VERSION);
    rc = WD_EUNSUPPORTED;
    goto out;
  }
  rc = get_str(&d, "k", kind, sizeof kind, 1);
  if (!rc)
    rc = get_str(&d, "n", m->node, sizeof m->node, 1);
  if (!rc)
    rc = get_int(&d, "t", 0, TIME_MAX, &m->time_ms, 1);
  if (rc)
    goto out;
  for (int k = WD_CLUSTER_BAN; k <= WD_CLUSTER_USE; k++)
    if (!strcmp(kind, kinds[k]))
      m->kind = (wd_cluster_kind_t)k;
  if (!m->kind) {
    fail(&d, "k: unknown kind '%s'", kind);
    rc = WD_EUNSUPPORTED;
    goto out;
  }
  rc = m->kind == WD_CLUSTER_BAN   ? decode_ban(&d, m)
       : m->kind == WD_CLUSTER_NET ? decode_net(&d, m)
                                   : decode_use(&d, m);
  if (rc)
    goto out;
  if (d.used != json_object_size(o)) {
    rc = fail(&d, "unknown field in a %s message", kind);
    goto out;
  }
  rc = check(m, err, errlen);
  if (!rc)
    *out = *m;
out:
  free(m);
  json_decref(o);
  /* the reason quotes the message: keep it on one line */
  for (char *p = err; rc && p && errlen && *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return rc;
}
