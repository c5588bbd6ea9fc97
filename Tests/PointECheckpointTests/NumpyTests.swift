import Foundation
import PointECheckpoint
import PointETensor
import XCTest

final class NumpyTests: XCTestCase {
    func testReadPointCloudNpz() throws {
        let sd = try CheckpointLoader.load(fixturePath("pc_corgi.npz"))
        XCTAssertEqual(sd.keys, ["coords", "R", "G", "B"])
        let coordsView = try sd.tensor("coords")
        XCTAssertEqual(coordsView.shape, [4096, 3])
        XCTAssertFalse(coordsView.isContiguous, "coords is stored in Fortran order")
        let coords = try coordsView.floatTensor()
        // Reference values printed with numpy at authoring time (np.load(...)['coords'][i]).
        XCTAssertEqual([coords[0, 0], coords[0, 1], coords[0, 2]], [0.08699104934930801, -0.17853397130966187, 0.1305844485759735])
        XCTAssertEqual([coords[1, 0], coords[1, 1], coords[1, 2]], [-0.1539258360862732, -0.2595277428627014, -0.1656867116689682])
        XCTAssertEqual([coords[4095, 0], coords[4095, 1], coords[4095, 2]], [0.15523850917816162, -0.11494877189397812, -0.13293786346912384])
        let r = try sd.floatTensor("R")
        XCTAssertEqual(r.shape, [4096])
        XCTAssertEqual(Array(r.values.prefix(3)), [0.960784375667572, 0.9294118285179138, 0.9372549653053284])
        XCTAssertEqual(try sd.floatTensor("B")[4095], 0.46666669845581055)
    }

    func testReadDeflatedNpz() throws {
        // Made with numpy.savez_compressed (deflate members) at authoring time:
        // a = arange(12).reshape(3,4) * 0.5 - 1 (f4), b = [5, -7, 2**40, 0, 3] (i8),
        // fortran = asfortranarray(arange(6).reshape(2,3)) (f4), u = [[1,2],[250,0]] (u1), d = [1.5, -2.25] (f8).
        let path = fixturePath("deflated.npz")
        let archive = try ZipArchive(path: path)
        XCTAssertTrue(archive.entries.allSatisfy { $0.method == 8 })
        let sd = try CheckpointLoader.load(path)
        XCTAssertEqual(sd.keys, ["a", "b", "fortran", "u", "d"])
        XCTAssertEqual(try sd.floatTensor("a").values, (0..<12).map { Float($0) * 0.5 - 1 })
        XCTAssertEqual(try sd.tensor("b").int64Values(), [5, -7, 1 << 40, 0, 3])
        let fortran = try sd.floatTensor("fortran")
        XCTAssertEqual(fortran.shape, [2, 3])
        XCTAssertEqual(fortran.values, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try sd.tensor("u").uint8Values(), [1, 2, 250, 0])
        XCTAssertEqual(try sd.tensor("u").floatTensor(convertingIntegers: true).values, [1, 2, 250, 0])
        XCTAssertEqual(try sd.tensor("d").doubleValues(), [1.5, -2.25])
        XCTAssertEqual(try sd.floatTensor("d").values, [1.5, -2.25])
    }

    func testCorruptDeflateDataIsDetected() throws {
        var bytes = try readBytes(fixturePath("deflated.npz"))
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("bad.npz")
        // Flip bits in the first member's compressed bytes (after its 30-byte header, name and ZIP64 extra field).
        for i in 60..<80 { bytes[i] ^= 0x5A }
        try writeBytes(bytes, to: url)
        assertThrowsMentioning([url.path, "a.npy"]) { try CheckpointLoader.load(url.path) }
    }

