import PointEDiffusion

/// A diffusion config as the reference's fixtures write it (a `sampler_*.json`'s
/// "diffusions" entries), read where fixtures are read.
extension DiffusionConfig {
    /// Reads the reference's config dictionary (`schedule`, `timesteps`, `mean_type`,
    /// `channel_scales`, `channel_biases`, `respacing`). `source` names the file in errors.
    static func parse(_ json: JSONValue, source: String) throws -> DiffusionConfig {
        guard case .object = json else { throw DiffusionError("\(source): diffusion config must be an object") }
        guard let name = json["schedule"]?.stringValue else { throw DiffusionError("\(source): diffusion config needs \"schedule\"") }
        guard let schedule = BetaSchedule(rawValue: name) else {
            throw DiffusionError("\(source): unknown beta schedule \"\(name)\" (known: linear, cosine)")
        }
        let timesteps = json["timesteps"]?.intValue ?? 1024
        let meanType = json["mean_type"]?.stringValue ?? "epsilon"
        func doubles(_ key: String) throws -> [Double]? {
            guard let value = json[key], !value.isNull else { return nil }
            guard let items = value.arrayValue?.compactMap(\.doubleValue), items.count == value.arrayValue?.count else {
                throw DiffusionError("\(source): \"\(key)\" must be a list of numbers")
            }
            return items
        }
        let config = DiffusionConfig(schedule: schedule, timesteps: timesteps, meanType: meanType,
                                     channelScales: try doubles("channel_scales"), channelBiases: try doubles("channel_biases"),
                                     respacing: json["respacing"]?.stringValue)
        try config.validate(source: source)
        return config
    }
}
