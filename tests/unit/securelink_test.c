/* lib/token/securelink.c: md5 secure link vectors both ways, nginx's invalid/expired order,
 * decoding rules, $uri normalisation, directory scope, CDN77, IP binding and bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "token/internal.h"

static wd_keyring_t *ring_secret(const char *secret) {
  wd_keyring_t *ring;
  assert_int_equal(wd_keyring_create(&ring), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_SECURELINK, WD_ALG_NONE, NULL, 0, NULL,
                                         secret, strlen(secret), NULL),
                   0);
  return ring;
}

static int verify(const wd_keyring_t *ring, const wd_verify_opts_t *o, const char *tok,
                  const char *url, const char *ip, int64_t now, wd_result_t *r) {
  static const wd_verify_opts_t none;
  wd_verifier_t *v;
  assert_int_equal(wd_verifier_create(ring, &v), 0);
  wd_request_t req = {0};
  req.url = url;
  req.ip = ip;
  req.now = now;
  wd_result_init(r);
  int rc =
      wd_token_verify(v, o ? o : &none, WD_SCHEME_SECURELINK, tok, tok ? strlen(tok) : 0, &req, r);
  wd_verifier_destroy(v);
  return rc;
}

static int verify_code(const wd_keyring_t *ring, const wd_verify_opts_t *o, const char *url,
                       const char *ip, int64_t now) {
  wd_result_t r;
  int rc = verify(ring, o, NULL, url, ip, now, &r);
  wd_result_cleanup(&r);
  return rc;
}

static char *issue(const wd_keyring_t *ring, const char *claims, const wd_issue_opts_t *o,
                   int *rc) {
  json_t *c = claims ? json_loads(claims, 0, NULL) : json_object();
  assert_non_null(c);
  char *out = NULL, err[256];
  *rc = wd_token_issue(ring, WD_SCHEME_SECURELINK, c, o, &out, err, sizeof err);
  json_decref(c);
  return out;
}

/* Each case of securelink-md5.json: issue the link, find the expected token in it, verify it. */
static void vectors_both_ways(void **state) {
  (void)state;
  json_t *doc = tu_load_vectors("cdn/securelink-md5.json");
  json_t *cases = json_object_get(doc, "cases"), *c;
  size_t i;
  assert_int_equal(json_array_size(cases), 4);
  json_array_foreach(cases, i, c) {
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *secret = json_string_value(json_object_get(c, "secret"));
    json_t *jpath =
        json_object_get(c, "uri") ? json_object_get(c, "uri") : json_object_get(c, "path");
    const char *path = json_string_value(jpath);
    json_t *jip = json_object_get(c, "ip"), *jtpl = json_object_get(c, "template");
    int64_t exp = json_integer_value(json_object_get(c, "expires"));
    int dir = path[strlen(path) - 1] == '/';
    wd_keyring_t *ring = ring_secret(secret);
    wd_issue_opts_t io = {0};
    io.url = path;
    io.ip = jip ? json_string_value(jip) : NULL;
    io.securelink.directory_scope = dir;
    if (jtpl)
      io.securelink.template_str = json_string_value(jtpl);
    else if (jip)
      io.securelink.template_str = "$expires$uri$remote_addr $secret";
    char claims[64];
    snprintf(claims, sizeof claims, "{\"exp\":%lld}", (long long)exp);
    int rc;
    char *url = issue(ring, claims, &io, &rc);
    char want[256];
    snprintf(want, sizeof want, "%s?md5=%s&expires=%lld", path,
             json_string_value(json_object_get(c, "expected")), (long long)exp);
    if (rc || strcmp(url, want))
      fail_msg("%s: issued %s, want %s", name, url ? url : "-", want);

    wd_verify_opts_t vo = {0};
    vo.securelink = io.securelink;
    vo.want_claims = 1;
    char req[300];
    snprintf(req, sizeof req, "%s", url);
    if (dir) /* a file in the signed directory */
      snprintf(req, sizeof req, "%sseg-001.ts?md5=%s&expires=%lld", path,
               json_string_value(json_object_get(c, "expected")), (long long)exp);
    wd_result_t r;
    rc = verify(ring, &vo, NULL, req, io.ip, exp - 60, &r);
    if (rc)
      fail_msg("%s: verify %s: %s", name, req, r.reason);
    assert_int_equal(r.id.exp, exp);
    assert_memory_equal(r.id.token_id, "sha256:", 7);
    assert_string_equal(r.id.ip, io.ip ? io.ip : "");
    assert_string_equal(json_string_value(json_object_get(r.claims, "md5")),
                        json_string_value(json_object_get(c, "expected")));
    wd_result_cleanup(&r);
    /* At expires exactly still valid (nginx: expired when expires < now), a second later 410. */
    assert_int_equal(verify_code(ring, &vo, req, io.ip, exp), 0);
    assert_int_equal(verify_code(ring, &vo, req, io.ip, exp + 1), WD_EEXPIRED);
    if (jip)
      assert_int_equal(verify_code(ring, &vo, req, "10.9.9.9", exp - 60), WD_ESIGNATURE);
    free(url);
    wd_keyring_destroy(ring);
  }
  json_decref(doc);
}

