/*
 * The ban-list and allow-list admin API (the bearer admin token, or a console session: viewers
 * read, moderators change; see console.h). Both lists have the same structure (wd_banlist_t)
 * and the same API, under /v1/bans and
 * /v1/allow (an allow-list entry exempts a reviewed viewer from cases and sharing detection):
 *   POST   /v1/bans                    {"type","value","ttl"|"until","reason","evidence"} or a
 *                                      list of them (at most 1000): 201 once committed
 *   GET    /v1/bans?type=&value=       one ban (404 when absent)
 *   GET    /v1/bans?type=&prefix=&after=&limit=   a page of bans, "next" is the cursor
 *   GET    /v1/bans/<type>/<value>     one ban
 *   DELETE /v1/bans?type=&value=[&reason=]  or  /v1/bans/<type>/<value>: lift (404 when absent)
 *   GET    /v1/audit?limit=&list=[&type=&value=]   the change log of bans (or list=allow),
 *                                      newest first; with type and value only that entry's
 *   GET    /v1/audit?list=actions[&actor=&action=&q=&since=&before=&limit=]   the audit trail
 *                                      (people and the detector), newest first, "next" cursor
 *
 * Changes go to the writer thread and the client is answered only when the writer has
 * committed them (wd_banlist_apply returned: the change survives kill -9). The request may go
 * away meanwhile (an HTTP/2 stream reset): a small object in the request's pool notices and
 * detaches the pending change, which still commits.
 *
 * Bans without ttl or until are permanent (until 0), whatever their type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console.h"
#include "http.h"
#include "request.h"
#include "util/url.h"
#include "writer.h"

#define POST_MAX_BANS 1000
#define PAGE_DEFAULT 100
#define TTL_MAX (10LL * 366 * 86400)

enum { OP_ADD_ONE = 1, OP_ADD_MANY, OP_LIFT };

typedef struct list_desc {
  metrics_route_t route;
  const char *path;       /* for messages */
  const char *noun;       /* one entry, in messages and as the JSON key of one */
  const char *plural;     /* the JSON key of a page */
} list_desc_t;

static const list_desc_t lists[2] = {
    [LIST_BANS] = {ROUTE_BANS, "/v1/bans", "ban", "bans"},
    [LIST_ALLOW] = {ROUTE_ALLOW, "/v1/allow", "entry", "entries"},
};

static wd_banlist_t *list_of(srv_t *s, list_kind_t k) {
  return atomic_load_explicit(k == LIST_ALLOW ? &s->allow : &s->bans, memory_order_acquire);
}

struct ban_op_ref {
  ban_op_t *op;
};

static void ref_dispose(void *p) {
  ban_op_ref_t *ref = p;
  if (ref->op) {
    ref->op->req = NULL;
    ref->op->ref = NULL;
  }
}

void ban_json(jw_t *w, const wd_ban_t *b, int64_t now) {
  jw_obj(w);
  jw_kstr(w, "type", wd_ban_type_name(b->type));
  jw_kstr(w, "value", b->value);
  jw_kint(w, "created", b->created);
  jw_key(w, "until");
  if (b->until)
    jw_int(w, b->until);
  else
    jw_null(w);
  jw_kstr(w, "reason", b->reason);
  jw_kstr(w, "actor", b->actor);
  jw_kbool(w, "expired", b->until && b->until <= now);
  jw_obj_end(w);
}

static const char *change_error(int rc) {
  switch (rc) {
  case WD_EINVAL: return "invalid entry: check type, value, reason and that until is in the future";
  case WD_ERANGE: return "no such entry";
  case WD_ETOOBIG: return "the store is full";
  default: return wd_strerror(rc);
  }
}

/* ---------------------------------------------------------------- answers from the writer */

