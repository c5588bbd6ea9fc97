import Foundation

/// The settings of a Gaussian diffusion (the reference's `DIFFUSION_CONFIGS` entries; a released
/// model's are `ReleasedModel.diffusionConfig`): schedule, length, what the network predicts,
/// and the channel scales/biases that map data units (xyz, RGB 0..255) to the model's [-1, 1]
/// range.
public struct DiffusionConfig: Sendable, Equatable {
    public var schedule: BetaSchedule
    public var timesteps: Int
    /// What the first half of the network output is; the released models all predict epsilon.
    public var meanType: String
    public var channelScales: [Double]?
    public var channelBiases: [Double]?
    /// Optional respacing (`space_timesteps` section counts, "ddimN" or "exact..."), for DDPM sampling.
    public var respacing: String?

    public init(schedule: BetaSchedule, timesteps: Int = 1024, meanType: String = "epsilon",
                channelScales: [Double]? = nil, channelBiases: [Double]? = nil, respacing: String? = nil) {
        self.schedule = schedule
        self.timesteps = timesteps
        self.meanType = meanType
        self.channelScales = channelScales
        self.channelBiases = channelBiases
        self.respacing = respacing
    }

    /// Refuses settings the diffusion cannot run; `source` names where they came from in errors.
    public func validate(source: String) throws {
        guard timesteps > 1 else { throw DiffusionError("\(source): timesteps must be > 1, got \(timesteps)") }
        guard meanType == "epsilon" || meanType == "x_start" else {
            throw DiffusionError("\(source): mean_type \"\(meanType)\" is not supported (epsilon, x_start)")
        }
        if let s = channelScales, let b = channelBiases, s.count != b.count {
            throw DiffusionError("\(source): \(s.count) channel_scales but \(b.count) channel_biases")
        }
    }
}