static void cdn77_vector(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_secret("l33tf0olol");
  wd_issue_opts_t io = {0};
  io.url = "https://cdn.example.com/images/photo.png";
  io.securelink.style = WD_SECURELINK_CDN77;
  int rc;
  char *url = issue(ring, "{\"exp\":1333497600}", &io, &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(
      url, "https://cdn.example.com/images/photo.png?secure=kaGd_cu6Iy4LDgfX3jy5Rw==,1333497600");
  wd_verify_opts_t vo = {0};
  vo.securelink.style = WD_SECURELINK_CDN77;
  assert_int_equal(verify_code(ring, &vo, url, NULL, 1333497000), 0);
  assert_int_equal(verify_code(ring, &vo, url, NULL, 1333497601), WD_EEXPIRED);
  /* The token alone (as a CDN passes "TOKEN,EXP"), with the request for $uri. */
  wd_result_t r;
  assert_int_equal(verify(ring, &vo, "kaGd_cu6Iy4LDgfX3jy5Rw==,1333497600", "/images/photo.png",
                          NULL, 1333497000, &r),
                   0);
  wd_result_cleanup(&r);
  assert_int_equal(verify(ring, &vo, "kaGd_cu6Iy4LDgfX3jy5Rw==,1333497601", "/images/photo.png",
                          NULL, 1333497000, &r),
                   WD_ESIGNATURE);
  wd_result_cleanup(&r);
  assert_int_equal(verify_code(ring, &vo,
                               "/images/photo.jpg?secure=kaGd_cu6Iy4LDgfX3jy5Rw==,1333497600", NULL,
                               1333497000),
                   WD_ESIGNATURE);
  const char *t;
  size_t tl;
  wd_request_t req = {0};
  req.url = url;
  assert_int_equal(wd_token_extract(WD_SCHEME_SECURELINK, &vo, &req, NULL, 0, &t, &tl), 0);
  assert_int_equal(tl, strlen("kaGd_cu6Iy4LDgfX3jy5Rw==,1333497600"));
  free(url);
  wd_keyring_destroy(ring);
}

#define GP "vHEnxR8VaxpEDgyNzJuWwA" /* gcore-plain: 2147483647/images/1.jpg secret_key */

/* nginx: the hash first ("" -> 403), then the time ("0" -> 410). */
static void nginx_invalid_before_expired(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_secret("secret_key");
  const int64_t exp = 2147483647;
  wd_result_t r;
  assert_int_equal(
      verify(ring, NULL, NULL, "/images/1.jpg?md5=" GP "&expires=2147483647", NULL, exp + 10, &r),
      WD_EEXPIRED);
  assert_int_equal(r.id.exp, exp);
  wd_result_cleanup(&r);
  /* Wrong hash on an expired link: invalid, not expired. */
  assert_int_equal(verify_code(ring, NULL,
                               "/images/1.jpg?md5=wHEnxR8VaxpEDgyNzJuWwA&expires=2147483647", NULL,
                               exp + 10),
                   WD_ESIGNATURE);
  assert_int_equal(
      verify_code(ring, NULL, "/images/2.jpg?md5=" GP "&expires=2147483647", NULL, exp + 10),
      WD_ESIGNATURE);
  assert_int_equal(
      verify_code(ring, NULL, "/images/1.jpg?md5=" GP "&expires=2147483646", NULL, exp + 10),
      WD_ESIGNATURE);
  /* Leeway stretches the expiry. */
  wd_verify_opts_t o = {0};
  o.leeway = 10;
  assert_int_equal(
      verify_code(ring, &o, "/images/1.jpg?md5=" GP "&expires=2147483647", NULL, exp + 10), 0);
  assert_int_equal(
      verify_code(ring, &o, "/images/1.jpg?md5=" GP "&expires=2147483647", NULL, exp + 11),
      WD_EEXPIRED);
  wd_keyring_destroy(ring);
}

static void nginx_decoding_rules(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_secret("secret_key");
  const int64_t now = 1700000000;
  static const struct {
    const char *url;
    int rc;
  } table[] = {
      {"/images/1.jpg?md5=" GP "&expires=2147483647", 0},
      {"/images/1.jpg?md5=" GP "==&expires=2147483647", 0},       /* padding optional */
      {"/images/1.jpg?md5=" GP "=x&expires=2147483647", 0},       /* decoding stops at '=' */
      {"/images/1.jpg?expires=2147483647&md5=" GP, 0},            /* any order */
      {"/images/1.jpg?a=1&md5=" GP "&expires=2147483647&b=2", 0}, /* query not signed */
      {"/images/1.jpg?MD5=" GP "&Expires=2147483647", 0},         /* names as nginx: any case */
      {"/images/1.jpg?md5&md5=" GP "&expires=2147483647", 0},     /* "name=" only */
      {"/images/1.jpg?md5=" GP "&md5=AAAAAAAAAAAAAAAAAAAAAA&expires=2147483647", 0}, /* first */
      {"/images/1.jpg?md5=AAAAAAAAAAAAAAAAAAAAAA&md5=" GP "&expires=2147483647", WD_ESIGNATURE},
      {"/images/%31.jpg?md5=" GP "&expires=2147483647", 0},      /* $uri is decoded */
      {"//images//1.jpg?md5=" GP "&expires=2147483647", 0},      /* merge_slashes */
      {"/x/../images/./1.jpg?md5=" GP "&expires=2147483647", 0}, /* dot segments */
      {"https://cdn.example.com/images/1.jpg?md5=" GP "&expires=2147483647#f", 0},
      {"/images/1.jpg?md5=" GP "===&expires=2147483647", WD_ESIGNATURE}, /* 25 characters */
      {"/images/1.jpg?md5=vHEnxR8VaxpEDgyNzJuWw&expires=2147483647", WD_ESIGNATURE},   /* short */
      {"/images/1.jpg?md5=vHEnxR8VaxpEDgyNzJuWwAA&expires=2147483647", WD_ESIGNATURE}, /* long */
      {"/images/1.jpg?md5=vHEnxR8VaxpEDgyNzJu+wA&expires=2147483647", WD_ESIGNATURE},  /* '+' */
      {"/images/1.jpg?md5=vHEnxR8VaxpEDgyNzJu/wA&expires=2147483647", WD_ESIGNATURE},  /* '/' */
      {"/images/1.jpg?md5=vHEnxR8VaxpEDgyNzJu%2BwA&expires=2147483647", WD_ESIGNATURE},
      {"/images/1.jpg?md5=&expires=2147483647", WD_ESIGNATURE},
      {"/images/1.jpg?md5=" GP, WD_ESIGNATURE}, /* template signs $expires */
      {"/images/1.jpg?md5=" GP "&expires=", WD_ESIGNATURE},
      {"/images/1.jpg?md5=" GP "&expires=0", WD_ESIGNATURE},
      {"/images/1.jpg?md5=" GP "&expires=-1", WD_ESIGNATURE},
      {"/images/1.jpg?md5=" GP "&expires=12ab", WD_ESIGNATURE},
      {"/images/1.jpg?md5=" GP "&expires=02147483647", WD_ESIGNATURE}, /* signed as text */
      {"/images/1.jpg?md5=" GP "&expires=9999999999999999999999", WD_ESIGNATURE},
      {"/images/%zz.jpg?md5=" GP "&expires=2147483647", WD_ESIGNATURE},
      {"/images/%00.jpg?md5=" GP "&expires=2147483647", WD_ESIGNATURE},
      {"/../images/1.jpg?md5=" GP "&expires=2147483647", WD_ESIGNATURE},
      {"/images/1.jpg?expires=2147483647", WD_ENOTOKEN},
      {"/images/1.jpg?md55=" GP "&expires=2147483647", WD_ENOTOKEN},
      {"not a url", WD_EMALFORMED},
  };
  for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
    wd_result_t r;
    int rc = verify(ring, NULL, NULL, table[i].url, NULL, now, &r);
    if (rc != table[i].rc)
      fail_msg("%s: rc %d (%s), want %d", table[i].url, rc, r.reason, table[i].rc);
    assert_true(rc == 0 || r.reason[0]);
    wd_result_cleanup(&r);
  }
  /* The same link twice gives the same identity; spare base64 bits do not change it. */
  wd_result_t a, b;
  assert_int_equal(
      verify(ring, NULL, NULL, "/images/1.jpg?md5=" GP "&expires=2147483647", NULL, now, &a), 0);
  assert_int_equal(verify(ring, NULL, NULL,
                          "/images/1.jpg?md5=vHEnxR8VaxpEDgyNzJuWwB&expires=2147483647", NULL, now,
                          &b),
                   0);
  assert_string_equal(a.id.token_id, b.id.token_id);
  wd_result_cleanup(&a);
  wd_result_cleanup(&b);
  wd_keyring_destroy(ring);
}

