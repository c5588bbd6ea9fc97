import Foundation
import GRDB

/// Marking a job's leading prompts done without sampling them, for `pointe bench coordinator`:
/// the coordinator's cost at the end of a 10^6-prompt job is measured on a store that looks
/// like one (every earlier prompt done, with its outputs and finish sequence) without running
/// 10^6 samples first. Nothing else uses it.
extension JobStore {
    /// Marks every pending prompt with index below `end` done, recording `outputs(id)` as its
    /// files (which the caller has written), in one transaction; shards left without a pending
    /// prompt are settled. Returns how many prompts it marked.
    @discardableResult
    public func prefillDone(below end: Int, worker: String, outputs: (String) -> [Output]) throws -> Int {
        try write { db in
            var next = try Self.nextSequence(db), marked = 0
            let ids = try String.fetchAll(db, sql: "SELECT id FROM prompts WHERE idx < ? AND status = ? ORDER BY idx",
                                          arguments: [end, PromptStatus.pending.rawValue])
            let update = try db.cachedStatement(sql: """
                UPDATE prompts SET status = ?, error = NULL, worker = ?, attempt = 1, models = '', sample_seconds = 0, finish_seq = ? WHERE id = ?
                """)
            for id in ids {
                try Self.insert(outputs(id), promptID: id, db)
                try update.execute(arguments: [PromptStatus.done.rawValue, worker, next, id])
                next += 1
                marked += 1
            }
            try db.execute(sql: """
                UPDATE shards SET status = ?, attempts = MAX(attempts, 1) WHERE status = ? AND id <= (SELECT MAX(shard_id) FROM prompts WHERE idx < ?)
                    AND NOT EXISTS (SELECT 1 FROM prompts WHERE prompts.shard_id = shards.id AND prompts.status != ?)
                """, arguments: [ShardStatus.done.rawValue, ShardStatus.queued.rawValue, end, PromptStatus.done.rawValue])
            return marked
        }
    }
}
