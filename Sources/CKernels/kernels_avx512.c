// The AVX-512 variant (x86-64 only; pointe_kernels_supported checks the CPU before it is used).
#if defined(__x86_64__)
#define POINTE_TARGET __attribute__((target("avx512f")))
#define POINTE_SUFFIX avx512
// Attention tiles (attention_body.h): 32 zmm registers hold 8 x 2 score accumulators or
// 4 x 4 value accumulators plus their operands. Tile sizes never change a result.
#define POINTE_SCORE_ROWS 8
#define POINTE_SCORE_PANELS 2
#define POINTE_VALUE_ROWS 4
#define POINTE_VALUE_GROUPS 4
#include "kernel_body.h"
#endif
