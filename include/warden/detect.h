/*
 * Sharing detection: how many viewers use one token.
 *
 * A tracker keeps a small record per token (or per subject: the caller chooses the key) of the
 * client networks that used it within a sliding window, its request rate, the user agents,
 * the last coarse location and, for tokens seen on several networks, which segments each
 * network fetched. Every observation (one request) updates the record and returns a verdict:
 *
 *   OK       nothing beyond what one viewer does (address changes within one carrier,
 *            dual-stack, Wi-Fi to mobile hand-over, casting to a second device)
 *   SUSPECT  worth a look: 3 networks over 2 ASNs, a request rate above 3x playback,
 *            impossible travel
 *   SHARED   several viewers: 5 networks, 2 countries at once, one segment fetched from
 *            3 networks, or one segment fetched in every rendition (a restreamer's mirror)
 *
 * with a score (0-100), the signals that fired and one line a person can read
 * (wd_detect_explain). docs/detection.md explains the signals, the defaults and how the false
 * positives the field knows are kept out.
 *
 * Time comes from the caller (unix milliseconds in every observation): the library never reads
 * the clock, so `warden analyze` replays log files with their own timestamps and gets the
 * verdicts the server would have given.
 *
 * Threads: wd_tracker_observe, wd_tracker_get, wd_tracker_expire and wd_tracker_stats may be
 * called from any number of threads at once. Tokens are spread over sharded tables (256 by
 * default), each with its own mutex held for one short critical section; nothing locks the
 * whole tracker.
 *
 * Memory: a tracked token costs one 64-byte record plus 4-8 bytes of hash index (about 70 bytes
 * on average); tokens seen on more than two networks at once, travelling, or at more than twice
 * the real-time request rate also hold a 352-byte detail record from a bounded pool. Ten million
 * tokens take about 0.7 GB.
 */
#ifndef WARDEN_DETECT_H
#define WARDEN_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "warden/geo.h"

typedef enum wd_verdict_level {
  WD_VERDICT_OK = 0,
  WD_VERDICT_SUSPECT,
  WD_VERDICT_SHARED,
} wd_verdict_level_t;

/* "ok", "suspect", "shared"; parse accepts them in any ASCII case and returns 0, or WD_EINVAL
 * (out untouched). name returns "unknown" for a value out of range. */
const char *wd_verdict_level_name(wd_verdict_level_t l);
int wd_verdict_level_parse(const char *s, wd_verdict_level_t *out);

/* Signals, as bits of wd_verdict_t.signals. */
enum {
  WD_SIGNAL_NETWORKS = 1u << 0,     /* networks counted reached a threshold */
  WD_SIGNAL_ASNS = 1u << 1,         /* ... over several ASNs (with NETWORKS) */
  WD_SIGNAL_COUNTRIES = 1u << 2,    /* used from several countries at once */
  WD_SIGNAL_RATE = 1u << 3,         /* requests above the real-time rate */
  WD_SIGNAL_SAME_SEGMENT = 1u << 4, /* one segment fetched from several networks */
  WD_SIGNAL_TRAVEL = 1u << 5,       /* impossible travel between two locations */
  WD_SIGNAL_USER_AGENTS = 1u << 6,  /* several user agents (supports another signal, never alone) */
  WD_SIGNAL_CONCURRENT = 1u << 7,   /* more concurrent viewers than max_concurrent */
  WD_SIGNAL_RENDITIONS = 1u << 8,   /* one segment fetched in more renditions than a player does */
};
#define WD_SIGNAL_COUNT 9

/* "networks", "asns", "countries", "rate", "same_segment", "travel", "user_agents",
 * "concurrent", "renditions" for one bit; "unknown" otherwise. */
const char *wd_signal_name(unsigned bit);

#define WD_DETECT_LIST_MAX 4096      /* entries in each allow-list */
#define WD_DETECT_KEY_MAX 160        /* key and subject bytes, the NUL excluded */

/*
 * Configuration. Start from wd_detect_config_init (the defaults shown); a 0 in a field marked
 * "0: off" disables that rule. Lists are copied by wd_tracker_create.
 */