static void answer(h2o_req_t *req, ban_op_t *op) {
  const list_desc_t *ld = &lists[op->list];
  int64_t now = (int64_t)time(NULL);
  if (op->rc) {
    http_send_error(req, ld->route, 503, "storage", "the change was not committed: %s",
                    wd_strerror(op->rc));
    return;
  }
  char buf[2048];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 4u << 20);
  if (op->kind == OP_LIFT || op->kind == OP_ADD_ONE) {
    wd_ban_change_t *c = &op->changes[0];
    if (c->result) {
      int status = c->result == WD_ERANGE ? 404 : c->result == WD_EINVAL ? 400 : 503;
      http_send_error(req, ld->route, status,
                      status == 404 ? "not_found" : status == 400 ? "bad_request" : "storage",
                      "%s", change_error(c->result));
      return;
    }
    jw_obj(&w);
    if (op->kind == OP_LIFT) {
      jw_key(&w, "lifted");
      jw_obj(&w);
      jw_kstr(&w, "type", wd_ban_type_name(c->ban.type));
      jw_kstr(&w, "value", c->ban.value);
      jw_obj_end(&w);
    } else {
      jw_key(&w, ld->noun);
      if (c->ban.created == 0)
        c->ban.created = now;
      ban_json(&w, &c->ban, now);
    }
    jw_obj_end(&w);
    http_send_jw(req, ld->route, op->kind == OP_LIFT ? 200 : 201, &w);
    return;
  }
  size_t failed = 0;
  jw_obj(&w);
  jw_key(&w, "results");
  jw_arr(&w);
  for (size_t i = 0; i < op->n; i++) {
    wd_ban_change_t *c = &op->changes[i];
    jw_obj(&w);
    jw_kstr(&w, "type", wd_ban_type_name(c->ban.type));
    jw_kstr(&w, "value", c->ban.value);
    jw_kstr(&w, "status", c->result ? "error" : "ok");
    if (c->result) {
      jw_kstr(&w, "error", change_error(c->result));
      failed++;
    }
    jw_obj_end(&w);
  }
  jw_arr_end(&w);
  jw_kint(&w, "committed", (long long)(op->n - failed));
  jw_kint(&w, "failed", (long long)failed);
  jw_obj_end(&w);
  http_send_jw(req, ld->route, failed ? 400 : 201, &w);
}

h2o_req_t *ban_op_take_req(ban_op_t *op) {
  h2o_req_t *req = op->req;
  if (req) {
    op->ref->op = NULL; /* detach first: sending may dispose the request */
    op->ref = NULL;
    op->req = NULL;
  }
  return req;
}

void api_bans_answer(ban_op_t *op) {
  h2o_req_t *req = ban_op_take_req(op);
  if (req)
    answer(req, op);
  ban_op_free(op);
}

void ban_op_submit(loop_t *l, h2o_req_t *req, ban_op_t *op, metrics_route_t route) {
  ban_op_ref_t *ref = h2o_mem_alloc_shared(&req->pool, sizeof *ref, ref_dispose);
  ref->op = op;
  op->ref = ref;
  op->req = req;
  op->origin = l;
  if (!l->srv->writer || writer_submit(l->srv->writer, op)) {
    ref->op = NULL;
    ban_op_free(op);
    http_header(req, "Retry-After", "1");
    http_send_error(req, route, 503, "busy",
                    "too many list changes are waiting to be committed; retry shortly");
  }
}

/* ---------------------------------------------------------------- POST */

const char *ban_until_parse(const json_t *ttl, const json_t *until, int64_t now, int64_t *out) {
  if (ttl && !json_is_null(ttl) && until && !json_is_null(until))
    return "give either 'ttl' or 'until', not both";
  if (ttl && !json_is_null(ttl)) {
    if (!json_is_integer(ttl) || json_integer_value(ttl) <= 0 || json_integer_value(ttl) > TTL_MAX)
      return "'ttl' must be a positive number of seconds (at most 10 years)";
    *out = now + json_integer_value(ttl);
  } else if (until && !json_is_null(until)) {
    if (!json_is_integer(until) || json_integer_value(until) <= now)
      return "'until' must be a unix time in the future";
    *out = json_integer_value(until);
  }
  return NULL;
}

