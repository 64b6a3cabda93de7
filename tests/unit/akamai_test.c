/* lib/token/akamai.c: EdgeAuth 2.0 vectors both ways, tampering, times, ACL wildcards, IP
 * binding, extraction, inspection and malformed tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "token/internal.h"

static wd_keyring_t *ring_hex(const char *hex, wd_alg_t alg) {
  wd_keyring_t *ring;
  size_t n;
  uint8_t *k = tu_hex(hex, &n);
  assert_int_equal(wd_keyring_create(&ring), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_AKAMAI, alg, NULL, 0, NULL, k, n, NULL),
                   0);
  free(k);
  return ring;
}

static wd_alg_t alg_of(const char *name) {
  if (!strcmp(name, "sha1"))
    return WD_ALG_HS1;
  if (!strcmp(name, "md5"))
    return WD_ALG_HMD5;
  return WD_ALG_HS256;
}

/* Verify tok (NULL: from the request) against url/ip at now; returns the code, r filled. */
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
  int rc = wd_token_verify(v, o ? o : &none, WD_SCHEME_AKAMAI, tok, tok ? strlen(tok) : 0, &req, r);
  wd_verifier_destroy(v);
  return rc;
}

static int verify_code(const wd_keyring_t *ring, const wd_verify_opts_t *o, const char *tok,
                       const char *url, const char *ip, int64_t now) {
  wd_result_t r;
  int rc = verify(ring, o, tok, url, ip, now, &r);
  wd_result_cleanup(&r);
  return rc;
}

static char *issue(const wd_keyring_t *ring, const char *claims_json, const wd_issue_opts_t *o,
                   int *rc) {
  static const wd_issue_opts_t none;
  json_error_t je;
  json_t *c = json_loads(claims_json, 0, &je);
  assert_non_null(c);
  char *out = NULL, err[256];
  *rc = wd_token_issue(ring, WD_SCHEME_AKAMAI, c, o ? o : &none, &out, err, sizeof err);
  json_decref(c);
  return out;
}

/* The claims of a vector case, named as Warden's issuer expects them. */
static json_t *case_claims(json_t *c) {
  json_t *cl = json_object(), *x;
  if ((x = json_object_get(c, "start")))
    json_object_set(cl, "st", x);
  json_object_set(cl, "exp", json_object_get(c, "end"));
  if (!strcmp(json_string_value(json_object_get(c, "type")), "acl"))
    json_object_set(cl, "acl", json_object_get(c, "acl"));
  else
    json_object_set(cl, "url", json_object_get(c, "url"));
  if ((x = json_object_get(c, "ip")))
    json_object_set(cl, "ip", x);
  if ((x = json_object_get(c, "session_id")))
    json_object_set(cl, "id", x);
  if ((x = json_object_get(c, "payload")))
    json_object_set(cl, "data", x);
  if ((x = json_object_get(c, "salt")))
    json_object_set(cl, "salt", x);
  return cl;
}

/* A request URL the case's token must accept: the URL on the wire, or a path inside the ACL. */
static void case_request(json_t *c, char *out, size_t cap) {
  json_t *acl = json_object_get(c, "acl");
  const char *src;
  if (json_is_array(acl))
    src = json_string_value(json_array_get(acl, 0));
  else if (acl)
    src = json_string_value(acl);
  else
    src = json_string_value(json_object_get(c, "url"));
  size_t o = 0;
  for (const char *p = src; *p && o + 16 < cap; p++) {
    if (*p == ' ') {
      memcpy(out + o, "%20", 3);
      o += 3;
    } else if (*p == '*' && acl) {
      memcpy(out + o, "seg/file.ts", 11);
      o += 11;
    } else {
      out[o++] = *p;
    }
  }
  out[o] = '\0';
}

