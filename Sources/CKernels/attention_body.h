// One attention head over a block of query rows, fused: scores, softmax and the value product
// run on a block whose scores stay in cache, against keys and values packed once per head.
// Included by kernel_body.h (same vectors, same pragmas: contraction and reassociation off).
//
// Why this is not two sgemm calls: with head width 64 the score product has K = 64 and the
// value product N = 64, shapes where a general GEMM spends its time packing its operands
// (again on every call) and writing a score block that does not fit in cache. Here keys and
// values are packed once per head and reused by every query block of that head.
//
// Why the numbers do not depend on the instruction set (nor on tile sizes or thread count):
// every score is sum_d q[d] k[d] accumulated in d order with one fused multiply-add per term,
// every output is sum_j p[j] v[j] accumulated in j order the same way. An FMA rounds once on
// every ISA: AVX2 and AVX-512 execute it, the baseline variant gets the same correctly rounded
// result from the compiler's fma lowering (libm's fmaf where the CPU has no FMA). Tiles only
// choose which outputs are computed together, never the order of one output's additions.

/// Rows ahead that the packers ask the cache for. A head's keys and values are every
/// (3 x width)-th float of a projection that sgemm has just written (12.6 MB for base40M-textvec
/// at batch 2, so mostly in L3): each row sits in its own 4 KiB page, where the hardware
/// prefetchers do not follow, and every row was a demand miss. Asking 16 rows ahead packed a
/// head of 4,097 keys in 0.75 ms instead of 1.31 (one core, medians of 5 interleaved runs;
/// distances 4, 8 and 32 were slower). A prefetch never changes a value.
#define POINTE_PACK_PREFETCH_ROWS 16
/// Every 64-byte cache line (16 floats) of row[0..<length].
POINTE_INLINE void POINTE_NAME(prefetch_row_)(const float *row, long length) {
    for (long i = 0; i < length; i += 16) __builtin_prefetch(row + i, 0, 3);
}

/// Keys of one head packed for the score tiles: 16 keys per panel, panel-major then d-major,
/// `packed[(key / 16) * headDim * 16 + d * 16 + key % 16]`, keys padded with zeros to a
/// multiple of 16.
POINTE_TARGET void POINTE_NAME(pointe_attention_pack_keys_)(
    const float *k, long kStride, long keys, long headDim, float *packed) {
    long panels = (keys + POINTE_LANES - 1) / POINTE_LANES;
    for (long p = 0; p < panels; p++) {
        float *panel = packed + p * headDim * POINTE_LANES;
        for (long lane = 0; lane < POINTE_LANES; lane++) {
            long key = p * POINTE_LANES + lane;
            if (key < keys) {
                const float *row = k + key * kStride;
                if (key + POINTE_PACK_PREFETCH_ROWS < keys)
                    POINTE_NAME(prefetch_row_)(row + POINTE_PACK_PREFETCH_ROWS * kStride, headDim);
                for (long d = 0; d < headDim; d++) panel[d * POINTE_LANES + lane] = row[d];
            } else {
                for (long d = 0; d < headDim; d++) panel[d * POINTE_LANES + lane] = 0.0f;
            }
        }
    }
}

/// Values of one head, one row per key, padded with zeros to a multiple of 16 floats.
POINTE_TARGET void POINTE_NAME(pointe_attention_pack_values_)(
    const float *v, long vStride, long keys, long headDim, float *packed) {
    long width = (headDim + POINTE_LANES - 1) / POINTE_LANES * POINTE_LANES;
    for (long j = 0; j < keys; j++) {
        if (j + POINTE_PACK_PREFETCH_ROWS < keys)
            POINTE_NAME(prefetch_row_)(v + (j + POINTE_PACK_PREFETCH_ROWS) * vStride, headDim);
        memcpy(packed + j * width, v + j * vStride, (size_t)headDim * sizeof(float));
        for (long c = headDim; c < width; c++) packed[j * width + c] = 0.0f;
    }
}

