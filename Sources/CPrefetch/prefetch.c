// The hint is a static inline function in the header; this file only gives the
// target something to compile.
#include "prefetch.h"
