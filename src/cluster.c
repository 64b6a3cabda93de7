/*
 * The cluster node: NATS JetStream publisher and consumers (see cluster.h, docs/cluster.md).
 *
 * DESIGN
 * Streams (created when absent, file storage, cluster.replicas copies):
 *   bans    <prefix>.bans.{add,lift,allow-add,allow-lift}  every ban and allow-list change
 *   usage   <prefix>.usage.net                             networks seen, kept usage_max_age
 *   replay  <prefix>.replay.<128-bit hex>                  first uses, one per token, kept
 *                                                          replay_max_age
 * Publishing. Ban changes made here wait in their store's outbox (written in the commit that
 * made them, so kill -9 loses none); the publisher reads them in order and publishes each with
 * a synchronous JetStream publish (a Nats-Msg-Id header makes a resend after a lost
 * acknowledgement a duplicate the stream drops), one at a time so that this node's changes
 * keep their order in the stream; sent entries are trimmed from the outbox. Usage observations
 * are fire-and-forget core publishes into the usage stream. A first use is published with
 * Nats-Expected-Last-Subject-Sequence: 0, so the stream accepts only the first node's claim;
 * a refused claim is a use at two nodes within the consistency window (counted).
 * Consuming. One thread per stream pulls batches from an ephemeral pull consumer that starts
 * where this node stopped: for bans the stream sequence stored in bans.mdb with the last
 * applied batch (cursor "nats:<stream>"), for usage the last window, for replay the whole
 * stream. The consumers take no acknowledgements (the broker keeps no position for the node);
 * each message must carry the next consumer sequence, and at a gap (a delivery lost) the
 * thread keeps what came before and subscribes again after it. A ban batch goes to the writer
 * thread as one op (allow-list changes first, then the ban-list changes with the cursor) while
 * the next one is fetched and decoded; after a failed commit, a restart or a broken consumer
 * the thread resumes after the stored cursor, so a change is applied once, in stream order, on
 * every node, its own included (an echo of a change already in the store is a no-op:
 * wd_banlist_apply_opts_t.skip_same).
 * Any message that does not decode, or arrives on the wrong stream, is counted as rejected and
 * skipped: never applied, never retried.
 */
#include "cluster.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>
#include <openssl/evp.h>

#include "util/ip.h"
#include "warden/cluster.h"
#include "writer.h"

#define FETCH_BATCH 4096
#define BAN_BATCH_MAX 65536 /* ban changes in one writer commit (WD_BAN_BATCH_MAX) */
#define FETCH_WAIT_MS 250
#define PUB_WAIT_MS 2000
#define OUTBOX_READ 1024
#define TRIM_EVERY_MS 200
#define BOUND_EVERY_MS 1000
#define RETRY_MS 250

enum { ST_BANS = 0, ST_USAGE, ST_REPLAY, ST_COUNT };
static const char *const st_names[ST_COUNT] = {"bans", "usage", "replay"};
enum { K_BAN = 0, K_NET, K_USE, K_COUNT };
static const char *const k_names[K_COUNT] = {"ban", "net", "use"};

/* An encoded message waiting in the memory queue. */
typedef struct qmsg {
  struct qmsg *next;
  int kind;                 /* K_NET or K_USE */
  char subject[96];
  size_t len;
  char data[];
} qmsg_t;

typedef struct consumer {
  cluster_t *cl;
  int which;                /* ST_* */
  pthread_t tid;
  int started;
  natsSubscription *sub;
  uint64_t sub_disconnects; /* c->disconnects when subscribed */
  uint64_t committed;       /* bans: the last stream sequence committed (the stored cursor) */
  int idle;                 /* fetches in a row that timed out */
  uint64_t next_seq;        /* the next stream sequence wanted (0: by the start policy) */
  uint64_t delivered;       /* the consumer sequence of the last message taken from sub */
  /* the op handed to the writer, waiting for its commit */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
} consumer_t;

struct cluster {
  srv_t *srv;
  const conf_cluster_t *cf;
  const char *node;
  char cursor_name[WD_BAN_CURSOR_MAX];
  char subj_filter[ST_COUNT][96];
  char prefix[80];

  natsOptions *opts;
  natsConnection *nc;
  jsCtx *js;
  _Atomic int connected;
  _Atomic int stop;
  _Atomic int streams_ok;

  pthread_t pub_tid;
  int pub_started;
  pthread_mutex_t mu;       /* the queue and the publisher's wake-up */
  pthread_cond_t cv;
  int wake;
  qmsg_t *qhead, *qtail;
  uint64_t qlen;
  uint64_t sent_id[2];      /* outbox ids sent, per list (publisher thread only) */

  consumer_t cons[ST_COUNT];

