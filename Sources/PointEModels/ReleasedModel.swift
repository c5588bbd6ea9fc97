/// The Point-E networks by their published names (the reference's MODEL_CONFIGS keys). Every
/// model name a user types is checked against this set where it enters (command line, prompt
/// file), so a typo is refused before any work starts. This is the catalogue: what a released
/// model is comes from its case through exhaustive switches (`networkConfig` here,
/// `diffusionConfig` in PointEDiffusion, `releasedFile` in PointEEngine), so a new model is
/// one case and the compiler names every place that must learn about it.
public enum ReleasedModel: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case base40MImagevec = "base40M-imagevec"
    case base40MTextvec = "base40M-textvec"
    case base40MUncond = "base40M-uncond"
    case base40M
    case base300M
    case base1B
    case upsample
    case sdf

    public var description: String { rawValue }

    /// The first-stage point diffusion models (what `--model` / a prompt's "model" may name).
    public static let baseModels: [ReleasedModel] = allCases.filter(\.isBaseModel)

    public var isBaseModel: Bool {
        switch self {
        case .base40MImagevec, .base40MTextvec, .base40MUncond, .base40M, .base300M, .base1B: true
        case .upsample, .sdf: false
        }
    }

    /// The point diffusion class of the released config (nil for the SDF model).
    public var diffusionVariant: PointDiffusionTransformer.Variant? {
        PointDiffusionTransformer.Variant(rawValue: networkConfig.name)
    }

    /// Parses a user-typed name, naming the known ones in the error.
    public static func parse(_ name: String, baseOnly: Bool = false) throws -> ReleasedModel {
        guard let model = ReleasedModel(rawValue: name), !baseOnly || model.isBaseModel else {
            let known = (baseOnly ? baseModels : allCases).map(\.rawValue).joined(separator: ", ")
            throw ModelError("unknown \(baseOnly ? "base " : "")model \"\(name)\" (known: \(known))")
        }
        return model
    }
}
