import Foundation
import PointECheckpoint
import PointETensor

/// Where farthest point sampling starts, per set-abstraction layer and cloud.
public enum FPSStart: Sendable {
    /// The reference in eval mode (what P-FID / P-IS use): cloud b of the batch handed to the
    /// network starts at point b, so features depend on the position inside the device batch.
    case batchPosition
    /// Given indices, [layer][cloud] (a fixture's recorded `fps_start_idx`).
    case indices([[Int]])
    /// Random starts (the reference's training mode), reproducible from a seed.
    case seeded(UInt64)

    func index(layer: Int, cloud: Int, points: Int) -> Int {
        switch self {
        case .batchPosition: return cloud % points
        case .indices(let table): return table[layer][cloud]
        case .seeded(let seed):
            var rng = SeededGenerator(seed: seed, stream: UInt64(layer * 1_000_003 + cloud))
            return Int(rng.next() % UInt64(points))
        }
    }
}

/// The P-FID / P-IS network: the reference's PointNet++ SSG classifier (`pointnet2_cls_ssg.get_model`)
/// with its parameter names (sa1..sa3.mlp_convs/mlp_bns, fc1..fc3, bn1, bn2), as the released
/// `pointnet` checkpoint holds it (width_mult 2, 40 classes, xyz only).
public struct PointNetClassifier: Sendable {
    public let sa1, sa2, sa3: PointNetSetAbstraction
    public let fc1, fc2, fc3: Linear
    public let bn1, bn2: BatchNorm
    public let widthMult: Int

    /// The reference evaluator's device batch: FPS start indices repeat every 64 clouds.
    public static let deviceBatchSize = 64

    public init(_ scope: ParameterScope, numClasses: Int = 40, widthMult: Int = 2) {
        let w = widthMult
        self.widthMult = w
        sa1 = PointNetSetAbstraction(scope.child("sa1"), npoint: 512, radius: 0.2, nsample: 32, inChannels: 3,
                                     mlp: [64 * w, 64 * w, 128 * w])
        sa2 = PointNetSetAbstraction(scope.child("sa2"), npoint: 128, radius: 0.4, nsample: 64, inChannels: 128 * w + 3,
                                     mlp: [128 * w, 128 * w, 256 * w])
        sa3 = PointNetSetAbstraction(scope.child("sa3"), npoint: nil, radius: 0, nsample: 0, inChannels: 256 * w + 3,
                                     mlp: [256 * w, 512 * w, 1024 * w])
        fc1 = Linear(scope.child("fc1"), in: 1024 * w, out: 512 * w, std: 1 / Float(1024 * w).squareRoot())
        bn1 = BatchNorm(scope.child("bn1"), width: 512 * w)
        fc2 = Linear(scope.child("fc2"), in: 512 * w, out: 256 * w, std: 1 / Float(512 * w).squareRoot())
        bn2 = BatchNorm(scope.child("bn2"), width: 256 * w)
        fc3 = Linear(scope.child("fc3"), in: 256 * w, out: numClasses, std: 1 / Float(256 * w).squareRoot())
    }

    public var featureDim: Int { bn2.scale.count }

    /// Floating-point operations of one cloud of `points` points (shared MLPs and head; the
    /// sampling and grouping are not counted).
    public func flops(points: Int) -> Double {
        let head = [fc1, fc2, fc3].reduce(0.0) { $0 + 2 * Double($1.inFeatures * $1.outFeatures) }
        return sa1.flops(points: points) + sa2.flops(points: sa1.npoint!) + sa3.flops(points: sa2.npoint!) + head
    }
    public var numClasses: Int { fc3.outFeatures }

    /// The BatchNorm layers, whose integer `num_batches_tracked` counters a checkpoint carries.
    static func batchNormNames(widthMult: Int) -> [String] {
        (1...3).flatMap { l in (0..<3).map { "sa\(l).mlp_bns.\($0)" } } + ["bn1", "bn2"]
    }

