/*
 * Simulated traffic of a live event, labelled with ground truth, to measure and demonstrate
 * sharing detection (docs/sim.md).
 *
 * Two parts:
 *   the address pool   networks (ASN, country, kind) with blocks of addresses to draw from:
 *                      wd_sim_pool_load takes real ranges of a curated list of ISP, mobile and
 *                      datacenter ASNs from the @ip-location-db ASN CSV files and keeps only the
 *                      IPv4 /24 and IPv6 /64 blocks whose addresses the geo data places in that
 *                      ASN and country; wd_sim_pool_synthetic stands in without data, with the
 *                      same networks on benchmarking and documentation addresses (198.18.0.0/15,
 *                      2001:db8::/32) and private-use ASNs (64512 and up).
 *   the generator      wd_sim_create / wd_sim_next: a time-ordered stream of playback requests of
 *                      viewers, households, casting, hand-overs, friends and pirates sharing a
 *                      token, restreamers; wd_sim_truth_next: what each token really was.
 *
 * The generator is deterministic: the same configuration, pool and seed give the same stream,
 * byte for byte. It does no I/O and keeps no global state; tokens come from a callback the
 * caller supplies (the program issues real CAT tokens with its key ring). It streams: viewers
 * are created when they join and freed when they leave, so memory follows the viewers watching
 * at once, never the number of requests (wd_sim_stats counts the bytes it holds).
 */
#ifndef WARDEN_SIM_H
#define WARDEN_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "warden/geo.h"

/* ---------------------------------------------------------------- address pool */

typedef enum wd_sim_net_kind {
  WD_SIM_ISP = 0,        /* fixed broadband: homes */
  WD_SIM_MOBILE,         /* mobile carrier (CGNAT, rotating addresses) */
  WD_SIM_DATACENTER,     /* hosting and cloud: restreamers, VPN exits */
} wd_sim_net_kind_t;

/* "isp", "mobile", "datacenter". */
const char *wd_sim_net_kind_name(wd_sim_net_kind_t k);

/* A block of addresses of one network: an IPv4 /24 (prefix[0..2]) or an IPv6 /64 (prefix[0..7]). */
typedef struct wd_sim_block {
  uint8_t family;          /* 4 or 6 */
  uint8_t prefix[8];
} wd_sim_block_t;

typedef struct wd_sim_net {
  uint32_t asn;            /* the ASN its addresses belong to (synthetic pools: 64512 + index) */
  uint32_t real_asn;       /* the operator's real ASN (equal to asn unless synthetic) */
  char country[3];         /* ISO 3166-1 alpha-2 */
  wd_sim_net_kind_t kind;
  const char *name;        /* the operator, "Telia Company AB" */
  double lat, lon;         /* the country's reference city, degrees */
  unsigned weight;         /* audience share of legitimate viewers, relative */
  const wd_sim_block_t *v4, *v6;
  size_t nv4, nv6;         /* every net has nv4 >= 1 */
} wd_sim_net_t;

typedef struct wd_sim_pool wd_sim_pool_t;

/* The networks without data: every curated network, on 198.18.0.0/15 (eight /24s each) and
 * 2001:db8:<n>::/48 (four /64s each), ASN 64512 + index. Returns 0 or WD_ENOMEM. */
int wd_sim_pool_synthetic(wd_sim_pool_t **out);

/*
 * The networks from real data: reads the @ip-location-db ASN CSV files (start,end,asn,org a
 * line, IPv4 or IPv6) for the ranges of the curated ASNs, carves IPv4 /24 and IPv6 /64 blocks
 * inside them (deterministically) and keeps a block only when wd_geo_lookup of several of its
 * addresses gives the network's ASN and country. Networks left with no IPv4 block are dropped.
 * geo must have a city/country database and ASN data. Returns 0 and *out, or WD_EIO (a file
 * cannot be read), WD_EINVAL (no geo, no file, or no network verified: the data does not
 * locate addresses) with a one-line message in err; WD_ENOMEM.
 */
int wd_sim_pool_load(const wd_geo_t *geo, const char *const *asn_csv, size_t ncsv,
                     wd_sim_pool_t **out, char *err, size_t errlen);

void wd_sim_pool_destroy(wd_sim_pool_t *pool);

/* The networks, 0 <= i < count; valid as long as the pool. */
size_t wd_sim_pool_count(const wd_sim_pool_t *pool);
const wd_sim_net_t *wd_sim_pool_net(const wd_sim_pool_t *pool, size_t i);
/* 1 for a synthetic pool. */
int wd_sim_pool_is_synthetic(const wd_sim_pool_t *pool);

