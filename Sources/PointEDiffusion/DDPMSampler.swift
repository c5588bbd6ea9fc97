import Foundation
import PointETensor

/// The plain ancestral sampler (the reference's `p_sample_loop_progressive`): from x_T ~ N(0, 1),
/// every step of the (possibly respaced) process draws x_{t-1} ~ N(mean, exp(log_variance)),
/// with no noise at t = 0.
public enum DDPMSampler {
    /// The raw network output [B, 2C, N] for x_t [B, C, N] at network timesteps (one per sample).
    public typealias Network = (Tensor, [Float]) throws -> Tensor

    public struct Step {
        public let index: Int
        public let timestep: Int
        /// The step's result x_{t-1} (the reference yields it as "sample") and its x0 prediction.
        public let sample: Tensor
        public let predXStart: Tensor
    }

    /// Returns the final sample and the final x0 prediction (scaled space).
    public static func sample(diffusion: GaussianDiffusion, shape: [Int], clipDenoised: Bool, stage: Int,
                              noise: NoiseSource, network: Network, onStep: (Step) -> Void) throws -> (x: Tensor, predXStart: Tensor) {
        var x = try noise.normal(shape, for: .initial(stage: stage))
        var predXStart = x
        for (index, t) in (0..<diffusion.numTimesteps).reversed().enumerated() {
            let draw = try noise.normal(shape, for: .step(stage: stage, index: index))
            let out = try step(diffusion: diffusion, x: x, timestep: t, draw: draw, clipDenoised: clipDenoised, network: network)
            onStep(Step(index: index, timestep: t, sample: out.sample, predXStart: out.predXStart))
            (x, predXStart) = out
        }
        return (x, predXStart)
    }

    /// One step at (respaced) timestep `t`: x_{t-1} = mean + exp(log_variance / 2) * draw, the
    /// draw unused at t = 0 (the reference draws it all the same).
    package static func step(diffusion: GaussianDiffusion, x: Tensor, timestep t: Int, draw: Tensor, clipDenoised: Bool,
                             network: Network) throws -> (sample: Tensor, predXStart: Tensor) {
        let timesteps = [Int](repeating: t, count: x.shape[0])
        let output = try network(x, timesteps.map { Float(diffusion.timestepMap[$0]) })
        let out = try diffusion.pMeanVariance(x: x, output: output, timesteps: timesteps, clipDenoised: clipDenoised)
        let sample = Tensor(zeros: x.shape)
        for i in 0..<out.mean.count {
            let sd = t == 0 ? 0 : exp(0.5 * out.logVariance.pointer[i])
            let n = sd * draw.pointer[i]
            sample.pointer[i] = out.mean.pointer[i] + n
        }
        return (sample, out.predXStart)
    }

    /// The reference's classifier-free guidance for this loop (`_uncond_guide_model`): the
    /// network runs on [x; x] with [cond; zero] conditioning and the conditional half's output
    /// gets eps = uncond + scale * (cond - uncond) on its first 3 channels only (the reference
    /// guides exactly those; the remaining channels keep the conditional output).
    public static func guided(_ network: @escaping Network, scale: Float) -> Network {
        { x, t in
            let doubled = ElementWise.concatBatch([x, x])
            let out = try network(doubled, t + t)
            let b = x.shape[0], per = out.count / out.shape[0], n = out.shape[2]
            let result = ElementWise.batchSlice(out, 0..<b)
            for i in 0..<b {
                let cond = result.pointer + i * per, uncond = out.pointer + (b + i) * per
                for j in 0..<(3 * n) {
                    let diff = cond[j] - uncond[j]
                    let s = scale * diff
                    cond[j] = uncond[j] + s
                }
            }
            return result
        }
    }
}
