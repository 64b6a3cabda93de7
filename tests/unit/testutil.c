/* Helpers for the unit tests; see testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/codec.h"

json_t *tu_load_vectors(const char *relpath) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", WARDEN_VECTORS_DIR, relpath);
  json_error_t e;
  json_t *j = json_load_file(path, 0, &e);
  if (!j)
    fail_msg("cannot load %s: %s (line %d)", path, e.text, e.line);
  return j;
}

char *tu_read_vector_file(const char *relpath, size_t *len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", WARDEN_VECTORS_DIR, relpath);
  FILE *f = fopen(path, "rb");
  if (!f)
    fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  if (len)
    *len = (size_t)n;
  return buf;
}

uint8_t *tu_hex(const char *hex, size_t *len) {
  size_t n = strlen(hex);
  uint8_t *out = malloc(n / 2 + 1);
  assert_non_null(out);
  assert_int_equal(wd_hex_decode(hex, n, out, n / 2 + 1, len), 0);
  return out;
}

static void rm_rf(const char *path) {
  DIR *dir = opendir(path);
  if (!dir) {
    unlink(path);
    return;
  }
  struct dirent *e;
  while ((e = readdir(dir))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", path, e->d_name);
    rm_rf(p);
  }
  closedir(dir);
  rmdir(path);
}

char *tu_tmpdir(void) {
  char *d = strdup("/tmp/wd-test-XXXXXX");
  assert_non_null(d);
  assert_non_null(mkdtemp(d));
  return d;
}

void tu_tmpdir_free(char *dir) {
  if (!dir)
    return;
  rm_rf(dir);
  free(dir);
}
