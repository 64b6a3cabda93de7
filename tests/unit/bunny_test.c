/* lib/token/bunny.c: the 15 official BunnyCDN vectors both ways, tampering, expiry, IP binding
 * (IPv6 /64), token_path, countries, ignore_params, both URL forms and bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "token/internal.h"

static wd_keyring_t *ring_secret(const char *secret) {
  wd_keyring_t *ring;
  assert_int_equal(wd_keyring_create(&ring), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_BUNNY, WD_ALG_NONE, NULL, 0, NULL, secret,
                                         strlen(secret), NULL),
                   0);
  return ring;
}

typedef struct vreq {
  const char *url, *ip, *country;
  int64_t now;
} vreq_t;

static int verify(const wd_keyring_t *ring, const char *tok, vreq_t q, wd_result_t *r) {
  static const wd_verify_opts_t none;
  wd_verifier_t *v;
  assert_int_equal(wd_verifier_create(ring, &v), 0);
  wd_request_t req = {0};
  req.url = q.url;
  req.ip = q.ip;
  req.country = q.country;
  req.now = q.now;
  wd_result_init(r);
  int rc = wd_token_verify(v, &none, WD_SCHEME_BUNNY, tok, tok ? strlen(tok) : 0, &req, r);
  wd_verifier_destroy(v);
  return rc;
}

static int verify_code(const wd_keyring_t *ring, vreq_t q) {
  wd_result_t r;
  int rc = verify(ring, NULL, q, &r);
  wd_result_cleanup(&r);
  return rc;
}

#define EXP 1598024587
#define KEY "SecurityKey"

/* Issue the inputs of one official case; the signed URL (malloc'd). */
static char *issue_case(const wd_keyring_t *ring, json_t *c, int64_t exp, int *rc) {
  json_t *claims = json_object();
  json_object_set_new(claims, "exp", json_integer(exp));
  const char *s;
  if (*(s = json_string_value(json_object_get(c, "pathAllowed"))))
    json_object_set_new(claims, "token_path", json_string(s));
  if (*(s = json_string_value(json_object_get(c, "countriesAllowed"))))
    json_object_set_new(claims, "token_countries", json_string(s));
  if (*(s = json_string_value(json_object_get(c, "countriesBlocked"))))
    json_object_set_new(claims, "token_countries_blocked", json_string(s));
  if (json_is_true(json_object_get(c, "ignoreParams")))
    json_object_set_new(claims, "token_ignore_params", json_true());
  json_int_t limit = json_integer_value(json_object_get(c, "speedLimit"));
  if (limit)
    json_object_set_new(claims, "limit", json_integer(limit));
  char url[256];
  snprintf(url, sizeof url, "https://token-tester.b-cdn.net%s",
           json_string_value(json_object_get(c, "path")));
  wd_issue_opts_t io = {0};
  io.url = url;
  const char *ip = json_string_value(json_object_get(c, "userIp"));
  io.ip = *ip ? ip : NULL;
  io.bunny.path_based = json_is_true(json_object_get(c, "isDirectory"));
  char *out = NULL, err[256];
  *rc = wd_token_issue(ring, WD_SCHEME_BUNNY, claims, &io, &out, err, sizeof err);
  if (*rc)
    fail_msg("%s: %s", json_string_value(json_object_get(c, "name")), err);
  json_decref(claims);
  return out;
}

