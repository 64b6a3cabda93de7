/* The message table behind wd_strerror, generated from WD_ERRNO_MAP. */
#include "warden/error.h"

const char *wd_strerror(int code) {
  switch (code) {
  case WD_OK:
    return "ok";
#define WD_ERRNO_MSG(name, c, msg) \
  case WD_##name:                  \
    return msg;
    WD_ERRNO_MAP(WD_ERRNO_MSG)
#undef WD_ERRNO_MSG
  }
  return "unknown error";
}

const char *wd_errname(int code) {
  switch (code) {
  case WD_OK:
    return "OK";
#define WD_ERRNO_NAME(name, c, msg) \
  case WD_##name:                   \
    return #name;
    WD_ERRNO_MAP(WD_ERRNO_NAME)
#undef WD_ERRNO_NAME
  }
  return "EUNKNOWN";
}
