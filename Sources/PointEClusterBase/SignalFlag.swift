import Dispatch
import Foundation

/// Turns SIGTERM/SIGINT into a flag the poll loops check, so a process stops between messages
/// (a worker hands its shard back) instead of dying mid-write.
public final class SignalFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised: Int32?
    private var sources: [DispatchSourceSignal] = []

    public init(signals: [Int32] = [SIGTERM, SIGINT]) {
        for number in signals {
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.raise(number) }
            source.resume()
            sources.append(source)
        }
    }

    public func raise(_ number: Int32) {
        lock.lock()
        if raised == nil { raised = number }
        lock.unlock()
    }

    public var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return raised
    }

    public var isRaised: Bool { signal != nil }
}