/* Fill change c from one JSON ban. Returns NULL, or a message for a 400. */
static const char *parse_ban(const json_t *o, wd_ban_change_t *c, int64_t now, char *msg,
                             size_t msglen, const char *actor, const json_t *request_info) {
  if (!json_is_object(o))
    return "each entry must be a JSON object {\"type\", \"value\", \"ttl\" or \"until\", \"reason\"}";
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o, k, v) {
    if (strcmp(k, "type") && strcmp(k, "value") && strcmp(k, "ttl") && strcmp(k, "until") &&
        strcmp(k, "reason") && strcmp(k, "evidence")) {
      snprintf(msg, msglen,
               "unknown field '%.40s' (expected type, value, ttl, until, reason, evidence)", k);
      return msg;
    }
  }
  const json_t *type = json_object_get(o, "type"), *value = json_object_get(o, "value");
  const json_t *ttl = json_object_get(o, "ttl"), *until = json_object_get(o, "until");
  const json_t *reason = json_object_get(o, "reason"), *ev = json_object_get(o, "evidence");
  c->op = WD_BAN_ADD;
  if (!json_is_string(type) || wd_ban_type_parse(json_string_value(type), &c->ban.type))
    return "'type' must be one of token, subject, ip, cidr";
  if (!json_is_string(value) ||
      wd_ban_canonical(c->ban.type, json_string_value(value), c->ban.value)) {
    snprintf(msg, msglen, "'value' is not a valid %s (%s)", wd_ban_type_name(c->ban.type),
             c->ban.type == WD_BAN_IP     ? "an IPv4 or IPv6 address"
             : c->ban.type == WD_BAN_CIDR ? "a prefix like 10.0.0.0/8"
                                          : "1 to 159 bytes of text without control characters");
    return msg;
  }
  const char *bad = ban_until_parse(ttl, until, now, &c->ban.until);
  if (bad)
    return bad;
  if (reason && !json_is_null(reason)) {
    if (!json_is_string(reason) || json_string_length(reason) >= WD_BAN_TEXT_MAX ||
        strlen(json_string_value(reason)) != json_string_length(reason))
      return "'reason' must be text of at most 255 bytes";
    for (const unsigned char *s = (const unsigned char *)json_string_value(reason); *s; s++)
      if (*s < 0x20 || *s == 0x7f)
        return "'reason' must not contain control characters";
    snprintf(c->ban.reason, sizeof c->ban.reason, "%s", json_string_value(reason));
  }
  snprintf(c->ban.actor, sizeof c->ban.actor, "%s", actor);
  json_t *e = json_object();
  if (ev && !json_is_null(ev))
    json_object_set(e, "evidence", (json_t *)ev);
  json_object_set(e, "request", (json_t *)request_info);
  char *text = json_dumps(e, JSON_COMPACT);
  json_decref(e);
  if (!text)
    return "cannot encode the evidence";
  if (strlen(text) > WD_BAN_EVIDENCE_MAX) {
    free(text);
    return "'evidence' is over 64 KiB";
  }
  c->evidence = text;
  return NULL;
}

json_t *admin_request_info(h2o_req_t *req, const conf_t *conf) {
  char ip[64] = "";
  int via;
  req_client_ip(conf, req, ip, sizeof ip, &via);
  json_t *ri = json_object();
  json_object_set_new(ri, "ip", json_string(ip));
  const char *ua = req_header(req, "user-agent");
  if (ua && strlen(ua) < 512)
    json_object_set_new(ri, "user_agent", json_string(ua));
  json_object_set_new(ri, "via", json_string("admin-api"));
  return ri;
}

