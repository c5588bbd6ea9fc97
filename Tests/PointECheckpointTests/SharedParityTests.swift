import Foundation
import PointECheckpoint
import PointETensor
import XCTest

/// Checks against the larger parity files in `../shared/parity` (next to the package). They are
/// not copied into Tests/Fixtures; each test is skipped where the directory is absent.
final class SharedParityTests: XCTestCase {
    func shared(_ name: String) throws -> String {
        guard let path = sharedParityPath(name) else { throw XCTSkip("../shared/parity/\(name) not present") }
        return path
    }

    func testMarchingCubesNpz() throws {
        let sd = try CheckpointLoader.load(try shared("marching_cubes.npz"))
        XCTAssertEqual(sd.count, 29)  // len(np.load(...).files)
        let faces = try sd.tensor("sphere_faces")
        XCTAssertEqual(faces.dtype, .int64)
        XCTAssertEqual(faces.shape, [4316, 3])
        let values = try faces.int64Values()
        // Reference values printed with numpy at authoring time.
        XCTAssertEqual(Array(values.prefix(3)), [1, 2, 0])
        XCTAssertEqual(Array(values.suffix(3)), [2133, 2159, 2123])
        XCTAssertEqual(try sd.tensor("sphere_volume").shape, [32, 32, 32])
        XCTAssertEqual(Array(try sd.floatTensor("grid_axis_coords").values.prefix(2)), [-0.5099999904632568, -0.4770967662334442])
    }

    func testPreprocessUInt8Npz() throws {
        let sd = try CheckpointLoader.load(try shared("preprocess.u8.npz"))
        let decoded = try sd.tensor("decoded_corgi")
        XCTAssertEqual(decoded.dtype, .uint8)
        XCTAssertEqual(decoded.shape, [256, 256, 3])
        XCTAssertEqual(Array(try decoded.uint8Values().prefix(3)), [255, 255, 255])
        let tall = try sd.tensor("decoded_preprocess_tall_gray")
        XCTAssertEqual(tall.shape, [261, 150, 3])
        XCTAssertEqual(Array(try tall.uint8Values().suffix(3)), [212, 212, 212])
        XCTAssertEqual(try sd.tensor("resized_preprocess_tall_gray").floatTensor(convertingIntegers: true)[223, 223, 0], 185)
        assertThrowsMentioning(["decoded_corgi", "uint8"]) { try decoded.floatTensor() }
    }

    func testPointNetModelStateDictIsDescended() throws {
        let path = try shared("pointnet.pt")
        let sd = try CheckpointLoader.load(path)
        XCTAssertGreaterThan(sd.count, 10)
        XCTAssertFalse(sd.keys.contains { $0.hasPrefix("model_state_dict.") })
        let selected = try TorchCheckpoint.load(path).stateDict(at: "model_state_dict")
        XCTAssertEqual(selected.keys, sd.keys)
    }

    func testTorchScriptArchiveMatchesStateDict() throws {
        let eager = try CheckpointLoader.load(try shared("clip.pt"))
        let script = try TorchCheckpoint.load(try shared("clip.jit.pt"))
        XCTAssertEqual(script.prefix, "clip.jit/")
        let scripted = try script.stateDict()
        // TorchScript module attributes flatten to the same names as the state_dict, plus a few
        // buffers CLIP's jit export adds (input_resolution, context_length, vocab_size).
        XCTAssertEqual(Set(eager.keys).subtracting(scripted.keys), [])
        XCTAssertEqual(Set(scripted.keys).subtracting(eager.keys), ["input_resolution", "context_length", "vocab_size"])
        XCTAssertEqual(try scripted.tensor("vocab_size").int64Values(), [49408])
        var sawHalf = false
        for key in eager.keys {
            let a = try eager.floatTensor(key)
            let bView = try scripted.tensor(key)
            XCTAssertEqual(bView.shape, a.shape, key)
            let b = try bView.floatTensor()
            if bView.dtype == .float16 {
                sawHalf = true
                // fp16 rounding: relative error <= 2^-11 for normal values.
                for (x, y) in zip(a.values, b.values) {
                    XCTAssertLessThanOrEqual(abs(x - y), max(abs(x) * 0.0005, 6.2e-5), key)
                }
            } else {
                XCTAssertEqual(a.values, b.values, key)
            }
        }
        XCTAssertTrue(sawHalf)
        XCTAssertGreaterThan(try script.constantTensors().count, 0)
    }
}
