// Which variant runs: the best one the CPU supports unless someone (PointETensor's
// KernelVariant, from POINTE_KERNELS or a test) sets another. One atomic int for the process.
#include "pointe_kernels.h"

#include <stdatomic.h>

float pointe_exp_shifted_sum_baseline(float *p, long n);
void pointe_gelu_baseline(float *p, long n);
void pointe_quick_gelu_baseline(float *p, long n);
long pointe_attention_tile_rows_baseline(void);
void pointe_layer_norm_baseline(const float *x, float *y, long rows, long width, const float *w, const float *b, float eps);
void pointe_attention_pack_keys_baseline(const float *k, long kStride, long keys, long headDim, float *packed);
void pointe_attention_pack_values_baseline(const float *v, long vStride, long keys, long headDim, float *packed);
void pointe_attention_block_baseline(const float *q, long qStride, long rows, const float *packedKeys,
                                  const float *packedValues, long keys, long visible, long headDim, float scale,
                                  float *scratch, float *out, long outStride);
#if defined(__x86_64__)
float pointe_exp_shifted_sum_avx2(float *p, long n);
void pointe_gelu_avx2(float *p, long n);
void pointe_quick_gelu_avx2(float *p, long n);
long pointe_attention_tile_rows_avx2(void);
void pointe_layer_norm_avx2(const float *x, float *y, long rows, long width, const float *w, const float *b, float eps);
void pointe_attention_pack_keys_avx2(const float *k, long kStride, long keys, long headDim, float *packed);
void pointe_attention_pack_values_avx2(const float *v, long vStride, long keys, long headDim, float *packed);
void pointe_attention_block_avx2(const float *q, long qStride, long rows, const float *packedKeys,
                                  const float *packedValues, long keys, long visible, long headDim, float scale,
                                  float *scratch, float *out, long outStride);
float pointe_exp_shifted_sum_avx512(float *p, long n);
void pointe_gelu_avx512(float *p, long n);
void pointe_quick_gelu_avx512(float *p, long n);
long pointe_attention_tile_rows_avx512(void);
void pointe_layer_norm_avx512(const float *x, float *y, long rows, long width, const float *w, const float *b, float eps);
void pointe_attention_pack_keys_avx512(const float *k, long kStride, long keys, long headDim, float *packed);
void pointe_attention_pack_values_avx512(const float *v, long vStride, long keys, long headDim, float *packed);
void pointe_attention_block_avx512(const float *q, long qStride, long rows, const float *packedKeys,
                                  const float *packedValues, long keys, long visible, long headDim, float scale,
                                  float *scratch, float *out, long outStride);
#endif

int pointe_kernels_supported(int variant) {
    switch (variant) {
    case POINTE_KERNELS_BASELINE: return 1;
#if defined(__x86_64__)
    case POINTE_KERNELS_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    case POINTE_KERNELS_AVX512: __builtin_cpu_init(); return __builtin_cpu_supports("avx512f") ? 1 : 0;
#endif
    default: return 0;
    }
}

static int best_variant(void) {
    if (pointe_kernels_supported(POINTE_KERNELS_AVX512)) return POINTE_KERNELS_AVX512;
    if (pointe_kernels_supported(POINTE_KERNELS_AVX2)) return POINTE_KERNELS_AVX2;
    return POINTE_KERNELS_BASELINE;
}

static _Atomic int active_variant = -1;  // -1: not chosen yet (the best one on first use)

int pointe_kernels_active(void) {
    int v = atomic_load_explicit(&active_variant, memory_order_relaxed);
    if (v < 0) {
        int expected = -1;
        atomic_compare_exchange_strong(&active_variant, &expected, best_variant());
        v = atomic_load_explicit(&active_variant, memory_order_relaxed);
    }
    return v;
}

int pointe_kernels_set_active(int variant) {
    if (!pointe_kernels_supported(variant)) return -1;
    atomic_store_explicit(&active_variant, variant, memory_order_relaxed);
    return 0;
}

