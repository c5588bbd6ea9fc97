import ArgumentParser
import PointETensor
import Foundation
import PointEParity

struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Check networks, samplers, schedules, CLIP, preprocessing, marching cubes and P-FID/P-IS against reference fixtures.",
        discussion: """
        Each argument is a fixture (a path without extension, e.g. ../shared/parity/uncond, or \
        one of its files), a directory (every NAME.json in it, sorted; README, images, vocab and \
        .pt/.npz/.io.safetensors companions are not fixtures), or a quoted glob ('DIR/sampler_*'). \
        Prints the kernel variant in use, one summary line per fixture (PASS/FAIL and its worst \
        error against its tolerance, or ERROR), the comparisons under it, and a final count; exits \
        non-zero if any fixture fails, errors, or is not a recognised kind. \
        Networks: every output within 1e-4 x max(1, max|expected|); intermediate `debug.*` \
        tensors are shown for diagnosis. Sampler fixtures (sampler_*) are replayed with their \
        recorded noise: teacher-forced steps and the free-running result against the final \
        samples (max 0.1 / mean 2e-3 in the sampler's units: coords 0.05 / 1e-3, colours 13.75/255 / 1e-3). The schedules fixture (diffusion) \
        checks betas, alphas_cumprod, Karras sigmas and sigma -> t with the settings it records.
        """)

    @Argument(help: "Fixtures (paths without extension; a trailing .json, .pt or .io.safetensors is accepted), directories or globs.")
    var fixtures: [String]

    @Flag(help: "Also list the intermediate debug.* comparisons.")
    var debug = false

    func run() throws {
        print("kernels \(KernelVariant.active) (POINTE_KERNELS=baseline|avx2|avx512 forces one; supported here: \(KernelVariant.supported.map(\.description).joined(separator: ", ")))")
        let paths: [String]
        do { paths = try ParityFixtures.expand(fixtures) } catch {
            printError("parity: \(error)")
            throw ExitCode(1)
        }
        var outcomes: [ParityOutcome] = []
        for path in paths {
            let outcome = ParityRunner.run(path, showDebug: debug)
            outcome.lines.forEach { print($0) }
            fflush(nil)  // one fixture at a time, also through a pipe
            outcomes.append(outcome)
        }
        print(ParityRunner.countLine(outcomes))
        let failed = outcomes.filter { !$0.passed }
        if !failed.isEmpty {
            printError("parity failed for: \(failed.map(\.fixture).joined(separator: ", "))")
            throw ExitCode(1)
        }
    }
}
