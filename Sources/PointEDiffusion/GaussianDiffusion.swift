import Foundation
import PointETensor

/// Gaussian diffusion as the released Point-E models use it: epsilon prediction with a
/// learned-range variance (the network's 2C output channels are C epsilon values then C
/// variance interpolation values in [-1, 1]).
///
/// The schedule tables are float64, as the reference computes them with numpy; each is rounded
/// to float32 when applied to a tensor, because that is what the reference's
/// `_extract_into_tensor(...).float()` does, and sampling runs in float32 from there on.
public struct GaussianDiffusion: Sendable {
    public let config: DiffusionConfig
    public let betas: [Double]
    public let alphasCumprod: [Double]
    public let alphasCumprodPrev: [Double]
    public let sqrtRecipAlphasCumprod: [Double]
    public let sqrtRecipm1AlphasCumprod: [Double]
    public let posteriorVariance: [Double]
    public let posteriorLogVarianceClipped: [Double]
    public let posteriorMeanCoef1: [Double]
    public let posteriorMeanCoef2: [Double]
    /// The network's timestep for each step of this (possibly respaced) process.
    public let timestepMap: [Int]

    public var numTimesteps: Int { betas.count }

    public init(config: DiffusionConfig) throws {
        try config.validate(source: "diffusion config")
        let baseBetas = config.schedule.betas(timesteps: config.timesteps)
        if let respacing = config.respacing {
            // A respaced process keeps some steps; its betas are recomputed so that its
            // alphas_cumprod equal the original ones at the kept steps.
            let keep = Set(try spaceTimesteps(config.timesteps, respacing))
            var newBetas: [Double] = []
            var map: [Int] = []
            var last = 1.0
            for (i, ac) in Self.cumprod(baseBetas).enumerated() where keep.contains(i) {
                newBetas.append(1 - ac / last)
                last = ac
                map.append(i)
            }
            self.init(config: config, betas: newBetas, timestepMap: map)
        } else {
            self.init(config: config, betas: baseBetas, timestepMap: Array(0..<baseBetas.count))
        }
    }

    init(config: DiffusionConfig, betas: [Double], timestepMap: [Int]) {
        self.config = config
        self.betas = betas
        self.timestepMap = timestepMap
        let ac = Self.cumprod(betas)
        alphasCumprod = ac
        alphasCumprodPrev = [1.0] + ac.dropLast()
        sqrtRecipAlphasCumprod = ac.map { (1.0 / $0).squareRoot() }
        sqrtRecipm1AlphasCumprod = ac.map { (1.0 / $0 - 1).squareRoot() }
        let prev = alphasCumprodPrev
        let variance = betas.indices.map { betas[$0] * (1.0 - prev[$0]) / (1.0 - ac[$0]) }
        posteriorVariance = variance
        // The posterior variance is 0 at t = 0; its log is clipped to the value at t = 1.
        posteriorLogVarianceClipped = ([variance[1]] + variance.dropFirst()).map { log($0) }
        posteriorMeanCoef1 = betas.indices.map { betas[$0] * prev[$0].squareRoot() / (1.0 - ac[$0]) }
        posteriorMeanCoef2 = betas.indices.map { (1.0 - prev[$0]) * (1.0 - betas[$0]).squareRoot() / (1.0 - ac[$0]) }
    }

    static func cumprod(_ betas: [Double]) -> [Double] {
        var product = 1.0
        return betas.map { beta in
            product *= 1.0 - beta
            return product
        }
    }

    // MARK: - Model output -> prediction

    /// The result of `pMeanVariance` (all [B, C, N], float32).
    public struct MeanVariance {
        public let mean: Tensor
        public let logVariance: Tensor
        public let predXStart: Tensor
    }

    /// x0 from x_t and the predicted noise (channels 0..<C of `output`, which has >= C channels):
    /// sqrt(1/abar) * x_t - sqrt(1/abar - 1) * eps, optionally clamped to [-1, 1].
    public func predictXStart(x: Tensor, output: Tensor, timesteps t: [Int], clip: Bool) throws -> Tensor {
        try checkShapes(x: x, output: output, timesteps: t)
        let (b, c, n) = (x.shape[0], x.shape[1], x.shape[2])
        let outChannels = output.shape[1]
        let result = Tensor(zeros: x.shape)
        for i in 0..<b {
            let xs = x.pointer + i * c * n, dst = result.pointer + i * c * n
            let src = output.pointer + i * outChannels * n
            if config.meanType == "x_start" {
                for j in 0..<(c * n) { dst[j] = src[j] }
            } else {
                let recip = Float(sqrtRecipAlphasCumprod[t[i]])
                let recipm1 = Float(sqrtRecipm1AlphasCumprod[t[i]])
                for j in 0..<(c * n) {
                    // Two products then a difference, like the reference's tensor ops (no fused multiply-add).
                    let a = recip * xs[j]
                    let e = recipm1 * src[j]
                    dst[j] = a - e
                }
            }
            if clip {
                for j in 0..<(c * n) { dst[j] = min(max(dst[j], -1), 1) }
            }
        }
        return result
    }