    /// Loads a checkpoint strictly (`{"model_state_dict": ...}` or a bare state dict): every float
    /// parameter through `ParameterSource`, and each BatchNorm's integer `num_batches_tracked`
    /// (unused in eval mode) required to be present, so no key goes unchecked. A training
    /// checkpoint that also holds other tensors (an optimizer state) is read from its
    /// `model_state_dict` entry only.
    /// `numClasses` / `widthMult` nil: read from the checkpoint's own shapes (`fc3.weight` is
    /// [classes, 256 x width_mult]), so a smaller classifier (the demo set's: 6 shapes) loads
    /// through the same path as the released one (40 ModelNet classes, width_mult 2).
    public static func load(checkpoint path: String, numClasses: Int? = nil, widthMult: Int? = nil) throws -> PointNetClassifier {
        let dict = try CheckpointLoader.load(path)
        let wrapped = dict.keys.contains { $0.hasPrefix("model_state_dict.") }
        let prefix = wrapped ? "model_state_dict" : ""
        let head = dict[(wrapped ? "model_state_dict." : "") + "fc3.weight"]
        let shape = head?.shape ?? []
        let inferred = shape.count == 2 && shape[1] % 256 == 0 && shape[1] > 0 ? (classes: shape[0], width: shape[1] / 256) : nil
        return try load(stateDict: dict, prefix: prefix, numClasses: numClasses ?? inferred?.classes ?? 40,
                        widthMult: widthMult ?? inferred?.width ?? 2)
    }

