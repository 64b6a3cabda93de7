/*
 * Internals of the geo module: the ASN range table built from @ip-location-db/asn CSV files
 * (asn.c) and its line parser, which the fuzz target and the unit tests reach directly.
 */
#ifndef WARDEN_GEO_INTERNAL_H
#define WARDEN_GEO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "warden/geo.h"

#define WD__ASN_LINE_MAX 4096          /* CSV line bytes; longer lines are an error */
#define WD__ASN_RANGES_MAX (16u << 20) /* ranges per address family */

/* One parsed CSV line. */
typedef struct wd__asn_line {
  int family;                  /* 4 or 6 */
  uint8_t start[16], end[16];  /* network order, inclusive; IPv4 in the first 4 bytes */
  uint32_t asn;
  char org[WD_GEO_ORG_MAX];    /* as wd_geo_info_t.as_org: cleaned, truncated, "" when absent */
} wd__asn_line_t;

/*
 * Parse one line of n bytes (without or with its "\n" / "\r\n"):
 *   start,end,asn[,organisation]
 * Addresses are IPv4 or IPv6 text of the same family, start <= end; asn is decimal (an "AS"
 * prefix is accepted); the organisation is the rest of the line, optionally in double quotes
 * with "" for a quote. Returns 0 and *out, 1 for a line that holds no range (empty, "#" comment,
 * the "ip_range_start,..." header), or WD_ECORRUPT with a static one-line reason in *why (never
 * NULL then). Reads exactly n bytes; no NUL needed.
 */
int wd__asn_csv_parse(const char *s, size_t n, wd__asn_line_t *out, const char **why);

/* Copy n bytes of text into dst (cap bytes, cap >= 1) as UTF-8 without control characters:
 * invalid bytes and controls become '?', truncated on a character boundary; returns the length. */
size_t wd__geo_copy_text(char *dst, size_t cap, const char *src, size_t n);

/* ASN ranges of both families. Built by add/finish on one thread, then read-only. */
typedef struct wd__asn_table wd__asn_table_t;

typedef struct wd__asn_stats {
  size_t files;
  size_t ranges4, ranges6;     /* after overlaps are resolved and neighbours merged */
  size_t lines;                /* ranges read */
  size_t overlaps;             /* ranges cut short or dropped because a later one overlaps */
  size_t bytes;                /* memory held: ranges and organisation names */
} wd__asn_stats_t;

int wd__asn_table_create(wd__asn_table_t **out);
void wd__asn_table_destroy(wd__asn_table_t *t);
/* Read one CSV file's ranges. Errors as wd_geo_open, err naming the file (and line). */
int wd__asn_table_add_file(wd__asn_table_t *t, const char *path, char *err, size_t errlen);
/* Add one parsed range (the fuzz target and tests build tables without files). */
int wd__asn_table_add(wd__asn_table_t *t, const wd__asn_line_t *l);
/* Sort, resolve overlaps (the range that starts later wins), merge adjacent ranges of the same
 * ASN and organisation, release load-time memory. Call once after the last add. */
int wd__asn_table_finish(wd__asn_table_t *t);
/* The range holding addr (family 4: 4 bytes, 6: 16 bytes): 1 with *asn and *org (static while the
 * table lives, "" when the range has none), or 0. Any thread, after finish. */
int wd__asn_table_find(const wd__asn_table_t *t, int family, const uint8_t *addr, uint32_t *asn,
                       const char **org);
void wd__asn_table_stats(const wd__asn_table_t *t, wd__asn_stats_t *out);

#endif