/// scores[r][16 * (p0 + v) + lane] for R query rows and V key panels starting at panel p0, and
/// each row's running maximum, lane by lane (rowMax[r * 16 + lane]), over the first `counted`
/// panels (a panel with padded keys is left out: its zeros are not scores).
POINTE_INLINE void POINTE_NAME(score_tile_)(
    const int R, const int V, const float *q, long qStride, const float *keyPanels, long headDim,
    float scale, float *scores, long scoreStride, float *rowMax, int counted) {
    pointe_vf acc[POINTE_SCORE_ROWS][POINTE_SCORE_PANELS];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) acc[r][v] = POINTE_NAME(splat_)(0.0f);
    for (long d = 0; d < headDim; d++) {
        pointe_vf kv[POINTE_SCORE_PANELS];
        for (int v = 0; v < V; v++) kv[v] = POINTE_NAME(load_)(keyPanels + (v * headDim + d) * POINTE_LANES);
        for (int r = 0; r < R; r++) {
            pointe_vf qd = POINTE_NAME(splat_)(q[r * qStride + d]);
            for (int v = 0; v < V; v++) acc[r][v] = POINTE_NAME(fma_)(qd, kv[v], acc[r][v]);
        }
    }
    // The scale multiplies the finished dot product, as sgemm's alpha did before. The maximum
    // is taken here, while the scores are in registers, instead of in a pass of its own.
    for (int r = 0; r < R; r++) {
        pointe_vf m = POINTE_NAME(load_)(rowMax + r * POINTE_LANES);
        for (int v = 0; v < V; v++) {
            pointe_vf s = acc[r][v] * scale;
            POINTE_NAME(store_)(scores + r * scoreStride + v * POINTE_LANES, s);
            if (v < counted) m = POINTE_NAME(select_)(s > m, s, m);
        }
        POINTE_NAME(store_)(rowMax + r * POINTE_LANES, m);
    }
}

/// acc[r][16 * (c0 + v) + lane] += sum over keys j0..<j1 of p[r][j] * values[j][...], for R
/// rows and V 16-float column groups; `acc` holds the running sums between key chunks.
POINTE_INLINE void POINTE_NAME(value_tile_)(
    const int R, const int V, const float *p, long pStride, const float *values, long width,
    long j0, long j1, float *acc, long accStride) {
    pointe_vf a[POINTE_VALUE_ROWS][POINTE_VALUE_GROUPS];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) a[r][v] = POINTE_NAME(load_)(acc + r * accStride + v * POINTE_LANES);
    for (long j = j0; j < j1; j++) {
        pointe_vf vv[POINTE_VALUE_GROUPS];
        for (int v = 0; v < V; v++) vv[v] = POINTE_NAME(load_)(values + j * width + v * POINTE_LANES);
        for (int r = 0; r < R; r++) {
            pointe_vf pj = POINTE_NAME(splat_)(p[r * pStride + j]);
            for (int v = 0; v < V; v++) a[r][v] = POINTE_NAME(fma_)(pj, vv[v], a[r][v]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) POINTE_NAME(store_)(acc + r * accStride + v * POINTE_LANES, a[r][v]);
}

/// The tiles with their row count and panel (or column group) count as compile-time constants
/// for every count up to the variant's, so that a block's last rows and a chunk's last panel
/// keep their accumulators in registers too, where one-row tiles were one chain of dependent
/// FMAs per row: at 1,026 and 1,281 keys (65 and 81 panels: the last chunk is one panel; 6 and 21
/// rows in the last 60-row block) one core's attention per head was 1-5% faster over four
/// interleaved rounds, outputs bit-identical. A score or a value sum is the same FMAs in the same
/// order in any tile, so the tile sizes never change a bit.
#if POINTE_SCORE_ROWS > 12 || POINTE_VALUE_ROWS > 12
#error "POINTE_ROW_CASES below goes up to 12 rows"
#endif
#define POINTE_ROW_CASES(CASE) \
    CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10) CASE(11) CASE(12)
// A row count above the variant's never comes (tiles are cut at its rows); such a case is
// compiled with one row so that it stays in the accumulator arrays' bounds.
#define POINTE_SCORE_CASE(n)                                                                           \
    case n: {                                                                                          \
        enum { rows = n <= POINTE_SCORE_ROWS ? n : 1 };                                                \
        if (V == POINTE_SCORE_PANELS)                                                                  \
            POINTE_NAME(score_tile_)(rows, POINTE_SCORE_PANELS, q, qStride, keyPanels, headDim, scale, scores, \
                                     scoreStride, rowMax, counted);                                    \
        else                                                                                           \
            POINTE_NAME(score_tile_)(rows, 1, q, qStride, keyPanels, headDim, scale, scores, scoreStride, \
                                     rowMax, counted);                                                 \
        break;                                                                                         \
    }
