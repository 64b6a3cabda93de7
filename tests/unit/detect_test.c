/* lib/detect: sharing detection. Every signal at its threshold and below it, the false
 * positives the field knows (carrier address rotation, dual-stack, hand-over, households,
 * casting), explanations, expiry, allow-lists, evidence, capacity, threads and memory. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/ip.h"
#include "warden/detect.h"
#include "warden/error.h"

#define T0 1700000000000LL /* ms */
#define S(x) ((int64_t)(x) * 1000)

/* A client network: address, ASN, country, location. */
typedef struct net {
  const char *ip;
  uint32_t asn;
  const char *cc;
  double lat, lon;
  const char *city;
} net_t;

static wd_tracker_t *mk(const wd_detect_config_t *c) {
  wd_detect_config_t d;
  if (!c) {
    wd_detect_config_init(&d);
    d.seed = 42;
    c = &d;
  }
  wd_tracker_t *t = NULL;
  assert_int_equal(wd_tracker_create(c, &t), 0);
  assert_non_null(t);
  return t;
}

static wd_verdict_t see_ua(wd_tracker_t *t, const char *key, int64_t ms, const net_t *n,
                           const char *seg, const char *ua) {
  wd_observation_t o;
  wd_observation_init(&o);
  o.key = key;
  o.now_ms = ms;
  wd_ip_t ip;
  assert_int_equal(wd_ip_parse(n->ip, strlen(n->ip), &ip), 0);
  o.family = ip.family;
  memcpy(o.addr, ip.a, 16);
  wd_geo_info_t g;
  memset(&g, 0, sizeof g);
  g.asn = n->asn;
  snprintf(g.country, sizeof g.country, "%s", n->cc ? n->cc : "");
  g.lat = n->city || n->lat != 0 ? n->lat : NAN;
  g.lon = n->city || n->lon != 0 ? n->lon : NAN;
  snprintf(g.city, sizeof g.city, "%s", n->city ? n->city : "");
  o.geo = &g;
  o.segment = seg;
  o.user_agent = ua;
  wd_verdict_t v;
  assert_int_equal(wd_tracker_observe(t, &o, &v), 0);
  return v;
}

static wd_verdict_t see(wd_tracker_t *t, const char *key, int64_t ms, const net_t *n,
                        const char *seg) {
  return see_ua(t, key, ms, n, seg, "Mozilla/5.0 (player)");
}

/*
 * Viewers playing live with one token from t0 to t1 (seconds after T0): every 6 s each fetches
 * the playlist and the current segment (the same for everyone: live), viewer i about i*0.3 s
 * after the first. Returns the last verdict; *worst gets the highest level seen.
 */
static wd_verdict_t play(wd_tracker_t *t, const char *key, const net_t *nets, size_t n, int t0,
                         int t1, int live, wd_verdict_level_t *worst) {
  wd_verdict_t v;
  memset(&v, 0, sizeof v);
  if (worst)
    *worst = WD_VERDICT_OK;
  for (int s = t0; s < t1; s += 6)
    for (size_t i = 0; i < n; i++) {
      char seg[64];
      /* VOD viewers are each at their own position */
      snprintf(seg, sizeof seg, "/live/seg%d.ts", s / 6 + (live ? 0 : (int)i * 1000));
      int64_t at = T0 + S(s) + (int64_t)i * 300;
      v = see(t, key, at, &nets[i], NULL);
      if (worst && v.level > *worst)
        *worst = v.level;
      v = see(t, key, at + 100, &nets[i], seg);
      if (worst && v.level > *worst)
        *worst = v.level;
    }
  return v;
}

static char *explain(const wd_verdict_t *v) {
  static char buf[512];
  wd_detect_explain(v, buf, sizeof buf);
  return buf;
}

/* ---- configuration ---- */

static void config_defaults_and_checks(void **state) {
  (void)state;
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  assert_int_equal(c.v4_prefix, 24);
  assert_int_equal(c.v6_prefix, 64);
  assert_int_equal(c.window_s, 60);
  assert_int_equal(c.suspect_networks, 3);
  assert_int_equal(c.suspect_asns, 2);
  assert_int_equal(c.shared_networks, 5);
  assert_int_equal(c.shared_countries, 2);
  assert_true(c.segment_seconds == 6);
  assert_int_equal(c.renditions, 1);
  assert_true(c.rate_factor == 3);
  assert_int_equal(c.same_segment, 3);
  assert_int_equal(c.mirror_renditions, 2);
  assert_true(c.travel_kmh == 1000 && c.travel_min_km == 500);
  char err[256];
  assert_int_equal(wd_detect_config_check(&c, err, sizeof err), 0);

  c.window_s = 0;
  assert_int_equal(wd_detect_config_check(&c, err, sizeof err), WD_EINVAL);
  assert_non_null(strstr(err, "window_s 0 is out of range"));
  wd_tracker_t *t = NULL;
  assert_int_equal(wd_tracker_create(&c, &t), WD_EINVAL);
  assert_null(t);

  wd_detect_config_init(&c);
  c.v6_prefix = 40;
  assert_int_equal(wd_detect_config_check(&c, err, sizeof err), WD_EINVAL);
  assert_non_null(strstr(err, "v6_prefix"));
  wd_detect_config_init(&c);
  c.shards = 100;
  assert_int_equal(wd_detect_config_check(&c, err, sizeof err), WD_EINVAL);
  assert_non_null(strstr(err, "power of two"));
  wd_detect_config_init(&c);
  const char *cidrs[] = {"10.0.0.0/8", "10.0.0.0/33"};
  c.allow_cidrs = cidrs;
  c.nallow_cidrs = 2;
  assert_int_equal(wd_detect_config_check(&c, err, sizeof err), WD_EINVAL);
  assert_non_null(strstr(err, "allow_cidrs[1] '10.0.0.0/33'"));
  wd_detect_config_init(&c);
  c.rate_factor = 0; /* off */
  c.same_segment = 0;
  c.travel_kmh = 0;
  assert_int_equal(wd_detect_config_check(&c, err, sizeof err), 0);

  wd_verdict_level_t l;
  assert_int_equal(wd_verdict_level_parse("Shared", &l), 0);
  assert_int_equal(l, WD_VERDICT_SHARED);
  assert_int_equal(wd_verdict_level_parse("bad", &l), WD_EINVAL);
  assert_string_equal(wd_verdict_level_name(WD_VERDICT_SUSPECT), "suspect");
  assert_string_equal(wd_signal_name(WD_SIGNAL_SAME_SEGMENT), "same_segment");
  assert_string_equal(wd_signal_name(WD_SIGNAL_RENDITIONS), "renditions");
  assert_string_equal(wd_signal_name(3), "unknown");
}

static void bad_input(void **state) {
  (void)state;
  wd_tracker_t *t = mk(NULL);
  wd_observation_t o;
  wd_verdict_t v;
  wd_observation_init(&o);
  o.family = 4;
  o.now_ms = T0;
  assert_int_equal(wd_tracker_observe(t, &o, &v), WD_EINVAL); /* no key */
  assert_int_equal(v.level, WD_VERDICT_OK);
  o.key = "";
  assert_int_equal(wd_tracker_observe(t, &o, &v), WD_EINVAL);
  char long_key[WD_DETECT_KEY_MAX + 2];
  memset(long_key, 'k', sizeof long_key - 1);
  long_key[sizeof long_key - 1] = '\0';
  o.key = long_key;
  assert_int_equal(wd_tracker_observe(t, &o, &v), WD_EINVAL);
  o.key = "tok";
  o.family = 5;
  assert_int_equal(wd_tracker_observe(t, &o, &v), WD_EINVAL);
  o.family = 4;
  o.now_ms = -1;
  assert_int_equal(wd_tracker_observe(t, &o, &v), WD_EINVAL);
  o.now_ms = T0;
  assert_int_equal(wd_tracker_observe(t, &o, NULL), 0); /* no geo, no verdict wanted */
  assert_int_equal(wd_tracker_observe(NULL, &o, &v), WD_EINVAL);
  wd_detect_evidence_t ev;
  assert_int_equal(wd_tracker_get(t, "tok", T0, &ev), 0);
  assert_int_equal(wd_tracker_get(t, "other", T0, &ev), WD_ENOTOKEN);
  assert_int_equal(wd_tracker_get(t, "", T0, &ev), WD_EINVAL);
  wd_tracker_destroy(t);
  wd_tracker_destroy(NULL);
}