static void post_bans(loop_t *l, h2o_req_t *req, list_kind_t list, const principal_t *who) {
  const list_desc_t *ld = &lists[list];
  size_t n;
  const char *body = http_body(req, &n);
  json_error_t je;
  json_t *root = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    http_send_error(req, ld->route, 400, "invalid_json", "the body is not JSON: %s (line %d)",
                    je.text, je.line);
    return;
  }
  int many = json_is_array(root);
  size_t count = many ? json_array_size(root) : 1;
  if (count == 0 || count > POST_MAX_BANS) {
    json_decref(root);
    http_send_error(req, ld->route, 400, "bad_request", "send 1 to %d entries per request",
                    POST_MAX_BANS);
    return;
  }
  ban_op_t *op = ban_op_create(count);
  if (!op) {
    json_decref(root);
    http_send_error(req, ld->route, 503, "busy", "out of memory");
    return;
  }
  op->kind = many ? OP_ADD_MANY : OP_ADD_ONE;
  op->list = list;
  json_t *ri = console_request_info(req, who);
  int64_t now = (int64_t)time(NULL);
  for (size_t i = 0; i < count; i++) {
    char msg[256];
    const char *bad = parse_ban(many ? json_array_get(root, i) : root, &op->changes[i], now, msg,
                                sizeof msg, who->name, ri);
    if (bad) {
      json_decref(ri);
      json_decref(root);
      ban_op_free(op);
      if (many)
        http_send_error(req, ld->route, 400, "bad_request", "%s %zu: %s", ld->noun, i + 1, bad);
      else
        http_send_error(req, ld->route, 400, "bad_request", "%s", bad);
      return;
    }
  }
  json_decref(ri);
  json_decref(root);
  console_stamp(op, who);
  ban_op_submit(l, req, op, ld->route);
}

/* ---------------------------------------------------------------- GET / DELETE */

/* type and value from /v1/bans/<type>/<value> (rest starts after "/v1/bans") or the query. */
static int target(h2o_req_t *req, const char *rest, size_t restlen, char **type, char **value) {
  *type = *value = NULL;
  if (restlen > 1) {
    const char *p = rest + 1, *end = rest + restlen;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    if (!slash || slash == p || slash + 1 >= end)
      return -1;
    *type = h2o_strdup(&req->pool, p, (size_t)(slash - p)).base;
    size_t vn = (size_t)(end - slash - 1);
    char *v = h2o_mem_alloc_pool(&req->pool, vn + 1);
    long k = wd_pct_decode(slash + 1, vn, v, vn + 1, 0);
    if (k < 0)
      return -1;
    v[k] = '\0';
    *value = v;
    return 0;
  }
  if (req_query_param(req, "type", 16, type) < 0 ||
      req_query_param(req, "value", WD_BAN_VALUE_MAX, value) < 0)
    return -1;
  return 0;
}

typedef struct list_ctx {
  jw_t *w;
  int64_t now;
} list_ctx_t;

static int list_one(const wd_ban_t *b, void *arg) {
  list_ctx_t *lc = arg;
  ban_json(lc->w, b, lc->now);
  return 0;
}

