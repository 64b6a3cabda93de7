/*
 * ASN ranges from CSV files (the @ip-location-db/asn package: asn-ipv4.csv, asn-ipv6.csv).
 *
 * Loading parses each line (wd__asn_csv_parse) into one of two growing arrays, IPv4 ranges as
 * 32-bit integers (16 bytes a range) and IPv6 ranges as pairs of 64-bit halves (40 bytes), with
 * organisation names interned into one string pool (an open-addressing table of pool offsets,
 * freed when loading ends: the published files name about 75,000 organisations over 515,000
 * ranges). finish sorts (the files are already sorted: checked first), cuts overlaps so the
 * range that starts later wins, and merges neighbours of the same ASN and organisation, which
 * leaves disjoint sorted ranges that a lookup bisects, within the IPv4 ranges its prefix index
 * (up to /16) points at.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "geo/internal.h"
#include "util/ip.h"
#include "warden/error.h"

/* ---- text ---- */

size_t wd__geo_copy_text(char *dst, size_t cap, const char *src, size_t n) {
  const unsigned char *s = (const unsigned char *)src;
  size_t o = 0, i = 0;
  while (i < n && o + 1 < cap && s[i] >= 0x20 && s[i] < 0x7f) /* printable ASCII, most names */
    dst[o++] = (char)s[i++];
  while (i < n) {
    unsigned char c = s[i];
    uint32_t cp = c;
    size_t k = 1;
    if (c >= 0x80) {
      k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
      int ok = k && c < 0xf5 && i + k <= n;
      if (ok) {
        cp = c & (0x7f >> k);
        for (size_t j = 1; j < k && ok; j++) {
          ok = (s[i + j] & 0xc0) == 0x80;
          cp = (cp << 6) | (s[i + j] & 0x3f);
        }
      }
      /* Overlong forms, surrogates and C1 controls are not text either. */
      static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
      if (ok && (cp < min[k] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp < 0xa0))
        ok = 0;
      if (!ok) {
        cp = '?';
        k = 1;
      }
    } else if (c < 0x20 || c == 0x7f) {
      cp = '?';
    }
    size_t w = cp == '?' ? 1 : k;
    if (o + w >= cap)
      break;
    if (cp == '?')
      dst[o] = '?';
    else
      memcpy(dst + o, s + i, k);
    o += w;
    i += k;
  }
  dst[o] = '\0';
  return o;
}

/* ---- one line ---- */

static void trim(const char **s, size_t *n) {
  while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t'))
    (*s)++, (*n)--;
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
    (*n)--;
}

/* An address field: text, optionally quoted. */
static int parse_addr(const char *f, size_t n, wd_ip_t *ip, const char **why, const char *what) {
  if (n >= 2 && f[0] == '"' && f[n - 1] == '"')
    f++, n -= 2;
  size_t digits = 0;
  while (digits < n && f[digits] >= '0' && f[digits] <= '9')
    digits++;
  if (n && digits == n) {
    *why = "numeric addresses (asn-ipv4-num.csv, asn-ipv6-num.csv) are not supported: use "
           "asn-ipv4.csv and asn-ipv6.csv";
    return WD_EUNSUPPORTED;
  }
  if (n == 0 || memchr(f, '\0', n) || wd_ip_parse(f, n, ip)) {
    *why = what;
    return WD_ECORRUPT;
  }
  return 0;
}

