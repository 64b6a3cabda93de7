/*
 * Messages Warden nodes exchange through the broker (NATS JetStream; docs/cluster.md).
 *
 * Three kinds, each one small JSON object (version 1, short keys, at most WD_CLUSTER_MSG_MAX
 * bytes):
 *   ban  a change to the ban list or the allow list made at a node (add or lift), with the ban
 *        as stored there (created and until absolute, so TTLs hold on every node):
 *          {"v":1,"k":"ban","n":"edge-1","t":1700000000123,"l":"bans","o":"add",
 *           "bt":"token","bv":"abc","c":1700000000,"u":1700003600,"r":"shared","a":"admin"}
 *   net  a network seen for a token at a node for the first time in the detection window (or
 *        still in use half a window later), so every node counts it:
 *          {"v":1,"k":"net","n":"edge-1","t":1700000000123,"p":"live","key":"tok-1",
 *           "x":1700003600,"ip":"203.0.113.0/24","asn":64500,"cc":"FR","lat":48.86,"lon":2.35}
 *   use  the first use of a catreplay=1 token at a node:
 *          {"v":1,"k":"use","n":"edge-1","t":1700000000123,"iss":"eyevinn","id":"cti-1",
 *           "u":1700000060}
 *
 * Decoding is strict: the input must be one JSON object of at most WD_CLUSTER_MSG_MAX bytes,
 * of a known version, with every field of its kind present, of the right type and within
 * bounds, and no other field. Ban values must already be canonical (wd_ban_canonical), text is
 * UTF-8 without control characters. Anything else is refused, never half applied.
 */
#ifndef WARDEN_CLUSTER_H
#define WARDEN_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "warden/ban.h"
#include "warden/detect.h"
#include "warden/token.h"

#define WD_CLUSTER_VERSION 1
#define WD_CLUSTER_MSG_MAX 4096      /* encoded message bytes, at most */
#define WD_CLUSTER_NODE_MAX 64       /* node id bytes including the NUL */
#define WD_CLUSTER_POLICY_MAX 64     /* policy name bytes including the NUL */

typedef enum wd_cluster_kind {
  WD_CLUSTER_BAN = 1,
  WD_CLUSTER_NET,
  WD_CLUSTER_USE,
} wd_cluster_kind_t;

/* Which list a ban message changes. */
typedef enum wd_cluster_list { WD_CLUSTER_LIST_BANS = 0, WD_CLUSTER_LIST_ALLOW } wd_cluster_list_t;

typedef struct wd_cluster_msg {
  wd_cluster_kind_t kind;
  char node[WD_CLUSTER_NODE_MAX]; /* the node that made it: 1..63 of [A-Za-z0-9_-] */
  int64_t time_ms;                /* when, unix milliseconds at that node */

  /* ban */
  wd_cluster_list_t list;
  wd_ban_op_t op;
  wd_ban_t ban;                   /* type, value (canonical), created, until, reason, actor */

  /* net */
  char policy[WD_CLUSTER_POLICY_MAX];
  char key[WD_DETECT_KEY_MAX + 1]; /* the tracker key (token id) */
  int64_t exp;                    /* the token's expiry, unix seconds; 0 none */
  int family;                     /* 4 or 6 */
  uint8_t prefix[16];             /* the network (host bits cleared) */
  int prefix_len;                 /* 8..32 for IPv4, 16..128 for IPv6 */
  uint32_t asn;                   /* 0 unknown */
  char country[3];                /* "" unknown, else two upper-case letters */
  double lat, lon;                /* NaN unknown */

  /* use */
  char issuer[WD_ID_MAX];         /* may be "" */
  char id[WD_ID_MAX];
  int64_t until;                  /* remembered until, unix seconds; 0: the token never expires */
} wd_cluster_msg_t;

/* A message of kind k from node (NULL: ""), everything else zero, lat/lon NaN. */
void wd_cluster_msg_init(wd_cluster_msg_t *m, wd_cluster_kind_t k, const char *node,
                         int64_t time_ms);

/* Is s a valid node id (1..63 bytes of A-Z a-z 0-9 _ -)? 1 or 0. */
int wd_cluster_node_ok(const char *s);

/*
 * Encode m into buf (cap bytes; WD_CLUSTER_MSG_MAX always suffices), NUL-terminated; *len (may
 * be NULL) receives the length without the NUL. Returns 0, WD_EINVAL when m does not pass the
 * checks decode makes, WD_ETOOBIG when buf is too small, WD_ENOMEM.
 */
int wd_cluster_msg_encode(const wd_cluster_msg_t *m, char *buf, size_t cap, size_t *len);

/*
 * Decode n bytes into *m. Returns 0; WD_ETOOBIG for more than WD_CLUSTER_MSG_MAX bytes;
 * WD_EUNSUPPORTED for a version other than WD_CLUSTER_VERSION or an unknown kind; WD_EINVAL
 * for anything malformed or out of bounds. err (may be NULL) receives one line naming the
 * field. *m is filled only on success.
 */
int wd_cluster_msg_decode(const void *data, size_t n, wd_cluster_msg_t *m, char *err,
                          size_t errlen);

#endif
