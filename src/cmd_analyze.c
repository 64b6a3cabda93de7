/*
 * `warden analyze`: the monitor step for a platform that has only logs. Reads nginx, CloudFront
 * or Warden decision logs (lib/logs), replays every request that carries a token through
 * sharing detection (lib/detect) with the log's own timestamps, and reports the tokens found
 * suspect or shared: a report for people, or with --json one object per flagged token.
 *
 * Memory is bounded: the tracker holds at most --max-tokens tokens (idle ones are dropped as
 * the log's clock advances), and only flagged tokens are remembered for the report (at most
 * FLAGGED_MAX; beyond, they are counted).
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

#include <openssl/evp.h>

#include "cli.h"
#include "config.h"
#include "geo_setup.h"
#include "jsonw.h"
#include "util/codec.h"
#include "util/ip.h"
#include "warden/detect.h"
#include "warden/logs.h"
#include "warden/warden.h"

#define FLAGGED_MAX 200000
#define TOKEN_TEXT_MAX 4096
#define GEO_CACHE 65536
#define EXPIRE_EVERY_MS 60000

static void analyze_usage(FILE *f) {
  fprintf(f,
"usage: warden analyze [options] [FILE...]\n"
"\n"
"Finds shared tokens in existing CDN logs: every request that carries a token is replayed\n"
"through sharing detection with the log's timestamps. FILE '-' or none: standard input\n"
"(decompress .gz logs with zcat first).\n"
"\n"
"  --format F           auto (default: from the first line), nginx (combined), cloudfront\n"
"                       (standard access logs), warden (the decision log)\n"
"  --token-param NAME   the query parameter (or cookie) that carries the token; default: the\n"
"                       names each scheme uses (CAT, __token__, hdnts, md5, token, ...)\n"
"  --json               one JSON object per flagged token on stdout, instead of the report\n"
"  --top N              tokens listed in the report (default 20)\n"
"  --segment SECONDS    the stream's segment duration (default 6)\n"
"  --renditions N       renditions a player fetches at once (default 1)\n"
"  --window SECONDS     detection window (default 60)\n"
"  --max-tokens N       tokens tracked at once (default 16777216)\n"
"  --no-geo             ignore the installed geo data (networks only, plus what the log says)\n"
"  --quiet              no progress line on a terminal\n"
"\n"
"Exit status: 0 done (whatever was found), 1 a file could not be read, 2 usage.\n");
}

/* A flagged token, remembered for the report. */
typedef struct flagged {
  uint64_t h1, h2;               /* the key */
  char *token;                   /* as it appeared (percent-decoded) */
  char token_id[WD_ID_MAX];
  wd_verdict_t worst;            /* the highest verdict seen */
  char explanation[256];
  unsigned max_networks, max_asns, max_countries;
  uint64_t requests;             /* requests in the window when flagged, and every one after */
  int64_t first_ms, last_ms;
  int64_t level_ms;              /* when it first reached worst.level */
} flagged_t;

typedef struct geo_slot {
  int family;
  uint8_t addr[16];
  wd_geo_info_t info;
} geo_slot_t;

typedef struct analysis {
  wd_tracker_t *tracker;
  wd_geo_t *geo;
  geo_slot_t *geo_cache;
  const char *param;
  flagged_t *flagged;
  size_t nflagged, capflagged;
  uint32_t *index;               /* open addressing over flagged, index + 1 */
  size_t index_cap;
  uint64_t lines, parsed, skipped, errors, no_token, token_requests, flagged_dropped;
  uint64_t shared_requests;      /* requests of tokens while flagged shared */
  int64_t first_ms, last_ms, next_expire_ms;
  char first_error[256];
} analysis_t;

/* Two 64-bit hashes of the token text (FNV-1a and a multiply-xorshift), the tracker's key. */
static void token_hash(const char *s, size_t n, uint64_t *h1, uint64_t *h2) {
  uint64_t a = 1469598103934665603ull, b = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < n; i++) {
    a = (a ^ (unsigned char)s[i]) * 1099511628211ull;
    b = (b ^ (unsigned char)s[i]) * 0xff51afd7ed558ccdull;
    b ^= b >> 29;
  }
  *h1 = a;
  *h2 = b;
}

