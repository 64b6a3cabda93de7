/*
 * Configuration: the YAML reader (libyaml's document API: every node carries its line), the
 * embedded default and the command-line overrides. See config.h for the contract and
 * docs/config.md for the reference that mirrors the tables below.
 *
 * Each section is a function that walks one mapping, looks every key up in its list of known
 * keys, converts and bounds-checks the value and stores it in the conf_t. All strings are
 * copied into the configuration's arena, so freeing the YAML document leaves the conf_t whole.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "util/codec.h"

/* ---------------------------------------------------------------- arena */

struct conf_arena {
  struct conf_arena *next;
  size_t used, cap;
  max_align_t data[];
};

static void *arena_alloc(conf_t *c, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  conf_arena_t *a = c->arena;
  if (!a || a->cap - a->used < n) {
    size_t cap = n > 16384 ? n : 16384;
    conf_arena_t *b = malloc(sizeof *b + cap);
    if (!b)
      return NULL;
    b->next = a;
    b->used = 0;
    b->cap = cap;
    c->arena = a = b;
  }
  void *p = (char *)a->data + a->used;
  a->used += n;
  memset(p, 0, n);
  return p;
}

static char *arena_strndup(conf_t *c, const char *s, size_t n) {
  char *d = arena_alloc(c, n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

char *conf_strdup(conf_t *c, const char *s) { return s ? arena_strndup(c, s, strlen(s)) : NULL; }

void conf_free(conf_t *c) {
  if (!c)
    return;
  conf_arena_t *a = c->arena;
  while (a) {
    conf_arena_t *n = a->next;
    /* secrets live in the arena: wipe before freeing */
    memset(a->data, 0, a->used);
    free(a);
    a = n;
  }
  free(c);
}

/* ---------------------------------------------------------------- defaults */

static const char *const SCHEMES_EXPECTED = "cat, jwt, akamai, securelink, cloudfront, bunny";

static conf_t *conf_new(const char *file) {
  conf_t *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->file = conf_strdup(c, file);
  c->threads = 1;
  c->data_dir = conf_strdup(c, "./warden-data");
  c->declog.path = conf_strdup(c, "decisions.log");
  c->declog.sample = 1.0;
  c->declog.rotate_bytes = 100ull << 20;
  c->declog.keep = 5;
  c->declog.queue_bytes = 4u << 20;
  c->limits.max_body = 65536;
  c->limits.max_header_bytes = 32768;
  c->limits.max_url = 8192;
  c->limits.max_connections = 10000;
  c->limits.max_pending_bans = 4096;
  c->limits.http2_max_concurrent = 64;
  c->limits.idle_timeout = 10;
  c->token_api.default_expire = 300;
  c->token_api.max_expire = 3600;
  c->token_api.path_prefix = conf_strdup(c, "/");
  c->token_api.scope_directory = 1;
  c->detect.enabled = 1;
  wd_detect_config_init(&c->detect.cfg);
  c->console.enabled = 1;
  c->console.secure_cookie = -1;
  c->console.session_ttl = 43200;
  c->console.session_idle = 1800;
  c->console.max_sessions = 10000;
  c->alerts.window = 60;
  c->alerts.baseline = 900;
  c->alerts.cooldown = 600;
  c->alerts.shared_share = 0.05;
  c->alerts.min_decisions = 100;
  c->alerts.failures_spike = 3;
  c->alerts.failures_min = 5;
  c->alerts.blocks_spike = 3;
  c->alerts.blocks_min = 5;
  c->alerts.ban_storm = 100;
  c->alerts.retries = 8;
  c->alerts.timeout = 5;
  c->alerts.queue = 256;
  c->cluster.subject_prefix = conf_strdup(c, "warden");
  c->cluster.bans_stream = conf_strdup(c, "WARDEN_BANS");
  c->cluster.usage_stream = conf_strdup(c, "WARDEN_USAGE");
  c->cluster.replay_stream = conf_strdup(c, "WARDEN_REPLAY");
  c->cluster.replicas = 1;
  c->cluster.queue = 100000;
  c->cluster.usage_max_age = 600;
  c->cluster.replay_max_age = 86400;
  if (!c->cluster.subject_prefix || !c->cluster.bans_stream || !c->cluster.usage_stream ||
      !c->cluster.replay_stream) {
    conf_free(c);
    return NULL;
  }
  if (!c->file || !c->data_dir || !c->declog.path || !c->token_api.path_prefix) {
    conf_free(c);
    return NULL;
  }
  return c;
}

int conf_default(conf_t **out) {
  conf_t *c = conf_new("(embedded default)");
  if (!c)
    return -1;
  c->embedded = 1;
  c->listen[0].host = conf_strdup(c, "127.0.0.1");
  c->listen[0].port = conf_strdup(c, "8080");
  c->nlisten = 1;
  c->policies = arena_alloc(c, sizeof *c->policies);
  if (!c->policies || !c->listen[0].host || !c->listen[0].port) {
    conf_free(c);
    return -1;
  }
  wd_policy_init(&c->policies[0]);
  c->policies[0].name = conf_strdup(c, "default");
  c->npolicies = 1;
  c->token_api.enabled = 1;
  c->token_api.scheme = WD_SCHEME_SECURELINK;
  *out = c;
  return 0;
}

/* ---------------------------------------------------------------- parser state and errors */

typedef struct P {
  conf_t *c;
  yaml_document_t *doc;
  char *err;
  size_t errlen;
  size_t cur_policy;                          /* index of the policy being parsed */
  yaml_node_t *policy_detect[CONF_MAX_POLICIES]; /* its `detection` mapping, applied at the end */
} P;

static int line_of(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }

__attribute__((format(printf, 3, 4))) static int fail(P *p, const yaml_node_t *n, const char *fmt,
                                                      ...) {
  int k = 0;
  if (n)
    k = snprintf(p->err, p->errlen, "%s line %d: ", p->c->file, line_of(n));
  else
    k = snprintf(p->err, p->errlen, "%s: ", p->c->file);
  if (k < 0 || (size_t)k >= p->errlen)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
  va_end(ap);
  for (char *s = p->err; *s; s++) /* values quoted from the file stay on one line */
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      *s = ' ';
  return -1;
}

static yaml_node_t *node(P *p, int idx) { return yaml_document_get_node(p->doc, idx); }

static const char *scalar(const yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *kind_name(const yaml_node_t *n) {
  switch (n->type) {
  case YAML_SCALAR_NODE: return "a value";
  case YAML_SEQUENCE_NODE: return "a list";
  case YAML_MAPPING_NODE: return "a mapping";
  default: return "nothing";
  }
}

/* Check that n is a mapping without duplicate keys, all of them in `known` (comma list). */
static int expect_map(P *p, yaml_node_t *n, const char *what, const char *known) {
  if (!n || n->type != YAML_MAPPING_NODE)
    return fail(p, n, "%s must be a mapping of keys, got %s", what, n ? kind_name(n) : "nothing");
  for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++) {
    yaml_node_t *k = node(p, a->key);
    const char *ks = scalar(k);
    if (!ks)
      return fail(p, k, "keys in %s must be plain names", what);
    /* known is "a, b, c": match whole words */
    size_t kl = strlen(ks);
    const char *s = known;
    int found = 0;
    while (s && *s) {
      const char *e = strchr(s, ',');
      size_t l = e ? (size_t)(e - s) : strlen(s);
      if (l == kl && !memcmp(s, ks, kl)) {
        found = 1;
        break;
      }
      s = e ? e + 2 : NULL;
    }
    if (!found)
      return fail(p, k, "unknown key '%s' in %s (expected one of %s)", ks, what, known);
    for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < a; b++)
      if (!strcmp(scalar(node(p, b->key)), ks))
        return fail(p, k, "key '%s' appears twice in %s (keep one)", ks, what);
  }
  return 0;
}

#define FOR_PAIRS(p, map, kname, val)                                                            \
  for (yaml_node_pair_t *kname##_pr = (map)->data.mapping.pairs.start;                           \
       kname##_pr < (map)->data.mapping.pairs.top; kname##_pr++)                                 \
    for (const char *kname = scalar(node(p, kname##_pr->key)); kname; kname = NULL)             \
      for (yaml_node_t *val = node(p, kname##_pr->value); val; val = NULL)

static int get_str(P *p, yaml_node_t *n, const char *what, char **out) {
  const char *s = scalar(n);
  if (!s)
    return fail(p, n, "%s must be a single value, got %s", what, kind_name(n));
  if (strlen(s) != n->data.scalar.length)
    return fail(p, n, "%s contains a NUL byte", what);
  *out = arena_strndup(p->c, s, n->data.scalar.length);
  if (!*out)
    return fail(p, n, "out of memory");
  return 0;
}

/* A non-empty string without control characters, at most max bytes. */
static int get_name(P *p, yaml_node_t *n, const char *what, size_t max, char **out) {
  if (get_str(p, n, what, out))
    return -1;
  size_t l = strlen(*out);
  if (l == 0 || l > max)
    return fail(p, n, "%s must be 1 to %zu characters", what, max);
  for (size_t i = 0; i < l; i++)
    if ((unsigned char)(*out)[i] < 0x20 || (*out)[i] == 0x7f)
      return fail(p, n, "%s contains a control character", what);
  return 0;
}

static int get_bool(P *p, yaml_node_t *n, const char *what, int *out) {
  const char *s = scalar(n);
  if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))) {
    *out = 1;
    return 0;
  }
  if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))) {
    *out = 0;
    return 0;
  }
  return fail(p, n, "%s must be true or false, got '%s'", what, s ? s : kind_name(n));
}

static int get_int(P *p, yaml_node_t *n, const char *what, long long min, long long max,
                   long long *out) {
  const char *s = scalar(n);
  char *end;
  errno = 0;
  long long v = s ? strtoll(s, &end, 10) : 0;
  if (!s || !*s || errno || *end)
    return fail(p, n, "%s must be a whole number, got '%s'", what, s ? s : kind_name(n));
  if (v < min || v > max)
    return fail(p, n, "%s must be between %lld and %lld, got %lld", what, min, max, v);
  *out = v;
  return 0;
}

/* A byte size: a number with an optional K, M or G suffix (powers of 1024). */
static int get_size(P *p, yaml_node_t *n, const char *what, uint64_t min, uint64_t max,
                    uint64_t *out) {
  const char *s = scalar(n);
  char *end;
  errno = 0;
  unsigned long long v = s && isdigit((unsigned char)*s) ? strtoull(s, &end, 10) : 0;
  if (!s || !isdigit((unsigned char)*s) || errno)
    return fail(p, n, "%s must be a size like 65536, 64K, 100M or 1G, got '%s'", what,
                s ? s : kind_name(n));
  unsigned shift = 0;
  if (*end == 'k' || *end == 'K')
    shift = 10, end++;
  else if (*end == 'm' || *end == 'M')
    shift = 20, end++;
  else if (*end == 'g' || *end == 'G')
    shift = 30, end++;
  if (*end == 'i' || *end == 'B' || *end == 'b')
    end += (*end == 'i' && (end[1] == 'B' || end[1] == 'b')) ? 2 : 1;
  if (*end || (shift && v > (UINT64_MAX >> shift)))
    return fail(p, n, "%s must be a size like 65536, 64K, 100M or 1G, got '%s'", what, s);
  v <<= shift;
  if (v < min || v > max)
    return fail(p, n, "%s must be between %llu and %llu bytes, got %llu", what,
                (unsigned long long)min, (unsigned long long)max, v);
  *out = v;
  return 0;
}

/* A list of names (or one name), each checked by fn when given. Items are arena strings. */
static int get_list(P *p, yaml_node_t *n, const char *what, size_t max, char **items,
                    size_t *count) {
  *count = 0;
  if (n->type == YAML_SCALAR_NODE) {
    if (n->data.scalar.length == 0)
      return 0; /* an empty value: an empty list */
    if (get_name(p, n, what, 255, &items[0]))
      return -1;
    *count = 1;
    return 0;
  }
  if (n->type != YAML_SEQUENCE_NODE)
    return fail(p, n, "%s must be a list, got %s", what, kind_name(n));
  size_t k = 0;
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    yaml_node_t *e = node(p, *it);
    if (k >= max)
      return fail(p, e, "%s has more than %zu entries", what, max);
    if (get_name(p, e, what, 255, &items[k]))
      return -1;
    k++;
  }
  *count = k;
  return 0;
}