    func testNpzWriteReadRoundTrip() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("cloud.npz").path
        let coords = Tensor(shape: [5, 3], values: (0..<15).map { Float($0) * 0.25 - 1 })
        let red = Tensor(shape: [5], values: [0, 0.25, 0.5, 0.75, 1])
        try NpzWriter.write([("coords", coords), ("R", red)], to: path)
        let sd = try CheckpointLoader.load(path)
        XCTAssertEqual(sd.keys, ["coords", "R"])
        let back = try sd.floatTensor("coords")
        XCTAssertEqual(back.shape, [5, 3])
        XCTAssertEqual(back.values, coords.values)
        XCTAssertEqual(try sd.floatTensor("R").values, red.values)
        // Members are laid out so array data is 64-byte aligned, hence borrowable.
        XCTAssertTrue(try sd.tensor("coords").canBorrowFloat32)
        XCTAssertTrue(try sd.tensor("R").canBorrowFloat32)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["cloud.npz"])

        // Independent check of the container: each member is a stored .npy with a v1 header.
        let bytes = try readBytes(path)
        let member = try XCTUnwrap(rawStoredMember("coords.npy", in: bytes))
        XCTAssertEqual(Array(member.prefix(8)), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = readLE16(member, 8)
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: member[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }"), header)
        XCTAssertTrue(header.hasSuffix("\n"))
        let data = Array(member[(10 + headerLength)...])
        XCTAssertEqual(data, floatBytes(coords.values))
    }

    func testNpzWithIntegerArraysAndNpyFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("mesh.npz").path
        try NpzWriter.write(arrays: [
            ("verts", .float32(Tensor(shape: [3, 3], values: [0, 0, 0, 1, 0, 0, 0, 1, 0]))),
            ("faces", .int64(shape: [1, 3], values: [0, 1, 2])),
            ("rgb", .uint8(shape: [3, 3], values: [255, 0, 0, 0, 255, 0, 0, 0, 255])),
        ], to: path)
        let sd = try NumpyReader.loadNpz(path)
        XCTAssertEqual(try sd.tensor("faces").int64Values(), [0, 1, 2])
        XCTAssertEqual(try sd.tensor("faces").shape, [1, 3])
        XCTAssertEqual(try sd.tensor("rgb").uint8Values(), [255, 0, 0, 0, 255, 0, 0, 0, 255])

        let npy = dir.appendingPathComponent("values.npy").path
        try NpyWriter.write(.float32(Tensor(shape: [2, 2], values: [1, 2, 3, 4])), to: npy)
        let single = try CheckpointLoader.load(npy)
        XCTAssertEqual(single.keys, ["values"])
        XCTAssertEqual(try single.floatTensor("values").values, [1, 2, 3, 4])
        XCTAssertEqual(try single.floatTensor("values").shape, [2, 2])
    }

    func testMalformedNpy() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("bad.npy")
        func npy(_ header: String, data: [UInt8], version: UInt8 = 1) -> [UInt8] {
            let h = Array(header.utf8)
            return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0] + le16(h.count) + h + data
        }
        try writeBytes(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", data: floatBytes([1, 2])), to: url)
        assertThrowsMentioning([url.path, "truncated"]) { try CheckpointLoader.load(url.path) }
        try writeBytes(npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", data: [UInt8](repeating: 0, count: 8)), to: url)
        assertThrowsMentioning([url.path, "<c8"]) { try CheckpointLoader.load(url.path) }
        try writeBytes(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n", data: [UInt8](repeating: 0, count: 4)), to: url)
        assertThrowsMentioning([url.path, "big-endian"]) { try CheckpointLoader.load(url.path) }
        try writeBytes(npy("{'descr': '<f4', 'shape': (1,), }\n", data: [UInt8](repeating: 0, count: 4)), to: url)
        assertThrowsMentioning([url.path, "missing"]) { try CheckpointLoader.load(url.path) }
        try writeBytes(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", data: []), to: url)
        assertThrowsMentioning([url.path, "malformed"]) { try CheckpointLoader.load(url.path) }
        try writeBytes(npy("{'descr': '<f4'}", data: [], version: 7), to: url)
        assertThrowsMentioning([url.path, "version 7"]) { try CheckpointLoader.load(url.path) }
        var long = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", data: [])
        long.replaceSubrange(8..<10, with: le16(60000))
        try writeBytes(long, to: url)
        assertThrowsMentioning([url.path, "header"]) { try CheckpointLoader.load(url.path) }
    }
}
