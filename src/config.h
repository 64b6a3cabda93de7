/*
 * Configuration of `warden serve`: one YAML file (docs/config.md is the reference), the
 * embedded default used when no file is given, and the command-line overrides.
 *
 * Parsing is strict: an unknown key, a value of the wrong type or out of bounds, or a name
 * that is not one of the allowed ones is an error naming the file, the line and the fix:
 *   warden.yaml line 12: unknown scheme 'catt' (expected one of cat, jwt, akamai, securelink,
 *   cloudfront, bunny)
 * Everything a conf_t points to is owned by it (one arena, freed by conf_free), including the
 * wd_policy_t array and the option arrays inside its wd_verify_opts_t, so the policies stay
 * valid as long as the configuration does.
 */
#ifndef WARDEN_SRC_CONFIG_H
#define WARDEN_SRC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "warden/auth.h"
#include "warden/decide.h"
#include "warden/geo.h"
#include "warden/warden.h"

#include "../lib/util/ip.h"

#define CONF_MAX_LISTEN 8
#define CONF_MAX_KEYS 64
#define CONF_MAX_POLICIES 256
#define CONF_MAX_PROXIES 64
#define CONF_MAX_NAMES 16         /* issuers, audiences per scheme */
#define CONF_FILE_MAX (1 << 20)   /* largest configuration file, bytes */

typedef enum conf_key_kind { CONF_KEY_HEX = 1, CONF_KEY_SECRET, CONF_KEY_PEM } conf_key_kind_t;

typedef struct conf_key {
  wd_scheme_t scheme;
  conf_key_kind_t kind;
  char *value;      /* hex text, secret text, or PEM text (read from the file at load) */
  size_t value_len;
  char *source;     /* "value", "env NAME", "file PATH": for messages (never the secret) */
  char *kid;        /* NULL: none */
  char *issuer;     /* NULL: any */
  wd_alg_t alg;     /* WD_ALG_NONE: the scheme's default */
  int line;         /* 0 for keys from the command line or generated */
} conf_key_t;

typedef struct conf_listen {
  char *host;       /* as given: "127.0.0.1", "::", "localhost" */
  char *port;       /* "8080"; "0" picks a free port */
  int tls;          /* https:// listener */
  int line;
} conf_listen_t;

typedef struct conf_prefix {
  wd_ip_t net;
  int plen;
} conf_prefix_t;

typedef struct conf_token_api {
  int enabled;
  wd_scheme_t scheme;         /* the CDN scheme tokens are issued for */
  char *url;                  /* URL base ("https://cdn.example.com"), NULL: origin-form URLs */
  char *url_ip;               /* URL base of the IP-bound variant, NULL: url */
  conf_key_t viewer_keys[8];  /* keys that verify the viewer's bearer JWT */
  size_t nviewer_keys;
  const char *viewer_issuers[CONF_MAX_NAMES];
  size_t nviewer_issuers;
  const char *viewer_audiences[CONF_MAX_NAMES];
  size_t nviewer_audiences;
  int64_t default_expire;     /* seconds, when the request gives none (default 300) */
  int64_t max_expire;         /* seconds, larger requests are capped (default 3600) */
  char *path_prefix;          /* paths tokens may be issued for (default "/") */
  int scope_directory;        /* token covers the path's directory (default) or the path only */
  char *query_param;          /* token parameter in the URL for token schemes (cat, jwt, akamai) */
  char *template_str;         /* securelink: plain template (default "$expires$uri $secret") */
  char *template_ip;          /* securelink: IP-bound template (default "$expires$uri$remote_addr $secret") */
  char *catr_type;            /* CAT: renewal claim (catr) of issued tokens: "header", "cookie",
                                 "redirect" or "automatic"; NULL: none */
  int64_t catr_expadd;        /* catr: seconds a renewed token lives */
  int64_t catr_deadline;      /* catr: renew within this many seconds of exp */
  int line;
} conf_token_api_t;

/* AES-128 content keys handed out by GET /v1/key/<id> (docs/keys.md). The decision for a key
 * request is the one a request for `path` (on `host`) would get. */
#define CONF_MAX_CONTENT_KEYS 256
typedef struct conf_content_key {
  char *id;                   /* 1-64 of A-Za-z0-9._- : the last segment of /v1/key/<id> */
  char *path;                 /* the asset path the decision is made for ("/live/ch1/") */
  char *host;                 /* the host the decision is made for; NULL: the request's */
  unsigned char key[16];      /* the key itself (arena memory, wiped by conf_free) */
  char *source;               /* "value", "env NAME", "file PATH": for messages, never the key */
  int line;
} conf_content_key_t;

typedef struct conf_declog {
  char *path;                 /* NULL: no decision log; relative paths are in data_dir */
  double sample;              /* fraction of plain allows logged (others always), default 1 */
  uint64_t rotate_bytes;      /* rotate when the file reaches this size (default 100 MiB) */
  int keep;                   /* rotated files kept: path.1 .. path.keep (default 5) */
  size_t queue_bytes;         /* per event-loop thread queue (default 4 MiB) */
} conf_declog_t;