static int get_scheme(P *p, yaml_node_t *n, const char *what, wd_scheme_t *out) {
  const char *s = scalar(n);
  if (!s || wd_scheme_parse(s, out) || *out == WD_SCHEME_NONE)
    return fail(p, n, "unknown scheme '%s' (expected one of %s)", s ? s : kind_name(n),
                SCHEMES_EXPECTED);
  (void)what;
  return 0;
}

/* Algorithm names of the key ring, plus the spellings `warden token --algo` accepts. */
static int parse_alg(wd_scheme_t scheme, const char *a, wd_alg_t *out) {
  if (scheme == WD_SCHEME_AKAMAI) {
    if (!strcasecmp(a, "sha256"))
      return *out = WD_ALG_HS256, 0;
    if (!strcasecmp(a, "sha1"))
      return *out = WD_ALG_HS1, 0;
    if (!strcasecmp(a, "md5"))
      return *out = WD_ALG_HMD5, 0;
  }
  if (scheme == WD_SCHEME_CAT && (!strcmp(a, "5") || !strcasecmp(a, "HMAC256/256")))
    return *out = WD_ALG_HS256, 0;
  if (scheme == WD_SCHEME_CAT && (!strcmp(a, "4") || !strcasecmp(a, "HMAC256/64")))
    return *out = WD_ALG_HS256_64, 0;
  return wd_alg_parse(a, out) == 0 && *out != WD_ALG_NONE ? 0 : -1;
}

/* ---------------------------------------------------------------- keys */

static int is_hex(const char *s, size_t n) {
  if (n == 0 || n % 2)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)s[i]))
      return 0;
  return 1;
}

static char *read_text_file(const char *path, size_t max, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = malloc(max + 1);
  size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad || n > max) {
    free(buf);
    errno = bad ? EIO : n > max ? EFBIG : ENOMEM;
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* Fill the key's value from text (copied; trailing newlines of files dropped). */
static int key_set_value(conf_t *c, conf_key_t *k, const char *v, size_t n, int trim) {
  while (trim && n && (v[n - 1] == '\n' || v[n - 1] == '\r' || v[n - 1] == ' '))
    n--;
  k->value = arena_strndup(c, v, n);
  k->value_len = n;
  return k->value ? 0 : -1;
}

static int check_key_value(conf_key_t *k, char *msg, size_t msglen) {
  if (k->value_len == 0) {
    snprintf(msg, msglen, "the key is empty");
    return -1;
  }
  if (k->kind == CONF_KEY_HEX && !is_hex(k->value, k->value_len)) {
    snprintf(msg, msglen, "a hex key must be an even number of hex digits");
    return -1;
  }
  if (k->kind == CONF_KEY_PEM && !strstr(k->value, "-----BEGIN ")) {
    snprintf(msg, msglen, "not a PEM key (expected a '-----BEGIN ...' block)");
    return -1;
  }
  if (k->kind == CONF_KEY_SECRET && strlen(k->value) != k->value_len) {
    snprintf(msg, msglen, "a secret must be text (use kind hex for binary keys)");
    return -1;
  }
  return 0;
}

static const char *const KEY_KEYS = "scheme, kind, value, env, file, kid, issuer, alg";

/* A key mapping; scheme_fixed != NONE forces the scheme (viewer keys are JWT keys). */
static int parse_key(P *p, yaml_node_t *n, const char *what, wd_scheme_t scheme_fixed,
                     conf_key_t *k) {
  if (expect_map(p, n, what, KEY_KEYS))
    return -1;
  memset(k, 0, sizeof *k);
  k->line = line_of(n);
  k->scheme = scheme_fixed;
  yaml_node_t *vnode = NULL, *envnode = NULL, *filenode = NULL, *algnode = NULL, *kindnode = NULL;
  char *tmp;
  FOR_PAIRS(p, n, key, v) {
    if (!strcmp(key, "scheme")) {
      if (scheme_fixed != WD_SCHEME_NONE)
        return fail(p, v, "%s is always a jwt key: remove 'scheme'", what);
      if (get_scheme(p, v, "scheme", &k->scheme))
        return -1;
    } else if (!strcmp(key, "kind")) {
      kindnode = v;
      const char *s = scalar(v);
      if (s && !strcmp(s, "hex"))
        k->kind = CONF_KEY_HEX;
      else if (s && !strcmp(s, "secret"))
        k->kind = CONF_KEY_SECRET;
      else if (s && !strcmp(s, "pem"))
        k->kind = CONF_KEY_PEM;
      else
        return fail(p, v, "unknown key kind '%s' (expected one of hex, secret, pem)",
                    s ? s : kind_name(v));
    } else if (!strcmp(key, "value")) {
      vnode = v;
    } else if (!strcmp(key, "env")) {
      envnode = v;
    } else if (!strcmp(key, "file")) {
      filenode = v;
    } else if (!strcmp(key, "kid")) {
      if (get_name(p, v, "kid", 127, &k->kid))
        return -1;
    } else if (!strcmp(key, "issuer")) {
      if (get_name(p, v, "issuer", 127, &k->issuer))
        return -1;
    } else if (!strcmp(key, "alg")) {
      algnode = v;
    }
  }
  if (k->scheme == WD_SCHEME_NONE)
    return fail(p, n, "%s needs 'scheme' (one of %s)", what, SCHEMES_EXPECTED);
  if (!kindnode)
    return fail(p, n, "%s needs 'kind' (hex, secret or pem)", what);
  if (algnode) {
    const char *s = scalar(algnode);
    if (!s || parse_alg(k->scheme, s, &k->alg))
      return fail(p, algnode,
                  "unknown alg '%s' for %s (expected HS256, HS256/64, HS384, HS512, RS256, RS1, "
                  "ES256, EdDSA, MD5; akamai sha256, sha1, md5)",
                  s ? s : kind_name(algnode), wd_scheme_name(k->scheme));
  }
  int sources = !!vnode + !!envnode + !!filenode;
  if (sources != 1)
    return fail(p, n, "%s needs exactly one of 'value', 'env' or 'file'", what);
  char msg[160];
  if (vnode) {
    if (get_str(p, vnode, "value", &tmp) || key_set_value(p->c, k, tmp, strlen(tmp), 0))
      return -1;
    k->source = conf_strdup(p->c, "value");
  } else if (envnode) {
    if (k->kind == CONF_KEY_PEM)
      return fail(p, envnode, "a pem key is read from 'file', not 'env'");
    if (get_name(p, envnode, "env", 128, &tmp))
      return -1;
    const char *ev = getenv(tmp);
    if (!ev || !*ev)
      return fail(p, envnode, "environment variable %s is not set (export it or use 'file')", tmp);
    if (key_set_value(p->c, k, ev, strlen(ev), 1))
      return fail(p, envnode, "out of memory");
    snprintf(msg, sizeof msg, "env %s", tmp);
    k->source = conf_strdup(p->c, msg);
  } else {
    if (get_name(p, filenode, "file", 4096, &tmp))
      return -1;
    size_t len;
    char *text = read_text_file(tmp, 1 << 20, &len);
    if (!text)
      return fail(p, filenode, "cannot read key file '%s': %s", tmp, strerror(errno));
    int rc = key_set_value(p->c, k, text, len, k->kind != CONF_KEY_PEM);
    memset(text, 0, len);
    free(text);
    if (rc)
      return fail(p, filenode, "out of memory");
    snprintf(msg, sizeof msg, "file %s", tmp);
    k->source = conf_strdup(p->c, msg);
  }
  if (check_key_value(k, msg, sizeof msg))
    return fail(p, vnode ? vnode : envnode ? envnode : filenode, "%s (%s): %s", what, k->source,
                msg);
  return 0;
}

static int parse_keys(P *p, yaml_node_t *n) {
  if (n->type != YAML_SEQUENCE_NODE)
    return fail(p, n, "keys must be a list of keys, got %s", kind_name(n));
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    if (p->c->nkeys >= CONF_MAX_KEYS)
      return fail(p, node(p, *it), "more than %d keys", CONF_MAX_KEYS);
    if (parse_key(p, node(p, *it), "a key", WD_SCHEME_NONE, &p->c->keys[p->c->nkeys]))
      return -1;
    p->c->nkeys++;
  }
  return 0;
}

/* ---------------------------------------------------------------- listeners, proxies */

int conf_parse_address(const char *s, char *host, size_t hostcap, char *port, size_t portcap,
                       int *tls) {
  *tls = 0;
  if (!strncasecmp(s, "https://", 8)) {
    *tls = 1;
    s += 8;
  } else if (!strncasecmp(s, "http://", 7)) {
    s += 7;
  }
  const char *colon;
  const char *h = s;
  size_t hl;
  if (*s == '[') {
    const char *rb = strchr(s, ']');
    if (!rb || rb[1] != ':')
      return -1;
    h = s + 1;
    hl = (size_t)(rb - h);
    colon = rb + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon || memchr(s, ':', (size_t)(colon - s)))
      return -1;
    hl = (size_t)(colon - s);
  }
  const char *pt = colon + 1;
  size_t pl = strlen(pt);
  if (pl && pt[pl - 1] == '/')
    pl--;
  if (hl == 0 || hl >= hostcap || pl == 0 || pl >= portcap)
    return -1;
  long v = 0;
  for (size_t i = 0; i < pl; i++) {
    if (!isdigit((unsigned char)pt[i]))
      return -1;
    v = v * 10 + (pt[i] - '0');
    if (v > 65535)
      return -1;
  }
  for (size_t i = 0; i < hl; i++)
    if (!isalnum((unsigned char)h[i]) && !strchr(".-:_%", h[i]))
      return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  memcpy(port, pt, pl);
  port[pl] = '\0';
  return 0;
}

static int add_listen(conf_t *c, const char *s, int line, char *msg, size_t msglen) {
  char host[256], port[8];
  int tls;
  if (c->nlisten >= CONF_MAX_LISTEN) {
    snprintf(msg, msglen, "more than %d listen addresses", CONF_MAX_LISTEN);
    return -1;
  }
  if (conf_parse_address(s, host, sizeof host, port, sizeof port, &tls)) {
    snprintf(msg, msglen,
             "listen address '%s' is not HOST:PORT (like 127.0.0.1:8080, [::1]:8080 or "
             "https://0.0.0.0:8443)",
             s);
    return -1;
  }
  conf_listen_t *l = &c->listen[c->nlisten];
  l->host = conf_strdup(c, host);
  l->port = conf_strdup(c, port);
  l->tls = tls;
  l->line = line;
  if (!l->host || !l->port) {
    snprintf(msg, msglen, "out of memory");
    return -1;
  }
  c->nlisten++;
  return 0;
}

static int parse_listen(P *p, yaml_node_t *n) {
  char *items[CONF_MAX_LISTEN];
  size_t k;
  char msg[200];
  if (get_list(p, n, "listen", CONF_MAX_LISTEN, items, &k))
    return -1;
  if (k == 0)
    return fail(p, n, "listen needs at least one HOST:PORT");
  p->c->nlisten = 0;
  for (size_t i = 0; i < k; i++) {
    yaml_node_t *e = n->type == YAML_SEQUENCE_NODE ? node(p, n->data.sequence.items.start[i]) : n;
    if (add_listen(p->c, items[i], line_of(e), msg, sizeof msg))
      return fail(p, e, "%s", msg);
  }
  return 0;
}

int conf_add_listen_arg(conf_t *c, const char *arg, int first, char *err, size_t errlen) {
  if (first)
    c->nlisten = 0;
  char msg[200];
  if (add_listen(c, arg, 0, msg, sizeof msg)) {
    snprintf(err, errlen, "--listen: %s", msg);
    return -1;
  }
  return 0;
}

