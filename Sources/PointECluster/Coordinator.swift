import Foundation
import PointEEngine
import PointECheckpoint
import PointEMesh

public struct CoordinatorOptions: Sendable {
    /// ZeroMQ endpoint to bind; `tcp://127.0.0.1:*` picks a free port (see `Coordinator.address`).
    public var bind = "tcp://127.0.0.1:5555"
    public var heartbeatIntervalMs: UInt32 = 1000
    /// A peer silent for this long is lost; its shards go back to the queue.
    public var peerTimeoutMs: UInt64 = 15_000
    public var transport = TransportOptions()
    /// Return from `run` once every prompt is done or failed (telling peers to exit).
    public var exitWhenDone = true
    /// Prometheus metrics over HTTP on this port (0: any free port; see `Coordinator.metricsPort`).
    public var metricsPort: Int?
    /// Prometheus metrics rewritten (atomically) into this file, e.g. for node_exporter's textfile collector.
    public var metricsFile: String?
    public var log = ClusterLog(role: "coordinator")
    /// Bounds on the clouds and meshes peers send (see PayloadLimits).
    public var limits = PayloadLimits()
    /// A peer whose deliveries are refused this many times in a row is banned for `banSeconds`
    /// (see CoordinatorAuthorisation.swift).
    public var refusalLimit = 8
    public var banSeconds: UInt64 = 600
    public init() {}
}

/// A snapshot for progress lines and `pointe status`.
public struct JobProgress: Sendable {
    public var counts: JobStore.Counts
    public var promptsPerSecond: Double
    public var workers: Int
    public var elapsedSeconds: Double
}

/// The coordinator: owns a job directory, hands shards to workers that ask for them (pull:
/// fast workers get more), stores each cloud as it arrives and keeps the manifest. Single
/// threaded: one poll loop over the ROUTER socket; all state changes go through the JobStore.
public final class Coordinator {
    public let directory: JobDirectory
    public let store: JobStore
    public let options: CoordinatorOptions
    public let manifest: Manifest
    public private(set) var address = ""
    /// Malformed or unexpected frames the socket dropped during `run`.
    public private(set) var droppedMessages = 0
    /// The port the metrics server listens on (when `options.metricsPort` is set).
    public private(set) var metricsPort: Int?
    /// The options' log with the job id on every line.
    let log: ClusterLog

    struct Peer {
        var identity: Data
        var name: String
        var role: Pointe_Cluster_PeerRole
        var lastSeen: UInt64
        /// The connection it said hello over (address, CURVE key).
        var origin: PeerOrigin
        var attempts: Set<Int> = []
        var meshes: Set<String> = []
        var promptsDone = 0
        var meshesDone = 0
        /// When this session joined, for its throughput in the metrics.
        var joinedAt = monotonicMilliseconds()
    }

    struct ActiveAttempt {
        var shardID: Int
        var attempt: Int
        var peer: Data
        var outstanding: Set<String>
        var lastError: String?
        var stepsDone: UInt32 = 0
        var stepsTotal: UInt32 = 0
    }

    var peers: [Data: Peer] = [:]
    var active: [Int: ActiveAttempt] = [:]  // by shard id
    var meshesInFlight: [String: Data] = [:]  // prompt id -> mesher
    public let info: JobStore.JobInfo
    var lockDescriptor: Int32 = -1
    var startTime = monotonicMilliseconds()
    var doneAtStart = 0
    public private(set) var messagesHandled = 0
    /// Set by a drain request (see CoordinatorDrain.swift); `drained` once it completed.
    var draining = false
    public private(set) var drained = false
    /// An unknown peer sends a heartbeat a second until it has said hello: one line per peer per 10 s.
    var unknownPeerLog = RateLimiter(intervalMs: 10_000)
    public private(set) var resultsStored = 0
    public private(set) var shardsDispatched = 0
    /// Who was given which mesh task; refusals and bans (CoordinatorAuthorisation.swift).
    var authority: DeliveryAuthority
    /// Clouds and meshes that failed their checks, by kind.
    var payloadsRejected: [PayloadKind: Int] = [:]

