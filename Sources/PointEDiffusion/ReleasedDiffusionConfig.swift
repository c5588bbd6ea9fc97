import PointEModels

/// The diffusion each released model was trained with (the reference's `DIFFUSION_CONFIGS`),
/// by its `ReleasedModel` case. Here rather than beside `networkConfig` because PointEModels
/// cannot see diffusion types; exhaustive, so a new model does not compile without an entry.
extension ReleasedModel {
    /// Every base model uses the cosine schedule, the upsampler the linear one; nil for the SDF
    /// model, which is not a diffusion.
    public var diffusionConfig: DiffusionConfig? {
        switch self {
        case .base40MImagevec, .base40MTextvec, .base40MUncond, .base40M, .base300M, .base1B:
            DiffusionConfig(schedule: .cosine, channelScales: Self.pointScales, channelBiases: Self.pointBiases)
        case .upsample:
            DiffusionConfig(schedule: .linear, channelScales: Self.pointScales, channelBiases: Self.pointBiases)
        case .sdf:
            nil
        }
    }

    /// xyz x2; colours 0..255 -> [-1, 1] (x 2/255, - 1).
    static let pointScales: [Double] = [2.0, 2.0, 2.0, 0.007843137255, 0.007843137255, 0.007843137255]
    static let pointBiases: [Double] = [0.0, 0.0, 0.0, -1.0, -1.0, -1.0]
}
