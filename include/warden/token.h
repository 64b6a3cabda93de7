/*
 * Warden tokens: the types every scheme shares, and the dispatcher over them.
 *
 * A token is verified against a request (URL, client address, method, headers, geo) at a time
 * `now`, with keys from a key ring, through a per-thread verifier. Every verified token yields
 * one identity (scheme, token id, subject, issue/expiry times, bound IP): bans and sharing
 * detection key on it. Schemes: CAT (CTA-5007), JWT, Akamai EdgeAuth 2.0, md5 secure links,
 * CloudFront signed URLs/cookies, BunnyCDN token authentication.
 *
 * Thread model: a wd_keyring_t is immutable once verifiers use it and may be shared; a
 * wd_verifier_t belongs to one thread at a time (it caches keyed MAC contexts).
 */
#ifndef WARDEN_TOKEN_H
#define WARDEN_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "warden/error.h"
#include "warden/keyring.h"

/* Largest token accepted from outside, in bytes of text. */
#define WD_TOKEN_MAX 8192

typedef struct wd_header {
  const char *name;  /* case-insensitive */
  const char *value;
} wd_header_t;

/* What the edge saw. Every pointer may be NULL (unknown); strings are NUL-terminated and
 * borrowed for the duration of the call. */
typedef struct wd_request {
  const char *url;          /* absolute URL or origin-form "/path?query", as sent on the wire */
  const char *ip;           /* client address, IPv4 or IPv6 text */
  const char *method;       /* "GET" */
  const wd_header_t *headers;
  size_t nheaders;
  const char *alpn;         /* negotiated ALPN protocol id ("h2") */
  const char *country;      /* ISO 3166-1 alpha-2, optionally "-SUB" ("SE", "US-CA") */
  uint32_t asn;             /* client network's ASN, 0 when unknown */
  int has_coord;            /* lat/lon below are known */
  double lat, lon;
  const char *geohash;      /* client geohash, any precision */
  int64_t now;              /* unix seconds; 0 means the current time */
} wd_request_t;

#define WD_ID_MAX 160

/* The one identity every verified token yields. Strings are "" when absent. */
typedef struct wd_identity {
  wd_scheme_t scheme;
  char token_id[WD_ID_MAX]; /* cti/jti/Akamai id as given (hex for binary), or "sha256:<hex>" of
                               the token when it carries no id */
  char subject[WD_ID_MAX];  /* sub (CAT, JWT), Akamai id is not a subject */
  char issuer[WD_ID_MAX];
  int64_t iat;              /* 0 when absent */
  int64_t exp;              /* 0 when the token never expires */
  char ip[64];              /* bound address or prefix ("203.0.113.7", "10.0.0.0/8") */
} wd_identity_t;

/* How a renewed (or otherwise minted) token goes back to the client. */
typedef enum wd_delivery {
  WD_DELIVER_NONE = 0,
  WD_DELIVER_HEADER,        /* response header `name: value` */
  WD_DELIVER_COOKIE,        /* Set-Cookie: value */
  WD_DELIVER_REDIRECT,      /* status 3xx, Location: value */
} wd_delivery_t;

#define WD_MAX_RESPONSE_HEADERS 4

/* Headers the edge should add to its answer (renewal, catif). Owned by the result. */
typedef struct wd_response {
  int status;               /* 0: no opinion; else the HTTP status to answer with */
  size_t nheaders;
  struct {
    char *name;
    char *value;
  } headers[WD_MAX_RESPONSE_HEADERS];
} wd_response_t;

typedef struct wd_result {
  int code;                 /* same as the return value of the verify call */
  char reason[256];         /* one line: what failed ("claim catu failed: path"), never secrets */
  char failed_claim[32];    /* name of the claim that failed, "" otherwise */
  wd_identity_t id;         /* filled when the token parsed far enough to know it */
  json_t *claims;           /* decoded claims when wd_verify_opts_t.want_claims; owned */
  int replay;               /* CAT catreplay value, -1 when absent */
  wd_delivery_t renew;      /* a renewed token is in `response` */
  char *renewed_token;      /* owned, NULL unless renew */
  wd_response_t response;   /* status and headers to answer with (renewal, catif) */
} wd_result_t;