    /// `prefix`: the model's entry in a larger checkpoint ("" when the state dict is the model's).
    public static func load(stateDict dict: StateDict, prefix: String = "", numClasses: Int = 40, widthMult: Int = 2) throws -> PointNetClassifier {
        let dotted = prefix.isEmpty ? "" : prefix + "."
        let modelKeys = dict.keys.filter { $0.hasPrefix(dotted) }
        let counters = Set(modelKeys.filter { $0.hasSuffix(".num_batches_tracked") })
        let expected = Set(batchNormNames(widthMult: widthMult).map { dotted + $0 + ".num_batches_tracked" })
        var problems: [String] = []
        let missing = expected.subtracting(counters).sorted()
        let unexpected = counters.subtracting(expected).sorted()
        if !missing.isEmpty { problems.append("  missing keys (\(missing.count)): " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { problems.append("  unexpected keys (\(unexpected.count)): " + unexpected.joined(separator: ", ")) }
        for key in expected.intersection(counters).sorted() where dict[key]!.dtype.isFloatingPoint || dict[key]!.elementCount != 1 {
            problems.append("  \(key): expected one integer, found \(dict[key]!.dtype.rawValue) \(dict[key]!.shape)")
        }
        var floats = try StateDict(source: dict.source, tensors: modelKeys.filter { !counters.contains($0) }.map { dict[$0]! },
                                   metadata: dict.metadata)
        if !prefix.isEmpty { floats = floats.scoped(to: prefix) }
        let source = ParameterSource(stateDict: floats)
        let model = PointNetClassifier(ParameterScope(source), numClasses: numClasses, widthMult: widthMult)
        do { try source.finish() } catch let error as ModelError {
            problems.insert(contentsOf: error.description.split(separator: "\n").dropFirst().map(String.init), at: 0)
        }
        if !problems.isEmpty {
            throw ModelError((["checkpoint \(dict.source) does not match the PointNet++ classifier:"] + problems).joined(separator: "\n"))
        }
        return model
    }

    public static func random(seed: UInt64, numClasses: Int = 40, widthMult: Int = 2) -> PointNetClassifier {
        PointNetClassifier(ParameterScope(ParameterSource(randomSeed: seed)), numClasses: numClasses, widthMult: widthMult)
    }

    /// File name of a random-weight classifier beside (instead of) the released pointnet.pt.
    public static let randomFileName = "pointnet.safetensors"

    /// Writes `random(seed:)` as a checkpoint laid out as the released one is (every key under
    /// `model_state_dict`, each BatchNorm's integer `num_batches_tracked`), in safetensors, so
    /// P-FID / P-IS can be tried offline and `load(checkpoint:)` checks it like the real file.
    /// Returns the parameter count.
    public static func writeRandom(seed: UInt64, to path: String) throws -> Int {
        let source = ParameterSource(randomSeed: seed)
        _ = PointNetClassifier(ParameterScope(source))
        var arrays: [(String, OutputArray)] = source.parameters.map { ("model_state_dict." + $0.name, .float32($0.tensor)) }
        arrays += batchNormNames(widthMult: 2).map { ("model_state_dict.\($0).num_batches_tracked", .int64(shape: [], values: [0])) }
        try SafetensorsWriter.write(arrays: arrays, metadata: ["format": "pt", "pointe.model": "pointnet"], to: path)
        return source.parameters.reduce(0) { $0 + $1.tensor.count }
    }

    /// What one batch produces. Per-cloud set-abstraction outputs are kept only on request.
    public struct Output: Sendable {
        /// [B, 256 * widthMult]: bn2(fc2(...)) before ReLU/dropout, the reference's P-FID features.
        public var features: Tensor
        public var logProbs: Tensor
        /// exp(logProbs), the P-IS predictions.
        public var probs: Tensor
        /// [B, 1024 * widthMult]: the pooled global feature (sa3 output).
        public var globalFeatures: Tensor
        /// [cloud][layer] set-abstraction outputs (sa1, sa2, sa3), when requested.
        public var layers: [[PointNetSetAbstraction.Output]]
    }

    /// `clouds` [B, N, 3], already normalised (see `PointNetClassifier.normalize`). Clouds run
    /// in parallel, one per core.
    public func callAsFunction(_ clouds: Tensor, start: FPSStart = .batchPosition, keepLayers: Bool = false) -> Output {
        precondition(clouds.rank == 3 && clouds.shape[2] == 3, "PointNet++ takes [B, N, 3] clouds, got \(clouds.shape)")
        let b = clouds.shape[0], n = clouds.shape[1]
        let globalWidth = sa3.outChannels
        let global = Tensor(zeros: [b, globalWidth])
        let kept = KeptLayers(count: keepLayers ? b : 0)
        let input = clouds.pointer, globalOut = global.pointer
        Parallel.forEach(b) { i in
            let xyz = Array(UnsafeBufferPointer(start: input + i * n * 3, count: n * 3))
            let l1 = sa1(xyz: xyz, features: nil, featureWidth: 0, start: start.index(layer: 0, cloud: i, points: n))
            let l2 = sa2(xyz: l1.xyz, features: l1.features, featureWidth: l1.width,
                         start: start.index(layer: 1, cloud: i, points: l1.count))
            let l3 = sa3(xyz: l2.xyz, features: l2.features, featureWidth: l2.width, start: 0)
            (globalOut + i * globalWidth).update(from: l3.features, count: globalWidth)
            if keepLayers { kept.store(i, [l1, l2, l3]) }
        }
        let h = fc1(global)
        bn1.apply(h.pointer, rows: b, relu: true)
        let features = fc2(h)
        bn2.apply(features.pointer, rows: b, relu: false)
        let activated = features.copy()
        for i in 0..<activated.count { activated.pointer[i] = max(0, activated.pointer[i]) }
        let logits = fc3(activated)
        let (logProbs, probs) = Self.logSoftmax(logits)
        return Output(features: features, logProbs: logProbs, probs: probs, globalFeatures: global, layers: kept.values)
    }

    /// log_softmax over the last dimension, and its exp.
    static func logSoftmax(_ logits: Tensor) -> (Tensor, Tensor) {
        let classes = logits.shape.last!, rows = logits.count / classes
        let logProbs = Tensor(zeros: logits.shape), probs = Tensor(zeros: logits.shape)
        for r in 0..<rows {
            let x = logits.pointer + r * classes
            var top = -Float.infinity
            for c in 0..<classes { top = max(top, x[c]) }
            var sum: Float = 0
            for c in 0..<classes { sum += exp(x[c] - top) }
            let logSum = log(sum)
            for c in 0..<classes {
                let v = x[c] - top - logSum
                logProbs.pointer[r * classes + c] = v
                probs.pointer[r * classes + c] = exp(v)
            }
        }
        return (logProbs, probs)
    }

    /// The reference extractor's normalisation of raw clouds [B, N, 3]: subtract each cloud's
    /// mean, divide by its largest point norm (into the unit sphere).
    public static func normalize(_ clouds: Tensor) -> Tensor {
        let b = clouds.shape[0], n = clouds.shape[1]
        let out = Tensor(zeros: clouds.shape)
        for i in 0..<b {
            let p = clouds.pointer + i * n * 3, o = out.pointer + i * n * 3
            var mean = [Double](repeating: 0, count: 3)
            for j in 0..<n { for c in 0..<3 { mean[c] += Double(p[j * 3 + c]) } }
            let centre = mean.map { Float($0 / Double(n)) }
            var largest: Float = 0
            for j in 0..<n {
                var norm2: Float = 0
                for c in 0..<3 {
                    o[j * 3 + c] = p[j * 3 + c] - centre[c]
                    norm2 += o[j * 3 + c] * o[j * 3 + c]
                }
                largest = max(largest, norm2.squareRoot())
            }
            // A single-point (or all-equal) cloud has radius 0; the reference would divide by zero.
            let scale = largest > 0 ? largest : 1
            for k in 0..<(n * 3) { o[k] /= scale }
        }
        return out
    }
}

/// Per-cloud layer outputs written from parallel iterations, each to its own slot.
private final class KeptLayers: @unchecked Sendable {
    private var slots: [[PointNetSetAbstraction.Output]]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: [], count: count) }
    func store(_ i: Int, _ value: [PointNetSetAbstraction.Output]) { lock.lock(); slots[i] = value; lock.unlock() }
    var values: [[PointNetSetAbstraction.Output]] { slots }
}