  /* metrics */
  _Atomic uint64_t published[K_COUNT], received[K_COUNT], applied[K_COUNT];
  _Atomic uint64_t rejected[ST_COUNT], dropped[K_COUNT];
  _Atomic uint64_t publish_errors, fetch_errors, conflicts, disconnects, own_echoes;
  _Atomic uint64_t applied_seq[ST_COUNT];
};

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int64_t real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add(_Atomic uint64_t *c, uint64_t v) {
  atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* Sleep up to ms, waking early when the cluster stops. */
static void nap(cluster_t *c, int ms) {
  for (int i = 0; i < ms && !atomic_load(&c->stop); i += 10) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static int ready(cluster_t *c) {
  return atomic_load_explicit(&c->srv->ready, memory_order_acquire) &&
         atomic_load_explicit(&c->srv->bans, memory_order_acquire);
}

static void set_replay_closed(cluster_t *c, int closed) {
  wd_replay_t *rp = atomic_load_explicit(&c->srv->replay, memory_order_acquire);
  if (rp && c->cf->replay_fail_closed)
    wd_replay_set_closed(rp, closed);
}

/* ---------------------------------------------------------------- connection */

static void on_connected(natsConnection *nc, void *arg) {
  cluster_t *c = arg;
  atomic_store(&c->connected, 1);
  set_replay_closed(c, 0);
  cluster_wake(c);
}

static void on_disconnected(natsConnection *nc, void *arg) {
  cluster_t *c = arg;
  if (atomic_exchange(&c->connected, 0))
    add(&c->disconnects, 1);
  set_replay_closed(c, 1);
}

/* Create the three streams when absent. 0, or -1 (retried later). */
static int ensure_streams(cluster_t *c) {
  const conf_cluster_t *cf = c->cf;
  const char *names[ST_COUNT] = {cf->bans_stream, cf->usage_stream, cf->replay_stream};
  for (int i = 0; i < ST_COUNT; i++) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, c->js, names[i], NULL, &jerr);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(si);
      continue;
    }
    if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr)
      return -1;
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subj[1] = {c->subj_filter[i]};
    sc.Name = names[i];
    sc.Subjects = subj;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Replicas = cf->replicas;
    if (i == ST_USAGE)
      sc.MaxAge = cf->usage_max_age * (int64_t)1000000000;
    if (i == ST_REPLAY) {
      sc.MaxAge = cf->replay_max_age * (int64_t)1000000000;
      sc.MaxMsgsPerSubject = 1;
    }
    s = js_AddStream(&si, c->js, &sc, NULL, &jerr);
    if (s == NATS_OK)
      jsStreamInfo_Destroy(si);
    else if (jerr != JSStreamNameExistErr) /* another node made it meanwhile: fine */
      return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- publishing */

/* One JetStream publish; 0, 1 when refused as a second claim (expect0), -1 on failure. */
static int js_pub(cluster_t *c, const char *subject, const char *data, size_t len,
                  const char *msg_id, int expect0) {
  natsMsg *m = NULL;
  natsStatus s = natsMsg_Create(&m, subject, NULL, data, (int)len);
  if (s == NATS_OK && msg_id)
    s = natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id);
  if (s == NATS_OK && expect0)
    s = natsMsgHeader_Set(m, "Nats-Expected-Last-Subject-Sequence", "0");
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = PUB_WAIT_MS;
  jsPubAck *pa = NULL;
  jsErrCode jerr = 0;
  if (s == NATS_OK)
    s = js_PublishMsg(&pa, c->js, m, &po, &jerr);
  jsPubAck_Destroy(pa);
  natsMsg_Destroy(m);
  if (s == NATS_OK)
    return 0;
  if (expect0 && jerr == JSStreamWrongLastSequenceErr)
    return 1;
  add(&c->publish_errors, 1);
  return -1;
}

typedef struct obuf {
  wd_ban_outbox_entry_t e[OUTBOX_READ];
  size_t n;
} obuf_t;

static int collect(const wd_ban_outbox_entry_t *e, void *arg) {
  obuf_t *b = arg;
  b->e[b->n++] = *e;
  return 0;
}

/* Send list's outbox entries not sent yet; returns how many, or -1 when the broker failed. */
static long publish_outbox(cluster_t *c, int list, obuf_t *b) {
  wd_banlist_t *bl = atomic_load_explicit(list ? &c->srv->allow : &c->srv->bans,
                                          memory_order_acquire);
  if (!bl)
    return 0;
  b->n = 0;
  if (wd_banlist_outbox_read(bl, c->sent_id[list], OUTBOX_READ, collect, b) != 0)
    return -1;
  long sent = 0;
  for (size_t i = 0; i < b->n && !atomic_load(&c->stop); i++) {
    const wd_ban_outbox_entry_t *e = &b->e[i];
    wd_cluster_msg_t m;
    wd_cluster_msg_init(&m, WD_CLUSTER_BAN, c->node, real_ms());
    m.list = list ? WD_CLUSTER_LIST_ALLOW : WD_CLUSTER_LIST_BANS;
    m.op = e->op;
    m.ban = e->ban;
    if (m.op == WD_BAN_ADD && m.ban.created <= 0)
      m.ban.created = m.time_ms / 1000;
    char buf[WD_CLUSTER_MSG_MAX], subject[160], id[160];
    size_t len;
    if (wd_cluster_msg_encode(&m, buf, sizeof buf, &len) != 0) {
      add(&c->dropped[K_BAN], 1); /* cannot happen for what the store accepted */
      c->sent_id[list] = e->id;
      continue;
    }
    snprintf(subject, sizeof subject, "%s.bans.%s%s", c->prefix, list ? "allow-" : "",
             m.op == WD_BAN_ADD ? "add" : "lift");
    snprintf(id, sizeof id, "%s-%c-%llu-%lld", c->node, list ? 'a' : 'b',
             (unsigned long long)e->id, (long long)e->ban.created);
    if (js_pub(c, subject, buf, len, id, 0) != 0)
      return -1;
    c->sent_id[list] = e->id;
    add(&c->published[K_BAN], 1);
    sent++;
  }
  return sent;
}

/* Send the memory queue; -1 when the broker failed (the message stays at the head). */
static int publish_queue(cluster_t *c) {
  for (;;) {
    pthread_mutex_lock(&c->mu);
    qmsg_t *q = c->qhead;
    pthread_mutex_unlock(&c->mu);
    if (!q || atomic_load(&c->stop))
      return 0;
    int rc;
    if (q->kind == K_NET) {
      natsStatus s = natsConnection_Publish(c->nc, q->subject, q->data, (int)q->len);
      rc = s == NATS_OK ? 0 : -1;
      if (rc)
        add(&c->publish_errors, 1);
    } else {
      rc = js_pub(c, q->subject, q->data, q->len, NULL, 1);
      if (rc == 1) {
        add(&c->conflicts, 1); /* another node had it first: both know it now */
        rc = 0;
      }
    }
    if (rc)
      return -1;
    add(&c->published[q->kind], 1);
    pthread_mutex_lock(&c->mu);
    c->qhead = q->next;
    if (!c->qhead)
      c->qtail = NULL;
    c->qlen--;
    pthread_mutex_unlock(&c->mu);
    free(q);
  }
}