static void segment_paths(void **state) {
  (void)state;
  assert_true(wd_detect_is_segment("/live/seg12.ts"));
  assert_true(wd_detect_is_segment("/v/chunk-3.M4S?token=abc"));
  assert_true(wd_detect_is_segment("/a/b.cmfv"));
  assert_true(wd_detect_is_segment("/subs/en.vtt"));
  assert_false(wd_detect_is_segment("/live/index.m3u8"));
  assert_false(wd_detect_is_segment("/dash/manifest.mpd?x=.ts"));
  assert_false(wd_detect_is_segment("/live/ts"));
  assert_false(wd_detect_is_segment("/dir.ts/file"));
  assert_false(wd_detect_is_segment(NULL));
}

/* ---- one viewer ---- */

static void one_viewer_ok(void **state) {
  (void)state;
  wd_tracker_t *t = mk(NULL);
  net_t home = {"198.51.100.7", 3301, "SE", 59.33, 18.07, "Stockholm"};
  wd_verdict_level_t worst;
  wd_verdict_t v = play(t, "tok", &home, 1, 0, 300, 1, &worst);
  assert_int_equal(worst, WD_VERDICT_OK);
  assert_int_equal(v.networks, 1);
  assert_int_equal(v.prefixes, 1);
  assert_int_equal(v.clients, 1);
  assert_int_equal(v.signals, 0);
  assert_true(v.rate > 0.8 && v.rate < 1.2);
  assert_true(v.score < 40);
  assert_int_equal(v.same_segment, 0);
  /* "1 network, 20 requests in 60 s" */
  char want[64];
  snprintf(want, sizeof want, "1 network, %u requests in 60 s", v.requests);
  assert_string_equal(explain(&v), want);
  wd_tracker_destroy(t);
}

/* ---- networks ---- */

static const net_t isp[] = {
    {"203.0.113.10", 64501, "SE", 0, 0, NULL}, {"198.51.100.20", 64502, "SE", 0, 0, NULL},
    {"192.0.2.30", 64503, "SE", 0, 0, NULL},   {"100.64.1.40", 64504, "SE", 0, 0, NULL},
    {"100.65.2.50", 64505, "SE", 0, 0, NULL},  {"100.66.3.60", 64506, "SE", 0, 0, NULL},
};

static void networks_suspect_at_three(void **state) {
  (void)state;
  wd_verdict_level_t worst;
  /* two viewers in two ASNs: below the threshold */
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v = play(t, "tok", isp, 2, 0, 120, 0, &worst);
  assert_int_equal(worst, WD_VERDICT_OK);
  assert_int_equal(v.networks, 2);
  assert_int_equal(v.asns, 2);
  wd_tracker_destroy(t);
  /* three: suspect, networks over ASNs */
  t = mk(NULL);
  v = play(t, "tok", isp, 3, 0, 120, 0, &worst);
  assert_int_equal(v.level, WD_VERDICT_SUSPECT);
  assert_int_equal(v.networks, 3);
  assert_int_equal(v.asns, 3);
  assert_true(v.signals & WD_SIGNAL_NETWORKS);
  assert_true(v.signals & WD_SIGNAL_ASNS);
  assert_true(v.score >= 40 && v.score < 70);
  assert_non_null(strstr(explain(&v), "3 networks in 60 s across 3 ASNs"));
  wd_tracker_destroy(t);
  /* three networks in one ASN (sequential: one viewer's addresses) stay OK; see also
   * carrier_rotation */
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.seed = 7;
  c.suspect_asns = 1; /* even when one ASN would do, sequential changes count once */
  t = mk(&c);
  net_t seq[3] = {{"10.1.1.1", 64501, "SE", 0, 0, NULL}, {"10.1.2.1", 64501, "SE", 0, 0, NULL},
                  {"10.1.3.1", 64501, "SE", 0, 0, NULL}};
  worst = WD_VERDICT_OK;
  for (int s = 0; s < 90; s += 6) {
    v = see(t, "tok", T0 + S(s), &seq[s / 30], NULL);
    if (v.level > worst)
      worst = v.level;
  }
  assert_int_equal(worst, WD_VERDICT_OK);
  assert_int_equal(v.networks, 1);
  assert_int_equal(v.prefixes, 3);
  wd_tracker_destroy(t);
}

static void networks_shared_at_five(void **state) {
  (void)state;
  wd_verdict_level_t worst;
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v = play(t, "tok", isp, 4, 0, 120, 0, &worst);
  assert_int_equal(v.networks, 4);
  assert_int_equal(v.level, WD_VERDICT_SUSPECT); /* 4 networks; and 4x the rate */
  assert_false(v.signals & WD_SIGNAL_COUNTRIES);
  wd_tracker_destroy(t);
  t = mk(NULL);
  v = play(t, "tok", isp, 5, 0, 120, 0, &worst);
  assert_int_equal(v.level, WD_VERDICT_SHARED);
  assert_int_equal(v.networks, 5);
  assert_true(v.signals & WD_SIGNAL_NETWORKS);
  assert_true(v.score >= 70);
  wd_tracker_destroy(t);
}

static void countries_at_once(void **state) {
  (void)state;
  const net_t two[] = {{"203.0.113.10", 64501, "FR", 0, 0, NULL},
                       {"198.51.100.20", 64502, "DE", 0, 0, NULL}};
  const net_t same[] = {{"203.0.113.10", 64501, "FR", 0, 0, NULL},
                        {"198.51.100.20", 64502, "FR", 0, 0, NULL}};
  wd_verdict_level_t worst;
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v = play(t, "tok", same, 2, 0, 60, 0, &worst);
  assert_int_equal(worst, WD_VERDICT_OK);
  assert_int_equal(v.countries, 1);
  wd_tracker_destroy(t);

  t = mk(NULL);
  v = play(t, "tok", two, 2, 0, 60, 0, &worst);
  assert_int_equal(v.level, WD_VERDICT_SHARED);
  assert_true(v.signals & WD_SIGNAL_COUNTRIES);
  assert_int_equal(v.countries, 2);
  assert_int_equal(v.countries_at_once, 2);
  assert_non_null(strstr(explain(&v), "in use from 2 countries at once"));
  wd_tracker_destroy(t);

  /* one country after the other (a VPN switched on): two countries, not at once */
  t = mk(NULL);
  worst = WD_VERDICT_OK;
  for (int s = 0; s < 60; s += 6) {
    v = see(t, "tok", T0 + S(s), &two[s < 30 ? 0 : 1], NULL);
    if (v.level > worst)
      worst = v.level;
  }
  assert_int_equal(worst, WD_VERDICT_OK);
  assert_int_equal(v.countries, 2);
  assert_int_equal(v.countries_at_once, 1);
  wd_tracker_destroy(t);

  /* unknown countries are not counted */
  const net_t unknown[] = {{"203.0.113.10", 64501, "", 0, 0, NULL},
                           {"198.51.100.20", 64502, "", 0, 0, NULL}};
  t = mk(NULL);
  v = play(t, "tok", unknown, 2, 0, 60, 0, &worst);
  assert_int_equal(worst, WD_VERDICT_OK);
  assert_int_equal(v.countries, 0);
  wd_tracker_destroy(t);
}

