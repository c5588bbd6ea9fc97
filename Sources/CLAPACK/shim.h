// LAPACK routines from OpenBLAS (Debian's libopenblas-dev ships LAPACK inside libopenblas but no
// lapacke.h), declared with the Fortran calling convention: every argument by pointer, and one
// hidden length argument per CHARACTER argument appended at the end (gfortran ABI).
#include <stddef.h>

// Symmetric eigendecomposition: eigenvalues ascending in w, eigenvectors (jobz 'V') in the
// columns of a (column-major).
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info, size_t jobz_len, size_t uplo_len);
