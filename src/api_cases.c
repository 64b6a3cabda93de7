/*
 * Review cases (moderate mode) and their verdicts; the bearer admin token or a console session
 * (viewers read, moderators give verdicts: console.h):
 *   GET  /v1/cases?status=open,escalated&before=&limit=   a page, newest first; "next" is the
 *                                                         cursor for `before`
 *   GET  /v1/cases/<id>                                   one case
 *   POST /v1/cases/<id>/verdict  {"verdict": "ban" | "allow" | "dismiss" | "escalate",
 *                                 "scope": "token" | "subject" | "ip" | "cidr",
 *                                 "value", "ttl" | "until", "note"}
 *
 * A ban verdict adds a ban, an allow verdict an allow-list entry, for the scope (default: the
 * case's identity; "ip" defaults to the first address seen, "cidr" needs a value) with the case
 * as evidence. Without ttl or until, a token-scope ban or entry ends when the token expires
 * (24 hours when that is unknown), others after 24 hours (bans) or 30 days (allow-list). The
 * verdict is answered once the list change and the case's new status are both durable.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console.h"
#include "http.h"
#include "request.h"
#include "writer.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 1000
#define BAN_TTL_DEFAULT 86400
#define ALLOW_TTL_DEFAULT (30 * 86400)

enum { VERDICT_OP = 100 };

static wd_cases_t *cases_of(srv_t *s) {
  return atomic_load_explicit(&s->cases, memory_order_acquire);
}

/* ---------------------------------------------------------------- the request path */

void cases_note_decision(srv_t *s, const wd_decide_input_t *in, const wd_decision_t *d) {
  wd_cases_t *cs = cases_of(s);
  if (!cs || !d->has_case)
    return;
  const wd_identity_t *id = &d->token.id;
  wd_case_event_t ev = {.key_type = WD_BAN_TOKEN,
                        .key = id->token_id,
                        .subject = id->subject,
                        .scheme = wd_scheme_name(id->scheme),
                        .policy = d->policy ? d->policy->name : NULL,
                        .detail = d->detail,
                        .addr = in->req.ip,
                        .country = in->req.country,
                        .token_exp = id->exp,
                        .now = (int64_t)time(NULL)};
  if (!ev.key[0]) {
    ev.key_type = WD_BAN_SUBJECT;
    ev.key = id->subject;
  }
  for (size_t i = 0; i < d->nreasons; i++)
    ev.reasons |= 1u << d->reasons[i];
  if (d->detected)
    ev.score = d->verdict.score;
  wd_cases_note(cs, &ev, NULL); /* a full store counts the event as dropped */
}

/* ---------------------------------------------------------------- JSON */

static void case_json(jw_t *w, const wd_case_t *c) {
  jw_obj(w);
  jw_key(w, "id");
  jw_uint(w, c->id);
  jw_kstr(w, "status", wd_case_status_name(c->status));
  jw_kstr(w, "key_type", wd_ban_type_name(c->key_type));
  jw_kstr(w, "key", c->key);
  jw_kstr(w, "subject", c->subject[0] ? c->subject : NULL);
  jw_kstr(w, "scheme", c->scheme);
  jw_kstr(w, "policy", c->policy);
  jw_key(w, "reasons");
  jw_arr(w);
  for (int r = 0; r < WD_REASON_COUNT; r++)
    if (c->reasons & (1u << r))
      jw_str(w, wd_reason_name((wd_reason_t)r));
  jw_arr_end(w);
  jw_key(w, "hits");
  jw_uint(w, c->hits);
  jw_kint(w, "score", c->score);
  jw_kint(w, "opened", c->opened);
  jw_kint(w, "last_seen", c->last_seen);
  jw_key(w, "token_exp");
  if (c->token_exp)
    jw_int(w, c->token_exp);
  else
    jw_null(w);
  jw_kstr(w, "detail", c->detail);
  jw_key(w, "addresses");
  jw_arr(w);
  for (uint32_t i = 0; i < c->naddrs; i++)
    jw_str(w, c->addrs[i]);
  jw_arr_end(w);
  jw_kint(w, "more_addresses", c->more_addrs);
  jw_key(w, "countries");
  jw_arr(w);
  for (uint32_t i = 0; i < c->ncountries; i++)
    jw_str(w, c->countries[i]);
  jw_arr_end(w);
  jw_key(w, "verdict");
  if (c->verdict_time) {
    jw_obj(w);
    jw_kint(w, "time", c->verdict_time);
    jw_kstr(w, "actor", c->verdict_actor);
    jw_kstr(w, "note", c->verdict_note);
    jw_obj_end(w);
  } else {
    jw_null(w);
  }
  jw_obj_end(w);
}

