import Foundation
import PointEModels
import PointETensor

/// One stage of a `PointCloudSampler`: a network, its diffusion, how many points it makes and
/// how it is sampled. Defaults are the reference's (`PointCloudSampler` and its examples).
public struct SamplerStage: Sendable {
    public var model: PointDiffusionTransformer
    public var diffusion: GaussianDiffusion
    public var numPoints: Int
    /// Classifier-free guidance scale; 0 and 1 mean no guidance (no second half is run).
    public var guidanceScale: Double
    /// Karras sampling (the default) or the plain ancestral DDPM loop over `diffusion`'s steps.
    public var loop: StageLoop
    /// What of the run's conditioning this stage sees (the reference's `model_kwargs_key_filter` entry).
    public var conditioning: StageConditioning

    public init(model: PointDiffusionTransformer, diffusion: GaussianDiffusion, numPoints: Int, guidanceScale: Double,
                loop: StageLoop, conditioning: StageConditioning = .all) {
        self.model = model
        self.diffusion = diffusion
        self.numPoints = numPoints
        self.guidanceScale = guidanceScale
        self.loop = loop
        self.conditioning = conditioning
    }

    /// A base stage with the reference defaults: 1024 points, guidance 3, 64 Heun steps with the
    /// base stage's Karras settings (`KarrasOptions.baseStage`).
    public static func base(model: PointDiffusionTransformer, diffusion: GaussianDiffusion, numPoints: Int = 1024,
                            guidanceScale: Double = 3, steps: Int = 64) -> SamplerStage {
        SamplerStage(model: model, diffusion: diffusion, numPoints: numPoints, guidanceScale: guidanceScale,
                     loop: .karras(.baseStage(steps: steps)))
    }

    /// An upsampler stage with the reference defaults: 3072 more points, no guidance, 64 Heun
    /// steps with the upsampler's Karras settings (`KarrasOptions.upsamplerStage`).
    public static func upsampler(model: PointDiffusionTransformer, diffusion: GaussianDiffusion, numPoints: Int = 3072,
                                 guidanceScale: Double = 0, steps: Int = 64, conditioning: StageConditioning = .all) -> SamplerStage {
        SamplerStage(model: model, diffusion: diffusion, numPoints: numPoints, guidanceScale: guidanceScale,
                     loop: .karras(.upsamplerStage(steps: steps)), conditioning: conditioning)
    }

    public var isGuided: Bool { guidanceScale != 0 && guidanceScale != 1 }

    /// Steps this stage takes (for progress).
    public var stepCount: Int {
        switch loop {
        case .karras(let options): options.steps
        case .ddpm: diffusion.numTimesteps
        }
    }

    /// The network conditioning for `batch` samples (doubled with zeroed conditioning when the
    /// stage is guided, as the reference does to every kwarg, low_res included).
    package func networkConditioning(_ inputs: SamplerConditioning, lowRes: Tensor?, batch: Int) throws -> Conditioning {
        let filtered = inputs.filtered(conditioning)
        var cond = Conditioning()
        switch model.variant {
        case .unconditional:
            break
        case .clipVector:
            // A missing embedding is the zero embedding (the reference's CLIP wrapper does this).
            let dim = model.config.clipFeatureDim ?? 768
            cond.clipVector = try checked(filtered.clipVector, [batch, dim], "CLIP embeddings") ?? Tensor(zeros: [batch, dim])
        case .clipGrid:
            let shape = gridShape(batch)
            guard let grid = try checked(filtered.clipGrid, shape, "CLIP image grid") else {
                throw DiffusionError("stage \(model.variant.rawValue) needs image conditioning (a CLIP latent grid \(shape))")
            }
            cond.clipGrid = grid
        case .upsample, .clipGridUpsample:
            if model.variant == .clipGridUpsample {
                // Without images the reference's upsampler uses an all-zero grid.
                cond.clipGrid = try checked(filtered.clipGrid, gridShape(batch), "CLIP image grid") ?? Tensor(zeros: gridShape(batch))
            }
            guard let lowRes else { throw DiffusionError("upsampler \(model.variant.rawValue) cannot be the first stage: it needs low_res points") }
            cond.lowRes = lowRes
        }
        guard isGuided else { return cond }
        func doubled(_ t: Tensor?) -> Tensor? { t.map { ElementWise.concatBatch([$0, Tensor(zeros: $0.shape)]) } }
        return Conditioning(clipVector: doubled(cond.clipVector), clipGrid: doubled(cond.clipGrid), lowRes: doubled(cond.lowRes))
    }

