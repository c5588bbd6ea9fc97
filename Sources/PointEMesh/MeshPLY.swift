import Foundation
import PointECheckpoint

/// Binary little-endian PLY meshes (MeshLab, Blender): float x, y, z, float nx, ny, nz when
/// there are normals, uchar red, green, blue (round(c * 255.499), like the reference's
/// `write_ply`) when there are colours, then faces as `list uchar int vertex_indices`.
extension TriMesh {
    /// The mesh as it is (`data(as: .ply)` applies PLY's conventions first).
    func plyData() -> Data {
        let hasNormals = !normals.isEmpty
        let rgb = colors
        var header = "ply\nformat binary_little_endian 1.0\ncomment written by pointe\nelement vertex \(vertexCount)\n"
        header += "property float x\nproperty float y\nproperty float z\n"
        if hasNormals { header += "property float nx\nproperty float ny\nproperty float nz\n" }
        if rgb != nil { header += "property uchar red\nproperty uchar green\nproperty uchar blue\n" }
        header += "element face \(faceCount)\nproperty list uchar int vertex_indices\nend_header\n"
        var out = ByteWriter()
        out.bytes += Array(header.utf8)
        for i in 0..<vertexCount {
            for a in 0..<3 { out.float(vertices[i * 3 + a]) }
            if hasNormals { for a in 0..<3 { out.float(normals[i * 3 + a]) } }
            if let rgb { for c in [rgb.r, rgb.g, rgb.b] { out.bytes.append(Self.colorByte(c[i])) } }
        }
        for f in 0..<faceCount {
            out.bytes.append(3)
            for k in 0..<3 { out.uint32(faces[f * 3 + k]) }
        }
        return Data(out.bytes)
    }

    static func colorByte(_ c: Float) -> UInt8 {
        let scaled = (c * 255.499).rounded(.toNearestOrEven)
        return UInt8(min(max(scaled.isNaN ? 0 : scaled, 0), 255))
    }
}

/// Little-endian byte sink for the binary writers.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func float(_ v: Float) { uint32(v.bitPattern) }
    mutating func uint32(_ v: UInt32) {
        bytes += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
    }
    mutating func pad(to multiple: Int, with byte: UInt8) {
        while bytes.count % multiple != 0 { bytes.append(byte) }
    }
}
