/*
 * The judgement of one token (a dt_view_t: its live networks, rate, user agents, segments and
 * travel) into a verdict, its score and its explanation; the configuration and names.
 *
 * Networks are counted so that one viewer stays at one (docs/detection.md):
 *   - a network is a prefix (/24, /64); one IPv4 and one IPv6 prefix of one ASN (or both of
 *     unknown ASN) are one network (dual-stack, casting on the other address family);
 *   - each known ASN is a cluster, and so are all prefixes of unknown ASN together; a cluster
 *     counts once, plus the prefixes used in it at the same time (overlapping by more than a
 *     segment duration: a carrier's address changes are sequential), and those extras no
 *     more than the request rate supports (a viewer per real-time rate: a carrier that
 *     interleaves addresses still serves one player's worth of requests).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "detect/internal.h"
#include "util/ip.h"
#include "warden/error.h"

/* ---- names ---- */

static const char *const level_names[] = {"ok", "suspect", "shared"};

const char *wd_verdict_level_name(wd_verdict_level_t l) {
  return (unsigned)l < 3 ? level_names[l] : "unknown";
}

int wd_verdict_level_parse(const char *s, wd_verdict_level_t *out) {
  if (!s || !out)
    return WD_EINVAL;
  for (unsigned i = 0; i < 3; i++)
    if (strcasecmp(s, level_names[i]) == 0) {
      *out = (wd_verdict_level_t)i;
      return 0;
    }
  return WD_EINVAL;
}

static const char *const signal_names[WD_SIGNAL_COUNT] = {
    "networks", "asns",        "countries",  "rate",      "same_segment",
    "travel",   "user_agents", "concurrent", "renditions"};

const char *wd_signal_name(unsigned bit) {
  for (unsigned i = 0; i < WD_SIGNAL_COUNT; i++)
    if (bit == 1u << i)
      return signal_names[i];
  return "unknown";
}

/* ---- configuration ---- */

void wd_detect_config_init(wd_detect_config_t *c) {
  memset(c, 0, sizeof *c);
  c->v4_prefix = 24;
  c->v6_prefix = 64;
  c->window_s = 60;
  c->idle_s = 1800;
  c->suspect_networks = 3;
  c->suspect_asns = 2;
  c->shared_networks = 5;
  c->shared_countries = 2;
  c->segment_seconds = 6;
  c->renditions = 1;
  c->rate_factor = 3;
  c->same_segment = 3;
  c->mirror_renditions = 2;
  c->travel_kmh = 1000;
  c->travel_min_km = 500;
  c->user_agents = 3;
  c->max_concurrent = 0;
  c->max_tokens = 16777216;
  c->max_detail = 0;
  c->shards = 256;
}

static int bad(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return WD_EINVAL;
}

#define RANGE(field, lo, hi)                                                                  \
  do {                                                                                        \
    if (c->field < (lo) || c->field > (hi))                                                   \
      return bad(err, errlen, "detect: " #field " %llu is out of range (%llu..%llu)",         \
                 (unsigned long long)c->field, (unsigned long long)(lo),                      \
                 (unsigned long long)(hi));                                                   \
  } while (0)
#define RANGE0(field, lo, hi)                                                                 \
  do {                                                                                        \
    if (c->field != 0 && (c->field < (lo) || c->field > (hi)))                                \
      return bad(err, errlen, "detect: " #field " %llu is out of range (%llu..%llu, or 0: off)", \
                 (unsigned long long)c->field, (unsigned long long)(lo),                      \
                 (unsigned long long)(hi));                                                   \
  } while (0)
#define DRANGE(field, lo, hi, off)                                                            \
  do {                                                                                        \
    if (!(((off) && c->field == 0) || (c->field >= (lo) && c->field <= (hi))))                \
      return bad(err, errlen, "detect: " #field " %g is out of range (%g..%g%s)", c->field,   \
                 (double)(lo), (double)(hi), (off) ? ", or 0: off" : "");                     \
  } while (0)

