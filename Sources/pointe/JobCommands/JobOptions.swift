import ArgumentParser
import Foundation
import PointECluster
import PointEClusterBase
import PointEJob
import PointEWire
import PointEDiffusion
import PointEEngine
import PointEModels
import PointEMesh

extension PromptFile.Policy: ExpressibleByArgument {}

/// Options shared by `pointe coordinator` and `pointe run`: how a job is created and served.
/// The job's settings are optional here: a value not given is the job's own when it is reopened
/// and JobSettings' default when it is made; a value given that differs from the job's is
/// refused, never silently dropped.
struct JobOptions: ParsableArguments {
    static let defaults = JobSettings()

    @Option(name: .shortAndLong, help: "Job directory (created, or resumed if it holds a job).") var output: String
    @Option(parsing: .unconditional, help: "Job seed: prompt i gets a seed derived from (job seed, i) unless its line sets one (default: \(defaults.seed)).") var seed: UInt64?
    @Option(parsing: .unconditional, help: "Prompts per shard (default: \(defaults.shardSize)).") var shardSize: Int?
    @Option(parsing: .unconditional, help: "Attempts per shard before its remaining prompts are marked failed (default: \(defaults.retryBudget)).") var retryBudget: Int?
    @Option(help: "Base model of every prompt whose line names none (default: \(SamplingSettings.defaultModel(for: .text)) for text, \(SamplingSettings.defaultModel(for: .image)) for images).")
    var model: BaseModel?
    @Flag(inversion: .prefixedNo, help: "Add the upsampler stage (default: on).") var upsample: Bool?
    @Option(parsing: .unconditional, help: "Sampling steps per stage (default: \(defaults.prompts.steps)).") var steps: Int?
    @Option(parsing: .unconditional, help: "Sampling steps of the upsampler stage (default: the base stage's: --steps, or a line's \"steps\").") var upsampleSteps: Int?
    @Option(parsing: .unconditional, help: "Guidance scale: the base stage, and the upsampler too for image prompts (default: \(defaults.prompts.guidance)).") var guidance: Double?
    @Option(help: "How each stage is sampled (default: \(defaults.prompts.sampler)).") var sampler: SamplerKind?
    @Option(help: "Bad prompt lines (invalid UTF-8, control characters, over-long, bad JSON, a model that cannot take the prompt, an image that does not decode): stop or skip (default: \(defaults.badLines.rawValue)).")
    var badLines: PromptFile.Policy?
    @Option(parsing: .unconditional, help: "Longest prompt line in bytes (default: \(defaults.maxLineBytes)).") var maxLineBytes: Int?
    @Flag(help: "Resuming: give failed prompts a fresh retry budget.") var retryFailed = false
    @Flag(help: "Resuming with a prompt file that has grown: add its new prompts to the job (finished ones are kept).") var addPrompts = false
    @Option(parsing: .unconditional, help: "Milliseconds without a message before a peer is declared lost.") var peerTimeoutMs: UInt64 = 15_000
    @Option(help: "Mesh formats for every cloud: a comma list of \(MeshFormatList.names), or none for no meshing (default: glb).") var meshFormats: MeshFormatList?
    @Option(parsing: .unconditional, help: "SDF grid samples per axis for meshes (default: \(defaults.meshGrid)).") var meshGrid: Int?
    @Option(parsing: .unconditional, help: "Serve Prometheus metrics at http://HOST:PORT/metrics (all interfaces).") var metricsPort: Int?
    @Option(help: "Rewrite Prometheus metrics into this file every second (e.g. for node_exporter's textfile collector).") var metricsFile: String?
    @Flag(help: "Only warnings and errors on standard error (no progress).") var quiet = false

    /// The numeric options' bounds (the job's own settings are checked again, with their
    /// defaults, by JobSettings.validate when a job is made).
    func validate() throws {
        try OptionBounds.check(shardSize, 1...Int.max, "--shard-size")
        try OptionBounds.check(retryBudget, 1...1000, "--retry-budget")
        try OptionBounds.check(steps.flatMap(SamplingSettings.stepsProblem), "--steps")
        try OptionBounds.check(upsampleSteps.flatMap(SamplingSettings.stepsProblem), "--upsample-steps")
        try OptionBounds.check(guidance, atLeast: 0, "--guidance")
        try OptionBounds.check(maxLineBytes, 1...(64 << 20), "--max-line-bytes")
        try OptionBounds.check(peerTimeoutMs, 100...OptionBounds.timeoutMs.upperBound, "--peer-timeout-ms")
        try OptionBounds.check(meshGrid.flatMap(PointCloudMesher.gridSizeProblem), "--mesh-grid")
        try OptionBounds.check(metricsPort, 1...65535, "--metrics-port")
    }

