/*
 * token_bench: token verifications per second on one core, per scheme.
 *
 * One verifier over one key ring, wd_token_verify in a loop with want_claims=0 and a fixed `now`,
 * the way the server's hot path calls it: the result is initialised and cleaned up every time.
 * Each case is checked once to verify (exit 1 with the reason when it does not), warmed up, then
 * timed in RUNS runs of about SECONDS each; the table shows the median run. Pin the process to a
 * core (`taskset -c 1`) and compare figures from the same invocation only: a shared machine
 * varies by 10-15% between invocations.
 *
 * usage: token_bench [--time SECONDS] [--runs N] [--vectors DIR] [CASE...]
 *   CASE: cat-minimal cat-full jwt-hs256 akamai-acl securelink-md5 cloudfront-canned (default all)
 *   --vectors: tests/vectors (for the CloudFront public key); default $WARDEN_VECTORS_DIR, else
 *              ./tests/vectors.
 * Output: one table row per case, "name bytes verifications/s ns/op" (bench/run.sh parses it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warden/warden.h"

#define NOW_CAT 1750000000
#define MAX_RUNS 15

typedef struct bench_case {
  const char *name;
  wd_scheme_t scheme;
  const char *token;   /* NULL: taken from the URL */
  size_t bytes;        /* token size shown in the table: CBOR bytes for CAT, else text bytes */
  wd_request_t req;
  wd_verify_opts_t opts;
} bench_case_t;

static const uint8_t cat_key[32] = {
    0x40, 0x36, 0x97, 0xde, 0x87, 0xaf, 0x64, 0x61, 0x1c, 0x1d, 0x32, 0xa0, 0x5d, 0xab, 0x0f, 0xe1,
    0xfc, 0xb7, 0x15, 0xa8, 0x6a, 0xb4, 0x35, 0xf1, 0xec, 0x99, 0x19, 0x2d, 0x79, 0x56, 0x93, 0x88};
static const uint8_t akamai_key[14] = {0x52, 0xa1, 0x52, 0xa1, 0x52, 0xa1, 0x52,
                                       0xa1, 0x52, 0xa1, 0x52, 0xa1, 0x52, 0xa1};

/* tests/vectors/cat/eyevinn-node-cat-generated.json: "minimal" (91 bytes) and "full_cwt_tagged"
 * (277 bytes: iss sub aud exp nbf iat cti catv catreplay catu catm catnip catr). */
static const char tok_cat_minimal[] =
    "2D3RhEOhAQWhBExTeW1tZXRyaWMyNTZYIKUBZ2V5ZXZpbm4EGvSGVwAGGmgwXQAHRN6tvu8ZATYBWCCevIEuFnaMHxLGQG9d"
    "by7NPh8GSPG7vy3ZgHtclqnfEg";
static const char tok_cat_full[] =
    "2D3RhEOhAQWhBExTeW1tZXRyaWMyNTZY2q0BZ2V5ZXZpbm4CZWpvbmFzA4Jjb25lY3R3bwQa9IZXAAUaaDBdAAYaaDBdAAdQ"
    "ASNFZ4mrze8BI0VniavN7xkBNAEZATYBGQE3hNg0ghgYRMCoAQDYNEQKAAAB2DaCGCBQIAENuAAAAAAAAAAAAAAAABn79BkB"
    "OKQAoQBlaHR0cHMBoQJsLmV4YW1wbGUuY29tA6EBaS9jb250ZW50LwihAGUubTN1OBkBOYJjR0VUZEhFQUQZAUOkAAIEd2N0"
    "YS1jb21tb24tYWNjZXNzLXRva2VuARh4Ahg8WCBezvCnUYqyVzzF53uwosOI2nYAKp-bwPxZfL7R4eRVdQ";
