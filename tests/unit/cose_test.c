/*
 * COSE envelope (lib/token/cose.c) and the CBOR cursor under it (lib/token/cbor_reader.c):
 * byte-exact sealing against @eyevinn/cat's output, opening every accepted envelope shape,
 * refusing the others, MAC and signature checks with pinned algorithms, and the reader's bounds.
 */
#define _GNU_SOURCE /* memmem */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "token/cat_internal.h"
#include "util/codec.h"

#define KEY_HEX "403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388"

typedef struct fixture {
  wd_keyring_t *ring;
  wd_verifier_t *v;
  const wd_key_t *hs;      /* kid Symmetric256, HS256 */
  const wd_key_t *hs64;    /* kid short, HS256/64 */
  const wd_key_t *nokid;   /* no kid, HS256, other secret */
  const wd_key_t *es;      /* kid ec, ES256 private */
} fixture_t;

static char *ec_pem(void) {
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  assert_non_null(pk);
  BIO *b = BIO_new(BIO_s_mem());
  assert_true(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL));
  char *data;
  long n = BIO_get_mem_data(b, &data);
  char *out = malloc((size_t)n + 1);
  memcpy(out, data, (size_t)n);
  out[n] = '\0';
  BIO_free(b);
  EVP_PKEY_free(pk);
  return out;
}

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);
  size_t n;
  uint8_t *key = tu_hex(KEY_HEX, &n);
  assert_int_equal(wd_keyring_create(&f->ring), 0);
  assert_int_equal(wd_keyring_add_secret(f->ring, WD_SCHEME_CAT, WD_ALG_HS256, "Symmetric256", 12,
                                         NULL, key, n, &f->hs), 0);
  assert_int_equal(wd_keyring_add_secret(f->ring, WD_SCHEME_CAT, WD_ALG_HS256_64, "short", 5, NULL,
                                         key, n, &f->hs64), 0);
  assert_int_equal(wd_keyring_add_secret(f->ring, WD_SCHEME_CAT, WD_ALG_HS256, NULL, 0, NULL,
                                         "another secret of some length", 29, &f->nokid), 0);
  char *pem = ec_pem();
  assert_int_equal(wd_keyring_add_pem(f->ring, WD_SCHEME_CAT, WD_ALG_ES256, "ec", 2, NULL, pem,
                                      strlen(pem), &f->es), 0);
  free(pem);
  free(key);
  assert_int_equal(wd_verifier_create(f->ring, &f->v), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  wd_verifier_destroy(f->v);
  wd_keyring_destroy(f->ring);
  free(f);
  return 0;
}

/* Open (scratch on the caller's stack) and verify. */
static int open_verify(fixture_t *f, const uint8_t *b, size_t n, const wd_key_t **k, char *why) {
  static uint8_t scratch[WD_CAT_SCRATCH];
  size_t used = 0;
  wd_cose_t m;
  int rc = wd__cose_open(b, n, scratch, sizeof scratch, &used, &m, why, 200);
  if (rc)
    return rc;
  return wd__cose_verify(f->v, &m, k, why, 200);
}

static const uint8_t min_payload[] = {0xa1, 0x01, 0x67, 'e', 'y', 'e', 'v', 'i', 'n', 'n'};

/* The payload of a vector token, via the envelope parser. */
static uint8_t *vector_payload(const char *hex, size_t *plen, uint8_t **whole, size_t *wlen) {
  static uint8_t scratch[WD_CAT_SCRATCH];
  size_t used = 0;
  wd_cose_t m;
  char why[200];
  *whole = tu_hex(hex, wlen);
  assert_int_equal(wd__cose_open(*whole, *wlen, scratch, sizeof scratch, &used, &m, why, sizeof why), 0);
  assert_false(m.payload_text);
  uint8_t *p = malloc(m.payload_len);
  memcpy(p, m.payload, m.payload_len);
  *plen = m.payload_len;
  return p;
}

