/*
 * JWT: JWS compact serialization (RFC 7515 / RFC 7519) as used for video playback URLs
 * (`?token=<jws>`, `Authorization: Bearer`, or a cookie).
 *
 * Verification works on the bytes received: the signing input is the first two segments exactly
 * as sent, never a re-encoding. The algorithm is pinned per key: a key is used only when the
 * header's `alg` names the key's algorithm, so `alg: none` and HS/RS confusion (an RSA public
 * key's bytes used as an HMAC secret) cannot happen: HMAC runs only for secret keys, signatures
 * only for OpenSSL keys. Claims checked: exp/nbf (with leeway), iss, aud, the binding claims of
 * the streaming guides (`ip`, `ua`, `path`, `video_id`) and the `crit` header (every extension is
 * unknown to Warden, so a `crit` header always fails).
 *
 * Issuing writes the header {"alg","typ":"JWT"[,"kid"]} and the claims compactly in insertion
 * order, as JSON.stringify does, so tokens match the common JavaScript and Python issuers byte
 * for byte.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "token/internal.h"
#include "util/codec.h"
#include "util/ip.h"
#include "util/url.h"

/* Largest signature accepted: RSA-8192 (1024 bytes). */
#define JWT_SIG_MAX 1024
/* Longest request path (decoded) a path binding is checked against; longer ones fail closed. */
#define JWT_PATH_MAX 4096
/* Times are clamped to +-2^62 and leeways to 2^40 so that adding them can never overflow. */
#define JWT_TIME_LIMIT ((int64_t)1 << 62)
#define JWT_LEEWAY_LIMIT ((int64_t)1 << 40)

typedef struct jwt_alg_map {
  const char *name;
  wd_alg_t alg;
} jwt_alg_map_t;

/* JOSE names of the algorithms Warden verifies and issues. "Ed25519" is the fully-specified
 * name of EdDSA over Ed25519 (RFC 9864); it is accepted on verification. */
static const jwt_alg_map_t jwt_algs[] = {
    {"HS256", WD_ALG_HS256}, {"HS384", WD_ALG_HS384}, {"HS512", WD_ALG_HS512},
    {"RS256", WD_ALG_RS256}, {"ES256", WD_ALG_ES256}, {"EdDSA", WD_ALG_EDDSA},
    {"Ed25519", WD_ALG_EDDSA},
};

static int is_hmac_alg(wd_alg_t a) {
  return a == WD_ALG_HS256 || a == WD_ALG_HS384 || a == WD_ALG_HS512;
}

static const char *jose_name(wd_alg_t a) {
  for (size_t i = 0; i < sizeof jwt_algs / sizeof *jwt_algs; i++)
    if (jwt_algs[i].alg == a)
      return jwt_algs[i].name;
  return NULL;
}

/* Printable, bounded copy of attacker-controlled text for reasons. */
static void safe_text(char *dst, size_t cap, const char *s, size_t n) {
  size_t o = 0, max = cap > 4 ? cap - 4 : 0;
  for (size_t i = 0; i < n && o < max; i++) {
    unsigned char c = (unsigned char)s[i];
    dst[o++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
  }
  if (n > max && cap > 4) {
    memcpy(dst + o, "...", 3);
    o += 3;
  }
  if (cap)
    dst[o < cap ? o : cap - 1] = '\0';
}

/* Base64url (padding tolerated, standard alphabet refused) decoding of a segment. */
static int b64url_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen) {
  return wd_b64_decode(s, n, out, cap, outlen, WD_B64_URL);
}

/* Parse a decoded segment as a JSON object (duplicate keys refused). NULL when it is not one. */
static json_t *parse_object(const uint8_t *p, size_t n) {
  json_error_t e;
  json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &e);
  if (j && !json_is_object(j)) {
    json_decref(j);
    j = NULL;
  }
  return j;
}

/* Split a compact JWS into its three segments; WD_EMALFORMED unless exactly two dots. */
static int split_jws(const char *tok, size_t len, wd_span_t seg[3]) {
  const char *p = tok, *end = tok + len;
  for (int i = 0; i < 3; i++) {
    const char *dot = i < 2 ? memchr(p, '.', (size_t)(end - p)) : NULL;
    if (i < 2 && !dot)
      return WD_EMALFORMED;
    seg[i].p = p;
    seg[i].n = (size_t)((dot ? dot : end) - p);
    p = dot ? dot + 1 : end;
  }
  if (memchr(seg[2].p, '.', seg[2].n))
    return WD_EMALFORMED;
  return 0;
}

static int64_t clamp_time(int64_t t) {
  if (t > JWT_TIME_LIMIT)
    return JWT_TIME_LIMIT;
  if (t < -JWT_TIME_LIMIT)
    return -JWT_TIME_LIMIT;
  return t;
}

/*
 * A NumericDate claim. *present 0 when absent; WD_EMALFORMED when present but not a number.
 * Fractional values round up: with integer "now", now >= x exactly when now >= ceil(x).
 */
