import PointEParity
import PointETestSupport
import Foundation
@testable import PointEDiffusion
import XCTest

/// Schedules, Karras sigmas and sigma -> t against the reference's `diffusion.json` (float64
/// values) and `diffusion.io.safetensors` (float32 copies), through the same harness as
/// `pointe parity` (ScheduleParity), plus respacing.
final class ScheduleTests: XCTestCase {
    static let json = try! JSONValue.load(Fixtures.path("diffusion") + ".json")

    /// The harness `pointe parity` runs (ScheduleParity) on Tests/Fixtures/diffusion: every
    /// schedule and Karras entry the fixture lists is checked, and every check passes.
    func testSchedulesFixturePasses() throws {
        let result = try ScheduleParity.run(fixture: Fixtures.path("diffusion"))
        for c in result.comparisons {
            XCTAssertTrue(c.passed, "\(c.name): \(c.kind.rawValue) \(c.error) > \(c.tolerance)")
        }
        XCTAssertTrue(result.passed)
        let names = result.comparisons.map(\.name)
        for (schedule, _) in try XCTUnwrap(Self.json["schedules"]?.objectPairs) {
            for check in ["\(schedule) betas (f64)", "\(schedule) alphas_cumprod (f64)", "\(schedule) sigma_to_t t (f64)",
                          "\(schedule) sigma_to_t t_long", "\(schedule).betas (f32)", "\(schedule).sqrt_recipm1_alphas_cumprod (f32)",
                          "\(schedule).sigma_to_t.t (f32)", "\(schedule).sigma_to_t.t_long (f32 sigma)"] {
                XCTAssertTrue(names.contains(check), "\(check) not checked: \(names)")
            }
        }
        for entry in try XCTUnwrap(Self.json["karras"]?.arrayValue) {
            let tensor = try XCTUnwrap(entry["tensor"]?.stringValue)
            XCTAssertTrue(names.contains("\(tensor) (f32)"), "\(tensor) not checked")
        }
        XCTAssertTrue(ScheduleParity.isFixture(Fixtures.path("diffusion")))
        XCTAssertFalse(ScheduleParity.isFixture(Fixtures.path("sampler_uncond")))
    }

    /// The sigma -> t cases reach the interpolation (not only the clamped ends).
    func testSigmaToTimestepCasesExerciseInterpolation() throws {
        for (schedule, entry) in try XCTUnwrap(Self.json["schedules"]?.objectPairs) {
            let last = Double(try XCTUnwrap(entry["betas_f64"]?.arrayValue).count - 1)
            let ts = try XCTUnwrap(entry["sigma_to_t"]?.arrayValue).compactMap { $0["t"]?.doubleValue }
            XCTAssertTrue(ts.contains { $0 > 0 && $0 < last && $0 != $0.rounded() }, "\(schedule): no interior sigma_to_t case")
        }
    }

    /// A copy of the fixture with one stored value changed must fail exactly the checks that read it.
    func testTamperedFixtureFails() throws {
        let source = Fixtures.path("diffusion")
        let text = try String(contentsOfFile: source + ".json", encoding: .utf8)
        let io = try Data(contentsOf: URL(fileURLWithPath: source + ".io.safetensors"))

        // Untouched copy passes (so the failures below come from the tampering).
        XCTAssertTrue(try ScheduleParity.run(fixture: try copy(json: text, io: io)).passed)

        // One float64 beta of the first schedule, scaled by 1.001.
        let (first, _) = try XCTUnwrap(Self.json["schedules"]?.objectPairs?.first)
        let beta = try ScheduleParity.run(fixture: try copy(json: try Self.scaleFirstNumber(after: "\"betas_f64\"", in: text, by: 1.001), io: io))
        XCTAssertFalse(beta.passed)
        XCTAssertEqual(beta.comparisons.filter { !$0.passed }.map(\.name), ["\(first) betas (f64)"])

        // A Karras setting: sigma_max of the first entry.
        let karras = try ScheduleParity.run(fixture: try copy(json: try Self.scaleFirstNumber(after: "\"sigma_max\"", in: text, by: 1.01), io: io))
        let tensor = try XCTUnwrap(Self.json["karras"]?.arrayValue?.first?["tensor"]?.stringValue)
        XCTAssertFalse(karras.passed)
        let karrasFailures = karras.comparisons.filter { !$0.passed }.map(\.name)
        XCTAssertEqual(karrasFailures.count, 2, "values_f32 and the safetensors copy: \(karrasFailures)")
        XCTAssertTrue(karrasFailures.contains("\(tensor) (f32)"), "\(karrasFailures)")

        // A float32 table in the safetensors.
        let table = "\(first).sqrt_recip_alphas_cumprod"
        let tampered = try ScheduleParity.run(fixture: try copy(json: text, io: try Self.scaleFloat32(table, index: 100, in: io, by: 1.0001)))
        XCTAssertEqual(tampered.comparisons.filter { !$0.passed }.map(\.name), ["\(table) (f32)"])

        // An exact integer timestep.
        let longs = "\(first).sigma_to_t.t_long"
        let wrongT = try ScheduleParity.run(fixture: try copy(json: text, io: try Self.addToInt64(longs, index: 20, in: io, 1)))
        XCTAssertEqual(wrongT.comparisons.filter { !$0.passed }.map(\.name), ["\(longs) (f32 sigma)"])
    }

