// libzmq's C API (Debian: libzmq3-dev). Used by PointECluster's transport only.
#include <zmq.h>
