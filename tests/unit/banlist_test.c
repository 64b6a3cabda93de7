/* lib/ban/banlist.c and index.c: bans of each type, longest prefix, canonical values, expiry,
 * durability (reopen, kill -9), concurrent readers during growth, listing, audit, bad input. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "ban/index.h"
#include "testutil.h"
#include "warden/ban.h"
#include "warden/error.h"

#define NOW 1700000000

/* --- helpers --- */

static wd_banlist_t *open_list(const char *dir, int no_sync) {
  wd_banlist_opts_t o = {.map_size = (size_t)1 << 30, .no_sync = no_sync};
  wd_banlist_t *bl = NULL;
  assert_int_equal(wd_banlist_open(dir, &o, &bl), 0);
  assert_non_null(bl);
  return bl;
}

static wd_ban_change_t change(wd_ban_op_t op, wd_ban_type_t t, const char *value, int64_t until,
                              const char *reason) {
  wd_ban_change_t c;
  memset(&c, 0, sizeof c);
  c.op = op;
  c.ban.type = t;
  snprintf(c.ban.value, sizeof c.ban.value, "%s", value);
  c.ban.until = until;
  snprintf(c.ban.reason, sizeof c.ban.reason, "%s", reason ? reason : "");
  snprintf(c.ban.actor, sizeof c.ban.actor, "tester");
  return c;
}

/* Apply one change; returns its result (the batch itself must commit). */
static int apply1(wd_banlist_t *bl, wd_ban_op_t op, wd_ban_type_t t, const char *value,
                  int64_t until, const char *reason) {
  wd_ban_change_t c = change(op, t, value, until, reason);
  assert_int_equal(wd_banlist_apply(bl, &c, 1, NOW), 0);
  return c.result;
}

static wd_identity_t ident(const char *token_id, const char *subject) {
  wd_identity_t id;
  memset(&id, 0, sizeof id);
  snprintf(id.token_id, sizeof id.token_id, "%s", token_id ? token_id : "");
  snprintf(id.subject, sizeof id.subject, "%s", subject ? subject : "");
  return id;
}

static int check_tok(wd_banlist_t *bl, const char *tok, int64_t now) {
  wd_identity_t id = ident(tok, NULL);
  return wd_banlist_check(bl, &id, NULL, now, NULL);
}

/* --- names and canonical values --- */

static void type_names(void **state) {
  (void)state;
  wd_ban_type_t t;
  assert_int_equal(wd_ban_type_parse("cidr", &t), 0);
  assert_int_equal(t, WD_BAN_CIDR);
  assert_int_equal(wd_ban_type_parse("subject", &t), 0);
  assert_int_equal(t, WD_BAN_SUBJECT);
  assert_int_equal(wd_ban_type_parse("TOKEN", &t), WD_EINVAL);
  assert_int_equal(wd_ban_type_parse("asn", &t), WD_EINVAL);
  assert_int_equal(wd_ban_type_parse(NULL, &t), WD_EINVAL);
  assert_string_equal(wd_ban_type_name(WD_BAN_IP), "ip");
  assert_string_equal(wd_ban_type_name((wd_ban_type_t)9), "unknown");
}

static void canonical(void **state) {
  (void)state;
  char out[WD_BAN_VALUE_MAX];
  static const struct {
    wd_ban_type_t t;
    const char *in, *want;
  } ok[] = {
      {WD_BAN_TOKEN, "sha256:00ff", "sha256:00ff"},
      {WD_BAN_SUBJECT, "user@example.com", "user@example.com"},
      {WD_BAN_SUBJECT, "Zo\xc3\xab", "Zo\xc3\xab"},
      {WD_BAN_IP, "203.0.113.7", "203.0.113.7"},
      {WD_BAN_IP, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
      {WD_BAN_IP, "[2001:db8::1]", "2001:db8::1"},
      {WD_BAN_IP, "::ffff:198.51.100.9", "198.51.100.9"},
      {WD_BAN_CIDR, "10.1.2.3/8", "10.0.0.0/8"},
      {WD_BAN_CIDR, "10.1.2.3", "10.1.2.3/32"},
      {WD_BAN_CIDR, "192.168.77.200/20", "192.168.64.0/20"},
      {WD_BAN_CIDR, "0.0.0.0/0", "0.0.0.0/0"},
      {WD_BAN_CIDR, "2001:DB8:ffff::1/32", "2001:db8::/32"},
      {WD_BAN_CIDR, "2001:db8:abcd:12ff::/63", "2001:db8:abcd:12fe::/63"},
      {WD_BAN_CIDR, "::ffff:10.9.8.7/104", "10.0.0.0/8"},
      {WD_BAN_CIDR, "::ffff:10.9.8.7", "10.9.8.7/32"},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    assert_int_equal(wd_ban_canonical(ok[i].t, ok[i].in, out), 0);
    assert_string_equal(out, ok[i].want);
  }
  char longv[WD_BAN_VALUE_MAX + 1];
  memset(longv, 'a', WD_BAN_VALUE_MAX);
  longv[WD_BAN_VALUE_MAX] = '\0';
  static const struct {
    wd_ban_type_t t;
    const char *in;
  } bad[] = {
      {WD_BAN_TOKEN, ""},          {WD_BAN_TOKEN, "a\nb"},        {WD_BAN_SUBJECT, "\xff\xfe"},
      {WD_BAN_SUBJECT, "a\x7f"},   {WD_BAN_SUBJECT, "\xc0\xaf"},  {WD_BAN_IP, "10.0.0"},
      {WD_BAN_IP, "10.0.0.256"},   {WD_BAN_IP, "10.0.0.0/8"},     {WD_BAN_IP, "fe80::1%eth0"},
      {WD_BAN_IP, "example.com"},  {WD_BAN_CIDR, "10.0.0.0/33"},  {WD_BAN_CIDR, "::/129"},
      {WD_BAN_CIDR, "10.0.0.0/"},  {WD_BAN_CIDR, "10.0.0.0/-1"},  {WD_BAN_CIDR, "10.0.0.0/8x"},
      {WD_BAN_CIDR, "10.0.0.0/0008"}, {WD_BAN_CIDR, "/8"},        {WD_BAN_CIDR, "::ffff:10.0.0.0/95"},
      {(wd_ban_type_t)0, "x"},     {(wd_ban_type_t)5, "x"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(wd_ban_canonical(bad[i].t, bad[i].in, out), WD_EINVAL);
  assert_int_equal(wd_ban_canonical(WD_BAN_TOKEN, longv, out), WD_EINVAL);
  longv[WD_BAN_VALUE_MAX - 1] = '\0'; /* 159 bytes: the longest allowed */
  assert_int_equal(wd_ban_canonical(WD_BAN_TOKEN, longv, out), 0);
  assert_int_equal(wd_ban_canonical(WD_BAN_TOKEN, NULL, out), WD_EINVAL);
}

/* --- add, check, lift, per type --- */

static void add_check_lift(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_banlist_t *bl = open_list(dir, 1);
  wd_ban_t hit;
  wd_identity_t clean = ident("tok-clean", "alice");
  assert_int_equal(wd_banlist_check(bl, &clean, "198.51.100.1", NOW, &hit), 0);

  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_TOKEN, "tok-bad", 0, "shared on a forum"), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_SUBJECT, "mallory", 0, "restreamer"), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_IP, "2001:DB8::7", 0, "scraper"), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_CIDR, "203.0.113.99/24", 0, "bad network"), 0);

  wd_identity_t id = ident("tok-bad", "bob");
  assert_int_equal(wd_banlist_check(bl, &id, "198.51.100.1", NOW, &hit), 1);
  assert_int_equal(hit.type, WD_BAN_TOKEN);
  assert_string_equal(hit.value, "tok-bad");
  assert_string_equal(hit.reason, "shared on a forum");
  assert_string_equal(hit.actor, "tester");
  assert_int_equal(hit.created, NOW);
  assert_int_equal(hit.until, 0);

  id = ident("tok-ok", "mallory");
  assert_int_equal(wd_banlist_check(bl, &id, NULL, NOW, &hit), 1);
  assert_int_equal(hit.type, WD_BAN_SUBJECT);
  assert_string_equal(hit.reason, "restreamer");
  /* a subject ban does not match a token id of the same text, and vice versa */
  id = ident("mallory", "tok-bad");
  assert_int_equal(wd_banlist_check(bl, &id, NULL, NOW, NULL), 0);

  assert_int_equal(wd_banlist_check(bl, NULL, "2001:db8:0::7", NOW, &hit), 1);
  assert_int_equal(hit.type, WD_BAN_IP);
  assert_string_equal(hit.value, "2001:db8::7");
  assert_int_equal(wd_banlist_check(bl, NULL, "2001:db8::8", NOW, &hit), 0);

  assert_int_equal(wd_banlist_check(bl, &clean, "203.0.113.200", NOW, &hit), 1);
  assert_int_equal(hit.type, WD_BAN_CIDR);
  assert_string_equal(hit.value, "203.0.113.0/24");
  assert_string_equal(hit.reason, "bad network");
  assert_int_equal(wd_banlist_check(bl, &clean, "::ffff:203.0.113.5", NOW, NULL), 1);
  assert_int_equal(wd_banlist_check(bl, &clean, "203.0.114.1", NOW, NULL), 0);

  /* get, by any spelling of the value */
  wd_ban_t got;
  assert_int_equal(wd_banlist_get(bl, WD_BAN_CIDR, "203.0.113.1/24", &got), 0);
  assert_string_equal(got.reason, "bad network");
  assert_int_equal(wd_banlist_get(bl, WD_BAN_IP, "2001:db8:0:0::7", &got), 0);
  assert_int_equal(wd_banlist_get(bl, WD_BAN_TOKEN, "tok-none", &got), WD_ENOTOKEN);
  assert_int_equal(wd_banlist_get(bl, WD_BAN_IP, "not-an-ip", &got), WD_EINVAL);

  wd_banlist_stats_t st;
  wd_banlist_stats(bl, &st);
  for (int t = WD_BAN_TOKEN; t <= WD_BAN_CIDR; t++)
    assert_int_equal(st.bans[t], 1);
  assert_true(st.index_bytes > 1024 * 12);
  assert_true(st.store_bytes > 0);

  /* lift each; lifting again is ERANGE */
  assert_int_equal(apply1(bl, WD_BAN_LIFT, WD_BAN_TOKEN, "tok-bad", 0, "appeal"), 0);
  assert_int_equal(apply1(bl, WD_BAN_LIFT, WD_BAN_SUBJECT, "mallory", 0, NULL), 0);
  assert_int_equal(apply1(bl, WD_BAN_LIFT, WD_BAN_IP, "2001:db8::7", 0, NULL), 0);
  assert_int_equal(apply1(bl, WD_BAN_LIFT, WD_BAN_CIDR, "203.0.113.0/24", 0, NULL), 0);
  assert_int_equal(apply1(bl, WD_BAN_LIFT, WD_BAN_TOKEN, "tok-bad", 0, NULL), WD_ERANGE);
  id = ident("tok-bad", "mallory");
  assert_int_equal(wd_banlist_check(bl, &id, "2001:db8::7", NOW, NULL), 0);
  assert_int_equal(wd_banlist_check(bl, &id, "203.0.113.200", NOW, NULL), 0);
  wd_banlist_stats(bl, &st);
  for (int t = WD_BAN_TOKEN; t <= WD_BAN_CIDR; t++)
    assert_int_equal(st.bans[t], 0);

  /* order when several apply: token first */
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_SUBJECT, "mallory", 0, "s"), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_TOKEN, "tok-bad", 0, "t"), 0);
  assert_int_equal(wd_banlist_check(bl, &id, NULL, NOW, &hit), 1);
  assert_int_equal(hit.type, WD_BAN_TOKEN);

  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

