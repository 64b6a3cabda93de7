/* lib/cluster/msg.c (the messages nodes exchange) and the library hooks the cluster uses:
 * wd_tracker_observe_ex / wd_tracker_merge (usage shared between nodes) and
 * wd_replay_set_closed (catreplay=1 fail-closed while the broker is unreachable). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "warden/cluster.h"
#include "warden/detect.h"
#include "warden/error.h"
#include "warden/replay.h"

#define NOW 1700000000

static wd_cluster_msg_t ban_msg(void) {
  wd_cluster_msg_t m;
  wd_cluster_msg_init(&m, WD_CLUSTER_BAN, "edge-1", (int64_t)NOW * 1000 + 123);
  m.list = WD_CLUSTER_LIST_BANS;
  m.op = WD_BAN_ADD;
  m.ban.type = WD_BAN_CIDR;
  snprintf(m.ban.value, sizeof m.ban.value, "198.51.100.0/24");
  m.ban.created = NOW;
  m.ban.until = NOW + 3600;
  snprintf(m.ban.reason, sizeof m.ban.reason, "restream farm — São Paulo");
  snprintf(m.ban.actor, sizeof m.ban.actor, "admin");
  return m;
}

static void roundtrip_kinds(void **state) {
  (void)state;
  char buf[WD_CLUSTER_MSG_MAX];
  size_t len;
  wd_cluster_msg_t m = ban_msg(), got;
  assert_int_equal(wd_cluster_msg_encode(&m, buf, sizeof buf, &len), 0);
  assert_int_equal(strlen(buf), len);
  assert_int_equal(wd_cluster_msg_decode(buf, len, &got, NULL, 0), 0);
  assert_int_equal(got.kind, WD_CLUSTER_BAN);
  assert_string_equal(got.node, "edge-1");
  assert_int_equal(got.time_ms, (int64_t)NOW * 1000 + 123);
  assert_int_equal(got.list, WD_CLUSTER_LIST_BANS);
  assert_int_equal(got.op, WD_BAN_ADD);
  assert_int_equal(got.ban.type, WD_BAN_CIDR);
  assert_string_equal(got.ban.value, "198.51.100.0/24");
  assert_int_equal(got.ban.created, NOW);
  assert_int_equal(got.ban.until, NOW + 3600);
  assert_string_equal(got.ban.reason, m.ban.reason);
  assert_string_equal(got.ban.actor, "admin");

  m.list = WD_CLUSTER_LIST_ALLOW;
  m.op = WD_BAN_LIFT;
  m.ban.created = 0; /* a lift may carry none */
  assert_int_equal(wd_cluster_msg_encode(&m, buf, sizeof buf, &len), 0);
  assert_int_equal(wd_cluster_msg_decode(buf, len, &got, NULL, 0), 0);
  assert_int_equal(got.list, WD_CLUSTER_LIST_ALLOW);
  assert_int_equal(got.op, WD_BAN_LIFT);

  wd_cluster_msg_init(&m, WD_CLUSTER_NET, "edge_2", 5);
  snprintf(m.policy, sizeof m.policy, "live");
  snprintf(m.key, sizeof m.key, "sha256:abcd");
  m.exp = NOW + 60;
  m.family = 6;
  m.prefix[0] = 0x20;
  m.prefix[1] = 0x01;
  m.prefix[2] = 0x0d;
  m.prefix[3] = 0xb8;
  m.prefix_len = 64;
  m.asn = 64500;
  memcpy(m.country, "FR", 3);
  m.lat = 48.8566;
  m.lon = 2.3522;
  assert_int_equal(wd_cluster_msg_encode(&m, buf, sizeof buf, &len), 0);
  assert_non_null(strstr(buf, "\"ip\":\"2001:db8::/64\""));
  assert_int_equal(wd_cluster_msg_decode(buf, len, &got, NULL, 0), 0);
  assert_int_equal(got.kind, WD_CLUSTER_NET);
  assert_string_equal(got.policy, "live");
  assert_string_equal(got.key, "sha256:abcd");
  assert_int_equal(got.family, 6);
  assert_int_equal(got.prefix_len, 64);
  assert_memory_equal(got.prefix, m.prefix, 16);
  assert_int_equal(got.asn, 64500);
  assert_string_equal(got.country, "FR");
  assert_true(fabs(got.lat - 48.8566) < 1e-3 && fabs(got.lon - 2.3522) < 1e-3);
  /* unknown geo stays unknown */
  m.asn = 0;
  m.country[0] = '\0';
  m.lat = m.lon = NAN;
  assert_int_equal(wd_cluster_msg_encode(&m, buf, sizeof buf, &len), 0);
  assert_int_equal(wd_cluster_msg_decode(buf, len, &got, NULL, 0), 0);
  assert_int_equal(got.asn, 0);
  assert_string_equal(got.country, "");
  assert_true(isnan(got.lat) && isnan(got.lon));

  wd_cluster_msg_init(&m, WD_CLUSTER_USE, "n3", 7);
  snprintf(m.issuer, sizeof m.issuer, "eyevinn");
  snprintf(m.id, sizeof m.id, "cti-1");
  m.until = NOW + 90;
  assert_int_equal(wd_cluster_msg_encode(&m, buf, sizeof buf, &len), 0);
  assert_int_equal(wd_cluster_msg_decode(buf, len, &got, NULL, 0), 0);
  assert_int_equal(got.kind, WD_CLUSTER_USE);
  assert_string_equal(got.issuer, "eyevinn");
  assert_string_equal(got.id, "cti-1");
  assert_int_equal(got.until, NOW + 90);

  /* a buffer too small is refused, not truncated */
  assert_int_equal(wd_cluster_msg_encode(&m, buf, 20, &len), WD_ETOOBIG);
}

