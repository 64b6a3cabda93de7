/*
 * GET /ui/ and /ui/<file>: the console's files, embedded in the binary (ui_assets.h).
 *
 * /ui redirects to /ui/; /ui/ is index.html; an unknown path under /ui/ that has no extension
 * is index.html too (the console's screens are #fragments, but a bookmarked deep path still
 * opens it). Every answer carries a strict Content-Security-Policy (nothing from outside the
 * machine, no inline script), X-Frame-Options DENY, nosniff and no referrer; files are cached
 * by ETag (If-None-Match gets 304).
 */
#include <string.h>

#include "console.h"
#include "http.h"
#include "request.h"
#include "ui_assets.h"

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                          "object-src 'none'; base-uri 'none'; form-action 'self'; "
                          "frame-ancestors 'none'";

static const ui_asset_t *find(const char *name, size_t n) {
  for (size_t i = 0; i < ui_nassets; i++)
    if (strlen(ui_assets[i].path) == n && !memcmp(ui_assets[i].path, name, n))
      return &ui_assets[i];
  return NULL;
}

void api_ui_asset(loop_t *l, h2o_req_t *req, const char *rest, size_t restlen) {
  (void)l;
  if (!req_method_is(req, "GET", 3) && !req_method_is(req, "HEAD", 4)) {
    http_header(req, "Allow", "GET, HEAD");
    http_send_error(req, ROUTE_UI, 405, "method_not_allowed", "use GET for this path");
    return;
  }
  if (!l->srv->conf->console.enabled) {
    http_send_error(req, ROUTE_UI, 404, "not_found", "the console is off (console.enabled)");
    return;
  }
  if (restlen == 0) { /* "/ui" */
    http_header(req, "Location", "/ui/");
    http_send(req, ROUTE_UI, 301, "text/plain; charset=utf-8", "moved to /ui/\n", 14);
    return;
  }
  const char *name = rest + 1; /* after "/" */
  size_t n = restlen - 1;
  const ui_asset_t *a = n ? find(name, n) : NULL;
  if (!a) {
    int has_ext = memchr(name, '.', n) != NULL;
    if (n && has_ext) {
      http_send_error(req, ROUTE_UI, 404, "not_found", "no such file in the console");
      return;
    }
    a = find("index.html", 10);
    if (!a)
      a = find("fallback.html", 13);
    if (!a) {
      http_send_error(req, ROUTE_UI, 404, "not_found", "the console was not built");
      return;
    }
  }
  http_header(req, "Content-Security-Policy", CSP);
  http_header(req, "X-Frame-Options", "DENY");
  http_header(req, "X-Content-Type-Options", "nosniff");
  http_header(req, "Referrer-Policy", "no-referrer");
  http_header(req, "Cache-Control", "no-cache");
  http_header(req, "ETag", a->etag);
  const char *inm = req_header(req, "if-none-match");
  if (inm && strstr(inm, a->etag)) {
    http_send(req, ROUTE_UI, 304, NULL, "", 0);
    return;
  }
  http_send(req, ROUTE_UI, 200, a->content_type, (const char *)a->data, a->len);
}