/* --- expiry --- */

static void expiry(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_banlist_t *bl = open_list(dir, 1);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_TOKEN, "tok-10", NOW + 10, NULL), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_TOKEN, "tok-20", NOW + 20, NULL), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_TOKEN, "tok-forever", 0, NULL), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_SUBJECT, "sub-10", NOW + 10, NULL), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_IP, "192.0.2.1", NOW + 10, NULL), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_CIDR, "192.0.2.0/24", NOW + 10, NULL), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_CIDR, "192.0.0.0/16", NOW + 20, "wide"), 0);
  /* an until already past is refused */
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_TOKEN, "tok-old", NOW, NULL), WD_EINVAL);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_TOKEN, "tok-old", -5, NULL), WD_EINVAL);

  wd_identity_t sub = ident("x", "sub-10");
  assert_int_equal(check_tok(bl, "tok-10", NOW + 9), 1);
  assert_int_equal(check_tok(bl, "tok-10", NOW + 10), 0); /* expired bans never match */
  assert_int_equal(wd_banlist_check(bl, &sub, NULL, NOW + 9, NULL), 1);
  assert_int_equal(wd_banlist_check(bl, &sub, NULL, NOW + 10, NULL), 0);
  wd_ban_t hit;
  assert_int_equal(wd_banlist_check(bl, NULL, "192.0.2.1", NOW + 9, &hit), 1);
  assert_int_equal(hit.type, WD_BAN_IP);
  /* at +10 the IP and the /24 are gone; the /16 still covers the address */
  assert_int_equal(wd_banlist_check(bl, NULL, "192.0.2.1", NOW + 10, &hit), 1);
  assert_string_equal(hit.value, "192.0.0.0/16");
  assert_int_equal(wd_banlist_check(bl, NULL, "192.0.2.1", NOW + 20, NULL), 0);

  assert_int_equal(wd_banlist_expire(bl, NOW + 5), 0);
  assert_int_equal(wd_banlist_expire(bl, NOW + 10), 4);
  wd_banlist_stats_t st;
  wd_banlist_stats(bl, &st);
  assert_int_equal(st.bans[WD_BAN_TOKEN], 2);
  assert_int_equal(st.bans[WD_BAN_SUBJECT], 0);
  assert_int_equal(st.bans[WD_BAN_IP], 0);
  assert_int_equal(st.bans[WD_BAN_CIDR], 1);
  assert_int_equal(wd_banlist_get(bl, WD_BAN_TOKEN, "tok-10", &hit), WD_ENOTOKEN);
  assert_int_equal(wd_banlist_get(bl, WD_BAN_TOKEN, "tok-20", &hit), 0);
  assert_int_equal(wd_banlist_check(bl, NULL, "192.0.2.1", NOW + 15, &hit), 1);
  assert_string_equal(hit.value, "192.0.0.0/16");

  /* extending a ban moves its expiry; the old one must not purge it */
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_TOKEN, "tok-20", NOW + 100, "extended"), 0);
  assert_int_equal(wd_banlist_expire(bl, NOW + 50), 1); /* the /16 */
  assert_int_equal(check_tok(bl, "tok-20", NOW + 99), 1);
  assert_int_equal(check_tok(bl, "tok-forever", NOW + 1000000), 1);
  /* shortening too */
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_TOKEN, "tok-20", NOW + 30, NULL), 0);
  assert_int_equal(check_tok(bl, "tok-20", NOW + 31), 0);
  assert_int_equal(wd_banlist_expire(bl, NOW + 30), 1);
  assert_int_equal(wd_banlist_expire(bl, NOW + 1000000), 0);
  wd_banlist_stats(bl, &st);
  assert_int_equal(st.bans[WD_BAN_TOKEN], 1);

  /* many expiring bans: more than one purge transaction */
  enum { N = 20000 };
  wd_ban_change_t *cs = calloc(N, sizeof *cs);
  assert_non_null(cs);
  for (int i = 0; i < N; i++) {
    char v[32];
    snprintf(v, sizeof v, "bulk-%d", i);
    cs[i] = change(WD_BAN_ADD, WD_BAN_TOKEN, v, NOW + 200 + i % 7, NULL);
  }
  assert_int_equal(wd_banlist_apply(bl, cs, N, NOW), 0);
  for (int i = 0; i < N; i++)
    assert_int_equal(cs[i].result, 0);
  assert_int_equal(check_tok(bl, "bulk-77", NOW + 199), 1);
  assert_int_equal(wd_banlist_expire(bl, NOW + 210), N);
  assert_int_equal(check_tok(bl, "bulk-77", NOW + 199), 0);
  wd_banlist_stats(bl, &st);
  assert_int_equal(st.bans[WD_BAN_TOKEN], 1);
  free(cs);
  wd_banlist_close(bl);

  /* purged bans stay purged after a reopen */
  bl = open_list(dir, 1);
  wd_banlist_stats(bl, &st);
  assert_int_equal(st.bans[WD_BAN_TOKEN], 1);
  assert_int_equal(check_tok(bl, "tok-forever", NOW), 1);
  assert_int_equal(check_tok(bl, "bulk-5", NOW), 0);
  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

/* --- longest prefix --- */

