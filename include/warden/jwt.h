/* JWT (JWS compact) options: HS256/384/512, RS256, ES256, EdDSA with the algorithm pinned per key. */
#ifndef WARDEN_JWT_H
#define WARDEN_JWT_H

#include <stddef.h>

typedef struct wd_jwt_opts {
  const char *const *issuers;   /* accepted iss; none: any */
  size_t nissuers;
  const char *const *audiences; /* accepted aud; none: not checked */
  size_t naudiences;
  int no_bind_ip;               /* do not check an `ip` claim against the client address */
  int no_bind_ua;               /* do not check a `ua` claim against User-Agent */
  int no_bind_path;             /* do not check `path` / `video_id` claims against the URL */
  const char *query_param;      /* NULL: "token" (also "jwt") */
  const char *cookie_name;      /* NULL: "token" */
} wd_jwt_opts_t;

#endif
