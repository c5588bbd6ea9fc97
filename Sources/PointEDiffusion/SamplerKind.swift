/// How a stage is sampled, as users choose it (`--sampler`, a prompt's "sampler", the job store
/// and the wire, all by these raw names): one of the Karras samplers, or the ancestral DDPM
/// loop respaced to the step count. A closed set, checked where a job or command takes it.
public enum SamplerKind: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case heun
    case eulerAncestral = "euler-ancestral"
    case dpm
    case ddpm

    /// The reference's sampler (PointCloudSampler's default, Karras Heun).
    public static let reference: SamplerKind = .heun

    public var description: String { rawValue }

    /// The one place a user's choice becomes a stage's loop: `karras` (the stage's noise
    /// levels and churn) walked with the chosen Karras method, or the DDPM loop, which takes its
    /// step count from the stage's (respaced) diffusion instead. Euler ancestral keeps no churn
    /// settings: the reference passes that sampler none (s_churn, s_tmin, s_tmax, s_noise), so
    /// a stage's churn does not change what it samples and is not carried.
    public func stageLoop(karras: KarrasOptions) -> StageLoop {
        var karras = karras
        switch self {
        case .heun: karras.method = .heun
        case .eulerAncestral:
            var plain = KarrasOptions(steps: karras.steps, sigmaMin: karras.sigmaMin, sigmaMax: karras.sigmaMax, method: .eulerAncestral)
            plain.rho = karras.rho
            karras = plain
        case .dpm: karras.method = .dpm
        case .ddpm: return .ddpm
        }
        return .karras(karras)
    }

    public static func parse(_ name: String) throws -> SamplerKind {
        guard let kind = SamplerKind(rawValue: name) else {
            throw DiffusionError("unknown sampler \"\(name)\" (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return kind
    }
}
