import Foundation

/// The named beta schedules of the released models, in float64 like the reference's numpy code
/// (`get_named_beta_schedule`), so alphas_cumprod match it to the last bits.
public enum BetaSchedule: String, Sendable, CaseIterable {
    case linear
    case cosine

    public func betas(timesteps: Int) -> [Double] {
        precondition(timesteps > 1, "a beta schedule needs at least 2 timesteps")
        switch self {
        case .linear:
            // Ho et al.'s 1e-4 ... 2e-2 over 1000 steps, rescaled to other lengths.
            let scale = 1000.0 / Double(timesteps)
            return Self.linspace(scale * 0.0001, scale * 0.02, count: timesteps)
        case .cosine:
            // Nichol & Dhariwal: alpha_bar(t) = cos^2((t + 0.008) / 1.008 * pi / 2), betas capped at 0.999.
            func alphaBar(_ t: Double) -> Double {
                let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
                return c * c
            }
            return (0..<timesteps).map { i in
                let t1 = Double(i) / Double(timesteps)
                let t2 = Double(i + 1) / Double(timesteps)
                return min(1 - alphaBar(t2) / alphaBar(t1), 0.999)
            }
        }
    }

    /// numpy.linspace in float64: start + i * step, with the last value set to `end` exactly.
    static func linspace(_ start: Double, _ end: Double, count: Int) -> [Double] {
        let step = (end - start) / Double(count - 1)
        var out = (0..<count).map { start + Double($0) * step }
        out[count - 1] = end
        return out
    }
}
