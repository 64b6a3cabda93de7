/*
 * `warden sim`: labelled traffic of a live event (lib/sim), with real CAT tokens issued from
 * the key ring, written as a CDN access log with the ground truth beside it, or sent live to a
 * running `warden serve` as nginx auth_request calls with the answers kept next to the truth
 * (docs/sim.md).
 *
 * Files in --out DIR:
 *   access.log     one request a line: nginx combined (default), CloudFront standard log, or
 *                  warden-requests (JSON lines `warden analyze --format warden` reads)
 *   truth.jsonl    one object per token: label, pattern, networks, when it became misuse
 *   answers.jsonl  --live only: one object per request with the server's answer
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cli.h"
#include "config.h"
#include "geo_setup.h"
#include "jsonw.h"
#include "sim_live.h"
#include "util/codec.h"
#include "warden/sim.h"
#include "warden/warden.h"

#define MAX_RENDITIONS WD_SIM_MAX_RENDITIONS
#define CDN_HOST "cdn.example.com"
#define CF_DISTRIBUTION "d111111abcdef8.cloudfront.net"
#define CF_FIELDS                                                                               \
  "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "          \
  "cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id "  \
  "x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "    \
  "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "   \
  "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "            \
  "sc-range-start sc-range-end"

static void sim_usage(FILE *f) {
  fprintf(f,
"usage: warden sim --out DIR [options]\n"
"       warden sim --out DIR --live http://127.0.0.1:PORT [--speed N] [options]\n"
"\n"
"Generates the requests of a live event (viewers, households, casting, hand-overs, tokens\n"
"shared with friends and pirates, restreamers) with real CAT tokens, and the ground truth of\n"
"every token. Writes DIR/access.log and DIR/truth.jsonl; with --live also sends every request\n"
"to warden serve as GET /auth and writes its answers to DIR/answers.jsonl.\n"
"\n"
"  --out DIR             where the files go (created when missing)\n"
"  --format F            nginx (combined, default), cloudfront (standard log), warden-requests\n"
"                        (JSON lines)\n"
"  --seed N              the same seed, options and start give the same traffic (default 1)\n"
"  --duration S          event length in seconds (default 600)\n"
"  --audience N          paying viewers' tokens (default 1000)\n"
"  --shared F            share of those tokens that are shared (default 0.05)\n"
"  --pirates MIN-MAX     others on one shared token: 2-5 are friends, more are pirates\n"
"                        (default 2-200; one number: exactly that many)\n"
"  --restreamers N       restreaming tokens from datacenters (default 2)\n"
"  --segment S           segment duration in seconds (default 4)\n"
"  --renditions LIST     comma-separated names, best first (default 1080p,720p,480p,360p)\n"
"  --segment-path T      default /live/ch1/<rendition>/seg<N>.ts\n"
"  --playlist-path T     default /live/ch1/<rendition>/index.m3u8\n"
"  --start UNIX|now      the event's start (default now; --live: always now)\n"
"  --token-ttl S         token lifetime, renewed before it ends (default 0: the whole event)\n"
"  --key cat:hex:HEX     the CAT signing key (cat:pem:FILE for ES256); default: one is\n"
"                        generated and printed on stderr\n"
"  --issuer ISS          the tokens' iss (default warden-sim)\n"
"  --no-geo              synthetic addresses even when the geo data is installed\n"
"  --live URL            send the requests to warden serve at URL (http://HOST:PORT), which\n"
"                        must trust 127.0.0.1 with client_ip_header X-Real-IP\n"
"  --speed N             --live: N times real time (default 1)\n"
"  --connections N       --live: connections at once (default 8, at most 256)\n"
"  --geo-headers         --live: also send X-Country and X-ASN (for a server configured with\n"
"                        country_header: X-Country and asn_header: X-ASN)\n"
"\n"
"Exit status: 0 done, 1 failure (a file, the server), 2 usage.\n");
}

enum {
  OPT_OUT = 256, OPT_FORMAT, OPT_SEED, OPT_DURATION, OPT_AUDIENCE, OPT_SHARED, OPT_PIRATES,
  OPT_RESTREAMERS, OPT_SEGMENT, OPT_RENDITIONS, OPT_SEGMENT_PATH, OPT_PLAYLIST_PATH, OPT_START,
  OPT_TTL, OPT_KEY, OPT_ISSUER, OPT_NO_GEO, OPT_LIVE, OPT_SPEED, OPT_CONNECTIONS,
  OPT_GEO_HEADERS, OPT_HELP
};

static const struct option sim_opts[] = {
    {"out", required_argument, 0, OPT_OUT},
    {"format", required_argument, 0, OPT_FORMAT},
    {"seed", required_argument, 0, OPT_SEED},
    {"duration", required_argument, 0, OPT_DURATION},
    {"audience", required_argument, 0, OPT_AUDIENCE},
    {"shared", required_argument, 0, OPT_SHARED},
    {"pirates", required_argument, 0, OPT_PIRATES},
    {"restreamers", required_argument, 0, OPT_RESTREAMERS},
    {"segment", required_argument, 0, OPT_SEGMENT},
    {"renditions", required_argument, 0, OPT_RENDITIONS},
    {"segment-path", required_argument, 0, OPT_SEGMENT_PATH},
    {"playlist-path", required_argument, 0, OPT_PLAYLIST_PATH},
    {"start", required_argument, 0, OPT_START},
    {"token-ttl", required_argument, 0, OPT_TTL},
    {"key", required_argument, 0, OPT_KEY},
    {"issuer", required_argument, 0, OPT_ISSUER},
    {"no-geo", no_argument, 0, OPT_NO_GEO},
    {"live", required_argument, 0, OPT_LIVE},
    {"speed", required_argument, 0, OPT_SPEED},
    {"connections", required_argument, 0, OPT_CONNECTIONS},
    {"geo-headers", no_argument, 0, OPT_GEO_HEADERS},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0}};

typedef enum { FMT_NGINX, FMT_CLOUDFRONT, FMT_REQUESTS } log_format_t;

/* Per token, for the live summary: its label, when it became misuse, when it was first
 * answered "shared". */
