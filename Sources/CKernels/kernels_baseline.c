// The portable variant: no target attribute, so it is whatever the compiler's default target
// is (SSE2 on x86-64, NEON on aarch64). Every platform has it.
#define POINTE_TARGET
#define POINTE_SUFFIX baseline
#include "kernel_body.h"
