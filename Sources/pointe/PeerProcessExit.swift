import Foundation
import PointECluster

/// Ends a worker or mesher process once its session is over.
///
/// A peer stopped by a signal returns while its compute thread is still inside a shard or a
/// mesh (the work was handed back, nobody waits for it). A normal exit would run the
/// libraries' destructors under that thread: OpenBLAS frees its buffers mid-product and the
/// process dies with SIGSEGV instead of exiting 0. `_exit` skips the destructors; the session
/// has already closed its sockets and standard streams are flushed here.
func endPeerProcess(_ exit: PeerSession.Exit, log: ClusterLog) -> Never {
    log.info("exiting: \(exit)")
    fflush(nil)
    _exit(exit == .coordinatorLost ? 3 : 0)
}
