/*
 * Console authentication (see console.h): the check every admin endpoint calls, the sign-in
 * worker thread, and /ui/login, /ui/logout, /ui/session.
 *
 * A sign-in travels like a ban change: the loop thread parses the request and queues a job;
 * the worker checks the password (the slow part), opens the session, records the attempt in
 * the audit trail and sends the job back through the loop's console_receiver; the loop thread
 * answers. The request may go away meanwhile: a small object in its pool detaches the job.
 */
#include "console.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "request.h"
#include "ui_assets.h"
#include "util/codec.h"
#include "util/url.h"
#include "writer.h"

#define LOCK_AFTER 5           /* failures in a row before a user's sign-in is locked */
#define LOCK_FIRST_S 10        /* the first lock; each further failure doubles it */
#define LOCK_MAX_S 300

typedef struct login_ref login_ref_t;

typedef struct login_job {
  h2o_multithread_message_t msg;   /* link in the loop's receiver queue */
  struct login_job *next;          /* link in the worker's queue */
  loop_t *origin;
  h2o_req_t *req;                  /* NULL once the client's request is gone */
  login_ref_t *ref;
  char user[WD_SESSION_USER_MAX];
  char password[WD_PASSWORD_MAX + 1];
  size_t pwlen;
  char ip[64];
  int secure;                      /* the cookie gets Secure (and the __Host- name) */
  /* the answer */
  int status;                      /* 200, 401, 429, 503 */
  int64_t retry_after;
  char id[WD_SESSION_TOKEN_LEN + 1];
  wd_session_t session;
} login_job_t;

struct login_ref {
  login_job_t *job;
};

typedef struct console {
  srv_t *srv;
  pthread_t tid;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  login_job_t *head, *tail;
  size_t pending;
  int stop;
  unsigned *fails;                 /* per configured user: failures in a row */
  int64_t *locked_until;
  char dummy[WD_PASSWORD_HASH_MAX]; /* checked for unknown users, so they cost the same */
} console_t;

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* ---------------------------------------------------------------- the audit trail */

void console_audit(srv_t *s, const principal_t *who, const char *action, const char *target,
                   int ok, const char *detail) {
  if (!s->writer)
    return;
  wd_audit_entry_t e = {.time = now_s(),
                        .actor = who->name,
                        .role = who->role ? wd_role_name(who->role) : NULL,
                        .via = principal_via(who),
                        .action = action,
                        .target = target,
                        .ip = who->ip,
                        .ok = ok,
                        .detail = detail};
  writer_audit(s->writer, &e);
}

void console_stamp(struct ban_op *op, const principal_t *who) {
  snprintf(op->who_role, sizeof op->who_role, "%s", wd_role_name(who->role));
  snprintf(op->who_via, sizeof op->who_via, "%s", principal_via(who));
  snprintf(op->who_ip, sizeof op->who_ip, "%s", who->ip);
}

json_t *console_request_info(h2o_req_t *req, const principal_t *who) {
  json_t *ri = admin_request_info(req, loop_of(req)->srv->conf);
  json_object_set_new(ri, "via", json_string(who->session ? "console" : "admin-api"));
  json_object_set_new(ri, "user", json_string(who->name));
  return ri;
}

/* ---------------------------------------------------------------- credentials */

/* The session cookie's value (pool copy) when the request carries one. */
static const char *session_cookie(h2o_req_t *req, size_t *len) {
  static const char *const names[2] = {CONSOLE_COOKIE_SECURE, CONSOLE_COOKIE};
  for (int k = 0; k < 2; k++) {
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) >= 0;) {
      h2o_iovec_t v = req->headers.entries[i].value;
      char *text = h2o_strdup(&req->pool, v.base, v.len).base;
      wd_span_t val;
      if (wd_cookie_find(text, names[k], &val) == 0 && val.n > 0) {
        *len = val.n;
        return h2o_strdup(&req->pool, val.p, val.n).base;
      }
    }
  }
  return NULL;
}

static int bearer_ok(srv_t *s, const char *tok) {
  unsigned char h[32];
  unsigned int hl = 0;
  return s->have_admin && tok && strlen(tok) <= 1024 &&
         EVP_Digest(tok, strlen(tok), h, &hl, EVP_sha256(), NULL) == 1 && hl == 32 &&
         wd_ct_equal(h, s->admin_hash, 32);
}

static int safe_method(h2o_req_t *req) {
  return req_method_is(req, "GET", 3) || req_method_is(req, "HEAD", 4);
}