int wd_detect_config_check(const wd_detect_config_t *c, char *err, size_t errlen) {
  if (err && errlen)
    err[0] = '\0';
  if (!c)
    return bad(err, errlen, "detect: no configuration");
  RANGE(v4_prefix, 16, 32);
  RANGE(v6_prefix, 48, 128);
  RANGE(window_s, 10u, 3600u);
  if (c->idle_s < c->window_s || c->idle_s > 86400)
    return bad(err, errlen, "detect: idle_s %u is out of range (window_s %u..86400)", c->idle_s,
               c->window_s);
  RANGE(suspect_networks, 2u, 64u);
  RANGE(suspect_asns, 1u, 64u);
  RANGE0(shared_networks, c->suspect_networks, 64u);
  RANGE0(shared_countries, 2u, 64u);
  DRANGE(segment_seconds, 0.5, 60, 0);
  RANGE(renditions, 1u, 16u);
  DRANGE(rate_factor, 1.5, 100, 1);
  RANGE0(same_segment, 2u, 8u);
  RANGE0(mirror_renditions, 1u, 16u);
  DRANGE(travel_kmh, 100, 100000, 1);
  DRANGE(travel_min_km, 0, 20000, 0);
  RANGE0(user_agents, 2u, 8u);
  RANGE0(max_concurrent, 1u, 64u);
  RANGE(max_tokens, 1ull, 1ull << 31);
  RANGE0(max_detail, 1ull, 1ull << 31);
  if (c->shards < 1 || c->shards > 4096 || (c->shards & (c->shards - 1)))
    return bad(err, errlen, "detect: shards %u is not a power of two in 1..4096", c->shards);
  if (c->nallow_asns > WD_DETECT_LIST_MAX || c->nallow_cidrs > WD_DETECT_LIST_MAX ||
      c->nallow_subjects > WD_DETECT_LIST_MAX)
    return bad(err, errlen, "detect: an allow-list has more than %d entries", WD_DETECT_LIST_MAX);
  if ((c->nallow_asns && !c->allow_asns) || (c->nallow_cidrs && !c->allow_cidrs) ||
      (c->nallow_subjects && !c->allow_subjects))
    return bad(err, errlen, "detect: an allow-list has entries but no array");
  for (size_t i = 0; i < c->nallow_asns; i++)
    if (c->allow_asns[i] == 0)
      return bad(err, errlen, "detect: allow_asns[%zu] is 0 (ASNs start at 1)", i);
  for (size_t i = 0; i < c->nallow_cidrs; i++) {
    const char *s = c->allow_cidrs[i];
    wd_ip_t net;
    int plen;
    if (!s || wd_cidr_parse(s, strlen(s), &net, &plen) != 0)
      return bad(err, errlen, "detect: allow_cidrs[%zu] '%.64s' is not an address or prefix", i,
                 s ? s : "(null)");
  }
  for (size_t i = 0; i < c->nallow_subjects; i++) {
    const char *s = c->allow_subjects[i];
    if (!s || !*s || strlen(s) > WD_DETECT_KEY_MAX)
      return bad(err, errlen, "detect: allow_subjects[%zu] is empty or longer than %d bytes", i,
                 WD_DETECT_KEY_MAX);
  }
  return 0;
}

/* ---- small codecs ---- */

unsigned wd__dt_country_pack(const char *cc) {
  if (!cc)
    return 0;
  int a = (unsigned char)cc[0] & ~0x20, b = a ? (unsigned char)cc[1] & ~0x20 : 0; /* ASCII upper */
  if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z' || cc[2] != '\0')
    return 0;
  return 1u + 26u * (unsigned)(a - 'A') + (unsigned)(b - 'A');
}

void wd__dt_country_unpack(unsigned v, char out[3]) {
  if (v == 0 || v > 26 * 26) {
    out[0] = '\0';
    return;
  }
  v--;
  out[0] = (char)('A' + v / 26);
  out[1] = (char)('A' + v % 26);
  out[2] = '\0';
}

int16_t wd__dt_lat_pack(double lat) {
  if (!(lat >= -90 && lat <= 90))
    return DT_NOWHERE;
  return (int16_t)lround(lat * (32767.0 / 90.0));
}

int16_t wd__dt_lon_pack(double lon) {
  if (!(lon >= -180 && lon <= 180))
    return DT_NOWHERE;
  return (int16_t)lround(lon * (32767.0 / 180.0));
}

double wd__dt_lat_unpack(int16_t v) { return v == DT_NOWHERE ? NAN : v * (90.0 / 32767.0); }
double wd__dt_lon_unpack(int16_t v) { return v == DT_NOWHERE ? NAN : v * (180.0 / 32767.0); }