typedef struct wd_detect_config {
  int v4_prefix;              /* 24: an IPv4 network is a /24 (16..32) */
  int v6_prefix;              /* 64: an IPv6 network is a /64 (48..128) */
  unsigned window_s;          /* 60: the sliding window, seconds (10..3600) */
  unsigned idle_s;            /* 1800: a token unseen this long is forgotten, whatever its
                                 expiry (window_s..86400) */

  /* networks (counted as explained in docs/detection.md) */
  unsigned suspect_networks;  /* 3: suspect at this many networks ... (2..64) */
  unsigned suspect_asns;      /* 2: ... over at least this many known ASNs (1..64) */
  unsigned shared_networks;   /* 5: shared at this many networks over 2 ASNs or more, or when no
                                 ASN is known (suspect_networks..64; 0: off) */
  unsigned shared_countries;  /* 2: shared when used from this many known countries at once
                                 (2..64; 0: off) */

  /* request rate */
  double segment_seconds;     /* 6: segment duration (0.5..60) */
  unsigned renditions;        /* 1: renditions a player fetches at once, audio and video
                                 separate count 2; each costs a segment and a playlist per
                                 segment duration (1..16) */
  double rate_factor;         /* 3: suspect above this many times the real-time rate
                                 (1.5..100; 0: off) */

  unsigned same_segment;      /* 3: shared when one segment is fetched from this many networks
                                 within the window (2..8; 0: off) */
  unsigned mirror_renditions; /* 2: shared when one segment is fetched in `renditions` + this
                                 many renditions within the window: a player fetches
                                 `renditions` of each segment, one more when it switches
                                 quality; a restreamer mirrors every one. Watched on tokens
                                 above twice the real-time rate (1..16; 0: off) */
  double travel_kmh;          /* 1000: suspect above this speed ... (100..100000; 0: off) */
  double travel_min_km;       /* 500: ... over at least this distance (0..20000); within one
                                 known country only between two networks in use at once */
  unsigned user_agents;       /* 3: this many user agents in the window add to the score of a
                                 token already suspect (2..8; 0: off) */
  unsigned max_concurrent;    /* 0: suspect above this many concurrent viewers (1..64; 0: off) */

  /* capacity */
  uint64_t max_tokens;        /* 16777216: tokens tracked at most; beyond, new tokens are
                                 untracked (verdict OK, `untracked` set) until some expire
                                 (1..2^31) */
  uint64_t max_detail;        /* 0: max_tokens / 16 (at least 1024): detail records at most;
                                 beyond, tokens keep two networks and a sketch of the others */
  unsigned shards;            /* 256: a power of two, 1..4096 */
  uint64_t seed;              /* 0: random; hashing seed (fixed only for reproducible tests) */

  /* allow-lists: observations that match are not counted (the verdict is OK, allowlisted 1) */
  const uint32_t *allow_asns;       /* e.g. the operator's own office or test network */
  size_t nallow_asns;
  const char *const *allow_cidrs;   /* "198.51.100.0/24", "2001:db8::/32", or an address */
  size_t nallow_cidrs;
  const char *const *allow_subjects; /* reviewed viewers, by subject */
  size_t nallow_subjects;
} wd_detect_config_t;

/* Fill the defaults above. */
void wd_detect_config_init(wd_detect_config_t *c);

/*
 * Check a configuration: 0, or WD_EINVAL with one line in err naming the field, the value and
 * the range ("detect: window_s 0 is out of range (10..3600)", "detect: allow_cidrs[2]
 * '10.0.0.0/33' is not an address or prefix"). err may be NULL.
 */
int wd_detect_config_check(const wd_detect_config_t *c, char *err, size_t errlen);

/* One request as the tracker needs it. Start from wd_observation_init. */
typedef struct wd_observation {
  const char *key;            /* what to track: the token id, or the subject to track per
                                 viewer; 1..WD_DETECT_KEY_MAX bytes, NUL-terminated; hashed */
  const char *subject;        /* for the subject allow-list; NULL or "" when none */
  int64_t exp;                /* the token's expiry, unix seconds; 0: none. The record is
                                 dropped at exp, or idle_s after the last use if sooner */
  int64_t now_ms;             /* when the request was made, unix milliseconds (>= 0) */
  int family;                 /* client address: 4 or 6 (an IPv4-mapped IPv6 address counts
                                 as IPv4) */
  uint8_t addr[16];           /* network order; IPv4 in the first 4 bytes */
  const wd_geo_info_t *geo;   /* what is known of the address (ASN 0, country "", lat/lon NaN,
                                 city "": unknown); NULL: nothing */
  const char *user_agent;     /* NULL or "": none; hashed */
  const char *segment;        /* the media segment requested (path without the query), NULL for
                                 playlists, manifests and keys; hashed. See wd_detect_is_segment.
                                 A segment is known by its file name when that holds a number
                                 (/live/720p/seg12.ts and /live/1080p/seg12.ts are one segment
                                 in two renditions), else by its whole path */
} wd_observation_t;

