import GRDB

/// The store's tables, indexes and counting triggers, as GRDB migrations. A store records the
/// identifiers of the migrations it has run (grdb_migrations) and never runs one twice, so a
/// store made by older code holds exactly what these made: a migration's identifier and what
/// its SQL creates never change, and a new schema change is a new migration.
///
/// This is the only place where status values stand in SQL text (a column default or a
/// trigger cannot take bound arguments). They are interpolated from the status enums, which
/// spells the same SQL as the literals it was first written with.
extension JobStore {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE job (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE shards (
                    id INTEGER PRIMARY KEY,
                    status TEXT NOT NULL DEFAULT '\(ShardStatus.queued.rawValue)',
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
                    status TEXT NOT NULL DEFAULT '\(PromptStatus.pending.rawValue)',
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
        migrator.registerMigration("v5-remesh-sequence") { db in
            // A remeshed prompt's files change without it finishing again: it takes the next
            // number of the finish sequence here (JobStore.nextSequence counts both), so the
            // report rewrites the pages of prompts remeshed since its last refresh as it does
            // those of newly finished ones (JobReportPage), while finish_seq keeps the
            // manifest's order.
            try db.execute(sql: """
                ALTER TABLE prompts ADD COLUMN remesh_seq INTEGER;
                CREATE INDEX prompts_remeshed ON prompts(remesh_seq);
                """)
        }
        return migrator
    }

    /// The counter of done prompts waiting for a remesh (status_counts.status; Counts.add).
    static let remeshingKey = "remeshing"

    /// The counter a prompt row counts under (columns prefixed by `row`, e.g. "NEW."): its
    /// status, or `remeshing` for a done prompt waiting for a remesh (Counts.add).
    static func promptKey(_ row: String) -> String {
        "CASE WHEN \(row)status = '\(PromptStatus.done.rawValue)' AND \(row)remesh = \(RemeshState.waiting.rawValue) THEN '\(remeshingKey)' ELSE \(row)status END"
    }
}
