/// Mesh files by extension: .ply, .obj, .glb.
extension TriMesh {
    public enum FileFormat: String, CaseIterable, Sendable {
        case ply, obj, glb

        public init(path: String) throws {
            let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
            guard path.contains("."), let format = FileFormat(rawValue: ext) else {
                throw MeshError(path, "unknown mesh format '.\(ext)' (use .ply, .obj or .glb)")
            }
            self = format
        }
    }

    public func write(to path: String) throws {
        switch try FileFormat(path: path) {
        case .ply: try writePLY(to: path)
        case .obj: try writeOBJ(to: path)
        case .glb: try writeGLB(to: path)
        }
    }

    public static func read(_ path: String) throws -> TriMesh {
        switch try FileFormat(path: path) {
        case .ply: return try readPLY(path)
        case .obj: return try readOBJ(path)
        case .glb: return try readGLB(path)
        }
    }
}