/* Each of these must be refused with the code given, and leave *out untouched. */
static void hostile_messages(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int rc;
  } cases[] = {
      {"", WD_EINVAL},
      {"not json", WD_EINVAL},
      {"[1,2]", WD_EINVAL},
      {"{}", WD_EINVAL},
      {"{\"v\":2,\"k\":\"ban\"}", WD_EUNSUPPORTED},
      {"{\"v\":\"1\",\"k\":\"use\",\"n\":\"a\",\"t\":1,\"iss\":\"\",\"id\":\"x\",\"u\":0}", WD_EINVAL},
      {"{\"v\":1,\"k\":\"spam\",\"n\":\"a\",\"t\":1}", WD_EUNSUPPORTED},
      /* a good use message, then variations */
      {"{\"v\":1,\"k\":\"use\",\"n\":\"a\",\"t\":1,\"iss\":\"\",\"id\":\"x\",\"u\":0,\"zz\":1}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"use\",\"n\":\"a b\",\"t\":1,\"iss\":\"\",\"id\":\"x\",\"u\":0}", WD_EINVAL},
      {"{\"v\":1,\"k\":\"use\",\"n\":\"a\",\"t\":-1,\"iss\":\"\",\"id\":\"x\",\"u\":0}", WD_EINVAL},
      {"{\"v\":1,\"k\":\"use\",\"n\":\"a\",\"t\":1,\"iss\":\"\",\"id\":\"\",\"u\":0}", WD_EINVAL},
      {"{\"v\":1,\"k\":\"use\",\"n\":\"a\",\"t\":1,\"iss\":\"\",\"id\":\"x\\u0000y\",\"u\":0}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"use\",\"n\":\"a\",\"t\":1,\"iss\":\"\",\"id\":\"x\\ny\",\"u\":0}", WD_EINVAL},
      {"{\"v\":1,\"k\":\"use\",\"n\":\"a\",\"t\":1,\"iss\":\"\",\"id\":\"x\",\"u\":99999999999999999999}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"use\",\"n\":\"a\",\"n\":\"b\",\"t\":1,\"iss\":\"\",\"id\":\"x\",\"u\":0}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"use\",\"n\":\"a\",\"t\":1,\"iss\":\"\",\"id\":\"x\"}", WD_EINVAL},
      /* bans: values must be canonical, types known, text clean, times sane */
      {"{\"v\":1,\"k\":\"ban\",\"n\":\"a\",\"t\":1,\"l\":\"bans\",\"o\":\"add\",\"bt\":\"cidr\","
       "\"bv\":\"10.1.2.3/8\",\"c\":5,\"u\":0,\"r\":\"\",\"a\":\"\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"ban\",\"n\":\"a\",\"t\":1,\"l\":\"bans\",\"o\":\"add\",\"bt\":\"ip\","
       "\"bv\":\"::ffff:1.2.3.4\",\"c\":5,\"u\":0,\"r\":\"\",\"a\":\"\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"ban\",\"n\":\"a\",\"t\":1,\"l\":\"bans\",\"o\":\"nuke\",\"bt\":\"ip\","
       "\"bv\":\"1.2.3.4\",\"c\":5,\"u\":0,\"r\":\"\",\"a\":\"\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"ban\",\"n\":\"a\",\"t\":1,\"l\":\"all\",\"o\":\"add\",\"bt\":\"ip\","
       "\"bv\":\"1.2.3.4\",\"c\":5,\"u\":0,\"r\":\"\",\"a\":\"\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"ban\",\"n\":\"a\",\"t\":1,\"l\":\"bans\",\"o\":\"add\",\"bt\":\"asn\","
       "\"bv\":\"1\",\"c\":5,\"u\":0,\"r\":\"\",\"a\":\"\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"ban\",\"n\":\"a\",\"t\":1,\"l\":\"bans\",\"o\":\"add\",\"bt\":\"token\","
       "\"bv\":\"tok\",\"c\":0,\"u\":0,\"r\":\"\",\"a\":\"\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"ban\",\"n\":\"a\",\"t\":1,\"l\":\"bans\",\"o\":\"add\",\"bt\":\"token\","
       "\"bv\":\"tok\",\"c\":5,\"u\":-3,\"r\":\"\",\"a\":\"\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"ban\",\"n\":\"a\",\"t\":1,\"l\":\"bans\",\"o\":\"add\",\"bt\":\"token\","
       "\"bv\":\"tok\",\"c\":5,\"u\":0,\"r\":\"\\u0007bell\",\"a\":\"\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"ban\",\"n\":\"a\",\"t\":1,\"l\":\"bans\",\"o\":\"add\",\"bt\":\"token\","
       "\"bv\":\"tok\",\"c\":5.5,\"u\":0,\"r\":\"\",\"a\":\"\"}",
       WD_EINVAL},
      /* networks: host bits, lengths, families, geo bounds */
      {"{\"v\":1,\"k\":\"net\",\"n\":\"a\",\"t\":1,\"p\":\"live\",\"key\":\"k\",\"x\":0,"
       "\"ip\":\"203.0.113.7/24\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"net\",\"n\":\"a\",\"t\":1,\"p\":\"live\",\"key\":\"k\",\"x\":0,"
       "\"ip\":\"203.0.113.7\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"net\",\"n\":\"a\",\"t\":1,\"p\":\"live\",\"key\":\"k\",\"x\":0,"
       "\"ip\":\"0.0.0.0/0\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"net\",\"n\":\"a\",\"t\":1,\"p\":\"live\",\"key\":\"k\",\"x\":0,"
       "\"ip\":\"203.0.113.0/24\",\"lat\":91,\"lon\":0}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"net\",\"n\":\"a\",\"t\":1,\"p\":\"live\",\"key\":\"k\",\"x\":0,"
       "\"ip\":\"203.0.113.0/24\",\"lat\":10}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"net\",\"n\":\"a\",\"t\":1,\"p\":\"live\",\"key\":\"k\",\"x\":0,"
       "\"ip\":\"203.0.113.0/24\",\"cc\":\"fr\"}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"net\",\"n\":\"a\",\"t\":1,\"p\":\"live\",\"key\":\"k\",\"x\":0,"
       "\"ip\":\"203.0.113.0/24\",\"asn\":4294967296}",
       WD_EINVAL},
      {"{\"v\":1,\"k\":\"net\",\"n\":\"a\",\"t\":1,\"p\":\"\",\"key\":\"k\",\"x\":0,"
       "\"ip\":\"203.0.113.0/24\"}",
       WD_EINVAL},
      /* the wrong fields for the kind */
      {"{\"v\":1,\"k\":\"net\",\"n\":\"a\",\"t\":1,\"iss\":\"\",\"id\":\"x\",\"u\":0}", WD_EINVAL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    wd_cluster_msg_t m;
    memset(&m, 0xA5, sizeof m);
    char err[256];
    int rc = wd_cluster_msg_decode(cases[i].text, strlen(cases[i].text), &m, err, sizeof err);
    if (rc != cases[i].rc)
      fail_msg("case %zu: %s: got %d, want %d (%s)", i, cases[i].text, rc, cases[i].rc, err);
    assert_true(err[0] != '\0');
    assert_int_equal(((unsigned char *)&m)[0], 0xA5);
  }
  /* the good one among them decodes */
  const char *good = "{\"v\":1,\"k\":\"use\",\"n\":\"a\",\"t\":1,\"iss\":\"\",\"id\":\"x\",\"u\":0}";
  wd_cluster_msg_t m;
  assert_int_equal(wd_cluster_msg_decode(good, strlen(good), &m, NULL, 0), 0);
  /* oversized input is refused before parsing */
  size_t big = WD_CLUSTER_MSG_MAX + 1;
  char *p = malloc(big);
  assert_non_null(p);
  memset(p, ' ', big);
  assert_int_equal(wd_cluster_msg_decode(p, big, &m, NULL, 0), WD_ETOOBIG);
  free(p);
  /* encode refuses what decode would */
  wd_cluster_msg_t b = ban_msg();
  snprintf(b.ban.value, sizeof b.ban.value, "198.51.100.1/24");
  char buf[WD_CLUSTER_MSG_MAX];
  assert_int_equal(wd_cluster_msg_encode(&b, buf, sizeof buf, NULL), WD_EINVAL);
  b = ban_msg();
  snprintf(b.node, sizeof b.node, "bad.node");
  assert_int_equal(wd_cluster_msg_encode(&b, buf, sizeof buf, NULL), WD_EINVAL);
  assert_int_equal(wd_cluster_node_ok("edge-1_B"), 1);
  assert_int_equal(wd_cluster_node_ok(""), 0);
  assert_int_equal(wd_cluster_node_ok("a.b"), 0);
}

