/*
 * `warden serve` as one node of a cluster: bans, usage and catreplay=1 uses replicated between
 * nodes through NATS JetStream (docs/cluster.md). Present only when the configuration names
 * broker URLs (cluster.nats or --nats); every function accepts NULL and then does nothing, so
 * a single node runs exactly as without this file.
 *
 * Threads (none of them an event loop):
 *   - the publisher sends what this node decided: ban and allow-list changes from the stores'
 *     outboxes (durable: written in the same transaction as the change), then usage
 *     observations and first uses from a bounded in-memory queue fed by the loop threads;
 *   - one consumer per stream (bans, usage, replay) fetches what every node published, checks
 *     each message (wd_cluster_msg_decode) and applies it: bans through the writer thread,
 *     with the stream position stored in the same LMDB transaction; usage into the trackers;
 *     uses into the replay memory.
 * When the broker cannot be reached, decisions go on from local state, the outboxes and the
 * queue fill up to cluster.queue (what is dropped beyond is counted), and all of it is sent and
 * caught up once the broker is back.
 */
#ifndef WARDEN_SRC_CLUSTER_H
#define WARDEN_SRC_CLUSTER_H

#include <stddef.h>

#include "jsonw.h"
#include "server.h"

/*
 * Set up the cluster of srv (its configuration's cluster section; the node id is
 * conf->cluster.node_id, which the caller has set). Starts nothing yet. Returns 0 and *out
 * (NULL when the configuration names no broker), or -1 with a message in err.
 */
int cluster_create(srv_t *srv, cluster_t **out, char *err, size_t errlen);

/* Connect (in the background: an unreachable broker is retried for ever) and start the
 * threads; they wait for the ban list to be loaded. Returns 0, or -1 with err. */
int cluster_start(cluster_t *c, char *err, size_t errlen);

/* Stop and join the threads (the writer must still be running), close the connection. */
void cluster_stop(cluster_t *c);

/* Free what is left; after writer_stop. */
void cluster_destroy(cluster_t *c);

/* The writer committed changes made here: the outbox has something to send. Any thread. */
void cluster_wake(cluster_t *c);

/* After a decision on a loop thread: queue a usage observation (a network the tracker wants
 * announced) and a catreplay=1 first use for the other nodes. Never blocks for long (one short
 * mutex); drops and counts when the queue is full. */
void cluster_note_decision(cluster_t *c, const wd_decide_input_t *in, const wd_decision_t *d);

/* Append the warden_cluster_* metrics (Prometheus text) to w. */
void cluster_metrics(cluster_t *c, jw_t *w);

#endif
