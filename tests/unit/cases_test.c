/* lib/cases/cases.c: opening and updating cases, verdicts, listing, persistence, retention. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "warden/cases.h"
#include "warden/decide.h"
#include "warden/error.h"

#define NOW 1700000000

static wd_cases_t *open_cs(const char *dir, size_t max) {
  wd_cases_opts_t o = {.max_cases = max, .no_sync = 1};
  wd_cases_t *cs = NULL;
  assert_int_equal(wd_cases_open(dir, &o, &cs), 0);
  return cs;
}

static wd_case_event_t event(const char *key, const char *addr, const char *cc, int64_t now) {
  return (wd_case_event_t){.key_type = WD_BAN_TOKEN, .key = key, .subject = "user-1",
                           .scheme = "cat", .policy = "live", .detail = "replayed cti",
                           .addr = addr, .country = cc, .reasons = 1u << WD_REASON_REPLAY,
                           .token_exp = NOW + 600, .now = now};
}

static void status_names(void **state) {
  (void)state;
  for (int i = 0; i < WD_CASE_STATUS_COUNT; i++) {
    wd_case_status_t s;
    assert_int_equal(wd_case_status_parse(wd_case_status_name((wd_case_status_t)i), &s), 0);
    assert_int_equal(s, i);
  }
  wd_case_status_t s = WD_CASE_OPEN;
  assert_int_equal(wd_case_status_parse("closed", &s), WD_EINVAL);
  assert_int_equal(wd_case_status_parse(NULL, &s), WD_EINVAL);
  assert_string_equal(wd_case_status_name(WD_CASE_STATUS_COUNT), "unknown");
}

/* One case per key, gathering hits, reasons, distinct addresses and countries. */
static void note_opens_then_updates(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_cases_t *cs = open_cs(dir, 0);
  uint64_t id1 = 0, id2 = 0, id3 = 0;
  wd_case_event_t ev = event("tok-a", "192.0.2.1", "SE", NOW);
  assert_int_equal(wd_cases_note(cs, &ev, &id1), 0);
  ev = event("tok-a", "198.51.100.7", "BR", NOW + 5);
  ev.reasons = 1u << WD_REASON_GEO;
  assert_int_equal(wd_cases_note(cs, &ev, &id2), 0);
  ev = event("tok-a", "192.0.2.1", "se", NOW + 6);
  assert_int_equal(wd_cases_note(cs, &ev, NULL), 0);
  ev = event("tok-b", "203.0.113.9", NULL, NOW + 7);
  assert_int_equal(wd_cases_note(cs, &ev, &id3), 0);
  assert_int_equal(id1, id2);
  assert_int_not_equal(id1, id3);

  wd_case_t c;
  assert_int_equal(wd_cases_get(cs, id1, &c), 0);
  assert_string_equal(c.key, "tok-a");
  assert_string_equal(c.subject, "user-1");
  assert_int_equal(c.hits, 3);
  assert_int_equal(c.reasons, (1u << WD_REASON_REPLAY) | (1u << WD_REASON_GEO));
  assert_int_equal(c.naddrs, 2);
  assert_int_equal(c.ncountries, 2);
  assert_int_equal(c.opened, NOW);
  assert_int_equal(c.last_seen, NOW + 6);
  assert_int_equal(c.status, WD_CASE_OPEN);
  assert_int_equal(wd_cases_find(cs, WD_BAN_TOKEN, "tok-b", &c), 0);
  assert_int_equal(c.id, id3);
  assert_int_equal(wd_cases_find(cs, WD_BAN_SUBJECT, "tok-b", &c), WD_ENOTOKEN);
  assert_int_equal(wd_cases_get(cs, 999, &c), WD_ENOTOKEN);

  /* More distinct addresses than kept are counted. */
  for (int i = 0; i < WD_CASE_ADDRS + 3; i++) {
    char a[32];
    snprintf(a, sizeof a, "10.0.%d.1", i);
    ev = event("tok-c", a, NULL, NOW);
    assert_int_equal(wd_cases_note(cs, &ev, NULL), 0);
  }
  assert_int_equal(wd_cases_find(cs, WD_BAN_TOKEN, "tok-c", &c), 0);
  assert_int_equal(c.naddrs, WD_CASE_ADDRS);
  assert_int_equal(c.more_addrs, 3);

  ev = event("", NULL, NULL, NOW);
  assert_int_equal(wd_cases_note(cs, &ev, NULL), WD_EINVAL);
  char longkey[WD_BAN_VALUE_MAX + 1];
  memset(longkey, 'k', sizeof longkey - 1);
  longkey[sizeof longkey - 1] = '\0';
  ev = event(longkey, NULL, NULL, NOW);
  assert_int_equal(wd_cases_note(cs, &ev, NULL), WD_EINVAL);
  wd_cases_close(cs);
  tu_tmpdir_free(dir);
}