int wd__asn_csv_parse(const char *s, size_t n, wd__asn_line_t *out, const char **why) {
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    n--;
  trim(&s, &n);
  if (n == 0 || s[0] == '#' || (n >= 14 && strncasecmp(s, "ip_range_start", 14) == 0))
    return 1;

  /* start, end, asn: the first three comma-separated fields; the rest is the organisation. */
  const char *f[3], *p = s, *end = s + n;
  size_t fn[3];
  int has_org = 1;
  for (int i = 0; i < 3; i++) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    if (!c && i < 2) {
      *why = "expected start,end,asn,organisation";
      return WD_ECORRUPT;
    }
    if (!c) {
      c = end;
      has_org = 0;
    }
    f[i] = p;
    fn[i] = (size_t)(c - p);
    trim(&f[i], &fn[i]);
    p = c < end ? c + 1 : end;
  }

  wd_ip_t a, b;
  int rc = parse_addr(f[0], fn[0], &a, why, "the start is not an IPv4 or IPv6 address");
  if (rc)
    return rc;
  rc = parse_addr(f[1], fn[1], &b, why, "the end is not an IPv4 or IPv6 address");
  if (rc)
    return rc;
  if (a.family != b.family) {
    *why = "start and end are of different address families";
    return WD_ECORRUPT;
  }
  size_t alen = a.family == 4 ? 4 : 16;
  if (memcmp(a.a, b.a, alen) > 0) {
    *why = "the end address is before the start address";
    return WD_ECORRUPT;
  }

  const char *as = f[2];
  size_t asn_len = fn[2];
  if (asn_len >= 2 && as[0] == '"' && as[asn_len - 1] == '"')
    as++, asn_len -= 2;
  if (asn_len > 2 && (as[0] == 'A' || as[0] == 'a') && (as[1] == 'S' || as[1] == 's'))
    as += 2, asn_len -= 2;
  uint64_t asn = 0;
  if (asn_len == 0 || asn_len > 10)
    goto bad_asn;
  for (size_t i = 0; i < asn_len; i++) {
    if (as[i] < '0' || as[i] > '9')
      goto bad_asn;
    asn = asn * 10 + (uint64_t)(as[i] - '0');
  }
  if (asn > UINT32_MAX)
    goto bad_asn;

  /* The organisation: the rest of the line, plain or quoted ("" is a quote). */
  char org[4 * WD_GEO_ORG_MAX];
  size_t on = 0;
  const char *o = p;
  size_t olen = has_org ? (size_t)(end - p) : 0;
  trim(&o, &olen);
  if (olen && o[0] == '"') {
    size_t i = 1;
    int closed = 0;
    while (i < olen) {
      char c = o[i++];
      if (c == '"') {
        if (i < olen && o[i] == '"') {
          i++;
        } else {
          closed = 1;
          break;
        }
      }
      if (on < sizeof org)
        org[on++] = c;
    }
    if (!closed) {
      *why = "the quoted organisation has no closing quote";
      return WD_ECORRUPT;
    }
    if (i < olen) {
      *why = "text after the closing quote of the organisation";
      return WD_ECORRUPT;
    }
  } else {
    on = olen < sizeof org ? olen : sizeof org;
    memcpy(org, o, on);
  }

  memset(out, 0, sizeof *out);
  out->family = a.family;
  memcpy(out->start, a.a, alen);
  memcpy(out->end, b.a, alen);
  out->asn = (uint32_t)asn;
  wd__geo_copy_text(out->org, sizeof out->org, org, on);
  return 0;

bad_asn:
  *why = "the ASN is not a number from 0 to 4294967295";
  return WD_ECORRUPT;
}

/* ---- the table ---- */

typedef struct r4 {
  uint32_t start, end, asn, org;   /* org: offset into names */
} r4_t;

typedef struct r6 {
  uint64_t shi, slo, ehi, elo;     /* start and end as high and low halves */
  uint32_t asn, org;
} r6_t;

#define NO_SLOT UINT32_MAX

struct wd__asn_table {
  r4_t *v4;
  size_t n4, cap4;
  uint32_t *first4;                /* after finish, the prefix index: first4[p] is the first
                                      IPv4 range whose start >> shift4 is at least p, for the
                                      2^(32 - shift4) prefixes p (at most 65536: a /16 index for
                                      the published data), and one more entry: n4 */
  unsigned shift4;
  r6_t *v6;
  size_t n6, cap6;
  char *names;                     /* NUL-terminated names; offset 0 is "" */
  size_t nlen, ncap;
  uint32_t *slots;                 /* interning while loading: offsets, NO_SLOT when free */
  size_t nslots, nused;
  size_t files, lines, overlaps;
};

