/*
 * A zero-allocation CBOR cursor for the CAT verifier: it walks encoded bytes one item head at a
 * time (libcbor's streaming decoder does the decoding), never builds a tree and never copies
 * except to join the chunks of an indefinite-length string into caller-provided scratch space.
 *
 * Hard bounds: nesting depth WD_CBOR_MAX_DEPTH when skipping or spanning an item, at most
 * WD_CBOR_MAX_ITEMS heads per reader, and no container may announce more elements than there are
 * bytes left. Every failure is WD_EMALFORMED (truncated, invalid, reserved encodings, too deep,
 * too many items); nothing is read past `end`.
 *
 * Usage: init over a buffer, wd_cbor_next() for a head; for a container loop with
 * wd_cbor_more(); wd_cbor_skip() consumes the rest of an item whose head was read;
 * wd_cbor_span() reads one whole item and returns its bytes.
 */
#ifndef WARDEN_TOKEN_CBOR_READER_H
#define WARDEN_TOKEN_CBOR_READER_H

#include <stddef.h>
#include <stdint.h>

#define WD_CBOR_MAX_DEPTH 16
#define WD_CBOR_MAX_ITEMS 8192

typedef enum wd_cbor_kind {
  WD_CBOR_UINT = 0,
  WD_CBOR_NEGINT,   /* value is -1 - u */
  WD_CBOR_BYTES,
  WD_CBOR_TEXT,
  WD_CBOR_ARRAY,
  WD_CBOR_MAP,
  WD_CBOR_TAG,      /* u is the tag number; the tagged item follows */
  WD_CBOR_FLOAT,    /* f */
  WD_CBOR_BOOL,     /* u is 0 or 1 */
  WD_CBOR_NULL,
  WD_CBOR_UNDEF,
  WD_CBOR_BREAK,    /* end of an indefinite-length item */
} wd_cbor_kind_t;

typedef struct wd_cbor_item {
  wd_cbor_kind_t kind;
  int indef;           /* indefinite-length string, array or map */
  uint64_t u;          /* uint, negint magnitude, tag, string length, array/map element count */
  double f;
  const uint8_t *data; /* definite string: its bytes (inside the reader's buffer) */
  const uint8_t *head; /* first byte of the item */
} wd_cbor_item_t;

typedef struct wd_cbor_reader {
  const uint8_t *p, *end;
  unsigned items;      /* heads read so far */
} wd_cbor_reader_t;

static inline void wd_cbor_init(wd_cbor_reader_t *rd, const uint8_t *buf, size_t len) {
  rd->p = buf;
  rd->end = buf + len;
  rd->items = 0;
}

static inline int wd_cbor_at_end(const wd_cbor_reader_t *rd) { return rd->p >= rd->end; }

/* Read one item head. A definite string's bytes are consumed with it (it->data). */
int wd_cbor_next(wd_cbor_reader_t *rd, wd_cbor_item_t *it);

/* Consume what follows the head `it`: elements of an array or map, the item under a tag, the
 * chunks of an indefinite string. `depth` is the nesting already used (0 at the top). */
int wd_cbor_skip(wd_cbor_reader_t *rd, const wd_cbor_item_t *it, unsigned depth);

/* Read one whole item; its encoded bytes are start[0 .. len). */
int wd_cbor_span(wd_cbor_reader_t *rd, const uint8_t **start, size_t *len);

/*
 * Container iteration: *i counts elements seen (start at 0). Returns 1 when another element (a map
 * key, for maps; read the value yourself) follows, 0 at the end (an indefinite container's break
 * is consumed), WD_EMALFORMED on truncation.
 */
int wd_cbor_more(wd_cbor_reader_t *rd, const wd_cbor_item_t *c, uint64_t *i);

/* The integer value of a UINT/NEGINT item as int64; WD_ERANGE when it does not fit, WD_EMALFORMED
 * when the item is not an integer. */
int wd_cbor_int(const wd_cbor_item_t *it, int64_t *out);

/*
 * The bytes of a string item of `kind` (bytes or text) whose head was just read:
 * a definite string points into the buffer; an indefinite one is joined into scratch (cap bytes;
 * used is advanced). WD_EMALFORMED for another kind or a bad chunk, WD_ETOOBIG when scratch is full.
 */
int wd_cbor_string(wd_cbor_reader_t *rd, const wd_cbor_item_t *it, wd_cbor_kind_t kind,
                   uint8_t *scratch, size_t cap, size_t *used, const uint8_t **p, size_t *n);

/* Bytes a CBOR head of major type `major` with argument `v` takes (1, 2, 3, 5 or 9); writes it
 * to out (9 bytes of room) when out is not NULL. */
size_t wd_cbor_head(uint8_t *out, unsigned major, uint64_t v);

#endif
