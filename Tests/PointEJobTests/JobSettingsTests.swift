import Foundation
import PointEDiffusion
import PointEEngine
@testable import PointEJob
import XCTest

/// A job's settings as its store keeps them: jobs made before a setting existed still open, with
/// the setting's default, and a changed setting is named when the job is resumed.
final class JobSettingsTests: XCTestCase {
    /// A prompt row's settings as pointe wrote them before the upsampler had a step count of its
    /// own (sorted keys, as JobStore's encoder writes them).
    let storedBeforeUpsampleSteps = #"{"guidance":2.5,"model":"base40M","sampler":"dpm","steps":7,"upsample":true}"#
    /// The job row's settings as they were written then (JobSettings with every default but the seed).
    let jobBeforeUpsampleSteps = #"{"badLines":"stop","maxLineBytes":16384,"meshFormats":["glb"],"meshGrid":128,"#
        + #""prompts":{"guidance":3,"sampler":"heun","steps":64,"upsample":true},"retryBudget":3,"seed":5,"shardSize":4}"#

    func sortedJSON<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    func testSettingsStoredBeforeUpsamplerStepsStillDecode() throws {
        let prompt = try XCTUnwrap(StoredSamplingSettings.decode(storedBeforeUpsampleSteps), "an old prompt row no longer decodes")
        XCTAssertEqual(prompt, SamplingSettings(model: .base40M, upsample: true, steps: 7, guidance: 2.5, sampler: .dpm))
        XCTAssertNil(prompt.upsampleSteps)
        XCTAssertEqual(prompt.upsamplerStageSteps, 7, "an old prompt's upsampler takes its steps, as it did")

        let job = try JSONDecoder().decode(JobSettings.self, from: Data(jobBeforeUpsampleSteps.utf8))
        var expected = JobSettings()
        expected.seed = 5
        XCTAssertEqual(job, expected)
        XCTAssertNil(job.prompts.upsampleSteps)
    }

    /// Settings without an upsampler count are stored in the very text they were before (so a
    /// resumed old job's prompts compare equal to a re-read prompt file's); with one, it is kept.
    func testUpsamplerStepsAreStoredOnlyWhenGiven() throws {
        XCTAssertEqual(try sortedJSON(SamplingSettings(model: .base40M, upsample: true, steps: 7, guidance: 2.5, sampler: .dpm)), storedBeforeUpsampleSteps)
        var job = JobSettings()
        job.seed = 5
        XCTAssertEqual(try sortedJSON(job), jobBeforeUpsampleSteps)

        let own = SamplingSettings(model: .base40M, steps: 6, upsampleSteps: 5, sampler: .ddpm)
        let text = try sortedJSON(own)
        XCTAssertTrue(text.contains(#""upsample_steps":5"#), text)
        XCTAssertEqual(StoredSamplingSettings.decode(text), own)
        job.prompts.upsampleSteps = 5
        XCTAssertEqual(try JSONDecoder().decode(JobSettings.self, from: Data(try sortedJSON(job).utf8)), job)
    }

    /// Resuming with another upsampler count is a difference, named with both values; the same
    /// count is none. A job made without one says what its upsampler takes instead.
    func testAnotherUpsamplerCountIsADifference() throws {
        var given = JobSettings.Given()
        given.upsampleSteps = 5
        let made = given.applied()
        XCTAssertEqual(made.prompts.upsampleSteps, 5)
        XCTAssertEqual(made.prompts.settings(for: .text).upsamplerStageSteps, 5)
        XCTAssertEqual(given.differences(from: made), [])

        given.upsampleSteps = 8
        XCTAssertEqual(given.differences(from: made), [.init(setting: .upsampleSteps, given: "8", job: "5")])
        XCTAssertEqual(given.differences(from: JobSettings()),
                       [.init(setting: .upsampleSteps, given: "8", job: "none: each prompt's upsampler takes its steps")])
        XCTAssertThrowsError(try { var bad = made; bad.prompts.upsampleSteps = 0; try bad.validate() }()) { error in
            XCTAssertEqual((error as? JobSettings.InvalidSetting)?.setting, .upsampleSteps, "\(error)")
        }
    }

    /// A prompt line's "upsample_steps" sets its upsampler's count over the job's; a line's
    /// "steps" alone leaves a job's own upsampler count as it is.
    func testPromptLinesSetTheirUpsamplerSteps() throws {
        let text = """
        {"prompt": "a cup", "steps": 3, "upsample_steps": 2}
        {"prompt": "a car", "steps": 3}
        {"prompt": "a hat", "upsample_steps": 0}
        {"prompt": "a pan", "upsample_steps": "4"}
        """
        let defaults = PromptDefaults(model: .base40MUncond, steps: 6, upsampleSteps: 5)
        let (prompts, issues) = try PromptFile(policy: .skip).parse(Data(text.utf8), source: "p.jsonl", baseDirectory: "/", defaults: defaults)
        XCTAssertEqual(prompts.map(\.settings.steps), [3, 3])
        XCTAssertEqual(prompts.map(\.settings.upsampleSteps), [2, 5])
        XCTAssertEqual(issues.map(\.line), [3, 4])
        for issue in issues { XCTAssertTrue(issue.message.contains("\"upsample_steps\" must be a positive integer"), "\(issue)") }
    }
}