static void official_vectors(void **state) {
  (void)state;
  json_t *in = tu_load_vectors("cdn/bunnycdn-official-inputs.json");
  json_t *vec = tu_load_vectors("cdn/bunnycdn-official-vectors.json");
  json_t *cases = json_object_get(in, "cases"), *vs = json_object_get(vec, "vectors"), *c;
  assert_string_equal(json_string_value(json_object_get(in, "key")), KEY);
  assert_int_equal(json_integer_value(json_object_get(in, "expires")), EXP);
  assert_int_equal(json_array_size(cases), 15);
  assert_int_equal(json_array_size(vs), 15);
  wd_keyring_t *ring = ring_secret(KEY);
  size_t i;
  json_array_foreach(cases, i, c) {
    const char *name = json_string_value(json_object_get(c, "name"));
    json_t *v = json_array_get(vs, i);
    assert_string_equal(json_string_value(json_object_get(v, "name")), name);
    const char *want = json_string_value(json_object_get(v, "signedUrl"));
    const char *token = json_string_value(json_object_get(v, "token"));
    int rc;
    char *url = issue_case(ring, c, EXP, &rc);
    if (strcmp(url, want))
      fail_msg("%s: issued %s\n want %s", name, url, want);
    free(url);

    const char *ip = json_string_value(json_object_get(c, "userIp"));
    vreq_t q = {want, *ip ? ip : "198.51.100.1",
                json_string_value(json_object_get(c, "countryCode")), EXP - 100};
    wd_result_t r;
    rc = verify(ring, NULL, q, &r);
    if (rc)
      fail_msg("%s: verify: %s", name, r.reason);
    assert_int_equal(r.id.exp, EXP);
    assert_memory_equal(r.id.token_id, "sha256:", 7);
    if (*ip && strchr(ip, ':'))
      assert_string_equal(r.id.ip, "2001:db8:85a3::/64");
    else
      assert_string_equal(r.id.ip, *ip ? ip : "");
    wd_result_cleanup(&r);
    /* The token given apart from the URL. */
    assert_int_equal(verify(ring, token, q, &r), 0);
    wd_result_cleanup(&r);
    /* Expiry: valid at expires, expired a second later. */
    q.now = EXP;
    assert_int_equal(verify_code(ring, q), 0);
    q.now = EXP + 1;
    assert_int_equal(verify(ring, NULL, q, &r), WD_EEXPIRED);
    assert_string_equal(r.failed_claim, "expires");
    wd_result_cleanup(&r);
    q.now = EXP - 100;
    /* Another address: the signature no longer matches (bound), or nothing changes. */
    q.ip = "203.0.113.200";
    assert_int_equal(verify_code(ring, q), *ip ? WD_ESIGNATURE : 0);
    /* Another key. */
    wd_keyring_t *other = ring_secret("OtherKey");
    q.ip = *ip ? ip : NULL;
    assert_int_equal(verify_code(other, q), WD_ESIGNATURE);
    wd_keyring_destroy(other);
  }
  wd_keyring_destroy(ring);
  json_decref(in);
  json_decref(vec);
}

