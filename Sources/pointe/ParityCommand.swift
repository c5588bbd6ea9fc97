import ArgumentParser
import Foundation
import PointEDiffusion
import PointEEval
import PointEImage
import PointEMesh
import PointEModels

struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Check networks against reference fixtures (NAME.json, NAME.pt, NAME.io.safetensors).",
        discussion: """
        Each FIXTURE is a path without extension, e.g. ../shared/parity/uncond. Prints the max
        absolute error of every output and exits non-zero if any output is off by more than
        1e-4 x max(1, max|expected|). Intermediate `debug.*` tensors are shown for diagnosis.
        Sampler fixtures (sampler_*) are replayed with their recorded noise: teacher-forced steps
        and the free-running result against the final samples (coords max 0.05 / mean 1e-3,
        colours 4/255).
        """)

    @Argument(help: "Fixture paths without extension (a trailing .json or .pt is accepted).")
    var fixtures: [String]

    @Flag(help: "Also list the intermediate debug.* comparisons.")
    var debug = false

    func run() throws {
        var failed: [String] = []
        for raw in fixtures {
            var path = raw
            for ext in [".io.safetensors", ".json", ".pt", ".npz"] where path.hasSuffix(ext) { path = String(path.dropLast(ext.count)) }
            do {
                // Sampler fixtures ("case": "sampler_*") replay a whole sampling run instead.
                if SamplerFixture.isSamplerFixture(path) {
                    let replay = try SamplerParity.run(fixture: path)
                    replay.reportLines().forEach { print($0) }
                    if !replay.passed { failed.append(path) }
                    continue
                }
                // The P-FID / P-IS PointNet++ fixture ("name": "get_model"): network and metrics.
                if PointNetParity.isPointNetFixture(path) {
                    let check = try PointNetParity.run(fixture: path)
                    check.reportLines(showDebug: debug).forEach { print($0) }
                    if !check.passed { failed.append(path) }
                    continue
                }
                // Marching cubes fixtures (NAME.json + NAME.npz): our surfaces against skimage's.
                if MarchingCubesParity.isFixture(path) {
                    let reports = try MarchingCubesParity.run(fixture: path)
                    let passed = reports.allSatisfy(\.passed)
                    print("\(path): \(passed ? "PASS" : "FAIL")")
                    reports.flatMap(\.lines).forEach { print($0) }
                    if !passed { failed.append(path) }
                    continue
                }
                // CLIP preprocessing fixtures (NAME.json with "transform" + the images it names).
                if PreprocessParity.isFixture(path) {
                    let check = try PreprocessParity.run(fixture: path)
                    check.reportLines().forEach { print($0) }
                    if !check.passed { failed.append(path) }
                    continue
                }
                // CLIP tokenizer fixtures (prompts -> clip.tokenize ids) use the same report as networks.
                let check = try CLIPParity.isTokenizerFixture(path) ? CLIPParity.runTokenizer(fixture: path)
                    : CLIPParity.isModelFixture(path) ? CLIPParity.runModel(fixture: path) : ParityCheck.run(fixture: path)
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
