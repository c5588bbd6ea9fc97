import GRDB

/// How many prompts and shards are in each status, from the counters the schema's triggers keep.
extension JobStore {
    public struct Counts: Equatable, Sendable {
        /// `pending` includes prompts waiting for their mesh (`meshing`, also counted alone) and
        /// done prompts waiting for a remesh (`remeshing`, counted there and not as done).
        public var total = 0, done = 0, failed = 0, pending = 0, meshing = 0, remeshing = 0
        public var shardsQueued = 0, shardsRunning = 0

        /// `status`: a prompt status, or `remeshing` (JobStore.promptKey).
        mutating func add(prompts n: Int, status: String) {
            total += n
            if status == JobStore.remeshingKey {
                remeshing += n
                pending += n
                return
            }
            switch PromptStatus(rawValue: status) {
            case .done: done += n
            case .failed: failed += n
            case .meshing: meshing += n; pending += n
            default: pending += n
            }
        }

        mutating func add(shards n: Int, status: String) {
            switch ShardStatus(rawValue: status) {
            case .queued: shardsQueued += n
            case .running: shardsRunning += n
            default: break
            }
        }
    }

    /// From the counters the triggers keep (v4-counters): a few rows, whatever the job's size.
    /// The run loop and every work request that finds no work ask for them: the query is cached.
    public func counts() throws -> Counts {
        try read { db in
            var c = Counts()
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT entity, status, n FROM status_counts")) {
                if (row["entity"] as String) == "shard" { c.add(shards: row["n"], status: row["status"]) } else { c.add(prompts: row["n"], status: row["status"]) }
            }
            return c
        }
    }
}