static void vectors_issue_and_verify(void **state) {
  (void)state;
  json_t *doc = tu_load_vectors("cdn/akamai-edgeauth.json");
  json_t *cases = json_object_get(doc, "cases"), *c;
  size_t i;
  assert_true(json_array_size(cases) >= 9);
  json_array_foreach(cases, i, c) {
    const char *name = json_string_value(json_object_get(c, "name"));
    wd_keyring_t *ring = ring_hex(json_string_value(json_object_get(c, "key")),
                                  alg_of(json_string_value(json_object_get(c, "algorithm"))));
    json_t *claims = case_claims(c);
    int early = json_is_true(json_object_get(c, "escape_early"));
    const char *want[2] = {
        json_string_value(json_object_get(c, "expected_node_akamai_edgeauth_0_2_0")),
        json_string_value(json_object_get(c, "expected_python_edgeauth"))};
    wd_akamai_escape_t modes[2] = {WD_AKAMAI_ESCAPE_NODE, WD_AKAMAI_ESCAPE_PYTHON};
    char url[512];
    case_request(c, url, sizeof url);
    json_t *st = json_object_get(c, "start");
    int64_t now = st ? json_integer_value(st) : json_integer_value(json_object_get(c, "end")) - 100;
    json_t *ip = json_object_get(c, "ip"), *salt = json_object_get(c, "salt");
    for (int m = 0; m < 2; m++) {
      wd_issue_opts_t io = {0};
      io.akamai.escape_early = early;
      io.akamai.escape = modes[m];
      char *out = NULL, err[256];
      int rc = wd_token_issue(ring, WD_SCHEME_AKAMAI, claims, &io, &out, err, sizeof err);
      if (rc || strcmp(out, want[m]))
        fail_msg("%s (%s): issued %s (%s), want %s", name, m ? "python" : "node", out ? out : "-",
                 err, want[m]);
      free(out);

      wd_verify_opts_t vo = {0};
      vo.akamai.escape_early = early;
      vo.akamai.escape = modes[m];
      vo.akamai.salt = salt ? json_string_value(salt) : NULL;
      wd_result_t r;
      rc = verify(ring, &vo, want[m], url, ip ? json_string_value(ip) : NULL, now, &r);
      if (rc)
        fail_msg("%s (%s): verify %s at %s: %s", name, m ? "python" : "node", want[m], url,
                 r.reason);
      assert_int_equal(r.id.exp, json_integer_value(json_object_get(c, "end")));
      assert_int_equal(r.id.iat, st ? json_integer_value(st) : 0);
      json_t *sid = json_object_get(c, "session_id");
      if (sid)
        assert_string_equal(r.id.token_id, json_string_value(sid));
      else
        assert_memory_equal(r.id.token_id, "sha256:", 7);
      if (ip)
        assert_string_equal(r.id.ip, json_string_value(ip));
      wd_result_cleanup(&r);
      /* The escape mode matters for URL tokens only when the two libraries disagree. */
      if (early && strcmp(want[0], want[1])) {
        vo.akamai.escape = modes[!m];
        assert_int_equal(verify_code(ring, &vo, want[m], url, NULL, now), WD_ESIGNATURE);
      }
      /* Without the salt the MAC cannot match. */
      if (salt) {
        vo.akamai.salt = NULL;
        assert_int_equal(verify_code(ring, &vo, want[m], url, NULL, now), WD_ESIGNATURE);
      }
    }
    json_decref(claims);
    wd_keyring_destroy(ring);
  }
  json_decref(doc);
}

#define KEY "aabbccddeeff00112233445566778899"
#define T0 1700000000

