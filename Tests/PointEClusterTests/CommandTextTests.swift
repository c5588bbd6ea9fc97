import Foundation
import PointETestSupport
import XCTest

/// What the command line says to a newcomer (issue 33, item 10): help offers only values a
/// command takes, internal options stay out of it, the cache default is the whole rule, there
/// is a --version, `models list` is a readable table that tells random weights from released
/// ones and says when its directory does not exist, and a skipped prompt line is warned of once.
final class CommandTextTests: ProcessTestCase {
    func pointe(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run(try BuiltTool.pointe(), arguments, timeout: 120)
    }

    func testHelpOffersOnlyWhatTheCommandTakes() throws {
        for (command, option) in [(["run"], "--model"), (["generate"], "--base"), (["sample"], "--model")] {
            let help = try pointe(command + ["--help"]).output
            // The option's entry: its line and the indented lines under it.
            let lines = help.split(separator: "\n").map(String.init)
            let start = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("  \(option) <") }, help)
            let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("  -") || $0.isEmpty } ?? lines.count
            let line = lines[start..<end].joined(separator: " ")
            XCTAssertTrue(line.contains("base40M-textvec"), "\(command) \(option): \(line)")
            for notBase in ["upsample", "sdf"] { XCTAssertFalse(line.contains(notBase), "\(command) help offers \(notBase) for \(option):\n\(line)") }
            XCTAssertTrue(help.contains("$XDG_CACHE_HOME"), "\(command) help gives the cache default without $XDG_CACHE_HOME")
        }
        let refused = try pointe(["run", "p.txt", "-o", "/nonexistent/job", "--model", "upsample"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("upsample") && refused.output.contains("base40M"), refused.output)
        for command in ["mesher", "worker"] {
            XCTAssertFalse(try pointe([command, "--help"]).output.contains("--parent-pid"), "\(command) help shows the internal --parent-pid")
        }
        let version = try pointe(["--version"])
        XCTAssertEqual(version.status, 0, version.output)
        XCTAssertTrue(version.output.hasPrefix("pointe ") && version.output.contains("pointe-engine/"), version.output)
    }

    func testUsageLinesAreShortAndTheMainCommandsShowExamples() throws {
        let commands: [[String]] = [["run"], ["coordinator"], ["worker"], ["mesher"], ["generate"], ["sample"], ["mesh"], ["preview"],
                                    ["remesh"], ["status"], ["drain"]]
        for command in commands {
            let help = try pointe(command + ["--help"]).output
            let usage = try XCTUnwrap(help.split(separator: "\n").first { $0.hasPrefix("USAGE:") }, help)
            XCTAssertLessThanOrEqual(usage.count, 100, "pointe \(command.joined(separator: " ")): a usage line of \(usage.count) characters")
            XCTAssertTrue(help.contains("Examples:\n  pointe \(command[0])"), "pointe \(command.joined(separator: " ")) --help has no examples")
        }
    }

    func testModelsListIsATableThatTellsRandomWeightsApart() throws {
        let dir = ClusterTestSupport.temporaryDirectory("models-list")
        let missing = try pointe(["models", "list", "--models-dir", dir + "/nope"])
        XCTAssertTrue(missing.output.contains("does not exist"), missing.output)
        XCTAssertEqual(try pointe(["models", "init-random", "--only", "base40M-textvec", dir + "/m"]).status, 0)
        let list = try pointe(["models", "list", "--models-dir", dir + "/m"]).output
        let lines = list.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.count > 2 && lines[1].hasPrefix("MODEL "), "no header:\n\(list)")
        let row = try XCTUnwrap(lines.first { $0.hasPrefix("base40M-textvec ") }, list)
        XCTAssertTrue(row.contains("random weights (tiny)"), row)
        XCTAssertTrue(row.contains("base40M-textvec.safetensors + base40M-textvec.json"), "file names cut: \(row)")
    }

    func testASkippedPromptLineIsWarnedOfOnce() throws {
        let dir = ClusterTestSupport.temporaryDirectory("bad-lines")
        let prompts = dir + "/prompts.jsonl"
        try [#"{"prompt": "a chair"}"#, #"{"prompt": "a car", "sampler": "huen"}"#].joined(separator: "\n")
            .write(toFile: prompts, atomically: true, encoding: .utf8)
        let result = try pointe(["run", prompts, "-o", dir + "/job", "--models-dir", ClusterTestSupport.modelsDirectory, "--model", "base40M-uncond",
                                 "--no-upsample", "--steps", "1", "--workers", "1", "--mesh-formats", "none", "--bad-lines", "skip"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output.components(separatedBy: "unknown sampler \"huen\"").count - 1, 1, result.output)
    }
}
