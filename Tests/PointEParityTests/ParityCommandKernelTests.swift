import Foundation
import PointETestSupport
import XCTest

/// POINTE_KERNELS through the command line: `pointe parity` runs a fixture under the variant it
/// names and says which; a bad value stops the process before any work, naming the variable.
final class ParityCommandKernelTests: XCTestCase {
    func run(_ kernels: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run("/usr/bin/env", ["POINTE_KERNELS=\(kernels)", try BuiltTool.pointe()] + arguments, timeout: 120)
    }

    func testParityRunsUnderTheForcedVariant() throws {
        let result = try run("baseline", ["parity", Fixtures.path("uncond")])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("kernels baseline"), result.output)
        XCTAssertTrue(result.output.contains("PASS"), result.output)
    }

    func testUnknownVariantIsRefusedByName() throws {
        let result = try run("sse9", ["parity", Fixtures.path("uncond")])
        XCTAssertEqual(result.status, 2, result.output)
        XCTAssertTrue(result.output.contains("POINTE_KERNELS=sse9: not a kernel variant"), result.output)
        XCTAssertFalse(result.output.contains("PASS"), result.output)
    }
}
