import Foundation
import PointETestSupport
import XCTest

/// Every numeric option of the user's commands is checked where it enters: a value out of its
/// range is refused with a message naming the option, before anything is made, and never
/// reaches code that crashes on it (issue 33: `--mesh-grid 100000` crashed each mesher with a
/// 12 EB allocation and a Swift crash dump; `--steps -1` said "Missing value").
final class NumericOptionBoundsTests: XCTestCase {
    func testOutOfRangeNumbersAreRefusedNamingTheirOption() throws {
        let dir = NSTemporaryDirectory() + "pointe-bounds-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let job = dir + "/job"
        let run = ["run", dir + "/prompts.txt", "-o", job]
        // (command line, the option its refusal must name)
        let cases: [([String], String)] = [
            (run + ["--steps", "-1"], "--steps"), (run + ["--steps", "0"], "--steps"), (run + ["--steps", "1025"], "--steps"),
            (run + ["--upsample-steps", "-1"], "--upsample-steps"), (run + ["--upsample-steps", "1025"], "--upsample-steps"),
            (["coordinator", dir + "/prompts.txt", "-o", job, "--upsample-steps", "0"], "--upsample-steps"),
            (["generate", "a chair", "-o", dir + "/g.ply", "--upsample-steps", "0"], "--upsample-steps"),
            (["sample", "-o", dir + "/s.ply", "--model", "base40M-uncond", "--upsample", "--upsample-steps", "99999"], "--upsample-steps"),
            (run + ["--mesh-grid", "1"], "--mesh-grid"), (run + ["--mesh-grid", "100000"], "--mesh-grid"),
            (run + ["--guidance", "-1"], "--guidance"), (run + ["--guidance", "nan"], "--guidance"), (run + ["--guidance", "inf"], "--guidance"),
            (run + ["--shard-size", "0"], "--shard-size"), (run + ["--retry-budget", "0"], "--retry-budget"),
            (run + ["--retry-budget", "100000"], "--retry-budget"), (run + ["--max-line-bytes", "0"], "--max-line-bytes"),
            (run + ["--peer-timeout-ms", "0"], "--peer-timeout-ms"), (run + ["--peer-timeout-ms", "18446744073709551615"], "--peer-timeout-ms"),
            (run + ["--metrics-port", "70000"], "--metrics-port"), (run + ["--metrics-port", "-1"], "--metrics-port"),
            (run + ["--workers", "-1"], "--workers"), (run + ["--workers", "5000"], "--workers"), (run + ["--threads", "0"], "--threads"),
            (run + ["--threads", "100000"], "--threads"), (run + ["--meshers", "-1"], "--meshers"), (run + ["--batch", "0"], "--batch"),
            (run + ["--batch", "100000"], "--batch"), (run + ["--restart-budget", "-1"], "--restart-budget"),
            (["coordinator", dir + "/prompts.txt", "-o", job, "--mesh-grid", "100000"], "--mesh-grid"),
            (["generate", "a chair", "-o", dir + "/g.ply", "--steps", "-3"], "--steps"),
            (["generate", "a chair", "-o", dir + "/g.ply", "--guidance", "inf"], "--guidance"),
            (["sample", "-o", dir + "/s.ply", "--model", "base40M-uncond", "--steps", "99999"], "--steps"),
            (["mesh", dir + "/c.npz", "-o", dir + "/m.glb", "--grid", "100000"], "--grid"),
            (["mesh", dir + "/c.npz", "-o", dir + "/m.glb", "--grid", "1"], "--grid"),
            (["mesh", dir + "/c.npz", "-o", dir + "/m.glb", "--side", "0"], "--side"),
            (["mesh", dir + "/c.npz", "-o", dir + "/m.glb", "--side", "-1"], "--side"),
            (["mesh", dir + "/c.npz", "-o", dir + "/m.glb", "--batch", "0"], "--batch"),
            (["mesh", dir + "/c.npz", "-o", dir + "/m.glb", "--coarse-to-fine", "1"], "--coarse-to-fine"),
            (["mesh", dir + "/c.npz", "-o", dir + "/m.glb", "--coarse-to-fine", "1000"], "--coarse-to-fine"),
            (["mesh", dir + "/c.npz", "-o", dir + "/m.glb", "--lipschitz", "0"], "--lipschitz"),
            (["preview", dir + "/c.npz", "-o", dir + "/p.png", "--size", "100000"], "--size"),
            (["preview", dir + "/c.npz", "-o", dir + "/p.png", "--grid", "0"], "--grid"),
            (["remesh", job, "--grid", "100000"], "--grid"), (["remesh", job, "--meshers", "-1"], "--meshers"),
            (["remesh", job, "--restart-budget", "-1"], "--restart-budget"),
            (["worker", "--batch", "0"], "--batch"), (["worker", "--coordinator-timeout-ms", "0"], "--coordinator-timeout-ms"),
            (["worker", "--threads", "-1"], "--threads"),
            (["mesher", "--coordinator-timeout-ms", "18446744073709551615"], "--coordinator-timeout-ms"),
            (["status", job, "--timeout-ms", "0"], "--timeout-ms"), (["drain", job, "--timeout-ms", "-1"], "--timeout-ms"),
            (["eval", "pis", dir + "/c.npz", "--pointnet", dir + "/pointnet.pt", "--split-size", "0"], "--split-size"),
        ]
        let pointe = try BuiltTool.pointe()
        for (arguments, flag) in cases {
            let result = try Subprocess.run(pointe, arguments, timeout: 60)
            let line = "pointe " + arguments.joined(separator: " ")
            XCTAssertNotEqual(result.status, 0, "\(line) was accepted:\n\(result.output)")
            XCTAssertTrue(result.output.contains("Error: \(flag) must be"), "\(line) did not name \(flag):\n\(result.output)")
            for crash in ["Fatal error", "Backtrace", "Crash", "failed to allocate"] {
                XCTAssertFalse(result.output.contains(crash), "\(line) crashed:\n\(result.output)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "a refused command made \(dir)")
    }
}
