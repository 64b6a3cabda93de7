/* lib/decide: names, policy building and matching, every scheme through the pipeline (tokens
 * issued here, found in query, header and cookie), token failures, access rules, bans of each
 * type, replay, renewal, modes (and switching them while deciding), action parameters, bad
 * input. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "warden/decide.h"

#define NOW 1700000000
#define KPID "APKAEIBAERJR2EXAMPLE"
#define CAT_SECRET "cat-secret-0123456789abcdef0123"
#define JWT_SECRET "jwt-secret-0123456789abcdef0123"
#define SL_SECRET "s3cret"
#define BUNNY_SECRET "bunny-secret-0123"
#define CAT_CTI "0a0b0c0d0e0f"

/* ---- fixtures ---- */

typedef struct fx {
  wd_keyring_t *ring;
  wd_verifier_t *v;
  wd_decider_t *d;
  char *dir;
  wd_banlist_t *bans;
  wd_replay_t *replay;
} fx_t;

static wd_keyring_t *full_ring(void) {
  wd_keyring_t *ring;
  assert_int_equal(wd_keyring_create(&ring), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_HS256, "k1", 2, NULL,
                                         CAT_SECRET, strlen(CAT_SECRET), NULL),
                   0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_JWT, WD_ALG_HS256, NULL, 0, NULL,
                                         JWT_SECRET, strlen(JWT_SECRET), NULL),
                   0);
  static const uint8_t ak[16] = {0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71,
                                 0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9};
  assert_int_equal(
      wd_keyring_add_secret(ring, WD_SCHEME_AKAMAI, WD_ALG_HS256, NULL, 0, NULL, ak, 16, NULL), 0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_SECURELINK, WD_ALG_NONE, NULL, 0, NULL,
                                         SL_SECRET, strlen(SL_SECRET), NULL),
                   0);
  assert_int_equal(wd_keyring_add_secret(ring, WD_SCHEME_BUNNY, WD_ALG_NONE, NULL, 0, NULL,
                                         BUNNY_SECRET, strlen(BUNNY_SECRET), NULL),
                   0);
  size_t n;
  char *pem = tu_read_vector_file("cdn/cloudfront-test-key.pem", &n);
  assert_int_equal(wd_keyring_add_pem(ring, WD_SCHEME_CLOUDFRONT, WD_ALG_NONE, KPID, strlen(KPID),
                                      NULL, pem, n, NULL),
                   0);
  free(pem);
  return ring;
}

/* A fixture over the full ring; with_store: a real ban list and replay memory in a temp dir. */
static fx_t *fx_new(const wd_policy_t *pols, size_t n, int with_store) {
  fx_t *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->ring = full_ring();
  assert_int_equal(wd_verifier_create(f->ring, &f->v), 0);
  if (with_store) {
    f->dir = tu_tmpdir();
    wd_banlist_opts_t o = {.map_size = (size_t)64 << 20, .no_sync = 1};
    assert_int_equal(wd_banlist_open(f->dir, &o, &f->bans), 0);
    assert_int_equal(wd_replay_open(f->dir, &f->replay), 0);
  }
  assert_int_equal(wd_decider_create(pols, n, f->ring, f->bans, f->replay, &f->d), 0);
  return f;
}

static void fx_free(fx_t *f) {
  wd_decider_destroy(f->d);
  wd_verifier_destroy(f->v);
  if (f->replay)
    wd_replay_close(f->replay);
  if (f->bans)
    wd_banlist_close(f->bans);
  if (f->dir) {
    tu_tmpdir_free(f->dir);
  }
  wd_keyring_destroy(f->ring);
  free(f);
}

/* A policy in automate mode (so actions show) for any host and path. */
static wd_policy_t automate_policy(const char *name) {
  wd_policy_t p;
  wd_policy_init(&p);
  p.name = (char *)name;
  wd_policy_set_mode(&p, WD_MODE_AUTOMATE);
  return p;
}

/* One request. */
typedef struct rq {
  const char *url, *ip, *token, *host, *country;
  uint32_t asn;
  wd_scheme_t scheme;
  wd_header_t h[6];
  size_t nh;
  int64_t now;
} rq_t;

static void rq_header(rq_t *q, const char *name, const char *value) {
  assert_true(q->nh < 6);
  q->h[q->nh].name = name;
  q->h[q->nh].value = value;
  q->nh++;
}

static int run(fx_t *f, const rq_t *q, wd_decision_t *out) {
  wd_decide_input_t in;
  memset(&in, 0, sizeof in);
  in.req.url = q->url;
  in.req.ip = q->ip ? q->ip : "203.0.113.7";
  in.req.method = "GET";
  in.req.headers = q->h;
  in.req.nheaders = q->nh;
  in.req.country = q->country;
  in.req.asn = q->asn;
  in.req.now = q->now ? q->now : NOW;
  in.token = q->token;
  in.scheme = q->scheme;
  in.host = q->host;
  return wd_decide(f->d, f->v, &in, out);
}

static int has_reason(const wd_decision_t *d, wd_reason_t r) {
  for (size_t i = 0; i < d->nreasons; i++)
    if (d->reasons[i] == r)
      return 1;
  return 0;
}

/* Expect exactly one reason r and the automate outcome (action, status). */
static void expect(const wd_decision_t *d, wd_reason_t r, wd_action_t a, int status) {
  if (d->nreasons != 1 || d->reasons[0] != r || d->action != a || d->status != status)
    fail_msg("got %zu reasons (first %s), action %s, status %d, detail '%s'; want %s, %s, %d",
             d->nreasons, d->nreasons ? wd_reason_name(d->reasons[0]) : "-",
             wd_action_name(d->action), d->status, d->detail, wd_reason_name(r),
             wd_action_name(a), status);
}

static void expect_allow(const wd_decision_t *d) {
  if (d->nreasons != 0 || d->action != WD_ACT_ALLOW || d->status != 200)
    fail_msg("want allow; got %zu reasons (first %s), action %s, status %d, detail '%s'",
             d->nreasons, d->nreasons ? wd_reason_name(d->reasons[0]) : "-",
             wd_action_name(d->action), d->status, d->detail);
}

/* ---- issuing ---- */

static char *issue(const wd_keyring_t *ring, wd_scheme_t s, const char *claims,
                   const wd_issue_opts_t *o) {
  static const wd_issue_opts_t none;
  json_error_t je;
  json_t *c = json_loads(claims, 0, &je);
  if (!c)
    fail_msg("bad claims JSON %s: %s", claims, je.text);
  char *out = NULL, err[256];
  int rc = wd_token_issue(ring, s, c, o ? o : &none, &out, err, sizeof err);
  json_decref(c);
  if (rc)
    fail_msg("issue %s: %s", wd_scheme_name(s), err);
  return out;
}

/* A minimal valid CAT (iss, sub, exp, cti). */
static char *cat_token(const wd_keyring_t *ring, int64_t exp, const char *extra) {
  char claims[1024];
  snprintf(claims, sizeof claims,
           "{\"iss\":\"warden-test\",\"sub\":\"alice\",\"cti\":\"" CAT_CTI "\",\"exp\":%lld%s%s}",
           (long long)exp, extra ? "," : "", extra ? extra : "");
  return issue(ring, WD_SCHEME_CAT, claims, NULL);
}

/* ---- names ---- */

static void names(void **state) {
  (void)state;
  const char *acts[] = {"allow", "block", "throttle", "substitute", "redirect", "callout", "renew"};
  for (int i = 0; i < WD_ACT_COUNT; i++) {
    wd_action_t a;
    assert_string_equal(wd_action_name((wd_action_t)i), acts[i]);
    assert_int_equal(wd_action_parse(acts[i], &a), 0);
    assert_int_equal(a, i);
  }
  const char *modes[] = {"monitor", "moderate", "automate"};
  for (int i = 0; i < 3; i++) {
    wd_mode_t m;
    assert_string_equal(wd_mode_name((wd_mode_t)i), modes[i]);
    assert_int_equal(wd_mode_parse(modes[i], &m), 0);
    assert_int_equal(m, i);
  }
  const char *reasons[] = {"no_token", "invalid",    "expired", "banned",    "replay",
                           "geo",      "referer",    "user_agent", "origin_ip", "shared"};
  for (int i = 0; i < WD_REASON_COUNT; i++) {
    wd_reason_t r;
    assert_string_equal(wd_reason_name((wd_reason_t)i), reasons[i]);
    assert_int_equal(wd_reason_parse(reasons[i], &r), 0);
    assert_int_equal(r, i);
  }
  wd_action_t a = WD_ACT_CALLOUT;
  assert_int_equal(wd_action_parse("Block", &a), 0);
  assert_int_equal(a, WD_ACT_BLOCK);
  assert_int_equal(wd_action_parse("deny", &a), WD_EINVAL);
  assert_int_equal(wd_action_parse(NULL, &a), WD_EINVAL);
  assert_int_equal(a, WD_ACT_BLOCK);
  wd_mode_t m;
  assert_int_equal(wd_mode_parse("enforce", &m), WD_EINVAL);
  wd_reason_t r;
  assert_int_equal(wd_reason_parse("user-agent", &r), WD_EINVAL);
  assert_string_equal(wd_action_name(WD_ACT_COUNT), "unknown");
  assert_string_equal(wd_mode_name((wd_mode_t)7), "unknown");
  assert_string_equal(wd_reason_name(WD_REASON_COUNT), "unknown");
}

/* ---- building deciders ---- */

static int create_rc(const wd_policy_t *p) {
  wd_decider_t *d = NULL;
  int rc = wd_decider_create(p, 1, NULL, NULL, NULL, &d);
  wd_decider_destroy(d);
  return rc;
}

