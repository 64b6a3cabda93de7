/* Helpers for the unit tests: reading vector files, hex. */
#ifndef WARDEN_TESTUTIL_H
#define WARDEN_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

/* Load a JSON file from the vectors directory (relative path); fails the test when absent. */
json_t *tu_load_vectors(const char *relpath);
/* Read a whole file under the vectors directory; malloc'd, NUL-terminated; *len set when not NULL. */
char *tu_read_vector_file(const char *relpath, size_t *len);
/* Decode hex into a malloc'd buffer. */
uint8_t *tu_hex(const char *hex, size_t *len);

/* A new empty directory under /tmp (malloc'd path); fails the test when it cannot be made. */
char *tu_tmpdir(void);
/* Remove the directory and everything in it, and free the path. */
void tu_tmpdir_free(char *dir);

#endif