typedef struct conf_limits {
  size_t max_body;            /* request body bytes (default 65536): 413 past it */
  size_t max_header_bytes;    /* sum of header names and values (default 32768): 431 */
  size_t max_url;             /* request target bytes (default 8192): 414 */
  int max_connections;        /* open connections per event-loop thread (default 10000) */
  int max_pending_bans;       /* ban changes waiting for the writer (default 4096): 503 */
  int http2_max_concurrent;   /* requests in flight per HTTP/2 connection (default 64) */
  int idle_timeout;           /* seconds a connection may sit idle or mid-request (default 10) */
} conf_limits_t;

/* Where client addresses' country, location and ASN come from (docs/geo.md). */
typedef enum conf_geo_mode {
  CONF_GEO_AUTO = 0,          /* the installed npm data when present, else none (the default) */
  CONF_GEO_OFF,               /* geo: false */
  CONF_GEO_FILES,             /* the files listed */
} conf_geo_mode_t;

typedef struct conf_geo {
  conf_geo_mode_t mode;
  char *city_mmdb[WD_GEO_MAX_FILES];
  size_t ncity_mmdb;
  char *asn_mmdb[WD_GEO_MAX_FILES];
  size_t nasn_mmdb;
  char *asn_csv[WD_GEO_MAX_FILES];
  size_t nasn_csv;
} conf_geo_t;

/* Sharing detection (docs/detection.md): the defaults for every policy, and per policy off or
 * its own thresholds. */
#define CONF_DETECT_ALLOW_MAX 256
typedef struct conf_detect {
  int enabled;                              /* default 1 */
  wd_detect_config_t cfg;                   /* allow lists point into the arrays below */
  uint32_t allow_asns[CONF_DETECT_ALLOW_MAX];
  char *allow_cidrs[CONF_DETECT_ALLOW_MAX];
  char *allow_subjects[CONF_DETECT_ALLOW_MAX];
} conf_detect_t;

typedef enum conf_policy_detect {
  CONF_DETECT_INHERIT = 0,                  /* the top-level detection */
  CONF_DETECT_OFF,                          /* detection: false */
  CONF_DETECT_OWN,                          /* its own thresholds (own tracker) */
} conf_policy_detect_t;

/* The console at /ui and who may sign in to it (docs/console.md). */
#define CONF_MAX_USERS 256
typedef struct conf_user {
  char *name;                 /* 1-63 letters, digits, '.', '_', '-', '@' */
  wd_role_t role;
  char *password_hash;        /* PHC string (wd_password_parse checked it) */
  int line;
} conf_user_t;

typedef struct conf_console {
  int enabled;                /* serve /ui and /ui/login (default 1) */
  int secure_cookie;          /* -1 auto (Secure when the request came over https), 0, 1 */
  int64_t session_ttl;        /* seconds from sign-in (default 43200) */
  int64_t session_idle;       /* seconds since last use (default 1800) */
  size_t max_sessions;        /* default 10000 */
  conf_user_t *users;         /* arena array */
  size_t nusers;
} conf_console_t;

/* Alert thresholds and the webhooks that hear of them (docs/alerts.md). */
#define CONF_MAX_WEBHOOKS 8
typedef struct conf_webhook {
  char *url;                  /* http:// or https:// */
  char *secret;               /* HMAC-SHA256 key for X-Warden-Signature; NULL: unsigned */
  int slack;                  /* format: slack ({"text": ...}) instead of Warden's JSON */
  int line;
} conf_webhook_t;

typedef struct conf_alerts {
  conf_webhook_t webhooks[CONF_MAX_WEBHOOKS];
  size_t nwebhooks;
  int window;                 /* seconds rates and shares are measured over (default 60) */
  int baseline;               /* seconds before the window a spike is compared with (900) */
  int cooldown;               /* seconds before an alert fires again after it fired (600) */
  double shared_share;        /* share of decisions on shared tokens (0.05; 0: off) */
  double suspect_share;       /* share on suspect tokens (0: off, the default) */
  uint64_t min_decisions;     /* fewer decisions in the window: no share alert (100) */
  double failures_spike;      /* token failures/s at least this times the baseline (3; 0: off) */
  double failures_min;        /* ... and at least this many a second (5) */
  double blocks_spike;        /* decisions answered block, the same (3; 0: off) */
  double blocks_min;          /* (5) */
  uint64_t ban_storm;         /* bans added within the window (100; 0: off) */
  int retries;                /* delivery attempts per webhook and alert (8) */
  int timeout;                /* seconds per attempt (5) */
  int queue;                  /* deliveries waiting, at most (256) */
} conf_alerts_t;

