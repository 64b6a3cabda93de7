/* lib/audit: appending records, listing newest first with filters and cursors, retention,
 * persistence across reopen, bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "warden/audit.h"
#include "warden/error.h"

#define NOW 1700000000

static wd_audit_t *open_log(const char *dir, uint64_t max) {
  wd_audit_opts_t o = {.max_records = max, .no_sync = 1};
  wd_audit_t *a = NULL;
  assert_int_equal(wd_audit_open(dir, &o, &a), 0);
  return a;
}

typedef struct seen {
  json_t *items[64];
  size_t n;
} seen_t;

static int collect(const char *json, void *arg) {
  seen_t *s = arg;
  json_error_t je;
  json_t *o = json_loads(json, 0, &je);
  assert_non_null(o);
  if (s->n < 64)
    s->items[s->n++] = o;
  else
    json_decref(o);
  return 0;
}

static void seen_free(seen_t *s) {
  for (size_t i = 0; i < s->n; i++)
    json_decref(s->items[i]);
  s->n = 0;
}

static const char *str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void append_and_list(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_audit_t *a = open_log(dir, 0);
  wd_audit_entry_t e[4] = {
      {.time = NOW, .actor = "alice", .role = "admin", .via = "console", .action = "login",
       .ip = "192.0.2.1", .ok = 1},
      {.time = NOW + 1, .actor = "alice", .role = "admin", .via = "console", .action = "ban.add",
       .target = "token abc", .ok = 1, .detail = "{\"ttl\":3600,\"reason\":\"forum\"}"},
      {.time = NOW + 2, .actor = "mallory", .via = "console", .action = "login.failed",
       .ip = "198.51.100.9", .ok = 0},
      {.time = NOW + 3, .actor = "detector", .via = "detector", .action = "ban.add",
       .target = "token def", .ok = 1, .detail = "not json"},
  };
  assert_int_equal(wd_audit_append(a, e, 4), 4);
  uint64_t records, last;
  wd_audit_stats(a, &records, &last);
  assert_int_equal(records, 4);
  assert_int_equal(last, 4);

  seen_t s = {0};
  uint64_t next = 99;
  assert_int_equal(wd_audit_list(a, 0, 10, NULL, collect, &s, &next), 0);
  assert_int_equal(s.n, 4);
  assert_int_equal(next, 0);
  assert_int_equal(json_integer_value(json_object_get(s.items[0], "seq")), 4);
  assert_string_equal(str(s.items[0], "actor"), "detector");
  assert_true(json_is_true(json_object_get(s.items[0], "detail_dropped")));
  assert_string_equal(str(s.items[2], "action"), "ban.add");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(s.items[2], "detail"), "ttl")),
                   3600);
  assert_true(json_is_false(json_object_get(s.items[1], "ok")));
  assert_null(json_object_get(s.items[1], "role"));
  assert_string_equal(str(s.items[3], "ip"), "192.0.2.1");
  assert_int_equal(json_integer_value(json_object_get(s.items[3], "time")), NOW);
  seen_free(&s);

  /* filters: actor, action and action prefix, text, since */
  wd_audit_filter_t f = {.actor = "alice"};
  assert_int_equal(wd_audit_list(a, 0, 10, &f, collect, &s, NULL), 0);
  assert_int_equal(s.n, 2);
  seen_free(&s);
  f = (wd_audit_filter_t){.action = "ban."};
  assert_int_equal(wd_audit_list(a, 0, 10, &f, collect, &s, NULL), 0);
  assert_int_equal(s.n, 2);
  seen_free(&s);
  f = (wd_audit_filter_t){.action = "login"};
  assert_int_equal(wd_audit_list(a, 0, 10, &f, collect, &s, NULL), 0);
  assert_int_equal(s.n, 1); /* exact: login.failed is another action */
  seen_free(&s);
  f = (wd_audit_filter_t){.text = "TOKEN ABC"};
  assert_int_equal(wd_audit_list(a, 0, 10, &f, collect, &s, NULL), 0);
  assert_int_equal(s.n, 1);
  seen_free(&s);
  f = (wd_audit_filter_t){.since = NOW + 2};
  assert_int_equal(wd_audit_list(a, 0, 10, &f, collect, &s, NULL), 0);
  assert_int_equal(s.n, 2);
  seen_free(&s);

  /* pages */
  assert_int_equal(wd_audit_list(a, 0, 3, NULL, collect, &s, &next), 0);
  assert_int_equal(s.n, 3);
  assert_int_equal(next, 2);
  seen_free(&s);
  assert_int_equal(wd_audit_list(a, next, 3, NULL, collect, &s, &next), 0);
  assert_int_equal(s.n, 1);
  assert_int_equal(json_integer_value(json_object_get(s.items[0], "seq")), 1);
  assert_int_equal(next, 0);
  seen_free(&s);
  assert_int_equal(wd_audit_list(a, 1000, 10, NULL, collect, &s, NULL), 0);
  assert_int_equal(s.n, 4);
  seen_free(&s);

  /* records without actor or action are skipped; text is cleaned */
  wd_audit_entry_t odd[3] = {
      {.time = NOW + 4, .action = "x"},
      {.time = NOW + 5, .actor = "eve\n\tx", .action = "logout", .target = "bad \xff utf8"},
      {.time = NOW + 6, .actor = "bob", .action = ""},
  };
  assert_int_equal(wd_audit_append(a, odd, 3), 1);
  assert_int_equal(wd_audit_list(a, 0, 1, NULL, collect, &s, NULL), 0);
  assert_string_equal(str(s.items[0], "actor"), "eve  x");
  assert_string_equal(str(s.items[0], "target"), "bad ? utf8");
  seen_free(&s);
  wd_audit_close(a);

  /* reopen: the records and the sequence survive */
  a = open_log(dir, 0);
  wd_audit_stats(a, &records, &last);
  assert_int_equal(records, 5);
  assert_int_equal(last, 5);
  wd_audit_entry_t one = {.time = NOW + 9, .actor = "alice", .action = "logout", .ok = 1};
  assert_int_equal(wd_audit_append(a, &one, 1), 1);
  wd_audit_stats(a, NULL, &last);
  assert_int_equal(last, 6);
  assert_int_equal(wd_audit_list(NULL, 0, 1, NULL, collect, &s, NULL), WD_EINVAL);
  assert_int_equal(wd_audit_list(a, 0, 1, NULL, NULL, NULL, NULL), WD_EINVAL);
  wd_audit_close(a);
  tu_tmpdir_free(dir);
}

