import Foundation
import PointETensor

/// Which random draw a sampler asks for: the starting noise of a stage, or the noise of one
/// step (Karras samplers draw one every step, even when churn leaves it unused, as the
/// reference does; DDPM draws one per step too).
public enum NoiseDraw: Sendable, Equatable, CustomStringConvertible {
    case initial(stage: Int)
    case step(stage: Int, index: Int)

    public var description: String {
        switch self {
        case .initial(let stage): return "stage\(stage).noise_xT"
        case .step(let stage, let index): return "stage\(stage).eps[\(index)]"
        }
    }
}

/// Where a sampler's standard-normal noise comes from. Samplers ask for [B, ...] tensors whose
/// first dimension is the batch of samples (never the guidance-doubled batch).
public protocol NoiseSource: AnyObject {
    func normal(_ shape: [Int], for draw: NoiseDraw) throws -> Tensor
}

/// The default source: every sample has its own seed, and each draw of each sample comes from
/// an independent stream of that seed keyed by the draw (stage, step). A sample's noise, and so
/// its result, depends only on its seed: not on batch size, position or process.
public final class SeededNoise: NoiseSource {
    public let seeds: [UInt64]

    public init(seeds: [UInt64]) { self.seeds = seeds }

    public func normal(_ shape: [Int], for draw: NoiseDraw) throws -> Tensor {
        guard let batch = shape.first, batch == seeds.count else {
            throw DiffusionError("noise for \(draw): shape \(shape) does not match \(seeds.count) sample seeds")
        }
        let out = Tensor(zeros: shape)
        let per = out.count / max(batch, 1)
        let stream = Self.streamIndex(draw)
        for (b, seed) in seeds.enumerated() {
            var generator = SeededGenerator(seed: seed, stream: stream)
            let p = out.pointer + b * per
            for i in 0..<per { p[i] = generator.nextGaussian() }
        }
        return out
    }

    static func streamIndex(_ draw: NoiseDraw) -> UInt64 {
        switch draw {
        case .initial(let stage): return UInt64(stage) << 32
        case .step(let stage, let index): return UInt64(stage) << 32 | UInt64(index + 1)
        }
    }
}

/// Replays recorded noise tensors in order (e.g. a reference fixture's `random_draws`), checking
/// that each has the shape the sampler asks for.
public final class ReplayNoise: NoiseSource {
    public let source: String
    private let draws: [(label: String, tensor: Tensor)]
    public private(set) var position = 0

    /// `source` names where the tensors came from, for errors.
    public init(_ draws: [(label: String, tensor: Tensor)], source: String) {
        self.draws = draws
        self.source = source
    }

    public var remaining: Int { draws.count - position }

    public func normal(_ shape: [Int], for draw: NoiseDraw) throws -> Tensor {
        guard position < draws.count else {
            throw DiffusionError("\(source): recorded noise exhausted after \(draws.count) draws; the sampler asked for \(draw)")
        }
        let (label, tensor) = draws[position]
        guard tensor.shape == shape else {
            throw DiffusionError("\(source): recorded draw \(position) (\(label)) has shape \(tensor.shape), the sampler asked for \(shape) (\(draw))")
        }
        position += 1
        return tensor
    }
}
