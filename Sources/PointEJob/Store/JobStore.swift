import Foundation
import PointEMesh
import GRDB
import PointEEngine
import PointEClusterBase

/// The durable state of a job (`job.sqlite` in the job directory): its prompts, how they are
/// cut into shards, every attempt at a shard, and the files each finished prompt produced with
/// their SHA-256. Everything the coordinator decides goes through here first, so a coordinator
/// killed at any point resumes from this file.
public final class JobStore {
    public let path: String
    let db: DatabaseQueue

    /// `meshing`: the cloud is stored and a mesh is still to come (jobs with mesh formats).
    public enum PromptStatus: String, Sendable { case pending, meshing, done, failed }
    public enum ShardStatus: String, Sendable { case queued, running, done, failed }

    /// How long a statement waits for another process's lock on the store before failing.
    static let busyTimeout: TimeInterval = 5

    public init(path: String) throws {
        self.path = path
        do {
            var config = Configuration()
            config.busyMode = .timeout(Self.busyTimeout)
            // WAL with synchronous=NORMAL: one fsync per checkpoint instead of several per
            // commit. A crash of the process loses nothing; a power loss may roll back the last
            // commits, which only re-runs those prompts (outputs are re-verified on resume).
            config.prepareDatabase { db in
                try Self.switchToWAL(db)
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            db = try DatabaseQueue(path: path, configuration: config)
            try Self.migrate(db)
        } catch let error as DatabaseError {
            throw ClusterError("\(path): job store: \(error.message ?? "\(error)")")
        }
    }

    /// Every transaction goes through these two, so a failing one names the store, and a full
    /// disk says so in the words of every other write ("No space left on device").
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.write(body) } catch let error as DatabaseError { throw storeError(error) }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.read(body) } catch let error as DatabaseError { throw storeError(error) }
    }

    private func storeError(_ error: DatabaseError) -> ClusterError {
        let full = error.resultCode == .SQLITE_FULL ? "No space left on device: " : ""
        return ClusterError("\(path): job store: \(full)\(error.message ?? "\(error)")")
    }

    /// Brings the store's schema up to date. Two processes may open a new store at the same
    /// moment (a coordinator creating it, `pointe status` or a test reading it). GRDB reads
    /// which migrations are applied before it opens each migration's IMMEDIATE transaction, so
    /// both may decide to run the same one; the loser then fails inside its transaction (rolled
    /// back) on what the winner just made, in words that depend on the statement ("table ...
    /// already exists", "duplicate column name: ..."). So a failure is judged by the store, not
    /// the words: the winner commits its schema change and its applied-migration row together,
    /// before the loser's transaction can start, so a lost race always leaves more migrations
    /// applied than before the attempt, and the loser retries from there. A failure with
    /// nothing new applied is the store's own fault and is thrown. Every retry needs a newly
    /// applied migration, so the migrations' count bounds them.
    static func migrate(_ db: DatabaseQueue) throws {
        let migrator = Self.migrator
        while true {
            let applied = try appliedMigrations(db)
            do {
                return try migrator.migrate(db)
            } catch let error as DatabaseError {
                guard try appliedMigrations(db).isStrictSuperset(of: applied) else { throw error }
            }
        }
    }

    /// The migrations applied to the store so far, none for a new one. One read transaction
    /// asks whether GRDB's table exists and then reads it, so both see the same moment. (GRDB's
    /// `appliedIdentifiers` reads the table first and asks after a failure, so a table another
    /// process creates in between turns "new store" into an error.)
    private static func appliedMigrations(_ db: DatabaseQueue) throws -> Set<String> {
        try db.read { db in
            try db.tableExists("grdb_migrations") ? String.fetchSet(db, sql: "SELECT identifier FROM grdb_migrations") : []
        }
    }

    /// Turns a new store to WAL (an existing one already is: the mode is kept in the file).
    /// The switch needs the file to itself; when two new connections hold it shared and both
    /// ask, SQLite refuses one at once with SQLITE_BUSY instead of calling the busy handler
    /// (waiting would deadlock), so that one lets go and asks again, for as long as the busy
    /// timeout would have waited.
    private static func switchToWAL(_ db: Database) throws {
        let deadline = Date().addingTimeInterval(busyTimeout)
        while true {
            do {
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                guard mode == "wal" else { throw DatabaseError(message: "could not turn on WAL (journal mode is \(mode ?? "unknown"))") }
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                usleep(10_000)
            }
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE job (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE shards (
                    id INTEGER PRIMARY KEY,
                    status TEXT NOT NULL DEFAULT 'queued',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    budget INTEGER NOT NULL,
                    worker TEXT,
                    last_error TEXT);
                CREATE TABLE prompts (
                    idx INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL,
                    input TEXT NOT NULL,
                    seed INTEGER NOT NULL,
                    settings TEXT NOT NULL,
                    line INTEGER NOT NULL,
                    shard_id INTEGER NOT NULL REFERENCES shards(id),
                    status TEXT NOT NULL DEFAULT 'pending',
                    error TEXT,
                    worker TEXT,
                    attempt INTEGER,
                    models TEXT,
                    sample_seconds REAL,
                    mesh_attempts INTEGER NOT NULL DEFAULT 0,
                    mesh_seconds REAL,
                    finish_seq INTEGER);
                CREATE INDEX prompts_shard ON prompts(shard_id, status);
                CREATE TABLE attempts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    shard_id INTEGER NOT NULL REFERENCES shards(id),
                    attempt INTEGER NOT NULL,
                    worker TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    finished_at REAL,
                    outcome TEXT,
                    error TEXT);
                CREATE TABLE outputs (
                    prompt_id TEXT NOT NULL REFERENCES prompts(id),
                    kind TEXT NOT NULL,
                    path TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    bytes INTEGER NOT NULL,
                    PRIMARY KEY (prompt_id, kind));
                """)
        }
        migrator.registerMigration("v2-attempt-holders") { db in
            // Who was given each attempt (routing identity, CURVE key): a result is accepted
            // only from the peer that holds or held the attempt, also after a restart.
            try db.execute(sql: """
                ALTER TABLE attempts ADD COLUMN peer_identity BLOB;
                ALTER TABLE attempts ADD COLUMN peer_key TEXT;
                CREATE INDEX attempts_shard ON attempts(shard_id, attempt);
                """)
        }
        migrator.registerMigration("v3-remesh") { db in
            // `pointe remesh` (JobStoreRemesh): 1 while a done prompt waits for meshes made with
            // the job's new mesh settings, 2 when that failed past the budget (the prompt keeps
            // its old meshes). Its old meshes and manifest line stay until the new ones are recorded.
            try db.execute(sql: "ALTER TABLE prompts ADD COLUMN remesh INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v4-counters") { db in
            // Counts by status kept by triggers, so counts() reads a few rows instead of
            // grouping every prompt (the run loop, status and metrics ask several times a
            // second); every write path, present or future, keeps them right. The indexes make
            // the finish sequence, the latest results and failures, the meshing queue and the
            // next queued shard index lookups instead of scans of the whole job.
            try db.execute(sql: """
                CREATE TABLE status_counts (
                    entity TEXT NOT NULL,
                    status TEXT NOT NULL,
                    n INTEGER NOT NULL,
                    PRIMARY KEY (entity, status)) WITHOUT ROWID;
                INSERT INTO status_counts SELECT 'prompt', \(promptKey("")), COUNT(*) FROM prompts GROUP BY 2;
                INSERT INTO status_counts SELECT 'shard', status, COUNT(*) FROM shards GROUP BY status;
                CREATE INDEX prompts_status ON prompts(status, finish_seq);
                CREATE INDEX prompts_finished ON prompts(finish_seq);
                CREATE INDEX shards_status ON shards(status, id);
                """)
            // A prompt counts under its status, a done one waiting for a remesh under `remeshing`.
            let keys: [(table: String, entity: String, columns: String, key: (String) -> String)] = [
                ("prompts", "prompt", "status, remesh", { promptKey($0) }), ("shards", "shard", "status", { "\($0)status" }),
            ]
            for (table, entity, columns, key) in keys {
                try db.execute(sql: """
                    CREATE TRIGGER \(table)_count_insert AFTER INSERT ON \(table) BEGIN
                        INSERT INTO status_counts (entity, status, n) VALUES ('\(entity)', \(key("NEW.")), 1)
                            ON CONFLICT (entity, status) DO UPDATE SET n = n + 1;
                    END;
                    CREATE TRIGGER \(table)_count_update AFTER UPDATE OF \(columns) ON \(table) WHEN \(key("OLD.")) != \(key("NEW.")) BEGIN
                        UPDATE status_counts SET n = n - 1 WHERE entity = '\(entity)' AND status = \(key("OLD."));
                        INSERT INTO status_counts (entity, status, n) VALUES ('\(entity)', \(key("NEW.")), 1)
                            ON CONFLICT (entity, status) DO UPDATE SET n = n + 1;
                    END;
                    CREATE TRIGGER \(table)_count_delete AFTER DELETE ON \(table) BEGIN
                        UPDATE status_counts SET n = n - 1 WHERE entity = '\(entity)' AND status = \(key("OLD."));
                    END;
                    """)
            }
        }
        return migrator
    }

    /// The counter a prompt row counts under (columns prefixed by `row`, e.g. "NEW."): its
    /// status, or `remeshing` for a done prompt waiting for a remesh (Counts.add).
    static func promptKey(_ row: String) -> String {
        "CASE WHEN \(row)status = 'done' AND \(row)remesh = \(RemeshState.waiting.rawValue) THEN 'remeshing' ELSE \(row)status END"
    }

    // MARK: - Creation

    public struct JobInfo: Equatable, Sendable {
        public var jobID: String
        /// The prompt file the job was made from, as it was given.
        public var promptFile: String
        public var settings: JobSettings
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
        /// Mesh formats (glb, ply, obj) each finished cloud is meshed to; empty: no meshing.
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
    /// shards of the job's size. Finished prompts are not touched. Returns how many were added.
    @discardableResult
    public func append(_ prompts: [PromptEntry]) throws -> Int {
        let info = try info()
        return try write { db in
            let nextIndex = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM prompts") ?? 0
            let nextShard = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(id) + 1, 0) FROM shards") ?? 0
            try Self.insert(prompts, from: nextIndex, firstShard: nextShard, info: info, db: db, path: path)
            return prompts.count
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// Prompts `firstIndex...` in consecutive runs of the job's shard size from shard `firstShard`.
    private static func insert(_ prompts: [PromptEntry], from firstIndex: Int, firstShard: Int, info: JobInfo, db: Database, path: String) throws {
        let shardSize = max(info.shardSize, 1)
        for start in stride(from: 0, to: prompts.count, by: shardSize) {
            try db.execute(sql: "INSERT INTO shards (id, budget) VALUES (?, ?)", arguments: [firstShard + start / shardSize, info.retryBudget])
        }
        for (offset, prompt) in prompts.enumerated() {
            let index = firstIndex + offset
            // SQLite binds Swift strings as C strings: a NUL would silently cut the stored text.
            guard !prompt.input.value.contains("\u{0}"), !prompt.id.contains("\u{0}") else {
                throw ClusterError("\(path): prompt \(prompt.id.isEmpty ? "at line \(prompt.line)" : prompt.id) contains a NUL character; it cannot be stored")
            }
            let seed = prompt.seed ?? PromptSeed.derive(jobSeed: info.seed, index: index)
            let settings = String(decoding: try encoder.encode(prompt.settings), as: UTF8.self)
            try db.execute(sql: """
                INSERT INTO prompts (idx, id, kind, input, seed, settings, line, shard_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [index, prompt.id, prompt.input.kind, prompt.input.value, Int64(bitPattern: seed), settings,
                                 prompt.line, firstShard + offset / shardSize])
        }
    }

    public func info() throws -> JobInfo {
        let values = try read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT key, value FROM job").map { ($0["key"] as String, $0["value"] as String) })
        }
        guard let id = values["job_id"], let seed = values["seed"].flatMap({ UInt64($0) }),
              let shardSize = values["shard_size"].flatMap({ Int($0) }), let budget = values["retry_budget"].flatMap({ Int($0) }) else {
            throw ClusterError("\(path): job store has no job description (not created by pointe?)")
        }
        if let json = values["settings"] {
            do {
                return JobInfo(jobID: id, promptFile: values["prompt_file"] ?? "", settings: try JSONDecoder().decode(JobSettings.self, from: Data(json.utf8)))
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
        return info
    }

    // MARK: - Prompts

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
              let settings = try? JSONDecoder().decode(SamplingSettings.self, from: Data(settingsJSON.utf8)) else {
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
        return try prompts(matching: "status IN (\(list.map { _ in "?" }.joined(separator: ", ")))", StatementArguments(list))
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
        try prompts(matching: "status = 'meshing'", order: "finish_seq, idx", limit: limit)
    }

    /// Up to `limit` prompts in one of `statuses` after prompt index `index` (for walking a whole
    /// job in bounded chunks). `+status` keeps SQLite off the status index: a chunk is a walk
    /// along the prompts from `index`, not a sort of every prompt of those statuses.
    public func prompts(status statuses: Set<PromptStatus>, afterIndex index: Int, limit: Int) throws -> [Prompt] {
        let list = statuses.map(\.rawValue).sorted()
        return try prompts(matching: "idx > ? AND +status IN (\(list.map { _ in "?" }.joined(separator: ", ")))",
                           StatementArguments([index]) + StatementArguments(list), limit: limit)
    }

    /// Up to `limit` finished prompts in the order they finished (one without a sequence, which
    /// no write path leaves, first), after `position`: the finish sequence and index of the
    /// last prompt of the previous chunk; nil for the first chunk.
    public func finishedPrompts(after position: (sequence: Int?, index: Int)?, limit: Int) throws -> [Prompt] {
        // `+status`: walk the finish-sequence index from `position` (a chunk costs its own
        // rows), instead of the status index, which would sort every finished prompt per chunk.
        let finished = "+status IN ('done', 'failed')"
        switch position {
        case nil:
            return try prompts(matching: finished, order: "finish_seq, idx", limit: limit)
        case .some((nil, let index)):
            return try prompts(matching: "\(finished) AND ((finish_seq IS NULL AND idx > ?) OR finish_seq IS NOT NULL)", [index],
                               order: "finish_seq, idx", limit: limit)
        case .some((let sequence?, let index)):
            return try prompts(matching: "\(finished) AND (finish_seq, idx) > (?, ?)", [sequence, index], order: "finish_seq, idx", limit: limit)
        }
    }

    /// The prompts whose index lies in `range` (a page of the report).
    public func prompts(indexRange range: Range<Int>) throws -> [Prompt] {
        try prompts(matching: "idx >= ? AND idx < ?", [range.lowerBound, range.upperBound])
    }

    /// The prompt indexes finished after finish sequence `sequence`, and the newest sequence seen.
    public func finishedIndexes(after sequence: Int) throws -> (indexes: [Int], newest: Int) {
        try read { db in
            var newest = sequence, indexes: [Int] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT idx, finish_seq FROM prompts WHERE finish_seq > ? ORDER BY finish_seq", arguments: [sequence])
            while let row = try rows.next() {
                indexes.append(row[0])
                newest = max(newest, row[1])
            }
            return (indexes, newest)
        }
    }

    /// The SQL stays here: callers ask by status or id.
    func prompts(matching condition: String, _ arguments: StatementArguments = [], order: String = "idx", limit: Int? = nil) throws -> [Prompt] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM prompts WHERE \(condition) ORDER BY \(order)" + (limit.map { " LIMIT \($0)" } ?? ""),
                             arguments: arguments).map { try Self.prompt($0, path: path) }
        }
    }

    public struct Counts: Equatable, Sendable {
        /// `pending` includes prompts waiting for their mesh (`meshing`, also counted alone) and
        /// done prompts waiting for a remesh (`remeshing`, counted there and not as done).
        public var total = 0, done = 0, failed = 0, pending = 0, meshing = 0, remeshing = 0
        public var shardsQueued = 0, shardsRunning = 0

        /// `status`: a prompt status, or `remeshing` (JobStore.promptKey).
        mutating func add(prompts n: Int, status: String) {
            total += n
            if status == "remeshing" {
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
    public func counts() throws -> Counts {
        try read { db in
            var c = Counts()
            for row in try Row.fetchAll(db, sql: "SELECT entity, status, n FROM status_counts") {
                if (row["entity"] as String) == "shard" { c.add(shards: row["n"], status: row["status"]) } else { c.add(prompts: row["n"], status: row["status"]) }
            }
            return c
        }
    }


    // MARK: - Shards

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
            while let row = try Row.fetchOne(db, sql: "SELECT id, attempts FROM shards WHERE status = 'queued' ORDER BY id LIMIT 1") {
                let id: Int = row["id"]
                let pending = try Row.fetchAll(db, sql: "SELECT * FROM prompts WHERE shard_id = ? AND status = 'pending' ORDER BY idx", arguments: [id])
                    .map { try Self.prompt($0, path: path) }
                if pending.isEmpty {
                    // Everything already landed (e.g. results that arrived after a re-queue).
                    try Self.settleShard(db, id: id)
                    continue
                }
                let attempt = (row["attempts"] as Int) + 1
                try db.execute(sql: "UPDATE shards SET status = 'running', attempts = ?, worker = ? WHERE id = ?", arguments: [attempt, worker, id])
                try db.execute(sql: "INSERT INTO attempts (shard_id, attempt, worker, started_at, peer_identity, peer_key) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [id, attempt, worker, Date().timeIntervalSince1970, holder?.identity, holder?.curveKey])
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
            try db.execute(sql: "UPDATE attempts SET finished_at = ?, outcome = ?, error = ? WHERE shard_id = ? AND attempt = ? AND finished_at IS NULL",
                           arguments: [Date().timeIntervalSince1970, outcome.rawValue, error, shardID, attempt])
            guard let shard = try Row.fetchOne(db, sql: "SELECT attempts, budget, status FROM shards WHERE id = ?", arguments: [shardID]) else { return [] }
            // A stale attempt (the shard was already re-queued or handed out again) changes nothing.
            guard (shard["status"] as String) == ShardStatus.running.rawValue, (shard["attempts"] as Int) == attempt else { return [] }
            if !countsAgainstBudget {
                try db.execute(sql: "UPDATE shards SET attempts = attempts - 1 WHERE id = ?", arguments: [shardID])
            }
            if let error { try db.execute(sql: "UPDATE shards SET last_error = ? WHERE id = ?", arguments: [error, shardID]) }
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM prompts WHERE shard_id = ? AND status = 'pending'", arguments: [shardID]) ?? 0
            if pending == 0 {
                try Self.settleShard(db, id: shardID)
                return []
            } else if !countsAgainstBudget || attempt < (shard["budget"] as Int) {
                try db.execute(sql: "UPDATE shards SET status = 'queued', worker = NULL WHERE id = ?", arguments: [shardID])
                return []
            } else {
                let failing = try String.fetchAll(db, sql: "SELECT id FROM prompts WHERE shard_id = ? AND status = 'pending' ORDER BY idx", arguments: [shardID])
                let reason = error ?? "no result after \(attempt) attempts"
                let next = try Self.nextSequence(db)
                try db.execute(sql: """
                    UPDATE prompts SET status = 'failed', error = COALESCE(error, ?), attempt = ?, finish_seq = ? + idx
                    WHERE shard_id = ? AND status = 'pending'
                    """, arguments: ["failed after \(attempt) attempts: \(reason)", attempt, next, shardID])
                try db.execute(sql: "UPDATE shards SET status = 'failed' WHERE id = ?", arguments: [shardID])
                return failing
            }
        }
    }

    static func settleShard(_ db: Database, id: Int) throws {
        let failed = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM prompts WHERE shard_id = ? AND status = 'failed'", arguments: [id]) ?? 0
        try db.execute(sql: "UPDATE shards SET status = ? WHERE id = ?", arguments: [failed > 0 ? "failed" : "done", id])
    }

    static func nextSequence(_ db: Database) throws -> Int {
        (try Int.fetchOne(db, sql: "SELECT MAX(finish_seq) FROM prompts") ?? 0) + 1
    }

    /// Remembers the latest error of one prompt (shown if its shard runs out of budget).
    public func notePromptError(id: String, error: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE prompts SET error = ? WHERE id = ? AND status = 'pending'", arguments: [error, id])
        }
    }

    /// After a coordinator restart: shards that were running are queued again without using
    /// budget (their workers' results may still arrive and are accepted once).
    public func requeueInterrupted() throws -> Int {
        try write { db in
            let now = Date().timeIntervalSince1970
            try db.execute(sql: "UPDATE attempts SET finished_at = ?, outcome = '\(AttemptOutcome.interrupted.rawValue)' WHERE finished_at IS NULL", arguments: [now])
            try db.execute(sql: "UPDATE shards SET status = 'queued', worker = NULL, attempts = MAX(attempts - 1, 0) WHERE status = 'running'")
            return db.changesCount
        }
    }

    /// `--retry-failed`: failed prompts become pending and their shards get a fresh budget.
    public func retryFailed() throws -> Int {
        try write { db in
            try db.execute(sql: "UPDATE shards SET status = 'queued', attempts = 0, worker = NULL WHERE id IN (SELECT shard_id FROM prompts WHERE status = 'failed')")
            try db.execute(sql: "UPDATE prompts SET status = 'pending', error = NULL, finish_seq = NULL, mesh_attempts = 0 WHERE status = 'failed'")
            return db.changesCount
        }
    }

    /// A prompt found without valid output files (missing, or a checksum mismatch) is pending again.
    public func reopen(promptID: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM outputs WHERE prompt_id = ?", arguments: [promptID])
            try db.execute(sql: "UPDATE prompts SET status = 'pending', finish_seq = NULL WHERE id = ?", arguments: [promptID])
            try db.execute(sql: "UPDATE shards SET status = 'queued', attempts = 0 WHERE id = (SELECT shard_id FROM prompts WHERE id = ?) AND status != 'running'",
                           arguments: [promptID])
        }
    }

    // MARK: - Outputs

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
                """, arguments: [meshing ? "meshing" : "done", worker, attempt, models.joined(separator: ","), sampleSeconds,
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
            try db.execute(sql: "UPDATE prompts SET status = 'done', mesh_seconds = ?, finish_seq = ? WHERE id = ?",
                           arguments: [meshSeconds, try Self.nextSequence(db), promptID])
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
            try db.execute(sql: "UPDATE prompts SET status = 'failed', error = ?, finish_seq = ? WHERE id = ?",
                           arguments: ["meshing failed after \(attempts) attempts: \(error)", try Self.nextSequence(db), promptID])
            return true
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

    /// Whether attempt `attempt` of shard `shardID` was given to `holder` (now or before a
    /// restart; a re-queued attempt number can be given out twice).
    public func attemptWasGiven(shardID: Int, attempt: Int, to holder: WorkHolder) throws -> Bool {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT peer_identity, peer_key FROM attempts WHERE shard_id = ? AND attempt = ?", arguments: [shardID, attempt])
                .contains { ($0["peer_identity"] as Data?) == holder.identity && ($0["peer_key"] as String?) == holder.curveKey }
        }
    }
}

/// How a shard attempt ended (stored in attempts.outcome).
public enum AttemptOutcome: String, Sendable, CaseIterable {
    /// Every prompt of the attempt delivered.
    case completed
    /// A prompt failed (the worker reported an error, or its payload was rejected).
    case error
    /// The worker handed the shard back (stopping); costs no retry.
    case returned
    /// The shard could not even be sent to the worker; costs no retry.
    case undelivered
    /// The worker went silent or away mid-shard.
    case lost
    /// The coordinator stopped while the attempt ran; re-run on resume at no cost.
    case interrupted
}