static void templates_and_names(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_secret("s3cr3t");
  int rc;
  /* No $expires in the template and no expires: the link never expires. */
  wd_issue_opts_t io = {0};
  io.url = "/v/a.ts?x=1";
  io.securelink.template_str = "${uri} ${secret}";
  io.securelink.md5_param = "st";
  char *url = issue(ring, NULL, &io, &rc);
  assert_int_equal(rc, 0);
  assert_memory_equal(url, "/v/a.ts?x=1&st=", 15);
  assert_null(strstr(url, "expires"));
  wd_verify_opts_t vo = {0};
  vo.securelink = io.securelink;
  wd_result_t r;
  assert_int_equal(verify(ring, &vo, NULL, url, NULL, 4000000000LL, &r), 0);
  assert_int_equal(r.id.exp, 0);
  wd_result_cleanup(&r);
  /* An unsigned expires is still honoured, as nginx does. */
  char withexp[256];
  snprintf(withexp, sizeof withexp, "%s&expires=1000", url);
  assert_int_equal(verify_code(ring, &vo, withexp, NULL, 2000), WD_EEXPIRED);
  free(url);
  /* Custom expires name; the URL may not already carry the parameters. */
  io.securelink.template_str = "$secure_link_expires|$uri|$remote_addr|$secret";
  io.securelink.expires_param = "e";
  io.ip = "192.0.2.1";
  io.ttl = 100;
  io.now = 1700000000;
  url = issue(ring, NULL, &io, &rc);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(url, "&e=1700000100"));
  vo.securelink = io.securelink;
  assert_int_equal(verify(ring, &vo, NULL, url, "192.0.2.1", 1700000050, &r), 0);
  assert_string_equal(r.id.ip, "192.0.2.1");
  wd_result_cleanup(&r);
  assert_int_equal(verify(ring, &vo, NULL, url, NULL, 1700000050, &r), WD_ECLAIM);
  assert_string_equal(r.failed_claim, "ip");
  wd_result_cleanup(&r);
  io.url = url;
  char *again = issue(ring, NULL, &io, &rc);
  assert_int_equal(rc, WD_EINVAL);
  assert_null(again);
  free(url);
  /* Bad templates and missing inputs. */
  static const char *const bad_tpl[] = {"$expires$host $secret", "${uri", "", "$"};
  io.url = "/v/a.ts";
  for (size_t i = 0; i < sizeof bad_tpl / sizeof *bad_tpl; i++) {
    io.securelink.template_str = bad_tpl[i];
    assert_null(issue(ring, NULL, &io, &rc));
    assert_int_equal(rc, WD_EINVAL);
    vo.securelink.template_str = bad_tpl[i];
    assert_int_equal(verify_code(ring, &vo, "/v/a.ts?md5=" GP "&expires=5", NULL, 1), WD_EINVAL);
  }
  io.securelink.template_str = NULL;
  io.securelink.expires_param = NULL;
  io.ttl = 0;
  assert_null(issue(ring, NULL, &io, &rc)); /* $expires without exp or ttl */
  assert_int_equal(rc, WD_EINVAL);
  io.url = NULL;
  assert_null(issue(ring, "{\"exp\":5}", &io, &rc));
  assert_int_equal(rc, WD_EINVAL);
  io.url = "/a";
  io.securelink.template_str = "$expires$uri$remote_addr $secret";
  io.ip = NULL;
  assert_null(issue(ring, "{\"exp\":5}", &io, &rc));
  assert_int_equal(rc, WD_EINVAL);
  assert_null(issue(ring, "{\"exp\":\"5\"}", &io, &rc));
  assert_int_equal(rc, WD_EINVAL);
  wd_keyring_destroy(ring);
  /* No key. */
  wd_keyring_t *empty;
  assert_int_equal(wd_keyring_create(&empty), 0);
  assert_int_equal(verify_code(empty, NULL, "/images/1.jpg?md5=" GP "&expires=2147483647", NULL, 1),
                   WD_ENOKEY);
  wd_keyring_destroy(empty);
}