typedef struct tok_note {
  int8_t label;
  int64_t became_ms, flagged_ms;
} tok_note_t;

typedef struct sim_run {
  wd_sim_config_t cfg;
  const char *rends[MAX_RENDITIONS];
  char rend_buf[512];
  const char *out_dir, *key_arg, *issuer, *live_url;
  log_format_t format;
  int no_geo, geo_headers, connections, start_given;
  double speed;

  conf_t *conf;
  wd_keyring_t *ring;
  wd_geo_t *geo;
  wd_sim_pool_t *pool;
  char geo_where[512];
  FILE *log, *truth, *answers;

  uint64_t requests, requests_by[WD_SIM_PATTERN_COUNT], tokens_by[WD_SIM_PATTERN_COUNT];
  uint64_t geo_checked, geo_mismatch;
  uint64_t cosmetic;          /* the state of the log's cosmetic fields (ports, ids) */
  time_t tcache;
  char tnginx[48], tdate[32], ttime[32];

  /* live */
  live_t *live;
  tok_note_t *notes;
  size_t nnotes;
  uint64_t answered, errors, late, by_action[9];
  int64_t wall0_us;
} sim_run_t;

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "warden sim: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, " (see 'warden sim --help')\n");
  return WD_EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
  char *end;
  errno = 0;
  if (!s[0] || s[0] == '-' || s[0] == '+')
    return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max)
    return -1;
  *out = v;
  return 0;
}

static int parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

/* ---------------------------------------------------------------- options */

