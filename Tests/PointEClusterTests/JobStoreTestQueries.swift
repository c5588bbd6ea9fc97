import Foundation
import GRDB
@testable import PointEJob

/// Store queries only the tests ask: nothing in the product reads these, so they live here.
extension JobStore {
    /// The same counts as counts() by scanning every row: what the trigger-kept counters must
    /// always equal.
    func countsByScan() throws -> Counts {
        try read { db in
            var c = Counts()
            for row in try Row.fetchAll(db, sql: "SELECT \(Self.promptKey("")) AS status, COUNT(*) AS n FROM prompts GROUP BY 1") { c.add(prompts: row["n"], status: row["status"]) }
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM shards GROUP BY status") { c.add(shards: row["n"], status: row["status"]) }
            return c
        }
    }

    /// Attempt rows (shard, attempt, worker, outcome) in the order they were opened.
    func attempts() throws -> [(shard: Int, attempt: Int, worker: String, outcome: AttemptOutcome?)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM attempts ORDER BY id").map { row in
                (row["shard_id"], row["attempt"], row["worker"], (row["outcome"] as String?).flatMap(AttemptOutcome.init(rawValue:)))
            }
        }
    }
}
