/*
 * Opening the geo data of `warden serve` from the configuration (docs/geo.md).
 *
 * geo: false     no data: countries and ASNs only from trusted CDN headers or the decide API
 * geo: {...}     the files listed; a missing or damaged one is an error
 * (no geo key)   the @ip-location-db npm packages scripts/deps.sh installs, looked for in
 *                $WARDEN_GEO_DIR, ./data/geo/node_modules/@ip-location-db, and beside the
 *                program (../data/geo/node_modules/@ip-location-db from its directory); none
 *                found: no data, said once on start
 */
#ifndef WARDEN_SRC_GEO_SETUP_H
#define WARDEN_SRC_GEO_SETUP_H

#include <stddef.h>

#include "config.h"
#include "warden/geo.h"

/* Open the data the configuration names. Returns 0 with *out (NULL when there is none) and a
 * one-line description of where it came from in `where`; -1 with a message in err. */
int geo_setup(const conf_t *c, wd_geo_t **out, char *where, size_t wherelen, char *err,
              size_t errlen);

#endif
