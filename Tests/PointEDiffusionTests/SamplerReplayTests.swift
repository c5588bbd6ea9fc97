import PointEParity
import Foundation
@testable import PointEDiffusion
import PointETensor
import PointETestSupport
import XCTest

/// Every `sampler_*` fixture replayed with its recorded noise: teacher-forced (network calls,
/// network inputs and integer timesteps, denoised x0 of every step) and free-running to the
/// final point clouds, at the tolerances (see `SamplerParity`).
final class SamplerReplayTests: XCTestCase {
    func replay(_ name: String, stages: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        try underEachTestedKernelVariant { variant in
            let result = try SamplerParity.run(fixture: Fixtures.path(name))
            for c in result.comparisons {
                XCTAssertTrue(c.passed, "\(name) [kernels \(variant)] \(c.name): max|err| \(c.maxAbsError) mean \(c.meanAbsError) tol \(c.tolerance)",
                              file: file, line: line)
            }
            // Every kind of check ran for every stage (a replay that skipped one would pass vacuously).
            let names = result.comparisons.map(\.name)
            for s in 0..<stages {
                for kind in ["sigmas", "model_out", "model_in_x", "model_in_t", "denoised"] {
                    XCTAssertTrue(names.contains { $0.hasPrefix("stage\(s).\(kind)") }, "\(name): no stage\(s).\(kind) check", file: file, line: line)
                }
            }
            XCTAssertTrue(names.contains("free-running pc.coords"), file: file, line: line)
            XCTAssertTrue(names.contains("free-running pc.rgb"), file: file, line: line)
        }
    }

    func testUnconditionalReplay() throws { try replay("sampler_uncond", stages: 1) }
    func testTextVectorGuidedChurnReplay() throws { try replay("sampler_textvec", stages: 1) }
    func testTextToPointCloudTwoStageReplay() throws { try replay("sampler_text2pc", stages: 2) }
    func testImageToPointCloudTwoStageReplay() throws { try replay("sampler_image2pc", stages: 2) }

    func testFixtureIsRecognisedAndDrawOrderIsComplete() throws {
        XCTAssertTrue(SamplerFixture.isSamplerFixture(Fixtures.path("sampler_text2pc")))
        XCTAssertFalse(SamplerFixture.isSamplerFixture(Fixtures.path("uncond")))
        let fixture = try SamplerFixture(path: Fixtures.path("sampler_text2pc"))
        // x_T then one eps per step, even for the churn-free upsampler stage.
        XCTAssertEqual(fixture.drawOrder.count, 2 * (1 + 6))
        XCTAssertEqual(fixture.sampler.stages.map(\.guidanceScale), [3, 0])
        // model_kwargs_key_filter ["embeddings", ""]: the CLIP vector, then nothing.
        XCTAssertEqual(fixture.sampler.stages.map(\.conditioning), [.only([.clipVector]), .unconditioned])
    }

    func testReplayNoiseRejectsShapeMismatchAndExhaustion() throws {
        let noise = ReplayNoise([("a", Tensor(zeros: [1, 6, 4]))], source: "test.io")
        XCTAssertThrowsError(try noise.normal([1, 6, 5], for: .initial(stage: 0))) { XCTAssertTrue("\($0)".contains("test.io"), "\($0)") }
        XCTAssertNoThrow(try noise.normal([1, 6, 4], for: .initial(stage: 0)))
        XCTAssertThrowsError(try noise.normal([1, 6, 4], for: .step(stage: 0, index: 0))) { XCTAssertTrue("\($0)".contains("exhausted"), "\($0)") }
    }
}