static int parse_args(sim_run_t *r, int argc, char **argv) {
  wd_sim_config_init(&r->cfg);
  r->format = FMT_NGINX;
  r->issuer = "warden-sim";
  r->speed = 1;
  r->connections = 8;
  optind = 1;
  opterr = 0;
  int o;
  uint64_t v;
  double d;
  while ((o = getopt_long(argc, argv, ":h", sim_opts, NULL)) != -1) {
    switch (o) {
    case OPT_OUT: r->out_dir = optarg; break;
    case OPT_FORMAT:
      if (!strcmp(optarg, "nginx"))
        r->format = FMT_NGINX;
      else if (!strcmp(optarg, "cloudfront"))
        r->format = FMT_CLOUDFRONT;
      else if (!strcmp(optarg, "warden-requests"))
        r->format = FMT_REQUESTS;
      else
        return usage_error("unknown --format '%s' (expected nginx, cloudfront or warden-requests)", optarg);
      break;
    case OPT_SEED:
      if (parse_u64(optarg, UINT64_MAX, &r->cfg.seed))
        return usage_error("--seed '%s' is not a number from 0 to 18446744073709551615", optarg);
      break;
    case OPT_DURATION:
      if (parse_u64(optarg, 7 * 86400, &v) || v < 1)
        return usage_error("--duration '%s' is not a number of seconds from 1 to 604800", optarg);
      r->cfg.duration_s = (int64_t)v;
      break;
    case OPT_AUDIENCE:
      if (parse_u64(optarg, 10000000, &v))
        return usage_error("--audience '%s' is not a number from 0 to 10000000", optarg);
      r->cfg.audience = (uint32_t)v;
      break;
    case OPT_SHARED:
      if (parse_double(optarg, &d) || d < 0 || d > 1)
        return usage_error("--shared '%s' is not a share from 0 to 1 (0.05 is 5%%)", optarg);
      r->cfg.shared = d;
      break;
    case OPT_PIRATES: {
      char *dash = strchr(optarg, '-');
      uint64_t lo, hi;
      char tmp[64];
      snprintf(tmp, sizeof tmp, "%s", optarg);
      if (dash && (size_t)(dash - optarg) < sizeof tmp)
        tmp[dash - optarg] = '\0';
      if (parse_u64(tmp, 100000, &lo) || (dash ? parse_u64(dash + 1, 100000, &hi) : (hi = lo, 0)) ||
          lo < 1 || hi < lo)
        return usage_error("--pirates '%s' is not MIN-MAX with 1 <= MIN <= MAX <= 100000 (e.g. 2-200)", optarg);
      r->cfg.pirates_min = (uint32_t)lo;
      r->cfg.pirates_max = (uint32_t)hi;
      break;
    }
    case OPT_RESTREAMERS:
      if (parse_u64(optarg, 10000, &v))
        return usage_error("--restreamers '%s' is not a number from 0 to 10000", optarg);
      r->cfg.restreamers = (uint32_t)v;
      break;
    case OPT_SEGMENT:
      if (parse_u64(optarg, 60, &v) || v < 1)
        return usage_error("--segment '%s' is not a number of seconds from 1 to 60", optarg);
      r->cfg.segment_s = (int)v;
      break;
    case OPT_RENDITIONS: {
      if (strlen(optarg) >= sizeof r->rend_buf)
        return usage_error("--renditions '%.60s...' is too long", optarg);
      snprintf(r->rend_buf, sizeof r->rend_buf, "%s", optarg);
      size_t n = 0;
      for (char *p = r->rend_buf, *save = NULL, *tok; (tok = strtok_r(p, ",", &save)); p = NULL) {
        if (n == MAX_RENDITIONS)
          return usage_error("--renditions '%s': at most 16", optarg);
        r->rends[n++] = tok;
      }
      if (!n)
        return usage_error("--renditions '%s' names no rendition", optarg);
      r->cfg.renditions = r->rends;
      r->cfg.nrenditions = n;
      break;
    }
    case OPT_SEGMENT_PATH: r->cfg.segment_path = optarg; break;
    case OPT_PLAYLIST_PATH: r->cfg.playlist_path = optarg; break;
    case OPT_START:
      if (!strcmp(optarg, "now")) {
        r->start_given = 0;
      } else if (parse_u64(optarg, 253402300799ull, &v)) {
        return usage_error("--start '%s' is not unix seconds or 'now'", optarg);
      } else {
        r->cfg.start_ms = (int64_t)v * 1000;
        r->start_given = 1;
      }
      break;
    case OPT_TTL:
      if (parse_u64(optarg, 366 * 86400, &v))
        return usage_error("--token-ttl '%s' is not a number of seconds (0: the whole event)", optarg);
      r->cfg.token_ttl_s = (int64_t)v;
      break;
    case OPT_KEY: r->key_arg = optarg; break;
    case OPT_ISSUER: r->issuer = optarg; break;
    case OPT_NO_GEO: r->no_geo = 1; break;
    case OPT_LIVE: r->live_url = optarg; break;
    case OPT_SPEED:
      if (parse_double(optarg, &d) || d <= 0 || d > 10000)
        return usage_error("--speed '%s' is not a factor above 0 (at most 10000)", optarg);
      r->speed = d;
      break;
    case OPT_CONNECTIONS:
      if (parse_u64(optarg, LIVE_MAX_CONNECTIONS, &v) || v < 1)
        return usage_error("--connections '%s' is not a number from 1 to 256", optarg);
      r->connections = (int)v;
      break;
    case OPT_GEO_HEADERS: r->geo_headers = 1; break;
    case OPT_HELP:
    case 'h':
      sim_usage(stdout);
      return -1;
    case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
    default: return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return usage_error("unexpected argument '%s'", argv[optind]);
  if (!r->out_dir)
    return usage_error("%s", "--out DIR is required");
  if (r->live_url && r->start_given)
    return usage_error("%s", "--start cannot be used with --live: live traffic starts now");
  if (!r->live_url && (r->speed != 1 || r->connections != 8 || r->geo_headers))
    return usage_error("%s", "--speed, --connections and --geo-headers go with --live");
  if (!r->start_given)
    r->cfg.start_ms = cli_unix_ms() / 1000 * 1000;
  return 0;
}

/* ---------------------------------------------------------------- tokens */

static int issue_cat(void *ctx, const wd_sim_token_req_t *q, char *buf, size_t cap) {
  sim_run_t *r = ctx;
  json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:{s:{s:s}}}", "iss", r->issuer, "sub",
                             q->subject, "cti", q->token_id, "iat", (json_int_t)q->iat, "exp",
                             (json_int_t)q->exp, "catu", "path", "prefix-match", q->path_prefix);
  if (!claims)
    return WD_ENOMEM;
  wd_issue_opts_t o;
  memset(&o, 0, sizeof o);
  o.now = q->iat;
  char *tok = NULL, err[256];
  int rc = wd_token_issue(r->ring, WD_SCHEME_CAT, claims, &o, &tok, err, sizeof err);
  json_decref(claims);
  if (rc) {
    fprintf(stderr, "warden sim: cannot issue a CAT token: %s\n", err);
    return rc;
  }
  size_t n = strlen(tok);
  if (n >= cap) {
    free(tok);
    return WD_ETOOBIG;
  }
  memcpy(buf, tok, n + 1);
  free(tok);
  return 0;
}

