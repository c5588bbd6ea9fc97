import Foundation
import PointECheckpoint

/// Mesh files by extension: .ply, .obj, .glb, .usda. Each format's axes and colour encoding
/// are in FileConventions.swift (and docs/FORMATS.md).
extension TriMesh {
    public enum FileFormat: String, CaseIterable, Codable, Sendable {
        case ply, obj, glb, usda

        public init(path: String) throws {
            let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
            guard path.contains("."), let format = FileFormat(rawValue: ext) else {
                let known = FileFormat.allCases.map { ".\($0.rawValue)" }.joined(separator: ", ")
                throw MeshError(path, "unknown mesh format '.\(ext)' (use \(known))")
            }
            self = format
        }
    }

    /// The mesh encoded as one file of `format`, in memory, in the format's axes and colour
    /// encoding.
    public func data(as format: FileFormat) -> Data {
        let stored = inFileConventions(format)
        switch format {
        case .ply: return stored.plyData()
        case .obj: return stored.objData()
        case .glb: return stored.glbData()
        case .usda: return stored.usdaData()
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
    /// The mesh is in pointe's frame and colours (the format's conventions undone).
    public static func decode(_ data: Data, format: FileFormat, source: String) throws -> TriMesh {
        let stored: TriMesh
        var upAxis = format.upAxis
        switch format {
        case .glb: stored = try GLB.read([UInt8](data), path: source)
        case .ply: stored = try PLYMeshReader(bytes: [UInt8](data), path: source).read()
        case .obj: stored = try parseOBJ(try utf8(data, source: source), path: source)
        case .usda: (stored, upAxis) = try USDAReader.read(try utf8(data, source: source), path: source)
        }
        // Before the conversion: clamping colours to 0...1 would hide an infinite one.
        try stored.checkFinite(source: source)
        return stored.fromFileConventions(upAxis: upAxis, encoding: format.colorEncoding)
    }

    static func utf8(_ data: Data, source: String) throws -> String {
        guard let text = String(data: data, encoding: .utf8) else { throw MeshError(source, "cannot read as UTF-8 text") }
        return text
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
