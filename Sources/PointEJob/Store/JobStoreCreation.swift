import Foundation
import GRDB
import PointEClusterBase
import PointEMesh

/// Making a job: its description (the `job` table, read back by info()) and its prompts with
/// their seeds, cut into shards; and prompts added to a job whose prompt list grew.
extension JobStore {
    public struct JobInfo: Equatable, Sendable {
        public var jobID: String
        /// The prompt file the job's prompt list was last read from, as it was given: the one
        /// it was made from, or the one whose new lines `--add-prompts` added.
        public var promptFile: String
        public var settings: JobSettings
        /// The models directory (absolute) the job's local workers and meshers last loaded
        /// from: where `pointe run -o DIR` and `pointe remesh DIR` look when not told (nil: a
        /// job made before it was recorded, or by `pointe coordinator`, which loads none).
        public var modelsDirectory: String?
        /// False for a job made before its settings were stored whole (only seed, shards,
        /// budget and meshing are known; sampling options are then not compared on reopening).
        public var settingsRecorded = true

        public init(jobID: String, promptFile: String, settings: JobSettings) {
            self.jobID = jobID
            self.promptFile = promptFile
            self.settings = settings
        }

        public var seed: UInt64 { settings.seed }
        public var shardSize: Int { settings.shardSize }
        public var retryBudget: Int { settings.retryBudget }
        /// Mesh formats (glb, ply, obj, usda) each finished cloud is meshed to; empty: no meshing.
        public var meshFormats: [TriMesh.FileFormat] { settings.meshFormats }
        public var meshGrid: Int { settings.meshGrid }
    }

    /// Stores the prompts, their seeds and shards (consecutive runs of `shardSize` prompts).
    public func create(info: JobInfo, prompts: [PromptEntry]) throws {
        try write { db in
            let settings = String(decoding: try Self.encoder.encode(info.settings), as: UTF8.self)
            // The single keys are what jobs made before `settings` was stored are read from.
            for (key, value) in [("job_id", info.jobID), ("seed", String(info.seed)), ("shard_size", String(info.shardSize)),
                                 ("retry_budget", String(info.retryBudget)), ("prompt_file", info.promptFile),
                                 ("mesh_formats", info.meshFormats.map(\.rawValue).joined(separator: ",")), ("mesh_grid", String(info.meshGrid)),
                                 ("settings", settings)] {
                try db.execute(sql: "INSERT OR REPLACE INTO job (key, value) VALUES (?, ?)", arguments: [key, value])
            }
            try Self.insert(prompts, from: 0, firstShard: 0, info: info, db: db, path: path)
        }
    }

    /// Adds prompts after the job's last one (a prompt list that grew): new indices, their
    /// seeds derived from those indices as if the list had always been this long, in new
    /// shards of the job's size. Finished prompts are not touched. `promptFile`, the file
    /// they came from (which holds the whole list now), becomes the job's prompt file in the
    /// same transaction. Returns how many were added.
    @discardableResult
    public func append(_ prompts: [PromptEntry], from promptFile: String) throws -> Int {
        let info = try info()
        return try write { db in
            let nextIndex = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM prompts") ?? 0
            let nextShard = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(id) + 1, 0) FROM shards") ?? 0
            try Self.insert(prompts, from: nextIndex, firstShard: nextShard, info: info, db: db, path: path)
            try db.execute(sql: "INSERT OR REPLACE INTO job (key, value) VALUES ('prompt_file', ?)", arguments: [promptFile])
            return prompts.count
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// Prompts `firstIndex...` in consecutive runs of the job's shard size from shard `firstShard`.
    /// One statement per table for all the rows (cached), not one compiled per row.
    private static func insert(_ prompts: [PromptEntry], from firstIndex: Int, firstShard: Int, info: JobInfo, db: Database, path: String) throws {
        let shardSize = max(info.shardSize, 1)
        let insertShard = try db.cachedStatement(sql: "INSERT INTO shards (id, budget) VALUES (?, ?)")
        for start in stride(from: 0, to: prompts.count, by: shardSize) {
            try insertShard.execute(arguments: [firstShard + start / shardSize, info.retryBudget])
        }
        let insertPrompt = try db.cachedStatement(sql: """
            INSERT INTO prompts (idx, id, kind, input, seed, settings, line, shard_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (offset, prompt) in prompts.enumerated() {
            let index = firstIndex + offset
            // SQLite binds Swift strings as C strings: a NUL would silently cut the stored text.
            guard !prompt.input.value.contains("\u{0}"), !prompt.id.contains("\u{0}") else {
                throw ClusterError("\(path): prompt \(prompt.id.isEmpty ? "at line \(prompt.line)" : prompt.id) contains a NUL character; it cannot be stored")
            }
            let seed = prompt.seed ?? PromptSeed.derive(jobSeed: info.seed, index: index)
            let settings = String(decoding: try encoder.encode(prompt.settings), as: UTF8.self)
            try insertPrompt.execute(arguments: [index, prompt.id, prompt.input.kind, prompt.input.value, Int64(bitPattern: seed), settings,
                                                 prompt.line, firstShard + offset / shardSize])
        }
    }

    /// The job's description. Asked for on every peer's hello, so its query is cached.
    public func info() throws -> JobInfo {
        let values = try read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db.cachedStatement(sql: "SELECT key, value FROM job")).map { ($0["key"] as String, $0["value"] as String) })
        }
        guard let id = values["job_id"], let seed = values["seed"].flatMap({ UInt64($0) }),
              let shardSize = values["shard_size"].flatMap({ Int($0) }), let budget = values["retry_budget"].flatMap({ Int($0) }) else {
            throw ClusterError("\(path): job store has no job description (not created by pointe?)")
        }
        if let json = values["settings"] {
            do {
                var info = JobInfo(jobID: id, promptFile: values["prompt_file"] ?? "", settings: try JSONDecoder().decode(JobSettings.self, from: Data(json.utf8)))
                info.modelsDirectory = values["models_dir"]
                return info
            } catch {
                throw ClusterError("\(path): the job's settings cannot be read (\(error))")
            }
        }
        var settings = JobSettings()
        settings.seed = seed
        settings.shardSize = shardSize
        settings.retryBudget = budget
        settings.meshFormats = try (values["mesh_formats"] ?? "").split(separator: ",").map { name in
            guard let format = TriMesh.FileFormat(rawValue: String(name)) else { throw ClusterError("\(path): unknown mesh format \"\(name)\" in the job description") }
            return format
        }
        settings.meshGrid = values["mesh_grid"].flatMap { Int($0) } ?? 128
        var info = JobInfo(jobID: id, promptFile: values["prompt_file"] ?? "", settings: settings)
        info.settingsRecorded = false
        info.modelsDirectory = values["models_dir"]
        return info
    }

    /// Records where the job's local workers and meshers load their models from (JobInfo.modelsDirectory).
    public func recordModelsDirectory(_ path: String) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO job (key, value) VALUES ('models_dir', ?)", arguments: [path])
        }
    }
}
