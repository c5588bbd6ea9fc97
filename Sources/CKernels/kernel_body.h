// The kernels' bodies, written once and compiled once per instruction set: a variant's .c file
// defines POINTE_TARGET (a target attribute, or nothing) and POINTE_SUFFIX, then includes this.
//
// Why the numbers do not depend on the instruction set:
// * The target is compiled without value-changing fast-math flags (see Package.swift) and with
//   floating-point contraction off (the pragma below), so a*b+c is a multiply then an add on
//   every ISA. Where the code wants one rounding it says so with fma_ (exp's polynomial,
//   attention's dot products), which every variant computes exactly (see fma_).
// * Arithmetic runs on 16-float GCC/clang vectors. Clang lowers one such vector to one AVX-512
//   register, two AVX2 registers or four SSE/NEON registers, but the per-lane operations are
//   the same IEEE operations either way.
// * Reductions (the softmax sum) accumulate in those 16 lanes and then add the lanes in one
//   fixed tree, so the order of additions is fixed by the code, not by the vector width.
// * exp's range reduction rounds with the 1.5*2^23 trick: (x*log2e + magic) - magic is exact
//   round-to-nearest only because the compiler may not reassociate it into x*log2e (what
//   -fassociative-math allowed, and clang did in the AVX2 and baseline clones).
#pragma clang fp contract(off)
#pragma clang fp reassociate(off)  // and whatever flags the target gets, never reassociate
// The helpers below pass 64-byte vectors by value; they are always inlined static functions,
// so no call ever crosses an ABI boundary and clang's -Wpsabi note does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

#include <float.h>
#include <stdint.h>
#include <string.h>

#define POINTE_CAT2(a, b) a##b
#define POINTE_CAT(a, b) POINTE_CAT2(a, b)
#define POINTE_NAME(name) POINTE_CAT(name, POINTE_SUFFIX)

#define POINTE_LANES 16
typedef float pointe_vf __attribute__((vector_size(POINTE_LANES * 4)));
typedef int32_t pointe_vi __attribute__((vector_size(POINTE_LANES * 4)));
typedef double pointe_vd __attribute__((vector_size(POINTE_LANES * 8)));

#define POINTE_INLINE static inline __attribute__((always_inline)) POINTE_TARGET

POINTE_INLINE pointe_vf POINTE_NAME(splat_)(float x) {
    pointe_vf v;
    for (int i = 0; i < POINTE_LANES; i++) v[i] = x;
    return v;
}

POINTE_INLINE pointe_vf POINTE_NAME(load_)(const float *p) {
    pointe_vf v;
    memcpy(&v, p, sizeof v);  // an unaligned vector load
    return v;
}

POINTE_INLINE void POINTE_NAME(store_)(float *p, pointe_vf v) { memcpy(p, &v, sizeof v); }

/// Lanes of `a` where `mask` is set (all ones), else lanes of `b`: a bit select, exact.
POINTE_INLINE pointe_vf POINTE_NAME(select_)(pointe_vi mask, pointe_vf a, pointe_vf b) {
    return (pointe_vf)(((pointe_vi)a & mask) | ((pointe_vi)b & ~mask));
}

/// a * b + c rounded once (a fused multiply-add), the same bits on every variant: AVX2 and
/// AVX-512 execute it, the baseline gets it from the compiler's fma lowering (libm's correctly
/// rounded fmaf on a CPU without FMA). Written out wherever the code wants one rounding;
/// contraction stays off, so nothing else is ever fused.
POINTE_INLINE pointe_vf POINTE_NAME(fma_)(pointe_vf a, pointe_vf b, pointe_vf c) {
    return __builtin_elementwise_fma(a, b, c);
}

