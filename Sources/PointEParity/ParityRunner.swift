import Foundation
import PointEDiffusion
import PointEEval
import PointEImage
import PointEMesh
import PointEModels

/// One checked quantity of a fixture, reduced to error vs tolerance so any two compare.
public struct ParityMeasure: Sendable, Equatable {
    public let name: String
    public let error: Double
    public let tolerance: Double
    /// What `error` is ("max|err|", "rel err", "mismatches", "vox", ...).
    public let label: String

    public init(name: String, error: Double, tolerance: Double, label: String) {
        self.name = name
        self.error = error
        self.tolerance = tolerance
        self.label = label
    }

    /// error / tolerance: 1 is at the tolerance, infinity for NaN or any error against 0.
    public var ratio: Double {
        if error.isNaN { return .infinity }
        if tolerance > 0 { return error / tolerance }
        return error > 0 ? .infinity : 0
    }

    public var text: String {
        func number(_ v: Double) -> String {
            v == v.rounded() && abs(v) < 1e9 && error == error.rounded() && tolerance == tolerance.rounded()
                ? String(format: "%.0f", v) : String(format: "%.3e", v)
        }
        return "\(name): \(label) \(number(error)) (tol \(number(tolerance)))"
    }

    /// The measure closest to (or furthest past) its tolerance.
    public static func worst(_ measures: [ParityMeasure]) -> ParityMeasure? {
        measures.max { $0.ratio < $1.ratio }
    }
}

/// The result of checking one fixture: a verdict, the worst measure, and the harness's lines.
public struct ParityOutcome: Sendable {
    public enum Verdict: String, Sendable { case pass = "PASS", fail = "FAIL", error = "ERROR" }

    public let fixture: String
    public let kind: ParityFixtureKind?
    public let verdict: Verdict
    public let worst: ParityMeasure?
    /// Why the check could not run (verdict .error).
    public let message: String?
    /// The harness's per-comparison lines (indented), as `pointe parity` has always printed them.
    public let details: [String]

    public var passed: Bool { verdict == .pass }

    /// `FIXTURE: PASS|FAIL  kind  worst NAME: LABEL ERR (tol TOL)` or `FIXTURE: ERROR message`.
    public var summaryLine: String {
        if verdict == .error { return "\(fixture): ERROR \(message ?? "")" }
        return "\(fixture): \(verdict.rawValue)  \(kind?.rawValue ?? "")" + (worst.map { "  worst \($0.text)" } ?? "  (nothing compared)")
    }

    public var lines: [String] { [summaryLine] + details }
}

/// Runs the harness of each fixture kind and reduces its report to a `ParityOutcome`.
public enum ParityRunner {
    /// Checks one fixture (`path` without extension). Never throws: an unrecognised fixture or
    /// a harness error is an outcome with verdict .error naming the fixture.
    public static func run(_ path: String, showDebug: Bool = false) -> ParityOutcome {
        guard let kind = ParityFixtureKind.detect(path) else {
            let json = FileManager.default.fileExists(atPath: path + ".json") ? path + ".json"
                : FileManager.default.fileExists(atPath: path + ".io.json") ? path + ".io.json" : nil
            let why = json.map { "\($0) is not a recognised parity fixture" } ?? "no fixture \(path).json"
            return ParityOutcome(fixture: path, kind: nil, verdict: .error,
                                 worst: nil, message: why + " (kinds: \(ParityFixtureKind.allCases.map(\.rawValue).joined(separator: ", ")))",
                                 details: [])
        }
        do {
            let (passed, measures, lines) = try check(kind, path, showDebug: showDebug)
            return ParityOutcome(fixture: path, kind: kind, verdict: passed ? .pass : .fail, worst: ParityMeasure.worst(measures),
                                 message: nil, details: Array(lines.dropFirst()))
        } catch {
            return ParityOutcome(fixture: path, kind: kind, verdict: .error, worst: nil, message: "\(error)", details: [])
        }
    }

