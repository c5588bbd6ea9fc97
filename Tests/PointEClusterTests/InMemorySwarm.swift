import Foundation
import PointECloud
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire

/// Fake workers on an `InMemoryTransport`, all driven from the test's thread: each says hello,
/// asks for work with numbered requests as `PeerSession` does, answers a shard with one small
/// cloud per prompt, asks again after a NoWork's `retry_after_ms` (or, when it was parked,
/// as soon as the answer comes), and stops at Shutdown. No engine and no socket: thousands of
/// them cost the test only their messages.
final class InMemorySwarm {
    struct Peer {
        var name: String
        var nextRequest: UInt64 = 1
        var shards = 0
        var noWork = 0
        var shutDown = false
        /// When to ask again after a NoWork (nil: not waiting).
        var askAt: UInt64?
        /// The Welcome's heartbeat interval (0 until welcomed) and when the next beat is due.
        var heartbeatMs: UInt64 = 0
        var beatAt: UInt64 = 0
        /// Keeps the shards it gets without working on them (until it leaves).
        var holds = false
        /// Said goodbye (and was answered).
        var left = false
    }

    let transport: InMemoryTransport
    private(set) var peers: [Data: Peer] = [:]
    /// Every prompt id a cloud was sent for, with how often.
    private(set) var cloudsSent: [String: Int] = [:]
    /// Messages the coordinator sent that no fake peer expects.
    private(set) var unexpected: [String] = []
    /// Timers (re-asks, heartbeats) are looked at every few milliseconds, not at every step.
    private var lastTimerScan: UInt64 = 0

    /// `holders` more workers keep the shards they are given (see `leave`).
    init(transport: InMemoryTransport, workers: Int, holders: Int = 0) {
        self.transport = transport
        for i in 0..<(workers + holders) {
            let name = String(format: i < workers ? "fake-worker-%05d" : "fake-holder-%05d", i)
            peers[Data(name.utf8)] = Peer(name: name, holds: i >= workers)
        }
    }

    var holders: [Data] { peers.filter { $0.value.holds }.map(\.key).sorted { $0.lexicographicallyPrecedes($1) } }
    var workers: [Data] { peers.filter { !$0.value.holds }.map(\.key).sorted { $0.lexicographicallyPrecedes($1) } }

    /// The peers say goodbye, as a stopped `pointe worker` does (what they hold goes back to the queue).
    func leave(_ identities: [Data]) {
        var bye = Pointe_Cluster_Goodbye()
        bye.reason = "leaving"
        for identity in identities {
            peers[identity]!.shutDown = true
            transport.deliver(.goodbye(bye), from: identity)
        }
    }

    /// Connects every peer and says hello.
    func start() {
        for (identity, peer) in peers.sorted(by: { $0.value.name < $1.value.name }) {
            transport.connect(identity)
            var hello = ClusterTestSupport.samplerHello(peer.name)
            hello.batchSize = 1
            transport.deliver(.hello(hello), from: identity)
        }
    }

    /// Answers what the coordinator sent (waiting up to `timeoutMs` for something) and sends
    /// the requests and heartbeats that came due; returns the number of messages handled.
    @discardableResult
    func step(timeoutMs: Int) -> Int {
        let sent = transport.takeSent(timeoutMs: timeoutMs)
        for (identity, body) in sent { answer(body, to: identity) }
        runTimers()
        return sent.count
    }

    func owns(_ identity: Data) -> Bool { peers[identity] != nil }

    /// Re-asks after a NoWork and heartbeats, looked at every few milliseconds.
    func runTimers() {
        let now = monotonicMilliseconds()
        guard now - lastTimerScan >= 5 else { return }
        lastTimerScan = now
        for (identity, peer) in peers where !peer.shutDown {
            if let due = peer.askAt, due <= now { ask(identity) }
            if peer.heartbeatMs > 0, peer.beatAt <= now {
                // Liveness as PeerSession keeps it: a heartbeat every interval, whatever else it sends.
                peers[identity]!.beatAt = now + peer.heartbeatMs
                transport.deliver(.heartbeat(Pointe_Cluster_Heartbeat()), from: identity)
            }
        }
    }

    var allShutDown: Bool { peers.values.allSatisfy(\.shutDown) }

    private func ask(_ identity: Data) {
        var request = Pointe_Cluster_WorkRequest()
        request.requestID = peers[identity]!.nextRequest
        peers[identity]!.nextRequest += 1
        peers[identity]!.askAt = nil
        transport.deliver(.workRequest(request), from: identity)
    }

    func answer(_ body: MessageBody, to identity: Data) {
        guard peers[identity] != nil else { return unexpected.append("a message for unknown peer \(PeerName.describe(identity))") }
        switch body {
        case .welcome(let welcome):
            peers[identity]!.heartbeatMs = UInt64(welcome.heartbeatIntervalMs)
            peers[identity]!.beatAt = monotonicMilliseconds() + UInt64(welcome.heartbeatIntervalMs)
            ask(identity)
        case .heartbeat: break
        case .shardAssignment(let shard):
            peers[identity]!.shards += 1
            if peers[identity]!.holds { return }
            for item in shard.prompts {
                cloudsSent[item.promptID, default: 0] += 1
                let result = Pointe_Cluster_CloudResult(promptID: item.promptID, shardID: shard.shardID, attempt: shard.attempt, cloud: Self.cloud)
                transport.deliver(.cloudResult(result), from: identity)
            }
            ask(identity)
        case .noWork(let none):
            peers[identity]!.noWork += 1
            // A finished job ends the session, as in PeerSession; otherwise ask again later.
            if none.jobFinished { peers[identity]!.shutDown = true } else { peers[identity]!.askAt = monotonicMilliseconds() + UInt64(none.retryAfterMs) }
        case .shutdown:
            peers[identity]!.shutDown = true
            transport.disconnect(identity)
        case .goodbye:
            peers[identity]!.left = true
            transport.disconnect(identity)
        default:
            unexpected.append("\(WireProtocol.name(body)) to \(peers[identity]!.name)")
        }
    }

    /// Eight points, every one coloured: passes the coordinator's payload checks.
    static let cloud = PointCloud(coords: (0..<24).map { Float($0) / 100 },
                                  channels: ["R", "G", "B"].map { .init(name: $0, values: [Float](repeating: 0.5, count: 8)) })
}
