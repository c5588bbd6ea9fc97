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
/// the orientation the reference gets after flipping skimage's faces), and vertex normals are
/// the negated, normalised field gradient (pointing outside).
public enum MarchingCubes {
    /// Interpolation parameters are kept this far (in edge lengths) from the edge's ends, so a
    /// sample equal to the level never collapses several vertices onto one point: no triangle
    /// is degenerate, at a displacement of at most 1e-3 voxel.
    static let endGuard: Float = 1e-3

    public static func extract(_ grid: VolumeGrid, level: Float = 0) -> TriMesh {
        let (nx, ny, nz) = grid.size
        guard nx >= 2, ny >= 2, nz >= 2 else { return TriMesh(vertices: [], faces: []) }
        let field = grid.values.map { $0 - level }
        var builder = Builder(field: field, size: grid.size, spacing: grid.spacing, origin: grid.origin)
        builder.run()
        return builder.mesh()
    }

    struct Builder {
        let field: [Float]
        let size: (x: Int, y: Int, z: Int)
        let spacing: Float
        let origin: SIMD3<Float>
        let strides: [Int]
        /// Vertex index of each grid edge (grid point * 3 + axis), or -1.
        var edgeVertex: [Int32]
        var positions: [Float] = []
        var normals: [Float] = []
        var faces: [UInt32] = []

        init(field: [Float], size: (x: Int, y: Int, z: Int), spacing: Float, origin: SIMD3<Float>) {
            self.field = field
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
            if let p = pivot {
                for j in 1...(k - 2) {
                    faces += [ids[p], ids[(p + j) % k], ids[(p + j + 1) % k]]
                }
                return
            }
            // No such pivot: fan around the loop's centroid instead (a vertex of this cell only).
            var centre = SIMD3<Float>(repeating: 0), normal = SIMD3<Float>(repeating: 0)
            for v in ids {
                centre += SIMD3(positions[Int(v) * 3], positions[Int(v) * 3 + 1], positions[Int(v) * 3 + 2])
                normal += SIMD3(normals[Int(v) * 3], normals[Int(v) * 3 + 1], normals[Int(v) * 3 + 2])
            }
            centre /= Float(k)
            let length = (normal * normal).sum().squareRoot()
            if length > 0 { normal /= length }
            let c = UInt32(positions.count / 3)
            positions += [centre.x, centre.y, centre.z]
            normals += [normal.x, normal.y, normal.z]
            for q in 0..<k { faces += [c, ids[q], ids[(q + 1) % k]] }
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
            let g = gradient(p0) * (1 - t) + gradient(p1) * t
            let length = (g * g).sum().squareRoot()
            let n = length > 0 ? -g / length : SIMD3<Float>(repeating: 0)
            let index = Int32(positions.count / 3)
            edgeVertex[key] = index
            positions += [position.x, position.y, position.z]
            normals += [n.x, n.y, n.z]
            return UInt32(index)
        }

        func gridCoords(_ p: Int) -> SIMD3<Float> {
            SIMD3(Float(p / strides[0]), Float((p / strides[1]) % size.y), Float(p % size.z))
        }

        /// Central differences (one-sided at the border), in value per grid step.
        func gradient(_ p: Int) -> SIMD3<Float> {
            let n = [p / strides[0], (p / strides[1]) % size.y, p % size.z]
            let dims = [size.x, size.y, size.z]
            var g = SIMD3<Float>(repeating: 0)
            for axis in 0..<3 {
                let lo = n[axis] > 0 ? p - strides[axis] : p
                let hi = n[axis] < dims[axis] - 1 ? p + strides[axis] : p
                let steps = Float((n[axis] < dims[axis] - 1 ? 1 : 0) + (n[axis] > 0 ? 1 : 0))
                g[axis] = steps > 0 ? (field[hi] - field[lo]) / steps : 0
            }
            return g
        }

        /// Vertices whose gradient vanished take the area-weighted normal of their faces.
        func mesh() -> TriMesh {
            var normals = self.normals
            let missing = (0..<(normals.count / 3)).filter { normals[$0 * 3] == 0 && normals[$0 * 3 + 1] == 0 && normals[$0 * 3 + 2] == 0 }
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
