/// Distances from points to a triangle mesh's surface (for comparing two meshes of the same
/// field: each one's vertices against the other's triangles). Triangles are bucketed in a
/// uniform grid of `cellSize` cells, searched in growing shells around the query.
public struct SurfaceDistance: Sendable {
    let mesh: TriMesh
    let cellSize: Double
    let lower: SIMD3<Double>
    let cells: SIMD3<Int>
    let buckets: [Int: [Int32]]

    public init(mesh: TriMesh, cellSize: Double) {
        precondition(cellSize > 0 && mesh.faceCount > 0, "need triangles and a positive cell size")
        self.mesh = mesh
        self.cellSize = cellSize
        let (lo, hi) = GLB.bounds(mesh.vertices)
        lower = SIMD3(Double(lo[0]), Double(lo[1]), Double(lo[2]))
        let extent = SIMD3(Double(hi[0]), Double(hi[1]), Double(hi[2])) - lower
        cells = SIMD3(Int(extent.x / cellSize) + 1, Int(extent.y / cellSize) + 1, Int(extent.z / cellSize) + 1)
        var buckets: [Int: [Int32]] = [:]
        for f in 0..<mesh.faceCount {
            let p = (0..<3).map { SIMD3<Double>(mesh.vertex(Int(mesh.faces[f * 3 + $0]))) }
            let a = Self.cell(of: pointwiseMin(pointwiseMin(p[0], p[1]), p[2]), lower, cellSize, cells)
            let b = Self.cell(of: pointwiseMax(pointwiseMax(p[0], p[1]), p[2]), lower, cellSize, cells)
            for x in a.x...b.x { for y in a.y...b.y { for z in a.z...b.z {
                buckets[(x * cells.y + y) * cells.z + z, default: []].append(Int32(f))
            } } }
        }
        self.buckets = buckets
    }

    static func cell(of p: SIMD3<Double>, _ lower: SIMD3<Double>, _ size: Double, _ cells: SIMD3<Int>) -> SIMD3<Int> {
        let c = (p - lower) / size
        return SIMD3(min(max(Int(c.x.rounded(.down)), 0), cells.x - 1), min(max(Int(c.y.rounded(.down)), 0), cells.y - 1),
                     min(max(Int(c.z.rounded(.down)), 0), cells.z - 1))
    }

    /// Distance from `q` to the nearest point of any triangle.
    public func distance(_ q: SIMD3<Float>) -> Double {
        let p = SIMD3<Double>(q)
        let home = Self.cell(of: p, lower, cellSize, cells)
        // How far q lies outside the bucketed box (clamped queries search from the border cell).
        let outside = (pointwiseMax(pointwiseMax(lower - p, p - (lower + SIMD3<Double>(cells) * cellSize)), .zero))
        let slack = (outside * outside).sum().squareRoot()
        var best = Double.infinity
        let maxRing = max(cells.x, cells.y, cells.z)
        for r in 0...maxRing {
            for x in (home.x - r)...(home.x + r) where x >= 0 && x < cells.x {
                for y in (home.y - r)...(home.y + r) where y >= 0 && y < cells.y {
                    for z in (home.z - r)...(home.z + r) where z >= 0 && z < cells.z {
                        guard max(abs(x - home.x), abs(y - home.y), abs(z - home.z)) == r else { continue }
                        for f in buckets[(x * cells.y + y) * cells.z + z] ?? [] { best = min(best, triangleDistance(p, Int(f))) }
                    }
                }
            }
            // Every cell beyond ring r is at least r cells from q's (clamped) cell.
            if best <= Double(r) * cellSize + slack { break }
        }
        return best
    }

    /// Largest distance of `points` (row-major [M, 3]) to the surface.
    public func maxDistance(points: [Float]) -> Double {
        (0..<(points.count / 3)).reduce(0) { max($0, distance(SIMD3(points[$1 * 3], points[$1 * 3 + 1], points[$1 * 3 + 2]))) }
    }

    /// Closest-point distance to a triangle (region tests on the barycentric parameters).
    func triangleDistance(_ p: SIMD3<Double>, _ f: Int) -> Double {
        let a = SIMD3<Double>(mesh.vertex(Int(mesh.faces[f * 3])))
        let b = SIMD3<Double>(mesh.vertex(Int(mesh.faces[f * 3 + 1])))
        let c = SIMD3<Double>(mesh.vertex(Int(mesh.faces[f * 3 + 2])))
        func dot(_ u: SIMD3<Double>, _ v: SIMD3<Double>) -> Double { (u * v).sum() }
        func length(_ u: SIMD3<Double>) -> Double { dot(u, u).squareRoot() }
        let ab = b - a, ac = c - a, ap = p - a
        let d1 = dot(ab, ap), d2 = dot(ac, ap)
        if d1 <= 0 && d2 <= 0 { return length(ap) }
        let bp = p - b
        let d3 = dot(ab, bp), d4 = dot(ac, bp)
        if d3 >= 0 && d4 <= d3 { return length(bp) }
        let vc = d1 * d4 - d3 * d2
        if vc <= 0 && d1 >= 0 && d3 <= 0 { return length(p - (a + ab * (d1 / (d1 - d3)))) }
        let cp = p - c
        let d5 = dot(ab, cp), d6 = dot(ac, cp)
        if d6 >= 0 && d5 <= d6 { return length(cp) }
        let vb = d5 * d2 - d1 * d6
        if vb <= 0 && d2 >= 0 && d6 <= 0 { return length(p - (a + ac * (d2 / (d2 - d6)))) }
        let va = d3 * d6 - d5 * d4
        if va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0 {
            return length(p - (b + (c - b) * ((d4 - d3) / ((d4 - d3) + (d5 - d6)))))
        }
        let denom = 1 / (va + vb + vc)
        return length(p - (a + ab * (vb * denom) + ac * (vc * denom)))
    }
}
