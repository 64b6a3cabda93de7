/*
 * The simulator's address pool: a curated list of well-known ISP, mobile and datacenter ASNs
 * per country, and blocks of addresses of each, either carved from the real ASN ranges and
 * checked against the geo data (wd_sim_pool_load) or laid out on benchmarking and
 * documentation addresses (wd_sim_pool_synthetic).
 *
 * The list names operators by ASN; the real data decides which of their addresses are used,
 * and a block is kept only when the geo lookup of several of its addresses answers that ASN and
 * that country, so the ground truth and what a detector looks up agree. Weights are rough
 * audience shares for legitimate viewers of a live event with a European and American audience.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/internal.h"
#include "util/ip.h"
#include "warden/error.h"

#define MAX_V4 16            /* /24 blocks kept per network */
#define MAX_V6 8             /* /64 blocks kept per network */
#define ATTEMPTS 64          /* blocks tried per network and family */
#define LINE_MAX_BYTES 4096

typedef struct place {
  const char *cc;
  double lat, lon;           /* the reference city */
} place_t;

static const place_t places[] = {
    {"SE", 59.33, 18.07},  {"NO", 59.91, 10.75},  {"DE", 50.11, 8.68},   {"FR", 48.86, 2.35},
    {"GB", 51.51, -0.13},  {"ES", 40.42, -3.70},  {"IT", 45.46, 9.19},   {"NL", 52.37, 4.90},
    {"PL", 52.23, 21.01},  {"US", 40.71, -74.01}, {"CA", 43.65, -79.38}, {"MX", 19.43, -99.13},
    {"BR", -23.55, -46.63}, {"AR", -34.60, -58.38}, {"IN", 19.08, 72.88}, {"JP", 35.68, 139.69},
    {"KR", 37.57, 126.98}, {"AU", -33.87, 151.21}, {"TR", 41.01, 28.98}, {"ID", -6.21, 106.85},
    {"VN", 21.03, 105.85}, {"PH", 14.60, 120.98}, {"EG", 30.04, 31.24},  {"NG", 6.52, 3.38},
};

typedef struct curated {
  uint32_t asn;
  const char *cc;
  wd_sim_net_kind_t kind;
  unsigned weight;
  const char *name;
} curated_t;