/* ---- rate ---- */

static void rate_above_three_times(void **state) {
  (void)state;
  /* real time: 2 requests per 6 s = 20 a minute; suspect above 60 */
  const net_t *n = &isp[0];
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v;
  for (int i = 0; i < 60; i++)
    v = see(t, "tok", T0 + i * 950, n, NULL);
  assert_int_equal(v.requests, 60);
  assert_true(fabs(v.rate - 3.0) < 1e-9);
  assert_int_equal(v.level, WD_VERDICT_OK);
  v = see(t, "tok", T0 + 57000, n, NULL);
  assert_int_equal(v.requests, 61);
  assert_int_equal(v.level, WD_VERDICT_SUSPECT);
  assert_int_equal(v.signals, WD_SIGNAL_RATE);
  assert_non_null(strstr(explain(&v), "61 requests, 3.05 times the real-time rate"));
  wd_tracker_destroy(t);

  /* two renditions (audio and video): twice the requests are real time */
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.renditions = 2;
  t = mk(&c);
  for (int i = 0; i < 100; i++)
    v = see(t, "tok", T0 + i * 590, n, NULL);
  assert_int_equal(v.level, WD_VERDICT_OK);
  wd_tracker_destroy(t);

  /* the window slides: a burst a minute ago weighs less and less */
  t = mk(NULL);
  for (int i = 0; i < 70; i++)
    v = see(t, "tok", T0 + i * 100, n, NULL);
  assert_int_equal(v.level, WD_VERDICT_SUSPECT);
  v = see(t, "tok", T0 + S(100), n, NULL);
  assert_int_equal(v.level, WD_VERDICT_OK);
  assert_true(v.requests < 60);
  wd_tracker_destroy(t);
}

/* ---- same segment ---- */

static void same_segment_from_three_networks(void **state) {
  (void)state;
  /* three prefixes of one ASN (neighbours on one ISP): no network rule applies (one ASN) */
  const net_t nb[] = {{"203.0.113.10", 64501, "SE", 0, 0, NULL},
                      {"203.0.114.10", 64501, "SE", 0, 0, NULL},
                      {"203.0.115.10", 64501, "SE", 0, 0, NULL}};
  wd_verdict_level_t worst;
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v = play(t, "tok", nb, 3, 0, 30, 1, &worst);
  assert_int_equal(v.level, WD_VERDICT_SHARED);
  assert_true(v.signals & WD_SIGNAL_SAME_SEGMENT);
  assert_int_equal(v.same_segment, 3);
  assert_false(v.signals & WD_SIGNAL_NETWORKS);
  assert_non_null(strstr(explain(&v), "one segment fetched from 3 networks"));
  wd_tracker_destroy(t);

  /* the same three, but only two watch live (the third is elsewhere in a VOD): below */
  t = mk(NULL);
  worst = WD_VERDICT_OK;
  for (int s = 0; s < 30; s += 6)
    for (int i = 0; i < 3; i++) {
      char seg[32];
      snprintf(seg, sizeof seg, "/v/seg%d.ts", i == 2 ? 500 + s : s);
      v = see(t, "tok", T0 + S(s) + i * 300, &nb[i], seg);
    }
  assert_int_equal(v.same_segment, 2);
  assert_false(v.signals & WD_SIGNAL_SAME_SEGMENT);
  assert_true(v.level < WD_VERDICT_SHARED);
  wd_tracker_destroy(t);

  /* one client fetching one segment again and again is one network, not reuse */
  t = mk(NULL);
  for (int i = 0; i < 10; i++)
    v = see(t, "tok", T0 + i * 200, &nb[0], "/v/seg1.ts");
  assert_int_equal(v.clients, 1);
  assert_true(v.same_segment <= 1);
  assert_int_equal(v.level, WD_VERDICT_OK);
  wd_tracker_destroy(t);
}

/* ---- travel ---- */

static void travel_impossible(void **state) {
  (void)state;
  const net_t paris = {"203.0.113.10", 3215, "FR", 48.8566, 2.3522, "Paris"};
  const net_t sp = {"198.51.100.20", 28573, "BR", -23.5505, -46.6333, "São Paulo"};
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v = see(t, "tok", T0, &paris, NULL);
  assert_int_equal(v.level, WD_VERDICT_OK);
  v = see(t, "tok", T0 + S(240), &sp, NULL);
  assert_int_equal(v.level, WD_VERDICT_SUSPECT);
  assert_true(v.signals & WD_SIGNAL_TRAVEL);
  assert_true(v.travel_km > 9300 && v.travel_km < 9500);
  assert_int_equal(v.travel_s, 240);
  assert_string_equal(v.travel_from.city, "Paris");
  assert_string_equal(v.travel_to.country, "BR");
  char want[96];
  snprintf(want, sizeof want, "Paris to São Paulo (%u,%03u km) in 4 minutes", v.travel_km / 1000,
           v.travel_km % 1000);
  assert_non_null(strstr(explain(&v), want));
  /* sticky for the window, then gone */
  v = see(t, "tok", T0 + S(250), &sp, NULL);
  assert_true(v.signals & WD_SIGNAL_TRAVEL);
  v = see(t, "tok", T0 + S(320), &sp, NULL);
  assert_false(v.signals & WD_SIGNAL_TRAVEL);
  assert_int_equal(v.level, WD_VERDICT_OK);
  wd_tracker_destroy(t);

  /* no cities: countries name the ends */
  const net_t a = {"203.0.113.10", 3215, "FR", 48.8566, 2.3522, NULL};
  const net_t b = {"198.51.100.20", 28573, "BR", -23.5505, -46.6333, NULL};
  t = mk(NULL);
  see(t, "tok", T0, &a, NULL);
  v = see(t, "tok", T0 + S(30), &b, NULL);
  assert_true(v.signals & WD_SIGNAL_TRAVEL);
  assert_non_null(strstr(explain(&v), "FR to BR ("));
  assert_non_null(strstr(explain(&v), " in 30 s"));
  wd_tracker_destroy(t);

  /* thresholds: 600 km (5.4 degrees of latitude) at 1,200 km/h fires, at 900 km/h does not;
   * 400 km in a second is below the minimum distance */
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.idle_s = 7200;
  const net_t n50 = {"203.0.113.10", 64501, "DE", 50.0, 10.0, NULL};
  /* (55.4 N is Denmark: within one country a sequential change is not travel, see
   * travel_within_one_country) */
  const net_t n55 = {"198.51.100.20", 64502, "DK", 55.4, 10.0, NULL};
  const net_t n53 = {"198.51.100.20", 64502, "DE", 53.6, 10.0, NULL};
  t = mk(&c);
  see(t, "k1", T0, &n50, NULL);
  v = see(t, "k1", T0 + S(30 * 60), &n55, NULL);
  assert_true(v.signals & WD_SIGNAL_TRAVEL);
  assert_true(v.travel_km >= 599 && v.travel_km <= 602);
  see(t, "k2", T0, &n50, NULL);
  v = see(t, "k2", T0 + S(40 * 60), &n55, NULL);
  assert_false(v.signals & WD_SIGNAL_TRAVEL);
  see(t, "k3", T0, &n50, NULL);
  v = see(t, "k3", T0 + S(1), &n53, NULL);
  assert_false(v.signals & WD_SIGNAL_TRAVEL);
  /* same ASN: one provider's addresses placed far apart is geolocation, not travel */
  const net_t m55 = {"198.51.100.20", 64501, "DE", 55.4, 10.0, NULL};
  see(t, "k4", T0, &n50, NULL);
  v = see(t, "k4", T0 + S(10), &m55, NULL);
  assert_false(v.signals & WD_SIGNAL_TRAVEL);
  /* a city-level location against a country-level one: the distance is the error */
  const net_t city = {"203.0.113.10", 64501, "US", 40.71, -74.0, "New York"};
  const net_t centroid = {"198.51.100.20", 64502, "US", 37.75, -97.8, NULL};
  see(t, "k5", T0, &city, NULL);
  v = see(t, "k5", T0 + S(10), &centroid, NULL);
  assert_false(v.signals & WD_SIGNAL_TRAVEL);
  assert_int_equal(v.level, WD_VERDICT_OK);
  wd_tracker_destroy(t);
}

