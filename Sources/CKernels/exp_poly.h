// The exponential shared by the kernels: Cody-Waite range reduction, degree-6 Cephes
// polynomial, 2^n built in the exponent bits (as VectorMath.exp in PointETensor).
#ifndef POINTE_EXP_POLY_H
#define POINTE_EXP_POLY_H

#include <stdint.h>
#include <string.h>

static inline float pointe_exp_poly(float x) {
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

#endif
