import ArgumentParser
import Foundation
import PointECheckpoint
import PointECluster
import PointEClusterBase
import PointEJob
import PointEDiffusion
import PointEEngine
import PointEModels
import PointETensor

/// The coordinator's own cost, and how it grows with the job: many workers in this process over
/// ZeroMQ on 127.0.0.1, each sampling with the tiny random base model at 1 step, so nearly all
/// time is dispatch, transport, atomic fsync'd writes, checksums, the job store, the manifest
/// and the report. The job is measured at its start (the first `--sample` results) and at its
/// end (the last `--sample`): the prompts in between are marked done in the store directly,
/// each with its own (hard-linked) output files, so a 10^6-prompt job's end is measured
/// without sampling 10^6 prompts. Meshing is not part of it (no meshers run). The workers'
/// threads run at nice 10 (see measuredRun).
struct BenchCoordinator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Coordinator cost at the start and the end of a job of --prompts prompts: creation, results/s, status latency, CPU per result, memory, resume.")

    @Option(help: "Concurrent workers (threads of this process, one connection each).") var peers = 16
    @Option(help: "Prompts in the job.") var prompts = 1000
    @Option(help: "Prompts per shard.") var shardSize = 1
    @Option(help: "Results measured at the start and at the end of the job.") var sample = 500
    @Option(help: "One status query every this many milliseconds during each measured run.") var statusIntervalMs = 50
    @Option(help: "Job directory parent (default: a temporary directory, removed afterwards).") var workDir: String?

    func validate() throws {
        // The start overshoots its sample a little (results in flight when the drain begins).
        guard sample > 0, prompts >= 4 * sample else { throw ValidationError("--prompts (\(prompts)) must be at least four times --sample (\(sample))") }
    }

    func run() throws {
        let root = workDir ?? NSTemporaryDirectory() + "pointe-bench-coordinator-\(getpid())"
        defer { if workDir == nil { try? FileManager.default.removeItem(atPath: root) } }
        let models = root + "/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        let model = ReleasedModel.base40MUncond
        try PointEModel.writeRandom(model.rawValue, config: model.tinyNetworkConfig, seed: 0, directory: models)

        let directory = JobDirectory(root + "/job")
        let creationSeconds = try createJob(directory)
        print("prompts \(prompts), peers \(peers), shard size \(shardSize), sample \(sample) results at the start and at the end")
        print(String(format: "job creation: %.2f s", creationSeconds))

        let start = try measuredRun(directory, models: models, stopAfter: sample)
        start.print("start")
        let half = try prefill(directory, below: prompts / 2)
        let resume = try timedResume(directory)
        print(String(format: "resume with %d done (%d prefilled): %.2f s (verify %d prompts' outputs %.2f s, manifest %d lines %.2f s)",
                     resume.report.verifiedPrompts, half, resume.seconds, resume.report.verifiedPrompts, resume.report.verificationSeconds,
                     resume.report.manifestLines, resume.report.manifestSeconds))
        try prefill(directory, below: prompts - sample)
        // The coordinator would have written the prefilled prompts' pages as they landed.
        let caughtUp = Clock.now
        let rewritten = try directory.refreshReport()
        print(String(format: "report brought up to date after the prefill (not measured below): %d pages in %.2f s", rewritten, Clock.seconds(since: caughtUp)))
        let end = try measuredRun(directory, models: models, stopAfter: nil)
        end.print("end")
        print(String(format: "per-result coordinator CPU, end / start: %.2fx; results/s, end / start: %.2fx", end.cpuPerResultMs / start.cpuPerResultMs, end.rate / start.rate))
        print(String(format: "peak RSS (whole process: coordinator and %d workers): %.0f MB", peers, Double(Self.peakResidentBytes()) / 1e6))
        let page = (try? FileManager.default.attributesOfItem(atPath: directory.file("index.html"))[.size] as? Int) ?? nil
        let pages = (try? FileManager.default.contentsOfDirectory(atPath: directory.file("report")))?.filter { $0.hasPrefix("page-") } ?? []
        let largest = pages.compactMap { try? FileManager.default.attributesOfItem(atPath: directory.file("report/" + $0))[.size] as? Int }.max() ?? 0
        print("report: index.html \(page.map(String.init) ?? "missing") bytes, \(pages.count) pages, largest \(largest) bytes")
    }

    /// Creates the job (the prompt list freed afterwards) and returns the seconds the job store took.
    func createJob(_ directory: JobDirectory) throws -> Double {
        let settings = SamplingSettings(model: .base40MUncond, upsample: false, steps: 1, guidance: 0, sampler: .eulerAncestral)
        let entries = (0..<prompts).map { PromptEntry(id: String(format: "p%07d", $0), input: .text("prompt \($0)"), seed: nil, settings: settings, line: $0 + 1) }
        let created = Clock.now
        try Coordinator.createJob(at: directory, prompts: entries, seed: 0, shardSize: shardSize, retryBudget: 3, promptFile: "bench")
        return Clock.seconds(since: created)
    }

    struct Measured {
        var results = 0
        var rate = 0.0
        var cpuPerResultMs = 0.0
        var statusMs: [Double] = []
        var unanswered = 0
        var resumeSeconds = 0.0
        /// Results whose preview the coordinator had to render (workers send theirs).
        var previewsRendered = 0

        func print(_ label: String) {
            let sorted = statusMs.sorted()
            func percentile(_ p: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            Swift.print(String(format: "%@: %d results stored, %.0f results/s, coordinator CPU %.2f ms/result, status p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d queries, %d unanswered within 2 s), opened in %.2f s, %d previews rendered by the coordinator",
                               label, results, rate, cpuPerResultMs, percentile(0.5), percentile(0.99), sorted.last ?? .nan, statusMs.count, unanswered, resumeSeconds, previewsRendered))
        }
    }

    /// Runs the coordinator with `peers` workers until `stopAfter` more results are stored (then
    /// drains it) or to the job's end, querying its status all along.
    func measuredRun(_ directory: JobDirectory, models: String, stopAfter: Int?) throws -> Measured {
        var options = CoordinatorOptions()
        options.bind = "tcp://127.0.0.1:*"
        options.log = ClusterLog(role: "coordinator", quiet: true)
        let opened = Clock.now
        let coordinator = try Coordinator(directory: directory, options: options)
        try coordinator.recover()
        // To the end: every prompt still pending.
        let wanted = try stopAfter ?? coordinator.store.counts().pending
        var measured = Measured(resumeSeconds: Clock.seconds(since: opened))
        let probe = StatusProbe(intervalMs: statusIntervalMs)
        let group = DispatchGroup()
        var samples: [(seconds: Double, stored: Int)] = []
        var address = "", drainAsked = false
        let began = Clock.now
        _ = try coordinator.run(onListening: { bound in
            address = bound
            probe.start(address)
            for _ in 0..<peers {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    // Workers of a real job run on other machines: here they run at a lower
                    // priority, so the coordinator's latencies are its own, not the scheduler's
                    // sharing two cores with 16 sampling threads.
                    setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)  // who 0: this thread (nice is per thread on Linux)
                    var workerOptions = WorkerOptions()
                    workerOptions.connect = bound
                    workerOptions.log = ClusterLog(role: "worker", quiet: true)
                    _ = try? Worker(engine: PointEEngine(models: ModelDirectory(models), maxBatch: 1), options: workerOptions).run()
                }
            }
        }, onProgress: { progress in
            // Querying ends with the measured work (the coordinator still answers while it says goodbye).
            if progress.counts.pending == 0 && progress.counts.shardsRunning == 0 { probe.finish() }
            guard !drainAsked else { return }
            samples.append((Clock.seconds(since: began), coordinator.resultsStored))
            if let stopAfter, coordinator.resultsStored >= stopAfter {
                drainAsked = true
                probe.finish()
                let target = address
                Thread.detachNewThread { _ = try? DrainClient.request(target, reason: "bench: sample taken", timeoutMs: 5000) }
            }
        })
        (measured.statusMs, measured.unanswered) = probe.stop()
        group.wait()
        measured.results = coordinator.resultsStored
        guard measured.results >= wanted else { throw CommandFailure("only \(measured.results)/\(wanted) results were stored") }
        // The rate between 10% and 90% of the results: worker start-up and the job's tail left out.
        let window = samples.filter { $0.stored >= wanted / 10 && $0.stored <= wanted * 9 / 10 }
        if let first = window.first, let last = window.last, last.seconds > first.seconds {
            measured.rate = Double(last.stored - first.stored) / (last.seconds - first.seconds)
        }
        measured.previewsRendered = coordinator.previewsRendered
        measured.cpuPerResultMs = (coordinator.loopCPUSeconds + coordinator.reportCPUSeconds) * 1000 / Double(measured.results)
        return measured
    }

    /// Opens the job and runs its resume repairs (verification, manifest rewrite), timed.
    func timedResume(_ directory: JobDirectory) throws -> (seconds: Double, report: Coordinator.RecoveryReport) {
        var options = CoordinatorOptions()
        options.log = ClusterLog(role: "coordinator", quiet: true)
        let opened = Clock.now
        let report = try Coordinator(directory: directory, options: options).recover()
        return (Clock.seconds(since: opened), report)
    }

    /// Marks the pending prompts below `end` done, each with hard links to the files of a
    /// prompt the workers sampled (same bytes and checksums, a path of its own; the sampled
    /// prompts take turns, as a file takes at most 65,000 links on ext4).
    @discardableResult
    func prefill(_ directory: JobDirectory, below end: Int) throws -> Int {
        let store = try JobStore(path: directory.store)
        let models = try store.prompts(status: [.done], afterIndex: -1, limit: 200).filter { $0.worker != "bench-prefill" }
        guard !models.isEmpty else { throw CommandFailure("no sampled prompt to copy outputs from") }
        let sources = try store.outputs(promptIDs: models.map(\.id))
        var failure: String?, turn = 0
        let marked = try store.prefillDone(below: end, worker: "bench-prefill") { id in
            let model = models[turn % models.count]
            turn += 1
            return (sources[model.id] ?? []).map { output in
                let path = output.path.replacingOccurrences(of: model.id, with: id)
                unlink(directory.file(path))
                if link(directory.file(output.path), directory.file(path)) != 0, failure == nil {
                    failure = "\(directory.file(path)): cannot link: \(systemErrorText())"
                }
                return JobStore.Output(kind: output.kind, path: path, sha256: output.sha256, bytes: output.bytes)
            }
        }
        if let failure { throw CommandFailure(failure) }
        return marked
    }

    static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}

/// Wall-clock seconds for the bench's phases.
private enum Clock {
    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func seconds(since start: UInt64) -> Double { Double(now - start) / 1e9 }
}

/// Asks a coordinator for its status every `intervalMs` from a thread of its own (a fresh
/// connection each time, as `pointe status` makes) and records how long each answer took.
private final class StatusProbe: @unchecked Sendable {
    private let intervalMs: Int
    private let lock = NSLock()
    private var latencies: [Double] = []
    private var unanswered = 0
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(intervalMs: Int) { self.intervalMs = intervalMs }

    func start(_ address: String) {
        Thread.detachNewThread { [self] in
            while !lock.withLock({ stopping }) {
                let sent = Clock.now
                let reply = try? StatusClient.query(address, timeoutMs: 2000)
                let ms = Clock.seconds(since: sent) * 1000
                lock.withLock { if reply == nil { unanswered += 1 } else { latencies.append(ms) } }
                usleep(useconds_t(intervalMs * 1000))
            }
            finished.signal()
        }
    }

    /// No query after the one in flight.
    func finish() { lock.withLock { stopping = true } }

    func stop() -> (latencies: [Double], unanswered: Int) {
        finish()
        finished.wait()
        return lock.withLock { (latencies, unanswered) }
    }
}
