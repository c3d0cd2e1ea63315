#ifndef RECIPROCITY_COPENSSL_SHIM_H
#define RECIPROCITY_COPENSSL_SHIM_H

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

// OPENSSL_free is a macro that Swift cannot import.
static inline void rcp_openssl_free(void *ptr) { OPENSSL_free(ptr); }

#endif