static int parse_prefix(const char *s, conf_prefix_t *out) {
  return wd_cidr_parse(s, strlen(s), &out->net, &out->plen);
}

static int parse_proxies(P *p, yaml_node_t *n) {
  char *items[CONF_MAX_PROXIES];
  size_t k;
  if (get_list(p, n, "trusted_proxies", CONF_MAX_PROXIES, items, &k))
    return -1;
  for (size_t i = 0; i < k; i++) {
    yaml_node_t *e = n->type == YAML_SEQUENCE_NODE ? node(p, n->data.sequence.items.start[i]) : n;
    if (parse_prefix(items[i], &p->c->trusted[i]))
      return fail(p, e, "trusted proxy '%s' is not an address or prefix (like 10.0.0.0/8 or ::1)",
                  items[i]);
  }
  p->c->ntrusted = k;
  return 0;
}

int conf_is_trusted(const conf_t *c, const char *ip) {
  wd_ip_t a;
  if (!ip || wd_ip_parse(ip, strlen(ip), &a))
    return 0;
  for (size_t i = 0; i < c->ntrusted; i++)
    if (wd_ip_in_prefix(&a, c->trusted[i].net.family, c->trusted[i].net.a, 16, c->trusted[i].plen))
      return 1;
  return 0;
}

/* ---------------------------------------------------------------- policies */

static int valid_policy_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
      return 0;
  return 1;
}

static int valid_host_pattern(const char *s) {
  if (s[0] == '*' && s[1] == '.')
    s += 2;
  if (!*s)
    return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr(".-_:[]", *s))
      return 0;
  return 1;
}

/* Lists that end up as const char *const * in wd_verify_opts_t. */
static int get_names_array(P *p, yaml_node_t *n, const char *what, const char *const **arr,
                           size_t *count) {
  char **items = arena_alloc(p->c, sizeof(char *) * CONF_MAX_NAMES);
  if (!items)
    return fail(p, n, "out of memory");
  if (get_list(p, n, what, CONF_MAX_NAMES, items, count))
    return -1;
  *arr = (const char *const *)items;
  return 0;
}

static int parse_verify_cat(P *p, yaml_node_t *n, wd_cat_opts_t *o) {
  if (expect_map(p, n, "verify.cat",
                 "issuers, audiences, unknown, labels, stem_first_dot, port_explicit, "
                 "sha512_256_full, allow_text_payload, renew, query_param, header_name, cookie_name"))
    return -1;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0, b;
    const char *s = scalar(v);
    if (!strcmp(key, "issuers")) {
      rc = get_names_array(p, v, "verify.cat.issuers", &o->issuers, &o->nissuers);
    } else if (!strcmp(key, "audiences")) {
      rc = get_names_array(p, v, "verify.cat.audiences", &o->audiences, &o->naudiences);
    } else if (!strcmp(key, "unknown")) {
      if (s && !strcmp(s, "default"))
        o->unknown = WD_CAT_UNKNOWN_DEFAULT;
      else if (s && !strcmp(s, "strict"))
        o->unknown = WD_CAT_UNKNOWN_STRICT;
      else if (s && !strcmp(s, "lenient"))
        o->unknown = WD_CAT_UNKNOWN_LENIENT;
      else
        rc = fail(p, v, "unknown claims handling '%s' (expected one of default, strict, lenient)",
                  s ? s : kind_name(v));
    } else if (!strcmp(key, "labels")) {
      if (s && !strcmp(s, "default"))
        o->labels = WD_CAT_LABELS_DEFAULT;
      else if (s && !strcmp(s, "akamai"))
        o->labels = WD_CAT_LABELS_AKAMAI;
      else if (s && !strcmp(s, "draft"))
        o->labels = WD_CAT_LABELS_DRAFT;
      else
        rc = fail(p, v, "composite labels '%s' (expected one of default, akamai, draft)",
                  s ? s : kind_name(v));
    } else if (!strcmp(key, "stem_first_dot")) {
      rc = get_bool(p, v, key, &o->stem_first_dot);
    } else if (!strcmp(key, "port_explicit")) {
      rc = get_bool(p, v, key, &o->port_explicit);
    } else if (!strcmp(key, "sha512_256_full")) {
      rc = get_bool(p, v, key, &o->sha512_256_full);
    } else if (!strcmp(key, "allow_text_payload")) {
      rc = get_bool(p, v, key, &o->allow_text_payload);
    } else if (!strcmp(key, "renew")) {
      rc = get_bool(p, v, key, &b);
      o->no_renew = !b;
    } else if (!strcmp(key, "query_param")) {
      rc = get_name(p, v, key, 64, (char **)&o->query_param);
    } else if (!strcmp(key, "header_name")) {
      rc = get_name(p, v, key, 64, (char **)&o->header_name);
    } else if (!strcmp(key, "cookie_name")) {
      rc = get_name(p, v, key, 64, (char **)&o->cookie_name);
    }
    if (rc)
      return -1;
  }
  return 0;
}

static int parse_verify_jwt(P *p, yaml_node_t *n, wd_jwt_opts_t *o) {
  if (expect_map(p, n, "verify.jwt",
                 "issuers, audiences, bind_ip, bind_ua, bind_path, query_param, cookie_name"))
    return -1;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0, b;
    if (!strcmp(key, "issuers")) {
      rc = get_names_array(p, v, "verify.jwt.issuers", &o->issuers, &o->nissuers);
    } else if (!strcmp(key, "audiences")) {
      rc = get_names_array(p, v, "verify.jwt.audiences", &o->audiences, &o->naudiences);
    } else if (!strcmp(key, "bind_ip")) {
      rc = get_bool(p, v, key, &b);
      o->no_bind_ip = !b;
    } else if (!strcmp(key, "bind_ua")) {
      rc = get_bool(p, v, key, &b);
      o->no_bind_ua = !b;
    } else if (!strcmp(key, "bind_path")) {
      rc = get_bool(p, v, key, &b);
      o->no_bind_path = !b;
    } else if (!strcmp(key, "query_param")) {
      rc = get_name(p, v, key, 64, (char **)&o->query_param);
    } else if (!strcmp(key, "cookie_name")) {
      rc = get_name(p, v, key, 64, (char **)&o->cookie_name);
    }
    if (rc)
      return -1;
  }
  return 0;
}

static int parse_verify_akamai(P *p, yaml_node_t *n, wd_akamai_opts_t *o) {
  if (expect_map(p, n, "verify.akamai",
                 "name, escape_early, escape, field_delimiter, acl_delimiter, salt"))
    return -1;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    const char *s = scalar(v);
    if (!strcmp(key, "name")) {
      rc = get_name(p, v, key, 64, (char **)&o->name);
    } else if (!strcmp(key, "escape_early")) {
      rc = get_bool(p, v, key, &o->escape_early);
    } else if (!strcmp(key, "escape")) {
      if (s && !strcmp(s, "node"))
        o->escape = WD_AKAMAI_ESCAPE_NODE;
      else if (s && !strcmp(s, "python"))
        o->escape = WD_AKAMAI_ESCAPE_PYTHON;
      else if (s && !strcmp(s, "off"))
        o->escape = WD_AKAMAI_ESCAPE_OFF;
      else
        rc = fail(p, v, "akamai escape '%s' (expected one of node, python, off)",
                  s ? s : kind_name(v));
    } else if (!strcmp(key, "field_delimiter")) {
      rc = get_name(p, v, key, 8, (char **)&o->field_delimiter);
    } else if (!strcmp(key, "acl_delimiter")) {
      rc = get_name(p, v, key, 8, (char **)&o->acl_delimiter);
    } else if (!strcmp(key, "salt")) {
      rc = get_name(p, v, key, 256, (char **)&o->salt);
    }
    if (rc)
      return -1;
  }
  return 0;
}

static int parse_verify_securelink(P *p, yaml_node_t *n, wd_securelink_opts_t *o) {
  if (expect_map(p, n, "verify.securelink",
                 "template, style, md5_param, expires_param, directory_scope"))
    return -1;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    const char *s = scalar(v);
    if (!strcmp(key, "template")) {
      rc = get_name(p, v, key, 512, (char **)&o->template_str);
      if (!rc && !strstr(o->template_str, "$secret"))
        rc = fail(p, v, "the securelink template must contain $secret");
    } else if (!strcmp(key, "style")) {
      if (s && !strcmp(s, "nginx"))
        o->style = WD_SECURELINK_NGINX;
      else if (s && !strcmp(s, "cdn77"))
        o->style = WD_SECURELINK_CDN77;
      else
        rc = fail(p, v, "securelink style '%s' (expected one of nginx, cdn77)",
                  s ? s : kind_name(v));
    } else if (!strcmp(key, "md5_param")) {
      rc = get_name(p, v, key, 64, (char **)&o->md5_param);
    } else if (!strcmp(key, "expires_param")) {
      rc = get_name(p, v, key, 64, (char **)&o->expires_param);
    } else if (!strcmp(key, "directory_scope")) {
      rc = get_bool(p, v, key, &o->directory_scope);
    }
    if (rc)
      return -1;
  }
  return 0;
}

static int parse_verify(P *p, yaml_node_t *n, wd_verify_opts_t *o) {
  if (expect_map(p, n, "verify", "leeway, cat, jwt, akamai, securelink, cloudfront, bunny"))
    return -1;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    long long ll;
    if (!strcmp(key, "leeway")) {
      rc = get_int(p, v, "verify.leeway", 0, 86400, &ll);
      o->leeway = ll;
    } else if (!strcmp(key, "cat")) {
      rc = parse_verify_cat(p, v, &o->cat);
    } else if (!strcmp(key, "jwt")) {
      rc = parse_verify_jwt(p, v, &o->jwt);
    } else if (!strcmp(key, "akamai")) {
      rc = parse_verify_akamai(p, v, &o->akamai);
    } else if (!strcmp(key, "securelink")) {
      rc = parse_verify_securelink(p, v, &o->securelink);
    } else if (!strcmp(key, "cloudfront")) {
      if (expect_map(p, v, "verify.cloudfront", "origin"))
        return -1;
      FOR_PAIRS(p, v, k2, v2) {
        if (!rc && !strcmp(k2, "origin"))
          rc = get_name(p, v2, "verify.cloudfront.origin", 256, (char **)&o->cloudfront.origin);
      }
    } else if (!strcmp(key, "bunny")) {
      if (expect_map(p, v, "verify.bunny", "token_path, ignore_params"))
        return -1;
      FOR_PAIRS(p, v, k2, v2) {
        if (rc)
          break;
        if (!strcmp(k2, "token_path"))
          rc = get_name(p, v2, "verify.bunny.token_path", 1024, (char **)&o->bunny.token_path);
        else if (!strcmp(k2, "ignore_params"))
          rc = get_bool(p, v2, "verify.bunny.ignore_params", &o->bunny.ignore_params);
      }
    }
    if (rc)
      return -1;
  }
  return 0;
}

