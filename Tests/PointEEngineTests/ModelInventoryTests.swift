import Foundation
import PointEModels
import PointETestSupport
import XCTest
@testable import PointEEngine

/// `pointe models list/verify` see what `ModelDirectory` loads: released files and the offline
/// NAME.safetensors/.pt + NAME.json form alike, each checked strictly.
final class ModelInventoryTests: XCTestCase {
    func directory() throws -> URL {
        let dir = try Fixtures.temporaryDirectory()
        let fm = FileManager.default
        // The offline form: our config next to the weights (a tiny random uncond network).
        try fm.copyItem(atPath: Fixtures.path("uncond") + ".pt", toPath: dir.appendingPathComponent("base40M-uncond.pt").path)
        try fm.copyItem(atPath: Fixtures.path("uncond") + ".json", toPath: dir.appendingPathComponent("base40M-uncond.json").path)
        // The released layout under its released name.
        try fm.copyItem(atPath: Fixtures.path("pointnet") + ".pt", toPath: dir.appendingPathComponent("pointnet.pt").path)
        return dir
    }

    func testListsBothFileFormsAndVerifiesThemStrictly() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inventory = ModelInventory(ModelDirectory(dir.path))
        let present = inventory.entries.filter { !$0.files.isEmpty }
        XCTAssertEqual(present.map(\.file.name), ["base40M-uncond", "pointnet"])
        XCTAssertEqual(present[0].files.map { ($0 as NSString).lastPathComponent }, ["base40M-uncond.pt", "base40M-uncond.json"])
        for entry in present { XCTAssertTrue(try inventory.verify(entry).contains("strict load"), entry.file.name) }
    }

    func testAFileOfTheWrongArchitectureFailsNamingIt() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // uncond's weights saved as if they were the released text-conditioned model.
        let wrong = dir.appendingPathComponent("base40M-textvec.pt").path
        try FileManager.default.copyItem(atPath: Fixtures.path("uncond") + ".pt", toPath: wrong)
        let inventory = ModelInventory(ModelDirectory(dir.path))
        let entry = try XCTUnwrap(inventory.entries.first { $0.file.name == "base40M-textvec" })
        XCTAssertThrowsError(try inventory.verify(entry)) { error in XCTAssertTrue("\(error)".contains(wrong), "\(error)") }
    }

    func testTheCommandsTakeModelsDirAndVerifyFailsLoudly() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pointe = try BuiltTool.pointe()
        let list = try Subprocess.run(pointe, ["models", "list", "--models-dir", dir.path])
        XCTAssertEqual(list.status, 0, list.output)
        XCTAssertTrue(list.output.contains("base40M-uncond.pt + base40M-uncond.json"), list.output)
        let verify = try Subprocess.run(pointe, ["models", "verify", "--models-dir", dir.path])
        XCTAssertEqual(verify.status, 0, verify.output)
        XCTAssertTrue(verify.output.contains("base40M-uncond: ok") && verify.output.contains("pointnet: ok"), verify.output)
        // A damaged file fails verify with a non-zero exit; an empty directory has nothing to verify.
        try Data("not a checkpoint".utf8).write(to: dir.appendingPathComponent("sdf.pt"))
        let damaged = try Subprocess.run(pointe, ["models", "verify", "--cache-dir", dir.path])
        XCTAssertEqual(damaged.status, 1, damaged.output)
        XCTAssertTrue(damaged.output.contains("sdf: FAILED"), damaged.output)
        let empty = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        let nothing = try Subprocess.run(pointe, ["models", "verify", "--models-dir", empty.path])
        XCTAssertEqual(nothing.status, 1, nothing.output)
        XCTAssertTrue(nothing.output.contains("nothing to verify"), nothing.output)
    }
}
