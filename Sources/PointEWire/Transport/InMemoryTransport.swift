import Foundation
import PointEClusterBase

/// A coordinator's transport without a socket, in the manner of swift-nio's EmbeddedChannel:
/// peers are identities a test connects, their messages go through the same encoding and
/// checks as on the wire (`WireProtocol.encode` then `decode`), and what the coordinator sends
/// queues here for the test to read. Sending to an identity that is not connected fails, as
/// the ROUTER socket's mandatory routing does for a vanished peer.
///
/// Thread-safe: the coordinator may serve on one thread while peers run on others.
public final class InMemoryTransport: CoordinatorTransport, @unchecked Sendable {
    public let address: String
    private let condition = NSCondition()
    /// Messages to the coordinator, oldest first.
    private var inbound = FIFOQueue<(peer: Data, body: MessageBody, origin: PeerOrigin)>()
    private var outbound: [(peer: Data, body: MessageBody)] = []
    private var connected: Set<Data> = []
    private var droppedCount = 0
    private var refusedKeys: [String: UInt64] = [:]
    private var closed = false

    public init(address: String = "inproc://pointe-in-memory") { self.address = address }

    public var dropped: Int { condition.withLock { droppedCount } }

    // MARK: the coordinator's side

    public func receive(timeoutMs: Int) throws -> (peer: Data, body: MessageBody, origin: PeerOrigin)? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(Double(max(timeoutMs, 0)) / 1000)
        while inbound.isEmpty {
            guard timeoutMs > 0, !closed, condition.wait(until: deadline) else { break }
        }
        return inbound.popFirst()
    }

    @discardableResult
    public func send(_ body: MessageBody, to peer: Data) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard connected.contains(peer), !closed else { return false }
        outbound.append((peer, body))
        condition.broadcast()
        return true
    }

    public func refuse(key: String, forMilliseconds milliseconds: UInt64) {
        condition.withLock { refusedKeys[key] = monotonicMilliseconds() + milliseconds }
    }

    public func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }

    // MARK: the peers' side

    /// Makes `identity` reachable (a DEALER that connected).
    public func connect(_ identity: Data) { _ = condition.withLock { connected.insert(identity) } }

    /// Makes `identity` unreachable (its connection closed): sends to it fail from now on.
    public func disconnect(_ identity: Data) { _ = condition.withLock { connected.remove(identity) } }

    /// Delivers a message from `identity` as the wire would: encoded, checked and decoded; a
    /// message the protocol refuses is counted as dropped and never reaches the coordinator.
    /// A peer whose CURVE key is banned is not heard. Returns whether the message was queued.
    @discardableResult
    public func deliver(_ body: MessageBody, from identity: Data, origin: PeerOrigin = PeerOrigin()) -> Bool {
        let decoded = WireProtocol.decode(WireProtocol.encode(body))
        condition.lock()
        defer { condition.unlock() }
        if let key = origin.curveKey, let until = refusedKeys[key], monotonicMilliseconds() < until { return false }
        guard case .success(let checked) = decoded else {
            droppedCount += 1
            return false
        }
        inbound.append((identity, checked, origin))
        condition.broadcast()
        return true
    }

    /// Everything the coordinator sent since the last call, oldest first, waiting up to
    /// `timeoutMs` for at least one message.
    public func takeSent(timeoutMs: Int = 0) -> [(peer: Data, body: MessageBody)] {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(Double(max(timeoutMs, 0)) / 1000)
        while outbound.isEmpty, timeoutMs > 0, !closed, condition.wait(until: deadline) {}
        defer { outbound.removeAll(keepingCapacity: true) }
        return outbound
    }

    /// Whether a CURVE key is refused now (after `refuse(key:forMilliseconds:)`).
    public func refuses(key: String) -> Bool {
        condition.withLock { refusedKeys[key].map { monotonicMilliseconds() < $0 } ?? false }
    }
}
