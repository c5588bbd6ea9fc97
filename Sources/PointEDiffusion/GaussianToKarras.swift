import Foundation
import PointETensor

/// Runs a Gaussian (epsilon-predicting) diffusion model as a Karras denoiser D(x, sigma), as the
/// reference's `GaussianToKarrasDenoiser` does: sigma picks a timestep by interpolating over
/// alphas_cumprod (then truncated to an integer), the input is scaled by 1/sqrt(sigma^2 + 1)
/// to the variance-preserving x_t, and the prediction is the (clipped) x0.
public struct GaussianToKarras: Sendable {
    public let diffusion: GaussianDiffusion
    /// alphas_cumprod ascending (the interpolation table) and their timesteps.
    private let sortedAlphas: [Double]
    private let sortedTimesteps: [Double]

    public init(diffusion: GaussianDiffusion) {
        self.diffusion = diffusion
        // alphas_cumprod decreases with t; scipy's interp1d sorts it ascending (stable order).
        let order = diffusion.alphasCumprod.indices.sorted { diffusion.alphasCumprod[$0] < diffusion.alphasCumprod[$1] }
        sortedAlphas = order.map { diffusion.alphasCumprod[$0] }
        sortedTimesteps = order.map { Double($0) }
    }

    /// The continuous timestep for `sigma` (before truncation). alpha = 1/(sigma^2 + 1) is
    /// evaluated in float32, as the reference passes float32 numpy scalars; above the first
    /// alphas_cumprod it is 0, at or below the last it is T - 1, else linear interpolation in
    /// float64 with scipy's formula (slope from the bracketing pair, searched on the left).
    public func continuousTimestep(sigma: Float) -> Double {
        let alphaF: Float = 1.0 / (sigma * sigma + 1)
        let alpha = Double(alphaF)
        let ac = diffusion.alphasCumprod
        if alpha > ac[0] { return 0 }
        if alpha <= ac[ac.count - 1] { return Double(ac.count - 1) }
        // First index whose value is >= alpha (numpy.searchsorted, side="left"), clipped to 1...n-1.
        var lo = 0, hi = sortedAlphas.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sortedAlphas[mid] < alpha { lo = mid + 1 } else { hi = mid }
        }
        let upper = min(max(lo, 1), sortedAlphas.count - 1)
        let lower = upper - 1
        let slope = (sortedTimesteps[upper] - sortedTimesteps[lower]) / (sortedAlphas[upper] - sortedAlphas[lower])
        return slope * (alpha - sortedAlphas[lower]) + sortedTimesteps[lower]
    }

    /// The integer timestep the network sees: the continuous one truncated toward zero (the
    /// reference's int()/th.long conversion).
    public func timestep(sigma: Float) -> Int {
        Int(continuousTimestep(sigma: sigma).rounded(.towardZero))
    }

    /// 1 / sqrt(sigma^2 + 1) in float32.
    public static func inputScale(sigma: Float) -> Float {
        let root = (sigma * sigma + 1).squareRoot()
        return 1 / root
    }

    /// The network input and timesteps for x at per-sample noise levels `sigmas`.
    public func modelInputs(x: Tensor, sigmas: [Float]) -> (input: Tensor, timesteps: [Int]) {
        let b = x.shape[0], per = x.count / max(b, 1)
        let input = Tensor(zeros: x.shape)
        for i in 0..<b {
            let scale = Self.inputScale(sigma: sigmas[i])
            let src = x.pointer + i * per, dst = input.pointer + i * per
            for j in 0..<per { dst[j] = src[j] * scale }
        }
        return (input, sigmas.map { timestep(sigma: $0) })
    }

    /// D(x, sigma): the x0 prediction, with `network(input, networkTimesteps)` giving the raw
    /// [B, 2C, N] output. The network sees the original (un-respaced) timestep.
    public func denoise(x: Tensor, sigmas: [Float], clipDenoised: Bool,
                        network: (Tensor, [Float]) throws -> Tensor) throws -> Tensor {
        guard sigmas.count == x.shape[0] else { throw DiffusionError("\(sigmas.count) sigmas for a batch of \(x.shape[0])") }
        let (input, t) = modelInputs(x: x, sigmas: sigmas)
        let output = try network(input, t.map { Float(diffusion.timestepMap[$0]) })
        return try diffusion.predictXStart(x: input, output: output, timesteps: t, clip: clipDenoised)
    }
}
