/// Marching cubes at a level, producing an indexed, watertight, consistently oriented mesh.
///
/// The surface separates "inside" samples (value > level) from the rest. Each grid edge whose
/// ends differ makes exactly one vertex (linear interpolation), shared by the up to four
/// cells around it. Within a cell, the surface's boundary is built face by face: on each cell
/// face, segments join the crossings so that inside corners lie on a fixed side; a face with
/// two diagonal inside corners is resolved by the asymptotic decider, which depends only on
/// that face's four values, so both cells sharing the face draw the same segments (in opposite
/// directions). The segments close into loops that are triangulated inside the cell. Hence
/// every mesh edge on a cell face is used by exactly two triangles with opposite directions:
/// closed surfaces come out watertight and consistently oriented. Triangles wind
/// counter-clockwise seen from outside (the right-hand normal points from inside to outside,
/// the orientation the reference gets after flipping skimage's faces).
///
/// Vertex normals are computed the way skimage's Lewiner marching cubes computes them (the
/// reference's `pc_to_mesh` keeps skimage's normals as they are: its face flip and the spacing
/// and origin shift leave them alone):
/// * the gradient is estimated per cell from that cell's eight corners only: at a corner, along
///   each axis, the value at the low end of the cell edge through it minus the value at the high
///   end (a descent direction, from inside to outside, so no negation is needed);
/// * every time a triangle uses a vertex, its cell adds, for both ends of the vertex's grid
///   edge, the end's weight 1/(eps + |value - level|) (eps = 2^-52, as skimage) times a corner
///   gradient; the sum over all triangles of all cells around the edge is normalised;
/// * skimage keeps the corner gradients in Lewiner's corner order (around the square in its
///   (x, y) = our (k, j) axes) but looks them up by bit index, so an edge end with j offset 1
///   reads the gradient of the corner beside it along k. We reproduce that on purpose: without
///   it the fixture's normals are missed by up to ~4 degrees even on skimage's own triangles.
/// Where such a sum vanishes (skimage would return a zero vector) the vertex takes the
/// area-weighted normal of its faces instead. The sum depends on how many triangles of each
/// cell use the vertex, so it equals skimage's (to float rounding) where our triangles around
/// a vertex are skimage's; our fans split some quads and hexagons along another diagonal than
/// Lewiner's tables, and there the normals differ by a few degrees (see MarchingCubesParity).
/// The normals read only the corners of cells the surface crosses.
public enum MarchingCubes {
    /// Interpolation parameters are kept this far (in edge lengths) from the edge's ends, so a
    /// sample equal to the level never collapses several vertices onto one point: no triangle
    /// is degenerate, at a displacement of at most 1e-3 voxel.
    static let endGuard: Float = 1e-3

    public static func extract(_ grid: VolumeGrid, level: Float = 0) -> TriMesh {
        let (nx, ny, nz) = grid.size
        guard nx >= 2, ny >= 2, nz >= 2 else { return TriMesh(vertices: [], faces: []) }
        let field = grid.values.map { $0 - level }
        var builder = Builder(field: field, samples: grid.values, level: level, size: grid.size, spacing: grid.spacing,
                              origin: grid.origin)
        builder.run()
        return builder.mesh()
    }

    /// skimage's tiny number in the corner weights (numpy.spacing(1.0)).
    static let weightEpsilon = Double.ulpOfOne

    struct Builder {
        let field: [Float]
        /// The grid's samples and level: skimage subtracts the level in double precision for
        /// the normals' weights and gradients, so do we.
        let samples: [Float]
        let level: Double
        let size: (x: Int, y: Int, z: Int)
        let spacing: Float
        let origin: SIMD3<Float>
        let strides: [Int]
        /// Vertex index of each grid edge (grid point * 3 + axis), or -1.
        var edgeVertex: [Int32]
        var positions: [Float] = []
        /// Per vertex: the running sum of skimage's weighted corner gradients (see the type's
        /// comment), normalised at the end.
        var normalSums: [SIMD3<Double>] = []
        var faces: [UInt32] = []
        /// The current cell's corner gradients and weights (in our corner numbering).
        var cornerGradient = [SIMD3<Double>](repeating: .zero, count: 8)
        var cornerWeight = [Double](repeating: 0, count: 8)

        init(field: [Float], samples: [Float], level: Float, size: (x: Int, y: Int, z: Int), spacing: Float, origin: SIMD3<Float>) {
            self.field = field
            self.samples = samples
            self.level = Double(level)
            self.size = size
            self.spacing = spacing
            self.origin = origin
            strides = [size.y * size.z, size.z, 1]
            edgeVertex = [Int32](repeating: -1, count: field.count * 3)
        }