/* ---------------------------------------------------------------- patterns and labels */

typedef enum wd_sim_label {
  WD_SIM_LEGIT = 0,
  WD_SIM_SHARED,
  WD_SIM_RESTREAM,
} wd_sim_label_t;

/* How a token is used. The first seven are legitimate and must not be flagged. */
typedef enum wd_sim_pattern {
  WD_SIM_SINGLE = 0,       /* one viewer on one address */
  WD_SIM_CARRIER_ROTATION, /* a mobile carrier moving the viewer across its /24s (one ASN) */
  WD_SIM_DUAL_STACK,       /* one IPv4 and one IPv6 address of one home ASN, alternating */
  WD_SIM_WIFI_TO_MOBILE,   /* one hand-over from home Wi-Fi to a mobile carrier, same country */
  WD_SIM_HOUSEHOLD,        /* 2-6 tokens of one home behind one address */
  WD_SIM_CGNAT,            /* 10-40 tokens behind one mobile carrier address */
  WD_SIM_CASTING,          /* a phone on the home's IPv6, then the TV on its IPv4 */
  WD_SIM_FRIENDS,          /* shared with 2-5 others on other networks, other cities or countries */
  WD_SIM_PIRATES,          /* shared to tens or hundreds of viewers across countries */
  WD_SIM_TRAVEL,           /* impossible travel: the same token in two far-apart countries */
  WD_SIM_RESTREAMER,       /* one token fetching every segment at real time from a datacenter */
  WD_SIM_PATTERN_COUNT
} wd_sim_pattern_t;

/* "legit", "shared", "restream". */
const char *wd_sim_label_name(wd_sim_label_t l);
/* "single", "carrier_rotation", "dual_stack", "wifi_to_mobile", "household", "cgnat", "casting",
 * "friends", "pirates", "impossible_travel", "restreamer". */
const char *wd_sim_pattern_name(wd_sim_pattern_t p);
wd_sim_label_t wd_sim_pattern_label(wd_sim_pattern_t p);

/* ---------------------------------------------------------------- the generator */

#define WD_SIM_MAX_RENDITIONS 16
#define WD_SIM_TOKEN_MAX 4096     /* token text bytes, NUL included */
#define WD_SIM_PATH_MAX 512

typedef struct wd_sim_config {
  uint64_t seed;
  int64_t start_ms;           /* unix ms of the event's start */
  int64_t duration_s;         /* 600; 1 .. 7 days */
  int segment_s;              /* segment duration, 4; 1 .. 60 */
  const char *const *renditions; /* names, best first; default 1080p 720p 480p 360p */
  size_t nrenditions;
  const char *segment_path;   /* "/live/ch1/<rendition>/seg<N>.ts": <N> required */
  const char *playlist_path;  /* "/live/ch1/<rendition>/index.m3u8" */
  uint32_t audience;          /* tokens of paying viewers, 1000; at most 10,000,000 */
  double shared;              /* share of those tokens that are shared, 0.05 */
  uint32_t pirates_min;       /* others using one shared token, 2 .. */
  uint32_t pirates_max;       /* .. 200 (friends 2-5, pirates 6 and more) */
  uint32_t restreamers;       /* 2; tokens of their own, beyond the audience */
  int64_t token_ttl_s;        /* 0: valid to the end of the event (+ 10 min); else renewed */
  /* Relative weights: legitimate patterns among legitimate tokens, shared patterns (friends,
   * pirates, impossible_travel) among shared tokens. The restreamer weight is unused. */
  double mix[WD_SIM_PATTERN_COUNT];
} wd_sim_config_t;

/* The defaults above, start_ms 0 (set it). */
void wd_sim_config_init(wd_sim_config_t *c);

/* 0 when every value is within its bounds, else WD_EINVAL with a one-line reason in err naming
 * the value and its range. wd_sim_create checks the same. */
int wd_sim_config_check(const wd_sim_config_t *c, char *err, size_t errlen);

/* One token to issue, when its first viewer joins (or when it is renewed). */
typedef struct wd_sim_token_req {
  uint64_t index;             /* 0, 1, 2, ... in issue order */
  const char *token_id;       /* 32 hex digits drawn from the seed: use it as the id (CAT cti) */
  const char *subject;        /* "viewer-000042": stays the same across renewals */
  int64_t iat, exp;           /* unix seconds */
  const char *path_prefix;    /* what the token must cover: the paths' directory, "/live/ch1/" */
  wd_sim_pattern_t pattern;
} wd_sim_token_req_t;

