/*
 * lib/logs: log line parsers and the token lookup.
 *
 * Fixtures (tests/data/logs/):
 *   nginx-access.log         nginx combined lines: five time zones, IPv4 and IPv6 clients, every
 *                            scheme's token in the query (tokens issued by `warden token issue`),
 *                            escape=default (\xHH) and escape=json (\" \\ \uXXXX) quoting, the
 *                            stock `main` format's forwarded-for, extension fields after it, a
 *                            TLS handshake and an empty request, the common log format, an
 *                            absolute-form target
 *   cloudfront-access.log    two files as `zcat` joins them: the 33-field standard log
 *                            (signed URL, signed cookies, CAT, an error line), then a second
 *                            #Version/#Fields header with standard logging v2 / real-time names
 *                            (timestamp with milliseconds, c-country, asn)
 *   warden-decisions.log     lines written by `warden serve` itself: decide and auth routes,
 *                            allow, callout (banned), block (expired, no token), monitor mode,
 *                            secure links, an IPv6 client, an edge with quotes and a backslash
 * Every field of every fixture line is checked; malformed lines of each format are checked for
 * their error code and the column and field the message names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "warden/logs.h"

#define FIXTURES WARDEN_TEST_DATA "/logs"

/* Tokens in the fixtures (issued with `warden token issue`). */
#define CAT                                                                                        \
  "2D3RhEOhAQWhBExTeW1tZXRyaWMyNTZYIaUBZ2V5ZXZpbm4CZWFsaWNlBBprA1DMB0TA_-4BGQE2AVgg6RQ1wXdjnNbyNA" \
  "7AIBmwqrQXfPFrhCfbzYdjyQ9GGp4"
#define JWT                                                                                        \
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                                                          \
  "eyJzdWIiOiJib2IiLCJqdGkiOiJqLTQyIiwiZXhwIjoxNzkxNjQwMDAwfQ"                                     \
  ".GUj2CneY6z7dWkiqDztivoIugTIrTkZEqNM-IE9asYM"
#define AKAMAI                                                                                     \
  "st=1791630000~exp=1791640000~acl=/live/ch2/*~id=viewer-9~hmac="                                 \
  "edaf8c781447e59e599dfa225d726d1f8c1ca7e5114f54565a2d5e852f5b2631"
#define AKAMAI_ENC                                                                                 \
  "st%3D1791630000%7Eexp%3D1791640000%7Eacl%3D%2Flive%2Fch2%2F%2A%7Eid%3Dviewer-9%7Ehmac%3D"       \
  "edaf8c781447e59e599dfa225d726d1f8c1ca7e5114f54565a2d5e852f5b2631"
#define MD5 "xDN6_3-ToKrlk2xshQ_1RQ"
#define CF_SIG                                                                                     \
  "DnGELabDj4hKKelOpW5C5oAQUZQbvUojuJwDtXc~Jmtc2VWUp1Wx1wh3mHbnP25mjLCFV~VI90R5WgEUCBJ3NRQcMMIlA9" \
  "oyMWQ-NjNG-XV3oJRrylJnntppn2AJ4i1z0eltlAgAXvla5z4Uc2KppCU3Sc5rf3tu1W9tca2vp-prdmcrQRCOGS~Zu-6h" \
  "MmmlgiUuc-pqFwPqL1GBVc-sm99nb9m1s6p8cjQBEFe0XbHGwa3oMBLEGn~QuiN1jt6gNy4JM-vUd43IrEjcB6lvNB21m8" \
  "AV1KKmREaJ7v1SIHzmQQY3U3nKfSx-8GgUHbC8d9MzosX8UkygyjB7yIsfcA__"
#define CF_QUERY "Expires=1791640000&Key-Pair-Id=K2JCJMDEHXQW5F&Signature=" CF_SIG
#define CF_COOKIE_SIG                                                                              \
  "DtCq2KMitVoLloo5nMkf15YMkVJLtSL7t9yw5G7Gf2-3QfGgee1ykkTLW0s~zuD5Hy7TUNdCXI37ed20OypzPIqtce-1g1" \
  "jQFBY-pF5qUbNzTrMfCJNROukBTY57yT~xC-KFcH0EGvkR7miAKPcqYmIGFxqocizpEQL4BOUfiV0s5dzNekEXDEf5L-s"  \
  "v~SAQj9a-lQk58DALjFxqXQovMfBHIbqgd4A~OFJNRkyvbXBtkbhEA5AX1ce2eerxtoiWt5EUWWr8Wt2CfM-q4o8V6uWNo" \
  "W5ekp6beOWLzYC6~MPSkdZSS-GRfpfDrnewPk8YiQIJOI9d6KHeECFojfSe5w__"
#define BUNNY "HS256-l7uvQiud97HplloRJOUNGSrWgqRv3f5bKQeUbOkM_wo"
#define CHROME                                                                                     \
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "              \
  "Chrome/126.0.0.0 Safari/537.36"
#define IOS "AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X; en_us)"

/* 2026-10-10T13:55:36Z (date -u -d '2026-10-10 13:55:36' +%s) */
#define T0 1791640536000LL
/* expect_t.t of a line that is a header, not a request */
#define HEADER (-1)

/* ---------------------------------------------------------------- helpers */

typedef struct lines {
  char *text;
  char **line;
  size_t n;
} lines_t;

/* The file's lines (without their '\n'). */
static lines_t read_lines(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", FIXTURES, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  lines_t l = {0};
  l.text = calloc(1, 1 << 20);
  assert_non_null(l.text);
  size_t len = fread(l.text, 1, (1 << 20) - 1, f);
  fclose(f);
  l.line = calloc(len + 1, sizeof *l.line);
  assert_non_null(l.line);
  for (char *p = l.text; p < l.text + len;) {
    char *nl = strchr(p, '\n');
    l.line[l.n++] = p;
    if (!nl)
      break;
    *nl = '\0';
    p = nl + 1;
  }
  return l;
}

static void free_lines(lines_t *l) {
  free(l->text);
  free(l->line);
}

static int parse(wd_log_parser_t *p, const char *line, wd_log_record_t *r) {
  return wd_log_parse(p, line, strlen(line), r);
}

/* What a record should hold; NULL strings mean "". tok: the token lookup's answer (NULL: none). */
typedef struct expect {
  int64_t t;
  const char *ip, *method, *host, *path, *query, *protocol;
  int status;
  uint64_t bytes;
  const char *referer, *ua, *xff, *cookie, *edge, *country;
  uint32_t asn;
  const char *scheme, *token_id, *subject, *action, *enforced, *mode, *reasons, *policy, *verdict;
  const char *tok;
  wd_scheme_t tok_scheme;
} expect_t;

#define EQ(field, want) assert_string_equal(r->field, (want) ? (want) : "")

static void check(const wd_log_record_t *r, const expect_t *e) {
  assert_int_equal(r->time_ms, e->t);
  EQ(client_ip, e->ip);
  EQ(method, e->method);
  EQ(host, e->host);
  EQ(path, e->path);
  EQ(query, e->query);
  EQ(protocol, e->protocol);
  assert_int_equal(r->status, e->status);
  assert_int_equal(r->bytes, e->bytes);
  EQ(referer, e->referer);
  EQ(user_agent, e->ua);
  EQ(forwarded_for, e->xff);
  EQ(cookie, e->cookie);
  EQ(edge, e->edge);
  EQ(country, e->country);
  assert_int_equal(r->asn, e->asn);
  EQ(scheme, e->scheme);
  EQ(token_id, e->token_id);
  EQ(subject, e->subject);
  EQ(action, e->action);
  EQ(enforced, e->enforced);
  EQ(mode, e->mode);
  EQ(reasons, e->reasons);
  EQ(policy, e->policy);
  EQ(verdict, e->verdict);
  char tok[4096];
  wd_scheme_t s = WD_SCHEME_COUNT;
  int rc = wd_log_find_token(r, NULL, tok, sizeof tok, &s);
  if (!e->tok) {
    assert_int_equal(rc, WD_ENOTOKEN);
    assert_int_equal(s, WD_SCHEME_COUNT); /* untouched */
  } else {
    assert_int_equal(rc, 0);
    assert_string_equal(tok, e->tok);
    assert_int_equal(s, e->tok_scheme);
  }
}