/* Replication between nodes through NATS JetStream (docs/cluster.md). No URLs: one node. */
#define CONF_MAX_NATS 16
typedef struct conf_cluster {
  char *nats[CONF_MAX_NATS];  /* broker URLs (nats://host:port) */
  size_t nnats;
  char *node_id;              /* this node's id, unique in the cluster; NULL: the host name */
  char *subject_prefix;       /* "warden": subjects warden.bans.*, warden.usage.*, ... */
  char *bans_stream;          /* "WARDEN_BANS" */
  char *usage_stream;         /* "WARDEN_USAGE" */
  char *replay_stream;        /* "WARDEN_REPLAY" */
  int replicas;               /* stream replicas when Warden creates the streams (default 1) */
  uint64_t queue;             /* messages waiting for the broker, at most (default 100000) */
  int replay_fail_closed;     /* replay_when_down: closed refuses catreplay=1 first uses while
                                 the broker is unreachable (default open) */
  int64_t usage_max_age;      /* seconds the broker keeps usage observations (default 600) */
  int64_t replay_max_age;     /* seconds the broker keeps catreplay=1 uses (default 86400) */
} conf_cluster_t;

typedef struct conf_arena conf_arena_t;

typedef struct conf {
  char *file;                 /* name in messages: the path given, or "(embedded default)" */
  int embedded;               /* no file: the embedded default */
  conf_listen_t listen[CONF_MAX_LISTEN];
  size_t nlisten;
  int threads;
  char *tls_cert, *tls_key;   /* PEM files for https:// listeners */
  char *data_dir;
  char *admin_token;          /* NULL: WARDEN_ADMIN_TOKEN, else generated at start */
  conf_prefix_t trusted[CONF_MAX_PROXIES];
  size_t ntrusted;
  char *client_ip_header;     /* "X-Real-IP" or "X-Forwarded-For" (from trusted proxies only) */
  char *country_header;       /* e.g. "X-Country-Code" (trusted proxies only), NULL: none */
  char *asn_header;           /* e.g. "X-ASN" (trusted proxies only), NULL: none */
  conf_key_t keys[CONF_MAX_KEYS];
  size_t nkeys;
  wd_policy_t *policies;
  size_t npolicies;
  int policy_lines[CONF_MAX_POLICIES];
  conf_token_api_t token_api;
  conf_content_key_t *content_keys; /* arena array */
  size_t ncontent_keys;
  conf_declog_t declog;
  conf_limits_t limits;
  conf_geo_t geo;
  conf_detect_t detect;
  conf_policy_detect_t policy_detect[CONF_MAX_POLICIES];
  wd_detect_config_t *policy_detect_cfg[CONF_MAX_POLICIES]; /* CONF_DETECT_OWN: arena copy */
  conf_cluster_t cluster;
  conf_console_t console;
  conf_alerts_t alerts;
  conf_arena_t *arena;
} conf_t;

/*
 * Load and validate a configuration file. Returns 0 and *out (free with conf_free), or -1 with
 * a one-line message in err ("FILE line N: what (fix)"); -2 when the file cannot be read.
 * PEM key files are read during the load (their errors name the key's line).
 */
int conf_load_file(const char *path, conf_t **out, char *err, size_t errlen);

/* The same from text in memory; `name` stands for the file in messages. */
int conf_load_string(const char *text, size_t len, const char *name, conf_t **out, char *err,
                     size_t errlen);

/* The embedded default: 127.0.0.1:8080, ./warden-data, one catch-all policy in monitor mode,
 * no keys (the caller generates them), the token API for securelink. */
int conf_default(conf_t **out);

void conf_free(conf_t *c);

/* --key SCHEME:KIND:VALUE (kind hex, secret or pem; pem names a file). Adds a key; -1 and err
 * on a bad argument. */
int conf_add_key_arg(conf_t *c, const char *arg, char *err, size_t errlen);

/* --listen [http://|https://]HOST:PORT: replaces the configured listeners on first use in a
 * run (`first` set), then adds. -1 and err when malformed or too many. */
int conf_add_listen_arg(conf_t *c, const char *arg, int first, char *err, size_t errlen);

/* --nats URL: adds a broker URL (the first use in a run replaces the configured ones); -1 and
 * err when malformed or too many. */
int conf_add_nats_arg(conf_t *c, const char *url, int first, char *err, size_t errlen);
/* Set a string field from the command line (copied into the arena). */
char *conf_strdup(conf_t *c, const char *s);

/* Checks that need the whole configuration (after overrides): https listeners need tls.cert
 * and tls.key, the token API's scheme needs a signing key, viewer keys exist, every policy
 * scheme has a key. -1 and err otherwise. */
int conf_validate(conf_t *c, char *err, size_t errlen);

/* Build a key ring from keys (n of them); -1 and err naming the key ("warden.yaml line 30: key
 * for cloudfront (file /x.pem): unusable key"). */
int conf_build_keyring(const conf_t *c, const conf_key_t *keys, size_t n, wd_keyring_t **out,
                       char *err, size_t errlen);

/* Is this address (text) inside one of the trusted proxy prefixes? */
int conf_is_trusted(const conf_t *c, const char *ip);

/* Parse an address "HOST:PORT", "[v6]:PORT", with an optional http:// or https:// prefix. */
int conf_parse_address(const char *s, char *host, size_t hostcap, char *port, size_t portcap,
                       int *tls);

#endif
