import CZeroMQ
import Foundation
import PointEClusterBase
import PointETensor

/// Watches a socket's connections and security handshakes through libzmq's socket monitor,
/// so what libzmq would retry silently is logged: a coordinator names the address whose
/// handshake failed (no key, wrong server key); a peer says when it lost and regained its
/// connection, and learns that the coordinator refused its key.
final class HandshakeMonitor {
    private let pair: ZMQSocket
    private let watched: ZMQSocket
    private var stopped = false
    /// The last authentication refusal seen, for peers to stop on.
    private(set) var refusal: String?
    /// Completed handshakes: more than one means the connection dropped and came back.
    private(set) var connections = 0
    /// Peers retry every few seconds: one line per kind of failure per 10 s, with a count.
    private var limiter = RateLimiter(intervalMs: 10_000)

    init(watching socket: ZMQSocket, label: String) throws {
        let address = "inproc://pointe-monitor-\(UUID().uuidString)"
        let events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
            | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
        guard zmq_socket_monitor(socket.handle, address, Int32(events)) == 0 else {
            throw ClusterError("\(label): cannot monitor the socket: \(ZMQSocket.lastError())")
        }
        watched = socket
        pair = try ZMQSocket(type: ZMQ_PAIR, label: "\(label) monitor", options: TransportOptions())
        try pair.connect(address)
    }

    /// Reads pending events and logs them; returns without waiting.
    func drain(log: ClusterLog, role: String) {
        while let frames = try? pair.receive(), frames.count >= 2, frames[0].count >= 6 {
            let event = Int32(frames[0][frames[0].startIndex]) | Int32(frames[0][frames[0].startIndex + 1]) << 8
            let value = frames[0].dropFirst(2).prefix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            let endpoint = String(decoding: frames[1], as: UTF8.self)
            switch event {
            case Int32(ZMQ_EVENT_DISCONNECTED):
                if role != "server" { log.info("connection to \(endpoint) lost; reconnecting") }
            case Int32(ZMQ_EVENT_HANDSHAKE_SUCCEEDED):
                connections += 1
                if role != "server" { log.info("connected to \(endpoint)") }
            case Int32(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) where role == "server":
                continue  // the ZAP handler has logged the refusal with the peer's address and key
            case Int32(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH):
                let message = role == "server"
                    ? "a peer on \(endpoint) was refused (ZAP status \(value))"
                    : "the coordinator at \(endpoint) refused this peer's CURVE key (status \(value)); is its public key in the coordinator's allow-list?"
                if role != "server" { refusal = message }
                log.warning(message)
            case Int32(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL):
                let reason = HandshakeMonitor.describe(protocolError: value)
                limiter.run("\(endpoint) \(value)") { repeats in
                    log.warning((role == "server"
                        ? "a connection on \(endpoint) failed the security handshake (\(reason)): a peer without CURVE or with the wrong coordinator key"
                        : "the security handshake with \(endpoint) failed (\(reason)): wrong --server-key, or CURVE on one side only") + repeats)
                }
            default:
                limiter.run("\(endpoint) \(event)") { repeats in
                    log.warning("security handshake on \(endpoint) failed (\(String(cString: zmq_strerror(Int32(bitPattern: value)))))" + repeats)
                }
            }
        }
    }

    /// Stops the monitor, then closes the reading end. Must run before the watched socket is
    /// closed. The order matters: libzmq sends monitor events from its I/O thread with a
    /// blocking send, so an event (a peer disconnecting, a closing socket's last handshakes)
    /// sent to a monitor whose reader is gone blocks that thread for good, and with it every
    /// socket of the process (libzmq issue #3575).
    ///
    /// Stopping takes the monitor's lock, which the I/O thread holds while it is blocked sending
    /// an event into a full pair (a thousand handshakes since the last drain): so the pair is
    /// read on another thread until the stop has returned (a coordinator with 2,000 peers hung
    /// here for good when stopped).
    func close() {
        guard !stopped else { return }
        stopped = true
        if !watched.closed {
            let reader = PairReader(pair)
            let done = DispatchGroup()
            done.enter()
            Thread.detachNewThread {
                reader.readUntilStopped()
                done.leave()
            }
            zmq_socket_monitor(watched.handle, nil, 0)
            reader.stop()
            done.wait()
        }
        pair.close()
    }

    /// Reads and drops monitor events until told to stop (see `close`).
    private final class PairReader: @unchecked Sendable {
        private let pair: ZMQSocket
        private let stopped = Locked(false)
        init(_ pair: ZMQSocket) { self.pair = pair }
        func stop() { stopped.withLock { $0 = true } }
        func readUntilStopped() {
            while !stopped.withLock({ $0 }) {
                if pair.waitReadable(timeoutMs: 10) { _ = try? pair.receive() }
            }
        }
    }

    /// The monitor holds the watched socket, so this runs before that socket's own deinit.
    deinit { close() }

    static func describe(protocolError code: UInt32) -> String {
        switch Int32(bitPattern: code) {
        case Int32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH): return "security mechanism mismatch"
        case Int32(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC): return "cryptographic error"
        case Int32(ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE): return "key exchange failed"
        default: return String(format: "protocol error 0x%08x", code)
        }
    }
}
