import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A deliberately misbehaving HTTP/1.1 file server on 127.0.0.1 for download tests: it honours
/// Range requests, and can cut responses short, drop connections mid-file, ignore ranges or
/// serve different bytes. It counts what it was asked.
final class LocalHTTPServer: @unchecked Sendable {
    enum Behaviour {
        case normal
        /// Announce the full length but close after this many body bytes (first `times` requests).
        case dropAfter(bytes: Int, times: Int)
        /// Answer every request with the whole file and status 200.
        case ignoreRanges
        /// Answer 404.
        case notFound
    }

    let body: Data
    let behaviour: Behaviour
    private(set) var port: UInt16 = 0
    private let listener: Int32
    private let lock = NSLock()
    private var _requests: [String] = []   // the Range header of each request ("" when none)
    private var running = true

    var requests: [String] { lock.lock(); defer { lock.unlock() }; return _requests }

    init(body: Data, behaviour: Behaviour = .normal) throws {
        self.body = body
        self.behaviour = behaviour
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw NSError(domain: "LocalHTTPServer", code: Int(errno)) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    func url(_ name: String) -> URL { URL(string: "http://127.0.0.1:\(port)/\(name)")! }

    func stop() {
        lock.lock()
        running = false
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var request = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.contains("\r\n\r\n".data(using: .utf8)!) {
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { return }
            request.append(contentsOf: buffer[0..<n])
        }
        let text = String(decoding: request, as: UTF8.self)
        let rangeLine = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("range:") }
        let range = rangeLine.map { String($0.dropFirst(6)).trimmingCharacters(in: .whitespaces) } ?? ""
        lock.lock()
        _requests.append(range)
        let index = _requests.count
        lock.unlock()

        var start = 0
        if case .notFound = behaviour {
            send(client, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        }
        var honourRange = true
        if case .ignoreRanges = behaviour { honourRange = false }
        if honourRange, range.hasPrefix("bytes="), let from = Int(range.dropFirst(6).split(separator: "-").first ?? "") {
            start = from
        }
        if start >= body.count && start > 0 {
            send(client, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */\(body.count)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        }
        let header = start > 0
            ? "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes \(start)-\(body.count - 1)/\(body.count)\r\nContent-Length: \(body.count - start)\r\nConnection: close\r\n\r\n"
            : "HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        send(client, header)
        var end = body.count
        if case .dropAfter(let bytes, let times) = behaviour, index <= times { end = min(body.count, start + bytes) }
        body[start..<end].withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(client, raw.baseAddress! + offset, min(65536, raw.count - offset), Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                offset += n
            }
        }
    }

    private func send(_ client: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = Glibc.send(client, bytes, bytes.count, Int32(MSG_NOSIGNAL))
    }
}
