import Foundation
import PointECheckpoint
import PointETensor
import PointEClusterBase

/// Publishes the coordinator's latest metrics text: served over HTTP (`GET /metrics`) by a
/// small server thread, and/or rewritten atomically into a file. The coordinator's loop calls
/// `publish` about once a second; the server only ever reads the last published text, so a
/// slow or hostile scraper cannot stall the coordinator.
final class MetricsExporter: @unchecked Sendable {
    private let latest = Locked("")
    private let file: String?
    private var listener: Int32 = -1
    private(set) var port: Int?
    private let log: ClusterLog

    init(port: Int?, file: String?, log: ClusterLog) throws {
        self.file = file
        self.log = log
        if let port { try listen(port) }
    }

    deinit { close() }

    /// Stops the HTTP server (its thread ends when the listening socket closes).
    func close() {
        guard listener >= 0 else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        listener = -1
    }

    func publish(_ text: String) {
        latest.withLock { $0 = text }
        if let file {
            do { try AtomicFile.write(Data(text.utf8), to: file) } catch { log.warning("metrics file \(file): \(error)") }
        }
    }

    private func listen(_ requested: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("metrics: cannot create a socket: \(systemErrorText())") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(requested).bigEndian)
        address.sin_addr = in_addr(s_addr: 0)  // every interface: scrapers live elsewhere
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 16) == 0 else {
            let reason = systemErrorText()
            Glibc.close(fd)
            throw ClusterError("metrics: cannot listen on port \(requested): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: actual.sin_port))
        listener = fd
        Thread.detachNewThread { [self] in serve(fd) }
    }

    private func serve(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // the listener was closed
            }
            answer(client)
            Glibc.close(client)
        }
    }

    /// One request per connection; a client that sends nothing for 2 s is dropped.
    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 2048)
        while request.count < 8192, !request.ends(with: Array("\r\n\r\n".utf8)) {
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { break }
            request += buffer[0..<n]
        }
        let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        let (status, body): (String, String)
        if firstLine.count >= 2, firstLine[0] == "GET", firstLine[1] == "/metrics" || firstLine[1].hasPrefix("/metrics?") {
            status = "200 OK"
            body = latest.withLock { $0 }
        } else if firstLine.count >= 2, firstLine[0] == "GET", firstLine[1] == "/" {
            status = "200 OK"
            body = "pointe coordinator: metrics at /metrics\n"
        } else {
            status = "404 Not Found"
            body = "not found\n"
        }
        let response = "HTTP/1.1 \(status)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        let bytes = Array(response.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