static const char *need_text(wd_role_t need) {
  switch (need) {
  case WD_ROLE_ADMIN: return "switching policy modes needs the admin role";
  case WD_ROLE_MODERATOR:
    return "changing bans, allow-list entries and cases needs the moderator role";
  default: return "reading needs a signed-in user";
  }
}

int console_auth(h2o_req_t *req, metrics_route_t route, wd_role_t need, principal_t *who) {
  srv_t *s = loop_of(req)->srv;
  principal_t p = {0};
  int via;
  req_client_ip(s->conf, req, p.ip, sizeof p.ip, &via);
  const char *tok = req_bearer(req);
  if (tok) {
    if (!bearer_ok(s, tok)) {
      http_header(req, "WWW-Authenticate", "Bearer realm=\"warden-admin\"");
      http_send_error(req, route, 401, "unauthorized", "the bearer token is not the admin token");
      return 0;
    }
    snprintf(p.name, sizeof p.name, "admin");
    p.role = WD_ROLE_ADMIN;
    if (who)
      *who = p;
    return 1;
  }
  size_t idlen = 0;
  const char *id = s->sessions ? session_cookie(req, &idlen) : NULL;
  if (!id) {
    http_header(req, "WWW-Authenticate", "Bearer realm=\"warden-admin\"");
    http_send_error(req, route, 401, "unauthorized",
                    s->sessions ? "sign in at /ui, or send 'Authorization: Bearer <admin token>'"
                                : "admin calls need 'Authorization: Bearer <admin token>'");
    return 0;
  }
  wd_session_t ses;
  if (wd_sessions_check(s->sessions, id, idlen, now_s(), &ses)) {
    http_send_error(req, route, 401, "session_expired",
                    "the session has expired or was signed out: sign in again");
    return 0;
  }
  if (!safe_method(req)) {
    const char *csrf = req_header(req, CONSOLE_CSRF_HEADER);
    if (!csrf || strlen(csrf) != WD_SESSION_TOKEN_LEN ||
        !wd_ct_equal(csrf, ses.csrf, WD_SESSION_TOKEN_LEN)) {
      http_send_error(req, route, 403, "csrf",
                      "a change made with the session cookie needs the session's CSRF token in "
                      "X-CSRF-Token (GET /ui/session returns it)");
      return 0;
    }
  }
  if (ses.role < need) {
    http_send_error(req, route, 403, "forbidden", "%s; %s is a %s", need_text(need), ses.user,
                    wd_role_name(ses.role));
    return 0;
  }
  snprintf(p.name, sizeof p.name, "%s", ses.user);
  p.role = ses.role;
  p.session = 1;
  if (who)
    *who = p;
  OPENSSL_cleanse(&ses, sizeof ses);
  return 1;
}

/* ---------------------------------------------------------------- the worker */

static void job_free(login_job_t *j) {
  OPENSSL_cleanse(j, sizeof *j);
  free(j);
}

static int find_user(const conf_t *c, const char *name) {
  for (size_t i = 0; i < c->console.nusers; i++)
    if (!strcmp(c->console.users[i].name, name))
      return (int)i;
  return -1;
}

