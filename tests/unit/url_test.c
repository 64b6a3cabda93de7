/* lib/util/url.c and ip.c: URL splitting, query/cookie lookup, percent-decoding, IP prefixes. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/ip.h"
#include "util/url.h"

static int span_is(wd_span_t s, const char *want) { return wd_span_eq(s, want, strlen(want)); }

static void split_absolute(void **state) {
  (void)state;
  wd_url_t u;
  assert_int_equal(wd_url_split("https://user@cdn.example.com:8443/live/a.ts?x=1&cat=T#frag", &u), 0);
  assert_true(span_is(u.scheme, "https"));
  assert_true(span_is(u.host, "cdn.example.com"));
  assert_true(span_is(u.port, "8443"));
  assert_true(span_is(u.path, "/live/a.ts"));
  assert_true(span_is(u.query, "x=1&cat=T"));
  assert_int_equal(wd_url_split("http://[2001:db8::1]:80/p", &u), 0);
  assert_true(span_is(u.host, "[2001:db8::1]"));
  assert_true(span_is(u.port, "80"));
  assert_int_equal(wd_url_split("http://h", &u), 0);
  assert_int_equal(u.path.n, 0);
}

static void split_origin_form(void **state) {
  (void)state;
  wd_url_t u;
  assert_int_equal(wd_url_split("/a/b.m3u8?token=x", &u), 0);
  assert_int_equal(u.scheme.n, 0);
  assert_int_equal(u.host.n, 0);
  assert_true(span_is(u.path, "/a/b.m3u8"));
  assert_true(span_is(u.query, "token=x"));
}

static void split_rejects(void **state) {
  (void)state;
  wd_url_t u;
  assert_int_equal(wd_url_split("", &u), WD_EMALFORMED);
  assert_int_equal(wd_url_split("cdn.example.com/x", &u), WD_EMALFORMED);
  assert_int_equal(wd_url_split("ht tp://h/x", &u), WD_EMALFORMED);
  assert_int_equal(wd_url_split("http://h:80a/x", &u), WD_EMALFORMED);
  assert_int_equal(wd_url_split("http://[::1/x", &u), WD_EMALFORMED);
}

static void query_and_cookie(void **state) {
  (void)state;
  wd_span_t q = {"a=1&cat=&b&cat=2&md5=xyz", 24}, v;
  assert_int_equal(wd_query_find(q, "a", &v), 0);
  assert_true(span_is(v, "1"));
  assert_int_equal(wd_query_find(q, "b", &v), 0);
  assert_int_equal(v.n, 0);
  assert_int_equal(wd_query_find(q, "cat", &v), 0);
  assert_int_equal(v.n, 0); /* first occurrence wins */
  assert_int_equal(wd_query_find(q, "md5", &v), 0);
  assert_true(span_is(v, "xyz"));
  assert_int_equal(wd_query_find(q, "md", &v), WD_ENOTOKEN);
  assert_int_equal(wd_cookie_find("a=1; __token__=exp=1~hmac=ab ; q=\"quoted\"", "__token__", &v), 0);
  assert_true(span_is(v, "exp=1~hmac=ab"));
  assert_int_equal(wd_cookie_find("a=1; q=\"quoted\"", "q", &v), 0);
  assert_true(span_is(v, "quoted"));
  assert_int_equal(wd_cookie_find("xa=1", "a", &v), WD_ENOTOKEN);
}

static void pct(void **state) {
  (void)state;
  char out[32];
  assert_int_equal(wd_pct_decode("a%2Fb+c", 7, out, sizeof out, 1), 5);
  assert_string_equal(out, "a/b c");
  assert_int_equal(wd_pct_decode("a+c", 3, out, sizeof out, 0), 3);
  assert_string_equal(out, "a+c");
  assert_int_equal(wd_pct_decode("%zz", 3, out, sizeof out, 0), -1);
  assert_int_equal(wd_pct_decode("%4", 2, out, sizeof out, 0), -1);
  assert_int_equal(wd_pct_decode("abcdef", 6, out, 3, 0), -1);
}

