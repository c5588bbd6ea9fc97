import PointETestSupport
import Foundation
@testable import PointEParity
import XCTest

/// `pointe parity`'s argument expansion and fixture recognition (no harness is run here
/// except on the small schedules fixture and on files that are not fixtures).
final class ParityFixturesTests: XCTestCase {
    /// Every NAME.json in the directory, listed independently of ParityFixtures.
    func jsonFiles(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
    }

    /// The directory expands to exactly its NAME.json fixtures, sorted, and each one is
    /// recognised as exactly one kind.
    func testDirectoryExpansionRecognisesEveryFixtureInTestsFixtures() throws {
        let paths = try ParityFixtures.expand([Fixtures.directory.path])
        let expected = try jsonFiles(in: Fixtures.directory).map { Fixtures.directory.appendingPathComponent(String($0.dropLast(5))).path }
        XCTAssertEqual(Set(paths), Set(expected))
        XCTAssertEqual(paths.count, expected.count, "each fixture once")
        XCTAssertEqual(paths, paths.sorted(), "sorted")
        XCTAssertGreaterThanOrEqual(paths.count, 15)
        for path in paths {
            let kinds = ParityFixtureKind.allCases.filter { $0.matches(path) }
            XCTAssertEqual(kinds.count, 1, "\(path) is recognised as \(kinds)")
        }
        // Companions, images and archives are not fixtures of their own.
        for name in ["corgi", "pc_corgi", "deflated", "clip.jit", "uncond.io", "marching_cubes.npz"] {
            XCTAssertFalse(paths.contains(Fixtures.path(name)), name)
        }
    }

    /// Each fixture in Tests/Fixtures is dispatched to the harness written for it.
    func testFixtureKinds() {
        let expected: [String: ParityFixtureKind] = [
            "diffusion": .schedules, "pointnet": .pointnet, "marching_cubes": .marchingCubes, "marching_cubes_noisy": .marchingCubes,
            "preprocess": .preprocess,
            "tokenizer.io": .clipTokenizer, "tokenizer": .clipTokenizer, "clip": .clipModel,
            "sampler_uncond": .sampler, "sampler_textvec": .sampler, "sampler_text2pc": .sampler, "sampler_image2pc": .sampler,
            "sampler_ancestral_text2pc": .sampler, "sampler_dpm_textvec": .sampler, "sampler_ddpm_uncond": .sampler,
            "sampler_ddpm_image2pc": .sampler,
            "uncond": .network, "textvec": .network, "imagegrid": .network, "upsample": .network, "sdf": .network,
        ]
        for (name, kind) in expected {
            XCTAssertEqual(ParityFixtureKind.detect(Fixtures.path(name)), kind, name)
        }
        XCTAssertNil(ParityFixtureKind.detect(Fixtures.path("corgi")))
    }

    /// A fixture's own files name it; the tokenizer's NAME.io.json is the fixture NAME.io.
    func testFileArgumentsNameTheirFixture() throws {
        let cases: [(String, String)] = [
            ("clip.jit.pt", "clip"), ("clip.io.safetensors", "clip"), ("uncond.pt", "uncond"), ("uncond.json", "uncond"),
            ("tokenizer.io.json", "tokenizer.io"), ("marching_cubes.npz", "marching_cubes"), ("uncond", "uncond"),
        ]
        for (file, fixture) in cases {
            XCTAssertEqual(ParityFixtures.fixturePath(forArgument: Fixtures.path(file)), Fixtures.path(fixture), file)
        }
        // Several files of one fixture check it once, in argument order.
        XCTAssertEqual(try ParityFixtures.expand([Fixtures.path("uncond.pt"), Fixtures.path("clip"), Fixtures.path("uncond.io.safetensors")]),
                       [Fixtures.path("uncond"), Fixtures.path("clip")])
    }