static void *pub_main(void *arg) {
  cluster_t *c = arg;
  obuf_t *b = malloc(sizeof *b);
  double last_trim = 0, last_bound = 0;
  int dirty[2] = {0, 0};
  while (b && !atomic_load(&c->stop)) {
    pthread_mutex_lock(&c->mu);
    if (!c->wake) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 20 * 1000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    c->wake = 0;
    pthread_mutex_unlock(&c->mu);
    if (atomic_load(&c->stop))
      break;
    if (!ready(c))
      continue;
    set_replay_closed(c, !atomic_load(&c->connected));
    double now = mono_ms();
    /* the bound on what waits for the broker */
    if (now - last_bound >= BOUND_EVERY_MS) {
      last_bound = now;
      for (int l = 0; l < 2; l++) {
        wd_banlist_t *bl = atomic_load(l ? &c->srv->allow : &c->srv->bans);
        uint64_t dropped = 0;
        if (bl && wd_banlist_outbox_count(bl) > c->cf->queue &&
            wd_banlist_outbox_trim(bl, c->sent_id[l], c->cf->queue, &dropped) == 0)
          add(&c->dropped[K_BAN], dropped);
      }
    }
    if (!atomic_load(&c->connected))
      continue;
    if (!atomic_load(&c->streams_ok)) {
      if (ensure_streams(c)) {
        add(&c->publish_errors, 1);
        nap(c, RETRY_MS);
        continue;
      }
      atomic_store(&c->streams_ok, 1);
    }
    int failed = 0;
    for (int l = 0; l < 2 && !failed; l++) {
      long n;
      while ((n = publish_outbox(c, l, b)) > 0)
        dirty[l] = 1;
      failed = n < 0;
    }
    if (!failed)
      failed = publish_queue(c) != 0;
    if ((dirty[0] || dirty[1]) && (now - last_trim >= TRIM_EVERY_MS || failed)) {
      last_trim = now;
      for (int l = 0; l < 2; l++) {
        wd_banlist_t *bl = atomic_load(l ? &c->srv->allow : &c->srv->bans);
        if (dirty[l] && bl && wd_banlist_outbox_trim(bl, c->sent_id[l], 0, NULL) == 0)
          dirty[l] = 0;
      }
    }
    if (failed) {
      atomic_store(&c->streams_ok, 0); /* check the streams again: the broker may be new */
      nap(c, RETRY_MS);
    }
  }
  free(b);
  return NULL;
}

/* ---------------------------------------------------------------- consuming */

static void op_done(ban_op_t *op, void *arg) {
  consumer_t *k = arg;
  pthread_mutex_lock(&k->mu);
  k->done = 1;
  pthread_cond_signal(&k->cv);
  pthread_mutex_unlock(&k->mu);
}

/* Hand op to the writer (from_cluster: applied idempotently, not sent again). 0, or -1 when
 * the writer would not take it. Wait for it with wait_op. */
static int submit(consumer_t *k, ban_op_t *op) {
  cluster_t *c = k->cl;
  op->from_cluster = 1;
  op->done = op_done;
  op->done_arg = k;
  k->done = 0;
  return c->srv->writer && writer_submit(c->srv->writer, op) == 0 ? 0 : -1;
}

/* Wait for the op submitted last; 0 when it committed (changes refused on their own, like an
 * expired ban, count as committed), -1 when the commit failed. */
static int wait_op(consumer_t *k, ban_op_t *op) {
  pthread_mutex_lock(&k->mu);
  while (!k->done)
    pthread_cond_wait(&k->cv, &k->mu);
  pthread_mutex_unlock(&k->mu);
  return op->rc ? -1 : 0;
}

/* The copy of node id `node` that op owns. The ids of a batch are few: the last 16 kept are
 * looked at before a new copy is made (so that a stream of many ids costs no more). */
static const char *origin_of(ban_op_t *op, const char *node) {
  for (size_t i = op->norigins; i-- > 0 && i + 16 >= op->norigins;)
    if (!strcmp(op->origins[i], node))
      return op->origins[i];
  if ((op->norigins & (op->norigins - 1)) == 0) { /* 0, 1, 2, 4, ...: room doubles */
    char **v = realloc(op->origins, (op->norigins ? 2 * op->norigins : 1) * sizeof *v);
    if (!v)
      return NULL;
    op->origins = v;
  }
  op->origins[op->norigins] = strdup(node);
  return op->origins[op->norigins] ? op->origins[op->norigins++] : NULL;
}

/* A change of a ban message, with its origin (the node and stream sequence) as evidence. */
static int to_change(ban_op_t *op, const wd_cluster_msg_t *m, uint64_t seq, wd_ban_change_t *ch) {
  memset(ch, 0, sizeof *ch);
  ch->op = m->op;
  ch->ban = m->ban;
  ch->origin_node = origin_of(op, m->node);
  ch->origin_seq = seq;
  return ch->origin_node ? 0 : -1;
}

static const wd_policy_t *policy_named(const conf_t *cf, const char *name, size_t *idx) {
  for (size_t i = 0; i < cf->npolicies; i++)
    if (cf->policies[i].name && !strcmp(cf->policies[i].name, name)) {
      *idx = i;
      return &cf->policies[i];
    }
  return NULL;
}

static void apply_net(cluster_t *c, const wd_cluster_msg_t *m) {
  size_t i;
  if (!policy_named(c->srv->conf, m->policy, &i) || !c->srv->policy_tracker[i])
    return;
  wd_geo_info_t gi;
  memset(&gi, 0, sizeof gi);
  gi.asn = m->asn;
  memcpy(gi.country, m->country, sizeof m->country);
  gi.lat = m->lat;
  gi.lon = m->lon;
  wd_observation_t o;
  wd_observation_init(&o);
  o.key = m->key;
  o.exp = m->exp;
  int64_t now = real_ms();
  o.now_ms = m->time_ms > now ? now : m->time_ms; /* a clock ahead counts as now */
  o.family = m->family;
  memcpy(o.addr, m->prefix, 16);
  o.geo = &gi;
  if (wd_tracker_merge(c->srv->policy_tracker[i], &o) == 0)
    add(&c->applied[K_NET], 1);
}

