import Foundation
import PointECheckpoint

/// Mesh files by extension: .ply, .obj, .glb.
extension TriMesh {
    public enum FileFormat: String, CaseIterable, Codable, Sendable {
        case ply, obj, glb

        public init(path: String) throws {
            let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
            guard path.contains("."), let format = FileFormat(rawValue: ext) else {
                throw MeshError(path, "unknown mesh format '.\(ext)' (use .ply, .obj or .glb)")
            }
            self = format
        }
    }

    /// The mesh encoded as one file of `format`, in memory.
    public func data(as format: FileFormat) -> Data {
        switch format {
        case .ply: plyData()
        case .obj: objData()
        case .glb: glbData()
        }
    }

    public func write(to path: String) throws { try AtomicFile.write(data(as: FileFormat(path: path)), to: path) }

    public static func read(_ path: String) throws -> TriMesh {
        switch try FileFormat(path: path) {
        case .ply: return try readPLY(path)
        case .obj: return try readOBJ(path)
        case .glb: return try readGLB(path)
        }
    }
}
