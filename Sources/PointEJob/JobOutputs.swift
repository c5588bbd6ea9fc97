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
        try AtomicFile.write(data, to: file(relative))
        return JobStore.Output(kind: kind, path: relative, sha256: FileChecksum.sha256(data), bytes: data.count)
    }

    /// A prompt's stored cloud as .npz, relative to the job directory.
    package static func cloudNPZ(promptID: String) -> String { "clouds/\(promptID).npz" }

    /// clouds/ID.ply and clouds/ID.npz (the reference's layout).
    package func writeCloud(_ cloud: PointCloud, promptID: String) throws -> [JobStore.Output] {
        let ply = "clouds/\(promptID).ply", npz = Self.cloudNPZ(promptID: promptID)
        return [try writeOutput(kind: "cloud_ply", relative: ply, data: cloud.plyData()),
                try writeOutput(kind: "cloud_npz", relative: npz, data: cloud.npzData(source: file(npz)))]
    }

    /// previews/ID.png: the cloud from 3 x 3 turning viewpoints (`PointCloudPreview.job`), for
    /// people skimming the job. `png` is that picture already rendered (by the worker, checked
    /// by the caller); without it the cloud is rendered here.
    package func writePreview(_ cloud: PointCloud, promptID: String, png: Data? = nil) throws -> JobStore.Output {
        try FileManager.default.createDirectory(atPath: previews, withIntermediateDirectories: true)
        return try writeOutput(kind: "preview_png", relative: "previews/\(promptID).png", data: png ?? PointCloudPreview.job.png(cloud))
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
