import Foundation
import PointECloud
import PointEEngine
import PointECheckpoint
import PointEMesh
import PointEClusterBase
import PointEJob
import PointEWire

public struct CoordinatorOptions: Sendable {
    /// ZeroMQ endpoint to bind; `tcp://127.0.0.1:*` picks a free port (see `Coordinator.address`).
    public var bind = "tcp://127.0.0.1:5555"
    public var heartbeatIntervalMs: UInt32 = 1000
    /// A peer silent for this long is lost; its shards go back to the queue.
    public var peerTimeoutMs: UInt64 = 15_000
    public var transport = TransportOptions()
    /// Return from `run` once every prompt is done or failed (telling peers to exit).
    public var exitWhenDone = true
    /// A work request with nothing to give waits (parked) at most this long for work before it
    /// is answered with NoWork (CoordinatorParking.swift).
    public var longPollMs: UInt64 = 30_000
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
    public var meshers: Int
    public var elapsedSeconds: Double

    /// True while stored clouds wait for a mesh and no mesher is connected.
    public var waitingForMesher: Bool { counts.meshing > 0 && meshers == 0 }

    /// "3 to mesh", and why they wait when no mesher is there (nil: nothing to mesh).
    public var meshingNote: String? {
        guard counts.meshing > 0 else { return nil }
        return "\(counts.meshing) to mesh" + (waitingForMesher ? " (meshing waits for a mesher: none connected)" : "")
    }
}

