/*
 * CAT internals shared by the verifier (cat.c, cat_claims.c, cose.c) and the JSON mapping used
 * for issuing and inspecting (cat_json.c).
 */
#ifndef WARDEN_CAT_INTERNAL_H
#define WARDEN_CAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "token/internal.h"

/* Claim keys (CTA-5007 table, docs/tokens.md). */
enum {
  WD_CAT_ISS = 1, WD_CAT_SUB = 2, WD_CAT_AUD = 3, WD_CAT_EXP = 4, WD_CAT_NBF = 5, WD_CAT_IAT = 6,
  WD_CAT_CTI = 7, WD_CAT_CNF = 8, WD_CAT_OR = 41, WD_CAT_NOR = 42, WD_CAT_AND = 43,
  WD_CAT_CRIT = 45, WD_CAT_GEOHASH = 282, WD_CAT_REPLAY = 308, WD_CAT_POR = 309, WD_CAT_V = 310,
  WD_CAT_NIP = 311, WD_CAT_U = 312, WD_CAT_M = 313, WD_CAT_ALPN = 314, WD_CAT_H = 315,
  WD_CAT_GEOISO3166 = 316, WD_CAT_GEOCOORD = 317, WD_CAT_GEOALT = 318, WD_CAT_TPK = 319,
  WD_CAT_IFDATA = 320, WD_CAT_DPOP = 321, WD_CAT_IF = 322, WD_CAT_R = 323,
  WD_CAT_OR_DRAFT = 324, WD_CAT_NOR_DRAFT = 325, WD_CAT_AND_DRAFT = 326,
};

/* Largest decoded CAT (bytes of CBOR). */
#define WD_CAT_MAX_BYTES 4096

/*
 * Seal a CWT payload (CBOR map bytes) into COSE with key k: COSE_Mac0 for HS256 (alg 5) or
 * HS256_64 (alg 4), COSE_Sign1 for ES256 (alg -7). The kid (when the key has one) goes in the
 * unprotected header (label 4, bstr). Wrapped in CWT tag 61 unless untagged. *out is malloc'd
 * CBOR bytes (caller frees). Returns WD_EALG for a key that cannot seal a CAT.
 */
int wd__cose_seal(const wd_key_t *k, const uint8_t *payload, size_t plen, int untagged,
                  uint8_t **out, size_t *outlen);

/*
 * Claims map (CBOR bytes of a CWT payload) as JSON with the names of @eyevinn/cat's
 * generateFromJson / toDict ("iss", "catu": {"path": {"prefix-match": ...}}, "catnip":
 * ["10.0.0.0/8", 64500], "cti": hex, ...). Unknown claims appear under their numeric key as
 * text. Returns a new object or NULL when the bytes are not a CBOR map.
 */
json_t *wd__cat_claims_to_json(const uint8_t *payload, size_t len);

/*
 * Encode JSON claims (the names above; numeric keys as text accepted for unnamed claims) as a
 * CWT claims map. *out is malloc'd (caller frees). WD_EINVAL with a message naming the claim
 * when a value has the wrong type or shape.
 */
int wd__cat_claims_from_json(const json_t *claims, uint8_t **out, size_t *outlen, char *err,
                             size_t errlen);

/* As wd__cat_claims_from_json, with the labels of "or" / "nor" / "and" chosen by `labels`:
 * 324 / 325 / 326 for WD_CAT_LABELS_DRAFT, 41 / 42 / 43 otherwise. */
int wd__cat_claims_from_json_labels(const json_t *claims, wd_cat_labels_t labels, uint8_t **out,
                                    size_t *outlen, char *err, size_t errlen);

/* ---- Verifier internals (cose.c, cat_claims.c, cat.c) ---- */

#include "token/cbor_reader.h"
#include "util/url.h"

/* Scratch for joining indefinite-length strings during one verification. */
#define WD_CAT_SCRATCH (2 * WD_CAT_MAX_BYTES)
/* Most top-level claims a token may carry. */
#define WD_CAT_MAX_CLAIMS 64

/* COSE algorithm number a key is pinned to (5, 4, -7), or 0 when the key cannot do CAT. */
int wd__cose_key_alg(const wd_key_t *k);

/* A COSE_Mac0 / COSE_Sign1 as received. Pointers are into the token bytes or the scratch. */
typedef struct wd_cose {
  int cwt_tag;                /* wrapped in tag 61 */
  int cose_tag;               /* 17, 18, or 0 when untagged */
  int64_t alg;                /* protected label 1 */
  const uint8_t *prot;        /* protected header bstr contents */
  size_t prot_len;
  const uint8_t *kid;         /* unprotected label 4 (bstr or tstr); NULL when absent */
  size_t kid_len;
  const uint8_t *payload;     /* payload contents */
  size_t payload_len;
  int payload_text;           /* the payload is a text string (node-cat legacy) */
  const uint8_t *tag;         /* MAC tag or raw r||s signature */
  size_t tag_len;
} wd_cose_t;