double wd__dt_km(double lat1, double lon1, double lat2, double lon2) {
  const double r = M_PI / 180.0;
  double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
  double a = sin(dlat / 2) * sin(dlat / 2) +
             cos(lat1 * r) * cos(lat2 * r) * sin(dlon / 2) * sin(dlon / 2);
  if (a > 1)
    a = 1;
  return 2 * 6371.0 * asin(sqrt(a));
}

/* ---- counting ---- */

/* Most intervals of `mask` (one family of one cluster) that share a point, each interval
 * shortened by `grace` at its end: two networks overlapping by less than a segment duration
 * (requests in flight at a switch) are not in use at once. At least 1 when mask is not empty. */
static unsigned at_once(const dt_view_t *v, unsigned mask, int32_t from, int32_t grace) {
  unsigned best = mask ? 1 : 0;
  for (size_t i = 0; i < v->n; i++) {
    if (!(mask >> i & 1))
      continue;
    int32_t si = v->net[i].first > from ? v->net[i].first : from;
    if (v->net[i].last - grace < si)
      continue;
    unsigned k = 0;
    for (size_t j = 0; j < v->n; j++) {
      if (!(mask >> j & 1))
        continue;
      int32_t sj = v->net[j].first > from ? v->net[j].first : from, ej = v->net[j].last - grace;
      if (ej >= sj && sj <= si && si <= ej)
        k++;
    }
    if (k > best)
      best = k;
  }
  return best;
}

/* Clusters: indices of v->net grouped by ASN (a stand-in for an unknown one, see internal.h). Returns how many, with
 * the member bits of each in masks[]. */
static size_t clusters(const dt_view_t *v, unsigned mask, unsigned masks[DT_NETS]) {
  size_t n = 0;
  uint32_t asn[DT_NETS];
  for (size_t i = 0; i < v->n; i++) {
    if (!(mask >> i & 1))
      continue;
    size_t k = 0;
    while (k < n && asn[k] != v->net[i].asn)
      k++;
    if (k == n) {
      asn[n] = v->net[i].asn;
      masks[n++] = 0;
    }
    masks[k] |= 1u << i;
  }
  return n;
}

static unsigned family_mask(const dt_view_t *v, unsigned mask, int family) {
  unsigned m = 0;
  for (size_t i = 0; i < v->n; i++)
    if ((mask >> i & 1) && dt_fp_family(v->net[i].fp) == family)
      m |= 1u << i;
  return m;
}

static unsigned popcount(unsigned x) {
  unsigned n = 0;
  for (; x; x &= x - 1)
    n++;
  return n;
}

/* Round a non-negative value to the nearest integer. */
static unsigned round_u(double x) { return x > 0 ? (unsigned)(x + 0.5) : 0; }

/* The ASN of cluster k: a stand-in one (unknown ASN) holds one family only (internal.h). */
static uint32_t cluster_asn(const dt_view_t *v, unsigned mask) {
  for (size_t i = 0; i < v->n; i++)
    if (mask >> i & 1)
      return v->net[i].asn;
  return 0;
}

/* Sum per-cluster figures: clusters of known ASNs add up; those of unknown ASNs add up per
 * family and the larger family counts, so a dual-stack client on unknown networks is one. */
typedef struct tally {
  unsigned known, unknown4, unknown6;
} tally_t;

static void tally_add(tally_t *t, const dt_view_t *v, unsigned mask, unsigned n) {
  if (dt_asn_known(cluster_asn(v, mask)))
    t->known += n;
  else if (family_mask(v, mask, 6))
    t->unknown6 += n;
  else
    t->unknown4 += n;
}

static unsigned tally_sum(const tally_t *t) {
  return t->known + (t->unknown4 > t->unknown6 ? t->unknown4 : t->unknown6);
}

unsigned wd__detect_clients(const dt_view_t *v, unsigned mask) {
  unsigned masks[DT_NETS];
  tally_t t = {0, 0, 0};
  size_t nc = clusters(v, mask, masks);
  for (size_t k = 0; k < nc; k++) {
    unsigned n4 = popcount(family_mask(v, masks[k], 4)), n6 = popcount(family_mask(v, masks[k], 6));
    tally_add(&t, v, masks[k], n4 > n6 ? n4 : n6);
  }
  return tally_sum(&t);
}

static unsigned distinct_countries(const dt_view_t *v, unsigned mask) {
  unsigned seen[DT_NETS], n = 0;
  for (size_t i = 0; i < v->n; i++) {
    unsigned cc = dt_fp_country(v->net[i].fp);
    if (!(mask >> i & 1) || !cc)
      continue;
    unsigned k = 0;
    while (k < n && seen[k] != cc)
      k++;
    if (k == n)
      seen[n++] = cc;
  }
  return n;
}

