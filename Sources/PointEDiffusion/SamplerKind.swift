/// How a stage is sampled: one of the Karras samplers, or the ancestral DDPM loop respaced to
/// the step count. A closed set, checked where a job or command takes it.
public enum SamplerKind: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case heun
    case eulerAncestral = "euler-ancestral"
    case dpm
    case ddpm

    /// The reference's sampler (PointCloudSampler's default, Karras Heun).
    public static let reference: SamplerKind = .heun

    public var description: String { rawValue }

    /// The Karras method, or nil for the DDPM loop.
    public var karrasMethod: KarrasMethod? {
        switch self {
        case .heun: .heun
        case .eulerAncestral: .eulerAncestral
        case .dpm: .dpm
        case .ddpm: nil
        }
    }

    public static func parse(_ name: String) throws -> SamplerKind {
        guard let kind = SamplerKind(rawValue: name) else {
            throw DiffusionError("unknown sampler \"\(name)\" (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return kind
    }
}
