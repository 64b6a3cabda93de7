/*
 * CloudFront standard (access) logs: one request a line, tab-separated columns in the order the
 * latest `#Fields:` header line names them (`#Version:` and other `#` lines are skipped). Until
 * a `#Fields:` line comes, the 33 columns of the standard log are assumed, in AWS's order.
 *
 * Columns read (others are skipped, so new AWS fields do no harm); real-time log names (which
 * standard logging v2 also uses) are accepted next to the legacy ones:
 *   date + time (UTC), or timestamp (seconds.millis) or timestamp(ms)   -> time_ms
 *   c-ip -> client_ip, cs-method -> method, cs-uri-stem -> path, cs-uri-query -> query
 *   x-host-header (else cs(Host) / cs-host) -> host, sc-status -> status, sc-bytes -> bytes
 *   cs(Referer) / cs-referer, cs(User-Agent) / cs-user-agent, cs(Cookie) / cs-cookie
 *       -> referer, user_agent, cookie: percent-decoded once (CloudFront writes "%20" for spaces)
 *   x-edge-location -> edge, x-forwarded-for -> forwarded_for,
 *   cs-protocol-version -> protocol, c-country -> country, asn -> asn
 * `-` is empty. Path and query stay as logged (token lookups decode the parameter they need).
 */
#include <string.h>

#include "logs/internal.h"

static const struct {
  const char *name;
  wd_cf_slot_t slot;
} names[] = {
    {"date", WD_CF_DATE},
    {"time", WD_CF_TIME},
    {"timestamp", WD_CF_TIMESTAMP},
    {"timestamp(ms)", WD_CF_TIMESTAMP_MS},
    {"c-ip", WD_CF_CLIENT_IP},
    {"cs-method", WD_CF_METHOD},
    {"cs(Host)", WD_CF_HOST},
    {"cs-host", WD_CF_HOST},
    {"x-host-header", WD_CF_HOST_HEADER},
    {"cs-uri-stem", WD_CF_PATH},
    {"cs-uri-query", WD_CF_QUERY},
    {"sc-status", WD_CF_STATUS},
    {"sc-bytes", WD_CF_BYTES},
    {"cs(Referer)", WD_CF_REFERER},
    {"cs-referer", WD_CF_REFERER},
    {"cs(User-Agent)", WD_CF_USER_AGENT},
    {"cs-user-agent", WD_CF_USER_AGENT},
    {"cs(Cookie)", WD_CF_COOKIE},
    {"cs-cookie", WD_CF_COOKIE},
    {"x-edge-location", WD_CF_EDGE},
    {"x-forwarded-for", WD_CF_FORWARDED_FOR},
    {"cs-protocol-version", WD_CF_PROTOCOL},
    {"c-country", WD_CF_COUNTRY},
    {"asn", WD_CF_ASN},
};

/* The field name of a slot, for error messages. */
static const char *slot_name(wd_cf_slot_t s) {
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (names[i].slot == s)
      return names[i].name;
  return "column";
}

static const char legacy_fields[] =
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
    "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header "
    "cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
    "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
    "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start "
    "sc-range-end";

void wd__log_cf_default(wd_log_parser_t *p) {
  char tmp[sizeof legacy_fields];
  memcpy(tmp, legacy_fields, sizeof tmp);
  wd__log_cf_fields(p, tmp);
}

