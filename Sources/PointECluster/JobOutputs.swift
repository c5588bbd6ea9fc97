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
    static func cloudNPZ(promptID: String) -> String { "clouds/\(promptID).npz" }

    /// clouds/ID.ply and clouds/ID.npz (the reference's layout).
    func writeCloud(_ cloud: PointCloud, promptID: String) throws -> [JobStore.Output] {
        let ply = "clouds/\(promptID).ply", npz = Self.cloudNPZ(promptID: promptID)
        return [try writeOutput(kind: "cloud_ply", relative: ply, data: cloud.plyData()),
                try writeOutput(kind: "cloud_npz", relative: npz, data: cloud.npzData(source: file(npz)))]
    }

    /// previews/ID.png: the cloud from 3 x 3 turning viewpoints, for people skimming the job.
    func writePreview(_ cloud: PointCloud, promptID: String) throws -> JobStore.Output {
        try FileManager.default.createDirectory(atPath: previews, withIntermediateDirectories: true)
        return try writeOutput(kind: "preview_png", relative: "previews/\(promptID).png", data: PointCloudPreview(tileSize: 128).render(cloud).pngData())
    }

    /// meshes/ID.EXT, one per format (already checked by the caller).
    func writeMeshes(_ files: [(format: String, data: Data)], promptID: String) throws -> [JobStore.Output] {
        try files.map { try writeOutput(kind: "mesh_\($0.format)", relative: "meshes/\(promptID).\($0.format)", data: $0.data) }
    }
}