static void apply_use(cluster_t *c, const wd_cluster_msg_t *m) {
  wd_replay_t *rp = atomic_load_explicit(&c->srv->replay, memory_order_acquire);
  if (rp && wd_replay_seen(rp, m->issuer, m->id, m->until, real_ms() / 1000) >= 0)
    add(&c->applied[K_USE], 1);
}

static void drop_sub(consumer_t *k) {
  if (!k->sub)
    return;
  natsSubscription_Unsubscribe(k->sub); /* deletes the ephemeral consumer when reachable */
  natsSubscription_Destroy(k->sub);
  k->sub = NULL;
}

static int subscribe(consumer_t *k) {
  cluster_t *c = k->cl;
  const conf_cluster_t *cf = c->cf;
  const char *stream = k->which == ST_BANS    ? cf->bans_stream
                       : k->which == ST_USAGE ? cf->usage_stream
                                              : cf->replay_stream;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream;
  /* no acknowledgements: where this node stands is its own cursor, and a message lost on the
   * way shows as a gap in the consumer's sequence (seq_of) */
  so.Config.AckPolicy = js_AckNone;
  so.Config.MaxRequestBatch = FETCH_BATCH;
  so.Config.InactiveThreshold = (int64_t)30 * 1000000000;
  if (k->next_seq) {
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = k->next_seq;
  } else if (k->which == ST_USAGE) {
    /* the observations of the last window still count */
    unsigned w = c->srv->conf->detect.cfg.window_s;
    so.Config.DeliverPolicy = js_DeliverByStartTime;
    so.Config.OptStartTime = (real_ms() - (int64_t)w * 1000) * 1000000;
  } else {
    so.Config.DeliverPolicy = js_DeliverAll;
  }
  jsErrCode jerr = 0;
  natsStatus s = js_PullSubscribe(&k->sub, c->js, c->subj_filter[k->which], NULL, NULL, &so, &jerr);
  if (s != NATS_OK) {
    k->sub = NULL;
    return -1;
  }
  k->sub_disconnects = atomic_load(&c->disconnects);
  k->idle = 0;
  k->delivered = 0;
  return 0;
}

/* Fetch what is there (up to FETCH_BATCH) without waiting; when nothing is and `wait` is set,
 * wait up to FETCH_WAIT_MS for one message and return as soon as it is there. Returns the
 * messages fetched (0 when none), or -1 when the subscription failed. */
static int fetch_some(consumer_t *k, natsMsgList *list, int wait) {
  jsFetchRequest fr;
  jsFetchRequest_Init(&fr);
  fr.Batch = FETCH_BATCH;
  fr.NoWait = true;                                /* the server answers at once ... */
  fr.Expires = (int64_t)FETCH_WAIT_MS * 1000000;  /* ... and this is how long we wait for it */
  memset(list, 0, sizeof *list);
  natsStatus s = natsSubscription_FetchRequest(list, k->sub, &fr);
  if (s == NATS_OK && list->Count > 0)
    return list->Count;
  natsMsgList_Destroy(list);
  memset(list, 0, sizeof *list);
  if (s != NATS_OK && s != NATS_NOT_FOUND && s != NATS_TIMEOUT)
    return -1;
  if (!wait)
    return 0;
  jsFetchRequest_Init(&fr);
  fr.Batch = 1;
  fr.Expires = (int64_t)FETCH_WAIT_MS * 1000000;
  s = natsSubscription_FetchRequest(list, k->sub, &fr);
  if (s == NATS_OK)
    return list->Count;
  natsMsgList_Destroy(list);
  memset(list, 0, sizeof *list);
  return s == NATS_NOT_FOUND || s == NATS_TIMEOUT ? 0 : -1;
}

/* The stream sequence of a fetched message, after checking that it is the next one the
 * consumer delivered; 0 for a message without JetStream metadata, -1 (as UINT64_MAX) when a
 * delivery is missing before it (the subscription must start again after the last message
 * taken). Read from the reply subject, "$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.
 * <consumer seq>...." (9 tokens; 11 or more with a domain and account hash in front), without
 * the allocations of natsMsg_GetMetaData, which stays the fallback. */
#define SEQ_GAP UINT64_MAX
static uint64_t num_token(const char *p, int *ok) {
  uint64_t v = 0;
  for (; *p >= '0' && *p <= '9' && v < UINT64_MAX / 10; p++)
    v = v * 10 + (uint64_t)(*p - '0');
  *ok = v && *p == '.';
  return v;
}

static uint64_t seq_of(consumer_t *k, natsMsg *msg) {
  uint64_t seq = 0, cseq = 0;
  const char *r = natsMsg_GetReply(msg);
  if (r && !strncmp(r, "$JS.ACK.", 8)) {
    const char *tok[16];
    int nt = 0;
    for (const char *p = r; *p && nt < 16;) {
      tok[nt++] = p;
      const char *dot = strchr(p, '.');
      if (!dot)
        break;
      p = dot + 1;
    }
    int at = nt == 9 ? 5 : nt >= 11 ? 7 : -1, ok1 = 0, ok2 = 0;
    if (at > 0) {
      seq = num_token(tok[at], &ok1);
      cseq = num_token(tok[at + 1], &ok2);
    }
    if (!ok1 || !ok2)
      seq = 0;
  }
  if (!seq) {
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) != NATS_OK)
      return 0;
    seq = meta->Sequence.Stream;
    cseq = meta->Sequence.Consumer;
    jsMsgMetaData_Destroy(meta);
  }
  if (cseq != k->delivered + 1)
    return SEQ_GAP;
  k->delivered = cseq;
  return seq;
}