/* Live viewers on other renditions fetch the same segment under another directory
 * (/live/ch1/720p/seg12.ts, /live/ch1/1080p/seg12.ts): one segment for the same-segment rule. */
static void same_segment_across_renditions(void **state) {
  (void)state;
  static const char *const rend[] = {"1080p", "720p", "480p"};
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v;
  wd_verdict_level_t worst = WD_VERDICT_OK;
  /* three friends, three ASNs of one country, each on a rendition of its own */
  for (int s = 0; s < 60; s += 6)
    for (int i = 0; i < 3; i++) {
      char seg[64];
      snprintf(seg, sizeof seg, "/live/ch1/%s/seg%d.ts", rend[i], s / 6);
      v = see(t, "tok", T0 + S(s) + i * 300, &isp[i], seg);
      if (v.level > worst)
        worst = v.level;
    }
  assert_int_equal(worst, WD_VERDICT_SHARED);
  assert_true(v.signals & WD_SIGNAL_SAME_SEGMENT);
  assert_int_equal(v.same_segment, 3);
  wd_tracker_destroy(t);

  /* a file name with no number says nothing of the segment: the whole path counts */
  t = mk(NULL);
  worst = WD_VERDICT_OK;
  for (int s = 0; s < 60; s += 6)
    for (int i = 0; i < 3; i++) {
      char seg[64];
      snprintf(seg, sizeof seg, "/live/ch1/%s/%d/media.ts", rend[i], s / 6 + i * 100);
      v = see(t, "tok", T0 + S(s) + i * 300, &isp[i], seg);
      if (v.level > worst)
        worst = v.level;
    }
  assert_int_equal(worst, WD_VERDICT_SUSPECT); /* three networks over three ASNs */
  assert_true(v.same_segment <= 1);
  wd_tracker_destroy(t);
}

/* A restreamer mirrors the whole ladder from one address: each segment in every rendition.
 * A player fetches `renditions` of them, one more at a quality switch. */
static void restreamer_fetching_every_rendition(void **state) {
  (void)state;
  static const char *const rend[] = {"1080p", "720p", "480p", "360p"};
  const net_t dc = {"203.0.113.77", 16276, "FR", 0, 0, NULL};
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.seed = 42;
  c.segment_seconds = 4;
  wd_tracker_t *t = mk(&c);
  wd_verdict_t v;
  int64_t shared_at = -1;
  for (int n = 0; n < 30; n++)
    for (int r = 0; r < 4; r++) {
      char pl[64], seg[64];
      snprintf(pl, sizeof pl, "/live/ch1/%s/index.m3u8", rend[r]);
      snprintf(seg, sizeof seg, "/live/ch1/%s/seg%d.ts", rend[r], 100 + n);
      int64_t at = T0 + S(4 * n) + 200 + r * 60;
      v = see_ua(t, "tok", at, &dc, NULL, "Lavf/60.16.100");
      v = see_ua(t, "tok", at + 30, &dc, seg, "Lavf/60.16.100");
      if (v.level == WD_VERDICT_SHARED && shared_at < 0)
        shared_at = at + 30;
    }
  assert_int_equal(v.level, WD_VERDICT_SHARED);
  /* its rate shows within seconds (judged over three segment durations at least), then the
   * next segment in every rendition */
  assert_true(shared_at >= 0 && shared_at - T0 < S(12));
  assert_int_equal(v.networks, 1);
  assert_true(v.signals & WD_SIGNAL_RENDITIONS);
  assert_true(v.renditions >= 3 && v.renditions <= 4); /* a lower bound */
  assert_non_null(strstr(explain(&v), "one segment fetched in "));
  assert_non_null(strstr(explain(&v), " renditions"));
  wd_tracker_destroy(t);

  /* a player switching quality fetches a segment again in another rendition: OK */
  t = mk(&c);
  wd_verdict_level_t worst = WD_VERDICT_OK;
  for (int n = 0; n < 60; n++) {
    char seg[64];
    int r = (n / 5) % 4;
    snprintf(seg, sizeof seg, "/live/ch1/%s/seg%d.ts", rend[r], 100 + n);
    v = see(t, "tok", T0 + S(4 * n), &dc, NULL);
    v = see(t, "tok", T0 + S(4 * n) + 100, &dc, seg);
    if (v.level > worst)
      worst = v.level;
    if (n % 5 == 4) { /* switching: the same segment in the next rendition */
      snprintf(seg, sizeof seg, "/live/ch1/%s/seg%d.ts", rend[(r + 1) % 4], 100 + n);
      v = see(t, "tok", T0 + S(4 * n) + 900, &dc, seg);
      if (v.level > worst)
        worst = v.level;
    }
  }
  assert_int_equal(worst, WD_VERDICT_OK);
  wd_tracker_stats_t st;
  wd_tracker_stats(t, &st);
  assert_int_equal(st.detailed, 0); /* back to one record once the switch is past */
  wd_tracker_destroy(t);

  /* audio and video as two renditions, and a switch: OK when the configuration says 2 */
  c.renditions = 2;
  t = mk(&c);
  worst = WD_VERDICT_OK;
  for (int n = 0; n < 30; n++) {
    char a[64], vid[64];
    snprintf(a, sizeof a, "/live/ch1/audio/seg%d.ts", 100 + n);
    snprintf(vid, sizeof vid, "/live/ch1/%s/seg%d.ts", rend[n % 2], 100 + n);
    v = see(t, "tok", T0 + S(4 * n), &dc, a);
    v = see(t, "tok", T0 + S(4 * n) + 100, &dc, vid);
    if (v.level > worst)
      worst = v.level;
    snprintf(vid, sizeof vid, "/live/ch1/%s/seg%d.ts", rend[(n + 1) % 2], 100 + n);
    v = see(t, "tok", T0 + S(4 * n) + 200, &dc, vid);
    if (v.level > worst)
      worst = v.level;
  }
  assert_int_equal(worst, WD_VERDICT_OK);
  assert_false(v.signals & WD_SIGNAL_RENDITIONS);
  wd_tracker_destroy(t);

  /* off */
  c.renditions = 1;
  c.mirror_renditions = 0;
  t = mk(&c);
  for (int n = 0; n < 3; n++)
    for (int r = 0; r < 4; r++) {
      char seg[64];
      snprintf(seg, sizeof seg, "/live/ch1/%s/seg%d.ts", rend[r], 100 + n);
      v = see(t, "tok", T0 + S(4 * n) + r * 60, &dc, seg);
    }
  assert_int_equal(v.level, WD_VERDICT_OK);
  wd_tracker_destroy(t);
}

/* Within one country a change of network is not travel: a mobile carrier's addresses are
 * placed wherever its gateways are. Two places in one country at once still are. */
