import Foundation
import PointECheckpoint
import PointEEval
import PointEModels
import PointETensor

/// Checks the `pointnet` reference fixture (../shared/parity/pointnet.*): the PointNet++
/// classifier on the recorded normalised clouds with the recorded FPS start indices (features,
/// probabilities, log-probabilities, the global feature within 1e-4 x max(1, max|expected|);
/// FPS and ball-query indices exactly), the extractor's normalisation, and P-FID / P-IS on the
/// fixture's saved sets (1e-4 relative). `debug.*` set-abstraction outputs are reported only.
public struct PointNetParity: Sendable {
    public struct Comparison: Sendable {
        public let name: String
        /// Max absolute error, or relative error for the scalar metrics, or mismatch count for indices.
        public let error: Double
        public let expected: Double
        public let tolerance: Double
        public let kind: Kind
        public let isDebug: Bool
        public var passed: Bool { !error.isNaN && error <= tolerance }

        public enum Kind: String, Sendable { case absolute = "max|err|", relative = "rel err", mismatches = "mismatches" }
    }

    public let fixture: String
    public let comparisons: [Comparison]
    public var passed: Bool { comparisons.contains { !$0.isDebug } && comparisons.allSatisfy { $0.isDebug || $0.passed } }

    /// A fixture is a PointNet one when its JSON names the reference's `get_model`.
    public static func isPointNetFixture(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path + ".json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return json["name"] as? String == "get_model"
    }

    public static func run(fixture path: String) throws -> PointNetParity {
        let configData = try Data(contentsOf: URL(fileURLWithPath: path + ".json"))
        guard let config = try JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
            throw EvalError("\(path).json: not a JSON object")
        }
        // P-IS is recorded for the default split and, as is.p_is_split, for the split size the
        // fixture records here.
        let isSplitSize = (config["_fixture"] as? [String: Any])?["is_split_size"]
        let classes = config["num_class"] as? Int ?? 40
        let widthMult = config["width_mult"] as? Int ?? 2
        if config["normal_channel"] as? Bool == true {
            throw EvalError("\(path).json: normal_channel true is not supported (the released evaluator uses xyz only)")
        }
        let model = try PointNetClassifier.load(checkpoint: path + ".pt", numClasses: classes, widthMult: widthMult)
        let io = try CheckpointLoader.load(path + ".io.safetensors")
        func tensor(_ name: String) throws -> Tensor {
            guard let t = io[name] else { throw EvalError("\(io.source): \"\(name)\" is missing") }
            return try t.floatTensor()
        }
        func integers(_ name: String) throws -> [Int64] {
            guard let t = io[name] else { throw EvalError("\(io.source): \"\(name)\" is missing") }
            return try t.int64Values()
        }
        var results: [Comparison] = []
        func compare(_ name: String, _ actual: Tensor, _ expected: Tensor, debug: Bool = false) throws {
            guard actual.count == expected.count else {
                throw EvalError("\(io.source): \(name) expected shape \(expected.shape), computed \(actual.shape)")
            }
            let maxExpected = Double(expected.maxAbs)
            results.append(Comparison(name: name, error: Double(actual.maxAbsDifference(expected.reshaped(actual.shape))),
                                      expected: maxExpected, tolerance: 1e-4 * max(1, maxExpected), kind: .absolute, isDebug: debug))
        }
        func compareIndices(_ name: String, _ actual: [Int64]) throws {
            let expected = try integers(name)
            guard expected.count == actual.count else {
                throw EvalError("\(io.source): \(name) has \(expected.count) indices, computed \(actual.count)")
            }
            let mismatches = zip(expected, actual).filter { $0 != $1 }.count
            results.append(Comparison(name: name, error: Double(mismatches), expected: Double(expected.count), tolerance: 0,
                                      kind: .mismatches, isDebug: false))
        }
        func compareScalar(_ name: String, _ actual: Double) throws {
            let expected = Double(try tensor(name).pointer[0])
            results.append(Comparison(name: name, error: abs(actual - expected) / max(abs(expected), 1e-12), expected: expected,
                                      tolerance: 1e-4, kind: .relative, isDebug: false))
        }

