/*
 * Tests of the `warden serve` configuration reader (src/config.c): a full configuration read
 * into the right fields, the defaults, and every kind of error naming the file, the line and
 * the fix; the command-line key and listen arguments; cross-checks; key-ring building.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "config.h"

static const char *const GOOD =
    "# a full configuration\n"                                    /* 1 */
    "listen:\n"                                                   /* 2 */
    "  - 127.0.0.1:9000\n"                                        /* 3 */
    "  - https://[::1]:9443\n"                                    /* 4 */
    "threads: 2\n"                                                /* 5 */
    "tls: {cert: /etc/warden/cert.pem, key: /etc/warden/key.pem}\n" /* 6 */
    "data_dir: /var/lib/warden\n"                                 /* 7 */
    "admin_token: 0123456789abcdef0123\n"                         /* 8 */
    "trusted_proxies: [127.0.0.1, 10.0.0.0/8]\n"                  /* 9 */
    "client_ip_header: X-Forwarded-For\n"                         /* 10 */
    "country_header: X-Country\n"                                 /* 11 */
    "keys:\n"                                                     /* 12 */
    "  - scheme: cat\n"                                           /* 13 */
    "    kind: hex\n"                                             /* 14 */
    "    value: 403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388\n"
    "    kid: akamai_key_hs256\n"                                 /* 16 */
    "    issuer: eyevinn\n"                                       /* 17 */
    "    alg: HS256\n"                                            /* 18 */
    "  - scheme: securelink\n"                                    /* 19 */
    "    kind: secret\n"                                          /* 20 */
    "    value: s3cret\n"                                         /* 21 */
    "  - scheme: akamai\n"                                        /* 22 */
    "    kind: hex\n"                                             /* 23 */
    "    value: 0a0b0c0d\n"                                       /* 24 */
    "    alg: sha1\n"                                             /* 25 */
    "policies:\n"                                                 /* 26 */
    "  - name: live\n"                                            /* 27 */
    "    host: '*.example.com'\n"                                 /* 28 */
    "    path_prefix: /live/\n"                                   /* 29 */
    "    schemes: [cat, securelink]\n"                            /* 30 */
    "    mode: automate\n"                                        /* 31 */
    "    verify:\n"                                               /* 32 */
    "      leeway: 5\n"                                           /* 33 */
    "      cat: {issuers: [eyevinn], unknown: strict, renew: false}\n"
    "      securelink: {template: '$expires$uri$remote_addr $secret'}\n"
    "    actions:\n"                                              /* 36 */
    "      banned: {action: callout, target: /slates/banned.m3u8}\n"
    "      expired: {action: block, status: 410}\n"               /* 38 */
    "      shared: {action: throttle, rate: 500K}\n"              /* 39 */
    "      geo: redirect\n"                                       /* 40: needs a target */
    ;

static char *good_text(void) {
  /* GOOD ends with an action missing its target on line 40: drop that line for the good case */
  char *s = strdup(GOOD);
  char *p = strstr(s, "      geo: redirect\n");
  *p = '\0';
  const char *rest =
      "      geo: {action: redirect, target: 'https://example.com/blocked.m3u8', status: 307}\n"
      "    countries_allow: [se, NO, us-ca]\n"
      "    referers_allow: [example.com, '*.example.com']\n"
      "    bind_user_agent: yes\n"
      "    ip_allow: [203.0.113.0/24, '2001:db8::/32']\n"
      "  - name: vod\n"
      "    path_prefix: /vod/\n"
      "    require_token: false\n"
      "token_api:\n"
      "  scheme: securelink\n"
      "  url: https://cdn.example.com/\n"
      "  viewer_key: {kind: secret, value: viewer-secret}\n"
      "  viewer_issuers: [login.example.com]\n"
      "  max_expire: 600\n"
      "  default_expire: 60\n"
      "decision_log: {path: /var/log/warden/decisions.log, sample: 0.25, rotate_size: 10M, keep: 3}\n"
      "limits: {max_body: 32K, max_connections: 500}\n";
  char *out = malloc(strlen(s) + strlen(rest) + 1);
  strcpy(out, s);
  strcat(out, rest);
  free(s);
  return out;
}

static conf_t *load_ok(const char *text) {
  conf_t *c = NULL;
  char err[512] = "";
  int rc = conf_load_string(text, strlen(text), "t.yaml", &c, err, sizeof err);
  if (rc)
    fail_msg("unexpected error: %s", err);
  return c;
}

