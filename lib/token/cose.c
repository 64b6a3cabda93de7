/*
 * COSE for CAT (RFC 9052 as CTA-5007 uses it): open a COSE_Mac0 / COSE_Sign1 envelope, check its
 * MAC or signature against the key ring, and seal a claims map into a new envelope.
 *
 * The MAC / signature input is the CBOR array ["MAC0" | "Signature1", protected, h'', payload].
 * It is never re-encoded from decoded values: the verifier writes the small array and string
 * heads itself and feeds them with the received protected-header and payload bytes, in pieces,
 * to a keyed HMAC context reused from the per-thread verifier. The algorithm is pinned per key
 * (HS256 <-> 5, HS256/64 <-> 4, ES256 <-> -7); a token naming another algorithm never reaches a
 * key pinned to a different one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "token/cat_internal.h"
#include "util/codec.h"

enum { COSE_ALG_HS256_64 = 4, COSE_ALG_HS256 = 5, COSE_ALG_ES256 = -7 };
enum { TAG_CWT = 61, TAG_MAC0 = 17, TAG_SIGN1 = 18 };

int wd__cose_key_alg(const wd_key_t *k) {
  switch (k->alg) {
  case WD_ALG_HS256:
    return COSE_ALG_HS256;
  case WD_ALG_HS256_64:
    return COSE_ALG_HS256_64;
  case WD_ALG_ES256:
    return COSE_ALG_ES256;
  default:
    return 0;
  }
}

static const char *alg_text(int64_t alg) {
  switch (alg) {
  case COSE_ALG_HS256:
    return "5 (HMAC 256/256)";
  case COSE_ALG_HS256_64:
    return "4 (HMAC 256/64)";
  case COSE_ALG_ES256:
    return "-7 (ES256)";
  default:
    return "unsupported";
  }
}

static int bad(char *why, size_t whylen, int code, const char *msg) {
  snprintf(why, whylen, "%s", msg);
  return code;
}

/* Read a byte string (definite or joined into scratch). */
static int read_bstr(wd_cbor_reader_t *rd, uint8_t *scratch, size_t cap, size_t *used,
                     const uint8_t **p, size_t *n, int *is_text) {
  wd_cbor_item_t it;
  int rc = wd_cbor_next(rd, &it);
  if (rc)
    return rc;
  if (is_text && it.kind == WD_CBOR_TEXT) {
    *is_text = 1;
    return wd_cbor_string(rd, &it, WD_CBOR_TEXT, scratch, cap, used, p, n);
  }
  return wd_cbor_string(rd, &it, WD_CBOR_BYTES, scratch, cap, used, p, n);
}

/* Protected header: a map holding label 1 (alg); crit (2) is not supported. */
static int parse_protected(wd_cose_t *m, char *why, size_t whylen) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t map, k, val;
  uint64_t i = 0;
  int rc, have_alg = 0;
  if (m->prot_len == 0)
    return bad(why, whylen, WD_EMALFORMED, "COSE protected header is empty (no alg)");
  wd_cbor_init(&rd, m->prot, m->prot_len);
  if (wd_cbor_next(&rd, &map) || map.kind != WD_CBOR_MAP)
    return bad(why, whylen, WD_EMALFORMED, "COSE protected header is not a map");
  while ((rc = wd_cbor_more(&rd, &map, &i)) > 0) {
    int64_t label;
    if (wd_cbor_next(&rd, &k))
      return bad(why, whylen, WD_EMALFORMED, "COSE protected header is truncated");
    if (wd_cbor_int(&k, &label) != 0) { /* text labels: skip key content and value */
      if (wd_cbor_skip(&rd, &k, 1) || wd_cbor_next(&rd, &val) || wd_cbor_skip(&rd, &val, 1))
        return bad(why, whylen, WD_EMALFORMED, "COSE protected header is malformed");
      continue;
    }
    if (wd_cbor_next(&rd, &val))
      return bad(why, whylen, WD_EMALFORMED, "COSE protected header is truncated");
    if (label == 1) {
      if (have_alg || wd_cbor_int(&val, &m->alg) != 0)
        return bad(why, whylen, WD_EMALFORMED, "COSE alg is not a single integer");
      have_alg = 1;
    } else if (label == 2) {
      return bad(why, whylen, WD_EMALFORMED, "COSE crit header parameters are not supported");
    } else if (label == 4 && !m->kid && (val.kind == WD_CBOR_BYTES || val.kind == WD_CBOR_TEXT) &&
               !val.indef) {
      m->kid = val.data;
      m->kid_len = (size_t)val.u;
    } else if (wd_cbor_skip(&rd, &val, 1)) {
      return bad(why, whylen, WD_EMALFORMED, "COSE protected header is malformed");
    }
  }
  if (rc < 0 || !wd_cbor_at_end(&rd))
    return bad(why, whylen, WD_EMALFORMED, "COSE protected header is malformed");
  if (!have_alg)
    return bad(why, whylen, WD_EMALFORMED, "COSE protected header has no alg");
  return 0;
}

