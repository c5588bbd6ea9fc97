import Foundation
import PointEEngine
import PointEJob

/// Where a job's local workers and meshers load their models from. A job records the models
/// directory it ran with (absolute, so the job can be resumed from any working directory):
/// `pointe run -o DIR` and `pointe remesh DIR` use it when --models-dir is not given, a
/// --models-dir given wins and is recorded in its place, and a job that never recorded one
/// (made by older pointe, or by `pointe coordinator`) uses the model cache.
struct JobModels: Equatable {
    enum Source: Equatable { case option, recorded, cache }
    let path: String
    let source: Source

    /// The directory for a job that recorded `recorded` (nil: none, or no job yet), given `option`.
    static func resolve(option: String?, recorded: String?) -> JobModels {
        if let option { return JobModels(path: absolute(option), source: .option) }
        if let recorded { return JobModels(path: recorded, source: .recorded) }
        return JobModels(path: absolute(ModelCache.defaultDirectory()), source: .cache)
    }

    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    var isDirectory: Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }

    /// Fails, naming it, when the directory the job recorded is gone (moved, deleted, or this
    /// is another machine): the loaders' missing-file errors would blame each file instead.
    func checkPresent(job: String) throws {
        guard source == .recorded, !isDirectory else { return }
        throw CommandFailure("\(job) was run with the models in \(path), which is not there any more (moved or deleted?): "
                             + "pass --models-dir DIR with the models; the job then remembers DIR")
    }

    /// Makes this the job's models directory (one that exists: a mistyped --models-dir on a
    /// job with nothing left to do must not replace a good record). Returns what to tell the
    /// user when a --models-dir given replaced another directory.
    func record(in store: JobStore, recorded: String?) throws -> String? {
        guard path != recorded, isDirectory else { return nil }
        try store.recordModelsDirectory(path)
        guard let recorded, source == .option else { return nil }
        return "using --models-dir \(path); the job was run with \(recorded) before and now remembers \(path)"
    }
}