#define I WD_SIM_ISP
#define M WD_SIM_MOBILE
#define D WD_SIM_DATACENTER
static const curated_t curated[] = {
    {3301, "SE", I, 3, "Telia Company AB"},
    {8473, "SE", I, 1, "Bahnhof AB"},
    {1257, "SE", M, 2, "Tele2 Sverige AB"},
    {2119, "NO", I, 2, "Telenor Norge AS"},
    {3320, "DE", I, 5, "Deutsche Telekom AG"},
    {3209, "DE", I, 3, "Vodafone GmbH"},
    {6805, "DE", M, 3, "Telefonica Germany"},
    {3215, "FR", I, 4, "Orange S.A."},
    {12322, "FR", I, 3, "Free SAS"},
    {15557, "FR", M, 2, "SFR SA"},
    {5410, "FR", M, 2, "Bouygues Telecom SA"},
    {2856, "GB", I, 4, "British Telecommunications PLC"},
    {5089, "GB", I, 2, "Virgin Media Limited"},
    {5607, "GB", I, 2, "Sky UK Limited"},
    {25135, "GB", M, 2, "Vodafone Limited"},
    {3352, "ES", I, 3, "Telefonica de Espana"},
    {12479, "ES", M, 2, "Orange Espagne SA"},
    {3269, "IT", I, 3, "Telecom Italia S.p.A."},
    {30722, "IT", M, 2, "Vodafone Italia S.p.A."},
    {1136, "NL", I, 2, "KPN B.V."},
    {33915, "NL", I, 2, "Vodafone Libertel B.V."},
    {5617, "PL", I, 2, "Orange Polska"},
    {7922, "US", I, 8, "Comcast Cable Communications"},
    {701, "US", I, 4, "Verizon Business"},
    {7018, "US", I, 4, "AT&T Enterprises"},
    {21928, "US", M, 5, "T-Mobile USA"},
    {6167, "US", M, 3, "Verizon Wireless"},
    {20057, "US", M, 3, "AT&T Mobility"},
    {812, "CA", I, 2, "Rogers Communications"},
    {577, "CA", I, 2, "Bell Canada"},
    {8151, "MX", I, 3, "Uninet (Telmex)"},
    {28573, "BR", I, 4, "Claro NXT Telecomunicacoes"},
    {18881, "BR", I, 2, "Telefonica Brasil (Vivo fibra)"},
    {26599, "BR", M, 3, "Telefonica Brasil (Vivo)"},
    {26615, "BR", M, 2, "TIM S/A"},
    {7303, "AR", I, 2, "Telecom Argentina S.A."},
    {22927, "AR", I, 1, "Telefonica de Argentina"},
    {24560, "IN", I, 3, "Bharti Airtel (broadband)"},
    {55836, "IN", M, 5, "Reliance Jio Infocomm"},
    {45609, "IN", M, 3, "Bharti Airtel (mobile)"},
    {4713, "JP", I, 3, "NTT Communications (OCN)"},
    {2516, "JP", I, 2, "KDDI Corporation"},
    {17676, "JP", M, 2, "SoftBank Corp."},
    {4766, "KR", I, 2, "Korea Telecom"},
    {9318, "KR", I, 1, "SK Broadband"},
    {1221, "AU", I, 2, "Telstra Limited"},
    {7545, "AU", I, 1, "TPG Internet"},
    {4804, "AU", M, 1, "SingTel Optus"},
    {9121, "TR", I, 2, "Turk Telekom"},
    {23693, "ID", M, 2, "Telkomsel"},
    {7552, "VN", M, 2, "Viettel Group"},
    {9299, "PH", I, 1, "PLDT"},
    {8452, "EG", I, 1, "TE Data"},
    {29465, "NG", M, 1, "MTN Nigeria"},
    {16276, "FR", D, 1, "OVH SAS"},
    {24940, "DE", D, 1, "Hetzner Online GmbH"},
    {51167, "DE", D, 1, "Contabo GmbH"},
    {14061, "US", D, 1, "DigitalOcean, LLC"},
    {16509, "US", D, 1, "Amazon.com, Inc. (AWS)"},
    {20473, "US", D, 1, "The Constant Company (Vultr)"},
    {63949, "US", D, 1, "Akamai Technologies (Linode)"},
};
#undef I
#undef M
#undef D
#define NCURATED (sizeof curated / sizeof curated[0])

const char *wd_sim_net_kind_name(wd_sim_net_kind_t k) {
  switch (k) {
  case WD_SIM_ISP: return "isp";
  case WD_SIM_MOBILE: return "mobile";
  case WD_SIM_DATACENTER: return "datacenter";
  }
  return "?";
}

static const place_t *place_of(const char *cc) {
  for (size_t i = 0; i < sizeof places / sizeof places[0]; i++)
    if (!strcmp(places[i].cc, cc))
      return &places[i];
  return NULL;
}

static void net_from_curated(wd_sim_net_t *n, const curated_t *c) {
  const place_t *p = place_of(c->cc);
  memset(n, 0, sizeof *n);
  n->asn = n->real_asn = c->asn;
  memcpy(n->country, c->cc, 3);
  n->kind = c->kind;
  n->name = c->name;
  n->lat = p ? p->lat : 0;
  n->lon = p ? p->lon : 0;
  n->weight = c->weight;
}

void wd_sim_pool_destroy(wd_sim_pool_t *pool) {
  if (!pool)
    return;
  free(pool->nets);
  free(pool->blocks);
  free(pool);
}

size_t wd_sim_pool_count(const wd_sim_pool_t *pool) {
  return pool ? pool->n : 0;
}

const wd_sim_net_t *wd_sim_pool_net(const wd_sim_pool_t *pool, size_t i) {
  return pool && i < pool->n ? &pool->nets[i] : NULL;
}

