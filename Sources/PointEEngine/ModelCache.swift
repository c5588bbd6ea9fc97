import Foundation
import PointECheckpoint
import PointETensor

/// The host's model cache: one directory shared by every pointe process of a machine.
///
/// A file is either absent, being downloaded (`NAME.partial`, under the lock `NAME.lock`), or
/// complete and verified (`NAME`): it is renamed into place only after its size and, where
/// published, its SHA-256 check out, so a reader never sees half a checkpoint.
public struct ModelCache: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// Where the cache is, in words, for help texts (the rule of `defaultDirectory`).
    public static let defaultDescription = "$POINTE_HOME, else $XDG_CACHE_HOME/pointe, else ~/.cache/pointe"

    /// `POINTE_HOME`, else `$XDG_CACHE_HOME/pointe`, else `~/.cache/pointe`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["POINTE_HOME"], !home.isEmpty { return home }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return (xdg as NSString).appendingPathComponent("pointe") }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".cache/pointe")
    }

    public func path(for file: ReleasedFile) -> String { (directory as NSString).appendingPathComponent(file.fileName) }

    /// The cached file, if it is complete.
    public func cachedPath(for file: ReleasedFile) -> String? {
        let path = path(for: file)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The message for a model that is needed but not here and cannot be fetched (offline).
    public func missingMessage(for file: ReleasedFile) -> String {
        "model \(file.name) is not in the cache \(directory). Fetch \(file.url.absoluteString) by hand and save it as "
            + "\(path(for: file))"
            + (file.sha256.map { " (SHA-256 \($0))" } ?? "")
            + ", run `pointe models download \(file.name)` on a machine with internet access, or pass --models-dir DIR "
            + "pointing at a directory that holds \(file.fileName)."
    }

    /// Returns the cached file, downloading it first if needed. Concurrent callers (threads or
    /// processes) serialise on the file's lock; whoever comes second finds it done.
    public func fetch(_ file: ReleasedFile, downloader: HTTPDownloader = HTTPDownloader(),
                      progress: @escaping @Sendable (Int64, Int64?) -> Void = { _, _ in }) throws -> String {
        if let done = cachedPath(for: file) { return done }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw EngineError("cannot create the model cache \(directory): \(error.localizedDescription)")
        }
        let target = path(for: file)
        let lock = try FileLock(path: target + ".lock")
        defer { lock.unlock() }
        if let done = cachedPath(for: file) { return done }

        let partial = target + ".partial"
        try downloader.fetch(file.url, into: partial, progress: progress)
        if let expected = file.sha256 {
            let actual = try SHA256.hexDigest(ofFile: partial)
            guard actual == expected else {
                // A corrupt partial must not be resumed: start from nothing next time.
                try? FileManager.default.removeItem(atPath: partial)
                throw EngineError("download of \(file.url.absoluteString) has SHA-256 \(actual), expected \(expected); "
                    + "the file was discarded")
            }
        }
        guard rename(partial, target) == 0 else {
            throw EngineError("cannot move \(partial) to \(target): \(systemErrorText())")
        }
        return target
    }
}