static int numeric_date(wd_result_t *r, const json_t *payload, const char *name, int *present,
                        int64_t *out) {
  const json_t *j = json_object_get(payload, name);
  *present = 0;
  if (!j)
    return 0;
  if (json_is_integer(j)) {
    *out = clamp_time((int64_t)json_integer_value(j));
  } else if (json_is_real(j)) {
    double d = ceil(json_real_value(j));
    if (!isfinite(d))
      return wd_result_fail(r, WD_EMALFORMED, name, "claim %s is not a finite number", name);
    *out = d >= (double)JWT_TIME_LIMIT    ? JWT_TIME_LIMIT
           : d <= -(double)JWT_TIME_LIMIT ? -JWT_TIME_LIMIT
                                          : (int64_t)d;
  } else {
    return wd_result_fail(r, WD_EMALFORMED, name, "claim %s is not a number (NumericDate)", name);
  }
  *present = 1;
  return 0;
}

/* String or integer claim as text into buf; returns the length or -1 when neither. */
static long claim_text(const json_t *j, char *buf, size_t cap) {
  if (json_is_string(j)) {
    size_t n = json_string_length(j);
    if (n >= cap)
      n = cap - 1;
    memcpy(buf, json_string_value(j), n);
    buf[n] = '\0';
    return (long)json_string_length(j);
  }
  if (json_is_integer(j))
    return snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
  if (json_is_real(j))
    return snprintf(buf, cap, "%.17g", json_real_value(j));
  return -1;
}

/* The identity: jti (or a hash of the signing input), sub, iss, iat, exp, ip. */
static int fill_identity(wd_verifier_t *v, wd_result_t *r, const json_t *payload, const char *signing,
                         size_t signing_len, int64_t *exp, int *has_exp, int64_t *nbf, int *has_nbf) {
  wd_identity_t *id = &r->id;
  int64_t iat = 0;
  int has_iat = 0, rc;
  const json_t *j;
  char text[WD_ID_MAX];

  j = json_object_get(payload, "jti");
  long n = j ? claim_text(j, text, sizeof text) : -1;
  if (n > 0 && (size_t)n < sizeof id->token_id)
    memcpy(id->token_id, text, (size_t)n + 1);
  else if (n > 0 && json_is_string(j)) /* too long to keep: a hash of it still names it */
    wd__identity_hash_id(v, id, json_string_value(j), json_string_length(j));
  else
    wd__identity_hash_id(v, id, signing, signing_len);

  j = json_object_get(payload, "sub");
  if (j && claim_text(j, text, sizeof text) >= 0)
    wd__copy_field(id->subject, sizeof id->subject, text, strlen(text));
  j = json_object_get(payload, "iss");
  if (json_is_string(j))
    wd__copy_field(id->issuer, sizeof id->issuer, json_string_value(j), json_string_length(j));
  j = json_object_get(payload, "ip");
  if (json_is_string(j))
    wd__copy_field(id->ip, sizeof id->ip, json_string_value(j), json_string_length(j));

  if ((rc = numeric_date(r, payload, "exp", has_exp, exp)) ||
      (rc = numeric_date(r, payload, "nbf", has_nbf, nbf)) ||
      (rc = numeric_date(r, payload, "iat", &has_iat, &iat)))
    return rc;
  id->exp = *has_exp ? *exp : 0;
  id->iat = has_iat ? iat : 0;
  return 0;
}

/* Header checks: alg (pinned names only), crit, kid type. */
static int check_header(wd_result_t *r, const json_t *hdr, wd_alg_t *alg, const char **kid,
                        size_t *kid_len) {
  char shown[48];
  const json_t *a = json_object_get(hdr, "alg");
  if (!json_is_string(a))
    return wd_result_fail(r, WD_EMALFORMED, "alg", "jwt header has no alg string");
  const char *name = json_string_value(a);
  size_t nlen = json_string_length(a);
  if (strcasecmp(name, "none") == 0)
    return wd_result_fail(r, WD_EALG, "alg", "jwt alg none (unsecured token) is never accepted");
  *alg = WD_ALG_NONE;
  for (size_t i = 0; i < sizeof jwt_algs / sizeof *jwt_algs; i++)
    if (strlen(jwt_algs[i].name) == nlen && memcmp(jwt_algs[i].name, name, nlen) == 0)
      *alg = jwt_algs[i].alg;
  if (*alg == WD_ALG_NONE) {
    safe_text(shown, sizeof shown, name, nlen);
    return wd_result_fail(r, WD_EALG, "alg",
                          "jwt alg '%s' is not supported (HS256, HS384, HS512, RS256, ES256, EdDSA)",
                          shown);
  }

  const json_t *crit = json_object_get(hdr, "crit");
  if (crit) {
    if (!json_is_array(crit) || json_array_size(crit) == 0)
      return wd_result_fail(r, WD_EMALFORMED, "crit", "jwt header crit is not a non-empty array");
    const json_t *c0 = json_array_get(crit, 0);
    if (!json_is_string(c0))
      return wd_result_fail(r, WD_EMALFORMED, "crit", "jwt header crit holds a non-string");
    safe_text(shown, sizeof shown, json_string_value(c0), json_string_length(c0));
    return wd_result_fail(r, WD_EUNSUPPORTED, "crit",
                          "jwt header crit names extension '%s' that Warden does not understand",
                          shown);
  }

  const json_t *k = json_object_get(hdr, "kid");
  *kid = NULL;
  *kid_len = 0;
  if (k) {
    if (!json_is_string(k))
      return wd_result_fail(r, WD_EMALFORMED, "kid", "jwt header kid is not a string");
    *kid = json_string_value(k);
    *kid_len = json_string_length(k);
  }
  return 0;
}

