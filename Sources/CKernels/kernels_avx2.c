// The AVX2 variant (x86-64 only; pointe_kernels_supported checks the CPU before it is used).
// Only "avx2", not "fma": contraction is off anyway, and FMA would not change a result here.
#if defined(__x86_64__)
#define POINTE_TARGET __attribute__((target("avx2")))
#define POINTE_SUFFIX avx2
#include "kernel_body.h"
#endif