static void get_bans(loop_t *l, h2o_req_t *req, list_kind_t list, const char *rest,
                     size_t restlen) {
  const list_desc_t *ld = &lists[list];
  wd_banlist_t *bl = list_of(l->srv, list);
  if (!bl) {
    http_header(req, "Retry-After", "1");
    http_send_error(req, ld->route, 503, "loading", "the lists are still loading");
    return;
  }
  char *type = NULL, *value = NULL, *prefix = NULL, *after = NULL, *limits = NULL;
  if (target(req, rest, restlen, &type, &value) ||
      req_query_param(req, "prefix", WD_BAN_VALUE_MAX, &prefix) < 0 ||
      req_query_param(req, "after", 1024, &after) < 0 ||
      req_query_param(req, "limit", 16, &limits) < 0) {
    http_send_error(req, ld->route, 400, "bad_request", "malformed query or path");
    return;
  }
  wd_ban_type_t t = 0;
  if (type && type[0] && wd_ban_type_parse(type, &t)) {
    http_send_error(req, ld->route, 400, "bad_request",
                    "unknown type '%s' (expected one of token, subject, ip, cidr)", type);
    return;
  }
  int64_t now = (int64_t)time(NULL);
  char buf[4096];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 64u << 20);
  if (value && value[0]) {
    if (!t) {
      http_send_error(req, ld->route, 400, "bad_request", "give 'type' with 'value'");
      return;
    }
    wd_ban_t b;
    int rc = wd_banlist_get(bl, t, value, &b);
    if (rc == WD_ENOTOKEN) {
      http_send_error(req, ld->route, 404, "not_found", "no %s %s for that value",
                      wd_ban_type_name(t), ld->noun);
      return;
    }
    if (rc) {
      http_send_error(req, ld->route, rc == WD_EINVAL ? 400 : 500,
                      rc == WD_EINVAL ? "bad_request" : "storage", "%s",
                      rc == WD_EINVAL ? "the value is not valid for its type" : wd_strerror(rc));
      return;
    }
    jw_obj(&w);
    jw_key(&w, ld->noun);
    ban_json(&w, &b, now);
    jw_obj_end(&w);
    http_send_jw(req, ld->route, 200, &w);
    return;
  }
  long limit = PAGE_DEFAULT;
  if (limits) {
    char *end;
    limit = strtol(limits, &end, 10);
    if (*end || limit <= 0 || limit > WD_BAN_PAGE_MAX) {
      http_send_error(req, ld->route, 400, "bad_request", "'limit' must be 1 to %d",
                      WD_BAN_PAGE_MAX);
      return;
    }
  }
  jw_obj(&w);
  jw_key(&w, ld->plural);
  jw_arr(&w);
  list_ctx_t lc = {&w, now};
  char *next = NULL;
  int rc = wd_banlist_list(bl, t, prefix && prefix[0] ? prefix : NULL,
                           after && after[0] ? after : NULL, (size_t)limit, list_one, &lc, &next);
  if (rc) {
    free(next);
    jw_free(&w);
    http_send_error(req, ld->route, rc == WD_EINVAL ? 400 : 500,
                    rc == WD_EINVAL ? "bad_request" : "storage", "%s",
                    rc == WD_EINVAL ? "bad type, prefix or cursor" : wd_strerror(rc));
    return;
  }
  jw_arr_end(&w);
  jw_key(&w, "next");
  jw_str(&w, next);
  jw_obj_end(&w);
  free(next);
  http_send_jw(req, ld->route, 200, &w);
}

static void delete_ban(loop_t *l, h2o_req_t *req, list_kind_t list, const char *rest,
                       size_t restlen, const principal_t *who) {
  const list_desc_t *ld = &lists[list];
  char *type = NULL, *value = NULL, *reason = NULL;
  wd_ban_type_t t;
  if (target(req, rest, restlen, &type, &value) || !type || !value || !value[0]) {
    http_send_error(req, ld->route, 400, "bad_request",
                    "say which %s: DELETE %s?type=T&value=V or %s/T/V", ld->noun, ld->path,
                    ld->path);
    return;
  }
  if (wd_ban_type_parse(type, &t)) {
    http_send_error(req, ld->route, 400, "bad_request",
                    "unknown type '%s' (expected one of token, subject, ip, cidr)", type);
    return;
  }
  if (req_query_param(req, "reason", WD_BAN_TEXT_MAX - 1, &reason) < 0) {
    http_send_error(req, ld->route, 400, "bad_request", "'reason' is at most 255 bytes");
    return;
  }
  ban_op_t *op = ban_op_create(1);
  if (!op) {
    http_send_error(req, ld->route, 503, "busy", "out of memory");
    return;
  }
  op->kind = OP_LIFT;
  op->list = list;
  wd_ban_change_t *c = &op->changes[0];
  c->op = WD_BAN_LIFT;
  c->ban.type = t;
  if (wd_ban_canonical(t, value, c->ban.value)) {
    ban_op_free(op);
    http_send_error(req, ld->route, 400, "bad_request", "'%s' is not a valid %s value",
                    value, wd_ban_type_name(t));
    return;
  }
  if (reason) {
    for (char *s = reason; *s; s++)
      if ((unsigned char)*s < 0x20 || *s == 0x7f)
        *s = ' ';
    snprintf(c->ban.reason, sizeof c->ban.reason, "%s", reason);
  }
  snprintf(c->ban.actor, sizeof c->ban.actor, "%s", who->name);
  json_t *e = json_object();
  json_object_set_new(e, "request", console_request_info(req, who));
  c->evidence = json_dumps(e, JSON_COMPACT);
  json_decref(e);
  console_stamp(op, who);
  ban_op_submit(l, req, op, ld->route);
}

