/*
 * Fuzz target asn_csv: lines of the @ip-location-db/asn CSV files (start,end,asn,organisation) as
 * wd__asn_csv_parse reads them, then the ASN range table built from the lines that parse
 * (sorting, overlap cutting, merging, bisection). The input is split on '\n'; each line is
 * parsed from an exact-size heap copy, so ASan sees any read past it.
 *
 * Invariants: a parse returns 0, 1 (no range), WD_ECORRUPT or WD_EUNSUPPORTED, a failure always
 * has a reason; a parsed range has family 4 or 6, start <= end, zero bytes past an IPv4 address,
 * and an organisation that is NUL-terminated, shorter than WD_GEO_ORG_MAX and UTF-8 without
 * control characters. After the table is finished, the start address of every parsed range is
 * found, in its own AS when no other range starts at the same address.
 */
#include "fuzz_util.h"
#include "geo/internal.h"

#define MAX_LINES 256

/* Independent check: valid UTF-8 (shortest forms, no surrogates), no C0/C1 controls or DEL. */
static int clean_text(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    if (c < 0x20 || c == 0x7f)
      return 0;
    if (c < 0x80) {
      p++;
      continue;
    }
    int k = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (!k)
      return 0;
    unsigned cp = c & (0xffu >> (k + 1));
    for (int i = 1; i < k; i++) {
      if ((p[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((k == 2 && cp < 0xa0) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      return 0;
    p += k;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static wd__asn_line_t lines[MAX_LINES];
  size_t nl = 0;
  const char *p = (const char *)data, *end = p + size;
  while (p < end && nl < MAX_LINES) {
    const char *nlp = memchr(p, '\n', (size_t)(end - p));
    size_t n = nlp ? (size_t)(nlp - p) + 1 : (size_t)(end - p);
    char *copy = malloc(n ? n : 1);
    if (!copy)
      abort();
    memcpy(copy, p, n);
    const char *why = NULL;
    wd__asn_line_t l;
    int rc = wd__asn_csv_parse(copy, n, &l, &why);
    free(copy);
    FZ_ASSERT(rc == 0 || rc == 1 || rc == WD_ECORRUPT || rc == WD_EUNSUPPORTED, "rc %d", rc);
    if (rc < 0)
      FZ_ASSERT(why && why[0], "failure %d without a reason", rc);
    if (rc == 0) {
      FZ_ASSERT(l.family == 4 || l.family == 6, "family %d", l.family);
      size_t alen = l.family == 4 ? 4 : 16;
      FZ_ASSERT(memcmp(l.start, l.end, alen) <= 0, "end before start");
      static const uint8_t zero[12];
      if (l.family == 4)
        FZ_ASSERT(!memcmp(l.start + 4, zero, 12) && !memcmp(l.end + 4, zero, 12),
                  "bytes past an IPv4 address");
      FZ_ASSERT(memchr(l.org, '\0', sizeof l.org) != NULL, "organisation not terminated");
      FZ_ASSERT(clean_text(l.org), "organisation '%s' is not clean UTF-8", l.org);
      lines[nl++] = l;
    }
    p += n;
  }

  wd__asn_table_t *t = NULL;
  fz_check_setup(wd__asn_table_create(&t), "asn table");
  for (size_t i = 0; i < nl; i++)
    fz_check_setup(wd__asn_table_add(t, &lines[i]), "asn table add");
  fz_check_setup(wd__asn_table_finish(t), "asn table finish");
  wd__asn_stats_t st;
  wd__asn_table_stats(t, &st);
  FZ_ASSERT(st.ranges4 + st.ranges6 <= nl, "%zu ranges from %zu lines", st.ranges4 + st.ranges6, nl);
  for (size_t i = 0; i < nl; i++) {
    uint32_t asn = 0;
    const char *org = NULL;
    int found = wd__asn_table_find(t, lines[i].family, lines[i].start, &asn, &org);
    FZ_ASSERT(found == 1, "line %zu: its start address is not found", i);
    FZ_ASSERT(org && strlen(org) < WD_GEO_ORG_MAX, "organisation too long");
    int shared = 0;
    for (size_t j = 0; j < nl && !shared; j++)
      shared = j != i && lines[j].family == lines[i].family &&
               !memcmp(lines[j].start, lines[i].start, 16);
    if (!shared)
      FZ_ASSERT(asn == lines[i].asn, "line %zu: AS%u found, AS%u given", i, asn, lines[i].asn);
  }
  wd__asn_table_destroy(t);
  return 0;
}
