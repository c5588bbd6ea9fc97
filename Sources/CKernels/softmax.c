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

#include <float.h>
#include <stdint.h>
#include <string.h>

static inline float exp_poly(float x) {
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.37626f ? 88.37626f : x;
    const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    float shifted = x * 1.44269504f + magic;
    float n = shifted - magic;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    int32_t si, mi;
    memcpy(&si, &shifted, 4);
    memcpy(&mi, &magic, 4);
    int32_t bits = (si - mi + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return y * scale;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
float pointe_exp_shifted_sum(float *p, long n) {
    float m = -FLT_MAX;
    for (long i = 0; i < n; i++) m = p[i] > m ? p[i] : m;
    float sum = 0.0f;
    for (long i = 0; i < n; i++) {
        float e = exp_poly(p[i] - m);
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