int wd__cose_open(const uint8_t *buf, size_t len, uint8_t *scratch, size_t cap, size_t *used,
                  wd_cose_t *m, char *why, size_t whylen) {
  wd_cbor_reader_t rd;
  wd_cbor_item_t it;
  int rc;
  memset(m, 0, sizeof *m);
  wd_cbor_init(&rd, buf, len);
  if (wd_cbor_next(&rd, &it))
    return bad(why, whylen, WD_EMALFORMED, "token is not CBOR");
  if (it.kind == WD_CBOR_TAG && it.u == TAG_CWT) {
    m->cwt_tag = 1;
    if (wd_cbor_next(&rd, &it))
      return bad(why, whylen, WD_EMALFORMED, "CWT tag 61 wraps nothing");
  }
  if (it.kind == WD_CBOR_TAG) {
    if (it.u != TAG_MAC0 && it.u != TAG_SIGN1) {
      snprintf(why, whylen, "COSE tag %llu is not supported (expected 17 COSE_Mac0 or 18 COSE_Sign1)",
               (unsigned long long)it.u);
      return WD_EMALFORMED;
    }
    m->cose_tag = (int)it.u;
    if (wd_cbor_next(&rd, &it))
      return bad(why, whylen, WD_EMALFORMED, "COSE tag wraps nothing");
  }
  if (it.kind != WD_CBOR_ARRAY || (!it.indef && it.u != 4))
    return bad(why, whylen, WD_EMALFORMED, "COSE message is not an array of 4 items");

  /* [protected bstr, unprotected map, payload bstr, tag bstr] */
  uint64_t i = 0;
  if (wd_cbor_more(&rd, &it, &i) != 1 ||
      read_bstr(&rd, scratch, cap, used, &m->prot, &m->prot_len, NULL))
    return bad(why, whylen, WD_EMALFORMED, "COSE protected header is not a byte string");
  if ((rc = parse_protected(m, why, whylen)) != 0)
    return rc;

  wd_cbor_item_t um, k, val;
  uint64_t j = 0;
  if (wd_cbor_more(&rd, &it, &i) != 1 || wd_cbor_next(&rd, &um) || um.kind != WD_CBOR_MAP)
    return bad(why, whylen, WD_EMALFORMED, "COSE unprotected header is not a map");
  while ((rc = wd_cbor_more(&rd, &um, &j)) > 0) {
    int64_t label = -1000;
    if (wd_cbor_next(&rd, &k))
      return bad(why, whylen, WD_EMALFORMED, "COSE unprotected header is truncated");
    if (wd_cbor_int(&k, &label) != 0 && wd_cbor_skip(&rd, &k, 1))
      return bad(why, whylen, WD_EMALFORMED, "COSE unprotected header is malformed");
    if (wd_cbor_next(&rd, &val))
      return bad(why, whylen, WD_EMALFORMED, "COSE unprotected header is truncated");
    if (label == 4 && (val.kind == WD_CBOR_BYTES || val.kind == WD_CBOR_TEXT)) {
      if (wd_cbor_string(&rd, &val, val.kind, scratch, cap, used, &m->kid, &m->kid_len))
        return bad(why, whylen, WD_EMALFORMED, "COSE kid is malformed");
    } else if (label == 4) {
      return bad(why, whylen, WD_EMALFORMED, "COSE kid is not a byte string");
    } else if (wd_cbor_skip(&rd, &val, 1)) {
      return bad(why, whylen, WD_EMALFORMED, "COSE unprotected header is malformed");
    }
  }
  if (rc < 0)
    return bad(why, whylen, WD_EMALFORMED, "COSE unprotected header is truncated");

  if (wd_cbor_more(&rd, &it, &i) != 1 ||
      read_bstr(&rd, scratch, cap, used, &m->payload, &m->payload_len, &m->payload_text))
    return bad(why, whylen, WD_EMALFORMED, "COSE payload is not a byte string");
  if (wd_cbor_more(&rd, &it, &i) != 1 ||
      read_bstr(&rd, scratch, cap, used, &m->tag, &m->tag_len, NULL))
    return bad(why, whylen, WD_EMALFORMED, "COSE tag/signature is not a byte string");
  if (wd_cbor_more(&rd, &it, &i) != 0)
    return bad(why, whylen, WD_EMALFORMED, "COSE message has more than 4 items");
  if (!wd_cbor_at_end(&rd))
    return bad(why, whylen, WD_EMALFORMED, "trailing bytes after the COSE message");

  int is_mac = m->alg == COSE_ALG_HS256 || m->alg == COSE_ALG_HS256_64;
  if (!is_mac && m->alg != COSE_ALG_ES256) {
    snprintf(why, whylen, "COSE algorithm %lld is not supported (5, 4 or -7)", (long long)m->alg);
    return WD_EALG;
  }
  if ((m->cose_tag == TAG_MAC0 && !is_mac) || (m->cose_tag == TAG_SIGN1 && is_mac)) {
    snprintf(why, whylen, "COSE tag %d does not fit algorithm %s", m->cose_tag, alg_text(m->alg));
    return WD_EMALFORMED;
  }
  size_t want = m->alg == COSE_ALG_HS256 ? 32 : m->alg == COSE_ALG_HS256_64 ? 8 : 64;
  if (m->tag_len != want) {
    snprintf(why, whylen, "%s of %zu bytes, algorithm %s needs %zu",
             is_mac ? "MAC tag" : "signature", m->tag_len, alg_text(m->alg), want);
    return WD_EMALFORMED;
  }
  return 0;
}

