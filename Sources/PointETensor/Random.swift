import Foundation

/// A small, fast, seedable generator (SplitMix64) with Gaussian draws (Box-Muller).
/// Used for random weights and, later, per-sample noise streams: the same seed always gives
/// the same numbers on every machine.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    private var spare: Float?

    public init(seed: UInt64) { state = seed }

    /// A generator for sub-stream `index` of `seed` (independent streams, e.g. one per tensor or sample).
    public init(seed: UInt64, stream index: UInt64) {
        var mixer = SeededGenerator(seed: seed ^ (index &* 0x9E37_79B9_7F4A_7C15))
        state = mixer.next() ^ index
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1], never 0 (safe for log).
    public mutating func nextUniform() -> Double {
        Double((next() >> 11) + 1) * (1.0 / 9_007_199_254_740_992.0)
    }

    public mutating func nextGaussian() -> Float {
        if let s = spare { spare = nil; return s }
        let u1 = nextUniform(), u2 = nextUniform()
        let r = (-2 * log(u1)).squareRoot()
        spare = Float(r * sin(2 * Double.pi * u2))
        return Float(r * cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// Fills with N(mean, std) draws from stream `stream` of `seed`, split over the cores in
    /// fixed-size chunks so the values do not depend on the core count.
    public static func gaussian(_ shape: [Int], mean: Float = 0, std: Float, seed: UInt64, stream: UInt64) -> Tensor {
        let out = Tensor(zeros: shape)
        let chunk = 1 << 16
        let chunks = (out.count + chunk - 1) / chunk
        let p = out.pointer, n = out.count
        Parallel.forChunks(chunks, minimumPerChunk: 1) { range in
            for c in range {
                var g = SeededGenerator(seed: seed, stream: stream &* 1_000_003 &+ UInt64(c))
                for i in (c * chunk)..<min(n, (c + 1) * chunk) { p[i] = mean + std * g.nextGaussian() }
            }
        }
        return out
    }
}