/* Zero a result before use. */
void wd_result_init(wd_result_t *r);
/* Free what a result owns; it may be reused after wd_result_init. */
void wd_result_cleanup(wd_result_t *r);

/* Add a response header (copies both strings). */
int wd_response_add(wd_response_t *resp, const char *name, const char *value);

/* Set a failure on the result: code, reason (printf-style) and the failed claim. Returns code. */
int wd_result_fail(wd_result_t *r, int code, const char *claim, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include "warden/cat.h"
#include "warden/jwt.h"
#include "warden/akamai.h"
#include "warden/securelink.h"
#include "warden/cloudfront.h"
#include "warden/bunny.h"

/* Verification options for every scheme. Zero means the documented default for each field. */
typedef struct wd_verify_opts {
  int64_t leeway;           /* seconds of clock skew tolerated on exp/nbf (default 0) */
  int want_claims;          /* fill wd_result_t.claims */
  wd_cat_opts_t cat;
  wd_jwt_opts_t jwt;
  wd_akamai_opts_t akamai;
  wd_securelink_opts_t securelink;
  wd_cloudfront_opts_t cloudfront;
  wd_bunny_opts_t bunny;
} wd_verify_opts_t;

/* A per-thread verification context over a key ring. */
typedef struct wd_verifier wd_verifier_t;

int wd_verifier_create(const wd_keyring_t *ring, wd_verifier_t **out);
void wd_verifier_destroy(wd_verifier_t *v);
const wd_keyring_t *wd_verifier_keyring(const wd_verifier_t *v);

/*
 * Verify `token` (len bytes of text) of `scheme` against `req`. For schemes that live in the URL
 * (securelink, akamai URL tokens, cloudfront, bunny) `token` may be NULL: it is then taken from
 * req->url (and cookies/headers where the scheme allows).
 * Returns 0 when valid; a WD_E* code otherwise with r->reason set. r->id is filled as far as the
 * token could be parsed (also on failure, for logging). The caller cleans up r in both cases.
 */
int wd_token_verify(wd_verifier_t *v, const wd_verify_opts_t *opts, wd_scheme_t scheme,
                    const char *token, size_t len, const wd_request_t *req, wd_result_t *r);

/* Options for issuing. Zero means the default. */
typedef struct wd_issue_opts {
  int64_t now;              /* 0: current time */
  int64_t ttl;              /* seconds: sets exp = now + ttl when claims carry no exp */
  const char *kid;          /* choose this key; NULL: the newest signing key of the scheme */
  const char *url;          /* URL to sign for URL schemes (securelink, cloudfront, bunny, akamai url) */
  const char *ip;           /* client IP to bind (schemes with an IP slot) */
  wd_cat_opts_t cat;
  wd_akamai_opts_t akamai;
  wd_securelink_opts_t securelink;
  wd_cloudfront_opts_t cloudfront;
  wd_bunny_opts_t bunny;
} wd_issue_opts_t;

/*
 * Issue a token of `scheme` carrying `claims` (the JSON names of docs/tokens.md), signed with the
 * key ring's signing key. On success *out is a malloc'd NUL-terminated string: the token, or for
 * URL schemes the signed URL (or query string when opts->url is NULL). Caller frees.
 */
int wd_token_issue(const wd_keyring_t *ring, wd_scheme_t scheme, const json_t *claims,
                   const wd_issue_opts_t *opts, char **out, char *err, size_t errlen);

/*
 * Decode a token of any supported format without verifying it. *out is a new JSON object
 * {"scheme": ..., "header"/"protected": ..., "claims": ..., ...}; caller decrefs.
 * Returns WD_EMALFORMED when no format recognises it.
 */
int wd_token_inspect(const char *token, size_t len, json_t **out, char *err, size_t errlen);

/*
 * Find the token of `scheme` in the request: query parameter, cookie or header, per the scheme's
 * configured names. Sets *tok and *len to point into the request's strings (or into `buf`, cap bytes,
 * when it had to be decoded). Returns WD_ENOTOKEN when absent.
 */
int wd_token_extract(wd_scheme_t scheme, const wd_verify_opts_t *opts, const wd_request_t *req,
                     char *buf, size_t cap, const char **tok, size_t *len);

#endif