void api_bans(loop_t *l, h2o_req_t *req, list_kind_t list, const char *rest, size_t restlen) {
  const list_desc_t *ld = &lists[list];
  int sub = restlen > 1;
  principal_t who;
  if (req_method_is(req, "POST", 4) && !sub) {
    if (!console_auth(req, ld->route, WD_ROLE_MODERATOR, &who))
      return;
    if (!srv_decider(l->srv)) {
      http_header(req, "Retry-After", "1");
      http_send_error(req, ld->route, 503, "loading", "the lists are still loading");
      return;
    }
    post_bans(l, req, list, &who);
  } else if (req_method_is(req, "GET", 3) || req_method_is(req, "HEAD", 4)) {
    if (console_auth(req, ld->route, WD_ROLE_VIEWER, &who))
      get_bans(l, req, list, rest, restlen);
  } else if (req_method_is(req, "DELETE", 6)) {
    if (!console_auth(req, ld->route, WD_ROLE_MODERATOR, &who))
      return;
    if (!srv_decider(l->srv)) {
      http_header(req, "Retry-After", "1");
      http_send_error(req, ld->route, 503, "loading", "the lists are still loading");
      return;
    }
    delete_ban(l, req, list, rest, restlen, &who);
  } else {
    http_header(req, "Allow", sub ? "GET, DELETE" : "GET, POST, DELETE");
    http_send_error(req, ld->route, 405, "method_not_allowed", "use %s for this path",
                    sub ? "GET or DELETE" : "GET, POST or DELETE");
  }
}

/* ---------------------------------------------------------------- audit */

typedef struct audit_ctx {
  jw_t *w;
  const char *type, *value;   /* only records about this entry (list audits), or NULL */
  long want, got;
} audit_ctx_t;

static int audit_one(const char *line, void *arg) {
  audit_ctx_t *ac = arg;
  if (ac->value) {
    json_t *o = json_loads(line, 0, NULL);
    const char *t = json_string_value(json_object_get(o, "type"));
    const char *v = json_string_value(json_object_get(o, "value"));
    int same = t && v && !strcmp(t, ac->type) && !strcmp(v, ac->value);
    json_decref(o);
    if (!same)
      return 0;
  }
  jw_raw_value(ac->w, line, strlen(line));
  return ++ac->got >= ac->want ? 1 : 0;
}

/* GET /v1/audit?list=actions: the audit trail of people and the detector, with filters. */
static void audit_actions(loop_t *l, h2o_req_t *req, long limit) {
  wd_audit_t *a = atomic_load_explicit(&l->srv->audit, memory_order_acquire);
  if (!a) {
    http_header(req, "Retry-After", "1");
    http_send_error(req, ROUTE_AUDIT, 503, "loading", "the audit trail is still loading");
    return;
  }
  char *actor = NULL, *action = NULL, *q = NULL, *before = NULL, *since = NULL;
  if (req_query_param(req, "actor", 64, &actor) < 0 ||
      req_query_param(req, "action", 32, &action) < 0 || req_query_param(req, "q", 128, &q) < 0 ||
      req_query_param(req, "before", 24, &before) < 0 ||
      req_query_param(req, "since", 24, &since) < 0) {
    http_send_error(req, ROUTE_AUDIT, 400, "bad_request",
                    "malformed actor, action, q, before or since");
    return;
  }
  char *bend = NULL, *send = NULL;
  unsigned long long b = before && before[0] ? strtoull(before, &bend, 10) : 0;
  long long si = since && since[0] ? strtoll(since, &send, 10) : 0;
  if ((bend && (*bend || !b)) || (send && *send) || si < 0) {
    http_send_error(req, ROUTE_AUDIT, 400, "bad_request",
                    "'before' is a record's seq, 'since' a unix time");
    return;
  }
  wd_audit_filter_t f = {.actor = actor, .action = action, .text = q, .since = si};
  char buf[4096];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 64u << 20);
  jw_obj(&w);
  jw_key(&w, "audit");
  jw_arr(&w);
  audit_ctx_t ac = {.w = &w, .want = limit};
  uint64_t next = 0;
  int rc = wd_audit_list(a, b, (size_t)limit, &f, audit_one, &ac, &next);
  if (rc < 0) {
    jw_free(&w);
    http_send_error(req, ROUTE_AUDIT, 500, "storage", "%s", wd_strerror(rc));
    return;
  }
  jw_arr_end(&w);
  jw_key(&w, "next");
  if (next)
    jw_uint(&w, next);
  else
    jw_null(&w);
  jw_obj_end(&w);
  http_send_jw(req, ROUTE_AUDIT, 200, &w);
}

