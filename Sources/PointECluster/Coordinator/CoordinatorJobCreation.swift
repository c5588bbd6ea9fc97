import Foundation
import PointEMesh
import PointEClusterBase
import PointEJob

/// Making a job directory from a prompt list (the job's inputs, stored once).
extension Coordinator {
    /// Creates a job directory from a prompt list (refusing one that already holds a job). The
    /// directory appears only here, after every check the caller made has passed.
    @discardableResult
    public static func createJob(at directory: JobDirectory, prompts: [PromptEntry], settings: JobSettings, promptFile: String) throws -> JobStore.JobInfo {
        guard !directory.exists else { throw ClusterError("\(directory.path): already holds a job (resume it instead)") }
        try settings.validate()
        try directory.create()
        let fd = try directory.acquireLock()
        defer { close(fd) }
        let store = try JobStore(path: directory.store)
        let info = JobStore.JobInfo(jobID: UUID().uuidString.lowercased(), promptFile: promptFile, settings: settings)
        try store.create(info: info, prompts: prompts)
        return info
    }

    /// The same, from the settings tests and benchmarks vary.
    @discardableResult
    public static func createJob(at directory: JobDirectory, prompts: [PromptEntry], seed: UInt64, shardSize: Int,
                                 retryBudget: Int, promptFile: String, meshFormats: [TriMesh.FileFormat] = [], meshGrid: Int = 128) throws -> JobStore.JobInfo {
        var settings = JobSettings()
        settings.seed = seed
        settings.shardSize = shardSize
        settings.retryBudget = retryBudget
        settings.meshFormats = meshFormats
        settings.meshGrid = meshGrid
        return try createJob(at: directory, prompts: prompts, settings: settings, promptFile: promptFile)
    }
}
