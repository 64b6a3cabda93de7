/*
 * The CBOR cursor of cbor_reader.h over libcbor's streaming decoder (cbor_stream_decode): each
 * call decodes one head and reports it through a callback into the item being filled, so nothing
 * is allocated. Definite heads of integers, strings, containers and tags (every head of a
 * token but floats and simple values) take an inline fast path that reads the argument from the
 * initial byte or the 1, 2, 4 or 8 bytes after it; libcbor decodes the rest (indefinite
 * lengths, floats, simple values, reserved values). The fast path also covers the heads of
 * tags 6..20, which libcbor 0.8 refuses as unassigned although COSE needs them (17 COSE_Mac0,
 * 18 COSE_Sign1).
 */
#include "token/cbor_reader.h"

#include <string.h>

#include <cbor.h>

#include "warden/error.h"

static void on_uint8(void *c, uint8_t v) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_UINT;
  it->u = v;
}
static void on_uint16(void *c, uint16_t v) { on_uint8(c, 0), ((wd_cbor_item_t *)c)->u = v; }
static void on_uint32(void *c, uint32_t v) { on_uint8(c, 0), ((wd_cbor_item_t *)c)->u = v; }
static void on_uint64(void *c, uint64_t v) { on_uint8(c, 0), ((wd_cbor_item_t *)c)->u = v; }
static void on_negint8(void *c, uint8_t v) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_NEGINT;
  it->u = v;
}
static void on_negint16(void *c, uint16_t v) { on_negint8(c, 0), ((wd_cbor_item_t *)c)->u = v; }
static void on_negint32(void *c, uint32_t v) { on_negint8(c, 0), ((wd_cbor_item_t *)c)->u = v; }
static void on_negint64(void *c, uint64_t v) { on_negint8(c, 0), ((wd_cbor_item_t *)c)->u = v; }
static void on_bytes(void *c, cbor_data d, size_t n) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_BYTES;
  it->data = d;
  it->u = n;
}
static void on_bytes_start(void *c) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_BYTES;
  it->indef = 1;
}
static void on_text(void *c, cbor_data d, size_t n) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_TEXT;
  it->data = d;
  it->u = n;
}
static void on_text_start(void *c) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_TEXT;
  it->indef = 1;
}
static void on_array(void *c, size_t n) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_ARRAY;
  it->u = n;
}
static void on_array_indef(void *c) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_ARRAY;
  it->indef = 1;
}
static void on_map(void *c, size_t n) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_MAP;
  it->u = n;
}
static void on_map_indef(void *c) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_MAP;
  it->indef = 1;
}
static void on_tag(void *c, uint64_t v) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_TAG;
  it->u = v;
}
static void on_float(void *c, float v) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_FLOAT;
  it->f = v;
}
static void on_double(void *c, double v) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_FLOAT;
  it->f = v;
}
static void on_undef(void *c) { ((wd_cbor_item_t *)c)->kind = WD_CBOR_UNDEF; }
static void on_null(void *c) { ((wd_cbor_item_t *)c)->kind = WD_CBOR_NULL; }
static void on_bool(void *c, bool v) {
  wd_cbor_item_t *it = c;
  it->kind = WD_CBOR_BOOL;
  it->u = v;
}
static void on_break(void *c) { ((wd_cbor_item_t *)c)->kind = WD_CBOR_BREAK; }

static const struct cbor_callbacks callbacks = {
    .uint8 = on_uint8, .uint16 = on_uint16, .uint32 = on_uint32, .uint64 = on_uint64,
    .negint8 = on_negint8, .negint16 = on_negint16, .negint32 = on_negint32,
    .negint64 = on_negint64, .byte_string = on_bytes, .byte_string_start = on_bytes_start,
    .string = on_text, .string_start = on_text_start, .array_start = on_array,
    .indef_array_start = on_array_indef, .map_start = on_map, .indef_map_start = on_map_indef,
    .tag = on_tag, .float2 = on_float, .float4 = on_float, .float8 = on_double,
    .undefined = on_undef, .null = on_null, .boolean = on_bool, .indef_break = on_break,
};

int wd_cbor_next(wd_cbor_reader_t *rd, wd_cbor_item_t *it) {
  if (rd->p >= rd->end || rd->items >= WD_CBOR_MAX_ITEMS)
    return WD_EMALFORMED;
  rd->items++;
  it->indef = 0;
  it->data = NULL;
  it->u = 0;
  it->head = rd->p;
  uint8_t b = *rd->p, major = b >> 5, ai = b & 0x1f;
  if (ai < 28 && major != 7) {
    /* Fast path: definite heads with the argument in the initial byte or the 1, 2, 4 or 8
     * bytes after it (every head of a token but floats and simple values). */
    static const wd_cbor_kind_t kinds[7] = {WD_CBOR_UINT, WD_CBOR_NEGINT, WD_CBOR_BYTES,
                                            WD_CBOR_TEXT, WD_CBOR_ARRAY, WD_CBOR_MAP, WD_CBOR_TAG};
    uint64_t arg = ai;
    size_t hl = 1;
    if (ai >= 24) {
      size_t n = (size_t)1 << (ai - 24);
      if ((size_t)(rd->end - rd->p) < 1 + n)
        return WD_EMALFORMED;
      arg = 0;
      for (size_t i = 1; i <= n; i++)
        arg = arg << 8 | rd->p[i];
      hl = 1 + n;
    }
    it->kind = kinds[major];
    it->u = arg;
    rd->p += hl;
    uint64_t left = (uint64_t)(rd->end - rd->p);
    if (major == 2 || major == 3) {
      if (left < arg)
        return WD_EMALFORMED;
      it->data = rd->p;
      rd->p += arg;
    } else if ((major == 4 && arg > left) || (major == 5 && arg > left / 2)) {
      return WD_EMALFORMED; /* every element takes at least one byte */
    }
    return 0;
  }
  size_t avail = (size_t)(rd->end - rd->p);
  struct cbor_decoder_result res = cbor_stream_decode(rd->p, avail, &callbacks, it);
  if (res.status != CBOR_DECODER_FINISHED || res.read == 0 || res.read > avail)
    return WD_EMALFORMED;
  rd->p += res.read;
  if ((it->kind == WD_CBOR_ARRAY || it->kind == WD_CBOR_MAP) && !it->indef) {
    /* Every element takes at least one byte: refuse counts the rest of the buffer cannot hold. */
    uint64_t left = (uint64_t)(rd->end - rd->p);
    if (it->u > left || (it->kind == WD_CBOR_MAP && it->u > left / 2))
      return WD_EMALFORMED;
  }
  return 0;
}

