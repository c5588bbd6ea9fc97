import CZeroMQ
import Foundation
import PointEClusterBase

/// ZeroMQ's authentication protocol (ZAP, RFC 27) handler for this process: libzmq asks it,
/// over inproc://zeromq.zap.01, whether each CURVE client may connect. Each server socket
/// registers its own ZAP domain with an allow-list directory; a client key not in the list is
/// refused (ZAP status 400) and the refusal is logged with the peer's address and key.
///
/// One handler serves the whole process (libzmq allows one ZAP endpoint per context); it runs
/// on a thread of its own for the life of the process.
package final class ZAPAuthenticator: @unchecked Sendable {
    package static let shared = ZAPAuthenticator()

    struct Domain {
        let allowList: CurveAllowList
        let log: ClusterLog
        /// Keys refused until a monotonic time (peers the coordinator banned), though listed.
        var banned: [String: UInt64] = [:]
    }

    private let lock = NSLock()
    private var domains: [String: Domain] = [:]
    private var started = false
    private var startError: String?
    private(set) var accepted = 0
    private(set) var refused = 0
    /// A refused peer retries every few seconds: one log line per key per 10 s.
    private var limiter = RateLimiter(intervalMs: 10_000)

    /// Registers a ZAP domain (a unique name per server socket) and starts the handler on
    /// first use.
    func register(domain: String, allowList: CurveAllowList, log: ClusterLog) throws {
        lock.lock()
        domains[domain] = Domain(allowList: allowList, log: log)
        let needsStart = !started
        started = true
        lock.unlock()
        if needsStart { try start() }
    }

    /// Refuses `key` in `domain` until the monotonic time `until`, even if the allow-list has it.
    func ban(key: String, domain: String, until: UInt64) {
        lock.lock()
        domains[domain]?.banned[key] = until
        lock.unlock()
    }

    func unregister(domain: String) {
        lock.lock()
        domains[domain] = nil
        lock.unlock()
    }

    package var counts: (accepted: Int, refused: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (accepted, refused)
    }

    private func start() throws {
        // Bind on the calling thread so the endpoint exists before any CURVE server binds.
        guard let socket = zmq_socket(ZMQContext.shared.handle, ZMQ_REP) else {
            throw ClusterError("ZAP handler: cannot create a socket: \(ZMQSocket.lastError())")
        }
        var linger: Int32 = 0
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        guard zmq_bind(socket, "inproc://zeromq.zap.01") == 0 else {
            let error = ZMQSocket.lastError()
            zmq_close(socket)
            throw ClusterError("ZAP handler: cannot bind inproc://zeromq.zap.01: \(error)")
        }
        let box = SocketBox(socket)
        Thread.detachNewThread { [self] in serve(box.socket) }
    }

    private func serve(_ socket: UnsafeMutableRawPointer) {
        while true {
            guard let request = receiveAll(socket) else { continue }
            let reply = answer(request)
            for (index, frame) in reply.enumerated() {
                let flags = index < reply.count - 1 ? ZMQ_SNDMORE : 0
                // A signal (this process has children) must not cost a reply: a REP socket
                // that skips one never reads again, and every later handshake would hang.
                while frame.withUnsafeBytes({ zmq_send(socket, $0.baseAddress, frame.count, flags) }) < 0, zmq_errno() == EINTR {}
            }
        }
    }

    /// Decides one ZAP request: [version, request id, domain, address, identity, mechanism, credentials...].
    func answer(_ frames: [Data]) -> [Data] {
        func reply(_ requestID: Data, _ code: String, _ text: String, user: String = "") -> [Data] {
            [Data("1.0".utf8), requestID, Data(code.utf8), Data(text.utf8), Data(user.utf8), Data()]
        }
        guard frames.count >= 6, String(decoding: frames[0], as: UTF8.self) == "1.0" else {
            return reply(frames.count > 1 ? frames[1] : Data(), "500", "malformed ZAP request")
        }
        let requestID = frames[1]
        let domainName = String(decoding: frames[2], as: UTF8.self)
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        lock.lock()
        let domain = domains[domainName]
        lock.unlock()
        guard let domain else {
            return reply(requestID, "400", "unknown ZAP domain")
        }
        guard mechanism == "CURVE", frames.count >= 7, let key = CurveKeyPair.encode(frames[6]) else {
            record(accepted: false)
            limited("\(domainName) \(address) \(mechanism)") {
                domain.log.warning("refused peer at \(address): it did not authenticate with CURVE (mechanism \(mechanism))" + $0)
            }
            return reply(requestID, "400", "CURVE required")
        }
        if let until = domain.banned[key], monotonicMilliseconds() < until {
            record(accepted: false)
            limited("\(domainName) banned \(key)") {
                domain.log.warning("refused peer at \(address): its key \(key) is banned for \((until - monotonicMilliseconds()) / 1000) s more" + $0)
            }
            return reply(requestID, "400", "key banned")
        }
        let (keys, problems) = domain.allowList.keys()
        for problem in problems { domain.log.warning("allow-list: \(problem)") }
        if let file = keys[key] {
            record(accepted: true)
            limited("\(domainName) accepted \(key)") { domain.log.info("peer at \(address) authenticated with the key in \(file)" + $0) }
            // The user id travels with each of the peer's messages ("User-Id"): the key binds
            // a session to the key that said hello.
            return reply(requestID, "200", "OK", user: key)
        }
        record(accepted: false)
        limited("\(domainName) \(key)") {
            domain.log.warning("refused peer at \(address): its public key \(key) is not in the allow-list \(domain.allowList.directory)" + $0)
        }
        return reply(requestID, "400", "key not allowed")
    }

    private func limited(_ key: String, _ body: (String) -> Void) {
        lock.lock()
        var message: String?
        limiter.run(key) { message = $0 }
        lock.unlock()
        if let message { body(message) }
    }

    private func record(accepted ok: Bool) {
        lock.lock()
        if ok { accepted += 1 } else { refused += 1 }
        lock.unlock()
    }

    private func receiveAll(_ socket: UnsafeMutableRawPointer) -> [Data]? {
        var frames: [Data] = []
        while true {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            if zmq_msg_recv(&message, socket, 0) < 0 {
                if zmq_errno() == EINTR { continue }
                return nil
            }
            let size = zmq_msg_size(&message)
            frames.append(size == 0 ? Data() : Data(bytes: zmq_msg_data(&message), count: size))
            if zmq_msg_more(&message) == 0 { return frames }
        }
    }

    private final class SocketBox: @unchecked Sendable {
        let socket: UnsafeMutableRawPointer
        init(_ socket: UnsafeMutableRawPointer) { self.socket = socket }
    }
}
