// The AVX2 variant (x86-64 only; pointe_kernels_supported checks the CPU before it is used).
// "fma" as well: attention's dot products use explicit fused multiply-adds (one rounding, the
// same on every variant); everywhere else contraction stays off, so FMA changes nothing there.
#if defined(__x86_64__)
#define POINTE_TARGET __attribute__((target("avx2,fma")))
#define POINTE_SUFFIX avx2
// Attention tiles (attention_body.h): a 16-float vector is two of the 16 ymm registers, so
// 6 x 1 accumulators (12 ymm) leave room for the operands (3 x 2 value tiles spilled to the
// stack in the inner loop).
#define POINTE_SCORE_ROWS 6
#define POINTE_SCORE_PANELS 1
#define POINTE_VALUE_ROWS 6
#define POINTE_VALUE_GROUPS 1
#include "kernel_body.h"
#endif