static void test_good(void **state) {
  (void)state;
  char *text = good_text();
  conf_t *c = load_ok(text);
  free(text);
  assert_int_equal(c->nlisten, 2);
  assert_string_equal(c->listen[0].host, "127.0.0.1");
  assert_string_equal(c->listen[0].port, "9000");
  assert_false(c->listen[0].tls);
  assert_string_equal(c->listen[1].host, "::1");
  assert_string_equal(c->listen[1].port, "9443");
  assert_true(c->listen[1].tls);
  assert_int_equal(c->listen[1].line, 4);
  assert_int_equal(c->threads, 2);
  assert_string_equal(c->tls_cert, "/etc/warden/cert.pem");
  assert_string_equal(c->tls_key, "/etc/warden/key.pem");
  assert_string_equal(c->data_dir, "/var/lib/warden");
  assert_string_equal(c->admin_token, "0123456789abcdef0123");
  assert_int_equal(c->ntrusted, 2);
  assert_true(conf_is_trusted(c, "127.0.0.1"));
  assert_true(conf_is_trusted(c, "10.200.3.4"));
  assert_false(conf_is_trusted(c, "11.0.0.1"));
  assert_false(conf_is_trusted(c, "not an ip"));
  assert_string_equal(c->client_ip_header, "X-Forwarded-For");
  assert_string_equal(c->country_header, "X-Country");

  assert_int_equal(c->nkeys, 3);
  assert_int_equal(c->keys[0].scheme, WD_SCHEME_CAT);
  assert_int_equal(c->keys[0].kind, CONF_KEY_HEX);
  assert_string_equal(c->keys[0].kid, "akamai_key_hs256");
  assert_string_equal(c->keys[0].issuer, "eyevinn");
  assert_int_equal(c->keys[0].alg, WD_ALG_HS256);
  assert_int_equal(c->keys[0].line, 13);
  assert_int_equal(c->keys[1].kind, CONF_KEY_SECRET);
  assert_string_equal(c->keys[1].value, "s3cret");
  assert_int_equal(c->keys[2].alg, WD_ALG_HS1);

  assert_int_equal(c->npolicies, 2);
  wd_policy_t *p = &c->policies[0];
  assert_string_equal(p->name, "live");
  assert_string_equal(p->host, "*.example.com");
  assert_string_equal(p->path_prefix, "/live/");
  assert_int_equal(p->nschemes, 2);
  assert_int_equal(p->schemes[0], WD_SCHEME_CAT);
  assert_int_equal(p->schemes[1], WD_SCHEME_SECURELINK);
  assert_int_equal(wd_policy_mode(p), WD_MODE_AUTOMATE);
  assert_int_equal(p->verify.leeway, 5);
  assert_int_equal(p->verify.cat.nissuers, 1);
  assert_string_equal(p->verify.cat.issuers[0], "eyevinn");
  assert_int_equal(p->verify.cat.unknown, WD_CAT_UNKNOWN_STRICT);
  assert_true(p->verify.cat.no_renew);
  assert_string_equal(p->verify.securelink.template_str, "$expires$uri$remote_addr $secret");
  assert_int_equal(p->on[WD_REASON_BANNED].action, WD_ACT_CALLOUT);
  assert_string_equal(p->on[WD_REASON_BANNED].target, "/slates/banned.m3u8");
  assert_int_equal(p->on[WD_REASON_EXPIRED].action, WD_ACT_BLOCK);
  assert_int_equal(p->on[WD_REASON_EXPIRED].status, 410);
  assert_int_equal(p->on[WD_REASON_SHARED].action, WD_ACT_THROTTLE);
  assert_int_equal(p->on[WD_REASON_SHARED].rate, 500 * 1024);
  assert_int_equal(p->on[WD_REASON_GEO].action, WD_ACT_REDIRECT);
  assert_int_equal(p->on[WD_REASON_GEO].status, 307);
  assert_int_equal(p->on[WD_REASON_INVALID].action, WD_ACT_BLOCK); /* not configured: default */
  assert_int_equal(p->ncountries_allow, 3);
  assert_string_equal(p->countries_allow[0], "SE");
  assert_string_equal(p->countries_allow[2], "US-CA");
  assert_int_equal(p->nreferers_allow, 2);
  assert_true(p->bind_user_agent);
  assert_int_equal(p->nip_allow, 2);
  assert_true(p->require_token);
  assert_int_equal(c->policy_lines[0], 27);
  assert_false(c->policies[1].require_token);
  assert_int_equal(wd_policy_mode(&c->policies[1]), WD_MODE_MONITOR);

  assert_true(c->token_api.enabled);
  assert_int_equal(c->token_api.scheme, WD_SCHEME_SECURELINK);
  assert_string_equal(c->token_api.url, "https://cdn.example.com"); /* trailing / dropped */
  assert_int_equal(c->token_api.nviewer_keys, 1);
  assert_int_equal(c->token_api.viewer_keys[0].scheme, WD_SCHEME_JWT);
  assert_int_equal(c->token_api.nviewer_issuers, 1);
  assert_int_equal(c->token_api.max_expire, 600);
  assert_int_equal(c->token_api.default_expire, 60);

  assert_string_equal(c->declog.path, "/var/log/warden/decisions.log");
  assert_true(c->declog.sample > 0.24 && c->declog.sample < 0.26);
  assert_int_equal(c->declog.rotate_bytes, 10 << 20);
  assert_int_equal(c->declog.keep, 3);
  assert_int_equal(c->limits.max_body, 32 * 1024);
  assert_int_equal(c->limits.max_connections, 500);

  char err[512];
  /* the https listener has its certificate, every scheme a key: valid */
  assert_int_equal(conf_validate(c, err, sizeof err), 0);
  wd_keyring_t *ring = NULL;
  assert_int_equal(conf_build_keyring(c, c->keys, c->nkeys, &ring, err, sizeof err), 0);
  assert_int_equal(wd_keyring_count(ring), 3);
  wd_keyring_destroy(ring);
  conf_free(c);
}

