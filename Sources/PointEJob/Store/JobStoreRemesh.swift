import Foundation
import GRDB
import PointEMesh

/// `pointe remesh`: a finished job's stored clouds meshed again with other mesh settings,
/// without sampling. Each done prompt waits (prompts.remesh) until its new meshes are recorded,
/// which replaces its mesh outputs in one transaction; until then its old meshes and manifest
/// line stand; a recorded remesh (or one given up) takes the next sequence number (remesh_seq),
/// so the report rewrites that prompt's page. Each remesh is a new mesh generation (job key `mesh_generation`), whose files
/// have their own names (JobDirectory.meshPath), so no new file ever overwrites an old one
/// that the store and the manifest still name.
extension JobStore {
    /// prompts.remesh.
    enum RemeshState: Int { case none = 0, waiting = 1, gaveUp = 2 }

    /// The job's mesh generation: 0 until its first remesh.
    public func meshGeneration() throws -> Int {
        try read { try Self.meshGeneration($0) }
    }

    /// Asked for as each mesh's files are named, so the query is cached.
    static func meshGeneration(_ db: Database) throws -> Int {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM job WHERE key = 'mesh_generation'")).flatMap { Int($0) } ?? 0
    }

    /// Starts a new mesh generation with `formats` at `grid`: the job's mesh settings become
    /// these, and every done prompt waits for new meshes (a fresh meshing budget each).
    /// Returns the generation and how many prompts wait.
    public func startRemesh(formats: [TriMesh.FileFormat], grid: Int) throws -> (generation: Int, prompts: Int) {
        var info = try info()
        info.settings.meshFormats = formats
        info.settings.meshGrid = grid
        return try write { db in
            let generation = try Self.meshGeneration(db) + 1
            var keys = [("mesh_formats", formats.map(\.rawValue).joined(separator: ",")), ("mesh_grid", String(grid)),
                        ("mesh_generation", String(generation))]
            // Jobs made before the settings were stored whole keep only the single keys.
            if info.settingsRecorded { keys.append(("settings", String(decoding: try Self.encoder.encode(info.settings), as: UTF8.self))) }
            for (key, value) in keys {
                try db.execute(sql: "INSERT OR REPLACE INTO job (key, value) VALUES (?, ?)", arguments: [key, value])
            }
            try db.execute(sql: "UPDATE prompts SET remesh = ?, mesh_attempts = 0, error = NULL WHERE status = ?",
                           arguments: [RemeshState.waiting.rawValue, PromptStatus.done.rawValue])
            return (generation, db.changesCount)
        }
    }

    /// Done prompts waiting for their new meshes, in prompt order.
    public func promptsAwaitingRemesh(limit: Int? = nil) throws -> [Prompt] {
        try prompts(matching: "status = ? AND remesh = ?", [PromptStatus.done.rawValue, RemeshState.waiting.rawValue], limit: limit)
    }

    /// Prompts whose meshes are those of remesh `generation` (their files are named for it, see
    /// JobDirectory.meshPath), however many runs the remesh took.
    public func promptsMeshed(generation: Int) throws -> Int {
        let pattern = JobDirectory.meshPath(promptID: "%", format: "%", generation: generation)
        return try read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT prompt_id) FROM outputs WHERE kind LIKE 'mesh\\_%' ESCAPE '\\' AND path LIKE ?",
                             arguments: [pattern]) ?? 0
        }
    }

    /// Done prompts whose remesh failed past the budget: they keep their previous meshes.
    public func promptsThatKeptOldMeshes() throws -> [Prompt] {
        try prompts(matching: "status = ? AND remesh = ?", [PromptStatus.done.rawValue, RemeshState.gaveUp.rawValue])
    }

    /// Records a remeshed prompt's new mesh files in one transaction: its mesh outputs become
    /// exactly these and it no longer waits. Returns the mesh outputs this replaced (their files
    /// may go once the manifest names the new ones); nil if the prompt was not waiting.
    public func recordRemesh(promptID: String, outputs: [Output], meshSeconds: Double) throws -> [Output]? {
        try write { db in
            guard try Self.remeshState(ofPrompt: promptID, db) == .waiting else { return nil }
            let replaced = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM outputs WHERE prompt_id = ? AND kind LIKE 'mesh\\_%' ESCAPE '\\'"),
                                            arguments: [promptID]).map(Output.init)
            try db.cachedStatement(sql: "DELETE FROM outputs WHERE prompt_id = ? AND kind LIKE 'mesh\\_%' ESCAPE '\\'").execute(arguments: [promptID])
            let insert = try db.cachedStatement(sql: "INSERT INTO outputs (prompt_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?)")
            for output in outputs {
                try insert.execute(arguments: [promptID, output.kind, output.path, output.sha256, output.bytes])
            }
            try db.cachedStatement(sql: "UPDATE prompts SET remesh = ?, mesh_seconds = ?, remesh_seq = ? WHERE id = ?")
                .execute(arguments: [RemeshState.none.rawValue, meshSeconds, try Self.nextSequence(db), promptID])
            return replaced
        }
    }

    /// A failed remesh attempt: nil if the prompt was not waiting for a remesh, else whether it
    /// gave up now (after `budget` attempts; it keeps its old meshes).
    public func recordRemeshFailure(promptID: String, error: String, budget: Int) throws -> Bool? {
        try write { db in
            guard try Self.remeshState(ofPrompt: promptID, db) == .waiting else { return nil }
            try db.cachedStatement(sql: "UPDATE prompts SET mesh_attempts = mesh_attempts + 1 WHERE id = ?").execute(arguments: [promptID])
            let attempts = try Self.meshAttempts(ofPrompt: promptID, db)
            guard attempts >= budget else { return false }
            // A done prompt's error shows in no manifest line: it is kept for `pointe remesh`'s report.
            try db.cachedStatement(sql: "UPDATE prompts SET remesh = ?, error = ?, remesh_seq = ? WHERE id = ?")
                .execute(arguments: [RemeshState.gaveUp.rawValue, "remeshing failed after \(attempts) attempts: \(error)", try Self.nextSequence(db), promptID])
            return true
        }
    }

    /// prompts.remesh of a done prompt; nil for a prompt that is not done (or no such prompt).
    static func remeshState(ofPrompt id: String, _ db: Database) throws -> RemeshState? {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT remesh FROM prompts WHERE id = ? AND status = ?"), arguments: [id, PromptStatus.done.rawValue])
            .flatMap(RemeshState.init(rawValue:))
    }

    /// Every path the store names (what a job directory must keep).
    public func outputPaths() throws -> Set<String> {
        try read { Set(try String.fetchAll($0, sql: "SELECT path FROM outputs")) }
    }
}