static void create_validation(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  assert_int_equal(create_rc(&p), 0);

  const char *bad_hosts[] = {"", "*", "exa mple.com", "*example.com", "a.*.com", "*.", "x/y"};
  for (size_t i = 0; i < sizeof bad_hosts / sizeof *bad_hosts; i++) {
    wd_policy_t q = p;
    q.host = (char *)bad_hosts[i];
    int want = !strcmp(bad_hosts[i], "*") ? 0 : WD_EINVAL; /* "*" is any host */
    if (create_rc(&q) != want)
      fail_msg("host '%s'", bad_hosts[i]);
  }
  wd_policy_t q = p;
  q.path_prefix = "live/";
  assert_int_equal(create_rc(&q), WD_EINVAL);
  q = p;
  q.name = NULL;
  assert_int_equal(create_rc(&q), WD_EINVAL);
  q = p;
  q.nschemes = 2;
  q.schemes[0] = WD_SCHEME_CAT;
  q.schemes[1] = WD_SCHEME_CAT;
  assert_int_equal(create_rc(&q), WD_EINVAL);
  q.schemes[1] = WD_SCHEME_COUNT;
  assert_int_equal(create_rc(&q), WD_EINVAL);
  q.schemes[1] = WD_SCHEME_JWT;
  assert_int_equal(create_rc(&q), 0);
  q = p;
  q.nschemes = WD_POLICY_MAX_SCHEMES + 1;
  assert_int_equal(create_rc(&q), WD_EINVAL);
  q = p;
  q.ip_allow[0] = "10.0.0.0/33";
  q.nip_allow = 1;
  assert_int_equal(create_rc(&q), WD_EINVAL);
  q.ip_allow[0] = "10.0.0.0/8";
  assert_int_equal(create_rc(&q), 0);
  q.nip_allow = 2;
  q.ip_allow[1] = NULL;
  assert_int_equal(create_rc(&q), WD_EINVAL);
  q = p;
  q.on[WD_REASON_BANNED].action = WD_ACT_REDIRECT;
  assert_int_equal(create_rc(&q), WD_EINVAL); /* no target */
  q.on[WD_REASON_BANNED].target = "https://example.com/slate.m3u8";
  assert_int_equal(create_rc(&q), 0);
  q.on[WD_REASON_BANNED].status = 200;
  assert_int_equal(create_rc(&q), WD_EINVAL); /* a redirect is 3xx */
  q = p;
  q.on[WD_REASON_GEO].action = WD_ACT_THROTTLE;
  assert_int_equal(create_rc(&q), WD_EINVAL); /* no rate */
  q = p;
  q.on[WD_REASON_GEO].status = 302;
  assert_int_equal(create_rc(&q), WD_EINVAL); /* a block is >= 400 */
  q = p;
  q.on[WD_REASON_GEO].action = WD_ACT_COUNT;
  assert_int_equal(create_rc(&q), WD_EINVAL);
  q = p;
  wd_policy_set_mode(&q, WD_MODE_AUTOMATE);
  assert_int_equal(wd_policy_set_mode(&q, (wd_mode_t)3), WD_EINVAL);
  assert_int_equal(wd_policy_mode(&q), WD_MODE_AUTOMATE);
  q.referers_allow[0] = "https://example.com/";
  q.nreferers_allow = 1;
  assert_int_equal(create_rc(&q), WD_EINVAL);
  q = p;
  const char *iss[] = {"a", NULL};
  q.verify.cat.issuers = iss;
  q.verify.cat.nissuers = 2;
  assert_int_equal(create_rc(&q), WD_EINVAL);

  wd_decider_t *d = NULL;
  assert_int_equal(wd_decider_create(NULL, 1, NULL, NULL, NULL, &d), WD_EINVAL);
  assert_int_equal(wd_decider_create(&p, 1, NULL, NULL, NULL, NULL), WD_EINVAL);
  assert_int_equal(wd_decider_create(NULL, 0, NULL, NULL, NULL, &d), 0);
  assert_int_equal(wd_decider_npolicies(d), 0);
  wd_decider_destroy(d);
}

/* The decider keeps its own copies: the caller's strings may change or go. */
static void policies_are_copied(void **state) {
  (void)state;
  char name[16] = "live", host[32] = "cdn.example.com", prefix[16] = "/live/";
  char iss[16] = "warden-test";
  const char *issuers[1] = {iss};
  wd_policy_t p = automate_policy(name);
  p.host = host;
  p.path_prefix = prefix;
  p.verify.cat.issuers = issuers;
  p.verify.cat.nissuers = 1;
  fx_t *f = fx_new(&p, 1, 0);
  memset(name, 'x', sizeof name - 1);
  memset(host, 'x', sizeof host - 1);
  memset(prefix, 'x', sizeof prefix - 1);
  memset(iss, 'x', sizeof iss - 1);
  issuers[0] = NULL;
  wd_policy_t *got = wd_decider_policy(f->d, "live");
  assert_non_null(got);
  assert_ptr_equal(got, wd_decider_policy_at(f->d, 0));
  assert_null(wd_decider_policy_at(f->d, 1));
  assert_int_equal(wd_decider_policy_index(f->d, got), 0);
  assert_int_equal(wd_decider_policy_index(f->d, &p), 1); /* the caller's copy is not one of them */
  assert_int_equal(wd_decider_policy_index(f->d, NULL), 1);
  assert_null(wd_decider_policy(f->d, "xxx"));
  assert_string_equal(got->host, "cdn.example.com");

  char *t = cat_token(f->ring, NOW + 600, NULL);
  rq_t q = {.url = "https://cdn.example.com/live/ch1/master.m3u8", .token = t};
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  assert_ptr_equal(d.policy, got);
  assert_string_equal(d.token.id.issuer, "warden-test");
  wd_decision_cleanup(&d);
  free(t);
  t = issue(f->ring, WD_SCHEME_CAT, "{\"iss\":\"other\",\"exp\":1700000600}", NULL);
  q.token = t;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401); /* the copied issuer list still applies */
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);
}

/* ---- policy matching ---- */

static const char *matched(fx_t *f, const char *url, const char *host_in, const char *host_hdr) {
  rq_t q = {.url = url, .host = host_in};
  if (host_hdr)
    rq_header(&q, "Host", host_hdr);
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  const char *name = d.policy ? d.policy->name : NULL;
  if (!d.policy) {
    assert_int_equal(d.action, WD_ACT_BLOCK);
    assert_int_equal(d.enforced, WD_ACT_BLOCK);
    assert_int_equal(d.status, 403);
    assert_int_equal(d.nreasons, 1);
    assert_int_equal(d.reasons[0], WD_REASON_INVALID);
  }
  wd_decision_cleanup(&d);
  return name;
}

static void policy_matching(void **state) {
  (void)state;
  wd_policy_t p[7];
  const char *names_[] = {"exact", "exact-live", "exact-live-hd", "suffix", "suffix-long",
                          "any-vod", "other"};
  for (int i = 0; i < 7; i++) {
    p[i] = automate_policy(names_[i]);
    p[i].require_token = 0;
  }
  p[0].host = "cdn.example.com";
  p[1].host = "CDN.example.com";
  p[1].path_prefix = "/live/";
  p[2].host = "cdn.example.com";
  p[2].path_prefix = "/live/hd/";
  p[3].host = "*.example.com";
  p[4].host = "*.eu.example.com";
  p[5].path_prefix = "/vod/";
  p[6].host = "other.example.org";
  p[6].path_prefix = "/only/";
  fx_t *f = fx_new(p, 7, 0);

  assert_string_equal(matched(f, "https://cdn.example.com/index.html", NULL, NULL), "exact");
  assert_string_equal(matched(f, "https://cdn.example.com/live/a.ts", NULL, NULL), "exact-live");
  assert_string_equal(matched(f, "https://CDN.Example.COM:8443/live/hd/a.ts", NULL, NULL),
                      "exact-live-hd");
  assert_string_equal(matched(f, "https://cdn.example.com/liveX", NULL, NULL), "exact");
  /* the exact host beats a longer prefix of a less specific host */
  assert_string_equal(matched(f, "https://cdn.example.com/vod/a.ts", NULL, NULL), "exact");
  assert_string_equal(matched(f, "https://a.example.com/live/a.ts", NULL, NULL), "suffix");
  assert_string_equal(matched(f, "https://a.b.eu.example.com/x", NULL, NULL), "suffix-long");
  assert_string_equal(matched(f, "https://eu.example.com/x", NULL, NULL), "suffix");
  /* "*.example.com" does not cover example.com itself */
  assert_null(matched(f, "https://example.com/x", NULL, NULL));
  assert_string_equal(matched(f, "https://example.com/vod/1.ts", NULL, NULL), "any-vod");
  /* a host whose policies do not cover the path falls to less specific hosts */
  assert_string_equal(matched(f, "https://other.example.org/vod/x", NULL, NULL), "any-vod");
  assert_string_equal(matched(f, "https://other.example.org/only/x", NULL, NULL), "other");
  assert_null(matched(f, "https://other.example.org/x", NULL, NULL));
  /* origin-form: host from the input, else the Host header (port, case, trailing dot) */
  assert_string_equal(matched(f, "/live/a.ts", "cdn.example.com", NULL), "exact-live");
  assert_string_equal(matched(f, "/live/a.ts", NULL, "CDN.example.com.:443"), "exact-live");
  assert_string_equal(matched(f, "/live/a.ts", "x.example.com", "cdn.example.com"), "suffix");
  assert_null(matched(f, "/live/a.ts", NULL, NULL));
  assert_string_equal(matched(f, "/vod/a.ts", NULL, NULL), "any-vod");
  /* the path is normalised before matching, as nginx's $uri */
  assert_string_equal(matched(f, "https://cdn.example.com/x/../live/hd/a.ts", NULL, NULL),
                      "exact-live-hd");
  assert_string_equal(matched(f, "https://cdn.example.com/%6cive/a.ts", NULL, NULL),
                      "exact-live");
  assert_string_equal(matched(f, "/free/..//vod/a.ts", NULL, NULL), "any-vod");

  rq_t q = {.url = "https://nowhere.example.net/a/b.ts"};
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  assert_null(d.policy);
  assert_string_equal(d.detail, "no policy for nowhere.example.net/a/b.ts");
  wd_decision_cleanup(&d);
  q.url = "https://cdn.example.com/../etc/passwd";
  assert_int_equal(run(f, &q, &d), 0);
  assert_null(d.policy);
  assert_non_null(strstr(d.detail, "normalise"));
  wd_decision_cleanup(&d);
  fx_free(f);
}

