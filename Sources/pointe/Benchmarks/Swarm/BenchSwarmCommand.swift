import ArgumentParser
import Foundation
import PointECluster
import PointEClusterBase
import PointEDiffusion
import PointEEngine
import PointEJob
import PointEWire

/// A real coordinator process (`pointe coordinator`, this binary) and N lightweight peers in
/// this process (DEALER sockets on one thread, no engine) speaking the real protocol: what the
/// coordinator costs per peer while they are idle, how fast status queries are answered among
/// them, whether heartbeats come back late or peers are lost, how long parked work requests take
/// to get work when it appears, and its CPU per result while shards flow.
struct BenchSwarm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm",
        abstract: "N protocol-speaking peers against a real coordinator process: CPU per idle peer, status p50/p99, late heartbeats, lost peers, parked hand-out time.")

    enum Role: String, ExpressibleByArgument, CaseIterable { case worker, mesher }

    @Option(help: "Peers: sockets of this process, and of child processes for those beyond its open-file limit.") var peers = 1000
    @Option(help: "What the peers say they are: worker (half hold a shard each, half park; then the holders hand theirs back and shards flow) or mesher (all park: no clouds to mesh).")
    var role: Role = .worker
    @Option(help: "Most peers in one process (default: as many as the open-file limit allows, two files a peer); the rest run in child processes.")
    var peersPerProcess: Int?
    @Flag(help: "CURVE on every connection (keys made for the run).") var curve = false
    @Option(help: "Seconds the idle phase is measured.") var idleSeconds = 10.0
    @Option(help: "Status queries, one every 100 ms, during the idle phase.") var statusQueries = 50
    @Option(help: "Job directory parent (default: a temporary directory, removed afterwards).") var workDir: String?
    @Option(help: "The pointe binary whose coordinator is measured (default: this one), e.g. an older build to compare with.") var coordinatorBinary: String?
    @Option(help: "Protocol version the peers speak (default: this build's), to measure an older coordinator: 1 before the upsampler's own step count (3fd9f07 and earlier). The swarm's messages are the same in both.")
    var protocolVersion: UInt32?

    func validate() throws {
        guard peers >= 2 else { throw ValidationError("--peers must be at least 2 (got \(peers))") }
        if let peersPerProcess, peersPerProcess < 2 { throw ValidationError("--peers-per-process must be at least 2 (got \(peersPerProcess))") }
        guard idleSeconds > 0 else { throw ValidationError("--idle-seconds must be positive (got \(idleSeconds))") }
        guard statusQueries >= 1 else { throw ValidationError("--status-queries must be at least 1 (got \(statusQueries))") }
    }

    /// Peers one process holds: two open files each (socket mailbox and connection), and some
    /// to spare, within the hard limit this process may raise its own to.
    static func peersOneProcessHolds() -> Int {
        guard let limit = SwarmProcess.raiseHardOpenFileLimit(toward: 1 << 20) else { return 1000 }
        return max(2, (Int(limit.rlim_max) - 256) / 2)
    }

    func run() throws {
        // Peers beyond what this process can hold run in child processes (BenchSwarmPeers).
        let own = min(peers, peersPerProcess ?? Self.peersOneProcessHolds())
        let childShares = stride(from: own, to: peers, by: own).map { min(own, peers - $0) }
        // The coordinator inherits this limit and holds one connection a peer, those of the
        // child processes too: below that it stops accepting and the run stalls unexplained.
        let limit = try SwarmProcess.raiseOpenFileLimit(to: UInt64(max(2 * own, peers) + 256))
        let root = workDir ?? NSTemporaryDirectory() + "pointe-bench-swarm-\(getpid())"
        defer { if workDir == nil { try? FileManager.default.removeItem(atPath: root) } }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let directory = JobDirectory(root + "/job")
        // Workers: one prompt a shard for the half of this process's peers that holds one.
        // Meshers: prompts that never get a cloud, so every mesher parks.
        let prompts = role == .worker ? own / 2 : 1
        let settings = SamplingSettings(model: .base40MUncond, upsample: false, steps: 1, guidance: 0, sampler: .eulerAncestral)
        let entries = (0..<prompts).map { PromptEntry(id: String(format: "p%07d", $0), input: .text("prompt \($0)"), seed: nil, settings: settings, line: $0 + 1) }
        try Coordinator.createJob(at: directory, prompts: entries, seed: 0, shardSize: 1, retryBudget: 3, promptFile: "bench",
                                  meshFormats: role == .mesher ? [.ply] : [])
        let keys = curve ? try SwarmProcess.makeKeys(in: root) : nil
        let coordinator = try SwarmProcess.startCoordinator(job: directory, keys: keys, binary: coordinatorBinary)
        defer { coordinator.stop() }
        print("peers \(peers) (\(role.rawValue)s)\(curve ? ", CURVE" : ""), job of \(prompts) prompt(s), open-file limit \(limit), coordinator pid \(coordinator.pid) at \(coordinator.address)"
              + (childShares.isEmpty ? "" : "; \(own) peers here and \(childShares.map(String.init).joined(separator: " + ")) in child process(es)"))

        let sockets = try SwarmSockets(count: own, connect: coordinator.address, identityPrefix: "swarm",
                                       curve: keys.map { ($0.client, $0.server.publicKey) })
        let status = try SwarmSockets(count: 1, connect: coordinator.address, identityPrefix: "swarm-status",
                                      curve: keys.map { ($0.client, $0.server.publicKey) })
        if let protocolVersion { sockets.protocolVersion = protocolVersion; status.protocolVersion = protocolVersion }
        let swarm = SwarmRun(sockets: sockets, role: role == .mesher ? .mesher : .sampler)
        swarm.helloAll()
        try drive(swarm, coordinator, "every peer welcomed", timeout: 60 + Double(own) / 100,
                  progress: { "\(swarm.peers.filter(\.welcomed).count) of \(own) welcomed" }) { swarm.peers.allSatisfy(\.welcomed) }
        let holders = role == .worker ? own / 2 : 0
        for i in 0..<holders { swarm.ask(i) }
        try drive(swarm, coordinator, "the holders' shards", timeout: 60 + Double(own) / 100) { swarm.peers[0..<holders].allSatisfy { $0.shard != nil } }
        for i in holders..<own { swarm.ask(i) }
        // The rest park: give their requests a moment to arrive.
        try drive(swarm, coordinator, "settling", timeout: 3) { false }
        // The child processes' peers park behind them (parked requests are answered in arrival
        // order, so the shards handed back below still reach this process's parked peers).
        var childCurve: (client: String, server: String)?
        if let keys, !childShares.isEmpty {
            childCurve = (try keys.client.write(name: "swarm-client", directory: root + "/client-keys").secretFile, keys.serverPublicFile)
        }
        let children = try childShares.enumerated().map { k, share in
            try SwarmPeerProcess(name: "swarm-c\(k + 1)", peers: share, address: coordinator.address, role: role, curve: childCurve, protocolVersion: protocolVersion)
        }
        defer { for child in children where !child.hasExited { _ = try? child.stop(timeout: 5) } }
        try drive(swarm, coordinator, "the child processes' peers", timeout: 60 + Double(peers - own) / 100,
                  progress: { "\(children.filter { $0.isReady }.count) of \(children.count) processes ready" }) {
            if let dead = children.first(where: { $0.hasExited }) { throw CommandFailure("bench swarm: peer process \(dead.name) exited before its peers were ready") }
            return children.allSatisfy { $0.isReady }
        }
        if !children.isEmpty { try drive(swarm, coordinator, "settling", timeout: 3) { false } }

        // Idle: every peer only heartbeats (parked or holding; or polls, with a coordinator that
        // answers NoWork); status queries among them.
        swarm.resetBeats()
        let idleNoWork = swarm.noWorkAnswers
        let idleCPU = coordinator.cpuSeconds()
        let idleStart = monotonicMilliseconds()
        var statusTimes: [Double] = []
        var lastQuery: (sent: UInt64, at: Date)?
        try drive(swarm, coordinator, "the idle phase", timeout: idleSeconds + 30, extra: {
            _ = status.receiveAll(0) { body in
                if case .statusReply = body, let q = lastQuery { statusTimes.append(Date().timeIntervalSince(q.at) * 1000); lastQuery = nil }
            }
            if lastQuery == nil || monotonicMilliseconds() - lastQuery!.sent >= 100, statusTimes.count + (lastQuery == nil ? 0 : 1) < statusQueries {
                if lastQuery == nil {
                    status.send(.statusQuery(Pointe_Cluster_StatusQuery()), from: 0)
                    lastQuery = (monotonicMilliseconds(), Date())
                }
            }
        }) { monotonicMilliseconds() - idleStart >= UInt64(idleSeconds * 1000) && statusTimes.count >= statusQueries }
        let idleSpent = coordinator.cpuSeconds() - idleCPU
        let idleWall = Double(monotonicMilliseconds() - idleStart) / 1000
        statusTimes.sort()
        func pct(_ p: Double) -> Double { statusTimes[min(statusTimes.count - 1, Int(Double(statusTimes.count - 1) * p))] }
        print(String(format: "idle: coordinator CPU %.1f%% of a core (%.2f s in %.1f s), %.2f µs per peer-second; status p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d queries, %d over 100 ms); NoWork answers %d",
                     100 * idleSpent / idleWall, idleSpent, idleWall, 1e6 * idleSpent / idleWall / Double(peers),
                     pct(0.5), pct(0.99), statusTimes.last ?? 0, statusTimes.count, statusTimes.filter { $0 > 100 }.count, swarm.noWorkAnswers - idleNoWork))
        printBeats(swarm, "idle")

        if role == .worker {
            // Hand-out: the holders hand back their shards at once; the parked half gets them.
            swarm.resetBeats()
            let handoutStart = monotonicMilliseconds()
            for i in 0..<holders { swarm.handBack(i) }
            let parked = holders..<own
            try drive(swarm, coordinator, "the hand-out to parked peers", timeout: 120) { swarm.peers[parked].allSatisfy { $0.shard != nil } }
            print(String(format: "hand-out: %d shards queued at once reached %d parked peers in %.3f s", holders, own - holders,
                         Double(monotonicMilliseconds() - handoutStart) / 1000))
            // Flow: every shard's cloud comes back; the job ends.
            let flowCPU = coordinator.cpuSeconds()
            let flowStart = monotonicMilliseconds()
            for i in parked { swarm.deliver(i) }
            try drive(swarm, coordinator, "the results", timeout: 600) { coordinator.hasExited || swarm.peers.allSatisfy(\.finished) }
            let flowSpent = coordinator.cpuSeconds(orLast: true) - flowCPU
            print(String(format: "flow: %d results in %.2f s, coordinator CPU %.2f s: %.2f ms per result", swarm.resultsSent,
                         Double(monotonicMilliseconds() - flowStart) / 1000, flowSpent, 1000 * flowSpent / Double(max(swarm.resultsSent, 1))))
            printBeats(swarm, "hand-out and flow")
        }
        var lost = swarm.lostPeers
        for child in children {
            let seen = try child.stop()
            lost += seen.lost
            print("peer process \(child.name): \(seen.welcomed) of \(seen.peers) welcomed, \(seen.lost) lost, heartbeats \(seen.beatsEchoed) echoed (p50 \(seen.beatP50Ms) ms, p99 \(seen.beatP99Ms) ms, \(seen.lateBeats) late), \(seen.shardsReceived) shards received, \(seen.noWorkAnswers) NoWork answers, \(seen.undecodable) undecodable frames")
        }
        print("peers lost (asked who they are): \(lost) (\(swarm.lostPeers) of this process's); hellos said again (unanswered for 5 s): \(swarm.hellosRepeated); NoWork answers in all: \(swarm.noWorkAnswers); undecodable frames: \(swarm.undecodable)")
        if !swarm.unexpected.isEmpty { print("unexpected messages: \(swarm.unexpected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))") }
    }

    /// Heartbeat echoes of a phase, as this process saw them (its own delays included: on a
    /// small machine the bench and the coordinator share the cores).
    func printBeats(_ swarm: SwarmRun, _ phase: String) {
        print(String(format: "heartbeats (%@): %d echoed, p50 %d ms, p99 %d ms, %d later than the %d ms interval", phase,
                     swarm.beatLatencies.count, swarm.beatPercentile(0.5), swarm.beatPercentile(0.99), swarm.lateBeats, swarm.heartbeatMs))
    }

    /// Runs the swarm until `done` holds, failing with `what` after `timeout` seconds or when
    /// the coordinator exits first.
    func drive(_ swarm: SwarmRun, _ coordinator: SwarmProcess, _ what: String, timeout: Double,
               progress: () -> String = { "" }, extra: () -> Void = {}, until done: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !done() {
            if Date() > deadline {
                if what == "settling" { return }
                let state = progress()
                throw CommandFailure("bench swarm: waited \(Int(timeout)) s for \(what)" + (state.isEmpty ? "" : " (\(state))"))
            }
            if coordinator.hasExited { throw CommandFailure("bench swarm: the coordinator exited (\(coordinator.exitDescription)) while waiting for \(what)") }
            swarm.pump(now: monotonicMilliseconds())
            extra()
            swarm.sockets.waitAny(timeoutMs: 5)
        }
    }
}
