import ArgumentParser
import Foundation
import PointEModels
import PointEEval
import PointEEngine
import PointECluster
import PointEClusterBase
import PointEJob
import PointEWire
import PointETensor

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a whole job on this machine: a coordinator plus local worker processes, one progress line.",
        discussion: """
        `pointe run prompts.txt -o out/` creates out/ and samples every prompt; `pointe run -o out/` \
        (or the same command again) resumes a job directory: finished outputs are verified by \
        checksum and kept, interrupted shards run again, and --retry-failed gives failed prompts a \
        new budget. Exits 0 when every prompt is done, 1 with a list of the failed ones otherwise.

        Examples:
          pointe run prompts.txt -o out/
          pointe run -o out/                      (resume: the job keeps its settings)
          pointe run longer.txt -o out/ --add-prompts
          pointe run prompts.txt -o out/ --workers 2 --threads 4 --mesh-formats glb,ply
        """)

    @Argument(help: "Prompt file (omit when resuming).") var prompts: String?
    @OptionGroup var job: JobOptions
    @Option(name: .customLong("models-dir"), help: "Directory holding the model files. Default: the one the job in -o was last run with (it remembers it), else the model cache (\(ModelCache.defaultDescription)), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    @Option(parsing: .unconditional, help: "Local worker processes (default: the usable cores / --threads; with neither, the usable cores / \(CoreSplit.defaultThreadsPerWorker), the best split `pointe bench throughput` measured).")
    var workers: Int?
    @Option(parsing: .unconditional, help: "Threads of each local worker, each worker pinned to that many CPUs of its own (default: the usable cores / --workers, at least 1; with neither, \(CoreSplit.defaultThreadsPerWorker)).")
    var threads: Int?
    @Option(help: "CPUs this run and its workers use, a list like 0-7 (default: every CPU this process may use, up to its cgroup CPU quota).")
    var cpus: String?
    @Option(parsing: .unconditional, help: "Local mesher processes (default: 1 when the job makes meshes).") var meshers: Int?
    @Option(parsing: .unconditional, help: "Prompts each worker samples together.") var batch = 4
    @Option(parsing: .unconditional, help: "Restarts of each local worker or mesher that crashes, before the job stops.") var restartBudget = 5
    @Option(help: "When the job is done, score it: P-FID against these reference clouds (a batch .npz, a directory or a job directory) and P-IS, with pointnet.pt from --models-dir.")
    var eval: String?
    @Option(help: "ZeroMQ endpoint of the embedded coordinator. Default: an ipc socket in the job directory that only this user can reach; give tcp://HOST:PORT with --curve-key and --allow-keys to let other machines join.")
    var bind: String?
    @OptionGroup var security: CoordinatorSecurityOptions
    @OptionGroup var logging: LogOptions

    func validate() throws {
        do { try CoreSplit.check(workers: workers, threads: threads) } catch { throw ValidationError("\(error)") }
        try OptionBounds.check(meshers, OptionBounds.localPeers, "--meshers")
        // Over the private ipc socket only this run's own workers can ever connect: none would
        // wait forever (it did, saying "0 workers" every 10 s).
        if workers == 0, bind == nil {
            throw ValidationError("--workers 0 leaves the job to workers of other machines, which cannot reach the private ipc socket: give --workers 1 or more, or --bind tcp://HOST:PORT (with --curve-key and --allow-keys) for workers to connect with `pointe worker --connect`")
        }
        try OptionBounds.check(batch, OptionBounds.batch, "--batch")
        try OptionBounds.check(restartBudget, OptionBounds.restartBudget, "--restart-budget")
        if let cpus { do { _ = try CPUSet(parsing: cpus) } catch { throw ValidationError("--cpus: \(error)") } }
    }

    func run() throws {
        try logging.apply()
        if let cpus {
            // Pinning this process pins the workers it starts too (they inherit it), before
            // each takes its share.
            do { try CPUSet(parsing: cpus).pinProcess() } catch { throw CommandFailure("--cpus \(cpus): \(error)") }
        }
        let usable = MachineCores.usableCPUs()
        let split = try CoreSplit.resolve(workers: workers, threads: threads, cores: usable.count)
        // Warned, not refused: the clouds are the same (bit for bit) however the cores are
        // shared, and a job resumed by the same command on a smaller machine must still run.
        if split.workers > 0, let why = split.oversubscription(cores: usable.count) { printError("pointe run: warning: \(why)") }
        let resuming = JobDirectory(job.output).exists
        if let eval, !resuming {
            // Found before the job is made, not after it has been sampled and meshed (a resumed
            // job's models directory is known once it is open, below).
            try checkEval(eval, modelsDir: JobModels.resolve(option: modelsDirOption, recorded: nil).path)
        }
        let log = ClusterLog(role: "coordinator", quiet: true)
        // Local workers and meshers authenticate with the coordinator's own key pair.
        let ownKeys = try security.curveKey.map { try CurveKeyPair.load($0) }
        let coordinator = try job.openJob(prompts: prompts, bind: bind, transport: try security.transport(alsoAllow: ownKeys.map { [$0] } ?? []), log: log,
                                          local: JobOptions.LocalPeers(modelsOption: modelsDirOption, meshers: meshers))
        // What openJob resolved and recorded: --models-dir, else the job's own directory.
        let modelsDir = JobModels.resolve(option: modelsDirOption, recorded: try coordinator.store.info().modelsDirectory).path
        if let eval, resuming { try checkEval(eval, modelsDir: modelsDir) }
        let atStart = try coordinator.store.counts()
        if atStart.pending == 0 {
            print("\(coordinator.directory.path): the job is already \(atStart.failed == 0 ? "complete" : "finished"): nothing to sample or mesh")
        }
        let childSecurity: [String] = (security.curveKey.map { ["--curve-key", $0, "--server-key", $0] } ?? (security.insecure ? ["--insecure"] : []))
            + (logging.logFormat.map { ["--log-format", $0] } ?? [])
        if resuming, !job.quiet {
            // Said once, so that a resumed run is not taken for a new one.
            printError("pointe run: resuming \(coordinator.directory.path): \(atStart.pending) of \(counted(atStart.total, "prompt")) to go (\(atStart.done) done, \(atStart.failed) failed)")
        }
        let meshing = !coordinator.info.meshFormats.isEmpty
        let meshCount = meshing ? (meshers ?? 1) : 0
        // Workers load what the job's open prompts need at start, so a file that does not load
        // fails the job at once (PeerExitStatus.cannotLoadModels) instead of every shard.
        let open = try coordinator.store.prompts(status: [.pending])
        let needs = ModelDirectory.needs(for: open.map { ($0.input.promptKind, $0.settings) }, meshing: false)
        let preload = needs.models.flatMap { ["--preload", $0.rawValue] } + (needs.clip ? ["--clip"] : [])
        let placement = LocalPlacement(cpus: usable, split: split, meshers: meshCount)
        let serving = LocalJobServing(modelsDir: modelsDir, placement: placement, peerArguments: childSecurity,
                                      workerArguments: ["--batch", String(batch)] + preload, restartBudget: restartBudget, quiet: job.quiet)
        let (counts, drained) = try serving.serve(coordinator)
        if drained {
            print("\(coordinator.directory.path): drained with \(counts.done)/\(counts.total) prompts done; run the same command to resume")
            return
        }
        try reportEnd(counts, directory: coordinator.directory, store: coordinator.store)
        if let reference = eval { try score(job: coordinator.directory.path, reference: reference, modelsDir: modelsDir) }
    }

    /// --eval's PointNet++ and reference clouds are there.
    func checkEval(_ reference: String, modelsDir: String) throws {
        do { _ = try ModelDirectory(modelsDir).pointNetFile() } catch { throw CommandFailure("--eval: \(error)") }
        guard FileManager.default.fileExists(atPath: reference) else { throw CommandFailure("--eval \(reference): no such file or directory") }
    }

    /// P-FID / P-IS of the finished job's clouds (the manifest's, in prompt order).
    func score(job: String, reference: String, modelsDir: String) throws {
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
                   detail: "\(c.done) done, \(c.failed) failed, \(counted(p.workers, "worker"))" + (p.meshingNote.map { ", \($0)" } ?? ""))
    }

    func finish() { progress?.finish() }
}