static void test_defaults(void **state) {
  (void)state;
  conf_t *c = load_ok("keys: [{scheme: jwt, kind: secret, value: x}]\n"
                      "policies: [{name: all}]\n");
  assert_int_equal(c->nlisten, 1);
  assert_string_equal(c->listen[0].host, "127.0.0.1");
  assert_string_equal(c->listen[0].port, "8080");
  assert_int_equal(c->threads, 1);
  assert_string_equal(c->data_dir, "./warden-data");
  assert_null(c->admin_token);
  assert_null(c->tls_cert);
  assert_int_equal(c->ntrusted, 0);
  assert_null(c->client_ip_header);
  assert_false(c->token_api.enabled);
  assert_string_equal(c->declog.path, "decisions.log");
  assert_true(c->declog.sample == 1.0);
  assert_int_equal(c->declog.rotate_bytes, 100u << 20);
  assert_int_equal(c->declog.keep, 5);
  assert_int_equal(c->limits.max_body, 65536);
  assert_int_equal(c->limits.max_header_bytes, 32768);
  assert_int_equal(c->limits.max_url, 8192);
  wd_policy_t *p = &c->policies[0];
  assert_null(p->host);
  assert_null(p->path_prefix);
  assert_int_equal(p->nschemes, 0);
  assert_int_equal(wd_policy_mode(p), WD_MODE_MONITOR);
  assert_true(p->require_token);
  for (int r = 0; r < WD_REASON_COUNT; r++) {
    assert_int_equal(p->on[r].action, WD_ACT_BLOCK);
    assert_int_equal(p->on[r].status, 0);
  }
  char err[256];
  assert_int_equal(conf_validate(c, err, sizeof err), 0);
  conf_free(c);

  /* decision_log: false turns it off */
  c = load_ok("keys: [{scheme: jwt, kind: secret, value: x}]\npolicies: [{name: a}]\n"
              "decision_log: false\n");
  assert_null(c->declog.path);
  conf_free(c);
}

static void test_embedded_default(void **state) {
  (void)state;
  conf_t *c = NULL;
  assert_int_equal(conf_default(&c), 0);
  assert_true(c->embedded);
  assert_int_equal(c->nlisten, 1);
  assert_string_equal(c->listen[0].port, "8080");
  assert_int_equal(c->npolicies, 1);
  assert_string_equal(c->policies[0].name, "default");
  assert_int_equal(wd_policy_mode(&c->policies[0]), WD_MODE_MONITOR);
  assert_true(c->token_api.enabled);
  char err[256];
  /* no keys yet: the program generates them; validation says what is missing */
  assert_int_equal(conf_validate(c, err, sizeof err), -1);
  assert_non_null(strstr(err, "no keys"));
  assert_int_equal(conf_add_key_arg(c, "securelink:secret:s3cret", err, sizeof err), 0);
  assert_int_equal(conf_add_key_arg(c, "jwt:secret:viewer", err, sizeof err), 0);
  c->token_api.viewer_keys[0] = c->keys[1];
  c->token_api.nviewer_keys = 1;
  assert_int_equal(conf_validate(c, err, sizeof err), 0);
  conf_free(c);
}

/* Each bad configuration must fail with a message naming the file, the line and the fix. */
typedef struct bad_case {
  const char *text;
  const char *want; /* substring of the message */
} bad_case_t;

#define KEYS "keys: [{scheme: cat, kind: hex, value: '0011'}]\n"

