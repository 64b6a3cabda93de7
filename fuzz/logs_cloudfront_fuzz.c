/*
 * Fuzz target logs_cloudfront: CloudFront standard log files (#Version and #Fields headers
 * that change the columns, tab-separated lines) through wd_log_parse and wd_log_find_token; the
 * invariants are those of fuzz/logs_fuzz.h. Beyond them: no record string holds a tab (columns
 * are cut at every tab), and a country or host is never '-' (that means empty).
 */
#include "logs_fuzz.h"

static void extra(const char *line, size_t n, int rc, const wd_log_record_t *r) {
  (void)line;
  (void)n;
  if (rc != 0)
    return;
  const char *const cut[] = {r->client_ip, r->method,  r->host,     r->path,         r->query,
                             r->edge,      r->country, r->protocol, r->forwarded_for};
  for (size_t i = 0; i < sizeof cut / sizeof *cut; i++)
    FZ_ASSERT(!strchr(cut[i], '\t'), "a tab in field %zu", i);
  FZ_ASSERT(strcmp(r->country, "-") && strcmp(r->host, "-") && strcmp(r->query, "-"),
            "'-' not read as empty");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lf_run(WD_LOG_CLOUDFRONT, data, size, extra);
  return 0;
}
