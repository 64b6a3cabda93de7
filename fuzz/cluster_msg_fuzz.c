/*
 * Fuzz target cluster_msg: a message as it arrives from the broker (any bytes), through
 * wd_cluster_msg_decode. Invariants on every message that decodes: it encodes again, and the
 * encoding decodes to the same message (the codec's checks on both sides agree), ban values are
 * canonical, node ids are clean; on every message refused: a one-line reason.
 *
 * Differential: the decoder reads the JSON itself, in one pass. A reference decoder here parses
 * the same bytes with jansson into a tree (JSON_REJECT_DUPLICATES) and reads the same fields
 * with the same bounds; both must give the same code for every input, and the same message
 * when they accept it (except where jansson skips a NUL byte after a number or a literal: the
 * decoder refuses any NUL outside a string too).
 */
#include <jansson.h>
#include <math.h>

#include "fuzz_util.h"
#include "util/ip.h"
#include "warden/cluster.h"
#include "warden/error.h"

static int same(const wd_cluster_msg_t *a, const wd_cluster_msg_t *b) {
  if (a->kind != b->kind || strcmp(a->node, b->node) || a->time_ms != b->time_ms)
    return 0;
  switch (a->kind) {
  case WD_CLUSTER_BAN:
    return a->list == b->list && a->op == b->op && a->ban.type == b->ban.type &&
           !strcmp(a->ban.value, b->ban.value) && a->ban.created == b->ban.created &&
           a->ban.until == b->ban.until && !strcmp(a->ban.reason, b->ban.reason) &&
           !strcmp(a->ban.actor, b->ban.actor);
  case WD_CLUSTER_NET:
    return !strcmp(a->policy, b->policy) && !strcmp(a->key, b->key) && a->exp == b->exp &&
           a->family == b->family && !memcmp(a->prefix, b->prefix, 16) &&
           a->prefix_len == b->prefix_len && a->asn == b->asn &&
           !strcmp(a->country, b->country) && isnan(a->lat) == isnan(b->lat) &&
           (isnan(a->lat) || (fabs(a->lat - b->lat) < 1e-3 && fabs(a->lon - b->lon) < 1e-3));
  case WD_CLUSTER_USE:
    return !strcmp(a->issuer, b->issuer) && !strcmp(a->id, b->id) && a->until == b->until;
  }
  return 0;
}

/* ---- the reference: jansson's tree, the same fields and bounds ---- */

#define TIME_MAX ((int64_t)1 << 42)

typedef struct ref {
  json_t *o;
  size_t used;
} ref_t;

static int ref_str(ref_t *r, const char *k, char *out, size_t cap, int required) {
  json_t *v = json_object_get(r->o, k);
  if (!v)
    return required ? WD_EINVAL : 0;
  r->used++;
  if (!json_is_string(v))
    return WD_EINVAL;
  size_t n = json_string_length(v);
  const char *s = json_string_value(v);
  if (n >= cap || memchr(s, '\0', n))
    return WD_EINVAL;
  memcpy(out, s, n + 1);
  return 0;
}

static int ref_int(ref_t *r, const char *k, int64_t min, int64_t max, int64_t *out, int required) {
  json_t *v = json_object_get(r->o, k);
  if (!v)
    return required ? WD_EINVAL : 0;
  r->used++;
  if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
    return WD_EINVAL;
  *out = json_integer_value(v);
  return 0;
}

static int ref_num(ref_t *r, const char *k, double min, double max, double *out) {
  json_t *v = json_object_get(r->o, k);
  if (!v)
    return 0;
  r->used++;
  if (!json_is_number(v))
    return WD_EINVAL;
  double x = json_number_value(v);
  if (!(x >= min && x <= max))
    return WD_EINVAL;
  *out = x;
  return 0;
}

