/*
 * Alerts (docs/alerts.md): thresholds checked on every monitor sample, and webhooks that hear
 * when an alert fires and when it resolves.
 *
 * Alerts: shared_share and suspect_share (the share of decisions in the window on tokens found
 * shared or suspect, from min_decisions decisions up), failures (token failures a second: no
 * token, invalid, expired) and blocks (decisions answered block) when they reach both their
 * floor and `spike` times the baseline before the window, ban_storm (bans added to the ban
 * list within the window). An alert fires once when its condition starts to hold, resolves
 * when it stops, and fires again only `cooldown` seconds after it last fired.
 *
 * Delivery: each event is a JSON POST (or Slack's {"text"}) to every webhook, signed with
 * X-Warden-Signature: sha256=<HMAC of the body> when the webhook has a secret, from one
 * delivery thread through libcurl. A failed attempt (no answer within `timeout`, or a status
 * other than 2xx) is retried after 1, 2, 4, ... seconds (at most 5 minutes, with jitter), up to
 * `retries` attempts. The queue holds at most `queue` deliveries; past that new ones are
 * dropped and counted. Nothing here runs on an event loop.
 */
#ifndef WARDEN_SRC_ALERTS_H
#define WARDEN_SRC_ALERTS_H

#include "jsonw.h"
#include "monitor.h"

typedef struct alerts alerts_t;

/* Set the alerts up from the configuration and start the delivery thread (when webhooks are
 * configured). 0, or -1 with err. */
int alerts_create(srv_t *s, alerts_t **out, char *err, size_t errlen);

/* Stop the delivery thread (deliveries due within a second are still tried once) and free. */
void alerts_destroy(alerts_t *a);

/* Check the thresholds against the monitor's samples (the monitor thread, once a sample). */
void alerts_check(alerts_t *a, monitor_t *mo);

/* "alerts": {"active": [...], "recent": [...], "webhooks", "deliveries"} for /v1/stats. */
void alerts_json(alerts_t *a, jw_t *w);

/* The alert and delivery series of /metrics. */
void alerts_metrics(alerts_t *a, jw_t *w);

#endif