int wd__log_cf_fields(wd_log_parser_t *p, char *list) {
  uint8_t map[WD_CF_COLS_MAX];
  size_t n = 0;
  int have_date = 0, have_time = 0, have_ts = 0;
  char *c = list;
  for (;;) {
    while (*c == ' ' || *c == '\t')
      c++;
    if (!*c)
      break;
    char *start = c;
    while (*c && *c != ' ' && *c != '\t')
      c++;
    size_t len = (size_t)(c - start);
    if (n == WD_CF_COLS_MAX)
      return wd__log_fail(p, WD_EMALFORMED, start, "(#Fields): more than %d fields",
                          WD_CF_COLS_MAX);
    wd_cf_slot_t slot = WD_CF_IGNORE;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
      if (strlen(names[i].name) == len && memcmp(names[i].name, start, len) == 0)
        slot = names[i].slot;
    have_date |= slot == WD_CF_DATE;
    have_time |= slot == WD_CF_TIME;
    have_ts |= slot == WD_CF_TIMESTAMP || slot == WD_CF_TIMESTAMP_MS;
    map[n++] = (uint8_t)slot;
  }
  if (!have_ts && !(have_date && have_time))
    return wd__log_fail(p, WD_EMALFORMED, list,
                        "(#Fields): names neither date and time nor timestamp: the lines would "
                        "have no time");
  memcpy(p->cf_map, map, n);
  p->cf_ncols = n;
  return 0;
}

static const char *dash(char *s) { return s[0] == '-' && s[1] == '\0' ? "" : s; }

/* Percent-decoded, "" for '-'. */
static const char *decoded(char *s) {
  return s[0] == '-' && s[1] == '\0' ? "" : wd__log_unescape_pct(s);
}

static int digit(char c) { return c >= '0' && c <= '9'; }

/* "2019-12-04" and "21:02:31" (UTC) as unix milliseconds; 0 or -1. */
static int date_time(const char *d, const char *t, int64_t *ms) {
  if (strlen(d) != 10 || strlen(t) != 8 || d[4] != '-' || d[7] != '-' || t[2] != ':' || t[5] != ':')
    return -1;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !digit(d[i]))
      return -1;
  for (int i = 0; i < 8; i++)
    if (i != 2 && i != 5 && !digit(t[i]))
      return -1;
  int64_t y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
  unsigned mon = (unsigned)((d[5] - '0') * 10 + (d[6] - '0'));
  unsigned day = (unsigned)((d[8] - '0') * 10 + (d[9] - '0'));
  int hh = (t[0] - '0') * 10 + (t[1] - '0'), mi = (t[3] - '0') * 10 + (t[4] - '0');
  int ss = (t[6] - '0') * 10 + (t[7] - '0');
  if (mon < 1 || mon > 12 || day < 1 || day > wd__log_month_days(y, mon) || hh > 23 || mi > 59 ||
      ss > 60)
    return -1;
  *ms = (wd__log_days(y, mon, day) * 86400 + hh * 3600 + mi * 60 + ss) * 1000;
  return 0;
}

static int header(wd_log_parser_t *p, char *s) {
  if (strncmp(s, "#Fields:", 8) == 0)
    return wd__log_cf_fields(p, s + 8) ? WD_EMALFORMED : WD_LOG_SKIP;
  return WD_LOG_SKIP; /* #Version: and comments */
}