static void directory_scope(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_secret("secret_key");
  wd_issue_opts_t io = {0};
  io.url = "https://cdn.example.com/videos/video-1/playlist.m3u8";
  io.securelink.directory_scope = 1;
  int rc;
  char *url = issue(ring, "{\"exp\":1893456000}", &io, &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(
      url,
      "https://cdn.example.com/videos/video-1/playlist.m3u8?md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000");
  wd_verify_opts_t vo = {0};
  vo.securelink.directory_scope = 1;
  const int64_t now = 1800000000;
  assert_int_equal(
      verify_code(ring, &vo,
                  "/videos/video-1/seg-9.ts?md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000", NULL,
                  now),
      0);
  assert_int_equal(verify_code(ring, &vo,
                               "/videos/video-1/?md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000",
                               NULL, now),
                   0);
  assert_int_equal(
      verify_code(ring, &vo,
                  "/videos/video-1/sub/a.ts?md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000", NULL,
                  now),
      WD_ESIGNATURE);
  assert_int_equal(verify_code(ring, &vo,
                               "/videos/video-2/a.ts?md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000",
                               NULL, now),
                   WD_ESIGNATURE);
  assert_int_equal(verify_code(ring, NULL,
                               "/videos/video-1/a.ts?md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000",
                               NULL, now),
                   WD_ESIGNATURE);
  free(url);
  wd_keyring_destroy(ring);
}

static void path_normalisation(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } table[] = {
      {"", "/"},
      {"/", "/"},
      {"/a/b", "/a/b"},
      {"/a//b", "/a/b"},
      {"/a/./b", "/a/b"},
      {"/a/../b", "/b"},
      {"/a/b/..", "/a/"},
      {"/a/b/.", "/a/b/"},
      {"/a/%2e%2E/b", "/b"},
      {"/a%2fb", "/a/b"},
      {"/%41%62", "/Ab"},
      {"/a/b/../../c/", "/c/"},
      {"/a/..b/c", "/a/..b/c"},
      {"/a/.b", "/a/.b"},
      {"/a+b", "/a+b"},
      {"/...", "/..."},
  };
  char out[64];
  for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
    long n = wd__path_normalize(table[i].in, strlen(table[i].in), out, sizeof out);
    if (n < 0 || strcmp(out, table[i].out))
      fail_msg("normalise '%s': %ld '%s', want '%s'", table[i].in, n, n < 0 ? "" : out,
               table[i].out);
    assert_int_equal((size_t)n, strlen(table[i].out));
  }
  static const char *const bad[] = {"/..", "/a/../..", "/%2e%2e/x", "a/b",
                                    "/a%", "/a%4",     "/a%g0",     "/a%00b"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(wd__path_normalize(bad[i], strlen(bad[i]), out, sizeof out), WD_EMALFORMED);
  assert_int_equal(wd__path_normalize("/abcdefgh", 9, out, 8), WD_ETOOBIG);
}

