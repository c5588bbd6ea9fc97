#define _GNU_SOURCE
#include <sched.h>
#include "pointe_affinity.h"

int pointe_affinity_get(int tid, unsigned char *mask, size_t bytes) {
    return sched_getaffinity(tid, bytes, (cpu_set_t *)mask);
}

int pointe_affinity_set(int tid, const unsigned char *mask, size_t bytes) {
    return sched_setaffinity(tid, bytes, (const cpu_set_t *)mask);
}