static void check_login(console_t *cs, login_job_t *j) {
  srv_t *s = cs->srv;
  const conf_t *c = s->conf;
  int64_t now = now_s();
  int u = j->user[0] ? find_user(c, j->user) : -1;
  const char *why = NULL;
  if (u >= 0 && cs->locked_until[u] > now) {
    j->status = 429;
    j->retry_after = cs->locked_until[u] - now;
    why = "locked after repeated failures";
  } else {
    const char *hash = u >= 0 ? c->console.users[u].password_hash : cs->dummy;
    if (u < 0 && !cs->dummy[0]) {
      /* made once, with the first user's parameters, so an unknown name costs as much */
      wd_password_params_t p;
      if (c->console.nusers == 0 ||
          wd_password_parse(c->console.users[0].password_hash, &p))
        wd_password_params_default(WD_KDF_SCRYPT, &p);
      unsigned char r[16];
      char pw[40];
      if (RAND_bytes(r, sizeof r) != 1)
        memset(r, 0x5a, sizeof r); /* never checked against anything: any value does */
      wd_hex_encode(r, sizeof r, pw);
      if (wd_password_hash(pw, strlen(pw), &p, cs->dummy, sizeof cs->dummy))
        cs->dummy[0] = '\0';
      hash = cs->dummy;
    }
    int rc = hash[0] ? wd_password_verify(j->password, j->pwlen, hash) : 0;
    if (rc == 1 && u >= 0) {
      cs->fails[u] = 0;
      int orc = wd_sessions_open(s->sessions, j->user, c->console.users[u].role, now, j->id,
                                 &j->session);
      j->status = orc == 0 ? 200 : 503;
      if (orc)
        why = orc == WD_ETOOBIG ? "too many sessions" : "cannot open a session";
    } else {
      j->status = 401;
      why = u < 0 ? "unknown user" : rc < 0 ? "unusable password hash" : "wrong password";
      if (u >= 0 && ++cs->fails[u] >= LOCK_AFTER) {
        unsigned k = cs->fails[u] - LOCK_AFTER;
        int64_t wait = k >= 6 ? LOCK_MAX_S : (int64_t)LOCK_FIRST_S << k;
        cs->locked_until[u] = now + (wait > LOCK_MAX_S ? LOCK_MAX_S : wait);
      }
    }
  }
  OPENSSL_cleanse(j->password, sizeof j->password);
  metrics_shared_add(&s->gm.logins[j->status == 200], 1);
  principal_t who = {0};
  snprintf(who.name, sizeof who.name, "%s", j->user[0] ? j->user : "(none)");
  if (j->status == 200)
    who.role = j->session.role;
  who.session = 1;
  snprintf(who.ip, sizeof who.ip, "%s", j->ip);
  char detail[128] = "";
  if (why)
    snprintf(detail, sizeof detail, "{\"reason\":\"%s\"}", why);
  console_audit(s, &who, j->status == 200 ? "login" : "login.failed", NULL, j->status == 200,
                why ? detail : NULL);
}

static void *worker_main(void *arg) {
  console_t *cs = arg;
  for (;;) {
    pthread_mutex_lock(&cs->mu);
    while (!cs->head && !cs->stop)
      pthread_cond_wait(&cs->cv, &cs->mu);
    login_job_t *j = cs->head;
    if (j) {
      cs->head = j->next;
      if (!cs->head)
        cs->tail = NULL;
    }
    int stop = cs->stop;
    pthread_mutex_unlock(&cs->mu);
    if (!j) {
      if (stop)
        break;
      continue;
    }
    if (stop) {
      j->status = 503;
      OPENSSL_cleanse(j->password, sizeof j->password);
    } else {
      check_login(cs, j);
    }
    pthread_mutex_lock(&cs->mu);
    cs->pending--;
    pthread_mutex_unlock(&cs->mu);
    h2o_multithread_send_message(&j->origin->console_receiver, &j->msg);
  }
  return NULL;
}

