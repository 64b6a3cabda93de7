/*
 * Fuzz target token_inspect: wd_token_inspect over arbitrary text, which tries every format's
 * decoder in turn (CloudFront, Akamai, JWT, secure link, Bunny, then the CAT base64/CBOR
 * catch-all). The JSON it returns is serialised once (every value must be valid JSON) and freed.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > WD_TOKEN_MAX + 16)
    return 0;
  char *tok = fz_strndup(data, size);
  json_t *j = NULL;
  char err[256];
  int rc = wd_token_inspect(tok, size, &j, err, sizeof err);
  if (rc == 0) {
    FZ_ASSERT(json_is_object(j), "inspect succeeded without an object");
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    FZ_ASSERT(s != NULL, "inspect returned JSON that cannot be serialised");
    free(s);
  } else {
    FZ_ASSERT(j == NULL, "inspect failed (%d) but set *out", rc);
    FZ_ASSERT(memchr(err, '\0', sizeof err) != NULL, "err not terminated");
  }
  json_decref(j);
  free(tok);
  return 0;
}
