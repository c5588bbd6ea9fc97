import GRDB

/// What prompts produced: a finished prompt's files with their checksums recorded together with
/// its new status, a mesh or a failed meshing attempt, the latest error of a prompt still to
/// run; and the recorded files read back.
extension JobStore {
    public struct Output: Equatable, Sendable {
        public var kind: String
        public var path: String
        public var sha256: String
        public var bytes: Int
        public init(kind: String, path: String, sha256: String, bytes: Int) {
            self.kind = kind
            self.path = path
            self.sha256 = sha256
            self.bytes = bytes
        }
    }

    /// Records a finished prompt and its files in one transaction. false if it was not pending
    /// (a duplicate result): nothing is recorded twice.
    public func recordDone(promptID: String, outputs: [Output], worker: String, attempt: Int, models: [String], sampleSeconds: Double,
                           meshing: Bool = false) throws -> Bool {
        try write { db in
            guard try String.fetchOne(db, sql: "SELECT status FROM prompts WHERE id = ?", arguments: [promptID]) == PromptStatus.pending.rawValue else {
                return false
            }
            for output in outputs {
                try db.execute(sql: "INSERT OR REPLACE INTO outputs (prompt_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?)",
                               arguments: [promptID, output.kind, output.path, output.sha256, output.bytes])
            }
            try db.execute(sql: """
                UPDATE prompts SET status = ?, error = NULL, worker = ?, attempt = ?, models = ?, sample_seconds = ?, finish_seq = ? WHERE id = ?
                """, arguments: [meshing ? PromptStatus.meshing.rawValue : PromptStatus.done.rawValue, worker, attempt, models.joined(separator: ","), sampleSeconds,
                                 meshing ? nil : try Self.nextSequence(db), promptID])
            return true
        }
    }

    /// Records a prompt's mesh files; the prompt is done. false if it was not waiting for one.
    public func recordMesh(promptID: String, outputs: [Output], meshSeconds: Double) throws -> Bool {
        try write { db in
            guard try String.fetchOne(db, sql: "SELECT status FROM prompts WHERE id = ?", arguments: [promptID]) == PromptStatus.meshing.rawValue else {
                return false
            }
            for output in outputs {
                try db.execute(sql: "INSERT OR REPLACE INTO outputs (prompt_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?)",
                               arguments: [promptID, output.kind, output.path, output.sha256, output.bytes])
            }
            try db.execute(sql: "UPDATE prompts SET status = ?, mesh_seconds = ?, finish_seq = ? WHERE id = ?",
                           arguments: [PromptStatus.done.rawValue, meshSeconds, try Self.nextSequence(db), promptID])
            return true
        }
    }

    /// A failed meshing attempt; after `budget` of them the prompt fails. true: it failed now.
    public func recordMeshFailure(promptID: String, error: String, budget: Int) throws -> Bool {
        try write { db in
            guard try String.fetchOne(db, sql: "SELECT status FROM prompts WHERE id = ?", arguments: [promptID]) == PromptStatus.meshing.rawValue else {
                return false
            }
            try db.execute(sql: "UPDATE prompts SET mesh_attempts = mesh_attempts + 1, error = ? WHERE id = ?", arguments: [error, promptID])
            let attempts = try Int.fetchOne(db, sql: "SELECT mesh_attempts FROM prompts WHERE id = ?", arguments: [promptID]) ?? 0
            guard attempts >= budget else { return false }
            try db.execute(sql: "UPDATE prompts SET status = ?, error = ?, finish_seq = ? WHERE id = ?",
                           arguments: [PromptStatus.failed.rawValue, "meshing failed after \(attempts) attempts: \(error)", try Self.nextSequence(db), promptID])
            return true
        }
    }

    /// Remembers the latest error of one prompt (shown if its shard runs out of budget).
    public func notePromptError(id: String, error: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE prompts SET error = ? WHERE id = ? AND status = ?", arguments: [error, id, PromptStatus.pending.rawValue])
        }
    }

    public func outputs(promptID: String) throws -> [Output] {
        try outputs(promptIDs: [promptID])[promptID] ?? []
    }

    /// The outputs of several prompts in one read (a chunk of a resume, a page of the report).
    public func outputs(promptIDs: [String]) throws -> [String: [Output]] {
        guard !promptIDs.isEmpty else { return [:] }
        return try read { db in
            var byPrompt: [String: [Output]] = [:]
            // Chunks of 500 stay far below SQLite's limit on bound variables.
            for start in stride(from: 0, to: promptIDs.count, by: 500) {
                let ids = Array(promptIDs[start..<min(start + 500, promptIDs.count)])
                let sql = "SELECT * FROM outputs WHERE prompt_id IN (\(ids.map { _ in "?" }.joined(separator: ", "))) ORDER BY prompt_id, kind"
                for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(ids)) {
                    byPrompt[row["prompt_id"], default: []].append(Output(kind: row["kind"], path: row["path"], sha256: row["sha256"], bytes: row["bytes"]))
                }
            }
            return byPrompt
        }
    }
}