/// e^x for x <= 0 (or NaN, which stays NaN): every caller exponentiates a non-positive number
/// (a score minus its row's maximum, GELU's -x^2/2), so only the lower end of the float range
/// is clamped. x = n ln2 + r (Cody-Waite: ln 2 split in a part exact in float and a small
/// correction), a degree-6 Cephes polynomial for e^r (Horner in FMAs), and 2^n built in the
/// exponent bits. Relative error a few float ulps.
POINTE_INLINE pointe_vf POINTE_NAME(exp_)(pointe_vf x) {
    const pointe_vf lo = POINTE_NAME(splat_)(-87.33654f);
    x = POINTE_NAME(select_)(x < lo, lo, x);
    const pointe_vf magic = POINTE_NAME(splat_)(12582912.0f);  // 1.5 * 2^23
    // Adding magic rounds x*log2e to an integer in the low mantissa bits; subtracting it back
    // gives that integer as a float. The FMA rounds x*log2e + magic once, so n is the integer
    // nearest to x*log2e itself; the subtraction is exact as its own operation (never
    // reassociated into x*log2e: see the pragmas above).
    pointe_vf shifted = POINTE_NAME(fma_)(x, POINTE_NAME(splat_)(1.44269504f), magic);
    pointe_vf n = shifted - magic;
    pointe_vf r = POINTE_NAME(fma_)(n, POINTE_NAME(splat_)(-0.693359375f), x);  // n * C1 is exact
    r = POINTE_NAME(fma_)(n, POINTE_NAME(splat_)(2.12194440e-4f), r);
    pointe_vf p = POINTE_NAME(splat_)(1.9875691500e-4f);
    p = POINTE_NAME(fma_)(p, r, POINTE_NAME(splat_)(1.3981999507e-3f));
    p = POINTE_NAME(fma_)(p, r, POINTE_NAME(splat_)(8.3334519073e-3f));
    p = POINTE_NAME(fma_)(p, r, POINTE_NAME(splat_)(4.1665795894e-2f));
    p = POINTE_NAME(fma_)(p, r, POINTE_NAME(splat_)(1.6666665459e-1f));
    p = POINTE_NAME(fma_)(p, r, POINTE_NAME(splat_)(5.0000001201e-1f));
    pointe_vf y = POINTE_NAME(fma_)(p, r * r, r) + 1.0f;
    pointe_vi bits = (((pointe_vi)shifted - (pointe_vi)magic) + 127) << 23;
    return y * (pointe_vf)bits;
}

/// erf(x), Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7 in exact arithmetic, below 5e-7 in
/// float), odd-symmetric.
POINTE_INLINE pointe_vf POINTE_NAME(erf_)(pointe_vf x) {
    const pointe_vi sign = (pointe_vi)POINTE_NAME(splat_)(-0.0f);
    pointe_vf a = (pointe_vf)((pointe_vi)x & ~sign);
    pointe_vf t = 1.0f / (1.0f + 0.3275911f * a);
    pointe_vf p = POINTE_NAME(splat_)(1.061405429f);
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    pointe_vf y = 1.0f - p * t * POINTE_NAME(exp_)(-a * a);
    return (pointe_vf)((pointe_vi)y | ((pointe_vi)x & sign));  // erf(-x) = -erf(x)
}

POINTE_INLINE pointe_vf POINTE_NAME(gelu_v_)(pointe_vf x) {
    return 0.5f * x * (1.0f + POINTE_NAME(erf_)(x * 0.70710678118654752f));
}

/// The largest of p[0..<n] (n >= 1). Exact whatever the order, so lanes then a scalar pass
/// suffice; NaNs are passed over.
POINTE_INLINE float POINTE_NAME(max_)(const float *p, long n) {
    long whole = n - n % POINTE_LANES;
    pointe_vf m = POINTE_NAME(splat_)(-FLT_MAX);
    for (long i = 0; i < whole; i += POINTE_LANES) {
        pointe_vf v = POINTE_NAME(load_)(p + i);
        m = POINTE_NAME(select_)(v > m, v, m);
    }
    float mx = -FLT_MAX;
    for (int j = 0; j < POINTE_LANES; j++) mx = m[j] > mx ? m[j] : mx;
    for (long i = whole; i < n; i++) mx = p[i] > mx ? p[i] : mx;
    return mx;
}

/// p[i] = exp(p[i] - mx) in place over n floats, mx their maximum; returns the sum of the results.
POINTE_INLINE float POINTE_NAME(exp_shifted_by_sum_)(float *p, long n, float mx) {
    long whole = n - n % POINTE_LANES, rest = n - whole;
    const pointe_vf shift = POINTE_NAME(splat_)(mx);
    pointe_vf acc = POINTE_NAME(splat_)(0.0f);
    for (long i = 0; i < whole; i += POINTE_LANES) {
        pointe_vf e = POINTE_NAME(exp_)(POINTE_NAME(load_)(p + i) - shift);
        POINTE_NAME(store_)(p + i, e);
        acc += e;
    }
    if (rest > 0) {
        // The tail goes through a padded vector (same arithmetic); only its valid lanes count.
        pointe_vf v = shift;
        for (long j = 0; j < rest; j++) v[j] = p[whole + j];
        pointe_vf e = POINTE_NAME(exp_)(v - shift);
        for (long j = 0; j < rest; j++) {
            p[whole + j] = e[j];
            acc[j] += e[j];
        }
    }
    // Lanes added in one fixed tree: 16 -> 8 -> 4 -> 2 -> 1.
    for (int width = POINTE_LANES / 2; width >= 1; width /= 2)
        for (int j = 0; j < width; j++) acc[j] = acc[j] + acc[j + width];
    return acc[0];
}

POINTE_TARGET float POINTE_NAME(pointe_exp_shifted_sum_)(float *p, long n) {
    return POINTE_NAME(exp_shifted_by_sum_)(p, n, POINTE_NAME(max_)(p, n));
}