/* ---- schemes through the pipeline ---- */

static void cat_everywhere(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("all");
  fx_t *f = fx_new(&p, 1, 0);
  char *t = cat_token(f->ring, NOW + 600, NULL);
  wd_decision_t d;

  /* explicit, with and without the scheme */
  rq_t q = {.url = "https://cdn.example.com/live/a.ts", .token = t, .scheme = WD_SCHEME_CAT};
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.enforced, WD_ACT_ALLOW);
  assert_int_equal(d.mode, WD_MODE_AUTOMATE);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_CAT);
  assert_string_equal(d.token.id.token_id, CAT_CTI);
  assert_string_equal(d.token.id.subject, "alice");
  assert_int_equal(d.token.id.exp, NOW + 600);
  assert_true(d.identity_trusted);
  assert_int_equal(d.use_token_response, 0);
  wd_decision_cleanup(&d);
  q.scheme = WD_SCHEME_NONE;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_CAT);
  wd_decision_cleanup(&d);

  /* from the query, a header, a cookie */
  char url[2048], cookie[2048];
  snprintf(url, sizeof url, "https://cdn.example.com/live/a.ts?x=1&cat=%s", t);
  rq_t q1 = {.url = url};
  assert_int_equal(run(f, &q1, &d), 0);
  expect_allow(&d);
  assert_string_equal(d.token.id.token_id, CAT_CTI);
  wd_decision_cleanup(&d);

  rq_t q2 = {.url = "https://cdn.example.com/live/a.ts"};
  rq_header(&q2, "CTA-Common-Access-Token", t);
  assert_int_equal(run(f, &q2, &d), 0);
  expect_allow(&d);
  wd_decision_cleanup(&d);

  snprintf(cookie, sizeof cookie, "session=1; CTA-Common-Access-Token=%s", t);
  rq_t q3 = {.url = "https://cdn.example.com/live/a.ts"};
  rq_header(&q3, "Cookie", cookie);
  assert_int_equal(run(f, &q3, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_CAT);
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);
}

static void jwt_everywhere(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("all");
  fx_t *f = fx_new(&p, 1, 0);
  char *t = issue(f->ring, WD_SCHEME_JWT,
                  "{\"sub\":\"bob\",\"jti\":\"j-1\",\"exp\":1700000600,\"path\":\"/live/\"}",
                  NULL);
  char url[2048], buf[2048];
  wd_decision_t d;
  snprintf(url, sizeof url, "https://cdn.example.com/live/a.ts?token=%s", t);
  rq_t q1 = {.url = url};
  assert_int_equal(run(f, &q1, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_JWT);
  assert_string_equal(d.token.id.token_id, "j-1");
  assert_string_equal(d.token.id.subject, "bob");
  wd_decision_cleanup(&d);

  snprintf(buf, sizeof buf, "Bearer %s", t);
  rq_t q2 = {.url = "/live/b.ts", .host = "cdn.example.com"};
  rq_header(&q2, "Authorization", buf);
  assert_int_equal(run(f, &q2, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_JWT);
  wd_decision_cleanup(&d);

  snprintf(buf, sizeof buf, "token=%s", t);
  rq_t q3 = {.url = "/live/c.ts"};
  rq_header(&q3, "Cookie", buf);
  assert_int_equal(run(f, &q3, &d), 0);
  expect_allow(&d);
  wd_decision_cleanup(&d);

  /* the path claim still binds: another path is invalid (signature fine: identity trusted) */
  rq_t q4 = {.url = "/vod/c.ts"};
  rq_header(&q4, "Cookie", buf);
  assert_int_equal(run(f, &q4, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401);
  assert_true(d.identity_trusted);
  assert_non_null(strstr(d.detail, "jwt: "));
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);
}

static void url_schemes(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("all");
  fx_t *f = fx_new(&p, 1, 0);
  wd_decision_t d;
  wd_issue_opts_t io = {0};
  io.now = NOW;

  /* md5 secure link */
  io.url = "https://cdn.example.com/live/a.ts";
  char *u = issue(f->ring, WD_SCHEME_SECURELINK, "{\"exp\":1700000600}", &io);
  rq_t q = {.url = u};
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_SECURELINK);
  wd_decision_cleanup(&d);
  free(u);

  /* Bunny */
  u = issue(f->ring, WD_SCHEME_BUNNY, "{\"exp\":1700000600}", &io);
  q.url = u;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_BUNNY);
  wd_decision_cleanup(&d);
  free(u);

  /* CloudFront signed URL */
  u = issue(f->ring, WD_SCHEME_CLOUDFRONT, "{\"exp\":1700000600}", &io);
  q.url = u;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_CLOUDFRONT);
  wd_decision_cleanup(&d);
  free(u);

  /* Akamai: query parameter, cookie, header, and explicit */
  io.url = NULL;
  char *t = issue(f->ring, WD_SCHEME_AKAMAI, "{\"acl\":\"/live/*\",\"exp\":1700000600}", &io);
  char url[2048], buf[2048];
  snprintf(url, sizeof url, "https://cdn.example.com/live/a.ts?__token__=%s", t);
  q.url = url;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_AKAMAI);
  wd_decision_cleanup(&d);
  snprintf(buf, sizeof buf, "__token__=%s", t);
  rq_t q2 = {.url = "https://cdn.example.com/live/b.ts"};
  rq_header(&q2, "Cookie", buf);
  assert_int_equal(run(f, &q2, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_AKAMAI);
  wd_decision_cleanup(&d);
  rq_t q3 = {.url = "https://cdn.example.com/live/b.ts"};
  rq_header(&q3, "__token__", t);
  assert_int_equal(run(f, &q3, &d), 0);
  expect_allow(&d);
  wd_decision_cleanup(&d);
  rq_t q4 = {.url = "https://cdn.example.com/live/b.ts", .token = t};
  assert_int_equal(run(f, &q4, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_AKAMAI);
  wd_decision_cleanup(&d);
  /* outside its ACL: the signature verified, a claim failed */
  q4.url = "https://cdn.example.com/vod/b.ts";
  assert_int_equal(run(f, &q4, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401);
  assert_non_null(strstr(d.detail, "akamai: "));
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);
}

/* A policy's scheme list restricts what is tried; an explicit scheme must be on it. */
static void policy_schemes(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("jwt-only");
  p.schemes[0] = WD_SCHEME_JWT;
  p.nschemes = 1;
  fx_t *f = fx_new(&p, 1, 0);
  char *t = cat_token(f->ring, NOW + 600, NULL);
  wd_decision_t d;
  rq_t q = {.url = "/live/a.ts", .token = t};
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_JWT);
  wd_decision_cleanup(&d);
  q.scheme = WD_SCHEME_CAT;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401);
  assert_string_equal(d.detail, "scheme cat is not accepted by policy jwt-only");
  wd_decision_cleanup(&d);
  /* a CAT in its header is not looked for */
  rq_t q2 = {.url = "/live/a.ts"};
  rq_header(&q2, "CTA-Common-Access-Token", t);
  assert_int_equal(run(f, &q2, &d), 0);
  expect(&d, WD_REASON_NO_TOKEN, WD_ACT_BLOCK, 401);
  assert_string_equal(d.detail, "no token in the request (jwt)");
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);

  /* a ring with no keys and no scheme list: nothing can verify */
  wd_keyring_t *empty;
  assert_int_equal(wd_keyring_create(&empty), 0);
  wd_verifier_t *v;
  assert_int_equal(wd_verifier_create(empty, &v), 0);
  wd_policy_t any = automate_policy("any");
  wd_decider_t *dd;
  assert_int_equal(wd_decider_create(&any, 1, empty, NULL, NULL, &dd), 0);
  wd_decide_input_t in = {0};
  in.req.url = "/a.ts";
  in.req.now = NOW;
  assert_int_equal(wd_decide(dd, v, &in, &d), 0);
  expect(&d, WD_REASON_NO_TOKEN, WD_ACT_BLOCK, 401);
  wd_decision_cleanup(&d);
  in.token = "abc";
  assert_int_equal(wd_decide(dd, v, &in, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401);
  wd_decision_cleanup(&d);
  wd_decider_destroy(dd);
  wd_verifier_destroy(v);
  wd_keyring_destroy(empty);
}

/* ---- token failures ---- */

