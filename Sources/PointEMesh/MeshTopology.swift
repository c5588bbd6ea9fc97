/// Structural checks of a triangle mesh: the properties a closed, consistently oriented
/// surface must have (used by tests, the parity command and as a sanity check on output).
public struct MeshTopology: Sendable {
    /// Undirected edges used by exactly one face (holes / open borders).
    public let boundaryEdges: Int
    /// Undirected edges used by more than two faces.
    public let nonManifoldEdges: Int
    /// Directed edges used twice (two neighbours disagreeing on orientation).
    public let inconsistentlyOrientedEdges: Int
    /// Faces with a repeated index or zero area.
    public let degenerateFaces: Int
    public let vertexCount: Int
    public let edgeCount: Int
    public let faceCount: Int

    /// Every edge is in exactly two faces.
    public var isWatertight: Bool { boundaryEdges == 0 && nonManifoldEdges == 0 }
    public var isConsistentlyOriented: Bool { inconsistentlyOrientedEdges == 0 }
    /// V - E + F (2 for a sphere, 0 for a torus).
    public var eulerCharacteristic: Int { vertexCount - edgeCount + faceCount }

    public init(_ mesh: TriMesh) {
        var undirected: [UInt64: Int] = [:]
        var directed: [UInt64: Int] = [:]
        undirected.reserveCapacity(mesh.faces.count)
        directed.reserveCapacity(mesh.faces.count)
        var degenerate = 0
        for f in 0..<mesh.faceCount {
            let idx = (0..<3).map { mesh.faces[f * 3 + $0] }
            if idx[0] == idx[1] || idx[1] == idx[2] || idx[0] == idx[2] || Self.area2(mesh, idx) == 0 { degenerate += 1 }
            for k in 0..<3 {
                let (a, b) = (idx[k], idx[(k + 1) % 3])
                undirected[UInt64(min(a, b)) << 32 | UInt64(max(a, b)), default: 0] += 1
                directed[UInt64(a) << 32 | UInt64(b), default: 0] += 1
            }
        }
        boundaryEdges = undirected.values.filter { $0 == 1 }.count
        nonManifoldEdges = undirected.values.filter { $0 > 2 }.count
        inconsistentlyOrientedEdges = directed.values.filter { $0 > 1 }.count
        degenerateFaces = degenerate
        vertexCount = mesh.vertexCount
        edgeCount = undirected.count
        faceCount = mesh.faceCount
    }

    /// Twice the triangle's area, in double precision.
    static func area2(_ mesh: TriMesh, _ idx: [UInt32]) -> Double {
        func p(_ i: UInt32) -> SIMD3<Double> { SIMD3<Double>(mesh.vertex(Int(i))) }
        let (a, b, c) = (p(idx[0]), p(idx[1]), p(idx[2]))
        let u = b - a, v = c - a
        let n = SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
        return (n * n).sum().squareRoot()
    }

    /// Signed enclosed volume (positive when faces are oriented outward).
    public static func signedVolume(_ mesh: TriMesh) -> Double {
        var total = 0.0
        for f in 0..<mesh.faceCount {
            let a = SIMD3<Double>(mesh.vertex(Int(mesh.faces[f * 3])))
            let b = SIMD3<Double>(mesh.vertex(Int(mesh.faces[f * 3 + 1])))
            let c = SIMD3<Double>(mesh.vertex(Int(mesh.faces[f * 3 + 2])))
            total += a.x * (b.y * c.z - b.z * c.y) - a.y * (b.x * c.z - b.z * c.x) + a.z * (b.x * c.y - b.y * c.x)
        }
        return total / 6
    }
}