static void travel_within_one_country(void **state) {
  (void)state;
  const net_t home = {"203.0.113.10", 7922, "US", 39.79, -77.73, "Greencastle"};
  const net_t mobile = {"198.51.100.20", 20057, "US", 33.68, -117.83, "Irvine"};
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.seed = 42;
  c.segment_seconds = 4;
  wd_tracker_t *t = mk(&c);
  wd_verdict_t v;
  wd_verdict_level_t worst = WD_VERDICT_OK;
  /* Wi-Fi until 120 s, then the carrier; a request in flight on the Wi-Fi at the switch */
  for (int s = 0; s < 240; s += 2) {
    v = see(t, "tok", T0 + S(s), s < 120 ? &home : &mobile, s % 4 ? "/live/s.ts" : NULL);
    if (v.level > worst)
      worst = v.level;
    if (s == 120) {
      v = see(t, "tok", T0 + S(s) + 700, &home, NULL);
      if (v.level > worst)
        worst = v.level;
    }
  }
  assert_int_equal(worst, WD_VERDICT_OK);
  assert_false(v.signals & WD_SIGNAL_TRAVEL);
  wd_tracker_destroy(t);

  /* the same two places in use at once (someone else in California): travel */
  t = mk(&c);
  worst = WD_VERDICT_OK;
  int travel = 0;
  for (int s = 0; s < 120; s += 2) {
    v = see(t, "tok", T0 + S(s), &home, NULL);
    travel |= (v.signals & WD_SIGNAL_TRAVEL) != 0;
    if (s >= 30) {
      v = see(t, "tok", T0 + S(s) + 1000, &mobile, NULL);
      travel |= (v.signals & WD_SIGNAL_TRAVEL) != 0;
    }
    if (v.level > worst)
      worst = v.level;
  }
  assert_true(travel);
  assert_int_equal(worst, WD_VERDICT_SUSPECT);
  wd_tracker_destroy(t);

  /* between countries a sequential change still is travel (see travel_impossible) */
  const net_t paris = {"203.0.113.10", 3215, "FR", 48.8566, 2.3522, "Paris"};
  const net_t ny = {"198.51.100.20", 7922, "US", 40.71, -74.0, "New York"};
  t = mk(&c);
  see(t, "tok", T0, &paris, NULL);
  v = see(t, "tok", T0 + S(60), &ny, NULL);
  assert_true(v.signals & WD_SIGNAL_TRAVEL);
  wd_tracker_destroy(t);
}

/* ---- false positives that must stay OK ---- */

static void carrier_rotation(void **state) {
  (void)state;
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v;
  wd_verdict_level_t worst = WD_VERDICT_OK;
  /* a mobile carrier moves one viewer across twelve /24s of one ASN, a new one every 6 s */
  for (int s = 0; s < 180; s += 3) {
    char ip[32];
    snprintf(ip, sizeof ip, "100.%d.%d.9", 64 + (s / 6) % 12, (s * 7) % 250);
    net_t n = {ip, 21928, "US", 0, 0, NULL};
    v = see(t, "tok", T0 + S(s), &n, s % 6 ? "/live/x.ts" : NULL);
    if (v.level > worst)
      worst = v.level;
  }
  assert_int_equal(worst, WD_VERDICT_OK);
  assert_int_equal(v.networks, 1);
  assert_true(v.prefixes >= 8);
  wd_tracker_destroy(t);

  /* a carrier (or relay) that interleaves addresses per request: still one player's rate */
  t = mk(NULL);
  worst = WD_VERDICT_OK;
  for (int s = 0; s < 180; s += 3) {
    char ip[32];
    snprintf(ip, sizeof ip, "100.%d.0.9", 64 + (s / 3) % 5);
    net_t n = {ip, 21928, "US", 0, 0, NULL};
    v = see(t, "tok", T0 + S(s), &n, NULL);
    if (v.level > worst)
      worst = v.level;
  }
  assert_int_equal(worst, WD_VERDICT_OK);
  assert_int_equal(v.networks, 1);
  assert_int_equal(v.prefixes, 5);
  wd_tracker_destroy(t);
}

static void dual_stack(void **state) {
  (void)state;
  const net_t ds[] = {{"203.0.113.10", 64501, "SE", 0, 0, NULL},
                      {"2001:db8:1:2::10", 64501, "SE", 0, 0, NULL}};
  const net_t ds_unknown[] = {{"203.0.113.10", 0, "", 0, 0, NULL},
                              {"2001:db8:1:2::10", 0, "", 0, 0, NULL}};
  for (int k = 0; k < 2; k++) {
    wd_tracker_t *t = mk(NULL);
    wd_verdict_t v;
    wd_verdict_level_t worst = WD_VERDICT_OK;
    /* Happy Eyeballs: requests alternate between the families */
    for (int i = 0; i < 60; i++) {
      v = see(t, "tok", T0 + S(i * 3), &(k ? ds_unknown : ds)[i % 2], i % 2 ? "/s.ts" : NULL);
      if (v.level > worst)
        worst = v.level;
    }
    assert_int_equal(worst, WD_VERDICT_OK);
    assert_int_equal(v.networks, 1);
    assert_int_equal(v.prefixes, 2);
    assert_int_equal(v.clients, 1);
    assert_int_equal(v.concurrent, 1);
    wd_tracker_destroy(t);
  }
}

/* Without any ASN data networks still count: six operators (distinct /16s) at once are shared,
 * while one operator moving a viewer across its /24s (one /16) is not. */
static void unknown_asn(void **state) {
  (void)state;
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v;
  wd_verdict_level_t worst = WD_VERDICT_OK;
  for (int s = 0; s < 60; s += 2) {
    char ip[32];
    snprintf(ip, sizeof ip, "%d.%d.%d.9", 20 + (s / 2) % 6, 40 + (s / 2) % 6, s);
    net_t n = {ip, 0, "", 0, 0, NULL};
    v = see(t, "pirated", T0 + S(s), &n, "/live/s.ts");
    if (v.level > worst)
      worst = v.level;
  }
  assert_int_equal(worst, WD_VERDICT_SHARED);
  assert_int_equal(v.asns, 0); /* stand-ins are never shown as ASNs */
  wd_detect_evidence_t ev;
  assert_int_equal(wd_tracker_get(t, "pirated", T0 + S(60), &ev), 0);
  for (size_t i = 0; i < ev.nnetworks; i++)
    assert_int_equal(ev.networks[i].asn, 0);
  worst = WD_VERDICT_OK;
  for (int s = 0; s < 180; s += 3) {
    char ip[32];
    snprintf(ip, sizeof ip, "100.71.%d.%d", s / 15, 1 + s % 200);
    net_t n = {ip, 0, "", 0, 0, NULL};
    v = see(t, "carrier", T0 + S(s), &n, s % 6 ? "/live/s.ts" : NULL);
    if (v.level > worst)
      worst = v.level;
  }
  assert_int_equal(worst, WD_VERDICT_OK);
  wd_tracker_destroy(t);
}

static void wifi_to_mobile_handover(void **state) {
  (void)state;
  const net_t wifi = {"203.0.113.10", 3301, "SE", 59.33, 18.07, "Stockholm"};
  const net_t wifi6 = {"2001:db8:aa::1", 3301, "SE", 59.33, 18.07, "Stockholm"};
  const net_t mobile = {"100.70.1.1", 1257, "SE", 59.33, 18.07, "Stockholm"};
  const net_t mobile_nowhere = {"100.70.1.1", 1257, "SE", 0, 0, NULL};
  for (int k = 0; k < 3; k++) {
    wd_tracker_t *t = mk(NULL);
    wd_verdict_t v;
    wd_verdict_level_t worst = WD_VERDICT_OK;
    for (int s = 0; s < 180; s += 3) {
      const net_t *n = s < 90 ? (k == 2 && s % 2 ? &wifi6 : &wifi) : k == 1 ? &mobile_nowhere
                                                                               : &mobile;
      v = see(t, "tok", T0 + S(s), n, s % 6 ? "/live/s.ts" : NULL);
      if (v.level > worst)
        worst = v.level;
      if (s >= 90 && s < 120) /* during the window that holds both */
        assert_true(v.score < 40);
    }
    assert_int_equal(worst, WD_VERDICT_OK);
    wd_tracker_destroy(t);
  }
}

