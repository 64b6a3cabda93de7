/*
 * Geo and ASN lookups over libmaxminddb databases and the ASN range table (asn.c); see geo.h.
 *
 * Each .mmdb file is mapped (MMDB_MODE_MMAP) and its schema worked out once at open by probing
 * records: a depth-first walk of the search tree from its leftmost branch reads the first data
 * records and notes which top-level keys they carry (country_code: the flat @ip-location-db
 * schema; country, registered_country, location, continent: MaxMind's GeoIP2 schema;
 * autonomous_system_number: an ASN database). The metadata's database_type is only reported,
 * since both families name their types freely ("GeoLite2-City", "city ipv4"). A lookup reads the
 * few values it needs with MMDB_aget_value, which allocates nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <maxminddb.h>

#include "geo/internal.h"
#include "util/ip.h"
#include "warden/error.h"
#include "warden/geo.h"

enum { KEY_FLAT = 1, KEY_GEOIP2 = 2, KEY_ASN = 4 };
enum { ROLE_CITY, ROLE_ASN };

typedef struct source {
  MMDB_s db;
  int flat;                    /* city role: flat @ip-location-db keys, else GeoIP2 */
  char *path;
} source_t;

struct wd_geo {
  source_t city[WD_GEO_MAX_FILES];
  size_t ncity;
  source_t asn[WD_GEO_MAX_FILES];
  size_t nasn;
  wd__asn_table_t *csv;        /* NULL without ASN range files */
};

static const char hint_install[] = "install the geo data with scripts/deps.sh, or correct the path";

/* ---- opening ---- */

static int has_key(MMDB_entry_s e, const char *key) {
  MMDB_entry_data_s d;
  return MMDB_get_value(&e, &d, key, NULL) == MMDB_SUCCESS && d.has_data;
}

static unsigned record_keys(MMDB_entry_s e) {
  unsigned k = 0;
  if (has_key(e, "country_code"))
    k |= KEY_FLAT;
  if (has_key(e, "country") || has_key(e, "registered_country") || has_key(e, "location") ||
      has_key(e, "continent"))
    k |= KEY_GEOIP2;
  if (has_key(e, "autonomous_system_number"))
    k |= KEY_ASN;
  return k;
}

/*
 * The keys of the first data records (at most 64, visiting at most 100,000 nodes: a damaged or
 * looping tree cannot hold the open up). *records counts the records seen. Returns 0 or an
 * MMDB_* error.
 */
static int probe(const MMDB_s *db, unsigned *keys, size_t *records) {
  uint32_t stack[320];
  size_t sp = 0, visited = 0;
  stack[sp++] = 0;
  *keys = 0;
  *records = 0;
  while (sp && visited < 100000 && *records < 64) {
    MMDB_search_node_s node;
    int rc = MMDB_read_node(db, stack[--sp], &node);
    if (rc != MMDB_SUCCESS)
      return rc;
    visited++;
    /* Right first on the stack, so the left branch is walked first. */
    const uint64_t rec[2] = {node.right_record, node.left_record};
    const uint8_t type[2] = {node.right_record_type, node.left_record_type};
    const MMDB_entry_s ent[2] = {node.right_record_entry, node.left_record_entry};
    for (int i = 0; i < 2; i++) {
      if (type[i] == MMDB_RECORD_TYPE_INVALID)
        return MMDB_CORRUPT_SEARCH_TREE_ERROR;
      if (type[i] == MMDB_RECORD_TYPE_SEARCH_NODE && sp < sizeof stack / sizeof stack[0])
        stack[sp++] = (uint32_t)rec[i];
      if (type[i] == MMDB_RECORD_TYPE_DATA) {
        *keys |= record_keys(ent[i]);
        (*records)++;
      }
    }
  }
  return MMDB_SUCCESS;
}

