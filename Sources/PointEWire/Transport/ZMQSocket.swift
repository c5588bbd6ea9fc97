import CZeroMQ
import Foundation
import PointEClusterBase

/// Limits and timings of a transport socket. libzmq enforces them: `maxFrameBytes` drops a
/// peer that sends a larger frame, the high-water marks bound the in/out queues (a send to a
/// full queue fails instead of growing memory), and a DEALER reconnects on its own with
/// back-off between `reconnectMilliseconds` and `reconnectMaxMilliseconds`.
public struct TransportOptions: Sendable {
    public var maxFrameBytes: Int = 256 << 20
    public var sendHighWater: Int32 = 1000
    public var receiveHighWater: Int32 = 1000
    public var reconnectMilliseconds: Int32 = 100
    public var reconnectMaxMilliseconds: Int32 = 2000
    /// ZMTP-level pings so a dead TCP peer is noticed even while the application is busy.
    public var heartbeatMilliseconds: Int32 = 1000
    /// A TCP connect that gets no answer is abandoned and retried after this long (the OS
    /// default is minutes: a link that came back would go unused that long).
    public var connectTimeoutMilliseconds: Int32 = 5000
    /// Connections the coordinator's listening socket queues before accepting them (libzmq's
    /// default is 100; the kernel caps it at net.core.somaxconn). Thousands of peers starting at
    /// once (a Slurm allocation) overflowed 100: refused connects, then back-off and retries.
    public var listenBacklog: Int32 = 4096
    /// CURVE keys, or none (plain ZMTP).
    public var security: TransportSecurity = .none
    /// Allows plain ZMTP on a non-loopback endpoint (the user passed --insecure).
    public var insecure = false
    public init() {}
}

/// The process-wide libzmq context (one I/O thread is plenty for control traffic and clouds).
final class ZMQContext: @unchecked Sendable {
    static let shared = ZMQContext()
    let handle: UnsafeMutableRawPointer
    private init() {
        handle = zmq_ctx_new()!
    }
}

/// A libzmq socket used from one thread at a time. Sends never block: a full queue is
/// reported to the caller, which decides to drop or retry.
final class ZMQSocket {
    let handle: UnsafeMutableRawPointer
    let label: String
    private(set) var closed = false

    init(type: Int32, label: String, options: TransportOptions) throws {
        guard let socket = zmq_socket(ZMQContext.shared.handle, type) else {
            throw ClusterError("\(label): cannot create a ZeroMQ socket: \(ZMQSocket.lastError())")
        }
        handle = socket
        self.label = label
        try set(ZMQ_LINGER, Int32(0))
        try set(ZMQ_SNDHWM, options.sendHighWater)
        try set(ZMQ_RCVHWM, options.receiveHighWater)
        try set(ZMQ_MAXMSGSIZE, Int64(options.maxFrameBytes))
        try set(ZMQ_RECONNECT_IVL, options.reconnectMilliseconds)
        try set(ZMQ_RECONNECT_IVL_MAX, options.reconnectMaxMilliseconds)
        try set(ZMQ_HEARTBEAT_IVL, options.heartbeatMilliseconds)
        try set(ZMQ_HEARTBEAT_TIMEOUT, options.heartbeatMilliseconds * 5)
        try set(ZMQ_CONNECT_TIMEOUT, options.connectTimeoutMilliseconds)
    }

    deinit { close() }

    func close() {
        if !closed { zmq_close(handle); closed = true }
    }

