/*
 * `warden token issue|verify|inspect`: a thin program over the token library. The option
 * contract is documented in token_usage() and in the README; scripts and tests depend on it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "warden/warden.h"

#define MAX_KEYS 16
#define MAX_HEADERS 32
#define MAX_NAMES 16

static void token_usage(FILE *f) {
  fprintf(f,
"usage: warden token issue   --scheme S [key options] [--claims JSON|@FILE] [--ttl SECONDS] [--url URL]\n"
"       warden token verify  --scheme S [key options] [request options] [TOKEN]\n"
"       warden token inspect TOKEN\n"
"\n"
"schemes: cat, jwt, akamai, securelink, cloudfront, bunny\n"
"\n"
"key options (repeat to configure several keys; the last one signs):\n"
"  --key-hex HEX        secret as hex (cat, akamai, bunny)\n"
"  --secret STRING      secret as text (jwt HS*, securelink, bunny)\n"
"  --key-file PEM       PEM key, private or public (jwt RS/ES/EdDSA, cloudfront, cat ES256)\n"
"  --kid ID             key id of the keys that follow it (or of all keys when it comes last);\n"
"                       when issuing, the key to sign with\n"
"  --key-pair-id ID     CloudFront Key-Pair-Id (same as --kid)\n"
"  --algo A             pinned algorithm: cat HS256 (alg 5), HS256/64 (alg 4), ES256;\n"
"                       jwt HS256 HS384 HS512 RS256 ES256 EdDSA; akamai sha256 sha1 md5\n"
"  --issuer ISS         accepted issuer (repeatable); when issuing, selects the signing key\n"
"  --audience AUD       accepted audience (repeatable)\n"
"  --template T         securelink string to sign, e.g. '$expires$uri$remote_addr $secret'\n"
"\n"
"request options (verify):\n"
"  --url URL            the request URL as sent (token may come from it)\n"
"  --ip IP              client address\n"
"  --method M           request method\n"
"  --header 'N: V'      request header (repeatable; Cookie too)\n"
"  --now UNIX           verification time (default: now)\n"
"  --leeway SECONDS     clock skew tolerated on exp/nbf\n"
"  --country CC         client country (ISO 3166, CC or CC-SUB)\n"
"  --asn N              client network's ASN\n"
"  --alpn ID            negotiated ALPN\n"
"  --coord LAT,LON      client coordinates\n"
"  --geohash H          client geohash\n"
"\n"
"scheme options:\n"
"  --strict | --lenient           cat: reject / ignore every unknown claim (default: reject\n"
"                                 unknown claims in the CAT range, ignore others)\n"
"  --composite-labels akamai|draft cat: labels of or/nor/and (default both)\n"
"  --stem-first-dot               cat: split stem/extension at the first dot (node-cat)\n"
"  --allow-text-payload           cat: accept node-cat's legacy hex-text payload\n"
"  --untagged                     cat: issue without the CWT tag\n"
"  --escape-early [node|python]   akamai: issue with escape_early\n"
"  --salt S                       akamai: salt signed after the fields (never sent)\n"
"  --style nginx|cdn77            securelink: query form\n"
"  --directory                    securelink: sign the directory of the URL\n"
"  --sha256                       cloudfront: Hash-Algorithm=SHA256\n"
"  --custom-policy                cloudfront: custom policy (also implied by --resource,\n"
"                                 --not-before, --ip-cidr)\n"
"  --resource R  --not-before T  --ip-cidr C   cloudfront custom policy fields\n"
"  --cookies                      cloudfront: print Set-Cookie values instead of a URL\n"
"  --ip IP                        when issuing: bind the token to this address\n"
"\n"
"exit status: 0 valid (verify prints claims and identity as JSON), 1 invalid (one-line\n"
"reason on stderr), 2 usage error.\n");
}

enum {
  OPT_SCHEME = 256, OPT_KEY_HEX, OPT_SECRET, OPT_KEY_FILE, OPT_KID, OPT_KEY_PAIR_ID, OPT_ALGO,
  OPT_ISSUER, OPT_AUDIENCE, OPT_TEMPLATE, OPT_CLAIMS, OPT_TTL, OPT_URL, OPT_IP, OPT_METHOD,
  OPT_HEADER, OPT_NOW, OPT_LEEWAY, OPT_COUNTRY, OPT_ASN, OPT_ALPN, OPT_COORD, OPT_GEOHASH,
  OPT_STRICT, OPT_LENIENT, OPT_LABELS, OPT_STEM_FIRST, OPT_TEXT_PAYLOAD, OPT_UNTAGGED,
  OPT_ESCAPE, OPT_STYLE, OPT_DIRECTORY, OPT_SHA256, OPT_CUSTOM, OPT_RESOURCE, OPT_NOT_BEFORE,
  OPT_IP_CIDR, OPT_COOKIES, OPT_SALT, OPT_HELP
};

static const struct option long_opts[] = {
    {"scheme", required_argument, 0, OPT_SCHEME}, {"key-hex", required_argument, 0, OPT_KEY_HEX},
    {"secret", required_argument, 0, OPT_SECRET}, {"key-file", required_argument, 0, OPT_KEY_FILE},
    {"kid", required_argument, 0, OPT_KID}, {"key-pair-id", required_argument, 0, OPT_KEY_PAIR_ID},
    {"algo", required_argument, 0, OPT_ALGO}, {"issuer", required_argument, 0, OPT_ISSUER},
    {"audience", required_argument, 0, OPT_AUDIENCE}, {"template", required_argument, 0, OPT_TEMPLATE},
    {"claims", required_argument, 0, OPT_CLAIMS}, {"ttl", required_argument, 0, OPT_TTL},
    {"url", required_argument, 0, OPT_URL}, {"ip", required_argument, 0, OPT_IP},
    {"method", required_argument, 0, OPT_METHOD}, {"header", required_argument, 0, OPT_HEADER},
    {"now", required_argument, 0, OPT_NOW}, {"leeway", required_argument, 0, OPT_LEEWAY},
    {"country", required_argument, 0, OPT_COUNTRY}, {"asn", required_argument, 0, OPT_ASN},
    {"alpn", required_argument, 0, OPT_ALPN}, {"coord", required_argument, 0, OPT_COORD},
    {"geohash", required_argument, 0, OPT_GEOHASH}, {"strict", no_argument, 0, OPT_STRICT},
    {"lenient", no_argument, 0, OPT_LENIENT}, {"composite-labels", required_argument, 0, OPT_LABELS},
    {"stem-first-dot", no_argument, 0, OPT_STEM_FIRST},
    {"allow-text-payload", no_argument, 0, OPT_TEXT_PAYLOAD},
    {"untagged", no_argument, 0, OPT_UNTAGGED}, {"escape-early", optional_argument, 0, OPT_ESCAPE},
    {"style", required_argument, 0, OPT_STYLE}, {"directory", no_argument, 0, OPT_DIRECTORY},
    {"sha256", no_argument, 0, OPT_SHA256}, {"custom-policy", no_argument, 0, OPT_CUSTOM},
    {"resource", required_argument, 0, OPT_RESOURCE},
    {"not-before", required_argument, 0, OPT_NOT_BEFORE},
    {"ip-cidr", required_argument, 0, OPT_IP_CIDR}, {"cookies", no_argument, 0, OPT_COOKIES},
    {"salt", required_argument, 0, OPT_SALT},
    {"help", no_argument, 0, OPT_HELP}, {0, 0, 0, 0}};

typedef enum { KEY_HEX, KEY_SECRET, KEY_PEM } key_kind_t;

typedef struct key_arg {
  key_kind_t kind;
  const char *value;
  const char *kid;   /* nearest --kid before it, else the first one after */
} key_arg_t;

