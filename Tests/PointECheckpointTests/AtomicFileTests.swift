import Foundation
import PointECheckpoint
import PointETestSupport
import XCTest

/// AtomicFile.writeAll: several files, each complete or absent, each directory synced once; an
/// error names the file at fault and leaves the files before it in place, and no temporary file.
final class AtomicFileTests: XCTestCase {
    func testWriteAllWritesEveryFileAndNamesTheOneThatFails() throws {
        let root = try Fixtures.temporaryDirectory().path
        for dir in ["a", "b"] { try FileManager.default.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true) }
        let files = [(Data("one".utf8), root + "/a/1.txt"), (Data("two".utf8), root + "/a/2.txt"), (Data("three".utf8), root + "/b/3.txt")]
        try AtomicFile.writeAll(files.map { (data: $0.0, path: $0.1) })
        for (data, path) in files { XCTAssertEqual(FileManager.default.contents(atPath: path), data, path) }

        let failing = [(data: Data("new".utf8), path: root + "/a/1.txt"), (data: Data("lost".utf8), path: root + "/missing/4.txt")]
        XCTAssertThrowsError(try AtomicFile.writeAll(failing)) { XCTAssertTrue("\($0)".contains("missing/4.txt"), "\($0)") }
        XCTAssertEqual(FileManager.default.contents(atPath: root + "/a/1.txt"), Data("new".utf8), "the file before the failure")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/a").sorted(), ["1.txt", "2.txt"], "a temporary file was left")
    }
}