static void tampering_fails(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_hex(KEY, WD_ALG_HS256);
  int rc;
  char *tok =
      issue(ring,
            "{\"st\":1700000000,\"exp\":1700003600,\"acl\":\"/live/*\",\"ip\":\"203.0.113.7\","
            "\"id\":\"sess42\",\"data\":\"user=alice\"}",
            NULL, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(verify_code(ring, NULL, tok, "/live/a.ts", "203.0.113.7", T0 + 10), 0);
  static const char *const from[] = {"ip=203.0.113.7", "st=1700000000", "exp=1700003600",
                                     "acl=/live/*",    "id=sess42",     "data=user=alice"};
  static const char *const to[] = {"ip=203.0.113.8", "st=1700000001", "exp=1700003601",
                                   "acl=/*",         "id=sess43",     "data=user=mallory"};
  for (size_t i = 0; i < sizeof from / sizeof *from; i++) {
    char t[512], *p = strstr(tok, from[i]);
    assert_non_null(p);
    snprintf(t, sizeof t, "%.*s%s%s", (int)(p - tok), tok, to[i], p + strlen(from[i]));
    const char *ip = i == 0 ? "203.0.113.8" : "203.0.113.7";
    if (verify_code(ring, NULL, t, "/live/a.ts", ip, T0 + 10) != WD_ESIGNATURE)
      fail_msg("tampered %s accepted", to[i]);
  }
  /* Flip one hex digit of the MAC; drop a field; another key. */
  char t[512];
  snprintf(t, sizeof t, "%s", tok);
  char *h = strstr(t, "hmac=") + 5;
  h[10] = h[10] == '0' ? '1' : '0';
  assert_int_equal(verify_code(ring, NULL, t, "/live/a.ts", "203.0.113.7", T0 + 10), WD_ESIGNATURE);
  char *d = strstr(tok, "~data=");
  snprintf(t, sizeof t, "%.*s%s", (int)(d - tok), tok, strstr(tok, "~hmac="));
  assert_int_equal(verify_code(ring, NULL, t, "/live/a.ts", "203.0.113.7", T0 + 10), WD_ESIGNATURE);
  wd_keyring_t *other = ring_hex("00112233445566778899aabbccddeeff", WD_ALG_HS256);
  assert_int_equal(verify_code(other, NULL, tok, "/live/a.ts", "203.0.113.7", T0 + 10),
                   WD_ESIGNATURE);
  /* A SHA-256 MAC offered to a ring whose only key is pinned to SHA-1. */
  wd_keyring_t *sha1 = ring_hex(KEY, WD_ALG_HS1);
  assert_int_equal(verify_code(sha1, NULL, tok, "/live/a.ts", "203.0.113.7", T0 + 10), WD_EALG);
  /* Rotation: the old key still verifies next to a new one. */
  size_t n;
  uint8_t *k2 = tu_hex("00112233445566778899aabbccddeeff", &n);
  assert_int_equal(
      wd_keyring_add_secret(ring, WD_SCHEME_AKAMAI, WD_ALG_HS256, NULL, 0, NULL, k2, n, NULL), 0);
  free(k2);
  assert_int_equal(verify_code(ring, NULL, tok, "/live/a.ts", "203.0.113.7", T0 + 10), 0);
  free(tok);
  wd_keyring_destroy(ring);
  wd_keyring_destroy(other);
  wd_keyring_destroy(sha1);
}

static void time_boundaries(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_hex(KEY, WD_ALG_HS256);
  int rc;
  char *tok = issue(ring, "{\"st\":1700000000,\"exp\":1700000300,\"acl\":\"/*\"}", NULL, &rc);
  assert_int_equal(rc, 0);
  wd_result_t r;
  assert_int_equal(verify(ring, NULL, tok, "/a", NULL, T0 - 1, &r), WD_ENOTYET);
  assert_string_equal(r.failed_claim, "st");
  wd_result_cleanup(&r);
  assert_int_equal(verify_code(ring, NULL, tok, "/a", NULL, T0), 0);
  assert_int_equal(verify_code(ring, NULL, tok, "/a", NULL, T0 + 299), 0);
  assert_int_equal(verify(ring, NULL, tok, "/a", NULL, T0 + 300, &r), WD_EEXPIRED);
  assert_string_equal(r.failed_claim, "exp");
  assert_int_equal(r.id.exp, T0 + 300);
  wd_result_cleanup(&r);
  wd_verify_opts_t o = {0};
  o.leeway = 5;
  assert_int_equal(verify_code(ring, &o, tok, "/a", NULL, T0 - 5), 0);
  assert_int_equal(verify_code(ring, &o, tok, "/a", NULL, T0 - 6), WD_ENOTYET);
  assert_int_equal(verify_code(ring, &o, tok, "/a", NULL, T0 + 304), 0);
  assert_int_equal(verify_code(ring, &o, tok, "/a", NULL, T0 + 305), WD_EEXPIRED);
  free(tok);
  /* ttl: exp = st + ttl, or now + ttl without st (st then not emitted). */
  wd_issue_opts_t io = {0};
  io.ttl = 60;
  io.now = T0;
  tok = issue(ring, "{\"st\":1700000100,\"acl\":\"/*\"}", &io, &rc);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(tok, "st=1700000100~exp=1700000160~"));
  free(tok);
  tok = issue(ring, "{\"acl\":\"/*\"}", &io, &rc);
  assert_int_equal(rc, 0);
  assert_memory_equal(tok, "exp=1700000060~acl=/*~hmac=", 27);
  free(tok);
  tok = issue(ring, "{\"st\":\"now\",\"acl\":\"/*\"}", &io, &rc);
  assert_int_equal(rc, 0);
  assert_memory_equal(tok, "st=1700000000~exp=1700000060~", 29);
  free(tok);
  /* Refused: no expiry at all, exp before st, bad types, unknown claims. */
  static const char *const bad[] = {"{\"acl\":\"/*\"}",
                                    "{\"st\":10,\"exp\":5,\"acl\":\"/*\"}",
                                    "{\"exp\":\"soon\",\"acl\":\"/*\"}",
                                    "{\"exp\":10}",
                                    "{\"exp\":10,\"acl\":\"/*\",\"url\":\"/a\"}",
                                    "{\"exp\":10,\"acl\":[]}",
                                    "{\"exp\":10,\"acl\":[\"/a\",7]}",
                                    "{\"exp\":10,\"acl\":\"/*\",\"session_id\":\"x\"}",
                                    "{\"exp\":10,\"acl\":\"/*\",\"id\":\"\"}",
                                    "{\"exp\":-1,\"acl\":\"/*\"}",
                                    "{\"exp\":10,\"acl\":\"/a~b\"}",
                                    "{\"exp\":10,\"acl\":\"/*\",\"data\":\"x~exp=5\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    tok = issue(ring, bad[i], NULL, &rc);
    if (rc != WD_EINVAL)
      fail_msg("claims %s: rc %d", bad[i], rc);
    assert_null(tok);
  }
  wd_keyring_destroy(ring);
}

