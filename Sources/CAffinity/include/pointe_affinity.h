#ifndef POINTE_AFFINITY_H
#define POINTE_AFFINITY_H

#include <stddef.h>

/// Linux CPU affinity for one thread, through a plain byte mask (bit c of byte c / 8 is CPU c),
/// because glibc declares sched_getaffinity/sched_setaffinity only under _GNU_SOURCE, which
/// Swift's Glibc module is not built with. `tid` 0 is the calling thread. Both return 0, or -1
/// with errno set (EINVAL: the mask is too small for the kernel's CPU count, or names no
/// allowed CPU; ESRCH: no such thread).
int pointe_affinity_get(int tid, unsigned char *mask, size_t bytes);
int pointe_affinity_set(int tid, const unsigned char *mask, size_t bytes);

#endif
