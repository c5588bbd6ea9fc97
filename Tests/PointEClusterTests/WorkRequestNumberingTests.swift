import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// Numbered work requests: a request that comes again (its connection dropped) is answered with
/// the task already chosen for it; a new one from a peer that still owes results re-queues them.
final class WorkRequestNumberingTests: ProcessTestCase {
    func testARepeatedRequestGetsTheSameShardAndANewOneSettlesLostResults() throws {
        let dir = ClusterTestSupport.temporaryDirectory("numbering")
        let prompts = try writePrompts(4, in: dir)
        let directory = JobDirectory(dir + "/job")
        let address = try freeAddress()
        _ = try start(["coordinator", prompts, "-o", directory.path, "--bind", address, "--model", "base40M-uncond", "--no-upsample",
                       "--steps", "2", "--shard-size", "2", "--mesh-formats", "none", "--peer-timeout-ms", "30000"], log: dir + "/coordinator.log")
        try waitFor("the coordinator to listen") { FileManager.default.fileExists(atPath: directory.addressFile) }
        let peer = try RoguePeerTests.Rogue("numbered-worker", address: address)
        guard case .welcome? = peer.hello(.sampler) else { return XCTFail("not welcomed") }
        func ask(_ id: UInt64) -> Pointe_Cluster_ShardAssignment? {
            var request = Pointe_Cluster_WorkRequest()
            request.requestID = id
            peer.send(.workRequest(request))
            if case .shardAssignment(let s)? = peer.next(timeout: 10, { if case .shardAssignment = $0 { return true }; return false }) { return s }
            return nil
        }
        let first = try XCTUnwrap(ask(1), "no shard for request 1")
        let again = try XCTUnwrap(ask(1), "no answer to request 1 sent again")
        XCTAssertEqual([again.shardID, UInt64(again.attempt)], [first.shardID, UInt64(first.attempt)], "a repeated request got another task")
        let next = try XCTUnwrap(ask(2), "no shard for request 2")
        // The oldest queued shard again, as a new attempt: the first one's results are not waited for.
        XCTAssertNotEqual([next.shardID, UInt64(next.attempt)], [first.shardID, UInt64(first.attempt)], "request 2 got the unanswered task again")
        // The first shard's results never came: request 2 put it back in the queue, as lost.
        XCTAssertTrue(peer.sync())
        let attempts = try JobStore(path: directory.store).attempts()
        let closed = try XCTUnwrap(attempts.first { $0.shard == Int(first.shardID) && $0.attempt == Int(first.attempt) })
        XCTAssertEqual(closed.outcome, .lost, "\(attempts)")
        XCTAssertTrue(coordinatorLog(dir).contains("still waits for 2 result(s): they were lost on the way"), coordinatorLog(dir))
    }

    func coordinatorLog(_ dir: String) -> String { (try? String(contentsOfFile: dir + "/coordinator.log", encoding: .utf8)) ?? "" }
}