/* Most known countries in use at the same time (intervals as at_once). */
static unsigned countries_at_once(const dt_view_t *v, unsigned all, int32_t from, int32_t grace) {
  unsigned best = distinct_countries(v, all) ? 1 : 0;
  for (size_t i = 0; i < v->n; i++) {
    int32_t si = v->net[i].first > from ? v->net[i].first : from;
    if (v->net[i].last - grace < si)
      continue;
    unsigned m = 0;
    for (size_t j = 0; j < v->n; j++) {
      int32_t sj = v->net[j].first > from ? v->net[j].first : from, ej = v->net[j].last - grace;
      if (ej >= sj && sj <= si && si <= ej)
        m |= 1u << j;
    }
    unsigned k = distinct_countries(v, m);
    if (k > best)
      best = k;
  }
  return best;
}

/* Prefixes of one cluster in use at once: IPv4 and IPv6 counted apart (dual-stack pairs up). */
static unsigned cluster_at_once(const dt_view_t *v, unsigned mask, int32_t from, int32_t grace) {
  unsigned c4 = at_once(v, family_mask(v, mask, 4), from, grace);
  unsigned c6 = at_once(v, family_mask(v, mask, 6), from, grace);
  return c4 > c6 ? c4 : c6;
}

/* The figures of a verdict: networks, prefixes, clients, ASNs, countries, concurrent viewers,
 * same segment. by_rate: the viewers the request rate supports (at least 1). */
static void count(const dt_view_t *v, unsigned by_rate, int32_t from, int32_t grace,
                  wd_verdict_t *out) {
  out->prefixes = (unsigned)v->n + v->over;
  out->user_agents = v->user_agents;
  if (v->n <= 1 && v->nsegs == 0) {
    /* one network (most tokens): nothing to cluster */
    out->networks = out->clients = (unsigned)v->n;
    out->asns = v->n && dt_asn_known(v->net[0].asn) ? 1 : 0;
    out->countries = out->countries_at_once = v->n && dt_fp_country(v->net[0].fp) ? 1 : 0;
    out->concurrent = v->n && v->net[0].last >= v->now - 3 * grace ? 1 : 0;
    out->same_segment = 0;
    out->renditions = 0;
    out->clients += v->over;
    return;
  }
  unsigned all = (1u << v->n) - 1, masks[DT_NETS];
  size_t nc = clusters(v, all, masks);
  out->networks = out->asns = 0;
  tally_t nets = {0, 0, 0};
  for (size_t k = 0; k < nc; k++) {
    unsigned cl = cluster_at_once(v, masks[k], from, grace);
    tally_add(&nets, v, masks[k], 1 + (cl - 1 < by_rate - 1 ? cl - 1 : by_rate - 1));
    for (size_t i = 0; i < v->n; i++)
      if ((masks[k] >> i & 1) && dt_asn_known(v->net[i].asn)) {
        out->asns++;
        break;
      }
  }
  out->networks = tally_sum(&nets);
  /* networks beyond those kept (v->over) count as prefixes and clients only: whether they were
   * in use at once is not known, and counting them would make a fast-rotating carrier many */
  out->clients = wd__detect_clients(v, all) + v->over;
  out->countries = distinct_countries(v, all);
  out->countries_at_once = countries_at_once(v, all, from, grace);

  /* concurrent viewers: clusters active over the last three segment durations */
  unsigned recent = 0;
  for (size_t i = 0; i < v->n; i++)
    if (v->net[i].last >= v->now - 3 * grace)
      recent |= 1u << i;
  nc = clusters(v, recent, masks);
  tally_t conc = {0, 0, 0};
  for (size_t k = 0; k < nc; k++) {
    unsigned n = wd__detect_clients(v, masks[k]);
    tally_add(&conc, v, masks[k], n < by_rate ? n : by_rate);
  }
  out->concurrent = tally_sum(&conc);

  /* same segment: networks of different clusters, and of one cluster those in use at once
   * (a carrier's next address fetching what the previous one did is one viewer) */
  out->renditions = v->renditions;
  out->same_segment = 0;
  for (size_t s = 0; s < v->nsegs; s++) {
    tally_t seg = {0, 0, 0};
    nc = clusters(v, v->seg_nets[s], masks);
    for (size_t j = 0; j < nc; j++)
      tally_add(&seg, v, masks[j], cluster_at_once(v, masks[j], from, grace));
    unsigned k = tally_sum(&seg);
    if (k > out->same_segment)
      out->same_segment = k;
  }
}