/* ---------------------------------------------------------------- GET */

static int page_one(const wd_case_t *c, void *arg) {
  case_json(arg, c);
  return 0;
}

static void list_cases(loop_t *l, h2o_req_t *req, wd_cases_t *cs) {
  (void)l;
  char *st = NULL, *before = NULL, *limits = NULL;
  if (req_query_param(req, "status", 128, &st) < 0 ||
      req_query_param(req, "before", 24, &before) < 0 ||
      req_query_param(req, "limit", 16, &limits) < 0) {
    http_send_error(req, ROUTE_CASES, 400, "bad_request", "malformed query");
    return;
  }
  uint32_t statuses = 0;
  for (char *tok = st ? strtok(st, ",") : NULL; tok; tok = strtok(NULL, ",")) {
    wd_case_status_t s;
    if (wd_case_status_parse(tok, &s)) {
      http_send_error(req, ROUTE_CASES, 400, "bad_request",
                      "unknown status '%.40s' (open, escalated, banned, allowed, dismissed)", tok);
      return;
    }
    statuses |= 1u << s;
  }
  unsigned long long b = 0;
  long limit = PAGE_DEFAULT;
  char *end;
  if (before && before[0]) {
    b = strtoull(before, &end, 10);
    if (*end || !b) {
      http_send_error(req, ROUTE_CASES, 400, "bad_request", "'before' must be a case id");
      return;
    }
  }
  if (limits && limits[0]) {
    limit = strtol(limits, &end, 10);
    if (*end || limit <= 0 || limit > PAGE_MAX) {
      http_send_error(req, ROUTE_CASES, 400, "bad_request", "'limit' must be 1 to %d", PAGE_MAX);
      return;
    }
  }
  char buf[4096];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 16u << 20);
  jw_obj(&w);
  jw_key(&w, "cases");
  jw_arr(&w);
  uint64_t next = 0;
  int rc = wd_cases_list(cs, statuses, b, (size_t)limit, page_one, &w, &next);
  if (rc) {
    jw_free(&w);
    http_send_error(req, ROUTE_CASES, 503, "busy", "%s", wd_strerror(rc));
    return;
  }
  jw_arr_end(&w);
  jw_key(&w, "next");
  if (next)
    jw_uint(&w, next);
  else
    jw_null(&w);
  jw_obj_end(&w);
  http_send_jw(req, ROUTE_CASES, 200, &w);
}

/* What sharing detection holds on the case's token now, when it is tracked: the verdict and
 * the networks (most recent first), for the reviewer. */