/* Heads of the MAC0 / Signature1 structure around the received strings. */
typedef struct tbs_heads {
  uint8_t start[16];   /* array(4) + context string */
  size_t start_len;
  uint8_t prot[9];
  size_t prot_len;
  uint8_t aad_pay[10]; /* h'' + payload head */
  size_t aad_pay_len;
} tbs_heads_t;

static void tbs_build(tbs_heads_t *h, int sign1, const uint8_t *prot, size_t prot_len,
                      size_t payload_len, int payload_text) {
  (void)prot;
  const char *ctx = sign1 ? "Signature1" : "MAC0";
  size_t cl = strlen(ctx);
  h->start[0] = 0x84;
  h->start_len = 1 + wd_cbor_head(h->start + 1, 3, cl);
  memcpy(h->start + h->start_len, ctx, cl);
  h->start_len += cl;
  h->prot_len = wd_cbor_head(h->prot, 2, prot_len);
  h->aad_pay[0] = 0x40;
  h->aad_pay_len = 1 + wd_cbor_head(h->aad_pay + 1, payload_text ? 3 : 2, payload_len);
}

static int verify_with(wd_verifier_t *v, const wd_key_t *k, const wd_cose_t *m,
                       const tbs_heads_t *h) {
  if (m->alg == COSE_ALG_ES256) {
    /* The signature check needs one contiguous message. */
    uint8_t msg[WD_CAT_MAX_BYTES + 64];
    size_t n = h->start_len + h->prot_len + m->prot_len + h->aad_pay_len + m->payload_len;
    if (n > sizeof msg)
      return WD_ETOOBIG;
    uint8_t *o = msg;
    memcpy(o, h->start, h->start_len), o += h->start_len;
    memcpy(o, h->prot, h->prot_len), o += h->prot_len;
    memcpy(o, m->prot, m->prot_len), o += m->prot_len;
    memcpy(o, h->aad_pay, h->aad_pay_len), o += h->aad_pay_len;
    memcpy(o, m->payload, m->payload_len);
    return wd__verify_sig(v, k, msg, n, m->tag, m->tag_len, 1);
  }
  wd_iov_t parts[5] = {{h->start, h->start_len},
                       {h->prot, h->prot_len},
                       {m->prot, m->prot_len},
                       {h->aad_pay, h->aad_pay_len},
                       {m->payload, m->payload_len}};
  unsigned char mac[WD_DIGEST_MAX];
  size_t maclen = 0;
  int rc = wd__hmac(v, k, parts, 5, mac, &maclen);
  if (rc)
    return rc;
  if (maclen < m->tag_len)
    return WD_ESIGNATURE;
  return wd_ct_equal(mac, m->tag, m->tag_len) ? 0 : WD_ESIGNATURE;
}

