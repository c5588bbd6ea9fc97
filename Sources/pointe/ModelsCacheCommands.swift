import ArgumentParser
import Foundation
import PointECheckpoint
import PointEEngine
import PointEModels

/// Options shared by the cache commands.
struct CacheOptions: ParsableArguments {
    @Option(help: "Model cache directory (default: $POINTE_HOME, else $XDG_CACHE_HOME/pointe, else ~/.cache/pointe).")
    var cacheDir: String?

    var cache: ModelCache { ModelCache(directory: cacheDir ?? ModelCache.defaultDirectory()) }
}

struct ModelsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Released models and whether they are cached.")
    @OptionGroup var options: CacheOptions

    func run() {
        let cache = options.cache
        print("cache: \(cache.directory)")
        for file in ReleasedFiles.all {
            let cached = cache.cachedPath(for: file)
            let size = cached.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? NSNumber }
            let state = size.map { String(format: "cached %.1f MB", $0.doubleValue / 1e6) } ?? "not cached"
            print("\(file.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(state.padding(toLength: 18, withPad: " ", startingAt: 0)) \(file.url.absoluteString)")
        }
    }
}

struct ModelsDownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download", abstract: "Download released models into the cache (resumable; verified before use).")
    @OptionGroup var options: CacheOptions
    @Argument(help: "Model names (default: all). See `pointe models list`.") var names: [String] = []

    func run() throws {
        let cache = options.cache
        let files = try names.isEmpty ? ReleasedFiles.all : names.map { name in
            guard let file = ReleasedFiles.named(name) else {
                throw ValidationError("unknown model \"\(name)\"; known: \(ReleasedFiles.all.map(\.name).joined(separator: ", "))")
            }
            return file
        }
        for file in files {
            let bar = TerminalProgress(label: file.name, unit: .bytes)
            let path = try cache.fetch(file) { received, total in bar.update(done: Double(received), total: total.map(Double.init)) }
            bar.finish()
            print("\(file.name): \(path)")
        }
    }
}

struct ModelsVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every cached model: its published SHA-256 where there is one, and a strict load against its architecture.")
    @OptionGroup var options: CacheOptions

    func run() throws {
        let cache = options.cache
        var failures: [String] = []
        for file in ReleasedFiles.all {
            guard let path = cache.cachedPath(for: file) else { continue }
            do {
                if let expected = file.sha256 {
                    let actual = try SHA256.hexDigest(ofFile: path)
                    guard actual == expected else { throw EngineError("\(path): SHA-256 \(actual), published \(expected)") }
                }
                let detail = try ModelVerification.load(file, path: path)
                print("\(file.name): ok (\(detail))")
            } catch {
                print("\(file.name): FAILED \(error)")
                failures.append(file.name)
            }
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}
