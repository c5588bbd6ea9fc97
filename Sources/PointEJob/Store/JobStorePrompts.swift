import Foundation
import GRDB
import PointEClusterBase
import PointEEngine

/// Reading prompts: by id, by status, in prompt order or in the order they finished, in bounded
/// chunks for walks of a whole job.
extension JobStore {
    public struct Prompt: Equatable, Sendable {
        public var index: Int
        public var id: String
        public var input: PromptInput
        public var seed: UInt64
        public var settings: SamplingSettings
        public var shardID: Int
        public var status: PromptStatus
        public var error: String?
        public var worker: String?
        public var attempt: Int?
        public var models: [String]
        public var sampleSeconds: Double?
        public var meshSeconds: Double?
        public var finishSequence: Int?
        /// Done, and waiting for meshes of the job's current mesh settings (`pointe remesh`).
        public var awaitingRemesh = false
    }

    static func prompt(_ row: Row, path: String) throws -> Prompt {
        let settingsJSON: String = row["settings"]
        guard let input = PromptInput(kind: row["kind"], value: row["input"]),
              let status = PromptStatus(rawValue: row["status"]),
              let settings = StoredSamplingSettings.decode(settingsJSON) else {
            throw ClusterError("\(path): corrupt prompt row \(row)")
        }
        let models: String? = row["models"]
        return Prompt(index: row["idx"], id: row["id"], input: input, seed: UInt64(bitPattern: row["seed"] as Int64),
                      settings: settings, shardID: row["shard_id"], status: status, error: row["error"],
                      worker: row["worker"], attempt: row["attempt"],
                      models: models.map { $0.split(separator: ",").map(String.init) } ?? [],
                      sampleSeconds: row["sample_seconds"], meshSeconds: row["mesh_seconds"], finishSequence: row["finish_seq"],
                      awaitingRemesh: status == .done && (row["remesh"] as Int) == RemeshState.waiting.rawValue)
    }

    /// Prompts in prompt order: all of them, or those in one of `statuses`.
    public func prompts(status statuses: Set<PromptStatus>? = nil) throws -> [Prompt] {
        guard let statuses else { return try prompts(matching: "1") }
        let list = statuses.map(\.rawValue).sorted()
        return try prompts(matching: "status IN (\(Self.placeholders(list.count)))", StatementArguments(list))
    }

    public func prompt(id: String) throws -> Prompt? {
        try prompts(matching: "id = ?", [id]).first
    }

    /// The most recently finished prompts (done or failed, or only those of `status`), newest
    /// first: an index walk of `limit` rows, whatever the job's size.
    public func latestFinished(limit: Int, status: PromptStatus? = nil) throws -> [Prompt] {
        if let status {
            return try prompts(matching: "status = ? AND finish_seq IS NOT NULL", [status.rawValue], order: "finish_seq DESC, idx DESC", limit: limit)
        }
        return try prompts(matching: "finish_seq IS NOT NULL", order: "finish_seq DESC, idx DESC", limit: limit)
    }

    /// The first `limit` prompts waiting for a mesh, in prompt order (meshing prompts have no
    /// finish sequence yet, so this is the order of the status index: no sort, no scan).
    public func meshQueue(limit: Int) throws -> [Prompt] {
        try prompts(matching: "status = ?", [PromptStatus.meshing.rawValue], order: "finish_seq, idx", limit: limit)
    }

    /// Up to `limit` prompts in one of `statuses` after prompt index `index` (for walking a whole
    /// job in bounded chunks). `+status` keeps SQLite off the status index: a chunk is a walk
    /// along the prompts from `index`, not a sort of every prompt of those statuses.
    public func prompts(status statuses: Set<PromptStatus>, afterIndex index: Int, limit: Int) throws -> [Prompt] {
        let list = statuses.map(\.rawValue).sorted()
        return try prompts(matching: "idx > ? AND +status IN (\(Self.placeholders(list.count)))",
                           StatementArguments([index]) + StatementArguments(list), limit: limit)
    }

