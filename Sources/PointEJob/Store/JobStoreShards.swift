import Foundation
import GRDB

/// Shards and their attempts: handing a shard out, closing an attempt (re-queued while the
/// budget lasts, then its pending prompts fail), who an attempt was given to, and putting
/// work back in the queue (a coordinator restart, `--retry-failed`, a prompt found without its
/// files). Claiming, closing and the holder check run for every peer message: their SQL is
/// constant and cached.
extension JobStore {
    public struct Assignment: Sendable {
        public var shardID: Int
        public var attempt: Int
        public var prompts: [Prompt]
    }

    /// Takes the oldest queued shard for `worker`: it becomes running, its attempt count grows,
    /// and an attempt row is opened (with `holder`, the connection it goes to). Only the
    /// shard's still-pending prompts are handed out.
    public func claimShard(worker: String, holder: WorkHolder? = nil) throws -> Assignment? {
        try write { db in
            let queued = try db.cachedStatement(sql: "SELECT id, attempts FROM shards WHERE status = ? ORDER BY id LIMIT 1")
            while let row = try Row.fetchOne(queued, arguments: [ShardStatus.queued.rawValue]) {
                let id: Int = row["id"]
                let pending = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM prompts WHERE shard_id = ? AND status = ? ORDER BY idx"),
                                               arguments: [id, PromptStatus.pending.rawValue]).map { try Self.prompt($0, path: path) }
                if pending.isEmpty {
                    // Everything already landed (e.g. results that arrived after a re-queue).
                    try Self.settleShard(db, id: id)
                    continue
                }
                let attempt = (row["attempts"] as Int) + 1
                try db.cachedStatement(sql: "UPDATE shards SET status = ?, attempts = ?, worker = ? WHERE id = ?")
                    .execute(arguments: [ShardStatus.running.rawValue, attempt, worker, id])
                try db.cachedStatement(sql: "INSERT INTO attempts (shard_id, attempt, worker, started_at, peer_identity, peer_key) VALUES (?, ?, ?, ?, ?, ?)")
                    .execute(arguments: [id, attempt, worker, Date().timeIntervalSince1970, holder?.identity, holder?.curveKey])
                return Assignment(shardID: id, attempt: attempt, prompts: pending)
            }
            return nil
        }
    }

    /// Closes an attempt. Pending prompts left in the shard are re-queued while the budget lasts,
    /// then marked failed with `error`. `countsAgainstBudget: false` (a coordinator restart)
    /// gives the attempt back.
    /// Returns the ids of the prompts this marked failed.
    @discardableResult
    public func finishAttempt(shardID: Int, attempt: Int, outcome: AttemptOutcome, error: String?, countsAgainstBudget: Bool = true) throws -> [String] {
        try write { db -> [String] in
            try db.cachedStatement(sql: "UPDATE attempts SET finished_at = ?, outcome = ?, error = ? WHERE shard_id = ? AND attempt = ? AND finished_at IS NULL")
                .execute(arguments: [Date().timeIntervalSince1970, outcome.rawValue, error, shardID, attempt])
            guard let shard = try Row.fetchOne(db.cachedStatement(sql: "SELECT attempts, budget, status FROM shards WHERE id = ?"), arguments: [shardID]) else {
                return []
            }
            // A stale attempt (the shard was already re-queued or handed out again) changes nothing.
            guard (shard["status"] as String) == ShardStatus.running.rawValue, (shard["attempts"] as Int) == attempt else { return [] }
            if !countsAgainstBudget {
                try db.cachedStatement(sql: "UPDATE shards SET attempts = attempts - 1 WHERE id = ?").execute(arguments: [shardID])
            }
            if let error { try db.cachedStatement(sql: "UPDATE shards SET last_error = ? WHERE id = ?").execute(arguments: [error, shardID]) }
            if try Self.promptCount(db, shardID: shardID, status: .pending) == 0 {
                try Self.settleShard(db, id: shardID)
                return []
            } else if !countsAgainstBudget || attempt < (shard["budget"] as Int) {
                try db.cachedStatement(sql: "UPDATE shards SET status = ?, worker = NULL WHERE id = ?").execute(arguments: [ShardStatus.queued.rawValue, shardID])
                return []
            } else {
                let failing = try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM prompts WHERE shard_id = ? AND status = ? ORDER BY idx"),
                                                  arguments: [shardID, PromptStatus.pending.rawValue])
                let reason = error ?? "no result after \(attempt) attempts"
                let next = try Self.nextSequence(db)
                try db.cachedStatement(sql: """
                    UPDATE prompts SET status = ?, error = COALESCE(error, ?), attempt = ?, finish_seq = ? + idx
                    WHERE shard_id = ? AND status = ?
                    """).execute(arguments: [PromptStatus.failed.rawValue, "failed after \(attempt) attempts: \(reason)", attempt, next, shardID,
                                             PromptStatus.pending.rawValue])
                try db.cachedStatement(sql: "UPDATE shards SET status = ? WHERE id = ?").execute(arguments: [ShardStatus.failed.rawValue, shardID])
                return failing
            }
        }
    }

    /// A shard without pending prompts ends: failed if any of its prompts failed, else done.
    static func settleShard(_ db: Database, id: Int) throws {
        let failed = try promptCount(db, shardID: id, status: .failed)
        try db.cachedStatement(sql: "UPDATE shards SET status = ? WHERE id = ?")
            .execute(arguments: [failed > 0 ? ShardStatus.failed.rawValue : ShardStatus.done.rawValue, id])
    }

    private static func promptCount(_ db: Database, shardID: Int, status: PromptStatus) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM prompts WHERE shard_id = ? AND status = ?"), arguments: [shardID, status.rawValue]) ?? 0
    }

    /// Whether attempt `attempt` of shard `shardID` was given to `holder` (now or before a
    /// restart; a re-queued attempt number can be given out twice).
    public func attemptWasGiven(shardID: Int, attempt: Int, to holder: WorkHolder) throws -> Bool {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT peer_identity, peer_key FROM attempts WHERE shard_id = ? AND attempt = ?"),
                             arguments: [shardID, attempt])
                .contains { ($0["peer_identity"] as Data?) == holder.identity && ($0["peer_key"] as String?) == holder.curveKey }
        }
    }

    /// After a coordinator restart: shards that were running are queued again without using
    /// budget (their workers' results may still arrive and are accepted once).
    public func requeueInterrupted() throws -> Int {
        try write { db in
            let now = Date().timeIntervalSince1970
            try db.execute(sql: "UPDATE attempts SET finished_at = ?, outcome = ? WHERE finished_at IS NULL",
                           arguments: [now, AttemptOutcome.interrupted.rawValue])
            try db.execute(sql: "UPDATE shards SET status = ?, worker = NULL, attempts = MAX(attempts - 1, 0) WHERE status = ?",
                           arguments: [ShardStatus.queued.rawValue, ShardStatus.running.rawValue])
            return db.changesCount
        }
    }

    /// `--retry-failed`: failed prompts become pending and their shards get a fresh budget.
    public func retryFailed() throws -> Int {
        try write { db in
            try db.execute(sql: "UPDATE shards SET status = ?, attempts = 0, worker = NULL WHERE id IN (SELECT shard_id FROM prompts WHERE status = ?)",
                           arguments: [ShardStatus.queued.rawValue, PromptStatus.failed.rawValue])
            try db.execute(sql: "UPDATE prompts SET status = ?, error = NULL, finish_seq = NULL, mesh_attempts = 0 WHERE status = ?",
                           arguments: [PromptStatus.pending.rawValue, PromptStatus.failed.rawValue])
            return db.changesCount
        }
    }

    /// A prompt found without valid output files (missing, or a checksum mismatch) is pending again.
    public func reopen(promptID: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM outputs WHERE prompt_id = ?", arguments: [promptID])
            try db.execute(sql: "UPDATE prompts SET status = ?, finish_seq = NULL WHERE id = ?", arguments: [PromptStatus.pending.rawValue, promptID])
            try db.execute(sql: "UPDATE shards SET status = ?, attempts = 0 WHERE id = (SELECT shard_id FROM prompts WHERE id = ?) AND status != ?",
                           arguments: [ShardStatus.queued.rawValue, promptID, ShardStatus.running.rawValue])
        }
    }
}
