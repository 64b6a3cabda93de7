/*
 * Internals of the log parsers (include/warden/logs.h): the parser state, one entry point per
 * format and the helpers they share.
 *
 * Each format parses the line in place in p->buf (a copy of the caller's line, NUL-terminated,
 * without line ending and without NUL bytes inside): fields are cut by writing NULs over their
 * delimiters and decoded by shifting bytes left within the field, so every record string points
 * into the buffer and nothing is allocated.
 */
#ifndef WARDEN_LOGS_INTERNAL_H
#define WARDEN_LOGS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "warden/logs.h"

/* CloudFront columns the record reads; every other column is skipped. */
typedef enum wd_cf_slot {
  WD_CF_IGNORE = 0,
  WD_CF_DATE,
  WD_CF_TIME,
  WD_CF_TIMESTAMP,    /* seconds with a fraction (real-time logs, standard logging v2) */
  WD_CF_TIMESTAMP_MS, /* integer milliseconds */
  WD_CF_CLIENT_IP,
  WD_CF_METHOD,
  WD_CF_HOST,        /* cs(Host): the distribution's domain */
  WD_CF_HOST_HEADER, /* x-host-header: the Host the viewer sent */
  WD_CF_PATH,
  WD_CF_QUERY,
  WD_CF_STATUS,
  WD_CF_BYTES,
  WD_CF_REFERER,
  WD_CF_USER_AGENT,
  WD_CF_COOKIE,
  WD_CF_EDGE,
  WD_CF_FORWARDED_FOR,
  WD_CF_PROTOCOL,
  WD_CF_COUNTRY,
  WD_CF_ASN,
  WD_CF_NSLOTS
} wd_cf_slot_t;

#define WD_CF_COLS_MAX 128 /* columns a #Fields line may name */

/* Bytes after the line's NUL that may be read (never used): word-at-a-time scans read up to 8
 * bytes at once and stop at the NUL. Zero at creation. */
#define WD_LOG_PAD 8

struct wd_log_parser {
  wd_log_format_t format;         /* WD_LOG_AUTO until detected */
  uint8_t cf_map[WD_CF_COLS_MAX]; /* CloudFront: slot of each column */
  size_t cf_ncols;
  char err[256];
  char buf[WD_LOG_LINE_MAX + 1 + WD_LOG_PAD];
};

/* Record the error (code, column of `at` in p->buf, printf-style reason) and return code. */
int wd__log_fail(wd_log_parser_t *p, int code, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t wd__log_days(int64_t y, unsigned m, unsigned d);
/* Days in a month of a year. */
unsigned wd__log_month_days(int64_t y, unsigned m);

/* A non-negative decimal number of seconds ("1767225600.123456", "1.7e9") as unix milliseconds,
 * truncated; 0 or -1 when it is not a JSON-style number, is negative or is past year 9999. */
int wd__log_seconds_ms(const char *s, size_t n, int64_t *ms);

/* Unsigned decimal integer of 1-19 digits (no sign): 0 or -1 (also on overflow past max). */
int wd__log_uint(const char *s, size_t n, uint64_t max, uint64_t *out);

/* Percent-decode s in place, leniently: "%HH" becomes the byte except %00; a '%' not followed
 * by two hex digits stays as it is. s lies in a parser's buffer (it reads up to 7 bytes past the
 * NUL). Returns s. */
char *wd__log_unescape_pct(char *s);

/* Word-at-a-time byte search (SWAR) on little-endian machines; elsewhere the callers scan bytes.
 * The flags of a match are 0x80 in the matching bytes; the lowest flagged byte is always a true
 * match (higher ones may be false: borrows), so wd__log_first gives the first match. */
#ifndef WD_LOG_SWAR /* -DWD_LOG_SWAR=0 builds the byte-at-a-time paths (tested that way too) */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WD_LOG_SWAR 1
#else
#define WD_LOG_SWAR 0
#endif
#endif
#if WD_LOG_SWAR
#define WD_LOG_ONES 0x0101010101010101ULL
#define WD_LOG_HIGHS 0x8080808080808080ULL
static inline uint64_t wd__log_eq(uint64_t x, unsigned char c) {
  uint64_t y = x ^ (WD_LOG_ONES * c);
  return (y - WD_LOG_ONES) & ~y & WD_LOG_HIGHS;
}
static inline uint64_t wd__log_below(uint64_t x, unsigned char c) { /* c <= 0x80 */
  return (x - WD_LOG_ONES * c) & ~x & WD_LOG_HIGHS;
}
static inline unsigned wd__log_first(uint64_t flags) {
  return (unsigned)__builtin_ctzll(flags) / 8;
}
/* Exact flags (no false ones): 0x80 in every byte of x equal to c. */
static inline uint64_t wd__log_eq_exact(uint64_t x, unsigned char c) {
  uint64_t y = x ^ (WD_LOG_ONES * c), low = WD_LOG_ONES * 0x7F;
  return ~(((y & low) + low) | y | low);
}
#endif

/* The formats: parse p->buf (n bytes, NUL-terminated) into r, which is already cleared. */
int wd__log_nginx(wd_log_parser_t *p, char *s, size_t n, wd_log_record_t *r);
int wd__log_cloudfront(wd_log_parser_t *p, char *s, size_t n, wd_log_record_t *r);
int wd__log_warden(wd_log_parser_t *p, char *s, size_t n, wd_log_record_t *r);

/* CloudFront: set the columns from a `#Fields:` list (names separated by spaces). */
int wd__log_cf_fields(wd_log_parser_t *p, char *names);
/* CloudFront: the column layout of the 33-field standard log, used until a #Fields line. */
void wd__log_cf_default(wd_log_parser_t *p);

#endif
