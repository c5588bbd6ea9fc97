#ifndef POINTE_KERNELS_H
#define POINTE_KERNELS_H

/// The hot element-wise loops, compiled once per instruction set. Every variant computes the
/// same IEEE operations in the same order on 16-float lanes, so all of them give bit-identical
/// results (see kernel_body.h); they differ only in how many lanes one instruction covers.
///
/// Variant numbers (stable; PointETensor's KernelVariant mirrors them).
enum {
    POINTE_KERNELS_BASELINE = 0,  ///< portable C vectors (SSE2 on x86-64, NEON on aarch64)
    POINTE_KERNELS_AVX2 = 1,      ///< x86-64 with AVX2
    POINTE_KERNELS_AVX512 = 2,    ///< x86-64 with AVX-512F
};

/// 1 when `variant` is compiled into this binary and the CPU can run it, else 0.
int pointe_kernels_supported(int variant);

/// The variant the un-suffixed entry points below use. Starts as the best supported one.
int pointe_kernels_active(void);

/// Makes `variant` the active one for the whole process; returns 0, or -1 (nothing changed)
/// when it is not supported.
int pointe_kernels_set_active(int variant);

/// exp(p[i] - max(p)) in place over n finite floats; returns the sum of the results.
/// (The softmax numerator of one attention row; the caller divides.) n must be >= 1.
float pointe_exp_shifted_sum(float *p, long n);

/// Exact (erf) GELU in place over n floats: 0.5 x (1 + erf(x / sqrt 2)).
void pointe_gelu(float *p, long n);

/// The same kernels in one given variant (which must be supported), for tests and benchmarks.
float pointe_exp_shifted_sum_variant(int variant, float *p, long n);
void pointe_gelu_variant(int variant, float *p, long n);

#endif