/* Try every key the kid allows whose pinned algorithm is the header's. */
static int check_signature(wd_verifier_t *v, wd_result_t *r, wd_alg_t alg, const char *kid,
                           size_t kid_len, const json_t *payload, const char *signing,
                           size_t signing_len, const uint8_t *sig, size_t siglen) {
  const json_t *issj = json_object_get(payload, "iss");
  const char *iss = json_is_string(issj) ? json_string_value(issj) : NULL;
  unsigned cursor = 0, seen = 0, wrong_alg = 0, wrong_iss = 0, tried = 0;
  const wd_key_t *k;
  char shown[48];

  while ((k = wd_keyring_next(v->ring, WD_SCHEME_JWT, kid, kid_len, &cursor))) {
    seen++;
    if (k->alg != alg) {
      wrong_alg++;
      continue;
    }
    if (k->issuer[0] && (!iss || strcmp(iss, k->issuer) != 0)) {
      wrong_iss++;
      continue;
    }
    tried++;
    int rc;
    if (is_hmac_alg(alg)) {
      /* Only secret keys take the HMAC path: a public key's bytes are never a MAC secret. */
      if (!k->secret || k->pkey)
        continue;
      unsigned char mac[WD_DIGEST_MAX];
      size_t maclen = 0;
      wd_iov_t part = {signing, signing_len};
      rc = wd__hmac(v, k, &part, 1, mac, &maclen);
      if (rc && rc != WD_EALG)
        return wd_result_fail(r, rc, NULL, "jwt HMAC computation failed");
      if (rc == 0 && maclen == siglen && wd_ct_equal(mac, sig, siglen))
        return 0;
    } else {
      if (!k->pkey)
        continue;
      rc = wd__verify_sig(v, k, signing, signing_len, sig, siglen, 1);
      if (rc == 0)
        return 0;
    }
  }

  if (kid)
    safe_text(shown, sizeof shown, kid, kid_len);
  if (seen == 0) {
    if (kid)
      return wd_result_fail(r, WD_ENOKEY, "kid", "no jwt key with kid '%s'", shown);
    return wd_result_fail(r, WD_ENOKEY, NULL, "no jwt key configured");
  }
  if (tried == 0 && wrong_iss == 0)
    return wd_result_fail(r, WD_EALG, "alg",
                          "jwt alg %s is not the algorithm pinned on any usable key%s%s%s",
                          jose_name(alg), kid ? " (kid '" : "", kid ? shown : "", kid ? "')" : "");
  if (tried == 0)
    return wd_result_fail(r, WD_ENOKEY, "iss", "no jwt key for this token's issuer");
  return wd_result_fail(r, WD_ESIGNATURE, NULL, "jwt signature does not verify with %u key%s", tried,
                        tried == 1 ? "" : "s");
}

static int check_issuer(wd_result_t *r, const wd_jwt_opts_t *o, const json_t *payload) {
  if (!o->nissuers)
    return 0;
  const json_t *j = json_object_get(payload, "iss");
  if (!j)
    return wd_result_fail(r, WD_EISSUER, "iss", "jwt has no iss and issuers are configured");
  if (!json_is_string(j))
    return wd_result_fail(r, WD_EISSUER, "iss", "jwt iss is not a string");
  for (size_t i = 0; i < o->nissuers; i++)
    if (o->issuers[i] && strlen(o->issuers[i]) == json_string_length(j) &&
        memcmp(o->issuers[i], json_string_value(j), json_string_length(j)) == 0)
      return 0;
  char shown[48];
  safe_text(shown, sizeof shown, json_string_value(j), json_string_length(j));
  return wd_result_fail(r, WD_EISSUER, "iss", "jwt issuer '%s' is not accepted", shown);
}

static int audience_ok(const wd_jwt_opts_t *o, const json_t *s) {
  if (!json_is_string(s))
    return 0;
  for (size_t i = 0; i < o->naudiences; i++)
    if (o->audiences[i] && strlen(o->audiences[i]) == json_string_length(s) &&
        memcmp(o->audiences[i], json_string_value(s), json_string_length(s)) == 0)
      return 1;
  return 0;
}

