import Foundation
import PointECloud

/// How each mesh format stores pointe's meshes, so that an object stands upright and shows
/// the cloud's colours in the tools artists open it with (docs/FORMATS.md).
///
/// pointe's own frame (clouds, previews, the SDF grid, `TriMesh`) is +z up with colours as
/// sRGB-encoded values in 0...1, as the reference and its clouds have them. A format that is
/// +Y up by definition or by custom stores the same mesh turned by one fixed rotation, and a
/// format whose colours are linear by definition stores them decoded from sRGB. The writers
/// apply the file's conventions (`inFileConventions`) and the readers undo them
/// (`fromFileConventions`), so a mesh read back is in pointe's frame whatever the format.
extension TriMesh.FileFormat {
    /// The axis that points up in this format's files.
    public enum UpAxis: String, Sendable {
        /// pointe's frame as it is.
        case z = "Z"
        /// pointe's (x, y, z) stored as (x, z, -y).
        case y = "Y"
    }

    /// How the format's colour values are encoded.
    public enum ColorEncoding: Sendable {
        /// sRGB-encoded 0...1 (pointe's own colours, bytes in PLY, OBJ's `v x y z r g b`).
        case sRGB
        /// Linear light, 0...1.
        case linear
    }

    /// glTF is +Y up by its specification and USD's fallback is Y (we write Y and say so in
    /// the stage's upAxis). OBJ has no axis in the format, but Blender's importer (forward -Z,
    /// up Y by default), three.js and most other tools read it as +Y up. PLY stays z-up like
    /// pointe's clouds and the reference's `write_ply`: Blender's PLY importer takes +Z as up
    /// (forward Y, up Z by default), and MeshLab, open3d and trimesh apply no axis at all.
    public var upAxis: UpAxis {
        switch self {
        case .ply: .z
        case .obj, .glb, .usda: .y
        }
    }

    /// glTF defines COLOR_0 as linear and USD's colour attributes are linear; PLY's bytes and
    /// OBJ's vertex colours are read as sRGB by Blender (its PLY importer's default, and its
    /// OBJ importer), MeshLab and open3d.
    public var colorEncoding: ColorEncoding {
        switch self {
        case .ply, .obj: .sRGB
        case .glb, .usda: .linear
        }
    }
}

extension TriMesh {
    /// The mesh as `format` stores it: turned to its up axis, colours in its encoding.
    func inFileConventions(_ format: FileFormat) -> TriMesh {
        var mesh = self
        if format.upAxis == .y {
            mesh.vertices = Self.zUpToYUp(vertices)
            mesh.normals = Self.zUpToYUp(normals)
        }
        if format.colorEncoding == .linear { mesh.vertexChannels = mesh.mapColors(SRGB.toLinear) }
        return mesh
    }

    /// A mesh read from a file of `upAxis` and `encoding`, back in pointe's frame and colours.
    func fromFileConventions(upAxis: FileFormat.UpAxis, encoding: FileFormat.ColorEncoding) -> TriMesh {
        var mesh = self
        if upAxis == .y {
            mesh.vertices = Self.yUpToZUp(vertices)
            mesh.normals = Self.yUpToZUp(normals)
        }
        if encoding == .linear { mesh.vertexChannels = mesh.mapColors(SRGB.fromLinear) }
        return mesh
    }

    /// The rotation of -90 degrees about +x: pointe's up (+z) becomes +Y and pointe's -y
    /// becomes +Z (glTF's "front", which Blender's importer turns back into its -Y front). A
    /// proper rotation (determinant +1), so triangles keep their winding and normals stay
    /// outward; it only swaps and negates coordinates, so it is exact in floating point.
    static func zUpToYUp(_ xyz: [Float]) -> [Float] {
        var out = xyz
        for i in stride(from: 0, to: xyz.count - 2, by: 3) {
            out[i + 1] = xyz[i + 2]
            out[i + 2] = -xyz[i + 1]
        }
        return out
    }

    /// The inverse of `zUpToYUp`: +90 degrees about +x.
    static func yUpToZUp(_ xyz: [Float]) -> [Float] {
        var out = xyz
        for i in stride(from: 0, to: xyz.count - 2, by: 3) {
            out[i + 1] = -xyz[i + 2]
            out[i + 2] = xyz[i + 1]
        }
        return out
    }

    /// The channels with R, G and B transformed by `transfer` (other channels as they are).
    func mapColors(_ transfer: (Float) -> Float) -> [PointCloud.Channel] {
        vertexChannels.map { channel in
            ["R", "G", "B"].contains(channel.name) ? PointCloud.Channel(name: channel.name, values: channel.values.map(transfer)) : channel
        }
    }
}

/// The sRGB transfer function of IEC 61966-2-1, as the glTF 2.0 specification states it for
/// converting sRGB-encoded colours to the linear values COLOR_0 holds. Computed in Double and
/// rounded once to Float; values are clamped to 0...1 first (colours outside it have no sRGB
/// meaning, and the files' byte and float encodings assume the range).
public enum SRGB {
    /// sRGB-encoded value -> linear light: c / 12.92 up to 0.04045, ((c + 0.055) / 1.055)^2.4 above.
    public static func toLinear(_ encoded: Float) -> Float {
        let c = Double(min(max(encoded, 0), 1))
        return Float(c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4))
    }

    /// Linear light -> sRGB-encoded: 12.92 l up to 0.0031308, 1.055 l^(1/2.4) - 0.055 above.
    public static func fromLinear(_ linear: Float) -> Float {
        let l = Double(min(max(linear, 0), 1))
        return Float(min(l <= 0.0031308 ? l * 12.92 : 1.055 * pow(l, 1 / 2.4) - 0.055, 1))
    }
}

/// The surface of the formats that carry a material (GLB, USD). Without one glTF's default
/// applies, metallic 1 and roughness 1, and viewers that follow it (three.js) draw a near-black
/// metal. The vertex colours are the surface's albedo, so it is a dielectric (metallic 0), and
/// mostly matte: roughness 0.9 keeps a faint highlight that shows the shape without washing
/// out the colours.
enum SurfaceMaterial {
    static let metallic = 0.0
    static let roughness = 0.9
}
