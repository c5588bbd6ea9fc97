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

    public static let schemaVersion = 1

    /// The line of one prompt (nil while it is pending).
    public func line(_ prompt: JobStore.Prompt) throws -> Data? {
        guard prompt.status == .done || prompt.status == .failed else { return nil }
        var object: [String: Any] = [
            "schema": Self.schemaVersion,
            "id": prompt.id,
            "index": prompt.index,
            "status": prompt.status.rawValue,
            "seed": NSNumber(value: prompt.seed),
            "settings": [
                "model": prompt.settings.model.rawValue, "upsample": prompt.settings.upsample, "steps": prompt.settings.steps,
                "guidance": prompt.settings.guidance, "sampler": prompt.settings.sampler.rawValue,
            ] as [String: Any],
            "shard": prompt.shardID,
        ]
        switch prompt.input {
        case .text(let text): object["prompt"] = text
        case .image(let path): object["image"] = path
        case .embedding(let path): object["embedding"] = path
        }
        if let attempt = prompt.attempt { object["attempts"] = attempt }
        if prompt.status == .done {
            object["models"] = prompt.models
            object["worker"] = prompt.worker ?? ""
            var files: [String: Any] = [:]
            for output in try store.outputs(promptID: prompt.id) {
                files[output.kind] = ["path": output.path, "sha256": output.sha256, "bytes": output.bytes] as [String: Any]
            }
            object["files"] = files
            var timings: [String: Any] = ["sample_seconds": prompt.sampleSeconds ?? 0]
            if let mesh = prompt.meshSeconds { timings["mesh_seconds"] = mesh }
            object["timings"] = timings
        } else {
            object["error"] = prompt.error ?? "failed"
        }
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// Rewrites manifest.jsonl from the store (finished prompts in the order they finished).
    public func rewrite() throws {
        let finished = try store.prompts(where: "status IN ('done', 'failed')").sorted { ($0.finishSequence ?? 0, $0.index) < ($1.finishSequence ?? 0, $1.index) }
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
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else {
            throw ClusterError("\(directory.manifestLines): append failed: \(String(cString: strerror(errno)))")
        }
    }

    /// manifest.json: the totals, the failures with their reasons, and where the lines are.
    public func writeSummary(elapsedSeconds: Double) throws {
        let info = try store.info()
        let counts = try store.counts()
        let failed = try store.prompts(where: "status = 'failed'")
        let object: [String: Any] = [
            "schema": Self.schemaVersion,
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