/* Parse `line` expecting an error: the code, and the message contains `want` (column, field). */
static void bad(wd_log_parser_t *p, const char *line, int code, const char *want) {
  wd_log_record_t r;
  int rc = parse(p, line, &r);
  if (rc != code || !strstr(wd_log_parser_error(p), want))
    fail_msg("line %s\n  got %d \"%s\", want %d with \"%s\"", line, rc, wd_log_parser_error(p),
             code, want);
  assert_string_equal(r.path, ""); /* the record is cleared */
}

/* Unix milliseconds of a UTC date, independently of the library (timegm). */
static int64_t utc_ms(int y, int mon, int d, int h, int mi, int s) {
  struct tm tm = {.tm_year = y - 1900,
                  .tm_mon = mon - 1,
                  .tm_mday = d,
                  .tm_hour = h,
                  .tm_min = mi,
                  .tm_sec = s};
  return (int64_t)timegm(&tm) * 1000;
}

/* ---------------------------------------------------------------- nginx */

static void test_nginx_fixture(void **state) {
  (void)state;
  static const expect_t want[] = {
      {.t = T0,
       .ip = "198.51.100.7",
       .method = "GET",
       .path = "/live/ch1/seg_00042.ts",
       .query = "cat=" CAT,
       .protocol = "HTTP/1.1",
       .status = 200,
       .bytes = 1880412,
       .referer = "https://player.example.com/watch/ch1",
       .ua = CHROME,
       .tok = CAT,
       .tok_scheme = WD_SCHEME_CAT},
      {.t = T0 + 1000,
       .ip = "2001:db8:85a3::8a2e:370:7334",
       .method = "GET",
       .path = "/live/ch2/index.m3u8",
       .query = "token=" JWT "&lang=en",
       .protocol = "HTTP/2.0",
       .status = 206,
       .bytes = 612,
       .ua = IOS,
       .xff = "198.51.100.23, 10.0.0.2",
       .tok = JWT,
       .tok_scheme = WD_SCHEME_JWT},
      {.t = T0 + 2000,
       .ip = "203.0.113.50",
       .method = "GET",
       .path = "/live/ch2/seg_00001.ts",
       .query = "__token__=" AKAMAI_ENC,
       .protocol = "HTTP/1.1",
       .status = 200,
       .bytes = 940221,
       .ua = "VLC/3.0.20 LibVLC/3.0.20",
       .tok = AKAMAI,
       .tok_scheme = WD_SCHEME_AKAMAI},
      {.t = T0 + 3000,
       .ip = "192.0.2.80",
       .method = "GET",
       .path = "/live/ch3/index.m3u8",
       .query = "md5=" MD5 "&expires=1795379404",
       .protocol = "HTTP/1.1",
       .status = 200,
       .bytes = 431,
       .referer = "https://www.example.com/",
       .ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
       .tok = MD5,
       .tok_scheme = WD_SCHEME_SECURELINK},
      {.t = T0 + 4000,
       .ip = "192.0.2.81",
       .method = "GET",
       .path = "/live/ch4/index.m3u8",
       .query = CF_QUERY,
       .protocol = "HTTP/1.1",
       .status = 200,
       .bytes = 431,
       .ua = "ExoPlayerLib/2.19.1",
       .tok = CF_SIG,
       .tok_scheme = WD_SCHEME_CLOUDFRONT},
      {.t = T0 + 5000,
       .ip = "192.0.2.82",
       .method = "GET",
       .path = "/live/ch5/playlist.m3u8",
       .query = "token=" BUNNY "&expires=1791640000",
       .protocol = "HTTP/1.1",
       .status = 200,
       .bytes = 389,
       .ua = "Lavf/60.16.100",
       .tok = BUNNY,
       .tok_scheme = WD_SCHEME_BUNNY},
      {.t = T0 + 6000,
       .ip = "198.51.100.8",
       .method = "GET",
       .path = "/live/ch1/index.m3u8",
       .protocol = "HTTP/1.1",
       .status = 403,
       .bytes = 153,
       .referer = "https://forum.example.net/t/\"free\"-streams",
       .ua = "Mozilla/5.0 \"Caf\xC3\xA9"
             "Bot\" \\ o/"},
      {.t = T0 + 7000, .ip = "45.148.10.12", .status = 400, .bytes = 157},
      {.t = T0 + 8000, .ip = "45.148.10.13", .status = 408, .bytes = 0},
      {.t = T0 + 9000,
       .ip = "198.51.100.9",
       .method = "HEAD",
       .host = "cdn.example.com:8080",
       .path = "/live/ch1/index.m3u8",
       .query = "CAT=" CAT,
       .protocol = "HTTP/1.1",
       .status = 304,
       .ua = "curl/8.5.0",
       .tok = CAT,
       .tok_scheme = WD_SCHEME_CAT},
      {.t = T0 + 10000,
       .ip = "198.51.100.10",
       .method = "GET",
       .path = "/live/ch6/a.ts",
       .query = "hdnts=exp%3D1791640000%7Eacl%3D%2Flive%2Fch6%2F%2A%7Ehmac%3D0a1b2c",
       .protocol = "HTTP/1.1",
       .status = 200,
       .bytes = 1024,
       .ua = "Roku \"Ultra\" 4K \\ \ttab",
       .tok = "exp=1791640000~acl=/live/ch6/*~hmac=0a1b2c",
       .tok_scheme = WD_SCHEME_AKAMAI},
  };
  lines_t l = read_lines("nginx-access.log");
  assert_int_equal(l.n, sizeof want / sizeof *want);
  wd_log_parser_t *p;
  assert_int_equal(wd_log_parser_create(WD_LOG_AUTO, &p), 0);
  assert_int_equal(wd_log_parser_format(p), WD_LOG_AUTO);
  for (size_t i = 0; i < l.n; i++) {
    wd_log_record_t r;
    int rc = parse(p, l.line[i], &r);
    if (rc)
      fail_msg("line %zu: %d %s", i + 1, rc, wd_log_parser_error(p));
    assert_string_equal(wd_log_parser_error(p), "");
    check(&r, &want[i]);
  }
  assert_int_equal(wd_log_parser_format(p), WD_LOG_NGINX);
  wd_log_parser_destroy(p);
  free_lines(&l);
}