static void token_failures(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  fx_t *f = fx_new(&p, 1, 0);
  wd_decision_t d;

  rq_t q = {.url = "https://cdn.example.com/live/a.ts"};
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_NO_TOKEN, WD_ACT_BLOCK, 401);
  assert_string_equal(d.detail,
                      "no token in the request (cat, jwt, akamai, securelink, cloudfront, bunny)");
  assert_int_equal(d.enforced, WD_ACT_BLOCK);
  assert_false(d.identity_trusted);
  wd_decision_cleanup(&d);
  q.token = ""; /* empty explicit token: looked for in the request */
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_NO_TOKEN, WD_ACT_BLOCK, 401);
  wd_decision_cleanup(&d);

  /* garbage */
  const char *garbage[] = {"x", "....", "eyJhbGciOiJub25lIn0.e30.", "%%%%", "HS256-abc",
                           "exp=1~hmac=zz", "\x01\x02\xff"};
  for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
    q.token = garbage[i];
    assert_int_equal(run(f, &q, &d), 0);
    expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401);
    assert_false(d.identity_trusted);
    for (const char *c = d.detail; *c; c++)
      assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
    wd_decision_cleanup(&d);
  }
  char *big = malloc(WD_TOKEN_MAX + 100);
  memset(big, 'A', WD_TOKEN_MAX + 99);
  big[WD_TOKEN_MAX + 99] = '\0';
  q.token = big;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401);
  wd_decision_cleanup(&d);
  free(big);

  /* a CAT signed with another key: bad signature, over the other schemes' "malformed" */
  wd_keyring_t *other;
  assert_int_equal(wd_keyring_create(&other), 0);
  assert_int_equal(wd_keyring_add_secret(other, WD_SCHEME_CAT, WD_ALG_HS256, "k1", 2, NULL,
                                         "another-secret-0123456789abcdef", 31, NULL),
                   0);
  char *forged = cat_token(other, NOW + 600, NULL);
  q.token = forged;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_CAT);
  assert_int_equal(d.token.code, WD_ESIGNATURE);
  assert_non_null(strstr(d.detail, "cat: "));
  assert_false(d.identity_trusted);
  wd_decision_cleanup(&d);
  free(forged);
  wd_keyring_destroy(other);

  /* expired, and not yet valid: 403 by default */
  char *t = cat_token(f->ring, NOW - 10, NULL);
  q.token = t;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_EXPIRED, WD_ACT_BLOCK, 403);
  assert_int_equal(d.token.code, WD_EEXPIRED);
  assert_true(d.identity_trusted);
  wd_decision_cleanup(&d);
  free(t);
  t = cat_token(f->ring, NOW + 600, "\"nbf\":1700000300");
  q.token = t;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_EXPIRED, WD_ACT_BLOCK, 403);
  assert_int_equal(d.token.code, WD_ENOTYET);
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);

  /* nginx's convention: 410 for an expired link, configured per reason */
  wd_policy_t p410 = automate_policy("p410");
  p410.on[WD_REASON_EXPIRED].status = 410;
  p410.verify.leeway = 5;
  f = fx_new(&p410, 1, 0);
  wd_issue_opts_t io = {0};
  io.now = NOW - 100;
  io.url = "https://cdn.example.com/live/a.ts";
  char *u = issue(f->ring, WD_SCHEME_SECURELINK, "{\"exp\":1699999990}", &io);
  rq_t q2 = {.url = u};
  assert_int_equal(run(f, &q2, &d), 0);
  expect(&d, WD_REASON_EXPIRED, WD_ACT_BLOCK, 410);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_SECURELINK);
  wd_decision_cleanup(&d);
  q2.now = NOW - 8; /* within the leeway */
  assert_int_equal(run(f, &q2, &d), 0);
  expect_allow(&d);
  wd_decision_cleanup(&d);
  free(u);
  fx_free(f);
}

/* A CAT's catif answer for its failed claim is the block's status and headers, unless the policy
 * sets a status of its own. */
static void catif_answer(void **state) {
  (void)state;
  wd_policy_t p[2];
  p[0] = automate_policy("token-says");
  p[0].path_prefix = "/a/";
  p[1] = automate_policy("policy-says");
  p[1].path_prefix = "/b/";
  p[1].on[WD_REASON_EXPIRED].status = 410;
  fx_t *f = fx_new(p, 2, 0);
  char *t = cat_token(f->ring, NOW - 10,
                      "\"catif\":{\"exp\":[302,{\"Location\":\"https://auth.example.com/renew\"}]}");
  rq_t q = {.url = "/a/x.ts", .token = t};
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_EXPIRED, WD_ACT_BLOCK, 302);
  assert_true(d.use_token_response);
  assert_int_equal(d.token.response.nheaders, 1);
  assert_string_equal(d.token.response.headers[0].name, "Location");
  assert_string_equal(d.token.response.headers[0].value, "https://auth.example.com/renew");
  wd_decision_cleanup(&d);
  q.url = "/b/x.ts";
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_EXPIRED, WD_ACT_BLOCK, 410);
  assert_false(d.use_token_response);
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);
}

/* Without a scheme, the most telling failure wins whatever the order of the schemes. */
static void most_specific_failure(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  wd_scheme_t order[] = {WD_SCHEME_JWT, WD_SCHEME_AKAMAI, WD_SCHEME_SECURELINK, WD_SCHEME_BUNNY,
                         WD_SCHEME_CAT};
  memcpy(p.schemes, order, sizeof order);
  p.nschemes = 5;
  fx_t *f = fx_new(&p, 1, 0);
  char *t = cat_token(f->ring, NOW - 1, NULL);
  rq_t q = {.url = "https://cdn.example.com/live/a.ts", .token = t};
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_EXPIRED, WD_ACT_BLOCK, 403);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_CAT);
  assert_string_equal(d.token.id.token_id, CAT_CTI);
  wd_decision_cleanup(&d);
  free(t);
  /* a JWT with a bad signature: the jwt failure, not the others' */
  t = issue(f->ring, WD_SCHEME_JWT, "{\"sub\":\"bob\",\"exp\":1700000600}", NULL);
  t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
  q.token = t;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401);
  assert_int_equal(d.token.id.scheme, WD_SCHEME_JWT);
  assert_int_equal(d.token.code, WD_ESIGNATURE);
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);
}

/* ---- access rules ---- */