int wd_cbor_more(wd_cbor_reader_t *rd, const wd_cbor_item_t *c, uint64_t *i) {
  if (!c->indef) {
    if (*i >= c->u)
      return 0;
    (*i)++;
    return 1;
  }
  if (rd->p >= rd->end)
    return WD_EMALFORMED;
  if (*rd->p == 0xff) {
    rd->p++;
    return 0;
  }
  (*i)++;
  return 1;
}

/* Skip one whole item (head not yet read). */
static int skip_item(wd_cbor_reader_t *rd, unsigned depth) {
  wd_cbor_item_t it;
  int rc = wd_cbor_next(rd, &it);
  if (rc)
    return rc;
  if (it.kind == WD_CBOR_BREAK)
    return WD_EMALFORMED;
  return wd_cbor_skip(rd, &it, depth);
}

int wd_cbor_skip(wd_cbor_reader_t *rd, const wd_cbor_item_t *it, unsigned depth) {
  int rc;
  uint64_t i = 0;
  switch (it->kind) {
  case WD_CBOR_ARRAY:
  case WD_CBOR_MAP:
    if (depth >= WD_CBOR_MAX_DEPTH)
      return WD_EMALFORMED;
    while ((rc = wd_cbor_more(rd, it, &i)) > 0) {
      if ((rc = skip_item(rd, depth + 1)) != 0)
        return rc;
      if (it->kind == WD_CBOR_MAP && (rc = skip_item(rd, depth + 1)) != 0)
        return rc;
    }
    return rc;
  case WD_CBOR_TAG:
    if (depth >= WD_CBOR_MAX_DEPTH)
      return WD_EMALFORMED;
    return skip_item(rd, depth + 1);
  case WD_CBOR_BYTES:
  case WD_CBOR_TEXT:
    if (!it->indef)
      return 0;
    for (;;) { /* chunks: definite strings of the same major type, then a break */
      wd_cbor_item_t ch;
      if ((rc = wd_cbor_next(rd, &ch)) != 0)
        return rc;
      if (ch.kind == WD_CBOR_BREAK)
        return 0;
      if (ch.kind != it->kind || ch.indef)
        return WD_EMALFORMED;
    }
  case WD_CBOR_BREAK:
    return WD_EMALFORMED;
  default:
    return 0;
  }
}

int wd_cbor_span(wd_cbor_reader_t *rd, const uint8_t **start, size_t *len) {
  const uint8_t *s = rd->p;
  int rc = skip_item(rd, 0);
  if (rc)
    return rc;
  *start = s;
  *len = (size_t)(rd->p - s);
  return 0;
}

int wd_cbor_int(const wd_cbor_item_t *it, int64_t *out) {
  if (it->kind == WD_CBOR_UINT) {
    if (it->u > (uint64_t)INT64_MAX)
      return WD_ERANGE;
    *out = (int64_t)it->u;
    return 0;
  }
  if (it->kind == WD_CBOR_NEGINT) {
    if (it->u > (uint64_t)INT64_MAX)
      return WD_ERANGE;
    *out = -1 - (int64_t)it->u;
    return 0;
  }
  return WD_EMALFORMED;
}

int wd_cbor_string(wd_cbor_reader_t *rd, const wd_cbor_item_t *it, wd_cbor_kind_t kind,
                   uint8_t *scratch, size_t cap, size_t *used, const uint8_t **p, size_t *n) {
  if (it->kind != kind)
    return WD_EMALFORMED;
  if (!it->indef) {
    *p = it->data;
    *n = (size_t)it->u;
    return 0;
  }
  size_t start = *used, at = *used;
  for (;;) {
    wd_cbor_item_t ch;
    int rc = wd_cbor_next(rd, &ch);
    if (rc)
      return rc;
    if (ch.kind == WD_CBOR_BREAK)
      break;
    if (ch.kind != kind || ch.indef)
      return WD_EMALFORMED;
    if (!scratch || ch.u > cap - at)
      return WD_ETOOBIG;
    if (ch.u)
      memcpy(scratch + at, ch.data, (size_t)ch.u);
    at += (size_t)ch.u;
  }
  *used = at;
  *p = scratch ? scratch + start : (const uint8_t *)"";
  *n = at - start;
  return 0;
}

size_t wd_cbor_head(uint8_t *out, unsigned major, uint64_t v) {
  uint8_t m = (uint8_t)(major << 5);
  size_t n;
  if (v < 24) {
    if (out)
      out[0] = (uint8_t)(m | v);
    return 1;
  }
  if (v <= 0xff)
    n = 1;
  else if (v <= 0xffff)
    n = 2;
  else if (v <= 0xffffffffu)
    n = 4;
  else
    n = 8;
  if (out) {
    out[0] = (uint8_t)(m | (n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
    for (size_t i = 0; i < n; i++)
      out[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
  }
  return 1 + n;
}