static void test_nginx_time_zones(void **state) {
  (void)state;
  static const struct {
    const char *time;
    int y, mon, d, h, mi, s;
  } ok[] = {
      {"10/Oct/2026:13:55:36 +0000", 2026, 10, 10, 13, 55, 36},
      {"10/Oct/2026:15:55:36 +0200", 2026, 10, 10, 13, 55, 36},
      {"10/Oct/2026:06:55:36 -0700", 2026, 10, 10, 13, 55, 36},
      {"10/Oct/2026:19:25:36 +0530", 2026, 10, 10, 13, 55, 36},
      {"01/Jan/2027:09:00:00 +1400", 2026, 12, 31, 19, 0, 0},
      {"31/Dec/2026:23:30:00 -1200", 2027, 1, 1, 11, 30, 0},
      {"29/Feb/2024:00:00:00 +0000", 2024, 2, 29, 0, 0, 0},
      {"01/Mar/2000:00:00:00 +0100", 2000, 2, 29, 23, 0, 0},
      {"01/Jan/1970:00:00:00 +0000", 1970, 1, 1, 0, 0, 0},
      {"31/Dec/1969:23:59:59 +0000", 1969, 12, 31, 23, 59, 59},
  };
  static const char *const bad_times[] = {
      "30/Feb/2024:00:00:00 +0000", "29/Feb/2025:00:00:00 +0000", "00/Jan/2026:00:00:00 +0000",
      "10/Foo/2026:13:55:36 +0000", "10/Oct/2026:24:00:00 +0000", "10/Oct/2026:13:60:00 +0000",
      "10/Oct/2026:13:55:36 +0060", "10/Oct/2026:13:55:36 0000 ", "10/oct/2026:13:55:36 +0000",
      "10/Oct/2026 13:55:36 +0000", "1/Oct/2026:13:55:36 +0000]",
  };
  wd_log_parser_t *p;
  assert_int_equal(wd_log_parser_create(WD_LOG_NGINX, &p), 0);
  char line[256];
  wd_log_record_t r;
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    snprintf(line, sizeof line, "192.0.2.1 - - [%s] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
             ok[i].time);
    assert_int_equal(parse(p, line, &r), 0);
    assert_int_equal(r.time_ms, utc_ms(ok[i].y, ok[i].mon, ok[i].d, ok[i].h, ok[i].mi, ok[i].s));
  }
  for (size_t i = 0; i < sizeof bad_times / sizeof *bad_times; i++) {
    snprintf(line, sizeof line, "192.0.2.1 - - [%s] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
             bad_times[i]);
    bad(p, line, WD_EMALFORMED, "column 15 (time)");
  }
  wd_log_parser_destroy(p);
}

static void test_nginx_quoting(void **state) {
  (void)state;
  static const struct {
    const char *quoted, *want;
  } cases[] = {
      {"plain", "plain"},
      {"-", ""},
      {"", ""},
      {"a\\x22b\\x22c", "a\"b\"c"}, /* escape=default */
      {"back\\x5Cslash", "back\\slash"},
      {"\\xC3\\xA9t\\xC3\\xA9", "\xC3\xA9t\xC3\xA9"},
      {"a\\\"b\\\\", "a\"b\\"}, /* escape=json, or Apache */
      {"\\u00e9\\u20ac\\n\\t\\r\\b\\f", "\xC3\xA9\xE2\x82\xAC\n\t\r\b\f"},
      {"nul\\x00kept\\u0000", "nul\\x00kept\\u0000"}, /* never a NUL in a record string */
      {"\\ud800half", "\\ud800half"},
      {"odd\\q\\x4\\xZZ\\u12", "odd\\q\\x4\\xZZ\\u12"},
      {"tail\\", "tail\\"},
  };
  wd_log_parser_t *p;
  assert_int_equal(wd_log_parser_create(WD_LOG_NGINX, &p), 0);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char line[256];
    wd_log_record_t r;
    snprintf(line, sizeof line,
             "192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET /a HTTP/1.1\" 200 1 \"%s\" \"%s\" "
             "\"%s\"",
             cases[i].quoted, cases[i].quoted, cases[i].quoted);
    int rc = parse(p, line, &r);
    if (strcmp(cases[i].quoted, "tail\\") == 0) { /* the backslash escapes the closing quote */
      assert_int_equal(rc, WD_EMALFORMED);
      continue;
    }
    if (rc)
      fail_msg("%s: %s", line, wd_log_parser_error(p));
    assert_string_equal(r.referer, cases[i].want);
    assert_string_equal(r.user_agent, cases[i].want);
    assert_string_equal(r.forwarded_for, cases[i].want);
    assert_string_equal(r.path, "/a");
  }
  wd_log_parser_destroy(p);
}

static void test_nginx_requests(void **state) {
  (void)state;
  static const struct {
    const char *request, *method, *host, *path, *query, *protocol;
  } cases[] = {
      {"GET /live/a.ts?cat=x&b=1 HTTP/1.1", "GET", "", "/live/a.ts", "cat=x&b=1", "HTTP/1.1"},
      {"GET /live/a.ts? HTTP/1.1", "GET", "", "/live/a.ts", "", "HTTP/1.1"},
      {"GET /", "GET", "", "/", "", ""}, /* HTTP/0.9 */
      {"GET /a b?c d HTTP/1.0", "GET", "", "/a b", "c d", "HTTP/1.0"},
      {"GET https://user@cdn.example.com/x.ts?t=1 HTTP/1.1", "GET", "cdn.example.com", "/x.ts",
       "t=1", "HTTP/1.1"},
      {"GET http://[2001:db8::1]:8080?q=1 HTTP/1.1", "GET", "[2001:db8::1]:8080", "", "q=1",
       "HTTP/1.1"},
      {"CONNECT example.com:443 HTTP/1.1", "CONNECT", "", "example.com:443", "", "HTTP/1.1"},
      {"PROPFIND /dav/ HTTP/2.0", "PROPFIND", "", "/dav/", "", "HTTP/2.0"},
      {"-", "", "", "", "", ""},
      {"", "", "", "", "", ""},
      {"GET", "", "", "", "", ""},
      {"G\\x01T / HTTP/1.1", "", "", "", "", ""},
      {"\\x16\\x03\\x01\\x00\\xEE", "", "", "", "", ""},
  };
  wd_log_parser_t *p;
  assert_int_equal(wd_log_parser_create(WD_LOG_NGINX, &p), 0);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char line[512];
    wd_log_record_t r;
    snprintf(line, sizeof line,
             "192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"%s\" 200 1 \"-\" \"ua\"",
             cases[i].request);
    if (parse(p, line, &r))
      fail_msg("%s: %s", line, wd_log_parser_error(p));
    assert_string_equal(r.method, cases[i].method);
    assert_string_equal(r.host, cases[i].host);
    assert_string_equal(r.path, cases[i].path);
    assert_string_equal(r.query, cases[i].query);
    assert_string_equal(r.protocol, cases[i].protocol);
    assert_string_equal(r.user_agent, "ua");
    assert_int_equal(r.status, 200);
  }
  wd_log_parser_destroy(p);
}

static void test_nginx_malformed(void **state) {
  (void)state;
  static const struct {
    const char *line, *want;
  } cases[] = {
      {"192.0.2.1", "column 1 (client address)"},
      {" - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
       "column 1 (client address)"},
      {"192.0.2.1 - - 10/Oct/2026:13:55:36 +0000 \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
       "column 11 (remote user)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000 \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
       "column 15 (time)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] GET / HTTP/1.1 200 1 \"-\" \"-\"",
       "column 44 (request)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1 200 1 -",
       "column 44 (request)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 2x0 1 \"-\" \"-\"",
       "column 61 (status)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 2000 1 \"-\" \"-\"",
       "column 61 (status)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200", "column 65 (bytes)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 12k \"-\" \"-\"",
       "column 65 (bytes)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 99999999999999999999 "
       "\"-\" \"-\"",
       "column 65 (bytes)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1 -",
       "column 67 (referer)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1 \"-",
       "column 67 (referer)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1 \"-\"",
       "column 71 (user agent)"},
      {"192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"Mozilla",
       "column 71 (user agent)"},
      {"{\"ts\":1}", "column 1 (client address)"}, /* no space at all */
  };
  wd_log_parser_t *p;
  assert_int_equal(wd_log_parser_create(WD_LOG_NGINX, &p), 0);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    bad(p, cases[i].line, WD_EMALFORMED, cases[i].want);
  /* The parser goes on after errors, and a success clears the message. */
  wd_log_record_t r;
  assert_int_equal(
      parse(p, "192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
            &r),
      0);
  assert_string_equal(wd_log_parser_error(p), "");
  assert_string_equal(r.client_ip, "192.0.2.1");
  wd_log_parser_destroy(p);
}

/* ---------------------------------------------------------------- any format */