int wd_sim_pool_is_synthetic(const wd_sim_pool_t *pool) {
  return pool ? pool->synthetic : 0;
}

/* ---------------------------------------------------------------- synthetic */

#define SYN_V6 4

int wd_sim_pool_synthetic(wd_sim_pool_t **out) {
  size_t per4 = 512 / NCURATED; /* 198.18.0.0/15 holds 512 /24s */
  wd_sim_pool_t *p = calloc(1, sizeof *p);
  if (!p)
    return WD_ENOMEM;
  p->nets = calloc(NCURATED, sizeof *p->nets);
  p->blocks = calloc(NCURATED * (per4 + SYN_V6), sizeof *p->blocks);
  if (!p->nets || !p->blocks) {
    wd_sim_pool_destroy(p);
    return WD_ENOMEM;
  }
  p->synthetic = 1;
  wd_sim_block_t *b = p->blocks;
  for (size_t i = 0; i < NCURATED; i++) {
    wd_sim_net_t *n = &p->nets[p->n++];
    net_from_curated(n, &curated[i]);
    n->asn = 64512 + (uint32_t)i; /* RFC 6996 private use */
    n->v4 = b;
    for (size_t k = 0; k < per4; k++, b++) {
      unsigned idx = (unsigned)(i * per4 + k);
      b->family = 4;
      b->prefix[0] = 198;
      b->prefix[1] = (uint8_t)(18 + (idx >> 8));
      b->prefix[2] = (uint8_t)(idx & 0xff);
    }
    n->nv4 = per4;
    n->v6 = b;
    for (size_t k = 0; k < SYN_V6; k++, b++) {
      const uint8_t pre[8] = {0x20, 0x01, 0x0d, 0xb8, (uint8_t)(i >> 8), (uint8_t)i, 0, (uint8_t)k};
      b->family = 6;
      memcpy(b->prefix, pre, 8);
    }
    n->nv6 = SYN_V6;
  }
  *out = p;
  return 0;
}

/* ---------------------------------------------------------------- from the real data */

typedef struct range {
  uint8_t family;
  uint8_t s[16], e[16];
} range_t;

typedef struct ranges {
  range_t *r;
  size_t n, cap;
} ranges_t;

/* Index of the curated entry with this ASN, or -1 (entries are few: a linear scan). */
static int curated_index(uint32_t asn) {
  for (size_t i = 0; i < NCURATED; i++)
    if (curated[i].asn == asn)
      return (int)i;
  return -1;
}

/* One CSV line: start,end,asn[,org]. Returns 1 and fills r, *asn when it is a range of a
 * curated ASN; 0 otherwise (other ASNs, comments, headers, lines that do not parse: the geo
 * loader reports those). */
static int parse_line(const char *line, size_t len, range_t *r, int *idx) {
  const char *c1 = memchr(line, ',', len);
  if (!c1)
    return 0;
  const char *c2 = memchr(c1 + 1, ',', len - (size_t)(c1 + 1 - line));
  if (!c2)
    return 0;
  const char *p = c2 + 1, *end = line + len;
  while (p < end && *p == ' ')
    p++;
  if (end - p >= 2 && (p[0] == 'A' || p[0] == 'a') && (p[1] == 'S' || p[1] == 's'))
    p += 2;
  uint64_t asn = 0;
  int digits = 0;
  while (p < end && *p >= '0' && *p <= '9' && asn <= 0xffffffffull) {
    asn = asn * 10 + (uint64_t)(*p++ - '0');
    digits++;
  }
  if (!digits || asn > 0xffffffffull)
    return 0;
  int i = curated_index((uint32_t)asn);
  if (i < 0)
    return 0;
  wd_ip_t s, e;
  const char *a = line, *b = c1 + 1;
  while (a < c1 && *a == ' ')
    a++;
  while (b < c2 && *b == ' ')
    b++;
  size_t an = (size_t)(c1 - a), bn = (size_t)(c2 - b);
  while (an && a[an - 1] == ' ')
    an--;
  while (bn && b[bn - 1] == ' ')
    bn--;
  if (wd_ip_parse(a, an, &s) || wd_ip_parse(b, bn, &e) || s.family != e.family)
    return 0;
  size_t w = s.family == 4 ? 4 : 16;
  if (memcmp(s.a, e.a, w) > 0)
    return 0;
  r->family = (uint8_t)s.family;
  memset(r->s, 0, sizeof r->s);
  memset(r->e, 0, sizeof r->e);
  memcpy(r->s, s.a, w);
  memcpy(r->e, e.a, w);
  *idx = i;
  return 1;
}

