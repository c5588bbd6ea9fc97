// The transformer MLP's exact (erf) GELU, compiled once per instruction set like the softmax
// exponentials (see softmax.c): Swift's own vectors here are SSE-width, and on the base
// models' MLP activations GELU was about 5% of a forward pass.
//
// erf is Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7) on top of the same exponential as
// softmax.c, the arithmetic VectorMath.erf in PointETensor uses.
#include "pointe_kernels.h"

#include "exp_poly.h"

static inline float erf_as(float x) {
    float a = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    float y = 1.0f - p * t * pointe_exp_poly(-a * a);
    return x < 0 ? -y : y;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void pointe_gelu(float *p, long n) {
    for (long i = 0; i < n; i++) {
        float x = p[i];
        p[i] = 0.5f * x * (1.0f + erf_as(x * 0.70710678118654752f));
    }
}