/*
 * Parse the envelope: 61(17(..)), 17(..), 61(18(..)), 18(..) or an untagged 4-array. Indefinite
 * strings are joined into scratch. Returns 0, WD_EMALFORMED or WD_EALG (unsupported algorithm)
 * with a one-line reason in why.
 */
int wd__cose_open(const uint8_t *buf, size_t len, uint8_t *scratch, size_t cap, size_t *used,
                  wd_cose_t *m, char *why, size_t whylen);

/*
 * Check the MAC / signature against the ring's CAT keys for the kid (exact kid first, then keys
 * without a kid; no kid: every CAT key), skipping keys pinned to another algorithm. *key is the
 * key that verified. Returns 0, WD_ESIGNATURE, WD_ENOKEY (no key of that kid and algorithm) or
 * WD_ECRYPTO, with a reason in why.
 */
int wd__cose_verify(wd_verifier_t *v, const wd_cose_t *m, const wd_key_t **key, char *why,
                    size_t whylen);

/* How the token reached the verifier (automatic renewal mirrors it). */
typedef enum wd_cat_source {
  WD_CAT_FROM_ARG = 0,        /* given directly and not found in the request */
  WD_CAT_FROM_HEADER,
  WD_CAT_FROM_COOKIE,
  WD_CAT_FROM_QUERY,
} wd_cat_source_t;

/* Find the token in the request (see wd__cat_extract) and say where it was. */
int wd__cat_find(const wd_verify_opts_t *opts, const wd_request_t *req, char *buf, size_t cap,
                 const char **tok, size_t *len, wd_cat_source_t *src, const char **name);

/* One top-level claim as received: key and value bytes, for copying into renewed tokens. */
typedef struct wd_cat_entry {
  int64_t label;              /* INT64_MIN for a text key */
  const uint8_t *key;         /* the entry's bytes are [key, val + val_len) */
  const uint8_t *val;
  size_t val_len;
} wd_cat_entry_t;

/* Request components derived once per verification, when a claim first needs them. */
typedef struct wd_cat_reqcache {
  int url_state;              /* 0 not yet, 1 ready, else a WD_E* code with url_err */
  const char *url_err;
  wd_span_t part[9];          /* scheme host port path query parent-path filename stem extension */
  char scheme[16];
  char host[256];
  char port[8];
  char query[WD_TOKEN_MAX];
  int ip_state;               /* 0 not yet, 1 parsed, -1 absent or unparsable */
  uint8_t ip[16];
  int ip_family;
} wd_cat_reqcache_t;

/* State of one claims check. Large (stack-allocated by the verifier; nothing else allocates). */
typedef struct wd_cat_check {
  wd_verifier_t *v;
  const wd_verify_opts_t *opts;
  const wd_request_t *req;
  int64_t now;
  int legacy;                 /* accept node-cat's tag-259 map wrappers */
  uint8_t *scratch;
  size_t scratch_cap, scratch_used;
  /* top level, after wd__cat_claims_check */
  const uint8_t *payload;
  size_t payload_len;
  wd_cat_entry_t entries[WD_CAT_MAX_CLAIMS];
  size_t nentries;
  const wd_cat_entry_t *exp, *iss, *catr, *catif, *cti, *iat;
  int64_t exp_value;
  char iss_text[256];         /* iss as text ("" when absent or longer than fits) */
  /* failure detail */
  int code;
  int hard;                   /* structural failure: composite claims cannot absorb it */
  int missing;                /* the request lacked information a claim needs */
  int failed_label;           /* label of the failed top-level claim, -1 when none */
  int replay;                 /* catreplay value, -1 when absent */
  char claim[32];
  char why[256];
  wd_cat_reqcache_t rq;
} wd_cat_check_t;

/* Prepare a check (does not clear the large buffers). */
void wd__cat_check_init(wd_cat_check_t *c, wd_verifier_t *v, const wd_verify_opts_t *opts,
                        const wd_request_t *req, uint8_t *scratch, size_t cap, size_t used);

/*
 * Validate the claims map (payload bytes) against the request. Fills r->id (issuer, subject,
 * iat, exp, token_id from cti, ip from catnip) and r->replay; on failure sets r via
 * wd_result_fail with the claim's name. Returns 0 or the WD_E* code.
 */
int wd__cat_claims_check(wd_cat_check_t *c, const uint8_t *payload, size_t len, wd_result_t *r);

/* Read one head, skipping a tag-259 wrapper when the check accepts them. */
int wd__cat_next(wd_cat_check_t *c, wd_cbor_reader_t *rd, wd_cbor_item_t *it);

#endif
