import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PointETensor

/// An exclusive advisory lock on a lock file (flock), held until `unlock()` or deinit.
/// Processes of one host that share the model cache serialise on it, so eight workers
/// starting together fetch each file once.
public final class FileLock {
    public let path: String
    private var fd: Int32

    /// Blocks until the lock is ours.
    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw EngineError("cannot open lock file \(path): \(systemErrorText())") }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let message = systemErrorText()
            close(fd)
            throw EngineError("cannot lock \(path): \(message)")
        }
    }

    public func unlock() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { unlock() }
}