static int read_csv(const char *path, ranges_t *per, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "cannot open ASN ranges %s: %s (install the geo data with scripts/deps.sh)",
             path, strerror(errno));
    return WD_EIO;
  }
  char line[LINE_MAX_BYTES];
  int rc = 0, skipping = 0;
  while (fgets(line, sizeof line, f)) {
    size_t len = strlen(line);
    int whole = len && line[len - 1] == '\n';
    if (skipping) { /* the rest of an over-long line */
      skipping = !whole;
      continue;
    }
    skipping = !whole && !feof(f);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      len--;
    range_t r;
    int idx;
    if (!parse_line(line, len, &r, &idx))
      continue;
    ranges_t *rs = &per[idx];
    if (rs->n == rs->cap) {
      size_t cap = rs->cap ? rs->cap * 2 : 64;
      range_t *nr = realloc(rs->r, cap * sizeof *nr);
      if (!nr) {
        rc = WD_ENOMEM;
        break;
      }
      rs->r = nr;
      rs->cap = cap;
    }
    rs->r[rs->n++] = r;
  }
  if (!rc && ferror(f)) {
    snprintf(err, errlen, "cannot read ASN ranges %s: %s", path, strerror(errno));
    rc = WD_EIO;
  }
  fclose(f);
  return rc;
}

static uint64_t be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

/* Does the geo data place addr in the net's ASN and country? */
static int located(const wd_geo_t *geo, const wd_sim_net_t *n, int family, const uint8_t *addr) {
  wd_geo_info_t gi;
  if (wd_geo_lookup(geo, family, addr, &gi))
    return 0;
  return gi.asn == n->real_asn && !strcmp(gi.country, n->country);
}

/* A block inside r chosen at random: 1 and *b, or 0 when the range holds no whole block. */
static int carve(wd__rng_t *rng, const range_t *r, wd_sim_block_t *b) {
  memset(b, 0, sizeof *b);
  b->family = r->family;
  if (r->family == 4) {
    uint64_t s = ((uint64_t)r->s[0] << 24) | (r->s[1] << 16) | (r->s[2] << 8) | r->s[3];
    uint64_t e = ((uint64_t)r->e[0] << 24) | (r->e[1] << 16) | (r->e[2] << 8) | r->e[3];
    uint64_t first = (s + 255) >> 8, stop = (e + 1) >> 8; /* whole /24s: [first, stop) */
    if (stop <= first)
      return 0;
    uint64_t k = first + wd__rng_below(rng, stop - first);
    b->prefix[0] = (uint8_t)(k >> 16);
    b->prefix[1] = (uint8_t)(k >> 8);
    b->prefix[2] = (uint8_t)k;
    return 1;
  }
  uint64_t hs = be64(r->s), he = be64(r->e);
  if (be64(r->s + 8) != 0) {
    if (hs == UINT64_MAX)
      return 0;
    hs++;
  }
  if (be64(r->e + 8) != UINT64_MAX) {
    if (he == 0)
      return 0;
    he--;
  }
  if (he < hs)
    return 0;
  uint64_t span = he - hs;
  uint64_t k = hs + (span == UINT64_MAX ? wd__rng_u64(rng) : wd__rng_below(rng, span + 1));
  put_be64(b->prefix, k);
  return 1;
}