static int open_mmdb(source_t *s, const char *path, int role, char *err, size_t errlen) {
  const char *what = role == ROLE_CITY ? "city/country database" : "ASN database";
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(err, errlen, "cannot open %s %s: %s (%s)", what, path, strerror(errno), hint_install);
    return WD_EIO;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s %s is not a regular file (%s)", what, path, hint_install);
    return WD_EIO;
  }
  if (st.st_size == 0) {
    snprintf(err, errlen, "%s %s is empty (re-install the geo data with scripts/deps.sh)", what,
             path);
    return WD_ECORRUPT;
  }
  int rc = MMDB_open(path, MMDB_MODE_MMAP, &s->db);
  if (rc != MMDB_SUCCESS) {
    if (rc == MMDB_OUT_OF_MEMORY_ERROR)
      return WD_ENOMEM;
    int io = rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR;
    snprintf(err, errlen, "%s %s %s: %s (%s)", what, path,
             io ? "cannot be read" : "is not a valid MaxMind DB (.mmdb) file", MMDB_strerror(rc),
             io ? hint_install : "re-install the geo data with scripts/deps.sh, or give a .mmdb file");
    return io ? WD_EIO : WD_ECORRUPT;
  }
  unsigned keys;
  size_t records;
  rc = probe(&s->db, &keys, &records);
  if (rc != MMDB_SUCCESS) {
    snprintf(err, errlen, "%s %s is damaged: %s (re-install the geo data with scripts/deps.sh)",
             what, path, MMDB_strerror(rc));
    MMDB_close(&s->db);
    return WD_ECORRUPT;
  }
  const char *why = NULL;
  if (records == 0)
    why = "holds no records";
  else if (role == ROLE_CITY && !(keys & (KEY_FLAT | KEY_GEOIP2)))
    why = keys & KEY_ASN ? "is an ASN database (autonomous_system_number), not a city or country "
                           "database: give it as an ASN database"
                         : "has no country or location fields (country_code, country.iso_code)";
  else if (role == ROLE_ASN && !(keys & KEY_ASN))
    why = keys & (KEY_FLAT | KEY_GEOIP2)
              ? "is a city or country database, not an ASN database: give it as a city database"
              : "has no autonomous_system_number field";
  if (why) {
    snprintf(err, errlen, "%s %s (type \"%s\") %s", what, path,
             s->db.metadata.database_type ? s->db.metadata.database_type : "", why);
    MMDB_close(&s->db);
    return WD_EUNSUPPORTED;
  }
  s->flat = (keys & KEY_FLAT) != 0;
  s->path = strdup(path);
  if (!s->path) {
    MMDB_close(&s->db);
    return WD_ENOMEM;
  }
  return 0;
}

static int check_list(const char *const *list, size_t n, const char *what, char *err,
                      size_t errlen) {
  if (n > WD_GEO_MAX_FILES) {
    snprintf(err, errlen, "%zu %s files given, at most %d", n, what, WD_GEO_MAX_FILES);
    return WD_ETOOBIG;
  }
  for (size_t i = 0; i < n; i++)
    if (!list || !list[i] || !list[i][0]) {
      snprintf(err, errlen, "%s file %zu: empty path", what, i + 1);
      return WD_EINVAL;
    }
  return 0;
}

int wd_geo_open(const wd_geo_paths_t *paths, wd_geo_t **out, char *err, size_t errlen) {
  static const wd_geo_paths_t none;
  char scratch[1];
  if (!err || errlen == 0)
    err = scratch, errlen = sizeof scratch;
  err[0] = '\0';
  if (!out)
    return WD_EINVAL;
  if (!paths)
    paths = &none;
  int rc = check_list(paths->city_mmdb, paths->ncity_mmdb, "city database", err, errlen);
  if (!rc)
    rc = check_list(paths->asn_mmdb, paths->nasn_mmdb, "ASN database", err, errlen);
  if (!rc)
    rc = check_list(paths->asn_csv, paths->nasn_csv, "ASN CSV", err, errlen);
  if (rc)
    return rc;

  wd_geo_t *g = calloc(1, sizeof *g);
  if (!g)
    return WD_ENOMEM;
  for (size_t i = 0; i < paths->ncity_mmdb && !rc; i++) {
    rc = open_mmdb(&g->city[i], paths->city_mmdb[i], ROLE_CITY, err, errlen);
    if (!rc)
      g->ncity++;
  }
  for (size_t i = 0; i < paths->nasn_mmdb && !rc; i++) {
    rc = open_mmdb(&g->asn[i], paths->asn_mmdb[i], ROLE_ASN, err, errlen);
    if (!rc)
      g->nasn++;
  }
  if (!rc && paths->nasn_csv) {
    rc = wd__asn_table_create(&g->csv);
    for (size_t i = 0; i < paths->nasn_csv && !rc; i++)
      rc = wd__asn_table_add_file(g->csv, paths->asn_csv[i], err, errlen);
    if (!rc)
      rc = wd__asn_table_finish(g->csv);
  }
  if (rc) {
    if (rc == WD_ENOMEM && !err[0])
      snprintf(err, errlen, "out of memory while loading the geo data");
    wd_geo_close(g);
    return rc;
  }
  *out = g;
  return 0;
}

void wd_geo_close(wd_geo_t *geo) {
  if (!geo)
    return;
  for (size_t i = 0; i < geo->ncity; i++) {
    MMDB_close(&geo->city[i].db);
    free(geo->city[i].path);
  }
  for (size_t i = 0; i < geo->nasn; i++) {
    MMDB_close(&geo->asn[i].db);
    free(geo->asn[i].path);
  }
  wd__asn_table_destroy(geo->csv);
  free(geo);
}

/* ---- lookups ---- */

