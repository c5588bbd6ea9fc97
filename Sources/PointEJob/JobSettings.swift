import Foundation
import PointEDiffusion
import PointEEngine
import PointEMesh
import PointEModels
import PointEClusterBase

/// How a prompt line is sampled unless it says otherwise: the command line's sampling options.
/// `model` nil: the model follows the prompt's kind (text -> base40M-textvec, image -> base40M;
/// see SamplingSettings.defaultModel), so text and image prompts can share a file.
public struct PromptDefaults: Codable, Equatable, Sendable {
    public var model: ReleasedModel?
    public var upsample = true
    public var steps = SamplingSettings.referenceSteps
    /// nil: the upsampler takes `steps` (of the job, or of the prompt's line when it sets them).
    public var upsampleSteps: Int?
    public var guidance = SamplingSettings.referenceGuidance
    public var sampler: SamplerKind = .reference

    public init(model: ReleasedModel? = nil, upsample: Bool = true, steps: Int = SamplingSettings.referenceSteps, upsampleSteps: Int? = nil,
                guidance: Double = SamplingSettings.referenceGuidance, sampler: SamplerKind = .reference) {
        self.model = model
        self.upsample = upsample
        self.steps = steps
        self.upsampleSteps = upsampleSteps
        self.guidance = guidance
        self.sampler = sampler
    }

    /// The settings of a prompt of `kind` (nil: an embedding, which takes the text model's
    /// default unless a model is named; its shape is checked against the model).
    public func settings(for kind: PromptKind?) -> SamplingSettings {
        SamplingSettings(model: model ?? SamplingSettings.defaultModel(for: kind ?? .text), upsample: upsample, steps: steps,
                         upsampleSteps: upsampleSteps, guidance: guidance, sampler: sampler)
    }
}

/// Everything a job is made with besides its prompts, stored in its job store. Creating a job
/// fills what the command line did not give from the defaults written here (the one place for
/// them); reopening a job compares what the command line gave with what the job holds, so a
/// changed setting is refused instead of silently ignored (see `Given`).
public struct JobSettings: Codable, Equatable, Sendable {
    public var seed: UInt64 = 0
    public var shardSize = 4
    public var retryBudget = 3
    public var prompts = PromptDefaults()
    public var badLines: PromptFile.Policy = .stop
    public var maxLineBytes = 16 * 1024
    public var meshFormats: [TriMesh.FileFormat] = [.glb]
    public var meshGrid = CloudMeshingEngine.Settings.referenceGridSize

    public init() {}

    /// The settings a job is made with, each one a command-line option of its commands (the
    /// command line names them; this library does not spell flags).
    public enum Setting: String, CaseIterable, Sendable {
        case seed, shardSize, retryBudget, model, upsample, steps, upsampleSteps, guidance, sampler, badLines, maxLineBytes, meshFormats, meshGrid
    }

    /// A value no job can run with, by setting.
    public struct InvalidSetting: Error, CustomStringConvertible, Sendable {
        public var setting: Setting
        public var reason: String
        public var description: String { "\(setting.rawValue) \(reason)" }
    }

    /// Checks the values no job can run with.
    public func validate() throws {
        guard shardSize > 0 else { throw InvalidSetting(setting: .shardSize, reason: "must be positive, got \(shardSize)") }
        guard retryBudget > 0 else { throw InvalidSetting(setting: .retryBudget, reason: "must be positive, got \(retryBudget)") }
        guard maxLineBytes > 0 else { throw InvalidSetting(setting: .maxLineBytes, reason: "must be positive, got \(maxLineBytes)") }
        if let problem = PointCloudMesher.gridSizeProblem(meshGrid) { throw InvalidSetting(setting: .meshGrid, reason: problem) }
        if let problem = SamplingSettings.stepsProblem(prompts.steps) { throw InvalidSetting(setting: .steps, reason: problem) }
        if let problem = prompts.upsampleSteps.flatMap(SamplingSettings.stepsProblem) { throw InvalidSetting(setting: .upsampleSteps, reason: problem) }
        do { try prompts.settings(for: .text).validate() } catch { throw ClusterError("\(error)") }
    }

