import Foundation
import PointECloud
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointEMesh
import PointETestSupport
import XCTest

/// One engine behind every entry point: the same prompt, seed and settings give a bit-identical
/// cloud through `pointe generate`, `pointe sample`, `pointe run` (other worker counts, thread
/// counts, shard sizes and batches) and a `pointe worker` joining a separate `pointe coordinator`.
final class EntryPointIdentityTests: ProcessTestCase {
    var dir = ""
    var models = ""

    override func setUpWithError() throws {
        dir = ClusterTestSupport.temporaryDirectory("identity")
        models = dir + "/models"
        let initModels = try start(["models", "init-random", "--preset", "tiny", "--only", "base40M-textvec", "--only", "base40M",
                                    "--only", "upsample", "--only", "clip", models], log: dir + "/init.log")
        try initModels.wait(timeout: 120)
        XCTAssertEqual(initModels.exitStatus, 0, log("init"))
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: "\(dir)/\(name).log", encoding: .utf8)) ?? "(no log)" }

    /// Runs a pointe command to its end (with POINTE_KERNELS=`kernels` when given); it must succeed.
    func pointe(_ name: String, _ arguments: [String], kernels: String? = nil) throws {
        let child = try kernels.map {
            adopt(try Subprocess("/usr/bin/env", ["POINTE_KERNELS=\($0)", try BuiltTool.pointe()] + arguments, outputPath: "\(dir)/\(name).log"))
        } ?? start(arguments, log: "\(dir)/\(name).log")
        try child.wait(timeout: 240)
        XCTAssertEqual(child.exitStatus, 0, "\(name): \(log(name))")
    }

    /// A job over `lines` (JSON Lines) through `pointe run`; returns the cloud of prompt p00000.
    func runJob(_ name: String, lines: [String], _ extra: [String], kernels: String? = nil) throws -> PointCloud {
        let prompts = "\(dir)/\(name).jsonl"
        try lines.joined(separator: "\n").write(toFile: prompts, atomically: true, encoding: .utf8)
        try pointe(name, ["run", prompts, "-o", "\(dir)/\(name)", "--models-dir", models, "--steps", "2", "--mesh-formats", "none", "--quiet"] + extra,
                   kernels: kernels)
        return try PointCloud.readPLY("\(dir)/\(name)/clouds/p00000.ply")
    }

    func assertIdentical(_ clouds: [(String, PointCloud)], file: StaticString = #filePath, line: UInt = #line) {
        let (firstName, first) = clouds[0]
        XCTAssertGreaterThan(first.count, 0, file: file, line: line)
        for (name, cloud) in clouds.dropFirst() {
            XCTAssertEqual(cloud.coords.map(\.bitPattern), first.coords.map(\.bitPattern), "\(name) vs \(firstName): coordinates", file: file, line: line)
            for channel in ["R", "G", "B"] {
                XCTAssertEqual(cloud.channel(channel), first.channel(channel), "\(name) vs \(firstName): \(channel)", file: file, line: line)
            }
        }
    }

    func testTextPromptGivesOneCloudEverywhere() throws {
        let text = "a red motorcycle"
        // Other thread counts than the run's single-threaded workers: the cloud must not depend on them.
        try pointe("generate", ["generate", text, "--models-dir", models, "--steps", "2", "--seed", "7", "-o", "\(dir)/generate.ply", "--threads", "3"])
        try pointe("sample", ["sample", "--model", "base40M-textvec", "--upsample", "--prompt", text, "--models-dir", models, "--steps", "2",
                              "--seed", "7", "-o", "\(dir)/sample.ply"])
        // The prompt first, with others around it, so batches and shards really mix prompts.
        let lines = [#"{"prompt": "\#(text)", "seed": 7}"#, #"{"prompt": "a green chair", "seed": 7}"#,
                     #"{"prompt": "a blue car"}"#, #"{"prompt": "a lamp"}"#]
        // Under the portable kernels (the workers inherit POINTE_KERNELS): the cloud must not depend on the CPU.
        let wide = try runJob("run-wide", lines: lines, ["--model", "base40M-textvec", "--workers", "2", "--threads", "1", "--shard-size", "1", "--batch", "1"],
                              kernels: "baseline")
        let packed = try runJob("run-packed", lines: lines, ["--model", "base40M-textvec", "--workers", "1", "--shard-size", "4", "--batch", "4"])

        // A separate coordinator and a remote worker process.
        let prompts = "\(dir)/remote.jsonl"
        try lines.joined(separator: "\n").write(toFile: prompts, atomically: true, encoding: .utf8)
        let address = try freeAddress()
        let coordinator = try start(["coordinator", prompts, "-o", "\(dir)/remote", "--bind", address, "--model", "base40M-textvec",
                                     "--steps", "2", "--shard-size", "3", "--mesh-formats", "none", "--quiet"], log: "\(dir)/coordinator.log")
        let worker = try start(["worker", "--connect", address, "--models-dir", models, "--batch", "2", "--coordinator-timeout-ms", "20000",
                                "--quiet"], log: "\(dir)/worker.log")
        try coordinator.wait(timeout: 240)
        XCTAssertEqual(coordinator.exitStatus, 0, log("coordinator"))
        try worker.wait(timeout: 60)
        let remote = try PointCloud.readPLY("\(dir)/remote/clouds/p00000.ply")

        assertIdentical([("generate", try PointCloud.readPLY("\(dir)/generate.ply")), ("sample", try PointCloud.readPLY("\(dir)/sample.ply")),
                         ("run --workers 2 --shard-size 1 --batch 1, baseline kernels", wide), ("run --workers 1 --shard-size 4 --batch 4", packed),
                         ("coordinator + remote worker", remote)])
    }

    /// An upsampler step count of its own reaches the sampler through every entry point: the
    /// option of `generate`, `sample` and `run` (its workers' settings come through the job
    /// store and the wire), and a prompt line's "upsample_steps"; and it is not dropped on the
    /// way: the cloud differs from the one whose upsampler takes the base stage's steps.
    func testUpsamplerStepsGiveOneCloudEverywhere() throws {
        let text = "a red motorcycle"
        try pointe("generate", ["generate", text, "--models-dir", models, "--steps", "2", "--upsample-steps", "3", "--seed", "7", "-o", "\(dir)/generate.ply"])
        try pointe("generate-same", ["generate", text, "--models-dir", models, "--steps", "2", "--seed", "7", "-o", "\(dir)/generate-same.ply"])
        try pointe("sample", ["sample", "--model", "base40M-textvec", "--upsample", "--prompt", text, "--models-dir", models, "--steps", "2",
                              "--upsample-steps", "3", "--seed", "7", "-o", "\(dir)/sample.ply"])
        let option = try runJob("run-option", lines: [#"{"prompt": "\#(text)", "seed": 7}"#, #"{"prompt": "a lamp"}"#],
                                ["--model", "base40M-textvec", "--upsample-steps", "3", "--workers", "1", "--batch", "2"])
        let line = try runJob("run-line", lines: [#"{"prompt": "\#(text)", "seed": 7, "upsample_steps": 3}"#, #"{"prompt": "a lamp"}"#],
                              ["--model", "base40M-textvec", "--workers", "1", "--batch", "2"])
        let generated = try PointCloud.readPLY("\(dir)/generate.ply")
        assertIdentical([("generate --upsample-steps 3", generated), ("sample --upsample-steps 3", try PointCloud.readPLY("\(dir)/sample.ply")),
                         ("run --upsample-steps 3", option), ("run, a line's upsample_steps 3", line)])
        let same = try PointCloud.readPLY("\(dir)/generate-same.ply")
        XCTAssertNotEqual(same.coords.map(\.bitPattern), generated.coords.map(\.bitPattern), "--upsample-steps 3 sampled as if it were not given")
        // The manifest and the report's cards say what the upsampler took.
        let manifest = try String(contentsOfFile: "\(dir)/run-option/manifest.jsonl", encoding: .utf8)
        XCTAssertTrue(manifest.contains(#""upsample_steps":3"#), manifest)
        let report = try String(contentsOfFile: "\(dir)/run-option/index.html", encoding: .utf8)
        XCTAssertTrue(report.contains("steps 2 (upsampler 3)"), "the report does not show the upsampler's steps")
    }

    func testImagePromptGivesOneCloudEverywhere() throws {
        try FileManager.default.copyItem(atPath: Fixtures.path("corgi") + ".jpg", toPath: dir + "/corgi.jpg")
        try pointe("generate", ["generate", "--image", dir + "/corgi.jpg", "--models-dir", models, "--steps", "2", "--seed", "7",
                                "-o", "\(dir)/generate.ply"])
        let lines = [#"{"image": "corgi.jpg", "seed": 7, "model": "base40M"}"#, #"{"prompt": "a chair", "model": "base40M-textvec"}"#,
                     #"{"image": "corgi.jpg", "seed": 8, "model": "base40M"}"#]
        let wide = try runJob("run-wide", lines: lines, ["--workers", "2", "--shard-size", "1", "--batch", "1"], kernels: "baseline")
        let packed = try runJob("run-packed", lines: lines, ["--workers", "1", "--shard-size", "3", "--batch", "3"])
        assertIdentical([("generate --image", try PointCloud.readPLY("\(dir)/generate.ply")),
                         ("run --workers 2 --shard-size 1, baseline kernels", wide), ("run --workers 1 --shard-size 3 --batch 3", packed)])
    }
}