static void inspect_and_extract(void **state) {
  (void)state;
  json_t *j = NULL;
  const char *u = "https://cdn.example.com/images/1.jpg?md5=" GP "&expires=2147483647";
  assert_int_equal(wd__securelink_inspect(u, strlen(u), &j), 0);
  assert_string_equal(json_string_value(json_object_get(j, "scheme")), "securelink");
  assert_string_equal(json_string_value(json_object_get(j, "md5")), GP);
  json_t *c = json_object_get(j, "claims");
  assert_int_equal(json_integer_value(json_object_get(c, "expires")), 2147483647);
  assert_string_equal(json_string_value(json_object_get(c, "path")), "/images/1.jpg");
  json_decref(j);
  const char *q = "md5=" GP "&expires=2147483647";
  assert_int_equal(wd__securelink_inspect(q, strlen(q), &j), 0);
  json_decref(j);
  const char *s = "?secure=kaGd_cu6Iy4LDgfX3jy5Rw==,1333497600";
  assert_int_equal(wd__securelink_inspect(s, strlen(s), &j), 0);
  assert_string_equal(json_string_value(json_object_get(j, "style")), "cdn77");
  json_decref(j);
  static const char *const bad[] = {"/images/1.jpg", "md5=short&expires=1", "secure=abc",
                                    "md5=" GP "&expires=x", "hello"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    j = NULL;
    assert_int_equal(wd__securelink_inspect(bad[i], strlen(bad[i]), &j), WD_EMALFORMED);
    assert_null(j);
  }
  wd_verify_opts_t o = {0};
  wd_request_t req = {0};
  const char *t;
  size_t tl;
  req.url = "/a.ts?md5=" GP "&expires=1";
  assert_int_equal(wd_token_extract(WD_SCHEME_SECURELINK, &o, &req, NULL, 0, &t, &tl), 0);
  assert_int_equal(tl, strlen(GP));
  assert_memory_equal(t, GP, tl);
  req.url = "/a.ts?expires=1";
  assert_int_equal(wd_token_extract(WD_SCHEME_SECURELINK, &o, &req, NULL, 0, &t, &tl), WD_ENOTOKEN);
  req.url = NULL;
  assert_int_equal(wd_token_extract(WD_SCHEME_SECURELINK, &o, &req, NULL, 0, &t, &tl), WD_ENOTOKEN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vectors_both_ways),
      cmocka_unit_test(cdn77_vector),
      cmocka_unit_test(nginx_invalid_before_expired),
      cmocka_unit_test(nginx_decoding_rules),
      cmocka_unit_test(templates_and_names),
      cmocka_unit_test(directory_scope),
      cmocka_unit_test(path_normalisation),
      cmocka_unit_test(inspect_and_extract),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
