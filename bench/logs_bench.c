/*
 * logs_bench: log parsing speed (lib/logs) on one thread, over generated realistic logs.
 *
 * For each format (nginx combined, CloudFront standard log, Warden decision log) a corpus of
 * --lines lines is generated in memory, as a log file read into memory would be: many viewers
 * (addresses, IPv6 for one in eight, player user agents), live HLS segment requests, and a
 * token in every query but one in twenty, spread over the schemes (CAT 40%, JWT 15%, Akamai 15%
 * with a third percent-encoded, secure link 10%, CloudFront 10%, Bunny 10%). The Warden log
 * has the server's line layout (docs/decision-log.md) with token ids instead of tokens.
 *
 * Measured per format, each over the whole corpus, median of --runs runs:
 *   parse   wd_log_parse per line (the lines' offsets are found beforehand)
 *   +token  wd_log_parse then wd_log_find_token (no --token-param: every scheme's names)
 * and the token lookup alone as the difference. Lines per second and ns per line.
 *
 * usage: logs_bench [--lines N] [--runs N] [nginx|cloudfront|warden ...]
 * Figures, not pass/fail; pin it (taskset -c 1) for steadier rates.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warden/logs.h"

#include "bench_util.h"

static unsigned pick(unsigned n) { return (unsigned)(next_rand() % n); }

static void rand_chars(char *out, size_t n, const char *alphabet) {
  size_t a = strlen(alphabet);
  for (size_t i = 0; i < n; i++)
    out[i] = alphabet[pick((unsigned)a)];
  out[n] = '\0';
}
#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define HEX "0123456789abcdef"

/* ---------------------------------------------------------------- viewers */

#define VIEWERS 20000

typedef struct viewer {
  char ip[48];
  const char *ua;
  int scheme;       /* 0 cat, 1 jwt, 2 akamai, 3 securelink, 4 cloudfront, 5 bunny */
  char query[1200]; /* the token's query parameters */
  char token_id[80];
} viewer_t;

static const char *const uas[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X; en_us)",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.71 Mobile Safari/537.36",
    "ExoPlayerLib/2.19.1",
    "Roku/DVP-13.0 (13.0.0.4140-46)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
};

static viewer_t *make_viewers(void) {
  viewer_t *v = calloc(VIEWERS, sizeof *v);
  if (!v)
    exit(1);
  for (int i = 0; i < VIEWERS; i++) {
    viewer_t *w = &v[i];
    if (pick(8) == 0)
      snprintf(w->ip, sizeof w->ip, "2001:db8:%x:%x::%x", pick(65536), pick(65536), pick(65536));
    else
      snprintf(w->ip, sizeof w->ip, "%u.%u.%u.%u", 1 + pick(223), pick(256), pick(256),
               1 + pick(254));
    w->ua = uas[pick(sizeof uas / sizeof *uas)];
    unsigned r = pick(100);
    w->scheme = r < 40 ? 0 : r < 55 ? 1 : r < 70 ? 2 : r < 80 ? 3 : r < 90 ? 4 : 5;
    char a[400], b[400];
    switch (w->scheme) {
    case 0:
      rand_chars(a, 124, B64URL);
      snprintf(w->query, sizeof w->query, "cat=%s", a);
      snprintf(w->token_id, sizeof w->token_id, "%.16s", a + 40);
      break;
    case 1:
      rand_chars(a, 90, B64URL);
      rand_chars(b, 43, B64URL);
      snprintf(w->query, sizeof w->query, "token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.%s.%s", a, b);
      snprintf(w->token_id, sizeof w->token_id, "jwt-%.12s", a);
      break;
    case 2:
      rand_chars(a, 64, HEX);
      if (pick(3) == 0)
        snprintf(w->query, sizeof w->query,
                 "__token__=st%%3D1791630000%%7Eexp%%3D1791640000%%7Eacl%%3D%%2Flive%%2F%%2A%%7E"
                 "id%%3Dv%d%%7Ehmac%%3D%s",
                 i, a);
      else
        snprintf(w->query, sizeof w->query,
                 "__token__=st=1791630000~exp=1791640000~acl=/live/*~id=v%d~hmac=%s", i, a);
      snprintf(w->token_id, sizeof w->token_id, "v%d", i);
      break;
    case 3:
      rand_chars(a, 22, B64URL);
      snprintf(w->query, sizeof w->query, "md5=%s&expires=%u", a, 1791640000u + pick(3600));
      snprintf(w->token_id, sizeof w->token_id, "sha256:%.40s", a);
      break;
    case 4:
      rand_chars(a, 342, B64URL);
      snprintf(w->query, sizeof w->query, "Expires=%u&Key-Pair-Id=K2JCJMDEHXQW5F&Signature=%s__",
               1791640000u + pick(3600), a);
      snprintf(w->token_id, sizeof w->token_id, "sha256:%.40s", a);
      break;
    default:
      rand_chars(a, 43, B64URL);
      snprintf(w->query, sizeof w->query, "token=HS256-%s&expires=%u", a, 1791640000u + pick(3600));
      snprintf(w->token_id, sizeof w->token_id, "sha256:%.40s", a);
      break;
    }
  }
  return v;
}

