import PointEParity
import Foundation
@testable import PointEDiffusion
import PointETensor
import PointETestSupport
import XCTest

/// Every `sampler_*` fixture replayed with its recorded noise, for every sampler kind the
/// reference has (Heun, Euler ancestral, DPM, DDPM): teacher-forced (network calls; every step
/// of the stage's loop from the recorded state with the recorded network outputs, checking each
/// call's inputs and integer timesteps, each x0 prediction and where the step leads; the live
/// denoiser at every step) and free-running to the final point clouds, at the tolerances of
/// `SamplerParity`.
final class SamplerReplayTests: XCTestCase {
    func replay(_ name: String, stages: Int, kind: SamplerKind, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try SamplerFixture(path: Fixtures.path(name)).samplerKind, kind, "\(name): sampler kind", file: file, line: line)
        try underEachTestedKernelVariant { variant in
            let result = try SamplerParity.run(fixture: Fixtures.path(name))
            for c in result.comparisons {
                XCTAssertTrue(c.passed, "\(name) [kernels \(variant)] \(c.name): max|err| \(c.maxAbsError) mean \(c.meanAbsError) tol \(c.tolerance)",
                              file: file, line: line)
            }
            // Every kind of check ran for every stage (a replay that skipped one would pass vacuously).
            let names = result.comparisons.map(\.name)
            for s in 0..<stages {
                let checks = ["model_out", "model_in_x", "model_in_t", "steps x", "steps pred_xstart", "denoised"] + (kind == .ddpm ? [] : ["sigmas"])
                for check in checks {
                    XCTAssertTrue(names.contains { $0.hasPrefix("stage\(s).\(check)") }, "\(name): no stage\(s).\(check) check", file: file, line: line)
                }
            }
            XCTAssertFalse(names.contains { $0.hasPrefix("stage\(stages).") }, "\(name): more stages replayed than \(stages)", file: file, line: line)
            XCTAssertTrue(names.contains("free-running pc.coords"), file: file, line: line)
            XCTAssertTrue(names.contains("free-running pc.rgb"), file: file, line: line)
        }
    }

    func testUnconditionalReplay() throws { try replay("sampler_uncond", stages: 1, kind: .heun) }
    func testTextVectorGuidedChurnReplay() throws { try replay("sampler_textvec", stages: 1, kind: .heun) }
    func testTextToPointCloudTwoStageReplay() throws { try replay("sampler_text2pc", stages: 2, kind: .heun) }
    func testImageToPointCloudTwoStageReplay() throws { try replay("sampler_image2pc", stages: 2, kind: .heun) }
    func testEulerAncestralTextToPointCloudReplay() throws { try replay("sampler_ancestral_text2pc", stages: 2, kind: .eulerAncestral) }
    func testDPMGuidedChurnReplay() throws { try replay("sampler_dpm_textvec", stages: 1, kind: .dpm) }
    func testDDPMUnconditionalReplay() throws { try replay("sampler_ddpm_uncond", stages: 1, kind: .ddpm) }
    func testDDPMGuidedImageToPointCloudReplay() throws { try replay("sampler_ddpm_image2pc", stages: 2, kind: .ddpm) }

    /// The replay tells the kinds apart: each fixture's recorded run, re-sampled with the same
    /// stages and noise but another kind's loop, misses the reference's clouds (or cannot even
    /// consume its draws), so a sampler walking the wrong method cannot pass.
    func testAnotherKindMissesEachFixture() throws {
        for name in ["sampler_textvec", "sampler_ancestral_text2pc", "sampler_dpm_textvec", "sampler_ddpm_uncond"] {
            let fixture = try SamplerFixture(path: Fixtures.path(name))
            for other in SamplerKind.allCases where other != fixture.samplerKind {
                var sampler = fixture.sampler
                for i in sampler.stages.indices {
                    let karras: KarrasOptions
                    switch sampler.stages[i].loop {
                    case .karras(let options): karras = options
                    case .ddpm: karras = .baseStage(steps: sampler.stages[i].diffusion.numTimesteps)
                    }
                    sampler.stages[i].loop = other.stageLoop(karras: karras)
                }
                do {
                    let checks = try SamplerParity.freeRun(fixture, sampler: sampler)
                    XCTAssertFalse(checks.allSatisfy(\.passed), "\(name) sampled with \(other) passes the reference's \(fixture.samplerKind!) replay")
                } catch {
                    // A loop that asks for other draws than were recorded is told apart too.
                    XCTAssertTrue("\(error)".contains(name), "\(name) with \(other): \(error)")
                }
            }
        }
    }

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

    func testOtherKindsAreReadFromTheFixture() throws {
        let ancestral = try SamplerFixture(path: Fixtures.path("sampler_ancestral_text2pc"))
        // karras_sampler "ancestral" on both stages; the reference gives that sampler no churn settings.
        for stage in ancestral.sampler.stages {
            guard case .karras(let options) = stage.loop else { return XCTFail("ancestral stage is not Karras") }
            XCTAssertEqual(options.method, .eulerAncestral)
            XCTAssertEqual(options.sChurn, 0)
        }
        XCTAssertEqual(ancestral.sampler.stages.map(\.stepCount), [6, 5])
        let ddpm = try SamplerFixture(path: Fixtures.path("sampler_ddpm_image2pc"))
        XCTAssertEqual(ddpm.sampler.stages.map(\.loop), [.ddpm, .ddpm])
        XCTAssertEqual(ddpm.sampler.stages.map(\.diffusion.config.respacing), ["6", "5"])
        XCTAssertEqual(ddpm.sampler.stages.map(\.stepCount), [6, 5])
    }

    /// A guided DDPM stage of the reference runs on 2B rows; the replay hands the sampler the
    /// first B of each draw (its own samples'), and a draw of any other height is refused by name.
    func testGuidedDDPMDrawsKeepTheSamplersRows() throws {
        let fixture = try SamplerFixture(path: Fixtures.path("sampler_ddpm_image2pc"))
        XCTAssertEqual(fixture.batchSize, 1)
        XCTAssertEqual(try fixture.tensor("stage0.eps").shape[1], 2)
        let noise = try fixture.replayNoise()
        while noise.remaining > 0 {
            let stage = noise.position < 7 ? 0 : 1
            let draw = try noise.normal([1, 6, stage == 0 ? 32 : 96], for: .initial(stage: stage))
            XCTAssertEqual(draw.shape[0], 1)
        }
        XCTAssertEqual(try fixture.draw("stage1.eps[2]").values, Array(try fixture.tensor("stage1.eps[2]").values.prefix(6 * 96)))
        // The unguided DDPM fixture's draws are its own rows already.
        let unguided = try SamplerFixture(path: Fixtures.path("sampler_ddpm_uncond"))
        XCTAssertEqual(try unguided.draw("stage0.eps[0]").shape, [2, 6, 64])
    }

    func testReplayNoiseRejectsShapeMismatchAndExhaustion() throws {
        let noise = ReplayNoise([("a", Tensor(zeros: [1, 6, 4]))], source: "test.io")
        XCTAssertThrowsError(try noise.normal([1, 6, 5], for: .initial(stage: 0))) { XCTAssertTrue("\($0)".contains("test.io"), "\($0)") }
        XCTAssertNoThrow(try noise.normal([1, 6, 4], for: .initial(stage: 0)))
        XCTAssertThrowsError(try noise.normal([1, 6, 4], for: .step(stage: 0, index: 0))) { XCTAssertTrue("\($0)".contains("exhausted"), "\($0)") }
    }
}
