import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// Clouds wait for a mesher as long as one may come, and `pointe status` says that meshing
/// waits for one; a mesher that joins later finishes the job.
final class MeshingWaitTests: ProcessTestCase {
    func testStatusSaysMeshingWaitsForAMesherUntilOneComes() throws {
        let dir = ClusterTestSupport.temporaryDirectory("meshwait")
        let prompts = try writePrompts(3, in: dir)
        let directory = JobDirectory(dir + "/job")
        let address = try freeAddress()
        let coordinator = try start(["coordinator", prompts, "-o", directory.path, "--bind", address, "--model", "base40M-uncond", "--no-upsample",
                                     "--steps", "2", "--mesh-formats", "glb", "--mesh-grid", "8"], log: dir + "/coordinator.log")
        _ = try start(["worker", "--connect", address, "--models-dir", ClusterTestSupport.modelsDirectory, "--quiet"], log: dir + "/worker.log")
        try waitFor("every cloud to be stored") { (try? JobStore(path: directory.store).counts().meshing) == 3 }
        let status = try Subprocess.run(try BuiltTool.pointe(), ["status", directory.path], timeout: 60)
        XCTAssertEqual(status.status, 0, status.output)
        XCTAssertTrue(status.output.contains("meshing: 3 cloud(s) to mesh, meshing waits for a mesher (none connected)"), status.output)
        XCTAssertTrue(coordinator.isRunning, "the coordinator gave up on meshes with no mesher")

        _ = try start(["mesher", "--connect", address, "--models-dir", ClusterTestSupport.modelsDirectory, "--quiet"], log: dir + "/mesher.log")
        try waitFor("the job to finish", timeout: 120) { !coordinator.isRunning }
        XCTAssertEqual(coordinator.exitStatus, 0, coordinator.output)
        try assertComplete(directory, prompts: 3)
    }
}