static const bad_case_t bad_cases[] = {
    {KEYS "policies:\n  - name: a\n    schemes: [catt]\n",
     "t.yaml line 4: unknown scheme 'catt' (expected one of cat, jwt, akamai, securelink, "
     "cloudfront, bunny)"},
    {KEYS "policies: [{name: a}]\nthreds: 2\n",
     "t.yaml line 3: unknown key 'threds' in the configuration (expected one of listen, threads"},
    {KEYS "policies: [{name: a}]\nthreads: many\n",
     "t.yaml line 3: threads must be a whole number, got 'many'"},
    {KEYS "policies: [{name: a}]\nthreads: 0\n", "t.yaml line 3: threads must be between 1 and 64"},
    {KEYS "policies:\n  - name: a\n  - name: a\n",
     "t.yaml line 4: policy name 'a' is used twice"},
    {KEYS "policies:\n  - name: a\n    mode: enforce\n",
     "t.yaml line 4: unknown mode 'enforce' (expected one of monitor, moderate, automate)"},
    {KEYS "policies:\n  - name: a\n    actions:\n      banned: {action: explode}\n",
     "t.yaml line 5: unknown action 'explode' (expected one of allow, block, throttle"},
    {KEYS "policies:\n  - name: a\n    actions:\n      banned: redirect\n",
     "t.yaml line 5: actions.banned: action redirect needs a 'target'"},
    {KEYS "policies:\n  - name: a\n    actions:\n      shared: {action: throttle}\n",
     "t.yaml line 5: actions.shared: action throttle needs a 'rate'"},
    {KEYS "policies:\n  - name: a\n    actions:\n      bannd: block\n",
     "t.yaml line 5: unknown reason 'bannd' (expected one of no_token, invalid, expired, banned"},
    {KEYS "policies:\n  - name: a\n    actions:\n      banned: {action: block, status: 302}\n",
     "t.yaml line 5: actions.banned: a block status must be 4xx or 5xx"},
    {KEYS "policies: [{name: a}]\nlisten: [localhost]\n",
     "t.yaml line 3: listen address 'localhost' is not HOST:PORT"},
    {KEYS "policies: [{name: a}]\nlisten: ['127.0.0.1:99999']\n",
     "t.yaml line 3: listen address '127.0.0.1:99999' is not HOST:PORT"},
    {KEYS "policies: [{name: a}]\ntls:\n  cert: /x.pem\n",
     "t.yaml line 4: tls needs both 'cert' and 'key'"},
    {"policies: [{name: a}]\nkeys:\n  - scheme: cat\n    kind: hex\n    value: xyz\n",
     "t.yaml line 5: a key (value): a hex key must be an even number of hex digits"},
    {"policies: [{name: a}]\nkeys:\n  - scheme: cat\n    kind: hexx\n    value: '00'\n",
     "t.yaml line 4: unknown key kind 'hexx' (expected one of hex, secret, pem)"},
    {"policies: [{name: a}]\nkeys:\n  - scheme: cat\n    value: '00'\n",
     "t.yaml line 3: a key needs 'kind' (hex, secret or pem)"},
    {"policies: [{name: a}]\nkeys:\n  - scheme: cat\n    kind: hex\n",
     "t.yaml line 3: a key needs exactly one of 'value', 'env' or 'file'"},
    {"policies: [{name: a}]\nkeys:\n  - {scheme: cloudfront, kind: pem, file: /nonexistent/k.pem}\n",
     "t.yaml line 3: cannot read key file '/nonexistent/k.pem'"},
    {"policies: [{name: a}]\nkeys:\n  - {scheme: jwt, kind: secret, env: WARDEN_TEST_UNSET_VAR}\n",
     "t.yaml line 3: environment variable WARDEN_TEST_UNSET_VAR is not set"},
    {"policies: [{name: a}]\nkeys:\n  - {scheme: jwt, kind: secret, value: x, alg: HS999}\n",
     "t.yaml line 3: unknown alg 'HS999' for jwt"},
    {KEYS "policies:\n  - name: a\n    countries_allow: [Sweden]\n",
     "t.yaml line 4: countries_allow: 'Sweden' is not an ISO 3166 country code"},
    {KEYS "policies: [{name: a}]\ntrusted_proxies: [10.0.0.0/33]\n",
     "t.yaml line 3: trusted proxy '10.0.0.0/33' is not an address or prefix"},
    {KEYS "policies:\n  - name: a\n    path_prefix: live\n",
     "t.yaml line 4: path_prefix 'live' must start with '/'"},
    {KEYS "policies:\n  - name: 'bad name'\n", "t.yaml line 3: policy name 'bad name' must be"},
    {KEYS "policies:\n  - host: x.com\n", "t.yaml line 3: a policy needs a 'name'"},
    {KEYS "policies:\n  - name: a\n    verify:\n      cat: {unknown: maybe}\n",
     "t.yaml line 5: unknown claims handling 'maybe' (expected one of default, strict, lenient)"},
    {KEYS "policies: [{name: a}]\ntoken_api: {scheme: cat}\n",
     "t.yaml line 3: token_api needs viewer_key"},
    {KEYS "policies: [{name: a}]\ndecision_log: {sample: 2}\n",
     "t.yaml line 3: decision_log.sample must be a fraction from 0 to 1"},
    {KEYS "policies: [{name: a}]\nlimits: {max_body: lots}\n",
     "t.yaml line 3: limits.max_body must be a size like 65536, 64K, 100M or 1G, got 'lots'"},
    {KEYS "policies: [{name: a}]\nthreads: 1\nthreads: 2\n",
     "t.yaml line 4: key 'threads' appears twice in the configuration"},
    {KEYS "policies: [{name: a}]\nadmin_token: short\n",
     "t.yaml line 3: admin_token must be at least 16 characters"},
    {KEYS, "t.yaml line 1: no policies: add a 'policies' list"},
    {KEYS "policies: []\n", "t.yaml line 2: policies is empty"},
    {KEYS "policies:\n  - name: a\n   bad: [\n", "t.yaml line 4: "},
    {KEYS "policies: [{name: a}]\ngeo: true\n",
     "t.yaml line 3: geo: true is the default; give a mapping of files, or false for none"},
    {KEYS "policies: [{name: a}]\ngeo: {city: x.mmdb}\n",
     "t.yaml line 3: unknown key 'city' in geo (expected one of city_mmdb, asn_mmdb, asn_csv)"},
    {KEYS "policies: [{name: a}]\ngeo: {asn_csv: [a, b, c, d, e, f, g, h, i]}\n",
     "t.yaml line 3: geo.asn_csv has more than 8 entries"},
    {KEYS "policies:\n  - name: a\n    mode: \"auto\\nmate\"\n",
     "t.yaml line 4: unknown mode 'auto mate'"},
    {"", "t.yaml: the file is empty"},
    {"- just\n- a list\n", "t.yaml line 1: the configuration must be a mapping of keys, got a list"},
};

static void test_errors(void **state) {
  (void)state;
  unsetenv("WARDEN_TEST_UNSET_VAR");
  for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
    conf_t *c = NULL;
    char err[512] = "";
    int rc = conf_load_string(bad_cases[i].text, strlen(bad_cases[i].text), "t.yaml", &c, err,
                              sizeof err);
    if (rc != -1 || c)
      fail_msg("case %zu: loaded but should fail with '%s'", i, bad_cases[i].want);
    if (!strstr(err, bad_cases[i].want))
      fail_msg("case %zu: got '%s', want '%s'", i, err, bad_cases[i].want);
  }
}

static void test_geo(void **state) {
  (void)state;
  conf_t *c = load_ok(KEYS "policies: [{name: a}]\n");
  assert_int_equal(c->geo.mode, CONF_GEO_AUTO);
  conf_free(c);
  c = load_ok(KEYS "policies: [{name: a}]\ngeo: false\n");
  assert_int_equal(c->geo.mode, CONF_GEO_OFF);
  conf_free(c);
  c = load_ok(KEYS "policies: [{name: a}]\ngeo:\n  city_mmdb: [a.mmdb, b.mmdb]\n"
                   "  asn_csv: c.csv\n");
  assert_int_equal(c->geo.mode, CONF_GEO_FILES);
  assert_int_equal(c->geo.ncity_mmdb, 2);
  assert_string_equal(c->geo.city_mmdb[1], "b.mmdb");
  assert_int_equal(c->geo.nasn_mmdb, 0);
  assert_int_equal(c->geo.nasn_csv, 1);
  assert_string_equal(c->geo.asn_csv[0], "c.csv");
  conf_free(c);
}