    /// Opens an existing job directory (resume). Create one first with `Coordinator.createJob`.
    public init(directory: JobDirectory, options: CoordinatorOptions = CoordinatorOptions()) throws {
        guard directory.exists else { throw ClusterError("\(directory.path): not a job directory (no job.sqlite)") }
        self.directory = directory
        self.options = options
        lockDescriptor = try directory.acquireLock()
        store = try JobStore(path: directory.store)
        manifest = Manifest(directory: directory, store: store)
        info = try store.info()
        log = options.log.with(["job": info.jobID])
        authority = DeliveryAuthority(refusalLimit: options.refusalLimit, banMilliseconds: options.banSeconds * 1000)
    }

    deinit { if lockDescriptor >= 0 { close(lockDescriptor) } }

    /// Creates a job directory from a prompt list (refusing one that already holds a job).
    @discardableResult
    public static func createJob(at directory: JobDirectory, prompts: [PromptEntry], seed: UInt64, shardSize: Int,
                                 retryBudget: Int, promptFile: String, meshFormats: [String] = [], meshGrid: Int = 128) throws -> JobStore.JobInfo {
        for format in meshFormats where !["glb", "ply", "obj"].contains(format) {
            throw ClusterError("unknown mesh format \"\(format)\" (glb, ply, obj)")
        }
        guard !directory.exists else { throw ClusterError("\(directory.path): already holds a job (resume it instead)") }
        guard shardSize > 0 else { throw ClusterError("shard size must be positive, got \(shardSize)") }
        guard retryBudget > 0 else { throw ClusterError("retry budget must be positive, got \(retryBudget)") }
        try directory.create()
        let fd = try directory.acquireLock()
        defer { close(fd) }
        let store = try JobStore(path: directory.store)
        let info = JobStore.JobInfo(jobID: UUID().uuidString.lowercased(), seed: seed, shardSize: shardSize,
                                    retryBudget: retryBudget, promptFile: promptFile, meshFormats: meshFormats, meshGrid: meshGrid)
        try store.create(info: info, prompts: prompts)
        return info
    }

    /// What a restart must repair before serving: temp files of interrupted writes, shards left
    /// running, outputs that no longer match their checksums, and manifest.jsonl.
    public func recover(retryFailed: Bool = false) throws {
        for path in directory.removeStaleTemporaryFiles() { log.info("removed stale temporary file \(path)") }
        let interrupted = try store.requeueInterrupted()
        if interrupted > 0 { log.info("re-queued \(interrupted) shard(s) that were running when the coordinator stopped") }
        if retryFailed {
            let n = try store.retryFailed()
            if n > 0 { log.info("--retry-failed: \(n) failed prompt(s) queued again with a fresh budget") }
        }
        var reopened = 0
        for prompt in try store.prompts(status: [.done, .meshing]) {
            for output in try store.outputs(promptID: prompt.id) {
                let full = directory.file(output.path)
                let digest = try? FileChecksum.sha256(file: full)
                if digest != output.sha256 {
                    log.warning("\(full): \(digest == nil ? "missing" : "checksum mismatch"); prompt \(prompt.id) will be sampled again")
                    try store.reopen(promptID: prompt.id)
                    reopened += 1
                    break
                }
            }
        }
        if reopened > 0 { log.info("\(reopened) prompt(s) reopened after output verification") }
        try manifest.rewrite()
        doneAtStart = try store.counts().done
    }