    /// Up to `limit` finished prompts in the order they finished (one without a sequence, which
    /// no write path leaves, first), after `position`: the finish sequence and index of the
    /// last prompt of the previous chunk; nil for the first chunk.
    public func finishedPrompts(after position: (sequence: Int?, index: Int)?, limit: Int) throws -> [Prompt] {
        // `+status`: walk the finish-sequence index from `position` (a chunk costs its own
        // rows), instead of the status index, which would sort every finished prompt per chunk.
        let finished = "+status IN (?, ?)"
        let statuses: StatementArguments = [PromptStatus.done.rawValue, PromptStatus.failed.rawValue]
        switch position {
        case nil:
            return try prompts(matching: finished, statuses, order: "finish_seq, idx", limit: limit)
        case .some((nil, let index)):
            return try prompts(matching: "\(finished) AND ((finish_seq IS NULL AND idx > ?) OR finish_seq IS NOT NULL)", statuses + [index],
                               order: "finish_seq, idx", limit: limit)
        case .some((let sequence?, let index)):
            return try prompts(matching: "\(finished) AND (finish_seq, idx) > (?, ?)", statuses + [sequence, index], order: "finish_seq, idx", limit: limit)
        }
    }

    /// The prompts whose index lies in `range` (a page of the report).
    public func prompts(indexRange range: Range<Int>) throws -> [Prompt] {
        try prompts(matching: "idx >= ? AND idx < ?", [range.lowerBound, range.upperBound])
    }

    /// The indexes of the prompts finished or remeshed after sequence `sequence` (a prompt's
    /// files changed: its card must be written again), and the newest sequence seen.
    public func changedIndexes(after sequence: Int) throws -> (indexes: [Int], newest: Int) {
        try read { db in
            var newest = sequence, indexes: [Int] = []
            // Two index walks (prompts_finished, prompts_remeshed), not a scan of the job.
            for column in ["finish_seq", "remesh_seq"] {
                let rows = try Row.fetchCursor(db, sql: "SELECT idx, \(column) FROM prompts WHERE \(column) > ?", arguments: [sequence])
                while let row = try rows.next() {
                    indexes.append(row[0])
                    newest = max(newest, row[1])
                }
            }
            return (indexes, newest)
        }
    }

    /// The SQL stays here: callers ask by status or id. Each caller's condition and order are
    /// constant text and the limit is bound (-1: none), so a query is compiled once per
    /// connection and then taken from the statement cache (the mesh queue and the prompt
    /// lookups run for every peer message). SQLite plans each of these queries the same with
    /// the limit bound as with it written in (EXPLAIN QUERY PLAN), so the index walks stay.
    func prompts(matching condition: String, _ arguments: StatementArguments = [], order: String = "idx", limit: Int? = nil) throws -> [Prompt] {
        try read { db in
            let statement = try db.cachedStatement(sql: "SELECT * FROM prompts WHERE \(condition) ORDER BY \(order) LIMIT ?")
            return try Row.fetchAll(statement, arguments: arguments + [limit ?? -1]).map { try Self.prompt($0, path: path) }
        }
    }

    /// `count` comma-separated placeholders, for an `IN (...)` list of bound values.
    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    /// The finish sequence the next finished or remeshed prompt gets (prompts.finish_seq: the
    /// order of the manifest and of "latest finished"; prompts.remesh_seq: see v5-remesh-sequence).
    /// Both columns share it, so the report sees either change after the last one it wrote.
    static func nextSequence(_ db: Database) throws -> Int {
        let newest = try Row.fetchOne(db.cachedStatement(sql: "SELECT (SELECT MAX(finish_seq) FROM prompts), (SELECT MAX(remesh_seq) FROM prompts)"))
        return max(newest?[0] as Int? ?? 0, newest?[1] as Int? ?? 0) + 1
    }
}