/// The coordinator: owns a job directory, hands shards to workers that ask for them (pull:
/// fast workers get more), stores each cloud as it arrives and keeps the manifest. Single
/// threaded: one loop over its transport (`serve(over:)`); every state change is written to
/// the JobStore before it is acted on.
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
        /// Its latest numbered work request and the task it was answered with (nil: no work).
        var lastRequest: UInt64 = 0
        var lastTask: MessageBody?
        /// When its latest work request was parked (nil: not parked; CoordinatorParking.swift).
        var parkedSince: UInt64?
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
    /// Stored clouds waiting for a mesher, as received (see PackedCloudCache).
    var cloudsAwaitingMesh = PackedCloudCache()
    /// Remeshed prompts whose manifest line is still to be rewritten (see CoordinatorMeshing).
    var remeshManifest = RemeshManifestFlush()
    public let info: JobStore.JobInfo
    var lockDescriptor: Int32 = -1
    var startTime = monotonicMilliseconds()
    var doneAtStart = 0
    public internal(set) var messagesHandled = 0
    /// Set by a drain request (see CoordinatorDrain.swift); `drained` once it completed.
    var draining = false
    public private(set) var drained = false
    /// An unknown peer sends a heartbeat a second until it has said hello: one line per peer per 10 s.
    var unknownPeerLog = RateLimiter(intervalMs: 10_000)
    public internal(set) var resultsStored = 0
    /// Results whose preview the coordinator rendered itself: the worker sent none (a worker
    /// from before previews were sent) or one that failed its checks.
    public internal(set) var previewsRendered = 0
    public internal(set) var shardsDispatched = 0
    /// Who was given which mesh task; refusals and bans (CoordinatorAuthorisation.swift).
    var authority: DeliveryAuthority
    /// Clouds, meshes and previews that failed their checks, by kind.
    var payloadsRejected: [PayloadKind: Int] = [:]
    /// Set by `recover` when it made finished prompts pending again (the report's pages of
    /// those must be rewritten, see JobReportPage).
    var recoveryChangedUnfinished = false
    /// Received messages waiting their turn (CoordinatorInbox.swift).
    var inbox = CoordinatorInbox()
    /// Work requests waiting for work, oldest first, and the store's write count when they were
    /// last offered it (CoordinatorParking.swift).
    var parkedWorkers = ParkedRequests()
    var parkedMeshers = ParkedRequests()
    var writesAtLastWake: UInt64 = 0
    /// Parked requests may have work waiting that the last turn did not hand out (wakeParked
    /// hands out a bounded batch per turn, so heartbeats and status queries are never starved).
    var wakePending = false
    /// The last time the transport had no message left for us: a peer is silent only if
    /// nothing came from it up to then (messages queued behind a backlog are not silence).
    var transportDrainedAt = monotonicMilliseconds()
    /// The job's counts and the store write they were read after (`jobCounts`).
    var countsCache: (writes: UInt64, counts: JobStore.Counts)?
    /// CPU seconds of the last `run`: its own thread, and the report writer's thread.
    public private(set) var loopCPUSeconds = 0.0
    public private(set) var reportCPUSeconds = 0.0

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

    /// Serves until the job ends (`exitWhenDone`) or `shouldStop` returns true. `onProgress` is
    /// called about twice a second.
    public func run(shouldStop: () -> Bool = { false }, onListening: ((String) throws -> Void)? = nil,
                    onProgress: ((JobProgress) -> Void)? = nil) throws -> JobStore.Counts {
        let router = try RouterEndpoint(bind: options.bind, options: options.transport, log: log)
        defer { router.close() }
        return try serve(over: router, shouldStop: shouldStop, onListening: onListening, onProgress: onProgress)
    }

    /// `run` over a transport the caller made and closes: the ZeroMQ socket `run` binds, or an
    /// `InMemoryTransport` a test drives with fake peers.
    public func serve(over transport: any CoordinatorTransport, shouldStop: () -> Bool = { false },
                      onListening: ((String) throws -> Void)? = nil,
                      onProgress: ((JobProgress) -> Void)? = nil) throws -> JobStore.Counts {
        defer { droppedMessages = transport.dropped }
        let metrics = try MetricsExporter(port: options.metricsPort, file: options.metricsFile, log: log)
        defer { metrics.close() }
        metricsPort = metrics.port
        if let port = metrics.port { log.info("metrics on http://0.0.0.0:\(port)/metrics") }
        var lastMetrics: UInt64 = 0
        func publishMetrics(_ counts: JobStore.Counts) {
            droppedMessages = transport.dropped
            metrics.publish(metricsText(counts))
        }
        address = transport.address
        try AtomicFile.write(Data((address + "\n").utf8), to: directory.addressFile)
        // Only a live coordinator leaves its address behind (for `pointe status DIR`).
        defer { unlink(directory.addressFile) }
        log.info("job \(try store.info().jobID) listening on \(address)")
        try onListening?(address)
        startTime = monotonicMilliseconds()
        let cpuAtStart = ReportWriter.threadCPUSeconds()
        var lastCheck: UInt64 = 0, lastProgress: UInt64 = 0
        var summaryWritten = false
        // The report is written on its own thread; closed (its last page written) on return.
        let report = try ReportWriter(directory: directory, log: log, rewriteAll: recoveryChangedUnfinished)
        defer {
            report.close()
            reportCPUSeconds = report.usage.cpuSeconds
            loopCPUSeconds = ReportWriter.threadCPUSeconds() - cpuAtStart
        }
        var lastTurn = monotonicMilliseconds()
        while !shouldStop() {
            try pump(transport, timeoutMs: inbox.isEmpty && !wakePending ? 50 : 0)
            if let (peer, body, origin) = inbox.popFirst() {
                messagesHandled += 1
                try handle(body, from: peer, origin: origin, transport: transport)
            }
            try wakeParked(transport: transport)
            let now = monotonicMilliseconds()
            if now - lastTurn > options.peerTimeoutMs / 2 {
                // This loop itself did not run (the process was stopped, or starved): its peers'
                // silence is ours, not theirs. Their queued messages arrive now; give them a
                // fresh timeout instead of taking every one for lost.
                log.warning("the coordinator did not run for \(String(format: "%.1f", Double(now - lastTurn) / 1000)) s (stopped or starved); peers get a fresh timeout")
                for identity in peers.keys { peers[identity]?.lastSeen = now }
            }
            lastTurn = now
            if now - lastCheck >= 200 {
                lastCheck = now
                try expireSilentPeers()
                try expireParked(now: now, transport: transport)
                let counts = try jobCounts()
                if now - lastProgress >= 500 {
                    lastProgress = now
                    onProgress?(progress(counts))
                }
                if now - lastMetrics >= 1000 {
                    lastMetrics = now
                    publishMetrics(counts)
                }
                let jobDone = counts.pending == 0 && counts.shardsRunning == 0
                if !jobDone, drainFinished(transport: transport) {
                    drained = true
                    publishMetrics(counts)
                    onProgress?(progress(counts))
                    try sayGoodbye(transport, reason: "coordinator drained")
                    return counts
                }
                report.post(finishedCount: counts.done + counts.failed, jobFinished: jobDone)
                if jobDone {
                    try releaseParked(transport: transport)
                    if !summaryWritten {
                        try manifest.writeSummary(elapsedSeconds: Double(now - startTime) / 1000)
                        summaryWritten = true
                    }
                    if options.exitWhenDone {
                        publishMetrics(counts)
                        onProgress?(progress(counts))
                        try sayGoodbye(transport, reason: "job finished")
                        return counts
                    }
                }
            }
        }
        return try jobCounts()
    }

    /// Tells every peer to stop, then keeps answering for two heartbeat intervals: a peer that
    /// was reconnecting (a cut link, our own restart) is unknown to us but sends a heartbeat
    /// within one interval, and would otherwise wait for its coordinator timeout.
    func sayGoodbye(_ transport: any CoordinatorTransport, reason: String) throws {
        var bye = Pointe_Cluster_Shutdown()
        bye.reason = reason
        for peer in peers.keys { transport.send(.shutdown(bye), to: peer) }
        let until = monotonicMilliseconds() + 2 * UInt64(options.heartbeatIntervalMs)
        while monotonicMilliseconds() < until {
            // Messages already received first, in order.
            guard let (identity, body, origin) = try inbox.popFirst() ?? transport.receive(timeoutMs: 50),
                  try admits(body, from: identity, origin: origin, transport: transport) else { continue }
            switch body {
            case .statusQuery: transport.send(.statusReply(try statusReply()), to: identity)
            case .cloudResult, .meshResult, .errorReport, .shardReturn, .goodbye:
                try handle(body, from: identity, origin: origin, transport: transport)  // late results still count
            default: transport.send(.shutdown(bye), to: identity)
            }
        }
    }

    func progress(_ counts: JobStore.Counts) -> JobProgress {
        let elapsed = Double(monotonicMilliseconds() - startTime) / 1000
        let rate = elapsed > 0 ? Double(counts.done - doneAtStart) / elapsed : 0
        return JobProgress(counts: counts, promptsPerSecond: rate, workers: peers.values.filter { $0.role == .sampler }.count,
                           meshers: peers.values.filter { $0.role == .mesher }.count, elapsedSeconds: elapsed)
    }
}