    /// Serves until the job ends (`exitWhenDone`) or `shouldStop` returns true. `onProgress` is
    /// called about twice a second.
    public func run(shouldStop: () -> Bool = { false }, onListening: ((String) throws -> Void)? = nil,
                    onProgress: ((JobProgress) -> Void)? = nil) throws -> JobStore.Counts {
        let router = try RouterEndpoint(bind: options.bind, options: options.transport, log: log)
        defer {
            droppedMessages = router.dropped
            router.close()
        }
        let metrics = try MetricsExporter(port: options.metricsPort, file: options.metricsFile, log: log)
        defer { metrics.close() }
        metricsPort = metrics.port
        if let port = metrics.port { log.info("metrics on http://0.0.0.0:\(port)/metrics") }
        var lastMetrics: UInt64 = 0
        func publishMetrics(_ counts: JobStore.Counts) {
            droppedMessages = router.dropped
            metrics.publish(metricsText(counts))
        }
        address = router.address
        try AtomicFile.write(Data((address + "\n").utf8), to: directory.addressFile)
        // Only a live coordinator leaves its address behind (for `pointe status DIR`).
        defer { unlink(directory.addressFile) }
        log.info("job \(try store.info().jobID) listening on \(address)")
        try onListening?(address)
        startTime = monotonicMilliseconds()
        var lastCheck: UInt64 = 0, lastProgress: UInt64 = 0
        var summaryWritten = false
        var reportPage = JobReportPage(directory: directory, store: store)
        while !shouldStop() {
            if let (peer, body, origin) = try router.receive(timeoutMs: 50) {
                messagesHandled += 1
                try handle(body, from: peer, origin: origin, router: router)
            }
            let now = monotonicMilliseconds()
            if now - lastCheck >= 200 {
                lastCheck = now
                try expireSilentPeers(now: now)
                let counts = try store.counts()
                if now - lastProgress >= 500 {
                    lastProgress = now
                    onProgress?(progress(counts))
                }
                if now - lastMetrics >= 1000 {
                    lastMetrics = now
                    publishMetrics(counts)
                }
                let jobDone = counts.pending == 0 && counts.shardsRunning == 0
                if !jobDone, drainFinished(router: router) {
                    drained = true
                    publishMetrics(counts)
                    onProgress?(progress(counts))
                    try sayGoodbye(router, reason: "coordinator drained")
                    return counts
                }
                do {
                    try reportPage.update(now: now, finishedCount: counts.done + counts.failed, jobFinished: jobDone && !summaryWritten)
                } catch {
                    log.warning("\(directory.file("index.html")): not updated: \(error)")
                }
                if jobDone {
                    if !summaryWritten {
                        try manifest.writeSummary(elapsedSeconds: Double(now - startTime) / 1000)
                        summaryWritten = true
                    }
                    if options.exitWhenDone {
                        publishMetrics(counts)
                        onProgress?(progress(counts))
                        try sayGoodbye(router, reason: "job finished")
                        return counts
                    }
                }
            }
        }
        return try store.counts()
    }

    /// Tells every peer to stop, then keeps answering for two heartbeat intervals: a peer that
    /// was reconnecting (a cut link, our own restart) is unknown to us but sends a heartbeat
    /// within one interval, and would otherwise wait for its coordinator timeout.
    func sayGoodbye(_ router: RouterEndpoint, reason: String) throws {
        var bye = Pointe_Cluster_Shutdown()
        bye.reason = reason
        for peer in peers.keys { router.send(.shutdown(bye), to: peer) }
        let until = monotonicMilliseconds() + 2 * UInt64(options.heartbeatIntervalMs)
        while monotonicMilliseconds() < until {
            guard let (identity, body, origin) = try router.receive(timeoutMs: 50),
                  try admits(body, from: identity, origin: origin, router: router) else { continue }
            switch body {
            case .statusQuery: router.send(.statusReply(try statusReply()), to: identity)
            case .cloudResult, .meshResult, .errorReport, .shardReturn, .goodbye:
                try handle(body, from: identity, origin: origin, router: router)  // late results still count
            default: router.send(.shutdown(bye), to: identity)
            }
        }
    }

    func progress(_ counts: JobStore.Counts) -> JobProgress {
        let elapsed = Double(monotonicMilliseconds() - startTime) / 1000
        let rate = elapsed > 0 ? Double(counts.done - doneAtStart) / elapsed : 0
        return JobProgress(counts: counts, promptsPerSecond: rate, workers: peers.values.filter { $0.role == .sampler }.count, elapsedSeconds: elapsed)
    }

    // MARK: - Messages

