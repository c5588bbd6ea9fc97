import Foundation
import PointEEngine

/// One line of `manifest.jsonl`: the single definition of the schema README.md documents
/// ("Job manifest"). Keys are written sorted; absent values are left out.
public struct ManifestLine: Codable, Equatable, Sendable {
    public static let schemaVersion = 1

    public struct File: Codable, Equatable, Sendable {
        public var path: String
        public var sha256: String
        public var bytes: Int
    }

    public struct Timings: Codable, Equatable, Sendable {
        public var sampleSeconds: Double
        public var meshSeconds: Double?
        enum CodingKeys: String, CodingKey {
            case sampleSeconds = "sample_seconds"
            case meshSeconds = "mesh_seconds"
        }
    }

    public var schema = ManifestLine.schemaVersion
    public var id: String
    public var index: Int
    public var status: String
    public var seed: UInt64
    public var settings: SamplingSettings
    public var shard: Int
    /// Exactly one of these: what the prompt was conditioned on.
    public var prompt: String?
    public var image: String?
    public var embedding: String?
    public var attempts: Int?
    /// Done prompts: the networks, the worker, the files by kind (cloud_ply, mesh_glb, ...), timings.
    public var models: [String]?
    public var worker: String?
    public var files: [String: File]?
    public var timings: Timings?
    /// Failed prompts: why.
    public var error: String?

    /// The line of a finished or failed prompt; nil while it is pending.
    public init?(_ prompt: JobStore.Prompt, outputs: [JobStore.Output]) {
        guard prompt.status == .done || prompt.status == .failed else { return nil }
        id = prompt.id
        index = prompt.index
        status = prompt.status.rawValue
        seed = prompt.seed
        settings = prompt.settings
        shard = prompt.shardID
        switch prompt.input {
        case .text(let text): self.prompt = text
        case .image(let path): image = path
        case .embedding(let path): embedding = path
        }
        attempts = prompt.attempt
        if prompt.status == .done {
            models = prompt.models
            worker = prompt.worker ?? ""
            files = Dictionary(outputs.map { ($0.kind, File(path: $0.path, sha256: $0.sha256, bytes: $0.bytes)) }, uniquingKeysWith: { _, last in last })
            timings = Timings(sampleSeconds: prompt.sampleSeconds ?? 0, meshSeconds: prompt.meshSeconds)
        } else {
            error = prompt.error ?? "failed"
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