static void test_syntax_error_line(void **state) {
  (void)state;
  const char *text = KEYS "policies:\n  - name: a\n    schemes: [cat\n";
  conf_t *c = NULL;
  char err[512];
  assert_int_equal(conf_load_string(text, strlen(text), "w.yaml", &c, err, sizeof err), -1);
  assert_non_null(strstr(err, "w.yaml line"));
  assert_non_null(strstr(err, "check the indentation and quoting"));
}

static void test_validate(void **state) {
  (void)state;
  char err[512];
  /* https listener without a certificate */
  conf_t *c = load_ok(KEYS "policies: [{name: a}]\nlisten: ['https://0.0.0.0:8443']\n");
  assert_int_equal(conf_validate(c, err, sizeof err), -1);
  assert_non_null(strstr(err, "t.yaml line 3: https listener 0.0.0.0:8443 needs tls.cert and tls.key"));
  conf_free(c);
  /* a policy scheme without a key */
  c = load_ok(KEYS "policies:\n  - name: a\n    schemes: [cat, cloudfront]\n");
  assert_int_equal(conf_validate(c, err, sizeof err), -1);
  assert_non_null(strstr(err, "t.yaml line 3: policy 'a' uses scheme cloudfront but no key"));
  conf_free(c);
  /* token API for a scheme without a key */
  c = load_ok(KEYS "policies: [{name: a}]\n"
                   "token_api:\n  scheme: akamai\n  viewer_key: {kind: secret, value: v}\n");
  assert_int_equal(conf_validate(c, err, sizeof err), -1);
  assert_non_null(strstr(err, "t.yaml line 4: token_api issues akamai tokens but no akamai key"));
  conf_free(c);
}

static void test_key_args(void **state) {
  (void)state;
  conf_t *c = NULL;
  char err[512];
  assert_int_equal(conf_default(&c), 0);
  assert_int_equal(conf_add_key_arg(c, "cat:hex:403697de87af64611c1d32a05dab0fe1", err, sizeof err), 0);
  assert_int_equal(c->keys[0].scheme, WD_SCHEME_CAT);
  assert_int_equal(c->keys[0].kind, CONF_KEY_HEX);
  assert_int_equal(conf_add_key_arg(c, "securelink:secret:s3:cr:et", err, sizeof err), 0);
  assert_string_equal(c->keys[1].value, "s3:cr:et"); /* only the first two colons split */
  assert_int_equal(conf_add_key_arg(c, "catt:hex:00", err, sizeof err), -1);
  assert_non_null(strstr(err, "unknown scheme 'catt'"));
  assert_int_equal(conf_add_key_arg(c, "cat:base64:AA", err, sizeof err), -1);
  assert_non_null(strstr(err, "unknown kind 'base64'"));
  assert_int_equal(conf_add_key_arg(c, "cat:hex:xyz", err, sizeof err), -1);
  assert_non_null(strstr(err, "hex"));
  assert_int_equal(conf_add_key_arg(c, "cat", err, sizeof err), -1);
  assert_int_equal(conf_add_key_arg(c, "cloudfront:pem:/nonexistent.pem", err, sizeof err), -1);
  assert_non_null(strstr(err, "cannot read '/nonexistent.pem'"));
  assert_int_equal(c->nkeys, 2);

  assert_int_equal(conf_add_listen_arg(c, "0.0.0.0:9000", 1, err, sizeof err), 0);
  assert_int_equal(conf_add_listen_arg(c, "https://[::]:9443", 0, err, sizeof err), 0);
  assert_int_equal(c->nlisten, 2);
  assert_string_equal(c->listen[0].host, "0.0.0.0");
  assert_string_equal(c->listen[1].host, "::");
  assert_true(c->listen[1].tls);
  assert_int_equal(conf_add_listen_arg(c, "nohost", 0, err, sizeof err), -1);
  assert_non_null(strstr(err, "--listen"));
  conf_free(c);
}

static void test_addresses(void **state) {
  (void)state;
  char h[64], p[8];
  int tls;
  assert_int_equal(conf_parse_address("127.0.0.1:80", h, sizeof h, p, sizeof p, &tls), 0);
  assert_string_equal(h, "127.0.0.1");
  assert_string_equal(p, "80");
  assert_int_equal(conf_parse_address("http://localhost:0/", h, sizeof h, p, sizeof p, &tls), 0);
  assert_string_equal(h, "localhost");
  assert_string_equal(p, "0");
  assert_int_equal(conf_parse_address("[2001:db8::1]:443", h, sizeof h, p, sizeof p, &tls), 0);
  assert_string_equal(h, "2001:db8::1");
  assert_int_equal(conf_parse_address("2001:db8::1:443", h, sizeof h, p, sizeof p, &tls), -1);
  assert_int_equal(conf_parse_address(":80", h, sizeof h, p, sizeof p, &tls), -1);
  assert_int_equal(conf_parse_address("host:", h, sizeof h, p, sizeof p, &tls), -1);
  assert_int_equal(conf_parse_address("host:8o", h, sizeof h, p, sizeof p, &tls), -1);
  assert_int_equal(conf_parse_address("ho st:80", h, sizeof h, p, sizeof p, &tls), -1);
}

