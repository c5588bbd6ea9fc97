import ArgumentParser
import Foundation
import PointECluster
import PointEDiffusion
import PointEEngine
import PointEModels

/// Options shared by `pointe coordinator` and `pointe run`: how a job is created and served.
struct JobOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Job directory (created, or resumed if it holds a job).") var output: String
    @Option(help: "Job seed: prompt i gets a seed derived from (job seed, i) unless its line sets one.") var seed: UInt64 = 0
    @Option(help: "Prompts per shard.") var shardSize = 4
    @Option(help: "Attempts per shard before its remaining prompts are marked failed.") var retryBudget = 3
    @Option(help: "Base model (default settings of every prompt).") var model: ReleasedModel = SamplingSettings().model
    @Flag(inversion: .prefixedNo, help: "Add the upsampler stage.") var upsample = true
    @Option(help: "Sampling steps per stage.") var steps = SamplingSettings.referenceSteps
    @Option(help: "Guidance scale (the base stage; the upsampler too for image prompts).") var guidance = SamplingSettings.referenceGuidance
    @Option(help: "How each stage is sampled.") var sampler: SamplerKind = .reference
    @Option(help: "Bad prompt lines (invalid UTF-8, over-long, bad JSON): stop or skip.") var badLines = "stop"
    @Option(help: "Longest prompt line in bytes.") var maxLineBytes = 16 * 1024
    @Flag(help: "Resuming: give failed prompts a fresh retry budget.") var retryFailed = false
    @Option(help: "Milliseconds without a message before a peer is declared lost.") var peerTimeoutMs: UInt64 = 15_000
    @Option(help: "Mesh formats for every cloud (comma list of glb, ply, obj; none: no meshing).") var meshFormats = MeshFormatList([.glb])
    @Option(help: "SDF grid samples per axis for meshes.") var meshGrid = CloudMeshingEngine.Settings.referenceGridSize
    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (all interfaces).") var metricsPort: Int?
    @Option(help: "Rewrite Prometheus metrics into this file every second (e.g. for node_exporter's textfile collector).") var metricsFile: String?
    @Flag(help: "Only warnings on standard error.") var quiet = false


    var settings: SamplingSettings {
        SamplingSettings(model: model, upsample: upsample, steps: steps, guidance: guidance, sampler: sampler)
    }

    /// Creates the job from `prompts` if the directory has none, then opens it for serving on
    /// `bind` (nil: the job directory's private ipc socket, reachable by this user only).
    func openJob(prompts: String?, bind: String?, transport: TransportOptions, log: ClusterLog, exitWhenDone: Bool = true) throws -> Coordinator {
        let directory = JobDirectory(output)
        if !directory.exists {
            guard let prompts else { throw CommandFailure("\(output) holds no job yet: give a prompt file") }
            guard let policy = PromptFile.Policy(rawValue: badLines) else { throw CommandFailure("--bad-lines: stop or skip, not \(badLines)") }
            let parsed = try PromptFile(maxLineBytes: maxLineBytes, policy: policy).read(prompts, defaults: settings)
            for issue in parsed.issues { log.warning("\(prompts): \(issue)") }
            let info = try Coordinator.createJob(at: directory, prompts: parsed.prompts, seed: seed, shardSize: shardSize,
                                                 retryBudget: retryBudget, promptFile: prompts, meshFormats: meshFormats.formats, meshGrid: meshGrid)
            log.info("created job \(info.jobID) in \(directory.path): \(parsed.prompts.count) prompts")
        } else if prompts != nil {
            log.info("\(directory.path) already holds a job: resuming it (the prompt file is not read again)")
        }
        var options = CoordinatorOptions()
        options.bind = try bind ?? directory.privateEndpoint()
        options.transport = transport
        options.peerTimeoutMs = peerTimeoutMs
        options.log = log
        options.exitWhenDone = exitWhenDone
        options.metricsPort = metricsPort
        options.metricsFile = metricsFile
        let coordinator = try Coordinator(directory: directory, options: options)
        try coordinator.recover(retryFailed: retryFailed)
        return coordinator
    }
}

struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Serve a job to workers over ZeroMQ until every prompt is done or failed.",
        discussion: """
        Creates the job directory from PROMPTS (plain text, one prompt a line, or JSON Lines with \
        prompt|image|embedding, id, seed, model, upsample, steps, guidance, sampler), or resumes \
        the job already there. Workers connect with `pointe worker --connect ADDR`.
        """)

    @Argument(help: "Prompt file (omit when resuming).") var prompts: String?
    @OptionGroup var job: JobOptions
    @Option(help: "ZeroMQ endpoint to bind.") var bind = "tcp://127.0.0.1:5555"
    @Flag(help: "Keep serving (status queries) after the job ends instead of exiting.") var keepServing = false
    @OptionGroup var security: CoordinatorSecurityOptions
    @OptionGroup var logging: LogOptions

    func run() throws {
        try logging.apply()
        let log = ClusterLog(role: "coordinator", quiet: job.quiet)
        let coordinator = try job.openJob(prompts: prompts, bind: bind, transport: try security.transport(), log: log, exitWhenDone: !keepServing)
        let stop = SignalFlag()
        let counts = try coordinator.run(shouldStop: { stop.isRaised })
        if stop.isRaised { log.info("stopped by signal; resume with the same command"); throw ExitCode(130) }
        if coordinator.drained {
            print("\(coordinator.directory.path): drained with \(counts.done)/\(counts.total) prompts done, \(counts.failed) failed, "
                + "\(counts.pending) pending; run the same command to resume")
            return
        }
        try reportEnd(counts, directory: coordinator.directory, store: coordinator.store)
    }
}

/// Prints the end-of-job summary; non-zero exit when any prompt failed.
func reportEnd(_ counts: JobStore.Counts, directory: JobDirectory, store: JobStore) throws {
    print("\(directory.path): \(counts.done)/\(counts.total) prompts done, \(counts.failed) failed (manifest: \(directory.manifest))")
    guard counts.failed == 0, counts.pending == 0 else {
        for prompt in try store.prompts(status: [.failed]) { printError("failed \(prompt.id): \(prompt.error ?? "")") }
        if counts.pending > 0 { printError("\(counts.pending) prompt(s) still pending") }
        printError("resume with --retry-failed to try the failed prompts again")
        throw ExitCode(1)
    }
}