void wd__detect_judge(const wd_detect_config_t *c, const dt_view_t *v, wd_verdict_t *out) {
  int32_t grace = (int32_t)round_u(c->segment_seconds);
  if (grace < 1)
    grace = 1;
  out->window_s = c->window_s;
  out->requests = round_u(v->requests);
  double expected = (double)c->window_s * 2.0 * c->renditions / c->segment_seconds;
  out->rate = v->requests / expected;
  count(v, out->rate > 1 ? round_u(out->rate) : 1, v->now - (int32_t)c->window_s, grace, out);

  /* the rules */
  unsigned eff = out->networks, asns = out->asns, conc = out->concurrent;
  wd_verdict_level_t lv = WD_VERDICT_OK;
  unsigned sig = 0;
#define RAISE(level, bits)                                                                    \
  do {                                                                                        \
    if ((level) > lv)                                                                         \
      lv = (level);                                                                           \
    sig |= (bits);                                                                            \
  } while (0)
  if (eff >= c->suspect_networks && asns >= c->suspect_asns)
    RAISE(WD_VERDICT_SUSPECT, WD_SIGNAL_NETWORKS | (asns > 1 ? WD_SIGNAL_ASNS : 0));
  if (c->shared_networks && eff >= c->shared_networks && (asns >= 2 || asns == 0))
    RAISE(WD_VERDICT_SHARED, WD_SIGNAL_NETWORKS | (asns > 1 ? WD_SIGNAL_ASNS : 0));
  if (c->shared_countries && out->countries_at_once >= c->shared_countries)
    RAISE(WD_VERDICT_SHARED, WD_SIGNAL_COUNTRIES);
  if (c->rate_factor > 0 && out->rate > c->rate_factor)
    RAISE(WD_VERDICT_SUSPECT, WD_SIGNAL_RATE);
  if (c->same_segment && out->same_segment >= c->same_segment)
    RAISE(WD_VERDICT_SHARED, WD_SIGNAL_SAME_SEGMENT);
  if (c->mirror_renditions && out->renditions >= c->renditions + c->mirror_renditions)
    RAISE(WD_VERDICT_SHARED, WD_SIGNAL_RENDITIONS);
  if (v->travel)
    RAISE(WD_VERDICT_SUSPECT, WD_SIGNAL_TRAVEL);
  if (c->max_concurrent && conc > c->max_concurrent)
    RAISE(WD_VERDICT_SUSPECT, WD_SIGNAL_CONCURRENT);
  if (c->user_agents && v->user_agents >= c->user_agents && lv > WD_VERDICT_OK)
    sig |= WD_SIGNAL_USER_AGENTS;
#undef RAISE
  out->level = lv;
  out->signals = sig;

  out->travel_km = v->travel ? v->travel_km : 0;
  out->travel_s = v->travel ? v->travel_s : 0;
  if (v->travel) {
    out->travel_from = v->from;
    out->travel_to = v->to;
  } else {
    memset(&out->travel_from, 0, sizeof out->travel_from);
    memset(&out->travel_to, 0, sizeof out->travel_to);
  }

  /* the score: every component adds, then the level's band bounds it */
  double pts = eff > 1 ? (eff - 1) * 12.0 : 0;
  pts += asns > 1 ? (asns - 1 > 3 ? 15 : (asns - 1) * 5.0) : 0;
  if (out->countries_at_once > 1)
    pts += (out->countries_at_once - 1) * 25.0;
  pts += (out->countries - out->countries_at_once) * 5.0;
  if (out->rate > 1)
    pts += out->rate - 1 > 3 ? 30 : (out->rate - 1) * 10;
  if (out->same_segment > 1)
    pts += (out->same_segment - 1) * 15.0;
  if (out->renditions > c->renditions)
    pts += (out->renditions - c->renditions) * 15.0;
  if (v->travel)
    pts += 30;
  if (v->user_agents > 1)
    pts += v->user_agents - 1 > 3 ? 15 : (v->user_agents - 1) * 5.0;
  if (conc > 1)
    pts += (conc - 1) * 5.0;
  static const unsigned lo[] = {0, 40, 70}, hi[] = {39, 69, 100};
  unsigned sc = pts > 100 ? 100 : (unsigned)pts;
  if (sc < lo[lv])
    sc = lo[lv];
  if (sc > hi[lv])
    sc = hi[lv];
  out->score = sc;
  out->degraded = v->over > 0;
}