/* The decoder reads JSON itself: the grammar as jansson takes it, nothing more or less. */
static void json_grammar(void **state) {
  (void)state;
  wd_cluster_msg_t m;
  char err[256];
  /* accepted: whitespace anywhere, members in any order, escapes, integer lat/lon, -0 */
  const char *ok =
      " {\n\t\"t\" : 5 , \"k\":\"ban\",\"v\":1,\"n\":\"e-1\",\"l\":\"bans\",\"o\":\"add\","
      "\"bt\":\"token\",\"bv\":\"caf\\u00e9\\ud83d\\ude00\\/x\",\"c\":-0,\"u\":0,"
      "\"r\":\"tab\\\\t \\\"q\\\"\",\"a\":\"\\u0041dmin\",\"c\":1} ";
  /* ("c" twice: refused below; the same without it is fine) */
  assert_int_equal(wd_cluster_msg_decode(ok, strlen(ok), &m, err, sizeof err), WD_EINVAL);
  assert_non_null(strstr(err, "duplicate"));
  const char *ok2 =
      " {\n\t\"t\" : 5 , \"k\":\"ban\",\"v\":1,\"n\":\"e-1\",\"l\":\"bans\",\"o\":\"add\","
      "\"bt\":\"token\",\"bv\":\"caf\\u00e9\\ud83d\\ude00\\/x\",\"u\":0,"
      "\"r\":\"tab\\\\t \\\"q\\\"\",\"a\":\"\\u0041dmin\",\"c\":1} ";
  assert_int_equal(wd_cluster_msg_decode(ok2, strlen(ok2), &m, err, sizeof err), 0);
  assert_string_equal(m.ban.value, "caf\xc3\xa9\xf0\x9f\x98\x80/x");
  assert_string_equal(m.ban.reason, "tab\\t \"q\"");
  assert_string_equal(m.ban.actor, "Admin");
  assert_int_equal(m.ban.created, 1);
  assert_int_equal(m.time_ms, 5);
  const char *net = "{\"v\":1,\"k\":\"net\",\"n\":\"a\",\"t\":1,\"p\":\"live\",\"key\":\"k\","
                    "\"x\":0,\"ip\":\"203.0.113.0/24\",\"lat\":-0,\"lon\":1.5e2}";
  assert_int_equal(wd_cluster_msg_decode(net, strlen(net), &m, err, sizeof err), 0);
  assert_true(m.lat == 0 && m.lon == 150);

  static const struct {
    const char *text;
    int rc;
  } cases[] = {
      /* well-formed JSON of another version: unsupported, whatever it holds */
      {"{\"v\":2,\"x\":{\"a\":[1,{\"b\":null},true,-2.5e-3,\"\\u20ac\"]}}", WD_EUNSUPPORTED},
      /* a repeated key anywhere, an unknown escape, lone surrogates, a leading zero, a
       * trailing comma, a bare word, text after the object: not JSON, before any version */
      {"{\"v\":2,\"x\":{\"a\":1,\"a\":2}}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"\\q\"}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"\\ud800\"}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"\\udc00\"}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"\\ud800\\u0041\"}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"\\u0000\"}", WD_EINVAL},
      {"{\"v\":02}", WD_EINVAL},
      {"{\"v\":2,}", WD_EINVAL},
      {"{\"v\":2,\"x\":[1,]}", WD_EINVAL},
      {"{\"v\":2,\"x\":nul}", WD_EINVAL},
      {"{\"v\":2,\"x\":1.}", WD_EINVAL},
      {"{\"v\":2,\"x\":-}", WD_EINVAL},
      {"{\"v\":2,\"x\":1e400}", WD_EINVAL},
      {"{\"v\":2,\"x\":99999999999999999999}", WD_EINVAL},
      {"{\"v\":2} x", WD_EINVAL},
      {"{\"v\":2}{}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"a\tb\"}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"\xff\"}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"\xc0\xaf\"}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"\xed\xa0\x80\"}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"\xf4\x90\x80\x80\"}", WD_EINVAL},
      {"{\"v\":2,\"x\":\"\xe2\x82\"}", WD_EINVAL},
      {"{\"v\":2", WD_EINVAL},
      {"{\"v\":1.0}", WD_EINVAL},
      {"\"v\"", WD_EINVAL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int rc = wd_cluster_msg_decode(cases[i].text, strlen(cases[i].text), &m, err, sizeof err);
    if (rc != cases[i].rc)
      fail_msg("case %zu: %s: got %d, want %d (%s)", i, cases[i].text, rc, cases[i].rc, err);
    assert_true(err[0] != '\0');
  }
  /* a NUL byte is refused wherever it is */
  char nul[] = "{\"v\":2,\"x\":1\0}";
  assert_int_equal(wd_cluster_msg_decode(nul, sizeof nul - 1, &m, err, sizeof err), WD_EINVAL);
  /* the deepest nesting that fits in a message is read, not recursed into */
  char *deep = malloc(WD_CLUSTER_MSG_MAX + 1);
  assert_non_null(deep);
  size_t o = (size_t)snprintf(deep, WD_CLUSTER_MSG_MAX, "{\"v\":2,\"x\":");
  size_t levels = (WD_CLUSTER_MSG_MAX - o - 1) / 2;
  memset(deep + o, '[', levels);
  memset(deep + o + levels, ']', levels);
  deep[o + 2 * levels] = '}';
  assert_int_equal(wd_cluster_msg_decode(deep, o + 2 * levels + 1, &m, err, sizeof err),
                   WD_EUNSUPPORTED);
  free(deep);
}

/* ---- usage between nodes ---- */

static wd_tracker_t *tracker(void) {
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.seed = 42;
  c.shards = 4;
  wd_tracker_t *t = NULL;
  assert_int_equal(wd_tracker_create(&c, &t), 0);
  return t;
}

static wd_observation_t obs(const char *key, const char *ip4, int64_t ms, wd_geo_info_t *gi) {
  wd_observation_t o;
  wd_observation_init(&o);
  o.key = key;
  o.exp = NOW + 3600;
  o.now_ms = ms;
  o.family = 4;
  unsigned a, b, c, d;
  sscanf(ip4, "%u.%u.%u.%u", &a, &b, &c, &d);
  o.addr[0] = (uint8_t)a;
  o.addr[1] = (uint8_t)b;
  o.addr[2] = (uint8_t)c;
  o.addr[3] = (uint8_t)d;
  o.geo = gi;
  return o;
}

static void announce_first_sightings(void **state) {
  (void)state;
  wd_tracker_t *t = tracker();
  wd_verdict_t v;
  int ann = -1;
  int64_t ms = (int64_t)NOW * 1000;
  wd_observation_t o = obs("tok", "203.0.113.7", ms, NULL);
  assert_int_equal(wd_tracker_observe_ex(t, &o, &v, &ann), 0);
  assert_int_equal(ann, 1); /* first sighting */
  int announced = 0;
  /* a token seen at this node only: the same network every 2 s for 5 minutes, never again */
  for (int i = 1; i <= 150; i++) {
    o = obs("tok", i % 2 ? "203.0.113.9" : "203.0.113.7", ms + i * 2000, NULL);
    assert_int_equal(wd_tracker_observe_ex(t, &o, &v, &ann), 0);
    announced += ann;
  }
  assert_int_equal(announced, 0);
  /* once another node reported the token, its networks are announced again about twice a
   * 60 s window while in use, so that they never age out there */
  wd_observation_t r = obs("tok", "192.0.2.0", ms + 300000, NULL);
  assert_int_equal(wd_tracker_merge(t, &r), 0);
  announced = 0;
  for (int i = 151; i <= 300; i++) {
    o = obs("tok", "203.0.113.7", ms + i * 2000, NULL);
    assert_int_equal(wd_tracker_observe_ex(t, &o, &v, &ann), 0);
    announced += ann;
  }
  assert_in_range(announced, 8, 12);
  /* a second network is announced at once */
  o = obs("tok", "198.51.100.4", ms + 601000, NULL);
  assert_int_equal(wd_tracker_observe_ex(t, &o, &v, &ann), 0);
  assert_int_equal(ann, 1);
  o = obs("tok", "198.51.100.4", ms + 602000, NULL);
  assert_int_equal(wd_tracker_observe_ex(t, &o, &v, &ann), 0);
  assert_int_equal(ann, 0);
  /* plain observe still works and ann may be NULL */
  assert_int_equal(wd_tracker_observe_ex(t, &o, &v, NULL), 0);
  wd_tracker_destroy(t);
}

static void merge_counts_once(void **state) {
  (void)state;
  wd_tracker_t *t = tracker();
  int64_t ms = (int64_t)NOW * 1000;
  wd_geo_info_t g[5];
  const char *nets[5] = {"203.0.113.0", "198.51.100.0", "192.0.2.0", "100.64.1.0", "100.65.9.0"};
  for (int i = 0; i < 5; i++) {
    memset(&g[i], 0, sizeof g[i]);
    g[i].asn = 64500 + (uint32_t)i;
    g[i].lat = g[i].lon = NAN;
  }
  /* four networks seen at other nodes, one of them twice (two nodes saw it) */
  for (int i = 0; i < 4; i++) {
    wd_observation_t o = obs("shared-tok", nets[i], ms + i * 1000, &g[i]);
    assert_int_equal(wd_tracker_merge(t, &o), 0);
  }
  wd_observation_t o = obs("shared-tok", nets[2], ms + 4000, &g[2]);
  assert_int_equal(wd_tracker_merge(t, &o), 0);
  wd_detect_evidence_t ev;
  assert_int_equal(wd_tracker_get(t, "shared-tok", ms + 5000, &ev), 0);
  assert_int_equal(ev.verdict.networks, 4);
  assert_int_equal(ev.verdict.requests, 0); /* merges are not requests */
  /* a local request from a fifth network: the verdict counts all five */
  wd_verdict_t v;
  int ann = 0;
  o = obs("shared-tok", "100.65.9.77", ms + 6000, &g[4]);
  assert_int_equal(wd_tracker_observe_ex(t, &o, &v, &ann), 0);
  assert_int_equal(ann, 1);
  assert_int_equal(v.networks, 5);
  assert_int_equal(v.level, WD_VERDICT_SHARED);
  /* a network seen locally and merged from elsewhere counts once */
  wd_tracker_t *t2 = tracker();
  o = obs("tok2", "203.0.113.5", ms, &g[0]);
  assert_int_equal(wd_tracker_observe_ex(t2, &o, &v, NULL), 0);
  o = obs("tok2", "203.0.113.0", ms + 100, &g[0]);
  assert_int_equal(wd_tracker_merge(t2, &o), 0);
  assert_int_equal(wd_tracker_get(t2, "tok2", ms + 200, &ev), 0);
  assert_int_equal(ev.verdict.networks, 1);
  /* bad input and expired tokens */
  o.family = 5;
  assert_int_equal(wd_tracker_merge(t2, &o), WD_EINVAL);
  o = obs("tok3", "203.0.113.5", ms, NULL);
  o.exp = NOW - 1;
  assert_int_equal(wd_tracker_merge(t2, &o), 0);
  assert_int_equal(wd_tracker_get(t2, "tok3", ms, &ev), WD_ENOTOKEN);
  assert_int_equal(wd_tracker_merge(NULL, &o), WD_EINVAL);
  wd_tracker_destroy(t2);
  wd_tracker_destroy(t);
}

/* ---- catreplay=1 fail-closed ---- */

static void replay_closed(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_replay_t *rp = NULL;
  assert_int_equal(wd_replay_open(dir, &rp), 0);
  assert_int_equal(wd_replay_seen(rp, "iss", "known", NOW + 60, NOW), 0);
  wd_replay_set_closed(rp, 1);
  assert_int_equal(wd_replay_seen(rp, "iss", "known", NOW + 60, NOW), 1);   /* still a replay */
  assert_int_equal(wd_replay_seen(rp, "iss", "new", NOW + 60, NOW), WD_EUNAVAILABLE);
  assert_int_equal(wd_replay_seen(rp, "iss", "new", NOW + 60, NOW), WD_EUNAVAILABLE);
  wd_replay_set_closed(rp, 0);
  assert_int_equal(wd_replay_seen(rp, "iss", "new", NOW + 60, NOW), 0);  /* never recorded */
  assert_int_equal(wd_replay_seen(rp, "iss", "new", NOW + 60, NOW), 1);
  wd_replay_close(rp);
  tu_tmpdir_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(roundtrip_kinds),
      cmocka_unit_test(hostile_messages),
      cmocka_unit_test(json_grammar),
      cmocka_unit_test(announce_first_sightings),
      cmocka_unit_test(merge_counts_once),
      cmocka_unit_test(replay_closed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
