#ifndef RECIPROCITY_CBROTLI_SHIM_H
#define RECIPROCITY_CBROTLI_SHIM_H

#include <brotli/decode.h>

#endif
