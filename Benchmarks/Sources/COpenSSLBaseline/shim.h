#ifndef RECIPROCITY_BENCH_COPENSSL_SHIM_H
#define RECIPROCITY_BENCH_COPENSSL_SHIM_H

// Only what the baseline calls: OpenSSL's EVP X25519 derive (Baseline+OpenSSL.swift).
#include <openssl/evp.h>

#endif
