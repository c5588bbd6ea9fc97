import Foundation
import PointETestSupport
import XCTest

/// `pointe generate -o` is checked before any model is loaded or anything is made (issue 33:
/// `-o g/x.stl` made a directory named x.stl, a run without models still made -o, an output
/// that could not be written was found only after sampling, and a raw NSCocoaError was printed).
final class GenerateOutputTests: XCTestCase {
    func testOutputsAndModelsAreCheckedBeforeAnythingIsMade() throws {
        let dir = ClusterTestSupport.temporaryDirectory("generate-output")
        let emptyModels = dir + "/no-models"
        try FileManager.default.createDirectory(atPath: emptyModels, withIntermediateDirectories: true)
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: dir + "/a-file"))
        let pointe = try BuiltTool.pointe()
        func generate(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try Subprocess.run(pointe, ["generate"] + arguments + ["--models-dir", emptyModels], timeout: 60)
        }
        let cases: [(arguments: [String], says: String, notMade: String)] = [
            (["a chair", "-o", dir + "/g/x.stl"], "a point cloud is written as .ply or .npz", dir + "/g"),
            (["a chair", "-o", dir + "/out/"], "lacks what this needs", dir + "/out"),
            (["a chair", "-o", dir + "/nested/deeper/x.ply"], "missing model base40M-textvec", dir + "/nested"),
            (["a chair", "-o", dir + "/a-file/sub/"], "a-file is a file, not a directory", dir + "/a-file/sub"),
            (["", "-o", dir + "/empty.ply"], "the text prompt is empty", dir + "/empty.ply"),
        ]
        for (arguments, says, notMade) in cases {
            let result = try generate(arguments)
            let line = "pointe generate " + arguments.joined(separator: " ")
            XCTAssertNotEqual(result.status, 0, "\(line) was accepted:\n\(result.output)")
            XCTAssertTrue(result.output.contains(says), "\(line) did not say \"\(says)\":\n\(result.output)")
            XCTAssertFalse(result.output.contains("NSCocoaErrorDomain"), "\(line):\n\(result.output)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: notMade), "\(line) made \(notMade)")
        }
    }
}
