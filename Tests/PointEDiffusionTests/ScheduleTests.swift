import PointETestSupport
import Foundation
import PointECheckpoint
@testable import PointEDiffusion
import XCTest

/// Schedules, Karras sigmas and sigma -> t against the reference's `diffusion.json` (float64
/// values) and `diffusion.io.safetensors` (float32 copies).
final class ScheduleTests: XCTestCase {
    static let json = try! JSONValue.load(Fixtures.path("diffusion") + ".json")
    static let io = try! CheckpointLoader.load(Fixtures.path("diffusion") + ".io.safetensors")

    func assertRelative(_ actual: [Double], _ expected: [Double], _ tolerance: Double, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        var worst = 0.0
        for (a, e) in zip(actual, expected) { worst = max(worst, abs(a - e) / max(abs(e), 1e-300)) }
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): worst relative error \(worst)", file: file, line: line)
    }

    func diffusion(_ schedule: BetaSchedule) throws -> GaussianDiffusion {
        try GaussianDiffusion(config: DiffusionConfig(schedule: schedule))
    }

    func testBetasAndAlphasCumprodMatchFloat64Reference() throws {
        for schedule in BetaSchedule.allCases {
            let entry = try XCTUnwrap(Self.json["schedules"]?[schedule.rawValue])
            let d = try diffusion(schedule)
            assertRelative(d.betas, try XCTUnwrap(entry["betas_f64"]?.arrayValue).compactMap(\.doubleValue), 1e-6, "\(schedule) betas")
            assertRelative(d.alphasCumprod, try XCTUnwrap(entry["alphas_cumprod_f64"]?.arrayValue).compactMap(\.doubleValue), 1e-6,
                           "\(schedule) alphas_cumprod")
            XCTAssertEqual(d.numTimesteps, 1024)
        }
    }

    func testDerivedTablesMatchReference() throws {
        for schedule in BetaSchedule.allCases {
            let d = try diffusion(schedule)
            let tables: [(String, [Double])] = [
                ("betas", d.betas), ("alphas_cumprod", d.alphasCumprod),
                ("sqrt_recip_alphas_cumprod", d.sqrtRecipAlphasCumprod), ("sqrt_recipm1_alphas_cumprod", d.sqrtRecipm1AlphasCumprod),
            ]
            for (name, values) in tables {
                // The fixture stores float32 roundings of the float64 tables: compare as float32.
                let expected = try Self.io.floatTensor("\(schedule.rawValue).\(name)").values.map(Double.init)
                assertRelative(values.map { Double(Float($0)) }, expected, 1e-6, "\(schedule) \(name)")
            }
        }
    }

    func testKarrasSigmasMatchReference() throws {
        let entries = try XCTUnwrap(Self.json["karras"]?.arrayValue)
        XCTAssertEqual(entries.count, 2)
        for entry in entries {
            let steps = try XCTUnwrap(entry["steps"]?.intValue)
            let sigmas = karrasSigmas(steps: steps, sigmaMin: try XCTUnwrap(entry["sigma_min"]?.doubleValue),
                                      sigmaMax: try XCTUnwrap(entry["sigma_max"]?.doubleValue), rho: try XCTUnwrap(entry["rho"]?.doubleValue))
            let expected = try XCTUnwrap(entry["values_f32"]?.arrayValue).compactMap(\.doubleValue)
            XCTAssertEqual(sigmas.count, steps + 1)
            XCTAssertEqual(sigmas.last, 0)
            assertRelative(sigmas.dropLast().map(Double.init), Array(expected.dropLast()), 1e-6, "karras \(steps)")
            let name = try XCTUnwrap(entry["tensor"]?.stringValue)
            assertRelative(sigmas.dropLast().map(Double.init), try Self.io.floatTensor(name).values.dropLast().map(Double.init), 1e-6, name)
        }
    }

    func testSigmaToTimestepMatchesReferenceIncludingTruncation() throws {
        for schedule in BetaSchedule.allCases {
            let karras = GaussianToKarras(diffusion: try diffusion(schedule))
            let cases = try XCTUnwrap(Self.json["schedules"]?[schedule.rawValue]?["sigma_to_t"]?.arrayValue)
            XCTAssertEqual(cases.count, 49)
            var hitInterior = false
            for c in cases {
                let sigma = Float(try XCTUnwrap(c["sigma_f32"]?.doubleValue))
                let t = try XCTUnwrap(c["t"]?.doubleValue)
                let continuous = karras.continuousTimestep(sigma: sigma)
                XCTAssertLessThanOrEqual(abs(continuous - t), 1e-6 * max(abs(t), 1), "\(schedule) sigma \(sigma)")
                XCTAssertEqual(karras.timestep(sigma: sigma), try XCTUnwrap(c["t_long"]?.intValue), "\(schedule) sigma \(sigma): t = \(t)")
                if t > 0 && t < 1023 && t != t.rounded() { hitInterior = true }
            }
            XCTAssertTrue(hitInterior, "the fixture should exercise interpolation")
            // The float32 safetensors copies agree too.
            let sigmas = try Self.io.floatTensor("\(schedule.rawValue).sigma_to_t.sigma").values
            let longs = try XCTUnwrap(Self.io["\(schedule.rawValue).sigma_to_t.t_long"]).int64Values()
            XCTAssertEqual(sigmas.map { Int64(karras.timestep(sigma: $0)) }, longs)
        }
    }

    func testRespacingKeepsAlphasCumprodAtKeptSteps() throws {
        // 100 steps in one section of 10: stride 99/9 = 11 exactly.
        XCTAssertEqual(try spaceTimesteps(100, "10"), Array(stride(from: 0, through: 99, by: 11)))
        // ddim: the integer stride that yields exactly N steps.
        XCTAssertEqual(try spaceTimesteps(1024, "ddim16"), Array(stride(from: 0, to: 1024, by: 64)))
        XCTAssertEqual(try spaceTimesteps(1024, "exact5,0,1023"), [0, 5, 1023])
        XCTAssertThrowsError(try spaceTimesteps(10, "11"))
        XCTAssertThrowsError(try spaceTimesteps(10, "exact12"))

        let full = try diffusion(.cosine)
        let spaced = try GaussianDiffusion(config: DiffusionConfig(schedule: .cosine, respacing: "25"))
        XCTAssertEqual(spaced.numTimesteps, 25)
        XCTAssertEqual(spaced.timestepMap.first, 0)
        XCTAssertEqual(spaced.timestepMap.last, 1023)
        for (i, t) in spaced.timestepMap.enumerated() {
            XCTAssertEqual(spaced.alphasCumprod[i], full.alphasCumprod[t], accuracy: 1e-9 * full.alphasCumprod[t])
        }
    }
}