static void evidence_json(jw_t *w, srv_t *s, const wd_case_t *c) {
  wd_tracker_t *t = NULL;
  for (size_t i = 0; i < s->conf->npolicies && !t; i++)
    if (!strcmp(s->conf->policies[i].name, c->policy))
      t = s->policy_tracker[i];
  wd_detect_evidence_t ev;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (!t || c->key_type != WD_BAN_TOKEN ||
      wd_tracker_get(t, c->key, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &ev))
    return;
  jw_key(w, "evidence");
  jw_obj(w);
  jw_kstr(w, "verdict", wd_verdict_level_name(ev.verdict.level));
  jw_kint(w, "score", ev.verdict.score);
  jw_kstr(w, "explanation", ev.explanation);
  jw_kint(w, "first_seen", ev.first_seen);
  jw_kint(w, "last_seen", ev.last_seen);
  jw_key(w, "networks");
  jw_arr(w);
  for (size_t i = 0; i < ev.nnetworks; i++) {
    const wd_detect_network_t *n = &ev.networks[i];
    jw_obj(w);
    char text[INET6_ADDRSTRLEN + 8] = "";
    if (n->prefix_len > 0 && inet_ntop(n->family == 4 ? AF_INET : AF_INET6, n->prefix, text,
                                       sizeof text - 8))
      snprintf(text + strlen(text), 8, "/%d", n->prefix_len);
    jw_kstr(w, "prefix", text[0] ? text : NULL);
    jw_kint(w, "asn", n->asn);
    wd_geo_info_t gi;
    if (s->geo && n->prefix_len > 0 && n->asn &&
        wd_geo_lookup(s->geo, n->family, n->prefix, &gi) == 0 && gi.asn == n->asn && gi.as_org[0])
      jw_kstr(w, "as_org", gi.as_org);
    jw_kstr(w, "country", n->country[0] ? n->country : NULL);
    jw_kstr(w, "city", n->city[0] ? n->city : NULL);
    if (n->lat == n->lat && n->lon == n->lon) {
      jw_key(w, "lat");
      jw_double(w, n->lat);
      jw_key(w, "lon");
      jw_double(w, n->lon);
    }
    jw_kint(w, "first", n->first);
    jw_kint(w, "last", n->last);
    jw_kint(w, "requests", n->requests);
    jw_obj_end(w);
  }
  jw_arr_end(w);
  jw_kint(w, "more_networks", ev.more_networks);
  jw_obj_end(w);
}

static void send_case(h2o_req_t *req, int status, const wd_case_t *c, const char *noun,
                      const wd_ban_t *b) {
  char buf[4096];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 1u << 20);
  jw_obj(&w);
  jw_key(&w, "case");
  case_json(&w, c);
  evidence_json(&w, loop_of(req)->srv, c);
  if (b) {
    jw_key(&w, noun);
    ban_json(&w, b, (int64_t)time(NULL));
  }
  jw_obj_end(&w);
  http_send_jw(req, ROUTE_CASES, status, &w);
}

/* ---------------------------------------------------------------- verdicts */

/* Fill the ban or allow-list change of a verdict. NULL, or a message for a 400. */
static const char *verdict_change(const json_t *body, const wd_case_t *c, list_kind_t list,
                                  wd_ban_change_t *ch, int64_t now, char *msg, size_t msglen) {
  const json_t *scope = json_object_get(body, "scope"), *value = json_object_get(body, "value");
  const json_t *ttl = json_object_get(body, "ttl"), *until = json_object_get(body, "until");
  wd_ban_type_t t = c->key_type;
  if (scope && !json_is_null(scope) &&
      (!json_is_string(scope) || wd_ban_type_parse(json_string_value(scope), &t)))
    return "'scope' must be one of token, subject, ip, cidr";
  const char *v = NULL;
  if (value && !json_is_null(value)) {
    if (!json_is_string(value))
      return "'value' must be a string";
    v = json_string_value(value);
  } else if (t == c->key_type) {
    v = c->key;
  } else if (t == WD_BAN_SUBJECT) {
    v = c->subject[0] ? c->subject : NULL;
  } else if (t == WD_BAN_IP) {
    v = c->naddrs ? c->addrs[0] : NULL;
  }
  if (!v) {
    snprintf(msg, msglen, "the case has no %s: give 'value'", wd_ban_type_name(t));
    return msg;
  }
  ch->op = WD_BAN_ADD;
  ch->ban.type = t;
  if (wd_ban_canonical(t, v, ch->ban.value)) {
    snprintf(msg, msglen, "'%.60s' is not a valid %s value", v, wd_ban_type_name(t));
    return msg;
  }
  ch->ban.until = 0;
  const char *bad = ban_until_parse(ttl, until, now, &ch->ban.until);
  if (bad)
    return bad;
  if (!ch->ban.until)
    ch->ban.until = t == WD_BAN_TOKEN && c->token_exp > now
                        ? c->token_exp
                        : now + (list == LIST_ALLOW ? ALLOW_TTL_DEFAULT : BAN_TTL_DEFAULT);
  return NULL;
}