static void seal_reproduces_node_cat(void **state) {
  fixture_t *f = *state;
  json_t *vec = tu_load_vectors("cat/eyevinn-node-cat-generated.json");
  size_t i, checked = 0;
  json_t *v;
  json_array_foreach(json_object_get(vec, "vectors"), i, v) {
    const char *name = json_string_value(json_object_get(v, "name"));
    if (strcmp(name, "minimal") && strcmp(name, "full_cwt_tagged") && strcmp(name, "catr_cookie") &&
        strcmp(name, "expired"))
      continue;
    size_t plen, wlen, olen;
    uint8_t *whole, *out = NULL;
    uint8_t *payload = vector_payload(json_string_value(json_object_get(v, "hex")), &plen, &whole, &wlen);
    assert_int_equal(wd__cose_seal(f->hs, payload, plen, 0, &out, &olen), 0);
    assert_int_equal(olen, wlen);
    assert_memory_equal(out, whole, wlen);
    /* and the text form equals the vector's token */
    char *text = malloc(wd_b64_enc_len(olen, 0) + 1);
    wd_b64_encode(out, olen, text, 1, 0);
    assert_string_equal(text, json_string_value(json_object_get(v, "token")));
    free(text);
    free(out);
    free(payload);
    free(whole);
    checked++;
  }
  assert_int_equal(checked, 4);
  json_decref(vec);
}

static void seal_open_roundtrip_all_algs(void **state) {
  fixture_t *f = *state;
  const wd_key_t *keys[] = {f->hs, f->hs64, f->nokid, f->es};
  const size_t taglen[] = {32, 8, 32, 64};
  for (size_t i = 0; i < 4; i++) {
    for (int untagged = 0; untagged < 2; untagged++) {
      uint8_t *out = NULL;
      size_t n = 0;
      char why[200] = "";
      const wd_key_t *used = NULL;
      assert_int_equal(wd__cose_seal(keys[i], min_payload, sizeof min_payload, untagged, &out, &n), 0);
      /* 61(17/18(...)) or 17/18(...) */
      size_t off = untagged ? 0 : 2;
      if (!untagged)
        assert_memory_equal(out, "\xd8\x3d", 2);
      assert_int_equal(out[off], keys[i] == f->es ? 0xd2 : 0xd1);
      uint8_t scratch[64];
      size_t su = 0;
      wd_cose_t m;
      assert_int_equal(wd__cose_open(out, n, scratch, sizeof scratch, &su, &m, why, sizeof why), 0);
      assert_int_equal(m.cwt_tag, !untagged);
      assert_int_equal(m.tag_len, taglen[i]);
      assert_int_equal(m.payload_len, sizeof min_payload);
      assert_int_equal(m.kid_len, keys[i]->kid_len);
      assert_int_equal(open_verify(f, out, n, &used, why), 0);
      assert_ptr_equal(used, keys[i]);
      /* flip one bit of the payload: the MAC / signature fails */
      uint8_t *pl = (uint8_t *)memmem(out, n, min_payload, sizeof min_payload);
      assert_non_null(pl);
      pl[3] ^= 1;
      assert_int_equal(open_verify(f, out, n, &used, why), WD_ESIGNATURE);
      free(out);
    }
  }
}

static void kidless_key_seals_empty_unprotected(void **state) {
  fixture_t *f = *state;
  uint8_t *out = NULL;
  size_t n = 0;
  assert_int_equal(wd__cose_seal(f->nokid, min_payload, sizeof min_payload, 1, &out, &n), 0);
  static const uint8_t head[] = {0xd1, 0x84, 0x43, 0xa1, 0x01, 0x05, 0xa0, 0x4a};
  assert_memory_equal(out, head, sizeof head);
  free(out);
}

