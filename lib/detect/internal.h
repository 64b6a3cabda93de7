/*
 * Sharing detection internals: the per-token records (tracker.c) and the judgement of one
 * token's state (verdict.c), which sees the records only through a dt_view_t.
 *
 * Times inside a record are 16-bit seconds since the record's `base` (unix seconds), re-based
 * when they would overflow; a time clamped by a re-base reads 0, which is then always older
 * than the window.
 */
#ifndef WARDEN_DETECT_INTERNAL_H
#define WARDEN_DETECT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "warden/detect.h"

/* A network fingerprint: a 21-bit seeded hash of the prefix (never 0), the family and the
 * country (10 bits, 0 unknown) packed in 32 bits. 0: an empty entry. */
#define DT_FP_HASH 0x1FFFFFu
#define DT_FP_V6 (1u << 21)
#define DT_FP_COUNTRY_SHIFT 22
static inline unsigned dt_fp_country(uint32_t fp) { return fp >> DT_FP_COUNTRY_SHIFT; }
static inline int dt_fp_family(uint32_t fp) { return fp & DT_FP_V6 ? 6 : 4; }

/* A network whose ASN nobody knows is put in a stand-in "ASN" named after its coarse prefix
 * (IPv4 /16, IPv6 /32), so that without geo data distinct operators still count apart while
 * one operator's neighbouring prefixes cluster as they would under their real ASN. Stand-ins
 * use the private-use range, which never appears in public routing data, and are never shown
 * or counted as known ASNs. */
#define DT_PSEUDO_ASN 4200000000u
static inline int dt_asn_known(uint32_t asn) { return asn && asn < DT_PSEUDO_ASN; }

/* Country codes packed in 10 bits: 1 + 26 * (c0 - 'A') + (c1 - 'A'); 0 unknown. */
unsigned wd__dt_country_pack(const char *cc);
void wd__dt_country_unpack(unsigned v, char out[3]);

/* Coordinates in 16 bits each (about 300 m); DT_NOWHERE: unknown. */
#define DT_NOWHERE INT16_MIN
int16_t wd__dt_lat_pack(double lat);
int16_t wd__dt_lon_pack(double lon);
double wd__dt_lat_unpack(int16_t v);
double wd__dt_lon_unpack(int16_t v);
/* Great-circle distance in km. */
double wd__dt_km(double lat1, double lon1, double lat2, double lon2);

/* Tier 1: one network inline in the token record (12 bytes). */
typedef struct dt_net1 {
  uint32_t fp;
  uint32_t asn;
  uint16_t first, last;
} dt_net1_t;

/* The token record: 64 bytes, one cache line. Holds two networks inline; a token seen on a
 * third network at once, travelling, or above twice the real-time rate moves its networks to a
 * detail record (ext). */
typedef struct dt_slot {
  uint64_t key;              /* seeded hash of the key; 0: a free record */
  uint32_t next;             /* hash chain (or free list): record index + 1, 0 ends */
  uint32_t expires;          /* unix seconds */
  uint32_t base;             /* unix seconds: the origin of the 16-bit times */
  uint16_t win;              /* start of the current rate window */
  uint16_t req_cur, req_prev;  /* requests in the current and the previous window */
  uint8_t ua_cur, ua_prev;   /* user agents seen, one bit per hash value (lower bound) */
  uint8_t over_cur, over_prev; /* networks displaced while in use (pool full), one bit each */
  uint8_t flags;             /* DT_PROMOTED, DT_REMOTE */
  uint8_t loc_net;           /* the network the last location came from, 0xFF none */
  uint16_t loc_t;            /* last time seen at the last location */
  int16_t loc_lat, loc_lon;  /* DT_NOWHERE: no location yet */
  uint16_t loc_city;         /* city id, 0 none */
  union {
    dt_net1_t net[2];        /* !DT_PROMOTED */
    uint32_t ext;            /* DT_PROMOTED: detail record index + 1 */
  } u;
} dt_slot_t;

enum { DT_PROMOTED = 1, DT_REMOTE = 2 /* merged a network seen at another node */ };

#define DT_NETS 8            /* networks in a detail record */
#define DT_SEGS 8            /* recent segments in a detail record */

/* Tier 2: a network with its location, request count and prefix (32 bytes). */
typedef struct dt_net {
  uint32_t fp;
  uint32_t asn;
  uint16_t first, last;
  int16_t lat, lon;
  uint16_t city, nreq;
  uint8_t prefix[8];         /* the prefix's first bytes (IPv6: at most 64 bits) */
  uint8_t plen;              /* bits of prefix kept; 0: not known */
  uint8_t pad;
  uint16_t ua;               /* the last user agent's hash (never 0), 0 none */
} dt_net_t;

/* A recent segment and the networks (bits of the detail's net[]) that fetched it. */
typedef struct dt_seg {
  uint32_t h;                /* 0: empty */
  uint16_t t;
  uint8_t nets;
  uint8_t paths;             /* the renditions (paths) it was fetched in: one bit per hash */
} dt_seg_t;

/* The last impossible travel. */
typedef struct dt_travel {
  uint16_t at;               /* when (record time); valid when km > 0 */
  uint16_t km;
  uint32_t secs;
  uint16_t from_city, to_city;
  uint16_t from_cc, to_cc;   /* packed countries */
  int16_t from_lat, from_lon, to_lat, to_lon;
} dt_travel_t;

typedef struct dt_detail {
  dt_net_t net[DT_NETS];
  dt_seg_t seg[DT_SEGS];
  dt_travel_t travel;
  uint32_t first_seen;       /* unix seconds, first observation of the token */
  uint32_t next;             /* free list: index + 1 */
} dt_detail_t;

/* A live network as the judgement sees it: times relative to `now` of the view. */
typedef struct dt_vnet {
  uint32_t fp, asn;
  int32_t first, last;       /* seconds, on the view's clock */
} dt_vnet_t;

/* Everything the judgement needs about one token at one time. */
typedef struct dt_view {
  int32_t now;
  size_t n;                  /* live networks (seen within the window) */
  dt_vnet_t net[DT_NETS];
  unsigned over;             /* more networks, estimated (the pool was full) */
  double requests;           /* in the window, sliding estimate */
  unsigned user_agents;
  uint8_t seg_nets[DT_SEGS]; /* for each live recent segment, bits of net[] that fetched it */
  size_t nsegs;
  unsigned renditions;       /* most renditions (paths) of one live recent segment */
  int travel;                /* an impossible travel within the window */
  unsigned travel_km, travel_s;
  wd_detect_place_t from, to;
} dt_view_t;

/* Judge a view: fills every field of *out but allowlisted/untracked (left as they are). */
void wd__detect_judge(const wd_detect_config_t *c, const dt_view_t *v, wd_verdict_t *out);

/* Distinct clients among a set of networks (bits of v->net): an IPv4 and an IPv6 prefix of
 * one ASN (or both of unknown ASN) counted once. */
unsigned wd__detect_clients(const dt_view_t *v, unsigned mask);

#endif
