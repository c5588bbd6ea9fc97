import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import XCTest

/// The coordinator served over an in-memory transport: a whole job with a thousand fake
/// workers in one process, no socket (the seam `CoordinatorTransport` exists for this).
final class InMemoryCoordinatorTests: XCTestCase {
    /// A job of `prompts` one-prompt shards and its coordinator, recovered and ready to serve.
    func makeCoordinator(prompts: Int, label: String) throws -> (JobDirectory, Coordinator) {
        try ClusterTestSupport.inMemoryCoordinator(label, prompts: prompts, seed: 5, shardSize: 1, retryBudget: 2) {
            $0.heartbeatIntervalMs = 500  // its goodbye lasts two intervals
        }
    }

    func testAThousandInMemoryWorkersRunAWholeJob() throws {
        let workers = 1000, prompts = 1000
        let (directory, coordinator) = try makeCoordinator(prompts: prompts, label: "swarm")
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
        // Each line was made from the outputs in hand as the result landed: it must be the line
        // the store gives (what a resume rewrites).
        let written = try String(contentsOfFile: directory.manifestLines, encoding: .utf8).split(separator: "\n").map { $0 + "\n" }
        let store = try JobStore(path: directory.store)
        let fromStore = try store.prompts().compactMap { try coordinator.manifest.line($0) }.map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(Set(written.map(String.init)), Set(fromStore))
    }

    /// A thousand idle workers park their requests and hear nothing more than their heartbeat
    /// echoes; when a thousand shards are queued at once (their holders leave), every parked
    /// worker gets one at once, oldest request first, with no NoWork and no re-asking.
    func testParkedWorkersGetWorkAsSoonAsItIsQueued() throws {
        let idle = 1000, holding = 1000
        let (_, coordinator) = try makeCoordinator(prompts: holding, label: "parked")
        let transport = InMemoryTransport()
        let swarm = InMemorySwarm(transport: transport, workers: 0, holders: holding)
        let late = InMemorySwarm(transport: transport, workers: idle)

        enum Phase { case holdersTakeEverything, idlePark, holdersLeave(since: UInt64), done(seconds: Double, noWork: Int, maxRequest: UInt64) }
        var phase = Phase.holdersTakeEverything
        let deadline = Date().addingTimeInterval(240)
        swarm.start()
        let counts = try coordinator.serve(over: transport, shouldStop: {
            // Both swarms read what was sent to their own peers from one transport.
            for (identity, body) in transport.takeSent() { (swarm.owns(identity) ? swarm : late).answer(body, to: identity) }
            swarm.runTimers()
            late.runTimers()
            switch phase {
            case .holdersTakeEverything:
                if swarm.peers.values.allSatisfy({ $0.shards == 1 }) {
                    late.start()
                    phase = .idlePark
                }
            case .idlePark:
                if coordinator.peers.count == idle + holding, late.peers.keys.allSatisfy({ coordinator.peers[$0]?.parkedSince != nil }) {
                    swarm.leave(swarm.holders)
                    phase = .holdersLeave(since: monotonicMilliseconds())
                }
            case .holdersLeave(let since):
                if late.peers.values.allSatisfy({ $0.shards == 1 }) {
                    // Each asked once, got its shard, sent its cloud and asked again (request 2).
                    phase = .done(seconds: Double(monotonicMilliseconds() - since) / 1000, noWork: late.peers.values.reduce(0) { $0 + $1.noWork },
                                  maxRequest: late.peers.values.map(\.nextRequest).max() ?? 0)
                }
            case .done: break
            }
            return Date() > deadline
        })
        for (identity, body) in transport.takeSent() { (swarm.owns(identity) ? swarm : late).answer(body, to: identity) }
        transport.close()
        guard case .done(let seconds, let noWork, let maxRequest) = phase else { return XCTFail("stuck in \(phase): \(counts)") }
        print("\(idle) parked workers got \(holding) re-queued shards in \(String(format: "%.3f", seconds)) s (debug build)")
        XCTAssertLessThan(seconds, 30)
        XCTAssertEqual(noWork, 0, "a parked request was answered with NoWork")
        XCTAssertEqual(maxRequest, 3, "a parked worker had to ask again")
        XCTAssertEqual(counts.done, holding, "the job did not finish after the shards went to the parked workers")
        XCTAssertTrue(late.allShutDown, "parked workers were not told the job ended")
        XCTAssertEqual(swarm.unexpected + late.unexpected, [])
    }
}
