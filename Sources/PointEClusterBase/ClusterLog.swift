import Foundation
import Logging
import PointETensor

/// The daemons' log, through swift-log: each line carries the process role and structured
/// metadata (job id, shard ids, peer, event) besides its message. Lines go to standard error,
/// as text (`[role] warning: message {job=... shard=...}`) or, with `--log-format json` or
/// POINTE_LOG_FORMAT=json, as one JSON object per line for log collectors.
public struct ClusterLog: Sendable {
    public let role: String
    public var quiet: Bool
    private var logger: Logger

    public init(role: String, quiet: Bool = false) {
        self.role = role
        self.quiet = quiet
        logger = Logger(label: "pointe.\(role)") { label in StandardErrorLogHandler(label: label) }
        logger[metadataKey: "role"] = .string(role)
        logger.logLevel = .info
    }

    /// The same log with `metadata` on every line (e.g. the job id once it is known).
    public func with(_ metadata: [String: String]) -> ClusterLog {
        var copy = self
        for (key, value) in metadata { copy.logger[metadataKey: key] = .string(value) }
        return copy
    }

    public func info(_ message: String, metadata: [String: String] = [:]) {
        guard !quiet else { return }
        logger.info("\(message)", metadata: metadata.mapValues { .string($0) })
    }

    /// Warnings are written even when quiet.
    public func warning(_ message: String, metadata: [String: String] = [:]) {
        logger.warning("\(message)", metadata: metadata.mapValues { .string($0) })
    }

    public enum Format: String, Sendable { case text, json }

    /// The process-wide output format (set once at start by the command line).
    public static var format: Format {
        get { formatBox.withLock { $0 } }
        set { formatBox.withLock { $0 = newValue } }
    }

    private static let formatBox = Locked<Format>(
        Format(rawValue: ProcessInfo.processInfo.environment["POINTE_LOG_FORMAT"] ?? "") ?? .text)
}

/// Writes one line per record to standard error, in the process's `ClusterLog.format`.
struct StandardErrorLogHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let line: String
        switch ClusterLog.format {
        case .text:
            let role = all.removeValue(forKey: "role").map { "\($0)" } ?? label
            let level = event.level >= .warning ? "\(event.level): " : ""
            let details = all.isEmpty ? "" : " {" + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "}"
            line = "[\(role)] \(level)\(event.message)\(details)\n"
        case .json:
            var object: [String: String] = ["level": "\(event.level)", "message": "\(event.message)",
                                            "time": ISO8601DateFormatter().string(from: Date())]
            for (key, value) in all { object[key] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            line = String(decoding: data, as: UTF8.self) + "\n"
        }
        FileHandle.standardError.write(Data(line.utf8))
    }
}