static void household_behind_one_address(void **state) {
  (void)state;
  wd_tracker_t *t = mk(NULL);
  const net_t cgnat = {"100.64.0.1", 64500, "SE", 0, 0, NULL};
  /* fifty subscribers behind one address, each with their own token */
  for (int s = 0; s < 120; s += 6)
    for (int i = 0; i < 50; i++) {
      char key[16];
      snprintf(key, sizeof key, "tok%d", i);
      wd_verdict_t v = see(t, key, T0 + S(s) + i * 10, &cgnat, "/live/s.ts");
      assert_int_equal(v.level, WD_VERDICT_OK);
      assert_int_equal(v.networks, 1);
    }
  wd_tracker_stats_t st;
  wd_tracker_stats(t, &st);
  assert_int_equal(st.tokens, 50);
  wd_tracker_destroy(t);
}

static void casting_to_a_tv(void **state) {
  (void)state;
  const net_t phone = {"2001:db8:aa:1::7", 3301, "SE", 0, 0, NULL};
  const net_t tv = {"203.0.113.10", 3301, "SE", 0, 0, NULL};
  const net_t phone_u = {"2001:db8:aa:1::7", 0, "", 0, 0, NULL};
  const net_t tv_u = {"203.0.113.10", 0, "", 0, 0, NULL};
  for (int k = 0; k < 2; k++) {
    wd_tracker_t *t = mk(NULL);
    wd_verdict_t v;
    wd_verdict_level_t worst = WD_VERDICT_OK;
    /* the phone plays, then the TV takes over while the phone keeps polling the playlist */
    for (int s = 0; s < 180; s += 6) {
      v = see(t, "tok", T0 + S(s), k ? &phone_u : &phone, s < 60 ? "/live/s.ts" : NULL);
      if (v.level > worst)
        worst = v.level;
      if (s >= 60) {
        v = see(t, "tok", T0 + S(s) + 500, k ? &tv_u : &tv, "/live/s.ts");
        if (v.level > worst)
          worst = v.level;
      }
    }
    assert_int_equal(worst, WD_VERDICT_OK);
    assert_int_equal(v.networks, 1);
    wd_tracker_destroy(t);
  }
}

/* ---- user agents ---- */

static void user_agents_never_alone(void **state) {
  (void)state;
  static const char *uas[] = {"UA-one", "UA-two", "UA-three", "UA-four", "UA-five", "UA-six"};
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v;
  for (int i = 0; i < 12; i++)
    v = see_ua(t, "tok", T0 + S(i * 3), &isp[0], NULL, uas[i % 6]);
  assert_true(v.user_agents >= 2); /* a lower bound: one network keeps one bit per agent */
  assert_int_equal(v.level, WD_VERDICT_OK);
  assert_false(v.signals & WD_SIGNAL_USER_AGENTS);
  wd_tracker_destroy(t);
  /* with another signal, they count */
  t = mk(NULL);
  for (int s = 0; s < 60; s += 6)
    for (int i = 0; i < 5; i++)
      v = see_ua(t, "tok", T0 + S(s) + i * 300, &isp[i], NULL, uas[i]);
  assert_int_equal(v.level, WD_VERDICT_SHARED);
  assert_int_equal(v.user_agents, 5);
  assert_true(v.signals & WD_SIGNAL_USER_AGENTS);
  assert_non_null(strstr(explain(&v), "user agents"));
  wd_tracker_destroy(t);
}

/* ---- explanation, evidence, reuse ---- */

static void explanation_and_evidence(void **state) {
  (void)state;
  /* seven viewers: four ASNs (three with two prefixes each), four countries, one in Paris and
   * one in São Paulo */
  const net_t seven[] = {
      {"203.0.113.10", 3215, "FR", 48.8566, 2.3522, "Paris"},
      {"203.0.114.10", 3215, "FR", 0, 0, NULL},
      {"198.51.100.10", 3320, "DE", 0, 0, NULL},
      {"198.51.101.10", 3320, "DE", 0, 0, NULL},
      {"192.0.2.10", 3352, "ES", 0, 0, NULL},
      {"192.0.3.10", 3352, "ES", 0, 0, NULL},
      {"2001:db8:5::1", 28573, "BR", -23.5505, -46.6333, "São Paulo"},
  };
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v = play(t, "tok-7", seven, 7, 0, 60, 1, NULL);
  assert_int_equal(v.level, WD_VERDICT_SHARED);
  assert_int_equal(v.networks, 7);
  assert_int_equal(v.asns, 4);
  assert_int_equal(v.countries, 4);
  assert_int_equal(v.clients, 7);
  assert_true(v.score >= 90);
  const char *line = explain(&v);
  assert_non_null(strstr(line, "7 networks in 60 s across 4 ASNs and 4 countries"));
  assert_non_null(strstr(line, "one segment fetched from 7 networks"));
  assert_non_null(strstr(line, "in use from 4 countries at once"));
  assert_non_null(strstr(line, "Paris to São Paulo (9,"));
  assert_non_null(strchr(line, '\n') == NULL ? line : NULL);
  /* the explanation fits the buffer it is given, and says how long it wanted to be */
  char small[16];
  size_t need = wd_detect_explain(&v, small, sizeof small);
  assert_true(need > sizeof small);
  assert_int_equal(strlen(small), sizeof small - 1);

  wd_detect_evidence_t ev;
  assert_int_equal(wd_tracker_get(t, "tok-7", T0 + S(60), &ev), 0);
  assert_int_equal(ev.verdict.level, WD_VERDICT_SHARED);
  assert_int_equal(ev.nnetworks, 7);
  assert_int_equal(ev.more_networks, 0);
  assert_true(ev.first_seen >= T0 / 1000 && ev.first_seen <= T0 / 1000 + 1);
  assert_true(ev.last_seen >= T0 / 1000 + 54);
  assert_true(ev.expires > ev.last_seen);
  assert_non_null(strstr(ev.explanation, "7 networks in 60 s"));
  int found_paris = 0, v6 = 0, with_prefix = 0;
  for (size_t i = 0; i < ev.nnetworks; i++) {
    const wd_detect_network_t *n = &ev.networks[i];
    if (i)
      assert_true(n->last <= ev.networks[i - 1].last); /* most recent first */
    assert_true(n->asn == 3215 || n->asn == 3320 || n->asn == 3352 || n->asn == 28573);
    assert_int_equal(strlen(n->country), 2);
    assert_true(n->first <= n->last);
    if (!strcmp(n->city, "Paris")) {
      found_paris = 1;
      assert_true(fabs(n->lat - 48.8566) < 0.01);
    }
    if (n->prefix_len) {
      with_prefix++;
      assert_true(n->requests > 0);
    }
    if (n->family == 6) {
      v6 = 1;
      if (n->prefix_len) {
        assert_int_equal(n->prefix_len, 64);
        static const uint8_t want[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 5, 0, 0};
        assert_memory_equal(n->prefix, want, 8);
      }
    }
  }
  /* networks seen once the token had a detail record carry their prefix */
  assert_true(with_prefix >= 5);
  assert_true(v6);
  (void)found_paris;
  /* looking does not change anything */
  wd_detect_evidence_t ev2;
  assert_int_equal(wd_tracker_get(t, "tok-7", T0 + S(60), &ev2), 0);
  assert_int_equal(ev2.verdict.requests, ev.verdict.requests);
  /* later, the window empties: the evidence says so */
  assert_int_equal(wd_tracker_get(t, "tok-7", T0 + S(200), &ev), 0);
  assert_int_equal(ev.nnetworks, 0);
  assert_int_equal(ev.verdict.level, WD_VERDICT_OK);
  wd_tracker_destroy(t);
}

