import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import XCTest

/// The coordinator served over an in-memory transport: a whole job with a thousand fake
/// workers in one process, no socket (the seam `CoordinatorTransport` exists for this).
final class InMemoryCoordinatorTests: XCTestCase {
    func testAThousandInMemoryWorkersRunAWholeJob() throws {
        let workers = 1000, prompts = 1000
        let directory = JobDirectory(ClusterTestSupport.temporaryDirectory("swarm") + "/job")
        try Coordinator.createJob(at: directory, prompts: ClusterTestSupport.textPrompts(prompts), seed: 5, shardSize: 1,
                                  retryBudget: 2, promptFile: "test")
        var options = CoordinatorOptions()
        options.log = ClusterLog(role: "coordinator", quiet: true)
        options.heartbeatIntervalMs = 500  // its goodbye lasts two intervals
        let coordinator = try Coordinator(directory: directory, options: options)
        try coordinator.recover()
        let transport = InMemoryTransport()
        let swarm = InMemorySwarm(transport: transport, workers: workers)

        // One thread: the coordinator's loop asks `shouldStop` between messages, and the swarm
        // answers what it was sent there, so the whole job runs deterministically in order.
        let deadline = Date().addingTimeInterval(240)
        swarm.start()
        let counts = try coordinator.serve(over: transport, shouldStop: {
            swarm.step(timeoutMs: 0)
            return Date() > deadline
        })
        swarm.step(timeoutMs: 0)
        transport.close()
        XCTAssertLessThan(Date(), deadline, "the job did not finish: \(counts)")
        XCTAssertEqual(counts.done, prompts)
        XCTAssertEqual(counts.failed, 0)
        XCTAssertEqual(swarm.cloudsSent.count, prompts, "not every prompt was handed out")
        XCTAssertEqual(swarm.cloudsSent.values.max(), 1, "a prompt was handed out twice")
        XCTAssertEqual(swarm.peers.values.reduce(0) { $0 + $1.shards }, prompts)
        XCTAssertTrue(swarm.allShutDown, "\(swarm.peers.values.filter { !$0.shutDown }.count) peers were not told the job ended")
        XCTAssertEqual(swarm.unexpected, [])
        XCTAssertEqual(transport.dropped, 0)
        let audit = try JobAudit(directory, expectedPrompts: prompts, meshKind: nil)
        XCTAssertTrue(audit.isPerfect, "\(audit)")
    }
}
