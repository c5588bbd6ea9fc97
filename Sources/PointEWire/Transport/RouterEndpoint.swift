import CZeroMQ
import Foundation
import PointEClusterBase

/// The coordinator's side of the transport: a ROUTER socket that many DEALER peers connect to.
/// `receive` returns only well-formed messages of this protocol version; garbage frames,
/// unknown message types and malformed multipart messages are logged and dropped, and a peer
/// speaking another protocol version is sent a `Refusal` naming both versions.
public final class RouterEndpoint {
    private let socket: ZMQSocket
    private let log: ClusterLog
    private let monitor: HandshakeMonitor
    private let zapDomain: String?
    public let address: String
    /// Counters for status and the overhead benchmark.
    public private(set) var dropped = 0
    public private(set) var sendFailures = 0

    public init(bind address: String, options: TransportOptions = TransportOptions(), log: ClusterLog) throws {
        try EndpointPolicy.check(address, security: options.security, insecure: options.insecure, what: "binding")
        socket = try ZMQSocket(type: ZMQ_ROUTER, label: "coordinator socket", options: options)
        zapDomain = try socket.apply(options.security, log: log)
        monitor = try HandshakeMonitor(watching: socket, label: "coordinator socket")
        // Sending to a vanished peer reports EHOSTUNREACH instead of silently dropping.
        try socket.set(ZMQ_ROUTER_MANDATORY, Int32(1))
        // A peer reconnecting with the same identity takes over the old connection.
        try socket.set(ZMQ_ROUTER_HANDOVER, Int32(1))
        try socket.set(ZMQ_BACKLOG, options.listenBacklog)
        // No ZMTP pings from the coordinator's side: libzmq keeps every connection's heartbeat
        // timers in one ordered map per I/O thread and cancels them by a linear search
        // (poller_base_t::cancel_timer, "we assume it is rarely used"), so with thousands of
        // peers each message cost O(peers) in the I/O thread (63% of a 5,000-idle-peer
        // coordinator in std::_Rb_tree_increment). Peers still ping us (answered by libzmq with
        // no timer here), and the coordinator finds silent peers by its own heartbeat timeout.
        try socket.set(ZMQ_HEARTBEAT_IVL, Int32(0))
        try socket.bind(address)
        self.address = socket.lastEndpoint()
        self.log = log
    }

    /// The next valid message and where it came from, waiting up to `timeoutMs`; nil if none
    /// arrived in time.
    public func receive(timeoutMs: Int) throws -> (peer: Data, body: MessageBody, origin: PeerOrigin)? {
        monitor.drain(log: log, role: "server")
        // Receive first; wait (on the socket's descriptor, see waitSignalled) only when nothing
        // is there, until the deadline.
        let deadline = monotonicMilliseconds() + UInt64(max(timeoutMs, 0))
        while true {
            guard let (frames, peerAddress, userID) = try socket.receiveWithMetadata() else {
                let now = monotonicMilliseconds()
                guard now < deadline else { return nil }
                socket.waitSignalled(timeoutMs: Int(deadline - now))
                continue
            }
            guard frames.count == 2 else {
                dropped += 1
                log.warning("peer \(PeerName.describe(frames.first ?? Data())): dropped a message of \(frames.count - 1) frames (expected 1)")
                continue
            }
            let peer = frames[0]
            switch WireProtocol.decode(frames[1]) {
            case .success(let body):
                // With CURVE the ZAP handler answers with the peer's key as its user id.
                let key = zapDomain == nil ? nil : userID
                return (peer, body, address.hasPrefix("ipc://") ? .ipc(address: peerAddress, curveKey: key)
                    : PeerOrigin(address: peerAddress, curveKey: key))
            case .failure(let error):
                dropped += 1
                log.warning("peer \(PeerName.describe(peer)): \(error); dropped")
                if case .unsupportedVersion(let version) = error {
                    var refusal = Pointe_Cluster_Refusal()
                    refusal.reason = "peer speaks protocol version \(version); this coordinator speaks version \(WireProtocol.version) only"
                    refusal.coordinatorProtocolVersion = WireProtocol.version
                    _ = send(.refusal(refusal), to: peer)
                }
            }
        }
    }

    /// Queues a message for a peer without blocking; false if the peer is gone or its queue is full.
    @discardableResult
    public func send(_ body: MessageBody, to peer: Data) -> Bool {
        do {
            if try socket.send([peer, WireProtocol.encode(body)]) { return true }
        } catch {
            log.warning("\(error)")
        }
        sendFailures += 1
        return false
    }

    /// Refuses new CURVE connections with `key` for `milliseconds` (a banned peer). Plain
    /// sockets have no keys to refuse by.
    public func refuse(key: String, forMilliseconds milliseconds: UInt64) {
        guard let zapDomain else { return }
        ZAPAuthenticator.shared.ban(key: key, domain: zapDomain, until: monotonicMilliseconds() + milliseconds)
    }

    public func close() {
        monitor.close()
        socket.close()
        if let zapDomain { ZAPAuthenticator.shared.unregister(domain: zapDomain) }
    }
}

/// Peer identities are arbitrary bytes on the wire; ours are printable names.
public enum PeerName {
    public static func describe(_ identity: Data) -> String {
        if let text = String(data: identity, encoding: .utf8), text.allSatisfy({ $0.isASCII && !$0.isNewline }) { return text }
        return "0x" + identity.map { String(format: "%02x", $0) }.joined()
    }

    /// A unique identity for this process: host, pid and a random suffix, so a restarted
    /// process is a new peer while a reconnecting one keeps its name.
    public static func unique(_ role: String) -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(role)@\(host):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }
}