static const wd_geo_info_t *geo_of(analysis_t *a, const wd_ip_t *ip) {
  if (!a->geo)
    return NULL;
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < (ip->family == 4 ? 4 : 16); i++)
    h = (h ^ ip->a[i]) * 1099511628211ull;
  geo_slot_t *s = &a->geo_cache[(h ^ h >> 32) & (GEO_CACHE - 1)];
  if (s->family != ip->family || memcmp(s->addr, ip->a, 16)) {
    s->family = ip->family;
    memcpy(s->addr, ip->a, 16);
    wd_geo_lookup(a->geo, ip->family, ip->a, &s->info);
  }
  return &s->info;
}

static flagged_t *find_flagged(analysis_t *a, uint64_t h1, uint64_t h2, int add) {
  if (!a->index) {
    a->index_cap = 1024;
    a->index = calloc(a->index_cap, sizeof *a->index);
    if (!a->index)
      return NULL;
  }
  size_t mask = a->index_cap - 1;
  for (size_t i = h1 & mask;; i = (i + 1) & mask) {
    uint32_t e = a->index[i];
    if (!e) {
      if (!add)
        return NULL;
      if (a->nflagged >= FLAGGED_MAX) {
        a->flagged_dropped++;
        return NULL;
      }
      if (a->nflagged == a->capflagged) {
        size_t cap = a->capflagged ? a->capflagged * 2 : 256;
        flagged_t *f = realloc(a->flagged, cap * sizeof *f);
        if (!f)
          return NULL;
        a->flagged = f;
        a->capflagged = cap;
      }
      flagged_t *f = &a->flagged[a->nflagged++];
      memset(f, 0, sizeof *f);
      f->h1 = h1;
      f->h2 = h2;
      a->index[i] = (uint32_t)a->nflagged;
      if (a->nflagged * 2 > a->index_cap) { /* grow and rehash */
        size_t cap = a->index_cap * 2;
        uint32_t *ix = calloc(cap, sizeof *ix);
        if (ix) {
          for (size_t k = 0; k < a->nflagged; k++) {
            size_t j = a->flagged[k].h1 & (cap - 1);
            while (ix[j])
              j = (j + 1) & (cap - 1);
            ix[j] = (uint32_t)(k + 1);
          }
          free(a->index);
          a->index = ix;
          a->index_cap = cap;
        }
      }
      return f;
    }
    flagged_t *f = &a->flagged[e - 1];
    if (f->h1 == h1 && f->h2 == h2)
      return f;
  }
}

/* The token's own id (CAT cti, JWT jti, Akamai id) when it has one, else "sha256:<hex>". */
static void token_identity(const char *token, const char *given, char *out, size_t cap) {
  if (given && given[0]) {
    snprintf(out, cap, "%s", given);
    return;
  }
  json_t *j = NULL;
  char err[128];
  if (wd_token_inspect(token, strlen(token), &j, err, sizeof err) == 0) {
    json_t *id = json_object_get(j, "identity");
    const char *tid = json_string_value(json_object_get(id, "token_id"));
    if (tid && tid[0]) {
      snprintf(out, cap, "%s", tid);
      json_decref(j);
      return;
    }
    json_t *claims = json_object_get(j, "claims");
    const char *names[] = {"cti", "jti", "id"};
    for (size_t i = 0; i < 3; i++) {
      const char *v = json_string_value(json_object_get(claims, names[i]));
      if (v && v[0]) {
        snprintf(out, cap, "%s", v);
        json_decref(j);
        return;
      }
    }
    json_decref(j);
  }
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
  size_t k = (size_t)snprintf(out, cap, "sha256:");
  for (unsigned i = 0; i < n && k + 2 < cap; i++, k += 2)
    snprintf(out + k, cap - k, "%02x", md[i]);
}

