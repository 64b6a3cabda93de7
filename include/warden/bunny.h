/* BunnyCDN token authentication (HS256 form). */
#ifndef WARDEN_BUNNY_H
#define WARDEN_BUNNY_H

typedef struct wd_bunny_opts {
  const char *token_path;      /* token_path parameter (path-scope), NULL: none */
  int path_based;              /* issue /bcdn_token=...&expires=.../path form */
  int ignore_params;           /* do not sign the other query parameters */
} wd_bunny_opts_t;

#endif