static int setup_key(sim_run_t *r) {
  char err[512], arg[160];
  if (conf_default(&r->conf)) {
    fprintf(stderr, "warden sim: out of memory\n");
    return WD_EXIT_FAIL;
  }
  const char *k = r->key_arg;
  if (!k) {
    unsigned char b[32];
    char hex[65];
    if (RAND_bytes(b, sizeof b) != 1) {
      fprintf(stderr, "warden sim: the random generator failed\n");
      return WD_EXIT_FAIL;
    }
    wd_hex_encode(b, sizeof b, hex);
    snprintf(arg, sizeof arg, "cat:hex:%s", hex);
    fprintf(stderr, "warden sim: generated a CAT key for this run (shown only here; give it to "
                    "warden serve and warden token verify):\nwarden sim:   --key %s\n", arg);
    k = arg;
  }
  if (strncmp(k, "cat:", 4))
    return usage_error("--key '%.4s...': warden sim issues CAT tokens (cat:hex:HEX or cat:pem:FILE)", k);
  if (conf_add_key_arg(r->conf, k, err, sizeof err)) {
    fprintf(stderr, "warden sim: %s\n", err);
    return WD_EXIT_USAGE;
  }
  if (conf_build_keyring(r->conf, r->conf->keys, r->conf->nkeys, &r->ring, err, sizeof err)) {
    fprintf(stderr, "warden sim: %s\n", err);
    return WD_EXIT_USAGE;
  }
  memset(arg, 0, sizeof arg);
  return 0;
}

/* The address pool: the installed geo data, else synthetic. */
static int setup_pool(sim_run_t *r) {
  char err[512];
  if (!r->no_geo) {
    if (geo_setup(r->conf, &r->geo, r->geo_where, sizeof r->geo_where, err, sizeof err)) {
      fprintf(stderr, "warden sim: %s\n", err);
      return WD_EXIT_FAIL;
    }
  }
  if (!r->geo) {
    snprintf(r->geo_where, sizeof r->geo_where, "%s", r->no_geo ? "off (--no-geo)" : "none installed");
    return wd_sim_pool_synthetic(&r->pool) ? WD_EXIT_FAIL : 0;
  }
  /* automatic geo set-up: `where` is the directory of the npm packages */
  char a4[600], a6[600];
  snprintf(a4, sizeof a4, "%s/asn/asn-ipv4.csv", r->geo_where);
  snprintf(a6, sizeof a6, "%s/asn/asn-ipv6.csv", r->geo_where);
  const char *csv[] = {a4, a6};
  if (wd_sim_pool_load(r->geo, csv, 2, &r->pool, err, sizeof err)) {
    fprintf(stderr, "warden sim: address pool: %s\n", err);
    return WD_EXIT_FAIL;
  }
  return 0;
}

/* ---------------------------------------------------------------- the log */

