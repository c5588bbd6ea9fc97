import Foundation
import GRDB
import PointEClusterBase

/// The durable state of a job (`job.sqlite` in the job directory): its prompts, how they are
/// cut into shards, every attempt at a shard, and the files each finished prompt produced with
/// their SHA-256. Everything the coordinator decides goes through here first, so a coordinator
/// killed at any point resumes from this file.
///
/// This file opens the store; the tables are made in JobStoreSchema, and each concern's queries
/// are an extension of their own (JobStoreCreation, JobStorePrompts, JobStoreShards,
/// JobStoreOutputs, JobStoreCounts, JobStoreRemesh, JobStorePrefill). A status reaches SQL only
/// as a bound argument from the enums below. The queries the coordinator runs for every peer
/// message have constant SQL and go through the connection's statement cache
/// (`db.cachedStatement`), so a message compiles no SQL.
public final class JobStore {
    public let path: String
    let db: DatabaseQueue

    // The raw values are what the store holds, and what the schema's defaults and counting
    // triggers were created with: they never change.
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
        defer { writes &+= 1 }
        do {
            return try db.writeWithoutTransaction { db in try Self.inCachedTransaction(.immediate, db, body) }
        } catch let error as DatabaseError { throw storeError(error) }
    }

    /// One transaction around `body`, of the kind GRDB's `write` (IMMEDIATE) or `read`
    /// (DEFERRED) opens, but with its BEGIN and COMMIT prepared once and kept in the
    /// connection's statement cache. GRDB's `beginTransaction`/`commit` compile
    /// "BEGIN ... TRANSACTION" and "COMMIT TRANSACTION" from text every time (through its
    /// statement authoriser), which was a quarter of the coordinator's CPU per result
    /// (docs/COORDINATOR-SCALE.md). Any failure, of the body or of the commit, rolls back
    /// through GRDB's own `rollback` (a no-op where SQLite already did) and rethrows the first
    /// error.
    static func inCachedTransaction<T>(_ kind: Database.TransactionKind, _ db: Database, _ body: (Database) throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN \(kind.rawValue) TRANSACTION").execute()
        do {
            let result = try body(db)
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return result
        } catch {
            try? db.rollback()
            throw error
        }
    }

    /// Write transactions through this connection so far (committed or not): what the
    /// coordinator read is still true while this has not moved (it holds the job lock, so no
    /// other process writes), which spares it a read per message (Coordinator.jobCounts).
    public private(set) var writes: UInt64 = 0

    /// A read: a DEFERRED transaction (one snapshot for all its statements) with writes
    /// refused (GRDB's `readOnly`, whose PRAGMAs it caches itself), as GRDB's `read` runs it but
    /// with the transaction's statements cached too (inCachedTransaction).
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try db.writeWithoutTransaction { db in try db.readOnly { try Self.inCachedTransaction(.deferred, db, body) } }
        } catch let error as DatabaseError { throw storeError(error) }
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
}

/// How a shard attempt ended (stored in attempts.outcome; the raw values never change).
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
