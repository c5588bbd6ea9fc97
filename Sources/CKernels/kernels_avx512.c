// The AVX-512 variant (x86-64 only; pointe_kernels_supported checks the CPU before it is used).
#if defined(__x86_64__)
#define POINTE_TARGET __attribute__((target("avx512f")))
#define POINTE_SUFFIX avx512
// Attention tiles (attention_body.h): of the 32 zmm registers, 12 x 2 score accumulators plus
// 2 key panels and a broadcast, or 6 x 4 value accumulators plus 4 value vectors and a
// broadcast: 24 FMAs per 3 or 5 vector operands, where 8 x 2 and 4 x 4 had 16 per 2 or 4 (one
// core, one head, 4353 keys: 85 -> 92 GFLOP/s over 3 interleaved rounds; 1026 keys 3-6%
// faster). Tiles take 12 query rows at once (the lcm). Tile sizes never change a result.
#define POINTE_SCORE_ROWS 12
#define POINTE_SCORE_PANELS 2
#define POINTE_VALUE_ROWS 6
#define POINTE_VALUE_GROUPS 4
#include "kernel_body.h"
#endif