    /// A quoted glob expands to the NAME.json files it matches.
    func testGlobExpandsToMatchingFixtures() throws {
        let paths = try ParityFixtures.expand([Fixtures.directory.path + "/sampler_*"])
        let expected = try jsonFiles(in: Fixtures.directory).filter { $0.hasPrefix("sampler_") }.sorted()
            .map { Fixtures.path(String($0.dropLast(5))) }
        XCTAssertEqual(paths, expected)
        XCTAssertFalse(paths.isEmpty)
        XCTAssertThrowsError(try ParityFixtures.expand([Fixtures.directory.path + "/nothing_*"]))
    }

    /// A JSON that is no known fixture is an error naming it, not skipped; an empty directory
    /// is an argument error.
    func testUnrecognisedFixtureIsAnErrorNamingIt() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertThrowsError(try ParityFixtures.expand([directory.path])) { XCTAssertTrue("\($0)".contains(directory.path), "\($0)") }
        try Data(#"{"name": "NotAModel", "width": 3}"#.utf8).write(to: directory.appendingPathComponent("bogus.json"))
        try Data("not a fixture".utf8).write(to: directory.appendingPathComponent("README.txt"))
        let paths = try ParityFixtures.expand([directory.path])
        XCTAssertEqual(paths, [directory.appendingPathComponent("bogus").path])
        let outcome = ParityRunner.run(paths[0])
        XCTAssertEqual(outcome.verdict, .error)
        XCTAssertFalse(outcome.passed)
        XCTAssertTrue(outcome.summaryLine.contains("bogus.json is not a recognised parity fixture"), outcome.summaryLine)
        XCTAssertEqual(ParityRunner.countLine([outcome]), "parity: 1 fixture, 0 passed, 0 failed, 1 error")
        XCTAssertThrowsError(try ParityFixtures.expand([directory.path + "/absent/"])) { XCTAssertTrue("\($0)".contains("no such directory"), "\($0)") }
        // A path with no fixture at all.
        let missing = ParityRunner.run(directory.appendingPathComponent("absent").path)
        XCTAssertEqual(missing.verdict, .error)
        XCTAssertTrue(missing.summaryLine.contains("absent"), missing.summaryLine)
    }

    /// The schedules fixture through the runner: a summary line with the worst measure.
    func testRunnerSummarisesSchedulesFixture() throws {
        let outcome = ParityRunner.run(Fixtures.path("diffusion"))
        XCTAssertEqual(outcome.kind, .schedules)
        XCTAssertEqual(outcome.verdict, .pass, outcome.lines.joined(separator: "\n"))
        let worst = try XCTUnwrap(outcome.worst)
        XCTAssertLessThanOrEqual(worst.ratio, 1)
        XCTAssertTrue(outcome.summaryLine.hasPrefix(Fixtures.path("diffusion") + ": PASS  diffusion schedules  worst "), outcome.summaryLine)
        XCTAssertFalse(outcome.details.isEmpty)
        XCTAssertTrue(outcome.details.allSatisfy { $0.hasPrefix("  ok  ") }, "\(outcome.details)")
    }

    func testWorstMeasure() {
        let measures = [ParityMeasure(name: "a", error: 1e-5, tolerance: 1e-4, label: "max|err|"),
                        ParityMeasure(name: "b", error: 0, tolerance: 0, label: "mismatches"),
                        ParityMeasure(name: "c", error: 5e-4, tolerance: 1e-3, label: "max|err|")]
        XCTAssertEqual(ParityMeasure.worst(measures)?.name, "c")
        XCTAssertEqual(ParityMeasure.worst(measures + [ParityMeasure(name: "d", error: 1, tolerance: 0, label: "mismatches")])?.name, "d")
        XCTAssertEqual(ParityMeasure.worst(measures + [ParityMeasure(name: "e", error: .nan, tolerance: 1, label: "max|err|")])?.name, "e")
        XCTAssertEqual(ParityMeasure(name: "d", error: 3, tolerance: 0, label: "mismatches").text, "d: mismatches 3 (tol 0)")
    }
}