static void reasons_expected(char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = '\0';
  for (int r = 0; r < WD_REASON_COUNT && k < cap; r++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%s", r ? ", " : "", wd_reason_name((wd_reason_t)r));
}

static const char *const ACTIONS_EXPECTED =
    "allow, block, throttle, substitute, redirect, callout, renew";

static int parse_action_spec(P *p, yaml_node_t *n, const char *reason, wd_action_spec_t *spec) {
  const char *s = scalar(n);
  yaml_node_t *anode = n;
  char what[64];
  snprintf(what, sizeof what, "actions.%s", reason);
  memset(spec, 0, sizeof *spec);
  if (!s) {
    if (expect_map(p, n, what, "action, status, target, rate"))
      return -1;
    anode = NULL;
    FOR_PAIRS(p, n, key, v) {
      long long ll;
      uint64_t u;
      if (!strcmp(key, "action")) {
        anode = v;
      } else if (!strcmp(key, "status")) {
        if (get_int(p, v, "status", 200, 599, &ll))
          return -1;
        spec->status = (int)ll;
      } else if (!strcmp(key, "target")) {
        if (get_name(p, v, "target", 2048, &spec->target))
          return -1;
      } else if (!strcmp(key, "rate")) {
        if (get_size(p, v, "rate (bytes per second)", 1, UINT64_MAX >> 1, &u))
          return -1;
        spec->rate = u;
      }
    }
    if (!anode)
      return fail(p, n, "%s needs 'action' (one of %s)", what, ACTIONS_EXPECTED);
    s = scalar(anode);
  }
  if (!s || wd_action_parse(s, &spec->action))
    return fail(p, anode, "unknown action '%s' (expected one of %s)", s ? s : kind_name(anode),
                ACTIONS_EXPECTED);
  switch (spec->action) {
  case WD_ACT_REDIRECT:
  case WD_ACT_SUBSTITUTE:
  case WD_ACT_CALLOUT:
    if (!spec->target)
      return fail(p, n, "%s: action %s needs a 'target' (the asset URL or path to serve)", what,
                  s);
    if (spec->action == WD_ACT_REDIRECT && spec->status &&
        (spec->status < 300 || spec->status > 399))
      return fail(p, n, "%s: a redirect status must be 3xx, got %d", what, spec->status);
    break;
  case WD_ACT_THROTTLE:
    if (!spec->rate)
      return fail(p, n, "%s: action throttle needs a 'rate' in bytes per second (like 500K)",
                  what);
    break;
  case WD_ACT_BLOCK:
    if (spec->status && spec->status < 400)
      return fail(p, n, "%s: a block status must be 4xx or 5xx, got %d", what, spec->status);
    break;
  default:
    break;
  }
  return 0;
}

static int parse_actions(P *p, yaml_node_t *n, wd_policy_t *pol) {
  char expected[256];
  reasons_expected(expected, sizeof expected);
  if (n->type != YAML_MAPPING_NODE)
    return fail(p, n, "actions must map a reason (%s) to an action", expected);
  FOR_PAIRS(p, n, key, v) {
    wd_reason_t r;
    if (wd_reason_parse(key, &r))
      return fail(p, node(p, key_pr->key), "unknown reason '%s' (expected one of %s)", key, expected);
    for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < key_pr; b++)
      if (!strcmp(scalar(node(p, b->key)), key))
        return fail(p, node(p, key_pr->key), "reason '%s' appears twice in actions (keep one)", key);
    if (parse_action_spec(p, v, key, &pol->on[r]))
      return -1;
  }
  return 0;
}

static int country_ok(char *s) {
  size_t n = strlen(s);
  if (n != 2 && !(n > 3 && n <= 6 && s[2] == '-'))
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 2)
      continue;
    if (!isalnum((unsigned char)s[i]) || (i < 2 && !isalpha((unsigned char)s[i])))
      return 0;
    s[i] = (char)toupper((unsigned char)s[i]);
  }
  return 1;
}

static int parse_countries(P *p, yaml_node_t *n, const char *what, char **arr, size_t *count) {
  if (get_list(p, n, what, WD_POLICY_MAX_LIST, arr, count))
    return -1;
  for (size_t i = 0; i < *count; i++)
    if (!country_ok(arr[i]))
      return fail(p, n, "%s: '%s' is not an ISO 3166 country code (like SE or US-CA)", what,
                  arr[i]);
  return 0;
}

static const char *const POLICY_KEYS =
    "name, host, path_prefix, schemes, mode, verify, actions, countries_allow, countries_deny, "
    "referers_allow, bind_user_agent, ip_allow, require_token, detection, ban_shared";

static int parse_policy(P *p, yaml_node_t *n, wd_policy_t *pol) {
  if (expect_map(p, n, "a policy", POLICY_KEYS))
    return -1;
  wd_policy_init(pol);
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    const char *s = scalar(v);
    if (!strcmp(key, "name")) {
      rc = get_str(p, v, "name", &pol->name);
      if (!rc && !valid_policy_name(pol->name))
        rc = fail(p, v, "policy name '%s' must be 1 to 64 letters, digits, '.', '_' or '-'",
                  pol->name);
    } else if (!strcmp(key, "host")) {
      rc = get_name(p, v, "host", 255, &pol->host);
      if (!rc && !strcmp(pol->host, "*"))
        pol->host = NULL;
      else if (!rc && !valid_host_pattern(pol->host))
        rc = fail(p, v, "host '%s' must be a host name or '*.domain'", pol->host);
    } else if (!strcmp(key, "path_prefix")) {
      rc = get_name(p, v, "path_prefix", 1024, &pol->path_prefix);
      if (!rc && pol->path_prefix[0] != '/')
        rc = fail(p, v, "path_prefix '%s' must start with '/'", pol->path_prefix);
    } else if (!strcmp(key, "schemes")) {
      char *items[WD_POLICY_MAX_SCHEMES + 1];
      size_t k;
      rc = get_list(p, v, "schemes", WD_POLICY_MAX_SCHEMES, items, &k);
      for (size_t i = 0; !rc && i < k; i++) {
        yaml_node_t *e = v->type == YAML_SEQUENCE_NODE ? node(p, v->data.sequence.items.start[i]) : v;
        if (wd_scheme_parse(items[i], &pol->schemes[i]) || pol->schemes[i] == WD_SCHEME_NONE)
          rc = fail(p, e, "unknown scheme '%s' (expected one of %s)", items[i], SCHEMES_EXPECTED);
        for (size_t j = 0; !rc && j < i; j++)
          if (pol->schemes[j] == pol->schemes[i])
            rc = fail(p, e, "scheme '%s' is listed twice", items[i]);
      }
      pol->nschemes = rc ? 0 : k;
    } else if (!strcmp(key, "mode")) {
      wd_mode_t m;
      if (!s || wd_mode_parse(s, &m))
        rc = fail(p, v, "unknown mode '%s' (expected one of monitor, moderate, automate)",
                  s ? s : kind_name(v));
      else
        wd_policy_set_mode(pol, m);
    } else if (!strcmp(key, "verify")) {
      rc = parse_verify(p, v, &pol->verify);
    } else if (!strcmp(key, "actions")) {
      rc = parse_actions(p, v, pol);
    } else if (!strcmp(key, "countries_allow")) {
      rc = parse_countries(p, v, "countries_allow", pol->countries_allow, &pol->ncountries_allow);
    } else if (!strcmp(key, "countries_deny")) {
      rc = parse_countries(p, v, "countries_deny", pol->countries_deny, &pol->ncountries_deny);
    } else if (!strcmp(key, "referers_allow")) {
      rc = get_list(p, v, "referers_allow", WD_POLICY_MAX_LIST, pol->referers_allow,
                    &pol->nreferers_allow);
      for (size_t i = 0; !rc && i < pol->nreferers_allow; i++)
        if (!valid_host_pattern(pol->referers_allow[i]))
          rc = fail(p, v, "referers_allow: '%s' must be a host name or '*.domain'",
                    pol->referers_allow[i]);
    } else if (!strcmp(key, "bind_user_agent")) {
      rc = get_bool(p, v, key, &pol->bind_user_agent);
    } else if (!strcmp(key, "ip_allow")) {
      rc = get_list(p, v, "ip_allow", WD_POLICY_MAX_LIST, pol->ip_allow, &pol->nip_allow);
      for (size_t i = 0; !rc && i < pol->nip_allow; i++) {
        conf_prefix_t pf;
        if (parse_prefix(pol->ip_allow[i], &pf))
          rc = fail(p, v, "ip_allow: '%s' is not an address or prefix (like 203.0.113.0/24)",
                    pol->ip_allow[i]);
      }
    } else if (!strcmp(key, "require_token")) {
      rc = get_bool(p, v, key, &pol->require_token);
    } else if (!strcmp(key, "ban_shared")) {
      rc = get_bool(p, v, key, &pol->ban_shared);
    } else if (!strcmp(key, "detection")) {
      int on = 1;
      if (v->type == YAML_SCALAR_NODE) {
        rc = get_bool(p, v, "detection", &on);
        if (!rc && on)
          rc = fail(p, v, "a policy's detection is on by default; give a mapping of thresholds, "
                          "or false");
        p->c->policy_detect[p->cur_policy] = CONF_DETECT_OFF;
      } else {
        p->policy_detect[p->cur_policy] = v; /* over the top-level values, at the end */
        p->c->policy_detect[p->cur_policy] = CONF_DETECT_OWN;
      }
    }
    if (rc)
      return -1;
  }
  if (!pol->name)
    return fail(p, n, "a policy needs a 'name'");
  return 0;
}

static int parse_policies(P *p, yaml_node_t *n) {
  if (n->type != YAML_SEQUENCE_NODE)
    return fail(p, n, "policies must be a list of policies, got %s", kind_name(n));
  size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (count == 0)
    return fail(p, n, "policies is empty: add at least one policy");
  if (count > CONF_MAX_POLICIES)
    return fail(p, n, "more than %d policies", CONF_MAX_POLICIES);
  p->c->policies = arena_alloc(p->c, sizeof(wd_policy_t) * count);
  if (!p->c->policies)
    return fail(p, n, "out of memory");
  p->c->npolicies = 0;
  for (size_t i = 0; i < count; i++) {
    yaml_node_t *e = node(p, n->data.sequence.items.start[i]);
    p->cur_policy = i;
    if (parse_policy(p, e, &p->c->policies[i]))
      return -1;
    for (size_t j = 0; j < i; j++)
      if (!strcmp(p->c->policies[j].name, p->c->policies[i].name))
        return fail(p, e, "policy name '%s' is used twice (names must be unique)",
                    p->c->policies[i].name);
    p->c->policy_lines[i] = line_of(e);
    p->c->npolicies = i + 1;
  }
  return 0;
}

/* ---------------------------------------------------------------- token API, log, limits */

static const char *const TOKEN_API_KEYS =
    "scheme, url, url_ip, viewer_key, viewer_keys, viewer_issuers, viewer_audiences, "
    "default_expire, max_expire, path_prefix, scope, query_param, template, template_ip, "
    "cat_renewal";