static void observe(analysis_t *a, const wd_log_record_t *r) {
  char token[TOKEN_TEXT_MAX];
  wd_scheme_t scheme = WD_SCHEME_NONE;
  int rc = wd_log_find_token(r, a->param, token, sizeof token, &scheme);
  if (rc) {
    a->no_token++;
    return;
  }
  wd_ip_t ip;
  if (!r->client_ip[0] || wd_ip_parse(r->client_ip, strlen(r->client_ip), &ip)) {
    a->no_token++; /* no usable client: nothing to track */
    return;
  }
  a->token_requests++;
  if (!a->first_ms || r->time_ms < a->first_ms)
    a->first_ms = r->time_ms;
  if (r->time_ms > a->last_ms)
    a->last_ms = r->time_ms;
  uint64_t h1, h2;
  size_t tn = strlen(token);
  token_hash(token, tn, &h1, &h2);
  uint8_t kb[16];
  for (int i = 0; i < 8; i++) {
    kb[i] = (uint8_t)(h1 >> (56 - 8 * i));
    kb[8 + i] = (uint8_t)(h2 >> (56 - 8 * i));
  }
  char key[33];
  wd_hex_encode(kb, sizeof kb, key); /* the same text as "%016llx%016llx" */

  const wd_geo_info_t *g = geo_of(a, &ip);
  wd_geo_info_t gi;
  int log_country = r->country[0] && strlen(r->country) >= 2;
  if (!g || log_country || r->asn) { /* what the log says wins over the geo data */
    if (g)
      gi = *g;
    else {
      memset(&gi, 0, sizeof gi);
      gi.lat = gi.lon = NAN;
    }
    if (log_country) {
      gi.country[0] = r->country[0];
      gi.country[1] = r->country[1];
      gi.country[2] = '\0';
    }
    if (r->asn)
      gi.asn = r->asn;
    g = &gi;
  }

  wd_observation_t o;
  wd_observation_init(&o);
  o.key = key;
  o.subject = r->subject;
  o.now_ms = r->time_ms;
  o.family = ip.family;
  memcpy(o.addr, ip.a, sizeof o.addr);
  o.geo = g;
  o.user_agent = r->user_agent;
  o.segment = wd_detect_is_segment(r->path) ? r->path : NULL;
  wd_verdict_t v;
  if (wd_tracker_observe(a->tracker, &o, &v))
    return;
  flagged_t *f = find_flagged(a, h1, h2, v.level != WD_VERDICT_OK);
  if (f) {
    if (!f->token) { /* just flagged */
      f->token = strdup(token);
      token_identity(token, r->token_id, f->token_id, sizeof f->token_id);
      f->first_ms = r->time_ms;
      f->requests = v.requests ? v.requests - 1 : 0;
    }
    f->requests++;
    f->last_ms = r->time_ms;
    if (v.level > f->worst.level)
      f->level_ms = r->time_ms;
    /* keep the strongest verdict: level, then spread, then score */
    if (v.level > f->worst.level ||
        (v.level == f->worst.level &&
         (v.networks > f->worst.networks ||
          (v.networks == f->worst.networks && v.score > f->worst.score)))) {
      f->worst = v;
      wd_detect_explain(&v, f->explanation, sizeof f->explanation);
    }
    if (v.networks > f->max_networks)
      f->max_networks = v.networks;
    if (v.asns > f->max_asns)
      f->max_asns = v.asns;
    if (v.countries > f->max_countries)
      f->max_countries = v.countries;
    if (f->worst.level == WD_VERDICT_SHARED)
      a->shared_requests++;
  }
  if (r->time_ms >= a->next_expire_ms) {
    wd_tracker_expire(a->tracker, r->time_ms);
    a->next_expire_ms = r->time_ms + EXPIRE_EVERY_MS;
  }
}

/* ---------------------------------------------------------------- reading */

typedef struct progress {
  int on;
  uint64_t total, done;          /* bytes, 0 total: unknown (stdin) */
  double t0, last;
} progress_t;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress_show(progress_t *p, const analysis_t *a, int final) {
  double now = mono_s();
  if (!p->on || (!final && now - p->last < 0.25))
    return;
  p->last = now;
  double rate = a->lines / (now - p->t0 > 1e-9 ? now - p->t0 : 1e-9);
  if (p->total) {
    double frac = (double)p->done / (double)p->total;
    int bar = (int)(frac * 30);
    fprintf(stderr, "\r[%.*s%*s] %3.0f%%  %llu lines  %.0fk lines/s  %zu flagged%s",
            bar, "##############################", 30 - bar, "", frac * 100,
            (unsigned long long)a->lines, rate / 1e3, a->nflagged, final ? "\n" : "");
  } else {
    fprintf(stderr, "\r%llu lines  %.0fk lines/s  %zu flagged%s", (unsigned long long)a->lines,
            rate / 1e3, a->nflagged, final ? "\n" : "");
  }
}

