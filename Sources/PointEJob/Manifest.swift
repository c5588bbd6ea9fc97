import Foundation
import PointEEngine
import PointECheckpoint
import PointEClusterBase
import PointETensor

/// The job's manifest: `manifest.jsonl` gets one JSON object per finished or failed prompt
/// (schema in docs/JOBS.md), `manifest.json` the totals at the end. The store is
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
        try line(prompt, outputs: store.outputs(promptID: prompt.id))
    }

    func line(_ prompt: JobStore.Prompt, outputs: [JobStore.Output]) throws -> Data? {
        guard let line = ManifestLine(prompt, outputs: outputs) else { return nil }
        var data = try ManifestLine.encoder.encode(line)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// Prompts per chunk of a rewrite: memory stays bounded whatever the job's size.
    static let rewriteChunk = 2000

    /// Rewrites manifest.jsonl from the store (finished prompts in the order they finished),
    /// streamed chunk by chunk into the atomic file: a job of any size costs one pass over its
    /// finished prompts and a chunk's worth of memory. Returns the number of lines.
    @discardableResult
    public func rewrite() throws -> Int {
        var lines = 0
        try AtomicFile.write(to: directory.manifestLines) { append in
            var position: (sequence: Int?, index: Int)?
            while true {
                let chunk = try store.finishedPrompts(after: position, limit: Self.rewriteChunk)
                guard let last = chunk.last else { break }
                position = (last.finishSequence, last.index)
                let outputs = try store.outputs(promptIDs: chunk.map(\.id))
                var data = Data()
                for prompt in chunk {
                    if let line = try line(prompt, outputs: outputs[prompt.id] ?? []) {
                        data.append(line)
                        lines += 1
                    }
                }
                try data.withUnsafeBytes { try append($0) }
            }
        }
        return lines
    }

    /// Appends one prompt's line (see the next).
    public func append(_ prompt: JobStore.Prompt) throws {
        try append(prompt, outputs: store.outputs(promptID: prompt.id))
    }

    /// The same with the prompt's outputs in hand (a result just written need not be read back).
    /// The line is written whole or not at all, but not fsync'd: manifest.jsonl is a view of the
    /// store, rewritten from it whenever a coordinator starts (`rewrite`), so after a power
    /// loss its lines are the store's whatever reached the disk, and a line synced before the
    /// store's own commit (WAL, synchronous=NORMAL) is durable promises nothing more. The
    /// output files themselves are fsync'd before they are recorded; the finished job's lines
    /// are synced once, with its summary (`writeSummary`). The per-line fsync was a tenth of
    /// the coordinator's CPU per result (docs/COORDINATOR-SCALE.md).
    public func append(_ prompt: JobStore.Prompt, outputs: [JobStore.Output]) throws {
        guard let line = try line(prompt, outputs: outputs) else { return }
        let fd = open(directory.manifestLines, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw linesError("cannot open") }
        defer { close(fd) }
        var before = stat()
        guard fstat(fd, &before) == 0 else { throw linesError("cannot stat") }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            let code = written < 0 ? errno : ENOSPC
            // A short write (a full disk) must not leave half a line: cut back to the last whole one.
            _ = ftruncate(fd, before.st_size)
            throw linesError("append failed", code: code)
        }
    }

    /// manifest.json: the totals, the failures with their reasons, and where the lines are;
    /// manifest.jsonl is synced first, so a finished job's lines are on disk before its summary.
    public func writeSummary(elapsedSeconds: Double) throws {
        try syncLines()
        let info = try store.info()
        let counts = try store.counts()
        let failed = try store.prompts(status: [.failed])
        let object: [String: Any] = [
            "schema": ManifestLine.schemaVersion,
            "job_id": info.jobID,
            "prompt_file": info.promptFile,
            "seed": ManifestSeed(info.seed).description,
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

    /// A failed system call on manifest.jsonl, named with the file and the system's reason.
    private func linesError(_ what: String, code: Int32 = errno) -> ClusterError {
        ClusterError("\(directory.manifestLines): \(what): \(systemErrorText(code))")
    }

    /// fsync of manifest.jsonl (if it exists).
    func syncLines() throws {
        let fd = open(directory.manifestLines, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return }
            throw linesError("cannot open")
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw linesError("fsync failed") }
    }
}
