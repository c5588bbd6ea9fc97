import GRDB
import PointEClusterBase

/// What prompts produced: a finished prompt's files with their checksums recorded together with
/// its new status, a mesh or a failed meshing attempt, the latest error of a prompt still to
/// run; and the recorded files read back. The recording runs for every result message: its SQL
/// is constant and cached.
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

        init(_ row: Row) {
            self.init(kind: row["kind"], path: row["path"], sha256: row["sha256"], bytes: row["bytes"])
        }
    }

    /// Records a finished prompt and its files in one transaction, and returns the prompt as
    /// now stored (the row the update wrote, through RETURNING: its manifest line needs no
    /// second read). nil if it was not pending (a duplicate result): nothing is recorded twice.
    @discardableResult
    public func recordDone(promptID: String, outputs: [Output], worker: String, attempt: Int, models: [String], sampleSeconds: Double,
                           meshing: Bool = false) throws -> Prompt? {
        try write { db in
            guard try Self.status(ofPrompt: promptID, db) == PromptStatus.pending.rawValue else { return nil }
            try Self.insert(outputs, promptID: promptID, db)
            let stored = try Row.fetchOne(db.cachedStatement(sql: """
                UPDATE prompts SET status = ?, error = NULL, worker = ?, attempt = ?, models = ?, sample_seconds = ?, finish_seq = ? WHERE id = ?
                RETURNING *
                """), arguments: [meshing ? PromptStatus.meshing.rawValue : PromptStatus.done.rawValue, worker, attempt,
                                  models.joined(separator: ","), sampleSeconds, meshing ? nil : try Self.nextSequence(db), promptID])
            guard let stored else { throw ClusterError("\(path): prompt \(promptID) vanished while it was recorded") }
            return try Self.prompt(stored, path: path)
        }
    }

    /// Records a prompt's mesh files; the prompt is done. false if it was not waiting for one.
    public func recordMesh(promptID: String, outputs: [Output], meshSeconds: Double) throws -> Bool {
        try write { db in
            guard try Self.status(ofPrompt: promptID, db) == PromptStatus.meshing.rawValue else { return false }
            try Self.insert(outputs, promptID: promptID, db)
            try db.cachedStatement(sql: "UPDATE prompts SET status = ?, mesh_seconds = ?, finish_seq = ? WHERE id = ?")
                .execute(arguments: [PromptStatus.done.rawValue, meshSeconds, try Self.nextSequence(db), promptID])
            return true
        }
    }

    /// A failed meshing attempt; after `budget` of them the prompt fails. true: it failed now.
    public func recordMeshFailure(promptID: String, error: String, budget: Int) throws -> Bool {
        try write { db in
            guard try Self.status(ofPrompt: promptID, db) == PromptStatus.meshing.rawValue else { return false }
            try db.cachedStatement(sql: "UPDATE prompts SET mesh_attempts = mesh_attempts + 1, error = ? WHERE id = ?").execute(arguments: [error, promptID])
            let attempts = try Self.meshAttempts(ofPrompt: promptID, db)
            guard attempts >= budget else { return false }
            try db.cachedStatement(sql: "UPDATE prompts SET status = ?, error = ?, finish_seq = ? WHERE id = ?")
                .execute(arguments: [PromptStatus.failed.rawValue, "meshing failed after \(attempts) attempts: \(error)", try Self.nextSequence(db), promptID])
            return true
        }
    }

    /// Remembers the latest error of one prompt (shown if its shard runs out of budget).
    public func notePromptError(id: String, error: String) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE prompts SET error = ? WHERE id = ? AND status = ?").execute(arguments: [error, id, PromptStatus.pending.rawValue])
        }
    }

    /// The files of one prompt (its manifest line, written as it finishes).
    public func outputs(promptID: String) throws -> [Output] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM outputs WHERE prompt_id = ? ORDER BY kind"), arguments: [promptID]).map(Output.init)
        }
    }

    /// The outputs of several prompts in one read (a chunk of a resume, a page of the report).
    /// The SQL depends on the chunk's length, so it is compiled per chunk, not cached.
    public func outputs(promptIDs: [String]) throws -> [String: [Output]] {
        guard !promptIDs.isEmpty else { return [:] }
        return try read { db in
            var byPrompt: [String: [Output]] = [:]
            // Chunks of 500 stay far below SQLite's limit on bound variables.
            for start in stride(from: 0, to: promptIDs.count, by: 500) {
                let ids = Array(promptIDs[start..<min(start + 500, promptIDs.count)])
                let sql = "SELECT * FROM outputs WHERE prompt_id IN (\(Self.placeholders(ids.count))) ORDER BY prompt_id, kind"
                for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(ids)) {
                    byPrompt[row["prompt_id"], default: []].append(Output(row))
                }
            }
            return byPrompt
        }
    }

    /// A prompt's status as stored (nil: no such prompt).
    static func status(ofPrompt id: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT status FROM prompts WHERE id = ?"), arguments: [id])
    }

    /// How many meshing attempts of the prompt failed since they were last reset (a remesh, `--retry-failed`).
    static func meshAttempts(ofPrompt id: String, _ db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT mesh_attempts FROM prompts WHERE id = ?"), arguments: [id]) ?? 0
    }

    /// Records files of a prompt, replacing any of the same kind.
    static func insert(_ outputs: [Output], promptID: String, _ db: Database) throws {
        let statement = try db.cachedStatement(sql: "INSERT OR REPLACE INTO outputs (prompt_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?)")
        for output in outputs {
            try statement.execute(arguments: [promptID, output.kind, output.path, output.sha256, output.bytes])
        }
    }
}