static void reuse_count_for_catreplay2(void **state) {
  (void)state;
  wd_tracker_t *t = mk(NULL);
  wd_verdict_t v;
  for (int i = 0; i < 4; i++)
    v = see(t, "tok", T0 + i * 500, &isp[i], "/a/seg1.ts");
  assert_int_equal(v.clients, 4);
  /* a dual-stack client is one client */
  const net_t v6 = {"2001:db8:9::1", 64501, "SE", 0, 0, NULL};
  v = see(t, "tok", T0 + 2500, &v6, "/a/seg1.ts");
  assert_int_equal(v.clients, 4);
  assert_int_equal(v.prefixes, 5);
  wd_tracker_destroy(t);
}

/* ---- expiry ---- */

static void expiry_and_idle(void **state) {
  (void)state;
  wd_tracker_t *t = mk(NULL);
  wd_observation_t o;
  wd_observation_init(&o);
  o.family = 4;
  memcpy(o.addr, "\xcb\x00\x71\x0a", 4);
  o.now_ms = T0;
  o.key = "short";
  o.exp = T0 / 1000 + 100;
  assert_int_equal(wd_tracker_observe(t, &o, NULL), 0);
  o.key = "idle";
  o.exp = 0;
  assert_int_equal(wd_tracker_observe(t, &o, NULL), 0);
  o.key = "long"; /* exp far away: still forgotten when idle */
  o.exp = T0 / 1000 + 86400 * 30;
  assert_int_equal(wd_tracker_observe(t, &o, NULL), 0);
  wd_detect_evidence_t ev;
  assert_int_equal(wd_tracker_get(t, "short", T0, &ev), 0);
  assert_int_equal(ev.expires, T0 / 1000 + 100);
  assert_int_equal(wd_tracker_expire(t, T0 + S(99)), 0);
  assert_int_equal(wd_tracker_expire(t, T0 + S(100)), 1);
  assert_int_equal(wd_tracker_get(t, "short", T0 + S(100), &ev), WD_ENOTOKEN);
  assert_int_equal(wd_tracker_get(t, "idle", T0 + S(100), &ev), 0);
  assert_int_equal(wd_tracker_expire(t, T0 + S(1799)), 0);
  assert_int_equal(wd_tracker_expire(t, T0 + S(1800)), 2);
  wd_tracker_stats_t st;
  wd_tracker_stats(t, &st);
  assert_int_equal(st.tokens, 0);
  /* an expired token seen again starts afresh, even before expire() ran */
  const net_t a = {"203.0.113.10", 64501, "SE", 0, 0, NULL};
  const net_t b = {"198.51.100.10", 64502, "SE", 0, 0, NULL};
  see(t, "again", T0, &a, NULL);
  see(t, "again", T0 + 100, &b, NULL);
  wd_verdict_t v = see(t, "again", T0 + S(2000), &a, NULL);
  assert_int_equal(v.prefixes, 1);
  assert_int_equal(v.requests, 1);
  /* freed records are reused: memory does not grow with churn */
  uint64_t bytes = 0;
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < 2000; i++) {
      char key[32];
      snprintf(key, sizeof key, "churn-%d-%d", round, i);
      see(t, key, T0 + S(10000 + 5000 * round), &a, NULL);
    }
    wd_tracker_expire(t, T0 + S(10000 + 5000 * round + 1801));
    wd_tracker_stats(t, &st);
    assert_int_equal(st.tokens, 0);
    if (round == 0)
      bytes = st.token_bytes;
    assert_int_equal(st.token_bytes, bytes);
  }
  wd_tracker_destroy(t);
}

/* A token watched for a day, one request a minute from one address: the record's 16-bit clock
 * re-bases without losing anything; late requests count at the last time. */
static void long_lived_and_out_of_order(void **state) {
  (void)state;
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.seed = 3;
  wd_tracker_t *t = mk(&c);
  const net_t a = {"203.0.113.10", 64501, "SE", 0, 0, NULL};
  const net_t b = {"198.51.100.10", 64502, "SE", 0, 0, NULL};
  const net_t cc = {"192.0.2.10", 64503, "SE", 0, 0, NULL};
  wd_verdict_t v;
  for (int m = 0; m < 24 * 60; m++) {
    v = see(t, "day", T0 + S(m * 60), &a, NULL);
    assert_int_equal(v.level, WD_VERDICT_OK);
  }
  /* three networks at the end of the day still count */
  int64_t end = T0 + S(24 * 3600);
  see(t, "day", end, &a, NULL);
  see(t, "day", end + 500, &b, NULL);
  v = see(t, "day", end + 1000, &cc, NULL);
  assert_int_equal(v.networks, 3);
  assert_int_equal(v.level, WD_VERDICT_SUSPECT);
  /* a request from before (another thread's clock, a log out of order) */
  v = see(t, "day", end - S(3600), &a, NULL);
  assert_int_equal(v.networks, 3);
  wd_detect_evidence_t ev;
  assert_int_equal(wd_tracker_get(t, "day", end + 1000, &ev), 0);
  assert_int_equal(ev.last_seen, (end + 1000) / 1000);
  wd_tracker_destroy(t);
}

/* ---- allow-lists ---- */

static void allow_lists(void **state) {
  (void)state;
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.seed = 5;
  const uint32_t asns[] = {64999, 64504};
  const char *cidrs[] = {"192.0.2.0/24", "2001:db8:ffff::/48"};
  const char *subjects[] = {"reviewed-viewer", "other"};
  c.allow_asns = asns;
  c.nallow_asns = 2;
  c.allow_cidrs = cidrs;
  c.nallow_cidrs = 2;
  c.allow_subjects = subjects;
  c.nallow_subjects = 2;
  wd_tracker_t *t = mk(&c);

  /* isp[2] is 192.0.2.30 (allowed prefix), isp[3] is ASN 64504 (allowed ASN): of five viewers
   * three count */
  wd_verdict_t v = play(t, "tok", isp, 5, 0, 60, 0, NULL);
  assert_int_equal(v.allowlisted, 0);
  wd_detect_evidence_t ev;
  assert_int_equal(wd_tracker_get(t, "tok", T0 + S(60), &ev), 0);
  assert_int_equal(ev.verdict.prefixes, 3);
  assert_true(ev.verdict.level < WD_VERDICT_SHARED);
  v = see(t, "tok", T0 + S(60), &isp[2], NULL);
  assert_int_equal(v.allowlisted, 1);
  assert_int_equal(v.level, WD_VERDICT_OK);
  assert_string_equal(explain(&v), "allow-listed: not counted");
  const net_t v6 = {"2001:db8:ffff:1::5", 64501, "SE", 0, 0, NULL};
  v = see(t, "tok", T0 + S(61), &v6, NULL);
  assert_int_equal(v.allowlisted, 1);
  const net_t mapped = {"::ffff:192.0.2.77", 64501, "SE", 0, 0, NULL};
  v = see(t, "tok", T0 + S(61), &mapped, NULL);
  assert_int_equal(v.allowlisted, 1);

  /* an allow-listed subject stays OK from six networks and is not tracked */
  wd_observation_t o;
  for (int i = 0; i < 6; i++) {
    wd_observation_init(&o);
    o.key = "sub-token";
    o.subject = "reviewed-viewer";
    o.now_ms = T0 + i * 100;
    o.family = 4;
    wd_ip_t ip;
    wd_ip_parse(isp[i].ip, strlen(isp[i].ip), &ip);
    memcpy(o.addr, ip.a, 16);
    assert_int_equal(wd_tracker_observe(t, &o, &v), 0);
    assert_int_equal(v.allowlisted, 1);
    assert_int_equal(v.level, WD_VERDICT_OK);
  }
  assert_int_equal(wd_tracker_get(t, "sub-token", T0 + 600, &ev), WD_ENOTOKEN);
  o.subject = "reviewed-viewer2"; /* exact match only */
  assert_int_equal(wd_tracker_observe(t, &o, &v), 0);
  assert_int_equal(v.allowlisted, 0);
  wd_tracker_destroy(t);
}