typedef struct token_args {
  wd_scheme_t scheme;
  key_arg_t keys[MAX_KEYS];
  int nkeys;
  const char *last_kid;
  const char *algo;
  const char *issuers[MAX_NAMES];
  size_t nissuers;
  const char *audiences[MAX_NAMES];
  size_t naudiences;
  const char *claims;
  long long ttl;
  wd_request_t req;
  wd_header_t headers[MAX_HEADERS];
  char *header_bufs[MAX_HEADERS];
  wd_verify_opts_t vopts;
  wd_issue_opts_t iopts;
} token_args_t;

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "warden token: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, " (see 'warden token --help')\n");
  return WD_EXIT_USAGE;
}

static int parse_ll(const char *s, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end)
    return -1;
  *out = v;
  return 0;
}

/* Map --algo to the pinned algorithm for the scheme. */
static int parse_algo(wd_scheme_t scheme, const char *a, wd_alg_t *out) {
  if (!a) {
    *out = WD_ALG_NONE;
    return 0;
  }
  if (scheme == WD_SCHEME_AKAMAI) {
    if (!strcasecmp(a, "sha256"))
      *out = WD_ALG_HS256;
    else if (!strcasecmp(a, "sha1"))
      *out = WD_ALG_HS1;
    else if (!strcasecmp(a, "md5"))
      *out = WD_ALG_HMD5;
    else
      return -1;
    return 0;
  }
  if (scheme == WD_SCHEME_CAT && (!strcmp(a, "5") || !strcasecmp(a, "HMAC256/256"))) {
    *out = WD_ALG_HS256;
    return 0;
  }
  if (scheme == WD_SCHEME_CAT && (!strcmp(a, "4") || !strcasecmp(a, "HMAC256/64"))) {
    *out = WD_ALG_HS256_64;
    return 0;
  }
  return wd_alg_parse(a, out) == 0 ? 0 : -1;
}