    func set(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ClusterError("\(label): setting socket option \(option): \(ZMQSocket.lastError())")
        }
    }

    func set(_ option: Int32, _ value: Int64) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) == 0 else {
            throw ClusterError("\(label): setting socket option \(option): \(ZMQSocket.lastError())")
        }
    }

    func set(_ option: Int32, bytes: Data) throws {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, bytes.count) }
        guard rc == 0 else { throw ClusterError("\(label): setting socket option \(option): \(ZMQSocket.lastError())") }
    }

    func bind(_ address: String) throws {
        guard zmq_bind(handle, address) == 0 else {
            throw ClusterError("\(label): cannot bind \(address): \(ZMQSocket.lastError())")
        }
    }

    func connect(_ address: String) throws {
        guard zmq_connect(handle, address) == 0 else {
            throw ClusterError("\(label): cannot connect to \(address): \(ZMQSocket.lastError())")
        }
    }

    /// The address actually bound (resolves `tcp://127.0.0.1:*` to the chosen port).
    func lastEndpoint() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return "" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Waits up to `timeoutMs` (0 = just check, -1 = forever) for an incoming message.
    func waitReadable(timeoutMs: Int) -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        let rc = zmq_poll(&item, 1, timeoutMs)
        return rc > 0 && (item.revents & Int16(ZMQ_POLLIN)) != 0
    }

    /// Waits up to `timeoutMs` for the socket to signal activity, without asking libzmq for its
    /// events: a ROUTER with ROUTER_MANDATORY answers ZMQ_EVENTS (what zmq_poll asks) by walking
    /// every peer's pipe for POLLOUT, so polling it per message cost O(peers) (a third of a
    /// 5,000-peer coordinator's CPU in std::_Rb_tree_increment). Callers first receive with
    /// DONTWAIT until EAGAIN, which makes libzmq process its pending commands and so re-arms
    /// ZMQ_FD (edge-triggered); a message arriving after that signals the descriptor again.
    /// A spurious wake-up only costs one more DONTWAIT receive.
    func waitSignalled(timeoutMs: Int) {
        var fd: Int32 = -1
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, ZMQ_FD, &fd, &size) == 0, fd >= 0 else {
            _ = waitReadable(timeoutMs: timeoutMs)
            return
        }
        var item = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&item, 1, Int32(clamping: timeoutMs))
    }

    /// Sends a multipart message without blocking. false: the queue is full or the peer is
    /// unknown/unreachable (EAGAIN / EHOSTUNREACH); other errors throw.
    func send(_ frames: [Data]) throws -> Bool {
        for (index, frame) in frames.enumerated() {
            var flags = ZMQ_DONTWAIT
            if index < frames.count - 1 { flags |= ZMQ_SNDMORE }
            let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, frame.count, flags) }
            if rc < 0 {
                let code = zmq_errno()
                if code == EAGAIN || code == EHOSTUNREACH { return false }
                throw ClusterError("\(label): send failed: \(ZMQSocket.lastError())")
            }
        }
        return true
    }

    /// Receives one whole multipart message if one is waiting, else nil.
    func receive() throws -> [Data]? { try receiveWithMetadata()?.frames }

    /// `receive`, with the sending connection's "Peer-Address" and "User-Id" (the ZAP
    /// handler's answer: for CURVE, the peer's public key), read from the last frame.
    func receiveWithMetadata() throws -> (frames: [Data], peerAddress: String, userID: String?)? {
        var frames: [Data] = []
        while true {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            let flags = frames.isEmpty ? ZMQ_DONTWAIT : 0
            if zmq_msg_recv(&message, handle, flags) < 0 {
                let code = zmq_errno()
                if code == EAGAIN && frames.isEmpty { return nil }
                if code == EINTR { continue }
                throw ClusterError("\(label): receive failed: \(ZMQSocket.lastError())")
            }
            let size = zmq_msg_size(&message)
            frames.append(size == 0 ? Data() : Data(bytes: zmq_msg_data(&message), count: size))
            if zmq_msg_more(&message) == 0 {
                let address = zmq_msg_gets(&message, "Peer-Address").map { String(cString: $0) } ?? ""
                let user = zmq_msg_gets(&message, "User-Id").map { String(cString: $0) }
                return (frames, address, user?.isEmpty == false ? user : nil)
            }
        }
    }

    static func lastError() -> String {
        String(cString: zmq_strerror(zmq_errno()))
    }
}