static int ref_fields(ref_t *r, wd_cluster_msg_t *m) {
  int64_t v = 0;
  char kind[8];
  int rc = ref_int(r, "v", 0, INT32_MAX, &v, 1);
  if (rc)
    return rc;
  if (v != WD_CLUSTER_VERSION)
    return WD_EUNSUPPORTED;
  rc = ref_str(r, "k", kind, sizeof kind, 1);
  if (!rc)
    rc = ref_str(r, "n", m->node, sizeof m->node, 1);
  if (!rc)
    rc = ref_int(r, "t", 0, TIME_MAX, &m->time_ms, 1);
  if (rc)
    return rc;
  if (!strcmp(kind, "ban"))
    m->kind = WD_CLUSTER_BAN;
  else if (!strcmp(kind, "net"))
    m->kind = WD_CLUSTER_NET;
  else if (!strcmp(kind, "use"))
    m->kind = WD_CLUSTER_USE;
  else
    return WD_EUNSUPPORTED;
  if (m->kind == WD_CLUSTER_BAN) {
    char l[8], o[8], bt[12];
    rc = ref_str(r, "l", l, sizeof l, 1);
    if (!rc)
      rc = ref_str(r, "o", o, sizeof o, 1);
    if (!rc)
      rc = ref_str(r, "bt", bt, sizeof bt, 1);
    if (!rc)
      rc = ref_str(r, "bv", m->ban.value, sizeof m->ban.value, 1);
    if (!rc)
      rc = ref_int(r, "c", 0, TIME_MAX, &m->ban.created, 1);
    if (!rc)
      rc = ref_int(r, "u", 0, TIME_MAX, &m->ban.until, 1);
    if (!rc)
      rc = ref_str(r, "r", m->ban.reason, sizeof m->ban.reason, 1);
    if (!rc)
      rc = ref_str(r, "a", m->ban.actor, sizeof m->ban.actor, 1);
    if (rc)
      return rc;
    if (strcmp(l, "bans") && strcmp(l, "allow"))
      return WD_EINVAL;
    m->list = !strcmp(l, "allow") ? WD_CLUSTER_LIST_ALLOW : WD_CLUSTER_LIST_BANS;
    if (strcmp(o, "add") && strcmp(o, "lift"))
      return WD_EINVAL;
    m->op = !strcmp(o, "add") ? WD_BAN_ADD : WD_BAN_LIFT;
    if (wd_ban_type_parse(bt, &m->ban.type))
      return WD_EINVAL;
  } else if (m->kind == WD_CLUSTER_NET) {
    char ip[64];
    int64_t asn = 0;
    rc = ref_str(r, "p", m->policy, sizeof m->policy, 1);
    if (!rc)
      rc = ref_str(r, "key", m->key, sizeof m->key, 1);
    if (!rc)
      rc = ref_int(r, "x", 0, TIME_MAX, &m->exp, 1);
    if (!rc)
      rc = ref_str(r, "ip", ip, sizeof ip, 1);
    if (!rc)
      rc = ref_int(r, "asn", 0, UINT32_MAX, &asn, 0);
    if (!rc)
      rc = ref_str(r, "cc", m->country, sizeof m->country, 0);
    if (!rc)
      rc = ref_num(r, "lat", -90, 90, &m->lat);
    if (!rc)
      rc = ref_num(r, "lon", -180, 180, &m->lon);
    if (rc)
      return rc;
    wd_ip_t net;
    int plen;
    if (!strchr(ip, '/') || wd_cidr_parse(ip, strlen(ip), &net, &plen))
      return WD_EINVAL;
    m->family = net.family;
    memcpy(m->prefix, net.a, 16);
    m->prefix_len = plen;
    m->asn = (uint32_t)asn;
  } else {
    rc = ref_str(r, "iss", m->issuer, sizeof m->issuer, 1);
    if (!rc)
      rc = ref_str(r, "id", m->id, sizeof m->id, 1);
    if (!rc)
      rc = ref_int(r, "u", 0, TIME_MAX, &m->until, 1);
    if (rc)
      return rc;
  }
  if (r->used != json_object_size(r->o))
    return WD_EINVAL;
  /* the field checks: encode makes exactly the checks decode ends with */
  char buf[3 * WD_CLUSTER_MSG_MAX];
  return wd_cluster_msg_encode(m, buf, sizeof buf, NULL) ? WD_EINVAL : 0;
}

static int ref_decode(const uint8_t *data, size_t n, wd_cluster_msg_t *m) {
  if (n > WD_CLUSTER_MSG_MAX)
    return WD_ETOOBIG;
  json_error_t je;
  ref_t r = {.o = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, &je)};
  if (!r.o || !json_is_object(r.o)) {
    json_decref(r.o);
    return WD_EINVAL;
  }
  wd_cluster_msg_init(m, 0, NULL, 0);
  int rc = ref_fields(&r, m);
  json_decref(r.o);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 2 * WD_CLUSTER_MSG_MAX)
    return 0;
  wd_cluster_msg_t m, again, ref;
  char err[256];
  int rc = wd_cluster_msg_decode(data, size, &m, err, sizeof err);
  int rrc = ref_decode(data, size, &ref);
  /* one difference by design: jansson skips a NUL byte that follows a number or a literal */
  if (rc && rrc != rc && memchr(data, '\0', size))
    rrc = rc;
  FZ_ASSERT(rc == rrc, "decoder says %d (%s), the jansson reference %d", rc, rc ? err : "",
            rrc);
  if (rc) {
    FZ_ASSERT(rc == WD_EINVAL || rc == WD_ETOOBIG || rc == WD_EUNSUPPORTED || rc == WD_ENOMEM,
              "unexpected code %d", rc);
    FZ_ASSERT(err[0] && !strchr(err, '\n'), "refused without a one-line reason");
    return 0;
  }
  FZ_ASSERT(same(&m, &ref), "the decoder and the jansson reference read different messages");
  FZ_ASSERT(wd_cluster_node_ok(m.node), "node id '%s' accepted", m.node);
  if (m.kind == WD_CLUSTER_BAN) {
    char canon[WD_BAN_VALUE_MAX];
    FZ_ASSERT(wd_ban_canonical(m.ban.type, m.ban.value, canon) == 0 && !strcmp(canon, m.ban.value),
              "non-canonical ban value '%s' accepted", m.ban.value);
  }
  char buf[WD_CLUSTER_MSG_MAX];
  size_t len;
  rc = wd_cluster_msg_encode(&m, buf, sizeof buf, &len);
  if (rc == WD_ETOOBIG)
    return 0; /* escapes can make a valid message longer than the cap when written again */
  FZ_ASSERT(rc == 0, "a decoded message does not encode: %d", rc);
  rc = wd_cluster_msg_decode(buf, len, &again, err, sizeof err);
  FZ_ASSERT(rc == 0, "an encoded message does not decode: %s: %s", err, buf);
  FZ_ASSERT(same(&m, &again), "round trip changed the message: %s", buf);
  return 0;
}
