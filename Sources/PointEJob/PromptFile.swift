import Foundation
import PointEDiffusion
import PointEEngine
import PointEModels
import PointEClusterBase

/// What a prompt is conditioned on. Image and embedding paths are resolved against the prompt
/// file's directory and read when the prompt is handed out.
public enum PromptInput: Equatable, Sendable {
    case text(String)
    case image(path: String)
    case embedding(path: String)

    public var kind: String {
        switch self { case .text: "text"; case .image: "image"; case .embedding: "embedding" }
    }
    public var value: String {
        switch self { case .text(let t): t; case .image(let p): p; case .embedding(let p): p }
    }
    /// What the engine is given for it: the text, or the file's bytes (an image or embedding
    /// file that cannot be read throws, naming it).
    public func engineInput() throws -> PointEEngine.Input {
        switch self {
        case .text(let text): return .text(text)
        case .image(let path), .embedding(let path):
            guard let bytes = FileManager.default.contents(atPath: path) else { throw ClusterError("cannot read \(path)") }
            if case .image = self { return .image(bytes) }
            return .embedding(bytes)
        }
    }

    /// Text or image (nil: an embedding).
    public var promptKind: PromptKind? {
        switch self { case .text: .text; case .image: .image; case .embedding: nil }
    }

    public init?(kind: String, value: String) {
        switch kind {
        case "text": self = .text(value)
        case "image": self = .image(path: value)
        case "embedding": self = .embedding(path: value)
        default: return nil
        }
    }
}

public struct PromptEntry: Equatable, Sendable {
    public var id: String
    public var input: PromptInput
    /// An explicit seed from the file; otherwise derived from the job seed and the prompt index.
    public var seed: UInt64?
    public var settings: SamplingSettings
    public var line: Int

    public init(id: String, input: PromptInput, seed: UInt64?, settings: SamplingSettings, line: Int) {
        self.id = id
        self.input = input
        self.seed = seed
        self.settings = settings
        self.line = line
    }
}

/// One problem of a prompt file, with its 1-based line number.
public struct PromptIssue: Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// Reads prompt lists: plain text (one prompt a line) or JSON Lines (`prompt` or `image` or
/// `embedding`, optional `id`, `seed` and settings). The format is JSON Lines when the file
/// ends in `.jsonl` or its first non-empty line starts with `{`.
public struct PromptFile {
    public enum Policy: String, Codable, CaseIterable, Sendable { case stop, skip }

    public var maxLineBytes = 16 * 1024
    public var policy: Policy = .stop
    /// Checks each parsed prompt further (its model takes its kind, its image decodes...); what
    /// it throws makes the line a bad line, under the same policy as a parse error.
    public var check: (@Sendable (PromptEntry) throws -> Void)?

    public init(maxLineBytes: Int = 16 * 1024, policy: Policy = .stop, check: (@Sendable (PromptEntry) throws -> Void)? = nil) {
        self.maxLineBytes = maxLineBytes
        self.policy = policy
        self.check = check
    }

    /// The reader a job's settings describe.
    public init(settings: JobSettings, check: (@Sendable (PromptEntry) throws -> Void)? = nil) {
        self.init(maxLineBytes: settings.maxLineBytes, policy: settings.badLines, check: check)
    }

    /// The prompts and the lines skipped. With `.stop`, any issue throws an error that lists
    /// every bad line (empty lines are always skipped with a note).
    public func read(_ path: String, defaults: PromptDefaults) throws -> (prompts: [PromptEntry], issues: [PromptIssue]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClusterError("\(path): cannot read the prompt file")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(data, source: path, baseDirectory: directory, defaults: defaults)
    }