static int check_audience(wd_result_t *r, const wd_jwt_opts_t *o, const json_t *payload) {
  if (!o->naudiences)
    return 0;
  const json_t *j = json_object_get(payload, "aud");
  if (!j)
    return wd_result_fail(r, WD_EAUDIENCE, "aud", "jwt has no aud and audiences are configured");
  if (json_is_array(j)) {
    for (size_t i = 0; i < json_array_size(j); i++)
      if (audience_ok(o, json_array_get(j, i)))
        return 0;
  } else if (audience_ok(o, j)) {
    return 0;
  }
  return wd_result_fail(r, WD_EAUDIENCE, "aud", "jwt audience is not accepted");
}

static int check_ip(wd_result_t *r, const wd_request_t *req, const json_t *c) {
  if (!json_is_string(c))
    return wd_result_fail(r, WD_ECLAIM, "ip", "claim ip is not a string");
  if (!req || !req->ip || !*req->ip)
    return wd_result_fail(r, WD_ECLAIM, "ip",
                          "token is bound to an IP but the request gives no client address");
  wd_ip_t client, net;
  int plen;
  if (wd_ip_parse(req->ip, strlen(req->ip), &client))
    return wd_result_fail(r, WD_ECLAIM, "ip", "client address is not an IP address");
  const char *s = json_string_value(c);
  size_t n = json_string_length(c);
  int ok;
  if (memchr(s, '/', n)) {
    if (wd_cidr_parse(s, n, &net, &plen))
      return wd_result_fail(r, WD_ECLAIM, "ip", "claim ip is not an IP prefix");
    ok = wd_ip_in_prefix(&client, net.family, net.a, sizeof net.a, plen);
  } else {
    if (wd_ip_parse(s, n, &net))
      return wd_result_fail(r, WD_ECLAIM, "ip", "claim ip is not an IP address");
    ok = client.family == net.family && memcmp(client.a, net.a, net.family == 4 ? 4 : 16) == 0;
  }
  if (!ok)
    return wd_result_fail(r, WD_ECLAIM, "ip", "client address is not the token's ip");
  return 0;
}

static int check_ua(wd_result_t *r, const wd_request_t *req, const json_t *c) {
  if (!json_is_string(c))
    return wd_result_fail(r, WD_ECLAIM, "ua", "claim ua is not a string");
  const char *ua = wd_request_header(req, "User-Agent");
  if (!ua)
    return wd_result_fail(r, WD_ECLAIM, "ua",
                          "token is bound to a User-Agent but the request has none");
  if (strlen(ua) != json_string_length(c) || memcmp(ua, json_string_value(c), strlen(ua)) != 0)
    return wd_result_fail(r, WD_ECLAIM, "ua", "User-Agent is not the token's ua");
  return 0;
}

/*
 * The request path, percent-decoded into buf. Fails closed on a missing or undecodable path and
 * on dot segments ("/a/../b"), which would let a prefix match reach outside its scope.
 */
static int request_path(wd_result_t *r, const wd_request_t *req, const char *claim, char *buf,
                        size_t cap, size_t *len) {
  wd_url_t u;
  if (!req || !req->url)
    return wd_result_fail(r, WD_ECLAIM, claim,
                          "token is bound to a path but the request gives no URL");
  if (wd_url_split(req->url, &u) || u.path.n == 0)
    return wd_result_fail(r, WD_ECLAIM, claim, "request URL has no path");
  long n = wd_pct_decode(u.path.p, u.path.n, buf, cap, 0);
  if (n < 0 || (size_t)n >= cap || memchr(buf, '\0', (size_t)n))
    return wd_result_fail(r, WD_ECLAIM, claim, "request path cannot be decoded");
  for (long i = 0; i < n;) {
    long j = i;
    while (j < n && buf[j] != '/')
      j++;
    long sl = j - i;
    if ((sl == 1 && buf[i] == '.') || (sl == 2 && buf[i] == '.' && buf[i + 1] == '.'))
      return wd_result_fail(r, WD_ECLAIM, claim, "request path has dot segments");
    i = j + 1;
  }
  *len = (size_t)n;
  return 0;
}