static void post_verdict(loop_t *l, h2o_req_t *req, wd_cases_t *cs, uint64_t id,
                         const principal_t *who) {
  wd_case_t c;
  if (wd_cases_get(cs, id, &c)) {
    http_send_error(req, ROUTE_CASES, 404, "not_found", "no case %llu",
                    (unsigned long long)id);
    return;
  }
  size_t n;
  const char *text = http_body(req, &n);
  json_error_t je;
  json_t *body = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(body)) {
    json_decref(body);
    http_send_error(req, ROUTE_CASES, 400, "invalid_json",
                    "the body must be a JSON object {\"verdict\": ban|allow|dismiss|escalate, "
                    "\"scope\", \"value\", \"ttl\"|\"until\", \"note\"}");
    return;
  }
  const char *k;
  json_t *v;
  json_object_foreach(body, k, v) {
    if (strcmp(k, "verdict") && strcmp(k, "scope") && strcmp(k, "value") && strcmp(k, "ttl") &&
        strcmp(k, "until") && strcmp(k, "note")) {
      http_send_error(req, ROUTE_CASES, 400, "bad_request",
                      "unknown field '%.40s' (expected verdict, scope, value, ttl, until, note)",
                      k);
      json_decref(body);
      return;
    }
  }
  const char *verdict = json_string_value(json_object_get(body, "verdict"));
  const json_t *note = json_object_get(body, "note");
  wd_case_status_t status;
  if (!verdict) {
    status = WD_CASE_STATUS_COUNT;
  } else if (!strcmp(verdict, "ban")) {
    status = WD_CASE_BANNED;
  } else if (!strcmp(verdict, "allow")) {
    status = WD_CASE_ALLOWED;
  } else if (!strcmp(verdict, "dismiss")) {
    status = WD_CASE_DISMISSED;
  } else if (!strcmp(verdict, "escalate")) {
    status = WD_CASE_ESCALATED;
  } else {
    status = WD_CASE_STATUS_COUNT;
  }
  const char *bad = NULL;
  if (status == WD_CASE_STATUS_COUNT)
    bad = "'verdict' must be one of ban, allow, dismiss, escalate";
  else if (note && !json_is_null(note) &&
           (!json_is_string(note) || json_string_length(note) >= WD_CASE_TEXT_MAX ||
            strlen(json_string_value(note)) != json_string_length(note)))
    bad = "'note' must be text of at most 255 bytes";
  char note_text[WD_CASE_TEXT_MAX];
  snprintf(note_text, sizeof note_text, "%s",
           json_is_string(note) && !bad ? json_string_value(note) : "");
  int changes = status == WD_CASE_BANNED || status == WD_CASE_ALLOWED;
  ban_op_t *op = bad ? NULL : ban_op_create(changes ? 1 : 0);
  if (!bad && !op) {
    json_decref(body);
    http_send_error(req, ROUTE_CASES, 503, "busy", "out of memory");
    return;
  }
  char msg[256];
  int64_t now = (int64_t)time(NULL);
  if (!bad && changes) {
    op->list = status == WD_CASE_ALLOWED ? LIST_ALLOW : LIST_BANS;
    wd_ban_change_t *ch = &op->changes[0];
    bad = verdict_change(body, &c, op->list, ch, now, msg, sizeof msg);
    if (!bad) {
      snprintf(ch->ban.reason, sizeof ch->ban.reason, "case %llu%s%.200s",
               (unsigned long long)c.id, note_text[0] ? ": " : "", note_text);
      for (char *p = ch->ban.reason; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
          *p = ' ';
      snprintf(ch->ban.actor, sizeof ch->ban.actor, "%s", who->name);
      jw_t w;
      jw_init(&w, NULL, 0, WD_BAN_EVIDENCE_MAX);
      case_json(&w, &c);
      json_t *e = json_object();
      json_t *cj = w.err ? NULL : json_loadb(w.p, w.n, 0, NULL);
      jw_free(&w);
      json_object_set_new(e, "case", cj ? cj : json_null());
      json_object_set_new(e, "request", console_request_info(req, who));
      ch->evidence = json_dumps(e, JSON_COMPACT);
      json_decref(e);
      if (!ch->evidence || strlen(ch->evidence) > WD_BAN_EVIDENCE_MAX)
        bad = "cannot encode the case as evidence";
    }
  }
  json_decref(body);
  if (bad) {
    ban_op_free(op);
    http_send_error(req, ROUTE_CASES, 400, "bad_request", "%s", bad);
    return;
  }
  op->kind = VERDICT_OP;
  op->case_id = c.id;
  op->case_status = status;
  snprintf(op->case_actor, sizeof op->case_actor, "%s", who->name);
  console_stamp(op, who);
  snprintf(op->case_note, sizeof op->case_note, "%s", note_text);
  ban_op_submit(l, req, op, ROUTE_CASES);
}

