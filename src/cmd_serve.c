/*
 * `warden serve`: the decision service. Reads the configuration (or runs the embedded
 * default), applies the command-line overrides, starts the writer thread and the event-loop
 * threads, and waits for SIGTERM/SIGINT to stop gracefully: stop accepting, finish requests in
 * flight, commit what the writer holds, flush the decision log, close the stores.
 *
 * Exit status: 0 after a clean stop (and for --check-config on a good configuration), 1 when
 * the service cannot start or fails, 2 for usage and configuration errors.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cli.h"
#include "cluster.h"
#include "config.h"
#include "console.h"
#include "geo_setup.h"
#include "http.h"
#include "monitor.h"
#include "server.h"
#include "util/codec.h"
#include "warden/cluster.h"
#include "writer.h"

#define GRACE_MS 3000

static void serve_usage(FILE *f) {
  fprintf(f,
"usage: warden serve [--config FILE] [--listen [https://]HOST:PORT]... [--data-dir DIR]\n"
"                    [--mode MODE] [--key SCHEME:KIND:VALUE]... [--threads N] [--check-config]\n"
"                    [--nats URL]... [--node-id ID]\n"
"\n"
"Runs the decision service: /v1/decide, /auth (nginx auth_request), /v1/token, the ban admin\n"
"API, /metrics, /healthz, /readyz. Without --config it runs the embedded default: monitor\n"
"mode, one catch-all policy, data in ./warden-data, 127.0.0.1:8080, and keys it generates and\n"
"prints once on stderr. The configuration reference is docs/config.md.\n"
"\n"
"  --config FILE          the YAML configuration\n"
"  --listen ADDR          listen address, repeatable (replaces the configured ones);\n"
"                         https://HOST:PORT needs tls.cert and tls.key; port 0 picks one\n"
"  --data-dir DIR         ban list, replay memory and decision log directory\n"
"  --mode MODE            monitor, moderate or automate for every policy\n"
"  --key S:KIND:VALUE     add a key: cat:hex:HEX, jwt:secret:TEXT, securelink:secret:TEXT,\n"
"                         akamai:hex:HEX, bunny:secret:TEXT, cloudfront:pem:FILE, jwt:pem:FILE\n"
"  --threads N            event-loop threads (default 1)\n"
"  --nats URL             a NATS JetStream broker of the cluster, repeatable (replaces\n"
"                         cluster.nats); without any, the node runs alone (docs/cluster.md)\n"
"  --node-id ID           this node's id in the cluster (default: the host name)\n"
"  --check-config         parse and check the configuration and keys, then exit (0 ok, 2 not)\n"
"\n"
"The admin API token comes from admin_token in the configuration, else WARDEN_ADMIN_TOKEN,\n"
"else one is generated and printed at start.\n");
}

enum { OPT_CONFIG = 256, OPT_LISTEN, OPT_DATA_DIR, OPT_MODE, OPT_KEY, OPT_THREADS, OPT_CHECK,
       OPT_HELP, OPT_NATS, OPT_NODE_ID };

static const struct option serve_opts[] = {
    {"config", required_argument, 0, OPT_CONFIG},   {"listen", required_argument, 0, OPT_LISTEN},
    {"data-dir", required_argument, 0, OPT_DATA_DIR}, {"mode", required_argument, 0, OPT_MODE},
    {"key", required_argument, 0, OPT_KEY},         {"threads", required_argument, 0, OPT_THREADS},
    {"check-config", no_argument, 0, OPT_CHECK},    {"help", no_argument, 0, OPT_HELP},
    {"nats", required_argument, 0, OPT_NATS},       {"node-id", required_argument, 0, OPT_NODE_ID},
    {0, 0, 0, 0}};

static int usage_error(const char *msg, const char *arg) {
  fprintf(stderr, "warden serve: ");
  fprintf(stderr, msg, arg);
  fprintf(stderr, " (see 'warden serve --help')\n");
  return WD_EXIT_USAGE;
}

static void random_hex(char *out, size_t bytes) {
  unsigned char b[64];
  if (RAND_bytes(b, (int)bytes) != 1) {
    fprintf(stderr, "warden: the random generator failed\n");
    exit(WD_EXIT_FAIL);
  }
  wd_hex_encode(b, bytes, out);
  memset(b, 0, sizeof b);
}

static int has_scheme_key(const conf_t *c, wd_scheme_t s) {
  for (size_t i = 0; i < c->nkeys; i++)
    if (c->keys[i].scheme == s)
      return 1;
  return 0;
}

/* Embedded default: generate the keys not given with --key, print them once, and let the
 * token API's viewers use the JWT key. */
