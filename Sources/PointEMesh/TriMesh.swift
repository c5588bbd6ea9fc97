import Foundation
import PointECloud

/// An indexed triangle mesh, like the reference's `TriMesh`: shared vertices, triangles as
/// index triples (counter-clockwise seen from outside, i.e. right-hand normals point out),
/// per-vertex normals and optional per-vertex channels (colours "R", "G", "B" in 0...1).
public struct TriMesh: Sendable, Equatable {
    /// Row-major [V, 3].
    public var vertices: [Float]
    /// Row-major [F, 3] vertex indices.
    public var faces: [UInt32]
    /// Row-major [V, 3] unit normals (empty when unknown).
    public var normals: [Float]
    /// Per-vertex channels in order, each with V values.
    public var vertexChannels: [PointCloud.Channel]

    public init(vertices: [Float], faces: [UInt32], normals: [Float] = [], vertexChannels: [PointCloud.Channel] = []) {
        precondition(vertices.count % 3 == 0 && faces.count % 3 == 0, "vertices and faces must be triples")
        precondition(normals.isEmpty || normals.count == vertices.count, "normals must match vertices")
        self.vertices = vertices
        self.faces = faces
        self.normals = normals
        self.vertexChannels = vertexChannels
    }

    public var vertexCount: Int { vertices.count / 3 }
    public var faceCount: Int { faces.count / 3 }

    public func channel(_ name: String) -> [Float]? { vertexChannels.first { $0.name == name }?.values }

    /// R, G, B when all three are present.
    public var colors: (r: [Float], g: [Float], b: [Float])? {
        guard let r = channel("R"), let g = channel("G"), let b = channel("B") else { return nil }
        return (r, g, b)
    }

    public func vertex(_ i: Int) -> SIMD3<Float> {
        SIMD3(vertices[i * 3], vertices[i * 3 + 1], vertices[i * 3 + 2])
    }
}