/* A Mac0 over a payload with a hand-written envelope (for the shapes seal never emits). */
static size_t mac0(const wd_key_t *k, const uint8_t *prefix, size_t pn, int alg,
                   const uint8_t *unprot, size_t un, const uint8_t *payload_item, size_t pin,
                   uint8_t *out) {
  /* payload_item is the encoded payload (bstr or tstr, possibly indefinite); the MAC covers its
   * contents with a definite head of the same major type */
  uint8_t content[512];
  size_t cn = 0;
  wd_cbor_reader_t rd;
  wd_cbor_item_t it;
  wd_cbor_init(&rd, payload_item, pin);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  const uint8_t *p;
  size_t plen, used = 0;
  assert_int_equal(wd_cbor_string(&rd, &it, it.kind, content, sizeof content, &used, &p, &plen), 0);
  if (p != content)
    memcpy(content, p, plen);
  cn = plen;
  uint8_t prot[3] = {0xa1, 0x01, (uint8_t)alg};
  uint8_t tbs[600];
  size_t tn = 0;
  tbs[tn++] = 0x84;
  tbs[tn++] = 0x64;
  memcpy(tbs + tn, "MAC0", 4), tn += 4;
  tbs[tn++] = 0x43;
  memcpy(tbs + tn, prot, 3), tn += 3;
  tbs[tn++] = 0x40;
  tn += wd_cbor_head(tbs + tn, it.kind == WD_CBOR_TEXT ? 3 : 2, cn);
  memcpy(tbs + tn, content, cn), tn += cn;
  unsigned char mac[WD_DIGEST_MAX];
  size_t ml = 0;
  wd_iov_t part = {tbs, tn};
  assert_int_equal(wd__hmac_oneshot(k, &part, 1, mac, &ml), 0);
  if (alg == 4)
    ml = 8;
  size_t o = 0;
  memcpy(out + o, prefix, pn), o += pn;
  out[o++] = 0x84;
  out[o++] = 0x43;
  memcpy(out + o, prot, 3), o += 3;
  memcpy(out + o, unprot, un), o += un;
  memcpy(out + o, payload_item, pin), o += pin;
  o += wd_cbor_head(out + o, 2, ml);
  memcpy(out + o, mac, ml), o += ml;
  return o;
}

static const uint8_t unprot_kid[] = {0xa1, 0x04, 0x4c, 'S', 'y', 'm', 'm', 'e', 't', 'r', 'i', 'c', '2', '5', '6'};
static const uint8_t payload_bstr[] = {0x4a, 0xa1, 0x01, 0x67, 'e', 'y', 'e', 'v', 'i', 'n', 'n'};

static void envelope_shapes(void **state) {
  fixture_t *f = *state;
  uint8_t tok[700];
  char why[200];
  const wd_key_t *used;
  struct {
    const char *prefix;
    size_t pn;
    int want;
  } cases[] = {
      {"\xd8\x3d\xd1", 3, 0},            /* 61(17(..)) */
      {"\xd1", 1, 0},                    /* 17(..) */
      {"", 0, 0},                        /* untagged */
      {"\xd8\x3d", 2, 0},                /* 61(untagged array) */
      {"\xd2", 1, WD_EMALFORMED},        /* 18 with a MAC algorithm */
      {"\xd8\x3d\xd2", 3, WD_EMALFORMED},
      {"\xd0", 1, WD_EMALFORMED},        /* 16 COSE_Encrypt0 */
      {"\xd8\x61", 2, WD_EMALFORMED},    /* 97 COSE_Mac */
      {"\xd8\x62", 2, WD_EMALFORMED},    /* 98 COSE_Sign */
      {"\xd8\x3d\xd8\x3d", 4, WD_EMALFORMED},
      {"\xc1", 1, WD_EMALFORMED},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    size_t n = mac0(f->hs, (const uint8_t *)cases[i].prefix, cases[i].pn, 5, unprot_kid,
                    sizeof unprot_kid, payload_bstr, sizeof payload_bstr, tok);
    int rc = open_verify(f, tok, n, &used, why);
    if (rc != cases[i].want)
      fail_msg("case %zu: got %d (%s), want %d", i, rc, why, cases[i].want);
    if (rc)
      assert_true(strlen(why) > 10);
  }
}

