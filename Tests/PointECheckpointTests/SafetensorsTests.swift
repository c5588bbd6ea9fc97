import Foundation
import PointECheckpoint
import PointETensor
import XCTest

final class SafetensorsTests: XCTestCase {
    func testReadParityFile() throws {
        let path = fixturePath("uncond.io.safetensors")
        let sd = try CheckpointLoader.load(path)
        // Keys in data order (header inspected with Python's json module at authoring time).
        XCTAssertEqual(sd.keys, ["t_int", "debug.block0", "debug.block1", "debug.input_proj", "debug.ln_post", "debug.ln_pre",
                                 "debug.t_embed", "out", "out_tint", "t", "x"])
        XCTAssertEqual(sd.metadata, [:])
        let tInt = try sd.tensor("t_int")
        XCTAssertEqual(tInt.dtype, .int64)
        XCTAssertEqual(try tInt.int64Values(), [0, 1023])
        XCTAssertEqual(try sd.floatTensor("t").values, [37.25, 811.625])
        let x = try sd.floatTensor("x")
        XCTAssertEqual(x.shape, [2, 6, 64])
        XCTAssertTrue(x.storage.isBorrowed, "float32 safetensors data is lent without copying")
        // Reference values: numpy.frombuffer over the raw data bytes.
        XCTAssertEqual(Array(x.values.prefix(3)), [0.21029819548130035, -0.4450256824493408, 0.8918918371200562])
        XCTAssertEqual(try sd.floatTensor("out")[1, 11, 63], -0.8019906)
    }

    func testRoundTrip() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("round.safetensors").path
        let a = Tensor(shape: [2, 3], values: [1, -2, 3.5, .pi, -0.0, 1e-30])
        let b = Tensor(shape: [5], values: [9, 8, 7, 6, 5])
        let scalar = Tensor(shape: [], values: [42])
        try SafetensorsWriter.write([("layer.weight", a), ("odd", b), ("scalar", scalar)], metadata: ["format": "pt", "note": "quote \" and \\"], to: path)

        let sd = try CheckpointLoader.load(path)
        XCTAssertEqual(sd.keys, ["layer.weight", "odd", "scalar"])
        XCTAssertEqual(sd.metadata, ["format": "pt", "note": "quote \" and \\"])
        XCTAssertEqual(try sd.floatTensor("layer.weight").values.map(\.bitPattern), a.values.map(\.bitPattern))
        XCTAssertEqual(try sd.floatTensor("odd").values, b.values)
        XCTAssertEqual(try sd.floatTensor("scalar").shape, [])
        XCTAssertEqual(try sd.floatTensor("scalar").values, [42])

        // Header padded with spaces to a multiple of 8; data contiguous in order.
        let bytes = try readBytes(path)
        let headerLength = readLE32(bytes, 0)
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(bytes.count, 8 + headerLength + (6 + 5 + 1) * 4)
        XCTAssertTrue([UInt8(ascii: " "), UInt8(ascii: "}")].contains(bytes[8 + headerLength - 1]))
        let header = try XCTUnwrap(String(bytes: bytes[8..<(8 + headerLength)], encoding: .utf8))
        XCTAssertTrue(header.hasPrefix("{"))
        XCTAssertTrue(header.trimmingCharacters(in: .whitespaces).hasSuffix("}"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(header.utf8)) as? [String: Any])
        let odd = try XCTUnwrap(json["odd"] as? [String: Any])
        XCTAssertEqual(odd["data_offsets"] as? [Int], [24, 44])
        XCTAssertEqual(odd["dtype"] as? String, "F32")

        // Nothing but the output is left in the directory (the temporary file was renamed).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["round.safetensors"])

        // Overwriting replaces the file atomically.
        try SafetensorsWriter.write([("only", b)], metadata: [:], to: path)
        XCTAssertEqual(try CheckpointLoader.load(path).keys, ["only"])
    }

    func testInt64AndUInt8Arrays() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("ints.safetensors").path
        try SafetensorsWriter.write(arrays: [
            ("tokens", .int64(shape: [2, 2], values: [49406, -1, Int64.max, 0])),
            ("f", .float32(Tensor(shape: [1], values: [0.5]))),
            ("mask", .uint8(shape: [3], values: [0, 1, 255])),
        ], to: path)
        let sd = try SafetensorsReader.load(path)
        XCTAssertEqual(sd.keys, ["tokens", "f", "mask"])
        XCTAssertEqual(try sd.tensor("tokens").int64Values(), [49406, -1, Int64.max, 0])
        XCTAssertEqual(try sd.tensor("mask").uint8Values(), [0, 1, 255])
        XCTAssertEqual(try sd.floatTensor("f").values, [0.5])
        XCTAssertTrue(try sd.floatTensor("f").storage.isBorrowed, "data starts 8-byte aligned; f follows 32 bytes of int64")

        assertThrowsMentioning(["bad", "needs 4 values"]) {
            try SafetensorsWriter.write(arrays: [("bad", .int64(shape: [4], values: [1]))], to: path)
        }
        assertThrowsMentioning(["duplicate", "x"]) {
            try SafetensorsWriter.write([("x", Tensor(zeros: [1])), ("x", Tensor(zeros: [1]))], to: path)
        }
        // The failed writes left the previous file intact.
        XCTAssertEqual(try SafetensorsReader.load(path).keys, ["tokens", "f", "mask"])
    }

    func header(_ json: String, data: [UInt8]) -> [UInt8] {
        let h = Array(json.utf8)
        return le64(h.count) + h + data
    }

    func testInvalidFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("bad.safetensors")

        try writeBytes(header(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, data: [UInt8](repeating: 0, count: 16)), to: url)
        assertThrowsMentioning([url.path, "'w'", "shape"]) { try CheckpointLoader.load(url.path) }

        try writeBytes(header(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 8)), to: url)
        assertThrowsMentioning([url.path, "'w'", "outside"]) { try CheckpointLoader.load(url.path) }

        try writeBytes(header(#"{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), to: url)
        assertThrowsMentioning([url.path, "C64"]) { try CheckpointLoader.load(url.path) }

        try writeBytes(header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: [UInt8](repeating: 0, count: 12)), to: url)
        assertThrowsMentioning([url.path, "overlaps"]) { try CheckpointLoader.load(url.path) }

        try writeBytes(header(#"{"w": nope}"#, data: []), to: url)
        assertThrowsMentioning([url.path, "JSON"]) { try SafetensorsReader.load(url.path) }

        try writeBytes(le64(1 << 40) + Array("{}".utf8), to: url)
        assertThrowsMentioning([url.path, "header length"]) { try SafetensorsReader.load(url.path) }

        // A truncated copy of a real file.
        let original = try readBytes(fixturePath("uncond.io.safetensors"))
        for cut in [4, 9, 500, original.count / 2, original.count - 1] {
            try writeBytes(Array(original.prefix(cut)), to: url)
            assertThrowsMentioning([url.path]) { try SafetensorsReader.load(url.path) }
        }
    }
}