/* Read one stream line by line. Returns 0, or -1 when it cannot be read. */
static int read_stream(analysis_t *a, FILE *f, wd_log_parser_t *parser, progress_t *pg) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) >= 0) {
    a->lines++;
    pg->done += (uint64_t)n;
    wd_log_record_t rec;
    int rc = wd_log_parse(parser, line, (size_t)n, &rec);
    if (rc == WD_LOG_SKIP) {
      a->skipped++;
    } else if (rc) {
      if (!a->errors)
        snprintf(a->first_error, sizeof a->first_error, "line %llu: %s",
                 (unsigned long long)a->lines, wd_log_parser_error(parser));
      a->errors++;
    } else {
      a->parsed++;
      observe(a, &rec);
    }
    if ((a->lines & 0x3fff) == 0)
      progress_show(pg, a, 0);
  }
  int bad = ferror(f);
  free(line);
  return bad ? -1 : 0;
}

/* ---------------------------------------------------------------- output */

static int by_spread(const void *x, const void *y) {
  const flagged_t *a = x, *b = y;
  if (a->worst.level != b->worst.level)
    return (int)b->worst.level - (int)a->worst.level;
  if (a->max_networks != b->max_networks)
    return a->max_networks < b->max_networks ? 1 : -1;
  if (a->worst.score != b->worst.score)
    return a->worst.score < b->worst.score ? 1 : -1;
  return a->requests < b->requests ? 1 : a->requests > b->requests ? -1 : 0;
}

static void print_json(const analysis_t *a) {
  for (size_t i = 0; i < a->nflagged; i++) {
    const flagged_t *f = &a->flagged[i];
    jw_t w;
    jw_init(&w, NULL, 0, 1u << 20);
    jw_obj(&w);
    jw_kstr(&w, "token", f->token);
    jw_kstr(&w, "token_id", f->token_id);
    jw_kstr(&w, "verdict", wd_verdict_level_name(f->worst.level));
    jw_kint(&w, "score", f->worst.score);
    jw_key(&w, "reasons");
    jw_arr(&w);
    for (unsigned b = 0; b < WD_SIGNAL_COUNT; b++)
      if (f->worst.signals & (1u << b))
        jw_str(&w, wd_signal_name(1u << b));
    jw_arr_end(&w);
    jw_kstr(&w, "explanation", f->explanation);
    jw_kint(&w, "networks", f->max_networks);
    jw_kint(&w, "asns", f->max_asns);
    jw_kint(&w, "countries", f->max_countries);
    jw_kint(&w, "requests", (long long)f->requests);
    jw_kint(&w, "first_seen", f->first_ms / 1000);
    jw_kint(&w, "last_seen", f->last_ms / 1000);
    jw_key(&w, "flagged_at");
    jw_fixed(&w, (unsigned long long)(f->level_ms > 0 ? f->level_ms : 0), 3);
    jw_obj_end(&w);
    if (!w.err) {
      fwrite(w.p, 1, w.n, stdout);
      fputc('\n', stdout);
    }
    jw_free(&w);
  }
}