    private func gridShape(_ batch: Int) -> [Int] {
        let size = model.config.clipGridSize ?? 16
        return [batch, model.config.clipGridFeatureDim ?? 1024, size * size]
    }

    private func checked(_ t: Tensor?, _ shape: [Int], _ what: String) throws -> Tensor? {
        guard let t else { return nil }
        guard t.shape == shape else { throw DiffusionError("\(model.variant.rawValue): \(what) must be \(shape), got \(t.shape)") }
        return t
    }

    /// The network over a batch, run one row at a time. Matrix products over more rows may round
    /// differently (BLAS picks kernels and blockings by size), so evaluating each sample (and
    /// each guidance half) alone makes a sample's result independent of its batch; with
    /// 1024+ points per row the products stay large enough for full BLAS speed.
    package func perSampleNetwork(conditioning: Conditioning, onNetwork: ((Tensor, [Float], Tensor) -> Void)?) -> (Tensor, [Float]) throws -> Tensor {
        let model = self.model
        var rows: [Conditioning] = []
        return { x, t in
            let batch = x.shape[0]
            if rows.count != batch {
                func row(_ tensor: Tensor?, _ i: Int) -> Tensor? { tensor.map { ElementWise.batchSlice($0, i..<(i + 1)) } }
                rows = (0..<batch).map { i in
                    Conditioning(clipVector: row(conditioning.clipVector, i), clipGrid: row(conditioning.clipGrid, i),
                                 lowRes: row(conditioning.lowRes, i))
                }
            }
            var outputs: [Tensor] = []
            for i in 0..<batch {
                outputs.append(try model(ElementWise.batchSlice(x, i..<(i + 1)), timesteps: [t[i]], conditioning: rows[i]))
            }
            let out = ElementWise.concatBatch(outputs)
            onNetwork?(x, t, out)
            return out
        }
    }

    /// D(x, sigma) for this stage over `network` (the raw network, e.g. `perSampleNetwork`):
    /// the Gaussian-to-Karras denoiser, guided when the stage is.
    package func denoiser(network: @escaping (Tensor, [Float]) throws -> Tensor, clipDenoised: Bool) -> KarrasSampler.Denoiser {
        let karrasModel = GaussianToKarras(diffusion: diffusion)
        let guided = isGuided
        let scale = Float(guidanceScale)
        return { x, sigma in
            let batch = x.shape[0]
            guard guided else {
                return try karrasModel.denoise(x: x, sigmas: [Float](repeating: sigma, count: batch),
                                               clipDenoised: clipDenoised, network: network)
            }
            let both = try karrasModel.denoise(x: ElementWise.concatBatch([x, x]), sigmas: [Float](repeating: sigma, count: 2 * batch),
                                               clipDenoised: clipDenoised, network: network)
            // x0 = uncond + scale * (cond - uncond), cond being the first half.
            let out = Tensor(zeros: x.shape)
            let n = x.count
            let (c, u, o) = (both.pointer, both.pointer + n, out.pointer)
            for i in 0..<n {
                let diff = c[i] - u[i]
                let s = scale * diff
                o[i] = u[i] + s
            }
            return out
        }
    }

    /// `network` as this stage's DDPM loop calls it: guided on the noise (`DDPMSampler.guided`)
    /// when the stage is.
    package func ddpmNetwork(_ network: @escaping DDPMSampler.Network) -> DDPMSampler.Network {
        isGuided ? DDPMSampler.guided(network, scale: Float(guidanceScale)) : network
    }
}
