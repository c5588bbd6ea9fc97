import Foundation
import PointEMesh

/// Making a job directory from a prompt list (the job's inputs, stored once).
extension Coordinator {
    /// Creates a job directory from a prompt list (refusing one that already holds a job).
    @discardableResult
    public static func createJob(at directory: JobDirectory, prompts: [PromptEntry], seed: UInt64, shardSize: Int,
                                 retryBudget: Int, promptFile: String, meshFormats: [TriMesh.FileFormat] = [], meshGrid: Int = 128) throws -> JobStore.JobInfo {
        guard !directory.exists else { throw ClusterError("\(directory.path): already holds a job (resume it instead)") }
        guard shardSize > 0 else { throw ClusterError("shard size must be positive, got \(shardSize)") }
        guard retryBudget > 0 else { throw ClusterError("retry budget must be positive, got \(retryBudget)") }
        try directory.create()
        let fd = try directory.acquireLock()
        defer { close(fd) }
        let store = try JobStore(path: directory.store)
        let info = JobStore.JobInfo(jobID: UUID().uuidString.lowercased(), seed: seed, shardSize: shardSize,
                                    retryBudget: retryBudget, promptFile: promptFile, meshFormats: meshFormats, meshGrid: meshGrid)
        try store.create(info: info, prompts: prompts)
        return info
    }
}