static const int want_kind[ST_COUNT] = {WD_CLUSTER_BAN, WD_CLUSTER_NET, WD_CLUSTER_USE};

/* Decode one message of k's stream: 0 and *m, or -1 (counted as rejected). */
static int decode(consumer_t *k, natsMsg *msg, wd_cluster_msg_t *m) {
  cluster_t *c = k->cl;
  int len = natsMsg_GetDataLength(msg);
  int rc = len < 0 ? WD_EINVAL
                   : wd_cluster_msg_decode(natsMsg_GetData(msg), (size_t)len, m, NULL, 0);
  if (rc || (int)m->kind != want_kind[k->which]) {
    add(&c->rejected[k->which], 1);
    return -1;
  }
  add(&c->received[k->which], 1);
  return 0;
}

/* Usage and replay: apply a fetched list at once (best effort: nothing to commit). */
static void process_light(consumer_t *k, natsMsgList *list) {
  cluster_t *c = k->cl;
  uint64_t last = 0;
  for (int i = 0; i < list->Count; i++) {
    uint64_t seq = seq_of(k, list->Msgs[i]);
    if (seq == SEQ_GAP) {
      add(&c->fetch_errors, 1);
      drop_sub(k); /* again after the last message taken */
      break;
    }
    if (!seq || seq < k->next_seq)
      continue;
    last = seq;
    wd_cluster_msg_t m;
    if (decode(k, list->Msgs[i], &m))
      continue;
    if (!strcmp(m.node, c->node))
      add(&c->own_echoes, 1); /* counted here when it happened */
    else if (k->which == ST_USAGE)
      apply_net(c, &m);
    else
      apply_use(c, &m);
  }
  if (last) {
    k->next_seq = last + 1;
    atomic_store(&c->applied_seq[k->which], last);
  }
}

/* A batch of ban changes being built or committed. */
typedef struct bbatch {
  ban_op_t *bans, *allow;   /* changes to each list; bans carries the cursor */
  size_t cap[2];            /* room in bans->changes, allow->changes */
  uint64_t last_seq;
} bbatch_t;

/* Room for one more change in op (cap: its room, doubled when full). 0 or -1. */
static int room(ban_op_t *op, size_t *cap) {
  if (op->n < *cap)
    return 0;
  size_t ncap = *cap * 2;
  wd_ban_change_t *ch = realloc(op->changes, ncap * sizeof *ch);
  if (!ch)
    return -1;
  op->changes = ch;
  *cap = ncap;
  return 0;
}

static void bbatch_free(bbatch_t *b) {
  ban_op_free(b->bans);
  ban_op_free(b->allow);
  memset(b, 0, sizeof *b);
}

/* After a failure: forget what was fetched past the committed cursor and fetch it again. */
static void restart(consumer_t *k) {
  add(&k->cl->fetch_errors, 1);
  k->next_seq = k->committed + 1;
  drop_sub(k);
  nap(k->cl, RETRY_MS);
}

/* Wait for the batch in flight; on success move the committed cursor past it. */
static int settle(consumer_t *k, bbatch_t *inflight) {
  cluster_t *c = k->cl;
  if (!inflight->bans)
    return 0;
  int rc = wait_op(k, inflight->bans);
  if (rc == 0) {
    atomic_store(&c->applied_seq[ST_BANS], inflight->last_seq);
    add(&c->applied[K_BAN], inflight->bans->n);
    k->committed = inflight->last_seq;
  }
  bbatch_free(inflight);
  return rc;
}

/*
 * Bans: build a batch of up to BAN_BATCH_MAX changes from as many fetches as the stream has
 * ready (waiting only when nothing is in flight), hand it to the writer, and build the next one
 * while the writer commits it. The committed cursor moves past a batch only once it is
 * committed; after a failure everything past the committed cursor is fetched again. A gap in
 * the deliveries ends the batch before it (the subscription starts again after it).
 */
static void bans_round(consumer_t *k, bbatch_t *inflight) {
  cluster_t *c = k->cl;
  bbatch_t b = {0};
  b.bans = ban_op_create(FETCH_BATCH);
  b.allow = ban_op_create(FETCH_BATCH);
  b.cap[0] = b.cap[1] = FETCH_BATCH;
  if (!b.bans || !b.allow) {
    bbatch_free(&b);
    if (settle(k, inflight))
      restart(k);
    nap(c, RETRY_MS);
    return;
  }
  b.bans->n = b.allow->n = 0;
  int failed = 0, gap = 0;
  while (!gap && b.bans->n + b.allow->n + FETCH_BATCH <= BAN_BATCH_MAX && !atomic_load(&c->stop)) {
    natsMsgList list;
    int got = fetch_some(k, &list, !inflight->bans && !b.last_seq);
    if (got < 0) {
      failed = 1;
      break;
    }
    if (got == 0)
      break;
    for (int i = 0; i < list.Count && !failed; i++) {
      uint64_t seq = seq_of(k, list.Msgs[i]);
      if (seq == SEQ_GAP) { /* what came before is whole: commit it, then fetch again */
        add(&c->fetch_errors, 1);
        drop_sub(k);
        gap = 1;
        break;
      }
      if (!seq || seq < k->next_seq)
        continue;
      k->next_seq = seq + 1;
      b.last_seq = seq;
      wd_cluster_msg_t m;
      if (decode(k, list.Msgs[i], &m))
        continue;
      add(&c->own_echoes, (uint64_t)!strcmp(m.node, c->node));
      int al = m.list == WD_CLUSTER_LIST_ALLOW;
      ban_op_t *op = al ? b.allow : b.bans;
      failed = room(op, &b.cap[al]) != 0 || to_change(op, &m, seq, &op->changes[op->n]) != 0;
      if (!failed)
        op->n++;
    }
    natsMsgList_Destroy(&list);
    if (got < FETCH_BATCH)
      break; /* caught up */
  }
  k->idle = b.last_seq || inflight->bans ? 0 : k->idle + 1;
  /* the batch before this one commits first */
  if (settle(k, inflight) != 0)
    failed = 1;
  if (failed) {
    bbatch_free(&b);
    restart(k);
    return;
  }
  if (!b.last_seq) {
    bbatch_free(&b);
    return;
  }
  b.bans->list = LIST_BANS;
  b.bans->cursor = c->cursor_name;
  b.bans->cursor_value = b.last_seq;
  b.allow->list = LIST_ALLOW;
  if (b.allow->n) { /* allow-list changes first, committed before the ban list's cursor moves */
    size_t na = b.allow->n;
    if (submit(k, b.allow) != 0 || wait_op(k, b.allow) != 0) {
      bbatch_free(&b);
      restart(k);
      return;
    }
    add(&c->applied[K_BAN], na);
  }
  ban_op_free(b.allow);
  b.allow = NULL;
  if (submit(k, b.bans) != 0) {
    bbatch_free(&b);
    restart(k);
    return;
  }
  *inflight = b;
}