    /// What this command line gave.
    var given: JobSettings.Given {
        var g = JobSettings.Given()
        g.seed = seed
        g.shardSize = shardSize
        g.retryBudget = retryBudget
        g.model = model?.model
        g.upsample = upsample
        g.steps = steps
        g.upsampleSteps = upsampleSteps
        g.guidance = guidance
        g.sampler = sampler
        g.badLines = badLines
        g.maxLineBytes = maxLineBytes
        g.meshFormats = meshFormats?.formats
        g.meshGrid = meshGrid
        return g
    }

    /// The option that gives a job setting (the one place the job's settings meet their flags).
    static func flag(_ setting: JobSettings.Setting) -> String {
        switch setting {
        case .seed: "--seed"
        case .shardSize: "--shard-size"
        case .retryBudget: "--retry-budget"
        case .model: "--model"
        case .upsample: "--upsample"
        case .steps: "--steps"
        case .upsampleSteps: "--upsample-steps"
        case .guidance: "--guidance"
        case .sampler: "--sampler"
        case .badLines: "--bad-lines"
        case .maxLineBytes: "--max-line-bytes"
        case .meshFormats: "--mesh-formats"
        case .meshGrid: "--mesh-grid"
        }
    }

    /// "--steps 8 (the job has 64)"; the upsampler as its flag pair ("--no-upsample (the job has --upsample)").
    static func describe(_ difference: JobSettings.Given.Difference) -> String {
        guard difference.setting != .upsample else {
            func flag(_ value: String) -> String { value == "on" ? "--upsample" : "--no-upsample" }
            return "\(flag(difference.given)) (the job has \(flag(difference.job)))"
        }
        return "\(flag(difference.setting)) \(difference.given) (the job has \(difference.job))"
    }

    /// What the job will run on, when the caller knows (`pointe run`): its models directory
    /// and mesher count. Files it lacks are then found before anything is created.
    struct LocalPeers {
        /// --models-dir (nil: the directory the job recorded, else the model cache; JobModels).
        var modelsOption: String?
        /// nil: one when the job makes meshes.
        var meshers: Int?
        /// Where the models are; openJob resolves it again once it knows the job's record.
        var models: JobModels

        init(modelsOption: String?, meshers: Int?) {
            self.modelsOption = modelsOption
            self.meshers = meshers
            models = .resolve(option: modelsOption, recorded: nil)
        }

        /// Once the job is open: its recorded directory when --models-dir was not given.
        mutating func useJobsModels(recorded: String?) {
            models = .resolve(option: modelsOption, recorded: recorded)
        }
    }