/* Banned and allowed stand; dismissed opens again; escalated stays open. */
static void verdicts(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_cases_t *cs = open_cs(dir, 0);
  const char *keys[] = {"banned", "allowed", "dismissed", "escalated"};
  wd_case_status_t st[] = {WD_CASE_BANNED, WD_CASE_ALLOWED, WD_CASE_DISMISSED,
                           WD_CASE_ESCALATED};
  uint64_t ids[4];
  for (int i = 0; i < 4; i++) {
    wd_case_event_t ev = event(keys[i], "192.0.2.1", "SE", NOW);
    assert_int_equal(wd_cases_note(cs, &ev, &ids[i]), 0);
    assert_int_equal(wd_cases_set_status(cs, ids[i], st[i], "moderator", "looked at it", NOW + 1),
                     0);
  }
  uint64_t id;
  wd_case_event_t ev = event("banned", "192.0.2.2", NULL, NOW + 2);
  assert_int_equal(wd_cases_note(cs, &ev, &id), 1);
  assert_int_equal(id, ids[0]);
  ev = event("allowed", "192.0.2.2", NULL, NOW + 2);
  assert_int_equal(wd_cases_note(cs, &ev, NULL), 1);
  ev = event("dismissed", "192.0.2.2", NULL, NOW + 2);
  assert_int_equal(wd_cases_note(cs, &ev, NULL), 0);
  ev = event("escalated", "192.0.2.2", NULL, NOW + 2);
  assert_int_equal(wd_cases_note(cs, &ev, NULL), 0);

  wd_case_t c;
  assert_int_equal(wd_cases_get(cs, ids[0], &c), 0);
  assert_int_equal(c.status, WD_CASE_BANNED);
  assert_int_equal(c.hits, 1);
  assert_string_equal(c.verdict_actor, "moderator");
  assert_string_equal(c.verdict_note, "looked at it");
  assert_int_equal(c.verdict_time, NOW + 1);
  assert_int_equal(wd_cases_get(cs, ids[2], &c), 0);
  assert_int_equal(c.status, WD_CASE_OPEN);
  assert_int_equal(c.hits, 2);
  assert_int_equal(wd_cases_get(cs, ids[3], &c), 0);
  assert_int_equal(c.status, WD_CASE_ESCALATED);

  assert_int_equal(wd_cases_set_status(cs, 999, WD_CASE_BANNED, "x", "", NOW), WD_ENOTOKEN);
  assert_int_equal(wd_cases_set_status(cs, ids[0], WD_CASE_STATUS_COUNT, "x", "", NOW), WD_EINVAL);

  wd_cases_stats_t s;
  wd_cases_stats(cs, &s);
  assert_int_equal(s.by_status[WD_CASE_OPEN], 1);
  assert_int_equal(s.by_status[WD_CASE_ESCALATED], 1);
  assert_int_equal(s.by_status[WD_CASE_BANNED], 1);
  assert_int_equal(s.by_status[WD_CASE_ALLOWED], 1);
  assert_true(s.bytes > 0);
  wd_cases_close(cs);
  tu_tmpdir_free(dir);
}

typedef struct collected {
  uint64_t ids[32];
  size_t n;
  size_t stop_after;
} collected_t;

static int collect(const wd_case_t *c, void *arg) {
  collected_t *col = arg;
  col->ids[col->n++] = c->id;
  return col->stop_after && col->n == col->stop_after ? 7 : 0;
}