static void test_line_bounds(void **state) {
  (void)state;
  wd_log_parser_t *p;
  wd_log_record_t r;
  assert_int_equal(wd_log_parser_create(WD_LOG_NGINX, &p), 0);
  /* A line of exactly WD_LOG_LINE_MAX bytes (plus "\r\n") parses; one byte more does not. */
  static const char head[] =
      "192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"";
  size_t n = WD_LOG_LINE_MAX;
  char *line = malloc(n + 3);
  assert_non_null(line);
  memcpy(line, head, sizeof head - 1);
  memset(line + sizeof head - 1, 'u', n - sizeof head);
  line[n - 1] = '"';
  memcpy(line + n, "\r\n", 2);
  assert_int_equal(wd_log_parse(p, line, n + 2, &r), 0);
  assert_int_equal(strlen(r.user_agent), n - sizeof head);
  line[n] = '"';
  line[n - 1] = 'u';
  assert_int_equal(wd_log_parse(p, line, n + 1, &r), WD_ETOOBIG);
  assert_non_null(strstr(wd_log_parser_error(p), "65537 bytes exceeds the limit of 65536"));
  free(line);

  /* NUL bytes inside a line */
  static const char nul[] = "192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET /\0 HTTP/1.1\" 200 1";
  assert_int_equal(wd_log_parse(p, nul, sizeof nul - 1, &r), WD_EMALFORMED);
  assert_string_equal(wd_log_parser_error(p), "column 50: NUL byte in the line");

  /* blank lines and line endings */
  assert_int_equal(wd_log_parse(p, "", 0, &r), WD_LOG_SKIP);
  assert_int_equal(wd_log_parse(p, NULL, 0, &r), WD_LOG_SKIP);
  assert_int_equal(parse(p, "\n", &r), WD_LOG_SKIP);
  assert_int_equal(parse(p, " \t \r\n", &r), WD_LOG_SKIP);
  assert_int_equal(
      parse(p, "192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1\r\n", &r), 0);
  assert_int_equal(r.bytes, 1);
  assert_string_equal(r.user_agent, "");

  /* arguments */
  assert_int_equal(wd_log_parse(NULL, "x", 1, &r), WD_EINVAL);
  assert_int_equal(wd_log_parse(p, "x", 1, NULL), WD_EINVAL);
  assert_int_equal(wd_log_parse(p, NULL, 3, &r), WD_EINVAL);
  wd_log_parser_t *q = NULL;
  assert_int_equal(wd_log_parser_create((wd_log_format_t)9, &q), WD_EINVAL);
  assert_null(q);
  assert_int_equal(wd_log_parser_create(WD_LOG_NGINX, NULL), WD_EINVAL);
  wd_log_parser_destroy(NULL);
  wd_log_parser_destroy(p);
}

static void test_detect_and_names(void **state) {
  (void)state;
  assert_int_equal(wd_log_detect("#Version: 1.0", 13), WD_LOG_CLOUDFRONT);
  assert_int_equal(wd_log_detect("#Fields: date time", 18), WD_LOG_CLOUDFRONT);
  assert_int_equal(wd_log_detect("  {\"ts\":1}", 10), WD_LOG_WARDEN);
  assert_int_equal(wd_log_detect("192.0.2.1 - -", 13), WD_LOG_NGINX);
  assert_int_equal(wd_log_detect("# a comment", 11), WD_LOG_NGINX);
  assert_int_equal(wd_log_detect(" \r\n", 3), WD_LOG_AUTO);
  assert_int_equal(wd_log_detect(NULL, 0), WD_LOG_AUTO);

  static const char *const names[] = {"auto", "nginx", "cloudfront", "warden"};
  for (int i = WD_LOG_AUTO; i <= WD_LOG_WARDEN; i++) {
    wd_log_format_t f = WD_LOG_AUTO;
    assert_string_equal(wd_log_format_name((wd_log_format_t)i), names[i]);
    assert_int_equal(wd_log_format_parse(names[i], &f), 0);
    assert_int_equal(f, i);
  }
  wd_log_format_t f = WD_LOG_WARDEN;
  assert_int_equal(wd_log_format_parse("CloudFront", &f), 0);
  assert_int_equal(f, WD_LOG_CLOUDFRONT);
  assert_int_equal(wd_log_format_parse("apache", &f), WD_EINVAL);
  assert_int_equal(f, WD_LOG_CLOUDFRONT);
  assert_string_equal(wd_log_format_name((wd_log_format_t)7), "unknown");

  /* AUTO decides on the first non-blank line and keeps the format. */
  wd_log_parser_t *p;
  wd_log_record_t r;
  assert_int_equal(wd_log_parser_create(WD_LOG_AUTO, &p), 0);
  assert_int_equal(parse(p, "", &r), WD_LOG_SKIP);
  assert_int_equal(wd_log_parser_format(p), WD_LOG_AUTO);
  assert_int_equal(parse(p, "{\"ts\":1767225600.5,\"path\":\"/a\"}", &r), 0);
  assert_int_equal(wd_log_parser_format(p), WD_LOG_WARDEN);
  assert_int_equal(r.time_ms, 1767225600500LL);
  bad(p, "192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1", WD_EMALFORMED,
      "expected a JSON object");
  wd_log_parser_destroy(p);
}

/* ---------------------------------------------------------------- CloudFront */

static void test_cloudfront_fixture(void **state) {
  (void)state;
  static const expect_t want[] = {
      {.t = HEADER},
      {.t = HEADER},
      {.t = T0,
       .edge = "ARN54-P1",
       .bytes = 1880950,
       .ip = "198.51.100.7",
       .method = "GET",
       .host = "cdn.example.com",
       .path = "/live/ch4/seg_00042.ts",
       .status = 200,
       .referer = "https://player.example.com/watch/ch4",
       .ua = CHROME,
       .query = CF_QUERY,
       .protocol = "HTTP/2.0",
       .tok = CF_SIG,
       .tok_scheme = WD_SCHEME_CLOUDFRONT},
      {.t = T0 + 1000,
       .edge = "FRA56-P4",
       .bytes = 612,
       .ip = "2001:db8:85a3::8a2e:370:7334",
       .method = "GET",
       .host = "d111111abcdef8.cloudfront.net",
       .path = "/live/ch4/index.m3u8",
       .status = 200,
       .ua = IOS,
       .cookie = "CloudFront-Key-Pair-Id=K2JCJMDEHXQW5F; CloudFront-Signature=" CF_COOKIE_SIG
                 "; CloudFront-Expires=1791640000",
       .xff = "198.51.100.23",
       .protocol = "HTTP/1.1",
       .tok = CF_COOKIE_SIG,
       .tok_scheme = WD_SCHEME_CLOUDFRONT},
      {.t = T0 + 2000,
       .edge = "IAD89-C3",
       .bytes = 940221,
       .ip = "203.0.113.50",
       .method = "GET",
       .host = "cdn.example.com",
       .path = "/live/ch%201/seg_00001.ts",
       .status = 206,
       .referer = "https://www.example.com/my page",
       .ua = "VLC/3.0.20 LibVLC/3.0.20",
       .query = "cat=" CAT "&lang=en",
       .protocol = "HTTP/1.1",
       .tok = CAT,
       .tok_scheme = WD_SCHEME_CAT},
      {.t = T0 + 3000,
       .edge = "IAD89-C3",
       .bytes = 0,
       .ip = "192.0.2.90",
       .method = "GET",
       .host = "cdn.example.com",
       .path = "/live/ch4/seg_00043.ts",
       .status = 0,
       .protocol = "HTTP/2.0"},
      {.t = HEADER},
      {.t = HEADER},
      {.t = T0 + 123,
       .ip = "198.51.100.7",
       .status = 200,
       .bytes = 1880950,
       .method = "GET",
       .host = "cdn.example.com",
       .path = "/live/ch4/seg_00044.ts",
       .edge = "ARN54-P1",
       .protocol = "HTTP/2.0",
       .ua = CHROME,
       .query = CF_QUERY,
       .country = "SE",
       .asn = 3301,
       .tok = CF_SIG,
       .tok_scheme = WD_SCHEME_CLOUDFRONT},
      {.t = T0 + 1900,
       .ip = "2001:db8::42",
       .status = 403,
       .bytes = 153,
       .method = "GET",
       .host = "d111111abcdef8.cloudfront.net",
       .path = "/live/ch4/seg_00045.ts",
       .edge = "GRU3-C1",
       .protocol = "HTTP/1.1",
       .ua = "Lavf/60.16.100",
       .country = "BR"},
  };
  lines_t l = read_lines("cloudfront-access.log");
  assert_int_equal(l.n, sizeof want / sizeof *want);
  wd_log_parser_t *p;
  assert_int_equal(wd_log_parser_create(WD_LOG_AUTO, &p), 0);
  for (size_t i = 0; i < l.n; i++) {
    wd_log_record_t r;
    int rc = parse(p, l.line[i], &r);
    if (want[i].t == HEADER) {
      assert_int_equal(rc, WD_LOG_SKIP);
      continue;
    }
    if (rc)
      fail_msg("line %zu: %d %s", i + 1, rc, wd_log_parser_error(p));
    check(&r, &want[i]);
  }
  assert_int_equal(wd_log_parser_format(p), WD_LOG_CLOUDFRONT);
  wd_log_parser_destroy(p);
  free_lines(&l);
}