    /// `origin`: the connection the message came over (RouterEndpoint.receive).
    func handle(_ body: MessageBody, from identity: Data, origin: PeerOrigin = PeerOrigin(), router: RouterEndpoint) throws {
        guard try admits(body, from: identity, origin: origin, router: router) else { return }
        let now = monotonicMilliseconds()
        let name = peers[identity]?.name ?? PeerName.describe(identity)
        switch body {
        case .hello(let hello):
            guard hello.role == .sampler || hello.role == .mesher || hello.role == .observer else {
                return sendRefusal("unknown role \(hello.role)", to: identity, router: router)
            }
            if let old = peers[identity], old.origin.curveKey != origin.curveKey {
                // Another allowed key taking over a live session's identity: refused until
                // that session ends (it says goodbye, or is lost).
                sendRefusal("the identity \(name) is in use by a peer with another key", to: identity, router: router)
                return try refuse("a hello", .otherKey, from: identity, origin: origin, router: router)
            }
            if let old = peers[identity], !old.attempts.isEmpty || !old.meshes.isEmpty {
                // A hello from a known identity is a new session: a restarted process reusing
                // its --name (or the same one after we restarted). Whatever the old session was
                // sampling or meshing will never arrive: re-queue it.
                try lose(identity, reason: "peer \(old.name) restarted its session")
            }
            peers[identity] = Peer(identity: identity, name: hello.peerName.isEmpty ? name : hello.peerName, role: hello.role, lastSeen: now,
                                   origin: origin)
            log.info("\(hello.role == .sampler ? "worker" : hello.role == .mesher ? "mesher" : "observer") \(hello.peerName) joined (engine \(hello.engineVersion), models \(hello.models.joined(separator: ",")), batch \(hello.batchSize))")
            var welcome = Pointe_Cluster_Welcome()
            welcome.jobID = try store.info().jobID
            welcome.heartbeatIntervalMs = options.heartbeatIntervalMs
            router.send(.welcome(welcome), to: identity)
        case .statusQuery:
            router.send(.statusReply(try statusReply()), to: identity)
        case .drainRequest(let request):
            startDrain(request, from: identity, router: router)
        case .heartbeat(let beat):
            guard touch(identity, now: now, router: router) else { return }
            // Echo it: a peer busy with one long task (a grid-128 mesh in a slow build) sends no
            // requests, and without an answer it would take the coordinator for dead.
            router.send(.heartbeat(beat), to: identity)
        case .workRequest:
            guard touch(identity, now: now, router: router) else { return }
            try assign(to: identity, router: router)
        case .progress(let p):
            guard touch(identity, now: now, router: router) else { return }
            if var a = active[Int(p.shardID)], a.peer == identity {
                a.stepsDone = p.stepsDone
                a.stepsTotal = p.stepsTotal
                active[Int(p.shardID)] = a
            }
        case .cloudResult(let result):
            _ = touch(identity, now: now, router: router)
            try storeCloud(result, from: identity, origin: origin, name: name, router: router)
        case .errorReport(let report):
            _ = touch(identity, now: now, router: router)
            if peers[identity]?.role == .mesher {
                try meshFailure(report, from: identity, origin: origin, router: router)
            } else {
                try failure(report, from: identity, origin: origin, name: name, router: router)
            }
        case .meshResult(let result):
            _ = touch(identity, now: now, router: router)
            try storeMesh(result, from: identity, origin: origin, name: name, router: router)
        case .goodbye(let bye):
            // The answer tells the leaving peer that everything it sent has arrived.
            var answer = Pointe_Cluster_Goodbye()
            answer.reason = "goodbye received"
            defer { router.send(.goodbye(answer), to: identity) }
            guard let (peer, attempts) = forget(identity) else { return }
            for (shard, attempt) in attempts {
                try closeAttempt(shardID: shard, attempt: attempt, outcome: .returned, error: nil, countsAgainstBudget: false)
            }
            log.info("\(peer.name) left (\(bye.reason))" + (peer.attempts.isEmpty ? "" : "; shard(s) \(peer.attempts.sorted().map(String.init).joined(separator: ",")) re-queued"),
                     metadata: ["peer": peer.name, "event": "peer-left"])
        case .shardReturn(let back):
            _ = touch(identity, now: now, router: router)
            let shard = Int(back.shardID)
            if let a = active[shard], a.peer == identity, a.attempt == Int(back.attempt) {
                active[shard] = nil
                peers[identity]?.attempts.remove(shard)
                try closeAttempt(shardID: shard, attempt: a.attempt, outcome: .returned, error: nil, countsAgainstBudget: false)
                log.info("\(name) handed back shard \(shard) (\(back.reason))", metadata: ["shard": "\(shard)", "peer": name, "event": "shard-returned"])
            }
        default:
            log.warning("peer \(name): unexpected message \(WireProtocol.name(body)); dropped")
        }
    }