static int default_keys(conf_t *c, int quiet) {
  char hex[65], sec1[49], sec2[65], arg[160], err[256];
  int printed = 0;
  struct {
    wd_scheme_t s;
    const char *fmt;
    char *buf;
    size_t bytes;
  } gen[] = {{WD_SCHEME_CAT, "cat:hex:%s", hex, 32},
             {WD_SCHEME_SECURELINK, "securelink:secret:%s", sec1, 12},
             {WD_SCHEME_JWT, "jwt:secret:%s", sec2, 32}};
  for (size_t i = 0; i < sizeof gen / sizeof *gen; i++) {
    if (has_scheme_key(c, gen[i].s))
      continue;
    random_hex(gen[i].buf, gen[i].bytes);
    snprintf(arg, sizeof arg, gen[i].fmt, gen[i].buf);
    if (conf_add_key_arg(c, arg, err, sizeof err)) {
      fprintf(stderr, "warden: %s\n", err);
      return -1;
    }
    if (quiet)
      continue;
    if (!printed)
      fprintf(stderr, "warden: generated keys for this run (shown only here; pass them with "
                      "--key to keep them across restarts):\n");
    printed = 1;
    fprintf(stderr, "warden:   --key %s\n", arg);
    memset(arg, 0, sizeof arg);
  }
  /* the token API: viewers present a JWT signed with the (first) jwt key */
  for (size_t i = 0; i < c->nkeys; i++) {
    if (c->keys[i].scheme == WD_SCHEME_JWT) {
      c->token_api.viewer_keys[0] = c->keys[i];
      c->token_api.nviewer_keys = 1;
      break;
    }
  }
  return 0;
}

static void summary(FILE *f, const conf_t *c) {
  fprintf(f, "%s: ok: %zu listener%s, %d thread%s, %zu key%s, %zu polic%s, data in %s\n",
          c->file, c->nlisten, c->nlisten == 1 ? "" : "s", c->threads, c->threads == 1 ? "" : "s",
          c->nkeys, c->nkeys == 1 ? "" : "s", c->npolicies, c->npolicies == 1 ? "y" : "ies",
          c->data_dir);
  for (size_t i = 0; i < c->npolicies; i++) {
    const wd_policy_t *p = &c->policies[i];
    fprintf(f, "  policy %s: host %s, path %s, mode %s\n", p->name, p->host ? p->host : "*",
            p->path_prefix ? p->path_prefix : "/", wd_mode_name(wd_policy_mode(p)));
  }
  if (c->token_api.enabled)
    fprintf(f, "  token API: %s tokens, expire at most %llds\n",
            wd_scheme_name(c->token_api.scheme), (long long)c->token_api.max_expire);
  for (size_t i = 0; i < c->ncontent_keys; i++) /* never the key itself */
    fprintf(f, "  content key %s: /v1/key/%s for %s%s (%s)\n", c->content_keys[i].id,
            c->content_keys[i].id, c->content_keys[i].host ? c->content_keys[i].host : "",
            c->content_keys[i].path, c->content_keys[i].source);
}

/* Sharing detection: one tracker for the policies on the top-level thresholds, one each for
 * policies with their own. */
static int create_trackers(srv_t *s) {
  const conf_t *c = s->conf;
  if (!c->detect.enabled)
    return 0;
  wd_tracker_t *shared = NULL;
  for (size_t i = 0; i < c->npolicies; i++) {
    wd_tracker_t *t = NULL;
    if (c->policy_detect[i] == CONF_DETECT_OFF)
      continue;
    if (c->policy_detect[i] == CONF_DETECT_OWN) {
      if (wd_tracker_create(c->policy_detect_cfg[i], &t))
        return -1;
      s->trackers[s->ntrackers++] = t;
    } else {
      if (!shared) {
        if (wd_tracker_create(&c->detect.cfg, &shared))
          return -1;
        s->trackers[s->ntrackers++] = shared;
      }
      t = shared;
    }
    s->policy_tracker[i] = t;
  }
  return 0;
}