static void envelope_malformed(void **state) {
  fixture_t *f = *state;
  uint8_t tok[700];
  char why[200];
  const wd_key_t *used;
  size_t n = mac0(f->hs, (const uint8_t *)"\xd1", 1, 5, unprot_kid, sizeof unprot_kid, payload_bstr,
                  sizeof payload_bstr, tok);
  /* trailing byte */
  tok[n] = 0x00;
  assert_int_equal(open_verify(f, tok, n + 1, &used, why), WD_EMALFORMED);
  assert_non_null(strstr(why, "trailing"));
  /* a 3-array and a 5-array */
  tok[1] = 0x83;
  assert_int_equal(open_verify(f, tok, n, &used, why), WD_EMALFORMED);
  tok[1] = 0x85;
  assert_int_equal(open_verify(f, tok, n, &used, why), WD_EMALFORMED);
  tok[1] = 0x84;
  /* a map instead of an array */
  tok[1] = 0xa2;
  assert_int_equal(open_verify(f, tok, n, &used, why), WD_EMALFORMED);
  tok[1] = 0x84;
  assert_int_equal(open_verify(f, tok, n, &used, why), 0);
  /* unsupported algorithm 6 (HMAC 384) */
  n = mac0(f->hs, (const uint8_t *)"\xd1", 1, 6, unprot_kid, sizeof unprot_kid, payload_bstr,
           sizeof payload_bstr, tok);
  assert_int_equal(open_verify(f, tok, n, &used, why), WD_EALG);
  /* a tag of the wrong length for alg 5 */
  n = mac0(f->hs, (const uint8_t *)"\xd1", 1, 4, unprot_kid, sizeof unprot_kid, payload_bstr,
           sizeof payload_bstr, tok);
  tok[5] = 0x05; /* rewrite the protected alg 4 -> 5, tag stays 8 bytes */
  assert_int_equal(open_verify(f, tok, n, &used, why), WD_EMALFORMED);
  /* kid that is neither bstr nor tstr */
  static const uint8_t unprot_intkid[] = {0xa1, 0x04, 0x05};
  n = mac0(f->hs, (const uint8_t *)"\xd1", 1, 5, unprot_intkid, sizeof unprot_intkid,
           payload_bstr, sizeof payload_bstr, tok);
  assert_int_equal(open_verify(f, tok, n, &used, why), WD_EMALFORMED);
  /* empty protected header */
  static const uint8_t noprot[] = {0xd1, 0x84, 0x40, 0xa0, 0x41, 0xa0, 0x58, 0x20};
  uint8_t buf[64] = {0};
  memcpy(buf, noprot, sizeof noprot);
  assert_int_equal(open_verify(f, buf, sizeof noprot + 32, &used, why), WD_EMALFORMED);
}

static void kid_forms_and_alg_pinning(void **state) {
  fixture_t *f = *state;
  uint8_t tok[700];
  char why[200];
  const wd_key_t *used = NULL;
  /* tstr kid */
  static const uint8_t unprot_tkid[] = {0xa1, 0x04, 0x6c, 'S', 'y', 'm', 'm', 'e', 't', 'r', 'i', 'c', '2', '5', '6'};
  size_t n = mac0(f->hs, (const uint8_t *)"\xd1", 1, 5, unprot_tkid, sizeof unprot_tkid,
                  payload_bstr, sizeof payload_bstr, tok);
  assert_int_equal(open_verify(f, tok, n, &used, why), 0);
  assert_ptr_equal(used, f->hs);
  /* no kid at all: every CAT key is tried */
  n = mac0(f->hs, (const uint8_t *)"\xd1", 1, 5, (const uint8_t *)"\xa0", 1, payload_bstr,
           sizeof payload_bstr, tok);
  assert_int_equal(open_verify(f, tok, n, &used, why), 0);
  assert_ptr_equal(used, f->hs);
  /* alg 4 with the HS256 key's kid: the key is pinned to alg 5, so no key */
  n = mac0(f->hs, (const uint8_t *)"\xd1", 1, 4, unprot_kid, sizeof unprot_kid, payload_bstr,
           sizeof payload_bstr, tok);
  assert_int_equal(open_verify(f, tok, n, &used, why), WD_ENOKEY);
  assert_non_null(strstr(why, "pinned"));
  /* alg 4 with the HS256/64 key's kid */
  static const uint8_t unprot_short[] = {0xa1, 0x04, 0x45, 's', 'h', 'o', 'r', 't'};
  n = mac0(f->hs64, (const uint8_t *)"\xd1", 1, 4, unprot_short, sizeof unprot_short, payload_bstr,
           sizeof payload_bstr, tok);
  assert_int_equal(open_verify(f, tok, n, &used, why), 0);
  assert_ptr_equal(used, f->hs64);
  /* alg 5 with the HS256/64 key's kid: that key is skipped; the kid-less key is tried and fails */
  n = mac0(f->hs64, (const uint8_t *)"\xd1", 1, 5, unprot_short, sizeof unprot_short, payload_bstr,
           sizeof payload_bstr, tok);
  assert_int_equal(open_verify(f, tok, n, &used, why), WD_ESIGNATURE);
  /* an ES256 token against kid Symmetric256 (HMAC only): no key */
  uint8_t *es = NULL;
  size_t en = 0;
  assert_int_equal(wd__cose_seal(f->es, min_payload, sizeof min_payload, 0, &es, &en), 0);
  uint8_t *kidpos = (uint8_t *)memmem(es, en, "\xa1\x04\x42" "ec", 5);
  assert_non_null(kidpos);
  /* rewrite kid "ec" -> "xx": only kid-less keys remain, none is ES256 */
  kidpos[3] = 'x';
  kidpos[4] = 'x';
  assert_int_equal(open_verify(f, es, en, &used, why), WD_ENOKEY);
  free(es);
}

