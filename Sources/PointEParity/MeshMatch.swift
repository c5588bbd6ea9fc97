import PointEMesh

/// Two meshes compared as the reference's marching cubes defines them: vertices by their exact
/// float32 positions, faces as sets of oriented triangles over those positions (the same three
/// positions in the same cyclic order, starting anywhere), and the normal at every vertex.
/// Vertex and face order do not matter, nor does how vertices are numbered.
public struct MeshMatch: Sendable {
    /// Faces (counted with multiplicity) found in one mesh and not the other.
    public var facesOnlyOurs: Int
    public var facesOnlyTheirs: Int
    /// Vertex positions (with multiplicity) found in one mesh and not the other.
    public var verticesOnlyOurs: Int
    public var verticesOnlyTheirs: Int
    /// Largest |ours - theirs| over the components of the normals of vertices at the same
    /// position (where several vertices share a position, each of ours is paired with the
    /// closest of theirs there); 0 when no vertex matched.
    public var maxNormalError: Double
    /// The vertex, face and normal arrays are identical, order included.
    public var identicalArrays: Bool

    public static let normalTolerance = 1e-4

    public var failures: [String] {
        var f: [String] = []
        if facesOnlyOurs + facesOnlyTheirs > 0 { f.append("faces differ (\(facesOnlyOurs) only ours, \(facesOnlyTheirs) only theirs)") }
        if verticesOnlyOurs + verticesOnlyTheirs > 0 { f.append("vertices differ (\(verticesOnlyOurs) only ours, \(verticesOnlyTheirs) only theirs)") }
        if !(maxNormalError <= Self.normalTolerance) { f.append(String(format: "normals differ (max|err| %.2e)", maxNormalError)) }
        return f
    }

    public var matches: Bool { failures.isEmpty }

    typealias Position = SIMD3<UInt32>

    static func position(_ mesh: TriMesh, _ v: Int) -> Position {
        // +0 turns -0.0 into 0.0: numpy's == (and so skimage's) holds them equal.
        Position((mesh.vertices[v * 3] + 0).bitPattern, (mesh.vertices[v * 3 + 1] + 0).bitPattern, (mesh.vertices[v * 3 + 2] + 0).bitPattern)
    }

    static func faceKeys(_ mesh: TriMesh) -> [[Position]: Int] {
        var keys: [[Position]: Int] = [:]
        for f in 0..<mesh.faceCount {
            let p = (0..<3).map { position(mesh, Int(mesh.faces[f * 3 + $0])) }
            // The rotation starting at the smallest position: same key for the same oriented triangle.
            let first = (0..<3).min { lexicographicallyLess(p[$0], p[$1]) }!
            keys[[p[first], p[(first + 1) % 3], p[(first + 2) % 3]], default: 0] += 1
        }
        return keys
    }

    static func lexicographicallyLess(_ a: Position, _ b: Position) -> Bool {
        a.x != b.x ? a.x < b.x : a.y != b.y ? a.y < b.y : a.z < b.z
    }

    static func multisetDifference<K: Hashable>(_ a: [K: Int], _ b: [K: Int]) -> Int {
        a.reduce(0) { $0 + max(0, $1.value - (b[$1.key] ?? 0)) }
    }

    public init(ours: TriMesh, theirs: TriMesh) {
        let (a, b) = (Self.faceKeys(ours), Self.faceKeys(theirs))
        facesOnlyOurs = Self.multisetDifference(a, b)
        facesOnlyTheirs = Self.multisetDifference(b, a)
        func byPosition(_ mesh: TriMesh) -> [Position: [Int]] {
            var out: [Position: [Int]] = [:]
            for v in 0..<mesh.vertexCount { out[Self.position(mesh, v), default: []].append(v) }
            return out
        }
        let (pa, pb) = (byPosition(ours), byPosition(theirs))
        verticesOnlyOurs = Self.multisetDifference(pa.mapValues(\.count), pb.mapValues(\.count))
        verticesOnlyTheirs = Self.multisetDifference(pb.mapValues(\.count), pa.mapValues(\.count))
        func normal(_ mesh: TriMesh, _ v: Int) -> SIMD3<Double> {
            mesh.normals.count == mesh.vertices.count
                ? SIMD3((0..<3).map { Double(mesh.normals[v * 3 + $0]) }) : SIMD3(repeating: .nan)
        }
        var worst = 0.0
        for (key, mine) in pa {
            var candidates = pb[key] ?? []
            for v in mine where !candidates.isEmpty {
                let errors = candidates.map { w -> Double in
                    let d = normal(ours, v) - normal(theirs, w)
                    return (d * d).sum().isNaN ? .infinity : max(abs(d.x), abs(d.y), abs(d.z))
                }
                let best = errors.indices.min { errors[$0] < errors[$1] }!
                worst = max(worst, errors[best])
                candidates.remove(at: best)
            }
        }
        maxNormalError = worst
        identicalArrays = ours.vertices.map(\.bitPattern) == theirs.vertices.map(\.bitPattern) && ours.faces == theirs.faces
            && ours.normals.map(\.bitPattern) == theirs.normals.map(\.bitPattern)
    }
}
