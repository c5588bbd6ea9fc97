#ifndef POINTE_KERNELS_H
#define POINTE_KERNELS_H

/// exp(p[i] - max(p)) in place over n finite floats; returns the sum of the results.
/// (The softmax numerator of one attention row; the caller divides.) n must be >= 1.
float pointe_exp_shifted_sum(float *p, long n);

/// Exact (erf) GELU in place over n floats: 0.5 x (1 + erf(x / sqrt 2)).
void pointe_gelu(float *p, long n);

/// Which instruction set the dispatcher picked for this CPU ("avx512f", "avx2" or "baseline").
const char *pointe_kernels_isa(void);

#endif