/* Replace the first `from` in s by `to` into out. */
static void subst(const char *s, const char *from, const char *to, char *out, size_t cap) {
  const char *p = strstr(s, from);
  assert_non_null(p);
  snprintf(out, cap, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

static void tampering(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_secret(KEY);
  const char *countries =
      "https://token-tester.b-cdn.net/300kb.jpg?token=HS256-i5s3Uv7mnrFfN5nznwU2BxhILpnipYeE18TapV0WNFM&token_countries=CA%2CUS&expires=1598024587";
  const char *ignore =
      "https://token-tester.b-cdn.net/300kb.jpg?token=HS256-1lwWBD_c1IAGSj1UKPoxreu8ePDQ-Z9FoWLcRn_RRH0&token_ignore_params=true&expires=1598024587";
  const char *limit =
      "https://token-tester.b-cdn.net/300kb.jpg?token=HS256-DAVapqNNED3Z7JkjRTYX0UOIHNtbHEuuhRNEc4A7mMQ&limit=1000&expires=1598024587";
  const char *dir =
      "https://token-tester.b-cdn.net/bcdn_token=HS256-1-X01Z6A9xAo1_ds1XFf9y8gAIzk_JpmoevOx7EtgMQhY&limit=5000&expires=1598024587/abc/";
  char t[512];
  vreq_t q = {t, "1.2.3.4", "US", EXP - 100};
  static const char *const edits[][3] = {
      {"c", "CA%2CUS", "CA%2CUS%2CSE"},  {"c", "expires=1598024587", "expires=1598024588"},
      {"c", "/300kb.jpg", "/301kb.jpg"}, {"c", "&expires", "&x=1&expires"},
      {"c", "HS256-i5s3", "HS256-i5s4"}, {"c", "HS256-i5s3", "HS256-1-i5s3"},
      {"l", "limit=1000", "limit=9000"}, {"l", "limit=1000&", ""},
      {"d", "/abc/", "/abd/"},           {"d", "limit=5000", "limit=5001"},
      {"d", "/abc/", "/abc/?extra=1"},   {"i", "/300kb.jpg", "/400kb.jpg"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
    const char *base = edits[i][0][0] == 'c'   ? countries
                       : edits[i][0][0] == 'l' ? limit
                       : edits[i][0][0] == 'd' ? dir
                                               : ignore;
    subst(base, edits[i][1], edits[i][2], t, sizeof t);
    wd_result_t r;
    int rc = verify(ring, NULL, q, &r);
    if (rc != WD_ESIGNATURE)
      fail_msg("edit %s -> %s: rc %d (%s)", edits[i][1], edits[i][2], rc, r.reason);
    wd_result_cleanup(&r);
  }
  /* token_ignore_params: other parameters may come and go. */
  subst(ignore, "&expires", "&_HLS_msn=4&expires", t, sizeof t);
  assert_int_equal(verify_code(ring, q), 0);
  subst(ignore, "?token", "?a=b&token", t, sizeof t);
  assert_int_equal(verify_code(ring, q), 0);
  /* The directory form verifies as issued. */
  snprintf(t, sizeof t, "%s", dir);
  assert_int_equal(verify_code(ring, q), 0);
  /* IPv6 binding covers the /64. */
  const char *v6 =
      "https://token-tester.b-cdn.net/300kb.jpg?token=HS256-1-Z1BaGdhTZdU4iANcyKpurFR2VgCNdqC6hlBv5x_TyaI&expires=1598024587";
  snprintf(t, sizeof t, "%s", v6);
  q.ip = "2001:db8:85a3::1";
  assert_int_equal(verify_code(ring, q), 0);
  q.ip = "2001:db8:85a3:0:ffff:ffff:ffff:ffff";
  assert_int_equal(verify_code(ring, q), 0);
  q.ip = "2001:db8:85a4::1";
  assert_int_equal(verify_code(ring, q), WD_ESIGNATURE);
  q.ip = NULL;
  wd_result_t r;
  assert_int_equal(verify(ring, NULL, q, &r), WD_ECLAIM);
  assert_string_equal(r.failed_claim, "ip");
  wd_result_cleanup(&r);
  /* IPv4-mapped IPv6 is the IPv4 address. */
  snprintf(
      t, sizeof t, "%s",
      "https://token-tester.b-cdn.net/300kb.jpg?token=HS256-1-L2rISTLcujMY9UFf2tbZ41d5i-Bme1g1oTK_Z2QMLJk&expires=1598024587");
  q.ip = "::ffff:1.2.3.4";
  assert_int_equal(verify_code(ring, q), 0);
  wd_keyring_destroy(ring);
}

static void restrictions(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_secret(KEY);
  vreq_t q = {NULL, NULL, "US", EXP - 100};
  wd_result_t r;
  /* Countries: allow list, block list, unknown country. */
  q.url =
      "https://token-tester.b-cdn.net/300kb.jpg?token=HS256-i5s3Uv7mnrFfN5nznwU2BxhILpnipYeE18TapV0WNFM&token_countries=CA%2CUS&expires=1598024587";
  q.country = "us-ca";
  assert_int_equal(verify_code(ring, q), 0);
  q.country = "SE";
  assert_int_equal(verify(ring, NULL, q, &r), WD_ECLAIM);
  assert_string_equal(r.failed_claim, "token_countries");
  wd_result_cleanup(&r);
  q.country = NULL;
  assert_int_equal(verify_code(ring, q), WD_ECLAIM);
  q.url =
      "https://token-tester.b-cdn.net/300kb.jpg?token=HS256-JS8dSuBSjSH-W2-xhdkCPC36-2rlxfDCQJjlNMPqKZQ&token_countries_blocked=RU%2CCN&expires=1598024587";
  assert_int_equal(verify_code(ring, q), 0);
  q.country = "CN";
  assert_int_equal(verify(ring, NULL, q, &r), WD_ECLAIM);
  assert_string_equal(r.failed_claim, "token_countries_blocked");
  wd_result_cleanup(&r);
  q.country = "DE";
  assert_int_equal(verify_code(ring, q), 0);
  /* token_path: the request must lie under it; the signature covers token_path, not the file. */
  q.url =
      "https://token-tester.b-cdn.net/abc/other.jpg?token=HS256-uVZvT3SbEoVKYJyDJgbcsDmSFf73cv-uNUVaJiKWpbQ&token_path=%2Fabc&expires=1598024587";
  assert_int_equal(verify_code(ring, q), 0);
  q.url =
      "https://token-tester.b-cdn.net/xyz/300kb.jpg?token=HS256-uVZvT3SbEoVKYJyDJgbcsDmSFf73cv-uNUVaJiKWpbQ&token_path=%2Fabc&expires=1598024587";
  assert_int_equal(verify(ring, NULL, q, &r), WD_ECLAIM);
  assert_string_equal(r.failed_claim, "token_path");
  wd_result_cleanup(&r);
  q.url =
      "https://token-tester.b-cdn.net/abc/../xyz/300kb.jpg?token=HS256-uVZvT3SbEoVKYJyDJgbcsDmSFf73cv-uNUVaJiKWpbQ&token_path=%2Fabc&expires=1598024587";
  assert_int_equal(verify_code(ring, q), WD_ECLAIM);
  wd_keyring_destroy(ring);
}

static void issue_forms(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_secret(KEY);
  wd_issue_opts_t io = {0};
  io.url = "/video/a b.m3u8?q=x%20y&b=2";
  io.ttl = 600;
  io.now = 1700000000;
  io.ip = "2001:db8::7";
  char *out = NULL, err[256];
  json_t *claims = json_pack("{s:[s,s]}", "token_countries", "SE", "NO");
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_BUNNY, claims, &io, &out, err, sizeof err), 0);
  assert_non_null(strstr(out, "/video/a b.m3u8?token=HS256-1-"));
  assert_non_null(strstr(out, "&b=2&q=x%20y&token_countries=SE%2CNO&expires=1700000600"));
  vreq_t q = {NULL, "2001:db8::8", "SE", 1700000001};
  char wire[512];
  /* What a client sends: the space escaped. */
  size_t o = 0;
  for (const char *p = out; *p; p++)
    o += (size_t)(*p == ' ' ? snprintf(wire + o, sizeof wire - o, "%%20")
                            : snprintf(wire + o, sizeof wire - o, "%c", *p));
  q.url = wire;
  assert_int_equal(verify_code(ring, q), 0);
  free(out);
  json_decref(claims);
  /* Refused inputs. */
  static const char *const bad[] = {"{\"exp\":\"x\"}",
                                    "{\"exp\":5,\"foo\":1}",
                                    "{\"exp\":5,\"limit\":-1}",
                                    "{\"exp\":5,\"token_countries\":7}",
                                    "{\"exp\":5,\"ip\":\"1.2.3\"}",
                                    "{\"exp\":5,\"token_ignore_params\":\"yes\"}",
                                    "{\"exp\":5,\"token_path\":\"\"}"};
  io.ip = NULL;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *c = json_loads(bad[i], 0, NULL);
    out = NULL;
    assert_int_equal(wd_token_issue(ring, WD_SCHEME_BUNNY, c, &io, &out, err, sizeof err),
                     WD_EINVAL);
    assert_null(out);
    json_decref(c);
  }
  json_t *c = json_object();
  io.ttl = 0;
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_BUNNY, c, &io, &out, err, sizeof err), WD_EINVAL);
  io.ttl = 10;
  io.url = "/a?x=1&x=2";
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_BUNNY, c, &io, &out, err, sizeof err), WD_EINVAL);
  io.url = "/a?token=abc";
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_BUNNY, c, &io, &out, err, sizeof err), WD_EINVAL);
  io.url = NULL;
  assert_int_equal(wd_token_issue(ring, WD_SCHEME_BUNNY, c, &io, &out, err, sizeof err), WD_EINVAL);
  json_decref(c);
  wd_keyring_destroy(ring);
}