/* ---- explanation ---- */

typedef struct line {
  char *buf;
  size_t cap, len;
} line_t;

static void put(line_t *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = l->len < l->cap ? l->cap - l->len : 0;
  int n = vsnprintf(room ? l->buf + l->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0)
    l->len += (size_t)n;
}

static void sep(line_t *l) {
  if (l->len)
    put(l, "; ");
}

/* 9400 -> "9,400" */
static void thousands(unsigned v, char out[16]) {
  char tmp[16];
  int n = snprintf(tmp, sizeof tmp, "%u", v), o = 0;
  for (int i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0)
      out[o++] = ',';
    out[o++] = tmp[i];
  }
  out[o] = '\0';
}

static void duration(unsigned s, char out[32]) {
  if (s < 120)
    snprintf(out, 32, "%u s", s);
  else if (s < 7200)
    snprintf(out, 32, "%u minutes", (s + 30) / 60);
  else
    snprintf(out, 32, "%.1f hours", s / 3600.0);
}

static void place(const wd_detect_place_t *p, char out[80]) {
  if (p->city[0])
    snprintf(out, 80, "%s", p->city);
  else if (p->country[0])
    snprintf(out, 80, "%s", p->country);
  else
    snprintf(out, 80, "(%.1f, %.1f)", p->lat, p->lon);
}

static const char *plural(unsigned n) { return n == 1 ? "" : "s"; }

size_t wd_detect_explain(const wd_verdict_t *v, char *buf, size_t cap) {
  line_t l = {buf, cap, 0};
  if (buf && cap)
    buf[0] = '\0';
  if (!v)
    return 0;
  if (v->allowlisted) {
    put(&l, "allow-listed: not counted");
    return l.len;
  }
  if (v->untracked) {
    put(&l, "not tracked: the tracker is full");
    return l.len;
  }
  if (v->level == WD_VERDICT_OK) {
    put(&l, "%u network%s, %u request%s in %u s", v->networks, plural(v->networks), v->requests,
        plural(v->requests), v->window_s);
    if (v->prefixes > v->networks)
      put(&l, " (%s%u prefixes: address changes of one viewer)", v->degraded ? "about " : "",
          v->prefixes);
  } else {
    put(&l, "%u network%s in %u s", v->networks, plural(v->networks), v->window_s);
    if (v->asns > 1)
      put(&l, " across %u ASNs", v->asns);
    if (v->countries > 1)
      put(&l, "%s %u countries", v->asns > 1 ? " and" : " across", v->countries);
    if (v->degraded)
      put(&l, " (about %u prefixes: more than kept)", v->prefixes);
  }
  if (v->signals & WD_SIGNAL_SAME_SEGMENT) {
    sep(&l);
    put(&l, "one segment fetched from %u networks", v->same_segment);
  }
  if (v->signals & WD_SIGNAL_RENDITIONS) {
    sep(&l);
    put(&l, "one segment fetched in %u renditions", v->renditions);
  }
  if (v->signals & WD_SIGNAL_COUNTRIES) {
    sep(&l);
    put(&l, "in use from %u countries at once", v->countries_at_once);
  }
  if (v->signals & WD_SIGNAL_TRAVEL) {
    char a[80], b[80], km[16], d[32];
    place(&v->travel_from, a);
    place(&v->travel_to, b);
    thousands(v->travel_km, km);
    duration(v->travel_s, d);
    sep(&l);
    put(&l, "%s to %s (%s km) in %s", a, b, km, d);
  }
  if (v->signals & WD_SIGNAL_RATE) {
    sep(&l);
    put(&l, v->rate < 10 ? "%u requests, %.2f times the real-time rate"
                         : "%u requests, %.0f times the real-time rate",
        v->requests, v->rate);
  }
  if (v->signals & WD_SIGNAL_CONCURRENT) {
    sep(&l);
    put(&l, "%u concurrent viewers", v->concurrent);
  }
  if (v->signals & WD_SIGNAL_USER_AGENTS) {
    sep(&l);
    put(&l, "%u user agents", v->user_agents);
  }
  return l.len;
}
