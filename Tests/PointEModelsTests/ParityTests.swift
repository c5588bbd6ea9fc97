import PointEParity
import PointETestSupport
import XCTest
@testable import PointEModels

/// Every network class against the reference implementation's outputs (random weights saved
/// as official checkpoints; see ../shared/parity/README.txt). Tolerance 1e-4 x max(1, max|expected|).
/// Each runs under the baseline kernels and under the best ones this CPU has.
final class ParityTests: XCTestCase {
    func check(_ name: String, expecting outputs: [String]) throws {
        try underEachTestedKernelVariant { variant in
            let result = try ParityCheck.run(fixture: Fixtures.path(name))
            let checked = result.comparisons.filter { !$0.isDebug }
            XCTAssertEqual(Set(checked.map(\.name)), Set(outputs), "outputs compared for \(name)")
            for c in result.comparisons {
                XCTAssertLessThanOrEqual(c.maxAbsError, c.tolerance, "\(name).\(c.name) [kernels \(variant)]: max|err| \(c.maxAbsError)")
            }
            XCTAssertTrue(result.passed, "\(name) [kernels \(variant)]")
        }
    }

    func testUnconditional() throws { try check("uncond", expecting: ["out", "out_tint"]) }
    func testTextVector() throws { try check("textvec", expecting: ["out", "out_zero_emb"]) }
    func testImageGrid() throws { try check("imagegrid", expecting: ["out"]) }
    func testUpsampleWithAndWithoutGrid() throws { try check("upsample", expecting: ["out", "out_noemb"]) }
    func testSDF() throws { try check("sdf", expecting: ["latents", "sdf"]) }

    func testDebugActivationsAreCompared() throws {
        let result = try ParityCheck.run(fixture: Fixtures.path("upsample"))
        let debug = Set(result.comparisons.filter(\.isDebug).map(\.name))
        XCTAssertTrue(debug.isSuperset(of: ["debug.t_embed", "debug.clip_embed", "debug.cond_point_proj", "debug.block1",
                                            "debug_noemb.clip_embed"]), "\(debug)")
    }
}