static void indefinite_payload_and_kid(void **state) {
  fixture_t *f = *state;
  uint8_t tok[700];
  char why[200];
  const wd_key_t *used = NULL;
  /* payload as an indefinite bstr of two chunks; kid as an indefinite bstr */
  static const uint8_t indef_payload[] = {0x5f, 0x43, 0xa1, 0x01, 0x67, 0x47, 'e', 'y', 'e', 'v', 'i', 'n', 'n', 0xff};
  static const uint8_t indef_kid[] = {0xa1, 0x04, 0x5f, 0x46, 'S', 'y', 'm', 'm', 'e', 't', 0x46, 'r', 'i', 'c', '2', '5', '6', 0xff};
  size_t n = mac0(f->hs, (const uint8_t *)"\xd1", 1, 5, indef_kid, sizeof indef_kid, indef_payload,
                  sizeof indef_payload, tok);
  assert_int_equal(open_verify(f, tok, n, &used, why), 0);
  assert_ptr_equal(used, f->hs);
  /* the same without the break: malformed */
  static const uint8_t nobreak[] = {0x5f, 0x43, 0xa1, 0x01, 0x67, 0x47, 'e', 'y', 'e', 'v', 'i', 'n', 'n'};
  size_t m = mac0(f->hs, (const uint8_t *)"\xd1", 1, 5, unprot_kid, sizeof unprot_kid, payload_bstr,
                  sizeof payload_bstr, tok);
  (void)m;
  uint8_t t2[64];
  size_t o = 0;
  memcpy(t2, "\xd1\x84\x43\xa1\x01\x05\xa0", 7), o = 7;
  memcpy(t2 + o, nobreak, sizeof nobreak), o += sizeof nobreak;
  assert_int_equal(open_verify(f, t2, o, &used, why), WD_EMALFORMED);
  /* indefinite outer array and unprotected map */
  uint8_t t3[128];
  n = mac0(f->hs, (const uint8_t *)"\xd1", 1, 5, unprot_kid, sizeof unprot_kid, payload_bstr,
           sizeof payload_bstr, tok);
  memcpy(t3, tok, n);
  t3[1] = 0x9f;
  t3[n] = 0xff;
  assert_int_equal(open_verify(f, t3, n + 1, &used, why), 0);
  t3[n] = 0x00; /* not a break: a fifth item */
  t3[n + 1] = 0xff;
  assert_int_equal(open_verify(f, t3, n + 2, &used, why), WD_EMALFORMED);
}

