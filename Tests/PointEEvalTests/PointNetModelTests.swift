import PointETestSupport
import Foundation
import PointECloud
import PointECheckpoint
import PointEMesh
import PointETensor
import XCTest
@testable import PointEEval
@testable import PointEModels

/// Strict loading, the evaluator's batching, and the cloud inputs, on a small (width_mult 1)
/// random-weight network written as a checkpoint.
final class PointNetModelTests: XCTestCase {
    /// A width_mult 1 state dict as the reference names it, with num_batches_tracked counters.
    func smallStateDict() -> [(String, OutputArray)] {
        let source = ParameterSource(randomSeed: 7)
        _ = PointNetClassifier(ParameterScope(source), numClasses: 10, widthMult: 1)
        var arrays = source.parameters.map { ($0.name, OutputArray.float32($0.tensor)) }
        for name in PointNetClassifier.batchNormNames(widthMult: 1) {
            arrays.append(("\(name).num_batches_tracked", .int64(shape: [], values: [0])))
        }
        return arrays
    }

    func loadError(_ arrays: [(String, OutputArray)]) throws -> String {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pointnet.safetensors").path
        try SafetensorsWriter.write(arrays: arrays, to: path)
        do { _ = try PointNetClassifier.load(checkpoint: path, numClasses: 10, widthMult: 1) } catch {
            XCTAssertTrue("\(error)".contains(path), "names the file: \(error)")
            return "\(error)"
        }
        XCTFail("checkpoint was accepted")
        return ""
    }

    func testStrictLoadingReportsEveryProblem() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let intact = dir.appendingPathComponent("ok.safetensors").path
        try SafetensorsWriter.write(arrays: smallStateDict(), to: intact)
        XCTAssertNoThrow(try PointNetClassifier.load(checkpoint: intact, numClasses: 10, widthMult: 1))

        var broken = smallStateDict().filter { $0.0 != "sa2.mlp_convs.1.weight" && $0.0 != "bn1.num_batches_tracked" }
        broken.append(("fc4.weight", .float32(Tensor(zeros: [2, 2]))))
        broken = broken.map { $0.0 == "fc3.bias" ? ($0.0, .float32(Tensor(zeros: [11]))) : $0 }
        let message = try loadError(broken)
        for part in ["sa2.mlp_convs.1.weight", "bn1.num_batches_tracked", "fc4.weight", "fc3.bias"] {
            XCTAssertTrue(message.contains(part), "\(part) in: \(message)")
        }
        // Asked for the released layout (width_mult 2, 40 classes), a width_mult 1 checkpoint is refused;
        // unasked, the classes and the width are read from the checkpoint's head (fc3.weight).
        XCTAssertThrowsError(try PointNetClassifier.load(checkpoint: intact, numClasses: 40, widthMult: 2))
        let inferred = try PointNetClassifier.load(checkpoint: intact)
        XCTAssertEqual(inferred.widthMult, 1)
        XCTAssertEqual(inferred.numClasses, 10)

