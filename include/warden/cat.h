/*
 * CTA-5007 Common Access Token options. See docs/tokens.md for the claim table and defaults.
 */
#ifndef WARDEN_CAT_H
#define WARDEN_CAT_H

#include <stddef.h>

/* Handling of claims Warden does not understand (and that `crit` does not name). */
typedef enum wd_cat_unknown {
  WD_CAT_UNKNOWN_DEFAULT = 0, /* reject unknown claims in the CAT range (308-399), ignore others */
  WD_CAT_UNKNOWN_STRICT,      /* reject every unknown claim */
  WD_CAT_UNKNOWN_LENIENT,     /* ignore unknown claims unless listed in crit */
} wd_cat_unknown_t;

/* Labels of the composite claims or / nor / and. */
typedef enum wd_cat_labels {
  WD_CAT_LABELS_DEFAULT = 0,  /* 41/42/43 (Akamai, the majority) and 324/325/326 both accepted */
  WD_CAT_LABELS_AKAMAI,       /* only 41/42/43 */
  WD_CAT_LABELS_DRAFT,        /* only 324/325/326 */
} wd_cat_labels_t;

typedef struct wd_cat_opts {
  const char *const *issuers;  /* accepted iss values; none configured: any (missing iss allowed) */
  size_t nissuers;
  const char *const *audiences; /* accepted aud values; none configured: aud not checked */
  size_t naudiences;
  wd_cat_unknown_t unknown;
  wd_cat_labels_t labels;
  int stem_first_dot;          /* split stem/extension at the first dot (node-cat); default last */
  int port_explicit;           /* default ports read "443"/"80" (Akamai); default "" */
  int sha512_256_full;         /* -2 match compares full SHA-512 (truncated SHA-512/256 by default) */
  int allow_text_payload;      /* accept node-cat's legacy hex-text payload (non-conformant) */
  int no_renew;                /* never compute catr renewals */
  const char *query_param;     /* token's query parameter name; NULL: "cat" (and "CAT") */
  const char *header_name;     /* NULL: "CTA-Common-Access-Token" (and "Common-Access-Token") */
  const char *cookie_name;     /* NULL: same names as the header */
  int tagless;                 /* issue without the CWT tag 61 */
} wd_cat_opts_t;

#endif
