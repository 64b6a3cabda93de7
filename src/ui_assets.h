/*
 * The console's files (ui/), built by esbuild and embedded in the binary at build time
 * (ui/CMakeLists.txt writes the table; see docs/console.md). When the build machine had no
 * node modules, the table holds a single page that says how to build the console.
 */
#ifndef WARDEN_SRC_UI_ASSETS_H
#define WARDEN_SRC_UI_ASSETS_H

#include <stddef.h>

typedef struct ui_asset {
  const char *path;                 /* "index.html", "app.js", ... */
  const char *content_type;
  const unsigned char *data;
  size_t len;
  const char *etag;                 /* "\"<sha256 prefix>\"" */
} ui_asset_t;

extern const ui_asset_t ui_assets[];
extern const size_t ui_nassets;
extern const int ui_built;          /* 0: only the page that says how to build the console */

#endif