static void listing_pages_newest_first(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_cases_t *cs = open_cs(dir, 0);
  uint64_t ids[10];
  for (int i = 0; i < 10; i++) {
    char k[16];
    snprintf(k, sizeof k, "tok-%d", i);
    wd_case_event_t ev = event(k, "192.0.2.1", NULL, NOW + i);
    assert_int_equal(wd_cases_note(cs, &ev, &ids[i]), 0);
  }
  assert_int_equal(wd_cases_set_status(cs, ids[9], WD_CASE_DISMISSED, "m", "", NOW), 0);
  assert_int_equal(wd_cases_set_status(cs, ids[4], WD_CASE_DISMISSED, "m", "", NOW), 0);

  collected_t col = {0};
  uint64_t next = 1;
  assert_int_equal(wd_cases_list(cs, 0, 0, 4, collect, &col, &next), 0);
  assert_int_equal(col.n, 4);
  assert_int_equal(col.ids[0], ids[9]);
  assert_int_equal(col.ids[3], ids[6]);
  assert_int_equal(next, ids[6]);
  col.n = 0;
  assert_int_equal(wd_cases_list(cs, 0, next, 100, collect, &col, &next), 0);
  assert_int_equal(col.n, 6);
  assert_int_equal(col.ids[5], ids[0]);
  assert_int_equal(next, 0);

  /* Only open ones. */
  col.n = 0;
  assert_int_equal(wd_cases_list(cs, 1u << WD_CASE_OPEN, 0, 100, collect, &col, NULL), 0);
  assert_int_equal(col.n, 8);
  for (size_t i = 0; i < col.n; i++)
    assert_true(col.ids[i] != ids[9] && col.ids[i] != ids[4]);

  /* A callback that stops: its code comes back, the cursor resumes after it. */
  col = (collected_t){.stop_after = 2};
  assert_int_equal(wd_cases_list(cs, 0, 0, 100, collect, &col, &next), 7);
  assert_int_equal(next, ids[8]);
  wd_cases_close(cs);
  tu_tmpdir_free(dir);
}

/* Flushed cases come back after a reopen, verdicts included; unflushed changes do not. */
static void persistence(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_cases_t *cs = open_cs(dir, 0);
  uint64_t a, b;
  wd_case_event_t ev = event("tok-a", "2001:db8::1", "SE", NOW);
  assert_int_equal(wd_cases_note(cs, &ev, &a), 0);
  ev = event("tok-b", "192.0.2.1", "NO", NOW);
  assert_int_equal(wd_cases_note(cs, &ev, &b), 0);
  assert_int_equal(wd_cases_set_status(cs, b, WD_CASE_BANNED, "admin", "shared on a forum", NOW),
                   0);
  assert_int_equal(wd_cases_flush(cs, NOW), 2);
  assert_int_equal(wd_cases_flush(cs, NOW), 0);
  ev = event("tok-c", "192.0.2.3", NULL, NOW); /* never flushed */
  assert_int_equal(wd_cases_note(cs, &ev, NULL), 0);
  wd_cases_close(cs);

  cs = open_cs(dir, 0);
  wd_case_t c;
  assert_int_equal(wd_cases_get(cs, a, &c), 0);
  assert_string_equal(c.key, "tok-a");
  assert_string_equal(c.addrs[0], "2001:db8::1");
  assert_string_equal(c.countries[0], "SE");
  assert_string_equal(c.detail, "replayed cti");
  assert_int_equal(c.token_exp, NOW + 600);
  assert_int_equal(wd_cases_get(cs, b, &c), 0);
  assert_int_equal(c.status, WD_CASE_BANNED);
  assert_string_equal(c.verdict_note, "shared on a forum");
  assert_int_equal(wd_cases_find(cs, WD_BAN_TOKEN, "tok-c", &c), WD_ENOTOKEN);
  /* New ids continue after the highest loaded one. */
  uint64_t d;
  ev = event("tok-d", NULL, NULL, NOW);
  assert_int_equal(wd_cases_note(cs, &ev, &d), 0);
  assert_true(d > b);
  wd_cases_close(cs);
  tu_tmpdir_free(dir);
}

/* A full store refuses new keys (counted) but still updates the existing ones. */
static void capacity(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_cases_t *cs = open_cs(dir, 3);
  for (int i = 0; i < 3; i++) {
    char k[16];
    snprintf(k, sizeof k, "tok-%d", i);
    wd_case_event_t ev = event(k, NULL, NULL, NOW);
    assert_int_equal(wd_cases_note(cs, &ev, NULL), 0);
  }
  wd_case_event_t ev = event("tok-new", NULL, NULL, NOW);
  assert_int_equal(wd_cases_note(cs, &ev, NULL), WD_ETOOBIG);
  ev = event("tok-1", NULL, NULL, NOW);
  assert_int_equal(wd_cases_note(cs, &ev, NULL), 0);
  wd_cases_stats_t s;
  wd_cases_stats(cs, &s);
  assert_int_equal(s.dropped, 1);
  assert_int_equal(s.by_status[WD_CASE_OPEN], 3);
  wd_cases_close(cs);
  tu_tmpdir_free(dir);
}

