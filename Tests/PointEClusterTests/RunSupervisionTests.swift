import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// `pointe run` supervises its workers and meshers: one SIGKILLed mid-job is restarted and the
/// same run finishes every prompt; one that cannot load its models ends the run at once.
final class RunSupervisionTests: ProcessTestCase {
    func runArguments(_ prompts: String, _ directory: JobDirectory, models: String = ClusterTestSupport.modelsDirectory, meshing: Bool) -> [String] {
        ["run", prompts, "-o", directory.path, "--models-dir", models, "--model", "base40M-uncond", "--no-upsample",
         "--steps", "24", "--shard-size", "2", "--workers", "1"] + (meshing ? ["--mesh-formats", "glb", "--mesh-grid", "8"] : ["--mesh-formats", "none"])
    }

    /// The pid of `pointe ROLE` started by the run.
    func child(_ role: String, of run: Subprocess) -> pid_t? { children(role, of: run).first }

    func testAWorkerKilledMidJobIsRestartedAndTheSameRunFinishes() throws {
        let dir = ClusterTestSupport.temporaryDirectory("supervise-worker")
        let prompts = try writePrompts(8, in: dir)
        let directory = JobDirectory(dir + "/job")
        // One shard of 8 prompts sampled one at a time: after the first result the worker is
        // surely inside it (with 2-prompt shards the kill could land between shards).
        let run = try start(runArguments(prompts, directory, meshing: false) + ["--batch", "1", "--shard-size", "8"], log: dir + "/run.log")
        try waitFor("a first result") { manifestLineCount(directory) >= 1 }
        let victim = try XCTUnwrap(child("worker", of: run), "no worker process under pointe run")
        kill(victim, SIGKILL)
        try waitFor("pointe run to finish", timeout: 120) { !run.isRunning }
        let log = run.output
        XCTAssertEqual(run.exitStatus, 0, log)
        XCTAssertLessThan(log.range(of: "killed by signal 9")?.lowerBound ?? log.endIndex, log.endIndex, "the kill was not seen:\n\(log)")
        XCTAssertTrue(log.contains("restart 1 of 5"), log)
        try assertComplete(directory, prompts: 8)
        let outcomes = try JobStore(path: directory.store).attempts().compactMap(\.outcome)
        XCTAssertTrue(outcomes.contains(.lost), "the killed worker's shard was not re-queued: \(outcomes)")
        print("worker SIGKILLed mid-job: run finished 8/8 with \(outcomes.filter { $0 == .lost }.count) shard(s) re-queued")
    }

    func testAMesherKilledMidJobIsRestartedAndTheSameRunFinishes() throws {
        let dir = ClusterTestSupport.temporaryDirectory("supervise-mesher")
        let prompts = try writePrompts(6, in: dir)
        let directory = JobDirectory(dir + "/job")
        let run = try start(runArguments(prompts, directory, meshing: true), log: dir + "/run.log")
        try waitFor("a first cloud") { ((try? FileManager.default.contentsOfDirectory(atPath: directory.clouds)) ?? []).contains { $0.hasSuffix(".npz") } }
        let victim = try XCTUnwrap(child("mesher", of: run), "no mesher process under pointe run")
        kill(victim, SIGKILL)
        try waitFor("pointe run to finish", timeout: 120) { !run.isRunning }
        let log = run.output
        XCTAssertEqual(run.exitStatus, 0, log)
        XCTAssertTrue(log.contains("local mesher 1") && log.contains("killed by signal 9"), log)
        try assertComplete(directory, prompts: 6)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.meshes).filter { $0.hasSuffix(".glb") }.count, 6)
    }

    /// A truncated sdf file: the mesher cannot load it, and the run says so and stops at once
    /// (no waiting at 0/N, no restarts of a peer that would fail alike); likewise a worker
    /// whose base model is truncated.
    func testModelsThatDoNotLoadEndTheRunAtOnce() throws {
        let dir = ClusterTestSupport.temporaryDirectory("supervise-broken")
        let prompts = try writePrompts(3, in: dir)
        for (broken, role) in [("sdf", "mesher"), ("base40M-uncond", "worker")] {
            let models = dir + "/models-\(role)"
            try FileManager.default.copyItem(atPath: ClusterTestSupport.modelsDirectory, toPath: models)
            let weights = models + "/\(broken).safetensors"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: weights))
            let directory = JobDirectory(dir + "/job-\(role)")
            let started = Date()
            let run = try start(runArguments(prompts, directory, models: models, meshing: true), log: dir + "/run-\(role).log")
            try waitFor("pointe run to stop", timeout: 60) { !run.isRunning }
            let log = run.output
            XCTAssertEqual(run.exitStatus, 1, log)
            XCTAssertTrue(log.contains("local \(role) 1 cannot load its models"), log)
            XCTAssertTrue(log.contains(weights), "the error does not name \(weights):\n\(log)")
            XCTAssertFalse(log.contains("restart 1 of"), "a peer that cannot load its models was restarted:\n\(log)")
            print("\(broken) truncated: pointe run stopped in \(String(format: "%.1f", Date().timeIntervalSince(started))) s naming it")
        }
    }

    /// --quiet: a run that goes well writes nothing to standard error but its end-of-job line on standard output.
    func testQuietRunIsQuiet() throws {
        let dir = ClusterTestSupport.temporaryDirectory("quiet")
        let prompts = try writePrompts(2, in: dir)
        let directory = JobDirectory(dir + "/job")
        let run = try start(runArguments(prompts, directory, meshing: false) + ["--quiet"], log: dir + "/run.log")
        try waitFor("pointe run to finish", timeout: 120) { !run.isRunning }
        XCTAssertEqual(run.exitStatus, 0, run.output)
        XCTAssertEqual(run.output.split(separator: "\n").map(String.init), ["\(directory.path): 2/2 prompts done, 0 failed (manifest: \(directory.manifest))"])
    }
}
