import Foundation
import PointECloud
import PointECheckpoint
import PointEMesh

/// Writing a prompt's files into the job directory: each encoded in memory, written atomically
/// (temp file, fsync, rename) and recorded with the SHA-256 of exactly the bytes written, so
/// a resumed job can verify every file without trusting a re-read.
extension JobDirectory {
    /// A named file of a prompt's outputs: `relative` under the job directory.
    func writeOutput(kind: String, relative: String, data: Data) throws -> JobStore.Output {
        try writeOutputs([(kind, relative, data)])[0]
    }

    /// A prompt's stored cloud as .npz, relative to the job directory.
    package static func cloudNPZ(promptID: String) -> String { "clouds/\(promptID).npz" }

    /// Named files written together (AtomicFile.writeAll: each directory synced once),
    /// recorded as `writeOutput` records one.
    func writeOutputs(_ files: [(kind: String, relative: String, data: Data)]) throws -> [JobStore.Output] {
        try AtomicFile.writeAll(files.map { ($0.data, file($0.relative)) })
        return files.map { JobStore.Output(kind: $0.kind, path: $0.relative, sha256: FileChecksum.sha256($0.data), bytes: $0.data.count) }
    }

    /// A prompt's cloud files: clouds/ID.ply and clouds/ID.npz (the reference's layout), and
    /// previews/ID.png, the cloud from 3 x 3 turning viewpoints (`PointCloudPreview.job`) for
    /// people skimming the job. `preview` is that picture already rendered (by the worker,
    /// checked by the caller); nil renders it here, and a cloud that cannot be rendered gets
    /// none (`previewProblem` says why).
    package func writeCloud(_ cloud: PointCloud, promptID: String, preview: Data? = nil) throws -> (outputs: [JobStore.Output], previewProblem: String?) {
        let ply = "clouds/\(promptID).ply", npz = Self.cloudNPZ(promptID: promptID)
        var files = [(kind: "cloud_ply", relative: ply, data: cloud.plyData()),
                     (kind: "cloud_npz", relative: npz, data: try cloud.npzData(source: file(npz)))]
        var previewProblem: String?
        do {
            let png = try preview ?? PointCloudPreview.job.png(cloud)
            try FileManager.default.createDirectory(atPath: previews, withIntermediateDirectories: true)
            files.append((kind: "preview_png", relative: "previews/\(promptID).png", data: png))
        } catch { previewProblem = "\(error)" }
        return (try writeOutputs(files), previewProblem)
    }

    /// A prompt's mesh file of one format: meshes/ID.EXT, and meshes/ID.rN.EXT for the meshes
    /// of remesh N (`pointe remesh`), so a remesh never overwrites files the manifest still names.
    static func meshPath(promptID: String, format: String, generation: Int) -> String {
        generation == 0 ? "meshes/\(promptID).\(format)" : "meshes/\(promptID).r\(generation).\(format)"
    }

    /// The prompt's mesh files, one per format (already checked by the caller).
    package func writeMeshes(_ files: [(format: String, data: Data)], promptID: String, generation: Int) throws -> [JobStore.Output] {
        try files.map {
            try writeOutput(kind: "mesh_\($0.format)", relative: Self.meshPath(promptID: promptID, format: $0.format, generation: generation), data: $0.data)
        }
    }

    /// Deletes the files under meshes/ that `referenced` (the store's outputs) does not name:
    /// meshes a remesh replaced, left when it stopped between recording the new ones and
    /// deleting the old, or meshes written but never recorded. Returns what it deleted.
    package func removeUnreferencedMeshes(referenced: Set<String>) -> [String] {
        var removed: [String] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: meshes)) ?? [] where !referenced.contains("meshes/" + name) {
            if unlink(file("meshes/" + name)) == 0 { removed.append(file("meshes/" + name)) }
        }
        return removed
    }
}
