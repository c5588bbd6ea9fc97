import ArgumentParser
import Foundation
import PointEModels

struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Check networks against reference fixtures (NAME.json, NAME.pt, NAME.io.safetensors).",
        discussion: """
        Each FIXTURE is a path without extension, e.g. ../shared/parity/uncond. Prints the max
        absolute error of every output and exits non-zero if any output is off by more than
        1e-4 x max(1, max|expected|). Intermediate `debug.*` tensors are shown for diagnosis.
        """)

    @Argument(help: "Fixture paths without extension (a trailing .json or .pt is accepted).")
    var fixtures: [String]

    @Flag(help: "Also list the intermediate debug.* comparisons.")
    var debug = false

    func run() throws {
        var failed: [String] = []
        for raw in fixtures {
            var path = raw
            for ext in [".io.safetensors", ".json", ".pt"] where path.hasSuffix(ext) { path = String(path.dropLast(ext.count)) }
            do {
                let check = try ParityCheck.run(fixture: path)
                print("\(path): \(check.passed ? "PASS" : "FAIL")")
                for c in check.comparisons where !c.isDebug || debug || !c.passed {
                    let mark = c.passed ? "ok  " : (c.isDebug ? "diff" : "FAIL")
                    let name = c.name.padding(toLength: max(28, c.name.count), withPad: " ", startingAt: 0)
                    print("  \(mark) \(name)" + String(format: " max|err| %.3e  tol %.3e  max|expected| %.3e",
                                                         Double(c.maxAbsError), Double(c.tolerance), Double(c.maxAbsExpected)))
                }
                if !check.passed { failed.append(path) }
            } catch {
                print("\(path): ERROR \(error)")
                failed.append(path)
            }
        }
        if !failed.isEmpty {
            printError("parity failed for: \(failed.joined(separator: ", "))")
            throw ExitCode(1)
        }
    }
}