static void acl_wildcards(void **state) {
  (void)state;
  static const struct {
    const char *acl, *path;
    int ok;
  } table[] = {
      {"/a/*", "/a/b/c.ts", 1},
      {"/a/*", "/a/", 1},
      {"/a/*", "/b/a/x", 0},
      {"/a/*", "/a", 0},
      {"/a/?.ts", "/a/1.ts", 1},
      {"/a/?.ts", "/a/12.ts", 0},
      {"/a/?.ts", "/a/.ts", 0},
      {"/a/*.m3u8", "/a/x/y.m3u8", 1},
      {"/a/*.m3u8", "/a/x/y.ts", 0},
      {"/vod/movie1/*!/vod/movie1.m3u8", "/vod/movie1.m3u8", 1},
      {"/vod/movie1/*!/vod/movie1.m3u8", "/vod/movie1/seg1.ts", 1},
      {"/vod/movie1/*!/vod/movie1.m3u8", "/vod/movie2.m3u8", 0},
      {"/*", "/anything/at/all", 1},
      {"/exact.ts", "/exact.ts", 1},
      {"/exact.ts", "/exact.tsx", 0},
      {"/a/*/b/*", "/a/x/y/b/z", 1},
      {"/a/*/b/*", "/a/x/y/c/z", 0},
      {"/a/*", "/a/../b/secret", 0},
      {"/a/*", "/a/%2e%2e/b/secret", 0},
      {"/a/*", "/a/b%2Fc", 1},
      {"/a/b c/*", "/a/b%20c/x", 1},
      {"/a/*", "/a/%zz", 0},
      {"/a/*", "/a/x?y=1", 1},
  };
  wd_keyring_t *ring = ring_hex(KEY, WD_ALG_HS256);
  for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
    char claims[256];
    int rc;
    snprintf(claims, sizeof claims, "{\"exp\":1800000000,\"acl\":\"%s\"}", table[i].acl);
    char *tok = issue(ring, claims, NULL, &rc);
    assert_int_equal(rc, 0);
    wd_result_t r;
    rc = verify(ring, NULL, tok, table[i].path, NULL, T0, &r);
    if (table[i].ok ? rc != 0 : rc != WD_ECLAIM)
      fail_msg("acl %s path %s: rc %d (%s)", table[i].acl, table[i].path, rc, r.reason);
    if (!table[i].ok)
      assert_string_equal(r.failed_claim, "acl");
    wd_result_cleanup(&r);
    free(tok);
  }
  /* A custom ACL delimiter. */
  wd_issue_opts_t io = {0};
  io.akamai.acl_delimiter = ",";
  int rc;
  char *tok = issue(ring, "{\"exp\":1800000000,\"acl\":[\"/x/*\",\"/y/*\"]}", &io, &rc);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(tok, "acl=/x/*,/y/*~"));
  wd_verify_opts_t vo = {0};
  vo.akamai.acl_delimiter = ",";
  assert_int_equal(verify_code(ring, &vo, tok, "/y/1.ts", NULL, T0), 0);
  assert_int_equal(verify_code(ring, NULL, tok, "/y/1.ts", NULL, T0), WD_ECLAIM);
  free(tok);
  wd_keyring_destroy(ring);
}