static int build_keyring(token_args_t *a, wd_keyring_t **out) {
  wd_keyring_t *ring;
  wd_alg_t alg;
  if (parse_algo(a->scheme, a->algo, &alg))
    return usage_error("unknown --algo '%s'", a->algo);
  if (wd_keyring_create(&ring))
    return WD_EXIT_FAIL;
  const char *issuer = a->nissuers ? a->issuers[0] : NULL;
  for (int i = 0; i < a->nkeys; i++) {
    key_arg_t *k = &a->keys[i];
    const char *kid = k->kid ? k->kid : a->last_kid;
    size_t kidlen = kid ? strlen(kid) : 0;
    int rc;
    if (k->kind == KEY_HEX) {
      size_t n = strlen(k->value);
      unsigned char *buf = malloc(n / 2 + 1);
      size_t blen = 0;
      int ok = buf != NULL;
      for (size_t j = 0; ok && j + 1 < n + 1 && j < n; j += 2) {
        unsigned v;
        if (j + 1 >= n || sscanf(k->value + j, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", k->value[j]) ||
            !strchr("0123456789abcdefABCDEF", k->value[j + 1]))
          ok = 0;
        else
          buf[blen++] = (unsigned char)v;
      }
      if (!ok || blen == 0) {
        free(buf);
        wd_keyring_destroy(ring);
        return usage_error("--key-hex '%s' is not an even-length hex string", "(redacted)");
      }
      rc = wd_keyring_add_secret(ring, a->scheme, alg, kid, kidlen, issuer, buf, blen, NULL);
      free(buf);
    } else if (k->kind == KEY_SECRET) {
      rc = wd_keyring_add_secret(ring, a->scheme, alg, kid, kidlen, issuer, k->value,
                                 strlen(k->value), NULL);
    } else {
      size_t n;
      char *pem = cli_read_file(k->value, 1 << 20, &n);
      if (!pem) {
        wd_keyring_destroy(ring);
        fprintf(stderr, "warden token: cannot read key file '%s': %s\n", k->value, strerror(errno));
        return WD_EXIT_USAGE;
      }
      rc = wd_keyring_add_pem(ring, a->scheme, alg, kid, kidlen, issuer, pem, n, NULL);
      free(pem);
    }
    if (rc) {
      wd_keyring_destroy(ring);
      fprintf(stderr, "warden token: key %d not usable for %s%s%s: %s\n", i + 1,
              wd_scheme_name(a->scheme), a->algo ? " with --algo " : "", a->algo ? a->algo : "",
              wd_strerror(rc));
      return WD_EXIT_USAGE;
    }
  }
  *out = ring;
  return 0;
}

static int add_header(token_args_t *a, const char *arg) {
  if (a->req.nheaders >= MAX_HEADERS)
    return usage_error("too many --header options (at most %s)", "32");
  const char *colon = strchr(arg, ':');
  if (!colon || colon == arg)
    return usage_error("--header '%s' is not 'Name: value'", arg);
  size_t i = a->req.nheaders;
  char *buf = strdup(arg);
  if (!buf)
    return WD_EXIT_FAIL;
  buf[colon - arg] = '\0';
  const char *v = buf + (colon - arg) + 1;
  while (*v == ' ' || *v == '\t')
    v++;
  a->header_bufs[i] = buf;
  a->headers[i].name = buf;
  a->headers[i].value = v;
  a->req.headers = a->headers;
  a->req.nheaders = i + 1;
  return 0;
}

static int parse_args(int argc, char **argv, token_args_t *a) {
  const char *pending_kid_for[MAX_KEYS] = {0};
  (void)pending_kid_for;
  int first_kidless = 0; /* keys [first_kidless, nkeys) have no preceding --kid */
  optind = 1;
  opterr = 0;
  int c;
  long long v;
  while ((c = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1) {
    switch (c) {
    case OPT_SCHEME:
      if (wd_scheme_parse(optarg, &a->scheme))
        return usage_error("unknown scheme '%s' (expected cat, jwt, akamai, securelink, cloudfront or bunny)", optarg);
      break;
    case OPT_KEY_HEX:
    case OPT_SECRET:
    case OPT_KEY_FILE:
      if (a->nkeys >= MAX_KEYS)
        return usage_error("too many keys (at most %s)", "16");
      a->keys[a->nkeys].kind = c == OPT_KEY_HEX ? KEY_HEX : c == OPT_SECRET ? KEY_SECRET : KEY_PEM;
      a->keys[a->nkeys].value = optarg;
      a->keys[a->nkeys].kid = a->last_kid;
      a->nkeys++;
      break;
    case OPT_KID:
    case OPT_KEY_PAIR_ID:
      if (!a->last_kid)
        for (int i = first_kidless; i < a->nkeys; i++)
          a->keys[i].kid = optarg;
      first_kidless = a->nkeys;
      a->last_kid = optarg;
      break;
    case OPT_ALGO: a->algo = optarg; break;
    case OPT_ISSUER:
      if (a->nissuers >= MAX_NAMES)
        return usage_error("too many --issuer options (at most %s)", "16");
      a->issuers[a->nissuers++] = optarg;
      break;
    case OPT_AUDIENCE:
      if (a->naudiences >= MAX_NAMES)
        return usage_error("too many --audience options (at most %s)", "16");
      a->audiences[a->naudiences++] = optarg;
      break;
    case OPT_TEMPLATE: a->vopts.securelink.template_str = optarg; break;
    case OPT_CLAIMS: a->claims = optarg; break;
    case OPT_TTL:
      if (parse_ll(optarg, &v) || v <= 0)
        return usage_error("--ttl '%s' is not a positive number of seconds", optarg);
      a->ttl = v;
      break;
    case OPT_URL: a->req.url = optarg; break;
    case OPT_IP: a->req.ip = optarg; break;
    case OPT_METHOD: a->req.method = optarg; break;
    case OPT_HEADER:
      if (add_header(a, optarg))
        return WD_EXIT_USAGE;
      break;
    case OPT_NOW:
      if (parse_ll(optarg, &v) || v <= 0)
        return usage_error("--now '%s' is not a unix time", optarg);
      a->req.now = v;
      break;
    case OPT_LEEWAY:
      if (parse_ll(optarg, &v) || v < 0 || v > 86400)
        return usage_error("--leeway '%s' is not 0..86400 seconds", optarg);
      a->vopts.leeway = v;
      break;
    case OPT_COUNTRY: a->req.country = optarg; break;
    case OPT_ASN:
      if (parse_ll(optarg, &v) || v <= 0 || v > 4294967295LL)
        return usage_error("--asn '%s' is not an AS number", optarg);
      a->req.asn = (uint32_t)v;
      break;
    case OPT_ALPN: a->req.alpn = optarg; break;
    case OPT_COORD:
      if (sscanf(optarg, "%lf,%lf", &a->req.lat, &a->req.lon) != 2 || a->req.lat < -90 ||
          a->req.lat > 90 || a->req.lon < -180 || a->req.lon > 180)
        return usage_error("--coord '%s' is not LAT,LON", optarg);
      a->req.has_coord = 1;
      break;
    case OPT_GEOHASH: a->req.geohash = optarg; break;
    case OPT_STRICT: a->vopts.cat.unknown = WD_CAT_UNKNOWN_STRICT; break;
    case OPT_LENIENT: a->vopts.cat.unknown = WD_CAT_UNKNOWN_LENIENT; break;
    case OPT_LABELS:
      if (!strcmp(optarg, "akamai"))
        a->vopts.cat.labels = WD_CAT_LABELS_AKAMAI;
      else if (!strcmp(optarg, "draft"))
        a->vopts.cat.labels = WD_CAT_LABELS_DRAFT;
      else
        return usage_error("--composite-labels '%s' (expected akamai or draft)", optarg);
      break;
    case OPT_STEM_FIRST: a->vopts.cat.stem_first_dot = 1; break;
    case OPT_TEXT_PAYLOAD: a->vopts.cat.allow_text_payload = 1; break;
    case OPT_UNTAGGED: a->vopts.cat.tagless = 1; break;
    case OPT_ESCAPE:
      a->vopts.akamai.escape_early = 1;
      if (!optarg || !strcmp(optarg, "node"))
        a->vopts.akamai.escape = WD_AKAMAI_ESCAPE_NODE;
      else if (!strcmp(optarg, "python"))
        a->vopts.akamai.escape = WD_AKAMAI_ESCAPE_PYTHON;
      else
        return usage_error("--escape-early '%s' (expected node or python)", optarg);
      break;
    case OPT_SALT: a->vopts.akamai.salt = optarg; break;
    case OPT_STYLE:
      if (!strcmp(optarg, "nginx"))
        a->vopts.securelink.style = WD_SECURELINK_NGINX;
      else if (!strcmp(optarg, "cdn77"))
        a->vopts.securelink.style = WD_SECURELINK_CDN77;
      else
        return usage_error("--style '%s' (expected nginx or cdn77)", optarg);
      break;
    case OPT_DIRECTORY: a->vopts.securelink.directory_scope = 1; break;
    case OPT_SHA256: a->iopts.cloudfront.sha256 = 1; break;
    case OPT_CUSTOM: a->iopts.cloudfront.custom = 1; break;
    case OPT_RESOURCE:
      a->iopts.cloudfront.resource = optarg;
      a->iopts.cloudfront.custom = 1;
      break;
    case OPT_NOT_BEFORE:
      if (parse_ll(optarg, &v) || v <= 0)
        return usage_error("--not-before '%s' is not a unix time", optarg);
      a->iopts.cloudfront.not_before = v;
      a->iopts.cloudfront.custom = 1;
      break;
    case OPT_IP_CIDR:
      a->iopts.cloudfront.ip_cidr = optarg;
      a->iopts.cloudfront.custom = 1;
      break;
    case OPT_COOKIES: a->iopts.cloudfront.cookies = 1; break;
    case OPT_HELP:
    case 'h':
      token_usage(stdout);
      return -1;
    default:
      return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  a->vopts.cat.issuers = a->issuers;
  a->vopts.cat.nissuers = a->nissuers;
  a->vopts.cat.audiences = a->audiences;
  a->vopts.cat.naudiences = a->naudiences;
  a->vopts.jwt.issuers = a->issuers;
  a->vopts.jwt.nissuers = a->nissuers;
  a->vopts.jwt.audiences = a->audiences;
  a->vopts.jwt.naudiences = a->naudiences;
  return 0;
}

static void free_args(token_args_t *a) {
  for (size_t i = 0; i < a->req.nheaders; i++)
    free(a->header_bufs[i]);
}

static json_t *identity_json(const wd_identity_t *id) {
  json_t *o = json_object();
  json_object_set_new(o, "scheme", json_string(wd_scheme_name(id->scheme)));
  json_object_set_new(o, "token_id", json_string(id->token_id));
  if (id->subject[0])
    json_object_set_new(o, "subject", json_string(id->subject));
  if (id->issuer[0])
    json_object_set_new(o, "issuer", json_string(id->issuer));
  if (id->iat)
    json_object_set_new(o, "iat", json_integer(id->iat));
  json_object_set_new(o, "exp", id->exp ? json_integer(id->exp) : json_null());
  if (id->ip[0])
    json_object_set_new(o, "ip", json_string(id->ip));
  return o;
}

static const char *delivery_name(wd_delivery_t d) {
  switch (d) {
  case WD_DELIVER_HEADER: return "header";
  case WD_DELIVER_COOKIE: return "cookie";
  case WD_DELIVER_REDIRECT: return "redirect";
  default: return "none";
  }
}

static int do_verify(token_args_t *a, int argc, char **argv) {
  if (optind < argc - 1)
    return usage_error("unexpected argument '%s' (one TOKEN at most)", argv[optind + 1]);
  const char *tok = optind < argc ? argv[optind] : NULL;
  if (a->nkeys == 0)
    return usage_error("no key given for scheme %s (--key-hex, --secret or --key-file)",
                       wd_scheme_name(a->scheme));
  wd_keyring_t *ring = NULL;
  int rc = build_keyring(a, &ring);
  if (rc)
    return rc;
  wd_verifier_t *v = NULL;
  if (wd_verifier_create(ring, &v)) {
    wd_keyring_destroy(ring);
    fprintf(stderr, "warden token: cannot initialise the crypto library\n");
    return WD_EXIT_FAIL;
  }
  a->vopts.want_claims = 1;
  wd_result_t r;
  wd_result_init(&r);
  int vrc = wd_token_verify(v, &a->vopts, a->scheme, tok, tok ? strlen(tok) : 0, &a->req, &r);
  int exit_code;
  if (vrc == 0) {
    json_t *o = json_object();
    json_object_set_new(o, "valid", json_true());
    json_object_set_new(o, "identity", identity_json(&r.id));
    json_object_set_new(o, "claims", r.claims ? json_incref(r.claims) : json_object());
    if (r.replay >= 0)
      json_object_set_new(o, "replay", json_integer(r.replay));
    if (r.renew != WD_DELIVER_NONE || r.response.nheaders || r.response.status) {
      json_t *resp = json_object(), *hdrs = json_array();
      if (r.renew != WD_DELIVER_NONE) {
        json_object_set_new(resp, "renewal", json_string(delivery_name(r.renew)));
        json_object_set_new(resp, "token", json_string(r.renewed_token ? r.renewed_token : ""));
      }
      if (r.response.status)
        json_object_set_new(resp, "status", json_integer(r.response.status));
      for (size_t i = 0; i < r.response.nheaders; i++) {
        json_t *h = json_array();
        json_array_append_new(h, json_string(r.response.headers[i].name));
        json_array_append_new(h, json_string(r.response.headers[i].value));
        json_array_append_new(hdrs, h);
      }
      json_object_set_new(resp, "headers", hdrs);
      json_object_set_new(o, "response", resp);
    }
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s)
      printf("%s\n", s);
    free(s);
    json_decref(o);
    exit_code = WD_EXIT_OK;
  } else {
    fprintf(stderr, "invalid %s token: %s\n", wd_scheme_name(a->scheme), r.reason);
    exit_code = vrc == WD_EINVAL ? WD_EXIT_USAGE : WD_EXIT_FAIL;
  }
  wd_result_cleanup(&r);
  wd_verifier_destroy(v);
  wd_keyring_destroy(ring);
  return exit_code;
}

static int do_issue(token_args_t *a, int argc, char **argv) {
  if (optind < argc)
    return usage_error("unexpected argument '%s'", argv[optind]);
  if (a->nkeys == 0)
    return usage_error("no key given for scheme %s (--key-hex, --secret or --key-file)",
                       wd_scheme_name(a->scheme));
  json_t *claims = NULL;
  json_error_t je;
  if (a->claims && a->claims[0] == '@') {
    size_t n;
    char *text = cli_read_file(a->claims + 1, 1 << 20, &n);
    if (!text) {
      fprintf(stderr, "warden token: cannot read claims file '%s': %s\n", a->claims + 1, strerror(errno));
      return WD_EXIT_USAGE;
    }
    claims = json_loadb(text, n, 0, &je);
    free(text);
  } else if (a->claims) {
    claims = json_loads(a->claims, 0, &je);
  } else {
    claims = json_object();
  }
  if (!claims) {
    fprintf(stderr, "warden token: --claims is not JSON: %s at line %d column %d\n", je.text, je.line,
            je.column);
    return WD_EXIT_USAGE;
  }
  if (!json_is_object(claims)) {
    json_decref(claims);
    return usage_error("--claims must be a JSON object, got %s", "another JSON value");
  }
  wd_keyring_t *ring = NULL;
  int rc = build_keyring(a, &ring);
  if (rc) {
    json_decref(claims);
    return rc;
  }
  wd_issue_opts_t *o = &a->iopts;
  o->now = a->req.now;
  o->ttl = a->ttl;
  o->kid = a->last_kid;
  o->url = a->req.url;
  o->ip = a->req.ip;
  o->cat = a->vopts.cat;
  o->akamai = a->vopts.akamai;
  o->securelink = a->vopts.securelink;
  o->bunny = a->vopts.bunny;
  char *out = NULL, err[256];
  rc = wd_token_issue(ring, a->scheme, claims, o, &out, err, sizeof err);
  int exit_code = WD_EXIT_OK;
  if (rc) {
    fprintf(stderr, "warden token: cannot issue %s token: %s\n", wd_scheme_name(a->scheme), err);
    exit_code = (rc == WD_EINVAL || rc == WD_ENOKEY || rc == WD_EKEY) ? WD_EXIT_USAGE : WD_EXIT_FAIL;
  } else {
    printf("%s\n", out);
  }
  free(out);
  json_decref(claims);
  wd_keyring_destroy(ring);
  return exit_code;
}

static int do_inspect(int argc, char **argv) {
  if (argc != 2)
    return usage_error("inspect takes exactly one TOKEN%s", "");
  json_t *j = NULL;
  char err[256];
  int rc = wd_token_inspect(argv[1], strlen(argv[1]), &j, err, sizeof err);
  if (rc) {
    fprintf(stderr, "cannot decode token: %s\n", err);
    return WD_EXIT_FAIL;
  }
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
  if (s)
    printf("%s\n", s);
  free(s);
  json_decref(j);
  return WD_EXIT_OK;
}

int cmd_token(int argc, char **argv) {
  if (argc < 2) {
    token_usage(stderr);
    return WD_EXIT_USAGE;
  }
  const char *sub = argv[1];
  if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
    token_usage(stdout);
    return WD_EXIT_OK;
  }
  if (!strcmp(sub, "inspect"))
    return do_inspect(argc - 1, argv + 1);
  if (strcmp(sub, "issue") && strcmp(sub, "verify")) {
    fprintf(stderr, "warden token: unknown subcommand '%s' (expected issue, verify or inspect)\n", sub);
    return WD_EXIT_USAGE;
  }
  token_args_t *a = calloc(1, sizeof *a);
  if (!a)
    return WD_EXIT_FAIL;
  int rc = parse_args(argc - 1, argv + 1, a);
  if (rc == -1)
    rc = WD_EXIT_OK;
  else if (rc == 0 && a->scheme == WD_SCHEME_NONE)
    rc = usage_error("--scheme is required (cat, jwt, akamai, securelink, cloudfront or bunny)%s", "");
  else if (rc == 0)
    rc = !strcmp(sub, "issue") ? do_issue(a, argc - 1, argv + 1) : do_verify(a, argc - 1, argv + 1);
  free_args(a);
  free(a);
  return rc;
}