static void *consumer_main(void *arg) {
  consumer_t *k = arg;
  cluster_t *c = k->cl;
  bbatch_t inflight = {0};
  while (!atomic_load(&c->stop) && !ready(c))
    nap(c, 20);
  if (k->which == ST_BANS) {
    uint64_t cur = 0;
    wd_banlist_cursor(atomic_load(&c->srv->bans), c->cursor_name, &cur);
    k->committed = cur;
    k->next_seq = cur + 1;
    atomic_store(&c->applied_seq[ST_BANS], cur);
  }
  while (!atomic_load(&c->stop)) {
    if (!atomic_load(&c->connected) || !atomic_load(&c->streams_ok)) {
      if (inflight.bans && settle(k, &inflight) != 0)
        k->next_seq = k->committed + 1;
      drop_sub(k);
      nap(c, 50);
      continue;
    }
    /* after a reconnection, or 10 s of silence, the ephemeral consumer may be gone with the
     * broker that held it: make a new one from next_seq */
    if (k->sub && (k->sub_disconnects != atomic_load(&c->disconnects) || k->idle >= 40)) {
      if (inflight.bans && settle(k, &inflight) != 0)
        k->next_seq = k->committed + 1;
      drop_sub(k);
    }
    if (!k->sub && subscribe(k) != 0) {
      add(&c->fetch_errors, 1);
      nap(c, RETRY_MS);
      continue;
    }
    if (k->which == ST_BANS) {
      bans_round(k, &inflight);
      continue;
    }
    natsMsgList list;
    int got = fetch_some(k, &list, 1);
    if (got < 0) {
      add(&c->fetch_errors, 1);
      drop_sub(k); /* again from next_seq */
      nap(c, RETRY_MS);
      continue;
    }
    k->idle = got ? 0 : k->idle + 1;
    if (got)
      process_light(k, &list);
    natsMsgList_Destroy(&list);
  }
  settle(k, &inflight);
  drop_sub(k);
  return NULL;
}

/* ---------------------------------------------------------------- the loop threads' side */