static void malformed_requests(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_secret(KEY);
  static const struct {
    const char *url;
    int rc;
  } table[] = {
      {"/300kb.jpg?expires=1598024587", WD_ENOTOKEN},
      {"/300kb.jpg?token=&expires=1598024587", WD_ENOTOKEN},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4", WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&expires=soon",
       WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&expires=-1",
       WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&expires=1&expires=2",
       WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&a=1&a=1&expires=1598024587",
       WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&a=%zz&expires=1598024587",
       WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&token=x&expires=1598024587",
       WD_EMALFORMED},
      {"/300kb.jpg?token=HS512-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&expires=1598024587",
       WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX&expires=1598024587",
       WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idc+4&expires=1598024587",
       WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4=&expires=1598024587",
       WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-2-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&expires=1598024587",
       WD_EMALFORMED},
      {"/300kb.jpg?token=d41d8cd98f00b204e9800998ecf8427e&expires=1598024587", WD_EMALFORMED},
      {"not a url", WD_EMALFORMED},
      {"/300kb.jpg?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&expires=1598024587", 0},
  };
  for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
    vreq_t q = {table[i].url, NULL, "US", EXP - 100};
    wd_result_t r;
    int rc = verify(ring, NULL, q, &r);
    if (rc != table[i].rc)
      fail_msg("%s: rc %d (%s), want %d", table[i].url, rc, r.reason, table[i].rc);
    assert_true(rc == 0 || r.reason[0]);
    wd_result_cleanup(&r);
  }
  /* Too many parameters, an over-long URL, no URL at all. */
  char *big = malloc(20000);
  strcpy(big, "/a?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&expires=1");
  for (int i = 0; i < 70; i++)
    sprintf(big + strlen(big), "&p%d=1", i);
  vreq_t q = {big, NULL, NULL, 1};
  assert_int_equal(verify_code(ring, q), WD_ETOOBIG);
  size_t bl = strlen(big);
  memset(big + bl, 'x', 10000);
  big[bl + 10000] = '\0';
  assert_int_equal(verify_code(ring, q), WD_ETOOBIG);
  free(big);
  q.url = NULL;
  assert_int_equal(verify_code(ring, q), WD_ENOTOKEN);
  wd_keyring_destroy(ring);
}

