import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import XCTest

/// A worker that leaves just as it asks for work never receives the shard it was given: the
/// attempt must not cost the prompts a retry (with a budget of 1, three such departures used to
/// fail the prompts without any worker having seen them).
final class ShardDeliveryTests: XCTestCase {
    func testAShardThatCannotBeSentCostsNoRetry() throws {
        let (directory, coordinator) = try ClusterTestSupport.inMemoryCoordinator("undelivered", prompts: 2, shardSize: 2, retryBudget: 1, recover: false)
        // No peer with this identity is connected: every send to it fails, as it does to a
        // peer whose connection closed after its request was queued.
        let transport = InMemoryTransport()
        let departed = Data("departed-worker".utf8)
        let hello = ClusterTestSupport.samplerHello("departed-worker")
        for _ in 0..<3 {
            try coordinator.handle(.hello(hello), from: departed, transport: transport)
            try coordinator.handle(.workRequest(Pointe_Cluster_WorkRequest()), from: departed, transport: transport)
        }
        let store = try JobStore(path: directory.store)
        XCTAssertEqual(try store.attempts().map(\.outcome), [.undelivered, .undelivered, .undelivered])
        let counts = try store.counts()
        XCTAssertEqual(counts.failed, 0, "undelivered shards used up the retry budget")
        XCTAssertEqual(counts.pending, 2)
        XCTAssertEqual(counts.shardsQueued, 1)
        XCTAssertEqual(counts.shardsRunning, 0)
    }
}