        // A training checkpoint: the model under model_state_dict beside optimizer tensors.
        let training = dir.appendingPathComponent("training.safetensors").path
        try SafetensorsWriter.write(arrays: smallStateDict().map { ("model_state_dict." + $0.0, $0.1) }
            + [("optimizer_state_dict.state.0.exp_avg", .float32(Tensor(zeros: [3])))], to: training)
        let fromTraining = try PointNetClassifier.load(checkpoint: training, numClasses: 10, widthMult: 1)
        XCTAssertEqual(fromTraining.fc3.weight.values, try PointNetClassifier.load(checkpoint: intact, numClasses: 10, widthMult: 1).fc3.weight.values)
    }

    /// Clouds are normalised, batched by 64 with FPS starting at the batch position, and
    /// grouped by size; every result lands at its cloud's index.
    func testEvaluatorMatchesDirectBatchesAndGroupsBySize() throws {
        let model = PointNetClassifier.random(seed: 3, numClasses: 10, widthMult: 1)
        let small = Tensor.gaussian([2, 600, 3], std: 0.5, seed: 5, stream: 0)
        let large = Tensor.gaussian([1, 700, 3], std: 0.5, seed: 5, stream: 1)
        func cloud(_ t: Tensor, _ i: Int) -> [Float] { Array(t.values[(i * t.shape[1] * 3)..<((i + 1) * t.shape[1] * 3)]) }
        // Interleaved sizes: [small0, large0, small1].
        let result = try PointNetEvaluator(model: model).evaluate([cloud(small, 0), cloud(large, 0), cloud(small, 1)])
        let direct = model(PointNetClassifier.normalize(small))
        let directLarge = model(PointNetClassifier.normalize(large))
        let dim = model.featureDim
        XCTAssertEqual(Array(result.features[0..<dim]), Array(direct.features.values[0..<dim]))
        XCTAssertEqual(Array(result.features[dim..<(2 * dim)]), directLarge.features.values)
        XCTAssertEqual(Array(result.features[(2 * dim)...]), Array(direct.features.values[dim...]))
        XCTAssertEqual(Array(result.predictions[10..<20]), directLarge.probs.values)
        // The second cloud of a batch starts FPS at point 1, so position matters as in the reference.
        let alone = model(PointNetClassifier.normalize(Tensor(shape: [1, 600, 3], values: cloud(small, 1))))
        XCTAssertNotEqual(alone.features.values, Array(direct.features.values[dim...]))
        for p in 0..<3 { XCTAssertEqual(result.predictions[(p * 10)..<((p + 1) * 10)].reduce(0, +), 1, accuracy: 1e-5) }
    }

    func testNormalizationCentresAndScalesIntoTheUnitSphere() {
        let raw = Tensor(shape: [1, 3, 3], values: [1, 1, 1, 3, 1, 1, 2, 4, 1])
        let out = PointNetClassifier.normalize(raw).values
        let norms = (0..<3).map { j in (0..<3).map { out[j * 3 + $0] * out[j * 3 + $0] }.reduce(0, +).squareRoot() }
        XCTAssertEqual(norms.max()!, 1, accuracy: 1e-6)
        for c in 0..<3 { XCTAssertEqual(out[c] + out[3 + c] + out[6 + c], 0, accuracy: 1e-6) }
    }

    func testCloudInputsReadBatchesSinglesAndDirectories() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A reference-style batch: arr_0 [2, 4, 6] (xyz + extra channels that are ignored).
        let batch = Tensor(shape: [2, 4, 6], values: (0..<48).map(Float.init))
        try NpzWriter.write([("arr_0", batch)], to: dir.appendingPathComponent("a_batch.npz").path)
        try PointCloud(coords: [0, 0, 0, 1, 2, 3]).writePLY(to: dir.appendingPathComponent("b_single.ply").path)
        let loaded = try CloudInputs.load(dir.path)
        XCTAssertEqual(loaded.clouds.count, 3)
        XCTAssertEqual(loaded.clouds[1], [24, 25, 26, 30, 31, 32, 36, 37, 38, 42, 43, 44])
        XCTAssertEqual(loaded.clouds[2], [0, 0, 0, 1, 2, 3])
        XCTAssertTrue(loaded.names[0].hasSuffix("a_batch.npz[0]"))
        // A cloud saved in both formats counts once.
        try PointCloud(coords: [5, 5, 5]).writePLY(to: dir.appendingPathComponent("a_batch.ply").path)
        XCTAssertEqual(try CloudInputs.load(dir.path).clouds.count, 3)
        // A job directory: finished prompts of its manifest in prompt order; failed ones skipped.
        let job = dir.appendingPathComponent("job")
        try FileManager.default.createDirectory(at: job.appendingPathComponent("clouds"), withIntermediateDirectories: true)
        try PointCloud(coords: [1, 1, 1]).writeNPZ(to: job.appendingPathComponent("clouds/p1.npz").path)
        try PointCloud(coords: [2, 2, 2]).writePLY(to: job.appendingPathComponent("clouds/p0.ply").path)
        try PointCloud(coords: [2, 2, 2]).writeNPZ(to: job.appendingPathComponent("clouds/p0.npz").path)
        let lines = [
            #"{"id":"p1","index":1,"status":"done","files":{"cloud_npz":{"path":"clouds/p1.npz"},"cloud_ply":{"path":"clouds/p1.ply"}}}"#,
            #"{"id":"p2","index":2,"status":"failed","error":"worker lost"}"#,
            #"{"id":"p0","index":0,"status":"done","files":{"cloud_ply":{"path":"clouds/p0.ply"}}}"#,
        ]
        try (lines.joined(separator: "\n") + "\n").write(to: job.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try CloudInputs.load(job.path).clouds, [[2, 2, 2], [1, 1, 1]])
        try "not json\n".write(to: job.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CloudInputs.load(job.path)) { XCTAssertTrue("\($0)".contains("manifest.jsonl")) }
        XCTAssertThrowsError(try CloudInputs.load(dir.appendingPathComponent("missing.npz").path)) {
            XCTAssertTrue("\($0)".contains("missing.npz"))
        }
        try NpzWriter.write([("other", batch)], to: dir.appendingPathComponent("bad.npz").path)
        XCTAssertThrowsError(try CloudInputs.load(dir.appendingPathComponent("bad.npz").path)) {
            XCTAssertTrue("\($0)".contains("bad.npz"))
        }
    }
}