/* Zero everything, no geo. */
void wd_observation_init(wd_observation_t *o);

/* 1 when a request path (query ignored) names a media segment by its extension: .ts .m4s .mp4
 * .m4v .m4a .mp3 .aac .ac3 .ec3 .cmfv .cmfa .cmft .vtt .webvtt .fmp4 (any case); 0 for
 * playlists (.m3u8, .mpd) and anything else. */
int wd_detect_is_segment(const char *path);

#define WD_DETECT_CITY_MAX WD_GEO_CITY_MAX

/* One end of a travel. */
typedef struct wd_detect_place {
  char city[WD_DETECT_CITY_MAX];   /* "" when the caller gave none */
  char country[3];                 /* "" when unknown */
  double lat, lon;                 /* degrees, about 300 m precision */
} wd_detect_place_t;

/*
 * A verdict: the level, the score, the signals that fired and the figures behind them, all
 * over the window ending at the observation (or at `now` for wd_tracker_get).
 */
typedef struct wd_verdict {
  wd_verdict_level_t level;
  unsigned score;             /* 0-100: OK below 40, SUSPECT 40-69, SHARED 70 and above */
  unsigned signals;           /* WD_SIGNAL_* bits that fired */
  unsigned window_s;
  unsigned networks;          /* networks counted toward the thresholds */
  unsigned prefixes;          /* distinct network prefixes seen */
  unsigned clients;           /* distinct clients: prefixes, one IPv4 and one IPv6 prefix of
                                 one ASN counted once. catreplay=2 reuse: the token was used by
                                 more than N clients when clients > N */
  unsigned asns;              /* distinct known ASNs */
  unsigned countries;         /* distinct known countries */
  unsigned countries_at_once; /* most known countries in use at the same time */
  unsigned concurrent;        /* viewers active over the last 3 segment durations (estimate) */
  unsigned requests;          /* requests in the window (sliding estimate) */
  double rate;                /* requests / the real-time rate's requests in a window */
  unsigned same_segment;      /* most networks that fetched one segment */
  unsigned renditions;        /* most renditions (paths) of one segment, a lower bound; counted
                                 on tokens held in detail records only, else 0 */
  unsigned user_agents;       /* distinct user agents (lower bound) */
  unsigned travel_km;         /* the impossible travel, when signals has TRAVEL */
  unsigned travel_s;
  wd_detect_place_t travel_from, travel_to;
  int allowlisted;            /* the observation matched an allow-list: not counted */
  int untracked;              /* max_tokens reached: this token is not tracked */
  int degraded;               /* more networks than the record keeps (8, or 2 when the detail
                                 pool is full): those beyond are estimated, in prefixes and
                                 clients only */
} wd_verdict_t;

/*
 * One line a person can read, into buf (always NUL-terminated when cap > 0); returns the length
 * the whole line needs, as snprintf. For example:
 *   "7 networks in 60 s across 4 ASNs and 3 countries; Paris to São Paulo (9,400 km) in 4
 *    minutes"
 *   "3 networks in 60 s across 2 ASNs; one segment fetched from 3 networks"
 *   "1 network, 14 requests in 60 s"   (OK)
 * City names appear only when the caller gave them, else countries, else coordinates.
 */
size_t wd_detect_explain(const wd_verdict_t *v, char *buf, size_t cap);

typedef struct wd_tracker wd_tracker_t;

/* Create a tracker (the configuration is checked as wd_detect_config_check and copied).
 * Returns 0 and *out, WD_EINVAL, or WD_ENOMEM; *out untouched on failure. */
int wd_tracker_create(const wd_detect_config_t *c, wd_tracker_t **out);
/* Free everything; no other call may be running. NULL is a no-op. */
void wd_tracker_destroy(wd_tracker_t *t);