        mutating func run() {
            var cornerIndex = [Int](repeating: 0, count: 8)
            var values = [Float](repeating: 0, count: 8)
            var next = [Int](repeating: -1, count: 12)
            var loop: [Int] = []
            for i in 0..<(size.x - 1) {
                for j in 0..<(size.y - 1) {
                    for k in 0..<(size.z - 1) {
                        let base = (i * size.y + j) * size.z + k
                        var insideMask = 0
                        for c in 0..<8 {
                            let idx = base + (c & 1) * strides[0] + ((c >> 1) & 1) * strides[1] + ((c >> 2) & 1)
                            cornerIndex[c] = idx
                            values[c] = field[idx]
                            if values[c] > 0 { insideMask |= 1 << c }
                        }
                        if insideMask == 0 || insideMask == 255 { continue }
                        for e in 0..<12 { next[e] = -1 }
                        Self.faceSegments(values: values, insideMask: insideMask, next: &next)
                        prepareNormals(cornerIndex: cornerIndex)
                        for start in 0..<12 where next[start] >= 0 {
                            loop.removeAll(keepingCapacity: true)
                            var e = start
                            while next[e] >= 0 {
                                loop.append(e)
                                let n = next[e]
                                next[e] = -1
                                e = n
                            }
                            emit(loop: loop, cornerIndex: cornerIndex)
                        }
                    }
                }
            }
        }

        /// Fills `next[edge] = following edge` for the surface boundary on each cell face.
        static func faceSegments(values: [Float], insideMask: Int, next: inout [Int]) {
            for cycle in CubeGeometry.faceCycle {
                let inside = cycle.map { insideMask & (1 << $0) != 0 }
                let count = inside.filter { $0 }.count
                if count == 0 || count == 4 { continue }
                func edge(_ a: Int, _ b: Int) -> Int { CubeGeometry.edgeBetween[cycle[a % 4] * 8 + cycle[b % 4]] }
                if count == 2 && inside[0] == inside[2] {
                    // Ambiguous face: the bilinear interpolant's saddle is inside exactly when
                    // the inside diagonal's product exceeds the outside one's; then the inside
                    // corners connect and the outside corners are cut off, else the reverse.
                    // Products commute, so both cells sharing the face decide alike.
                    let d0 = values[cycle[0]] * values[cycle[2]]
                    let d1 = values[cycle[1]] * values[cycle[3]]
                    let (pIn, pOut) = inside[0] ? (d0, d1) : (d1, d0)
                    let cutInside = !(pIn > pOut)
                    for q in 0..<4 where inside[q] == cutInside {
                        let before = edge(q + 3, q), after = edge(q, q + 1)
                        if inside[q] { next[before] = after } else { next[after] = before }
                    }
                } else {
                    // One crossing enters the inside along the counter-clockwise walk, one
                    // leaves it; the segment runs from the entry to the exit.
                    var entry = -1, exit = -1
                    for q in 0..<4 where inside[q] != inside[(q + 1) % 4] {
                        if inside[(q + 1) % 4] { entry = edge(q, q + 1) } else { exit = edge(q, q + 1) }
                    }
                    next[entry] = exit
                }
            }
        }

        /// Triangulates one boundary loop (cell-local edge ids in order).
        mutating func emit(loop: [Int], cornerIndex: [Int]) {
            let ids = loop.map { vertexIndex(localEdge: $0, cornerIndex: cornerIndex) }
            let k = loop.count
            // A fan diagonal lying on a cell face could also be drawn by the neighbouring cell;
            // pick a pivot whose diagonals all cross the cell's interior.
            let pivot = (0..<k).first { p in
                k <= 3 || (2...(k - 2)).allSatisfy { j in
                    CubeGeometry.edgeFaceMask[loop[p]] & CubeGeometry.edgeFaceMask[loop[(p + j) % k]] == 0
                }
            }
            // Each use of a vertex by a triangle adds this cell's share to its normal, as in skimage.
            let shares = loop.map(edgeNormalShare)
            if let p = pivot {
                for j in 1...(k - 2) {
                    let corners = [p, (p + j) % k, (p + j + 1) % k]
                    faces += corners.map { ids[$0] }
                    for q in corners { normalSums[Int(ids[q])] += shares[q] }
                }
                return
            }
            // No such pivot: fan around the loop's centroid instead (a vertex of this cell only;
            // skimage has no such vertex where our faces match its). Its normal takes skimage's
            // formula for its own cell-centre vertex: all eight corners, weighted.
            var centre = SIMD3<Float>(repeating: 0)
            for v in ids {
                centre += SIMD3(positions[Int(v) * 3], positions[Int(v) * 3 + 1], positions[Int(v) * 3 + 2])
            }
            centre /= Float(k)
            let c = UInt32(positions.count / 3)
            positions += [centre.x, centre.y, centre.z]
            var centreShare = SIMD3<Double>.zero
            for corner in 0..<8 { centreShare += cornerWeight[corner] * cornerGradient[corner] }
            normalSums.append(.zero)
            for q in 0..<k {
                faces += [c, ids[q], ids[(q + 1) % k]]
                normalSums[Int(c)] += centreShare
                normalSums[Int(ids[q])] += shares[q] + shares[(q + 1) % k]
            }
        }