int wd__asn_table_create(wd__asn_table_t **out) {
  wd__asn_table_t *t = calloc(1, sizeof *t);
  if (!t)
    return WD_ENOMEM;
  t->ncap = 1 << 16;
  t->names = malloc(t->ncap);
  if (!t->names) {
    free(t);
    return WD_ENOMEM;
  }
  t->names[0] = '\0';
  t->nlen = 1;
  *out = t;
  return 0;
}

void wd__asn_table_destroy(wd__asn_table_t *t) {
  if (!t)
    return;
  free(t->v4);
  free(t->first4);
  free(t->v6);
  free(t->names);
  free(t->slots);
  free(t);
}

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return h;
}

static int slots_grow(wd__asn_table_t *t) {
  size_t n = t->nslots ? t->nslots * 2 : 1 << 14;
  uint32_t *s = malloc(n * sizeof *s);
  if (!s)
    return WD_ENOMEM;
  memset(s, 0xff, n * sizeof *s);
  for (size_t i = 0; i < t->nslots; i++) {
    uint32_t off = t->slots[i];
    if (off == NO_SLOT)
      continue;
    const char *name = t->names + off;
    size_t j = fnv1a(name, strlen(name)) & (n - 1);
    while (s[j] != NO_SLOT)
      j = (j + 1) & (n - 1);
    s[j] = off;
  }
  free(t->slots);
  t->slots = s;
  t->nslots = n;
  return 0;
}

/* Offset of name in the pool, adding it when new. */
static int intern(wd__asn_table_t *t, const char *name, uint32_t *off) {
  size_t len = strlen(name);
  if (len == 0) {
    *off = 0;
    return 0;
  }
  if ((t->nused + 1) * 2 > t->nslots) {
    int rc = slots_grow(t);
    if (rc)
      return rc;
  }
  size_t j = fnv1a(name, len) & (t->nslots - 1);
  while (t->slots[j] != NO_SLOT) {
    if (strcmp(t->names + t->slots[j], name) == 0) {
      *off = t->slots[j];
      return 0;
    }
    j = (j + 1) & (t->nslots - 1);
  }
  if (t->nlen + len + 1 > UINT32_MAX - 1)
    return WD_ETOOBIG;
  if (t->nlen + len + 1 > t->ncap) {
    size_t cap = t->ncap * 2;
    while (cap < t->nlen + len + 1)
      cap *= 2;
    char *p = realloc(t->names, cap);
    if (!p)
      return WD_ENOMEM;
    t->names = p;
    t->ncap = cap;
  }
  memcpy(t->names + t->nlen, name, len + 1);
  *off = (uint32_t)t->nlen;
  t->slots[j] = *off;
  t->nused++;
  t->nlen += len + 1;
  return 0;
}

static uint64_t be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int grow(void **v, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return 0;
  if (n >= WD__ASN_RANGES_MAX)
    return WD_ETOOBIG;
  size_t c = *cap ? *cap * 2 : 4096;
  void *p = realloc(*v, c * size);
  if (!p)
    return WD_ENOMEM;
  *v = p;
  *cap = c;
  return 0;
}

int wd__asn_table_add(wd__asn_table_t *t, const wd__asn_line_t *l) {
  uint32_t org;
  int rc = intern(t, l->asn ? l->org : "", &org);
  if (rc)
    return rc;
  if (l->family == 4) {
    rc = grow((void **)&t->v4, &t->cap4, t->n4, sizeof *t->v4);
    if (rc)
      return rc;
    t->v4[t->n4++] = (r4_t){be32(l->start), be32(l->end), l->asn, org};
  } else if (l->family == 6) {
    rc = grow((void **)&t->v6, &t->cap6, t->n6, sizeof *t->v6);
    if (rc)
      return rc;
    t->v6[t->n6++] = (r6_t){be64(l->start), be64(l->start + 8), be64(l->end), be64(l->end + 8),
                            l->asn, org};
  } else {
    return WD_EINVAL;
  }
  t->lines++;
  return 0;
}