static int parse_token_api(P *p, yaml_node_t *n) {
  conf_token_api_t *t = &p->c->token_api;
  if (expect_map(p, n, "token_api", TOKEN_API_KEYS))
    return -1;
  t->enabled = 1;
  t->line = line_of(n);
  yaml_node_t *schemenode = NULL;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    long long ll;
    const char *s = scalar(v);
    if (!strcmp(key, "scheme")) {
      schemenode = v;
      rc = get_scheme(p, v, key, &t->scheme);
    } else if (!strcmp(key, "url") || !strcmp(key, "url_ip")) {
      char **dst = !strcmp(key, "url") ? &t->url : &t->url_ip;
      rc = get_name(p, v, key, 1024, dst);
      if (!rc && strncmp(*dst, "http://", 7) && strncmp(*dst, "https://", 8))
        rc = fail(p, v, "token_api.%s '%s' must start with http:// or https://", key, *dst);
      if (!rc) {
        size_t l = strlen(*dst);
        while (l > 8 && (*dst)[l - 1] == '/')
          (*dst)[--l] = '\0';
      }
    } else if (!strcmp(key, "viewer_key")) {
      if (t->nviewer_keys)
        rc = fail(p, v, "give either viewer_key or viewer_keys");
      else if (!(rc = parse_key(p, v, "token_api.viewer_key", WD_SCHEME_JWT, &t->viewer_keys[0])))
        t->nviewer_keys = 1;
    } else if (!strcmp(key, "viewer_keys")) {
      if (t->nviewer_keys)
        rc = fail(p, v, "give either viewer_key or viewer_keys");
      else if (v->type != YAML_SEQUENCE_NODE)
        rc = fail(p, v, "viewer_keys must be a list of keys");
      for (yaml_node_item_t *it = v->data.sequence.items.start;
           !rc && v->type == YAML_SEQUENCE_NODE && it < v->data.sequence.items.top; it++) {
        if (t->nviewer_keys >= sizeof t->viewer_keys / sizeof *t->viewer_keys)
          rc = fail(p, node(p, *it), "more than 8 viewer keys");
        else
          rc = parse_key(p, node(p, *it), "a viewer key", WD_SCHEME_JWT,
                         &t->viewer_keys[t->nviewer_keys++]);
      }
    } else if (!strcmp(key, "viewer_issuers")) {
      rc = get_list(p, v, key, CONF_MAX_NAMES, (char **)t->viewer_issuers, &t->nviewer_issuers);
    } else if (!strcmp(key, "viewer_audiences")) {
      rc = get_list(p, v, key, CONF_MAX_NAMES, (char **)t->viewer_audiences,
                    &t->nviewer_audiences);
    } else if (!strcmp(key, "default_expire")) {
      rc = get_int(p, v, "token_api.default_expire", 1, 31 * 86400, &ll);
      t->default_expire = ll;
    } else if (!strcmp(key, "max_expire")) {
      rc = get_int(p, v, "token_api.max_expire", 1, 366 * 86400, &ll);
      t->max_expire = ll;
    } else if (!strcmp(key, "path_prefix")) {
      rc = get_name(p, v, key, 1024, &t->path_prefix);
      if (!rc && t->path_prefix[0] != '/')
        rc = fail(p, v, "token_api.path_prefix must start with '/'");
    } else if (!strcmp(key, "scope")) {
      if (s && !strcmp(s, "directory"))
        t->scope_directory = 1;
      else if (s && !strcmp(s, "path"))
        t->scope_directory = 0;
      else
        rc = fail(p, v, "token_api.scope '%s' (expected one of directory, path)",
                  s ? s : kind_name(v));
    } else if (!strcmp(key, "query_param")) {
      rc = get_name(p, v, key, 64, &t->query_param);
    } else if (!strcmp(key, "cat_renewal")) {
      if (expect_map(p, v, "token_api.cat_renewal", "type, expadd, deadline"))
        return -1;
      t->catr_expadd = 0;
      t->catr_deadline = 0;
      FOR_PAIRS(p, v, k2, v2) {
        if (!strcmp(k2, "type")) {
          const char *ty = scalar(v2);
          if (!ty || (strcmp(ty, "header") && strcmp(ty, "cookie") && strcmp(ty, "redirect") &&
                      strcmp(ty, "automatic")))
            return fail(p, v2,
                        "token_api.cat_renewal.type '%s' (expected one of header, cookie, "
                        "redirect, automatic)",
                        ty ? ty : kind_name(v2));
          t->catr_type = conf_strdup(p->c, ty);
        } else if (!strcmp(k2, "expadd")) {
          if (get_int(p, v2, "token_api.cat_renewal.expadd", 1, 31 * 86400, &ll))
            return -1;
          t->catr_expadd = ll;
        } else if (get_int(p, v2, "token_api.cat_renewal.deadline", 0, 31 * 86400, &ll)) {
          return -1;
        } else {
          t->catr_deadline = ll;
        }
      }
      if (!t->catr_type || !t->catr_expadd)
        rc = fail(p, v, "token_api.cat_renewal needs 'type' and 'expadd' (seconds a renewed "
                        "token lives)");
    } else if (!strcmp(key, "template") || !strcmp(key, "template_ip")) {
      char **dst = !strcmp(key, "template") ? &t->template_str : &t->template_ip;
      rc = get_name(p, v, key, 512, dst);
      if (!rc && !strstr(*dst, "$secret"))
        rc = fail(p, v, "token_api.%s must contain $secret", key);
      if (!rc && !strcmp(key, "template_ip") && !strstr(*dst, "$remote_addr"))
        rc = fail(p, v, "token_api.template_ip must contain $remote_addr (the viewer's address)");
    }
    if (rc)
      return -1;
  }
  if (!schemenode)
    return fail(p, n, "token_api needs 'scheme' (one of %s)", SCHEMES_EXPECTED);
  if (t->nviewer_keys == 0)
    return fail(p, n,
                "token_api needs viewer_key: the key that verifies the viewer's login JWT "
                "(without it no viewer could be authorized)");
  if (t->default_expire > t->max_expire)
    t->default_expire = t->max_expire;
  if (t->catr_type && t->scheme != WD_SCHEME_CAT)
    return fail(p, n, "token_api.cat_renewal is for scheme cat (this token API issues %s tokens)",
                wd_scheme_name(t->scheme));
  return 0;
}

/* ---------------------------------------------------------------- content keys */

/* 16 key bytes from hex text (32 digits, surrounding whitespace ignored) or, for a file, 16 raw
 * bytes. 0, or -1 with msg. */
static int content_key_bytes(const char *v, size_t n, int raw_ok, unsigned char out[16],
                             char *msg, size_t msglen) {
  if (raw_ok && n == 16) {
    memcpy(out, v, 16);
    return 0;
  }
  while (n && isspace((unsigned char)v[n - 1]))
    n--;
  while (n && isspace((unsigned char)*v))
    v++, n--;
  size_t got = 0;
  if (n != 32 || !is_hex(v, n) || wd_hex_decode(v, n, out, 16, &got) || got != 16) {
    snprintf(msg, msglen, "an AES-128 key is 32 hex digits%s", raw_ok ? " or 16 raw bytes" : "");
    return -1;
  }
  return 0;
}

static const char *const CONTENT_KEY_KEYS = "id, path, host, value, env, file";

static int parse_content_key(P *p, yaml_node_t *n, conf_content_key_t *k) {
  if (expect_map(p, n, "a content key", CONTENT_KEY_KEYS))
    return -1;
  k->line = line_of(n);
  yaml_node_t *src = NULL;
  const char *srckind = NULL;
  int nsrc = 0;
  char msg[128];
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    if (!strcmp(key, "id")) {
      rc = get_name(p, v, "content key id", 64, &k->id);
      if (!rc && !valid_policy_name(k->id))
        rc = fail(p, v, "content key id '%s' must be 1 to 64 letters, digits, '.', '_' or '-'",
                  k->id);
    } else if (!strcmp(key, "path")) {
      rc = get_name(p, v, "content key path", 1024, &k->path);
      if (!rc && k->path[0] != '/')
        rc = fail(p, v, "content key path '%s' must start with '/' (the stream's path, like "
                        "/live/ch1/)", k->path);
      for (const char *c = k->path; !rc && *c; c++)
        if (*c == '?' || *c == '#' || *c == ' ')
          rc = fail(p, v, "content key path '%s' must be a path without query or spaces", k->path);
    } else if (!strcmp(key, "host")) {
      rc = get_name(p, v, "content key host", 255, &k->host);
    } else { /* value, env, file */
      src = v;
      srckind = key;
      nsrc++;
    }
    if (rc)
      return -1;
  }
  if (!k->id)
    return fail(p, n, "a content key needs 'id' (the <id> of /v1/key/<id>)");
  if (!k->path)
    return fail(p, n, "content key %s needs 'path': the stream path its tokens cover, like "
                      "/live/ch1/", k->id);
  if (nsrc != 1)
    return fail(p, src ? src : n, "content key %s needs exactly one of 'value', 'env' or 'file'",
                k->id);
  char *tmp = NULL;
  if (!strcmp(srckind, "value")) {
    const char *v = scalar(src);
    if (!v)
      return fail(p, src, "content key value must be a single value, got %s", kind_name(src));
    if (content_key_bytes(v, strlen(v), 0, k->key, msg, sizeof msg))
      return fail(p, src, "content key value: %s", msg);
    k->source = conf_strdup(p->c, "value");
  } else if (!strcmp(srckind, "env")) {
    if (get_name(p, src, "env", 128, &tmp))
      return -1;
    const char *ev = getenv(tmp);
    if (!ev || !*ev)
      return fail(p, src, "environment variable %s is not set (export it or use 'file')", tmp);
    if (content_key_bytes(ev, strlen(ev), 0, k->key, msg, sizeof msg))
      return fail(p, src, "content key (env %s): %s", tmp, msg);
    snprintf(msg, sizeof msg, "env %s", tmp);
    k->source = conf_strdup(p->c, msg);
  } else {
    if (get_name(p, src, "file", 4096, &tmp))
      return -1;
    size_t len;
    char *text = read_text_file(tmp, 256, &len);
    if (!text)
      return fail(p, src, "cannot read content key file '%s': %s", tmp,
                  errno == EFBIG ? "over 256 bytes" : strerror(errno));
    int rc = content_key_bytes(text, len, 1, k->key, msg, sizeof msg);
    memset(text, 0, len);
    free(text);
    if (rc)
      return fail(p, src, "content key file '%s': %s", tmp, msg);
    snprintf(msg, sizeof msg, "file %s", tmp);
    k->source = conf_strdup(p->c, msg);
  }
  if (!k->source)
    return fail(p, n, "out of memory");
  return 0;
}

static int parse_content_keys(P *p, yaml_node_t *n) {
  conf_t *c = p->c;
  if (n->type != YAML_SEQUENCE_NODE)
    return fail(p, n, "content_keys must be a list of keys, got %s", kind_name(n));
  size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (count > CONF_MAX_CONTENT_KEYS)
    return fail(p, n, "more than %d content keys", CONF_MAX_CONTENT_KEYS);
  c->content_keys = count ? arena_alloc(c, count * sizeof *c->content_keys) : NULL;
  if (count && !c->content_keys)
    return fail(p, n, "out of memory");
  c->ncontent_keys = 0;
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    conf_content_key_t *k = &c->content_keys[c->ncontent_keys];
    if (parse_content_key(p, node(p, *it), k))
      return -1;
    for (size_t i = 0; i < c->ncontent_keys; i++)
      if (!strcmp(c->content_keys[i].id, k->id))
        return fail(p, node(p, *it), "content key id '%s' appears twice (line %d)", k->id,
                    c->content_keys[i].line);
    c->ncontent_keys++;
  }
  return 0;
}

static int parse_declog(P *p, yaml_node_t *n) {
  conf_declog_t *d = &p->c->declog;
  if (n->type == YAML_SCALAR_NODE) {
    int on;
    if (get_bool(p, n, "decision_log", &on))
      return -1;
    if (!on)
      d->path = NULL;
    return 0;
  }
  if (expect_map(p, n, "decision_log", "path, sample, rotate_size, keep, queue_size"))
    return -1;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    long long ll;
    uint64_t u;
    if (!strcmp(key, "path")) {
      rc = get_str(p, v, "decision_log.path", &d->path);
      if (!rc && !d->path[0])
        d->path = NULL;
    } else if (!strcmp(key, "sample")) {
      const char *s = scalar(v);
      char *end;
      double x = s ? strtod(s, &end) : -1;
      if (!s || !*s || *end || !(x >= 0 && x <= 1))
        rc = fail(p, v, "decision_log.sample must be a fraction from 0 to 1, got '%s'",
                  s ? s : kind_name(v));
      d->sample = x;
    } else if (!strcmp(key, "rotate_size")) {
      rc = get_size(p, v, "decision_log.rotate_size", 4096, UINT64_MAX >> 1, &d->rotate_bytes);
    } else if (!strcmp(key, "keep")) {
      rc = get_int(p, v, "decision_log.keep", 0, 1000, &ll);
      d->keep = (int)ll;
    } else if (!strcmp(key, "queue_size")) {
      rc = get_size(p, v, "decision_log.queue_size", 65536, 1ull << 30, &u);
      d->queue_bytes = (size_t)u;
    }
    if (rc)
      return -1;
  }
  return 0;
}

