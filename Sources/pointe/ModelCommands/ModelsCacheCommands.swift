import ArgumentParser
import Foundation
import PointECheckpoint
import PointEEngine
import PointEModels

/// Options shared by the models commands: the same `--models-dir` every command takes
/// (`--cache-dir` is kept as another name for it).
struct CacheOptions: ParsableArguments {
    @Option(name: [.customLong("models-dir"), .customLong("cache-dir")],
            help: "Models directory. Default: the model cache (\(ModelCache.defaultDescription)).")
    var modelsDir: String?

    var directory: String { modelsDir ?? ModelCache.defaultDirectory() }
    var cache: ModelCache { ModelCache(directory: directory) }
}

struct ModelsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Released models and which of them the models directory holds (in either file form).")
    @OptionGroup var options: CacheOptions

    func run() {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            print("models directory: \(options.directory) (does not exist: \(ModelDirectory.howToGet("NAME")))")
            return
        }
        print("models directory: \(options.directory)")
        let rows = [["MODEL", "SIZE", "WEIGHTS", "FILES", "RELEASED AT"]] + ModelInventory(ModelDirectory(options.directory)).entries.map { entry in
            [entry.file.name, entry.files.isEmpty ? "-" : String(format: "%.1f MB", Double(entry.bytes) / 1e6), entry.origin,
             entry.files.isEmpty ? "-" : entry.files.map { ($0 as NSString).lastPathComponent }.joined(separator: " + "), entry.file.url.absoluteString]
        }
        // Columns as wide as their longest value: names are never cut.
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max()! }
        for row in rows {
            print(zip(row, widths).dropLast().map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + row.last!)
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
                throw CommandFailure("unknown model \"\(name)\"; known: \(ReleasedFiles.all.map(\.name).joined(separator: ", "))")
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
        abstract: "Check every model the directory holds: its published SHA-256 where there is one, and a strict load. Exits 1 on any failure or when there is nothing to check.")
    @OptionGroup var options: CacheOptions

    func run() throws {
        let inventory = ModelInventory(ModelDirectory(options.directory))
        let present = inventory.entries.filter { !$0.files.isEmpty }
        guard !present.isEmpty else {
            printError("nothing to verify: \(options.directory) holds none of the released models (\(ModelDirectory.howToGet("NAME")))")
            throw ExitCode(1)
        }
        var failures: [String] = []
        for entry in present {
            do { print("\(entry.file.name): ok (\(try inventory.verify(entry)))") } catch {
                print("\(entry.file.name): FAILED \(error)")
                failures.append(entry.file.name)
            }
        }
        if !failures.isEmpty {
            printError("verify failed for: \(failures.joined(separator: ", "))")
            throw ExitCode(1)
        }
    }
}
