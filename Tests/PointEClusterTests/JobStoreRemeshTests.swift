import Foundation
@testable import PointECluster
@testable import PointEJob
@testable import PointEWire
import XCTest

/// The store's side of `pointe remesh` (JobStoreRemesh): a done prompt keeps its mesh outputs
/// until new ones replace them in one transaction, and keeps them for good when every remesh
/// attempt fails.
extension JobStoreTests {
    func testRemeshReplacesMeshOutputsOrKeepsThemAfterTheBudget() throws {
        let store = try makeStore(prompts: 2, shardSize: 2, budget: 2)
        let claim = try XCTUnwrap(store.claimShard(worker: "w"))
        let cloud = JobStore.Output(kind: "cloud_npz", path: "clouds/ID.npz", sha256: "c", bytes: 1)
        for id in ["p00000", "p00001"] {
            XCTAssertNotNil(try store.recordDone(promptID: id, outputs: [cloud, .init(kind: "mesh_glb", path: "meshes/\(id).glb", sha256: "g", bytes: 2)],
                                               worker: "w", attempt: claim.attempt, models: ["m"], sampleSeconds: 0.5))
        }
        XCTAssertNil(try store.recordRemesh(promptID: "p00000", outputs: [], meshSeconds: 0), "recorded a remesh nobody asked for")

        let (generation, waiting) = try store.startRemesh(formats: [.ply], grid: 64)
        XCTAssertEqual(generation, 1)
        XCTAssertEqual(waiting, 2)
        XCTAssertEqual(try store.info().meshFormats, [.ply])
        XCTAssertEqual(try store.info().meshGrid, 64)
        var counts = try store.counts()
        XCTAssertEqual([counts.done, counts.remeshing, counts.pending], [0, 2, 2])
        XCTAssertEqual(try store.promptsAwaitingRemesh().map(\.id), ["p00000", "p00001"])

        let new = JobStore.Output(kind: "mesh_ply", path: "meshes/p00000.r1.ply", sha256: "p", bytes: 3)
        let replaced = try XCTUnwrap(store.recordRemesh(promptID: "p00000", outputs: [new], meshSeconds: 1.5))
        XCTAssertEqual(replaced.map(\.path), ["meshes/p00000.glb"])
        XCTAssertEqual(try store.outputs(promptID: "p00000").map(\.kind), ["cloud_npz", "mesh_ply"])
        XCTAssertEqual(try store.prompt(id: "p00000")?.meshSeconds, 1.5)
        XCTAssertNil(try store.recordRemesh(promptID: "p00000", outputs: [new], meshSeconds: 1.5), "recorded twice")

        XCTAssertEqual(try store.recordRemeshFailure(promptID: "p00001", error: "mesher crashed", budget: 2), false)
        XCTAssertEqual(try store.recordRemeshFailure(promptID: "p00001", error: "mesher crashed", budget: 2), true)
        XCTAssertNil(try store.recordRemeshFailure(promptID: "p00001", error: "again", budget: 2), "a prompt that gave up still counted")
        XCTAssertEqual(try store.outputs(promptID: "p00001").map(\.path), ["clouds/ID.npz", "meshes/p00001.glb"], "the old meshes were dropped")
        XCTAssertEqual(try store.promptsThatKeptOldMeshes().map(\.id), ["p00001"])
        XCTAssertEqual(try store.prompt(id: "p00001")?.error, "remeshing failed after 2 attempts: mesher crashed")
        counts = try store.counts()
        XCTAssertEqual([counts.done, counts.remeshing, counts.pending], [2, 0, 0])

        // The next remesh asks every done prompt again, with a fresh budget.
        XCTAssertEqual(try store.startRemesh(formats: [.glb], grid: 32).generation, 2)
        XCTAssertEqual(try store.promptsThatKeptOldMeshes().count, 0)
        XCTAssertEqual(try store.recordRemeshFailure(promptID: "p00001", error: "x", budget: 2), false)
    }
}