/* Check a block at several addresses: first, last and two drawn inside. */
static int block_ok(const wd_geo_t *geo, wd__rng_t *rng, const wd_sim_net_t *n,
                    const wd_sim_block_t *b) {
  uint8_t a[16] = {0};
  if (b->family == 4) {
    memcpy(a, b->prefix, 3);
    const uint8_t hosts[4] = {1, 254, (uint8_t)(2 + wd__rng_below(rng, 126)),
                              (uint8_t)(128 + wd__rng_below(rng, 126))};
    for (int i = 0; i < 4; i++) {
      a[3] = hosts[i];
      if (!located(geo, n, 4, a))
        return 0;
    }
    return 1;
  }
  memcpy(a, b->prefix, 8);
  for (int i = 0; i < 3; i++) {
    put_be64(a + 8, i == 0 ? 1 : wd__rng_u64(rng) | 1);
    if (!located(geo, n, 6, a))
      return 0;
  }
  return 1;
}

/* Up to max verified blocks of one family for net n from its ranges, appended at *b. */
static size_t pick_blocks(const wd_geo_t *geo, const wd_sim_net_t *n, const ranges_t *rs, int family,
                          size_t max, wd_sim_block_t *out) {
  size_t nfam = 0;
  for (size_t i = 0; i < rs->n; i++)
    nfam += rs->r[i].family == family;
  if (!nfam)
    return 0;
  wd__rng_t rng;
  wd__rng_seed(&rng, ((uint64_t)n->real_asn << 8) | (uint64_t)family);
  size_t got = 0;
  for (int t = 0; t < ATTEMPTS && got < max; t++) {
    size_t pick = wd__rng_below(&rng, nfam), i = 0;
    for (;; i++)
      if (rs->r[i].family == family && pick-- == 0)
        break;
    wd_sim_block_t b;
    if (!carve(&rng, &rs->r[i], &b))
      continue;
    int dup = 0;
    for (size_t k = 0; k < got && !dup; k++)
      dup = !memcmp(out[k].prefix, b.prefix, sizeof b.prefix);
    if (dup || !block_ok(geo, &rng, n, &b))
      continue;
    out[got++] = b;
  }
  return got;
}

int wd_sim_pool_load(const wd_geo_t *geo, const char *const *asn_csv, size_t ncsv,
                     wd_sim_pool_t **out, char *err, size_t errlen) {
  if (!geo || !asn_csv || !ncsv) {
    snprintf(err, errlen, "the address pool needs the geo data and the ASN range files");
    return WD_EINVAL;
  }
  ranges_t *per = calloc(NCURATED, sizeof *per);
  wd_sim_pool_t *p = calloc(1, sizeof *p);
  int rc = 0;
  if (!per || !p) {
    rc = WD_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < ncsv && !rc; i++)
    rc = read_csv(asn_csv[i], per, err, errlen);
  if (rc)
    goto out;
  p->nets = calloc(NCURATED, sizeof *p->nets);
  p->blocks = calloc(NCURATED * (MAX_V4 + MAX_V6), sizeof *p->blocks);
  if (!p->nets || !p->blocks) {
    rc = WD_ENOMEM;
    goto out;
  }
  wd_sim_block_t *b = p->blocks;
  for (size_t i = 0; i < NCURATED; i++) {
    wd_sim_net_t *n = &p->nets[p->n];
    net_from_curated(n, &curated[i]);
    n->v4 = b;
    n->nv4 = pick_blocks(geo, n, &per[i], 4, MAX_V4, b);
    if (!n->nv4)
      continue; /* not in the data, or never placed in its country */
    b += n->nv4;
    n->v6 = b;
    n->nv6 = pick_blocks(geo, n, &per[i], 6, MAX_V6, b);
    b += n->nv6;
    if (!n->nv6)
      n->v6 = NULL;
    p->n++;
  }
  if (!p->n) {
    snprintf(err, errlen, "no network of the curated list could be located with the geo data "
                          "(is a city database loaded?)");
    rc = WD_EINVAL;
  }
out:
  if (per)
    for (size_t i = 0; i < NCURATED; i++)
      free(per[i].r);
  free(per);
  if (rc) {
    wd_sim_pool_destroy(p);
    return rc;
  }
  *out = p;
  return 0;
}