#define POINTE_VALUE_CASE(n)                                                                           \
    case n: {                                                                                          \
        enum { rows = n <= POINTE_VALUE_ROWS ? n : 1 };                                                \
        if (V == POINTE_VALUE_GROUPS)                                                                  \
            POINTE_NAME(value_tile_)(rows, POINTE_VALUE_GROUPS, p, pStride, values, width, j0, j1, acc, accStride); \
        else                                                                                           \
            POINTE_NAME(value_tile_)(rows, 1, p, pStride, values, width, j0, j1, acc, accStride);    \
        break;                                                                                         \
    }
/// score_tile_ for R <= POINTE_SCORE_ROWS rows and V = POINTE_SCORE_PANELS or 1 panels.
POINTE_INLINE void POINTE_NAME(score_tile_rows_)(
    int R, int V, const float *q, long qStride, const float *keyPanels, long headDim, float scale,
    float *scores, long scoreStride, float *rowMax, int counted) {
    switch (R) { POINTE_ROW_CASES(POINTE_SCORE_CASE) }
}
/// value_tile_ for R <= POINTE_VALUE_ROWS rows and V = POINTE_VALUE_GROUPS or 1 column groups.
POINTE_INLINE void POINTE_NAME(value_tile_rows_)(
    int R, int V, const float *p, long pStride, const float *values, long width, long j0, long j1,
    float *acc, long accStride) {
    switch (R) { POINTE_ROW_CASES(POINTE_VALUE_CASE) }
}
#undef POINTE_VALUE_CASE
#undef POINTE_SCORE_CASE
#undef POINTE_ROW_CASES

/// Key panels per chunk of the score product and keys per chunk of the value product: a
/// chunk's packed keys or values (at head width 64: 16 KiB) stay in L1 while every row tile of
/// the block passes over them.
#ifndef POINTE_SCORE_CHUNK
#define POINTE_SCORE_CHUNK 4
#endif
#ifndef POINTE_VALUE_CHUNK
#define POINTE_VALUE_CHUNK 64
#endif

/// Query rows the score and value tiles take at once (the least common multiple of their row
/// counts): a block of a multiple of this many rows never falls back to smaller tiles, which
/// run at a fraction of the rate (on AVX2, 64-row blocks of 6-row tiles left 4 rows over).
POINTE_TARGET long POINTE_NAME(pointe_attention_tile_rows_)(void) {
    long a = POINTE_SCORE_ROWS, b = POINTE_VALUE_ROWS;
    while (b != 0) {
        long t = a % b;
        a = b;
        b = t;
    }
    return POINTE_SCORE_ROWS / a * POINTE_VALUE_ROWS;
}

