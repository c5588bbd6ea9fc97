import Foundation

/// A value behind a lock, for the few settings and counters shared between threads (the
/// thread count, a loop's next iteration, the log format, the latest metrics page).
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