/* Printable form of a kid for reasons. */
static void kid_text(const uint8_t *kid, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 4 < cap; i++)
    out[o++] = (kid[i] >= 0x20 && kid[i] < 0x7f && kid[i] != '"') ? (char)kid[i] : '?';
  if (n && o + 4 >= cap && o >= 3)
    memcpy(out + o - 3, "...", 3);
  out[o] = '\0';
}

int wd__cose_verify(wd_verifier_t *v, const wd_cose_t *m, const wd_key_t **key, char *why,
                    size_t whylen) {
  const wd_keyring_t *ring = wd_verifier_keyring(v);
  tbs_heads_t h;
  unsigned cursor = 0, tried = 0, skipped = 0;
  const wd_key_t *k;
  int rc;
  tbs_build(&h, m->alg == COSE_ALG_ES256, m->prot, m->prot_len, m->payload_len, m->payload_text);
  while ((k = wd_keyring_next(ring, WD_SCHEME_CAT, m->kid, m->kid_len, &cursor)) != NULL) {
    if (wd__cose_key_alg(k) != m->alg) {
      skipped++;
      continue;
    }
    tried++;
    rc = verify_with(v, k, m, &h);
    if (rc == 0) {
      *key = k;
      return 0;
    }
    if (rc != WD_ESIGNATURE) {
      snprintf(why, whylen, "cannot check the token's MAC/signature: %s", wd_strerror(rc));
      return rc == WD_EALG ? WD_ECRYPTO : rc;
    }
  }
  char kt[64];
  kid_text(m->kid, m->kid_len, kt, sizeof kt);
  if (tried == 0) {
    if (m->kid)
      snprintf(why, whylen, "no CAT key for kid \"%s\" with algorithm %s%s", kt, alg_text(m->alg),
               skipped ? " (the candidate keys are pinned to another algorithm)" : "");
    else
      snprintf(why, whylen, "no CAT key with algorithm %s%s", alg_text(m->alg),
               skipped ? " (the keys are pinned to another algorithm)" : "");
    return WD_ENOKEY;
  }
  snprintf(why, whylen, "%s does not verify with any of %u key%s%s%s%s",
           m->alg == COSE_ALG_ES256 ? "signature" : "MAC", tried, tried == 1 ? "" : "s",
           m->kid ? " for kid \"" : "", m->kid ? kt : "", m->kid ? "\"" : "");
  return WD_ESIGNATURE;
}

/* Account for n bytes an encoder wrote at *at (0: it did not fit). */
static int put(size_t cap, size_t *at, size_t n) {
  if (n == 0 || *at + n > cap)
    return -1;
  *at += n;
  return 0;
}