/// out[r][c] = sum_{j < n_r} softmax_j(scale * q[r] . k[j]) v[j][c] for `rows` query rows of one
/// head, where row r sees the first n_r = min(keys, visible + r) keys: visible = keys for
/// attention over all keys, the first row's position + 1 for a causal mask (CLIP's text tower).
/// `scratch` holds rows * (keys rounded up to 16) + rows * (headDim rounded up to 16) + rows * 17
/// floats (pointe_attention_scratch_floats): scores, value sums, each row's inverse sum and its
/// 16 lane maxima.
POINTE_TARGET void POINTE_NAME(pointe_attention_block_)(
    const float *q, long qStride, long rows, const float *packedKeys, const float *packedValues,
    long keys, long visible, long headDim, float scale, float *scratch, float *out, long outStride) {
    // Keys the block's last row sees; keys after them are not scored at all.
    long seen = visible + rows - 1 < keys ? visible + rows - 1 : keys;
    long panels = (seen + POINTE_LANES - 1) / POINTE_LANES;
    long scoreStride = panels * POINTE_LANES;
    long width = (headDim + POINTE_LANES - 1) / POINTE_LANES * POINTE_LANES;
    long groups = width / POINTE_LANES;
    // Panels that every row of the block sees whole (no padded key, no masked key): only
    // these go into the lane maxima the score tiles keep.
    long fullPanels = (visible < keys ? visible : keys) / POINTE_LANES;
    float *scores = scratch, *acc = scratch + rows * scoreStride, *inverse = acc + rows * width;
    float *rowMax = inverse + rows;  // rows x 16 lanes
    for (long i = 0; i < rows * POINTE_LANES; i++) rowMax[i] = -FLT_MAX;

    // Scores, a chunk of key panels at a time (the chunk's packed keys stay in L1 while every
    // row tile of the block passes over them); padded keys score 0 and, like masked ones, are
    // left out below.
    for (long p0 = 0; p0 < panels; p0 += POINTE_SCORE_CHUNK) {
        long p1 = p0 + POINTE_SCORE_CHUNK < panels ? p0 + POINTE_SCORE_CHUNK : panels;
        for (long r0 = 0; r0 < rows; r0 += POINTE_SCORE_ROWS) {
            long tileRows = rows - r0 < POINTE_SCORE_ROWS ? rows - r0 : POINTE_SCORE_ROWS;
            for (long p = p0; p < p1; ) {
                const float *keyPanels = packedKeys + p * headDim * POINTE_LANES;
                long counted = fullPanels - p;  // of the tile's panels, those without padding
                int tilePanels = p + POINTE_SCORE_PANELS <= p1 ? POINTE_SCORE_PANELS : 1;
                POINTE_NAME(score_tile_rows_)((int)tileRows, tilePanels, q + r0 * qStride, qStride, keyPanels, headDim,
                                              scale, scores + r0 * scoreStride + p * POINTE_LANES, scoreStride,
                                              rowMax + r0 * POINTE_LANES, (int)(counted < 0 ? 0 : counted));
                p += tilePanels;
            }
        }
    }

    // Softmax numerators in place (exp of score minus the row's max) and each row's sum. The
    // max: the lanes the score tiles kept, then the row's keys after those panels (a maximum is
    // exact in any order, so this is the same number as one pass over the row). Keys a row does
    // not see weigh exactly 0 in the value sums (an FMA adding 0 * v leaves the sum's bits).
    for (long r = 0; r < rows; r++) {
        float *row = scores + r * scoreStride;
        long n = visible + r < seen ? visible + r : seen;
        float mx = POINTE_NAME(max_)(rowMax + r * POINTE_LANES, POINTE_LANES);
        long counted = fullPanels * POINTE_LANES;
        if (counted < n) {
            float tail = POINTE_NAME(max_)(row + counted, n - counted);
            mx = tail > mx ? tail : mx;
        }
        inverse[r] = 1.0f / POINTE_NAME(exp_shifted_by_sum_)(row, n, mx);
        for (long j = n; j < seen; j++) row[j] = 0.0f;
    }

    // Unnormalised numerators times values, a chunk of keys at a time; then each output row
    // divided by its sum (headDim divisions per row instead of a pass over all scores).
    memset(acc, 0, (size_t)(rows * width) * sizeof(float));
    for (long j0 = 0; j0 < seen; j0 += POINTE_VALUE_CHUNK) {
        long j1 = j0 + POINTE_VALUE_CHUNK < seen ? j0 + POINTE_VALUE_CHUNK : seen;
        for (long r0 = 0; r0 < rows; r0 += POINTE_VALUE_ROWS) {
            long tileRows = rows - r0 < POINTE_VALUE_ROWS ? rows - r0 : POINTE_VALUE_ROWS;
            for (long g = 0; g < groups; ) {
                int tileGroups = g + POINTE_VALUE_GROUPS <= groups ? POINTE_VALUE_GROUPS : 1;
                POINTE_NAME(value_tile_rows_)((int)tileRows, tileGroups, scores + r0 * scoreStride, scoreStride,
                                              packedValues + g * POINTE_LANES, width, j0, j1,
                                              acc + r0 * width + g * POINTE_LANES, width);
                g += tileGroups;
            }
        }
    }
    for (long r = 0; r < rows; r++) {
        float *o = out + r * outStride;
        const float *a = acc + r * width;
        for (long c = 0; c < headDim; c++) o[c] = a[c] * inverse[r];
    }
}