static int check_path(wd_result_t *r, const wd_request_t *req, const json_t *c) {
  if (!json_is_string(c))
    return wd_result_fail(r, WD_ECLAIM, "path", "claim path is not a string");
  char path[JWT_PATH_MAX], want[JWT_PATH_MAX];
  size_t plen;
  int rc = request_path(r, req, "path", path, sizeof path, &plen);
  if (rc)
    return rc;
  long wn = wd_pct_decode(json_string_value(c), json_string_length(c), want, sizeof want, 0);
  if (wn < 0 || (size_t)wn >= sizeof want)
    return wd_result_fail(r, WD_ECLAIM, "path", "claim path cannot be decoded");
  size_t w = (size_t)wn;
  int prefix = 0;
  if (w && want[w - 1] == '*') {
    prefix = 1;
    w--;
  } else if (w && want[w - 1] == '/') {
    prefix = 1;
  }
  int ok = prefix ? (plen >= w && memcmp(path, want, w) == 0)
                  : (plen == w && memcmp(path, want, w) == 0);
  if (!ok)
    return wd_result_fail(r, WD_ECLAIM, "path", "request path is outside the token's path");
  return 0;
}

/* The video id must be one segment of the path, or a segment's name before its extension
 * ("/hls/vid123/index.m3u8" and "/vid123.mp4" both carry "vid123"). */
static int check_video_id(wd_result_t *r, const wd_request_t *req, const json_t *c) {
  char idbuf[WD_ID_MAX];
  long idn = claim_text(c, idbuf, sizeof idbuf);
  if (idn <= 0 || json_is_real(c))
    return wd_result_fail(r, WD_ECLAIM, "video_id", "claim video_id is not a string");
  const char *id = json_is_string(c) ? json_string_value(c) : idbuf;
  size_t n = (size_t)idn;
  char path[JWT_PATH_MAX];
  size_t plen;
  int rc = request_path(r, req, "video_id", path, sizeof path, &plen);
  if (rc)
    return rc;
  for (size_t i = 0; i < plen;) {
    size_t j = i;
    while (j < plen && path[j] != '/')
      j++;
    size_t sl = j - i;
    if (sl >= n && memcmp(path + i, id, n) == 0 && (sl == n || path[i + n] == '.'))
      return 0;
    i = j + 1;
  }
  return wd_result_fail(r, WD_ECLAIM, "video_id", "request path is not for the token's video_id");
}

static int check_claims(wd_result_t *r, const wd_verify_opts_t *opts, const wd_request_t *req,
                        const json_t *payload, int64_t exp, int has_exp, int64_t nbf, int has_nbf) {
  int64_t now = clamp_time(wd__now(req));
  int64_t leeway = opts->leeway < 0                  ? 0
                   : opts->leeway > JWT_LEEWAY_LIMIT ? JWT_LEEWAY_LIMIT
                                                     : opts->leeway;
  int rc;
  const json_t *c;

  if (has_exp && now >= exp + leeway)
    return wd_result_fail(r, WD_EEXPIRED, "exp", "jwt expired at %lld (now %lld, leeway %llds)",
                          (long long)exp, (long long)now, (long long)leeway);
  if (has_nbf && now + leeway < nbf)
    return wd_result_fail(r, WD_ENOTYET, "nbf", "jwt not valid before %lld (now %lld, leeway %llds)",
                          (long long)nbf, (long long)now, (long long)leeway);
  if ((rc = check_issuer(r, &opts->jwt, payload)) || (rc = check_audience(r, &opts->jwt, payload)))
    return rc;
  if (!opts->jwt.no_bind_ip && (c = json_object_get(payload, "ip")) && (rc = check_ip(r, req, c)))
    return rc;
  if (!opts->jwt.no_bind_ua && (c = json_object_get(payload, "ua")) && (rc = check_ua(r, req, c)))
    return rc;
  if (!opts->jwt.no_bind_path) {
    if ((c = json_object_get(payload, "path")) && (rc = check_path(r, req, c)))
      return rc;
    if ((c = json_object_get(payload, "video_id")) && (rc = check_video_id(r, req, c)))
      return rc;
  }
  return 0;
}

/*
 * Verify a compact JWS against the request. tok NULL: the token is taken from the request
 * (see wd__jwt_extract). Fills r->id once the payload decodes; r->claims (owned) on success
 * when opts->want_claims.
 */