/* tests/vectors/cdn/jwt-hls.json: {video_id, exp, ip, ua}. */
#define JWT_SECRET "hls-jwt-demo-secret-0123456789abcdef"
static const char tok_jwt[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ2aWRlb19pZCI6InZpZDEyMyIsImV4cCI6MTg5MzQ1NjAwMCwiaXAiOiIy"
    "MDMuMC4xMTMuNyIsInVhIjoiTW96aWxsYS81LjAifQ.xhaep1K8p6vHiVtoGczlvopg4yVBB6ee18mo9J1O5hM";
/* tests/vectors/cdn/akamai-edgeauth.json: acl_sha256_st_exp. */
static const char tok_akamai[] =
    "st=1700000000~exp=1700000300~acl=/this/is/a/test/*~hmac="
    "d4d56a76f75cc1a13824b3ffc2a333096cde53362c5490c6318236f15b95d8e1";
/* tests/vectors/cdn/securelink-md5.json: nginx-docs (secret "secret", bound to 127.0.0.1). */
static const char url_securelink[] = "/s/link?md5=_e4Nc3iduzkWRm01TBBNYw&expires=2147483647";
/* tests/vectors/cdn/cloudfront-signer-vectors.txt: canned_sha1. */
static const char url_cloudfront[] =
    "https://d111111abcdef8.cloudfront.net/private-content/private.jpeg?Expires=1577836800&Key-Pair-"
    "Id=APKAEIBAERJR2EXAMPLE&Signature=NOai~fCNG523XBDM03BnCCZFJ0527Mdd31dfH5rqm1ewjuTt2uo8Eq9FCxFdKQ"
    "he2x-b2WXsaAuSa5lTQUtQrRAWmqTVxY-T9I8O0A26QI8agkU5TCA4EBwCaI6C8kvL5kpgQselQxP0j51842oCHXMCg2zSsc"
    "ihgPdi5Ml5QU0RTFPpSphxZRlLkhQSjcjAPSJwlvvuceogycsXHYMlqvfn1hv7DzPjF-53Xg1NSodBrs~IgG0zNsokIrv91x"
    "IdpNTOEIuovKLtsgPTE1UYMT880TqNrZFx56oPDmEwgBAf9jHJ2zyJvnj3f7XPsb46ofOp9eniUKAAh-zdOrCRbw__";

static const wd_header_t jwt_headers[] = {{"User-Agent", "Mozilla/5.0"}};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "token_bench: %s: %s\n", what, wd_strerror(rc));
  exit(1);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = malloc(1 << 16);
  size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
  fclose(f);
  if (!buf)
    return NULL;
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* Time `iters` verifications; returns seconds. */
static double run(wd_verifier_t *v, const bench_case_t *c, long iters) {
  size_t len = c->token ? strlen(c->token) : 0;
  wd_result_t r;
  int bad = 0;
  double t0 = now_s();
  for (long i = 0; i < iters; i++) {
    wd_result_init(&r);
    bad |= wd_token_verify(v, &c->opts, c->scheme, c->token, len, &c->req, &r);
    wd_result_cleanup(&r);
  }
  double t = now_s() - t0;
  if (bad) {
    fprintf(stderr, "token_bench: %s stopped verifying during the run\n", c->name);
    exit(1);
  }
  return t;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int selected(const char *name, int argc, char **argv, int first) {
  if (first >= argc)
    return 1;
  for (int i = first; i < argc; i++)
    if (!strcmp(argv[i], name))
      return 1;
  return 0;
}

int main(int argc, char **argv) {
  double secs = 1.5;
  int runs = 5, i = 1;
  const char *vectors = getenv("WARDEN_VECTORS_DIR");
  if (!vectors)
    vectors = "tests/vectors";
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--time") && i + 1 < argc)
      secs = atof(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--vectors") && i + 1 < argc)
      vectors = argv[++i];
    else {
      fprintf(stderr, "usage: token_bench [--time SECONDS] [--runs N] [--vectors DIR] [CASE...]\n");
      return 2;
    }
  }
  if (secs <= 0 || runs < 1 || runs > MAX_RUNS) {
    fprintf(stderr, "token_bench: --time must be > 0 and --runs 1..%d\n", MAX_RUNS);
    return 2;
  }

  wd_keyring_t *ring;
  int rc;
  if ((rc = wd_keyring_create(&ring)))
    die("keyring", rc);
  if ((rc = wd_keyring_add_secret(ring, WD_SCHEME_CAT, WD_ALG_HS256, "Symmetric256", 12, NULL,
                                  cat_key, sizeof cat_key, NULL)))
    die("cat key", rc);
  if ((rc = wd_keyring_add_secret(ring, WD_SCHEME_JWT, WD_ALG_HS256, NULL, 0, NULL, JWT_SECRET,
                                  strlen(JWT_SECRET), NULL)))
    die("jwt key", rc);
  if ((rc = wd_keyring_add_secret(ring, WD_SCHEME_AKAMAI, WD_ALG_HS256, NULL, 0, NULL, akamai_key,
                                  sizeof akamai_key, NULL)))
    die("akamai key", rc);
  if ((rc = wd_keyring_add_secret(ring, WD_SCHEME_SECURELINK, WD_ALG_MD5, NULL, 0, NULL, "secret",
                                  6, NULL)))
    die("securelink key", rc);
  char path[1024];
  snprintf(path, sizeof path, "%s/cdn/cloudfront-test-pub.pem", vectors);
  size_t pemlen = 0;
  char *pem = read_file(path, &pemlen);
  int have_cf = pem != NULL;
  if (pem) {
    rc = wd_keyring_add_pem(ring, WD_SCHEME_CLOUDFRONT, WD_ALG_NONE, "APKAEIBAERJR2EXAMPLE", 20,
                            NULL, pem, pemlen, NULL);
    free(pem);
    if (rc)
      die("cloudfront key", rc);
  }
  wd_verifier_t *v;
  if ((rc = wd_verifier_create(ring, &v)))
    die("verifier", rc);

  bench_case_t cases[] = {
      {"cat-minimal", WD_SCHEME_CAT, tok_cat_minimal, sizeof tok_cat_minimal - 1,
       {.url = "https://cdn.example.com/content/a/index.m3u8", .ip = "192.168.1.10",
        .method = "GET", .now = NOW_CAT},
       {0}},
      {"cat-full", WD_SCHEME_CAT, tok_cat_full, sizeof tok_cat_full - 1,
       {.url = "https://cdn.example.com/content/a/index.m3u8", .ip = "192.168.1.10",
        .method = "GET", .now = NOW_CAT},
       {0}},
      {"jwt-hs256", WD_SCHEME_JWT, tok_jwt, sizeof tok_jwt - 1,
       {.url = "https://cdn.example.com/hls/vid123/index.m3u8", .ip = "203.0.113.7",
        .method = "GET", .headers = jwt_headers, .nheaders = 1, .now = NOW_CAT},
       {0}},
      {"akamai-acl", WD_SCHEME_AKAMAI, tok_akamai, sizeof tok_akamai - 1,
       {.url = "https://cdn.example.com/this/is/a/test/seg1.ts", .ip = "203.0.113.7",
        .method = "GET", .now = 1700000100},
       {0}},
      {"securelink-md5", WD_SCHEME_SECURELINK, NULL, 22,
       {.url = url_securelink, .ip = "127.0.0.1", .method = "GET", .now = NOW_CAT},
       {.securelink = {.template_str = "$expires$uri$remote_addr $secret"}}},
      {"cloudfront-canned", WD_SCHEME_CLOUDFRONT, NULL, 0,
       {.url = url_cloudfront, .ip = "203.0.113.7", .method = "GET", .now = 1577000000},
       {0}},
  };
  /* CAT: the CBOR size (the base64url text is 4/3 of it), as CAT sizes are usually quoted. */
  for (int k = 0; k < 2; k++)
    cases[k].bytes = cases[k].bytes / 4 * 3 + (cases[k].bytes % 4 ? cases[k].bytes % 4 - 1 : 0);
  /* CloudFront: the size of Expires + Key-Pair-Id + Signature as they travel in the query. */
  cases[5].bytes = strlen(strchr(url_cloudfront, '?') + 1);

  printf("%-18s %6s %15s %10s\n", "scheme", "bytes", "verifications/s", "ns/op");
  int failed = 0;
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    bench_case_t *c = &cases[k];
    if (!selected(c->name, argc, argv, i))
      continue;
    if (c->scheme == WD_SCHEME_CLOUDFRONT && !have_cf) {
      printf("%-18s skipped: no %s\n", c->name, path);
      continue;
    }
    wd_result_t r;
    wd_result_init(&r);
    rc = wd_token_verify(v, &c->opts, c->scheme, c->token, c->token ? strlen(c->token) : 0,
                         &c->req, &r);
    if (rc) {
      printf("%-18s does not verify: %s (%s)\n", c->name, r.reason, wd_errname(rc));
      wd_result_cleanup(&r);
      failed = 1;
      continue;
    }
    wd_result_cleanup(&r);

    /* Warm up and calibrate: grow the batch until it takes 0.2 s. */
    long iters = 64;
    double t;
    while ((t = run(v, c, iters)) < 0.2)
      iters *= 2;
    long per_run = (long)((double)iters * secs / t);
    if (per_run < 1)
      per_run = 1;
    double rate[MAX_RUNS];
    for (int j = 0; j < runs; j++)
      rate[j] = (double)per_run / run(v, c, per_run);
    qsort(rate, (size_t)runs, sizeof *rate, cmp_double);
    double med = runs % 2 ? rate[runs / 2] : (rate[runs / 2 - 1] + rate[runs / 2]) / 2;
    printf("%-18s %6zu %15.0f %10.1f\n", c->name, c->bytes, med, 1e9 / med);
    fflush(stdout);
  }
  wd_verifier_destroy(v);
  wd_keyring_destroy(ring);
  return failed;
}