/* Issue a token: write its text, NUL-terminated, into buf (cap bytes). Return 0, or a negative
 * WD_E* code, which ends the simulation (wd_sim_next returns it). */
typedef int (*wd_sim_issue_fn)(void *ctx, const wd_sim_token_req_t *req, char *buf, size_t cap);

/* One request. Pointers are valid until the next wd_sim_next or wd_sim_truth_next call. */
typedef struct wd_sim_request {
  int64_t time_ms;            /* unix ms; never decreases from one request to the next */
  int family;                 /* 4 or 6 */
  uint8_t addr[16];           /* network order */
  char ip[46];                /* as text */
  const char *user_agent;
  const char *path;           /* without the token */
  int segment;                /* 1 media segment, 0 playlist */
  uint64_t bytes;             /* the response size a CDN would log */
  const char *token;
  const char *token_id;
  uint64_t token_index;
  wd_sim_label_t label;
  wd_sim_pattern_t pattern;
  uint32_t viewer;            /* who within the token: 0 its owner, 1.. the others */
  const wd_sim_net_t *net;    /* the network the address belongs to */
} wd_sim_request_t;

/* One prefix (IPv4 /24, IPv6 /64) a token was used from. */
typedef struct wd_sim_network {
  int family;
  uint8_t prefix[16];
  int plen;                   /* 24 or 64 */
  uint32_t asn;
  char country[3];
  int64_t first_ms;           /* its first request */
  uint32_t viewer;            /* who used it first */
} wd_sim_network_t;

/* What a token really was. Valid until the next wd_sim_truth_next or wd_sim_next call. */
typedef struct wd_sim_truth {
  const char *token;
  const char *token_id;
  const char *subject;
  uint64_t token_index;
  uint64_t group;             /* the viewer or home: tokens behind one household address and a
                                 token's renewals share it */
  uint32_t renewal;           /* 0 the first token of its viewer, 1 its first renewal, ... */
  wd_sim_label_t label;
  wd_sim_pattern_t pattern;
  int64_t iat, exp;           /* unix seconds */
  int64_t first_ms, last_ms;  /* its first and last request; -1 when never used */
  uint64_t requests;
  uint32_t viewers;           /* people (devices or homes) that used it */
  const wd_sim_network_t *networks;   /* in order of first use */
  size_t nnetworks;
  const uint32_t *asns;       /* distinct, in order of first use */
  size_t nasns;
  const char (*countries)[3]; /* distinct, in order of first use */
  size_t ncountries;
  /* When it became misuse, unix ms, -1 for legitimate tokens: friends and pirates at the first
   * request of the third viewer on a network of their own (owner + 2), impossible travel at the
   * first request from the far country, restreamers at their first request. */
  int64_t became_shared_ms;
  const char *shared_rule;    /* "third_viewer", "second_country", "first_request" or NULL */
} wd_sim_truth_t;

typedef struct wd_sim wd_sim_t;

/*
 * Start a simulation of cfg (copied; the strings it points to must outlive the simulation) over
 * pool (not copied: it must outlive the simulation), issuing tokens through issue(ctx, ...).
 * Returns 0 and *out, WD_EINVAL with a one-line reason in err for a configuration out of bounds
 * or a pool without a network of a needed kind; WD_ENOMEM.
 */
int wd_sim_create(const wd_sim_config_t *cfg, const wd_sim_pool_t *pool, wd_sim_issue_fn issue,
                  void *ctx, wd_sim_t **out, char *err, size_t errlen);

/* The next request, in time order: 1 and *out, 0 when the event is over, or the negative code
 * the issue callback returned (the simulation cannot go on). */
int wd_sim_next(wd_sim_t *s, wd_sim_request_t *out);

/* The truth of a token no one will use again (its viewers left, it was renewed, or the event
 * ended): 1 and *out, 0 when none is waiting. After wd_sim_next returned 0 every token's truth
 * comes out here. */
int wd_sim_truth_next(wd_sim_t *s, wd_sim_truth_t *out);

typedef struct wd_sim_stats {
  uint64_t requests;
  uint64_t tokens;            /* issued */
  uint64_t tokens_by_pattern[WD_SIM_PATTERN_COUNT];
  uint64_t viewers_live;      /* joined or waiting to, not yet left */
  uint64_t viewers_peak;
  size_t bytes, bytes_peak;   /* memory the generator holds (its allocations) */
} wd_sim_stats_t;

void wd_sim_stats(const wd_sim_t *s, wd_sim_stats_t *out);

/* Free everything (truths not taken are dropped). NULL is a no-op. */
void wd_sim_destroy(wd_sim_t *s);

#endif