static int get(MMDB_entry_s e, MMDB_entry_data_s *d, const char *const *path) {
  return MMDB_aget_value(&e, d, path) == MMDB_SUCCESS && d->has_data;
}

static size_t get_text(MMDB_entry_s e, const char *const *path, char *dst, size_t cap) {
  MMDB_entry_data_s d;
  if (!get(e, &d, path) || d.type != MMDB_DATA_TYPE_UTF8_STRING)
    return 0;
  return wd__geo_copy_text(dst, cap, d.utf8_string, d.data_size);
}

static double get_number(MMDB_entry_s e, const char *const *path, double lo, double hi) {
  MMDB_entry_data_s d;
  double v = NAN;
  if (get(e, &d, path)) {
    if (d.type == MMDB_DATA_TYPE_DOUBLE)
      v = d.double_value;
    else if (d.type == MMDB_DATA_TYPE_FLOAT)
      v = (double)d.float_value;
  }
  return isfinite(v) && v >= lo && v <= hi ? v : NAN;
}

static uint32_t get_u32(MMDB_entry_s e, const char *const *path) {
  MMDB_entry_data_s d;
  if (!get(e, &d, path))
    return 0;
  switch (d.type) {
  case MMDB_DATA_TYPE_UINT16:
    return d.uint16;
  case MMDB_DATA_TYPE_UINT32:
    return d.uint32;
  case MMDB_DATA_TYPE_UINT64:
    return d.uint64 <= UINT32_MAX ? (uint32_t)d.uint64 : 0;
  case MMDB_DATA_TYPE_INT32:
    return d.int32 > 0 ? (uint32_t)d.int32 : 0;
  }
  return 0;
}

static void get_country(MMDB_entry_s e, const char *const *path, char out[3]) {
  char c[8];
  if (get_text(e, path, c, sizeof c) == 2)
    (void)wd_geo_parse_country(c, 2, out);
}

static void fill_city(const source_t *s, MMDB_entry_s e, wd_geo_info_t *out) {
  static const char *const flat_cc[] = {"country_code", NULL}, *const flat_lat[] = {"latitude", NULL},
                           *const flat_lon[] = {"longitude", NULL}, *const flat_city[] = {"city", NULL},
                           *const g_cc[] = {"country", "iso_code", NULL},
                           *const g_rcc[] = {"registered_country", "iso_code", NULL},
                           *const g_lat[] = {"location", "latitude", NULL},
                           *const g_lon[] = {"location", "longitude", NULL},
                           *const g_city[] = {"city", "names", "en", NULL};
  if (!out->country[0]) {
    get_country(e, s->flat ? flat_cc : g_cc, out->country);
    if (!out->country[0] && !s->flat)
      get_country(e, g_rcc, out->country);
  }
  if (isnan(out->lat) || isnan(out->lon)) {
    double lat = get_number(e, s->flat ? flat_lat : g_lat, -90, 90);
    double lon = get_number(e, s->flat ? flat_lon : g_lon, -180, 180);
    if (!isnan(lat) && !isnan(lon))
      out->lat = lat, out->lon = lon;
  }
  if (!out->city[0])
    get_text(e, s->flat ? flat_city : g_city, out->city, sizeof out->city);
}

static int find(const source_t *s, int family, const struct sockaddr *sa, MMDB_entry_s *e) {
  if (family == 6 && s->db.metadata.ip_version == 4)
    return 0;
  int mmdb_err = MMDB_SUCCESS;
  MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&s->db, sa, &mmdb_err);
  if (mmdb_err != MMDB_SUCCESS || !r.found_entry)
    return 0;
  *e = r.entry;
  return 1;
}

static void unknown(wd_geo_info_t *out) {
  memset(out, 0, sizeof *out);
  out->lat = out->lon = NAN;
}

int wd_geo_lookup(const wd_geo_t *geo, int family, const uint8_t *addr, wd_geo_info_t *out) {
  if (!out)
    return WD_EINVAL;
  unknown(out);
  if (!addr || (family != 4 && family != 6))
    return WD_EINVAL;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family == 6 && memcmp(addr, mapped, 12) == 0)
    family = 4, addr += 12;
  if (!geo)
    return 0;

  struct sockaddr_in sin;
  struct sockaddr_in6 sin6;
  const struct sockaddr *sa;
  if (family == 4) {
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    memcpy(&sin.sin_addr, addr, 4);
    sa = (const struct sockaddr *)&sin;
  } else {
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    memcpy(&sin6.sin6_addr, addr, 16);
    sa = (const struct sockaddr *)&sin6;
  }

  MMDB_entry_s e;
  for (size_t i = 0; i < geo->ncity && !out->country[0]; i++)
    if (find(&geo->city[i], family, sa, &e))
      fill_city(&geo->city[i], e, out);

  static const char *const asn_path[] = {"autonomous_system_number", NULL},
                           *const org_path[] = {"autonomous_system_organization", NULL};
  for (size_t i = 0; i < geo->nasn && !out->asn; i++)
    if (find(&geo->asn[i], family, sa, &e) && (out->asn = get_u32(e, asn_path)) != 0)
      get_text(e, org_path, out->as_org, sizeof out->as_org);

  const char *org;
  uint32_t asn;
  if (!out->asn && geo->csv && wd__asn_table_find(geo->csv, family, addr, &asn, &org) && asn) {
    out->asn = asn;
    snprintf(out->as_org, sizeof out->as_org, "%s", org);
  }
  return 0;
}

