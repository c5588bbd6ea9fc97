import Foundation
import PointETestSupport
import XCTest

/// `pointe models init-random --preset tiny` then `pointe generate` for a prompt and for an
/// image, run as the built command-line tool (the code path users run), checking the clouds
/// written: every point of both stages, finite coordinates, colours, determinism in --seed.
final class GenerateEndToEndTests: XCTestCase {
    /// Runs the built `pointe` executable (found next to this test bundle) to its end.
    @discardableResult
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run(try BuiltTool.pointe(), arguments, timeout: 300)
    }

    /// Vertex count and the float/colour payload of a binary PLY as PointCloud writes it.
    static func readPLY(_ path: String) throws -> (count: Int, xyz: [Float], rgb: [UInt8]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let end = data.range(of: Data("end_header\n".utf8)) else { throw NSError(domain: path, code: 2) }
        let header = String(decoding: data[..<end.lowerBound], as: UTF8.self)
        guard let line = header.split(separator: "\n").first(where: { $0.hasPrefix("element vertex ") }),
              let count = Int(line.split(separator: " ")[2]) else { throw NSError(domain: path, code: 3) }
        let body = [UInt8](data[end.upperBound...])
        XCTAssertEqual(body.count, count * 15, "\(path): 3 floats + 3 bytes per vertex")
        var xyz: [Float] = [], rgb: [UInt8] = []
        for v in 0..<min(count, body.count / 15) {
            for k in 0..<3 {
                let o = v * 15 + k * 4
                xyz.append(Float(bitPattern: UInt32(body[o]) | UInt32(body[o + 1]) << 8 | UInt32(body[o + 2]) << 16 | UInt32(body[o + 3]) << 24))
            }
            rgb += body[(v * 15 + 12)..<(v * 15 + 15)]
        }
        return (count, xyz, rgb)
    }

    func testTextAndImageToPointCloudWithTinyModels() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-generate-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let models = dir + "/models"
        let initRun = try Self.run(["models", "init-random", "--preset", "tiny", "--only", "base40M-textvec", "--only", "base40M",
                                    "--only", "upsample", "--only", "clip", models])
        XCTAssertEqual(initRun.status, 0, initRun.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: models + "/clip.safetensors"), initRun.output)

        let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/corgi.jpg").path
        var clouds: [[Float]] = []
        for (args, file) in [(["a red motorcycle"], "a_red_motorcycle.ply"), (["--image", image], "corgi.ply"),
                             (["a red motorcycle", "--seed", "1"], "seed1.ply"), (["a red motorcycle"], "again.ply")] {
            let out = dir + "/out/" + file
            let target = file == "a_red_motorcycle.ply" || file == "corgi.ply" ? dir + "/out" : out
            let result = try Self.run(["generate"] + args + ["--models-dir", models, "-o", target, "--steps", "3"])
            XCTAssertEqual(result.status, 0, result.output)
            let cloud = try Self.readPLY(out)
            XCTAssertEqual(cloud.count, 256, "64 base + 192 upsampled points")
            XCTAssertTrue(cloud.xyz.allSatisfy { $0.isFinite && abs($0) <= 1 }, file)
            XCTAssertGreaterThan(Set(cloud.rgb).count, 1, "\(file): colours vary")
            clouds.append(cloud.xyz)
        }
        XCTAssertNotEqual(clouds[0], clouds[1], "text and image conditioning give different clouds")
        XCTAssertNotEqual(clouds[0], clouds[2], "another seed gives another cloud")
        XCTAssertEqual(clouds[0], clouds[3], "the same seed gives the same cloud")
    }

    func testMissingCheckpointsAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-generate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Self.run(["generate", "a chair", "--models-dir", dir, "-o", dir + "/x.ply"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains(dir + "/base40M-textvec.pt") && result.output.contains("base_40m_textvec.pt"), result.output)
    }
}
