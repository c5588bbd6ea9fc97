import CZeroMQ
import Foundation
import PointEClusterBase

/// A worker's or mesher's side of the transport: a DEALER socket with a stable identity that
/// libzmq reconnects on its own when the coordinator goes away and comes back.
public final class DealerEndpoint {
    private let socket: ZMQSocket
    private let log: ClusterLog
    private let monitor: HandshakeMonitor
    public let identity: String
    public let address: String

    public init(connect address: String, identity: String, options: TransportOptions = TransportOptions(), log: ClusterLog) throws {
        try EndpointPolicy.check(address, security: options.security, insecure: options.insecure, what: "connecting to")
        socket = try ZMQSocket(type: ZMQ_DEALER, label: "connection to \(address)", options: options)
        try socket.set(ZMQ_ROUTING_ID, bytes: Data(identity.utf8))
        _ = try socket.apply(options.security, log: log)
        monitor = try HandshakeMonitor(watching: socket, label: "connection to \(address)")
        try socket.connect(address)
        self.identity = identity
        self.address = address
        self.log = log
    }

    /// Connections made so far (read after `receive`, which takes in the transport's events).
    public var connections: Int { monitor.connections }

    /// Queues a message for the coordinator; false if the queue is full (coordinator down for long).
    @discardableResult
    public func send(_ body: MessageBody) -> Bool {
        do { return try socket.send([WireProtocol.encode(body)]) } catch {
            log.warning("\(error)")
            return false
        }
    }

    /// The next valid message from the coordinator within `timeoutMs`, else nil. Invalid frames
    /// are logged and dropped.
    public func receive(timeoutMs: Int) throws -> MessageBody? {
        monitor.drain(log: log, role: "client")
        if let refusal = monitor.refusal { throw ClusterError(refusal) }
        var wait = timeoutMs
        while socket.waitReadable(timeoutMs: wait) {
            wait = 0
            guard let frames = try socket.receive() else { continue }
            guard frames.count == 1 else {
                log.warning("coordinator \(address): dropped a message of \(frames.count) frames")
                continue
            }
            switch WireProtocol.decode(frames[0]) {
            case .success(let body): return body
            case .failure(let error): log.warning("coordinator \(address): \(error); dropped")
            }
        }
        return nil
    }

    public func close() {
        monitor.close()
        socket.close()
    }
}