        // The network on the reference's own normalised input, [B, 3, N] -> [B, N, 3].
        let channelsFirst = try tensor("point_clouds")
        let b = channelsFirst.shape[0], n = channelsFirst.shape[2]
        let clouds = transposeLastTwo(channelsFirst)
        let starts = try integers("fps_start_idx")
        guard starts.count == 2 * b else { throw EvalError("\(io.source): fps_start_idx must be [2, \(b)], has \(starts.count) values") }
        let table = (0..<2).map { layer in (0..<b).map { Int(starts[layer * b + $0]) } }
        let out = model(clouds, start: .indices(table), keepLayers: true)
        try compare("features", out.features, try tensor("features"))
        try compare("probs", out.probs, try tensor("probs"))
        try compare("log_probs", out.logProbs, try tensor("log_probs"))
        try compare("l3_points", out.globalFeatures, try tensor("l3_points"))
        for (layer, name) in ["sa1", "sa2"].enumerated() {
            try compareIndices("\(name).fps_idx", out.layers.flatMap { $0[layer].fpsIndices.map(Int64.init) })
            try compareIndices("\(name).ball_idx", out.layers.flatMap { $0[layer].ballIndices.map(Int64.init) })
        }
        for (layer, name) in ["sa1", "sa2", "sa3"].enumerated() where io["debug.\(name).points"] != nil {
            let outputs = out.layers.map { $0[layer] }
            let s = outputs[0].count, width = outputs[0].width
            let xyz = Tensor(shape: [b, s, 3], values: outputs.flatMap(\.xyz))
            let points = Tensor(shape: [b, s, width], values: outputs.flatMap(\.features))
            try compare("debug.\(name).xyz", transposeLastTwo(xyz), try tensor("debug.\(name).xyz"), debug: true)
            try compare("debug.\(name).points", transposeLastTwo(points), try tensor("debug.\(name).points"), debug: true)
        }
        // The extractor's normalisation of the raw clouds.
        if io["point_clouds_raw"] != nil {
            let normalized = PointNetClassifier.normalize(try tensor("point_clouds_raw"))
            try compare("point_clouds (normalize)", normalized, transposeLastTwo(channelsFirst).reshaped([b, n, 3]))
        }
        // P-FID on the saved feature sets, statistics first.
        if io["fid.features_1"] != nil {
            var stats: [FIDStatistics] = []
            for set in ["1", "2"] {
                let features = try tensor("fid.features_\(set)")
                let s = try FIDStatistics(features: features.values, dim: features.shape[1], source: "\(io.source) fid.features_\(set)")
                try compare("fid.mu_\(set)", Tensor(shape: [s.dim], values: s.mu), try tensor("fid.mu_\(set)"))
                try compare("fid.sigma_\(set)", Tensor(shape: [s.dim, s.dim], values: s.sigma.map { Float($0) }),
                            try tensor("fid.sigma_\(set)"))
                stats.append(s)
            }
            try compareScalar("fid.p_fid", try stats[0].frechetDistance(to: stats[1]))
        }
        if io["is.preds"] != nil {
            let preds = try tensor("is.preds")
            let classes = preds.shape[1]
            try compareScalar("is.p_is", try InceptionScore.compute(predictions: preds.values, classes: classes))
            if io["is.p_is_split"] != nil {
                guard let splitSize = isSplitSize as? Int, splitSize > 0 else {
                    throw EvalError("\(path).json: is.p_is_split needs _fixture.is_split_size (a positive integer), "
                                    + (isSplitSize.map { "found \($0)" } ?? "which is missing"))
                }
                try compareScalar("is.p_is_split", try InceptionScore.compute(predictions: preds.values, classes: classes,
                                                                               splitSize: splitSize))
            }
        }
        return PointNetParity(fixture: path, comparisons: results)
    }

    /// Report lines in `pointe parity`'s format.
    public func reportLines(showDebug: Bool) -> [String] {
        var lines = [ParityReport.verdict(fixture, passed: passed)]
        for c in comparisons where !c.isDebug || showDebug || !c.passed {
            lines.append(ParityReport.comparison(passed: c.passed, isDebug: c.isDebug, name: c.name, width: 28,
                                                 detail: " \(c.kind.rawValue)" + String(format: " %.3e  tol %.3e  expected %.6g", c.error, c.tolerance, c.expected)))
        }
        return lines
    }
}

/// [B, R, C] -> [B, C, R].
func transposeLastTwo(_ t: Tensor) -> Tensor {
    let b = t.shape[0], r = t.shape[1], c = t.shape[2]
    let out = Tensor(zeros: [b, c, r])
    for i in 0..<b {
        for x in 0..<r { for y in 0..<c { out.pointer[(i * c + y) * r + x] = t.pointer[(i * r + x) * c + y] } }
    }
    return out
}