    public func parse(_ data: Data, source: String, baseDirectory: String, defaults: PromptDefaults) throws -> (prompts: [PromptEntry], issues: [PromptIssue]) {
        // A BOM is file encoding, not the first prompt's text (nor does it hide a JSON `{`).
        let data = data.starts(with: PromptCharacters.utf8BOM) ? data.dropFirst(PromptCharacters.utf8BOM.count) : data
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { Data($0) }
        if lines.last?.isEmpty == true { lines.removeLast() }  // the final newline
        var isJSON = source.hasSuffix(".jsonl")
        if !isJSON, let first = lines.first(where: { !$0.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 } }) {
            isJSON = first.drop(while: { $0 == 32 || $0 == 9 }).first == UInt8(ascii: "{")
        }
        var prompts: [PromptEntry] = []
        var issues: [PromptIssue] = []
        var emptyLines: [PromptIssue] = []
        var seenIDs: [String: Int] = [:]
        for (offset, raw) in lines.enumerated() {
            let number = offset + 1
            var bytes = raw
            if bytes.last == 13 { bytes.removeLast() }  // CRLF files
            if bytes.count > maxLineBytes {
                issues.append(PromptIssue(line: number, message: "line is \(bytes.count) bytes long (limit \(maxLineBytes))"))
                continue
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                issues.append(PromptIssue(line: number, message: "not valid UTF-8"))
                continue
            }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty {
                emptyLines.append(PromptIssue(line: number, message: "empty line skipped"))
                continue
            }
            do {
                var entry = isJSON
                    ? try parseJSON(trimmed, line: number, baseDirectory: baseDirectory, defaults: defaults)
                    : PromptEntry(id: "", input: .text(trimmed), seed: nil, settings: defaults.settings(for: .text), line: number)
                if let problem = PromptCharacters.problem(in: entry.input.value, what: entry.input.kind == "text" ? "prompt" : "\(entry.input.kind) path") {
                    throw ClusterError(problem)
                }
                do { try check?(entry) } catch let error as ClusterError { throw error } catch { throw ClusterError("\(error)") }
                if entry.id.isEmpty { entry.id = String(format: "p%05d", prompts.count) }
                if let previous = seenIDs[entry.id] {
                    throw ClusterError("id \"\(entry.id)\" was already used on line \(previous)")
                }
                seenIDs[entry.id] = number
                prompts.append(entry)
            } catch let error as ClusterError {
                issues.append(PromptIssue(line: number, message: error.message))
            }
        }
        if policy == .stop, !issues.isEmpty {
            throw ClusterError("\(source): \(issues.count) bad line(s) (use --bad-lines skip to skip them):\n  "
                               + issues.map(\.description).joined(separator: "\n  "))
        }
        if prompts.isEmpty {
            throw ClusterError("\(source): no prompts" + (issues.isEmpty ? "" : " (\(issues.count) bad lines)"))
        }
        return (prompts, (issues + emptyLines).sorted { $0.line < $1.line })
    }

    /// JSON true/false: Foundation hands them out as NSNumber too, and on Linux `NSNumber(1) is
    /// Bool` holds, so booleans are told apart by their encoding ("c").
    static func isBool(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return value is Bool }
        return String(cString: number.objCType) == "c"
    }

    private static let knownKeys: Set<String> = ["prompt", "image", "embedding", "id", "seed", "model", "upsample", "steps", "upsample_steps", "guidance", "sampler"]

    func parseJSON(_ text: String, line: Int, baseDirectory: String, defaults: PromptDefaults) throws -> PromptEntry {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw ClusterError("expected a JSON object")
            }
            object = parsed
        } catch let error as ClusterError { throw error } catch {
            throw ClusterError("invalid JSON (\((error as NSError).localizedDescription))")
        }
        if let unknown = object.keys.filter({ !Self.knownKeys.contains($0) }).sorted().first {
            throw ClusterError("unknown key \"\(unknown)\" (known: \(Self.knownKeys.sorted().joined(separator: ", ")))")
        }
        let inputs = ["prompt", "image", "embedding"].filter { object[$0] != nil }
        guard inputs.count == 1 else {
            throw ClusterError(inputs.isEmpty ? "needs one of \"prompt\", \"image\" or \"embedding\"" : "has both \"\(inputs[0])\" and \"\(inputs[1])\"")
        }
        guard let value = object[inputs[0]] as? String, !value.isEmpty else { throw ClusterError("\"\(inputs[0])\" must be a non-empty string") }
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : (baseDirectory as NSString).appendingPathComponent(p) }
        let input: PromptInput = switch inputs[0] {
        case "prompt": .text(value)
        case "image": .image(path: resolve(value))
        default: .embedding(path: resolve(value))
        }
        var id = ""
        if let raw = object["id"] {
            if let s = raw as? String, !s.isEmpty { id = s } else if let n = raw as? NSNumber, !Self.isBool(raw) { id = n.stringValue } else {
                throw ClusterError("\"id\" must be a non-empty string or a number")
            }
            guard id.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !id.hasPrefix(".") else {
                throw ClusterError("id \"\(id)\" may only use letters, digits, - _ . (it names output files)")
            }
        }
        var seed: UInt64?
        if let raw = object["seed"] {
            // A decimal string as the manifest writes seeds (ManifestSeed), or a number.
            if let text = raw as? String {
                guard let s = UInt64(text) else { throw ClusterError("\"seed\" \"\(text)\" is not a decimal integer of 0 to 2^64-1") }
                seed = s
            } else {
                guard let n = raw as? NSNumber, !Self.isBool(raw), n.doubleValue >= 0, n.doubleValue == n.doubleValue.rounded(), let s = UInt64(n.stringValue) ?? UInt64(exactly: n.doubleValue) else {
                    throw ClusterError("\"seed\" must be a non-negative integer (or one as a decimal string)")
                }
                seed = s
            }
        }
        var settings = defaults.settings(for: input.promptKind)
        if let m = object["model"] {
            guard let s = m as? String else { throw ClusterError("\"model\" must be a string") }
            do { settings.model = try ReleasedModel.parse(s, baseOnly: true) } catch { throw ClusterError("\"model\": \(error)") }
        }
        if let u = object["upsample"] { guard Self.isBool(u), let b = u as? Bool else { throw ClusterError("\"upsample\" must be true or false") }; settings.upsample = b }
        // Step counts: positive integers here; their upper bound is SamplingSettings.validate's.
        func stepCount(_ key: String) throws -> Int? {
            guard let s = object[key] else { return nil }
            guard let n = s as? Int, !Self.isBool(s), n > 0 else { throw ClusterError("\"\(key)\" must be a positive integer") }
            return n
        }
        if let n = try stepCount("steps") { settings.steps = n }
        if let n = try stepCount("upsample_steps") { settings.upsampleSteps = n }
        if let g = object["guidance"] { guard let d = g as? Double, !Self.isBool(g) else { throw ClusterError("\"guidance\" must be a number") }; settings.guidance = d }
        if let s = object["sampler"] {
            guard let t = s as? String else { throw ClusterError("\"sampler\" must be a string") }
            do { settings.sampler = try SamplerKind.parse(t) } catch { throw ClusterError("\"sampler\": \(error)") }
        }
        return PromptEntry(id: id, input: input, seed: seed, settings: settings, line: line)
    }
}

/// Per-prompt seeds: a SplitMix64 mix of (job seed, prompt index), so a prompt's seed (and so
/// its cloud) depends on neither shard size nor worker count.
public enum PromptSeed {
    public static func derive(jobSeed: UInt64, index: Int) -> UInt64 {
        mix(jobSeed ^ mix(UInt64(index) &+ 0x9E37_79B9_7F4A_7C15))
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
