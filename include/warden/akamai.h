/* Akamai EdgeAuth Token 2.0 options. */
#ifndef WARDEN_AKAMAI_H
#define WARDEN_AKAMAI_H

typedef enum wd_akamai_escape {
  WD_AKAMAI_ESCAPE_NODE = 0,   /* escape_early as the Node reference library (default) */
  WD_AKAMAI_ESCAPE_PYTHON,     /* escape_early as the Python reference library */
  WD_AKAMAI_ESCAPE_OFF,        /* escape_early off: values used as given */
} wd_akamai_escape_t;

typedef struct wd_akamai_opts {
  const char *name;            /* token name in query, cookie or header; NULL: "__token__" (and "hdnts") */
  wd_akamai_escape_t escape;   /* when issuing with escape_early */
  int escape_early;            /* issue with escape_early on; verifying, URL tokens are then
                                  checked against the request path escaped the same way */
  const char *field_delimiter; /* NULL: "~" */
  const char *acl_delimiter;   /* NULL: "!" */
  const char *salt;            /* signed as "~salt=..." after the fields, never sent; NULL: none */
} wd_akamai_opts_t;

#endif