static void legacy_text_payload_mac(void **state) {
  fixture_t *f = *state;
  /* node-cat's legacy payload: a text string; its MAC covers the text as a text string */
  json_t *vec = tu_load_vectors("cat/published-test-tokens.json");
  size_t i;
  json_t *v;
  int seen = 0;
  json_array_foreach(vec, i, v) {
    if (strcmp(json_string_value(json_object_get(v, "id")), "nodecat-legacy-text-payload"))
      continue;
    const char *t = json_string_value(json_object_get(v, "token"));
    uint8_t raw[512];
    size_t rn = 0;
    assert_int_equal(wd_b64_decode(t, strlen(t), raw, sizeof raw, &rn, WD_B64_ANY), 0);
    uint8_t scratch[64];
    size_t su = 0;
    wd_cose_t m;
    char why[200];
    const wd_key_t *used;
    assert_int_equal(wd__cose_open(raw, rn, scratch, sizeof scratch, &su, &m, why, sizeof why), 0);
    assert_true(m.payload_text);
    assert_int_equal(wd__cose_verify(f->v, &m, &used, why, sizeof why), 0);
    seen = 1;
  }
  assert_true(seen);
  json_decref(vec);
}

/* ---- CBOR reader ---- */

static void reader_nesting_and_counts(void **state) {
  (void)state;
  uint8_t buf[2100];
  const uint8_t *s;
  size_t n;
  wd_cbor_reader_t rd;
  /* 1000 nested arrays: refused by the depth bound, not by the stack */
  memset(buf, 0x81, 1000);
  buf[1000] = 0x00;
  wd_cbor_init(&rd, buf, 1001);
  assert_int_equal(wd_cbor_span(&rd, &s, &n), WD_EMALFORMED);
  /* 15 nested arrays fit */
  wd_cbor_init(&rd, buf + 1000 - 15, 16);
  assert_int_equal(wd_cbor_span(&rd, &s, &n), 0);
  assert_int_equal(n, 16);
  /* 1000 nested indefinite maps / tags */
  memset(buf, 0xbf, 1000);
  wd_cbor_init(&rd, buf, 1000);
  assert_int_equal(wd_cbor_span(&rd, &s, &n), WD_EMALFORMED);
  memset(buf, 0xc6, 1000);
  wd_cbor_init(&rd, buf, 1001);
  assert_int_equal(wd_cbor_span(&rd, &s, &n), WD_EMALFORMED);
  /* an array announcing 2^32 elements in 9 bytes */
  static const uint8_t huge[] = {0x9b, 0, 0, 0, 1, 0, 0, 0, 0, 0};
  wd_cbor_item_t it;
  wd_cbor_init(&rd, huge, sizeof huge);
  assert_int_equal(wd_cbor_next(&rd, &it), WD_EMALFORMED);
  static const uint8_t hugemap[] = {0xb8, 0x10, 0x01, 0x01};
  wd_cbor_init(&rd, hugemap, sizeof hugemap);
  assert_int_equal(wd_cbor_next(&rd, &it), WD_EMALFORMED);
  /* a byte string announcing more than is there, in every head size */
  static const uint8_t shortstr[][6] = {{0x45, 1, 2}, {0x58, 9, 1}, {0x59, 0, 9, 1}, {0x7a, 0, 0, 0, 9, 1}};
  static const size_t shortlen[] = {3, 3, 4, 6};
  for (int i = 0; i < 4; i++) {
    wd_cbor_init(&rd, shortstr[i], shortlen[i]);
    assert_int_equal(wd_cbor_next(&rd, &it), WD_EMALFORMED);
  }
  /* the item budget: 9000 one-byte items in an indefinite array */
  uint8_t *many = malloc(9002);
  many[0] = 0x9f;
  memset(many + 1, 0x00, 9000);
  many[9001] = 0xff;
  wd_cbor_init(&rd, many, 9002);
  assert_int_equal(wd_cbor_span(&rd, &s, &n), WD_EMALFORMED);
  free(many);
  /* reserved and unassigned encodings */
  static const uint8_t bad[] = {0x1c, 0x3f, 0x5c, 0x7e, 0x9e, 0xbe, 0xdc, 0xf8, 0xfc, 0xff};
  for (size_t i = 0; i < sizeof bad; i++) {
    wd_cbor_init(&rd, bad + i, 1);
    int rc = wd_cbor_next(&rd, &it);
    if (bad[i] == 0xff)
      assert_true(rc == 0 && it.kind == WD_CBOR_BREAK);
    else
      assert_int_equal(rc, WD_EMALFORMED);
  }
}