    /// A schedule name the harness does not know is an error naming it, not skipped.
    func testUnknownScheduleNameIsAnError() throws {
        let text = try String(contentsOfFile: Fixtures.path("diffusion") + ".json", encoding: .utf8)
        let io = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("diffusion") + ".io.safetensors"))
        let renamed = text.replacingOccurrences(of: "\"linear\": {", with: "\"quadratic\": {")
        XCTAssertNotEqual(renamed, text)
        XCTAssertThrowsError(try ScheduleParity.run(fixture: try copy(json: renamed, io: io))) { error in
            XCTAssertTrue("\(error)".contains("quadratic"), "\(error)")
        }
    }

    // MARK: helpers

    func diffusion(_ schedule: BetaSchedule) throws -> GaussianDiffusion {
        try GaussianDiffusion(config: DiffusionConfig(schedule: schedule))
    }

    /// Writes a fixture copy (diffusion.json + diffusion.io.safetensors) and returns its path.
    func copy(json: String, io: Data) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-schedules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("diffusion").path
        try json.write(toFile: path + ".json", atomically: true, encoding: .utf8)
        try io.write(to: URL(fileURLWithPath: path + ".io.safetensors"))
        return path
    }

    /// The JSON text with the first number after the first `key` multiplied by `factor`.
    static func scaleFirstNumber(after key: String, in text: String, by factor: Double) throws -> String {
        let keyRange = try XCTUnwrap(text.range(of: key))
        let numberStart = try XCTUnwrap(text[keyRange.upperBound...].firstIndex { "-0123456789".contains($0) })
        let numberEnd = text[numberStart...].firstIndex { !"+-0123456789.eE".contains($0) } ?? text.endIndex
        let value = try XCTUnwrap(Double(text[numberStart..<numberEnd]))
        return text.replacingCharacters(in: numberStart..<numberEnd, with: "\(value * factor)")
    }

    /// The byte range of `name`'s data in a safetensors file.
    static func dataRange(_ name: String, in io: Data) throws -> Range<Int> {
        let headerLength = io.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(try JSONSerialization.jsonObject(with: io.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        let offsets = try XCTUnwrap((header[name] as? [String: Any])?["data_offsets"] as? [Int], "\(name) not in the safetensors")
        return (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1])
    }

    static func scaleFloat32(_ name: String, index: Int, in io: Data, by factor: Float) throws -> Data {
        let at = try dataRange(name, in: io).lowerBound + 4 * index
        var bytes = [UInt8](io)
        let value = Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }) * factor
        for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: value.bitPattern >> (8 * k)) }
        return Data(bytes)
    }

    static func addToInt64(_ name: String, index: Int, in io: Data, _ delta: Int64) throws -> Data {
        let at = try dataRange(name, in: io).lowerBound + 8 * index
        var bytes = [UInt8](io)
        let value = Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) }) + delta
        for k in 0..<8 { bytes[at + k] = UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> (8 * k)) }
        return Data(bytes)
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