int wd__cose_seal(const wd_key_t *k, const uint8_t *payload, size_t plen, int untagged,
                  uint8_t **out, size_t *outlen) {
  int alg = k ? wd__cose_key_alg(k) : 0;
  if (!alg || !payload || !out || !outlen)
    return alg ? WD_EINVAL : WD_EALG;
  if (alg == COSE_ALG_ES256 ? !k->pkey || !k->is_private : !k->secret)
    return WD_EKEY;
  uint8_t prot[3] = {0xa1, 0x01, alg == COSE_ALG_ES256 ? 0x26 : (uint8_t)alg};
  size_t cap = plen + k->kid_len + 160, at = 0;
  uint8_t *buf = malloc(cap);
  if (!buf)
    return WD_ENOMEM;
  int rc = WD_ERANGE;
  if (!untagged && put(cap, &at, cbor_encode_tag(TAG_CWT, buf + at, cap - at)))
    goto out;
  if (put(cap, &at, cbor_encode_tag(alg == COSE_ALG_ES256 ? TAG_SIGN1 : TAG_MAC0, buf + at,
                                          cap - at)) ||
      put(cap, &at, cbor_encode_array_start(4, buf + at, cap - at)) ||
      put(cap, &at, cbor_encode_bytestring_start(sizeof prot, buf + at, cap - at)))
    goto out;
  memcpy(buf + at, prot, sizeof prot);
  at += sizeof prot;
  if (put(cap, &at, cbor_encode_map_start(k->kid_len ? 1 : 0, buf + at, cap - at)))
    goto out;
  if (k->kid_len) {
    if (put(cap, &at, cbor_encode_uint(4, buf + at, cap - at)) ||
        put(cap, &at, cbor_encode_bytestring_start(k->kid_len, buf + at, cap - at)))
      goto out;
    memcpy(buf + at, k->kid, k->kid_len);
    at += k->kid_len;
  }
  if (put(cap, &at, cbor_encode_bytestring_start(plen, buf + at, cap - at)) ||
      at + plen > cap)
    goto out;
  memcpy(buf + at, payload, plen);
  at += plen;

  wd_cose_t m = {.alg = alg, .prot = prot, .prot_len = sizeof prot, .payload = payload,
                 .payload_len = plen};
  tbs_heads_t h;
  tbs_build(&h, alg == COSE_ALG_ES256, prot, sizeof prot, plen, 0);
  uint8_t mac[WD_DIGEST_MAX];
  const uint8_t *tag = mac;
  size_t taglen = 0;
  unsigned char *sig = NULL;
  if (alg == COSE_ALG_ES256) {
    size_t n = h.start_len + h.prot_len + sizeof prot + h.aad_pay_len + plen;
    uint8_t *msg = malloc(n);
    if (!msg) {
      rc = WD_ENOMEM;
      goto out;
    }
    uint8_t *o = msg;
    memcpy(o, h.start, h.start_len), o += h.start_len;
    memcpy(o, h.prot, h.prot_len), o += h.prot_len;
    memcpy(o, prot, sizeof prot), o += sizeof prot;
    memcpy(o, h.aad_pay, h.aad_pay_len), o += h.aad_pay_len;
    memcpy(o, payload, plen);
    rc = wd__sign(k, msg, n, &sig, &taglen, 1);
    free(msg);
    if (rc)
      goto out;
    tag = sig;
  } else {
    wd_iov_t parts[5] = {{h.start, h.start_len},
                         {h.prot, h.prot_len},
                         {m.prot, m.prot_len},
                         {h.aad_pay, h.aad_pay_len},
                         {payload, plen}};
    if ((rc = wd__hmac_oneshot(k, parts, 5, mac, &taglen)) != 0)
      goto out;
    if (alg == COSE_ALG_HS256_64)
      taglen = 8;
  }
  rc = WD_ERANGE;
  if (put(cap, &at, cbor_encode_bytestring_start(taglen, buf + at, cap - at)) ||
      at + taglen > cap) {
    free(sig);
    goto out;
  }
  memcpy(buf + at, tag, taglen);
  at += taglen;
  free(sig);
  *out = buf;
  *outlen = at;
  buf = NULL;
  rc = 0;
out:
  free(buf);
  return rc;
}
