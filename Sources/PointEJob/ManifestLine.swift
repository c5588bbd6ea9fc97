import Foundation
import PointEEngine

/// One line of `manifest.jsonl`: the single definition of the schema docs/JOBS.md documents
/// (`manifest.jsonl`). Keys are written sorted; absent values are left out.
public struct ManifestLine: Codable, Equatable, Sendable {
    /// 2: seeds are decimal strings (ManifestSeed); 1 wrote them as JSON numbers.
    public static let schemaVersion = 2

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
    public var seed: ManifestSeed
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
        seed = ManifestSeed(prompt.seed)
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

/// A seed as the manifest writes it: a decimal string. Seeds use all 64 bits (PromptSeed), and
/// a JSON number above 2^53 comes out of every reader that parses numbers as doubles
/// (JavaScript, jq 1.6, Python's json with parse_int=float) rounded to another seed, which
/// samples another cloud; a string reaches every reader as written, and `pointe generate
/// --seed` and a prompt file's "seed" take it back. Reads a number too (schema 1 lines).
public struct ManifestSeed: Codable, Equatable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String { String(value) }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(value))
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = UInt64(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "seed \"\(text)\" is not a decimal integer of 0 to 2^64-1")
            }
            self.value = value
        } else {
            value = try container.decode(UInt64.self)
        }
    }
}
