// The portable variant: no target attribute, so it is whatever the compiler's default target
// is (SSE2 on x86-64, NEON on aarch64). Every platform has it.
#define POINTE_TARGET
#define POINTE_SUFFIX baseline
// Attention tiles (attention_body.h): a 16-float vector is four of SSE's 16 registers.
#define POINTE_SCORE_ROWS 2
#define POINTE_SCORE_PANELS 1
#define POINTE_VALUE_ROWS 2
#define POINTE_VALUE_GROUPS 1
#include "kernel_body.h"