/* --check-config: where the geo data comes from and one line per source. */
static void geo_summary(FILE *f, const wd_geo_t *geo, const char *where) {
  fprintf(f, "  geo data: %s\n", where);
  if (!geo)
    return;
  char buf[4096];
  wd_geo_describe(geo, buf, sizeof buf);
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
    fprintf(f, "    %s\n", line);
}

static double real_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The node id when none is configured: the host name, with anything but letters, digits, '_'
 * and '-' turned into '-'. */
static int default_node_id(conf_t *c) {
  char h[256];
  if (gethostname(h, sizeof h) != 0)
    return -1;
  h[63] = '\0';
  for (char *p = h; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '_' || *p == '-'))
      *p = '-';
  if (!wd_cluster_node_ok(h))
    return -1;
  c->cluster.node_id = conf_strdup(c, h);
  return c->cluster.node_id ? 0 : -1;
}

/* Everything below main's stack frame, kept reachable for the leak checker at exit. */
static srv_t *g_srv;

static void srv_free(srv_t *s) {
  for (int i = 0; s->loops && i < s->nloops; i++) {
    loop_t *l = &s->loops[i];
    if (l->verifier)
      wd_verifier_destroy(l->verifier);
    if (l->viewer_verifier)
      wd_verifier_destroy(l->viewer_verifier);
    free(l->geo_cache);
    declog_ring_destroy(l->declog);
  }
  free(s->loops);
  if (s->declog_file)
    declog_file_close(s->declog_file);
  if (s->ring)
    wd_keyring_destroy(s->ring);
  if (s->viewer_ring)
    wd_keyring_destroy(s->viewer_ring);
  wd_geo_close(s->geo);
  for (size_t i = 0; i < s->ntrackers; i++)
    wd_tracker_destroy(s->trackers[i]);
  cluster_destroy(s->cluster);
  conf_free(s->conf);
  free(s);
}

