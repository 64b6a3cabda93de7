/*
 * Fuzz target logs_warden: Warden decision log lines (JSON) through wd_log_parse and
 * wd_log_find_token; the invariants are those of fuzz/logs_fuzz.h, and the JSON scanner is
 * checked against jansson (differential):
 *
 *   every line jansson reads as an object (duplicate keys refused, nesting under 1000 levels)
 *   whose known fields have the schema's types and ranges (ts a number from 0 to year 9000,
 *   status and asn integers in range or null, the string fields strings or null, reasons a list
 *   of strings or null) parses, with the same strings, numbers and ts (milliseconds, within one
 *   of jansson's double), and reasons joined by ','.
 *
 * Lines where a number is 0 are left out of the comparison: jansson cannot tell "-0" (refused
 * here) from "0"; so are lines with NUL bytes (refused here by design; jansson may stop at one).
 */
#include <math.h>

#include "logs_fuzz.h"

static const struct {
  const char *key;
  size_t off;
} strings[] = {
#define S(k, m)                                                                                    \
  { k, offsetof(wd_log_record_t, m) }
    S("ip", client_ip),    S("method", method),   S("host", host),         S("path", path),
    S("edge", edge),       S("country", country), S("scheme", scheme),     S("token_id", token_id),
    S("subject", subject), S("action", action),   S("enforced", enforced), S("mode", mode),
    S("policy", policy),   S("verdict", verdict),
#undef S
};

static const char *member(const wd_log_record_t *r, size_t off) {
  return *(const char *const *)((const char *)r + off);
}

/* The integer at key: 1 when absent or null (*v = -1), 1 when an integer in [1, max], else 0. */
static int integer(json_t *o, const char *key, json_int_t max, json_int_t *v) {
  json_t *x = json_object_get(o, key);
  *v = -1;
  if (!x || json_is_null(x))
    return 1;
  if (!json_is_integer(x))
    return 0;
  *v = json_integer_value(x);
  return *v >= 1 && *v <= max;
}

static void extra(const char *line, size_t n, int rc, const wd_log_record_t *r) {
  size_t opens = 0;
  for (size_t i = 0; i < n; i++)
    opens += line[i] == '[' || line[i] == '{';
  if (opens >= 1000 || memchr(line, '\0', n)) /* NUL bytes: refused by design, jansson may stop */
    return;
  json_error_t err;
  json_t *o = json_loadb(line, n, JSON_REJECT_DUPLICATES, &err);
  if (!json_is_object(o)) {
    json_decref(o);
    return;
  }
  json_t *ts = json_object_get(o, "ts");
  json_int_t status, asn;
  int typed = json_is_number(ts) && json_number_value(ts) > 0 && json_number_value(ts) < 2.5e11 &&
              integer(o, "status", 999, &status) && integer(o, "asn", 4294967295LL, &asn);
  for (size_t i = 0; typed && i < sizeof strings / sizeof *strings; i++) {
    json_t *x = json_object_get(o, strings[i].key);
    typed = !x || json_is_null(x) || json_is_string(x);
  }
  json_t *reasons = json_object_get(o, "reasons");
  if (reasons && !json_is_null(reasons)) {
    if (!json_is_array(reasons))
      typed = 0;
    for (size_t i = 0; typed && i < json_array_size(reasons); i++)
      typed = json_is_string(json_array_get(reasons, i));
  }
  if (typed) {
    FZ_ASSERT(rc == 0, "jansson reads the line, the scanner fails: %d %s: %.*s", rc,
              wd_log_parser_error(lf_parser), (int)(n < 400 ? n : 400), line);
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
      json_t *x = json_object_get(o, strings[i].key);
      const char *want = json_is_string(x) ? json_string_value(x) : "";
      FZ_ASSERT(strcmp(member(r, strings[i].off), want) == 0, "field %s differs", strings[i].key);
    }
    double ms = floor(json_number_value(ts) * 1000.0);
    FZ_ASSERT(fabs((double)r->time_ms - ms) <= 1.0, "ts %lld, jansson %.0f", (long long)r->time_ms,
              ms);
    FZ_ASSERT(r->status == (status < 0 ? 0 : status), "status differs");
    FZ_ASSERT(r->asn == (asn < 0 ? 0u : (uint32_t)asn), "asn differs");
    char joined[8192] = "";
    size_t o2 = 0;
    for (size_t i = 0; reasons && i < json_array_size(reasons) && o2 < sizeof joined - 1; i++)
      o2 += (size_t)snprintf(joined + o2, sizeof joined - o2, "%s%s", i ? "," : "",
                             json_string_value(json_array_get(reasons, i)));
    if (o2 < sizeof joined - 1)
      FZ_ASSERT(strcmp(r->reasons, joined) == 0, "reasons '%s', jansson '%s'", r->reasons, joined);
  }
  json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lf_run(WD_LOG_WARDEN, data, size, extra);
  return 0;
}