static const char *const scheme_names[] = {"cat",        "jwt",        "akamai",
                                           "securelink", "cloudfront", "bunny"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* ---------------------------------------------------------------- corpora */

typedef struct corpus {
  char *text;
  size_t len, cap;
  size_t *off; /* start of each line */
  size_t nlines;
} corpus_t;

static void put(corpus_t *c, const char *s, size_t n) {
  if (c->len + n > c->cap) {
    c->cap = (c->len + n) * 2;
    c->text = realloc(c->text, c->cap);
    if (!c->text)
      exit(1);
  }
  memcpy(c->text + c->len, s, n);
  c->len += n;
}

static void index_lines(corpus_t *c) {
  size_t n = 0;
  for (size_t i = 0; i < c->len; i++)
    n += c->text[i] == '\n';
  c->off = malloc((n + 1) * sizeof *c->off);
  if (!c->off)
    exit(1);
  size_t at = 0;
  c->nlines = 0;
  while (at < c->len) {
    c->off[c->nlines++] = at;
    char *nl = memchr(c->text + at, '\n', c->len - at);
    at = nl ? (size_t)(nl - c->text) + 1 : c->len;
  }
  c->off[c->nlines] = c->len;
}

static void corpus_free(corpus_t *c) {
  free(c->text);
  free(c->off);
  memset(c, 0, sizeof *c);
}

static const char *query_of(const viewer_t *w, char *buf, size_t cap, unsigned seg) {
  if (pick(20) == 0) /* no token */
    return "";
  snprintf(buf, cap, "%s&seq=%u", w->query, seg);
  return buf;
}

static void gen_nginx(corpus_t *c, const viewer_t *v, size_t lines) {
  char line[4096], q[1400];
  long t = 1791640536;
  for (size_t i = 0; i < lines; i++) {
    const viewer_t *w = &v[pick(VIEWERS)];
    unsigned ch = 1 + pick(40), seg = (unsigned)(i / 300);
    t += pick(3) == 0;
    long lt = t + 7200; /* logged in +0200 */
    long day = lt / 86400 % 31 + 1;
    const char *qs = query_of(w, q, sizeof q, seg);
    int n =
        snprintf(line, sizeof line,
                 "%s - - [%02ld/%s/2026:%02ld:%02ld:%02ld +0200] \"GET /live/ch%u/seg_%05u.ts%s%s "
                 "HTTP/1.1\" %d %u \"%s\" \"%s\" \"-\"\n",
                 w->ip, day, months[9], lt / 3600 % 24, lt / 60 % 60, lt % 60, ch, seg,
                 *qs ? "?" : "", qs, pick(50) ? 200 : 403, 900000 + pick(1000000),
                 pick(4) ? "-" : "https://player.example.com/watch", w->ua);
    put(c, line, (size_t)n);
  }
}

/* CloudFront writes user agents with %20 for spaces (and other characters escaped). */
static void pct_spaces(const char *in, char *out, size_t cap) {
  size_t o = 0;
  for (; *in && o + 4 < cap; in++) {
    if (*in == ' ') {
      memcpy(out + o, "%20", 3);
      o += 3;
    } else {
      out[o++] = *in;
    }
  }
  out[o] = '\0';
}

static void gen_cloudfront(corpus_t *c, const viewer_t *v, size_t lines) {
  static const char header[] =
      "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) "
      "cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) "
      "x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken "
      "x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version "
      "fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type "
      "sc-content-type sc-content-len sc-range-start sc-range-end\n";
  static const char *const pops[] = {"ARN54-P1", "FRA56-P4", "IAD89-C3", "GRU3-C1", "NRT57-P2"};
  char line[4096], q[1400], ua[512], rid[64];
  long t = 1791640536;
  put(c, header, sizeof header - 1);
  for (size_t i = 0; i < lines; i++) {
    const viewer_t *w = &v[pick(VIEWERS)];
    unsigned ch = 1 + pick(40), seg = (unsigned)(i / 300);
    t += pick(3) == 0;
    pct_spaces(w->ua, ua, sizeof ua);
    rand_chars(rid, 56, B64URL);
    const char *qs = query_of(w, q, sizeof q, seg);
    unsigned bytes = 900000 + pick(1000000);
    int n =
        snprintf(line, sizeof line,
                 "2026-10-10\t%02ld:%02ld:%02ld\t%s\t%u\t%s\tGET\td111111abcdef8.cloudfront.net\t"
                 "/live/ch%u/seg_%05u.ts\t200\t-\t%s\t%s\t-\tHit\t%s==\tcdn.example.com\thttps\t"
                 "412\t0.002\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t%u\t0.001\t"
                 "Hit\tvideo/MP2T\t%u\t-\t-\n",
                 t / 3600 % 24, t / 60 % 60, t % 60, pops[pick(5)], bytes + 538, w->ip, ch, seg, ua,
                 *qs ? qs : "-", rid, 1024 + pick(60000), bytes);
    put(c, line, (size_t)n);
  }
}

static void gen_warden(corpus_t *c, const viewer_t *v, size_t lines) {
  static const char *const countries[] = {"SE", "DE", "US", "BR", "JP", "NO"};
  char line[2048];
  long t = 1791640536;
  for (size_t i = 0; i < lines; i++) {
    const viewer_t *w = &v[pick(VIEWERS)];
    unsigned ch = 1 + pick(40), seg = (unsigned)(i / 300);
    t += pick(3) == 0;
    int banned = pick(50) == 0;
    int n = snprintf(
        line, sizeof line,
        "{\"ts\":%ld.%06u,\"route\":\"auth\",\"policy\":\"live\",\"action\":\"%s\",\"enforced\":"
        "\"%s\",\"mode\":\"automate\",\"reasons\":[%s],\"status\":200,\"scheme\":\"%s\","
        "\"token_id\":\"%s\",\"subject\":\"viewer-%u\",\"exp\":1791643600,\"ip\":\"%s\","
        "\"country\":\"%s\",\"asn\":%u,\"edge\":\"cdn-a/ARN54\",\"host\":\"cdn.example.com\","
        "\"path\":\"/live/ch%u/seg_%05u.ts\",\"method\":\"GET\",%s\"verdict\":\"ok\",\"score\":%u,"
        "\"networks\":1,\"latency_us\":%u.%03u}\n",
        t, pick(1000000), banned ? "callout" : "allow", banned ? "callout" : "allow",
        banned ? "\"banned\"" : "", scheme_names[w->scheme], w->token_id, pick(100000), w->ip,
        countries[pick(6)], 1000 + pick(60000), ch, seg,
        banned ? "\"detail\":\"banned token: shared on a forum\"," : "", pick(30), 10 + pick(40),
        pick(1000));
    put(c, line, (size_t)n);
  }
}

/* ---------------------------------------------------------------- timing */

static volatile uint64_t sink;

/* One pass over the corpus: seconds; counts records, errors and tokens found. */
static double pass(wd_log_format_t fmt, const corpus_t *c, int tokens, size_t *records,
                   size_t *errors, size_t *found) {
  wd_log_parser_t *p;
  if (wd_log_parser_create(fmt, &p))
    exit(1);
  wd_log_record_t r;
  char tok[9000];
  size_t rec = 0, err = 0, tk = 0;
  uint64_t acc = 0;
  double t0 = now_s();
  for (size_t i = 0; i < c->nlines; i++) {
    const char *line = c->text + c->off[i];
    size_t n = c->off[i + 1] - c->off[i];
    int rc = wd_log_parse(p, line, n, &r);
    if (rc == 0) {
      rec++;
      acc += (uint64_t)r.time_ms + r.status;
      if (tokens && wd_log_find_token(&r, NULL, tok, sizeof tok, NULL) == 0) {
        tk++;
        acc += (unsigned char)tok[0];
      }
    } else if (rc < 0) {
      if (err == 0)
        fprintf(stderr, "logs_bench: line %zu: %s\n", i + 1, wd_log_parser_error(p));
      err++;
    }
  }
  double dt = now_s() - t0;
  sink += acc;
  wd_log_parser_destroy(p);
  *records = rec;
  *errors = err;
  *found = tk;
  return dt;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

static void run_format(wd_log_format_t fmt, const viewer_t *v, size_t lines, int runs) {
  corpus_t c = {0};
  if (fmt == WD_LOG_NGINX)
    gen_nginx(&c, v, lines);
  else if (fmt == WD_LOG_CLOUDFRONT)
    gen_cloudfront(&c, v, lines);
  else
    gen_warden(&c, v, lines);
  index_lines(&c);
  size_t rec = 0, err = 0, tk = 0;
  double tp[32], tt[32];
  pass(fmt, &c, 1, &rec, &err, &tk); /* warm-up: pages in, branch predictors trained */
  for (int i = 0; i < runs; i++) {
    tp[i] = pass(fmt, &c, 0, &rec, &err, &tk);
    tt[i] = pass(fmt, &c, 1, &rec, &err, &tk);
  }
  double mp = median(tp, runs), mt = median(tt, runs);
  double n = (double)c.nlines;
  printf("%-11s %9zu %7.1f %12.0f %8.1f %12.0f %8.1f %8.1f %8.2f %7zu %7zu\n",
         wd_log_format_name(fmt), c.nlines, (double)c.len / n, n / mp, mp / n * 1e9, n / mt,
         mt / n * 1e9, (mt - mp) / n * 1e9, (double)c.len / mp / 1e6 / 1.048576, err, rec - tk);
  corpus_free(&c);
}

int main(int argc, char **argv) {
  size_t lines = 1000000;
  int runs = 3;
  wd_log_format_t which[3];
  int nwhich = 0;
  for (int i = 1; i < argc; i++) {
    wd_log_format_t f;
    if (strcmp(argv[i], "--lines") == 0 && i + 1 < argc) {
      lines = strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = atoi(argv[++i]);
    } else if (wd_log_format_parse(argv[i], &f) == 0 && f != WD_LOG_AUTO && nwhich < 3) {
      which[nwhich++] = f;
    } else {
      fprintf(stderr, "usage: logs_bench [--lines N] [--runs N] [nginx|cloudfront|warden ...]\n");
      return 2;
    }
  }
  if (runs < 1 || runs > 32 || lines < 1) {
    fprintf(stderr, "logs_bench: --runs 1-32, --lines at least 1\n");
    return 2;
  }
  if (!nwhich) {
    which[0] = WD_LOG_NGINX;
    which[1] = WD_LOG_CLOUDFRONT;
    which[2] = WD_LOG_WARDEN;
    nwhich = 3;
  }
  viewer_t *v = make_viewers();
  printf("%zu lines per format, median of %d runs; token: wd_log_find_token after the parse\n",
         lines, runs);
  printf("%-11s %9s %7s %12s %8s %12s %8s %8s %8s %7s %7s\n", "format", "lines", "bytes", "parse/s",
         "ns", "+token/s", "ns", "token ns", "MiB/s", "errors", "no-tok");
  for (int i = 0; i < nwhich; i++)
    run_format(which[i], v, lines, runs);
  free(v);
  return 0;
}