int wd__asn_table_add_file(wd__asn_table_t *t, const char *path, char *err, size_t errlen) {
  static const char hint[] = "install the geo data with scripts/deps.sh, or correct the path";
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "cannot open ASN ranges %s: %s (%s)", path, strerror(errno), hint);
    return WD_EIO;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "ASN ranges %s is not a regular file (%s)", path, hint);
    fclose(f);
    return WD_EIO;
  }
  char *line = NULL;
  size_t cap = 0, lineno = 0, before = t->lines;
  ssize_t n;
  int rc = 0;
  while ((n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if ((size_t)n > WD__ASN_LINE_MAX) {
      snprintf(err, errlen, "%s line %zu: longer than %d bytes (expected start,end,asn,organisation)",
               path, lineno, WD__ASN_LINE_MAX);
      rc = WD_ECORRUPT;
      goto out;
    }
    wd__asn_line_t l;
    const char *why = NULL;
    rc = wd__asn_csv_parse(line, (size_t)n, &l, &why);
    if (rc == 1) {
      rc = 0;
      continue;
    }
    if (rc) {
      snprintf(err, errlen, "%s line %zu: %s", path, lineno, why);
      goto out;
    }
    rc = wd__asn_table_add(t, &l);
    if (rc) {
      snprintf(err, errlen, "%s line %zu: %s", path, lineno,
               rc == WD_ETOOBIG ? "too many ranges" : wd_strerror(rc));
      goto out;
    }
  }
  if (ferror(f)) {
    snprintf(err, errlen, "cannot read ASN ranges %s: %s", path, strerror(errno));
    rc = WD_EIO;
    goto out;
  }
  if (t->lines == before) {
    snprintf(err, errlen, "ASN ranges %s holds no ranges (expected start,end,asn,organisation "
             "lines as in @ip-location-db/asn; %s)", path, hint);
    rc = WD_ECORRUPT;
    goto out;
  }
  t->files++;
out:
  free(line);
  fclose(f);
  return rc;
}

/* Order: start ascending, then end descending (a range before the ranges it encloses). */
static int cmp4(const void *x, const void *y) {
  const r4_t *a = x, *b = y;
  if (a->start != b->start)
    return a->start < b->start ? -1 : 1;
  return a->end == b->end ? 0 : a->end > b->end ? -1 : 1;
}

static int lt6(uint64_t ahi, uint64_t alo, uint64_t bhi, uint64_t blo) {
  return ahi < bhi || (ahi == bhi && alo < blo);
}

static int cmp6(const void *x, const void *y) {
  const r6_t *a = x, *b = y;
  if (a->shi != b->shi || a->slo != b->slo)
    return lt6(a->shi, a->slo, b->shi, b->slo) ? -1 : 1;
  if (a->ehi == b->ehi && a->elo == b->elo)
    return 0;
  return lt6(b->ehi, b->elo, a->ehi, a->elo) ? -1 : 1;
}

static void sort_if_needed(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
  for (size_t i = 1; i < n; i++)
    if (cmp((char *)v + (i - 1) * size, (char *)v + i * size) > 0) {
      qsort(v, n, size, cmp);
      return;
    }
}

static size_t resolve4(r4_t *v, size_t n, size_t *overlaps) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    r4_t r = v[i];
    if (o) {
      r4_t *last = &v[o - 1];
      if (r.start <= last->end) {
        (*overlaps)++;
        if (r.start == last->start)
          o--;
        else
          last->end = r.start - 1;
      } else if (r.start == last->end + 1 && r.asn == last->asn && r.org == last->org) {
        last->end = r.end;
        continue;
      }
    }
    v[o++] = r;
  }
  return o;
}

static size_t resolve6(r6_t *v, size_t n, size_t *overlaps) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    r6_t r = v[i];
    if (o) {
      r6_t *last = &v[o - 1];
      if (!lt6(last->ehi, last->elo, r.shi, r.slo)) {
        (*overlaps)++;
        if (r.shi == last->shi && r.slo == last->slo) {
          o--;
        } else {
          last->ehi = r.slo ? r.shi : r.shi - 1;
          last->elo = r.slo - 1;
        }
      } else {
        /* Adjacent: last end + 1 == r start. */
        uint64_t nhi = last->elo == UINT64_MAX ? last->ehi + 1 : last->ehi, nlo = last->elo + 1;
        if (nhi == r.shi && nlo == r.slo && r.asn == last->asn && r.org == last->org) {
          last->ehi = r.ehi;
          last->elo = r.elo;
          continue;
        }
      }
    }
    v[o++] = r;
  }
  return o;
}

