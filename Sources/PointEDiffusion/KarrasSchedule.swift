import Foundation

/// The noise levels of Karras et al. (2022): `steps` values from sigma_max down to sigma_min,
/// evenly spaced in sigma^(1/rho), then a final 0 (the reference's `get_sigmas_karras`).
///
/// Computed in float32 the way the reference's torch ops are: a float32 `linspace(0, 1)` ramp
/// (torch fills the first half from the start and the second half back from the end), the
/// rho-th roots in float64 rounded once to float32, then a float32 power.
public func karrasSigmas(steps: Int, sigmaMin: Double, sigmaMax: Double, rho: Double = 7) -> [Float] {
    precondition(steps >= 1, "karras schedule needs at least one step")
    let minInvRho = pow(sigmaMin, 1 / rho)
    let maxInvRho = pow(sigmaMax, 1 / rho)
    let span = Float(minInvRho - maxInvRho)
    let start = Float(maxInvRho)
    let exponent = Float(rho)
    var sigmas = torchLinspace01(steps).map { ramp in
        let base = start + ramp * span
        return powf(base, exponent)
    }
    sigmas.append(0)
    return sigmas
}

/// torch.linspace(0, 1, n) in float32 as the reference's torch computes it: a float32 step
/// 1 / (n - 1); index i below n/2 is i * step, the rest 1 - (n - 1 - i) * step, each product and
/// difference evaluated in double and rounded once to float32 (this matches the recorded
/// sigmas to 1 ulp, where all-float32 arithmetic is off by up to 14 ulps at small sigmas).
func torchLinspace01(_ n: Int) -> [Float] {
    if n == 1 { return [0] }
    let step = Double(Float(1) / Float(n - 1))
    let half = n / 2
    return (0..<n).map { i in i < half ? Float(Double(i) * step) : Float(1 - Double(n - 1 - i) * step) }
}
