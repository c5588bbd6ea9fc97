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
/// Stages take the reference's Karras settings (KarrasOptions.baseStage/.upsamplerStage) and
/// their own step counts (the base `steps`, the upsampler `upsamplerStageSteps`, as the
/// reference's per-stage `karras_steps`), walked as `settings.sampler` says; `ddpm` runs the
/// ancestral loop over the stage's diffusion respaced to the stage's count.
public enum TwoStageSampler {
    public static func make(settings: SamplingSettings, base: PointDiffusionTransformer,
                            upsampler: PointDiffusionTransformer?) throws -> PointCloudSampler {
        try settings.validate()
        let imageConditioned = base.variant == .clipGrid
        var stages = [try stage(base, diffusion: settings.model, karras: .baseStage(steps: settings.steps), settings: settings,
                                guidance: settings.guidance, conditioning: base.variant == .clipVector ? .only([.clipVector]) : .all)]
        if settings.upsample {
            guard let upsampler else { throw EngineError("settings ask for the upsampler stage but none was given") }
            if let condCtx = upsampler.config.condCtx, condCtx != base.config.nCtx {
                throw EngineError("upsample expects \(condCtx) base points; \(settings.model) makes \(base.config.nCtx)")
            }
            stages.append(try stage(upsampler, diffusion: .upsample, karras: .upsamplerStage(steps: settings.upsamplerStageSteps),
                                    settings: settings, guidance: imageConditioned ? settings.guidance : 0,
                                    conditioning: imageConditioned ? .all : .unconditioned))
        }
        return PointCloudSampler(stages: stages)
    }

    /// One stage taking `karras.steps` steps: the Karras loop over `karras`'s noise levels, or
    /// the DDPM loop over its diffusion respaced to as many steps.
    static func stage(_ network: PointDiffusionTransformer, diffusion model: ReleasedModel, karras: KarrasOptions, settings: SamplingSettings,
                      guidance: Double, conditioning: StageConditioning) throws -> SamplerStage {
        guard var config = model.diffusionConfig else { throw EngineError("\(model) is not a diffusion model") }
        let loop = settings.sampler.stageLoop(karras: karras)
        // The DDPM loop walks every timestep of its diffusion: respaced, that is the stage's steps.
        if case .ddpm = loop { config.respacing = String(karras.steps) }
        return SamplerStage(model: network, diffusion: try GaussianDiffusion(config: config), numPoints: network.config.nCtx,
                            guidanceScale: guidance, loop: loop, conditioning: conditioning)
    }
}