/*
 * Record one request and judge its token. Fills *out (when not NULL) with the verdict as of
 * this request. Returns 0, or WD_EINVAL for a NULL t or o, an empty or too long key, a family
 * other than 4 or 6, a negative time (out then holds an OK verdict). Never fails for lack of
 * room: an untracked token gets an OK verdict with `untracked` set. A request older than the
 * token's last one is counted at the time of the last one. Any thread.
 */
int wd_tracker_observe(wd_tracker_t *t, const wd_observation_t *o, wd_verdict_t *out);

/*
 * wd_tracker_observe for a node of a cluster (docs/cluster.md): *announce (may be NULL) is set
 * to 1 when the other nodes should hear of this observation's network, that is when the token
 * had no such network within the window (a first sighting), or, for a token another node has
 * reported too (wd_tracker_merge), when its use of the network has crossed a half-window
 * boundary since the first sighting (so a network in steady use is announced about twice a
 * window, not per request); 0 otherwise.
 */
int wd_tracker_observe_ex(wd_tracker_t *t, const wd_observation_t *o, wd_verdict_t *out,
                          int *announce);

/*
 * Merge a network another node saw for a token (key, exp, now_ms, family, addr: the network,
 * geo: its ASN, country and location): the token's record counts the network as if it had been
 * seen here at now_ms, once however many nodes saw it (networks are kept by prefix), without a
 * request, user agent or segment, and without a verdict (the next observation judges). Obeys
 * the allow-lists and max_tokens like an observation. Returns 0, or WD_EINVAL as observe. Any
 * thread.
 */
int wd_tracker_merge(wd_tracker_t *t, const wd_observation_t *o);

/* Drop tokens expired (or idle) at now_ms; returns how many. Holds one shard's lock at a time.
 * The server calls it every few seconds; an expired token is also reset when seen again. */
uint64_t wd_tracker_expire(wd_tracker_t *t, int64_t now_ms);

#define WD_DETECT_EVIDENCE_NETS 8

/* One network of a token. */
typedef struct wd_detect_network {
  int family;                 /* 4 or 6 */
  uint8_t prefix[16];         /* the network's prefix, when prefix_len > 0 */
  int prefix_len;             /* 0: not kept (seen before the token's detail record existed) */
  uint32_t asn;               /* 0 unknown */
  char country[3];            /* "" unknown */
  double lat, lon;            /* NaN unknown (kept in detail records only) */
  char city[WD_DETECT_CITY_MAX];
  int64_t first, last;        /* unix seconds */
  unsigned requests;          /* 0: not counted (no detail record) */
} wd_detect_network_t;

/* What the tracker holds on one token, for case review and the console. */
typedef struct wd_detect_evidence {
  wd_verdict_t verdict;       /* as of `now`, without a new request */
  int64_t first_seen;         /* unix seconds; 0 unknown (kept in detail records only) */
  int64_t last_seen;
  int64_t expires;
  size_t nnetworks;           /* networks in the window, most recent first */
  wd_detect_network_t networks[WD_DETECT_EVIDENCE_NETS];
  unsigned more_networks;     /* networks in the window beyond those listed (estimate) */
  char explanation[256];      /* wd_detect_explain of the verdict */
} wd_detect_evidence_t;

/* Evidence for one key at now_ms: 0 and *out, WD_ENOTOKEN when the key is not tracked (never
 * seen, expired, or idle), WD_EINVAL for bad arguments. Any thread. */
int wd_tracker_get(wd_tracker_t *t, const char *key, int64_t now_ms, wd_detect_evidence_t *out);

typedef struct wd_tracker_stats {
  uint64_t tokens;            /* tracked tokens (expired ones not yet dropped included) */
  uint64_t detailed;          /* of which with a detail record */
  uint64_t bytes;             /* memory held: records, index, detail pool, city names, shards */
  uint64_t token_bytes;       /* of which records and index */
  uint64_t detail_bytes;      /* of which the detail pool */
  uint64_t observations;      /* requests observed */
  uint64_t untracked;         /* observations of new tokens refused: max_tokens reached */
  uint64_t degraded;          /* detail records refused: max_detail reached */
} wd_tracker_stats_t;

/* Any thread; locks one shard at a time (the figures are a consistent sum only when idle). */
void wd_tracker_stats(wd_tracker_t *t, wd_tracker_stats_t *out);

#endif