    /// Marks a peer alive; an unknown peer (e.g. connected before a coordinator restart) is
    /// asked to introduce itself and its message is not acted on.
    func touch(_ identity: Data, now: UInt64, router: RouterEndpoint) -> Bool {
        guard peers[identity] != nil else {
            router.send(.whoAreYou(Pointe_Cluster_WhoAreYou()), to: identity)
            unknownPeerLog.run(PeerName.describe(identity)) {
                log.info("message from unknown peer \(PeerName.describe(identity)) (we restarted, or took it for lost); asked it to say hello" + $0)
            }
            return false
        }
        peers[identity]!.lastSeen = now
        return true
    }

    func assign(to identity: Data, router: RouterEndpoint) throws {
        guard let peer = peers[identity], peer.role == .sampler || peer.role == .mesher else {
            log.warning("peer \(PeerName.describe(identity)) asked for work but is neither a worker nor a mesher; ignored")
            return
        }
        if draining { return refuseWorkWhileDraining(identity, router: router) }
        if peer.role == .mesher { return try assignMesh(to: identity, router: router) }
        guard let claim = try store.claimShard(worker: peer.name, holder: WorkHolder(identity: identity, curveKey: peer.origin.curveKey)) else {
            let counts = try store.counts()
            var none = Pointe_Cluster_NoWork()
            none.retryAfterMs = 200
            none.jobFinished = counts.pending == 0 && counts.shardsRunning == 0
            router.send(.noWork(none), to: identity)
            return
        }
        log.info("shard \(claim.shardID) attempt \(claim.attempt) (\(claim.prompts.count) prompt(s)) -> \(peer.name)",
                 metadata: ["shard": "\(claim.shardID)", "attempt": "\(claim.attempt)", "peer": peer.name, "event": "shard-assigned"])
        var message = Pointe_Cluster_ShardAssignment()
        message.shardID = UInt64(claim.shardID)
        message.attempt = UInt32(claim.attempt)
        var outstanding = Set<String>()
        var unreadable: String?
        for prompt in claim.prompts {
            var item = Pointe_Cluster_PromptItem()
            item.promptID = prompt.id
            item.seed = prompt.seed
            item.settings = prompt.settings.wire
            switch prompt.input {
            case .text(let text): item.text = text
            case .image(let path), .embedding(let path):
                guard let bytes = FileManager.default.contents(atPath: path) else {
                    let error = "prompt \(prompt.id): cannot read \(path)"
                    try store.notePromptError(id: prompt.id, error: error)
                    unreadable = error
                    continue
                }
                if case .image = prompt.input { item.image = bytes } else { item.embeddingNpy = bytes }
            }
            message.prompts.append(item)
            outstanding.insert(prompt.id)
        }
        shardsDispatched += 1
        if outstanding.isEmpty {
            // Nothing sendable: the attempt ends at once (and counts against the budget).
            try closeAttempt(shardID: claim.shardID, attempt: claim.attempt, outcome: .error, error: unreadable)
            try assign(to: identity, router: router)
            return
        }
        guard router.send(.shardAssignment(message), to: identity) else {
            // The peer left (or its queue is full) as it asked for work: the shard never
            // reached it, so the attempt ends without costing the prompts a retry.
            try closeAttempt(shardID: claim.shardID, attempt: claim.attempt, outcome: .undelivered,
                             error: "could not send the shard to \(peer.name)", countsAgainstBudget: false)
            try lose(identity, reason: "cannot send to \(peer.name)")
            return
        }
        active[claim.shardID] = ActiveAttempt(shardID: claim.shardID, attempt: claim.attempt, peer: identity, outstanding: outstanding, lastError: unreadable)
        peers[identity]!.attempts.insert(claim.shardID)
    }