    /// What one command line gave (nil: not given), by setting.
    public struct Given: Sendable {
        public var seed: UInt64?
        public var shardSize: Int?
        public var retryBudget: Int?
        public var model: ReleasedModel?
        public var upsample: Bool?
        public var steps: Int?
        public var upsampleSteps: Int?
        public var guidance: Double?
        public var sampler: SamplerKind?
        public var badLines: PromptFile.Policy?
        public var maxLineBytes: Int?
        public var meshFormats: [TriMesh.FileFormat]?
        public var meshGrid: Int?

        public init() {}

        /// `base` with every given value put in.
        public func applied(to base: JobSettings = JobSettings()) -> JobSettings {
            var s = base
            for option in options { option.apply(&s) }
            return s
        }

        /// A given value that differs from the job's, both as the command line writes them.
        public struct Difference: Equatable, Sendable {
            public var setting: Setting
            public var given: String
            public var job: String
        }

        /// The given values that differ from the job's.
        public func differences(from job: JobSettings) -> [Difference] {
            options.compactMap { option in
                var changed = job
                option.apply(&changed)
                return changed == job ? nil : Difference(setting: option.setting, given: option.given, job: option.current(job))
            }
        }

        /// Each given option: its setting, how it reads, where it goes in the settings.
        private var options: [(setting: Setting, given: String, apply: (inout JobSettings) -> Void, current: (JobSettings) -> String)] {
            func formats(_ f: [TriMesh.FileFormat]) -> String { f.isEmpty ? "none" : f.map(\.rawValue).joined(separator: ",") }
            func onOff(_ b: Bool) -> String { b ? "on" : "off" }
            var list: [(Setting, String, (inout JobSettings) -> Void, (JobSettings) -> String)] = []
            if let seed { list.append((.seed, "\(seed)", { $0.seed = seed }, { "\($0.seed)" })) }
            if let shardSize { list.append((.shardSize, "\(shardSize)", { $0.shardSize = shardSize }, { "\($0.shardSize)" })) }
            if let retryBudget { list.append((.retryBudget, "\(retryBudget)", { $0.retryBudget = retryBudget }, { "\($0.retryBudget)" })) }
            if let model { list.append((.model, model.rawValue, { $0.prompts.model = model }, { $0.prompts.model?.rawValue ?? "the prompt kind's default" })) }
            if let upsample { list.append((.upsample, onOff(upsample), { $0.prompts.upsample = upsample }, { onOff($0.prompts.upsample) })) }
            if let steps { list.append((.steps, "\(steps)", { $0.prompts.steps = steps }, { "\($0.prompts.steps)" })) }
            if let upsampleSteps {
                list.append((.upsampleSteps, "\(upsampleSteps)", { $0.prompts.upsampleSteps = upsampleSteps },
                             { $0.prompts.upsampleSteps.map { "\($0)" } ?? "none: each prompt's upsampler takes its steps" }))
            }
            if let guidance { list.append((.guidance, "\(guidance)", { $0.prompts.guidance = guidance }, { "\($0.prompts.guidance)" })) }
            if let sampler { list.append((.sampler, sampler.rawValue, { $0.prompts.sampler = sampler }, { $0.prompts.sampler.rawValue })) }
            if let badLines { list.append((.badLines, badLines.rawValue, { $0.badLines = badLines }, { $0.badLines.rawValue })) }
            if let maxLineBytes { list.append((.maxLineBytes, "\(maxLineBytes)", { $0.maxLineBytes = maxLineBytes }, { "\($0.maxLineBytes)" })) }
            if let meshFormats { list.append((.meshFormats, formats(meshFormats), { $0.meshFormats = meshFormats }, { formats($0.meshFormats) })) }
            if let meshGrid { list.append((.meshGrid, "\(meshGrid)", { $0.meshGrid = meshGrid }, { "\($0.meshGrid)" })) }
            return list
        }
    }
}