/* Cases past retention are forgotten, in memory and on disk; recent ones stay. */
static void retention(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_cases_opts_t o = {.retention = 3600, .no_sync = 1};
  wd_cases_t *cs = NULL;
  assert_int_equal(wd_cases_open(dir, &o, &cs), 0);
  uint64_t old, recent;
  wd_case_event_t ev = event("old", NULL, NULL, NOW);
  assert_int_equal(wd_cases_note(cs, &ev, &old), 0);
  ev = event("recent", NULL, NULL, NOW + 3000);
  assert_int_equal(wd_cases_note(cs, &ev, &recent), 0);
  assert_int_equal(wd_cases_flush(cs, NOW + 3000), 2);
  assert_true(wd_cases_flush(cs, NOW + 3700) >= 0);
  wd_case_t c;
  assert_int_equal(wd_cases_get(cs, old, &c), WD_ENOTOKEN);
  assert_int_equal(wd_cases_find(cs, WD_BAN_TOKEN, "old", &c), WD_ENOTOKEN);
  assert_int_equal(wd_cases_get(cs, recent, &c), 0);
  assert_int_equal(wd_cases_find(cs, WD_BAN_TOKEN, "recent", &c), 0);
  wd_cases_close(cs);
  assert_int_equal(wd_cases_open(dir, &o, &cs), 0);
  assert_int_equal(wd_cases_get(cs, old, &c), WD_ENOTOKEN);
  assert_int_equal(wd_cases_get(cs, recent, &c), 0);
  wd_cases_close(cs);
  tu_tmpdir_free(dir);
}

/* Control characters never reach stored text; long UTF-8 text is cut on a character. */
static void text_is_clean(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_cases_t *cs = open_cs(dir, 0);
  char detail[WD_CASE_TEXT_MAX + 16];
  memset(detail, 'a', sizeof detail);
  memcpy(detail + WD_CASE_TEXT_MAX - 3, "\xc3\xa9\xc3\xa9", 4); /* é straddles the limit */
  detail[sizeof detail - 1] = '\0';
  wd_case_event_t ev = event("tok", "192.0.2.1\n", NULL, NOW);
  ev.detail = detail;
  uint64_t id;
  assert_int_equal(wd_cases_note(cs, &ev, &id), 0);
  wd_case_t c;
  assert_int_equal(wd_cases_get(cs, id, &c), 0);
  assert_string_equal(c.addrs[0], "192.0.2.1 ");
  size_t n = strlen(c.detail);
  assert_int_equal(n, WD_CASE_TEXT_MAX - 1);
  assert_int_equal((unsigned char)c.detail[n - 2], 0xc3);
  assert_int_equal((unsigned char)c.detail[n - 1], 0xa9);
  /* Invalid UTF-8 (a stray byte, an overlong form, a surrogate) becomes '?', and the case is
   * still written. */
  ev = event("tok2", NULL, NULL, NOW);
  ev.detail = "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d \xe2\x82\xac";
  assert_int_equal(wd_cases_note(cs, &ev, &id), 0);
  assert_int_equal(wd_cases_get(cs, id, &c), 0);
  assert_string_equal(c.detail, "a?b??c???d \xe2\x82\xac");
  assert_int_equal(wd_cases_flush(cs, NOW), 2);
  wd_cases_close(cs);
  tu_tmpdir_free(dir);
}

/* A file that is not a case store is refused. */
static void refuses_foreign_file(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  char p[512];
  snprintf(p, sizeof p, "%s/cases.mdb", dir);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs("not an lmdb file, just text that is long enough to look like something", f);
  fclose(f);
  wd_cases_t *cs = NULL;
  assert_int_equal(wd_cases_open(dir, NULL, &cs), WD_ECORRUPT);
  assert_null(cs);
  tu_tmpdir_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(status_names),
      cmocka_unit_test(note_opens_then_updates),
      cmocka_unit_test(verdicts),
      cmocka_unit_test(listing_pages_newest_first),
      cmocka_unit_test(persistence),
      cmocka_unit_test(capacity),
      cmocka_unit_test(retention),
      cmocka_unit_test(text_is_clean),
      cmocka_unit_test(refuses_foreign_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
