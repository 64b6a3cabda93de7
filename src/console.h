/*
 * Who may call the admin API and the console, and how people sign in (docs/console.md).
 *
 * Two kinds of credentials reach the admin endpoints:
 *   - `Authorization: Bearer <admin token>`: the admin role, as before the console existed
 *     (scripts, automation); the actor in the audit trail is "admin";
 *   - the console's session cookie (warden_session, or __Host-warden_session when Secure),
 *     made by POST /ui/login: the user's role; every request other than GET and HEAD must also
 *     carry the session's CSRF token in `X-CSRF-Token` (a synchronizer token: /ui/session and
 *     /ui/login return it).
 * Roles: viewers read; moderators also give case verdicts and add and lift bans and allow-list
 * entries; admins also switch policy modes.
 *
 * Sign-in: POST /ui/login {"user","password"} (Content-Type application/json). The password is
 * checked on the console's worker thread (scrypt or PBKDF2 take tens to hundreds of
 * milliseconds: never on an event loop) with at most CONSOLE_LOGIN_QUEUE sign-ins waiting
 * (429 past that); an unknown user costs the same as a wrong password. Five failures in a row
 * for a user lock that user's sign-in for 10, 20, 40, ... seconds (at most 5 minutes). Sessions
 * live in memory (a restart signs everybody out).
 *
 * Every sign-in, failed sign-in and sign-out is written to the audit trail with the user name
 * and address, like every state change the API makes (writer_audit).
 */
#ifndef WARDEN_SRC_CONSOLE_H
#define WARDEN_SRC_CONSOLE_H

#include <stddef.h>

#include <jansson.h>

#include "warden/auth.h"

#include "metrics.h"
#include "server.h"

#define CONSOLE_LOGIN_QUEUE 8
#define CONSOLE_COOKIE "warden_session"
#define CONSOLE_COOKIE_SECURE "__Host-warden_session"
#define CONSOLE_CSRF_HEADER "x-csrf-token"

/* Who made a request. */
typedef struct principal {
  char name[WD_SESSION_USER_MAX];  /* the user, or "admin" for the bearer token */
  wd_role_t role;
  int session;                     /* 1: a console session; 0: the bearer token */
  char ip[64];                     /* the client's address */
} principal_t;

/*
 * Authenticate and authorize a request for an endpoint that needs role `need`: the bearer
 * token, else the session cookie (with the CSRF header unless the method is GET or HEAD).
 * Returns 1 and fills *who (when not NULL); otherwise answers (401 no or bad credentials, 403
 * a role too low or a missing or wrong CSRF token, 503 the console is off and no bearer) and
 * returns 0.
 */
int console_auth(h2o_req_t *req, metrics_route_t route, wd_role_t need, principal_t *who);

/* The audit trail's "via" for a principal: "console" or "api". */
static inline const char *principal_via(const principal_t *p) {
  return p->session ? "console" : "api";
}

/*
 * Start the console: the session table and the sign-in worker thread (after the writer, before
 * the loops). 0, or -1 with err.
 */
int console_start(srv_t *s, char *err, size_t errlen);

/* Stop the worker (after the loops have stopped) and free the sessions. */
void console_stop(srv_t *s);

/* POST /ui/login, POST /ui/logout, GET /ui/session (routed by http.c). */
void api_ui_login(loop_t *l, h2o_req_t *req);
void api_ui_logout(loop_t *l, h2o_req_t *req);
void api_ui_session(loop_t *l, h2o_req_t *req);

/* GET /ui and /ui/<asset>: the console's files, embedded in the binary (api_ui.c). */
void api_ui_asset(loop_t *l, h2o_req_t *req, const char *rest, size_t restlen);

/* Answers from the worker, on the loop thread that asked (registered by http_start). */
void console_on_answers(h2o_multithread_receiver_t *recv, h2o_linklist_t *messages);

/* Stamp a ban change or verdict with who asked, for the audit trail the writer keeps. */
struct ban_op;
void console_stamp(struct ban_op *op, const principal_t *who);

/* The request info kept as a ban's evidence, with the user and how they came
 * ({"ip", "user_agent", "via", "user"}). */
json_t *console_request_info(h2o_req_t *req, const principal_t *who);

/*
 * Record an action in the audit trail (copied; written by the writer thread). detail is a JSON
 * object as text or NULL. Never blocks; a full queue drops the record and counts it.
 */
void console_audit(srv_t *s, const principal_t *who, const char *action, const char *target,
                   int ok, const char *detail);

#endif
