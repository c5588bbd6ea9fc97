import PointEParity
import Foundation
import PointEDiffusion
@testable import PointEEngine
import PointEModels
import PointETestSupport
import XCTest

/// The engine's sampler (TwoStageSampler, what `pointe generate`, `pointe sample` and every
/// worker sample with) against the reference's own sampling runs, one or more per sampler kind:
/// the fixture's networks are put in a models directory under their released names, the engine
/// builds the sampler from typed settings alone (model, upsample, steps and the upsampler's
/// steps, guidance, `--sampler`), and it replays the fixture's recorded noise to the
/// reference's clouds, through every stage the fixture recorded.
final class EngineSamplerReplayTests: XCTestCase {
    func replay(_ name: String, kind: SamplerKind, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = Fixtures.path(name)
        let fixture = try SamplerFixture(path: path)
        XCTAssertEqual(fixture.samplerKind, kind, "\(name): the reference's sampler kind", file: file, line: line)
        let json = try JSONValue.load(path + ".json")
        // The fixture names each stage's released diffusion ("base40M", "upsample"): that is the model.
        guard let models = json["models"]?.objectPairs, let diffusions = json["diffusions"]?.objectPairs else {
            return XCTFail("\(name): no models/diffusions", file: file, line: line)
        }
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixtureDirectory = URL(fileURLWithPath: path).deletingLastPathComponent()
        for ((_, files), (released, _)) in zip(models, diffusions) {
            let parts = files.stringValue!.split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
            for part in parts {
                let ext = (part as NSString).pathExtension
                try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent("\(released).\(ext)"),
                                                           withDestinationURL: fixtureDirectory.appendingPathComponent(part))
            }
        }
        let stages = fixture.sampler.stages
        // Each stage's step count as the reference ran it (its karras_steps, or its DDPM
        // respacing); the upsampler's given only where it differs, so both the default (nil:
        // the base stage's) and a count of its own are replayed.
        let upsampleSteps = stages.count == 2 && stages[1].stepCount != stages[0].stepCount ? stages[1].stepCount : nil
        let settings = SamplingSettings(model: try ReleasedModel.parse(diffusions[0].0, baseOnly: true), upsample: stages.count == 2,
                                        steps: stages[0].stepCount, upsampleSteps: upsampleSteps, guidance: stages[0].guidanceScale, sampler: kind)
        let engine = PointEEngine(models: ModelDirectory(directory.path))
        let sampler = try engine.sampler(for: settings)

        // The same sampler, stage by stage, as the reference's configuration...
        XCTAssertEqual(sampler.stages.count, stages.count, file: file, line: line)
        for (ours, theirs) in zip(sampler.stages, stages) {
            XCTAssertEqual(ours.guidanceScale, theirs.guidanceScale, "\(name) guidance", file: file, line: line)
            XCTAssertEqual(ours.loop, theirs.loop, "\(name) loop and Karras settings", file: file, line: line)
            XCTAssertEqual(ours.diffusion.config, theirs.diffusion.config, "\(name) diffusion (schedule, scales, DDPM respacing)", file: file, line: line)
            XCTAssertEqual(ours.numPoints, theirs.numPoints, file: file, line: line)
            // The same inputs reach the stage, of those the fixture has ("texts" and "*" alike
            // pass a text run's CLIP vector; a text run has no grid to filter).
            let given: [SamplerConditioning.Input] = [fixture.conditioning.clipVector.map { _ in .clipVector },
                                                      fixture.conditioning.clipGrid.map { _ in .clipGrid }].compactMap { $0 }
            XCTAssertEqual(given.map(ours.conditioning.admits), given.map(theirs.conditioning.admits), "\(name) stage conditioning",
                           file: file, line: line)
        }
        // ...and the same clouds from the recorded noise, under the baseline and the best kernels.
        try underEachTestedKernelVariant { variant in
            let checks = try SamplerParity.freeRun(fixture, sampler: sampler)
            XCTAssertFalse(checks.isEmpty, file: file, line: line)
            for c in checks {
                XCTAssertTrue(c.passed, "\(name) [kernels \(variant)] \(c.name): max|err| \(c.maxAbsError) mean \(c.meanAbsError) tol \(c.tolerance)",
                              file: file, line: line)
            }
        }
    }

    // Heun (the reference's default). sampler_uncond is not here: it was recorded with churn 0,
    // which no released configuration uses.
    func testImageToPointCloudThroughTheEngine() throws { try replay("sampler_image2pc", kind: .heun) }
    func testTextToPointCloudThroughTheEngine() throws { try replay("sampler_text2pc", kind: .heun) }
    func testTextVectorBaseStageThroughTheEngine() throws { try replay("sampler_textvec", kind: .heun) }

    // Euler ancestral, with an upsampler step count of its own.
    func testEulerAncestralTextToPointCloudThroughTheEngine() throws { try replay("sampler_ancestral_text2pc", kind: .eulerAncestral) }

    // DPM, guided with churn.
    func testDPMTextVectorThroughTheEngine() throws { try replay("sampler_dpm_textvec", kind: .dpm) }

    // DDPM: unconditional, and guided on images with each stage respaced to its own count.
    func testDDPMUnconditionalThroughTheEngine() throws { try replay("sampler_ddpm_uncond", kind: .ddpm) }
    func testDDPMGuidedImageToPointCloudThroughTheEngine() throws { try replay("sampler_ddpm_image2pc", kind: .ddpm) }
}
