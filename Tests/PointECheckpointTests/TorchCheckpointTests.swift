import Foundation
import PointECheckpoint
import PointETensor
import XCTest

final class TorchCheckpointTests: XCTestCase {
    /// Key order and shapes of uncond.pt, obtained at authoring time by unpickling its data.pkl with
    /// Python's pickle module and a stub class resolver (no torch involved).
    static let uncondLayout: [(String, [Int])] = {
        var layout: [(String, [Int])] = [
            ("time_embed.c_fc.weight", [256, 64]), ("time_embed.c_fc.bias", [256]),
            ("time_embed.c_proj.weight", [64, 256]), ("time_embed.c_proj.bias", [64]),
            ("ln_pre.weight", [64]), ("ln_pre.bias", [64]),
        ]
        for block in 0..<2 {
            let p = "backbone.resblocks.\(block)."
            layout += [
                (p + "attn.c_qkv.weight", [192, 64]), (p + "attn.c_qkv.bias", [192]),
                (p + "attn.c_proj.weight", [64, 64]), (p + "attn.c_proj.bias", [64]),
                (p + "ln_1.weight", [64]), (p + "ln_1.bias", [64]),
                (p + "mlp.c_fc.weight", [256, 64]), (p + "mlp.c_fc.bias", [256]),
                (p + "mlp.c_proj.weight", [64, 256]), (p + "mlp.c_proj.bias", [64]),
                (p + "ln_2.weight", [64]), (p + "ln_2.bias", [64]),
            ]
        }
        layout += [
            ("ln_post.weight", [64]), ("ln_post.bias", [64]), ("input_proj.weight", [64, 6]), ("input_proj.bias", [64]),
            ("output_proj.weight", [12, 64]), ("output_proj.bias", [12]),
        ]
        return layout
    }()

    func testUncondKeysAndShapesInFileOrder() throws {
        let sd = try CheckpointLoader.load(fixturePath("uncond.pt"))
        XCTAssertEqual(sd.keys, Self.uncondLayout.map(\.0))
        XCTAssertEqual(sd.count, 36)
        for (key, shape) in Self.uncondLayout {
            let t = try XCTUnwrap(sd[key], key)
            XCTAssertEqual(t.shape, shape, key)
            XCTAssertEqual(t.dtype, .float32, key)
            XCTAssertTrue(t.isContiguous, key)
        }
        XCTAssertNil(sd["missing"])
        assertThrowsMentioning(["missing", fixturePath("uncond.pt")]) { try sd.tensor("missing") }
    }

    func testUncondValuesMatchRawBytes() throws {
        let path = fixturePath("uncond.pt")
        let sd = try CheckpointLoader.load(path)
        // Reference numbers read at authoring time with numpy.frombuffer(zip.read('uncond/data/0'), '<f4').
        let w = try sd.floatTensor("time_embed.c_fc.weight")
        XCTAssertEqual(w[0, 0], 0.01708292029798031)
        XCTAssertEqual(w[0, 1], -0.1081869825720787)
        XCTAssertEqual(w[0, 3], 0.12728136777877808)
        XCTAssertEqual(w[1, 0], 0.1018773540854454)
        XCTAssertEqual(w[255, 63], -0.06151604279875755)
        let b = try sd.floatTensor("time_embed.c_fc.bias")
        XCTAssertEqual(Array(b.values.prefix(3)), [-0.025596095249056816, -0.06905149668455124, 0.09962599724531174])

        // Every tensor against an independent scan of the file's local headers: storage key N is
        // the N-th tensor in this file (see the authoring-time dump).
        let bytes = try readBytes(path)
        for (index, (key, shape)) in Self.uncondLayout.enumerated() {
            let count = shape.reduce(1, *)
            let raw = try XCTUnwrap(rawStoredMember("uncond/data/\(index)", in: bytes, size: count * 4), key)
            let expected = (0..<count).map { Float(bitPattern: UInt32(truncatingIfNeeded: readLE32(raw, 4 * $0))) }
            let actual = try sd.floatTensor(key).values
            XCTAssertTrue(actual == expected, "\(key): values differ from the raw member bytes")
        }
    }