static void set_time(sim_run_t *r, int64_t ms) {
  time_t t = (time_t)(ms / 1000);
  if (t == r->tcache && r->tnginx[0])
    return;
  static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(r->tnginx, sizeof r->tnginx, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday,
           mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  snprintf(r->tdate, sizeof r->tdate, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  snprintf(r->ttime, sizeof r->ttime, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
  r->tcache = t;
}

/* Cosmetic values of a log line (ports, request ids, timings): seeded, so files repeat. */
static uint64_t cosmetic(sim_run_t *r) {
  uint64_t z = (r->cosmetic += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A quoted nginx field: `"` `\` and bytes outside printable ASCII as \xHH (escape=default). */
static void put_nginx_quoted(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
      fprintf(f, "\\x%02X", c);
    else
      putc(c, f);
  }
}

/* CloudFront's URL encoding of a field: spaces and the like as %HH. */
static void put_cf_encoded(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '%' || c == '\\' || c == '\t')
      fprintf(f, "%%%02X", c);
    else
      putc(c, f);
  }
}

static const char *edge_of(const char *cc) {
  static const struct { const char *cc, *edge; } edges[] = {
      {"SE", "ARN54-P1"}, {"NO", "OSL50-C1"}, {"DE", "FRA56-P4"}, {"FR", "CDG50-P1"},
      {"GB", "LHR61-P1"}, {"ES", "MAD53-P2"}, {"IT", "MXP64-P1"}, {"NL", "AMS58-P3"},
      {"PL", "WAW51-P2"}, {"US", "IAD89-C3"}, {"CA", "YTO53-P2"}, {"MX", "QRO51-P1"},
      {"BR", "GRU3-C1"},  {"AR", "EZE50-C1"}, {"IN", "BOM78-P1"}, {"JP", "NRT57-P2"},
      {"KR", "ICN57-P1"}, {"AU", "SYD62-P1"}, {"TR", "IST50-P1"}, {"ID", "CGK51-P1"},
      {"VN", "HAN50-P1"}, {"PH", "MNL50-C1"}, {"EG", "CAI50-C1"}, {"NG", "LOS50-P1"}};
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
    if (!strcmp(edges[i].cc, cc))
      return edges[i].edge;
  return "FRA56-P4";
}

static int write_request(sim_run_t *r, const wd_sim_request_t *q) {
  FILE *f = r->log;
  set_time(r, q->time_ms);
  if (r->format == FMT_NGINX) {
    fprintf(f, "%s - - [%s] \"GET %s?CAT=%s HTTP/1.1\" 200 %llu \"-\" \"", q->ip, r->tnginx,
            q->path, q->token, (unsigned long long)q->bytes);
    put_nginx_quoted(f, q->user_agent);
    fputs("\"\n", f);
  } else if (r->format == FMT_CLOUDFRONT) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char rid[57];
    for (int i = 0; i < 7; i++) {
      uint64_t x = cosmetic(r);
      for (int k = 0; k < 8; k++, x >>= 6)
        rid[i * 8 + k] = b64[x & 63];
    }
    rid[54] = rid[55] = '=';
    rid[56] = '\0';
    uint64_t c = cosmetic(r);
    const char *hit = q->segment ? (c % 10 ? "Hit" : "Miss") : (c % 3 ? "RefreshHit" : "Miss");
    unsigned ms = (unsigned)(c >> 8) % (q->segment ? 120 : 20) + 1;
    unsigned ttfb = ms > 1 ? ms / 2 : 1;
    size_t cs = 180 + strlen(q->path) + strlen(q->token) + strlen(q->user_agent);
    fprintf(f, "%s\t%s\t%s\t%llu\t%s\tGET\t%s\t%s\t200\t-\t", r->tdate, r->ttime,
            edge_of(q->net->country), (unsigned long long)q->bytes + 420, q->ip, CF_DISTRIBUTION,
            q->path);
    put_cf_encoded(f, q->user_agent);
    fprintf(f, "\tCAT=%s\t-\t%s\t%s\t%s\thttps\t%zu\t0.%03u\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256"
               "\t%s\tHTTP/2.0\t-\t-\t%u\t0.%03u\t%s\t%s\t%llu\t-\t-\n",
            q->token, hit, rid, CDN_HOST, cs, ms, hit, (unsigned)(1024 + (c >> 20) % 64000), ttfb,
            hit, q->segment ? "video/MP2T" : "application/vnd.apple.mpegurl",
            (unsigned long long)q->bytes);
  } else {
    char buf[2048];
    jw_t w;
    jw_init(&w, buf, sizeof buf, 1 << 20);
    jw_obj(&w);
    jw_key(&w, "ts");
    jw_fixed(&w, (unsigned long long)q->time_ms, 3);
    jw_kstr(&w, "ip", q->ip);
    jw_kstr(&w, "method", "GET");
    jw_kstr(&w, "host", CDN_HOST);
    jw_kstr(&w, "path", q->path);
    char query[WD_SIM_TOKEN_MAX + 8];
    snprintf(query, sizeof query, "CAT=%s", q->token);
    jw_kstr(&w, "query", query);
    jw_kint(&w, "status", 200);
    jw_kint(&w, "bytes", (long long)q->bytes);
    jw_kstr(&w, "user_agent", q->user_agent);
    jw_kstr(&w, "scheme", "cat");
    jw_kstr(&w, "token_id", q->token_id);
    jw_kstr(&w, "country", q->net->country);
    jw_kint(&w, "asn", q->net->asn);
    jw_kstr(&w, "label", wd_sim_label_name(q->label));
    jw_kstr(&w, "pattern", wd_sim_pattern_name(q->pattern));
    jw_kint(&w, "viewer", q->viewer);
    jw_obj_end(&w);
    jw_raw(&w, "\n", 1);
    const char *text = jw_finish(&w);
    if (text)
      fputs(text, f);
    jw_free(&w);
  }
  return ferror(f) ? -1 : 0;
}

static void write_truth(sim_run_t *r, const wd_sim_truth_t *t) {
  char buf[4096];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 64 << 20);
  jw_obj(&w);
  jw_kstr(&w, "token", t->token);
  jw_kstr(&w, "token_id", t->token_id);
  jw_kstr(&w, "subject", t->subject);
  jw_kstr(&w, "label", wd_sim_label_name(t->label));
  jw_kstr(&w, "pattern", wd_sim_pattern_name(t->pattern));
  jw_key(&w, "group");
  jw_uint(&w, t->group);
  jw_kint(&w, "renewal", t->renewal);
  jw_kint(&w, "iat", t->iat);
  jw_kint(&w, "exp", t->exp);
  jw_kint(&w, "first_ms", t->first_ms);
  jw_kint(&w, "last_ms", t->last_ms);
  jw_key(&w, "requests");
  jw_uint(&w, t->requests);
  jw_kint(&w, "viewers", t->viewers);
  jw_key(&w, "networks");
  jw_arr(&w);
  for (size_t i = 0; i < t->nnetworks; i++) {
    const wd_sim_network_t *n = &t->networks[i];
    wd_ip_t ip = {.family = n->family};
    memcpy(ip.a, n->prefix, 16);
    char text[64], pre[80];
    wd_ip_format(&ip, text, sizeof text);
    snprintf(pre, sizeof pre, "%s/%d", text, n->plen);
    jw_obj(&w);
    jw_kstr(&w, "prefix", pre);
    jw_kint(&w, "asn", n->asn);
    jw_kstr(&w, "country", n->country);
    jw_kint(&w, "first_ms", n->first_ms);
    jw_kint(&w, "viewer", n->viewer);
    jw_obj_end(&w);
  }
  jw_arr_end(&w);
  jw_key(&w, "asns");
  jw_arr(&w);
  for (size_t i = 0; i < t->nasns; i++)
    jw_uint(&w, t->asns[i]);
  jw_arr_end(&w);
  jw_key(&w, "countries");
  jw_arr(&w);
  for (size_t i = 0; i < t->ncountries; i++)
    jw_str(&w, t->countries[i]);
  jw_arr_end(&w);
  jw_key(&w, "became_shared_ms");
  if (t->became_shared_ms >= 0)
    jw_int(&w, t->became_shared_ms);
  else
    jw_null(&w);
  jw_kstr(&w, "shared_rule", t->shared_rule);
  jw_kstr(&w, "addresses", wd_sim_pool_is_synthetic(r->pool) ? "synthetic" : "ip-location-db");
  jw_obj_end(&w);
  jw_raw(&w, "\n", 1);
  const char *text = jw_finish(&w);
  if (text)
    fputs(text, r->truth);
  jw_free(&w);
}

/* ---------------------------------------------------------------- live */

static tok_note_t *note(sim_run_t *r, uint64_t index) {
  if (index >= r->nnotes) {
    size_t cap = r->nnotes ? r->nnotes : 1024;
    while (cap <= index)
      cap *= 2;
    tok_note_t *n = realloc(r->notes, cap * sizeof *n);
    if (!n)
      return NULL;
    for (size_t i = r->nnotes; i < cap; i++)
      n[i] = (tok_note_t){-1, -1, -1};
    r->notes = n;
    r->nnotes = cap;
  }
  return &r->notes[index];
}

static void on_answer(void *ctx, const live_answer_t *a) {
  sim_run_t *r = ctx;
  static const char *const actions[] = {"allow", "block", "throttle", "substitute",
                                        "redirect", "callout", "renew"};
  r->answered++;
  if (a->error) {
    r->errors++;
    r->by_action[8]++;
  } else {
    size_t i = 0;
    while (i < 7 && strcmp(actions[i], a->action))
      i++;
    r->by_action[i]++;
  }
  tok_note_t *n = note(r, a->req->token_index);
  if (n && !a->error && strstr(a->reasons, "shared") &&
      (n->flagged_ms < 0 || a->req->t_ms < n->flagged_ms))
    n->flagged_ms = a->req->t_ms;
  char buf[2048];
  jw_t w;
  jw_init(&w, buf, sizeof buf, 1 << 20);
  jw_obj(&w);
  jw_key(&w, "seq");
  jw_uint(&w, a->req->seq);
  jw_kint(&w, "t_ms", a->req->t_ms);
  jw_kint(&w, "sent_ms", a->sent_ms);
  jw_kint(&w, "latency_us", a->latency_us);
  jw_kstr(&w, "token_id", a->req->token_id);
  jw_key(&w, "token_index");
  jw_uint(&w, a->req->token_index);
  jw_kint(&w, "viewer", a->req->viewer);
  jw_kstr(&w, "ip", a->req->ip);
  jw_kstr(&w, "path", a->req->path);
  jw_kstr(&w, "label", wd_sim_label_name((wd_sim_label_t)a->req->label));
  jw_kstr(&w, "pattern", wd_sim_pattern_name((wd_sim_pattern_t)a->req->pattern));
  jw_kint(&w, "status", a->status);
  jw_kstr(&w, "action", a->error ? NULL : a->action);
  jw_kstr(&w, "enforced", a->error ? NULL : a->enforced);
  jw_key(&w, "reasons");
  jw_arr(&w);
  for (const char *p = a->reasons; p && *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    jw_strn(&w, p, len);
    p += len + (comma != NULL);
  }
  jw_arr_end(&w);
  if (a->error)
    jw_kstr(&w, "error", a->error);
  jw_obj_end(&w);
  jw_raw(&w, "\n", 1);
  const char *text = jw_finish(&w);
  if (text)
    fputs(text, r->answers);
  jw_free(&w);
}

/* Send one request at its time (scaled by --speed). -1 when the server cannot be reached. */
static int send_live(sim_run_t *r, const wd_sim_request_t *q) {
  int64_t due = r->wall0_us + (int64_t)((double)(q->time_ms - r->cfg.start_ms) * 1000.0 / r->speed);
  for (;;) {
    int64_t now = cli_mono_us();
    if (now >= due) {
      if (now - due > 1000000)
        r->late++;
      break;
    }
    int64_t wait = (due - now + 999) / 1000;
    live_poll(r->live, wait > 1000 ? 1000 : (int)wait);
  }
  live_req_t lr;
  memset(&lr, 0, sizeof lr);
  lr.seq = r->requests;
  lr.t_ms = q->time_ms;
  lr.token_index = q->token_index;
  snprintf(lr.token_id, sizeof lr.token_id, "%s", q->token_id);
  snprintf(lr.ip, sizeof lr.ip, "%s", q->ip);
  snprintf(lr.path, sizeof lr.path, "%s", q->path);
  lr.label = q->label;
  lr.pattern = q->pattern;
  lr.viewer = q->viewer;
  char uri[WD_SIM_PATH_MAX + WD_SIM_TOKEN_MAX + 8], extra[96] = "", err[256];
  snprintf(uri, sizeof uri, "%s?CAT=%s", q->path, q->token);
  if (r->geo_headers)
    snprintf(extra, sizeof extra, "X-Country: %s\r\nX-ASN: %u\r\n", q->net->country, q->net->asn);
  if (live_send(r->live, &lr, uri, q->user_agent, extra, err, sizeof err)) {
    fprintf(stderr, "warden sim: %s: %s\n", r->live_url, err);
    return -1;
  }
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void live_summary(sim_run_t *r, double secs) {
  static const char *const names[] = {"allow", "block", "throttle", "substitute", "redirect",
                                      "callout", "renew", "other", "error"};
  printf("live: %llu requests to %s in %.1f s (speed %g), %llu answered, %llu errors, %llu sent "
         "over 1 s late\n",
         (unsigned long long)r->requests, r->live_url, secs, r->speed,
         (unsigned long long)r->answered, (unsigned long long)r->errors,
         (unsigned long long)r->late);
  printf("  answers:");
  for (int i = 0; i < 9; i++)
    if (r->by_action[i])
      printf(" %s %llu", names[i], (unsigned long long)r->by_action[i]);
  printf("\n");
  uint64_t total[3] = {0}, flagged[3] = {0};
  int64_t *ttd = malloc((r->nnotes ? r->nnotes : 1) * sizeof *ttd);
  size_t nttd = 0;
  for (size_t i = 0; i < r->nnotes; i++) {
    tok_note_t *n = &r->notes[i];
    if (n->label < 0)
      continue;
    total[n->label]++;
    if (n->flagged_ms >= 0) {
      flagged[n->label]++;
      if (ttd && n->became_ms >= 0)
        ttd[nttd++] = n->flagged_ms - n->became_ms;
    }
  }
  printf("  tokens answered \"shared\": legit %llu of %llu, shared %llu of %llu, restream %llu of %llu\n",
         (unsigned long long)flagged[0], (unsigned long long)total[0],
         (unsigned long long)flagged[1], (unsigned long long)total[1],
         (unsigned long long)flagged[2], (unsigned long long)total[2]);
  if (nttd) {
    qsort(ttd, nttd, sizeof *ttd, cmp_i64);
    printf("  time to detect (simulated, from when each token became misuse): median %.1f s, "
           "90th percentile %.1f s\n",
           (double)ttd[nttd / 2] / 1000.0, (double)ttd[(nttd * 9) / 10 < nttd ? (nttd * 9) / 10 : nttd - 1] / 1000.0);
  }
  free(ttd);
  if (r->speed > 1)
    printf("  note: at --speed %g the server sees %g times the real request rate; scale its "
           "detection window and segment_seconds down by as much to judge rates fairly\n",
           r->speed, r->speed);
}

/* ---------------------------------------------------------------- run */

static FILE *open_out(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f)
    fprintf(stderr, "warden sim: cannot write %s: %s\n", path, strerror(errno));
  else
    setvbuf(f, NULL, _IOFBF, 1 << 20);
  return f;
}

static void drain_truths(sim_run_t *r, wd_sim_t *s) {
  wd_sim_truth_t t;
  while (wd_sim_truth_next(s, &t) == 1) {
    r->tokens_by[t.pattern]++;
    write_truth(r, &t);
    if (r->live) {
      tok_note_t *n = note(r, t.token_index);
      if (n) {
        n->label = (int8_t)t.label;
        n->became_ms = t.became_shared_ms;
      }
    }
  }
}

/* Does the geo data put the address where the truth says? Counted for the summary. */
static void check_geo(sim_run_t *r, const wd_sim_request_t *q) {
  if (!r->geo || wd_sim_pool_is_synthetic(r->pool))
    return;
  wd_geo_info_t gi;
  wd_geo_lookup(r->geo, q->family, q->addr, &gi);
  r->geo_checked++;
  if (gi.asn != q->net->asn || strcmp(gi.country, q->net->country))
    r->geo_mismatch++;
}

static void summary(sim_run_t *r, const wd_sim_t *s) {
  wd_sim_stats_t st;
  wd_sim_stats(s, &st);
  uint64_t tokens = 0, by_label[3] = {0}, req_label[3] = {0};
  for (int p = 0; p < WD_SIM_PATTERN_COUNT; p++) {
    tokens += r->tokens_by[p];
    by_label[wd_sim_pattern_label((wd_sim_pattern_t)p)] += r->tokens_by[p];
    req_label[wd_sim_pattern_label((wd_sim_pattern_t)p)] += r->requests_by[p];
  }
  size_t nets = wd_sim_pool_count(r->pool), ncc = 0;
  char seen[64][3];
  for (size_t i = 0; i < nets; i++) {
    const wd_sim_net_t *n = wd_sim_pool_net(r->pool, i);
    size_t k = 0;
    while (k < ncc && strcmp(seen[k], n->country))
      k++;
    if (k == ncc && ncc < 64)
      memcpy(seen[ncc++], n->country, 3);
  }
  printf("warden sim: %lld s event from %lld, segments of %d s, %zu renditions, seed %llu\n",
         (long long)r->cfg.duration_s, (long long)(r->cfg.start_ms / 1000), r->cfg.segment_s,
         r->cfg.nrenditions, (unsigned long long)r->cfg.seed);
  printf("  tokens: %llu (legit %llu, shared %llu, restream %llu)\n", (unsigned long long)tokens,
         (unsigned long long)by_label[0], (unsigned long long)by_label[1],
         (unsigned long long)by_label[2]);
  for (int p = 0; p < WD_SIM_PATTERN_COUNT; p++)
    if (r->tokens_by[p])
      printf("    %-18s %-8s %7llu tokens %10llu requests\n", wd_sim_pattern_name((wd_sim_pattern_t)p),
             wd_sim_label_name(wd_sim_pattern_label((wd_sim_pattern_t)p)),
             (unsigned long long)r->tokens_by[p], (unsigned long long)r->requests_by[p]);
  printf("  requests: %llu (legit %llu, shared %llu, restream %llu); viewers at once at most %llu; "
         "generator memory at most %.1f MB\n",
         (unsigned long long)r->requests, (unsigned long long)req_label[0],
         (unsigned long long)req_label[1], (unsigned long long)req_label[2],
         (unsigned long long)st.viewers_peak, (double)st.bytes_peak / 1048576.0);
  if (wd_sim_pool_is_synthetic(r->pool))
    printf("  addresses: synthetic (geo data %s): 198.18.0.0/15 and 2001:db8::/32, ASNs 64512+ "
           "standing for %zu networks in %zu countries\n", r->geo_where, nets, ncc);
  else
    printf("  addresses: %zu networks in %zu countries from %s; %llu of %llu requests' addresses "
           "looked up to another ASN or country\n", nets, ncc, r->geo_where,
           (unsigned long long)r->geo_mismatch, (unsigned long long)r->geo_checked);
  printf("  files: %s/access.log (%s), %s/truth.jsonl%s%s%s\n", r->out_dir,
         r->format == FMT_NGINX ? "nginx combined"
         : r->format == FMT_CLOUDFRONT ? "CloudFront standard log" : "warden-requests JSON lines",
         r->out_dir, r->live ? ", " : "", r->live ? r->out_dir : "", r->live ? "/answers.jsonl" : "");
  if (!r->live)
    printf("  replay: warden analyze --segment %d %s/access.log\n", r->cfg.segment_s, r->out_dir);
}

static void run_free(sim_run_t *r) {
  if (r->log)
    fclose(r->log);
  if (r->truth)
    fclose(r->truth);
  if (r->answers)
    fclose(r->answers);
  live_close(r->live);
  wd_sim_pool_destroy(r->pool);
  wd_geo_close(r->geo);
  wd_keyring_destroy(r->ring);
  if (r->conf)
    conf_free(r->conf);
  free(r->notes);
}

int cmd_sim(int argc, char **argv) {
  sim_run_t run, *r = &run;
  memset(r, 0, sizeof run);
  int rc = parse_args(r, argc, argv);
  if (rc)
    return rc < 0 ? WD_EXIT_OK : rc;
  int exit_code = WD_EXIT_FAIL;
  wd_sim_t *s = NULL;
  char err[512];
  if ((rc = setup_key(r))) {
    exit_code = rc;
    goto out;
  }
  if (wd_sim_config_check(&r->cfg, err, sizeof err)) { /* before anything is written */
    exit_code = usage_error("%s", err);
    goto out;
  }
  if (cli_mkdirs(r->out_dir)) {
    fprintf(stderr, "warden sim: cannot create %s: %s\n", r->out_dir, strerror(errno));
    goto out;
  }
  if (setup_pool(r))
    goto out;
  if (r->live_url) {
    if (live_open(r->live_url, r->connections, on_answer, r, &r->live, err, sizeof err)) {
      fprintf(stderr, "warden sim: %s\n", err);
      goto out;
    }
    r->cfg.start_ms = cli_unix_ms();
  }
  r->log = open_out(r->out_dir, "access.log");
  r->truth = open_out(r->out_dir, "truth.jsonl");
  if (r->live)
    r->answers = open_out(r->out_dir, "answers.jsonl");
  if (!r->log || !r->truth || (r->live && !r->answers))
    goto out;
  if (r->format == FMT_CLOUDFRONT)
    fprintf(r->log, "#Version: 1.0\n#Fields: %s\n", CF_FIELDS);
  r->cosmetic = r->cfg.seed;
  if ((rc = wd_sim_create(&r->cfg, r->pool, issue_cat, r, &s, err, sizeof err))) {
    fprintf(stderr, "warden sim: %s\n", err);
    goto out;
  }
  r->wall0_us = cli_mono_us();
  wd_sim_request_t q;
  while ((rc = wd_sim_next(s, &q)) == 1) {
    r->requests++;
    r->requests_by[q.pattern]++;
    check_geo(r, &q);
    if (write_request(r, &q)) {
      fprintf(stderr, "warden sim: cannot write %s/access.log: %s\n", r->out_dir, strerror(errno));
      goto out;
    }
    if (r->live) {
      tok_note_t *n = note(r, q.token_index);
      if (n)
        n->label = (int8_t)q.label;
      if (send_live(r, &q))
        goto out;
    }
    drain_truths(r, s);
  }
  if (rc < 0) {
    fprintf(stderr, "warden sim: the simulation stopped: %s\n", wd_strerror(rc));
    goto out;
  }
  drain_truths(r, s);
  if (r->live)
    live_drain(r->live, 15000);
  if (fflush(r->log) || fflush(r->truth) || (r->answers && fflush(r->answers))) {
    fprintf(stderr, "warden sim: cannot write to %s: %s\n", r->out_dir, strerror(errno));
    goto out;
  }
  summary(r, s);
  if (r->live)
    live_summary(r, (double)(cli_mono_us() - r->wall0_us) / 1e6);
  exit_code = WD_EXIT_OK;
out:
  wd_sim_destroy(s);
  run_free(r);
  return exit_code;
}
