/* Warden: everything a program needs from the library. */
#ifndef WARDEN_WARDEN_H
#define WARDEN_WARDEN_H

#define WARDEN_VERSION "0.1.0"

#include "warden/error.h"
#include "warden/keyring.h"
#include "warden/token.h"

#endif
