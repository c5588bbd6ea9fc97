import PointEDiffusion
import PointEModels

/// How a prompt is sampled, typed once for every entry point (commands, prompt files, the
/// wire protocol, the job store, where it is stored as JSON with the names as strings).
/// Defaults are the reference's: 64 Heun steps per stage, guidance 3, the upsampler on.
public struct SamplingSettings: Codable, Equatable, Hashable, Sendable {
    public var model: ReleasedModel
    public var upsample: Bool
    /// Steps of the base stage, and of the upsampler unless `upsampleSteps` says otherwise.
    public var steps: Int
    /// Steps of the upsampler stage when they differ from `steps` (the reference's
    /// PointCloudSampler takes one count per stage: `karras_steps`, or each stage's DDPM
    /// respacing); nil: `steps`. Optional so that settings stored or sent without it (every
    /// job made before it existed) decode, and are stored as they were.
    public var upsampleSteps: Int?
    public var guidance: Double
    public var sampler: SamplerKind

    public static let referenceSteps = 64
    /// Steps per stage a prompt may ask for: the released diffusions were trained on 1,024
    /// steps, DDPM cannot be respaced to more, and Karras sampling gains nothing past them.
    public static let stepCounts = 1...1024

    /// Why `steps` cannot be used (nil: it can), for every entry point's message.
    public static func stepsProblem(_ steps: Int) -> String? {
        stepCounts.contains(steps) ? nil : "must be \(stepCounts.lowerBound) to \(stepCounts.upperBound), got \(steps)"
    }
    public static let referenceGuidance = 3.0

    public init(model: ReleasedModel = .base40MTextvec, upsample: Bool = true, steps: Int = referenceSteps,
                upsampleSteps: Int? = nil, guidance: Double = referenceGuidance, sampler: SamplerKind = .reference) {
        self.model = model
        self.upsample = upsample
        self.steps = steps
        self.upsampleSteps = upsampleSteps
        self.guidance = guidance
        self.sampler = sampler
    }

    /// The steps the upsampler stage takes.
    public var upsamplerStageSteps: Int { upsampleSteps ?? steps }

    /// The manifest's and the store's keys (multi-word keys in snake case, as the manifest's others).
    enum CodingKeys: String, CodingKey {
        case model, upsample, steps, guidance, sampler
        case upsampleSteps = "upsample_steps"
    }

    /// The base model a prompt of this kind gets unless one is named: the reference's text2pc
    /// (base40M-textvec) for text, image2pc (base40M) for images.
    public static func defaultModel(for kind: PromptKind) -> ReleasedModel {
        switch kind {
        case .text: .base40MTextvec
        case .image: .base40M
        }
    }

    /// Checks what can be checked without models: a base model, step counts in range, finite guidance.
    public func validate() throws {
        guard model.isBaseModel else { throw EngineError("\(model) is not a base model (known: \(ReleasedModel.baseModels.map(\.rawValue).joined(separator: ", ")))") }
        if let problem = Self.stepsProblem(steps) { throw EngineError("steps \(problem)") }
        if let upsampleSteps, let problem = Self.stepsProblem(upsampleSteps) { throw EngineError("upsample_steps \(problem)") }
        guard guidance.isFinite, guidance >= 0 else { throw EngineError("guidance must be a finite number >= 0, got \(guidance)") }
    }
}

/// What a prompt is, for choosing and checking its model.
public enum PromptKind: String, Sendable {
    case text, image
}