static void shrink(void **v, size_t *cap, size_t n, size_t size) {
  if (n == *cap)
    return;
  if (n == 0) {
    free(*v);
    *v = NULL;
    *cap = 0;
    return;
  }
  void *p = realloc(*v, n * size);
  if (p) {
    *v = p;
    *cap = n;
  }
}

int wd__asn_table_finish(wd__asn_table_t *t) {
  sort_if_needed(t->v4, t->n4, sizeof *t->v4, cmp4);
  sort_if_needed(t->v6, t->n6, sizeof *t->v6, cmp6);
  t->n4 = resolve4(t->v4, t->n4, &t->overlaps);
  t->n6 = resolve6(t->v6, t->n6, &t->overlaps);
  shrink((void **)&t->v4, &t->cap4, t->n4, sizeof *t->v4);
  shrink((void **)&t->v6, &t->cap6, t->n6, sizeof *t->v6);
  char *p = realloc(t->names, t->nlen);
  if (p) {
    t->names = p;
    t->ncap = t->nlen;
  }
  free(t->slots);
  t->slots = NULL;
  t->nslots = t->nused = 0;
  /* The prefix index, about one prefix per range up to /16: a lookup bisects only the few
   * ranges that can hold its prefix. */
  unsigned bits = 1;
  while (bits < 16 && ((size_t)1 << (bits + 1)) <= t->n4)
    bits++;
  size_t nprefix = (size_t)1 << bits;
  free(t->first4);
  t->first4 = malloc((nprefix + 1) * sizeof *t->first4);
  if (!t->first4)
    return WD_ENOMEM;
  t->shift4 = 32 - bits;
  size_t i = 0;
  for (size_t pre = 0; pre < nprefix; pre++) {
    while (i < t->n4 && (t->v4[i].start >> t->shift4) < pre)
      i++;
    t->first4[pre] = (uint32_t)i;
  }
  t->first4[nprefix] = (uint32_t)t->n4;
  return 0;
}

int wd__asn_table_find(const wd__asn_table_t *t, int family, const uint8_t *addr, uint32_t *asn,
                       const char **org) {
  size_t lo = 0, hi;
  if (family == 4) {
    uint32_t ip = be32(addr), p = ip >> t->shift4;
    /* The answer is the last range starting at or before ip: at index first4[p] - 1 (a range
     * from an earlier prefix) up to first4[p + 1] - 1. */
    lo = t->first4[p] ? t->first4[p] - 1 : 0;
    hi = t->first4[p + 1];
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (t->v4[mid].start <= ip)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo == 0 || ip > t->v4[lo - 1].end)
      return 0;
    *asn = t->v4[lo - 1].asn;
    *org = t->names + t->v4[lo - 1].org;
    return 1;
  }
  if (family != 6)
    return 0;
  uint64_t ihi = be64(addr), ilo = be64(addr + 8);
  hi = t->n6;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (!lt6(ihi, ilo, t->v6[mid].shi, t->v6[mid].slo))
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0 || lt6(t->v6[lo - 1].ehi, t->v6[lo - 1].elo, ihi, ilo))
    return 0;
  *asn = t->v6[lo - 1].asn;
  *org = t->names + t->v6[lo - 1].org;
  return 1;
}

void wd__asn_table_stats(const wd__asn_table_t *t, wd__asn_stats_t *out) {
  memset(out, 0, sizeof *out);
  if (!t)
    return;
  out->files = t->files;
  out->ranges4 = t->n4;
  out->ranges6 = t->n6;
  out->lines = t->lines;
  out->overlaps = t->overlaps;
  out->bytes = t->cap4 * sizeof *t->v4 + t->cap6 * sizeof *t->v6 + t->ncap +
               t->nslots * sizeof *t->slots +
               (t->first4 ? (((size_t)1 << (32 - t->shift4)) + 1) * sizeof *t->first4 : 0);
}