void api_cases_answer(ban_op_t *op) {
  h2o_req_t *req = ban_op_take_req(op);
  if (!req) {
    ban_op_free(op);
    return;
  }
  const wd_ban_change_t *ch = op->n ? &op->changes[0] : NULL;
  if (op->rc) {
    http_send_error(req, ROUTE_CASES, 503, "storage", "the verdict was not recorded: %s",
                    wd_strerror(op->rc));
  } else if (ch && ch->result) {
    http_send_error(req, ROUTE_CASES, ch->result == WD_EINVAL ? 400 : 503,
                    ch->result == WD_EINVAL ? "bad_request" : "storage",
                    "the %s was not added: %s", op->list == LIST_ALLOW ? "entry" : "ban",
                    wd_strerror(ch->result));
  } else {
    wd_case_t c;
    wd_cases_t *cs = cases_of(loop_of(req)->srv);
    if (!cs || wd_cases_get(cs, op->case_id, &c))
      http_send_error(req, ROUTE_CASES, 404, "not_found", "the case is gone");
    else
      send_case(req, 200, &c, op->list == LIST_ALLOW ? "entry" : "ban", ch ? &ch->ban : NULL);
  }
  ban_op_free(op);
}

/* ---------------------------------------------------------------- routing */

void api_cases(loop_t *l, h2o_req_t *req, const char *rest, size_t restlen) {
  principal_t who;
  int get = req_method_is(req, "GET", 3) || req_method_is(req, "HEAD", 4);
  if (!console_auth(req, ROUTE_CASES, get ? WD_ROLE_VIEWER : WD_ROLE_MODERATOR, &who))
    return;
  wd_cases_t *cs = cases_of(l->srv);
  if (!cs) {
    http_header(req, "Retry-After", "1");
    http_send_error(req, ROUTE_CASES, 503, "loading", "the case store is still loading");
    return;
  }
  if (restlen <= 1) { /* "/v1/cases" or "/v1/cases/" */
    if (get)
      list_cases(l, req, cs);
    else {
      http_header(req, "Allow", "GET");
      http_send_error(req, ROUTE_CASES, 405, "method_not_allowed", "use GET for this path");
    }
    return;
  }
  /* "/<id>" or "/<id>/verdict" */
  char idbuf[24];
  const char *p = rest + 1, *end = rest + restlen;
  const char *slash = memchr(p, '/', (size_t)(end - p));
  size_t idlen = (size_t)((slash ? slash : end) - p);
  int verdict = slash && (size_t)(end - slash) == 8 && !memcmp(slash, "/verdict", 8);
  unsigned long long id = 0;
  char *idend = NULL;
  if (idlen && idlen < sizeof idbuf) {
    memcpy(idbuf, p, idlen);
    idbuf[idlen] = '\0';
    id = strtoull(idbuf, &idend, 10);
  }
  if (!id || !idend || *idend || (slash && !verdict)) {
    http_send_error(req, ROUTE_CASES, 404, "not_found",
                    "use /v1/cases, /v1/cases/<id> or /v1/cases/<id>/verdict");
    return;
  }
  if (verdict) {
    if (req_method_is(req, "POST", 4)) {
      post_verdict(l, req, cs, id, &who);
    } else {
      http_header(req, "Allow", "POST");
      http_send_error(req, ROUTE_CASES, 405, "method_not_allowed", "use POST for a verdict");
    }
    return;
  }
  if (!get) {
    http_header(req, "Allow", "GET");
    http_send_error(req, ROUTE_CASES, 405, "method_not_allowed", "use GET for this path");
    return;
  }
  wd_case_t c;
  if (wd_cases_get(cs, id, &c)) {
    http_send_error(req, ROUTE_CASES, 404, "not_found", "no case %llu", id);
    return;
  }
  send_case(req, 200, &c, NULL, NULL);
}