int cmd_serve(int argc, char **argv) {
  const char *config_path = NULL, *data_dir = NULL, *mode = NULL;
  const char *listens[CONF_MAX_LISTEN], *keys[CONF_MAX_KEYS], *nats[CONF_MAX_NATS];
  const char *node_id = NULL;
  int nlisten = 0, nkeys = 0, threads = 0, check = 0, nnats = 0;
  optind = 1;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, "+h", serve_opts, NULL)) != -1) {
    switch (ch) {
    case OPT_CONFIG: config_path = optarg; break;
    case OPT_LISTEN:
      if (nlisten >= CONF_MAX_LISTEN)
        return usage_error("too many --listen options (at most %s)", "8");
      listens[nlisten++] = optarg;
      break;
    case OPT_DATA_DIR: data_dir = optarg; break;
    case OPT_MODE: mode = optarg; break;
    case OPT_KEY:
      if (nkeys >= CONF_MAX_KEYS)
        return usage_error("too many --key options (at most %s)", "64");
      keys[nkeys++] = optarg;
      break;
    case OPT_THREADS: {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*end || v < 1 || v > 64)
        return usage_error("--threads '%s' is not 1 to 64", optarg);
      threads = (int)v;
      break;
    }
    case OPT_CHECK: check = 1; break;
    case OPT_NATS:
      if (nnats >= CONF_MAX_NATS)
        return usage_error("too many --nats options (at most %s)", "16");
      nats[nnats++] = optarg;
      break;
    case OPT_NODE_ID: node_id = optarg; break;
    case OPT_HELP:
    case 'h': serve_usage(stdout); return WD_EXIT_OK;
    default: return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return usage_error("unexpected argument '%s'", argv[optind]);
  wd_mode_t mode_v = WD_MODE_MONITOR;
  if (mode && wd_mode_parse(mode, &mode_v))
    return usage_error("--mode '%s' (expected one of monitor, moderate, automate)", mode);

  char err[1024];
  conf_t *c = NULL;
  if (config_path) {
    int rc = conf_load_file(config_path, &c, err, sizeof err);
    if (rc) {
      fprintf(stderr, "warden: %s\n", err);
      return WD_EXIT_USAGE;
    }
  } else if (conf_default(&c)) {
    fprintf(stderr, "warden: out of memory\n");
    return WD_EXIT_FAIL;
  }
  for (int i = 0; i < nlisten; i++) {
    if (conf_add_listen_arg(c, listens[i], i == 0, err, sizeof err)) {
      conf_free(c);
      return usage_error("%s", err);
    }
  }
  for (int i = 0; i < nnats; i++) {
    if (conf_add_nats_arg(c, nats[i], i == 0, err, sizeof err)) {
      conf_free(c);
      return usage_error("%s", err);
    }
  }
  if (node_id) {
    if (!wd_cluster_node_ok(node_id)) {
      conf_free(c);
      return usage_error("--node-id '%s' must be 1 to 63 letters, digits, '_' or '-'", node_id);
    }
    c->cluster.node_id = conf_strdup(c, node_id);
  }
  if (c->cluster.nnats && !c->cluster.node_id && default_node_id(c)) {
    conf_free(c);
    return usage_error("%s", "no --node-id and the host name is not usable as one");
  }
  if (data_dir)
    c->data_dir = conf_strdup(c, data_dir);
  if (threads)
    c->threads = threads;
  if (mode)
    for (size_t i = 0; i < c->npolicies; i++)
      wd_policy_set_mode(&c->policies[i], mode_v);
  for (int i = 0; i < nkeys; i++) {
    if (conf_add_key_arg(c, keys[i], err, sizeof err)) {
      conf_free(c);
      return usage_error("%s", err);
    }
  }
  if (c->embedded) {
    if (!check)
      fprintf(stderr, "warden: no --config: running the embedded default (%s mode, one "
                      "catch-all policy, data in %s)\n",
              wd_mode_name(wd_policy_mode(&c->policies[0])), c->data_dir);
    if (default_keys(c, check)) {
      conf_free(c);
      return WD_EXIT_FAIL;
    }
  }
  if (conf_validate(c, err, sizeof err)) {
    fprintf(stderr, "warden: %s\n", err);
    conf_free(c);
    return WD_EXIT_USAGE;
  }

  srv_t *s = calloc(1, sizeof *s);
  if (!s) {
    conf_free(c);
    return WD_EXIT_FAIL;
  }
  g_srv = s;
  s->conf = c;
  s->pid = getpid();
  s->start_time = real_now();
  int exit_code = WD_EXIT_FAIL;
  if (conf_build_keyring(c, c->keys, c->nkeys, &s->ring, err, sizeof err) ||
      (c->token_api.enabled &&
       conf_build_keyring(c, c->token_api.viewer_keys, c->token_api.nviewer_keys,
                          &s->viewer_ring, err, sizeof err))) {
    fprintf(stderr, "warden: %s\n", err);
    exit_code = WD_EXIT_USAGE;
    goto out;
  }
  char where[512];
  double g0 = real_now();
  if (geo_setup(c, &s->geo, where, sizeof where, err, sizeof err)) {
    fprintf(stderr, "warden: %s\n", err);
    goto out;
  }
  if (check) {
    summary(stdout, c);
    geo_summary(stdout, s->geo, where);
    exit_code = WD_EXIT_OK;
    goto out;
  }
  if (create_trackers(s)) {
    fprintf(stderr, "warden: cannot set up sharing detection (out of memory)\n");
    goto out;
  }
  fprintf(stderr, "warden: geo data: %s", where);
  if (s->geo)
    fprintf(stderr, " (loaded in %.0f ms)", (real_now() - g0) * 1e3);
  fputc('\n', stderr);

  /* the admin token */
  const char *admin = c->admin_token ? c->admin_token : getenv("WARDEN_ADMIN_TOKEN");
  char generated[49];
  if (!admin || !*admin) {
    random_hex(generated, 24);
    admin = generated;
    fprintf(stderr, "warden: admin token for this run (shown only here; set admin_token or "
                    "WARDEN_ADMIN_TOKEN to keep one): %s\n", generated);
  } else if (strlen(admin) < 16) {
    fprintf(stderr, "warden: the admin token must be at least 16 characters\n");
    exit_code = WD_EXIT_USAGE;
    goto out;
  }
  unsigned int hl = 0;
  EVP_Digest(admin, strlen(admin), s->admin_hash, &hl, EVP_sha256(), NULL);
  s->have_admin = hl == 32;
  memset(generated, 0, sizeof generated);

  if (cli_mkdirs(c->data_dir)) {
    fprintf(stderr, "warden: cannot create the data directory %s: %s\n", c->data_dir,
            strerror(errno));
    goto out;
  }
  if (c->declog.path) {
    char path[8192];
    if (c->declog.path[0] == '/')
      snprintf(path, sizeof path, "%s", c->declog.path);
    else
      snprintf(path, sizeof path, "%s/%s", c->data_dir, c->declog.path);
    if (declog_file_open(path, c->declog.rotate_bytes, c->declog.keep, &s->declog_file, err,
                         sizeof err)) {
      fprintf(stderr, "warden: %s\n", err);
      goto out;
    }
  }

  s->nloops = c->threads;
  s->loops = calloc((size_t)s->nloops, sizeof *s->loops);
  if (!s->loops)
    goto out;
  for (int i = 0; i < s->nloops; i++) {
    loop_t *l = &s->loops[i];
    l->srv = s;
    l->index = i;
    if (wd_verifier_create(s->ring, &l->verifier) ||
        (s->viewer_ring && wd_verifier_create(s->viewer_ring, &l->viewer_verifier)) ||
        (s->declog_file && declog_ring_create(c->declog.queue_bytes, &l->declog))) {
      fprintf(stderr, "warden: cannot set up thread %d (out of memory or crypto failure)\n", i);
      goto out;
    }
    if (RAND_bytes((unsigned char *)&l->rng, sizeof l->rng) != 1 || l->rng == 0)
      l->rng = 0x9E3779B97F4A7C15ull + (uint64_t)i;
  }

  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  if (http_setup(s, err, sizeof err)) {
    fprintf(stderr, "warden: %s\n", err);
    http_cleanup(s);
    goto out;
  }
  if (cluster_create(s, &s->cluster, err, sizeof err)) {
    fprintf(stderr, "warden: %s\n", err);
    http_cleanup(s);
    goto out;
  }
  if (writer_start(s, &s->writer)) {
    fprintf(stderr, "warden: cannot start the writer thread\n");
    http_cleanup(s);
    goto out;
  }
  if (console_start(s, err, sizeof err) || monitor_start(s, err, sizeof err)) {
    fprintf(stderr, "warden: %s\n", err);
    monitor_stop(s);
    console_stop(s);
    writer_stop(s->writer);
    s->writer = NULL;
    http_cleanup(s);
    goto out;
  }
  if (cluster_start(s->cluster, err, sizeof err) || http_start(s, err, sizeof err)) {
    fprintf(stderr, "warden: %s\n", err);
    atomic_store(&s->stopping, 1);
    http_stop(s, 0);
    cluster_stop(s->cluster);
    monitor_stop(s);
    console_stop(s);
    writer_stop(s->writer);
    s->writer = NULL;
    http_cleanup(s);
    goto out;
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig))
      continue;
    if (sig == SIGHUP) {
      fprintf(stderr, "warden: SIGHUP ignored (restart to reload the configuration)\n");
      continue;
    }
    if (!atomic_load(&s->fatal))
      fprintf(stderr, "warden: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  atomic_store(&s->stopping, 1);
  http_stop(s, GRACE_MS);
  cluster_stop(s->cluster); /* the consumers finish the batch they hold with the writer */
  monitor_stop(s);         /* samples, alerts: pending webhooks get their last chance */
  console_stop(s);         /* sign-ins in flight: the loops are gone, nobody waits for them */
  writer_stop(s->writer); /* commits what is queued, flushes replay and the log, closes stores */
  s->writer = NULL;
  http_cleanup(s);
  exit_code = atomic_load(&s->fatal) ? WD_EXIT_FAIL : WD_EXIT_OK;
  if (exit_code == WD_EXIT_OK)
    fprintf(stderr, "warden: stopped\n");
out:
  srv_free(s);
  g_srv = NULL;
  return exit_code;
}