static void longest_prefix(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_banlist_t *bl = open_list(dir, 1);
  wd_ban_change_t cs[] = {
      change(WD_BAN_ADD, WD_BAN_CIDR, "10.0.0.0/8", 0, "a8"),
      change(WD_BAN_ADD, WD_BAN_CIDR, "10.1.0.0/16", 0, "b16"),
      change(WD_BAN_ADD, WD_BAN_CIDR, "10.1.2.0/24", NOW + 100, "c24"),
      change(WD_BAN_ADD, WD_BAN_CIDR, "10.1.2.128/25", 0, "d25"),
      change(WD_BAN_ADD, WD_BAN_CIDR, "10.200.0.0/16", 0, "e16"),
      change(WD_BAN_ADD, WD_BAN_IP, "10.1.2.3", 0, "ip"),
      change(WD_BAN_ADD, WD_BAN_CIDR, "2001:db8::/32", 0, "v6-32"),
      change(WD_BAN_ADD, WD_BAN_CIDR, "2001:db8:1::/48", 0, "v6-48"),
      change(WD_BAN_ADD, WD_BAN_CIDR, "2001:db8:1:2::/64", 0, "v6-64"),
      change(WD_BAN_ADD, WD_BAN_CIDR, "2001:db8:1:2:3::/80", 0, "v6-80"),
  };
  size_t n = sizeof cs / sizeof cs[0];
  assert_int_equal(wd_banlist_apply(bl, cs, n, NOW), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(cs[i].result, 0);
  static const struct {
    const char *ip, *reason;
  } want[] = {
      {"10.1.2.3", "ip"},          {"10.1.2.4", "c24"},     {"10.1.2.200", "d25"},
      {"10.1.3.1", "b16"},         {"10.2.0.1", "a8"},      {"10.200.9.9", "e16"},
      {"::ffff:10.1.2.9", "c24"},  {"11.0.0.1", NULL},      {"9.255.255.255", NULL},
      {"2001:db8::1", "v6-32"},    {"2001:db8:1::1", "v6-48"}, {"2001:db8:1:2::1", "v6-64"},
      {"2001:db8:1:2:3::9", "v6-80"}, {"2001:db8:1:2:4::9", "v6-64"}, {"2001:db9::1", NULL},
      {"::a01:203", NULL}, /* an IPv6 address whose low bits spell 10.1.2.3 is not IPv4 */
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    wd_ban_t hit;
    int r = wd_banlist_check(bl, NULL, want[i].ip, NOW, &hit);
    if (!want[i].reason) {
      assert_int_equal(r, 0);
      continue;
    }
    assert_int_equal(r, 1);
    assert_string_equal(hit.reason, want[i].reason);
  }
  /* when the longest has expired, the next one matches */
  wd_ban_t hit;
  assert_int_equal(wd_banlist_check(bl, NULL, "10.1.2.4", NOW + 100, &hit), 1);
  assert_string_equal(hit.reason, "b16");
  /* lifting the /48 exposes the /32 */
  assert_int_equal(apply1(bl, WD_BAN_LIFT, WD_BAN_CIDR, "2001:db8:1::/48", 0, NULL), 0);
  assert_int_equal(wd_banlist_check(bl, NULL, "2001:db8:1::1", NOW, &hit), 1);
  assert_string_equal(hit.reason, "v6-32");
  /* replacing a prefix updates its reason and expiry */
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_CIDR, "10.0.0.0/8", NOW + 5, "a8-again"), 0);
  assert_int_equal(wd_banlist_check(bl, NULL, "10.9.9.9", NOW, &hit), 1);
  assert_string_equal(hit.reason, "a8-again");
  assert_int_equal(wd_banlist_check(bl, NULL, "10.9.9.9", NOW + 5, NULL), 0);
  wd_banlist_close(bl);

  /* the prefixes come back after a reopen */
  bl = open_list(dir, 1);
  assert_int_equal(wd_banlist_check(bl, NULL, "2001:db8:1:2:3::9", NOW, &hit), 1);
  assert_string_equal(hit.reason, "v6-80");
  assert_int_equal(wd_banlist_check(bl, NULL, "10.1.2.200", NOW, &hit), 1);
  assert_string_equal(hit.reason, "d25");
  assert_int_equal(wd_banlist_check(bl, NULL, "2001:db8:1::1", NOW, &hit), 1);
  assert_string_equal(hit.reason, "v6-32");

  /* many prefixes at many lengths against a brute-force reference */
  enum { NP = 600 };
  wd_ban_change_t *many = calloc(NP, sizeof *many);
  assert_non_null(many);
  srand(7);
  for (int i = 0; i < NP; i++) {
    char v[64];
    int len = 8 + rand() % 25;
    snprintf(v, sizeof v, "172.%d.%d.%d/%d", 16 + rand() % 4, rand() % 256, rand() % 256, len);
    many[i] = change(WD_BAN_ADD, WD_BAN_CIDR, v, 0, v);
  }
  assert_int_equal(wd_banlist_apply(bl, many, NP, NOW), 0);
  for (int probe = 0; probe < 1000; probe++) {
    char ip[32];
    snprintf(ip, sizeof ip, "172.%d.%d.%d", 16 + rand() % 4, rand() % 256, rand() % 256);
    /* reference: longest prefix among the added ones that contains ip */
    int best = -1;
    char bestv[WD_BAN_VALUE_MAX] = "";
    for (int i = 0; i < NP; i++) {
      char canon[WD_BAN_VALUE_MAX], probe_canon[WD_BAN_VALUE_MAX], spec[64];
      assert_int_equal(wd_ban_canonical(WD_BAN_CIDR, many[i].ban.value, canon), 0);
      int len = atoi(strchr(canon, '/') + 1);
      snprintf(spec, sizeof spec, "%s/%d", ip, len);
      assert_int_equal(wd_ban_canonical(WD_BAN_CIDR, spec, probe_canon), 0);
      if (strcmp(canon, probe_canon) == 0 && len > best) {
        best = len;
        snprintf(bestv, sizeof bestv, "%s", canon);
      }
    }
    int r = wd_banlist_check(bl, NULL, ip, NOW, &hit);
    if (best < 0) {
      assert_int_equal(r, 0);
    } else {
      assert_int_equal(r, 1);
      assert_string_equal(hit.value, bestv);
    }
  }
  free(many);
  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

/* --- durability --- */