static int parse_limits(P *p, yaml_node_t *n) {
  conf_limits_t *l = &p->c->limits;
  if (expect_map(p, n, "limits",
                 "max_body, max_header_bytes, max_url, max_connections, max_pending_bans, "
                 "http2_max_concurrent, idle_timeout"))
    return -1;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    long long ll = 0;
    uint64_t u = 0;
    if (!strcmp(key, "max_body")) {
      rc = get_size(p, v, "limits.max_body", 1024, 16u << 20, &u);
      l->max_body = (size_t)u;
    } else if (!strcmp(key, "max_header_bytes")) {
      rc = get_size(p, v, "limits.max_header_bytes", 1024, 256u << 10, &u);
      l->max_header_bytes = (size_t)u;
    } else if (!strcmp(key, "max_url")) {
      rc = get_size(p, v, "limits.max_url", 256, 64u << 10, &u);
      l->max_url = (size_t)u;
    } else if (!strcmp(key, "max_connections")) {
      rc = get_int(p, v, "limits.max_connections", 1, 1000000, &ll);
      l->max_connections = (int)ll;
    } else if (!strcmp(key, "max_pending_bans")) {
      rc = get_int(p, v, "limits.max_pending_bans", 1, WD_BAN_BATCH_MAX, &ll);
      l->max_pending_bans = (int)ll;
    } else if (!strcmp(key, "http2_max_concurrent")) {
      rc = get_int(p, v, "limits.http2_max_concurrent", 1, 256, &ll);
      l->http2_max_concurrent = (int)ll;
    } else if (!strcmp(key, "idle_timeout")) {
      rc = get_int(p, v, "limits.idle_timeout", 1, 3600, &ll);
      l->idle_timeout = (int)ll;
    }
    if (rc)
      return -1;
  }
  return 0;
}

static int parse_geo(P *p, yaml_node_t *n) {
  conf_geo_t *g = &p->c->geo;
  if (n->type == YAML_SCALAR_NODE) {
    int on;
    if (get_bool(p, n, "geo", &on))
      return -1;
    if (on)
      return fail(p, n, "geo: true is the default; give a mapping of files, or false for none");
    g->mode = CONF_GEO_OFF;
    return 0;
  }
  if (expect_map(p, n, "geo", "city_mmdb, asn_mmdb, asn_csv"))
    return -1;
  g->mode = CONF_GEO_FILES;
  FOR_PAIRS(p, n, key, v) {
    int rc;
    if (!strcmp(key, "city_mmdb"))
      rc = get_list(p, v, "geo.city_mmdb", WD_GEO_MAX_FILES, g->city_mmdb, &g->ncity_mmdb);
    else if (!strcmp(key, "asn_mmdb"))
      rc = get_list(p, v, "geo.asn_mmdb", WD_GEO_MAX_FILES, g->asn_mmdb, &g->nasn_mmdb);
    else
      rc = get_list(p, v, "geo.asn_csv", WD_GEO_MAX_FILES, g->asn_csv, &g->nasn_csv);
    if (rc)
      return -1;
  }
  return 0;
}

static int get_num(P *p, yaml_node_t *n, const char *what, double min, double max, double *out) {
  const char *s = scalar(n);
  char *end;
  double x = s && *s ? strtod(s, &end) : NAN;
  if (!s || !*s || *end || !(x >= min && x <= max))
    return fail(p, n, "%s must be a number from %g to %g, got '%s'", what, min, max,
                s ? s : kind_name(n));
  *out = x;
  return 0;
}

#define DETECT_THRESHOLDS                                                                       \
  "v4_prefix, v6_prefix, window, idle, suspect_networks, suspect_asns, shared_networks, "       \
  "shared_countries, segment_seconds, renditions, rate_factor, same_segment, "                  \
  "mirror_renditions, travel_kmh, travel_min_km, user_agents, max_concurrent"

/* One threshold of wd_detect_config_t by its configuration name; 1 when the key is not one. */
static int detect_threshold(P *p, const char *key, yaml_node_t *v, wd_detect_config_t *d) {
  static const struct {
    const char *name;
    double min, max;
    size_t off;
    int is_double;
  } f[] = {
      {"v4_prefix", 16, 32, offsetof(wd_detect_config_t, v4_prefix), 0},
      {"v6_prefix", 48, 128, offsetof(wd_detect_config_t, v6_prefix), 0},
      {"window", 10, 3600, offsetof(wd_detect_config_t, window_s), 0},
      {"idle", 10, 86400, offsetof(wd_detect_config_t, idle_s), 0},
      {"suspect_networks", 2, 64, offsetof(wd_detect_config_t, suspect_networks), 0},
      {"suspect_asns", 1, 64, offsetof(wd_detect_config_t, suspect_asns), 0},
      {"shared_networks", 0, 64, offsetof(wd_detect_config_t, shared_networks), 0},
      {"shared_countries", 0, 64, offsetof(wd_detect_config_t, shared_countries), 0},
      {"segment_seconds", 0.5, 60, offsetof(wd_detect_config_t, segment_seconds), 1},
      {"renditions", 1, 16, offsetof(wd_detect_config_t, renditions), 0},
      {"rate_factor", 0, 100, offsetof(wd_detect_config_t, rate_factor), 1},
      {"same_segment", 0, 8, offsetof(wd_detect_config_t, same_segment), 0},
      {"mirror_renditions", 0, 16, offsetof(wd_detect_config_t, mirror_renditions), 0},
      {"travel_kmh", 0, 100000, offsetof(wd_detect_config_t, travel_kmh), 1},
      {"travel_min_km", 0, 20000, offsetof(wd_detect_config_t, travel_min_km), 1},
      {"user_agents", 0, 8, offsetof(wd_detect_config_t, user_agents), 0},
      {"max_concurrent", 0, 64, offsetof(wd_detect_config_t, max_concurrent), 0},
  };
  for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
    if (strcmp(key, f[i].name))
      continue;
    char what[64];
    snprintf(what, sizeof what, "detection.%s", key);
    double x = 0;
    if (get_num(p, v, what, f[i].min, f[i].max, &x))
      return -1;
    if (f[i].is_double) {
      *(double *)((char *)d + f[i].off) = x;
    } else if (x != (double)(long long)x) {
      return fail(p, v, "%s must be a whole number", what);
    } else if (f[i].off == offsetof(wd_detect_config_t, v4_prefix) ||
               f[i].off == offsetof(wd_detect_config_t, v6_prefix)) {
      *(int *)((char *)d + f[i].off) = (int)x;
    } else {
      *(unsigned *)((char *)d + f[i].off) = (unsigned)x;
    }
    return 0;
  }
  return 1;
}

/* The top-level `detection`: false, or thresholds, capacity and allow-lists. */
static int parse_detect(P *p, yaml_node_t *n) {
  conf_detect_t *dt = &p->c->detect;
  if (n->type == YAML_SCALAR_NODE) {
    if (get_bool(p, n, "detection", &dt->enabled))
      return -1;
    return 0;
  }
  if (expect_map(p, n, "detection",
                 DETECT_THRESHOLDS ", max_tokens, allow_asns, allow_cidrs, allow_subjects"))
    return -1;
  wd_detect_config_t *d = &dt->cfg;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    long long ll;
    if (!strcmp(key, "max_tokens")) {
      rc = get_int(p, v, "detection.max_tokens", 1, 1ll << 31, &ll);
      d->max_tokens = (uint64_t)ll;
    } else if (!strcmp(key, "allow_asns")) {
      char *items[CONF_DETECT_ALLOW_MAX];
      size_t k;
      rc = get_list(p, v, "detection.allow_asns", CONF_DETECT_ALLOW_MAX, items, &k);
      for (size_t i = 0; !rc && i < k; i++)
        if (wd_geo_parse_asn(items[i], strlen(items[i]), &dt->allow_asns[i]))
          rc = fail(p, v, "detection.allow_asns: '%s' is not an AS number (like 3301 or AS3301)",
                    items[i]);
      d->allow_asns = dt->allow_asns;
      d->nallow_asns = rc ? 0 : k;
    } else if (!strcmp(key, "allow_cidrs")) {
      rc = get_list(p, v, "detection.allow_cidrs", CONF_DETECT_ALLOW_MAX, dt->allow_cidrs,
                    &d->nallow_cidrs);
      d->allow_cidrs = (const char *const *)dt->allow_cidrs;
      for (size_t i = 0; !rc && i < d->nallow_cidrs; i++) {
        conf_prefix_t pf;
        if (parse_prefix(dt->allow_cidrs[i], &pf))
          rc = fail(p, v, "detection.allow_cidrs: '%s' is not an address or prefix",
                    dt->allow_cidrs[i]);
      }
    } else if (!strcmp(key, "allow_subjects")) {
      rc = get_list(p, v, "detection.allow_subjects", CONF_DETECT_ALLOW_MAX, dt->allow_subjects,
                    &d->nallow_subjects);
      d->allow_subjects = (const char *const *)dt->allow_subjects;
    } else {
      rc = detect_threshold(p, key, v, d) ? -1 : 0;
    }
    if (rc)
      return -1;
  }
  return 0;
}

/* A policy's own thresholds over the top-level ones (after the whole file is read). */
static int apply_policy_detect(P *p, size_t i) {
  yaml_node_t *n = p->policy_detect[i];
  char what[96];
  snprintf(what, sizeof what, "detection of policy %s", p->c->policies[i].name);
  if (expect_map(p, n, what, DETECT_THRESHOLDS))
    return -1;
  wd_detect_config_t *d = arena_alloc(p->c, sizeof *d);
  if (!d)
    return fail(p, n, "out of memory");
  *d = p->c->detect.cfg;
  FOR_PAIRS(p, n, key, v) {
    if (detect_threshold(p, key, v, d))
      return -1;
  }
  p->c->policy_detect_cfg[i] = d;
  return 0;
}

/* ---------------------------------------------------------------- console */

static int valid_user_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= WD_SESSION_USER_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("._-@", s[i]))
      return 0;
  return 1;
}

static int parse_user(P *p, yaml_node_t *n, conf_user_t *u) {
  if (expect_map(p, n, "a console user", "name, role, password_hash"))
    return -1;
  memset(u, 0, sizeof *u);
  u->line = line_of(n);
  yaml_node_t *rolenode = NULL;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    if (!strcmp(key, "name")) {
      rc = get_str(p, v, "name", &u->name);
      if (!rc && !valid_user_name(u->name))
        rc = fail(p, v, "user name '%s' must be 1 to 63 letters, digits, '.', '_', '-' or '@'",
                  u->name);
    } else if (!strcmp(key, "role")) {
      rolenode = v;
      const char *s = scalar(v);
      if (!s || wd_role_parse(s, &u->role))
        rc = fail(p, v, "unknown role '%s' (expected one of viewer, moderator, admin)",
                  s ? s : kind_name(v));
    } else if (!strcmp(key, "password_hash")) {
      rc = get_str(p, v, "password_hash", &u->password_hash);
      if (!rc && wd_password_parse(u->password_hash, NULL))
        rc = fail(p, v,
                  "password_hash is not a usable hash (expected "
                  "$scrypt$ln=14..20,r=..,p=..$SALT$HASH or $pbkdf2-sha256$i=100000..$SALT$HASH; "
                  "make one with 'warden passwd')");
    }
    if (rc)
      return -1;
  }
  if (!u->name)
    return fail(p, n, "a console user needs a 'name'");
  if (!rolenode)
    return fail(p, n, "user %s needs a 'role' (viewer, moderator or admin)", u->name);
  if (!u->password_hash)
    return fail(p, n, "user %s needs a 'password_hash' (make one with 'warden passwd')", u->name);
  return 0;
}

