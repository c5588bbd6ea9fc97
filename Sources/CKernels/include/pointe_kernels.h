#ifndef POINTE_KERNELS_H
#define POINTE_KERNELS_H

/// The hot loops (element-wise passes and fused attention), compiled once per instruction set.
/// Every variant computes the same IEEE operations in the same order on 16-float lanes, so all
/// of them give bit-identical results (see kernel_body.h); they differ only in how many lanes
/// one instruction covers.
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

/// PyTorch LayerNorm over `rows` rows of `width` floats (x and y may be the same buffer; w and b
/// hold `width` floats): statistics in double, see kernel_body.h.
void pointe_layer_norm_variant(int variant, const float *x, float *y, long rows, long width, const float *w,
                               const float *b, float eps);

/// Attention for one head (see attention_body.h). Keys and values are packed once per head:
/// `keys` rows of `headDim` floats, `kStride`/`vStride` floats apart, into buffers of
/// pointe_attention_packed_keys_floats / _values_floats floats.
void pointe_attention_pack_keys(const float *k, long kStride, long keys, long headDim, float *packed);
void pointe_attention_pack_values(const float *v, long vStride, long keys, long headDim, float *packed);
long pointe_attention_packed_keys_floats(long keys, long headDim);
long pointe_attention_packed_values_floats(long keys, long headDim);

/// out[r][c] = sum_j softmax_j(scale * q[r] . k[j]) v[j][c] for `rows` query rows (qStride and
/// outStride floats apart) of one head, with `scratch` of pointe_attention_scratch_floats floats;
/// row r attends to the first min(keys, visible + r) keys (visible = keys: all; a causal mask:
/// the block's first row's position + 1). Each output depends only on its own query row, the keys
/// it sees and their values: not on `rows`, the tile sizes or the variant. keys, visible >= 1.
void pointe_attention_block(const float *q, long qStride, long rows, const float *packedKeys, const float *packedValues,
                            long keys, long visible, long headDim, float scale, float *scratch, float *out,
                            long outStride);
long pointe_attention_scratch_floats(long rows, long keys, long headDim);

/// The same kernels in one given variant (which must be supported), for tests and benchmarks.
float pointe_exp_shifted_sum_variant(int variant, float *p, long n);
void pointe_gelu_variant(int variant, float *p, long n);
/// CLIP's QuickGELU in place over n floats: x sigmoid(1.702 x).
void pointe_quick_gelu_variant(int variant, float *p, long n);
void pointe_attention_pack_keys_variant(int variant, const float *k, long kStride, long keys, long headDim, float *packed);
void pointe_attention_pack_values_variant(int variant, const float *v, long vStride, long keys, long headDim, float *packed);
/// Query rows the variant's attention tiles take at once: blocks of a multiple of it run fastest.
long pointe_attention_tile_rows_variant(int variant);
void pointe_attention_block_variant(int variant, const float *q, long qStride, long rows, const float *packedKeys,
                                    const float *packedValues, long keys, long visible, long headDim, float scale,
                                    float *scratch, float *out, long outStride);

#endif