static void geo_rules(void **state) {
  (void)state;
  wd_policy_t p[2];
  p[0] = automate_policy("allow");
  p[0].require_token = 0;
  p[0].path_prefix = "/a/";
  p[0].countries_allow[0] = "se";
  p[0].countries_allow[1] = "US-CA";
  p[0].ncountries_allow = 2;
  p[1] = automate_policy("deny");
  p[1].require_token = 0;
  p[1].path_prefix = "/d/";
  p[1].countries_deny[0] = "RU";
  p[1].ncountries_deny = 1;
  fx_t *f = fx_new(p, 2, 0);
  struct {
    const char *url, *country;
    int denied;
  } cases[] = {
      {"/a/x", "SE", 0},    {"/a/x", "se", 0},  {"/a/x", "SE-AB", 0}, {"/a/x", "US-CA", 0},
      {"/a/x", "US", 1},    {"/a/x", "US-NY", 1}, {"/a/x", "DE", 1},  {"/a/x", NULL, 1},
      {"/a/x", "", 1},      {"/a/x", "SEX", 1}, {"/d/x", "RU", 1},    {"/d/x", "ru-mow", 1},
      {"/d/x", "SE", 0},    {"/d/x", NULL, 0},  {"/a/x", "SESESESESESESESESESESE", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    rq_t q = {.url = cases[i].url, .country = cases[i].country};
    wd_decision_t d;
    assert_int_equal(run(f, &q, &d), 0);
    if (cases[i].denied)
      expect(&d, WD_REASON_GEO, WD_ACT_BLOCK, 403);
    else
      expect_allow(&d);
    wd_decision_cleanup(&d);
  }
  fx_free(f);
}

static void referer_rules(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("ref");
  p.require_token = 0;
  p.referers_allow[0] = "player.example.com";
  p.referers_allow[1] = "*.Partner.TV";
  p.nreferers_allow = 2;
  fx_t *f = fx_new(&p, 1, 0);
  char *huge = malloc(10000);
  strcpy(huge, "https://player.example.com/");
  memset(huge + 27, 'a', 10000 - 28);
  huge[9999] = '\0';
  struct {
    const char *origin, *referer;
    int denied;
  } cases[] = {
      {"https://player.example.com", NULL, 0},
      {NULL, "https://player.example.com/watch?v=1", 0},
      {NULL, "https://PLAYER.example.com:8443/watch", 0},
      {"https://www.partner.tv", NULL, 0},
      {"https://a.b.partner.tv", NULL, 0},
      {"https://partner.tv", NULL, 1},
      {"https://evil.example.com", "https://player.example.com/", 1}, /* Origin decides */
      {"null", "https://player.example.com/", 0},
      {"null", NULL, 1},
      {NULL, NULL, 1},
      {NULL, "not a url", 1},
      {NULL, "https://player.example.com.evil.net/", 1},
      {NULL, "https://evilplayer.example.com/", 1},
      {NULL, huge, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    rq_t q = {.url = "/live/a.ts"};
    if (cases[i].origin)
      rq_header(&q, "Origin", cases[i].origin);
    if (cases[i].referer)
      rq_header(&q, "Referer", cases[i].referer);
    wd_decision_t d;
    assert_int_equal(run(f, &q, &d), 0);
    if (cases[i].denied)
      expect(&d, WD_REASON_REFERER, WD_ACT_BLOCK, 403);
    else
      expect_allow(&d);
    wd_decision_cleanup(&d);
  }
  free(huge);
  fx_free(f);
}

static void ip_rules(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("origin");
  p.require_token = 0;
  p.ip_allow[0] = "198.51.100.0/24";
  p.ip_allow[1] = "2001:db8::/32";
  p.ip_allow[2] = "192.0.2.9";
  p.nip_allow = 3;
  fx_t *f = fx_new(&p, 1, 0);
  struct {
    const char *ip;
    int denied;
  } cases[] = {
      {"198.51.100.1", 0}, {"198.51.100.255", 0}, {"198.51.101.1", 1}, {"2001:db8:1::5", 0},
      {"2001:db9::1", 1},  {"192.0.2.9", 0},      {"192.0.2.10", 1},   {"::ffff:198.51.100.7", 0},
      {"", 1},             {"not-an-ip", 1},      {"198.51.100.1 ", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    rq_t q = {.url = "/origin/a.ts", .ip = cases[i].ip};
    wd_decision_t d;
    assert_int_equal(run(f, &q, &d), 0);
    if (cases[i].denied)
      expect(&d, WD_REASON_ORIGIN_IP, WD_ACT_BLOCK, 403);
    else
      expect_allow(&d);
    wd_decision_cleanup(&d);
  }
  fx_free(f);
}

static void user_agent_binding(void **state) {
  (void)state;
  wd_policy_t p[2];
  p[0] = automate_policy("bound");
  p[0].path_prefix = "/b/";
  p[0].bind_user_agent = 1;
  p[0].verify.jwt.no_bind_ua = 1; /* bind_user_agent wins */
  p[1] = automate_policy("unbound");
  p[1].path_prefix = "/u/";
  p[1].verify.jwt.no_bind_ua = 1;
  fx_t *f = fx_new(p, 2, 0);
  char *t = issue(f->ring, WD_SCHEME_JWT,
                  "{\"sub\":\"bob\",\"exp\":1700000600,\"ua\":\"Player/1.0\"}", NULL);
  struct {
    const char *url, *ua;
    int denied;
  } cases[] = {
      {"/b/a.ts", "Player/1.0", 0}, {"/b/a.ts", "Other/2.0", 1}, {"/b/a.ts", NULL, 1},
      {"/u/a.ts", "Other/2.0", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    rq_t q = {.url = cases[i].url, .token = t};
    if (cases[i].ua)
      rq_header(&q, "User-Agent", cases[i].ua);
    wd_decision_t d;
    assert_int_equal(run(f, &q, &d), 0);
    if (cases[i].denied) {
      expect(&d, WD_REASON_USER_AGENT, WD_ACT_BLOCK, 403);
      assert_true(d.identity_trusted);
    } else {
      expect_allow(&d);
    }
    wd_decision_cleanup(&d);
  }
  free(t);
  /* a token without ua has nothing to bind */
  t = issue(f->ring, WD_SCHEME_JWT, "{\"sub\":\"bob\",\"exp\":1700000600}", NULL);
  rq_t q = {.url = "/b/a.ts", .token = t};
  rq_header(&q, "User-Agent", "Anything");
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);
}

/* Several rules fail at once: all are reported, the first decides. */
static void several_reasons(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("many");
  p.countries_allow[0] = "SE";
  p.ncountries_allow = 1;
  p.ip_allow[0] = "10.0.0.0/8";
  p.nip_allow = 1;
  p.on[WD_REASON_GEO].action = WD_ACT_CALLOUT;
  p.on[WD_REASON_GEO].target = "/slates/geo.m3u8";
  fx_t *f = fx_new(&p, 1, 0);
  char *t = cat_token(f->ring, NOW + 600, NULL);
  rq_t q = {.url = "/live/a.ts", .token = t, .country = "DE", .ip = "192.0.2.1"};
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  assert_int_equal(d.nreasons, 2);
  assert_int_equal(d.reasons[0], WD_REASON_GEO);
  assert_int_equal(d.reasons[1], WD_REASON_ORIGIN_IP);
  assert_int_equal(d.action, WD_ACT_CALLOUT);
  assert_string_equal(d.target, "/slates/geo.m3u8");
  assert_int_equal(d.status, 200);
  assert_string_equal(d.detail, "country DE is not allowed by policy many");
  wd_decision_cleanup(&d);
  q.token = "garbage";
  assert_int_equal(run(f, &q, &d), 0);
  assert_int_equal(d.nreasons, 3);
  assert_int_equal(d.reasons[0], WD_REASON_INVALID);
  assert_int_equal(d.action, WD_ACT_BLOCK);
  assert_int_equal(d.status, 401);
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);
}

/* ---- bans ---- */

static void ban(fx_t *f, wd_ban_type_t type, const char *value, const char *reason) {
  wd_ban_change_t c;
  memset(&c, 0, sizeof c);
  c.op = WD_BAN_ADD;
  c.ban.type = type;
  snprintf(c.ban.value, sizeof c.ban.value, "%s", value);
  snprintf(c.ban.reason, sizeof c.ban.reason, "%s", reason);
  snprintf(c.ban.actor, sizeof c.ban.actor, "test");
  assert_int_equal(wd_banlist_apply(f->bans, &c, 1, NOW - 10), 0);
  assert_int_equal(c.result, 0);
}

static void lift(fx_t *f, wd_ban_type_t type, const char *value) {
  wd_ban_change_t c;
  memset(&c, 0, sizeof c);
  c.op = WD_BAN_LIFT;
  c.ban.type = type;
  snprintf(c.ban.value, sizeof c.ban.value, "%s", value);
  snprintf(c.ban.actor, sizeof c.ban.actor, "test");
  assert_int_equal(wd_banlist_apply(f->bans, &c, 1, NOW - 5), 0);
  assert_int_equal(c.result, 0);
}

static void bans(void **state) {
  (void)state;
  wd_policy_t p[2];
  p[0] = automate_policy("p");
  p[0].on[WD_REASON_BANNED].action = WD_ACT_CALLOUT;
  p[0].on[WD_REASON_BANNED].target = "/slates/banned.m3u8";
  p[1] = automate_policy("open");
  p[1].path_prefix = "/open/";
  p[1].require_token = 0;
  fx_t *f = fx_new(p, 2, 1);
  char *t = cat_token(f->ring, NOW + 600, NULL);
  rq_t q = {.url = "/live/a.ts", .token = t, .ip = "198.51.100.20"};
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  wd_decision_cleanup(&d);

  struct {
    wd_ban_type_t type;
    const char *value, *detail;
  } cases[] = {
      {WD_BAN_TOKEN, CAT_CTI, "banned token " CAT_CTI ": shared on a forum"},
      {WD_BAN_SUBJECT, "alice", "banned subject alice: shared on a forum"},
      {WD_BAN_IP, "198.51.100.20", "banned ip 198.51.100.20: shared on a forum"},
      {WD_BAN_CIDR, "198.51.100.0/24", "banned cidr 198.51.100.0/24: shared on a forum"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ban(f, cases[i].type, cases[i].value, "shared on a forum");
    assert_int_equal(run(f, &q, &d), 0);
    expect(&d, WD_REASON_BANNED, WD_ACT_CALLOUT, 200);
    assert_string_equal(d.target, "/slates/banned.m3u8");
    assert_string_equal(d.detail, cases[i].detail);
    wd_decision_cleanup(&d);
    lift(f, cases[i].type, cases[i].value);
    assert_int_equal(run(f, &q, &d), 0);
    expect_allow(&d);
    wd_decision_cleanup(&d);
  }

  /* address bans hold without a token, and where no token is required */
  ban(f, WD_BAN_CIDR, "2001:db8::/48", "abuse");
  rq_t q2 = {.url = "/open/a.ts", .ip = "2001:db8::77"};
  assert_int_equal(run(f, &q2, &d), 0);
  expect(&d, WD_REASON_BANNED, WD_ACT_BLOCK, 403);
  wd_decision_cleanup(&d);
  rq_t q3 = {.url = "/live/a.ts", .ip = "2001:db8:0:0:1::1"};
  assert_int_equal(run(f, &q3, &d), 0);
  assert_int_equal(d.nreasons, 2);
  assert_int_equal(d.reasons[0], WD_REASON_NO_TOKEN);
  assert_int_equal(d.reasons[1], WD_REASON_BANNED);
  assert_int_equal(d.status, 401);
  wd_decision_cleanup(&d);

  /* a forged token naming a banned subject: its identity is not trusted, so no ban reason */
  ban(f, WD_BAN_SUBJECT, "mallory", "fraud");
  wd_keyring_t *other;
  assert_int_equal(wd_keyring_create(&other), 0);
  assert_int_equal(wd_keyring_add_secret(other, WD_SCHEME_JWT, WD_ALG_HS256, NULL, 0, NULL,
                                         "not-the-secret-0123456789abcdef", 31, NULL),
                   0);
  char *forged = issue(other, WD_SCHEME_JWT, "{\"sub\":\"mallory\",\"exp\":1700000600}", NULL);
  rq_t q4 = {.url = "/live/a.ts", .token = forged};
  assert_int_equal(run(f, &q4, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_BLOCK, 401);
  assert_string_equal(d.token.id.subject, "mallory");
  wd_decision_cleanup(&d);
  /* the same subject in a genuine but expired token is trusted */
  char *exp = issue(f->ring, WD_SCHEME_JWT, "{\"sub\":\"mallory\",\"exp\":1699999000}", NULL);
  q4.token = exp;
  assert_int_equal(run(f, &q4, &d), 0);
  assert_int_equal(d.nreasons, 2);
  assert_int_equal(d.reasons[0], WD_REASON_EXPIRED);
  assert_int_equal(d.reasons[1], WD_REASON_BANNED);
  wd_decision_cleanup(&d);
  free(exp);
  free(forged);
  wd_keyring_destroy(other);
  free(t);
  fx_free(f);
}

/* ---- replay ---- */

static void replay(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  fx_t *f = fx_new(&p, 1, 1);
  char *once = cat_token(f->ring, NOW + 600, "\"catreplay\":1");
  rq_t q = {.url = "/live/a.ts", .token = once};
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.replay, 1);
  wd_decision_cleanup(&d);
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_REPLAY, WD_ACT_BLOCK, 403);
  assert_string_equal(d.detail, "token " CAT_CTI " was used before (catreplay=1)");
  wd_decision_cleanup(&d);
  /* remembered until exp: the same cti from another issuer is another token */
  char *other = issue(f->ring, WD_SCHEME_CAT,
                      "{\"iss\":\"elsewhere\",\"cti\":\"" CAT_CTI "\",\"exp\":1700000600,"
                      "\"catreplay\":1}",
                      NULL);
  q.token = other;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  wd_decision_cleanup(&d);
  /* catreplay 0: reusable */
  char *multi = issue(f->ring, WD_SCHEME_CAT,
                      "{\"cti\":\"0101\",\"exp\":1700000600,\"catreplay\":0}", NULL);
  q.token = multi;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(run(f, &q, &d), 0);
    expect_allow(&d);
    wd_decision_cleanup(&d);
  }
  fx_free(f);

  /* no replay memory: catreplay=1 cannot be honoured, so it is refused */
  f = fx_new(&p, 1, 0);
  q.token = once;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_REPLAY, WD_ACT_BLOCK, 403);
  assert_string_equal(d.detail, "catreplay=1 but no replay memory is configured");
  wd_decision_cleanup(&d);
  fx_free(f);
  free(once);
  free(other);
  free(multi);
}