int wd__jwt_verify(wd_verifier_t *v, const wd_verify_opts_t *opts, const char *tok, size_t len,
                   const wd_request_t *req, wd_result_t *r) {
  char ebuf[WD_TOKEN_MAX + 1];
  uint8_t dec[WD_TOKEN_MAX], sig[JWT_SIG_MAX]; /* header then payload, decoded */
  size_t hn = 0, pn = 0, sn = 0;
  json_t *hdr = NULL, *payload = NULL;
  wd_span_t seg[3];
  wd_alg_t alg = WD_ALG_NONE;
  const char *kid;
  size_t kid_len;
  int64_t exp = 0, nbf = 0;
  int has_exp = 0, has_nbf = 0, rc;

  r->id.scheme = WD_SCHEME_JWT;
  if (!tok) {
    rc = wd__jwt_extract(opts, req, ebuf, sizeof ebuf, &tok, &len);
    if (rc)
      return wd_result_fail(r, rc, NULL,
                            rc == WD_ENOTOKEN   ? "no jwt in the request"
                            : rc == WD_ETOOBIG ? "jwt in the request is too large"
                                               : "jwt in the request has a bad percent-escape");
  }
  if (len > WD_TOKEN_MAX)
    return wd_result_fail(r, WD_ETOOBIG, NULL, "token of %zu bytes exceeds the %d byte limit", len,
                          WD_TOKEN_MAX);
  if (split_jws(tok, len, seg))
    return wd_result_fail(r, WD_EMALFORMED, NULL, "jwt is not three dot-separated segments");
  if (seg[0].n == 0 || seg[1].n == 0)
    return wd_result_fail(r, WD_EMALFORMED, NULL, "jwt has an empty header or payload segment");
  if (b64url_decode(seg[0].p, seg[0].n, dec, sizeof dec, &hn))
    return wd_result_fail(r, WD_EMALFORMED, NULL, "jwt header is not base64url");
  if (!(hdr = parse_object(dec, hn))) {
    rc = wd_result_fail(r, WD_EMALFORMED, NULL, "jwt header is not a JSON object");
    goto out;
  }
  if ((rc = check_header(r, hdr, &alg, &kid, &kid_len)))
    goto out;
  if (b64url_decode(seg[1].p, seg[1].n, dec + hn, sizeof dec - hn, &pn)) {
    rc = wd_result_fail(r, WD_EMALFORMED, NULL, "jwt payload is not base64url");
    goto out;
  }
  if (!(payload = parse_object(dec + hn, pn))) {
    rc = wd_result_fail(r, WD_EMALFORMED, NULL,
                        "jwt payload is not a JSON object (or repeats a claim)");
    goto out;
  }
  const char *signing = tok;
  size_t signing_len = seg[0].n + 1 + seg[1].n;
  if ((rc = fill_identity(v, r, payload, signing, signing_len, &exp, &has_exp, &nbf, &has_nbf)))
    goto out;
  rc = wd_b64_decode(seg[2].p, seg[2].n, sig, sizeof sig, &sn, WD_B64_URL);
  if (rc) {
    rc = wd_result_fail(r, WD_EMALFORMED, NULL, rc == WD_ETOOBIG ? "jwt signature is too long"
                                                                 : "jwt signature is not base64url");
    goto out;
  }
  if (sn == 0) {
    rc = wd_result_fail(r, WD_ESIGNATURE, NULL, "jwt has an empty signature");
    goto out;
  }
  if ((rc = check_signature(v, r, alg, kid, kid_len, payload, signing, signing_len, sig, sn)))
    goto out;
  if ((rc = check_claims(r, opts, req, payload, exp, has_exp, nbf, has_nbf)))
    goto out;
  if (opts->want_claims) {
    json_decref(r->claims);
    r->claims = payload;
    payload = NULL;
  }
  rc = 0;
out:
  json_decref(hdr);
  json_decref(payload);
  return rc;
}

/* JSON.stringify writes \u escapes in lowercase hex; jansson in uppercase. */
static void lowercase_escapes(char *s) {
  for (; *s; s++) {
    if (*s != '\\')
      continue;
    if (s[1] == 'u') {
      for (int i = 2; i < 6 && s[i]; i++)
        if (s[i] >= 'A' && s[i] <= 'F')
          s[i] = (char)(s[i] - 'A' + 'a');
      s += 5;
    } else if (s[1]) {
      s++;
    }
  }
}

/* JSON.stringify writes integral numbers without a fraction: turn integral reals into integers. */
static int integral_reals(json_t *j) {
  const char *key;
  json_t *val;
  size_t i;
  if (json_is_object(j)) {
    json_object_foreach(j, key, val) {
      if (json_is_real(val)) {
        double d = json_real_value(val);
        if (d == floor(d) && fabs(d) < 9007199254740992.0 &&
            json_object_set_new(j, key, json_integer((json_int_t)d)))
          return WD_ENOMEM;
      } else if (integral_reals(val)) {
        return WD_ENOMEM;
      }
    }
  } else if (json_is_array(j)) {
    json_array_foreach(j, i, val) {
      if (json_is_real(val)) {
        double d = json_real_value(val);
        if (d == floor(d) && fabs(d) < 9007199254740992.0 &&
            json_array_set_new(j, i, json_integer((json_int_t)d)))
          return WD_ENOMEM;
      } else if (integral_reals(val)) {
        return WD_ENOMEM;
      }
    }
  }
  return 0;
}

/* base64url (no padding) of a JSON value serialized as JSON.stringify would. */
static char *encode_json(const json_t *j) {
  char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!text)
    return NULL;
  lowercase_escapes(text);
  size_t n = strlen(text);
  char *out = malloc(wd_b64_enc_len(n, 0) + 1);
  if (out)
    wd_b64_encode((const uint8_t *)text, n, out, 1, 0);
  free(text);
  return out;
}

static int issue_fail(char *err, size_t errlen, int code, const char *msg) {
  if (err && errlen)
    snprintf(err, errlen, "%s", msg);
  return code;
}