static int parse_console(P *p, yaml_node_t *n) {
  conf_console_t *cs = &p->c->console;
  if (n->type == YAML_SCALAR_NODE) {
    int on;
    if (get_bool(p, n, "console", &on))
      return -1;
    cs->enabled = on;
    return 0;
  }
  if (expect_map(p, n, "console",
                 "enabled, secure_cookie, session_ttl, session_idle, max_sessions, users"))
    return -1;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    long long ll;
    const char *s = scalar(v);
    if (!strcmp(key, "enabled")) {
      rc = get_bool(p, v, "console.enabled", &cs->enabled);
    } else if (!strcmp(key, "secure_cookie")) {
      if (s && !strcmp(s, "auto"))
        cs->secure_cookie = -1;
      else
        rc = get_bool(p, v, "console.secure_cookie (true, false or auto)", &cs->secure_cookie);
    } else if (!strcmp(key, "session_ttl")) {
      rc = get_int(p, v, "console.session_ttl", 60, 30 * 86400, &ll);
      cs->session_ttl = ll;
    } else if (!strcmp(key, "session_idle")) {
      rc = get_int(p, v, "console.session_idle", 60, 30 * 86400, &ll);
      cs->session_idle = ll;
    } else if (!strcmp(key, "max_sessions")) {
      rc = get_int(p, v, "console.max_sessions", 1, 1000000, &ll);
      cs->max_sessions = (size_t)ll;
    } else if (!strcmp(key, "users")) {
      if (v->type != YAML_SEQUENCE_NODE)
        return fail(p, v, "console.users must be a list of users");
      size_t count = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
      if (count > CONF_MAX_USERS)
        return fail(p, v, "more than %d console users", CONF_MAX_USERS);
      cs->users = arena_alloc(p->c, sizeof *cs->users * (count ? count : 1));
      if (!cs->users)
        return fail(p, v, "out of memory");
      cs->nusers = 0;
      for (size_t i = 0; i < count; i++) {
        yaml_node_t *e = node(p, v->data.sequence.items.start[i]);
        if (parse_user(p, e, &cs->users[i]))
          return -1;
        for (size_t j = 0; j < i; j++)
          if (!strcmp(cs->users[j].name, cs->users[i].name))
            return fail(p, e, "user '%s' is listed twice (names must be unique)",
                        cs->users[i].name);
        cs->nusers = i + 1;
      }
    }
    if (rc)
      return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- alerts */

static int parse_webhook(P *p, yaml_node_t *n, conf_webhook_t *wh) {
  memset(wh, 0, sizeof *wh);
  wh->line = line_of(n);
  if (n->type == YAML_SCALAR_NODE) {
    if (get_name(p, n, "a webhook url", 2048, &wh->url))
      return -1;
  } else {
    if (expect_map(p, n, "a webhook", "url, secret, format"))
      return -1;
    FOR_PAIRS(p, n, key, v) {
      int rc = 0;
      const char *s = scalar(v);
      if (!strcmp(key, "url")) {
        rc = get_name(p, v, "url", 2048, &wh->url);
      } else if (!strcmp(key, "secret")) {
        rc = get_name(p, v, "secret", 256, &wh->secret);
        if (!rc && strlen(wh->secret) < 16)
          rc = fail(p, v, "a webhook secret must be at least 16 characters");
      } else if (!strcmp(key, "format")) {
        if (s && (!strcmp(s, "json") || !strcmp(s, "slack")))
          wh->slack = !strcmp(s, "slack");
        else
          rc = fail(p, v, "webhook format '%s' (expected json or slack)", s ? s : kind_name(v));
      }
      if (rc)
        return -1;
    }
    if (!wh->url)
      return fail(p, n, "a webhook needs a 'url'");
  }
  if (strncmp(wh->url, "http://", 7) && strncmp(wh->url, "https://", 8))
    return fail(p, n, "webhook url '%s' must start with http:// or https://", wh->url);
  for (const char *c = wh->url; *c; c++)
    if (*c == ' ')
      return fail(p, n, "webhook url '%s' contains a space (percent-encode it)", wh->url);
  return 0;
}

static int parse_alerts(P *p, yaml_node_t *n) {
  conf_alerts_t *a = &p->c->alerts;
  if (expect_map(p, n, "alerts",
                 "webhooks, window, baseline, cooldown, shared_share, suspect_share, "
                 "min_decisions, failures_spike, failures_min, blocks_spike, blocks_min, "
                 "ban_storm, retries, timeout, queue"))
    return -1;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    long long ll = 0;
    if (!strcmp(key, "webhooks")) {
      if (v->type != YAML_SEQUENCE_NODE)
        return fail(p, v, "alerts.webhooks must be a list of URLs or {url, secret, format}");
      a->nwebhooks = 0;
      for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
           it++) {
        if (a->nwebhooks >= CONF_MAX_WEBHOOKS)
          return fail(p, node(p, *it), "more than %d webhooks", CONF_MAX_WEBHOOKS);
        if (parse_webhook(p, node(p, *it), &a->webhooks[a->nwebhooks]))
          return -1;
        a->nwebhooks++;
      }
    } else if (!strcmp(key, "window")) {
      rc = get_int(p, v, "alerts.window", 5, 3600, &ll);
      a->window = (int)ll;
    } else if (!strcmp(key, "baseline")) {
      rc = get_int(p, v, "alerts.baseline", 60, 3000, &ll);
      a->baseline = (int)ll;
    } else if (!strcmp(key, "cooldown")) {
      rc = get_int(p, v, "alerts.cooldown", 0, 86400, &ll);
      a->cooldown = (int)ll;
    } else if (!strcmp(key, "shared_share")) {
      rc = get_num(p, v, "alerts.shared_share", 0, 1, &a->shared_share);
    } else if (!strcmp(key, "suspect_share")) {
      rc = get_num(p, v, "alerts.suspect_share", 0, 1, &a->suspect_share);
    } else if (!strcmp(key, "min_decisions")) {
      rc = get_int(p, v, "alerts.min_decisions", 1, 1ll << 40, &ll);
      a->min_decisions = (uint64_t)ll;
    } else if (!strcmp(key, "failures_spike")) {
      rc = get_num(p, v, "alerts.failures_spike", 0, 1000, &a->failures_spike);
    } else if (!strcmp(key, "failures_min")) {
      rc = get_num(p, v, "alerts.failures_min", 0, 1e9, &a->failures_min);
    } else if (!strcmp(key, "blocks_spike")) {
      rc = get_num(p, v, "alerts.blocks_spike", 0, 1000, &a->blocks_spike);
    } else if (!strcmp(key, "blocks_min")) {
      rc = get_num(p, v, "alerts.blocks_min", 0, 1e9, &a->blocks_min);
    } else if (!strcmp(key, "ban_storm")) {
      rc = get_int(p, v, "alerts.ban_storm", 0, 1ll << 40, &ll);
      a->ban_storm = (uint64_t)ll;
    } else if (!strcmp(key, "retries")) {
      rc = get_int(p, v, "alerts.retries", 1, 20, &ll);
      a->retries = (int)ll;
    } else if (!strcmp(key, "timeout")) {
      rc = get_int(p, v, "alerts.timeout", 1, 60, &ll);
      a->timeout = (int)ll;
    } else if (!strcmp(key, "queue")) {
      rc = get_int(p, v, "alerts.queue", 1, 100000, &ll);
      a->queue = (int)ll;
    }
    if (rc)
      return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- top level */

static const char *const TOP_KEYS =
    "listen, threads, tls, data_dir, admin_token, trusted_proxies, client_ip_header, "
    "country_header, asn_header, keys, policies, token_api, content_keys, decision_log, "
    "limits, geo, "
    "detection, console, alerts, cluster";

static int valid_header_name(const char *s) {
  if (!*s || strlen(s) > 64)
    return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
      return 0;
  return 1;
}

/* ---------------------------------------------------------------- cluster */

/* A NATS URL: nats://HOST:PORT (or tls://, or a bare HOST:PORT), no spaces or commas. */
static int nats_url_ok(const char *u) {
  const char *h = strstr(u, "://");
  if (h && strncmp(u, "nats://", 7) && strncmp(u, "tls://", 6))
    return 0;
  h = h ? h + 3 : u;
  if (!*h || strlen(u) > 255)
    return 0;
  for (const char *s = u; *s; s++)
    if ((unsigned char)*s <= 0x20 || *s == ',' || *s == 0x7f)
      return 0;
  return 1;
}

/* A stream name or subject token: 1..64 of A-Z a-z 0-9 _ - (no dots, wildcards or spaces). */
static int js_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
      return 0;
  return 1;
}

static int parse_cluster(P *p, yaml_node_t *n) {
  conf_cluster_t *cl = &p->c->cluster;
  if (expect_map(p, n, "cluster",
                 "nats, node_id, subject_prefix, streams, replicas, queue, replay_when_down, "
                 "usage_max_age, replay_max_age"))
    return -1;
  FOR_PAIRS(p, n, key, v) {
    int rc = 0;
    long long ll = 0;
    if (!strcmp(key, "nats")) {
      rc = get_list(p, v, "cluster.nats", CONF_MAX_NATS, cl->nats, &cl->nnats);
      for (size_t i = 0; !rc && i < cl->nnats; i++)
        if (!nats_url_ok(cl->nats[i]))
          rc = fail(p, v, "cluster.nats '%s' is not a NATS URL (like nats://10.0.0.1:4222)",
                    cl->nats[i]);
    } else if (!strcmp(key, "node_id")) {
      rc = get_name(p, v, "cluster.node_id", 63, &cl->node_id);
      if (!rc && !js_name_ok(cl->node_id))
        rc = fail(p, v, "cluster.node_id '%s' must be letters, digits, '_' or '-'", cl->node_id);
    } else if (!strcmp(key, "subject_prefix")) {
      rc = get_name(p, v, "cluster.subject_prefix", 64, &cl->subject_prefix);
      if (!rc && !js_name_ok(cl->subject_prefix))
        rc = fail(p, v, "cluster.subject_prefix '%s' must be letters, digits, '_' or '-'",
                  cl->subject_prefix);
    } else if (!strcmp(key, "streams")) {
      if (expect_map(p, v, "cluster.streams", "bans, usage, replay"))
        return -1;
      FOR_PAIRS(p, v, k2, v2) {
        char **dst = !strcmp(k2, "bans")    ? &cl->bans_stream
                     : !strcmp(k2, "usage") ? &cl->usage_stream
                                            : &cl->replay_stream;
        rc = get_name(p, v2, "cluster.streams name", 64, dst);
        if (!rc && !js_name_ok(*dst))
          rc = fail(p, v2, "stream name '%s' must be letters, digits, '_' or '-'", *dst);
        if (rc)
          break;
      }
    } else if (!strcmp(key, "replicas")) {
      rc = get_int(p, v, "cluster.replicas", 1, 5, &ll);
      cl->replicas = (int)ll;
    } else if (!strcmp(key, "queue")) {
      rc = get_int(p, v, "cluster.queue", 16, 100000000, &ll);
      cl->queue = (uint64_t)ll;
    } else if (!strcmp(key, "replay_when_down")) {
      const char *s = scalar(v);
      if (s && !strcmp(s, "open"))
        cl->replay_fail_closed = 0;
      else if (s && !strcmp(s, "closed"))
        cl->replay_fail_closed = 1;
      else
        rc = fail(p, v, "cluster.replay_when_down must be open or closed, got '%s'",
                  s ? s : kind_name(v));
    } else if (!strcmp(key, "usage_max_age") || !strcmp(key, "replay_max_age")) {
      int usage = !strcmp(key, "usage_max_age");
      rc = get_int(p, v, usage ? "cluster.usage_max_age" : "cluster.replay_max_age", 60,
                   365LL * 86400, &ll);
      *(usage ? &cl->usage_max_age : &cl->replay_max_age) = ll;
    }
    if (rc)
      return -1;
  }
  return 0;
}

int conf_add_nats_arg(conf_t *c, const char *url, int first, char *err, size_t errlen) {
  if (first)
    c->cluster.nnats = 0;
  if (!nats_url_ok(url)) {
    snprintf(err, errlen, "--nats '%s' is not a NATS URL (like nats://127.0.0.1:4222)", url);
    return -1;
  }
  if (c->cluster.nnats >= CONF_MAX_NATS) {
    snprintf(err, errlen, "too many --nats URLs (at most %d)", CONF_MAX_NATS);
    return -1;
  }
  c->cluster.nats[c->cluster.nnats] = conf_strdup(c, url);
  if (!c->cluster.nats[c->cluster.nnats]) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  c->cluster.nnats++;
  return 0;
}