    func testFloat32TensorsAreZeroCopy() throws {
        let checkpoint = try TorchCheckpoint.load(fixturePath("uncond.pt"))
        XCTAssertEqual(checkpoint.prefix, "uncond/")
        let sd = try checkpoint.stateDict()
        let t = try XCTUnwrap(sd["backbone.resblocks.1.mlp.c_fc.weight"])
        XCTAssertTrue(t.canBorrowFloat32)
        let a = try t.floatTensor()
        let b = try t.floatTensor()
        XCTAssertTrue(a.storage.isBorrowed)
        XCTAssertEqual(a.pointer, b.pointer, "both views borrow the same mapped bytes")
        // The data lives inside the mapped archive, at the member's offset.
        let entry = try XCTUnwrap(checkpoint.archive.entry(named: "uncond/data/24"))
        let mapped = try checkpoint.archive.contents(of: entry)
        XCTAssertEqual(UnsafeMutableRawPointer(a.pointer), mapped.base)
        XCTAssertTrue(mapped.owner === checkpoint.archive.file)
    }

    func testZeroCopyTensorKeepsMappingAlive() throws {
        var tensor: Tensor?
        do {
            let sd = try CheckpointLoader.load(fixturePath("uncond.pt"))
            tensor = try sd.floatTensor("output_proj.bias")
        }
        // StateDict and archive are gone; the tensor still owns the mapping.
        let t = try XCTUnwrap(tensor)
        XCTAssertEqual(t.shape, [12])
        XCTAssertTrue(t.storage.isBorrowed)
        XCTAssertTrue(t.values.allSatisfy { $0.isFinite })
    }

    // MARK: Hand-built checkpoints