/* ---- renewal ---- */

static void renewal(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  fx_t *f = fx_new(&p, 1, 1);
  /* due: exp - deadline <= now < exp */
  char *t = cat_token(f->ring, NOW + 30,
                      "\"catr\":{\"type\":\"header\",\"expadd\":120,\"deadline\":60}");
  rq_t q = {.url = "/live/a.ts", .token = t};
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  assert_int_equal(d.nreasons, 0);
  assert_int_equal(d.action, WD_ACT_RENEW);
  assert_int_equal(d.enforced, WD_ACT_RENEW);
  assert_int_equal(d.status, 200);
  assert_true(d.use_token_response);
  assert_int_equal(d.token.renew, WD_DELIVER_HEADER);
  assert_int_equal(d.token.response.nheaders, 1);
  assert_string_equal(d.token.response.headers[0].name, "cta-common-access-token");
  assert_string_equal(d.token.response.headers[0].value, d.token.renewed_token);
  wd_decision_cleanup(&d);
  /* not due yet: plain allow */
  q.now = NOW - 100;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.token.response.nheaders, 0);
  wd_decision_cleanup(&d);
  /* monitor mode still renews (viewers keep playing while Warden watches) */
  wd_policy_set_mode(wd_decider_policy(f->d, "p"), WD_MODE_MONITOR);
  q.now = NOW;
  assert_int_equal(run(f, &q, &d), 0);
  assert_int_equal(d.action, WD_ACT_RENEW);
  assert_int_equal(d.mode, WD_MODE_MONITOR);
  wd_decision_cleanup(&d);
  wd_policy_set_mode(wd_decider_policy(f->d, "p"), WD_MODE_AUTOMATE);
  /* a banned viewer gets no renewal when enforcing */
  ban(f, WD_BAN_SUBJECT, "alice", "x");
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_BANNED, WD_ACT_BLOCK, 403);
  assert_false(d.use_token_response);
  wd_decision_cleanup(&d);
  /* ... nor while only watching: a fresh token would outlive the ban */
  wd_policy_set_mode(wd_decider_policy(f->d, "p"), WD_MODE_MONITOR);
  assert_int_equal(run(f, &q, &d), 0);
  assert_int_equal(d.action, WD_ACT_ALLOW);
  assert_false(d.use_token_response);
  wd_decision_cleanup(&d);
  wd_policy_set_mode(wd_decider_policy(f->d, "p"), WD_MODE_AUTOMATE);
  lift(f, WD_BAN_SUBJECT, "alice");
  free(t);

  /* a redirect renewal: 302 with the renewed token in Location */
  t = cat_token(f->ring, NOW + 30, "\"catr\":{\"type\":\"redirect\",\"expadd\":120,\"deadline\":60}");
  char url[2048];
  snprintf(url, sizeof url, "https://cdn.example.com/live/a.ts?cat=%s", t);
  rq_t q2 = {.url = url};
  assert_int_equal(run(f, &q2, &d), 0);
  assert_int_equal(d.action, WD_ACT_RENEW);
  assert_int_equal(d.status, 302);
  assert_int_equal(d.token.renew, WD_DELIVER_REDIRECT);
  assert_string_equal(d.token.response.headers[0].name, "Location");
  assert_non_null(strstr(d.token.response.headers[0].value, d.token.renewed_token));
  wd_decision_cleanup(&d);
  free(t);

  /* a cookie renewal, from a token that came in a cookie (automatic) */
  t = cat_token(f->ring, NOW + 30, "\"catr\":{\"type\":\"automatic\",\"expadd\":120,\"deadline\":60}");
  char cookie[2048];
  snprintf(cookie, sizeof cookie, "CTA-Common-Access-Token=%s", t);
  rq_t q3 = {.url = "/live/a.ts"};
  rq_header(&q3, "Cookie", cookie);
  assert_int_equal(run(f, &q3, &d), 0);
  assert_int_equal(d.action, WD_ACT_RENEW);
  assert_int_equal(d.status, 200);
  assert_int_equal(d.token.renew, WD_DELIVER_COOKIE);
  assert_string_equal(d.token.response.headers[0].name, "Set-Cookie");
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);
}

/* ---- modes ---- */

static void modes(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  p.countries_deny[0] = "XX";
  p.ncountries_deny = 1;
  fx_t *f = fx_new(&p, 1, 0);
  wd_policy_t *pol = wd_decider_policy(f->d, "p");
  char *t = cat_token(f->ring, NOW + 600, NULL);
  rq_t bad = {.url = "/live/a.ts", .token = t, .country = "XX"};
  rq_t good = {.url = "/live/a.ts", .token = t, .country = "SE"};
  wd_decision_t d;

  assert_int_equal(wd_policy_set_mode(pol, WD_MODE_MONITOR), 0);
  assert_int_equal(run(f, &bad, &d), 0);
  assert_int_equal(d.mode, WD_MODE_MONITOR);
  assert_int_equal(d.action, WD_ACT_ALLOW);
  assert_int_equal(d.status, 200);
  assert_int_equal(d.enforced, WD_ACT_BLOCK);
  assert_int_equal(d.nreasons, 1);
  assert_int_equal(d.reasons[0], WD_REASON_GEO);
  assert_false(d.has_case);
  wd_decision_cleanup(&d);

  assert_int_equal(wd_policy_set_mode(pol, WD_MODE_MODERATE), 0);
  assert_int_equal(run(f, &bad, &d), 0);
  assert_int_equal(d.mode, WD_MODE_MODERATE);
  assert_int_equal(d.action, WD_ACT_ALLOW);
  assert_int_equal(d.enforced, WD_ACT_BLOCK);
  assert_true(d.has_case);
  wd_decision_cleanup(&d);
  assert_int_equal(run(f, &good, &d), 0);
  expect_allow(&d);
  assert_false(d.has_case);
  wd_decision_cleanup(&d);
  /* An expired token is not misuse by a verified viewer: no case, though it would be blocked. */
  char *old = cat_token(f->ring, NOW - 60, NULL);
  rq_t expired = {.url = "/live/a.ts", .token = old, .country = "SE"};
  assert_int_equal(run(f, &expired, &d), 0);
  assert_int_equal(d.action, WD_ACT_ALLOW);
  assert_int_equal(d.enforced, WD_ACT_BLOCK);
  assert_false(d.has_case);
  wd_decision_cleanup(&d);
  free(old);
  /* An allow-listed viewer (here by address) opens no case either. */
  char *adir = tu_tmpdir();
  wd_banlist_opts_t ao = {.map_size = (size_t)64 << 20, .no_sync = 1, .file = "allow.mdb"};
  wd_banlist_t *allow = NULL;
  assert_int_equal(wd_banlist_open(adir, &ao, &allow), 0);
  wd_ban_change_t ch = {.op = WD_BAN_ADD, .ban = {.type = WD_BAN_IP, .value = "192.0.2.77"}};
  assert_int_equal(wd_banlist_apply(allow, &ch, 1, NOW), 0);
  assert_int_equal(ch.result, 0);
  wd_decider_set_allowlist(f->d, allow);
  rq_t listed = {.url = "/live/a.ts", .token = t, .country = "XX", .ip = "192.0.2.77"};
  assert_int_equal(run(f, &listed, &d), 0);
  assert_int_equal(d.enforced, WD_ACT_BLOCK);
  assert_true(d.allowlisted);
  assert_false(d.has_case);
  wd_decision_cleanup(&d);
  listed.ip = "192.0.2.78";
  assert_int_equal(run(f, &listed, &d), 0);
  assert_false(d.allowlisted);
  assert_true(d.has_case);
  wd_decision_cleanup(&d);
  wd_decider_set_allowlist(f->d, NULL);
  wd_banlist_close(allow);
  tu_tmpdir_free(adir);

  assert_int_equal(wd_policy_set_mode(pol, WD_MODE_AUTOMATE), 0);
  assert_int_equal(run(f, &bad, &d), 0);
  expect(&d, WD_REASON_GEO, WD_ACT_BLOCK, 403);
  assert_int_equal(d.enforced, WD_ACT_BLOCK);
  assert_false(d.has_case);
  wd_decision_cleanup(&d);
  free(t);
  fx_free(f);
}

