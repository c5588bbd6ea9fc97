import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import XCTest

final class JobStoreTests: XCTestCase {
    func makeStore(prompts: Int, shardSize: Int, budget: Int) throws -> JobStore {
        let dir = ClusterTestSupport.temporaryDirectory("store")
        let store = try JobStore(path: dir + "/job.sqlite")
        var settings = JobSettings()
        (settings.seed, settings.shardSize, settings.retryBudget) = (9, shardSize, budget)
        try store.create(info: .init(jobID: "j", promptFile: "p.txt", settings: settings), prompts: ClusterTestSupport.textPrompts(prompts))
        return store
    }

    func testShardsSeedsAndClaims() throws {
        let store = try makeStore(prompts: 10, shardSize: 4, budget: 2)
        let prompts = try store.prompts()
        XCTAssertEqual(prompts.map(\.shardID), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
        XCTAssertEqual(prompts.map(\.seed), (0..<10).map { PromptSeed.derive(jobSeed: 9, index: $0) })
        let first = try XCTUnwrap(store.claimShard(worker: "w1"))
        XCTAssertEqual(first.shardID, 0)
        XCTAssertEqual(first.attempt, 1)
        XCTAssertEqual(first.prompts.map(\.id), ["p00000", "p00001", "p00002", "p00003"])
        XCTAssertEqual(try store.claimShard(worker: "w2")?.shardID, 1)
        XCTAssertEqual(try store.counts().shardsRunning, 2)
        // Reopening the store (a restarted coordinator) sees the same state.
        XCTAssertEqual(try JobStore(path: store.path).counts().shardsRunning, 2)
    }

    /// recordDone hands back the row it wrote (the coordinator writes the manifest line from it
    /// instead of reading the prompt again): the same as a read afterwards, stored columns only
    /// it did not set included.
    func testRecordDoneReturnsThePromptAsStored() throws {
        let store = try makeStore(prompts: 3, shardSize: 3, budget: 2)
        let claim = try XCTUnwrap(store.claimShard(worker: "w"))
        // Left from a remesh asked for before the prompt was reopened: only the stored row knows.
        try store.db.write { try $0.execute(sql: "UPDATE prompts SET remesh = ? WHERE id = ?", arguments: [JobStore.RemeshState.waiting.rawValue, "p00002"]) }
        let output = JobStore.Output(kind: "cloud_ply", path: "clouds/x.ply", sha256: "x", bytes: 1)
        for (id, meshing) in [("p00000", false), ("p00001", true), ("p00002", false)] {
            let done = try XCTUnwrap(store.recordDone(promptID: id, outputs: [output], worker: "w", attempt: claim.attempt,
                                                      models: ["base", "up"], sampleSeconds: 0.25, meshing: meshing), id)
            XCTAssertEqual(done, try store.prompt(id: id), id)
            XCTAssertEqual(done.status, meshing ? .meshing : .done, id)
            XCTAssertEqual(done.finishSequence == nil, meshing, id)
            XCTAssertEqual([done.worker, done.models.joined(separator: "+")], ["w", "base+up"], id)
        }
        XCTAssertTrue(try XCTUnwrap(store.prompt(id: "p00002")).awaitingRemesh)
        XCTAssertNil(try store.recordDone(promptID: "p00000", outputs: [], worker: "w", attempt: claim.attempt, models: [], sampleSeconds: 0))
    }

    /// The store's transactions (BEGIN and COMMIT prepared once, JobStore.inCachedTransaction):
    /// a body that fails leaves nothing of its changes, the error is the body's, and the
    /// connection is out of the transaction, so the next ones commit.
    func testAFailedTransactionRollsBackAndTheNextCommits() throws {
        let store = try makeStore(prompts: 2, shardSize: 2, budget: 1)
        struct Interrupted: Error {}
        XCTAssertThrowsError(try store.write { db in
            try db.execute(sql: "UPDATE prompts SET error = 'half-done'")
            throw Interrupted()
        }) { XCTAssertTrue($0 is Interrupted, "\($0)") }
        XCTAssertEqual(try store.prompts().compactMap(\.error), [])
        for round in 0..<3 {
            try store.notePromptError(id: "p00001", error: "round \(round)")
            XCTAssertEqual(try store.prompt(id: "p00001")?.error, "round \(round)")
        }
        XCTAssertEqual(try store.prompt(id: "p00000")?.error, nil)
        // Reads (the same cached transactions, DEFERRED) refuse writes and leave the connection
        // usable after a failure.
        XCTAssertThrowsError(try store.read { db in try db.execute(sql: "UPDATE prompts SET error = 'from a read'") })
        XCTAssertThrowsError(try store.read { _ in throw Interrupted() }) { XCTAssertTrue($0 is Interrupted, "\($0)") }
        XCTAssertEqual(try store.prompts().compactMap(\.error), ["round 2"])
    }

    func testRetryBudgetThenFailedThenRetryFailed() throws {
        let store = try makeStore(prompts: 2, shardSize: 2, budget: 2)
        var claim = try XCTUnwrap(store.claimShard(worker: "w"))
        XCTAssertNotNil(try store.recordDone(promptID: "p00000", outputs: [.init(kind: "cloud_ply", path: "clouds/p00000.ply", sha256: "x", bytes: 1)],
                                           worker: "w", attempt: 1, models: ["m"], sampleSeconds: 0.1))
        XCTAssertNil(try store.recordDone(promptID: "p00000", outputs: [], worker: "w", attempt: 1, models: [], sampleSeconds: 0), "recorded twice")
        try store.notePromptError(id: "p00001", error: "bad input")
        try store.finishAttempt(shardID: 0, attempt: claim.attempt, outcome: .error, error: "bad input")
        claim = try XCTUnwrap(store.claimShard(worker: "w"))
        XCTAssertEqual(claim.attempt, 2)
        XCTAssertEqual(claim.prompts.map(\.id), ["p00001"], "only the pending prompt is handed out again")
        try store.finishAttempt(shardID: 0, attempt: 2, outcome: .error, error: "bad input")
        XCTAssertNil(try store.claimShard(worker: "w"))
        let failed = try XCTUnwrap(store.prompt(id: "p00001"))
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.error, "bad input")
        XCTAssertEqual(try store.counts(), JobStore.Counts(total: 2, done: 1, failed: 1, pending: 0, shardsQueued: 0, shardsRunning: 0))
        XCTAssertEqual(try store.retryFailed(), 1)
        XCTAssertEqual(try store.claimShard(worker: "w")?.attempt, 1, "a fresh budget")
    }

    func testInterruptedShardsRequeueWithoutUsingBudget() throws {
        let store = try makeStore(prompts: 1, shardSize: 1, budget: 1)
        _ = try store.claimShard(worker: "w")
        XCTAssertEqual(try store.requeueInterrupted(), 1)
        let again = try XCTUnwrap(store.claimShard(worker: "w"))
        XCTAssertEqual(again.attempt, 1)
        // A lost worker does use it: budget 1 means failed.
        try store.finishAttempt(shardID: 0, attempt: 1, outcome: .lost, error: "worker w was lost")
        XCTAssertEqual(try store.prompt(id: "p00000")?.status, .failed)
        XCTAssertTrue(try store.prompt(id: "p00000")?.error?.contains("worker w was lost") == true)
        XCTAssertEqual(try store.attempts().map(\.outcome), [.interrupted, .lost])
    }
}
