import PointEDiffusion
import PointEModels

/// THE sampler factory: typed settings and the loaded networks -> the reference's two-stage
/// `PointCloudSampler` (point_e's text2pc / image2pc examples). Every entry point samples
/// through this, so a prompt gets the same cloud from `pointe generate`, `pointe sample`,
/// `pointe run` and a remote worker.
///
/// What follows the base model's conditioning (as the reference's configs do):
///   CLIP text vector (text2pc): the base stage sees the text, guided; the upsampler sees no
///     conditioning (model_kwargs_key_filter ("texts", "")), unguided (guidance [g, 0]).
///   CLIP image grid (image2pc): both stages see the grid, both guided (guidance [g, g]).
///   unconditional: nothing to condition on; the upsampler unguided.
/// Stages take the reference's Karras settings (SamplerStage.base/.upsampler) and `steps`
/// steps each; `ddpm` runs the ancestral loop respaced to `steps`.
public enum TwoStageSampler {
    public static func make(settings: SamplingSettings, base: PointDiffusionTransformer,
                            upsampler: PointDiffusionTransformer?) throws -> PointCloudSampler {
        try settings.validate()
        let imageConditioned = base.variant == .clipGrid
        var stages = [try stage(base, diffusion: settings.model, upsampler: false, settings: settings,
                                guidance: settings.guidance, keys: base.variant == .clipVector ? "texts" : "*")]
        if settings.upsample {
            guard let upsampler else { throw EngineError("settings ask for the upsampler stage but none was given") }
            if let condCtx = upsampler.config.condCtx, condCtx != base.config.nCtx {
                throw EngineError("upsample expects \(condCtx) base points; \(settings.model) makes \(base.config.nCtx)")
            }
            stages.append(try stage(upsampler, diffusion: .upsample, upsampler: true, settings: settings,
                                    guidance: imageConditioned ? settings.guidance : 0, keys: imageConditioned ? "*" : ""))
        }
        return PointCloudSampler(stages: stages)
    }

    static func stage(_ network: PointDiffusionTransformer, diffusion model: ReleasedModel, upsampler: Bool, settings: SamplingSettings,
                      guidance: Double, keys: String) throws -> SamplerStage {
        guard var config = model.diffusionConfig else { throw EngineError("\(model) is not a diffusion model") }
        let method = settings.sampler.karrasMethod
        if method == nil { config.respacing = String(settings.steps) }
        let diffusion = try GaussianDiffusion(config: config)
        var stage = upsampler
            ? SamplerStage.upsampler(model: network, diffusion: diffusion, numPoints: network.config.nCtx, guidanceScale: guidance,
                                     steps: settings.steps)
            : SamplerStage.base(model: network, diffusion: diffusion, numPoints: network.config.nCtx, guidanceScale: guidance,
                                steps: settings.steps)
        stage.conditioningKeys = keys
        if let method { stage.karras.method = method } else { stage.useKarras = false }
        return stage
    }
}
