import Foundation
import PointECloud
import PointEMesh
import PointEClusterBase
import PointEWire

/// The peers of `pointe bench swarm`, speaking the real protocol over `SwarmSockets`, and
/// what they measure of the coordinator they talk to: heartbeat echoes, status round trips,
/// the time parked requests take to get work, peers it took for lost.
final class SwarmRun {
    struct Peer {
        var welcomed = false
        var request: UInt64 = 0
        /// Waiting for an answer to `request`.
        var asking = false
        var shard: Pointe_Cluster_ShardAssignment?
        var shardsReceived = 0
        var beatSentAt: UInt64?
        var finished = false
        var askedWho = false
        /// When to ask again after a NoWork, as PeerSession does (nil: not waiting to).
        var askAt: UInt64?
        /// When the last hello went out (a hello lost with a failed connection is said again).
        var helloAt: UInt64 = 0
    }

    let sockets: SwarmSockets
    let role: Pointe_Cluster_PeerRole
    private(set) var peers: [Peer]
    var heartbeatMs: UInt64 = 1000
    private(set) var beatLatencies: [UInt64] = []
    private(set) var lateBeats = 0
    private(set) var undecodable = 0
    private(set) var unexpected: [String: Int] = [:]
    private(set) var noWorkAnswers = 0
    private(set) var resultsSent = 0

    /// Peer names are NAME-worker-I or NAME-mesher-I (NAME tells the bench's processes apart).
    let name: String

    init(sockets: SwarmSockets, role: Pointe_Cluster_PeerRole, name: String = "swarm") {
        self.sockets = sockets
        self.role = role
        self.name = name
        peers = Array(repeating: Peer(), count: sockets.sockets.count)
    }

    private(set) var hellosRepeated = 0

    func helloAll() {
        for i in peers.indices { hello(i) }
    }

    func hello(_ i: Int) {
        peers[i].helloAt = monotonicMilliseconds()
        var hello = Pointe_Cluster_Hello()
        hello.role = role
        hello.peerName = "\(name)-\(role == .mesher ? "mesher" : "worker")-\(i)"
        hello.engineVersion = "bench-swarm"
        hello.batchSize = 1
        sockets.send(.hello(hello), from: i)
    }

    func ask(_ i: Int) {
        peers[i].askAt = nil
        peers[i].request += 1
        peers[i].asking = true
        var request = Pointe_Cluster_WorkRequest()
        request.requestID = peers[i].request
        request.capacity = 1
        sockets.send(.workRequest(request), from: i)
    }

    /// Forgets the heartbeat latencies so far (each phase reports its own).
    func resetBeats() {
        beatLatencies.removeAll(keepingCapacity: true)
        lateBeats = 0
    }

    /// Reads every socket once, asks again where a NoWork's wait is over, and sends the
    /// heartbeats that are due.
    func pump(now: UInt64) {
        for i in peers.indices {
            undecodable += sockets.receiveAll(i) { handle($0, at: i) }
            if let due = peers[i].askAt, due <= now, !peers[i].finished { ask(i) }
            // As PeerSession: a hello unanswered for 5 s went down with its connection; say it again.
            if !peers[i].welcomed, now - peers[i].helloAt > 5000 {
                hellosRepeated += 1
                hello(i)
            }
            if peers[i].welcomed, !peers[i].finished, peers[i].beatSentAt == nil || now - peers[i].beatSentAt! >= heartbeatMs {
                var beat = Pointe_Cluster_Heartbeat()
                beat.sentUnixMs = now  // our own clock, echoed back
                sockets.send(.heartbeat(beat), from: i)
                peers[i].beatSentAt = now
            }
        }
    }

    private func handle(_ body: MessageBody, at i: Int) {
        switch body {
        case .welcome(let welcome):
            peers[i].welcomed = true
            heartbeatMs = UInt64(max(welcome.heartbeatIntervalMs, 10))
        case .heartbeat(let beat):
            let latency = monotonicMilliseconds() - min(beat.sentUnixMs, monotonicMilliseconds())
            beatLatencies.append(latency)
            if latency > heartbeatMs { lateBeats += 1 }
        case .shardAssignment(let shard):
            peers[i].asking = false
            peers[i].shard = shard
            peers[i].shardsReceived += 1
        case .meshTask:
            peers[i].asking = false
            peers[i].shardsReceived += 1
        case .noWork(let none):
            peers[i].asking = false
            noWorkAnswers += 1
            if none.jobFinished { peers[i].finished = true } else { peers[i].askAt = monotonicMilliseconds() + UInt64(max(none.retryAfterMs, 10)) }
        case .shutdown:
            peers[i].finished = true
        case .whoAreYou:
            peers[i].askedWho = true
        default:
            unexpected[WireProtocol.name(body), default: 0] += 1
        }
    }

    /// The holder hands its shard back (as a stopping worker does).
    func handBack(_ i: Int) {
        guard let shard = peers[i].shard else { return }
        var back = Pointe_Cluster_ShardReturn()
        back.shardID = shard.shardID
        back.attempt = shard.attempt
        back.reason = "bench swarm: handed back"
        sockets.send(.shardReturn(back), from: i)
        peers[i].shard = nil
    }

    /// Sends one small cloud per prompt of the peer's shard, then asks for more.
    func deliver(_ i: Int) {
        guard let shard = peers[i].shard else { return }
        for item in shard.prompts {
            var result = Pointe_Cluster_CloudResult(promptID: item.promptID, shardID: shard.shardID, attempt: shard.attempt, cloud: Self.cloud)
            result.previewPng = Self.preview  // as a worker sends it: the coordinator checks it and writes it
            sockets.send(.cloudResult(result), from: i)
            resultsSent += 1
        }
        peers[i].shard = nil
        ask(i)
    }

    var lostPeers: Int { peers.filter(\.askedWho).count }

    func beatPercentile(_ p: Double) -> UInt64 {
        guard !beatLatencies.isEmpty else { return 0 }
        let sorted = beatLatencies.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
    }

    /// The job preview of `cloud`, rendered once: real workers send one with every result.
    /// (A finite, non-empty cloud always renders.)
    static let preview = try! PointCloudPreview.job.png(cloud)

    /// A cloud the size of a two-stage sample (4,096 points, on a sphere, coloured by
    /// position), so that what the coordinator does with each result (checks, files, preview)
    /// costs what it does in a real job.
    static let cloud: PointCloud = {
        let n = 4096
        var coords = [Float](), red = [Float](), green = [Float](), blue = [Float]()
        for i in 0..<n {
            // A Fibonacci sphere: points spread evenly without randomness.
            let z = 1 - 2 * (Float(i) + 0.5) / Float(n), r = (1 - z * z).squareRoot(), a = Float(i) * 2.399963
            let p = (r * cos(a) * 0.5, r * sin(a) * 0.5, z * 0.5)
            coords += [p.0, p.1, p.2]
            red.append(p.0 + 0.5); green.append(p.1 + 0.5); blue.append(p.2 + 0.5)
        }
        return PointCloud(coords: coords, channels: [.init(name: "R", values: red), .init(name: "G", values: green), .init(name: "B", values: blue)])
    }()
}