void api_audit(loop_t *l, h2o_req_t *req) {
  if (!console_auth(req, ROUTE_AUDIT, WD_ROLE_VIEWER, NULL))
    return;
  char *limits = NULL, *which = NULL, *type = NULL, *value = NULL;
  long limit = PAGE_DEFAULT;
  if (req_query_param(req, "limit", 16, &limits) < 0 ||
      req_query_param(req, "list", 16, &which) < 0 || req_query_param(req, "type", 16, &type) < 0 ||
      req_query_param(req, "value", WD_BAN_VALUE_MAX, &value) < 0) {
    http_send_error(req, ROUTE_AUDIT, 400, "bad_request",
                    "malformed 'limit', 'list', 'type' or 'value'");
    return;
  }
  if (limits) {
    char *end;
    limit = strtol(limits, &end, 10);
    if (*end || limit <= 0 || limit > WD_BAN_PAGE_MAX) {
      http_send_error(req, ROUTE_AUDIT, 400, "bad_request", "'limit' must be 1 to %d",
                      WD_BAN_PAGE_MAX);
      return;
    }
  }
  if (which && !strcmp(which, "actions")) {
    audit_actions(l, req, limit > WD_AUDIT_PAGE_MAX ? WD_AUDIT_PAGE_MAX : limit);
    return;
  }
  list_kind_t list = LIST_BANS;
  if (which && !strcmp(which, "allow"))
    list = LIST_ALLOW;
  else if (which && strcmp(which, "bans")) {
    http_send_error(req, ROUTE_AUDIT, 400, "bad_request",
                    "'list' is bans (default), allow or actions");
    return;
  }
  wd_banlist_t *bl = list_of(l->srv, list);
  if (!bl) {
    http_header(req, "Retry-After", "1");
    http_send_error(req, ROUTE_AUDIT, 503, "loading", "the lists are still loading");
    return;
  }
  /* one entry's records: the value in its canonical form */
  char canon[WD_BAN_VALUE_MAX];
  wd_ban_type_t t = 0;
  if ((type && type[0]) || (value && value[0])) {
    if (!type || !value || wd_ban_type_parse(type, &t) || wd_ban_canonical(t, value, canon)) {
      http_send_error(req, ROUTE_AUDIT, 400, "bad_request",
                      "give 'type' (token, subject, ip, cidr) and a valid 'value' together");
      return;
    }
  }
  char buf[4096];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 256u << 20);
  jw_obj(&w);
  jw_key(&w, "audit");
  jw_arr(&w);
  audit_ctx_t ac = {.w = &w, .want = limit, .type = t ? wd_ban_type_name(t) : NULL,
                    .value = t ? canon : NULL};
  /* a search for one entry reads up to a full page of records to find its few */
  int rc = wd_banlist_audit(bl, t ? WD_BAN_PAGE_MAX : (size_t)limit, audit_one, &ac);
  if (rc < 0) {
    jw_free(&w);
    http_send_error(req, ROUTE_AUDIT, 500, "storage", "%s", wd_strerror(rc));
    return;
  }
  jw_arr_end(&w);
  jw_obj_end(&w);
  http_send_jw(req, ROUTE_AUDIT, 200, &w);
}
