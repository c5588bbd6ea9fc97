import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// What must hold when the machine misbehaves: a full disk ends the run cleanly and the same
/// command finishes the job once there is space; a coordinator frozen for longer than any peer
/// timeout carries on with the same peers when it is continued.
final class DurabilityTests: ProcessTestCase {
    func testAFullDiskEndsTheRunCleanlyAndTheSameCommandFinishesLater() throws {
        guard geteuid() == 0 else { throw XCTSkip("mounting a 1 MB tmpfs needs root") }
        let dir = ClusterTestSupport.temporaryDirectory("fulldisk")
        let mount = dir + "/small"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = try Subprocess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount], timeout: 30)
        guard mounted.status == 0 else { throw XCTSkip("cannot mount a tmpfs here: \(mounted.output)") }
        defer { _ = try? Subprocess.run("/bin/umount", ["-l", mount], timeout: 30) }
        let prompts = try writePrompts(40, in: dir)
        let directory = JobDirectory(mount + "/job")
        let arguments = ["run", prompts, "-o", directory.path, "--models-dir", ClusterTestSupport.modelsDirectory, "--model", "base40M-uncond",
                         "--no-upsample", "--steps", "2", "--mesh-grid", "8", "--workers", "1"]

        let full = try start(arguments, log: dir + "/full.log")
        try waitFor("pointe run to stop", timeout: 120) { !full.isRunning }
        let log = full.output
        XCTAssertEqual(full.exitStatus, 1, log)
        XCTAssertTrue(log.contains("No space left on device"), log)
        XCTAssertTrue(log.contains(directory.path + "/"), "the error names no file of the job:\n\(log)")
        // No half-written file, and every manifest line is whole.
        for sub in [directory.path, directory.clouds, directory.meshes, directory.previews] {
            let temps = ((try? FileManager.default.contentsOfDirectory(atPath: sub)) ?? []).filter { $0.contains(".tmp-") }
            XCTAssertEqual(temps, [], "temporary files left in \(sub)")
        }
        let lines = ((try? String(contentsOfFile: directory.manifestLines, encoding: .utf8)) ?? "").split(separator: "\n")
        for line in lines { XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), "a broken manifest line: \(line)") }
        XCTAssertLessThan(lines.count, 40, "the disk never filled; the test proves nothing")

        let grown = try Subprocess.run("/bin/mount", ["-o", "remount,size=64m", mount], timeout: 30)
        XCTAssertEqual(grown.status, 0, grown.output)
        let again = try start(arguments, log: dir + "/again.log")
        try waitFor("the resumed run to finish", timeout: 120) { !again.isRunning }
        XCTAssertEqual(again.exitStatus, 0, again.output)
        try assertComplete(directory, prompts: 40)
        print("full disk: stopped at \(lines.count)/40 with \"No space left on device\"; the same command finished 40/40")
    }

    func testACoordinatorFrozenFor70SecondsFinishesWithTheSamePeers() throws {
        let dir = ClusterTestSupport.temporaryDirectory("frozen")
        let prompts = try writePrompts(8, in: dir)
        let directory = JobDirectory(dir + "/job")
        let address = try freeAddress()
        let coordinator = try start(["coordinator", prompts, "-o", directory.path, "--bind", address, "--model", "base40M-uncond", "--no-upsample",
                                     "--steps", "24", "--shard-size", "1", "--mesh-formats", "glb", "--mesh-grid", "8"], log: dir + "/coordinator.log")
        let worker = try start(["worker", "--connect", address, "--name", "steady-worker", "--models-dir", ClusterTestSupport.modelsDirectory,
                                "--batch", "1", "--quiet"], log: dir + "/worker.log")
        let mesher = try start(["mesher", "--connect", address, "--name", "steady-mesher", "--models-dir", ClusterTestSupport.modelsDirectory,
                                "--quiet"], log: dir + "/mesher.log")
        try waitFor("a first result") { manifestLineCount(directory) >= 1 }
        coordinator.signal(SIGSTOP)
        sleep(70)
        XCTAssertTrue(worker.isRunning && mesher.isRunning, "a peer gave up on the frozen coordinator")
        coordinator.signal(SIGCONT)
        try waitFor("the job to finish", timeout: 120) { !coordinator.isRunning }
        let log = coordinator.output
        XCTAssertEqual(coordinator.exitStatus, 0, log)
        try assertComplete(directory, prompts: 8)
        XCTAssertEqual(Set(try ClusterTestSupport.manifestLines(directory).compactMap { $0["worker"] as? String }), ["steady-worker"])
        XCTAssertTrue(log.contains("peers get a fresh timeout"), log)
        // Not timed out for the coordinator's own silence. (A send into a connection the freeze
        // dropped may still drop that session; the same process says hello again and goes on.)
        XCTAssertFalse(log.contains("no message from steady-"), "the coordinator took its peers for lost after its own freeze:\n\(log)")
        // Results sent into connections that dropped during the freeze are re-queued, not waited for.
        let lost = try JobStore(path: directory.store).attempts().filter { $0.outcome == .lost }.count
        print("coordinator frozen 70 s: finished 8/8 with the same worker and mesher; \(lost) shard(s) re-queued for results lost in transit")
        try waitFor("the peers to be told the job ended", timeout: 30) { !worker.isRunning && !mesher.isRunning }
        XCTAssertEqual([worker.exitStatus, mesher.exitStatus], [0, 0])
    }
}
