/*
 * People who sign in to the console: password hashes, roles and the session table.
 *
 * Passwords are never stored: the configuration holds a salted hash in the PHC string format,
 * made by OpenSSL 3's scrypt or PBKDF2-HMAC-SHA256 (`warden passwd` prints one):
 *
 *   $scrypt$ln=16,r=8,p=1$<salt>$<hash>          N = 2^ln, block size r, parallelism p
 *   $pbkdf2-sha256$i=600000$<salt>$<hash>        i iterations
 *
 * salt and hash in standard base64 without padding (8 to 64 bytes of salt, 16 to 64 of hash).
 * Parameters below the floor (scrypt ln 14, PBKDF2 100000 iterations) or above the ceiling (1
 * GiB of scrypt memory, 10 million iterations) are refused, so a configuration cannot weaken
 * the hash nor make a login cost the server a minute.
 *
 * Roles are ordered: a viewer reads; a moderator also decides cases and adds and lifts bans and
 * allow-list entries; an admin also switches policy modes.
 *
 * Sessions: an in-memory table (one mutex) keyed by the SHA-256 of a random 256-bit session id,
 * so neither a lookup's timing nor a memory dump gives an id away. A session ends at the first
 * of `ttl` after sign-in and `idle` after its last use. Each carries a random 256-bit CSRF token
 * that state-changing requests made with the session's cookie must echo in a header. Ids and
 * tokens are base64url text of 43 characters.
 *
 * Threads: the password functions are pure (any thread; a verification takes tens to hundreds
 * of milliseconds by design: call it off any event loop). Every session function may be called
 * from any thread.
 */
#ifndef WARDEN_AUTH_H
#define WARDEN_AUTH_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- roles */

typedef enum wd_role { WD_ROLE_VIEWER = 1, WD_ROLE_MODERATOR, WD_ROLE_ADMIN } wd_role_t;

/* "viewer", "moderator", "admin" ("unknown" otherwise); parse returns 0, or WD_EINVAL with
 * *out untouched. */
const char *wd_role_name(wd_role_t r);
int wd_role_parse(const char *s, wd_role_t *out);

/* ---------------------------------------------------------------- password hashes */

#define WD_PASSWORD_HASH_MAX 256   /* encoded hash text, NUL included */
#define WD_PASSWORD_MAX 1024       /* longest password accepted, bytes */

typedef enum wd_kdf { WD_KDF_SCRYPT = 1, WD_KDF_PBKDF2_SHA256 } wd_kdf_t;

typedef struct wd_password_params {
  wd_kdf_t kdf;
  unsigned log2_n, r, p;           /* scrypt */
  unsigned iterations;             /* PBKDF2 */
  size_t salt_len, hash_len;       /* bytes */
} wd_password_params_t;

/* The defaults: scrypt ln=16 (64 MiB), r=8, p=1; PBKDF2-SHA256 600000 iterations; 16 bytes of
 * salt and 32 of hash. */
void wd_password_params_default(wd_kdf_t kdf, wd_password_params_t *out);

/*
 * Hash a password (len bytes, 1..WD_PASSWORD_MAX) with a fresh random salt into out (cap bytes,
 * WD_PASSWORD_HASH_MAX is enough). Returns 0; WD_EINVAL for an empty or over-long password or
 * parameters outside the bounds above; WD_ETOOBIG when out is too small; WD_ECRYPTO when
 * OpenSSL fails (out of memory included).
 */
int wd_password_hash(const char *pw, size_t len, const wd_password_params_t *params, char *out,
                     size_t cap);

/*
 * Check an encoded hash: the format, the parameters against the bounds, the salt and hash
 * lengths. Fills *params (when not NULL). Returns 0 or WD_EINVAL (params untouched). Cheap: no
 * key derivation.
 */
int wd_password_parse(const char *encoded, wd_password_params_t *params);

/*
 * Does the password match the encoded hash? Returns 1 when it does, 0 when not, WD_EINVAL for
 * a malformed hash, WD_ECRYPTO when OpenSSL fails. The comparison is constant-time; the cost is
 * the hash's own (the same whether or not the password matches).
 */
int wd_password_verify(const char *pw, size_t len, const char *encoded);

/* ---------------------------------------------------------------- sessions */

#define WD_SESSION_TOKEN_LEN 43    /* base64url of 32 random bytes */
#define WD_SESSION_USER_MAX 64     /* user name bytes, NUL included */

typedef struct wd_session {
  char user[WD_SESSION_USER_MAX];
  wd_role_t role;
  char csrf[WD_SESSION_TOKEN_LEN + 1];
  int64_t created, last_used;      /* unix seconds */
  int64_t expires;                 /* the earlier of created + ttl and last_used + idle */
} wd_session_t;

typedef struct wd_sessions_opts {
  size_t max_sessions;             /* 0: 10000 */
  size_t max_per_user;             /* 0: 16 (a user's oldest session ends past it) */
  int64_t ttl;                     /* seconds from sign-in; 0: 12 hours */
  int64_t idle;                    /* seconds since last use; 0: 30 minutes */
} wd_sessions_opts_t;

typedef struct wd_sessions wd_sessions_t;

/* Create an empty table (opts may be NULL). 0, WD_EINVAL (idle or ttl negative), WD_ENOMEM. */
int wd_sessions_create(const wd_sessions_opts_t *opts, wd_sessions_t **out);
/* Free the table; NULL is a no-op. No other call may be running. */
void wd_sessions_destroy(wd_sessions_t *t);

/*
 * Start a session for user (1..63 bytes) with role: draws the id and the CSRF token, writes the
 * id as text into id_out (WD_SESSION_TOKEN_LEN + 1 bytes) and the session into *out (when not
 * NULL). Expired sessions are dropped first; past max_per_user the user's least recently used
 * session ends. Returns 0; WD_EINVAL for a bad user or role; WD_ETOOBIG when max_sessions live
 * sessions exist; WD_ECRYPTO when the random generator fails.
 */
int wd_sessions_open(wd_sessions_t *t, const char *user, wd_role_t role, int64_t now,
                     char *id_out, wd_session_t *out);

/*
 * Look a session up by its id (the cookie's value, idlen bytes) and mark it used at now. 0 and
 * *out (when not NULL); WD_ENOTOKEN when no live session has that id (never existed, closed, or
 * expired: an expired one is dropped).
 */
int wd_sessions_check(wd_sessions_t *t, const char *id, size_t idlen, int64_t now,
                      wd_session_t *out);

/* End a session by id: 0, or WD_ENOTOKEN when there was none. */
int wd_sessions_close(wd_sessions_t *t, const char *id, size_t idlen);

/* Drop sessions expired at now; returns how many. */
size_t wd_sessions_expire(wd_sessions_t *t, int64_t now);

/* Live sessions (expired ones not yet dropped included). */
size_t wd_sessions_count(wd_sessions_t *t);

#endif