float pointe_exp_shifted_sum_variant(int variant, float *p, long n) {
    switch (variant) {
#if defined(__x86_64__)
    case POINTE_KERNELS_AVX512: return pointe_exp_shifted_sum_avx512(p, n);
    case POINTE_KERNELS_AVX2: return pointe_exp_shifted_sum_avx2(p, n);
#endif
    default: return pointe_exp_shifted_sum_baseline(p, n);
    }
}

void pointe_gelu_variant(int variant, float *p, long n) {
    switch (variant) {
#if defined(__x86_64__)
    case POINTE_KERNELS_AVX512: pointe_gelu_avx512(p, n); return;
    case POINTE_KERNELS_AVX2: pointe_gelu_avx2(p, n); return;
#endif
    default: pointe_gelu_baseline(p, n); return;
    }
}

// One variant's function for each kernel, by variant number (the baseline for anything else).
#if defined(__x86_64__)
#define POINTE_PICK(variant, name) \
    ((variant) == POINTE_KERNELS_AVX512 ? name##_avx512 : (variant) == POINTE_KERNELS_AVX2 ? name##_avx2 : name##_baseline)
#else
#define POINTE_PICK(variant, name) ((void)(variant), name##_baseline)
#endif

void pointe_layer_norm_variant(int variant, const float *x, float *y, long rows, long width, const float *w,
                               const float *b, float eps) {
    POINTE_PICK(variant, pointe_layer_norm)(x, y, rows, width, w, b, eps);
}

void pointe_attention_pack_keys_variant(int variant, const float *k, long kStride, long keys, long headDim, float *packed) {
    POINTE_PICK(variant, pointe_attention_pack_keys)(k, kStride, keys, headDim, packed);
}

void pointe_attention_pack_values_variant(int variant, const float *v, long vStride, long keys, long headDim, float *packed) {
    POINTE_PICK(variant, pointe_attention_pack_values)(v, vStride, keys, headDim, packed);
}

void pointe_quick_gelu_variant(int variant, float *p, long n) { POINTE_PICK(variant, pointe_quick_gelu)(p, n); }

long pointe_attention_tile_rows_variant(int variant) { return POINTE_PICK(variant, pointe_attention_tile_rows)(); }

void pointe_attention_block_variant(int variant, const float *q, long qStride, long rows, const float *packedKeys,
                                    const float *packedValues, long keys, long visible, long headDim, float scale,
                                    float *scratch, float *out, long outStride) {
    POINTE_PICK(variant, pointe_attention_block)(q, qStride, rows, packedKeys, packedValues, keys, visible, headDim,
                                                 scale, scratch, out, outStride);
}

long pointe_attention_packed_keys_floats(long keys, long headDim) { return (keys + 15) / 16 * 16 * headDim; }

long pointe_attention_packed_values_floats(long keys, long headDim) { return keys * ((headDim + 15) / 16 * 16); }

long pointe_attention_scratch_floats(long rows, long keys, long headDim) {
    return rows * ((keys + 15) / 16 * 16) + rows * ((headDim + 15) / 16 * 16) + rows + rows * 16;
}

float pointe_exp_shifted_sum(float *p, long n) { return pointe_exp_shifted_sum_variant(pointe_kernels_active(), p, n); }

void pointe_gelu(float *p, long n) { pointe_gelu_variant(pointe_kernels_active(), p, n); }

void pointe_attention_pack_keys(const float *k, long kStride, long keys, long headDim, float *packed) {
    pointe_attention_pack_keys_variant(pointe_kernels_active(), k, kStride, keys, headDim, packed);
}

void pointe_attention_pack_values(const float *v, long vStride, long keys, long headDim, float *packed) {
    pointe_attention_pack_values_variant(pointe_kernels_active(), v, vStride, keys, headDim, packed);
}

void pointe_attention_block(const float *q, long qStride, long rows, const float *packedKeys, const float *packedValues,
                            long keys, long visible, long headDim, float scale, float *scratch, float *out,
                            long outStride) {
    pointe_attention_block_variant(pointe_kernels_active(), q, qStride, rows, packedKeys, packedValues, keys, visible,
                                   headDim, scale, scratch, out, outStride);
}
