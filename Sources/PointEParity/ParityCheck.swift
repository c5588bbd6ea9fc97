import Foundation
import PointECheckpoint
import PointEModels
import PointETensor

/// Runs a network on a reference fixture (the `../shared/parity` format: NAME.json config,
/// NAME.pt weights, NAME.io.safetensors inputs and expected outputs) and compares every output.
///
/// Inputs are recognised by name (x, t, t_int, embeddings, low_res, point_clouds, queries);
/// each expected output names the call that produces it:
///   out            the main call with every conditioning input given
///   out_tint       the main call with integer timesteps `t_int`
///   out_zero_emb   embeddings replaced by zeros (the guidance half)
///   out_noemb      no embeddings at all
///   latents / sdf  SDF encode / decode
/// `debug.NAME` (and `debug_SUFFIX.NAME` for the out_SUFFIX call) are intermediate
/// activations, compared too and reported, but they do not decide the verdict.
public struct ParityCheck {
    public struct Comparison: Sendable {
        public let name: String
        public let maxAbsError: Float
        public let maxAbsExpected: Float
        public let tolerance: Float
        public let isDebug: Bool
        public var passed: Bool { maxAbsError <= tolerance }
    }

    public let fixture: String
    public let comparisons: [Comparison]
    public var passed: Bool { comparisons.contains { !$0.isDebug } && comparisons.allSatisfy { $0.isDebug || $0.passed } }

    /// The tolerance of issue 2: 1e-4 x max(1, max|expected|).
    public static func tolerance(forExpected maxAbs: Float) -> Float { 1e-4 * max(1, maxAbs) }

    static let inputNames: Set<String> = ["x", "t", "t_int", "embeddings", "low_res", "point_clouds", "queries", "point_indices"]

    /// `path` is the fixture's path without extension (e.g. ../shared/parity/uncond).
    public static func run(fixture path: String) throws -> ParityCheck {
        let config = try ModelConfig.load(path + ".json")
        let (model, _) = try PointEModel.load(config: config, checkpoint: path + ".pt")
        let io = try CheckpointLoader.load(path + ".io.safetensors")
        var results: [Comparison] = []
        var observed: [String: Tensor] = [:]

        func input(_ name: String) throws -> Tensor {
            guard let t = io[name] else { throw ModelError("\(io.source): input \"\(name)\" is missing") }
            return try t.floatTensor()
        }
        func timesteps(_ name: String) throws -> [Float] {
            guard let t = io[name] else { throw ModelError("\(io.source): input \"\(name)\" is missing") }
            if t.dtype == .int64 { return try t.int64Values().map { Float($0) } }
            return try t.floatTensor().values
        }
        func compare(_ name: String, _ actual: Tensor, debug: Bool) throws {
            let expected = try io[name]!.floatTensor()
            guard expected.shape == actual.shape else {
                throw ModelError("\(io.source): \(name) expected shape \(expected.shape), computed \(actual.shape)")
            }
            let maxExpected = expected.maxAbs
            results.append(Comparison(name: name, maxAbsError: actual.maxAbsDifference(expected), maxAbsExpected: maxExpected,
                                      tolerance: tolerance(forExpected: maxExpected), isDebug: debug))
        }
        func observer(_ prefix: String) -> PointDiffusionTransformer.Observer {
            { name, tensor in observed[prefix + "." + name] = tensor }
        }

        let outputs = io.keys.filter { !inputNames.contains($0) && !$0.hasPrefix("debug") }
        switch model {
        case .diffusion(let net):
            let x = try input("x")
            let embeddings = io["embeddings"] != nil ? try input("embeddings") : nil
            let lowRes = io["low_res"] != nil ? try input("low_res") : nil
            func conditioning(_ emb: Tensor?) -> Conditioning {
                switch net.variant {
                case .clipVector: return Conditioning(clipVector: emb, lowRes: lowRes)
                default: return Conditioning(clipGrid: emb, lowRes: lowRes)
                }
            }
            for name in outputs {
                let suffix = name == "out" ? "" : String(name.dropFirst(4))
                let prefix = suffix.isEmpty ? "debug" : "debug_" + suffix
                let result: Tensor
                switch name {
                case "out":
                    result = try net(x, timesteps: try timesteps("t"), conditioning: conditioning(embeddings), observe: observer(prefix))
                case "out_tint":
                    result = try net(x, timesteps: try timesteps("t_int"), conditioning: conditioning(embeddings), observe: observer(prefix))
                case "out_zero_emb":
                    guard let embeddings else { throw ModelError("\(io.source): out_zero_emb needs embeddings") }
                    result = try net(x, timesteps: try timesteps("t"), conditioning: conditioning(Tensor(zeros: embeddings.shape)),
                                     observe: observer(prefix))
                case "out_noemb":
                    result = try net(x, timesteps: try timesteps("t"), conditioning: conditioning(nil), observe: observer(prefix))
                default:
                    throw ModelError("\(io.source): no known call produces output \"\(name)\"")
                }
                try compare(name, result, debug: false)
            }
        case .sdf(let net):
            let latents = try net.encode(try input("point_clouds"), observe: observer("debug"))
            let sdf = try net.predictSDF(try input("queries"), context: net.decoderContext(latents: latents), observe: observer("debug"))
            for name in outputs {
                switch name {
                case "latents": try compare(name, latents, debug: false)
                case "sdf": try compare(name, sdf, debug: false)
                default: throw ModelError("\(io.source): no known call produces output \"\(name)\"")
                }
            }
        }
        for name in io.keys where name.hasPrefix("debug") {
            if let actual = observed[name] { try compare(name, actual, debug: true) }
        }
        return ParityCheck(fixture: path, comparisons: results)
    }

    /// Report lines in `pointe parity`'s format: a verdict line, then every output (and the
    /// failing or, with `showDebug`, every intermediate `debug.*` tensor).
    public func reportLines(showDebug: Bool) -> [String] {
        var lines = [ParityReport.verdict(fixture, passed: passed)]
        for c in comparisons where !c.isDebug || showDebug || !c.passed {
            lines.append(ParityReport.comparison(passed: c.passed, isDebug: c.isDebug, name: c.name, width: 28,
                                                 detail: String(format: " max|err| %.3e  tol %.3e  max|expected| %.3e",
                                                                Double(c.maxAbsError), Double(c.tolerance), Double(c.maxAbsExpected))))
        }
        return lines
    }
}
