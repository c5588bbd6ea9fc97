import Foundation
import PointEEngine
import PointECheckpoint

/// The job's manifest: `manifest.jsonl` gets one JSON object per finished or failed prompt
/// (schema in README.md, "Job manifest"), `manifest.json` the totals at the end. The store is
/// the source of truth: on start the coordinator rewrites manifest.jsonl from it, so a crash
/// between storing a result and appending its line never loses or doubles a line.
public struct Manifest {
    public let directory: JobDirectory
    public let store: JobStore

    public init(directory: JobDirectory, store: JobStore) {
        self.directory = directory
        self.store = store
    }

    /// The line of one prompt (nil while it is pending).
    public func line(_ prompt: JobStore.Prompt) throws -> Data? {
        guard let line = try ManifestLine(prompt, outputs: store.outputs(promptID: prompt.id)) else { return nil }
        var data = try ManifestLine.encoder.encode(line)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// Rewrites manifest.jsonl from the store (finished prompts in the order they finished).
    public func rewrite() throws {
        let finished = try store.prompts(status: [.done, .failed]).sorted { ($0.finishSequence ?? 0, $0.index) < ($1.finishSequence ?? 0, $1.index) }
        var data = Data()
        for prompt in finished { if let line = try line(prompt) { data.append(line) } }
        try AtomicFile.write(data, to: directory.manifestLines)
    }

    /// Appends one prompt's line durably (write + fsync).
    public func append(_ prompt: JobStore.Prompt) throws {
        guard let line = try line(prompt) else { return }
        let fd = open(directory.manifestLines, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw ClusterError("\(directory.manifestLines): cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var before = stat()
        guard fstat(fd, &before) == 0 else { throw ClusterError("\(directory.manifestLines): cannot stat: \(String(cString: strerror(errno)))") }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else {
            let reason = String(cString: strerror(written < 0 || written == line.count ? errno : ENOSPC))
            // A short write (a full disk) must not leave half a line: cut back to the last whole one.
            _ = ftruncate(fd, before.st_size)
            throw ClusterError("\(directory.manifestLines): append failed: \(reason)")
        }
    }

    /// manifest.json: the totals, the failures with their reasons, and where the lines are.
    public func writeSummary(elapsedSeconds: Double) throws {
        let info = try store.info()
        let counts = try store.counts()
        let failed = try store.prompts(status: [.failed])
        let object: [String: Any] = [
            "schema": ManifestLine.schemaVersion,
            "job_id": info.jobID,
            "prompt_file": info.promptFile,
            "seed": NSNumber(value: info.seed),
            "shard_size": info.shardSize,
            "retry_budget": info.retryBudget,
            "prompts": counts.total,
            "done": counts.done,
            "failed": counts.failed,
            "pending": counts.pending,
            "failures": failed.map { ["id": $0.id, "error": $0.error ?? "failed"] },
            "lines": "manifest.jsonl",
            "elapsed_seconds": elapsedSeconds,
            "finished_at": ISO8601DateFormatter().string(from: Date()),
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        try AtomicFile.write(data, to: directory.manifest)
    }
}
