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

/// One step as the reference yields it: x where the denoiser is evaluated (after churn), the
/// step's sigma and sigma_hat, and the denoised x0 there (all in the model's scaled space).
public struct KarrasStep {
    public let index: Int
    public let x: Tensor
    public let sigma: Float
    public let sigmaHat: Float
    public let denoised: Tensor
}

/// The Karras samplers, as a loop over steps and as the step itself: every step draws one noise
/// tensor, `begin` moves x to where the step evaluates the denoiser (Heun and DPM add churn
/// noise there) and `advance` takes it to the start of the next step. A replay of a recorded
/// run drives `begin` and `advance` from the recorded state, so what it checks is this loop.
public enum KarrasSampler {
    /// D(x, sigma) for a whole batch at one noise level.
    public typealias Denoiser = (Tensor, Float) throws -> Tensor

    /// Samples from x_T = N(0, 1) * sigma_max. Returns the final x and the final x0 prediction
    /// (`finalPrediction`). `onStep` sees every step.
    public static func sample(shape: [Int], options: KarrasOptions, stage: Int, noise: NoiseSource,
                              denoiser: Denoiser, onStep: (KarrasStep) -> Void) throws -> (x: Tensor, predXStart: Tensor) {
        guard options.steps >= 1 else { throw DiffusionError("stage \(stage): Karras sampling needs at least 1 step, got \(options.steps)") }
        guard options.sigmaMin > 0, options.sigmaMax > options.sigmaMin else {
            throw DiffusionError("stage \(stage): need 0 < sigma_min < sigma_max, got \(options.sigmaMin), \(options.sigmaMax)")
        }
        let sigmas = karrasSigmas(steps: options.steps, sigmaMin: options.sigmaMin, sigmaMax: options.sigmaMax, rho: options.rho)
        var x = start(try noise.normal(shape, for: .initial(stage: stage)), options: options)
        var denoised = x
        for i in 0..<options.steps {
            // One draw every step, used or not (churn 0, the ancestral step to sigma 0), as the reference draws.
            let draw = try noise.normal(shape, for: .step(stage: stage, index: i))
            let at = begin(x, step: i, sigmas: sigmas, options: options, draw: draw)
            let result = try advance(at.x, sigmaHat: at.sigmaHat, step: i, sigmas: sigmas, options: options, draw: draw, denoiser: denoiser)
            onStep(KarrasStep(index: i, x: at.x, sigma: sigmas[i], sigmaHat: at.sigmaHat, denoised: result.denoised))
            x = result.next
            denoised = result.denoised
        }
        return (x, finalPrediction(options.method, x: x, lastDenoised: denoised))
    }

    /// x_T from the stage's first draw: N(0, 1) * sigma_max.
    package static func start(_ draw: Tensor, options: KarrasOptions) -> Tensor {
        ElementWise.scaled(draw, Float(options.sigmaMax))
    }

    /// The noise level step `i` evaluates the denoiser at: sigma_i * (gamma + 1), where Heun and
    /// DPM add churn gamma = min(s_churn / steps, sqrt(2) - 1) for s_tmin <= sigma_i <= s_tmax;
    /// Euler ancestral has no churn (the reference passes it none of those settings).
    package static func sigmaHat(step i: Int, sigmas: [Float], options: KarrasOptions) -> Float {
        let sigma = sigmas[i]
        guard options.method != .eulerAncestral else { return sigma }
        let steps = sigmas.count - 1
        let gamma = options.sTmin <= Double(sigma) && Double(sigma) <= options.sTmax
            ? min(options.sChurn / Double(steps), 2.0.squareRoot() - 1) : 0
        // A float32 tensor times a Python float in the reference: the factor rounds to float32 first.
        return sigma * Float(gamma + 1)
    }

