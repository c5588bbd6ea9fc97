import PointEDiffusion
import PointEEngine
import PointEModels

/// Sampling settings on the wire (ShardAssignment): names travel as strings and are parsed
/// back into the typed settings on the worker, so a peer speaking another version is refused
/// by name instead of sampling something else.
extension SamplingSettings {
    package var wire: Pointe_Cluster_SamplerSettings {
        var w = Pointe_Cluster_SamplerSettings()
        w.baseModel = model.rawValue
        w.upsample = upsample
        w.steps = UInt32(steps)
        w.upsampleSteps = upsampleSteps.map(UInt32.init) ?? 0  // 0: as `steps`
        w.guidanceScale = guidance
        w.sampler = sampler.rawValue
        return w
    }

    package init(wire w: Pointe_Cluster_SamplerSettings) throws {
        self.init(model: try ReleasedModel.parse(w.baseModel, baseOnly: true), upsample: w.upsample, steps: Int(w.steps),
                  upsampleSteps: w.upsampleSteps == 0 ? nil : Int(w.upsampleSteps), guidance: w.guidanceScale,
                  sampler: w.sampler.isEmpty ? .reference : try SamplerKind.parse(w.sampler))
    }
}
