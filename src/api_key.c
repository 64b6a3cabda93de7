/*
 * GET /v1/key/<id>: the AES-128 content key of an encrypted HLS stream (the URI of its
 * #EXT-X-KEY), handed only to a viewer whose token passes the decision a segment of the stream
 * would get: valid, not banned, not shared, the access rules met. Enforcement then holds even
 * where a CDN serves the segments without asking Warden: without the key they are noise.
 *
 * The key `id` names a content key of the configuration (content_keys: id, path, host, the 16
 * bytes). The decision is Warden's ordinary one (wd_decide through decide_for_asset) for the
 * URL `path?<the key request's query>` on `host`, with the request's client address (through a
 * trusted proxy), cookies and headers: a token in the query, a cookie or a header is found the
 * way /auth finds it, and a CAT's catu must cover `path`. The decision is counted, logged
 * (route "key") and fed to sharing detection like a segment's.
 *
 * Answers, by the action after the policy's mode:
 *   allow, renew, throttle          200, the 16 raw bytes, Cache-Control: no-store (a renewal
 *                                   by header or cookie rides along; one by redirect waits for
 *                                   the next playlist or segment)
 *   block                           the status the decision gives (401, 403, or the policy's)
 *   substitute, callout, redirect   403: no key (the alternate asset is for playlists and
 *                                   segments; an encrypted stream without its key is not one)
 * In monitor and moderate mode every valid-or-not request is answered as allow (the key), and
 * the decision log records what automate mode would have done (`enforced`, `reasons`).
 *
 * The key never appears in a log, a metric or an error message.
 */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "request.h"

#define KEY_URL_MAX 16384

static const conf_content_key_t *find_key(const conf_t *c, const char *id, size_t n) {
  for (size_t i = 0; i < c->ncontent_keys; i++) {
    const conf_content_key_t *k = &c->content_keys[i];
    if (strlen(k->id) == n && !memcmp(k->id, id, n))
      return k;
  }
  return NULL;
}

/* The decision's reasons, comma-separated. */
static void reasons_text(const wd_decision_t *d, char *out, size_t cap) {
  size_t k = 0;
  out[0] = '\0';
  for (size_t i = 0; i < d->nreasons && i < WD_DECISION_MAX_REASONS && k < cap; i++)
    k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? "," : "", wd_reason_name(d->reasons[i]));
}

void api_key(loop_t *l, h2o_req_t *req, const char *id, size_t idlen) {
  const conf_t *c = l->srv->conf;
  const conf_content_key_t *k = idlen ? find_key(c, id, idlen) : NULL;
  if (!k) {
    http_header(req, "Cache-Control", "no-store");
    http_send_error(req, ROUTE_KEY, 404, "not_found", "no such content key");
    return;
  }
  h2o_iovec_t q = req_query(req);
  size_t plen = strlen(k->path);
  if (plen + 1 + q.len >= KEY_URL_MAX) {
    http_send_error(req, ROUTE_KEY, 414, "uri_too_long", "the key request's query is too long");
    return;
  }
  char *url = h2o_mem_alloc_pool(&req->pool, plen + 2 + q.len);
  memcpy(url, k->path, plen);
  if (q.len) {
    url[plen] = '?';
    memcpy(url + plen + 1, q.base, q.len);
  }
  url[plen + (q.len ? 1 + q.len : 0)] = '\0';

  wd_decision_t d;
  if (decide_for_asset(l, req, url, k->host, &d))
    return;
  http_header(req, "Cache-Control", "no-store");
  switch (d.action) {
  case WD_ACT_ALLOW:
  case WD_ACT_RENEW:
  case WD_ACT_THROTTLE: {
    if (d.action == WD_ACT_RENEW && d.use_token_response &&
        (d.token.renew == WD_DELIVER_HEADER || d.token.renew == WD_DELIVER_COOKIE))
      for (size_t i = 0; i < d.token.response.nheaders; i++)
        http_header(req, d.token.response.headers[i].name, d.token.response.headers[i].value);
    http_send(req, ROUTE_KEY, 200, "application/octet-stream", (const char *)k->key,
              sizeof k->key);
    break;
  }
  case WD_ACT_BLOCK: {
    char rs[256];
    reasons_text(&d, rs, sizeof rs);
    int status = d.status >= 400 && d.status <= 599 ? d.status : 403;
    if (status == 401)
      http_header(req, "WWW-Authenticate", "Bearer realm=\"warden-key\"");
    http_send_error(req, ROUTE_KEY, status, status == 401 ? "unauthorized" : "forbidden",
                    "no key: %s", rs[0] ? rs : "denied");
    break;
  }
  default: {
    char rs[256];
    reasons_text(&d, rs, sizeof rs);
    http_send_error(req, ROUTE_KEY, 403, "forbidden", "no key: %s (%s)", rs[0] ? rs : "denied",
                    wd_action_name(d.action));
    break;
  }
  }
  wd_decision_cleanup(&d);
}