static void enqueue(cluster_t *c, int kind, const char *subject, const wd_cluster_msg_t *m) {
  char buf[WD_CLUSTER_MSG_MAX];
  size_t len;
  if (wd_cluster_msg_encode(m, buf, sizeof buf, &len) != 0) {
    add(&c->dropped[kind], 1);
    return;
  }
  qmsg_t *q = malloc(sizeof *q + len);
  if (!q) {
    add(&c->dropped[kind], 1);
    return;
  }
  q->next = NULL;
  q->kind = kind;
  snprintf(q->subject, sizeof q->subject, "%s", subject);
  q->len = len;
  memcpy(q->data, buf, len);
  pthread_mutex_lock(&c->mu);
  if (c->qlen >= c->cf->queue) {
    pthread_mutex_unlock(&c->mu);
    free(q);
    add(&c->dropped[kind], 1);
    return;
  }
  if (c->qtail)
    c->qtail->next = q;
  else
    c->qhead = q;
  c->qtail = q;
  c->qlen++;
  c->wake = 1;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/* The network of an address for a policy's detection settings. */
static int network_of(const conf_t *cf, size_t pi, const char *ipstr, wd_cluster_msg_t *m) {
  wd_ip_t ip;
  if (!ipstr || wd_ip_parse(ipstr, strlen(ipstr), &ip))
    return -1;
  const wd_detect_config_t *dc =
      cf->policy_detect[pi] == CONF_DETECT_OWN ? cf->policy_detect_cfg[pi] : &cf->detect.cfg;
  int plen = ip.family == 4 ? dc->v4_prefix : dc->v6_prefix;
  int bytes = ip.family == 4 ? 4 : 16;
  for (int i = 0; i < 16; i++) {
    int keep = plen - 8 * i;
    if (i >= bytes || keep <= 0)
      ip.a[i] = 0;
    else if (keep < 8)
      ip.a[i] &= (uint8_t)(0xff << (8 - keep));
  }
  m->family = ip.family;
  memcpy(m->prefix, ip.a, 16);
  m->prefix_len = plen;
  return 0;
}

void cluster_note_decision(cluster_t *c, const wd_decide_input_t *in, const wd_decision_t *d) {
  if (!c || !d->policy)
    return;
  const wd_identity_t *id = &d->token.id;
  char subject[96];
  if (d->announce && d->detected && id->token_id[0]) {
    size_t pi;
    const wd_policy_t *p = policy_named(c->srv->conf, d->policy->name, &pi);
    wd_cluster_msg_t m;
    wd_cluster_msg_init(&m, WD_CLUSTER_NET, c->node, real_ms());
    if (p && network_of(c->srv->conf, pi, in->req.ip, &m) == 0) {
      snprintf(m.policy, sizeof m.policy, "%s", p->name);
      snprintf(m.key, sizeof m.key, "%s", id->token_id);
      m.exp = id->exp > 0 ? id->exp : 0;
      m.asn = in->req.asn;
      const char *cc = in->req.country;
      if (cc && cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z' &&
          (cc[2] == '\0' || cc[2] == '-')) {
        m.country[0] = cc[0];
        m.country[1] = cc[1];
      }
      if (in->req.has_coord && !isnan(in->req.lat) && !isnan(in->req.lon)) {
        m.lat = in->req.lat;
        m.lon = in->req.lon;
      }
      snprintf(subject, sizeof subject, "%s.usage.net", c->prefix);
      enqueue(c, K_NET, subject, &m);
    }
  }
  if (d->first_use && id->token_id[0]) {
    wd_cluster_msg_t m;
    wd_cluster_msg_init(&m, WD_CLUSTER_USE, c->node, real_ms());
    snprintf(m.issuer, sizeof m.issuer, "%s", id->issuer);
    snprintf(m.id, sizeof m.id, "%s", id->token_id);
    int64_t leeway = d->policy->verify.leeway > 0 ? d->policy->verify.leeway : 0;
    m.until = id->exp > 0 ? id->exp + leeway : 0;
    /* one subject per token: 128 bits of SHA-256 of issuer NUL id */
    unsigned char h[32];
    unsigned int hl = 0;
    char key[2 * WD_ID_MAX];
    size_t il = strlen(id->issuer), dl = strlen(id->token_id);
    memcpy(key, id->issuer, il);
    key[il] = '\0';
    memcpy(key + il + 1, id->token_id, dl);
    if (EVP_Digest(key, il + 1 + dl, h, &hl, EVP_sha256(), NULL) != 1) {
      add(&c->dropped[K_USE], 1);
      return;
    }
    int o = snprintf(subject, sizeof subject, "%s.replay.", c->prefix);
    for (int i = 0; i < 16 && o + 2 < (int)sizeof subject; i++)
      o += snprintf(subject + o, sizeof subject - (size_t)o, "%02x", h[i]);
    enqueue(c, K_USE, subject, &m);
  }
}

/* ---------------------------------------------------------------- life cycle */

void cluster_wake(cluster_t *c) {
  if (!c)
    return;
  pthread_mutex_lock(&c->mu);
  c->wake = 1;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

int cluster_create(srv_t *srv, cluster_t **out, char *err, size_t errlen) {
  *out = NULL;
  const conf_cluster_t *cf = &srv->conf->cluster;
  if (cf->nnats == 0)
    return 0;
  if (!wd_cluster_node_ok(cf->node_id)) {
    snprintf(err, errlen, "cluster: node id '%s' must be 1 to 63 letters, digits, '_' or '-'",
             cf->node_id ? cf->node_id : "");
    return -1;
  }
  cluster_t *c = calloc(1, sizeof *c);
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  c->srv = srv;
  c->cf = cf;
  c->node = cf->node_id;
  snprintf(c->cursor_name, sizeof c->cursor_name, "nats:%s", cf->bans_stream);
  snprintf(c->prefix, sizeof c->prefix, "%s", cf->subject_prefix);
  for (int i = 0; i < ST_COUNT; i++)
    snprintf(c->subj_filter[i], sizeof c->subj_filter[i], "%s.%s.*", c->prefix, st_names[i]);
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  for (int i = 0; i < ST_COUNT; i++) {
    c->cons[i].cl = c;
    c->cons[i].which = i;
    pthread_mutex_init(&c->cons[i].mu, NULL);
    pthread_cond_init(&c->cons[i].cv, NULL);
  }
  *out = c;
  return 0;
}

int cluster_start(cluster_t *c, char *err, size_t errlen) {
  if (!c)
    return 0;
  const conf_cluster_t *cf = c->cf;
  natsStatus s = natsOptions_Create(&c->opts);
  const char *urls[CONF_MAX_NATS];
  for (size_t i = 0; i < cf->nnats; i++)
    urls[i] = cf->nats[i];
  if (s == NATS_OK)
    s = natsOptions_SetServers(c->opts, urls, (int)cf->nnats);
  char name[96];
  snprintf(name, sizeof name, "warden-%s", c->node);
  if (s == NATS_OK)
    s = natsOptions_SetName(c->opts, name);
  if (s == NATS_OK)
    s = natsOptions_SetMaxReconnect(c->opts, -1);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectWait(c->opts, 200);
  if (s == NATS_OK)
    s = natsOptions_SetTimeout(c->opts, 2000);
  if (s == NATS_OK)
    s = natsOptions_SetRetryOnFailedConnect(c->opts, true, on_connected, c);
  if (s == NATS_OK)
    s = natsOptions_SetDisconnectedCB(c->opts, on_disconnected, c);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectedCB(c->opts, on_connected, c);
  if (s != NATS_OK) {
    snprintf(err, errlen, "cluster: NATS options: %s", natsStatus_GetText(s));
    return -1;
  }
  set_replay_closed(c, 1); /* until connected */
  s = natsConnection_Connect(&c->nc, c->opts);
  if (s == NATS_OK) {
    atomic_store(&c->connected, 1);
  } else if (s != NATS_NOT_YET_CONNECTED) {
    snprintf(err, errlen, "cluster: cannot connect to %s: %s", cf->nats[0], natsStatus_GetText(s));
    return -1;
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = PUB_WAIT_MS;
  s = natsConnection_JetStream(&c->js, c->nc, &jo);
  if (s != NATS_OK) {
    snprintf(err, errlen, "cluster: JetStream context: %s", natsStatus_GetText(s));
    return -1;
  }
  if (pthread_create(&c->pub_tid, NULL, pub_main, c)) {
    snprintf(err, errlen, "cluster: cannot start the publisher thread");
    return -1;
  }
  c->pub_started = 1;
  for (int i = 0; i < ST_COUNT; i++) {
    if (pthread_create(&c->cons[i].tid, NULL, consumer_main, &c->cons[i])) {
      snprintf(err, errlen, "cluster: cannot start the %s consumer thread", st_names[i]);
      return -1;
    }
    c->cons[i].started = 1;
  }
  fprintf(stderr, "warden: cluster node %s: broker %s%s (%s)\n", c->node, cf->nats[0],
          cf->nnats > 1 ? " and others" : "",
          atomic_load(&c->connected) ? "connected" : "not reachable yet, retrying");
  return 0;
}

void cluster_stop(cluster_t *c) {
  if (!c)
    return;
  atomic_store(&c->stop, 1);
  cluster_wake(c);
  if (c->pub_started)
    pthread_join(c->pub_tid, NULL);
  c->pub_started = 0;
  for (int i = 0; i < ST_COUNT; i++)
    if (c->cons[i].started) {
      pthread_join(c->cons[i].tid, NULL);
      c->cons[i].started = 0;
    }
  if (c->js)
    jsCtx_Destroy(c->js);
  c->js = NULL;
  if (c->nc) {
    natsConnection_Close(c->nc);
    natsConnection_Destroy(c->nc);
  }
  c->nc = NULL;
  if (c->opts)
    natsOptions_Destroy(c->opts);
  c->opts = NULL;
}

void cluster_destroy(cluster_t *c) {
  if (!c)
    return;
  cluster_stop(c);
  for (qmsg_t *q = c->qhead; q;) {
    qmsg_t *n = q->next;
    free(q);
    q = n;
  }
  for (int i = 0; i < ST_COUNT; i++) {
    pthread_mutex_destroy(&c->cons[i].mu);
    pthread_cond_destroy(&c->cons[i].cv);
  }
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c);
  nats_CloseAndWait(2000);
}

/* ---------------------------------------------------------------- metrics */

static uint64_t ld(_Atomic uint64_t *v) { return atomic_load_explicit(v, memory_order_relaxed); }

void cluster_metrics(cluster_t *c, jw_t *w) {
  if (!c)
    return;
  jw_printf(w, "# HELP warden_cluster_connected 1 while connected to the broker.\n"
               "# TYPE warden_cluster_connected gauge\nwarden_cluster_connected{node=\"%s\"} %d\n",
            c->node, atomic_load(&c->connected) ? 1 : 0);
  static const struct {
    const char *name, *help;
    size_t off;
  } per_kind[] = {
      {"warden_cluster_published_total", "Messages this node published, by kind.",
       offsetof(cluster_t, published)},
      {"warden_cluster_received_total", "Valid messages received from the streams, by kind.",
       offsetof(cluster_t, received)},
      {"warden_cluster_applied_total", "Messages of other nodes (bans: of any node) applied.",
       offsetof(cluster_t, applied)},
      {"warden_cluster_dropped_total",
       "Messages not sent because the outgoing queue or outbox was full.",
       offsetof(cluster_t, dropped)},
  };
  for (size_t i = 0; i < sizeof per_kind / sizeof *per_kind; i++) {
    jw_printf(w, "# HELP %s %s\n# TYPE %s counter\n", per_kind[i].name, per_kind[i].help,
              per_kind[i].name);
    _Atomic uint64_t *arr = (_Atomic uint64_t *)((char *)c + per_kind[i].off);
    for (int k = 0; k < K_COUNT; k++)
      jw_printf(w, "%s{kind=\"%s\"} %llu\n", per_kind[i].name, k_names[k],
                (unsigned long long)ld(&arr[k]));
  }
  jw_printf(w, "# HELP warden_cluster_rejected_total Broker messages refused as malformed, "
               "hostile or on the wrong stream (never applied).\n"
               "# TYPE warden_cluster_rejected_total counter\n");
  for (int i = 0; i < ST_COUNT; i++)
    jw_printf(w, "warden_cluster_rejected_total{stream=\"%s\"} %llu\n", st_names[i],
              (unsigned long long)ld(&c->rejected[i]));
  jw_printf(w, "# HELP warden_cluster_stream_seq Last stream sequence applied.\n"
               "# TYPE warden_cluster_stream_seq gauge\n");
  for (int i = 0; i < ST_COUNT; i++)
    jw_printf(w, "warden_cluster_stream_seq{stream=\"%s\"} %llu\n", st_names[i],
              (unsigned long long)ld(&c->applied_seq[i]));
  struct {
    const char *name, *help;
    uint64_t v;
  } one[] = {
      {"warden_cluster_publish_errors_total", "Publishes that failed (retried).",
       ld(&c->publish_errors)},
      {"warden_cluster_fetch_errors_total", "Consumer fetches or subscriptions that failed, "
       "and deliveries found missing (retried from the last applied sequence).",
       ld(&c->fetch_errors)},
      {"warden_cluster_replay_conflicts_total", "catreplay=1 tokens first used at two nodes "
       "within the consistency window.", ld(&c->conflicts)},
      {"warden_cluster_disconnects_total", "Connections to the broker lost.",
       ld(&c->disconnects)},
      {"warden_cluster_own_echoes_total", "This node's own messages read back from the "
       "streams.", ld(&c->own_echoes)},
  };
  for (size_t i = 0; i < sizeof one / sizeof *one; i++)
    jw_printf(w, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", one[i].name, one[i].help,
              one[i].name, one[i].name, (unsigned long long)one[i].v);
  pthread_mutex_lock(&c->mu);
  uint64_t ql = c->qlen;
  pthread_mutex_unlock(&c->mu);
  wd_banlist_t *bl = atomic_load(&c->srv->bans), *al = atomic_load(&c->srv->allow);
  jw_printf(w, "# HELP warden_cluster_queue Messages waiting for the broker.\n"
               "# TYPE warden_cluster_queue gauge\n"
               "warden_cluster_queue{queue=\"memory\"} %llu\n"
               "warden_cluster_queue{queue=\"outbox\"} %llu\n",
            (unsigned long long)ql,
            (unsigned long long)(wd_banlist_outbox_count(bl) + wd_banlist_outbox_count(al)));
}
