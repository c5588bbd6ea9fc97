// zlib (Debian: zlib1g-dev): inflate for deflate-compressed zip entries (npz) and gzip (CLIP's BPE vocab).
#include <zlib.h>
