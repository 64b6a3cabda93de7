/*
 * Fuzz target logs_nginx: nginx access log lines (combined, common, with extensions) through
 * wd_log_parse and wd_log_find_token; the invariants are those of fuzz/logs_fuzz.h. Beyond them:
 * a parsed line has a client address without spaces, and a path, query, method and protocol
 * from one request (a path never holds '?': the query starts there).
 */
#include "logs_fuzz.h"

static void extra(const char *line, size_t n, int rc, const wd_log_record_t *r) {
  (void)line;
  (void)n;
  if (rc != 0)
    return;
  FZ_ASSERT(r->client_ip[0] && !strchr(r->client_ip, ' '), "client address '%s'", r->client_ip);
  FZ_ASSERT(!strchr(r->path, '?'), "path '%s' holds the query", r->path);
  FZ_ASSERT(!strchr(r->method, ' '), "method '%s'", r->method);
  FZ_ASSERT(!r->protocol[0] || strncmp(r->protocol, "HTTP/", 5) == 0, "protocol '%s'", r->protocol);
  FZ_ASSERT(!r->cookie[0] && !r->edge[0] && !r->token_id[0], "fields nginx does not log");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lf_run(WD_LOG_NGINX, data, size, extra);
  return 0;
}