static void reader_values(void **state) {
  (void)state;
  uint8_t buf[64];
  size_t n = 0;
  wd_cbor_reader_t rd;
  wd_cbor_item_t it;
  int64_t v;
  n += cbor_encode_uint(4102444800u, buf + n, sizeof buf - n);
  n += cbor_encode_negint(6, buf + n, sizeof buf - n);  /* -7 */
  n += cbor_encode_tag(17, buf + n, sizeof buf - n);
  n += cbor_encode_tag(61, buf + n, sizeof buf - n);
  n += cbor_encode_double(1.5, buf + n, sizeof buf - n);
  n += cbor_encode_bool(true, buf + n, sizeof buf - n);
  n += cbor_encode_null(buf + n, sizeof buf - n);
  n += cbor_encode_uint(UINT64_MAX, buf + n, sizeof buf - n);
  wd_cbor_init(&rd, buf, n);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_int_equal(wd_cbor_int(&it, &v), 0);
  assert_true(v == 4102444800LL);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_int_equal(wd_cbor_int(&it, &v), 0);
  assert_true(v == -7);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_true(it.kind == WD_CBOR_TAG && it.u == 17);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_true(it.kind == WD_CBOR_TAG && it.u == 61);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_true(it.kind == WD_CBOR_FLOAT && it.f == 1.5);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_true(it.kind == WD_CBOR_BOOL && it.u == 1);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_true(it.kind == WD_CBOR_NULL);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_int_equal(wd_cbor_int(&it, &v), WD_ERANGE);
  assert_true(wd_cbor_at_end(&rd));
  assert_int_equal(wd_cbor_next(&rd, &it), WD_EMALFORMED);
  /* heads */
  uint8_t h[9];
  assert_int_equal(wd_cbor_head(h, 2, 23), 1);
  assert_int_equal(h[0], 0x57);
  assert_int_equal(wd_cbor_head(h, 2, 24), 2);
  assert_int_equal(h[0], 0x58);
  assert_int_equal(wd_cbor_head(h, 3, 256), 3);
  assert_int_equal(wd_cbor_head(h, 0, 4102444800u), 5);
  assert_int_equal(wd_cbor_head(h, 0, 1ULL << 40), 9);
  /* indefinite text joined into scratch, and the scratch bound */
  static const uint8_t ind[] = {0x7f, 0x62, 'a', 'b', 0x61, 'c', 0xff};
  uint8_t scratch[8];
  size_t used = 0, sn;
  const uint8_t *sp;
  wd_cbor_init(&rd, ind, sizeof ind);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_int_equal(wd_cbor_string(&rd, &it, WD_CBOR_TEXT, scratch, sizeof scratch, &used, &sp, &sn), 0);
  assert_int_equal(sn, 3);
  assert_memory_equal(sp, "abc", 3);
  used = 6;
  wd_cbor_init(&rd, ind, sizeof ind);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_int_equal(wd_cbor_string(&rd, &it, WD_CBOR_TEXT, scratch, sizeof scratch, &used, &sp, &sn), WD_ETOOBIG);
  /* a byte-string chunk inside a text string */
  static const uint8_t mixed[] = {0x7f, 0x41, 'a', 0xff};
  used = 0;
  wd_cbor_init(&rd, mixed, sizeof mixed);
  assert_int_equal(wd_cbor_next(&rd, &it), 0);
  assert_int_equal(wd_cbor_string(&rd, &it, WD_CBOR_TEXT, scratch, sizeof scratch, &used, &sp, &sn), WD_EMALFORMED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(seal_reproduces_node_cat),
      cmocka_unit_test(seal_open_roundtrip_all_algs),
      cmocka_unit_test(kidless_key_seals_empty_unprotected),
      cmocka_unit_test(envelope_shapes),
      cmocka_unit_test(envelope_malformed),
      cmocka_unit_test(kid_forms_and_alg_pinning),
      cmocka_unit_test(indefinite_payload_and_kid),
      cmocka_unit_test(legacy_text_payload_mac),
      cmocka_unit_test(reader_nesting_and_counts),
      cmocka_unit_test(reader_values),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
