import Foundation
import PointECluster
import PointEClusterBase

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
    _exit(exit == .coordinatorLost ? PeerExitStatus.coordinatorLost.rawValue : PeerExitStatus.finished.rawValue)
}

/// Loads what a peer needs before it says hello; a failure ends the process with
/// `PeerExitStatus.cannotLoadModels` and the error (its launcher then knows a restart cannot help).
func loadOrExit(_ what: String, _ load: () throws -> Void) {
    do { try load() } catch {
        printError("\(what): cannot load its models: \(error)")
        fflush(nil)
        _exit(PeerExitStatus.cannotLoadModels.rawValue)
    }
}
