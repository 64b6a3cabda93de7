/* lib/auth: roles, password hashes (scrypt and PBKDF2-SHA256, PHC strings), the session table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "warden/auth.h"
#include "warden/error.h"

#define NOW 1700000000

static void roles(void **state) {
  (void)state;
  wd_role_t r = 0;
  assert_int_equal(wd_role_parse("viewer", &r), 0);
  assert_int_equal(r, WD_ROLE_VIEWER);
  assert_int_equal(wd_role_parse("moderator", &r), 0);
  assert_int_equal(r, WD_ROLE_MODERATOR);
  assert_int_equal(wd_role_parse("admin", &r), 0);
  assert_int_equal(r, WD_ROLE_ADMIN);
  assert_int_equal(wd_role_parse("root", &r), WD_EINVAL);
  assert_int_equal(wd_role_parse("Admin", &r), WD_EINVAL);
  assert_int_equal(r, WD_ROLE_ADMIN); /* untouched */
  assert_string_equal(wd_role_name(WD_ROLE_MODERATOR), "moderator");
  assert_string_equal(wd_role_name((wd_role_t)9), "unknown");
  assert_true(WD_ROLE_VIEWER < WD_ROLE_MODERATOR && WD_ROLE_MODERATOR < WD_ROLE_ADMIN);
}

static wd_password_params_t cheap(wd_kdf_t kdf) {
  wd_password_params_t p;
  wd_password_params_default(kdf, &p);
  p.log2_n = 14;
  p.iterations = 100000;
  return p;
}

static void hash_and_verify(void **state) {
  (void)state;
  for (int k = WD_KDF_SCRYPT; k <= WD_KDF_PBKDF2_SHA256; k++) {
    wd_password_params_t p = cheap((wd_kdf_t)k), q;
    char h1[WD_PASSWORD_HASH_MAX], h2[WD_PASSWORD_HASH_MAX];
    assert_int_equal(wd_password_hash("correct horse", 13, &p, h1, sizeof h1), 0);
    assert_int_equal(wd_password_hash("correct horse", 13, &p, h2, sizeof h2), 0);
    assert_string_not_equal(h1, h2); /* a fresh salt each time */
    assert_true(!strncmp(h1, k == WD_KDF_SCRYPT ? "$scrypt$ln=14,r=8,p=1$" : "$pbkdf2-sha256$i=100000$",
                         k == WD_KDF_SCRYPT ? 22 : 24));
    assert_int_equal(wd_password_parse(h1, &q), 0);
    assert_int_equal(q.kdf, k);
    assert_int_equal(q.salt_len, 16);
    assert_int_equal(q.hash_len, 32);
    assert_int_equal(wd_password_verify("correct horse", 13, h1), 1);
    assert_int_equal(wd_password_verify("correct horse", 13, h2), 1);
    assert_int_equal(wd_password_verify("correct hors", 12, h1), 0);
    assert_int_equal(wd_password_verify("correct horsf", 13, h1), 0);
    assert_int_equal(wd_password_verify("", 0, h1), 0);
    char small[40];
    assert_int_equal(wd_password_hash("x", 1, &p, small, sizeof small), WD_ETOOBIG);
  }
}

/* Hashes made elsewhere (Python's hashlib.pbkdf2_hmac and hashlib.scrypt, salt
 * "saltsaltsaltsalt", password "password") verify here: the derivation and the encoding match. */
static void known_vectors(void **state) {
  (void)state;
  const char *pb = "$pbkdf2-sha256$i=100000$c2FsdHNhbHRzYWx0c2FsdA$"
                   "T78tEi/mr8Yageny/jk6s5+Qanjd3ceXdjwOeEhX6bQ";
  const char *sc = "$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
                   "GM/8plVTNY2Jr5+H+TMEUW0SMD0/pCcA0XgAgW7i7jw";
  assert_int_equal(wd_password_verify("password", 8, pb), 1);
  assert_int_equal(wd_password_verify("passwore", 8, pb), 0);
  assert_int_equal(wd_password_verify("password", 8, sc), 1);
  assert_int_equal(wd_password_verify("Password", 8, sc), 0);
  wd_password_params_t q;
  assert_int_equal(wd_password_parse(pb, &q), 0);
  assert_int_equal(q.iterations, 100000);
  assert_int_equal(q.salt_len, 16);
  assert_int_equal(wd_password_parse(sc, &q), 0);
  assert_int_equal(q.log2_n, 14);
  assert_int_equal(q.r, 8);
  assert_int_equal(q.p, 1);
}