static void reopen_keeps_bans(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_banlist_t *bl = open_list(dir, 0);
  enum { N = 3000 };
  wd_ban_change_t *cs = calloc(N, sizeof *cs);
  assert_non_null(cs);
  for (int i = 0; i < N; i++) {
    char v[40];
    snprintf(v, sizeof v, "persist-%d", i);
    cs[i] = change(WD_BAN_ADD, i % 3 ? WD_BAN_TOKEN : WD_BAN_SUBJECT, v, i % 2 ? NOW + 1000 : 0, v);
  }
  assert_int_equal(wd_banlist_apply(bl, cs, N, NOW), 0);
  assert_int_equal(apply1(bl, WD_BAN_ADD, WD_BAN_IP, "198.51.100.77", 0, "ip"), 0);
  assert_int_equal(apply1(bl, WD_BAN_LIFT, WD_BAN_TOKEN, "persist-1", 0, NULL), 0);
  wd_banlist_close(bl);

  bl = open_list(dir, 0);
  for (int i = 0; i < N; i++) {
    wd_identity_t id = i % 3 ? ident(cs[i].ban.value, NULL) : ident("t", cs[i].ban.value);
    wd_ban_t hit;
    int want = i != 1;
    assert_int_equal(wd_banlist_check(bl, &id, NULL, NOW + 1, &hit), want);
    if (want)
      assert_string_equal(hit.reason, cs[i].ban.value);
    if (i % 2)
      assert_int_equal(wd_banlist_check(bl, &id, NULL, NOW + 1000, NULL), 0);
  }
  assert_int_equal(wd_banlist_check(bl, NULL, "198.51.100.77", NOW, NULL), 1);
  wd_banlist_stats_t st;
  wd_banlist_stats(bl, &st);
  assert_int_equal(st.bans[WD_BAN_TOKEN] + st.bans[WD_BAN_SUBJECT], N - 1);
  assert_int_equal(st.bans[WD_BAN_IP], 1);
  free(cs);
  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

/* A child applies batches and reports each acknowledged one; it is killed with SIGKILL right
 * after an apply returns. Every acknowledged ban must be there when the parent reopens. */
static void kill9_keeps_acknowledged(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  enum { BATCH = 40, MAXB = 400, KILL_AFTER = 6 };
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    wd_banlist_opts_t o = {.map_size = (size_t)1 << 30};
    wd_banlist_t *bl;
    if (wd_banlist_open(dir, &o, &bl) != 0)
      _exit(3);
    wd_ban_change_t cs[BATCH];
    for (int b = 0; b < MAXB; b++) {
      for (int i = 0; i < BATCH; i++) {
        char v[40];
        snprintf(v, sizeof v, "k9-%d-%d", b, i);
        cs[i] = change(WD_BAN_ADD, i % 2 ? WD_BAN_TOKEN : WD_BAN_IP, "", 0, "kill");
        if (i % 2)
          snprintf(cs[i].ban.value, sizeof cs[i].ban.value, "%s", v);
        else
          snprintf(cs[i].ban.value, sizeof cs[i].ban.value, "10.%d.%d.%d", b / 256, b % 256, i);
      }
      if (wd_banlist_apply(bl, cs, BATCH, NOW) != 0)
        _exit(4);
      int32_t ack = b;
      if (write(fds[1], &ack, sizeof ack) != sizeof ack)
        _exit(5);
    }
    _exit(0);
  }
  close(fds[1]);
  int32_t ack = -1, last = -1;
  for (int got = 0; got < KILL_AFTER; got++) {
    assert_int_equal(read(fds[0], &ack, sizeof ack), sizeof ack);
    last = ack;
  }
  kill(pid, SIGKILL);
  /* acknowledgements already in the pipe also count */
  while (read(fds[0], &ack, sizeof ack) == sizeof ack)
    last = ack;
  close(fds[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  assert_true(last >= KILL_AFTER - 1);

  wd_banlist_t *bl = open_list(dir, 0);
  for (int b = 0; b <= last; b++)
    for (int i = 0; i < BATCH; i++) {
      char v[40];
      if (i % 2) {
        snprintf(v, sizeof v, "k9-%d-%d", b, i);
        assert_int_equal(check_tok(bl, v, NOW), 1);
      } else {
        snprintf(v, sizeof v, "10.%d.%d.%d", b / 256, b % 256, i);
        assert_int_equal(wd_banlist_check(bl, NULL, v, NOW, NULL), 1);
      }
    }
  /* the store is consistent: a whole batch or none of it beyond the last acknowledgement */
  wd_banlist_stats_t st;
  wd_banlist_stats(bl, &st);
  assert_int_equal((st.bans[WD_BAN_TOKEN] + st.bans[WD_BAN_IP]) % BATCH, 0);
  assert_true(st.bans[WD_BAN_TOKEN] + st.bans[WD_BAN_IP] >= (uint64_t)(last + 1) * BATCH);
  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

/* --- concurrent readers while the writer grows the table --- */

typedef struct reader_arg {
  wd_banlist_t *bl;
  _Atomic int *acked;      /* bans 0..acked-1 are acknowledged */
  _Atomic int *stop;
  _Atomic long *misses;    /* false negatives */
  _Atomic long *false_pos; /* never-banned values reported banned */
  _Atomic long *checks;
  unsigned seed;
} reader_arg_t;

static void *reader(void *p) {
  reader_arg_t *a = p;
  unsigned s = a->seed;
  while (!atomic_load(a->stop)) {
    int k = atomic_load(a->acked);
    if (k <= 0)
      continue;
    int i = (int)(rand_r(&s) % (unsigned)k);
    char v[40], ip[48];
    snprintf(v, sizeof v, "conc-%d", i);
    wd_identity_t id = ident(v, NULL);
    if (wd_banlist_check(a->bl, &id, NULL, NOW, NULL) != 1)
      atomic_fetch_add(a->misses, 1);
    snprintf(ip, sizeof ip, "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
    if (i % 4 == 0 && wd_banlist_check(a->bl, NULL, ip, NOW, NULL) != 1)
      atomic_fetch_add(a->misses, 1);
    snprintf(v, sizeof v, "never-%d", i);
    id = ident(v, v);
    if (wd_banlist_check(a->bl, &id, "192.0.2.55", NOW, NULL) != 0)
      atomic_fetch_add(a->false_pos, 1);
    if (i % 8 == 0) { /* inside a CIDR banned with this batch or earlier */
      snprintf(ip, sizeof ip, "100.%d.%d.9", (i / 8) / 256, (i / 8) % 256);
      if (wd_banlist_check(a->bl, NULL, ip, NOW, NULL) != 1)
        atomic_fetch_add(a->misses, 1);
    }
    atomic_fetch_add(a->checks, 1);
  }
  return NULL;
}

static void concurrent_readers(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_banlist_t *bl = open_list(dir, 1);
  enum { NREADERS = 3, TOTAL = 12000, BATCH = 400 };
  _Atomic int acked = 0, stop = 0;
  _Atomic long misses = 0, false_pos = 0, checks = 0;
  pthread_t th[NREADERS];
  reader_arg_t args[NREADERS];
  for (int r = 0; r < NREADERS; r++) {
    args[r] = (reader_arg_t){bl, &acked, &stop, &misses, &false_pos, &checks, (unsigned)r + 1};
    assert_int_equal(pthread_create(&th[r], NULL, reader, &args[r]), 0);
  }
  wd_ban_change_t *cs = calloc(3 * BATCH, sizeof *cs);
  assert_non_null(cs);
  uint64_t cap0 = 0;
  for (int base = 0; base < TOTAL; base += BATCH) {
    size_t n = 0;
    for (int i = base; i < base + BATCH; i++) {
      char v[48];
      snprintf(v, sizeof v, "conc-%d", i);
      cs[n++] = change(WD_BAN_ADD, WD_BAN_TOKEN, v, 0, NULL);
      if (i % 4 == 0) {
        snprintf(v, sizeof v, "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
        cs[n++] = change(WD_BAN_ADD, WD_BAN_IP, v, 0, NULL);
      }
      if (i % 8 == 0) {
        snprintf(v, sizeof v, "100.%d.%d.0/24", (i / 8) / 256, (i / 8) % 256);
        cs[n++] = change(WD_BAN_ADD, WD_BAN_CIDR, v, 0, NULL);
      }
      /* churn: short-lived bans that get lifted again, leaving tombstones */
      snprintf(v, sizeof v, "churn-%d", i);
      cs[n++] = change(WD_BAN_ADD, WD_BAN_SUBJECT, v, 0, NULL);
    }
    assert_int_equal(wd_banlist_apply(bl, cs, n, NOW), 0);
    for (size_t i = 0; i < n; i++)
      assert_int_equal(cs[i].result, 0);
    atomic_store(&acked, base + BATCH);
    n = 0;
    for (int i = base; i < base + BATCH; i++) {
      char v[48];
      snprintf(v, sizeof v, "churn-%d", i);
      cs[n++] = change(WD_BAN_LIFT, WD_BAN_SUBJECT, v, 0, NULL);
    }
    assert_int_equal(wd_banlist_apply(bl, cs, n, NOW), 0);
    if (base == 0)
      cap0 = 1024;
  }
  /* let the readers run against the final table too */
  long c0 = atomic_load(&checks);
  while (atomic_load(&checks) < c0 + 2000)
    sched_yield();
  atomic_store(&stop, 1);
  for (int r = 0; r < NREADERS; r++)
    pthread_join(th[r], NULL);
  assert_int_equal(atomic_load(&misses), 0);
  assert_int_equal(atomic_load(&false_pos), 0);
  assert_true(atomic_load(&checks) > 1000);
  (void)cap0;
  wd_banlist_stats_t st;
  wd_banlist_stats(bl, &st);
  assert_int_equal(st.bans[WD_BAN_TOKEN], TOTAL);
  assert_int_equal(st.bans[WD_BAN_SUBJECT], 0);
  assert_int_equal(st.bans[WD_BAN_CIDR], TOTAL / 8);
  /* the table grew well past its initial 1024 slots */
  assert_true(st.index_bytes > 16384 * 12);
  free(cs);
  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

/* --- the index as a multiset: two bans with one hash --- */

static void index_collisions(void **state) {
  (void)state;
  wd__banidx_t *ix;
  assert_int_equal(wd__banidx_create(0, &ix), 0);
  uint64_t k = 0x1234567890abcdefULL;
  assert_int_equal(wd__banidx_reserve(ix, 4, NOW), 0);
  wd__banidx_insert(ix, k, 0);
  wd__banidx_insert(ix, k, NOW + 10);
  assert_int_equal(wd__banidx_count(ix), 2);
  assert_int_equal(wd__banidx_has(ix, k, NOW + 100), 1);
  wd__banidx_remove(ix, k, 0); /* the other one stays */
  assert_int_equal(wd__banidx_has(ix, k, NOW), 1);
  assert_int_equal(wd__banidx_has(ix, k, NOW + 10), 0);
  wd__banidx_update(ix, k, NOW + 10, NOW + 50);
  assert_int_equal(wd__banidx_has(ix, k, NOW + 49), 1);
  wd__banidx_remove(ix, k, NOW + 50);
  assert_int_equal(wd__banidx_has(ix, k, NOW), 0);
  assert_int_equal(wd__banidx_count(ix), 0);
  /* growth and tombstone clean-up keep every live key */
  for (uint64_t i = 0; i < 50000; i++) {
    assert_int_equal(wd__banidx_reserve(ix, 1, NOW), 0);
    wd__banidx_insert(ix, wd__banidx_key(ix, 1, &i, sizeof i), 0);
    if (i % 2) {
      uint64_t j = i - 1;
      wd__banidx_remove(ix, wd__banidx_key(ix, 1, &j, sizeof j), 0);
    }
  }
  for (uint64_t i = 0; i < 50000; i++)
    assert_int_equal(wd__banidx_has(ix, wd__banidx_key(ix, 1, &i, sizeof i), NOW), (int)(i % 2));
  assert_int_equal(wd__banidx_count(ix), 25000);
  assert_true(wd__banidx_capacity(ix) >= 32768 && wd__banidx_capacity(ix) <= 65536);
  assert_int_equal(wd__banidx_exp(0), 0);
  assert_int_equal(wd__banidx_exp((int64_t)1 << 40), 0);
  assert_int_equal(wd__banidx_exp(NOW), NOW);
  wd__banidx_destroy(ix);
}

/* --- listing --- */

typedef struct collect {
  char vals[64][WD_BAN_VALUE_MAX + 8];
  size_t n;
  size_t stop_at; /* return 99 at this many, 0: never */
} collect_t;

static int collect_fn(const wd_ban_t *b, void *arg) {
  collect_t *c = arg;
  if (c->n < 64)
    snprintf(c->vals[c->n], sizeof c->vals[0], "%s:%s", wd_ban_type_name(b->type), b->value);
  c->n++;
  return c->stop_at && c->n == c->stop_at ? 99 : 0;
}

static void listing(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_banlist_t *bl = open_list(dir, 1);
  wd_ban_change_t cs[25];
  size_t n = 0;
  for (int i = 0; i < 12; i++) {
    char v[32];
    snprintf(v, sizeof v, "tok-%02d", i);
    cs[n++] = change(WD_BAN_ADD, WD_BAN_TOKEN, v, 0, NULL);
  }
  for (int i = 0; i < 5; i++) {
    char v[32];
    snprintf(v, sizeof v, "user-%d", i);
    cs[n++] = change(WD_BAN_ADD, WD_BAN_SUBJECT, v, 0, NULL);
  }
  for (int i = 0; i < 5; i++) {
    char v[32];
    snprintf(v, sizeof v, "192.0.2.%d", i + 1);
    cs[n++] = change(WD_BAN_ADD, WD_BAN_IP, v, 0, NULL);
  }
  cs[n++] = change(WD_BAN_ADD, WD_BAN_CIDR, "10.0.0.0/8", 0, NULL);
  cs[n++] = change(WD_BAN_ADD, WD_BAN_CIDR, "2001:db8::/32", 0, NULL);
  cs[n++] = change(WD_BAN_ADD, WD_BAN_CIDR, "172.16.0.0/12", 0, NULL);
  assert_int_equal(n, 25);
  assert_int_equal(wd_banlist_apply(bl, cs, n, NOW), 0);

  /* all, in pages of 10 */
  collect_t all = {0};
  char *cursor = NULL;
  int pages = 0;
  do {
    char *next = NULL;
    size_t before = all.n;
    assert_int_equal(wd_banlist_list(bl, 0, NULL, cursor, 10, collect_fn, &all, &next), 0);
    free(cursor);
    cursor = next;
    pages++;
    assert_true(all.n - before <= 10);
  } while (cursor && pages < 10);
  assert_int_equal(pages, 3);
  assert_int_equal(all.n, 25);
  assert_string_equal(all.vals[0], "token:tok-00");
  assert_string_equal(all.vals[11], "token:tok-11");
  assert_string_equal(all.vals[12], "subject:user-0");
  assert_string_equal(all.vals[17], "ip:192.0.2.1");
  assert_string_equal(all.vals[22], "cidr:10.0.0.0/8");
  for (size_t i = 0; i < all.n; i++)
    for (size_t j = i + 1; j < all.n; j++)
      assert_string_not_equal(all.vals[i], all.vals[j]);

  /* exactly one page: no cursor */
  collect_t one = {0};
  char *next = (char *)1;
  assert_int_equal(wd_banlist_list(bl, WD_BAN_SUBJECT, NULL, NULL, 5, collect_fn, &one, &next), 0);
  assert_int_equal(one.n, 5);
  assert_null(next);

  /* by type and prefix */
  collect_t t = {0};
  assert_int_equal(wd_banlist_list(bl, WD_BAN_TOKEN, "tok-1", NULL, 100, collect_fn, &t, &next), 0);
  assert_int_equal(t.n, 2);
  assert_string_equal(t.vals[0], "token:tok-10");
  assert_null(next);
  collect_t c = {0};
  assert_int_equal(wd_banlist_list(bl, WD_BAN_CIDR, NULL, NULL, 100, collect_fn, &c, NULL), 0);
  assert_int_equal(c.n, 3);
  collect_t p = {0};
  assert_int_equal(wd_banlist_list(bl, 0, "1", NULL, 100, collect_fn, &p, NULL), 0);
  assert_int_equal(p.n, 7); /* the five 192.0.2.x, 10.0.0.0/8, 172.16.0.0/12 */
  /* paging within a type and prefix, in pages of 2 */
  collect_t tp = {0};
  cursor = NULL;
  pages = 0;
  do {
    assert_int_equal(wd_banlist_list(bl, WD_BAN_IP, "192.0.2.", cursor, 2, collect_fn, &tp, &next), 0);
    free(cursor);
    cursor = next;
    pages++;
  } while (cursor && pages < 10);
  assert_int_equal(tp.n, 5);
  assert_int_equal(pages, 3);
  assert_string_equal(tp.vals[4], "ip:192.0.2.5");

  /* fn stops early: its value comes back and the cursor resumes after the last one seen */
  collect_t st = {.stop_at = 3};
  assert_int_equal(wd_banlist_list(bl, 0, NULL, NULL, 10, collect_fn, &st, &next), 99);
  assert_non_null(next);
  collect_t rest = {0};
  assert_int_equal(wd_banlist_list(bl, WD_BAN_TOKEN, NULL, next, 100, collect_fn, &rest, NULL), 0);
  assert_int_equal(rest.n, 9);
  assert_string_equal(rest.vals[0], "token:tok-03");
  free(next);

  /* bad arguments */
  collect_t bad = {0};
  assert_int_equal(wd_banlist_list(bl, (wd_ban_type_t)7, NULL, NULL, 10, collect_fn, &bad, &next), WD_EINVAL);
  assert_int_equal(wd_banlist_list(bl, 0, NULL, "zz-not-hex", 10, collect_fn, &bad, &next), WD_EINVAL);
  assert_int_equal(wd_banlist_list(bl, 0, NULL, "", 10, collect_fn, &bad, &next), WD_EINVAL);
  assert_int_equal(wd_banlist_list(bl, 0, NULL, NULL, 10, NULL, &bad, &next), WD_EINVAL);
  assert_int_equal(bad.n, 0);
  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

/* --- audit log --- */

typedef struct lines {
  json_t *arr;
} lines_t;

static int audit_fn(const char *line, void *arg) {
  lines_t *l = arg;
  json_error_t err;
  json_t *j = json_loads(line, 0, &err);
  assert_non_null(j);
  assert_null(strchr(line, '\n'));
  json_array_append_new(l->arr, j);
  return 0;
}

static void audit_log(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_banlist_t *bl = open_list(dir, 1);
  wd_ban_change_t c = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-evil", NOW + 60, "shared 40 times");
  snprintf(c.ban.actor, sizeof c.ban.actor, "admin:ops");
  c.evidence = "{\"score\": 0.93, \"ips\": [\"192.0.2.1\", \"198.51.100.2\"]}";
  assert_int_equal(wd_banlist_apply(bl, &c, 1, NOW), 0);
  assert_int_equal(c.result, 0);
  c = change(WD_BAN_ADD, WD_BAN_CIDR, "10.1.2.3/16", 0, "net");
  assert_int_equal(wd_banlist_apply(bl, &c, 1, NOW + 1), 0);
  c = change(WD_BAN_LIFT, WD_BAN_CIDR, "10.1.0.0/16", 0, "false positive");
  snprintf(c.ban.actor, sizeof c.ban.actor, "admin:anna");
  assert_int_equal(wd_banlist_apply(bl, &c, 1, NOW + 2), 0);
  /* a failed change leaves no record */
  c = change(WD_BAN_LIFT, WD_BAN_TOKEN, "tok-absent", 0, NULL);
  assert_int_equal(wd_banlist_apply(bl, &c, 1, NOW + 3), 0);
  assert_int_equal(c.result, WD_ERANGE);
  assert_int_equal(wd_banlist_expire(bl, NOW + 60), 1);
  wd_banlist_close(bl);

  bl = open_list(dir, 1); /* the log is durable too */
  lines_t l = {json_array()};
  assert_int_equal(wd_banlist_audit(bl, 100, audit_fn, &l), 0);
  assert_int_equal(json_array_size(l.arr), 4);
  json_t *e = json_array_get(l.arr, 0); /* newest first */
  assert_string_equal(json_string_value(json_object_get(e, "op")), "expire");
  assert_int_equal(json_integer_value(json_object_get(e, "count")), 1);
  assert_int_equal(json_integer_value(json_object_get(e, "time")), NOW + 60);
  e = json_array_get(l.arr, 1);
  assert_string_equal(json_string_value(json_object_get(e, "op")), "lift");
  assert_string_equal(json_string_value(json_object_get(e, "type")), "cidr");
  assert_string_equal(json_string_value(json_object_get(e, "value")), "10.1.0.0/16");
  assert_string_equal(json_string_value(json_object_get(e, "actor")), "admin:anna");
  assert_string_equal(json_string_value(json_object_get(e, "reason")), "false positive");
  assert_int_equal(json_integer_value(json_object_get(e, "time")), NOW + 2);
  e = json_array_get(l.arr, 2);
  assert_string_equal(json_string_value(json_object_get(e, "value")), "10.1.0.0/16");
  assert_string_equal(json_string_value(json_object_get(e, "op")), "add");
  e = json_array_get(l.arr, 3);
  assert_string_equal(json_string_value(json_object_get(e, "op")), "add");
  assert_string_equal(json_string_value(json_object_get(e, "type")), "token");
  assert_string_equal(json_string_value(json_object_get(e, "value")), "tok-evil");
  assert_string_equal(json_string_value(json_object_get(e, "actor")), "admin:ops");
  assert_string_equal(json_string_value(json_object_get(e, "reason")), "shared 40 times");
  assert_int_equal(json_integer_value(json_object_get(e, "until")), NOW + 60);
  assert_int_equal(json_integer_value(json_object_get(e, "time")), NOW);
  assert_true(json_is_false(json_object_get(e, "replaced")));
  json_t *ev = json_object_get(e, "evidence");
  assert_true(json_is_object(ev));
  assert_true(json_real_value(json_object_get(ev, "score")) > 0.92);
  assert_string_equal(json_string_value(json_array_get(json_object_get(ev, "ips"), 1)), "198.51.100.2");
  /* sequence numbers increase */
  assert_true(json_integer_value(json_object_get(json_array_get(l.arr, 0), "seq")) >
              json_integer_value(json_object_get(json_array_get(l.arr, 3), "seq")));
  json_decref(l.arr);

  /* limit */
  l.arr = json_array();
  assert_int_equal(wd_banlist_audit(bl, 2, audit_fn, &l), 0);
  assert_int_equal(json_array_size(l.arr), 2);
  json_decref(l.arr);
  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

/* --- bad input --- */

static void bad_input(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_banlist_t *bl = open_list(dir, 1);
  static char big_evidence[WD_BAN_EVIDENCE_MAX + 100];
  memset(big_evidence, ' ', sizeof big_evidence - 1);
  big_evidence[0] = '"';
  big_evidence[sizeof big_evidence - 2] = '"';
  wd_ban_change_t cs[] = {
      change(WD_BAN_ADD, WD_BAN_TOKEN, "good-1", 0, NULL),
      change(WD_BAN_ADD, WD_BAN_IP, "300.1.1.1", 0, NULL),
      change(WD_BAN_ADD, WD_BAN_CIDR, "10.0.0.0/40", 0, NULL),
      change(WD_BAN_ADD, (wd_ban_type_t)0, "x", 0, NULL),
      change(WD_BAN_ADD, (wd_ban_type_t)42, "x", 0, NULL),
      change((wd_ban_op_t)9, WD_BAN_TOKEN, "x", 0, NULL),
      change(WD_BAN_ADD, WD_BAN_TOKEN, "", 0, NULL),
      change(WD_BAN_ADD, WD_BAN_TOKEN, "ok-value", 0, "two\nlines"),
      change(WD_BAN_ADD, WD_BAN_TOKEN, "bad-evidence", 0, NULL),
      change(WD_BAN_ADD, WD_BAN_TOKEN, "big-evidence", 0, NULL),
      change(WD_BAN_ADD, WD_BAN_TOKEN, "past", NOW - 1, NULL),
      change(WD_BAN_ADD, WD_BAN_TOKEN, "unterminated", 0, NULL),
      change(WD_BAN_ADD, WD_BAN_SUBJECT, "good-2", 0, NULL),
  };
  size_t n = sizeof cs / sizeof cs[0];
  cs[8].evidence = "{not json";
  cs[9].evidence = big_evidence;
  memset(cs[11].ban.value, 'v', sizeof cs[11].ban.value); /* no NUL at all */
  assert_int_equal(wd_banlist_apply(bl, cs, n, NOW), 0);
  assert_int_equal(cs[0].result, 0);
  for (size_t i = 1; i < n - 1; i++)
    assert_int_equal(cs[i].result, WD_EINVAL);
  assert_int_equal(cs[n - 1].result, 0);
  wd_identity_t id = ident("good-1", "good-2");
  wd_ban_t hit;
  assert_int_equal(wd_banlist_check(bl, &id, NULL, NOW, &hit), 1);
  assert_int_equal(check_tok(bl, "ok-value", NOW), 0);
  wd_banlist_stats_t st;
  wd_banlist_stats(bl, &st);
  assert_int_equal(st.bans[WD_BAN_TOKEN] + st.bans[WD_BAN_SUBJECT], 2);

  /* a batch with nothing valid commits nothing, still returns 0 */
  wd_ban_change_t only_bad = change(WD_BAN_ADD, WD_BAN_IP, "nope", 0, NULL);
  assert_int_equal(wd_banlist_apply(bl, &only_bad, 1, NOW), 0);
  assert_int_equal(only_bad.result, WD_EINVAL);
  /* too many changes at once */
  wd_ban_change_t *huge = calloc(WD_BAN_BATCH_MAX + 1, sizeof *huge);
  assert_non_null(huge);
  assert_int_equal(wd_banlist_apply(bl, huge, WD_BAN_BATCH_MAX + 1, NOW), WD_ETOOBIG);
  assert_int_equal(huge[0].result, WD_ETOOBIG);
  free(huge);
  assert_int_equal(wd_banlist_apply(bl, NULL, 1, NOW), WD_EINVAL);
  assert_int_equal(wd_banlist_apply(bl, NULL, 0, NOW), 0);

  /* checks with odd inputs never crash and never match */
  assert_int_equal(wd_banlist_check(bl, NULL, NULL, NOW, &hit), 0);
  assert_int_equal(wd_banlist_check(bl, NULL, "", NOW, &hit), 0);
  assert_int_equal(wd_banlist_check(bl, NULL, "999.1.1.1", NOW, &hit), 0);
  char longip[300];
  memset(longip, '1', sizeof longip - 1);
  longip[sizeof longip - 1] = '\0';
  assert_int_equal(wd_banlist_check(bl, NULL, longip, NOW, &hit), 0);
  wd_identity_t full;
  memset(&full, 'x', sizeof full); /* no terminators anywhere */
  assert_int_equal(wd_banlist_check(bl, &full, NULL, NOW, &hit), 0);
  assert_int_equal(wd_banlist_check(NULL, &id, NULL, NOW, &hit), 0);
  assert_int_equal(wd_banlist_get(bl, (wd_ban_type_t)0, "x", &hit), WD_EINVAL);
  assert_int_equal(wd_banlist_expire(NULL, NOW), WD_EINVAL);
  wd_banlist_close(bl);
  wd_banlist_close(NULL);
  tu_tmpdir_free(dir);
}

/* --- files that are not ours --- */

static void write_file(const char *path, const void *data, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, n), (ssize_t)n);
  close(fd);
}

static void corrupt_and_foreign(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/bans.mdb", dir);
  wd_banlist_t *bl = NULL;
  wd_banlist_opts_t o = {.map_size = (size_t)1 << 28, .no_sync = 1};

  /* garbage */
  static uint8_t junk[3 * 4096];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (uint8_t)(i * 31 + 7);
  write_file(path, junk, sizeof junk);
  assert_int_equal(wd_banlist_open(dir, &o, &bl), WD_ECORRUPT);
  assert_null(bl);
  /* a short text file */
  write_file(path, "hello, not a database\n", 22);
  assert_int_equal(wd_banlist_open(dir, &o, &bl), WD_ECORRUPT);
  unlink(path);
  snprintf(path, sizeof path, "%s/bans.mdb-lock", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/bans.mdb", dir);

  /* another program's LMDB file */
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
  MDB_val k = {.mv_size = 5, .mv_data = "hello"}, v = {.mv_size = 5, .mv_data = "world"};
  assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  assert_int_equal(wd_banlist_open(dir, &o, &bl), WD_ECORRUPT);
  assert_null(bl);

  /* the replay file is not a ban store */
  char path2[512];
  snprintf(path2, sizeof path2, "%s/other", dir);
  assert_int_equal(mkdir(path2, 0700), 0);
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
  snprintf(path2, sizeof path2, "%s/other/bans.mdb", dir);
  assert_int_equal(mdb_env_open(env, path2, MDB_NOSUBDIR, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
  k = (MDB_val){.mv_size = 6, .mv_data = "format"};
  v = (MDB_val){.mv_size = 15, .mv_data = "warden-replay/1"};
  assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  snprintf(path2, sizeof path2, "%s/other", dir);
  assert_int_equal(wd_banlist_open(path2, &o, &bl), WD_ECORRUPT);
  /* a newer version of our own format */
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
  snprintf(path2, sizeof path2, "%s/other/bans.mdb", dir);
  assert_int_equal(mdb_env_open(env, path2, MDB_NOSUBDIR, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
  v = (MDB_val){.mv_size = 13, .mv_data = "warden-bans/9"};
  assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  snprintf(path2, sizeof path2, "%s/other", dir);
  assert_int_equal(wd_banlist_open(path2, &o, &bl), WD_EUNSUPPORTED);

  /* one handle at a time: a second open is refused and leaves the first working */
  snprintf(path2, sizeof path2, "%s/owned", dir);
  wd_banlist_t *first = NULL;
  assert_int_equal(wd_banlist_open(path2, &o, &first), 0);
  assert_int_equal(wd_banlist_open(path2, &o, &bl), WD_EBUSY);
  assert_null(bl);
  wd_ban_change_t c = change(WD_BAN_ADD, WD_BAN_TOKEN, "still-works", 0, NULL);
  assert_int_equal(wd_banlist_apply(first, &c, 1, NOW), 0);
  assert_int_equal(check_tok(first, "still-works", NOW), 1);
  wd_banlist_close(first);
  assert_int_equal(wd_banlist_open(path2, &o, &bl), 0);
  assert_int_equal(check_tok(bl, "still-works", NOW), 1);
  wd_banlist_close(bl);
  bl = NULL;

  /* a directory that is a file, and one that cannot be created */
  snprintf(path2, sizeof path2, "%s/plainfile", dir);
  write_file(path2, "x", 1);
  assert_int_equal(wd_banlist_open(path2, &o, &bl), WD_EIO);
  assert_int_equal(wd_banlist_open("/nonexistent-dir/sub/warden", &o, &bl), WD_EIO);
  assert_int_equal(wd_banlist_open(NULL, &o, &bl), WD_EINVAL);
  assert_null(bl);
  tu_tmpdir_free(dir);
}


/* --- replication: outbox, cursor, idempotent re-apply --- */

typedef struct outbox_seen {
  wd_ban_outbox_entry_t e[16];
  size_t n;
} outbox_seen_t;

static int outbox_fn(const wd_ban_outbox_entry_t *e, void *arg) {
  outbox_seen_t *o = arg;
  if (o->n < 16)
    o->e[o->n++] = *e;
  return 0;
}

static void outbox_and_cursor(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_banlist_t *bl = open_list(dir, 1);
  wd_banlist_apply_opts_t local = {.outbox = 1};
  wd_ban_change_t c[3];
  c[0] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-a", NOW + 600, "shared");
  c[1] = change(WD_BAN_ADD, WD_BAN_IP, "::ffff:192.0.2.7", NOW + 60, "abuse");
  c[2] = change(WD_BAN_LIFT, WD_BAN_TOKEN, "tok-never", 0, "nothing to lift");
  assert_int_equal(wd_banlist_apply_ex(bl, c, 3, NOW, &local), 0);
  assert_int_equal(c[2].result, WD_ERANGE);
  c[0] = change(WD_BAN_LIFT, WD_BAN_TOKEN, "tok-a", 0, "false positive");
  assert_int_equal(wd_banlist_apply_ex(bl, c, 1, NOW + 1, &local), 0);
  /* a change without the option is not recorded */
  c[0] = change(WD_BAN_ADD, WD_BAN_SUBJECT, "sub-x", 0, "quiet");
  assert_int_equal(wd_banlist_apply(bl, c, 1, NOW + 2), 0);
  assert_int_equal(wd_banlist_outbox_count(bl), 3);

  outbox_seen_t o = {0};
  assert_int_equal(wd_banlist_outbox_read(bl, 0, 100, outbox_fn, &o), 0);
  assert_int_equal(o.n, 3); /* what took effect, in order, canonical, created filled in */
  assert_int_equal(o.e[0].id, 1);
  assert_int_equal(o.e[0].op, WD_BAN_ADD);
  assert_string_equal(o.e[0].ban.value, "tok-a");
  assert_int_equal(o.e[0].ban.created, NOW);
  assert_int_equal(o.e[0].ban.until, NOW + 600);
  assert_string_equal(o.e[0].ban.reason, "shared");
  assert_string_equal(o.e[0].ban.actor, "tester");
  assert_int_equal(o.e[1].ban.type, WD_BAN_IP);
  assert_string_equal(o.e[1].ban.value, "192.0.2.7");
  assert_int_equal(o.e[2].op, WD_BAN_LIFT);
  assert_string_equal(o.e[2].ban.value, "tok-a");
  assert_string_equal(o.e[2].ban.reason, "false positive");
  o.n = 0;
  assert_int_equal(wd_banlist_outbox_read(bl, 2, 100, outbox_fn, &o), 0);
  assert_int_equal(o.n, 1);
  assert_int_equal(o.e[0].id, 3);

  /* trim what was sent; ids are never reused */
  assert_int_equal(wd_banlist_outbox_trim(bl, 3, 0, NULL), 0);
  assert_int_equal(wd_banlist_outbox_count(bl), 0);
  c[0] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-b", 0, "");
  assert_int_equal(wd_banlist_apply_ex(bl, c, 1, NOW + 3, &local), 0);
  o.n = 0;
  assert_int_equal(wd_banlist_outbox_read(bl, 0, 100, outbox_fn, &o), 0);
  assert_int_equal(o.n, 1);
  assert_int_equal(o.e[0].id, 4);

  /* the bound: more than keep waiting drops the oldest */
  for (int i = 0; i < 5; i++) {
    char v[32];
    snprintf(v, sizeof v, "tok-bound-%d", i);
    c[0] = change(WD_BAN_ADD, WD_BAN_TOKEN, v, 0, "");
    assert_int_equal(wd_banlist_apply_ex(bl, c, 1, NOW + 4, &local), 0);
  }
  uint64_t dropped = 99;
  assert_int_equal(wd_banlist_outbox_trim(bl, 0, 2, &dropped), 0);
  assert_int_equal(dropped, 4);
  assert_int_equal(wd_banlist_outbox_count(bl), 2);
  o.n = 0;
  assert_int_equal(wd_banlist_outbox_read(bl, 0, 100, outbox_fn, &o), 0);
  assert_string_equal(o.e[0].ban.value, "tok-bound-3");

  /* the cursor commits with the changes, also alone */
  uint64_t cur = 7;
  assert_int_equal(wd_banlist_cursor(bl, "nats:B", &cur), WD_ENOTOKEN);
  assert_int_equal(cur, 0);
  wd_banlist_apply_opts_t remote = {.cursor = "nats:B", .cursor_value = 41, .skip_same = 1};
  c[0] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-remote", NOW + 900, "from edge-2");
  c[0].ban.created = NOW - 5;
  assert_int_equal(wd_banlist_apply_ex(bl, c, 1, NOW + 5, &remote), 0);
  assert_int_equal(c[0].result, 0);
  remote.cursor_value = 42;
  assert_int_equal(wd_banlist_apply_ex(bl, NULL, 0, NOW + 5, &remote), 0);
  assert_int_equal(wd_banlist_cursor(bl, "nats:B", &cur), 0);
  assert_int_equal(cur, 42);
  assert_int_equal(wd_banlist_outbox_count(bl), 2); /* received changes are not sent again */

  /* the same ban twice: the second is a no-op (no audit record), the TTL holds */
  size_t before = 0;
  lines_t l = {json_array()};
  assert_int_equal(wd_banlist_audit(bl, 1000, audit_fn, &l), 0);
  before = json_array_size(l.arr);
  json_decref(l.arr);
  c[0] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-remote", NOW + 900, "from edge-2");
  c[0].ban.created = NOW - 5;
  remote.cursor_value = 43;
  assert_int_equal(wd_banlist_apply_ex(bl, c, 1, NOW + 6, &remote), 0);
  assert_int_equal(c[0].result, 0);
  l.arr = json_array();
  assert_int_equal(wd_banlist_audit(bl, 1000, audit_fn, &l), 0);
  assert_int_equal(json_array_size(l.arr), before);
  json_decref(l.arr);
  wd_ban_t got;
  assert_int_equal(wd_banlist_get(bl, WD_BAN_TOKEN, "tok-remote", &got), 0);
  assert_int_equal(got.until, NOW + 900);
  assert_int_equal(got.created, NOW - 5);
  /* a lift after the ban wins; lifting again is harmless */
  c[0] = change(WD_BAN_LIFT, WD_BAN_TOKEN, "tok-remote", 0, "lifted at edge-3");
  assert_int_equal(wd_banlist_apply_ex(bl, c, 1, NOW + 7, &remote), 0);
  assert_int_equal(c[0].result, 0);
  assert_int_equal(wd_banlist_apply_ex(bl, c, 1, NOW + 7, &remote), 0);
  assert_int_equal(c[0].result, WD_ERANGE);
  wd_identity_t id = ident("tok-remote", NULL);
  assert_int_equal(wd_banlist_check(bl, &id, NULL, NOW + 8, NULL), 0);

  /* bad cursor names */
  wd_banlist_apply_opts_t bad = {.cursor = ""};
  assert_int_equal(wd_banlist_apply_ex(bl, NULL, 0, NOW, &bad), WD_EINVAL);
  char longname[WD_BAN_CURSOR_MAX + 1];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_int_equal(wd_banlist_cursor(bl, longname, &cur), WD_EINVAL);

  /* everything survives a reopen */
  wd_banlist_close(bl);
  bl = open_list(dir, 1);
  assert_int_equal(wd_banlist_cursor(bl, "nats:B", &cur), 0);
  assert_int_equal(cur, 43);
  assert_int_equal(wd_banlist_outbox_count(bl), 2);
  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

/* --- replicated batches: the store in key order, the audit trail in batch order --- */

typedef struct raw_lines {
  char *line[32];
  size_t n;
} raw_lines_t;

static int raw_fn(const char *line, void *arg) {
  raw_lines_t *r = arg;
  if (r->n < 32)
    r->line[r->n++] = strdup(line);
  return 0;
}

/* The audit line jansson writes for the same record (members in this order). */
static char *jansson_line(uint64_t seq, int64_t time, const char *op, const char *value,
                          int64_t until, int replaced, const char *reason, const char *actor,
                          json_t *evidence) {
  json_t *o = json_object();
  json_object_set_new(o, "seq", json_integer((json_int_t)seq));
  json_object_set_new(o, "time", json_integer(time));
  json_object_set_new(o, "op", json_string(op));
  json_object_set_new(o, "type", json_string("token"));
  json_object_set_new(o, "value", json_string(value));
  json_object_set_new(o, "until", json_integer(until));
  if (replaced >= 0)
    json_object_set_new(o, "replaced", json_boolean(replaced));
  json_object_set_new(o, "reason", json_string(reason));
  json_object_set_new(o, "actor", json_string(actor));
  if (evidence)
    json_object_set_new(o, "evidence", evidence);
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

static void replicated_batch(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_banlist_t *bl = open_list(dir, 1);
  /* out of key order, one key changed three times, a lift of nothing, text to escape */
  const char *reason = "shared \"7\" \\ S\xc3\xa3o Paulo";
  wd_ban_change_t c[7];
  c[0] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-z", NOW + 60, reason);
  c[1] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-a", NOW + 70, "a");
  c[2] = change(WD_BAN_LIFT, WD_BAN_TOKEN, "tok-z", 0, "oops");
  c[3] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-m", 0, "m");
  c[4] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-z", NOW + 90, "again");
  c[5] = change(WD_BAN_LIFT, WD_BAN_TOKEN, "tok-never", 0, "nothing");
  c[6] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-a", NOW + 80, "longer");
  for (int i = 0; i < 7; i++) {
    c[i].ban.created = NOW - 10;
    c[i].origin_node = i == 3 ? "edge-3" : "edge-2";
    c[i].origin_seq = 100 + (uint64_t)i;
  }
  wd_banlist_apply_opts_t remote = {.cursor = "nats:B", .cursor_value = 106, .skip_same = 1,
                                    .lazy_sync = 1};
  assert_int_equal(wd_banlist_apply_ex(bl, c, 7, NOW, &remote), 0);
  for (int i = 0; i < 7; i++)
    assert_int_equal(c[i].result, i == 5 ? WD_ERANGE : 0);
  wd_ban_t got;
  assert_int_equal(wd_banlist_get(bl, WD_BAN_TOKEN, "tok-z", &got), 0);
  assert_int_equal(got.until, NOW + 90);
  assert_string_equal(got.reason, "again");
  assert_int_equal(wd_banlist_get(bl, WD_BAN_TOKEN, "tok-a", &got), 0);
  assert_int_equal(got.until, NOW + 80);
  assert_int_equal(check_tok(bl, "tok-z", NOW + 85), 1);
  assert_int_equal(check_tok(bl, "tok-a", NOW + 75), 1);
  assert_int_equal(check_tok(bl, "tok-m", NOW + 1000), 1);
  /* the expiry records follow the last change of each key */
  assert_int_equal(wd_banlist_expire(bl, NOW + 85), 1); /* tok-a */
  assert_int_equal(check_tok(bl, "tok-z", NOW + 86), 1);
  uint64_t cur = 0;
  assert_int_equal(wd_banlist_cursor(bl, "nats:B", &cur), 0);
  assert_int_equal(cur, 106);

  /* the audit trail: one record per change that did something, in batch order, written
   * exactly as jansson would (newest first; the expire record on top) */
  raw_lines_t r = {.n = 0};
  assert_int_equal(wd_banlist_audit(bl, 32, raw_fn, &r), 0);
  assert_int_equal(r.n, 7);
  struct {
    const char *op, *value, *reason, *node;
    int64_t until;
    int replaced;
    uint64_t seq;
  } want[6] = {
      {"add", "tok-z", reason, "edge-2", NOW + 60, 0, 100},
      {"add", "tok-a", "a", "edge-2", NOW + 70, 0, 101},
      {"lift", "tok-z", "oops", "edge-2", NOW + 60, -1, 102},
      {"add", "tok-m", "m", "edge-3", 0, 0, 103},
      {"add", "tok-z", "again", "edge-2", NOW + 90, 0, 104},
      {"add", "tok-a", "longer", "edge-2", NOW + 80, 1, 106},
  };
  for (int i = 0; i < 6; i++) {
    json_t *ev = json_pack("{s:{s:s,s:I}}", "cluster", "node", want[i].node, "seq",
                           (json_int_t)want[i].seq);
    char *line = jansson_line((uint64_t)i + 1, NOW, want[i].op, want[i].value, want[i].until,
                              want[i].replaced, want[i].reason, "tester", ev);
    assert_string_equal(r.line[6 - i], line);
    free(line);
  }
  for (size_t i = 0; i < r.n; i++)
    free(r.line[i]);

  /* a local change with evidence: the evidence compacted the way jansson writes it */
  wd_ban_change_t e = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-ev", NOW + 60, "x");
  e.evidence = " { \"score\" : 0.5, \"tags\": [\"a\\u00e9\", 1e2, null, true],\"s\":\"\\/\" } ";
  assert_int_equal(wd_banlist_apply(bl, &e, 1, NOW + 1), 0);
  assert_int_equal(e.result, 0);
  r.n = 0;
  assert_int_equal(wd_banlist_audit(bl, 1, raw_fn, &r), 0);
  assert_int_equal(r.n, 1);
  char *line = jansson_line(8, NOW + 1, "add", "tok-ev", NOW + 60, 0, "x", "tester",
                            json_loads(e.evidence, JSON_DECODE_ANY, NULL));
  assert_string_equal(r.line[0], line);
  free(line);
  free(r.line[0]);

  /* an origin is a node id and stands instead of evidence */
  wd_ban_change_t b[3];
  b[0] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-b0", 0, "");
  b[0].origin_node = "edge-2";
  b[0].evidence = "{}";
  b[1] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-b1", 0, "");
  b[1].origin_node = "";
  b[2] = change(WD_BAN_ADD, WD_BAN_TOKEN, "tok-b2", 0, "");
  b[2].origin_node = "edge\n2";
  assert_int_equal(wd_banlist_apply(bl, b, 3, NOW + 2), 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(b[i].result, WD_EINVAL);
  wd_banlist_close(bl);
  tu_tmpdir_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(type_names),
      cmocka_unit_test(canonical),
      cmocka_unit_test(add_check_lift),
      cmocka_unit_test(expiry),
      cmocka_unit_test(longest_prefix),
      cmocka_unit_test(reopen_keeps_bans),
      cmocka_unit_test(kill9_keeps_acknowledged),
      cmocka_unit_test(concurrent_readers),
      cmocka_unit_test(index_collisions),
      cmocka_unit_test(listing),
      cmocka_unit_test(audit_log),
      cmocka_unit_test(outbox_and_cursor),
      cmocka_unit_test(replicated_batch),
      cmocka_unit_test(bad_input),
      cmocka_unit_test(corrupt_and_foreign),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
