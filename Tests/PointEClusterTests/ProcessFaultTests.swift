import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// Faults that need real processes: the `pointe` executable (built next to this test bundle)
/// runs the coordinator and workers, and the test SIGKILLs them mid-job.
final class ProcessFaultTests: ProcessTestCase {
    /// 48 steps make a tiny-model prompt take about 0.15 s in a debug build (24 steps took 70 ms
    /// after the C attention kernels, 2026-12), and a test that must act while a worker is inside
    /// a shard does not rely on the time between two prompts: it puts the whole job in one shard
    /// (`shardSize` = the prompt count), so the first result leaves seven prompts (about a
    /// second) to land the signal in. With 4-prompt shards a SIGTERM after the first
    /// result could arrive between shards on a loaded machine (CI saw it: both attempts
    /// completed, nothing handed back).
    func coordinatorArguments(_ prompts: String, _ directory: JobDirectory, _ address: String, shardSize: Int = 4) -> [String] {
        ["coordinator", prompts, "-o", directory.path, "--bind", address, "--model", "base40M-uncond", "--no-upsample",
         "--steps", "48", "--shard-size", "\(shardSize)", "--peer-timeout-ms", "2000", "--mesh-formats", "none", "--quiet"]
    }

    func workerArguments(_ address: String) -> [String] {
        ["worker", "--connect", address, "--models-dir", ClusterTestSupport.modelsDirectory, "--batch", "1",
         "--coordinator-timeout-ms", "20000", "--quiet"]
    }

    /// The embedded default: `pointe run` with 2 worker and 1 mesher processes.
    func testRun24PromptsWithTwoWorkersAndAMesher() throws {
        let dir = ClusterTestSupport.temporaryDirectory("run")
        let prompts = try writePrompts(24, in: dir)
        let directory = JobDirectory(dir + "/job")
        let run = try start(["run", prompts, "-o", directory.path, "--models-dir", ClusterTestSupport.modelsDirectory,
                             "--model", "base40M-uncond", "--no-upsample", "--steps", "2", "--workers", "2", "--meshers", "1",
                             "--mesh-formats", "glb,ply", "--mesh-grid", "6", "--shard-size", "4"], log: dir + "/run.log")
        try waitFor("pointe run to finish", timeout: 120) { !run.isRunning }
        let log = (try? String(contentsOfFile: dir + "/run.log", encoding: .utf8)) ?? ""
        XCTAssertEqual(run.exitStatus, 0, log)
        XCTAssertTrue(log.contains("24/24 prompts"), log)
        try assertComplete(directory, prompts: 24)
        let lines = try ClusterTestSupport.manifestLines(directory)
        for line in lines {
            XCTAssertEqual((line["files"] as? [String: Any])?.keys.sorted(), ["cloud_npz", "cloud_ply", "mesh_glb", "mesh_ply", "preview_png"])
        }
        let meshes = try FileManager.default.contentsOfDirectory(atPath: directory.meshes)
        XCTAssertEqual(meshes.filter { $0.hasSuffix(".glb") }.count, 24)
        XCTAssertEqual(meshes.filter { $0.hasSuffix(".ply") }.count, 24)
    }