/* The 33 standard columns with the given values in place of the defaults (tab-separated). */
static void cf_line(char *out, size_t cap, const char *date, const char *time, const char *status,
                    const char *ua, const char *query) {
  snprintf(
      out, cap,
      "%s\t%s\tARN54-P1\t100\t192.0.2.1\tGET\td1.cloudfront.net\t/a.ts\t%s\t-\t%s\t%s\t-\tHit\t"
      "id==\tcdn.example.com\thttps\t10\t0.001\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/"
      "2.0\t-\t-\t1234\t0.001\tHit\tvideo/MP2T\t90\t-\t-",
      date, time, status, ua, query);
}

static void test_cloudfront_columns(void **state) {
  (void)state;
  wd_log_parser_t *p;
  wd_log_record_t r;
  char line[1024];
  /* Without a #Fields line the standard 33 columns are assumed. */
  assert_int_equal(wd_log_parser_create(WD_LOG_CLOUDFRONT, &p), 0);
  cf_line(line, sizeof line, "2024-02-29", "23:59:59", "200", "A%20b%2", "-");
  assert_int_equal(parse(p, line, &r), 0);
  assert_int_equal(r.time_ms, utc_ms(2024, 2, 29, 23, 59, 59));
  assert_string_equal(r.user_agent, "A b%2"); /* a broken escape stays as it is */
  assert_string_equal(r.query, "");
  assert_string_equal(r.host, "cdn.example.com");

  /* Wrong values, with the column of the field. */
  cf_line(line, sizeof line, "2024-02-30", "00:00:00", "200", "-", "-");
  bad(p, line, WD_EMALFORMED, "column 1 (date, time)");
  cf_line(line, sizeof line, "2024-02-01", "24:00:00", "200", "-", "-");
  bad(p, line, WD_EMALFORMED, "column 1 (date, time)");
  cf_line(line, sizeof line, "24-02-01", "00:00:00", "200", "-", "-");
  bad(p, line, WD_EMALFORMED, "column 1 (date, time)");
  cf_line(line, sizeof line, "2024-02-01", "00:00:00", "20x", "-", "-");
  bad(p, line, WD_EMALFORMED, "column 72 (sc-status): expected a number or '-'");
  cf_line(line, sizeof line, "2024-02-01", "00:00:00", "1000", "-", "-");
  bad(p, line, WD_EMALFORMED, "(sc-status)");
  bad(p, "2024-02-01\t00:00:00\tARN54-P1", WD_EMALFORMED,
      "CloudFront line has 3 tab-separated fields where #Fields names 33");
  bad(p, "2024-02-01 00:00:00 ARN54-P1 100 192.0.2.1 GET", WD_EMALFORMED,
      "has 1 tab-separated fields");

  /* A #Fields line sets the columns; an unusable one is refused and the old columns stay. */
  assert_int_equal(parse(p, "#Fields: c-ip sc-status x-edge-request-id", &r), WD_EMALFORMED);
  assert_string_equal(wd_log_parser_error(p),
                      "column 9 (#Fields): names neither date and time nor timestamp: the lines "
                      "would have no time");
  cf_line(line, sizeof line, "2024-02-01", "00:00:00", "-", "-", "x=1");
  assert_int_equal(parse(p, line, &r), 0);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.query, "x=1");
  assert_int_equal(parse(p, "#Version: 1.0", &r), WD_LOG_SKIP);
  assert_int_equal(parse(p, "#Fields: timestamp(ms)  c-ip\tasn future-field", &r), WD_LOG_SKIP);
  assert_int_equal(parse(p, "1791640536789\t192.0.2.7\t64500\tsomething", &r), 0);
  assert_int_equal(r.time_ms, T0 + 789);
  assert_string_equal(r.client_ip, "192.0.2.7");
  assert_int_equal(r.asn, 64500);
  assert_string_equal(r.path, "");
  bad(p, "1791640536789\t192.0.2.7\t4294967296\t-", WD_EMALFORMED, "(asn): expected a number");
  bad(p, "x\t192.0.2.7\t1\t-", WD_EMALFORMED, "column 1 (timestamp(ms))");
  assert_int_equal(parse(p, "#Fields: timestamp cs-uri-stem", &r), WD_LOG_SKIP);
  assert_int_equal(parse(p, "1791640536.5\t/b", &r), 0);
  assert_int_equal(r.time_ms, T0 + 500);
  assert_int_equal(parse(p, "1791640536\t-", &r), 0);
  assert_int_equal(r.time_ms, T0);
  assert_string_equal(r.path, "");
  bad(p, "-1791640536\t/b", WD_EMALFORMED, "column 1 (timestamp)");
  bad(p, "1791640536.\t/b", WD_EMALFORMED, "column 1 (timestamp)");
  bad(p, "99991231235959\t/b", WD_EMALFORMED, "column 1 (timestamp)");
  assert_int_equal(parse(p, "# any comment", &r), WD_LOG_SKIP);

  /* Too many fields in #Fields */
  char many[2048] = "#Fields: date time";
  for (int i = 0; i < 130; i++)
    strcat(many, " x");
  bad(p, many, WD_EMALFORMED, "(#Fields): more than 128 fields");
  wd_log_parser_destroy(p);
}

/* ---------------------------------------------------------------- Warden decision log */

