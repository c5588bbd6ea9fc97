// OpenBLAS's CBLAS interface (Debian: libopenblas-dev puts cblas.h on the multiarch include path).
#include <cblas.h>
// Thread control, declared by OpenBLAS's cblas.h; repeated here so the module documents what we use.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