static void print_report(analysis_t *a, size_t top, double secs, const char *geo_where) {
  size_t shared = 0, suspect = 0;
  for (size_t i = 0; i < a->nflagged; i++)
    a->flagged[i].worst.level == WD_VERDICT_SHARED ? shared++ : suspect++;
  wd_tracker_stats_t ts;
  wd_tracker_stats(a->tracker, &ts);
  printf("Warden analysis\n\n");
  printf("  lines                %llu (%llu requests, %llu skipped, %llu unreadable)\n",
         (unsigned long long)a->lines, (unsigned long long)a->parsed,
         (unsigned long long)a->skipped, (unsigned long long)a->errors);
  if (a->errors)
    printf("  first unreadable     %s\n", a->first_error);
  printf("  requests with token  %llu (%llu without)\n", (unsigned long long)a->token_requests,
         (unsigned long long)a->no_token);
  if (a->last_ms > a->first_ms)
    printf("  log time span        %.0f s\n", (double)(a->last_ms - a->first_ms) / 1e3);
  printf("  geo data             %s\n", geo_where);
  printf("  shared tokens        %zu\n", shared);
  printf("  suspect tokens       %zu\n", suspect);
  if (a->flagged_dropped)
    printf("  flagged, not listed  %llu (over %d)\n", (unsigned long long)a->flagged_dropped,
           FLAGGED_MAX);
  printf("  requests on shared   %.1f%%\n",
         a->token_requests ? 100.0 * (double)a->shared_requests / (double)a->token_requests : 0.0);
  printf("  read in              %.2f s (%.0f lines/s)\n\n", secs,
         secs > 0 ? (double)a->lines / secs : 0.0);
  if (!a->nflagged) {
    printf("No token was used the way shared tokens are.\n");
    return;
  }
  qsort(a->flagged, a->nflagged, sizeof *a->flagged, by_spread);
  printf("Top tokens by spread:\n");
  printf("  %-8s %5s %8s %5s %9s %9s  %-24s %s\n", "verdict", "score", "networks", "asns",
         "countries", "requests", "token_id", "why");
  for (size_t i = 0; i < a->nflagged && i < top; i++) {
    const flagged_t *f = &a->flagged[i];
    printf("  %-8s %5u %8u %5u %9u %9llu  %-24.24s %s\n", wd_verdict_level_name(f->worst.level),
           f->worst.score, f->max_networks, f->max_asns, f->max_countries,
           (unsigned long long)f->requests, f->token_id, f->explanation);
  }
}

/* ---------------------------------------------------------------- the command */

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || errno || v > max || s[0] == '-')
    return -1;
  *out = v;
  return 0;
}