/*
 * Issue a compact JWS over `claims` (NULL: {}), signed by the ring's JWT signing key (opts->kid,
 * else the newest key for the claims' iss). Adds exp = now + ttl when opts->ttl and no exp, and
 * ip = opts->ip when given and the claims carry no ip. *out is malloc'd; caller frees.
 */
int wd__jwt_issue(const wd_keyring_t *ring, const json_t *claims, const wd_issue_opts_t *opts,
                  char **out, char *err, size_t errlen) {
  static const char *const times[] = {"exp", "nbf", "iat"};
  json_t *payload = NULL, *hdr = NULL;
  char *h64 = NULL, *p64 = NULL, *tok = NULL;
  unsigned char *sig = NULL;
  size_t siglen = 0;
  int rc;

  if (claims && !json_is_object(claims))
    return issue_fail(err, errlen, WD_EINVAL, "jwt claims must be a JSON object");
  for (size_t i = 0; claims && i < sizeof times / sizeof *times; i++) {
    const json_t *t = json_object_get(claims, times[i]);
    if (t && !json_is_number(t)) {
      if (err && errlen)
        snprintf(err, errlen, "claim %s must be a number (NumericDate)", times[i]);
      return WD_EINVAL;
    }
  }
  const json_t *issj = claims ? json_object_get(claims, "iss") : NULL;
  const wd_key_t *k = wd_keyring_signer(ring, WD_SCHEME_JWT, opts->kid,
                                        json_is_string(issj) ? json_string_value(issj) : NULL);
  if (!k)
    return issue_fail(err, errlen, WD_ENOKEY,
                      opts->kid ? "no jwt signing key with that kid (private key or secret)"
                                : "no jwt signing key (private key or secret)");
  const char *algname = jose_name(k->alg);
  if (!algname)
    return issue_fail(err, errlen, WD_EALG,
                      "the jwt signing key's algorithm is not HS256, HS384, HS512, RS256, ES256 or EdDSA");

  payload = claims ? json_deep_copy(claims) : json_object();
  hdr = json_object();
  if (!payload || !hdr) {
    rc = WD_ENOMEM;
    goto out;
  }
  if (opts->ttl > 0 && !json_object_get(payload, "exp")) {
    int64_t now = opts->now ? opts->now : wd__now(NULL);
    if (json_object_set_new(payload, "exp", json_integer(now + opts->ttl))) {
      rc = WD_ENOMEM;
      goto out;
    }
  }
  if (opts->ip && *opts->ip && !json_object_get(payload, "ip") &&
      json_object_set_new(payload, "ip", json_string(opts->ip))) {
    rc = issue_fail(err, errlen, WD_EINVAL, "ip is not valid UTF-8");
    goto out;
  }
  if ((rc = integral_reals(payload)))
    goto out;
  if (json_object_set_new(hdr, "alg", json_string(algname)) ||
      json_object_set_new(hdr, "typ", json_string("JWT"))) {
    rc = WD_ENOMEM;
    goto out;
  }
  if (k->kid_len && json_object_set_new(hdr, "kid", json_stringn(k->kid, k->kid_len))) {
    rc = issue_fail(err, errlen, WD_EKEY, "the signing key's kid is not UTF-8 text");
    goto out;
  }
  h64 = encode_json(hdr);
  p64 = encode_json(payload);
  if (!h64 || !p64) {
    rc = WD_ENOMEM;
    goto out;
  }
  size_t hl = strlen(h64), pl = strlen(p64);
  size_t signing_len = hl + 1 + pl;
  tok = malloc(signing_len + 1 + wd_b64_enc_len(JWT_SIG_MAX, 0) + 1);
  if (!tok) {
    rc = WD_ENOMEM;
    goto out;
  }
  memcpy(tok, h64, hl);
  tok[hl] = '.';
  memcpy(tok + hl + 1, p64, pl);
  tok[signing_len] = '\0';
  if (is_hmac_alg(k->alg)) {
    unsigned char mac[WD_DIGEST_MAX];
    wd_iov_t part = {tok, signing_len};
    rc = wd__hmac_oneshot(k, &part, 1, mac, &siglen);
    if (rc == 0 && !(sig = malloc(siglen)))
      rc = WD_ENOMEM;
    if (rc == 0)
      memcpy(sig, mac, siglen);
  } else {
    rc = wd__sign(k, tok, signing_len, &sig, &siglen, 1);
  }
  if (rc) {
    issue_fail(err, errlen, rc, "signing the jwt failed");
    goto out;
  }
  if (siglen > JWT_SIG_MAX) {
    rc = issue_fail(err, errlen, WD_EKEY, "the signing key's signatures are too large");
    goto out;
  }
  tok[signing_len] = '.';
  size_t total = signing_len + 1 + wd_b64_encode(sig, siglen, tok + signing_len + 1, 1, 0);
  if (total > WD_TOKEN_MAX) {
    if (err && errlen)
      snprintf(err, errlen, "jwt of %zu bytes exceeds the %d byte limit", total, WD_TOKEN_MAX);
    rc = WD_ETOOBIG;
    goto out;
  }
  *out = tok;
  tok = NULL;
  rc = 0;
out:
  json_decref(payload);
  json_decref(hdr);
  free(h64);
  free(p64);
  free(tok);
  free(sig);
  return rc;
}