static void request_token(void **state) {
  (void)state;
  wd_header_t h[] = {{"cookie", "x=1; cat=fromcookie"}, {"Common-Access-Token", "fromheader"}};
  wd_request_t req = {.url = "/p?x=1", .headers = h, .nheaders = 2};
  wd_span_t v;
  assert_int_equal(wd_request_find_token(&req, "cat", "cat", "Common-Access-Token", &v), 0);
  assert_true(span_is(v, "fromcookie"));
  assert_int_equal(wd_request_find_token(&req, "cat", NULL, "common-access-token", &v), 0);
  assert_true(span_is(v, "fromheader"));
  req.url = "/p?cat=fromquery";
  assert_int_equal(wd_request_find_token(&req, "cat", "cat", NULL, &v), 0);
  assert_true(span_is(v, "fromquery"));
  assert_int_equal(wd_request_find_token(&req, "nope", "nope", "nope", &v), WD_ENOTOKEN);
}

static void ip_prefixes(void **state) {
  (void)state;
  wd_ip_t ip, net;
  int plen;
  char text[64];
  assert_int_equal(wd_ip_parse("192.168.1.77", 12, &ip), 0);
  assert_int_equal(ip.family, 4);
  const uint8_t p24[] = {192, 168, 1};
  assert_true(wd_ip_in_prefix(&ip, 4, p24, 3, 24));
  assert_false(wd_ip_in_prefix(&ip, 4, p24, 3, 32));
  assert_false(wd_ip_in_prefix(&ip, 6, p24, 3, 24));
  assert_int_equal(wd_ip_parse("::ffff:10.0.0.1", 15, &ip), 0);
  assert_int_equal(ip.family, 4); /* mapped addresses are IPv4 */
  assert_int_equal(wd_cidr_parse("2001:db8::/32", 13, &net, &plen), 0);
  assert_int_equal(plen, 32);
  assert_int_equal(wd_ip_parse("[2001:db8:1::5]", 15, &ip), 0);
  assert_true(wd_ip_in_prefix(&ip, 6, net.a, 16, plen));
  wd_ip_format(&ip, text, sizeof text);
  assert_string_equal(text, "2001:db8:1::5");
  assert_int_equal(wd_cidr_parse("10.0.0.0/33", 11, &net, &plen), WD_EMALFORMED);
  assert_int_equal(wd_cidr_parse("10.0.0.0/", 9, &net, &plen), WD_EMALFORMED);
  assert_int_equal(wd_ip_parse("300.1.1.1", 9, &ip), WD_EMALFORMED);
  assert_int_equal(wd_ip_parse("", 0, &ip), WD_EMALFORMED);
}

/* IPv4 text is parsed without inet_pton: it must take and refuse exactly what inet_pton does. */
static void ipv4_as_inet_pton(void **state) {
  (void)state;
  static const char *const fixed[] = {
      "0.0.0.0", "255.255.255.255", "1.2.3.4", "256.0.0.1", "1.2.3", "1.2.3.4.", ".1.2.3.4",
      "01.2.3.4", "1.2.3.04", "1..2.3", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4.5", "1.2.3.2555",
      "10.0.0.00", "1.2.3.a"};
  char buf[24];
  unsigned seed = 12345;
  for (size_t k = 0; k < sizeof fixed / sizeof *fixed + 200000; k++) {
    const char *s = buf;
    if (k < sizeof fixed / sizeof *fixed) {
      s = fixed[k];
    } else { /* random strings of digits and dots, 1 to 16 characters */
      size_t n = 1 + (seed = seed * 1103515245u + 12345u) % 16;
      for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 16) % 13;
        buf[i] = r < 10 ? (char)('0' + r) : r == 10 ? '5' : '.';
      }
      buf[n] = '\0';
    }
    uint8_t want[16] = {0};
    int ok = inet_pton(AF_INET, s, want) == 1;
    wd_ip_t ip;
    int rc = wd_ip_parse(s, strlen(s), &ip);
    if (ok) {
      assert_int_equal(rc, 0);
      assert_int_equal(ip.family, 4);
      assert_memory_equal(ip.a, want, 4);
    } else if (rc == 0) {
      assert_int_equal(ip.family, 6); /* only an IPv6 text may pass where IPv4 does not */
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(split_absolute), cmocka_unit_test(split_origin_form),
      cmocka_unit_test(split_rejects),  cmocka_unit_test(query_and_cookie),
      cmocka_unit_test(pct),            cmocka_unit_test(request_token),
      cmocka_unit_test(ip_prefixes),    cmocka_unit_test(ipv4_as_inet_pton),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