    /// Where step `i` evaluates the denoiser: x moved from sigma_i to sigma_hat with the step's
    /// draw (x + draw * s_noise * sqrt(sigma_hat^2 - sigma_i^2)) when there is churn, else x.
    package static func begin(_ x: Tensor, step i: Int, sigmas: [Float], options: KarrasOptions, draw: Tensor) -> (x: Tensor, sigmaHat: Float) {
        let sigma = sigmas[i]
        let hat = sigmaHat(step: i, sigmas: sigmas, options: options)
        guard hat > sigma else { return (x, hat) }
        let eps = ElementWise.scaled(draw, Float(options.sNoise))
        let extra = (hat * hat - sigma * sigma).squareRoot()
        return (ElementWise.addScaled(x, eps, extra), hat)
    }

    /// From x at sigma_hat (what `begin` returned) to the start of step i + 1: the denoised x0
    /// at (x, sigma_hat), and the next x, by the stage's method.
    package static func advance(_ x: Tensor, sigmaHat: Float, step i: Int, sigmas: [Float], options: KarrasOptions, draw: Tensor,
                                denoiser: Denoiser) throws -> (denoised: Tensor, next: Tensor) {
        let next = sigmas[i + 1]
        let denoised = try denoiser(x, sigmaHat)
        let d = ElementWise.derivative(x: x, denoised: denoised, sigma: sigmaHat)
        switch options.method {
        case .heun:
            let dt = next - sigmaHat
            guard next != 0 else { return (denoised, ElementWise.addScaled(x, d, dt)) }  // Euler on the last step
            let x2 = ElementWise.addScaled(x, d, dt)
            let d2 = ElementWise.derivative(x: x2, denoised: try denoiser(x2, next), sigma: next)
            return (denoised, ElementWise.addScaled(x, ElementWise.average(d, d2), dt))
        case .dpm:
            // Midpoint on a rho = 3 schedule between sigma_hat and the next sigma, evaluated on
            // the last step too (where the next sigma is 0).
            let sigmaMid = midpointSigma(sigmaHat, next)
            let x2 = ElementWise.addScaled(x, d, sigmaMid - sigmaHat)
            let d2 = ElementWise.derivative(x: x2, denoised: try denoiser(x2, sigmaMid), sigma: sigmaMid)
            return (denoised, ElementWise.addScaled(x, d2, next - sigmaHat))
        case .eulerAncestral:
            // Step down to sigma_down deterministically, then add sigma_up of the step's draw.
            let (down, up) = ancestralStep(from: sigmaHat, to: next)
            let stepped = ElementWise.addScaled(x, d, down - sigmaHat)
            return (denoised, ElementWise.addScaled(stepped, draw, up))
        }
    }

    /// ((a^(1/3) + b^(1/3)) / 2)^3 as the reference's float32 tensors compute it: torch's
    /// pow(float tensor, 1/3) evaluates std::pow in double and rounds once to float32 (a float32
    /// powf can differ by an ulp), and ** 3 is x * x * x in float32.
    static func midpointSigma(_ a: Float, _ b: Float) -> Float {
        func cubeRoot(_ v: Float) -> Float { Float(pow(Double(v), 1.0 / 3.0)) }
        let sum = cubeRoot(a) + cubeRoot(b)
        let mean = sum / 2
        return mean * mean * mean
    }

    /// The ancestral step's (sigma_down, sigma_up): sigma_up^2 = to^2 (from^2 - to^2) / from^2,
    /// sigma_down^2 = to^2 - sigma_up^2, in float32 (** 2 is x * x, ** 0.5 a square root in torch).
    static func ancestralStep(from: Float, to: Float) -> (down: Float, up: Float) {
        let up = (to * to * (from * from - to * to) / (from * from)).squareRoot()
        let down = (to * to - up * up).squareRoot()
        return (down, up)
    }

    /// What the stage leaves as its points: the reference's last yielded pred_xstart, which is
    /// the last step's denoised x0 for Heun and DPM and the final x itself for Euler ancestral.
    package static func finalPrediction(_ method: KarrasMethod, x: Tensor, lastDenoised: Tensor) -> Tensor {
        method == .eulerAncestral ? x : lastDenoised
    }
}
