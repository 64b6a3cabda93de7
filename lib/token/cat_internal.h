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

#endif
