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
        let format = try FileFormat(path: path)
        return try decode(try fileBytes(path), format: format, source: path)
    }

    /// Parses mesh bytes as `format` (a file's contents, or a mesh a peer sent) with the same
    /// readers as `read`. Whatever the bytes hold, the answer is a mesh with whole triangles,
    /// indices within its vertices and finite values, or an error that starts with `source`.
    public static func decode(_ data: Data, format: FileFormat, source: String) throws -> TriMesh {
        let mesh: TriMesh
        switch format {
        case .glb: mesh = try GLB.read([UInt8](data), path: source)
        case .ply: mesh = try PLYMeshReader(bytes: [UInt8](data), path: source).read()
        case .obj:
            guard let text = String(data: data, encoding: .utf8) else { throw MeshError(source, "cannot read as UTF-8 text") }
            mesh = try parseOBJ(text, path: source)
        }
        try mesh.checkFinite(source: source)
        return mesh
    }

    /// NaN or infinite values parse in every format but make no geometry (and break whatever
    /// renders or measures the mesh).
    func checkFinite(source: String) throws {
        if let bad = vertices.firstIndex(where: { !$0.isFinite }) {
            throw MeshError(source, "vertex \(bad / 3) is not finite (\(vertices[bad]))")
        }
        if let bad = normals.firstIndex(where: { !$0.isFinite }) {
            throw MeshError(source, "normal \(bad / 3) is not finite (\(normals[bad]))")
        }
        for channel in vertexChannels {
            if let bad = channel.values.firstIndex(where: { !$0.isFinite }) {
                throw MeshError(source, "channel \(channel.name) of vertex \(bad) is not finite (\(channel.values[bad]))")
            }
        }
    }

    static func fileBytes(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw MeshError(path, "cannot read: \(error.localizedDescription)")
        }
    }
}