static void test_key_files(void **state) {
  (void)state;
  char dir[] = "/tmp/warden-conf-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char secret[256], pem[256], text[1024];
  snprintf(secret, sizeof secret, "%s/secret.txt", dir);
  snprintf(pem, sizeof pem, "%s/bad.pem", dir);
  FILE *f = fopen(secret, "w");
  fputs("s3cret-from-file\n", f);
  fclose(f);
  f = fopen(pem, "w");
  fputs("-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n", f);
  fclose(f);
  setenv("WARDEN_TEST_SECRET", "from-env", 1);
  snprintf(text, sizeof text,
           "policies: [{name: a}]\n"
           "keys:\n"
           "  - {scheme: securelink, kind: secret, file: %s}\n"
           "  - {scheme: jwt, kind: secret, env: WARDEN_TEST_SECRET}\n"
           "  - {scheme: cloudfront, kind: pem, file: %s, kid: K2JCJMDEHXQW5F}\n",
           secret, pem);
  conf_t *c = load_ok(text);
  assert_string_equal(c->keys[0].value, "s3cret-from-file"); /* newline dropped */
  assert_string_equal(c->keys[1].value, "from-env");
  char err[512];
  wd_keyring_t *ring = NULL;
  /* the PEM does not parse: the error names the line and the file, never the key */
  assert_int_equal(conf_build_keyring(c, c->keys, c->nkeys, &ring, err, sizeof err), -1);
  assert_null(ring);
  assert_non_null(strstr(err, "t.yaml line 5: key for cloudfront (file "));
  assert_non_null(strstr(err, "is not usable"));
  /* the first two keys build */
  assert_int_equal(conf_build_keyring(c, c->keys, 2, &ring, err, sizeof err), 0);
  assert_int_equal(wd_keyring_count(ring), 2);
  wd_keyring_destroy(ring);
  conf_free(c);
  unsetenv("WARDEN_TEST_SECRET");
  unlink(secret);
  unlink(pem);
  rmdir(dir);
}

static void test_file_errors(void **state) {
  (void)state;
  conf_t *c = NULL;
  char err[512];
  assert_int_equal(conf_load_file("/nonexistent/warden.yaml", &c, err, sizeof err), -2);
  assert_non_null(strstr(err, "/nonexistent/warden.yaml: cannot read the configuration"));
  char path[] = "/tmp/warden-conf-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = KEYS "policies:\n  - name: a\n    schemes: [catt]\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  assert_int_equal(conf_load_file(path, &c, err, sizeof err), -1);
  char want[600];
  snprintf(want, sizeof want, "%s line 4: unknown scheme 'catt'", path);
  assert_non_null(strstr(err, want));
  unlink(path);
}

/* content_keys: hex value, hex and raw files, env; every error names the line and never the key. */
static void test_content_keys(void **state) {
  (void)state;
  char dir[] = "/tmp/warden-conf-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char raw[256], hex[256], text[2048];
  snprintf(raw, sizeof raw, "%s/raw.key", dir);
  snprintf(hex, sizeof hex, "%s/hex.key", dir);
  FILE *f = fopen(raw, "wb");
  for (int i = 0; i < 16; i++)
    fputc(0xf0 + i, f);
  fclose(f);
  f = fopen(hex, "w");
  fputs("  000102030405060708090A0B0C0D0E0F\n", f);
  fclose(f);
  setenv("WARDEN_TEST_CKEY", "ffeeddccbbaa99887766554433221100", 1);
  snprintf(text, sizeof text,
           KEYS "policies: [{name: a}]\n"
           "content_keys:\n"
           "  - {id: ch1, path: /live/ch1/, value: 00112233445566778899aabbccddeeff}\n"
           "  - {id: ch2.hd, path: /live/ch2/, host: cdn.example.com, file: %s}\n"
           "  - {id: ch3, path: /live/ch3/, file: %s}\n"
           "  - {id: ch4, path: /live/ch4/, env: WARDEN_TEST_CKEY}\n",
           raw, hex);
  conf_t *c = load_ok(text);
  assert_int_equal(c->ncontent_keys, 4);
  assert_string_equal(c->content_keys[0].id, "ch1");
  assert_string_equal(c->content_keys[0].path, "/live/ch1/");
  assert_null(c->content_keys[0].host);
  assert_int_equal(c->content_keys[0].key[0], 0x00);
  assert_int_equal(c->content_keys[0].key[15], 0xff);
  assert_string_equal(c->content_keys[1].host, "cdn.example.com");
  assert_int_equal(c->content_keys[1].key[0], 0xf0);
  assert_int_equal(c->content_keys[1].key[15], 0xff);
  assert_int_equal(c->content_keys[2].key[10], 0x0a);
  assert_int_equal(c->content_keys[3].key[0], 0xff);
  assert_string_equal(c->content_keys[3].source, "env WARDEN_TEST_CKEY");
  conf_free(c);

  static const struct {
    const char *ck, *want;
  } bad[] = {
      {"  - {id: a, path: /x/, value: 0011}\n", "line 4: content key value: an AES-128 key is 32 hex digits"},
      {"  - {id: a, path: /x/, value: zz112233445566778899aabbccddeeff}\n", "32 hex digits"},
      {"  - {id: a, path: x/, value: 00112233445566778899aabbccddeeff}\n", "must start with '/'"},
      {"  - {id: a, path: '/x/?a=1', value: 00112233445566778899aabbccddeeff}\n", "without query"},
      {"  - {id: 'a b', path: /x/, value: 00112233445566778899aabbccddeeff}\n", "content key id 'a b'"},
      {"  - {path: /x/, value: 00112233445566778899aabbccddeeff}\n", "needs 'id'"},
      {"  - {id: a, value: 00112233445566778899aabbccddeeff}\n", "needs 'path'"},
      {"  - {id: a, path: /x/}\n", "needs exactly one of 'value', 'env' or 'file'"},
      {"  - {id: a, path: /x/, value: 00112233445566778899aabbccddeeff, env: X}\n", "exactly one"},
      {"  - {id: a, path: /x/, file: /nonexistent/k}\n", "cannot read content key file"},
      {"  - {id: a, path: /x/, env: WARDEN_TEST_UNSET_VAR}\n", "is not set"},
      {"  - {id: a, path: /x/, kid: b, value: 00112233445566778899aabbccddeeff}\n", "unknown key 'kid'"},
      {"  - {id: a, path: /x/, value: 00112233445566778899aabbccddeeff}\n"
       "  - {id: a, path: /y/, value: 00112233445566778899aabbccddeeff}\n", "line 5: content key id 'a' appears twice (line 4)"},
  };
  unsetenv("WARDEN_TEST_UNSET_VAR");
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    snprintf(text, sizeof text, KEYS "policies: [{name: a}]\ncontent_keys:\n%s", bad[i].ck);
    c = NULL;
    char err[512] = "";
    assert_int_equal(conf_load_string(text, strlen(text), "t.yaml", &c, err, sizeof err), -1);
    if (!strstr(err, bad[i].want))
      fail_msg("case %zu: got '%s', want '%s'", i, err, bad[i].want);
    if (strstr(err, "00112233445566778899aabbccddeeff") || strstr(err, "0011"))
      fail_msg("case %zu: the error shows the key: %s", i, err);
  }
  /* a raw file of another size is neither 16 bytes nor hex */
  f = fopen(raw, "wb");
  fputs("0123456789abcdef0", f);
  fclose(f);
  snprintf(text, sizeof text, KEYS "policies: [{name: a}]\ncontent_keys: [{id: a, path: /x/, file: %s}]\n", raw);
  char err[512] = "";
  c = NULL;
  assert_int_equal(conf_load_string(text, strlen(text), "t.yaml", &c, err, sizeof err), -1);
  assert_non_null(strstr(err, "32 hex digits or 16 raw bytes"));
  unsetenv("WARDEN_TEST_CKEY");
  unlink(raw);
  unlink(hex);
  rmdir(dir);
}

