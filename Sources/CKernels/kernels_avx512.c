// The AVX-512 variant (x86-64 only; pointe_kernels_supported checks the CPU before it is used).
#if defined(__x86_64__)
#define POINTE_TARGET __attribute__((target("avx512f")))
#define POINTE_SUFFIX avx512
#include "kernel_body.h"
#endif