static void parse_refuses(void **state) {
  (void)state;
  const char *bad[] = {
      "",
      "plain",
      "$scrypt$",
      "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHQ$",
      "$scrypt$ln=16,r=8,p=1$$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$scrypt$ln=13,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$scrypt$ln=21,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$scrypt$ln=20,r=32,p=1$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$scrypt$ln=16,r=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$scrypt$ln=016,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$scrypt$ln=16,p=1,r=8$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA==$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$scrypt$ln=16,r=8,p=1$c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rv",
      "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w$",
      "$scrypt$ln=99999999999,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$pbkdf2-sha256$i=99999$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$pbkdf2-sha256$i=10000001$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$pbkdf2-sha256$i=-1$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$pbkdf2-sha1$i=100000$c2FsdHNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
      "$pbkdf2-sha256$i=100000$c2Fs!HNhbHRzYWx0c2FsdA$J/ZcMVn/Q+rvK0+y80R1GXMrzDL2nqSTzDjzq2F0z7w",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    wd_password_params_t q = {.kdf = 7};
    if (wd_password_parse(bad[i], &q) != WD_EINVAL)
      fail_msg("accepted: %s", bad[i]);
    assert_int_equal(q.kdf, 7);
    assert_int_equal(wd_password_verify("password", 8, bad[i]), WD_EINVAL);
  }
  assert_int_equal(wd_password_parse(NULL, NULL), WD_EINVAL);
  char longer[400];
  memset(longer, 'A', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  memcpy(longer, "$scrypt$ln=16,r=8,p=1$", 22);
  assert_int_equal(wd_password_parse(longer, NULL), WD_EINVAL);

  wd_password_params_t p = cheap(WD_KDF_SCRYPT);
  char h[WD_PASSWORD_HASH_MAX];
  assert_int_equal(wd_password_hash("", 0, &p, h, sizeof h), WD_EINVAL);
  p.log2_n = 10;
  assert_int_equal(wd_password_hash("pw", 2, &p, h, sizeof h), WD_EINVAL);
  char *huge = malloc(WD_PASSWORD_MAX + 2);
  memset(huge, 'x', WD_PASSWORD_MAX + 1);
  huge[WD_PASSWORD_MAX + 1] = '\0';
  p = cheap(WD_KDF_SCRYPT);
  assert_int_equal(wd_password_hash(huge, WD_PASSWORD_MAX + 1, &p, h, sizeof h), WD_EINVAL);
  free(huge);
}

/* ---------------------------------------------------------------- sessions */

static void session_lifecycle(void **state) {
  (void)state;
  wd_sessions_opts_t o = {.ttl = 3600, .idle = 600};
  wd_sessions_t *t = NULL;
  assert_int_equal(wd_sessions_create(&o, &t), 0);
  char id[WD_SESSION_TOKEN_LEN + 1], id2[WD_SESSION_TOKEN_LEN + 1];
  wd_session_t s, c;
  assert_int_equal(wd_sessions_open(t, "alice", WD_ROLE_MODERATOR, NOW, id, &s), 0);
  assert_int_equal(strlen(id), WD_SESSION_TOKEN_LEN);
  assert_int_equal(strlen(s.csrf), WD_SESSION_TOKEN_LEN);
  assert_string_not_equal(id, s.csrf);
  for (const char *p = id; *p; p++)
    assert_true((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '_');
  assert_string_equal(s.user, "alice");
  assert_int_equal(s.role, WD_ROLE_MODERATOR);
  assert_int_equal(s.expires, NOW + 600);
  assert_int_equal(wd_sessions_open(t, "bob", WD_ROLE_VIEWER, NOW, id2, NULL), 0);
  assert_string_not_equal(id, id2);
  assert_int_equal(wd_sessions_count(t), 2);

  /* lookups touch the session; idle expiry slides, the absolute one does not */
  assert_int_equal(wd_sessions_check(t, id, strlen(id), NOW + 500, &c), 0);
  assert_string_equal(c.user, "alice");
  assert_string_equal(c.csrf, s.csrf);
  assert_int_equal(c.expires, NOW + 1100);
  for (int64_t now = NOW + 1000; now < NOW + 3600; now += 500)
    assert_int_equal(wd_sessions_check(t, id, strlen(id), now, &c), 0);
  assert_int_equal(c.expires, NOW + 3600);
  assert_int_equal(wd_sessions_check(t, id, strlen(id), NOW + 3600, &c), WD_ENOTOKEN);
  assert_int_equal(wd_sessions_check(t, id, strlen(id), NOW + 3000, &c), WD_ENOTOKEN); /* gone */

  /* idle: bob never came back */
  assert_int_equal(wd_sessions_check(t, id2, strlen(id2), NOW + 601, NULL), WD_ENOTOKEN);
  assert_int_equal(wd_sessions_count(t), 0);

  /* wrong ids: another length, one character changed, NULL */
  assert_int_equal(wd_sessions_open(t, "carol", WD_ROLE_ADMIN, NOW, id, NULL), 0);
  assert_int_equal(wd_sessions_check(t, id, strlen(id) - 1, NOW, NULL), WD_ENOTOKEN);
  char other[WD_SESSION_TOKEN_LEN + 1];
  memcpy(other, id, sizeof other);
  other[5] = other[5] == 'A' ? 'B' : 'A';
  assert_int_equal(wd_sessions_check(t, other, strlen(other), NOW, NULL), WD_ENOTOKEN);
  assert_int_equal(wd_sessions_check(t, NULL, 0, NOW, NULL), WD_ENOTOKEN);
  assert_int_equal(wd_sessions_check(t, id, strlen(id), NOW, NULL), 0);

  /* logout */
  assert_int_equal(wd_sessions_close(t, id, strlen(id)), 0);
  assert_int_equal(wd_sessions_close(t, id, strlen(id)), WD_ENOTOKEN);
  assert_int_equal(wd_sessions_check(t, id, strlen(id), NOW, NULL), WD_ENOTOKEN);

  /* bad arguments */
  assert_int_equal(wd_sessions_open(t, "", WD_ROLE_ADMIN, NOW, id, NULL), WD_EINVAL);
  assert_int_equal(wd_sessions_open(t, "x", (wd_role_t)0, NOW, id, NULL), WD_EINVAL);
  char longname[80];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_int_equal(wd_sessions_open(t, longname, WD_ROLE_ADMIN, NOW, id, NULL), WD_EINVAL);
  wd_sessions_opts_t neg = {.ttl = -1};
  wd_sessions_t *t2 = NULL;
  assert_int_equal(wd_sessions_create(&neg, &t2), WD_EINVAL);
  assert_null(t2);
  wd_sessions_destroy(t);
  wd_sessions_destroy(NULL);
}

/* A full table refuses new sessions until some expire; a user past max_per_user loses the
 * least recently used session; many opens and closes keep every live session findable. */
static void session_limits(void **state) {
  (void)state;
  wd_sessions_opts_t o = {.max_sessions = 8, .max_per_user = 3, .ttl = 100, .idle = 100};
  wd_sessions_t *t = NULL;
  assert_int_equal(wd_sessions_create(&o, &t), 0);
  char ids[8][WD_SESSION_TOKEN_LEN + 1], id[WD_SESSION_TOKEN_LEN + 1];
  for (int i = 0; i < 8; i++) {
    char user[16];
    snprintf(user, sizeof user, "u%d", i);
    assert_int_equal(wd_sessions_open(t, user, WD_ROLE_VIEWER, NOW + i, ids[i], NULL), 0);
  }
  assert_int_equal(wd_sessions_open(t, "late", WD_ROLE_VIEWER, NOW + 20, id, NULL), WD_ETOOBIG);
  assert_int_equal(wd_sessions_open(t, "late", WD_ROLE_VIEWER, NOW + 100, id, NULL), 0); /* u0 expired */
  assert_int_equal(wd_sessions_check(t, ids[0], WD_SESSION_TOKEN_LEN, NOW + 100, NULL), WD_ENOTOKEN);
  assert_int_equal(wd_sessions_check(t, ids[7], WD_SESSION_TOKEN_LEN, NOW + 100, NULL), 0);
  assert_int_equal(wd_sessions_expire(t, NOW + 500), 8);
  assert_int_equal(wd_sessions_count(t), 0);

  char mine[4][WD_SESSION_TOKEN_LEN + 1];
  for (int i = 0; i < 3; i++)
    assert_int_equal(wd_sessions_open(t, "dana", WD_ROLE_ADMIN, NOW + 1000 + i, mine[i], NULL), 0);
  assert_int_equal(wd_sessions_check(t, mine[0], WD_SESSION_TOKEN_LEN, NOW + 1010, NULL), 0);
  assert_int_equal(wd_sessions_open(t, "dana", WD_ROLE_ADMIN, NOW + 1011, mine[3], NULL), 0);
  /* mine[1] was the least recently used */
  assert_int_equal(wd_sessions_check(t, mine[1], WD_SESSION_TOKEN_LEN, NOW + 1012, NULL), WD_ENOTOKEN);
  assert_int_equal(wd_sessions_check(t, mine[0], WD_SESSION_TOKEN_LEN, NOW + 1012, NULL), 0);
  assert_int_equal(wd_sessions_check(t, mine[2], WD_SESSION_TOKEN_LEN, NOW + 1012, NULL), 0);
  assert_int_equal(wd_sessions_check(t, mine[3], WD_SESSION_TOKEN_LEN, NOW + 1012, NULL), 0);
  assert_int_equal(wd_sessions_count(t), 3);

  /* churn: tombstones get rebuilt, live sessions stay findable */
  int64_t now = NOW + 1020;
  for (int round = 0; round < 500; round++) {
    char a[WD_SESSION_TOKEN_LEN + 1];
    assert_int_equal(wd_sessions_open(t, "churn", WD_ROLE_VIEWER, now, a, NULL), 0);
    assert_int_equal(wd_sessions_check(t, a, WD_SESSION_TOKEN_LEN, now, NULL), 0);
    assert_int_equal(wd_sessions_close(t, a, WD_SESSION_TOKEN_LEN), 0);
    assert_int_equal(wd_sessions_check(t, mine[3], WD_SESSION_TOKEN_LEN, now, NULL), 0);
    now += 1;
    if (now > NOW + 1100)
      break; /* stay within mine[3]'s idle time */
  }
  wd_sessions_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(roles),
      cmocka_unit_test(hash_and_verify),
      cmocka_unit_test(known_vectors),
      cmocka_unit_test(parse_refuses),
      cmocka_unit_test(session_lifecycle),
      cmocka_unit_test(session_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