static void test_warden_fixture(void **state) {
  (void)state;
  static const expect_t want[] = {
      {.t = 1795375836186LL,
       .ip = "198.51.100.7",
       .edge = "cdn-a/ARN54",
       .host = "cdn.example.com",
       .path = "/live/ch1/seg_00001.ts",
       .method = "GET",
       .status = 200,
       .scheme = "cat",
       .token_id = "c0ffee01",
       .subject = "alice",
       .action = "allow",
       .enforced = "allow",
       .mode = "automate",
       .policy = "live",
       .verdict = "ok",
       .tok = "c0ffee01",
       .tok_scheme = WD_SCHEME_CAT},
      {.t = 1795375836192LL,
       .ip = "2001:db8:85a3::8a2e:370:7334",
       .country = "DE",
       .asn = 3320,
       .edge = "cdn-b/FRA2",
       .host = "cdn.example.com",
       .path = "/live/ch1/seg_00002.ts",
       .method = "GET",
       .status = 200,
       .scheme = "cat",
       .token_id = "c0ffee01",
       .subject = "alice",
       .action = "allow",
       .enforced = "allow",
       .mode = "automate",
       .policy = "live",
       .verdict = "ok",
       .tok = "c0ffee01",
       .tok_scheme = WD_SCHEME_CAT},
      {.t = 1795375836204LL,
       .ip = "203.0.113.50",
       .country = "BR",
       .asn = 28573,
       .edge = "cdn-a/GRU3",
       .host = "cdn.example.com",
       .path = "/live/ch1/seg_00003.ts",
       .method = "GET",
       .status = 200,
       .scheme = "cat",
       .token_id = "c0ffee01",
       .subject = "alice",
       .action = "callout",
       .enforced = "callout",
       .mode = "automate",
       .reasons = "banned",
       .policy = "live",
       .tok = "c0ffee01",
       .tok_scheme = WD_SCHEME_CAT},
      {.t = 1795375836210LL,
       .ip = "192.0.2.33",
       .host = "cdn.example.com",
       .path = "/live/ch2/index.m3u8",
       .method = "GET",
       .status = 200,
       .scheme = "jwt",
       .token_id = "jwt-7f3a",
       .subject = "dave",
       .action = "allow",
       .enforced = "allow",
       .mode = "automate",
       .policy = "live",
       .verdict = "ok",
       .tok = "jwt-7f3a",
       .tok_scheme = WD_SCHEME_JWT},
      {.t = 1795375836215LL,
       .ip = "198.51.100.9",
       .host = "cdn.example.com",
       .path = "/live/ch1/seg_00004.ts",
       .method = "GET",
       .status = 410,
       .scheme = "cat",
       .token_id = "0dd1",
       .subject = "carol",
       .action = "block",
       .enforced = "block",
       .mode = "automate",
       .reasons = "expired",
       .policy = "live",
       .tok = "0dd1",
       .tok_scheme = WD_SCHEME_CAT},
      {.t = 1795375836220LL,
       .ip = "198.51.100.10",
       .host = "cdn.example.com",
       .path = "/live/ch1/seg_00005.ts",
       .method = "GET",
       .status = 401,
       .scheme = "cat",
       .action = "block",
       .enforced = "block",
       .mode = "automate",
       .reasons = "no_token",
       .policy = "live"},
      {.t = 1795375836225LL,
       .ip = "198.51.100.11",
       .host = "vod.example.com",
       .path = "/vod/movie/seg_1.ts",
       .method = "GET",
       .status = 200,
       .scheme = "cat",
       .action = "allow",
       .enforced = "block",
       .mode = "monitor",
       .reasons = "invalid",
       .policy = "vod"},
      {.t = 1795375836230LL,
       .ip = "192.0.2.80",
       .path = "/live/ch3/index.m3u8",
       .method = "GET",
       .status = 200,
       .scheme = "securelink",
       .token_id = "sha256:8ed689ec10e28998aacc8ccf4716a4253f5f8b73",
       .action = "allow",
       .enforced = "allow",
       .mode = "automate",
       .policy = "live",
       .verdict = "ok",
       .tok = "sha256:8ed689ec10e28998aacc8ccf4716a4253f5f8b73",
       .tok_scheme = WD_SCHEME_SECURELINK},
      {.t = 1795375836236LL,
       .ip = "127.0.0.1",
       .host = "cdn.example.com",
       .path = "/live/ch9/seg_9.ts",
       .method = "GET",
       .status = 200,
       .scheme = "cat",
       .token_id = "sha256:2b22768ce30b730016b56ce69fedb88888967e7d",
       .subject = "bob",
       .action = "allow",
       .enforced = "allow",
       .mode = "automate",
       .policy = "live",
       .verdict = "ok",
       .tok = "sha256:2b22768ce30b730016b56ce69fedb88888967e7d",
       .tok_scheme = WD_SCHEME_CAT},
      {.t = 1795375836241LL,
       .ip = "8.8.8.8",
       .country = "US",
       .asn = 15169,
       .edge = "edge \"quoted\" \\ back",
       .host = "cdn.example.com",
       .path = "/live/ch1/seg_00006.ts",
       .method = "GET",
       .status = 200,
       .scheme = "cat",
       .token_id = "sha256:2b22768ce30b730016b56ce69fedb88888967e7d",
       .subject = "bob",
       .action = "allow",
       .enforced = "allow",
       .mode = "automate",
       .policy = "live",
       .verdict = "ok",
       .tok = "sha256:2b22768ce30b730016b56ce69fedb88888967e7d",
       .tok_scheme = WD_SCHEME_CAT},
  };
  lines_t l = read_lines("warden-decisions.log");
  assert_int_equal(l.n, sizeof want / sizeof *want);
  wd_log_parser_t *p;
  assert_int_equal(wd_log_parser_create(WD_LOG_AUTO, &p), 0);
  for (size_t i = 0; i < l.n; i++) {
    wd_log_record_t r;
    int rc = parse(p, l.line[i], &r);
    if (rc)
      fail_msg("line %zu: %d %s", i + 1, rc, wd_log_parser_error(p));
    check(&r, &want[i]);
  }
  assert_int_equal(wd_log_parser_format(p), WD_LOG_WARDEN);
  wd_log_parser_destroy(p);
  free_lines(&l);
}