int cmd_analyze(int argc, char **argv) {
  enum { O_FORMAT = 1, O_PARAM, O_JSON, O_TOP, O_SEGMENT, O_RENDITIONS, O_WINDOW, O_MAX, O_NOGEO,
         O_QUIET, O_HELP };
  static const struct option opts[] = {
      {"format", required_argument, 0, O_FORMAT},   {"token-param", required_argument, 0, O_PARAM},
      {"json", no_argument, 0, O_JSON},             {"top", required_argument, 0, O_TOP},
      {"segment", required_argument, 0, O_SEGMENT}, {"renditions", required_argument, 0, O_RENDITIONS},
      {"window", required_argument, 0, O_WINDOW},   {"max-tokens", required_argument, 0, O_MAX},
      {"no-geo", no_argument, 0, O_NOGEO},          {"quiet", no_argument, 0, O_QUIET},
      {"help", no_argument, 0, O_HELP},             {0, 0, 0, 0}};
  wd_log_format_t format = WD_LOG_AUTO;
  const char *param = NULL;
  int json = 0, nogeo = 0, quiet = 0;
  unsigned long long top = 20, v;
  wd_detect_config_t dc;
  wd_detect_config_init(&dc);
  optind = 1;
  int o;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case O_FORMAT:
      if (wd_log_format_parse(optarg, &format)) {
        fprintf(stderr, "warden analyze: unknown format '%s' (expected auto, nginx, cloudfront "
                        "or warden)\n", optarg);
        return WD_EXIT_USAGE;
      }
      break;
    case O_PARAM:
      if (!optarg[0] || strlen(optarg) > 128) {
        fprintf(stderr, "warden analyze: --token-param needs a parameter name\n");
        return WD_EXIT_USAGE;
      }
      param = optarg;
      break;
    case O_JSON: json = 1; break;
    case O_NOGEO: nogeo = 1; break;
    case O_QUIET: quiet = 1; break;
    case O_TOP:
      if (parse_uint(optarg, 1000000, &top)) {
        fprintf(stderr, "warden analyze: --top needs a number, got '%s'\n", optarg);
        return WD_EXIT_USAGE;
      }
      break;
    case O_SEGMENT: {
      char *end;
      double d = strtod(optarg, &end);
      if (!*optarg || *end || !(d >= 0.5 && d <= 60)) {
        fprintf(stderr, "warden analyze: --segment must be 0.5 to 60 seconds, got '%s'\n", optarg);
        return WD_EXIT_USAGE;
      }
      dc.segment_seconds = d;
      break;
    }
    case O_RENDITIONS:
      if (parse_uint(optarg, 16, &v) || v < 1) {
        fprintf(stderr, "warden analyze: --renditions must be 1 to 16, got '%s'\n", optarg);
        return WD_EXIT_USAGE;
      }
      dc.renditions = (unsigned)v;
      break;
    case O_WINDOW:
      if (parse_uint(optarg, 3600, &v) || v < 10) {
        fprintf(stderr, "warden analyze: --window must be 10 to 3600 seconds, got '%s'\n", optarg);
        return WD_EXIT_USAGE;
      }
      dc.window_s = (unsigned)v;
      if (dc.idle_s < dc.window_s)
        dc.idle_s = dc.window_s;
      break;
    case O_MAX:
      if (parse_uint(optarg, 1ull << 31, &v) || v < 1) {
        fprintf(stderr, "warden analyze: --max-tokens must be 1 to 2147483648, got '%s'\n", optarg);
        return WD_EXIT_USAGE;
      }
      dc.max_tokens = v;
      break;
    case O_HELP:
      analyze_usage(stdout);
      return WD_EXIT_OK;
    default:
      analyze_usage(stderr);
      return WD_EXIT_USAGE;
    }
  }
  char err[512];
  if (wd_detect_config_check(&dc, err, sizeof err)) {
    fprintf(stderr, "warden analyze: %s\n", err);
    return WD_EXIT_USAGE;
  }

  analysis_t a;
  memset(&a, 0, sizeof a);
  a.param = param;
  int rc = WD_EXIT_FAIL;
  conf_t *conf = NULL;
  char where[512] = "off (--no-geo)";
  if (!nogeo) {
    if (conf_default(&conf) || geo_setup(conf, &a.geo, where, sizeof where, err, sizeof err)) {
      fprintf(stderr, "warden analyze: %s\n", conf ? err : "out of memory");
      goto out;
    }
    a.geo_cache = a.geo ? calloc(GEO_CACHE, sizeof *a.geo_cache) : NULL;
    if (a.geo && !a.geo_cache)
      goto out;
  }
  if (wd_tracker_create(&dc, &a.tracker)) {
    fprintf(stderr, "warden analyze: cannot set up sharing detection (out of memory)\n");
    goto out;
  }

  progress_t pg = {.on = !quiet && isatty(STDERR_FILENO), .t0 = mono_s()};
  int nfiles = argc - optind;
  for (int i = optind; i < argc; i++) {
    struct stat st;
    if (strcmp(argv[i], "-") && stat(argv[i], &st) == 0)
      pg.total += (uint64_t)st.st_size;
  }
  int failed = 0;
  for (int i = nfiles ? optind : -1; i < argc; i++) {
    const char *path = i < 0 ? "-" : argv[i];
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
      fprintf(stderr, "warden analyze: cannot read %s: %s\n", path, strerror(errno));
      failed = 1;
      if (i < 0)
        break;
      continue;
    }
    wd_log_parser_t *parser = NULL;
    if (wd_log_parser_create(format, &parser)) {
      if (f != stdin)
        fclose(f);
      goto out;
    }
    if (read_stream(&a, f, parser, &pg)) {
      fprintf(stderr, "warden analyze: error reading %s: %s\n", path, strerror(errno));
      failed = 1;
    }
    wd_log_parser_destroy(parser);
    if (f != stdin)
      fclose(f);
    if (i < 0)
      break;
  }
  progress_show(&pg, &a, 1);
  double secs = mono_s() - pg.t0;
  if (a.errors && !quiet)
    fprintf(stderr, "warden analyze: %llu unreadable line%s (first: %s)\n",
            (unsigned long long)a.errors, a.errors == 1 ? "" : "s", a.first_error);
  if (json)
    print_json(&a);
  else
    print_report(&a, (size_t)top, secs, where);
  rc = failed ? WD_EXIT_FAIL : WD_EXIT_OK;
out:
  for (size_t i = 0; i < a.nflagged; i++)
    free(a.flagged[i].token);
  free(a.flagged);
  free(a.index);
  free(a.geo_cache);
  wd_tracker_destroy(a.tracker);
  wd_geo_close(a.geo);
  conf_free(conf);
  return rc;
}
