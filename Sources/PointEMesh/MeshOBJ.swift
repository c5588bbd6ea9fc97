import Foundation
import PointECloud
import PointECheckpoint

/// Wavefront OBJ with vertex colours as the common `v x y z r g b` extension (MeshLab,
/// Blender), normals as `vn`, and 1-based faces `f a//a b//b c//c`. Floats are written in
/// their shortest exact form, so a round trip is lossless.
extension TriMesh {
    /// The mesh as it is (`data(as: .obj)` turns it to OBJ's axes first).
    func objData() -> Data {
        let rgb = colors
        var text = "# written by pointe\n"
        text.reserveCapacity(vertexCount * 80 + faceCount * 40)
        for i in 0..<vertexCount {
            text += "v \(vertices[i * 3]) \(vertices[i * 3 + 1]) \(vertices[i * 3 + 2])"
            if let rgb { text += " \(rgb.r[i]) \(rgb.g[i]) \(rgb.b[i])" }
            text += "\n"
        }
        if !normals.isEmpty {
            for i in 0..<vertexCount { text += "vn \(normals[i * 3]) \(normals[i * 3 + 1]) \(normals[i * 3 + 2])\n" }
        }
        let slash = normals.isEmpty ? "" : "//"
        for f in 0..<faceCount {
            let (a, b, c) = (faces[f * 3] + 1, faces[f * 3 + 1] + 1, faces[f * 3 + 2] + 1)
            text += normals.isEmpty ? "f \(a) \(b) \(c)\n" : "f \(a)\(slash)\(a) \(b)\(slash)\(b) \(c)\(slash)\(c)\n"
        }
        return Data(text.utf8)
    }

    /// Reads `v` (with optional r g b), `vn` and `f` lines (polygons fanned, negative indices
    /// relative); normals are taken per vertex when there is one `vn` per `v`. `path` names
    /// the text in errors.
    static func parseOBJ(_ text: String, path: String) throws -> TriMesh {
        var vertices: [Float] = [], colors: [[Float]] = [[], [], []], normals: [Float] = [], faces: [UInt32] = []
        var coloredLines = 0
        for (lineNumber, line) in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).enumerated() {
            let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = w.first else { continue }
            func numbers() throws -> [Float] {
                try w.dropFirst().map { token in
                    guard let v = Float(token) else { throw MeshError(path, "line \(lineNumber + 1): '\(token)' is not a number") }
                    return v
                }
            }
            switch keyword {
            case "v":
                let v = try numbers()
                guard v.count >= 3 else { throw MeshError(path, "line \(lineNumber + 1): a vertex needs 3 coordinates") }
                vertices += v[0..<3]
                if v.count >= 6 {
                    for k in 0..<3 { colors[k].append(v[3 + k]) }
                    coloredLines += 1
                }
            case "vn":
                let n = try numbers()
                guard n.count == 3 else { throw MeshError(path, "line \(lineNumber + 1): a normal needs 3 values") }
                normals += n
            case "f":
                let count = vertices.count / 3
                let ids: [UInt32] = try w.dropFirst().map { token in
                    guard let raw = Int(token.split(separator: "/", omittingEmptySubsequences: false)[0]), raw != 0 else {
                        throw MeshError(path, "line \(lineNumber + 1): bad face index '\(token)'")
                    }
                    let index = raw > 0 ? raw - 1 : count + raw
                    guard index >= 0, index < count else {
                        throw MeshError(path, "line \(lineNumber + 1): face index \(raw) out of range (\(count) vertices so far)")
                    }
                    return UInt32(index)
                }
                guard ids.count >= 3 else { throw MeshError(path, "line \(lineNumber + 1): a face needs 3 vertices") }
                for k in 1..<(ids.count - 1) { faces += [ids[0], ids[k], ids[k + 1]] }
            default: continue
            }
        }
        guard !vertices.isEmpty else { throw MeshError(path, "OBJ file has no vertices") }
        let n = vertices.count / 3
        let channels: [PointCloud.Channel] = coloredLines == n
            ? zip(["R", "G", "B"], colors).map { PointCloud.Channel(name: $0, values: $1) } : []
        return TriMesh(vertices: vertices, faces: faces, normals: normals.count == vertices.count ? normals : [],
                       vertexChannels: channels)
    }
}
