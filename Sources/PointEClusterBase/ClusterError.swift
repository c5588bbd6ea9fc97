import Foundation

/// An error of the cluster layer; the message names the peer, file or input at fault.
public struct ClusterError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Milliseconds on a monotonic clock (timeouts, rates).
public func monotonicMilliseconds() -> UInt64 {
    DispatchTime.now().uptimeNanoseconds / 1_000_000
}