/* console: users with roles and hashes, sessions; alerts: thresholds and webhooks. */
#define HASH "$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$GM/8plVTNY2Jr5+H+TMEUW0SMD0/pCcA0XgAgW7i7jw"
static void test_console_alerts(void **state) {
  (void)state;
  conf_t *c = load_ok(KEYS "policies:\n  - {name: a}\n");
  assert_int_equal(c->console.enabled, 1);
  assert_int_equal(c->console.secure_cookie, -1);
  assert_int_equal(c->console.session_idle, 1800);
  assert_int_equal(c->console.nusers, 0);
  assert_int_equal(c->alerts.window, 60);
  assert_true(c->alerts.shared_share == 0.05);
  assert_int_equal(c->alerts.nwebhooks, 0);
  conf_free(c);

  c = load_ok(KEYS "policies:\n  - {name: a}\n"
                   "console:\n  secure_cookie: true\n  session_idle: 300\n  session_ttl: 3600\n"
                   "  users:\n    - {name: ann@example.com, role: moderator, password_hash: \"" HASH "\"}\n"
                   "    - {name: bo, role: admin, password_hash: \"" HASH "\"}\n"
                   "alerts:\n  window: 30\n  shared_share: 0.1\n  ban_storm: 0\n"
                   "  webhooks:\n    - https://hooks.example.com/a\n"
                   "    - {url: \"http://127.0.0.1:9000/b\", secret: 0123456789abcdef, format: slack}\n");
  assert_int_equal(c->console.secure_cookie, 1);
  assert_int_equal(c->console.session_idle, 300);
  assert_int_equal(c->console.session_ttl, 3600);
  assert_int_equal(c->console.nusers, 2);
  assert_string_equal(c->console.users[0].name, "ann@example.com");
  assert_int_equal(c->console.users[0].role, WD_ROLE_MODERATOR);
  assert_int_equal(c->console.users[1].role, WD_ROLE_ADMIN);
  assert_string_equal(c->console.users[1].password_hash, HASH);
  assert_int_equal(c->alerts.window, 30);
  assert_true(c->alerts.shared_share == 0.1);
  assert_int_equal(c->alerts.ban_storm, 0);
  assert_int_equal(c->alerts.nwebhooks, 2);
  assert_string_equal(c->alerts.webhooks[0].url, "https://hooks.example.com/a");
  assert_null(c->alerts.webhooks[0].secret);
  assert_int_equal(c->alerts.webhooks[1].slack, 1);
  assert_string_equal(c->alerts.webhooks[1].secret, "0123456789abcdef");
  conf_free(c);

  c = load_ok(KEYS "policies:\n  - {name: a}\nconsole: false\n");
  assert_int_equal(c->console.enabled, 0);
  conf_free(c);

  static const struct {
    const char *text, *want;
  } bad[] = {
      {"console:\n  users:\n    - {name: a, role: root, password_hash: \"" HASH "\"}\n",
       "line 6: unknown role 'root'"},
      {"console:\n  users:\n    - {name: a, role: admin, password_hash: hunter2}\n",
       "password_hash is not a usable hash"},
      {"console:\n  users:\n    - {name: a, role: admin}\n", "needs a 'password_hash'"},
      {"console:\n  users:\n    - {role: admin, password_hash: \"" HASH "\"}\n", "needs a 'name'"},
      {"console:\n  users:\n    - {name: \"a b\", role: admin, password_hash: \"" HASH "\"}\n",
       "user name 'a b'"},
      {"console:\n  users:\n    - {name: a, role: admin, password_hash: \"" HASH "\"}\n"
       "    - {name: a, role: viewer, password_hash: \"" HASH "\"}\n",
       "user 'a' is listed twice"},
      {"console:\n  session_idle: 5\n", "console.session_idle must be between 60"},
      {"console:\n  secure_cookie: maybe\n", "secure_cookie"},
      {"console: {users: x}\n", "console.users must be a list"},
      {"alerts:\n  webhooks: [ftp://x/y]\n", "must start with http:// or https://"},
      {"alerts:\n  webhooks: [{url: \"http://x/y\", secret: short}]\n", "at least 16 characters"},
      {"alerts:\n  webhooks: [{secret: 0123456789abcdef}]\n", "a webhook needs a 'url'"},
      {"alerts:\n  webhooks: [{url: \"http://x/a b\"}]\n", "contains a space"},
      {"alerts:\n  shared_share: 2\n", "alerts.shared_share must be a number from 0 to 1"},
      {"alerts:\n  window: 1\n", "alerts.window must be between 5 and 3600"},
      {"alerts:\n  retries: 0\n", "alerts.retries must be between 1 and 20"},
      {"alerts:\n  thresholds: 1\n", "unknown key 'thresholds' in alerts"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[1024];
    snprintf(text, sizeof text, KEYS "policies:\n  - {name: a}\n%s", bad[i].text);
    conf_t *x = NULL;
    char err[512] = "";
    if (conf_load_string(text, strlen(text), "t.yaml", &x, err, sizeof err) != -1 || x)
      fail_msg("case %zu: loaded but should fail with '%s'", i, bad[i].want);
    if (!strstr(err, bad[i].want))
      fail_msg("case %zu: got '%s', want '%s'", i, err, bad[i].want);
  }
}

/* cluster: broker URLs, node id, streams, bounds; --nats replaces the configured URLs. */
static void test_cluster(void **state) {
  (void)state;
  conf_t *c = load_ok(KEYS "policies:\n  - {name: a}\n");
  assert_int_equal(c->cluster.nnats, 0); /* one node */
  assert_string_equal(c->cluster.bans_stream, "WARDEN_BANS");
  assert_string_equal(c->cluster.subject_prefix, "warden");
  assert_int_equal(c->cluster.replicas, 1);
  assert_int_equal(c->cluster.queue, 100000);
  assert_int_equal(c->cluster.replay_fail_closed, 0);
  conf_free(c);
  c = load_ok(KEYS "policies:\n  - {name: a}\n"
                   "cluster:\n  nats: [nats://10.0.0.1:4222, \"tls://u:p@10.0.0.2:4222\"]\n"
                   "  node_id: eu-west_1\n  streams: {bans: B1, replay: R1}\n  replicas: 3\n"
                   "  queue: 50\n  replay_when_down: closed\n  usage_max_age: 120\n");
  assert_int_equal(c->cluster.nnats, 2);
  assert_string_equal(c->cluster.nats[1], "tls://u:p@10.0.0.2:4222");
  assert_string_equal(c->cluster.node_id, "eu-west_1");
  assert_string_equal(c->cluster.bans_stream, "B1");
  assert_string_equal(c->cluster.usage_stream, "WARDEN_USAGE");
  assert_string_equal(c->cluster.replay_stream, "R1");
  assert_int_equal(c->cluster.replicas, 3);
  assert_int_equal(c->cluster.queue, 50);
  assert_int_equal(c->cluster.replay_fail_closed, 1);
  assert_int_equal(c->cluster.usage_max_age, 120);
  char err[256];
  assert_int_equal(conf_add_nats_arg(c, "nats://127.0.0.1:4222", 1, err, sizeof err), 0);
  assert_int_equal(c->cluster.nnats, 1);
  assert_int_equal(conf_add_nats_arg(c, "http://x:1", 0, err, sizeof err), -1);
  assert_non_null(strstr(err, "not a NATS URL"));
  conf_free(c);
  static const struct {
    const char *text, *want;
  } bad[] = {
      {"cluster:\n  nats: [\"nats://a b:4222\"]\n", "is not a NATS URL"},
      {"cluster:\n  node_id: \"a.b\"\n", "cluster.node_id 'a.b'"},
      {"cluster:\n  streams: {bans: \"X.Y\"}\n", "stream name 'X.Y'"},
      {"cluster:\n  streams: {other: X}\n", "unknown key 'other' in cluster.streams"},
      {"cluster:\n  replicas: 7\n", "cluster.replicas must be between 1 and 5"},
      {"cluster:\n  replay_when_down: maybe\n", "must be open or closed"},
      {"cluster:\n  usage_max_age: 1\n", "cluster.usage_max_age must be between 60"},
      {"cluster:\n  brokers: []\n", "unknown key 'brokers' in cluster"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[1024];
    snprintf(text, sizeof text, KEYS "policies:\n  - {name: a}\n%s", bad[i].text);
    conf_t *x = NULL;
    char e[512] = "";
    if (conf_load_string(text, strlen(text), "t.yaml", &x, e, sizeof e) != -1 || x)
      fail_msg("case %zu: loaded but should fail with '%s'", i, bad[i].want);
    if (!strstr(e, bad[i].want))
      fail_msg("case %zu: got '%s', want '%s'", i, e, bad[i].want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good),          cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_embedded_default), cmocka_unit_test(test_errors),
      cmocka_unit_test(test_syntax_error_line), cmocka_unit_test(test_validate),
      cmocka_unit_test(test_key_args),      cmocka_unit_test(test_addresses),
      cmocka_unit_test(test_key_files),     cmocka_unit_test(test_file_errors),
      cmocka_unit_test(test_geo),
      cmocka_unit_test(test_content_keys),
      cmocka_unit_test(test_console_alerts),
      cmocka_unit_test(test_cluster),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
