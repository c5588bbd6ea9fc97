import PointEMesh

/// A closed, coloured mesh for the tests that open pointe's files in other tools: marching
/// cubes of an ellipsoid twice as tall (pointe's z) as it is wide, so its up axis shows, with
/// colours that vary with position (red along x, green along y, blue rising with z), so a
/// vertex's colour is its own.
enum ColoredTestMesh {
    static func ellipsoid(samples n: Int = 20) -> TriMesh {
        let spacing: Float = 1.2 / Float(n - 1)
        let origin = SIMD3<Float>(repeating: -0.6)
        var values = [Float](repeating: 0, count: n * n * n)
        for i in 0..<n {
            for j in 0..<n {
                for k in 0..<n {
                    let p = origin + SIMD3(Float(i), Float(j), Float(k)) * spacing
                    // Positive inside: marching cubes takes level 0 with the inside above it.
                    values[(i * n + j) * n + k] = 1 - (p.x * p.x / 0.09 + p.y * p.y / 0.09 + p.z * p.z / 0.25)
                }
            }
        }
        var mesh = MarchingCubes.extract(VolumeGrid(values: values, size: (n, n, n), spacing: Double(spacing), origin: origin))
        let position = (0..<mesh.vertexCount).map { mesh.vertex($0) }
        mesh.vertexChannels = [
            .init(name: "R", values: position.map { min(max($0.x / 0.6 + 0.5, 0), 1) }),
            .init(name: "G", values: position.map { min(max($0.y / 0.6 + 0.5, 0), 1) }),
            .init(name: "B", values: position.map { min(max($0.z + 0.5, 0), 1) }),
        ]
        return mesh
    }
}