static int parse_root(P *p, yaml_node_t *root) {
  conf_t *c = p->c;
  if (expect_map(p, root, "the configuration", TOP_KEYS))
    return -1;
  yaml_node_t *polnode = NULL;
  FOR_PAIRS(p, root, key, v) {
    int rc = 0;
    long long ll;
    if (!strcmp(key, "listen")) {
      rc = parse_listen(p, v);
    } else if (!strcmp(key, "threads")) {
      rc = get_int(p, v, "threads", 1, 64, &ll);
      c->threads = (int)ll;
    } else if (!strcmp(key, "tls")) {
      if (expect_map(p, v, "tls", "cert, key"))
        return -1;
      FOR_PAIRS(p, v, k2, v2) {
        if (rc)
          break;
        rc = get_name(p, v2, !strcmp(k2, "cert") ? "tls.cert" : "tls.key", 4096,
                      !strcmp(k2, "cert") ? &c->tls_cert : &c->tls_key);
      }
      if (!rc && (!c->tls_cert || !c->tls_key))
        rc = fail(p, v, "tls needs both 'cert' and 'key' (PEM files)");
    } else if (!strcmp(key, "data_dir")) {
      rc = get_name(p, v, "data_dir", 4096, &c->data_dir);
    } else if (!strcmp(key, "admin_token")) {
      rc = get_name(p, v, "admin_token", 256, &c->admin_token);
      if (!rc && strlen(c->admin_token) < 16)
        rc = fail(p, v, "admin_token must be at least 16 characters (try: openssl rand -hex 24)");
    } else if (!strcmp(key, "trusted_proxies")) {
      rc = parse_proxies(p, v);
    } else if (!strcmp(key, "client_ip_header") || !strcmp(key, "country_header") ||
               !strcmp(key, "asn_header")) {
      char **dst = !strcmp(key, "client_ip_header") ? &c->client_ip_header
                   : !strcmp(key, "country_header") ? &c->country_header
                                                     : &c->asn_header;
      rc = get_name(p, v, key, 64, dst);
      if (!rc && !valid_header_name(*dst))
        rc = fail(p, v, "%s '%s' is not a header name (like X-Real-IP)", key, *dst);
    } else if (!strcmp(key, "keys")) {
      rc = parse_keys(p, v);
    } else if (!strcmp(key, "policies")) {
      polnode = v;
      rc = parse_policies(p, v);
    } else if (!strcmp(key, "token_api")) {
      rc = parse_token_api(p, v);
    } else if (!strcmp(key, "content_keys")) {
      rc = parse_content_keys(p, v);
    } else if (!strcmp(key, "decision_log")) {
      rc = parse_declog(p, v);
    } else if (!strcmp(key, "limits")) {
      rc = parse_limits(p, v);
    } else if (!strcmp(key, "geo")) {
      rc = parse_geo(p, v);
    } else if (!strcmp(key, "detection")) {
      rc = parse_detect(p, v);
    } else if (!strcmp(key, "cluster")) {
      rc = parse_cluster(p, v);
    } else if (!strcmp(key, "console")) {
      rc = parse_console(p, v);
    } else if (!strcmp(key, "alerts")) {
      rc = parse_alerts(p, v);
    }
    if (rc)
      return -1;
  }
  if (!polnode)
    return fail(p, root, "no policies: add a 'policies' list (see docs/config.md)");
  char why[256];
  if (wd_detect_config_check(&c->detect.cfg, why, sizeof why))
    return fail(p, root, "%s", why);
  for (size_t i = 0; i < c->npolicies; i++) {
    if (!p->policy_detect[i])
      continue;
    if (apply_policy_detect(p, i))
      return -1;
    if (wd_detect_config_check(c->policy_detect_cfg[i], why, sizeof why))
      return fail(p, p->policy_detect[i], "policy %s: %s", c->policies[i].name, why);
  }
  if (c->nlisten == 0) {
    char msg[64];
    if (add_listen(c, "127.0.0.1:8080", 0, msg, sizeof msg))
      return fail(p, root, "%s", msg);
  }
  return 0;
}

int conf_load_string(const char *text, size_t len, const char *name, conf_t **out, char *err,
                     size_t errlen) {
  conf_t *c = conf_new(name);
  if (!c) {
    snprintf(err, errlen, "%s: out of memory", name);
    return -1;
  }
  P p = {.c = c, .err = err, .errlen = errlen};
  yaml_parser_t parser;
  yaml_document_t doc;
  int rc = -1;
  if (!yaml_parser_initialize(&parser)) {
    snprintf(err, errlen, "%s: out of memory", name);
    conf_free(c);
    return -1;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, &doc)) {
    snprintf(err, errlen, "%s line %d: %s%s%s (check the indentation and quoting)", name,
             (int)parser.problem_mark.line + 1, parser.problem ? parser.problem : "syntax error",
             parser.context ? " " : "", parser.context ? parser.context : "");
    yaml_parser_delete(&parser);
    conf_free(c);
    return -1;
  }
  p.doc = &doc;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root)
    fail(&p, NULL, "the file is empty (see docs/config.md for an example)");
  else
    rc = parse_root(&p, root);
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  if (rc) {
    conf_free(c);
    return -1;
  }
  *out = c;
  return 0;
}

int conf_load_file(const char *path, conf_t **out, char *err, size_t errlen) {
  size_t len;
  char *text = read_text_file(path, CONF_FILE_MAX, &len);
  if (!text) {
    snprintf(err, errlen, "%s: cannot read the configuration: %s", path,
             errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
    return -2;
  }
  int rc = conf_load_string(text, len, path, out, err, errlen);
  free(text);
  return rc;
}

/* ---------------------------------------------------------------- command line, validation */

int conf_add_key_arg(conf_t *c, const char *arg, char *err, size_t errlen) {
  const char *a = strchr(arg, ':');
  const char *b = a ? strchr(a + 1, ':') : NULL;
  if (!a || !b || !b[1]) {
    snprintf(err, errlen,
             "--key '%.*s...' is not SCHEME:KIND:VALUE (like cat:hex:4036..., "
             "securelink:secret:s3cret, cloudfront:pem:FILE)",
             a ? (int)(a - arg) : 0, arg);
    return -1;
  }
  if (c->nkeys >= CONF_MAX_KEYS) {
    snprintf(err, errlen, "--key: more than %d keys", CONF_MAX_KEYS);
    return -1;
  }
  char scheme[16], kind[16];
  size_t sl = (size_t)(a - arg), kl = (size_t)(b - a - 1);
  if (sl >= sizeof scheme || kl >= sizeof kind) {
    snprintf(err, errlen, "--key: unknown scheme or kind (expected SCHEME:KIND:VALUE)");
    return -1;
  }
  memcpy(scheme, arg, sl);
  scheme[sl] = '\0';
  memcpy(kind, a + 1, kl);
  kind[kl] = '\0';
  conf_key_t *k = &c->keys[c->nkeys];
  memset(k, 0, sizeof *k);
  if (wd_scheme_parse(scheme, &k->scheme) || k->scheme == WD_SCHEME_NONE) {
    snprintf(err, errlen, "--key: unknown scheme '%s' (expected one of %s)", scheme,
             SCHEMES_EXPECTED);
    return -1;
  }
  const char *v = b + 1;
  if (!strcmp(kind, "hex") || !strcmp(kind, "secret")) {
    k->kind = !strcmp(kind, "hex") ? CONF_KEY_HEX : CONF_KEY_SECRET;
    if (key_set_value(c, k, v, strlen(v), 0))
      goto oom;
    k->source = conf_strdup(c, "--key");
  } else if (!strcmp(kind, "pem")) {
    k->kind = CONF_KEY_PEM;
    size_t len;
    char *text = read_text_file(v, 1 << 20, &len);
    if (!text) {
      snprintf(err, errlen, "--key %s:pem: cannot read '%s': %s", scheme, v, strerror(errno));
      return -1;
    }
    int rc = key_set_value(c, k, text, len, 0);
    free(text);
    if (rc)
      goto oom;
    char src[300];
    snprintf(src, sizeof src, "file %s", v);
    k->source = conf_strdup(c, src);
  } else {
    snprintf(err, errlen, "--key: unknown kind '%s' (expected one of hex, secret, pem)", kind);
    return -1;
  }
  char msg[160];
  if (check_key_value(k, msg, sizeof msg)) {
    snprintf(err, errlen, "--key %s:%s: %s", scheme, kind, msg);
    return -1;
  }
  c->nkeys++;
  return 0;
oom:
  snprintf(err, errlen, "out of memory");
  return -1;
}

static int has_key(const conf_t *c, wd_scheme_t s) {
  for (size_t i = 0; i < c->nkeys; i++)
    if (c->keys[i].scheme == s)
      return 1;
  return 0;
}

static void where(const conf_t *c, int line, char *buf, size_t cap) {
  if (line)
    snprintf(buf, cap, "%s line %d", c->file, line);
  else
    snprintf(buf, cap, "%s", c->file);
}

int conf_validate(conf_t *c, char *err, size_t errlen) {
  char w[300];
  for (size_t i = 0; i < c->nlisten; i++) {
    if (c->listen[i].tls && (!c->tls_cert || !c->tls_key)) {
      where(c, c->listen[i].line, w, sizeof w);
      snprintf(err, errlen, "%s: https listener %s:%s needs tls.cert and tls.key", w,
               c->listen[i].host, c->listen[i].port);
      return -1;
    }
  }
  if (c->npolicies == 0) {
    snprintf(err, errlen, "%s: no policies (add one under 'policies')", c->file);
    return -1;
  }
  if (c->nkeys == 0) {
    snprintf(err, errlen, "%s: no keys: add one under 'keys' or with --key SCHEME:KIND:VALUE",
             c->file);
    return -1;
  }
  for (size_t i = 0; i < c->npolicies; i++) {
    const wd_policy_t *pol = &c->policies[i];
    for (size_t j = 0; j < pol->nschemes; j++) {
      if (!has_key(c, pol->schemes[j])) {
        where(c, c->policy_lines[i], w, sizeof w);
        snprintf(err, errlen, "%s: policy '%s' uses scheme %s but no key of that scheme is "
                 "configured (add one under 'keys')", w, pol->name,
                 wd_scheme_name(pol->schemes[j]));
        return -1;
      }
    }
  }
  if (c->token_api.enabled) {
    where(c, c->token_api.line, w, sizeof w);
    if (!has_key(c, c->token_api.scheme)) {
      snprintf(err, errlen, "%s: token_api issues %s tokens but no %s key is configured", w,
               wd_scheme_name(c->token_api.scheme), wd_scheme_name(c->token_api.scheme));
      return -1;
    }
    if (c->token_api.nviewer_keys == 0) {
      snprintf(err, errlen, "%s: token_api needs viewer_key (the key that verifies viewers' JWTs)",
               w);
      return -1;
    }
  }
  return 0;
}

int conf_build_keyring(const conf_t *c, const conf_key_t *keys, size_t n, wd_keyring_t **out,
                       char *err, size_t errlen) {
  wd_keyring_t *ring = NULL;
  if (wd_keyring_create(&ring)) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    const conf_key_t *k = &keys[i];
    int rc;
    const char *kid = k->kid;
    size_t kidlen = kid ? strlen(kid) : 0;
    if (k->kind == CONF_KEY_HEX) {
      uint8_t buf[1024];
      size_t blen = 0;
      rc = wd_hex_decode(k->value, k->value_len, buf, sizeof buf, &blen);
      if (!rc)
        rc = wd_keyring_add_secret(ring, k->scheme, k->alg, kid, kidlen, k->issuer, buf, blen, NULL);
      memset(buf, 0, sizeof buf);
    } else if (k->kind == CONF_KEY_SECRET) {
      rc = wd_keyring_add_secret(ring, k->scheme, k->alg, kid, kidlen, k->issuer, k->value,
                                 k->value_len, NULL);
    } else {
      rc = wd_keyring_add_pem(ring, k->scheme, k->alg, kid, kidlen, k->issuer, k->value,
                              k->value_len, NULL);
    }
    if (rc) {
      char w[300];
      where(c, k->line, w, sizeof w);
      snprintf(err, errlen, "%s: key for %s (%s%s%s) is not usable: %s%s", w,
               wd_scheme_name(k->scheme), k->source ? k->source : "?",
               k->alg ? ", alg " : "", k->alg ? wd_alg_name(k->alg) : "", wd_strerror(rc),
               k->alg ? " (check that alg fits the key)" : "");
      wd_keyring_destroy(ring);
      return -1;
    }
  }
  *out = ring;
  return 0;
}
