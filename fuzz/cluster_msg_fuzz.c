/*
 * Fuzz target cluster_msg: a message as it arrives from the broker (any bytes), through
 * wd_cluster_msg_decode. Invariants on every message that decodes: it encodes again, and the
 * encoding decodes to the same message (the codec's checks on both sides agree), ban values are
 * canonical, node ids are clean; on every message refused: a one-line reason.
 */
#include <math.h>

#include "fuzz_util.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 2 * WD_CLUSTER_MSG_MAX)
    return 0;
  wd_cluster_msg_t m, again;
  char err[256];
  int rc = wd_cluster_msg_decode(data, size, &m, err, sizeof err);
  if (rc) {
    FZ_ASSERT(rc == WD_EINVAL || rc == WD_ETOOBIG || rc == WD_EUNSUPPORTED || rc == WD_ENOMEM,
              "unexpected code %d", rc);
    FZ_ASSERT(err[0] && !strchr(err, '\n'), "refused without a one-line reason");
    return 0;
  }
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
