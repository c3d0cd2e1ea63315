#ifndef RECIPROCITY_CZSTD_SHIM_H
#define RECIPROCITY_CZSTD_SHIM_H

#include <zstd.h>

#endif