    /// Writes a cloud (atomically, checksummed) and records it, once per prompt, if its sender
    /// holds or held the attempt and the cloud passes its checks; a cloud that does not fails
    /// that prompt of the attempt.
    func storeCloud(_ result: Pointe_Cluster_CloudResult, from identity: Data, origin: PeerOrigin, name: String, router: RouterEndpoint) throws {
        let shard = Int(result.shardID), attempt = Int(result.attempt)
        guard try mayDeliver(.cloud(prompt: result.promptID, shard: shard, attempt: attempt), from: identity, origin: origin, router: router),
              let prompt = try store.prompt(id: result.promptID) else { return }
        var rejection: String?
        defer { try? resolve(shard: shard, attempt: attempt, promptID: result.promptID, from: identity, error: rejection) }
        guard prompt.status == .pending else { return }  // a duplicate (late result of a re-queued shard)
        let cloud: PointCloud
        do {
            cloud = try CloudPacking.unpack(count: result.pointCount, coords: result.coords, colors: result.colors,
                                            source: "result for \(result.promptID) from \(name)", limits: options.limits)
        } catch let error as ClusterError {
            payloadsRejected[.cloud, default: 0] += 1
            log.warning(error.message, metadata: ["peer": name, "prompt": prompt.id, "event": "payload-rejected"])
            try store.notePromptError(id: result.promptID, error: error.message)
            rejection = error.message
            return
        }
        var outputs = try directory.writeCloud(cloud, promptID: prompt.id)
        do { outputs.append(try directory.writePreview(cloud, promptID: prompt.id)) } catch {
            log.warning("prompt \(prompt.id): no preview: \(error)")
        }
        let workerName = peers[identity]?.name ?? name
        let meshing = !info.meshFormats.isEmpty
        if try store.recordDone(promptID: prompt.id, outputs: outputs, worker: workerName, attempt: attempt,
                                models: result.models, sampleSeconds: result.timings.sampleSeconds, meshing: meshing) {
            resultsStored += 1
            peers[identity]?.promptsDone += 1
            // With meshing, the manifest line waits for the mesh.
            if !meshing, let done = try store.prompt(id: prompt.id) { try manifest.append(done) }
        }
    }

    func failure(_ report: Pointe_Cluster_ErrorReport, from identity: Data, origin: PeerOrigin, name: String, router: RouterEndpoint) throws {
        let shard = Int(report.shardID), attempt = Int(report.attempt)
        if report.promptID.isEmpty {
            // The whole attempt failed (e.g. the worker could not load a model).
            guard try mayDeliver(.attemptFailure(shard: shard, attempt: attempt), from: identity, origin: origin, router: router),
                  let a = active[shard], a.peer == identity, a.attempt == attempt else { return }
            log.warning("shard \(shard) attempt \(a.attempt) failed on \(name): \(report.message)",
                        metadata: ["shard": "\(shard)", "attempt": "\(a.attempt)", "peer": name, "event": "shard-failed"])
            active[shard] = nil
            peers[identity]?.attempts.remove(shard)
            try closeAttempt(shardID: shard, attempt: a.attempt, outcome: .error, error: report.message)
            return
        }
        guard try mayDeliver(.promptError(prompt: report.promptID, shard: shard, attempt: attempt), from: identity, origin: origin, router: router) else { return }
        log.warning("\(name): \(report.message)")
        try store.notePromptError(id: report.promptID, error: report.message)
        try resolve(shard: shard, attempt: attempt, promptID: report.promptID, from: identity, error: report.message)
    }