/* ---- sharing detection ---- */

static wd_tracker_t *tracker_new(void) {
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.seed = 7;
  c.max_tokens = 1024;
  c.shards = 4;
  wd_tracker_t *t = NULL;
  assert_int_equal(wd_tracker_create(&c, &t), 0);
  return t;
}

/* One token from five networks in five ASNs and three countries within a minute: shared. */
static void detection(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  p.on[WD_REASON_SHARED] = (wd_action_spec_t){.action = WD_ACT_CALLOUT, .target = "/slates/shared.m3u8"};
  fx_t *f = fx_new(&p, 1, 0);
  wd_policy_t *pol = wd_decider_policy(f->d, "p");
  wd_tracker_t *t = tracker_new();
  assert_int_equal(wd_decider_set_tracker(f->d, pol, t), 0);
  wd_policy_t other = automate_policy("x");
  assert_int_equal(wd_decider_set_tracker(f->d, &other, t), WD_EINVAL);
  char *tok = cat_token(f->ring, NOW + 600, NULL);
  static const struct {
    const char *ip, *cc;
    uint32_t asn;
  } seen[] = {{"198.51.100.10", "SE", 3301},  {"203.0.113.20", "DE", 3209},
              {"192.0.2.30", "FR", 3215},     {"100.64.1.40", "DE", 6805},
              {"100.65.2.50", "SE", 1257},    {"100.66.3.60", "FR", 12322}};
  wd_decision_t d;
  int first_shared = -1, suspect_case = 0;
  for (int i = 0; i < 6; i++) {
    char url[64];
    snprintf(url, sizeof url, "/live/ch1/seg%d.ts", 100 + i);
    rq_t q = {.url = url, .token = tok, .ip = seen[i].ip, .country = seen[i].cc,
              .asn = seen[i].asn, .now = NOW + i};
    assert_int_equal(run(f, &q, &d), 0);
    assert_true(d.detected);
    if (i == 0) {
      expect_allow(&d);
      assert_int_equal(d.verdict.level, WD_VERDICT_OK);
    }
    if (d.verdict.level == WD_VERDICT_SUSPECT && !has_reason(&d, WD_REASON_SHARED))
      suspect_case |= d.has_case; /* automate: a suspect token goes to review */
    if (has_reason(&d, WD_REASON_SHARED) && first_shared < 0) {
      first_shared = i;
      assert_int_equal(d.action, WD_ACT_CALLOUT);
      assert_string_equal(d.target, "/slates/shared.m3u8");
      assert_non_null(strstr(d.detail, "networks"));
      assert_false(d.has_case);
    }
    wd_decision_cleanup(&d);
  }
  assert_true(first_shared >= 2 && first_shared <= 5);
  assert_true(suspect_case || first_shared == 2);

  /* The same traffic in moderate mode: allowed, and a case opens. */
  wd_policy_set_mode(pol, WD_MODE_MODERATE);
  rq_t q = {.url = "/live/ch1/seg200.ts", .token = tok, .ip = "100.67.4.70", .country = "NO",
            .asn = 2119, .now = NOW + 7};
  assert_int_equal(run(f, &q, &d), 0);
  assert_int_equal(d.action, WD_ACT_ALLOW);
  assert_int_equal(d.enforced, WD_ACT_CALLOUT);
  assert_true(has_reason(&d, WD_REASON_SHARED));
  assert_true(d.has_case);
  wd_decision_cleanup(&d);

  /* Another token, one network: not shared; an invalid token is never observed. */
  char *clean = issue(f->ring, WD_SCHEME_CAT,
                      "{\"iss\":\"warden-test\",\"cti\":\"c1ea\",\"exp\":1700000600}", NULL);
  rq_t q2 = {.url = "/live/ch1/seg1.ts", .token = clean, .ip = "198.51.100.99", .country = "SE",
             .asn = 3301, .now = NOW + 8};
  assert_int_equal(run(f, &q2, &d), 0);
  expect_allow(&d);
  assert_int_equal(d.verdict.level, WD_VERDICT_OK);
  wd_decision_cleanup(&d);
  rq_t q3 = {.url = "/live/ch1/seg1.ts", .token = "not-a-token", .now = NOW + 8};
  assert_int_equal(run(f, &q3, &d), 0);
  assert_false(d.detected);
  wd_decision_cleanup(&d);
  free(clean);
  free(tok);
  fx_free(f);
  wd_tracker_destroy(t);
}

/* catreplay=2: reuse is to be detected, so a suspect verdict already counts as shared. */
static void detection_catreplay2(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  fx_t *f = fx_new(&p, 1, 0);
  wd_tracker_t *t = tracker_new();
  assert_int_equal(wd_decider_set_tracker(f->d, wd_decider_policy(f->d, "p"), t), 0);
  char *r2 = cat_token(f->ring, NOW + 600, "\"catreplay\":2");
  char *plain = issue(f->ring, WD_SCHEME_CAT,
                      "{\"iss\":\"warden-test\",\"cti\":\"0b0b\",\"exp\":1700000600}", NULL);
  static const struct {
    const char *ip, *cc;
    uint32_t asn;
  } seen[] = {{"198.51.100.10", "SE", 3301}, {"203.0.113.20", "SE", 3209}, {"192.0.2.30", "SE", 3215}};
  int r2_shared = 0, plain_shared = 0, plain_suspect = 0;
  wd_decision_t d;
  for (int i = 0; i < 3; i++) {
    for (int k = 0; k < 2; k++) {
      rq_t q = {.url = "/live/ch1/seg1.ts", .token = k ? plain : r2, .ip = seen[i].ip,
                .country = seen[i].cc, .asn = seen[i].asn, .now = NOW + i};
      assert_int_equal(run(f, &q, &d), 0);
      if (k == 0)
        r2_shared |= has_reason(&d, WD_REASON_SHARED);
      else {
        plain_shared |= has_reason(&d, WD_REASON_SHARED);
        plain_suspect |= d.verdict.level == WD_VERDICT_SUSPECT;
      }
      wd_decision_cleanup(&d);
    }
  }
  assert_true(plain_suspect);  /* three networks over three ASNs: suspect ... */
  assert_false(plain_shared);  /* ... which alone is not enforced */
  assert_true(r2_shared);      /* but is reuse for a catreplay=2 token */
  free(r2);
  free(plain);
  fx_free(f);
  wd_tracker_destroy(t);
}

typedef struct race {
  fx_t *f;
  const char *token;
  int done;
  long allowed, blocked, wrong;
} race_t;

