/*
 * cluster_fill: publish N ban messages into a Warden bans stream as fast as JetStream takes
 * them (asynchronous publishes, up to 4,096 in flight), for bench/cluster_bench.sh to measure
 * how fast a new node catches up. Creates the stream (R1, file storage) when it is missing.
 *
 *   cluster_fill NATS_URL N [STREAM [SUBJECT_PREFIX [NODE [VALUES]]]]
 *
 * VALUES "seq" (default): token bans "fill-<node>-<i>", all ending a day later, so that the
 * values arrive nearly in key order; "random": "sha256:" and 64 hex digits (the identity id of a
 * token without its own id), spread over the key space as real ones are, ending 1 to 25 hours
 * later.
 *
 * Prints the publish rate on stdout as "published N in S s (R msgs/s), B bytes a message".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>
#include <openssl/sha.h>

#include "warden/cluster.h"

/* The identity id of ban i: "sha256:" and 64 hex digits, as for a token without its own id,
 * spread over the key space as real ones are. */
static void token_id(const char *node, long i, char *out) {
  unsigned char h[32];
  char in[128];
  int n = snprintf(in, sizeof in, "%s-%ld", node, i);
  SHA256((const unsigned char *)in, (size_t)n, h);
  memcpy(out, "sha256:", 7);
  for (int k = 0; k < 32; k++) {
    out[7 + 2 * k] = "0123456789abcdef"[h[k] >> 4];
    out[8 + 2 * k] = "0123456789abcdef"[h[k] & 15];
  }
  out[71] = '\0';
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr,
            "usage: cluster_fill NATS_URL N [STREAM [SUBJECT_PREFIX [NODE [seq|random]]]]\n");
    return 2;
  }
  long n = atol(argv[2]);
  const char *stream = argc > 3 ? argv[3] : "WARDEN_BANS";
  const char *prefix = argc > 4 ? argv[4] : "warden";
  const char *node = argc > 5 ? argv[5] : "filler";
  int random_values = argc > 6 && !strcmp(argv[6], "random");
  if (argc > 6 && !random_values && strcmp(argv[6], "seq")) {
    fprintf(stderr, "cluster_fill: VALUES is seq or random, not '%s'\n", argv[6]);
    return 2;
  }
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = 4096;
  jo.PublishAsync.StallWait = 30000; /* ms to wait for acknowledgements when 4,096 are pending */
  natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
  if (s == NATS_OK)
    s = natsConnection_JetStream(&js, nc, &jo);
  if (s != NATS_OK) {
    fprintf(stderr, "cluster_fill: %s: %s\n", argv[1], natsStatus_GetText(s));
    return 1;
  }
  char filter[128], subject[160];
  snprintf(filter, sizeof filter, "%s.bans.*", prefix);
  snprintf(subject, sizeof subject, "%s.bans.add", prefix);
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  const char *subj[1] = {filter};
  sc.Name = stream;
  sc.Subjects = subj;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  jsStreamInfo *si = NULL;
  jsErrCode jerr = 0;
  if (js_GetStreamInfo(&si, js, stream, NULL, &jerr) == NATS_OK)
    jsStreamInfo_Destroy(si);
  else if (js_AddStream(&si, js, &sc, NULL, &jerr) == NATS_OK)
    jsStreamInfo_Destroy(si);
  time_t t = time(NULL);
  double t0 = now_s();
  size_t bytes = 0;
  for (long i = 0; i < n; i++) {
    wd_cluster_msg_t m;
    wd_cluster_msg_init(&m, WD_CLUSTER_BAN, node, (int64_t)t * 1000);
    m.list = WD_CLUSTER_LIST_BANS;
    m.op = WD_BAN_ADD;
    m.ban.type = WD_BAN_TOKEN;
    if (random_values) {
      token_id(node, i, m.ban.value);
      m.ban.until = t + 3600 + i % 86400;
    } else {
      snprintf(m.ban.value, sizeof m.ban.value, "fill-%s-%ld", node, i);
      m.ban.until = t + 86400;
    }
    m.ban.created = t;
    snprintf(m.ban.reason, sizeof m.ban.reason, "shared: 7 networks in 60 s across 4 ASNs");
    snprintf(m.ban.actor, sizeof m.ban.actor, "detector");
    char buf[WD_CLUSTER_MSG_MAX];
    size_t len;
    if (wd_cluster_msg_encode(&m, buf, sizeof buf, &len) != 0) {
      fprintf(stderr, "cluster_fill: encode failed\n");
      return 1;
    }
    bytes += len;
    s = js_PublishAsync(js, subject, buf, (int)len, NULL);
    if (s != NATS_OK) {
      fprintf(stderr, "cluster_fill: publish %ld: %s\n", i, natsStatus_GetText(s));
      return 1;
    }
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 60000;
  s = js_PublishAsyncComplete(js, &po);
  double dt = now_s() - t0;
  if (s != NATS_OK) {
    fprintf(stderr, "cluster_fill: not every publish was acknowledged: %s\n", natsStatus_GetText(s));
    return 1;
  }
  printf("published %ld in %.2f s (%.0f msgs/s), %.0f bytes a message\n", n, dt, n / dt,
         n ? (double)bytes / n : 0.0);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  nats_Close();
  return 0;
}