static void url_tokens(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_hex(KEY, WD_ALG_HS256);
  wd_issue_opts_t io = {0};
  io.url = "https://cdn.example.com/vod/movie1/master.m3u8?x=1";
  int rc;
  char *tok = issue(ring, "{\"exp\":1800000000}", &io, &rc);
  assert_int_equal(rc, 0);
  assert_null(strstr(tok, "url="));
  assert_null(strstr(tok, "acl="));
  assert_int_equal(verify_code(ring, NULL, tok, "/vod/movie1/master.m3u8", NULL, T0), 0);
  assert_int_equal(verify_code(ring, NULL, tok, "https://h/vod/movie1/master.m3u8?y=2", NULL, T0),
                   0);
  assert_int_equal(verify_code(ring, NULL, tok, "/vod/movie1/other.m3u8", NULL, T0), WD_ESIGNATURE);
  wd_result_t r;
  assert_int_equal(verify(ring, NULL, tok, NULL, NULL, T0, &r), WD_ECLAIM);
  assert_string_equal(r.failed_claim, "url");
  wd_result_cleanup(&r);
  free(tok);
  /* A path with a space: signed as given, requested percent-encoded. */
  tok = issue(ring, "{\"exp\":1800000000,\"url\":\"/a b.ts\"}", NULL, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(verify_code(ring, NULL, tok, "/a%20b.ts", NULL, T0), 0);
  free(tok);
  wd_keyring_destroy(ring);
}

static void ip_binding(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_hex(KEY, WD_ALG_HS256);
  int rc;
  wd_issue_opts_t io = {0};
  io.ip = "2001:db8::1";
  io.akamai.escape_early = 1; /* the ':' become %3a */
  char *tok = issue(ring, "{\"exp\":1800000000,\"acl\":\"/*\"}", &io, &rc);
  assert_int_equal(rc, 0);
  assert_memory_equal(tok, "ip=2001%3adb8%3a%3a1~", 21);
  wd_result_t r;
  assert_int_equal(verify(ring, NULL, tok, "/x", "2001:db8:0::1", T0, &r), 0);
  assert_string_equal(r.id.ip, "2001:db8::1");
  wd_result_cleanup(&r);
  assert_int_equal(verify(ring, NULL, tok, "/x", "2001:db8::2", T0, &r), WD_ECLAIM);
  assert_string_equal(r.failed_claim, "ip");
  wd_result_cleanup(&r);
  assert_int_equal(verify(ring, NULL, tok, "/x", NULL, T0, &r), WD_ECLAIM);
  assert_string_equal(r.failed_claim, "ip");
  wd_result_cleanup(&r);
  free(tok);
  tok = issue(ring, "{\"exp\":1800000000,\"acl\":\"/*\",\"ip\":\"198.51.100.4\"}", NULL, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(verify_code(ring, NULL, tok, "/x", "198.51.100.4", T0), 0);
  assert_int_equal(verify_code(ring, NULL, tok, "/x", "198.51.100.5", T0), WD_ECLAIM);
  free(tok);
  wd_keyring_destroy(ring);
}

static void extraction(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_hex(KEY, WD_ALG_HS256);
  int rc;
  char *tok = issue(ring, "{\"exp\":1800000000,\"acl\":\"/v/*\"}", NULL, &rc);
  assert_int_equal(rc, 0);
  char url[512], cookie[700], enc[600];
  wd_verifier_t *v;
  assert_int_equal(wd_verifier_create(ring, &v), 0);
  wd_verify_opts_t o = {0};
  wd_result_t r;
  wd_request_t req = {0};
  req.now = T0;

  snprintf(url, sizeof url, "/v/a.ts?x=1&__token__=%s", tok);
  req.url = url;
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(v, &o, WD_SCHEME_AKAMAI, NULL, 0, &req, &r), 0);
  wd_result_cleanup(&r);

  /* Cookie, percent-encoded. */
  size_t e = 0;
  for (const char *p = tok; *p; p++)
    e += (size_t)(*p == '=' || *p == '~' || *p == '/' || *p == '*'
                      ? sprintf(enc + e, "%%%02X", (unsigned char)*p)
                      : sprintf(enc + e, "%c", *p));
  snprintf(cookie, sizeof cookie, "a=b; hdnts=%s; c=d", enc);
  wd_header_t hc = {"Cookie", cookie};
  req.url = "/v/b.ts";
  req.headers = &hc;
  req.nheaders = 1;
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(v, &o, WD_SCHEME_AKAMAI, NULL, 0, &req, &r), 0);
  wd_result_cleanup(&r);

  /* Header under a configured name, raw or name=value. */
  wd_header_t hh = {"X-Akamai-Token", tok};
  req.headers = &hh;
  o.akamai.name = "X-Akamai-Token";
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(v, &o, WD_SCHEME_AKAMAI, NULL, 0, &req, &r), 0);
  wd_result_cleanup(&r);
  o.akamai.name = NULL;
  char named[700];
  snprintf(named, sizeof named, "__token__=%s", tok);
  wd_header_t hn = {"__token__", named};
  req.headers = &hn;
  const char *t;
  size_t tl;
  char buf[WD_TOKEN_MAX + 1];
  assert_int_equal(wd_token_extract(WD_SCHEME_AKAMAI, &o, &req, buf, sizeof buf, &t, &tl), 0);
  assert_int_equal(tl, strlen(tok));
  assert_memory_equal(t, tok, tl);

  /* Absent, or under another name. */
  req.headers = &hh;
  wd_result_init(&r);
  assert_int_equal(wd_token_verify(v, &o, WD_SCHEME_AKAMAI, NULL, 0, &req, &r), WD_ENOTOKEN);
  wd_result_cleanup(&r);
  req.headers = NULL;
  req.nheaders = 0;
  assert_int_equal(wd_token_extract(WD_SCHEME_AKAMAI, &o, &req, buf, sizeof buf, &t, &tl),
                   WD_ENOTOKEN);
  wd_verifier_destroy(v);
  free(tok);
  wd_keyring_destroy(ring);
}