    /// One prompt of an active attempt is answered; when none is left the attempt closes.
    func resolve(shard: Int, attempt: Int, promptID: String, from identity: Data, error: String?) throws {
        guard var a = active[shard], a.peer == identity, a.attempt == attempt, a.outstanding.remove(promptID) != nil else { return }
        if let error { a.lastError = error }
        if a.outstanding.isEmpty {
            active[shard] = nil
            peers[identity]?.attempts.remove(shard)
            try closeAttempt(shardID: shard, attempt: a.attempt, outcome: a.lastError == nil ? .completed : .error, error: a.lastError)
        } else {
            active[shard] = a
        }
    }

    /// Closes an attempt in the store and writes the manifest lines of prompts that failed for good.
    func closeAttempt(shardID: Int, attempt: Int, outcome: AttemptOutcome, error: String?, countsAgainstBudget: Bool = true) throws {
        let failed = try store.finishAttempt(shardID: shardID, attempt: attempt, outcome: outcome, error: error, countsAgainstBudget: countsAgainstBudget)
        for id in failed {
            guard let prompt = try store.prompt(id: id) else { continue }
            log.warning("prompt \(id) failed: \(prompt.error ?? "")", metadata: ["prompt": id, "event": "prompt-failed"])
            try manifest.append(prompt)
        }
    }

    func expireSilentPeers(now: UInt64) throws {
        for (identity, peer) in peers where now > peer.lastSeen + options.peerTimeoutMs {
            try lose(identity, reason: "no message from \(peer.name) for \(options.peerTimeoutMs) ms")
        }
    }

    /// Forgets a peer; its running shards go back to the queue (the attempt counts).
    func lose(_ identity: Data, reason: String) throws {
        guard let (peer, attempts) = forget(identity) else { return }
        let shards = peer.attempts.sorted().map(String.init).joined(separator: ",")
        log.warning("lost \(peer.name): \(reason)" + (peer.attempts.isEmpty ? "" : "; re-queueing shard(s) \(shards)"),
                    metadata: ["peer": peer.name, "event": "peer-lost"].merging(shards.isEmpty ? [:] : ["shard": shards]) { $1 })
        for (shard, attempt) in attempts {
            try closeAttempt(shardID: shard, attempt: attempt, outcome: .lost, error: "worker \(peer.name) was lost mid-shard (\(reason))")
        }
    }

    /// Removes a peer (lost, or leaving): its meshes in flight go back to the queue (the prompts
    /// are still `meshing`) and its running attempts are returned, in shard order, for the
    /// caller to close with the right outcome.
    func forget(_ identity: Data) -> (peer: Peer, attempts: [(shard: Int, attempt: Int)])? {
        guard let peer = peers.removeValue(forKey: identity) else { return nil }
        for id in peer.meshes where meshesInFlight[id] == identity { meshesInFlight[id] = nil }
        let attempts = peer.attempts.sorted().compactMap { shard in active.removeValue(forKey: shard).map { (shard, $0.attempt) } }
        return (peer, attempts)
    }

    func statusReply() throws -> Pointe_Cluster_StatusReply {
        let counts = try store.counts()
        let p = progress(counts)
        var reply = Pointe_Cluster_StatusReply()
        reply.jobID = try store.info().jobID
        reply.promptsTotal = UInt32(counts.total)
        reply.promptsDone = UInt32(counts.done)
        reply.promptsFailed = UInt32(counts.failed)
        reply.shardsQueued = UInt32(counts.shardsQueued)
        reply.shardsRunning = UInt32(counts.shardsRunning)
        reply.promptsPerSecond = p.promptsPerSecond
        let now = monotonicMilliseconds()
        for peer in peers.values.sorted(by: { $0.name < $1.name }) where peer.role != .observer {
            var s = Pointe_Cluster_PeerStatus()
            s.identity = PeerName.describe(peer.identity)
            s.peerName = peer.name
            s.role = peer.role
            s.lastSeenMsAgo = now - min(peer.lastSeen, now)
            s.shards = peer.attempts.sorted().map { UInt64($0) }
            s.promptsDone = UInt32(peer.promptsDone)
            reply.peers.append(s)
        }
        reply.failures = try store.prompts(status: [.failed]).prefix(20).map { "\($0.id): \($0.error ?? "failed")" }
        return reply
    }
}
