import CZeroMQ
import Foundation
import PointEClusterBase
import PointEWire

/// Many DEALER sockets in one process on their own libzmq context (sized for them), each with
/// its own routing id: the peers of `pointe bench swarm`. Plain libzmq calls, no handshake
/// monitor per socket, so ten thousand of them cost the bench little and the coordinator only
/// their connections and messages.
final class SwarmSockets {
    private let context: UnsafeMutableRawPointer
    private(set) var sockets: [UnsafeMutableRawPointer] = []
    /// The protocol version the peers speak (BenchSwarm --protocol-version).
    var protocolVersion = WireProtocol.version

    /// `curve`: the client's key pair and the server's public key (every peer uses the pair).
    init(count: Int, connect address: String, identityPrefix: String, curve: (client: CurveKeyPair, serverKey: String)?) throws {
        context = zmq_ctx_new()
        // libzmq's default is 1,023 sockets a context; one I/O thread per 2,000 connections.
        zmq_ctx_set(context, ZMQ_MAX_SOCKETS, Int32(count + 64))
        zmq_ctx_set(context, ZMQ_IO_THREADS, Int32(max(1, min(4, count / 2000))))
        for i in 0..<count {
            guard let socket = zmq_socket(context, ZMQ_DEALER) else {
                throw ClusterError("bench swarm: socket \(i + 1) of \(count): \(String(cString: zmq_strerror(zmq_errno()))) (raise the open-file limit: ulimit -n)")
            }
            try Self.set(socket, ZMQ_LINGER, Int32(0))
            try Self.set(socket, ZMQ_ROUTING_ID, Data("\(identityPrefix)-\(i)".utf8))
            if let curve {
                try Self.set(socket, ZMQ_CURVE_SERVERKEY, Data(curve.serverKey.utf8))
                try Self.set(socket, ZMQ_CURVE_PUBLICKEY, Data(curve.client.publicKey.utf8))
                try Self.set(socket, ZMQ_CURVE_SECRETKEY, Data(curve.client.secretKey.utf8))
            }
            guard zmq_connect(socket, address) == 0 else {
                throw ClusterError("bench swarm: connecting socket \(i + 1) to \(address): \(String(cString: zmq_strerror(zmq_errno())))")
            }
            sockets.append(socket)
        }
    }

    deinit {
        for socket in sockets { zmq_close(socket) }
        zmq_ctx_term(context)
    }

    /// Sends without blocking; false when the socket's queue is full.
    @discardableResult
    func send(_ body: MessageBody, from peer: Int) -> Bool {
        let data = WireProtocol.encode(body, speaking: protocolVersion)
        return data.withUnsafeBytes { zmq_send(sockets[peer], $0.baseAddress, data.count, ZMQ_DONTWAIT) } >= 0
    }

    /// Every message waiting at `peer`'s socket, decoded (frames that do not decode are counted).
    func receiveAll(_ peer: Int, into handler: (MessageBody) -> Void) -> Int {
        var undecodable = 0
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        while zmq_msg_recv(&message, sockets[peer], ZMQ_DONTWAIT) >= 0 {
            let frame = Data(bytes: zmq_msg_data(&message), count: zmq_msg_size(&message))
            switch WireProtocol.decode(frame, speaking: protocolVersion) {
            case .success(let body): handler(body)
            case .failure: undecodable += 1
            }
        }
        return undecodable
    }

    /// Waits up to `timeoutMs` until any socket has a message.
    func waitAny(timeoutMs: Int) {
        var items = sockets.map { zmq_pollitem_t(socket: $0, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        _ = zmq_poll(&items, Int32(items.count), timeoutMs)
    }

    private static func set(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(socket, option, &v, MemoryLayout<Int32>.size) == 0 else { throw ClusterError("bench swarm: socket option \(option): \(String(cString: zmq_strerror(zmq_errno())))") }
    }

    private static func set(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: Data) throws {
        let ok = value.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, value.count) == 0 }
        guard ok else { throw ClusterError("bench swarm: socket option \(option): \(String(cString: zmq_strerror(zmq_errno())))") }
    }
}