static void *decider_thread(void *arg) {
  race_t *r = arg;
  wd_verifier_t *v;
  assert_int_equal(wd_verifier_create(r->f->ring, &v), 0);
  wd_header_t h = {"CTA-Common-Access-Token", r->token};
  long seen_allow = 0, seen_block = 0;
  /* until both modes were seen (and at least 400 decisions), at most 200000 */
  for (int i = 0; i < 200000 && (i < 400 || !seen_allow || !seen_block); i++) {
    wd_decide_input_t in;
    memset(&in, 0, sizeof in);
    in.req.url = "/live/a.ts";
    in.req.country = "XX";
    in.req.headers = &h;
    in.req.nheaders = 1;
    in.req.now = NOW;
    wd_decision_t d;
    assert_int_equal(wd_decide(r->f->d, v, &in, &d), 0);
    /* whatever the mode at the time, the decision is consistent with it */
    if (d.mode == WD_MODE_AUTOMATE && d.action == WD_ACT_BLOCK && d.status == 403)
      __atomic_add_fetch(&r->blocked, 1, __ATOMIC_RELAXED), seen_block++;
    else if (d.mode == WD_MODE_MONITOR && d.action == WD_ACT_ALLOW && d.status == 200)
      __atomic_add_fetch(&r->allowed, 1, __ATOMIC_RELAXED), seen_allow++;
    else
      __atomic_add_fetch(&r->wrong, 1, __ATOMIC_RELAXED);
    if (d.enforced != WD_ACT_BLOCK || d.nreasons != 1 || d.reasons[0] != WD_REASON_GEO)
      __atomic_add_fetch(&r->wrong, 1, __ATOMIC_RELAXED);
    wd_decision_cleanup(&d);
  }
  wd_verifier_destroy(v);
  __atomic_add_fetch(&r->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* Switching the mode at run time while several threads decide. */
static void mode_switch_while_deciding(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  p.countries_deny[0] = "XX";
  p.ncountries_deny = 1;
  race_t r = {0};
  r.f = fx_new(&p, 1, 0);
  char *t = cat_token(r.f->ring, NOW + 600, NULL);
  r.token = t;
  wd_policy_t *pol = wd_decider_policy(r.f->d, "p");
  pthread_t th[3];
  for (int i = 0; i < 3; i++)
    assert_int_equal(pthread_create(&th[i], NULL, decider_thread, &r), 0);
  for (long i = 0; __atomic_load_n(&r.done, __ATOMIC_ACQUIRE) < 3; i++)
    wd_policy_set_mode(pol, i % 2 ? WD_MODE_MONITOR : WD_MODE_AUTOMATE);
  for (int i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
  assert_int_equal(r.wrong, 0);
  assert_true(r.allowed + r.blocked >= 1200);
  if (!(r.allowed > 0 && r.blocked > 0)) /* the switches landed mid-run */
    fail_msg("allowed %ld blocked %ld", r.allowed, r.blocked);
  free(t);
  fx_free(r.f);
}

/* ---- action parameters ---- */

static void action_parameters(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  p.on[WD_REASON_NO_TOKEN].action = WD_ACT_REDIRECT;
  p.on[WD_REASON_NO_TOKEN].target = "https://www.example.com/login";
  p.on[WD_REASON_INVALID].action = WD_ACT_REDIRECT;
  p.on[WD_REASON_INVALID].target = "https://www.example.com/login";
  p.on[WD_REASON_INVALID].status = 307;
  p.on[WD_REASON_GEO].action = WD_ACT_SUBSTITUTE;
  p.on[WD_REASON_GEO].target = "/blackout/master.m3u8";
  p.on[WD_REASON_REFERER].action = WD_ACT_THROTTLE;
  p.on[WD_REASON_REFERER].rate = 250000;
  p.on[WD_REASON_ORIGIN_IP].status = 451;
  p.on[WD_REASON_EXPIRED].action = WD_ACT_ALLOW; /* grace: expired tokens still play */
  p.countries_deny[0] = "XX";
  p.ncountries_deny = 1;
  p.referers_allow[0] = "player.example.com";
  p.nreferers_allow = 1;
  p.ip_allow[0] = "10.0.0.0/8";
  p.nip_allow = 1;
  fx_t *f = fx_new(&p, 1, 0);
  char *t = cat_token(f->ring, NOW + 600, NULL);
  char *expired = cat_token(f->ring, NOW - 60, NULL);
  wd_decision_t d;

  rq_t q = {.url = "/live/a.ts", .ip = "10.1.2.3"};
  rq_header(&q, "Referer", "https://player.example.com/");
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_NO_TOKEN, WD_ACT_REDIRECT, 302);
  assert_string_equal(d.target, "https://www.example.com/login");
  wd_decision_cleanup(&d);

  q.token = "junk";
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_INVALID, WD_ACT_REDIRECT, 307);
  wd_decision_cleanup(&d);

  q.token = t;
  q.country = "XX";
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_GEO, WD_ACT_SUBSTITUTE, 200);
  assert_string_equal(d.target, "/blackout/master.m3u8");
  assert_int_equal(d.rate, 0);
  wd_decision_cleanup(&d);

  rq_t q2 = {.url = "/live/a.ts", .ip = "10.1.2.3", .token = t};
  rq_header(&q2, "Referer", "https://copycat.example.net/");
  assert_int_equal(run(f, &q2, &d), 0);
  expect(&d, WD_REASON_REFERER, WD_ACT_THROTTLE, 200);
  assert_int_equal(d.rate, 250000);
  assert_null(d.target);
  wd_decision_cleanup(&d);

  q.country = NULL;
  q.ip = "192.0.2.1";
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_ORIGIN_IP, WD_ACT_BLOCK, 451);
  wd_decision_cleanup(&d);

  q.ip = "10.1.2.3";
  q.token = expired;
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_EXPIRED, WD_ACT_ALLOW, 200);
  assert_int_equal(d.enforced, WD_ACT_ALLOW);
  wd_decision_cleanup(&d);

  /* monitor mode carries no parameters: nothing is enforced */
  wd_policy_set_mode(wd_decider_policy(f->d, "p"), WD_MODE_MONITOR);
  q.token = t;
  q.country = "XX";
  assert_int_equal(run(f, &q, &d), 0);
  assert_int_equal(d.action, WD_ACT_ALLOW);
  assert_int_equal(d.enforced, WD_ACT_SUBSTITUTE);
  assert_null(d.target);
  wd_decision_cleanup(&d);
  free(t);
  free(expired);
  fx_free(f);
}

/* ---- bad input ---- */

static void bad_input(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("p");
  wd_policy_set_mode(&p, WD_MODE_MONITOR); /* bad input is refused whatever the mode */
  fx_t *f = fx_new(&p, 1, 0);
  wd_decision_t d;
  wd_decide_input_t in;
  memset(&in, 0, sizeof in);
  assert_int_equal(wd_decide(f->d, f->v, &in, NULL), WD_EINVAL);
  assert_int_equal(wd_decide(NULL, f->v, &in, &d), WD_EINVAL);
  assert_int_equal(d.action, WD_ACT_BLOCK);
  wd_decision_cleanup(&d);
  assert_int_equal(wd_decide(f->d, NULL, &in, &d), WD_EINVAL);
  assert_int_equal(d.action, WD_ACT_BLOCK);
  wd_decision_cleanup(&d);
  assert_int_equal(wd_decide(f->d, f->v, NULL, &d), WD_EINVAL);
  wd_decision_cleanup(&d);
  assert_int_equal(wd_decide(f->d, f->v, &in, &d), WD_EINVAL); /* NULL URL */
  assert_int_equal(d.action, WD_ACT_BLOCK);
  assert_int_equal(d.status, 403);
  assert_int_equal(d.reasons[0], WD_REASON_INVALID);
  wd_decision_cleanup(&d);
  in.req.url = "";
  assert_int_equal(wd_decide(f->d, f->v, &in, &d), WD_EINVAL);
  assert_int_equal(d.action, WD_ACT_BLOCK);
  wd_decision_cleanup(&d);

  /* request data is decided on, never an error */
  const char *urls[] = {"no-slash", "http://", "ftp ://x/y", "https://h:port/x", "/a%zz",
                        "/a%00b", "https://[::1/x"};
  for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
    rq_t q = {.url = urls[i]};
    assert_int_equal(run(f, &q, &d), 0);
    if (d.action != WD_ACT_BLOCK || d.status != 403 || d.reasons[0] != WD_REASON_INVALID)
      fail_msg("url '%s': %s %d", urls[i], wd_action_name(d.action), d.status);
    wd_decision_cleanup(&d);
  }
  size_t n = WD_DECIDE_URL_MAX + 10;
  char *huge = malloc(n + 1);
  memcpy(huge, "/live/", 6);
  memset(huge + 6, 'a', n - 6);
  huge[n] = '\0';
  rq_t q = {.url = huge};
  assert_int_equal(run(f, &q, &d), 0);
  assert_int_equal(d.action, WD_ACT_BLOCK);
  assert_non_null(strstr(d.detail, "exceeds"));
  wd_decision_cleanup(&d);

  /* huge headers: decided (no token found, monitor allows), nothing read out of bounds */
  size_t hn = 1 << 20;
  char *hv = malloc(hn + 1);
  memset(hv, 'x', hn);
  hv[hn] = '\0';
  memcpy(hv, "CTA-Common-Access-Token=", 24);
  rq_t q2 = {.url = "/live/a.ts", .host = hv, .country = hv, .ip = hv};
  rq_header(&q2, "Cookie", hv);
  rq_header(&q2, "Referer", hv);
  rq_header(&q2, "Origin", hv);
  rq_header(&q2, "User-Agent", hv);
  rq_header(&q2, "Authorization", hv);
  rq_header(&q2, "CTA-Common-Access-Token", hv);
  assert_int_equal(run(f, &q2, &d), 0);
  assert_int_equal(d.action, WD_ACT_ALLOW);
  assert_int_equal(d.enforced, WD_ACT_BLOCK);
  assert_true(has_reason(&d, WD_REASON_INVALID)); /* a 1 MB token is refused as too big */
  wd_decision_cleanup(&d);
  /* control characters in request data never reach the detail */
  rq_t q3 = {.url = "https://evil\x01host.example/a\tb"};
  assert_int_equal(run(f, &q3, &d), 0);
  for (const char *c = d.detail; *c; c++)
    assert_true((unsigned char)*c >= 0x20);
  wd_decision_cleanup(&d);
  /* an unknown explicit scheme */
  rq_t q4 = {.url = "/a.ts", .token = "x", .scheme = (wd_scheme_t)99};
  assert_int_equal(run(f, &q4, &d), 0);
  assert_int_equal(d.reasons[0], WD_REASON_INVALID);
  wd_decision_cleanup(&d);
  free(hv);
  free(huge);
  fx_free(f);
}

/* require_token 0: no token stage; access rules and address bans still apply. */
static void open_policy(void **state) {
  (void)state;
  wd_policy_t p = automate_policy("open");
  p.require_token = 0;
  fx_t *f = fx_new(&p, 1, 1);
  rq_t q = {.url = "/free/a.ts", .token = "garbage", .ip = "192.0.2.44"};
  wd_decision_t d;
  assert_int_equal(run(f, &q, &d), 0);
  expect_allow(&d);
  assert_false(d.identity_trusted);
  wd_decision_cleanup(&d);
  ban(f, WD_BAN_IP, "192.0.2.44", "scraper");
  assert_int_equal(run(f, &q, &d), 0);
  expect(&d, WD_REASON_BANNED, WD_ACT_BLOCK, 403);
  wd_decision_cleanup(&d);
  fx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names),
      cmocka_unit_test(create_validation),
      cmocka_unit_test(policies_are_copied),
      cmocka_unit_test(policy_matching),
      cmocka_unit_test(cat_everywhere),
      cmocka_unit_test(jwt_everywhere),
      cmocka_unit_test(url_schemes),
      cmocka_unit_test(policy_schemes),
      cmocka_unit_test(token_failures),
      cmocka_unit_test(catif_answer),
      cmocka_unit_test(most_specific_failure),
      cmocka_unit_test(geo_rules),
      cmocka_unit_test(referer_rules),
      cmocka_unit_test(ip_rules),
      cmocka_unit_test(user_agent_binding),
      cmocka_unit_test(several_reasons),
      cmocka_unit_test(bans),
      cmocka_unit_test(replay),
      cmocka_unit_test(renewal),
      cmocka_unit_test(modes),
      cmocka_unit_test(detection),
      cmocka_unit_test(detection_catreplay2),
      cmocka_unit_test(mode_switch_while_deciding),
      cmocka_unit_test(action_parameters),
      cmocka_unit_test(bad_input),
      cmocka_unit_test(open_policy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