int wd__log_cloudfront(wd_log_parser_t *p, char *s, size_t n, wd_log_record_t *r) {
  char *col[WD_CF_NSLOTS] = {0}; /* start of each column read (also its error column) */
  size_t i = 0;                  /* columns seen */
  if (*s == '#')
    return header(p, s);
    /* Cut the columns at every tab, noting where the columns read start. */
#define COLUMN(start)                                                                              \
  do {                                                                                             \
    if (i < p->cf_ncols && p->cf_map[i] != WD_CF_IGNORE)                                           \
      col[p->cf_map[i]] = (start);                                                                 \
    i++;                                                                                           \
  } while (0)
  COLUMN(s);
#if WD_LOG_SWAR
  for (size_t off = 0; off < n; off += 8) { /* eight bytes at a time, every tab in them */
    uint64_t x, m;
    memcpy(&x, s + off, 8); /* the buffer has WD_LOG_PAD bytes after the line */
    m = wd__log_eq_exact(x, '\t');
    if (n - off < 8)
      m &= ((uint64_t)1 << (8 * (n - off))) - 1; /* bytes past the line */
    for (; m; m &= m - 1) {
      char *tab = s + off + wd__log_first(m);
      *tab = '\0';
      COLUMN(tab + 1);
    }
  }
#else
  for (char *c = s;;) {
    char *tab = memchr(c, '\t', (size_t)(s + n - c));
    if (!tab)
      break;
    *tab = '\0';
    COLUMN(tab + 1);
    c = tab + 1;
  }
#endif
#undef COLUMN
  if (i != p->cf_ncols)
    return wd__log_fail(p, WD_EMALFORMED, NULL,
                        "CloudFront line has %zu tab-separated fields where #Fields names %zu", i,
                        p->cf_ncols);

  if (col[WD_CF_TIMESTAMP_MS]) {
    uint64_t v;
    if (wd__log_uint(col[WD_CF_TIMESTAMP_MS], strlen(col[WD_CF_TIMESTAMP_MS]), 253402300799999ULL,
                     &v))
      return wd__log_fail(p, WD_EMALFORMED, col[WD_CF_TIMESTAMP_MS],
                          "(timestamp(ms)): expected unix milliseconds");
    r->time_ms = (int64_t)v;
  } else if (col[WD_CF_TIMESTAMP]) {
    if (wd__log_seconds_ms(col[WD_CF_TIMESTAMP], strlen(col[WD_CF_TIMESTAMP]), &r->time_ms))
      return wd__log_fail(p, WD_EMALFORMED, col[WD_CF_TIMESTAMP],
                          "(timestamp): expected unix seconds such as 1591753225.123");
  } else if (date_time(col[WD_CF_DATE], col[WD_CF_TIME], &r->time_ms)) {
    return wd__log_fail(p, WD_EMALFORMED, col[WD_CF_DATE],
                        "(date, time): expected YYYY-MM-DD and HH:MM:SS, a valid date");
  }

  static const wd_cf_slot_t numbers[] = {WD_CF_STATUS, WD_CF_BYTES, WD_CF_ASN};
  static const uint64_t max[] = {999, UINT64_MAX, UINT32_MAX};
  for (size_t k = 0; k < 3; k++) {
    char *v = col[numbers[k]];
    uint64_t x = 0;
    if (!v || !*dash(v))
      continue;
    if (wd__log_uint(v, strlen(v), max[k], &x))
      return wd__log_fail(p, WD_EMALFORMED, col[numbers[k]], "(%s): expected a number or '-'",
                          slot_name(numbers[k]));
    if (numbers[k] == WD_CF_STATUS)
      r->status = (int)x;
    else if (numbers[k] == WD_CF_BYTES)
      r->bytes = x;
    else
      r->asn = (uint32_t)x;
  }

  if (col[WD_CF_CLIENT_IP])
    r->client_ip = dash(col[WD_CF_CLIENT_IP]);
  if (col[WD_CF_METHOD])
    r->method = dash(col[WD_CF_METHOD]);
  if (col[WD_CF_HOST_HEADER] && *dash(col[WD_CF_HOST_HEADER]))
    r->host = col[WD_CF_HOST_HEADER];
  else if (col[WD_CF_HOST])
    r->host = dash(col[WD_CF_HOST]);
  if (col[WD_CF_PATH])
    r->path = dash(col[WD_CF_PATH]);
  if (col[WD_CF_QUERY])
    r->query = dash(col[WD_CF_QUERY]);
  if (col[WD_CF_REFERER])
    r->referer = decoded(col[WD_CF_REFERER]);
  if (col[WD_CF_USER_AGENT])
    r->user_agent = decoded(col[WD_CF_USER_AGENT]);
  if (col[WD_CF_COOKIE])
    r->cookie = decoded(col[WD_CF_COOKIE]);
  if (col[WD_CF_EDGE])
    r->edge = dash(col[WD_CF_EDGE]);
  if (col[WD_CF_FORWARDED_FOR])
    r->forwarded_for = dash(col[WD_CF_FORWARDED_FOR]);
  if (col[WD_CF_PROTOCOL])
    r->protocol = dash(col[WD_CF_PROTOCOL]);
  if (col[WD_CF_COUNTRY])
    r->country = dash(col[WD_CF_COUNTRY]);
  return 0;
}
