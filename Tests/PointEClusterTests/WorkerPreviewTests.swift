import Foundation
@testable import PointECluster
@testable import PointEClusterBase
import PointECloud
@testable import PointEJob
import PointEMesh
@testable import PointEWire
import XCTest

/// Workers render each cloud's preview and send it with the cloud, so the coordinator writes
/// it instead of rendering it (issue 31: the rendering was most of its CPU per result). What
/// they send is checked: one that is not a PNG of the job preview's size is counted, logged
/// and replaced by the coordinator's own rendering; a worker that sends none still gets one.
final class WorkerPreviewTests: XCTestCase {
    func testTheCoordinatorWritesAWorkersPreviewAndReplacesABadOne() throws {
        let (directory, coordinator) = try ClusterTestSupport.inMemoryCoordinator("preview", prompts: 4, shardSize: 4, retryBudget: 1, recover: false)
        let transport = InMemoryTransport()
        let worker = Data("preview-worker".utf8)
        transport.connect(worker)
        try coordinator.handle(.hello(ClusterTestSupport.samplerHello("preview-worker")), from: worker, transport: transport)
        try coordinator.handle(.workRequest(Pointe_Cluster_WorkRequest()), from: worker, transport: transport)
        let shard = try XCTUnwrap(transport.takeSent().lazy.compactMap { sent -> Pointe_Cluster_ShardAssignment? in
            if case .shardAssignment(let s) = sent.body { return s }
            return nil
        }.first, "the worker was given no shard")
        let ids = shard.prompts.map(\.promptID)
        XCTAssertEqual(ids.count, 4)

        func cloud(_ k: Int) -> PointCloud {
            PointCloud(coords: (0..<96).map { Float(($0 * (k + 3)) % 17) / 20 },
                       channels: ["R", "G", "B"].map { .init(name: $0, values: [Float](repeating: Float(k + 1) / 5, count: 32)) })
        }
        // The worker's own picture; drawn from another cloud so that a file equal to it can only
        // be the one sent, not one the coordinator rendered.
        let sentPreview = try PointCloudPreview.job.png(cloud(9))
        let previews: [Data] = [
            sentPreview,
            Data("not a png".utf8),                                       // not an image
            try PointCloudPreview(tileSize: 64).png(cloud(2)),            // a PNG of the wrong size
            Data(),                                                       // a worker from before previews
        ]
        for (k, id) in ids.enumerated() {
            var result = Pointe_Cluster_CloudResult(promptID: id, shardID: shard.shardID, attempt: shard.attempt, cloud: cloud(k))
            result.previewPng = previews[k]
            try coordinator.handle(.cloudResult(result), from: worker, transport: transport)
        }

        let store = try JobStore(path: directory.store)
        XCTAssertEqual(try store.counts().done, 4)
        for (k, id) in ids.enumerated() {
            let path = directory.file("previews/\(id).png")
            let written = try XCTUnwrap(FileManager.default.contents(atPath: path), "no preview for \(id)")
            let expected = k == 0 ? sentPreview : try PointCloudPreview.job.png(cloud(k))
            XCTAssertEqual(written, expected, "preview of \(id) (case \(k))")
            let output = try XCTUnwrap(try store.outputs(promptID: id).first { $0.kind == "preview_png" }, "preview of \(id) not recorded")
            XCTAssertEqual(output.sha256, FileChecksum.sha256(written), "the recorded checksum of \(id)'s preview is not the file's")
        }
        XCTAssertEqual(coordinator.payloadsRejected[.preview], 2, "the two bad previews were not counted")
        XCTAssertEqual(coordinator.previewsRendered, 3, "the coordinator rendered the two bad previews and the missing one")
    }

    func testPreviewPayloadChecks() throws {
        let cloud = PointCloud(coords: (0..<30).map { Float($0) / 40 })
        let good = try PointCloudPreview.job.png(cloud)
        XCTAssertNoThrow(try PreviewPayload.check(good, source: "p1 from w", limits: PayloadLimits()))

        func refusal(_ data: Data, limits: PayloadLimits = PayloadLimits()) -> String {
            do { try PreviewPayload.check(data, source: "p1 from w", limits: limits) } catch { return "\(error)" }
            return "accepted"
        }
        XCTAssertTrue(refusal(good.prefix(good.count - 20)).contains("p1 from w: preview"), refusal(good.prefix(good.count - 20)))
        XCTAssertTrue(refusal(try PointCloudPreview(tileSize: 100).png(cloud)).contains("300x300"))
        var small = PayloadLimits()
        small.maxPreviewBytes = good.count - 1
        XCTAssertTrue(refusal(good, limits: small).contains("over the"), refusal(good, limits: small))
        var corrupt = good
        corrupt[good.count / 2] ^= 0xFF  // inside the compressed pixels: the chunk's CRC no longer holds
        XCTAssertTrue(refusal(corrupt).contains("p1 from w: preview"), refusal(corrupt))
        // A JPEG of the right size is an image pointe reads, but not the PNG the preview is stored as.
        XCTAssertTrue(refusal(Data([0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0, count: 64))).contains("not a PNG"))
    }
}