    /// Text prompts through CLIP (loaded because the job needs it) with the text-conditioned base model: different
    /// texts with equal seeds give different clouds.
    func testClipTextPrompts() throws {
        let dir = ClusterTestSupport.temporaryDirectory("clip")
        let models = dir + "/models"
        let initModels = try start(["models", "init-random", "--preset", "tiny", "--only", "base40M-textvec", "--only", "clip", models], log: dir + "/init.log")
        try initModels.wait(timeout: 120)
        XCTAssertEqual(initModels.exitStatus, 0)
        let prompts = dir + "/prompts.jsonl"
        let lines = [#"{"prompt": "a red chair", "seed": 7}"#, #"{"prompt": "a blue car", "seed": 7}"#]
        try lines.joined(separator: "\n").write(toFile: prompts, atomically: true, encoding: .utf8)
        let directory = JobDirectory(dir + "/job")
        let run = try start(["run", prompts, "-o", directory.path, "--models-dir", models, "--model", "base40M-textvec", "--no-upsample",
                             "--steps", "2", "--workers", "1", "--mesh-formats", "none"], log: dir + "/run.log")
        try waitFor("pointe run to finish", timeout: 120) { !run.isRunning }
        XCTAssertEqual(run.exitStatus, 0, (try? String(contentsOfFile: dir + "/run.log", encoding: .utf8)) ?? "")
        let sums = try ClusterTestSupport.verifiedChecksums(directory)
        XCTAssertEqual(sums.count, 2)
        XCTAssertNotEqual(sums["p00000"]?["cloud_ply"], sums["p00001"]?["cloud_ply"], "the text did not condition the cloud")
    }

    /// Image prompts through CLIP's image grid. An image that does not decode is found when
    /// the job is made: the job is refused with the line named and nothing is created; with
    /// --bad-lines skip the line is skipped (and said so) and the other prompt completes.
    func testImagePromptsAndAnUndecodableImage() throws {
        let dir = ClusterTestSupport.temporaryDirectory("image")
        let models = dir + "/models"
        let initModels = try start(["models", "init-random", "--preset", "tiny", "--only", "base40M", "--only", "clip", models], log: dir + "/init.log")
        try initModels.wait(timeout: 120)
        XCTAssertEqual(initModels.exitStatus, 0)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/corgi.jpg")
        try FileManager.default.copyItem(atPath: fixture.path, toPath: dir + "/corgi.jpg")
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: dir + "/broken.png"))
        let prompts = dir + "/prompts.jsonl"
        // No "model": image prompts get base40M, the image2pc model.
        try [#"{"image": "corgi.jpg"}"#, #"{"image": "broken.png", "id": "broken"}"#].joined(separator: "\n")
            .write(toFile: prompts, atomically: true, encoding: .utf8)
        let directory = JobDirectory(dir + "/job")
        let arguments = ["run", prompts, "-o", directory.path, "--models-dir", models, "--no-upsample",
                         "--steps", "2", "--workers", "1", "--mesh-formats", "none"]
        let refused = try start(arguments, log: dir + "/refused.log")
        try refused.wait(timeout: 120)
        let refusal = (try? String(contentsOfFile: dir + "/refused.log", encoding: .utf8)) ?? ""
        XCTAssertEqual(refused.exitStatus, 1, refusal)
        XCTAssertTrue(refusal.contains("line 2: image \(dir)/broken.png") && refusal.contains("not a JPEG or PNG"), refusal)
        XCTAssertFalse(refusal.contains("USAGE"), "a runtime error printed the usage block:\n\(refusal)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path), "a refused job left its directory behind")

        let run = try start(arguments + ["--bad-lines", "skip"], log: dir + "/run.log")
        try waitFor("pointe run to finish", timeout: 120) { !run.isRunning }
        let log = (try? String(contentsOfFile: dir + "/run.log", encoding: .utf8)) ?? ""
        XCTAssertEqual(run.exitStatus, 0, log)
        XCTAssertTrue(log.contains("line 2: image") && log.contains("broken.png"), log)
        XCTAssertEqual(try ClusterTestSupport.verifiedChecksums(directory).keys.sorted(), ["p00000"])
        XCTAssertEqual(try ClusterTestSupport.manifestLines(directory).compactMap { ($0["settings"] as? [String: Any])?["model"] as? String }, ["base40M"])
    }

    func testWorkerKilledMidShard() throws {
        let dir = ClusterTestSupport.temporaryDirectory("killworker")
        let prompts = try writePrompts(8, in: dir)
        let directory = JobDirectory(dir + "/job")
        let address = try freeAddress()
        let coordinator = try start(coordinatorArguments(prompts, directory, address, shardSize: 8), log: dir + "/coordinator.log")
        let victim = try start(workerArguments(address), log: dir + "/victim.log")
        // Kill the only worker once its first result has landed: it is inside the job's one shard.
        try waitFor("a first result") { manifestLineCount(directory) >= 1 }
        victim.signal(SIGKILL)
        try victim.wait(timeout: 30)
        _ = try start(workerArguments(address), log: dir + "/worker.log")
        try waitFor("the coordinator to finish") { !coordinator.isRunning }
        XCTAssertEqual(coordinator.exitStatus, 0, (try? String(contentsOfFile: dir + "/coordinator.log", encoding: .utf8)) ?? "")
        try assertComplete(directory, prompts: 8)
        let outcomes = try JobStore(path: directory.store).attempts().compactMap(\.outcome)
        XCTAssertTrue(outcomes.contains(.lost), "no shard was re-queued from the killed worker: \(outcomes)")
    }

    /// SIGTERM: the worker hands its shard back (no retry budget used) and exits cleanly.
    func testWorkerTerminatedHandsBackItsShard() throws {
        let dir = ClusterTestSupport.temporaryDirectory("termworker")
        let prompts = try writePrompts(8, in: dir)
        let directory = JobDirectory(dir + "/job")
        let address = try freeAddress()
        let coordinator = try start(coordinatorArguments(prompts, directory, address, shardSize: 8), log: dir + "/coordinator.log")
        let leaving = try start(workerArguments(address), log: dir + "/leaving.log")
        try waitFor("a first result") { manifestLineCount(directory) >= 1 }
        leaving.signal(SIGTERM)
        try leaving.wait(timeout: 60)
        XCTAssertEqual(leaving.exitStatus, 0)
        _ = try start(workerArguments(address), log: dir + "/worker.log")
        try waitFor("the coordinator to finish") { !coordinator.isRunning }
        XCTAssertEqual(coordinator.exitStatus, 0)
        try assertComplete(directory, prompts: 8)
        let outcomes = try JobStore(path: directory.store).attempts().compactMap(\.outcome)
        XCTAssertTrue(outcomes.contains(.returned), "the terminated worker did not hand its shard back: \(outcomes)")
    }

    func testCoordinatorKilledAndRestarted() throws {
        let dir = ClusterTestSupport.temporaryDirectory("killcoord")
        let prompts = try writePrompts(16, in: dir)
        let directory = JobDirectory(dir + "/job")
        let address = try freeAddress()
        let first = try start(coordinatorArguments(prompts, directory, address), log: dir + "/coordinator1.log")
        let workers = try (0..<2).map { try start(workerArguments(address), log: dir + "/worker\($0).log") }
        try waitFor("some results") { manifestLineCount(directory) >= 3 }
        first.signal(SIGKILL)
        try first.wait(timeout: 30)
        XCTAssertLessThan(manifestLineCount(directory), 16, "the job finished before the kill; the test proves nothing")
        let second = try start(coordinatorArguments(prompts, directory, address), log: dir + "/coordinator2.log")
        try waitFor("the restarted coordinator to finish") { !second.isRunning }
        XCTAssertEqual(second.exitStatus, 0, (try? String(contentsOfFile: dir + "/coordinator2.log", encoding: .utf8)) ?? "")
        try assertComplete(directory, prompts: 16)
        // The workers survived the restart and were told the job ended.
        try waitFor("workers to exit", timeout: 10) { workers.allSatisfy { !$0.isRunning } }
        XCTAssertEqual(workers.map(\.exitStatus), [0, 0])
    }
}
