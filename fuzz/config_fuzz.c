/*
 * Fuzz target config: the configuration reader of `warden serve` (src/config.c over libyaml),
 * conf_load_string on arbitrary text. Invariants: it either loads (and frees cleanly) or fails
 * with a one-line message that names the file; it never crashes, leaks or reads out of bounds.
 * Key files named in the input are read like any configuration would (the seed corpus names
 * none).
 */
#include <string.h>

#include "config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return 0;
  char err[512];
  err[0] = '\0';
  conf_t *c = NULL;
  int rc = conf_load_string((const char *)data, size, "fuzz.yaml", &c, err, sizeof err);
  if (rc == 0) {
    FZ_ASSERT(c != NULL, "loaded without a configuration");
    FZ_ASSERT(c->npolicies >= 1, "a configuration without policies loaded");
    conf_free(c);
  } else {
    FZ_ASSERT(c == NULL, "failed but returned a configuration");
    FZ_ASSERT(!strncmp(err, "fuzz.yaml", 9), "message does not name the file: %s", err);
    FZ_ASSERT(!strchr(err, '\n'), "message is not one line: %s", err);
  }
  return 0;
}
