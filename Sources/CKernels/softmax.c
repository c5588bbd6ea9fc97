// The attention softmax's exponentials, compiled once per instruction set.
//
// Swift compiles for baseline x86-64 (SSE2), so its vector exp runs four lanes at a time; on
// the upsampler's 4,353-token attention that was a fifth of the forward pass. Here clang's
// target_clones builds AVX-512, AVX2 and baseline versions of the same loop and the loader
// picks the best one for the CPU it runs on, so binaries stay portable.
//
// The exponential is the same range-reduced polynomial as VectorMath.exp in PointETensor
// (Cody-Waite reduction, degree-6 Cephes coefficients, 2^n built in the exponent bits).
#include "pointe_kernels.h"

#include "exp_poly.h"

#include <float.h>

__attribute__((target_clones("avx512f", "avx2", "default")))
float pointe_exp_shifted_sum(float *p, long n) {
    float m = -FLT_MAX;
    for (long i = 0; i < n; i++) m = p[i] > m ? p[i] : m;
    float sum = 0.0f;
    for (long i = 0; i < n; i++) {
        float e = pointe_exp_poly(p[i] - m);
        p[i] = e;
        sum += e;
    }
    return sum;
}

const char *pointe_kernels_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2")) return "avx2";
    return "baseline";
}
