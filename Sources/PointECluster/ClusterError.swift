import Foundation

/// An error of the cluster layer; the message names the peer, file or input at fault.
public struct ClusterError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One line to standard error, prefixed by the role, so interleaved process logs stay readable.
public struct ClusterLog: Sendable {
    public let role: String
    public var quiet: Bool
    public init(role: String, quiet: Bool = false) {
        self.role = role
        self.quiet = quiet
    }

    public func info(_ message: String) {
        if !quiet { FileHandle.standardError.write(Data("[\(role)] \(message)\n".utf8)) }
    }

    public func warning(_ message: String) {
        FileHandle.standardError.write(Data("[\(role)] warning: \(message)\n".utf8))
    }
}

/// Milliseconds on a monotonic clock (timeouts, rates).
public func monotonicMilliseconds() -> UInt64 {
    DispatchTime.now().uptimeNanoseconds / 1_000_000
}
