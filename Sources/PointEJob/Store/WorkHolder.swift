import Foundation

/// The connection a piece of work went to: the peer's routing identity and, with CURVE, the
/// key it said hello with (another allowed key taking over the identity is not the holder). Recorded with each
/// shard attempt, so only its holder may deliver it, even after a coordinator restart.
public struct WorkHolder: Hashable, Sendable {
    public var identity: Data
    public var curveKey: String?
    public init(identity: Data, curveKey: String?) {
        self.identity = identity
        self.curveKey = curveKey
    }
}
