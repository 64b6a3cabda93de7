/*
 * Policies at run time (the bearer admin token or a console session: viewers read, admins
 * switch modes; see console.h):
 *   GET /v1/policies                      names, match rules and current modes
 *   PUT /v1/policies/<name>/mode          {"mode": "monitor"|"moderate"|"automate"}
 *   GET /v1/policies/<name>/whatif?mode=  what the switch would enforce: current cases of the
 *                                         policy, and its recent decisions (monitor.c)
 * A mode switch is one atomic store into the decider's copy of the policy: the next decision
 * on any thread uses it, no restart. It lasts until the process stops (the configuration file
 * keeps the mode a restart begins with); each switch is logged on stderr and in the audit trail
 * with the old and new mode and who made it.
 */
#include <stdio.h>
#include <string.h>

#include "console.h"
#include "http.h"
#include "monitor.h"
#include "request.h"

static void policy_json(jw_t *w, const wd_policy_t *p) {
  jw_obj(w);
  jw_kstr(w, "name", p->name);
  jw_key(w, "host");
  jw_str(w, p->host);
  jw_key(w, "path_prefix");
  jw_str(w, p->path_prefix);
  jw_kstr(w, "mode", wd_mode_name(wd_policy_mode(p)));
  jw_key(w, "schemes");
  jw_arr(w);
  for (size_t i = 0; i < p->nschemes; i++)
    jw_str(w, wd_scheme_name(p->schemes[i]));
  jw_arr_end(w);
  jw_obj_end(w);
}

void api_policies(loop_t *l, h2o_req_t *req, const char *rest, size_t restlen) {
  principal_t who;
  int put = req_method_is(req, "PUT", 3);
  if (!console_auth(req, ROUTE_POLICIES, put ? WD_ROLE_ADMIN : WD_ROLE_VIEWER, &who))
    return;
  wd_decider_t *d = srv_decider(l->srv);
  if (!d) {
    http_header(req, "Retry-After", "1");
    http_send_error(req, ROUTE_POLICIES, 503, "loading", "the ban list is still loading");
    return;
  }
  if (restlen <= 1) {
    if (!req_method_is(req, "GET", 3)) {
      http_header(req, "Allow", "GET");
      http_send_error(req, ROUTE_POLICIES, 405, "method_not_allowed", "use GET for this path");
      return;
    }
    char buf[4096];
    jw_t w;
    jw_init(&w, buf, sizeof buf, 16u << 20);
    jw_obj(&w);
    jw_key(&w, "policies");
    jw_arr(&w);
    size_t n = wd_decider_npolicies(d);
    for (size_t i = 0; i < n; i++)
      policy_json(&w, wd_decider_policy_at(d, i));
    jw_arr_end(&w);
    jw_obj_end(&w);
    http_send_jw(req, ROUTE_POLICIES, 200, &w);
    return;
  }
  /* rest is "/<name>", "/<name>/mode" or "/<name>/whatif" */
  const char *name = rest + 1, *end = rest + restlen;
  const char *slash = memchr(name, '/', (size_t)(end - name));
  size_t nlen = slash ? (size_t)(slash - name) : (size_t)(end - name);
  int is_mode = slash && (size_t)(end - slash) == 5 && !memcmp(slash, "/mode", 5);
  int is_whatif = slash && (size_t)(end - slash) == 7 && !memcmp(slash, "/whatif", 7);
  if (nlen == 0 || nlen > 64 || (slash && !is_mode && !is_whatif)) {
    http_send_error(req, ROUTE_POLICIES, 404, "not_found",
                    "use /v1/policies, /v1/policies/<name>/mode or /v1/policies/<name>/whatif");
    return;
  }
  char pname[65];
  memcpy(pname, name, nlen);
  pname[nlen] = '\0';
  wd_policy_t *p = wd_decider_policy(d, pname);
  if (!p) {
    http_send_error(req, ROUTE_POLICIES, 404, "not_found", "no policy named '%s'", pname);
    return;
  }
  if (is_whatif) {
    char *m = NULL;
    wd_mode_t mode;
    if (!req_method_is(req, "GET", 3)) {
      http_header(req, "Allow", "GET");
      http_send_error(req, ROUTE_POLICIES, 405, "method_not_allowed", "use GET for this path");
    } else if (req_query_param(req, "mode", 16, &m) <= 0 || wd_mode_parse(m, &mode)) {
      http_send_error(req, ROUTE_POLICIES, 400, "bad_request",
                      "give ?mode=monitor, moderate or automate");
    } else {
      monitor_whatif(l, req, p, mode);
    }
    return;
  }
  if (!is_mode || !req_method_is(req, "PUT", 3)) {
    if (!is_mode && req_method_is(req, "GET", 3)) {
      char buf[1024];
      jw_t w;
      jw_init(&w, buf, sizeof buf, 1u << 20);
      policy_json(&w, p);
      http_send_jw(req, ROUTE_POLICIES, 200, &w);
      return;
    }
    http_header(req, "Allow", is_mode ? "PUT" : "GET");
    http_send_error(req, ROUTE_POLICIES, 405, "method_not_allowed", "use %s for this path",
                    is_mode ? "PUT" : "GET");
    return;
  }
  size_t blen;
  const char *body = http_body(req, &blen);
  json_error_t je;
  json_t *root = json_loadb(body, blen, 0, &je);
  if (!root) {
    http_send_error(req, ROUTE_POLICIES, 400, "invalid_json",
                    "the body is not JSON: %s (line %d); send {\"mode\": \"automate\"}", je.text,
                    je.line);
    return;
  }
  const json_t *m = json_object_get(root, "mode");
  wd_mode_t mode;
  if (!json_is_object(root) || !json_is_string(m) || wd_mode_parse(json_string_value(m), &mode)) {
    json_decref(root);
    http_send_error(req, ROUTE_POLICIES, 400, "bad_request",
                    "send {\"mode\": \"monitor\" | \"moderate\" | \"automate\"}");
    return;
  }
  json_decref(root);
  wd_mode_t old = wd_policy_mode(p);
  wd_policy_set_mode(p, mode);
  fprintf(stderr, "warden: policy '%s' mode %s -> %s (%s from %s)\n", p->name,
          wd_mode_name(old), wd_mode_name(mode), who.name, who.ip);
  char target[80], detail[96];
  snprintf(target, sizeof target, "policy %s", p->name);
  snprintf(detail, sizeof detail, "{\"mode\":\"%s\",\"previous\":\"%s\"}", wd_mode_name(mode),
           wd_mode_name(old));
  console_audit(l->srv, &who, "policy.mode", target, 1, detail);
  char buf[1024];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 1u << 20);
  jw_obj(&w);
  jw_kstr(&w, "policy", p->name);
  jw_kstr(&w, "mode", wd_mode_name(mode));
  jw_kstr(&w, "previous", wd_mode_name(old));
  jw_obj_end(&w);
  http_send_jw(req, ROUTE_POLICIES, 200, &w);
}