/* ---- capacity ---- */

static void capacity_limits(void **state) {
  (void)state;
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.seed = 9;
  c.shards = 1;
  c.max_tokens = 4;
  c.max_detail = 1;
  wd_tracker_t *t = mk(&c);
  wd_verdict_t v;
  for (int i = 0; i < 4; i++) {
    char key[8];
    snprintf(key, sizeof key, "t%d", i);
    v = see(t, key, T0, &isp[0], NULL);
    assert_int_equal(v.untracked, 0);
  }
  v = see(t, "t4", T0, &isp[0], NULL);
  assert_int_equal(v.untracked, 1);
  assert_int_equal(v.level, WD_VERDICT_OK);
  assert_non_null(strstr(explain(&v), "not tracked"));
  /* t0 takes the one detail record; t1 shared by five ASNs is estimated, still flagged */
  play(t, "t0", isp, 3, 0, 30, 0, NULL);
  v = play(t, "t1", isp, 6, 0, 60, 0, NULL);
  assert_int_equal(v.degraded, 1);
  assert_true(v.prefixes >= 3);
  assert_true(v.level >= WD_VERDICT_SUSPECT);
  wd_tracker_stats_t st;
  wd_tracker_stats(t, &st);
  assert_int_equal(st.tokens, 4);
  assert_int_equal(st.untracked, 1);
  assert_int_equal(st.detailed, 1);
  assert_true(st.degraded > 0);
  /* once expired, room for new tokens again */
  wd_tracker_expire(t, T0 + S(4000));
  v = see(t, "t4", T0 + S(4000), &isp[0], NULL);
  assert_int_equal(v.untracked, 0);
  wd_tracker_destroy(t);
}

/* ---- threads ---- */

typedef struct race {
  wd_tracker_t *t;
  int id;
} race_t;

#define RACE_KEYS 5000
#define RACE_ROUNDS 4

static void *racer(void *arg) {
  race_t *r = arg;
  char ip[32], key[32];
  for (int round = 0; round < RACE_ROUNDS; round++)
    for (int i = 0; i < RACE_KEYS; i++) {
      /* half the keys are shared by both threads */
      snprintf(key, sizeof key, i % 2 ? "own-%d-%d" : "both-%d", i % 2 ? r->id : i, i);
      snprintf(ip, sizeof ip, "10.%d.%d.1", r->id, i % 200);
      net_t n = {ip, 64500u + (unsigned)r->id, "SE", 0, 0, NULL};
      wd_observation_t o;
      wd_observation_init(&o);
      o.key = key;
      o.now_ms = T0 + round * 1000 + r->id;
      wd_ip_t a;
      wd_ip_parse(n.ip, strlen(n.ip), &a);
      o.family = 4;
      memcpy(o.addr, a.a, 16);
      wd_geo_info_t g;
      memset(&g, 0, sizeof g);
      g.asn = n.asn;
      g.lat = 59.3 + (i % 50) * 0.001; /* fifty places in one city: names interned at once */
      g.lon = 18.0;
      snprintf(g.city, sizeof g.city, "Place %d", i % 50);
      o.geo = &g;
      wd_verdict_t v;
      if (wd_tracker_observe(r->t, &o, &v) != 0)
        return (void *)1;
      if (i % 97 == 0) {
        wd_detect_evidence_t ev;
        wd_tracker_get(r->t, key, o.now_ms, &ev);
      }
    }
  return NULL;
}

static void two_threads(void **state) {
  (void)state;
  wd_detect_config_t c;
  wd_detect_config_init(&c);
  c.shards = 16;
  wd_tracker_t *t = mk(&c);
  pthread_t th[2];
  race_t r[2] = {{t, 1}, {t, 2}};
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, racer, &r[i]), 0);
  for (int k = 0; k < 20; k++) {
    wd_tracker_stats_t st;
    wd_tracker_stats(t, &st);
    wd_tracker_expire(t, T0);
  }
  for (int i = 0; i < 2; i++) {
    void *rv;
    pthread_join(th[i], &rv);
    assert_null(rv);
  }
  wd_tracker_stats_t st;
  wd_tracker_stats(t, &st);
  assert_int_equal(st.observations, 2ull * RACE_KEYS * RACE_ROUNDS);
  assert_int_equal(st.tokens, RACE_KEYS / 2 + 2 * (RACE_KEYS / 2));
  /* shared keys saw both threads' networks (two ASNs) */
  wd_detect_evidence_t ev;
  assert_int_equal(wd_tracker_get(t, "both-0", T0 + 4000, &ev), 0);
  assert_int_equal(ev.verdict.prefixes, 2);
  assert_int_equal(ev.verdict.asns, 2);
  wd_tracker_destroy(t);
}

/* ---- memory ---- */

static void memory_per_token(void **state) {
  (void)state;
  wd_tracker_t *t = mk(NULL);
  enum { N = 200000 };
  char key[32], ip[32];
  for (int i = 0; i < N; i++) {
    snprintf(key, sizeof key, "token-%d", i);
    snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
    net_t n = {ip, 64500u + (unsigned)(i % 1000), "SE", 0, 0, NULL};
    see(t, key, T0 + i, &n, "/s.ts");
    /* one in ten also shows a second network (dual-stack, casting); one in fifty a third */
    if (i % 10 == 0) {
      snprintf(ip, sizeof ip, "2001:db8:%x::1", i & 0xffff);
      net_t m = {ip, 64500u + (unsigned)(i % 1000), "SE", 0, 0, NULL};
      see(t, key, T0 + i + 1, &m, NULL);
    }
    if (i % 50 == 0) {
      net_t m = {"192.0.2.1", 65000, "NO", 0, 0, NULL};
      see(t, key, T0 + i + 2, &m, NULL);
    }
  }
  wd_tracker_stats_t st;
  wd_tracker_stats(t, &st);
  assert_int_equal(st.tokens, N);
  assert_int_equal(st.detailed, N / 50);
  double per = (double)st.bytes / N, per_rec = (double)st.token_bytes / N;
  print_message("detect: %d tokens, %.1f bytes/token (%.1f records + index, %.1f detail)\n", N,
                per, per_rec, (double)st.detail_bytes / N);
  assert_true(per_rec <= 80);
  assert_true(per <= 128);
  wd_tracker_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(config_defaults_and_checks),
      cmocka_unit_test(bad_input),
      cmocka_unit_test(segment_paths),
      cmocka_unit_test(one_viewer_ok),
      cmocka_unit_test(networks_suspect_at_three),
      cmocka_unit_test(networks_shared_at_five),
      cmocka_unit_test(countries_at_once),
      cmocka_unit_test(rate_above_three_times),
      cmocka_unit_test(same_segment_from_three_networks),
      cmocka_unit_test(travel_impossible),
      cmocka_unit_test(same_segment_across_renditions),
      cmocka_unit_test(restreamer_fetching_every_rendition),
      cmocka_unit_test(travel_within_one_country),
      cmocka_unit_test(carrier_rotation),
      cmocka_unit_test(dual_stack),
      cmocka_unit_test(unknown_asn),
      cmocka_unit_test(wifi_to_mobile_handover),
      cmocka_unit_test(household_behind_one_address),
      cmocka_unit_test(casting_to_a_tv),
      cmocka_unit_test(user_agents_never_alone),
      cmocka_unit_test(explanation_and_evidence),
      cmocka_unit_test(reuse_count_for_catreplay2),
      cmocka_unit_test(expiry_and_idle),
      cmocka_unit_test(long_lived_and_out_of_order),
      cmocka_unit_test(allow_lists),
      cmocka_unit_test(capacity_limits),
      cmocka_unit_test(two_threads),
      cmocka_unit_test(memory_per_token),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