    /// Creates the job from `prompts` if the directory has none (after every check passed:
    /// a failed check leaves nothing behind), or reopens it: the settings and prompt file given
    /// must be the job's (a grown prompt file adds its new prompts with --add-prompts). Then
    /// opens it for serving on `bind` (nil: the job directory's private ipc socket).
    func openJob(prompts: String?, bind: String?, transport: TransportOptions, log: ClusterLog, exitWhenDone: Bool = true,
                 local: LocalPeers? = nil) throws -> Coordinator {
        let directory = JobDirectory(output)
        var local = local
        let creating = !directory.exists
        if creating {
            guard let prompts else { throw CommandFailure("\(output) holds no job yet: give a prompt file") }
            if addPrompts { log.info("--add-prompts: \(output) holds no job yet; it is made from \(prompts)") }
            let settings = given.applied()
            do { try settings.validate() } catch let error as JobSettings.InvalidSetting {
                throw CommandFailure("\(Self.flag(error.setting)) \(error.reason)")
            } catch { throw CommandFailure("\(error)") }
            let entries = try readPrompts(prompts, settings: settings, local: local, log: log)
            try checkFiles(entries.map { ($0.input.promptKind, $0.settings) }, settings: settings, local: local)
            let info = try Coordinator.createJob(at: directory, prompts: entries, settings: settings, promptFile: prompts)
            log.info("created job \(info.jobID) in \(directory.path): \(counted(entries.count, "prompt"))")
        }
        let coordinator = try Coordinator(directory: directory, options: coordinatorOptions(directory: directory, bind: bind, transport: transport, log: log, exitWhenDone: exitWhenDone))
        let info = coordinator.info
        local?.useJobsModels(recorded: info.modelsDirectory)
        var given = self.given
        if !info.settingsRecorded {
            // A job made before its sampling options were stored: those cannot be compared.
            (given.model, given.upsample, given.steps, given.upsampleSteps, given.guidance, given.sampler, given.badLines, given.maxLineBytes)
                = (nil, nil, nil, nil, nil, nil, nil, nil)
        }
        let differences = given.differences(from: info.settings).map(Self.describe)
        guard differences.isEmpty else {
            throw CommandFailure("\(output) holds a job made with other settings; give its own (or leave the option out to keep them), or another -o for a new job:\n  "
                                 + differences.joined(separator: "\n  "))
        }
        // A job just made from the file is that file: reading it again (its warnings printed
        // twice, its images decoded twice) would only compare it with itself.
        if let prompts, info.settingsRecorded, !creating {
            let entries = try readPrompts(prompts, settings: info.settings, local: local, log: log)
            switch PromptListComparison.compare(stored: try coordinator.store.prompts(), given: entries, jobSeed: info.seed) {
            case .same:
                break
            case .grown(let added):
                guard addPrompts else {
                    throw CommandFailure("\(prompts) has \(added.count) prompt(s) more than the job in \(output) (from line \(added[0].line)); "
                                         + "add them to the job with --add-prompts, or give another -o for a new job")
                }
                try checkFiles(added.map { ($0.input.promptKind, $0.settings) }, settings: info.settings, local: local)
                try coordinator.store.append(added, from: prompts)
                log.info("added \(added.count) prompt(s) from \(prompts) to the job")
            case .different(let lines):
                throw CommandFailure("\(prompts) is not the prompt list of the job in \(output) (last given as \(info.promptFile)); give that one, or another -o for a new job:\n  "
                                     + lines.joined(separator: "\n  "))
            }
        } else if prompts != nil {
            log.info("\(directory.path) holds a job made before prompt lists were recorded: resuming it (the prompt file is not compared)")
        } else if addPrompts {
            throw CommandFailure("--add-prompts needs the prompt file whose new lines to add")
        }
        // Recovery first: the prompts it reopens (outputs missing or changed) and --retry-failed
        // queues again are work too.
        try coordinator.recover(retryFailed: retryFailed)
        if prompts == nil || info.settingsRecorded {
            // Resuming on (maybe) other machines: what is still to do must find its files here.
            let open = try coordinator.store.prompts(status: [.pending, .meshing])
            try checkFiles(open.map { ($0.input.promptKind, $0.settings) }, settings: info.settings, local: local)
        }
        if let local, let note = try local.models.record(in: coordinator.store, recorded: info.modelsDirectory), !quiet {
            printError("pointe run: \(note)")
        }
        return coordinator
    }

    func coordinatorOptions(directory: JobDirectory, bind: String?, transport: TransportOptions, log: ClusterLog, exitWhenDone: Bool) throws -> CoordinatorOptions {
        var options = CoordinatorOptions()
        options.bind = try bind ?? directory.privateEndpoint()
        options.transport = transport
        options.peerTimeoutMs = peerTimeoutMs
        options.log = log
        options.exitWhenDone = exitWhenDone
        options.metricsPort = metricsPort
        options.metricsFile = metricsFile
        return options
    }

    /// The prompt file read with the job's settings, each prompt checked as sampling will
    /// check it (bad lines stop or are skipped by --bad-lines).
    func readPrompts(_ path: String, settings: JobSettings, local: LocalPeers?, log: ClusterLog) throws -> [PromptEntry] {
        let models = local.map { ModelDirectory($0.models.path) }
        let reader = PromptFile(settings: settings) { entry in
            let config = models.flatMap { try? $0.locate(entry.settings.model).config }
            try PointEEngine.precheck(try entry.input.engineInput(), settings: entry.settings, source: "\(entry.input.kind) \(entry.input.value)", config: config)
        }
        do {
            let parsed = try reader.read(path, defaults: settings.prompts)
            for issue in parsed.issues { log.warning("\(path): \(issue)") }
            return parsed.prompts
        } catch let error as ClusterError {
            throw CommandFailure(error.message)
        }
    }

    /// Every model file the prompts need is in the local models directory, and meshing has a mesher.
    func checkFiles(_ prompts: [(kind: PromptKind?, settings: SamplingSettings)], settings: JobSettings, local: LocalPeers?) throws {
        guard let local, !prompts.isEmpty else { return }
        let meshing = !settings.meshFormats.isEmpty
        if meshing, local.meshers == 0 {
            throw CommandFailure("this job makes meshes (\(settings.meshFormats.map(\.rawValue).joined(separator: ","))): it needs --meshers 1 or more")
        }
        try local.models.checkPresent(job: output)
        let missing = ModelDirectory(local.models.path).missing(for: prompts, meshing: meshing)
        guard missing.isEmpty else {
            throw CommandFailure("\(local.models.path) lacks what the job needs\(meshing ? " (or make it with --mesh-formats none to skip meshing)" : ""):\n  "
                                 + missing.joined(separator: "\n  "))
        }
    }
}
