import Foundation
import PointEClusterBase

/// A child `pointe bench swarm-peers` holding the peers of `pointe bench swarm` that do not fit
/// in the bench's own process (see BenchSwarmPeers), and the lines it prints, read on a thread
/// of their own so the bench keeps pumping its own peers meanwhile.
final class SwarmPeerProcess: @unchecked Sendable {
    let name: String
    let peers: Int
    private let process = Process()
    private let input = Pipe(), output = Pipe()
    private let lock = NSLock()
    private var lines: [String] = []

    /// `curve`: the client's secret key file and the coordinator's public key file.
    init(name: String, peers: Int, address: String, role: BenchSwarm.Role, curve: (client: String, server: String)?, protocolVersion: UInt32?) throws {
        self.name = name
        self.peers = peers
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var arguments = ["bench", "swarm-peers", "--connect", address, "--peers", "\(peers)", "--name", name, "--role", role.rawValue]
        if let curve { arguments += ["--curve-client", curve.client, "--curve-server", curve.server] }
        if let protocolVersion { arguments += ["--protocol-version", String(protocolVersion)] }
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let handle = output.fileHandleForReading
        Thread.detachNewThread { [self] in
            var pending = Data()
            while case let chunk = handle.availableData, !chunk.isEmpty {
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lock.withLock { lines.append(line) }
                }
            }
        }
    }

    var isReady: Bool { lock.withLock { lines.contains("ready") } }
    var hasExited: Bool { !process.isRunning }

    /// Asks the child to stop (its peers leave without a goodbye, as killed peers do) and
    /// returns what it saw.
    func stop(timeout: Double = 30) throws -> BenchSwarmPeers.Summary {
        if process.isRunning { try? input.fileHandleForWriting.write(contentsOf: Data("stop\n".utf8)) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            throw CommandFailure("bench swarm: peer process \(name) did not stop within \(Int(timeout)) s")
        }
        usleep(50_000)  // the reader thread takes the last line
        guard let line = lock.withLock({ lines.last { $0.hasPrefix("summary ") } }) else {
            throw CommandFailure("bench swarm: peer process \(name) exited (status \(process.terminationStatus)) without its summary")
        }
        return try JSONDecoder().decode(BenchSwarmPeers.Summary.self, from: Data(line.dropFirst("summary ".count).utf8))
    }
}
