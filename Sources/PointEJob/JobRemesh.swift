import Foundation
import PointEMesh
import PointEClusterBase

/// `pointe remesh JOBDIR`: what a remesh will do, decided under the job directory's lock (no
/// coordinator may run on the job meanwhile). The meshing itself is the coordinator's own
/// (CoordinatorMeshing: done prompts awaiting a remesh are handed to meshers like new clouds).
public enum JobRemesh {
    public struct Plan: Equatable, Sendable {
        public var generation: Int
        /// Prompts waiting for their new meshes.
        public var prompts: Int
        /// An interrupted remesh with the same settings, continued (else a new generation).
        public var resumed: Bool
        public var formats: [TriMesh.FileFormat]
        public var grid: Int
    }

    /// The remesh of the job in `directory` with `formats` and `grid` (nil: the job's own).
    /// A remesh stopped before it finished, asked for again with the same settings, resumes:
    /// the prompts already remeshed are kept. Otherwise every done prompt waits for new meshes.
    /// Refused when the job has prompts still to sample (a remesh samples nothing).
    public static func prepare(_ directory: JobDirectory, formats: [TriMesh.FileFormat]?, grid: Int?) throws -> Plan {
        guard directory.exists else { throw ClusterError("\(directory.path) holds no job (no job.sqlite)") }
        let lock = try directory.acquireLock()
        defer { close(lock) }
        let store = try JobStore(path: directory.store)
        let info = try store.info()
        let formats = formats ?? info.meshFormats
        let grid = grid ?? info.meshGrid
        guard !formats.isEmpty else { throw ClusterError("a remesh needs mesh formats (\(TriMesh.FileFormat.allCases.map(\.rawValue).joined(separator: ", "))); the job in \(directory.path) makes none: give --mesh-formats") }
        if let problem = PointCloudMesher.gridSizeProblem(grid) { throw ClusterError("--grid \(problem)") }
        let counts = try store.counts()
        let unsampled = counts.pending - counts.meshing - counts.remeshing
        guard unsampled == 0 else {
            throw ClusterError("\(directory.path): \(unsampled) prompt(s) are not sampled yet; finish the job first (pointe run -o \(directory.path)), then remesh it")
        }
        if counts.remeshing > 0, formats == info.meshFormats, grid == info.meshGrid {
            return Plan(generation: try store.meshGeneration(), prompts: counts.remeshing, resumed: true, formats: formats, grid: grid)
        }
        let (generation, prompts) = try store.startRemesh(formats: formats, grid: grid)
        return Plan(generation: generation, prompts: prompts, resumed: false, formats: formats, grid: grid)
    }
}