        /// The current cell's corner values relative to the level, their weights and skimage's
        /// in-cell corner gradients.
        mutating func prepareNormals(cornerIndex: [Int]) {
            var v = [Double](repeating: 0, count: 8)
            for c in 0..<8 {
                v[c] = Double(samples[cornerIndex[c]]) - level
                cornerWeight[c] = 1 / (MarchingCubes.weightEpsilon + abs(v[c]))
            }
            for c in 0..<8 {
                var g = SIMD3<Double>.zero
                for axis in 0..<3 { g[axis] = v[c & ~(1 << axis)] - v[c | (1 << axis)] }
                cornerGradient[c] = g
            }
        }

        /// What one triangle of the current cell adds to the normal of the vertex on local edge
        /// `e`: both ends' weight times a corner gradient, that of the corner beside the end
        /// along k when the end has j offset 1 (skimage's corner-order mix-up, kept for parity).
        func edgeNormalShare(_ e: Int) -> SIMD3<Double> {
            let low = CubeGeometry.edgeCorner[e], high = low | (1 << CubeGeometry.edgeAxis[e])
            func read(_ c: Int) -> Int { c & 2 != 0 ? c ^ 4 : c }
            return cornerWeight[low] * cornerGradient[read(low)] + cornerWeight[high] * cornerGradient[read(high)]
        }

        mutating func vertexIndex(localEdge e: Int, cornerIndex: [Int]) -> UInt32 {
            let axis = CubeGeometry.edgeAxis[e]
            let p0 = cornerIndex[CubeGeometry.edgeCorner[e]]
            let key = p0 * 3 + axis
            if edgeVertex[key] >= 0 { return UInt32(edgeVertex[key]) }
            let p1 = p0 + strides[axis]
            let (f0, f1) = (field[p0], field[p1])
            var t = f0 / (f0 - f1)
            if !(t >= MarchingCubes.endGuard) { t = MarchingCubes.endGuard }
            if t > 1 - MarchingCubes.endGuard { t = 1 - MarchingCubes.endGuard }
            var coords = gridCoords(p0)
            coords[axis] += t
            let position = origin + coords * spacing
            let index = Int32(positions.count / 3)
            edgeVertex[key] = index
            positions += [position.x, position.y, position.z]
            normalSums.append(.zero)
            return UInt32(index)
        }

        func gridCoords(_ p: Int) -> SIMD3<Float> {
            SIMD3(Float(p / strides[0]), Float((p / strides[1]) % size.y), Float(p % size.z))
        }

        /// Normalised sums; vertices whose sum vanished take the area-weighted normal of their faces.
        func mesh() -> TriMesh {
            var normals = [Float](repeating: 0, count: normalSums.count * 3)
            var missing: [Int] = []
            for (v, s) in normalSums.enumerated() {
                let length = (s * s).sum().squareRoot()
                guard length > 0, length.isFinite else { missing.append(v); continue }
                for a in 0..<3 { normals[v * 3 + a] = Float(s[a] / length) }
            }
            if !missing.isEmpty {
                let faceNormals = TriMesh(vertices: positions, faces: faces).areaWeightedVertexNormals()
                for v in missing { for a in 0..<3 { normals[v * 3 + a] = faceNormals[v * 3 + a] } }
            }
            return TriMesh(vertices: positions, faces: faces, normals: normals)
        }
    }
}

extension TriMesh {
    /// Per-vertex sums of the adjacent faces' (area-weighted) normals, normalised.
    public func areaWeightedVertexNormals() -> [Float] {
        var sums = [SIMD3<Float>](repeating: .zero, count: vertexCount)
        for f in 0..<faceCount {
            let (a, b, c) = (Int(faces[f * 3]), Int(faces[f * 3 + 1]), Int(faces[f * 3 + 2]))
            let u = vertex(b) - vertex(a), v = vertex(c) - vertex(a)
            let n = SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
            sums[a] += n; sums[b] += n; sums[c] += n
        }
        var out = [Float](repeating: 0, count: vertexCount * 3)
        for (i, s) in sums.enumerated() {
            let length = (s * s).sum().squareRoot()
            if length > 0 { for a in 0..<3 { out[i * 3 + a] = s[a] / length } }
        }
        return out
    }
}