    /// (verdict, measures, report lines whose first line is the harness's own verdict line).
    static func check(_ kind: ParityFixtureKind, _ path: String, showDebug: Bool) throws -> (Bool, [ParityMeasure], [String]) {
        switch kind {
        case .sampler:
            let replay = try SamplerParity.run(fixture: path)
            let measures = replay.comparisons.flatMap { c in
                [ParityMeasure(name: c.name, error: Double(c.maxAbsError), tolerance: Double(c.tolerance), label: "max|err|")]
                    + (c.meanTolerance.map { [ParityMeasure(name: c.name, error: Double(c.meanAbsError), tolerance: Double($0), label: "mean|err|")] } ?? [])
            }
            return (replay.passed, measures, replay.reportLines())
        case .pointnet:
            let check = try PointNetParity.run(fixture: path)
            let measures = check.comparisons.filter { !$0.isDebug }.map {
                ParityMeasure(name: $0.name, error: $0.error, tolerance: $0.tolerance, label: $0.kind.rawValue)
            }
            return (check.passed, measures, check.reportLines(showDebug: showDebug))
        case .marchingCubes:
            let reports = try MarchingCubesParity.run(fixture: path)
            typealias Case = MarchingCubesParity.CaseReport
            let measures = reports.flatMap { r in
                let numeric = [
                    ParityMeasure(name: "\(r.name) faces only ours", error: Double(r.match.facesOnlyOurs), tolerance: 0, label: "faces"),
                    ParityMeasure(name: "\(r.name) faces only theirs", error: Double(r.match.facesOnlyTheirs), tolerance: 0, label: "faces"),
                    ParityMeasure(name: "\(r.name) normals", error: r.match.maxNormalError, tolerance: Case.normalTolerance, label: "max|err|"),
                ]
                // A case failing on a check without a number (positions, recentring, colours) names it.
                let unmeasured = r.passed || numeric.contains { $0.ratio > 1 } ? []
                    : r.failures.map { ParityMeasure(name: "\(r.name) \($0)", error: 1, tolerance: 0, label: "failed") }
                return numeric + unmeasured
            }
            let passed = !reports.isEmpty && reports.allSatisfy(\.passed)
            return (passed, measures, ["\(path): \(passed ? "PASS" : "FAIL")"] + reports.flatMap(\.lines))
        case .preprocess:
            let check = try PreprocessParity.run(fixture: path)
            let measures = check.results.flatMap { r in
                [ParityMeasure(name: r.name, error: Double(r.maxAbsError), tolerance: Double(PreprocessParity.maxTolerance), label: "max|err|"),
                 ParityMeasure(name: r.name, error: Double(r.meanAbsError), tolerance: Double(PreprocessParity.meanTolerance), label: "mean|err|")]
            }
            return (check.passed, measures, check.reportLines())
        case .schedules:
            let check = try ScheduleParity.run(fixture: path)
            let measures = check.comparisons.map { ParityMeasure(name: $0.name, error: $0.error, tolerance: $0.tolerance, label: $0.kind.rawValue) }
            return (check.passed, measures, check.reportLines())
        case .clipTokenizer, .clipModel, .network:
            let check = kind == .clipTokenizer ? try CLIPParity.runTokenizer(fixture: path)
                : kind == .clipModel ? try CLIPParity.runModel(fixture: path) : try ParityCheck.run(fixture: path)
            let label = kind == .clipTokenizer ? "wrong ids" : "max|err|"
            let measures = check.comparisons.filter { !$0.isDebug }.map {
                ParityMeasure(name: $0.name, error: Double($0.maxAbsError), tolerance: Double($0.tolerance), label: label)
            }
            return (check.passed, measures, check.reportLines(showDebug: showDebug))
        }
    }

    /// The closing line: how many fixtures, passed, failed, errors.
    public static func countLine(_ outcomes: [ParityOutcome]) -> String {
        let passed = outcomes.filter { $0.verdict == .pass }.count
        let failed = outcomes.filter { $0.verdict == .fail }.count
        let errors = outcomes.filter { $0.verdict == .error }.count
        return "parity: \(outcomes.count) fixture\(outcomes.count == 1 ? "" : "s"), \(passed) passed, \(failed) failed, \(errors) error\(errors == 1 ? "" : "s")"
    }
}