int wd_geo_lookup_text(const wd_geo_t *geo, const char *ip, wd_geo_info_t *out) {
  if (!out)
    return WD_EINVAL;
  wd_ip_t a;
  if (!ip || wd_ip_parse(ip, strlen(ip), &a) != 0) {
    unknown(out);
    return WD_EMALFORMED;
  }
  return wd_geo_lookup(geo, a.family, a.a, out);
}

/* ---- description ---- */

typedef struct sbuf {
  char *buf;
  size_t cap, len;
} sbuf_t;

static void put(sbuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *at = b->len < b->cap ? b->buf + b->len : NULL;
  int n = vsnprintf(at, at ? b->cap - b->len : 0, fmt, ap);
  va_end(ap);
  if (n > 0)
    b->len += (size_t)n;
}

static void describe_mmdb(sbuf_t *b, const char *role, const source_t *s) {
  char day[16] = "?";
  time_t t = (time_t)s->db.metadata.build_epoch;
  struct tm tm;
  if (gmtime_r(&t, &tm))
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
  put(b, "mmdb %s %s: %s, %s schema, %s, built %s\n", role, s->path,
      s->db.metadata.database_type ? s->db.metadata.database_type : "?",
      strcmp(role, "asn") == 0 ? "ASN" : s->flat ? "flat" : "GeoIP2",
      s->db.metadata.ip_version == 4 ? "IPv4" : "IPv6 and IPv4", day);
}

size_t wd_geo_describe(const wd_geo_t *geo, char *buf, size_t cap) {
  sbuf_t b = {buf, cap, 0};
  if (cap)
    buf[0] = '\0';
  if (!geo || (!geo->ncity && !geo->nasn && !geo->csv)) {
    put(&b, "no geo data: countries and ASNs only from trusted headers\n");
    return b.len;
  }
  for (size_t i = 0; i < geo->ncity; i++)
    describe_mmdb(&b, "city", &geo->city[i]);
  for (size_t i = 0; i < geo->nasn; i++)
    describe_mmdb(&b, "asn", &geo->asn[i]);
  if (geo->csv) {
    wd__asn_stats_t st;
    wd__asn_table_stats(geo->csv, &st);
    put(&b, "csv asn: %zu ranges (%zu IPv4, %zu IPv6) from %zu file%s, %zu overlap%s trimmed, "
            "%.1f MB\n",
        st.ranges4 + st.ranges6, st.ranges4, st.ranges6, st.files, st.files == 1 ? "" : "s",
        st.overlaps, st.overlaps == 1 ? "" : "s", (double)st.bytes / 1e6);
  }
  return b.len;
}

/* ---- header values ---- */

static int alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int wd_geo_parse_country(const char *s, size_t n, char out[3]) {
  if (!s || n < 2 || !alpha(s[0]) || !alpha(s[1]))
    return WD_EINVAL;
  if (n > 2) {
    /* A subdivision: "-" and 1 to 3 letters or digits. */
    if (s[2] != '-' || n < 4 || n > 6)
      return WD_EINVAL;
    for (size_t i = 3; i < n; i++)
      if (!alpha(s[i]) && !(s[i] >= '0' && s[i] <= '9'))
        return WD_EINVAL;
  }
  /* "XX" and "ZZ" mean unknown; T1, A1, A2, O1 fail the letter test above. */
  char c[3] = {(char)(s[0] & ~0x20), (char)(s[1] & ~0x20), '\0'};
  if (strcmp(c, "XX") == 0 || strcmp(c, "ZZ") == 0)
    return WD_EINVAL;
  memcpy(out, c, 3);
  return 0;
}

int wd_geo_parse_asn(const char *s, size_t n, uint32_t *out) {
  if (!s)
    return WD_EINVAL;
  if (n > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
    s += 2, n -= 2;
  if (n == 0 || n > 10)
    return WD_EINVAL;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return WD_EINVAL;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v == 0 || v > UINT32_MAX)
    return WD_EINVAL;
  *out = (uint32_t)v;
  return 0;
}
