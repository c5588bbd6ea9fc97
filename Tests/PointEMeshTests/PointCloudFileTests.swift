import Foundation
import PointECloud
import PointECheckpoint
import PointEMesh
import PointETensor
import PointETestSupport
import XCTest

final class PointCloudFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-mesh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A cloud with irregular coordinates and colours on the 1/255 grid, as sampling produces.
    func sampleCloud(_ n: Int = 37) -> PointCloud {
        var g = SeededGenerator(seed: 11)
        let coords = (0..<(n * 3)).map { _ in g.nextGaussian() * 0.4 }
        let channels = ["R", "G", "B"].map { name in
            PointCloud.Channel(name: name, values: (0..<n).map { _ in Float(g.next() % 256) / 255 })
        }
        return PointCloud(coords: coords, channels: channels)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testSamplerOutputConversionClampsRoundsAndScalesColours() {
        // [1, 6, 3]: xyz rows then R, G, B rows (data units, colours 0..255).
        let output = Tensor(shape: [1, 6, 3], values: [
            0.1, 0.2, 0.3,
            -0.1, -0.2, -0.3,
            1, 2, 3,
            -5, 300, 127.5,
            0.5, 1.5, 254.49,
            128.5, 255, 0,
        ])
        let cloud = PointCloud(samplerOutput: output, index: 0)
        XCTAssertEqual(cloud.coords, [0.1, -0.1, 1, 0.2, -0.2, 2, 0.3, -0.3, 3])
        // Clamped to 0...255, rounded half to even (127.5 -> 128, 0.5 -> 0, 1.5 -> 2, 128.5 -> 128).
        XCTAssertEqual(cloud.channel("R"), [0, 255, 128].map { Float($0) / 255 })
        XCTAssertEqual(cloud.channel("G"), [0, 2, 254].map { Float($0) / 255 })
        XCTAssertEqual(cloud.channel("B"), [128, 255, 0].map { Float($0) / 255 })
    }

    func testNPZRoundTrip() throws {
        let cloud = sampleCloud()
        try cloud.writeNPZ(to: path("c.npz"))
        XCTAssertEqual(try PointCloud.readNPZ(path("c.npz")), cloud)
    }

    func testNPZLoadsWithNumpyLikeTheReference() throws {
        // python3 from PATH (it may live in a virtualenv or pyenv); skip when it or numpy is absent.
        let probe = try Subprocess.run("/usr/bin/env", ["python3", "-c", "import numpy"], timeout: 60)
        guard probe.status == 0 else { throw XCTSkip("python3 with numpy is not available") }

        let cloud = sampleCloud()
        try cloud.writeNPZ(to: path("c.npz"))
        // What PointCloud.load does: coords = obj["coords"], channels = every other key; print
        // them back with full precision for comparison.
        let script = """
        import sys, numpy as np
        obj = np.load(sys.argv[1])
        keys = list(obj.keys())
        coords = obj["coords"]
        assert coords.dtype == np.float32 and coords.ndim == 2 and coords.shape[1] == 3, (coords.dtype, coords.shape)
        print(" ".join(keys))
        print(" ".join(repr(float(v)) for v in coords.reshape(-1)))
        for k in keys:
            if k != "coords":
                assert obj[k].shape == (coords.shape[0],), (k, obj[k].shape)
                print(" ".join(repr(float(v)) for v in obj[k]))
        """
        let (status, text) = try Subprocess.run("/usr/bin/env", ["python3", "-c", script, path("c.npz")], timeout: 120)
        XCTAssertEqual(status, 0, text)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "coords R G B")
        guard lines.count == 5 else { return XCTFail("numpy printed \(lines.count) lines: \(text)") }
        XCTAssertEqual(lines[1].split(separator: " ").map { Float(Double($0)!) }, cloud.coords)
        for (k, name) in ["R", "G", "B"].enumerated() {
            XCTAssertEqual(lines[2 + k].split(separator: " ").map { Float(Double($0)!) }, cloud.channel(name))
        }
    }

    func testPLYRoundTripAndLayout() throws {
        let cloud = sampleCloud()
        try cloud.writePLY(to: path("c.ply"))
        let data = try Data(contentsOf: URL(fileURLWithPath: path("c.ply")))
        let header = "ply\nformat binary_little_endian 1.0\nelement vertex \(cloud.count)\nproperty float x\nproperty float y\nproperty float z\n"
            + "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n"
        XCTAssertEqual(String(decoding: data.prefix(header.utf8.count), as: UTF8.self), header)
        XCTAssertEqual(data.count, header.utf8.count + cloud.count * 15)
        XCTAssertEqual(try PointCloud.readPLY(path("c.ply")), cloud)
    }

    func testPLYWithoutColoursHasOnlyCoordinates() throws {
        let cloud = PointCloud(coords: sampleCloud().coords)
        try cloud.writePLY(to: path("plain.ply"))
        let back = try PointCloud.readPLY(path("plain.ply"))
        XCTAssertEqual(back, cloud)
        XCTAssertTrue(back.channels.isEmpty)
    }

    func testASCIIPLYIsRead() throws {
        let text = "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\n"
            + "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n0.5 1 -2 255 0 51\n3 4 5 0 102 255\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path("a.ply")))
        let cloud = try PointCloud.readPLY(path("a.ply"))
        XCTAssertEqual(cloud.coords, [0.5, 1, -2, 3, 4, 5])
        XCTAssertEqual(cloud.channel("R"), [1, 0])
        XCTAssertEqual(cloud.channel("G"), [0, 102 / 255])
    }

    func testMalformedFilesGetErrorsNamingTheFile() throws {
        let good = sampleCloud().plyData()
        let cases: [(String, Data, String)] = [
            ("notply.ply", Data("hello".utf8), "not a PLY file"),
            ("truncated.ply", good.prefix(good.count - 7), "truncated"),
            ("noend.ply", Data("ply\nformat binary_little_endian 1.0\nelement vertex 1\n".utf8), "end_header"),
            ("bigendian.ply", Data("ply\nformat binary_big_endian 1.0\nelement vertex 0\nproperty float x\nend_header\n".utf8), "unsupported PLY format"),
            ("noz.ply", Data("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nend_header\n1 2\n".utf8), "'z'"),
        ]
        for (name, data, message) in cases {
            try data.write(to: URL(fileURLWithPath: path(name)))
            XCTAssertThrowsError(try PointCloud.readPLY(path(name))) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(path(name)), "\(name): \(text)")
                XCTAssertTrue(text.contains(message), "\(name): \(text)")
            }
        }

        try Data("not a zip".utf8).write(to: URL(fileURLWithPath: path("bad.npz")))
        XCTAssertThrowsError(try PointCloud.readNPZ(path("bad.npz"))) { XCTAssertTrue("\($0)".contains(self.path("bad.npz")), "\($0)") }

        try NpzWriter.write([("points", Tensor(zeros: [4, 3]))], to: path("nocoords.npz"))
        XCTAssertThrowsError(try PointCloud.readNPZ(path("nocoords.npz"))) { XCTAssertTrue("\($0)".contains("no \"coords\""), "\($0)") }

        try NpzWriter.write([("coords", Tensor(zeros: [4, 3])), ("R", Tensor(zeros: [5]))], to: path("mismatch.npz"))
        XCTAssertThrowsError(try PointCloud.readNPZ(path("mismatch.npz"))) { XCTAssertTrue("\($0)".contains("channel \"R\""), "\($0)") }
    }

    func testWritesReplaceAtomicallyAndLeaveNoTemporaryFiles() throws {
        let first = sampleCloud(5), second = sampleCloud(9)
        try first.writePLY(to: path("x.ply"))
        try second.writePLY(to: path("x.ply"))
        XCTAssertEqual(try PointCloud.readPLY(path("x.ply")), second)
        try first.writeNPZ(to: path("x.npz"))
        try second.writeNPZ(to: path("x.npz"))
        XCTAssertEqual(try PointCloud.readNPZ(path("x.npz")), second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["x.npz", "x.ply"])
    }
}
