import Foundation

/// What the coordinator needs of the world: messages in (already checked against the protocol,
/// with the connection they came over), messages out to one peer, and a way to shut a banned
/// key out. `RouterEndpoint` is the ZeroMQ conformer; `InMemoryTransport` lets a test (or a
/// benchmark) drive a coordinator with thousands of fake peers in one process, no socket.
public protocol CoordinatorTransport: AnyObject {
    /// Where peers connect (a ZeroMQ endpoint, or a name for an in-memory transport).
    var address: String { get }
    /// Messages that failed the protocol's checks and were dropped.
    var dropped: Int { get }
    /// The next valid message and where it came from, waiting up to `timeoutMs`; nil if none
    /// arrived in time.
    func receive(timeoutMs: Int) throws -> (peer: Data, body: MessageBody, origin: PeerOrigin)?
    /// Queues a message for a peer without blocking; false if the peer is gone or its queue is full.
    @discardableResult
    func send(_ body: MessageBody, to peer: Data) -> Bool
    /// Refuses new connections with this CURVE key for a while (a banned peer).
    func refuse(key: String, forMilliseconds milliseconds: UInt64)
    func close()
}

extension RouterEndpoint: CoordinatorTransport {}