/* The log keeps max_records; the oldest go first. */
static void retention(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_audit_t *a = open_log(dir, 10);
  for (int i = 0; i < 25; i++) {
    char target[32];
    snprintf(target, sizeof target, "case %d", i);
    wd_audit_entry_t e = {.time = NOW + i, .actor = "m", .action = "case.verdict",
                          .target = target, .ok = 1};
    assert_int_equal(wd_audit_append(a, &e, 1), 1);
  }
  uint64_t records, last;
  wd_audit_stats(a, &records, &last);
  assert_int_equal(records, 10);
  assert_int_equal(last, 25);
  seen_t s = {0};
  assert_int_equal(wd_audit_list(a, 0, 100, NULL, collect, &s, NULL), 0);
  assert_int_equal(s.n, 10);
  assert_string_equal(str(s.items[9], "target"), "case 15");
  seen_free(&s);
  wd_audit_close(a);
  tu_tmpdir_free(dir);
}

/* A stop in the callback is returned; a file that is not an audit log is refused. */
static int stop_at_two(const char *json, void *arg) {
  (void)json;
  int *n = arg;
  return ++*n == 2 ? 7 : 0;
}

static void callback_stop_and_corrupt(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  wd_audit_t *a = open_log(dir, 0);
  wd_audit_entry_t e[3] = {{.actor = "a", .action = "x"}, {.actor = "b", .action = "y"},
                           {.actor = "c", .action = "z"}};
  assert_int_equal(wd_audit_append(a, e, 3), 3);
  int n = 0;
  assert_int_equal(wd_audit_list(a, 0, 10, NULL, stop_at_two, &n, NULL), 7);
  wd_audit_close(a);
  tu_tmpdir_free(dir);

  dir = tu_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/audit.mdb", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  for (int i = 0; i < 4096; i++)
    fputc('x', f);
  fclose(f);
  wd_audit_t *b = NULL;
  assert_int_equal(wd_audit_open(dir, NULL, &b), WD_ECORRUPT);
  assert_null(b);
  tu_tmpdir_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(append_and_list),
      cmocka_unit_test(retention),
      cmocka_unit_test(callback_stop_and_corrupt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
