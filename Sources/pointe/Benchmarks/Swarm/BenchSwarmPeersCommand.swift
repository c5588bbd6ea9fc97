import ArgumentParser
import Foundation
import PointEClusterBase
import PointEWire

/// More peers for `pointe bench swarm` than one process can hold: each peer takes two open
/// files (its socket's mailbox and its connection), so a 20,000-file limit stops one process
/// near 9,900 peers. `bench swarm` starts this in child processes for the rest. Its peers say
/// hello, ask for work (and park, or take what they are given and keep it), heartbeat and
/// answer as the parent's do, until a line "stop" (or the end of input) arrives on stdin or
/// the job ends. It prints "ready" once every peer is welcomed and has asked, and at the end
/// one line "summary" + JSON of what it saw.
struct BenchSwarmPeers: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm-peers",
        abstract: "Extra peers of `pointe bench swarm` in a child process (started by it, not by hand).",
        shouldDisplay: false)

    @Option(help: "Coordinator address.") var connect: String
    @Option(help: "Peers in this process.") var peers: Int
    @Option(help: "Name of this process's peers (NAME-worker-I, and their routing ids).") var name: String
    @Option(help: "worker or mesher.") var role: BenchSwarm.Role
    @Option(help: "CURVE: the client key pair's secret file.") var curveClient: String?
    @Option(help: "CURVE: the coordinator's public key file.") var curveServer: String?
    @Option(help: "Protocol version the peers speak (default: this build's).") var protocolVersion: UInt32?

    func validate() throws {
        guard peers >= 1 else { throw ValidationError("--peers must be at least 1 (got \(peers))") }
        guard (curveClient == nil) == (curveServer == nil) else { throw ValidationError("--curve-client and --curve-server go together") }
    }

    struct Summary: Codable {
        var peers: Int
        var welcomed: Int
        var lost: Int
        var hellosRepeated: Int
        var beatsEchoed: Int
        var beatP50Ms: UInt64
        var beatP99Ms: UInt64
        var lateBeats: Int
        var shardsReceived: Int
        var noWorkAnswers: Int
        var undecodable: Int
    }

    func run() throws {
        _ = try SwarmProcess.raiseOpenFileLimit(to: UInt64(2 * peers + 128))
        var curve: (client: CurveKeyPair, serverKey: String)?
        if let curveClient, let curveServer { curve = (try CurveKeyPair.load(curveClient), try CurveKeyPair.loadPublicKey(curveServer)) }
        let sockets = try SwarmSockets(count: peers, connect: connect, identityPrefix: name, curve: curve)
        if let protocolVersion { sockets.protocolVersion = protocolVersion }
        let swarm = SwarmRun(sockets: sockets, role: role == .mesher ? .mesher : .sampler, name: name)
        swarm.helloAll()
        var ready = false
        while !Self.stopRequested() {
            let now = monotonicMilliseconds()
            swarm.pump(now: now)
            if !ready, swarm.peers.allSatisfy(\.welcomed) {
                for i in swarm.peers.indices { swarm.ask(i) }
                ready = true
                swarm.resetBeats()  // from here on the peers are idle, as the parent's are
                Self.say("ready")
            }
            if ready, swarm.peers.allSatisfy(\.finished) { break }
            sockets.waitAny(timeoutMs: 5)
        }
        let summary = Summary(peers: peers, welcomed: swarm.peers.filter(\.welcomed).count, lost: swarm.lostPeers,
                              hellosRepeated: swarm.hellosRepeated, beatsEchoed: swarm.beatLatencies.count,
                              beatP50Ms: swarm.beatPercentile(0.5), beatP99Ms: swarm.beatPercentile(0.99), lateBeats: swarm.lateBeats,
                              shardsReceived: swarm.peers.map(\.shardsReceived).reduce(0, +), noWorkAnswers: swarm.noWorkAnswers,
                              undecodable: swarm.undecodable)
        Self.say("summary " + String(decoding: try JSONEncoder().encode(summary), as: UTF8.self))
    }

    /// One line to the parent, at once (stdout is a pipe: buffered otherwise).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// A line on stdin (or its end) asks this process to stop; checked without waiting.
    static func stopRequested() -> Bool {
        var fd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        return poll(&fd, 1, 0) > 0
    }
}