/// p[i] = f(p[i]) in place over n floats for a vector function f; the tail goes through a
/// zero-padded vector (same arithmetic), only its valid lanes written back.
#define POINTE_MAP_IN_PLACE(p, n, f)                                                    \
    do {                                                                                \
        long whole_ = (n) - (n) % POINTE_LANES, rest_ = (n) - whole_;                   \
        for (long i_ = 0; i_ < whole_; i_ += POINTE_LANES)                              \
            POINTE_NAME(store_)((p) + i_, f(POINTE_NAME(load_)((p) + i_)));              \
        if (rest_ > 0) {                                                                \
            pointe_vf v_ = POINTE_NAME(splat_)(0.0f);                                   \
            for (long j_ = 0; j_ < rest_; j_++) v_[j_] = (p)[whole_ + j_];              \
            pointe_vf y_ = f(v_);                                                       \
            for (long j_ = 0; j_ < rest_; j_++) (p)[whole_ + j_] = y_[j_];              \
        }                                                                               \
    } while (0)

POINTE_TARGET void POINTE_NAME(pointe_gelu_)(float *p, long n) { POINTE_MAP_IN_PLACE(p, n, POINTE_NAME(gelu_v_)); }

/// CLIP's QuickGELU, x sigmoid(1.702 x). With a = 1.702 x and e = exp(-|a|) (exp_'s domain):
/// sigmoid(a) = 1 / (1 + e) for a >= 0 and e / (1 + e) for a < 0, the same function without
/// ever exponentiating a positive number.
POINTE_INLINE pointe_vf POINTE_NAME(quick_gelu_v_)(pointe_vf x) {
    const pointe_vi sign = (pointe_vi)POINTE_NAME(splat_)(-0.0f);
    pointe_vf a = x * 1.702f;
    pointe_vf e = POINTE_NAME(exp_)((pointe_vf)((pointe_vi)a | sign));  // -|a|
    pointe_vf s = 1.0f / (1.0f + e);
    return x * POINTE_NAME(select_)(a < 0.0f, e * s, s);
}

POINTE_TARGET void POINTE_NAME(pointe_quick_gelu_)(float *p, long n) {
    POINTE_MAP_IN_PLACE(p, n, POINTE_NAME(quick_gelu_v_));
}

/// The 16 lanes of a double vector added in one fixed tree: 16 -> 8 -> 4 -> 2 -> 1.
POINTE_INLINE double POINTE_NAME(lane_sum_d_)(pointe_vd acc) {
    for (int width = POINTE_LANES / 2; width >= 1; width /= 2)
        for (int j = 0; j < width; j++) acc[j] = acc[j] + acc[j + width];
    return acc[0];
}

/// PyTorch's LayerNorm over rows of `width` floats: y = (x - mean) / sqrt(var + eps) * w + b,
/// the biased variance. The statistics are two passes in double (the mean, then the squared
/// deviations from it), which keeps them within float rounding of PyTorch's Welford reduction;
/// each pass adds element i into lane i % 16 and then adds the lanes in a fixed tree, so the
/// order of additions is the code's, not the vector width's. The row itself is float:
/// ((x - mean) * inv) * w + b, four roundings, no FMA.
POINTE_TARGET void POINTE_NAME(pointe_layer_norm_)(
    const float *x, float *y, long rows, long width, const float *w, const float *b, float eps) {
    long whole = width - width % POINTE_LANES, rest = width - whole;
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * width;
        float *dst = y + r * width;
        pointe_vd sum = {0};
        for (long i = 0; i < whole; i += POINTE_LANES)
            sum += __builtin_convertvector(POINTE_NAME(load_)(row + i), pointe_vd);
        for (long j = 0; j < rest; j++) sum[j] += (double)row[whole + j];
        double mean = POINTE_NAME(lane_sum_d_)(sum) / (double)width;

        pointe_vd sq = {0};
        const pointe_vd shift = sq + mean;
        for (long i = 0; i < whole; i += POINTE_LANES) {
            pointe_vd d = __builtin_convertvector(POINTE_NAME(load_)(row + i), pointe_vd) - shift;
            sq += d * d;
        }
        for (long j = 0; j < rest; j++) {
            double d = (double)row[whole + j] - mean;
            sq[j] += d * d;
        }
        double variance = POINTE_NAME(lane_sum_d_)(sq) / (double)width;
        const float inv = (float)(1.0 / __builtin_sqrt(variance + (double)eps));
        const float m = (float)mean;

        for (long i = 0; i < whole; i += POINTE_LANES) {
            pointe_vf v = (POINTE_NAME(load_)(row + i) - m) * inv;
            POINTE_NAME(store_)(dst + i, v * POINTE_NAME(load_)(w + i) + POINTE_NAME(load_)(b + i));
        }
        for (long i = whole; i < width; i++) dst[i] = (row[i] - m) * inv * w[i] + b[i];
    }
}

#include "attention_body.h"

#undef POINTE_INLINE
