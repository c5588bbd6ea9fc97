import Foundation
import PointECloud
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// A mesh task carries the cloud exactly as the worker sent it: the coordinator forwards the
/// bytes it received (and checked) instead of reading back the .npz it has just written.
final class MeshTaskForwardingTests: ProcessTestCase {
    func testTheMeshTaskCarriesTheReceivedCloudNotAReReadFile() throws {
        let dir = ClusterTestSupport.temporaryDirectory("forward")
        let prompts = try writePrompts(2, in: dir)
        let directory = JobDirectory(dir + "/job")
        let address = try freeAddress()
        _ = try start(["coordinator", prompts, "-o", directory.path, "--bind", address, "--model", "base40M-uncond",
                                     "--no-upsample", "--steps", "2", "--shard-size", "2", "--mesh-formats", "glb", "--mesh-grid", "6",
                                     "--peer-timeout-ms", "30000"], log: dir + "/coordinator.log")
        try waitFor("the coordinator to listen") { FileManager.default.fileExists(atPath: directory.addressFile) }

        let sampler = try RoguePeerTests.Rogue("forward-sampler", address: address)
        guard case .welcome? = sampler.hello(.sampler) else { return XCTFail("the sampler was not welcomed") }
        let shard = try XCTUnwrap(sampler.work { body -> Pointe_Cluster_ShardAssignment? in
            if case .shardAssignment(let s) = body { return s }
            return nil
        }, "no shard for the sampler")
        for (k, item) in shard.prompts.enumerated() {
            sampler.send(.cloudResult(RoguePeerTests.cloudResult(item.promptID, shard: shard.shardID, attempt: shard.attempt, coordinate: 0.25 + Float(k) / 8)))
        }
        XCTAssertTrue(sampler.sync(), "no status reply to the sampler")
        try waitFor("both clouds to be stored") {
            shard.prompts.allSatisfy { FileManager.default.fileExists(atPath: directory.file("clouds/\($0.promptID).npz")) }
        }

        // The stored files now say something else (same shape): a task built from them would carry 0.75.
        for item in shard.prompts {
            let stored = try PointCloud.readNPZ(directory.file("clouds/\(item.promptID).npz"))
            try PointCloud(coords: stored.coords.map { _ in 0.75 }, channels: stored.channels).writeNPZ(to: directory.file("clouds/\(item.promptID).npz"))
        }

        // One mesher per task: a mesher asking again would hand its unanswered task back.
        var seen: [String: Float] = [:]
        var meshers: [RoguePeerTests.Rogue] = []
        for k in shard.prompts.indices {
            let mesher = try RoguePeerTests.Rogue("forward-mesher-\(k)", address: address)
            meshers.append(mesher)
            guard case .welcome? = mesher.hello(.mesher) else { return XCTFail("the mesher was not welcomed") }
            let task = try XCTUnwrap(mesher.work { body -> Pointe_Cluster_MeshTask? in
                if case .meshTask(let t) = body { return t }
                return nil
            }, "no mesh task")
            let cloud = try CloudPacking.unpack(count: task.pointCount, coords: task.coords, colors: task.colors, source: "task \(task.promptID)")
            XCTAssertEqual(Set(cloud.coords).count, 1, "\(task.promptID): not the uniform cloud that was sent")
            seen[task.promptID] = cloud.coords.first
        }
        let expected = Dictionary(uniqueKeysWithValues: shard.prompts.enumerated().map { ($1.promptID, 0.25 + Float($0) / 8) })
        XCTAssertEqual(seen, expected, "the mesh tasks did not carry the clouds the worker sent")
        print("mesh tasks forwarded \(seen.count) received cloud(s) unchanged")
    }
}