/* Quick shape test: base64url characters (and '=') in three segments, two dots. */
static int looks_like_jws(const char *tok, size_t len) {
  int dots = 0;
  for (size_t i = 0; i < len; i++) {
    char c = tok[i];
    if (c == '.')
      dots++;
    else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '='))
      return 0;
  }
  return dots == 2;
}

/*
 * Decode without verifying: {"scheme":"jwt","header":{...},"claims":{...},"signature_bytes":N}.
 * WD_EMALFORMED unless three base64url segments whose header is a JSON object with alg and whose
 * payload is a JSON object.
 */
int wd__jwt_inspect(const char *tok, size_t len, json_t **out) {
  uint8_t buf[WD_TOKEN_MAX];
  size_t n = 0;
  wd_span_t seg[3];
  json_t *hdr = NULL, *payload = NULL, *o = NULL;
  if (!tok || len > WD_TOKEN_MAX || !looks_like_jws(tok, len) || split_jws(tok, len, seg))
    return WD_EMALFORMED;
  if (b64url_decode(seg[0].p, seg[0].n, buf, sizeof buf, &n) || !(hdr = parse_object(buf, n)) ||
      !json_is_string(json_object_get(hdr, "alg")))
    goto bad;
  if (b64url_decode(seg[1].p, seg[1].n, buf, sizeof buf, &n) || !(payload = parse_object(buf, n)))
    goto bad;
  if (b64url_decode(seg[2].p, seg[2].n, buf, sizeof buf, &n))
    goto bad;
  o = json_pack("{s:s, s:o, s:o, s:I}", "scheme", "jwt", "header", hdr, "claims", payload,
                "signature_bytes", (json_int_t)n);
  if (!o)
    return WD_ENOMEM; /* json_pack released hdr and payload ("o" steals them) */
  *out = o;
  return 0;
bad:
  json_decref(hdr);
  json_decref(payload);
  return WD_EMALFORMED;
}

/* Percent-decode a found value into buf when it holds escapes; otherwise point at it. */
static int deliver(wd_span_t v, char *buf, size_t cap, const char **tok, size_t *len) {
  if (!memchr(v.p, '%', v.n)) {
    *tok = v.p;
    *len = v.n;
    return 0;
  }
  long n = buf ? wd_pct_decode(v.p, v.n, buf, cap, 0) : -1;
  if (n < 0)
    return v.n < cap ? WD_EMALFORMED : WD_ETOOBIG;
  *tok = buf;
  *len = (size_t)n;
  return 0;
}

/*
 * Find the JWT: query parameter opts->jwt.query_param (default "token", then "jwt"), then an
 * `Authorization: Bearer` header, then cookie opts->jwt.cookie_name (default "token").
 * Percent-encoded values are decoded into buf (cap bytes): WD_ETOOBIG when they do not fit.
 */
int wd__jwt_extract(const wd_verify_opts_t *opts, const wd_request_t *req, char *buf, size_t cap,
                    const char **tok, size_t *len) {
  const char *qnames[2] = {opts->jwt.query_param ? opts->jwt.query_param : "token",
                           opts->jwt.query_param ? NULL : "jwt"};
  wd_span_t v;
  wd_url_t u;
  if (!req)
    return WD_ENOTOKEN;
  if (req->url && wd_url_split(req->url, &u) == 0)
    for (int i = 0; i < 2; i++)
      if (qnames[i] && wd_query_find(u.query, qnames[i], &v) == 0 && v.n > 0)
        return deliver(v, buf, cap, tok, len);
  const char *auth = wd_request_header(req, "Authorization");
  if (auth) {
    while (*auth == ' ' || *auth == '\t')
      auth++;
    if (strncasecmp(auth, "Bearer", 6) == 0 && (auth[6] == ' ' || auth[6] == '\t')) {
      const char *p = auth + 6;
      while (*p == ' ' || *p == '\t')
        p++;
      size_t n = strlen(p);
      while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
      if (n > 0) {
        v.p = p;
        v.n = n;
        return deliver(v, buf, cap, tok, len);
      }
    }
  }
  const char *cookies = wd_request_header(req, "Cookie");
  if (cookies &&
      wd_cookie_find(cookies, opts->jwt.cookie_name ? opts->jwt.cookie_name : "token", &v) == 0 &&
      v.n > 0)
    return deliver(v, buf, cap, tok, len);
  return WD_ENOTOKEN;
}