int console_start(srv_t *s, char *err, size_t errlen) {
  const conf_console_t *cc = &s->conf->console;
  if (!cc->enabled)
    return 0;
  wd_sessions_opts_t so = {.max_sessions = cc->max_sessions,
                           .ttl = cc->session_ttl,
                           .idle = cc->session_idle};
  if (wd_sessions_create(&so, &s->sessions)) {
    snprintf(err, errlen, "cannot create the console's session table (out of memory)");
    return -1;
  }
  console_t *cs = calloc(1, sizeof *cs);
  if (cs) {
    cs->fails = calloc(cc->nusers + 1, sizeof *cs->fails);
    cs->locked_until = calloc(cc->nusers + 1, sizeof *cs->locked_until);
  }
  if (!cs || !cs->fails || !cs->locked_until) {
    if (cs) {
      free(cs->fails);
      free(cs->locked_until);
    }
    free(cs);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  cs->srv = s;
  pthread_mutex_init(&cs->mu, NULL);
  pthread_cond_init(&cs->cv, NULL);
  s->console = cs;
  if (pthread_create(&cs->tid, NULL, worker_main, cs)) {
    snprintf(err, errlen, "cannot start the console's sign-in thread");
    return -1;
  }
  cs->started = 1;
  fprintf(stderr, "warden: console at /ui/: %zu user%s%s\n", cc->nusers, cc->nusers == 1 ? "" : "s",
          ui_built ? "" : " (its files were not built: run scripts/deps.sh, then build again)");
  return 0;
}

void console_stop(srv_t *s) {
  console_t *cs = s->console;
  if (cs) {
    if (cs->started) {
      pthread_mutex_lock(&cs->mu);
      cs->stop = 1;
      pthread_cond_signal(&cs->cv);
      pthread_mutex_unlock(&cs->mu);
      pthread_join(cs->tid, NULL);
    }
    /* the loops have stopped: nobody will receive what is left */
    while (cs->head) {
      login_job_t *j = cs->head;
      cs->head = j->next;
      job_free(j);
    }
    pthread_mutex_destroy(&cs->mu);
    pthread_cond_destroy(&cs->cv);
    free(cs->fails);
    free(cs->locked_until);
    free(cs);
    s->console = NULL;
  }
  wd_sessions_destroy(s->sessions);
  s->sessions = NULL;
}

/* ---------------------------------------------------------------- HTTP */

static void no_store(h2o_req_t *req) { http_header(req, "Cache-Control", "no-store"); }

static int cookie_secure(srv_t *s, h2o_req_t *req) {
  int sc = s->conf->console.secure_cookie;
  return sc < 0 ? req->scheme == &H2O_URL_SCHEME_HTTPS : sc;
}

static void set_cookie(h2o_req_t *req, int secure, const char *value, long long max_age) {
  char c[256];
  snprintf(c, sizeof c, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
           secure ? CONSOLE_COOKIE_SECURE : CONSOLE_COOKIE, value, max_age,
           secure ? "; Secure" : "");
  http_header(req, "Set-Cookie", c);
  OPENSSL_cleanse(c, sizeof c);
}

static void session_json(jw_t *w, const wd_session_t *ses, const conf_t *c) {
  jw_obj(w);
  jw_kstr(w, "user", ses->user);
  jw_kstr(w, "role", wd_role_name(ses->role));
  jw_kstr(w, "csrf", ses->csrf);
  jw_kint(w, "expires", ses->expires);
  jw_kint(w, "idle_timeout", c->console.session_idle);
  jw_obj_end(w);
}

static void ref_dispose(void *p) {
  login_ref_t *ref = p;
  if (ref->job)
    ref->job->req = NULL;
}

static void answer_login(login_job_t *j) {
  h2o_req_t *req = j->req;
  if (!req)
    return;
  j->ref->job = NULL; /* detach first: sending may dispose the request */
  j->req = NULL;
  srv_t *s = j->origin->srv;
  if (j->status == 200) {
    set_cookie(req, j->secure, j->id, (long long)(s->conf->console.session_ttl));
    jw_t w;
    char buf[512];
    jw_init(&w, buf, sizeof buf, 4096);
    session_json(&w, &j->session, s->conf);
    http_send_jw(req, ROUTE_UI, 200, &w);
  } else if (j->status == 429) {
    char ra[24];
    snprintf(ra, sizeof ra, "%lld", (long long)(j->retry_after > 0 ? j->retry_after : 1));
    http_header(req, "Retry-After", ra);
    http_send_error(req, ROUTE_UI, 429, "locked",
                    "too many failed sign-ins for this user: try again in %s s", ra);
  } else if (j->status == 401) {
    http_send_error(req, ROUTE_UI, 401, "unauthorized", "wrong user name or password");
  } else {
    http_header(req, "Retry-After", "1");
    http_send_error(req, ROUTE_UI, 503, "busy", "cannot sign in now: try again shortly");
  }
}

void console_on_answers(h2o_multithread_receiver_t *recv, h2o_linklist_t *messages) {
  (void)recv;
  while (!h2o_linklist_is_empty(messages)) {
    h2o_multithread_message_t *m =
        H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
    h2o_linklist_unlink(&m->link);
    login_job_t *j = (login_job_t *)m;
    answer_login(j);
    job_free(j);
  }
}

void api_ui_login(loop_t *l, h2o_req_t *req) {
  srv_t *s = l->srv;
  console_t *cs = s->console;
  no_store(req);
  if (!cs) {
    http_send_error(req, ROUTE_UI, 404, "not_found", "the console is off (console.enabled)");
    return;
  }
  if (!req_method_is(req, "POST", 4)) {
    http_header(req, "Allow", "POST");
    http_send_error(req, ROUTE_UI, 405, "method_not_allowed", "use POST for this path");
    return;
  }
  /* JSON only: a cross-site form cannot send it without a CORS preflight */
  const char *ct = req_header(req, "content-type");
  if (!ct || strncasecmp(ct, "application/json", 16) || (ct[16] && ct[16] != ';')) {
    http_send_error(req, ROUTE_UI, 415, "unsupported_media_type",
                    "send {\"user\", \"password\"} as application/json");
    return;
  }
  size_t n;
  const char *body = http_body(req, &n);
  json_error_t je;
  json_t *root = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
  const json_t *user = json_object_get(root, "user"), *pw = json_object_get(root, "password");
  if (!json_is_object(root) || json_object_size(root) != 2 || !json_is_string(user) ||
      !json_is_string(pw)) {
    json_decref(root);
    http_send_error(req, ROUTE_UI, 400, "bad_request",
                    "send {\"user\": \"NAME\", \"password\": \"...\"}");
    return;
  }
  size_t ul = json_string_length(user), pl = json_string_length(pw);
  if (ul == 0 || pl == 0 || pl > WD_PASSWORD_MAX || strlen(json_string_value(user)) != ul ||
      strlen(json_string_value(pw)) != pl) {
    json_decref(root);
    http_send_error(req, ROUTE_UI, 400, "bad_request",
                    "the user name and the password must be text, not empty (password at most %d "
                    "bytes)",
                    WD_PASSWORD_MAX);
    return;
  }
  login_job_t *j = calloc(1, sizeof *j);
  if (!j) {
    json_decref(root);
    http_send_error(req, ROUTE_UI, 503, "busy", "out of memory");
    return;
  }
  /* a name longer than any configured one is kept cut, ending in '~': it matches nobody */
  snprintf(j->user, sizeof j->user, "%s", json_string_value(user));
  if (ul >= sizeof j->user)
    j->user[sizeof j->user - 2] = '~';
  for (char *p = j->user; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  memcpy(j->password, json_string_value(pw), pl);
  j->pwlen = pl;
  OPENSSL_cleanse((char *)json_string_value(pw), pl);
  json_decref(root);
  int via;
  req_client_ip(s->conf, req, j->ip, sizeof j->ip, &via);
  j->secure = cookie_secure(s, req);
  j->origin = l;
  login_ref_t *ref = h2o_mem_alloc_shared(&req->pool, sizeof *ref, ref_dispose);
  ref->job = j;
  j->ref = ref;
  j->req = req;
  pthread_mutex_lock(&cs->mu);
  int full = cs->stop || cs->pending >= CONSOLE_LOGIN_QUEUE;
  if (!full) {
    j->next = NULL;
    if (cs->tail)
      cs->tail->next = j;
    else
      cs->head = j;
    cs->tail = j;
    cs->pending++;
    pthread_cond_signal(&cs->cv);
  }
  pthread_mutex_unlock(&cs->mu);
  if (full) {
    ref->job = NULL;
    job_free(j);
    http_header(req, "Retry-After", "1");
    http_send_error(req, ROUTE_UI, 429, "busy", "too many sign-ins at once: try again shortly");
  }
}

void api_ui_session(loop_t *l, h2o_req_t *req) {
  srv_t *s = l->srv;
  no_store(req);
  if (!req_method_is(req, "GET", 3) && !req_method_is(req, "HEAD", 4)) {
    http_header(req, "Allow", "GET");
    http_send_error(req, ROUTE_UI, 405, "method_not_allowed", "use GET for this path");
    return;
  }
  size_t idlen = 0;
  const char *id = s->sessions ? session_cookie(req, &idlen) : NULL;
  wd_session_t ses;
  if (!id || wd_sessions_check(s->sessions, id, idlen, now_s(), &ses)) {
    http_send_error(req, ROUTE_UI, 401, "unauthorized", "not signed in");
    return;
  }
  jw_t w;
  char buf[512];
  jw_init(&w, buf, sizeof buf, 4096);
  session_json(&w, &ses, s->conf);
  OPENSSL_cleanse(&ses, sizeof ses);
  http_send_jw(req, ROUTE_UI, 200, &w);
}

void api_ui_logout(loop_t *l, h2o_req_t *req) {
  srv_t *s = l->srv;
  no_store(req);
  if (!req_method_is(req, "POST", 4)) {
    http_header(req, "Allow", "POST");
    http_send_error(req, ROUTE_UI, 405, "method_not_allowed", "use POST for this path");
    return;
  }
  if (req_bearer(req)) {
    http_send_error(req, ROUTE_UI, 400, "bad_request", "the bearer token has no session to end");
    return;
  }
  principal_t who;
  if (!console_auth(req, ROUTE_UI, WD_ROLE_VIEWER, &who))
    return;
  size_t idlen = 0;
  const char *id = session_cookie(req, &idlen);
  if (id)
    wd_sessions_close(s->sessions, id, idlen);
  console_audit(s, &who, "logout", NULL, 1, NULL);
  set_cookie(req, cookie_secure(s, req), "", 0);
  http_send(req, ROUTE_UI, 200, "application/json", "{\"signed_out\":true}\n", 20);
}