    /// p(x_{t-1} | x_t): the posterior mean given the predicted x0, and the learned-range log
    /// variance, interpolated between the clipped posterior variance and beta_t.
    public func pMeanVariance(x: Tensor, output: Tensor, timesteps t: [Int], clipDenoised: Bool) throws -> MeanVariance {
        let predXStart = try predictXStart(x: x, output: output, timesteps: t, clip: clipDenoised)
        let (b, c, n) = (x.shape[0], x.shape[1], x.shape[2])
        guard output.shape[1] == 2 * c else {
            throw DiffusionError("model output has \(output.shape[1]) channels; learned-range variance needs \(2 * c)")
        }
        let mean = Tensor(zeros: x.shape)
        let logVariance = Tensor(zeros: x.shape)
        for i in 0..<b {
            let coef1 = Float(posteriorMeanCoef1[t[i]]), coef2 = Float(posteriorMeanCoef2[t[i]])
            let minLog = Float(posteriorLogVarianceClipped[t[i]]), maxLog = Float(log(betas[t[i]]))
            let x0 = predXStart.pointer + i * c * n, xs = x.pointer + i * c * n
            let v = output.pointer + i * 2 * c * n + c * n
            let m = mean.pointer + i * c * n, lv = logVariance.pointer + i * c * n
            for j in 0..<(c * n) {
                let p = coef1 * x0[j]
                let q = coef2 * xs[j]
                m[j] = p + q
                let frac = (v[j] + 1) / 2
                let hi = frac * maxLog
                let lo = (1 - frac) * minLog
                lv[j] = hi + lo
            }
        }
        return MeanVariance(mean: mean, logVariance: logVariance, predXStart: predXStart)
    }

    func checkShapes(x: Tensor, output: Tensor, timesteps t: [Int]) throws {
        guard x.rank == 3, output.rank == 3, output.shape[0] == x.shape[0], output.shape[2] == x.shape[2],
              output.shape[1] >= x.shape[1] else {
            throw DiffusionError("model output \(output.shape) does not fit x \(x.shape)")
        }
        guard t.count == x.shape[0] else { throw DiffusionError("\(t.count) timesteps for a batch of \(x.shape[0])") }
        for step in t where step < 0 || step >= numTimesteps {
            throw DiffusionError("timestep \(step) outside 0..<\(numTimesteps)")
        }
    }

    // MARK: - Channel scales

    /// Data units -> model range: x * scale + bias per channel (float32, scale then bias).
    public func scaleChannels(_ x: Tensor) -> Tensor {
        let out = x.copy()
        forEachChannel(out) { row, n, ch in
            if let s = config.channelScales?[ch] { let f = Float(s); for i in 0..<n { row[i] = row[i] * f } }
            if let o = config.channelBiases?[ch] { let f = Float(o); for i in 0..<n { row[i] = row[i] + f } }
        }
        return out
    }

    /// Model range -> data units: (x - bias) / scale per channel.
    public func unscaleChannels(_ x: Tensor) -> Tensor {
        let out = x.copy()
        forEachChannel(out) { row, n, ch in
            if let o = config.channelBiases?[ch] { let f = Float(o); for i in 0..<n { row[i] = row[i] - f } }
            if let s = config.channelScales?[ch] { let f = Float(s); for i in 0..<n { row[i] = row[i] / f } }
        }
        return out
    }

    private func forEachChannel(_ x: Tensor, _ body: (UnsafeMutablePointer<Float>, Int, Int) -> Void) {
        precondition(x.rank == 3, "channel scaling needs [B, C, N], got \(x.shape)")
        let (b, c, n) = (x.shape[0], x.shape[1], x.shape[2])
        if let s = config.channelScales { precondition(s.count == c, "\(s.count) channel scales for \(c) channels") }
        for i in 0..<b {
            for ch in 0..<c { body(x.pointer + (i * c + ch) * n, n, ch) }
        }
    }
}