    /// 12 float32 values v[i] = 1.5 i - 3.
    static let floatStorage: [Float] = (0..<12).map { Float($0) * 1.5 - 3 }
    /// float16 bit patterns: 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal), +inf.
    static let halfBits: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x7C00]

    func handBuiltArchive(top: String = "archive", wrap: Bool = false, extraTopLevel: Bool = false) -> [UInt8] {
        var p = PickleBuilder()
        if wrap {
            p.op(0x7D)  // EMPTY_DICT
            p.string("model_state_dict")
        }
        p.emptyOrderedDict()
        p.op(0x71); p.op(0)  // BINPUT 0
        p.mark()
        p.string("transposed")
        p.tensor("FloatStorage", key: "0", numel: 12, offset: 0, size: [4, 3], stride: [1, 4])
        p.string("window")
        p.tensor("FloatStorage", key: "0", numel: 12, offset: 2, size: [2, 3], stride: [4, 1])
        p.string("plain")
        p.tensor("FloatStorage", key: "0", numel: 12, offset: 0, size: [3, 4], stride: [4, 1])
        p.string("shifted")
        p.tensor("FloatStorage", key: "0", numel: 12, offset: 1, size: [5], stride: [1])
        p.string("broadcast")
        p.tensor("FloatStorage", key: "0", numel: 12, offset: 3, size: [2, 2], stride: [0, 1])
        p.string("empty")
        p.tensor("FloatStorage", key: "0", numel: 12, offset: 0, size: [0, 3], stride: [3, 1])
        p.string("half")
        p.parameter { $0.tensor("HalfStorage", key: "1", numel: 6, offset: 0, size: [2, 3], stride: [3, 1]) }
        p.string("long")
        p.tensor("LongStorage", key: "2", numel: 3, offset: 0, size: [3], stride: [1])
        p.string("bf16")
        p.tensor("BFloat16Storage", key: "3", numel: 2, offset: 0, size: [2], stride: [1])
        p.string("step")
        p.int(7)
        p.op(0x75)  // SETITEMS
        // BUILD with the `_metadata` attribute dict, as torch.save writes it.
        p.op(0x7D)
        p.string("_metadata")
        p.emptyOrderedDict()
        p.op(0x73)  // SETITEM
        p.op(0x62)  // BUILD
        if wrap {
            p.op(0x73)  // SETITEM model_state_dict
            if extraTopLevel {
                p.string("epoch")
                p.int(3)
                p.op(0x73)
            }
        }
        p.stop()
        return buildZip([
            ("\(top)/data.pkl", p.bytes),
            ("\(top)/byteorder", Array("little".utf8)),
            ("\(top)/data/0", floatBytes(Self.floatStorage)),
            ("\(top)/data/1", uint16Bytes(Self.halfBits)),
            ("\(top)/data/2", int64Bytes([1, -5, 1 << 40])),
            ("\(top)/data/3", uint16Bytes([0x3F80, 0xC020])),  // bfloat16 1.0, -2.5
            ("\(top)/version", Array("3\n".utf8)),
        ])
    }

    func testHandBuiltStridesOffsetsAndDtypes() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("hand.pt")
        try writeBytes(handBuiltArchive(), to: url)
        let sd = try CheckpointLoader.load(url.path)
        XCTAssertEqual(sd.keys, ["transposed", "window", "plain", "shifted", "broadcast", "empty", "half", "long", "bf16"])
        XCTAssertEqual(sd.value("step")?.intValue, 7)
        let v = Self.floatStorage

        let transposed = try XCTUnwrap(sd["transposed"])
        XCTAssertFalse(transposed.isContiguous)
        XCTAssertEqual(transposed.strides, [1, 4])
        let tt = try transposed.floatTensor()
        XCTAssertFalse(tt.storage.isBorrowed, "a gathered copy")
        XCTAssertEqual(tt.shape, [4, 3])
        for i in 0..<4 { for j in 0..<3 { XCTAssertEqual(tt[i, j], v[j * 4 + i]) } }

        let window = try sd.floatTensor("window")
        XCTAssertEqual(window.values, [v[2], v[3], v[4], v[6], v[7], v[8]])

        let plain = try XCTUnwrap(sd["plain"])
        XCTAssertTrue(plain.canBorrowFloat32)
        let pt = try plain.floatTensor()
        XCTAssertTrue(pt.storage.isBorrowed)
        XCTAssertEqual(pt.values, v)

        let shifted = try sd.floatTensor("shifted")
        XCTAssertTrue(shifted.storage.isBorrowed, "offset 1 element is still 4-byte aligned")
        XCTAssertEqual(shifted.values, Array(v[1..<6]))

        XCTAssertEqual(try sd.floatTensor("broadcast").values, [v[3], v[4], v[3], v[4]])
        XCTAssertEqual(try sd.floatTensor("empty").shape, [0, 3])

        let half = try XCTUnwrap(sd["half"])
        XCTAssertEqual(half.dtype, .float16)
        let ht = try half.floatTensor()
        XCTAssertEqual(ht.shape, [2, 3])
        XCTAssertEqual(Array(ht.values.prefix(5)), [1, -2, 0.5, 65504, Float(1) / 16_777_216])
        XCTAssertEqual(ht[1, 2], .infinity)

        let long = try XCTUnwrap(sd["long"])
        XCTAssertEqual(long.dtype, .int64)
        XCTAssertEqual(try long.int64Values(), [1, -5, 1 << 40])
        assertThrowsMentioning(["long", "int64", url.path]) { try long.floatTensor() }
        XCTAssertEqual(try long.floatTensor(convertingIntegers: true).values, [1, -5, Float(1 << 40)])
        assertThrowsMentioning(["transposed", "float32"]) { try transposed.int64Values() }

        let bf16 = try XCTUnwrap(sd["bf16"])
        XCTAssertEqual(bf16.dtype, .bfloat16)
        XCTAssertEqual(try bf16.floatTensor().values, [1.0, -2.5])
    }

    func testTopFolderNameMayVary() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("weights.pt")
        try writeBytes(handBuiltArchive(top: "weights"), to: url)
        let checkpoint = try TorchCheckpoint.load(url.path)
        XCTAssertEqual(checkpoint.prefix, "weights/")
        XCTAssertEqual(try checkpoint.stateDict().count, 9)
    }

    func testNestedModelStateDict() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("nested.pt")
        try writeBytes(handBuiltArchive(wrap: true, extraTopLevel: true), to: url)

        // Automatic descent: all tensors sit under "model_state_dict".
        let auto = try CheckpointLoader.load(url.path)
        XCTAssertEqual(auto.keys.first, "transposed")
        XCTAssertEqual(auto.count, 9)

        let checkpoint = try TorchCheckpoint.load(url.path)
        let selected = try checkpoint.stateDict(at: "model_state_dict")
        XCTAssertEqual(selected.keys, auto.keys)
        XCTAssertEqual(try selected.floatTensor("plain").values, Self.floatStorage)

        let flat = try checkpoint.flattenedStateDict()
        XCTAssertEqual(flat.keys.first, "model_state_dict.transposed")
        XCTAssertEqual(flat.value("epoch")?.intValue, 3)
        XCTAssertEqual(flat.value("model_state_dict.step")?.intValue, 7)
        XCTAssertEqual(flat.scoped(to: "model_state_dict").keys, auto.keys)

        assertThrowsMentioning(["optimizer", url.path]) { try checkpoint.stateDict(at: "optimizer") }
    }

    func testNoAutomaticDescentWhenTensorsAreElsewhere() throws {
        var p = PickleBuilder()
        p.op(0x7D)
        p.mark()
        p.string("model_state_dict")
        p.op(0x7D); p.string("w"); p.tensor("FloatStorage", key: "0", numel: 12, offset: 0, size: [12], stride: [1]); p.op(0x73)
        p.string("optimizer")
        p.op(0x7D); p.string("state"); p.op(0x7D); p.int(0); p.op(0x7D)
        p.string("exp_avg"); p.tensor("FloatStorage", key: "0", numel: 12, offset: 0, size: [3], stride: [1]); p.op(0x73)
        p.op(0x73); p.op(0x73)
        p.op(0x75)
        p.stop()
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("train.pt")
        try writeBytes(buildZip([("train/data.pkl", p.bytes), ("train/data/0", floatBytes(Self.floatStorage))]), to: url)
        let sd = try CheckpointLoader.load(url.path)
        XCTAssertEqual(sd.keys, ["model_state_dict.w", "optimizer.state.0.exp_avg"])
        XCTAssertEqual(try TorchCheckpoint.load(url.path).stateDict(at: "model_state_dict").keys, ["w"])
        XCTAssertEqual(try TorchCheckpoint.load(url.path).stateDict(at: "optimizer.state.0").keys, ["exp_avg"])
    }

    func testStorageBoundsAreChecked() throws {
        var p = PickleBuilder()
        p.op(0x7D)
        p.string("too_far")
        p.tensor("FloatStorage", key: "0", numel: 12, offset: 10, size: [2, 2], stride: [2, 1])
        p.op(0x73)
        p.stop()
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("bounds.pt")
        try writeBytes(buildZip([("archive/data.pkl", p.bytes), ("archive/data/0", floatBytes(Self.floatStorage))]), to: url)
        assertThrowsMentioning(["too_far", url.path, "beyond"]) { try CheckpointLoader.load(url.path) }

        // A storage that is shorter than its declared element count.
        var q = PickleBuilder()
        q.op(0x7D)
        q.string("short")
        q.tensor("FloatStorage", key: "0", numel: 100, offset: 0, size: [2], stride: [1])
        q.op(0x73)
        q.stop()
        try writeBytes(buildZip([("archive/data.pkl", q.bytes), ("archive/data/0", floatBytes(Self.floatStorage))]), to: url)
        assertThrowsMentioning(["short", url.path, "100"]) { try CheckpointLoader.load(url.path) }

        // A storage entry that is missing from the archive.
        try writeBytes(buildZip([("archive/data.pkl", q.bytes)]), to: url)
        assertThrowsMentioning(["short", "archive/data/0", "missing"]) { try CheckpointLoader.load(url.path) }
    }

    func testTensorSubclassAndUnsupportedKinds() throws {
        // torch._tensor._rebuild_from_type_v2(_rebuild_tensor_v2, Parameter subclass, (args...), state)
        var p = PickleBuilder()
        p.op(0x7D)
        p.string("sub")
        p.global("torch._tensor", "_rebuild_from_type_v2")
        p.mark()
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.global("mymodule", "MyTensor")
        p.mark()
        p.mark(); p.string("storage"); p.global("torch", "FloatStorage"); p.string("0"); p.string("cpu"); p.int(12); p.op(0x74)
        p.op(0x51)
        p.int(4)
        p.intTuple([2])
        p.intTuple([1])
        p.op(0x89)
        p.emptyOrderedDict()
        p.op(0x74)  // the inner argument tuple
        p.op(0x7D)  // state
        p.op(0x74)
        p.op(0x52)
        p.op(0x73)
        p.stop()
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("sub.pt")
        try writeBytes(buildZip([("archive/data.pkl", p.bytes), ("archive/data/0", floatBytes(Self.floatStorage))]), to: url)
        XCTAssertEqual(try CheckpointLoader.load(url.path).floatTensor("sub").values, [Self.floatStorage[4], Self.floatStorage[5]])

        var q = PickleBuilder()
        q.op(0x7D)
        q.string("quantized")
        q.global("torch._utils", "_rebuild_qtensor")
        q.op(0x29)
        q.op(0x52)
        q.op(0x73)
        q.stop()
        try writeBytes(buildZip([("archive/data.pkl", q.bytes)]), to: url)
        assertThrowsMentioning([url.path, "quantized", "_rebuild_qtensor"]) { try CheckpointLoader.load(url.path) }
    }

    func testBigEndianArchivesAreRejected() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("big.pt")
        var p = PickleBuilder()
        p.op(0x7D)
        p.stop()
        try writeBytes(buildZip([("archive/data.pkl", p.bytes), ("archive/byteorder", Array("big".utf8))]), to: url)
        assertThrowsMentioning(["byte order", url.path]) { try TorchCheckpoint.load(url.path) }
    }
}