static void malformed_tokens(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_hex(KEY, WD_ALG_HS256);
  static const char *const bad[] = {
      "",
      "exp=1800000000",
      "exp=1800000000~acl=/*",
      "acl=/*~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "exp=1800000000~exp=1800000001~acl=/*~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "exp=1800000000~acl=/*~acl=/a/*~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "exp=1800000000~foo=bar~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "exp=1800000000~url=/x~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "exp=soon~acl=/*~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "exp=-5~acl=/*~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "exp=99999999999999999999~acl=/*~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "st=x~exp=1800000000~acl=/*~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "exp=1800000000~acl=/*~hmac=zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "exp=1800000000~acl=/*~hmac=0011223",
      "exp=1800000000~acl=/*~hmac=001122",
      "exp=1800000000~acl=/*~hmac=",
      "exp=1800000000~~acl=/*~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "ip=%zz~exp=1800000000~acl=/*~hmac=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    wd_result_t r;
    int rc = verify(ring, NULL, bad[i], "/x", "1.2.3.4", T0, &r);
    if (rc != WD_EMALFORMED)
      fail_msg("token '%s': rc %d (%s)", bad[i], rc, r.reason);
    assert_true(r.reason[0] != '\0');
    wd_result_cleanup(&r);
    json_t *j = NULL;
    if (strncmp(bad[i], "ip=", 3)) /* inspect does not decode the address */
      assert_int_equal(wd__akamai_inspect(bad[i], strlen(bad[i]), &j), WD_EMALFORMED);
    assert_null(j);
  }
  /* Over-long token. */
  size_t n = WD_TOKEN_MAX + 10;
  char *big = malloc(n + 1);
  memset(big, 'a', n);
  big[n] = '\0';
  memcpy(big, "exp=1800000000~data=", 20);
  assert_int_equal(verify_code(ring, NULL, big, "/x", NULL, T0), WD_ETOOBIG);
  free(big);
  /* No key at all. */
  wd_keyring_t *empty;
  assert_int_equal(wd_keyring_create(&empty), 0);
  int rc;
  char *tok = issue(ring, "{\"exp\":1800000000,\"acl\":\"/*\"}", NULL, &rc);
  assert_int_equal(verify_code(empty, NULL, tok, "/x", NULL, T0), WD_ENOKEY);
  char *none = issue(empty, "{\"exp\":1800000000,\"acl\":\"/*\"}", NULL, &rc);
  assert_int_equal(rc, WD_ENOKEY);
  assert_null(none);
  free(tok);
  wd_keyring_destroy(empty);
  wd_keyring_destroy(ring);
}