static void inspect_and_extract(void **state) {
  (void)state;
  const char *u =
      "https://token-tester.b-cdn.net/bcdn_token=HS256-1-4lIDGI2_t3wiTmopXzB7z71wtZKTe1Ic0lDlL72iAJw&token_countries=CA%2CUS&expires=1598024587/abc/";
  json_t *j = NULL;
  assert_int_equal(wd__bunny_inspect(u, strlen(u), &j), 0);
  assert_string_equal(json_string_value(json_object_get(j, "scheme")), "bunny");
  json_t *c = json_object_get(j, "claims");
  assert_int_equal(json_integer_value(json_object_get(c, "expires")), EXP);
  assert_true(json_is_true(json_object_get(c, "ip_bound")));
  assert_string_equal(json_string_value(json_object_get(c, "token_countries")), "CA,US");
  assert_string_equal(json_string_value(json_object_get(c, "path")), "/abc/");
  json_decref(j);
  const char *t = "HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4";
  assert_int_equal(wd__bunny_inspect(t, strlen(t), &j), 0);
  json_decref(j);
  j = NULL;
  assert_int_equal(wd__bunny_inspect("HS256-abc", 9, &j), WD_EMALFORMED);
  assert_int_equal(wd__bunny_inspect("/a?md5=x", 8, &j), WD_EMALFORMED);
  assert_null(j);

  wd_verify_opts_t o = {0};
  wd_request_t req = {0};
  const char *tok;
  size_t len;
  req.url = u;
  assert_int_equal(wd_token_extract(WD_SCHEME_BUNNY, &o, &req, NULL, 0, &tok, &len), 0);
  assert_int_equal(len, strlen("HS256-1-4lIDGI2_t3wiTmopXzB7z71wtZKTe1Ic0lDlL72iAJw"));
  assert_memory_equal(tok, "HS256-1-4lIDGI2_t3wiTmopXzB7z71wtZKTe1Ic0lDlL72iAJw", len);
  req.url = "/x.jpg?a=1&token=HS256-abc&expires=1";
  assert_int_equal(wd_token_extract(WD_SCHEME_BUNNY, &o, &req, NULL, 0, &tok, &len), 0);
  assert_int_equal(len, 9);
  req.url = "/x.jpg?a=1";
  assert_int_equal(wd_token_extract(WD_SCHEME_BUNNY, &o, &req, NULL, 0, &tok, &len), WD_ENOTOKEN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(official_vectors),   cmocka_unit_test(tampering),
      cmocka_unit_test(restrictions),       cmocka_unit_test(issue_forms),
      cmocka_unit_test(malformed_requests), cmocka_unit_test(inspect_and_extract),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
