import Foundation
import PointETensor

/// The Karras-style samplers of the reference (`k_diffusion.py`): Heun (Algorithm 2 of Karras
/// et al. 2022, with churn), Euler ancestral, and the DPM-Solver-2-like midpoint sampler (the
/// reference's `sampler` argument: "heun", "ancestral", "dpm"). Users choose among them, and
/// the DDPM loop, as a `SamplerKind`, whose names are the only ones they type.
public enum KarrasMethod: Sendable, CaseIterable {
    case heun
    case eulerAncestral
    case dpm
}

public struct KarrasOptions: Sendable, Equatable {
    public var steps: Int
    public var sigmaMin: Double
    public var sigmaMax: Double
    public var rho: Double = 7
    /// Stochasticity: gamma = min(sChurn / steps, sqrt(2) - 1) where sTmin <= sigma <= sTmax.
    public var sChurn: Double = 0
    public var sTmin: Double = 0
    public var sTmax: Double = .infinity
    public var sNoise: Double = 1
    public var method: KarrasMethod = .heun

    public init(steps: Int, sigmaMin: Double, sigmaMax: Double, sChurn: Double = 0, method: KarrasMethod = .heun) {
        self.steps = steps
        self.sigmaMin = sigmaMin
        self.sigmaMax = sigmaMax
        self.sChurn = sChurn
        self.method = method
    }

    /// The reference's base stage (`PointCloudSampler`'s first defaults): sigma 1e-3...120, churn 3, Heun.
    public static func baseStage(steps: Int = 64) -> KarrasOptions {
        KarrasOptions(steps: steps, sigmaMin: 1e-3, sigmaMax: 120, sChurn: 3)
    }

    /// The reference's upsampler stage (its second defaults): sigma 1e-3...160, no churn, Heun.
    public static func upsamplerStage(steps: Int = 64) -> KarrasOptions {
        KarrasOptions(steps: steps, sigmaMin: 1e-3, sigmaMax: 160, sChurn: 0)
    }
}

/// One step as the reference yields it: x where the denoiser is evaluated (after churn noise),
/// the step's sigma and sigma_hat, and the denoised x0 there (all in the model's scaled space).
public struct KarrasStep {
    public let index: Int
    public let x: Tensor
    public let sigma: Float
    public let sigmaHat: Float
    public let denoised: Tensor
}

public enum KarrasSampler {
    /// D(x, sigma) for a whole batch at one noise level.
    public typealias Denoiser = (Tensor, Float) throws -> Tensor

    /// Samples from x_T = N(0, 1) * sigma_max. Returns the final x and the final x0 prediction
    /// (the reference's last `pred_xstart`: the last step's denoised output for Heun and DPM,
    /// x itself for Euler ancestral). `onStep` sees every step.
    public static func sample(shape: [Int], options: KarrasOptions, stage: Int, noise: NoiseSource,
                              denoiser: Denoiser, onStep: (KarrasStep) -> Void) throws -> (x: Tensor, predXStart: Tensor) {
        guard options.steps >= 1 else { throw DiffusionError("stage \(stage): Karras sampling needs at least 1 step, got \(options.steps)") }
        guard options.sigmaMin > 0, options.sigmaMax > options.sigmaMin else {
            throw DiffusionError("stage \(stage): need 0 < sigma_min < sigma_max, got \(options.sigmaMin), \(options.sigmaMax)")
        }
        let sigmas = karrasSigmas(steps: options.steps, sigmaMin: options.sigmaMin, sigmaMax: options.sigmaMax, rho: options.rho)
        let xT = ElementWise.scaled(try noise.normal(shape, for: .initial(stage: stage)), Float(options.sigmaMax))
        switch options.method {
        case .heun, .dpm:
            return try sampleHeunOrDPM(xT, sigmas: sigmas, options: options, stage: stage, noise: noise, denoiser: denoiser, onStep: onStep)
        case .eulerAncestral:
            return try sampleEulerAncestral(xT, sigmas: sigmas, stage: stage, noise: noise, denoiser: denoiser, onStep: onStep)
        }
    }

    static func sampleHeunOrDPM(_ start: Tensor, sigmas: [Float], options: KarrasOptions, stage: Int, noise: NoiseSource,
                                denoiser: Denoiser, onStep: (KarrasStep) -> Void) throws -> (x: Tensor, predXStart: Tensor) {
        var x = start
        var denoised = x
        let steps = sigmas.count - 1
        for i in 0..<steps {
            let sigma = sigmas[i]
            let churn = options.sTmin <= Double(sigma) && Double(sigma) <= options.sTmax
                ? min(options.sChurn / Double(steps), 2.0.squareRoot() - 1) : 0
            // Drawn every step, used only with churn: keeps the draw order of the reference.
            let eps = ElementWise.scaled(try noise.normal(x.shape, for: .step(stage: stage, index: i)), Float(options.sNoise))
            let sigmaHat = sigma * Float(churn + 1)
            if churn > 0 {
                let extra = (sigmaHat * sigmaHat - sigma * sigma).squareRoot()
                x = ElementWise.addScaled(x, eps, extra)
            }
            denoised = try denoiser(x, sigmaHat)
            let d = ElementWise.derivative(x: x, denoised: denoised, sigma: sigmaHat)
            onStep(KarrasStep(index: i, x: x, sigma: sigma, sigmaHat: sigmaHat, denoised: denoised))
            let next = sigmas[i + 1]
            if options.method == .dpm {
                // Midpoint on a rho = 3 schedule between sigma_hat and the next sigma.
                let third = Float(1.0 / 3.0)
                let mid0 = (powf(sigmaHat, third) + powf(next, third)) / 2
                let sigmaMid = mid0 * mid0 * mid0
                let x2 = ElementWise.addScaled(x, d, sigmaMid - sigmaHat)
                let d2 = ElementWise.derivative(x: x2, denoised: try denoiser(x2, sigmaMid), sigma: sigmaMid)
                x = ElementWise.addScaled(x, d2, next - sigmaHat)
            } else {
                let dt = next - sigmaHat
                if next == 0 {
                    x = ElementWise.addScaled(x, d, dt)  // Euler on the last step
                } else {
                    let x2 = ElementWise.addScaled(x, d, dt)
                    let d2 = ElementWise.derivative(x: x2, denoised: try denoiser(x2, next), sigma: next)
                    x = ElementWise.addScaled(x, ElementWise.average(d, d2), dt)
                }
            }
        }
        return (x, denoised)
    }

    static func sampleEulerAncestral(_ start: Tensor, sigmas: [Float], stage: Int, noise: NoiseSource,
                                     denoiser: Denoiser, onStep: (KarrasStep) -> Void) throws -> (x: Tensor, predXStart: Tensor) {
        var x = start
        for i in 0..<(sigmas.count - 1) {
            let (from, to) = (sigmas[i], sigmas[i + 1])
            let denoised = try denoiser(x, from)
            onStep(KarrasStep(index: i, x: x, sigma: from, sigmaHat: from, denoised: denoised))
            // Step down to sigma_down deterministically, then add sigma_up of fresh noise.
            let up = (to * to * (from * from - to * to) / (from * from)).squareRoot()
            let down = (to * to - up * up).squareRoot()
            let d = ElementWise.derivative(x: x, denoised: denoised, sigma: from)
            x = ElementWise.addScaled(x, d, down - from)
            x = ElementWise.addScaled(x, try noise.normal(x.shape, for: .step(stage: stage, index: i)), up)
        }
        return (x, x)
    }
}