/* The Python library leaves '~' in escaped data; the text goes on to the next real field. */
static void data_with_delimiter(void **state) {
  (void)state;
  wd_keyring_t *ring = ring_hex(KEY, WD_ALG_HS256);
  wd_issue_opts_t io = {0};
  io.akamai.escape_early = 1;
  io.akamai.escape = WD_AKAMAI_ESCAPE_PYTHON;
  int rc;
  char *tok = issue(ring, "{\"exp\":1800000000,\"acl\":\"/*\",\"data\":\"a~b~c d\"}", &io, &rc);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(tok, "~data=a~b~c+d~hmac="));
  wd_verify_opts_t vo = {0};
  vo.want_claims = 1;
  wd_result_t r;
  assert_int_equal(verify(ring, &vo, tok, "/x", NULL, T0, &r), 0);
  assert_string_equal(json_string_value(json_object_get(r.claims, "data")), "a~b~c+d");
  assert_string_equal(json_string_value(json_object_get(r.claims, "acl")), "/*");
  assert_int_equal(json_integer_value(json_object_get(r.claims, "exp")), 1800000000);
  wd_result_cleanup(&r);
  free(tok);
  wd_keyring_destroy(ring);
}

static void inspect_token(void **state) {
  (void)state;
  const char *tok = "ip=203.0.113.7~st=1700000000~exp=1700003600~acl=/live/ch1/*~id=sess42~"
                    "data=user=alice~hmac=a804bf18abb6c01cf90c9ae89da262c159d57951";
  static const char *const forms[] = {"%s", "__token__=%s", "https://h/live/ch1/a.ts?__token__=%s"};
  for (size_t i = 0; i < 3; i++) {
    char in[512], err[128];
    snprintf(in, sizeof in, forms[i], tok);
    json_t *j = NULL;
    if (i == 0)
      assert_int_equal(wd_token_inspect(in, strlen(in), &j, err, sizeof err), 0);
    else
      assert_int_equal(wd__akamai_inspect(in, strlen(in), &j), 0);
    assert_string_equal(json_string_value(json_object_get(j, "scheme")), "akamai");
    assert_string_equal(json_string_value(json_object_get(j, "algorithm")), "sha1");
    json_t *c = json_object_get(j, "claims");
    assert_int_equal(json_integer_value(json_object_get(c, "st")), 1700000000);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1700003600);
    assert_string_equal(json_string_value(json_object_get(c, "acl")), "/live/ch1/*");
    assert_string_equal(json_string_value(json_object_get(c, "id")), "sess42");
    assert_string_equal(json_string_value(json_object_get(c, "data")), "user=alice");
    assert_string_equal(json_string_value(json_object_get(c, "ip")), "203.0.113.7");
    assert_string_equal(json_string_value(json_object_get(c, "type")), "acl");
    json_decref(j);
  }
  json_t *j = NULL;
  assert_int_equal(wd__akamai_inspect("hello", 5, &j), WD_EMALFORMED);
  assert_null(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vectors_issue_and_verify),
      cmocka_unit_test(tampering_fails),
      cmocka_unit_test(time_boundaries),
      cmocka_unit_test(acl_wildcards),
      cmocka_unit_test(url_tokens),
      cmocka_unit_test(ip_binding),
      cmocka_unit_test(extraction),
      cmocka_unit_test(malformed_tokens),
      cmocka_unit_test(data_with_delimiter),
      cmocka_unit_test(inspect_token),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
