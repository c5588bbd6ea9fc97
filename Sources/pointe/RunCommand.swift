import ArgumentParser
import Foundation
import PointEModels
import PointEEval
import PointEEngine
import PointECluster

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a whole job on this machine: a coordinator plus local worker processes, one progress line.",
        discussion: """
        `pointe run prompts.txt -o out/` creates out/ and samples every prompt; `pointe run -o out/` \
        (or the same command again) resumes a job directory: finished outputs are verified by \
        checksum and kept, interrupted shards run again, and --retry-failed gives failed prompts a \
        new budget. Exits 0 when every prompt is done, 1 with a list of the failed ones otherwise.
        """)

    @Argument(help: "Prompt file (omit when resuming).") var prompts: String?
    @OptionGroup var job: JobOptions
    @Option(name: .customLong("models-dir"), help: "Directory holding the model files. Default: the model cache ($POINTE_HOME, else ~/.cache/pointe), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    var modelsDir: String { modelsDirOption ?? ModelCache.defaultDirectory() }
    @Option(help: "Local worker processes (default: one per 8 cores).") var workers: Int?
    @Option(help: "Local mesher processes (default: 1 when the job makes meshes).") var meshers: Int?
    @Option(help: "Prompts each worker samples together.") var batch = 4
    @Flag(help: "Workers load CLIP at start (they load it anyway when the first text or image prompt needs it).") var clip = false
    @Option(help: "When the job is done, score it: P-FID against these reference clouds (a batch .npz, a directory or a job directory) and P-IS, with pointnet.pt from --models-dir.")
    var eval: String?
    @Option(help: "ZeroMQ endpoint of the embedded coordinator. Default: an ipc socket in the job directory that only this user can reach; give tcp://HOST:PORT with --curve-key and --allow-keys to let other machines join.")
    var bind: String?
    @OptionGroup var security: CoordinatorSecurityOptions
    @OptionGroup var logging: LogOptions

    func run() throws {
        try logging.apply()
        let count = workers ?? max(1, ProcessInfo.processInfo.activeProcessorCount / 8)
        guard count >= 0 else { throw CommandFailure("--workers must be >= 0") }
        let log = ClusterLog(role: "coordinator", quiet: true)
        // Local workers and meshers authenticate with the coordinator's own key pair.
        let ownKeys = try security.curveKey.map { try CurveKeyPair.load($0) }
        let coordinator = try job.openJob(prompts: prompts, bind: bind, transport: try security.transport(alsoAllow: ownKeys.map { [$0] } ?? []), log: log)
        let childSecurity: [String] = (security.curveKey.map { ["--curve-key", $0, "--server-key", $0] } ?? (security.insecure ? ["--insecure"] : []))
            + (logging.logFormat.map { ["--log-format", $0] } ?? [])
        let meshing = !coordinator.info.meshFormats.isEmpty
        let meshCount = meshers ?? (meshing ? 1 : 0)
        if meshing {
            guard meshCount > 0 else { throw CommandFailure("this job makes meshes (\(coordinator.info.meshFormats.map(\.rawValue).joined(separator: ","))): it needs --meshers 1 or more") }
            guard ModelDirectory(modelsDir).has(.sdf) else {
                throw CommandFailure("meshing needs the SDF model in \(modelsDir) (sdf.pt or sdf.safetensors + sdf.json; \(ModelDirectory.howToGet("sdf"))); or create the job with --mesh-formats none")
            }
        }
        let stop = SignalFlag()
        var children: [Process] = []
        defer {
            // Workers get SIGTERM (they hand back any shard) and are reaped.
            for child in children where child.isRunning { child.terminate() }
            for child in children { child.waitUntilExit() }
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let bar = JobProgressLine()
        var localWorkers: [Process] = []
        // Local workers that all exited (e.g. a model failed to load) would leave the job waiting forever.
        // (Workers exit 0 when told the job is finished; any other end means they failed.)
        let workersGone = {
            count > 0 && localWorkers.count == count && localWorkers.allSatisfy { !$0.isRunning }
                && localWorkers.contains { $0.terminationStatus != 0 || $0.terminationReason == .uncaughtSignal }
        }
        let counts = try coordinator.run(shouldStop: { stop.isRaised || workersGone() }, onListening: { address in
            for _ in 0..<count {
                let child = Process()
                child.executableURL = executable
                child.arguments = ["worker", "--connect", address, "--models-dir", modelsDir, "--batch", String(batch),
                                   "--parent-pid", String(getpid()), "--coordinator-timeout-ms", "30000", "--quiet"] + (clip ? ["--clip"] : []) + childSecurity
                try child.run()
                children.append(child)
                localWorkers.append(child)
            }
            for _ in 0..<(meshing ? meshCount : 0) {
                let child = Process()
                child.executableURL = executable
                child.arguments = ["mesher", "--connect", address, "--models-dir", modelsDir,
                                   "--parent-pid", String(getpid()), "--coordinator-timeout-ms", "30000", "--quiet"] + childSecurity
                try child.run()
                children.append(child)
            }
        }, onProgress: { bar.update($0) })
        bar.finish()
        if workersGone() {
            printError("all \(count) local worker(s) exited (status \(localWorkers.map { String($0.terminationStatus) }.joined(separator: ", "))) before the job ended; run the same command to resume")
            throw ExitCode(1)
        }
        if stop.isRaised { printError("stopped by signal; run the same command to resume"); throw ExitCode(130) }
        if coordinator.drained {
            print("\(coordinator.directory.path): drained with \(counts.done)/\(counts.total) prompts done; run the same command to resume")
            return
        }
        try reportEnd(counts, directory: coordinator.directory, store: coordinator.store)
        if let reference = eval { try score(job: coordinator.directory.path, reference: reference) }
    }

    /// P-FID / P-IS of the finished job's clouds (the manifest's, in prompt order).
    func score(job: String, reference: String) throws {
        let pointnet = try ModelDirectory(modelsDir).pointNetFile()
        let evaluator = PointNetEvaluator(model: try PointNetClassifier.load(checkpoint: pointnet))
        let result = try CloudSetScore.compute(generated: job, reference: reference, evaluator: evaluator) { path, done, total in
            printError("  \(path): features \(done)/\(total)")
        }
        print("clouds \(result.count)")
        if let pfid = result.pfid { print(String(format: "P-FID %.6f", pfid)) }
        print(String(format: "P-IS %.6f", result.pis))
    }
}

/// One progress line for the whole job (prompts finished/total, failures, rate, ETA) through
/// the shared `TerminalProgress`: redrawn on a terminal, periodic log lines otherwise.
final class JobProgressLine {
    private var progress: TerminalProgress?

    func update(_ p: JobProgress) {
        let c = p.counts
        let bar = progress ?? TerminalProgress(label: "job", total: Double(c.total), unit: .count("prompts"))
        progress = bar
        bar.update(done: Double(c.done + c.failed), total: Double(c.total),
                   detail: "\(c.done) done, \(c.failed) failed, \(p.workers) workers")
    }

    func finish() { progress?.finish() }
}
