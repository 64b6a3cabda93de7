/*
 * Warden error codes.
 *
 * Every library function returns int: 0 on success, a negative WD_E* code on failure. The table
 * below is the single source of both the codes and their messages (wd_strerror). Verification
 * failures carry a more precise one-line reason in wd_result_t.reason.
 */
#ifndef WARDEN_ERROR_H
#define WARDEN_ERROR_H

#define WD_ERRNO_MAP(X)                                                  \
  X(EINVAL, -1, "invalid argument")                                      \
  X(ENOMEM, -2, "out of memory")                                         \
  X(EMALFORMED, -3, "malformed token")                                   \
  X(ETOOBIG, -4, "input too large")                                      \
  X(ENOKEY, -5, "no key for token")                                      \
  X(ESIGNATURE, -6, "bad signature")                                     \
  X(EEXPIRED, -7, "token expired")                                       \
  X(ENOTYET, -8, "token not yet valid")                                  \
  X(ECLAIM, -9, "claim check failed")                                    \
  X(EALG, -10, "algorithm not allowed")                                  \
  X(EISSUER, -11, "issuer not accepted")                                 \
  X(EAUDIENCE, -12, "audience not accepted")                             \
  X(EUNSUPPORTED, -13, "not supported")                                  \
  X(ENOTOKEN, -14, "no token in request")                                \
  X(ECRYPTO, -15, "cryptographic library failure")                       \
  X(EKEY, -16, "unusable key")                                           \
  X(ERANGE, -17, "value out of range")                                   \
  X(EIO, -18, "storage failure")                                         \
  X(ECORRUPT, -19, "data file is corrupt or not a Warden store")         \
  X(EBUSY, -20, "data file is in use by another handle or process")      \
  X(EUNAVAILABLE, -21, "unavailable: the cluster cannot be reached")

typedef enum wd_errno {
  WD_OK = 0,
#define WD_ERRNO_ENUM(name, code, msg) WD_##name = (code),
  WD_ERRNO_MAP(WD_ERRNO_ENUM)
#undef WD_ERRNO_ENUM
} wd_errno_t;

/* Message for a WD_E* code; never NULL, static storage. */
const char *wd_strerror(int code);

/* Short stable name for a WD_E* code ("EEXPIRED"), for logs and metrics labels. */
const char *wd_errname(int code);

#endif
