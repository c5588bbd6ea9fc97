import Foundation
@testable import PointEEngine
import XCTest

/// Installing the demo set: every file copied as it is, a set missing a network named, and a
/// directory that already holds one of the set's models (a released checkpoint, say) refused
/// before anything is written, since the demo files would shadow it.
final class DemoModelSetTests: XCTestCase {
    func temporary(_ label: String) -> String {
        let dir = NSTemporaryDirectory() + "pointe-demo-set-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A source folder with every file the set must have (contents are opaque to the installer).
    func source(without missing: String? = nil) throws -> String {
        let dir = temporary("source")
        let names = ["base40M-textvec", "upsample", "sdf", "clip"].flatMap { [$0 + ".json", $0 + ".safetensors"] }
            + ["pointnet.safetensors", "grammar.json", "TRAINING.md"]
        for (k, name) in names.enumerated() where name != missing {
            try Data("file \(k) \(name)".utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        return dir
    }

    func testInstallCopiesEveryFile() throws {
        let from = try source(), to = temporary("target") + "/models"
        let written = try DemoModelSet.install(into: to, from: from)
        XCTAssertEqual(written.count, 11)
        for name in try FileManager.default.contentsOfDirectory(atPath: from) {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: to + "/" + name)), try Data(contentsOf: URL(fileURLWithPath: from + "/" + name)), name)
        }
    }

    func testAMissingNetworkIsNamed() throws {
        let from = try source(without: "upsample.safetensors")
        XCTAssertThrowsError(try DemoModelSet.install(into: temporary("target"), from: from)) { error in
            XCTAssertTrue("\(error)".contains("has no upsample.safetensors"), "\(error)")
        }
    }

    func testADirectoryHoldingOneOfTheModelsIsRefusedUntouched() throws {
        let from = try source(), to = temporary("target")
        try Data("released".utf8).write(to: URL(fileURLWithPath: to + "/base40M-textvec.pt"))
        XCTAssertThrowsError(try DemoModelSet.install(into: to, from: from)) { error in
            XCTAssertTrue("\(error)".contains("already holds base40M-textvec"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: to), ["base40M-textvec.pt"])
    }
}