static void test_warden_json(void **state) {
  (void)state;
  wd_log_parser_t *p;
  wd_log_record_t r;
  assert_int_equal(wd_log_parser_create(WD_LOG_WARDEN, &p), 0);

  /* escapes, surrogate pairs, nested values of unknown keys, nulls, spacing, later keys win */
  assert_int_equal(
      parse(p,
            " { \"ts\" : 1.7676e9 , \"path\":\"/caf\\u00e9/\\ud83d\\ude00\\/\\\"q\\\"\\\\\","
            "\"extra\":{\"a\":[1,-2.5e-3,{\"b\":null},[],{}],\"c\":\"\\n\"},\"ip\":null,"
            "\"asn\":null,\"status\":0,\"reasons\":[ \"geo\" , \"shar\\u0065d\" ],"
            "\"method\":\"GET\",\"method\":\"HEAD\",\"t\\u0073\":1767225600.999999,\"case\":true,"
            "\"x\":false,\"y\":[true,false,null]}\t",
            &r),
      0);
  assert_int_equal(r.time_ms, 1767225600999LL);
  assert_string_equal(r.path, "/caf\xC3\xA9/\xF0\x9F\x98\x80/\"q\"\\");
  assert_string_equal(r.client_ip, "");
  assert_int_equal(r.asn, 0);
  assert_string_equal(r.reasons, "geo,shared");
  assert_string_equal(r.method, "HEAD");
  assert_int_equal(parse(p, "{\"ts\":0,\"reasons\":[]}", &r), 0);
  assert_int_equal(r.time_ms, 0);
  assert_string_equal(r.reasons, "");
  assert_int_equal(parse(p, "{\"ts\":1767225600,\"reasons\":null,\"asn\":4294967295}", &r), 0);
  assert_int_equal(r.time_ms, 1767225600000LL);
  assert_int_equal(r.asn, 4294967295u);
  assert_int_equal(parse(p, "{\"ts\":17672256E-1}", &r), 0);
  assert_int_equal(r.time_ms, 1767225600LL);
  assert_int_equal(parse(p, "{\"ts\":0.0001}", &r), 0);
  assert_int_equal(r.time_ms, 0);

  static const struct {
    const char *line, *want;
  } cases[] = {
      {"{}", "no \"ts\" field"},
      {"{\"path\":\"/a\"}", "no \"ts\" field"},
      {"[1]", "column 1: expected a JSON object"},
      {"{\"ts\":1", "column 8: expected ',' or '}'"},
      {"{\"ts\":1}x", "column 9: text after the JSON object"},
      {"{\"ts\":1}{}", "text after the JSON object"},
      {"{\"ts\":1,}", "column 9: expected a key string"},
      {"{\"ts\" 1}", "column 7: expected ':' after a key"},
      {"{ts:1}", "column 2: expected a key string"},
      {"{\"ts\":-1}", "column 7 (field \"ts\"): expected unix seconds"},
      {"{\"ts\":\"1767225600\"}", "(field \"ts\"): expected unix seconds"},
      {"{\"ts\":253402300800}", "(field \"ts\"): expected unix seconds"},
      {"{\"ts\":01}", "column 8: expected ',' or '}'"}, /* 0, then a stray 1 */
      {"{\"ts\":1.}", "(field \"ts\")"},
      {"{\"ts\":1e}", "(field \"ts\")"},
      {"{\"ts\":1,\"status\":200.0}", "column 18 (field \"status\"): expected an integer"},
      {"{\"ts\":1,\"status\":1000}", "(field \"status\")"},
      {"{\"ts\":1,\"status\":true}", "(field \"status\")"},
      {"{\"ts\":1,\"asn\":4294967296}",
       "(field \"asn\"): expected an integer from 0 to 4294967295"},
      {"{\"ts\":1,\"asn\":-1}", "(field \"asn\")"},
      {"{\"ts\":1,\"ip\":7}", "(field \"ip\"): expected a string or null"},
      {"{\"ts\":1,\"ip\":nul}", "(field \"ip\"): expected a string or null"},
      {"{\"ts\":1,\"reasons\":\"geo\"}", "(field \"reasons\"): expected a list of strings or null"},
      {"{\"ts\":1,\"reasons\":[\"geo\",1]}", "(field \"reasons\"): expected a list of strings"},
      {"{\"ts\":1,\"reasons\":[\"geo\"}", "(field \"reasons\"): expected ',' or ']'"},
      {"{\"ts\":1,\"path\":\"a\\u0000b\"}", "\\u0000 in a string"},
      {"{\"ts\":1,\"path\":\"\\ud800\"}", "high surrogate without its low half"},
      {"{\"ts\":1,\"path\":\"\\ud800\\u0041\"}", "high surrogate without its low half"},
      {"{\"ts\":1,\"path\":\"\\udc00\"}", "lone low surrogate"},
      {"{\"ts\":1,\"path\":\"\\u12g4\"}", "\\u not followed by four hex digits"},
      {"{\"ts\":1,\"path\":\"\\x41\"}", "unknown escape in a string"},
      {"{\"ts\":1,\"path\":\"a\tb\"}", "column 18: control character in a string"},
      {"{\"ts\":1,\"path\":\"abc}", "column 16: string without its closing quote"},
      {"{\"ts\":1,\"path\":\"abc\\", "string without its closing quote"},
      {"{\"ts\":1,\"x\":[1,2}", "expected ',' or ']'"},
      {"{\"ts\":1,\"x\":{\"a\" 1}}", "expected ':' after a key"},
      {"{\"ts\":1,\"x\":{\"a\":1,}}", "expected a key string"},
      {"{\"ts\":1,\"x\":{1:2}}", "expected a key string"},
      {"{\"ts\":1,\"x\":[1,]}", "expected a value"},
      {"{\"ts\":1,\"x\":tru}", "expected a value"},
      {"{\"ts\":1,\"x\":-}", "expected a value"},
      {"{\"ts\":1,\"x\":1.e5}", "expected a digit after the decimal point"},
      {"{\"ts\":1,\"x\":1e+}", "expected a digit in the exponent"},
      {"{\"ts\":1,\"x\":'a'}", "expected a value"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    bad(p, cases[i].line, WD_EMALFORMED, cases[i].want);

  /* Nesting: 2048 levels inside a value are skipped (jansson stops at 2048 in all), more refused.
   */
  char deep[2 * 2049 + 64];
  int o = snprintf(deep, sizeof deep, "{\"ts\":1,\"x\":");
  for (int i = 0; i < 2048; i++)
    deep[o++] = '[';
  for (int i = 0; i < 2048; i++)
    deep[o++] = ']';
  deep[o++] = '}';
  deep[o] = '\0';
  assert_int_equal(parse(p, deep, &r), 0);
  o = snprintf(deep, sizeof deep, "{\"ts\":1,\"x\":");
  for (int i = 0; i < 2049; i++)
    deep[o++] = i % 2 ? '[' : '{';
  deep[o] = '\0';
  bad(p, deep, WD_EMALFORMED, "expected a key string"); /* {[ : a key was due */
  o = snprintf(deep, sizeof deep, "{\"ts\":1,\"x\":");
  for (int i = 0; i < 2049; i++)
    deep[o++] = '[';
  deep[o] = '\0';
  bad(p, deep, WD_EMALFORMED, "values nested too deep");
  wd_log_parser_destroy(p);
}

/* ---------------------------------------------------------------- token lookup */

static wd_log_record_t rec(const char *path, const char *query, const char *cookie) {
  wd_log_record_t r;
  memset(&r, 0, sizeof r);
  r.client_ip = r.method = r.host = r.protocol = r.referer = r.user_agent = "";
  r.forwarded_for = r.edge = r.country = r.scheme = r.token_id = r.subject = r.action = "";
  r.enforced = r.mode = r.reasons = r.policy = r.verdict = "";
  r.path = path;
  r.query = query;
  r.cookie = cookie;
  return r;
}

static void token_is(const char *path, const char *query, const char *cookie, const char *param,
                     const char *want, wd_scheme_t scheme) {
  wd_log_record_t r = rec(path, query, cookie);
  char out[1024];
  wd_scheme_t s = WD_SCHEME_COUNT;
  int rc = wd_log_find_token(&r, param, out, sizeof out, &s);
  if (!want) {
    if (rc != WD_ENOTOKEN)
      fail_msg("query %s cookie %s: found %s", query, cookie, rc ? "an error" : out);
    assert_int_equal(s, WD_SCHEME_COUNT);
    return;
  }
  if (rc)
    fail_msg("query %s cookie %s param %s: %d", query, cookie, param ? param : "-", rc);
  assert_string_equal(out, want);
  assert_int_equal(s, scheme);
}

static void test_token_names(void **state) {
  (void)state;
  /* CAT */
  token_is("/a.ts", "x=1&cat=" CAT, "", NULL, CAT, WD_SCHEME_CAT);
  token_is("/a.ts", "CAT=" CAT "&x=1", "", NULL, CAT, WD_SCHEME_CAT);
  token_is("/a.ts", "", "a=1; CTA-Common-Access-Token=" CAT, NULL, CAT, WD_SCHEME_CAT);
  token_is("/a.ts", "", "Common-Access-Token=" CAT "; a=1", NULL, CAT, WD_SCHEME_CAT);
  token_is("/a.ts", "", "cta-common-access-token=" CAT, NULL, CAT, WD_SCHEME_CAT);
  token_is("/a.ts", "cat=", "", NULL, NULL, WD_SCHEME_NONE); /* empty: none */
  token_is("/a.ts", "cat=&CAT=x", "", NULL, "x", WD_SCHEME_CAT);
  /* Akamai, raw and percent-encoded, query and cookie */
  token_is("/a.ts", "__token__=" AKAMAI, "", NULL, AKAMAI, WD_SCHEME_AKAMAI);
  token_is("/a.ts", "__token__=" AKAMAI_ENC, "", NULL, AKAMAI, WD_SCHEME_AKAMAI);
  token_is("/a.ts", "hdnts=" AKAMAI_ENC, "", NULL, AKAMAI, WD_SCHEME_AKAMAI);
  token_is("/a.ts", "", "hdnts=" AKAMAI_ENC, NULL, AKAMAI, WD_SCHEME_AKAMAI);
  token_is("/a.ts", "", "__token__=" AKAMAI, NULL, AKAMAI, WD_SCHEME_AKAMAI);
  /* CloudFront: the signature, only next to Key-Pair-Id and Policy or Expires */
  token_is("/a.ts", CF_QUERY, "", NULL, CF_SIG, WD_SCHEME_CLOUDFRONT);
  token_is("/a.ts", "Policy=eyJTdGF0ZW1lbnQiOltdfQ__&Signature=abc~d&Key-Pair-Id=K", "", NULL,
           "abc~d", WD_SCHEME_CLOUDFRONT);
  token_is("/a.ts", "Signature=abc&Expires=1", "", NULL, NULL, WD_SCHEME_NONE);
  token_is("/a.ts", "Signature=abc&Key-Pair-Id=K", "", NULL, NULL, WD_SCHEME_NONE);
  token_is("/a.ts", "", "CloudFront-Signature=abc; CloudFront-Key-Pair-Id=K", NULL, "abc",
           WD_SCHEME_CLOUDFRONT);
  token_is("/a.ts", "", "CloudFront-Signature=abc", NULL, NULL, WD_SCHEME_NONE);
  /* secure links: the hash alone */
  token_is("/a.ts", "md5=" MD5 "&expires=1795379404", "", NULL, MD5, WD_SCHEME_SECURELINK);
  token_is("/a.ts", "expires=1795379404&md5=" MD5, "", NULL, MD5, WD_SCHEME_SECURELINK);
  token_is("/a.ts", "md5=" MD5, "", NULL, MD5, WD_SCHEME_SECURELINK);
  token_is("/a.ts", "secure=" MD5 ",1795379404", "", NULL, MD5, WD_SCHEME_SECURELINK);
  token_is("/a.ts", "secure=1", "", NULL, NULL, WD_SCHEME_NONE);
  /* JWT and Bunny */
  token_is("/a.ts", "token=" JWT, "", NULL, JWT, WD_SCHEME_JWT);
  token_is("/a.ts", "token=" JWT "&expires=1", "", NULL, JWT, WD_SCHEME_JWT);
  token_is("/a.ts", "jwt=" JWT, "", NULL, JWT, WD_SCHEME_JWT);
  token_is("/a.ts", "access_token=" JWT, "", NULL, JWT, WD_SCHEME_JWT);
  token_is("/a.ts", "", "token=" JWT, NULL, JWT, WD_SCHEME_JWT);
  token_is("/a.ts", "token=" BUNNY "&expires=1791640000", "", NULL, BUNNY, WD_SCHEME_BUNNY);
  token_is("/a.ts", "token=opaque123", "", NULL, "opaque123", WD_SCHEME_NONE);
  token_is("/bcdn_token=" BUNNY "&expires=1791640000/live/a.ts", "", "", NULL, BUNNY,
           WD_SCHEME_BUNNY);
  token_is("/bcdn_token=", "", "", NULL, NULL, WD_SCHEME_NONE);
  /* Scheme order: CAT before the others; query before cookies */
  token_is("/a.ts", "token=" JWT "&cat=" CAT, "", NULL, CAT, WD_SCHEME_CAT);
  token_is("/a.ts", "md5=" MD5, "CTA-Common-Access-Token=" CAT, NULL, MD5, WD_SCHEME_SECURELINK);
  /* Nothing */
  token_is("/a.ts", "", "", NULL, NULL, WD_SCHEME_NONE);
  token_is("/a.ts", "lang=en&seq=1&tok=x", "session=abc", NULL, NULL, WD_SCHEME_NONE);
  token_is("/a.ts", "catalog=1&md=5&jwtx=1", "", NULL, NULL, WD_SCHEME_NONE);
}

static void test_token_param(void **state) {
  (void)state;
  /* --token-param: that parameter (then that cookie), the scheme guessed from name and shape */
  token_is("/a.ts", "t=" JWT "&cat=" CAT, "", "t", JWT, WD_SCHEME_JWT);
  token_is("/a.ts", "auth=" BUNNY, "", "auth", BUNNY, WD_SCHEME_BUNNY);
  token_is("/a.ts", "auth=" AKAMAI_ENC, "", "auth", AKAMAI, WD_SCHEME_AKAMAI);
  token_is("/a.ts", "auth=abc%2Fdef", "", "auth", "abc/def", WD_SCHEME_NONE);
  token_is("/a.ts", "x=1", "auth=fromcookie", "auth", "fromcookie", WD_SCHEME_NONE);
  token_is("/a.ts", "cat=" CAT, "", "cat", CAT, WD_SCHEME_CAT);
  token_is("/a.ts", "md5=" MD5, "", "md5", MD5, WD_SCHEME_SECURELINK);
  token_is("/a.ts", "secure=abc", "", "secure", "abc", WD_SCHEME_NONE);
  token_is("/a.ts", "cat=" CAT, "", "auth", NULL, WD_SCHEME_NONE);
  token_is("/a.ts", "auth=", "", "auth", NULL, WD_SCHEME_NONE);
  token_is("/a.ts", "cat=" CAT, "", "", CAT, WD_SCHEME_CAT); /* "" is no param */

  /* Errors */
  char out[32];
  wd_scheme_t s = WD_SCHEME_COUNT;
  wd_log_record_t r = rec("/a.ts", "cat=%zz", "");
  assert_int_equal(wd_log_find_token(&r, NULL, out, sizeof out, &s), WD_EMALFORMED);
  r = rec("/a.ts", "cat=ab%00cd", "");
  assert_int_equal(wd_log_find_token(&r, NULL, out, sizeof out, &s), WD_EMALFORMED);
  r = rec("/a.ts", "cat=ab%4", "");
  assert_int_equal(wd_log_find_token(&r, NULL, out, sizeof out, &s), WD_EMALFORMED);
  r = rec("/a.ts", "cat=0123456789abcdef", "");
  assert_int_equal(wd_log_find_token(&r, NULL, out, 16, &s), WD_ETOOBIG);
  assert_int_equal(wd_log_find_token(&r, NULL, out, 17, &s), 0); /* 16 bytes and the NUL */
  assert_string_equal(out, "0123456789abcdef");
  r = rec("/a.ts", "cat=%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41", "");
  assert_int_equal(wd_log_find_token(&r, NULL, out, 17, &s), 0);
  assert_string_equal(out, "AAAAAAAAAAAAAAAA");
  assert_int_equal(wd_log_find_token(&r, NULL, out, 16, &s), WD_ETOOBIG);
  assert_int_equal(s, WD_SCHEME_CAT);
  assert_int_equal(wd_log_find_token(NULL, NULL, out, sizeof out, &s), WD_EINVAL);
  assert_int_equal(wd_log_find_token(&r, NULL, NULL, sizeof out, &s), WD_EINVAL);
  assert_int_equal(wd_log_find_token(&r, NULL, out, 0, &s), WD_EINVAL);
  r = rec("/a.ts", "cat=abc", "");
  assert_int_equal(wd_log_find_token(&r, NULL, out, 4, NULL), 0); /* scheme optional */
  assert_string_equal(out, "abc");

  /* A decision-log record: its token id, whatever the parameter */
  r = rec("/a.ts", "", "");
  r.token_id = "c0ffee01";
  r.scheme = "cat";
  assert_int_equal(wd_log_find_token(&r, "token", out, sizeof out, &s), 0);
  assert_string_equal(out, "c0ffee01");
  assert_int_equal(s, WD_SCHEME_CAT);
  r.scheme = "";
  assert_int_equal(wd_log_find_token(&r, NULL, out, sizeof out, &s), 0);
  assert_int_equal(s, WD_SCHEME_NONE);
  assert_int_equal(wd_log_find_token(&r, NULL, out, 8, &s), WD_ETOOBIG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nginx_fixture),      cmocka_unit_test(test_nginx_time_zones),
      cmocka_unit_test(test_nginx_quoting),      cmocka_unit_test(test_nginx_requests),
      cmocka_unit_test(test_nginx_malformed),    cmocka_unit_test(test_line_bounds),
      cmocka_unit_test(test_detect_and_names),   cmocka_unit_test(test_cloudfront_fixture),
      cmocka_unit_test(test_cloudfront_columns), cmocka_unit_test(test_warden_fixture),
      cmocka_unit_test(test_warden_json),        cmocka_unit_test(test_token_names),
      cmocka_unit_test(test_token_param),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
