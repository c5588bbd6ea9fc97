/// Marching cubes as the reference mesher runs it: point-e's `pc_to_mesh` calls
/// `skimage.measure.marching_cubes(volume, level, spacing=(voxel,)*3, allow_degenerate=False)`
/// (Lewiner's method), swaps the first two indices of every face and adds the grid's origin.
/// This gives that output: the same vertices in the same order (bit for bit in float32), the
/// same faces, the same normals (to float rounding), hence the same topology.
///
/// What skimage does, and so what this does:
/// * cells are visited with the grid's first axis slowest and its last fastest; a corner is
///   above the level when `Double(value) - Double(level) > 0`; each cell's triangles come from
///   LewinerCube (its cube index, face tests, interior test), in the table's order;
/// * a vertex is made the first time a triangle uses its grid edge (or, for the vertex inside a
///   cell, its cell) and shared after that; on an edge from corner 1 to corner 2 it sits at
///   (w1 p1 + w2 p2) / (w1 + w2), w = 1 / (2^-52 + |value - level|), in double, rounded to
///   float32; inside a cell it is the same weighted mean of the eight corners;
/// * every time a triangle uses a vertex, its cell adds, for both corners of the vertex's edge,
///   the corner's weight (rounded to float32) times a gradient estimated in that cell alone
///   (per axis: the value at the low end of the cell edge through the corner minus the high
///   end), each product rounded to float32 and summed in float32. skimage keeps those
///   gradients in Lewiner's corner order but looks them up by (x + 2y + 4z), so a corner with
///   y offset 1 reads the gradient of the corner beside it along x (a slip kept on purpose:
///   those are the reference's normals); for the inner vertex it adds the eight corners'
///   weighted gradients, read without that slip.
///   Sums are normalised in double; a zero sum stays a zero normal;
/// * positions are scaled by the spacing in double and rounded to float32; a face with two
///   vertices at the same scaled position is dropped and those vertices merged as
///   `remove_degenerate_faces` does (see `DegenerateFaces`); then the origin is added in float32.
/// Triangles wind counter-clockwise seen from below the level: the right-hand normal, like the
/// vertex normals, points away from the region above the level (out of the object for point-e's
/// SDF, which is positive inside).
public enum MarchingCubes {
    public static func extract(_ grid: VolumeGrid, level: Float = 0) -> TriMesh {
        let (nx, ny, nz) = grid.size
        guard nx >= 2, ny >= 2, nz >= 2 else { return TriMesh(vertices: [], faces: []) }
        var builder = Builder(grid: grid, level: Double(level))
        builder.run()
        return builder.mesh()
    }

    struct Builder {
        let samples: [Float]
        let level: Double
        let size: (i: Int, j: Int, k: Int)
        let spacing: Double
        let origin: SIMD3<Float>
        /// Vertex index of each grid edge (grid point * 3 + axis, axis 0 along k, 1 along j,
        /// 2 along i), or -1.
        var edgeVertex: [Int32]
        /// Per vertex (x, y, z) = (k, j, i): position in grid units and the running normal sum.
        var positions: [Float] = []
        var normalSums: [Float] = []
        /// skimage's faces before its 'descent' flip: three vertex indices each.
        var faces: [Int32] = []

        // The current cell.
        var values = [Double](repeating: 0, count: 8)
        var weights = [Double](repeating: 0, count: 8)
        /// gradients[3 * L + axis]: the in-cell gradient at Lewiner corner L.
        var gradients = [Double](repeating: 0, count: 24)
        var cellOrigin = SIMD3<Int>.zero
        var cellCorner = 0
        var centreVertex: Int32 = -1

        init(grid: VolumeGrid, level: Double) {
            samples = grid.values
            self.level = level
            size = (grid.size.x, grid.size.y, grid.size.z)
            spacing = grid.spacing
            origin = grid.origin
            edgeVertex = [Int32](repeating: -1, count: samples.count * 3)
        }

        /// Flat index of the grid point at (x, y, z) = (k, j, i).
        func point(_ p: SIMD3<Int>) -> Int { (p.z * size.j + p.y) * size.k + p.x }

        mutating func run() {
            for i in 0..<(size.i - 1) {
                for j in 0..<(size.j - 1) {
                    for k in 0..<(size.k - 1) {
                        cellOrigin = SIMD3(k, j, i)
                        cellCorner = point(cellOrigin)
                        var index = 0
                        for L in 0..<8 {
                            values[L] = Double(samples[point(cellOrigin &+ LewinerCube.cornerOffset[L])]) - level
                            if values[L] > 0 { index |= 1 << L }
                        }
                        if index == 0 || index == 255 { continue }
                        let ids = values.withUnsafeBufferPointer { LewinerCube.triangles($0.baseAddress!, index: index) }
                        guard !ids.isEmpty else { continue }
                        prepareCell()
                        for id in ids { faces.append(vertex(Int(id))) }
                    }
                }
            }
        }

        /// The cell's corner weights and skimage's in-cell gradients (Lewiner corner order).
        mutating func prepareCell() {
            for L in 0..<8 { weights[L] = 1 / (LewinerCube.epsilon + abs(values[L])) }
            for n in 0..<24 {
                let (low, high) = LewinerCube.gradientEnds[n]
                gradients[n] = values[low] - values[high]
            }
            centreVertex = -1
        }

        /// The vertex for cell-local id `id`, made if new, with this use's normal share added.
        mutating func vertex(_ id: Int) -> Int32 {
            if id == LewinerCube.centre { return centre() }
            let (s, q) = LewinerCube.edgeCorners[id]
            let (os, oq) = (LewinerCube.cornerOffset[s], LewinerCube.cornerOffset[q])
            let key = point(cellOrigin &+ LewinerCube.edgeLowOffset[id]) * 3 + LewinerCube.edgeAxis[id]
            var v = edgeVertex[key]
            if v < 0 {
                v = Int32(positions.count / 3)
                edgeVertex[key] = v
                let (ws, wq) = (weights[s], weights[q])
                for a in 0..<3 {
                    let f = 0.0 + Double(os[a]) * ws + Double(oq[a]) * wq
                    positions.append(Float(Double(cellOrigin[a]) + f / (0.0 + ws + wq)))
                }
                normalSums += [0, 0, 0]
            }
            // skimage reads the gradient stored for Lewiner corner number (x + 2y + 4z), and
            // passes the weight as a float32 before multiplying in double.
            for end in 0..<2 {
                let (corner, offset) = end == 0 ? (s, os) : (q, oq)
                let read = offset.x + 2 * offset.y + 4 * offset.z
                let weight = Double(Float(weights[corner]))
                for a in 0..<3 {
                    normalSums[Int(v) * 3 + a] += Float(gradients[3 * read + a] * weight)
                }
            }
            return v
        }

        mutating func centre() -> Int32 {
            var share = SIMD3<Double>.zero
            for a in 0..<3 {
                for L in 0..<8 { share[a] += weights[L] * gradients[3 * L + a] }
            }
            if centreVertex < 0 {
                centreVertex = Int32(positions.count / 3)
                var f = SIMD3<Double>.zero
                var total = 0.0
                for L in 0..<8 {
                    f += SIMD3<Double>(LewinerCube.cornerOffset[L]) * weights[L]
                    total += weights[L]
                }
                for a in 0..<3 { positions.append(Float(Double(cellOrigin[a]) + f[a] / total)) }
                normalSums += [0, 0, 0]
            }
            let v = Int(centreVertex)
            for a in 0..<3 { normalSums[v * 3 + a] += Float(share[a]) }
            return centreVertex
        }

        func mesh() -> TriMesh {
            let count = positions.count / 3
            // skimage's output axes are the grid's (i, j, k): ours reversed.
            var scaled = [Float](repeating: 0, count: count * 3)
            var normals = [Float](repeating: 0, count: count * 3)
            for v in 0..<count {
                var length = 0.0
                for a in 0..<3 { length += Double(normalSums[v * 3 + a]) * Double(normalSums[v * 3 + a]) }
                let scale = length > 0 ? 1 / length.squareRoot() : length
                for a in 0..<3 {
                    scaled[v * 3 + 2 - a] = Float(Double(positions[v * 3 + a]) * spacing)
                    normals[v * 3 + 2 - a] = Float(Double(normalSums[v * 3 + a]) * scale)
                }
            }
            // skimage's 'descent' flip reverses each face before the degenerate ones go.
            var flipped = [Int32](repeating: 0, count: faces.count)
            for f in stride(from: 0, to: faces.count, by: 3) {
                (flipped[f], flipped[f + 1], flipped[f + 2]) = (faces[f + 2], faces[f + 1], faces[f])
            }
            let kept = DegenerateFaces.remove(positions: scaled, faces: flipped)
            var vertices = [Float](repeating: 0, count: kept.vertices.count * 3)
            var keptNormals = [Float](repeating: 0, count: kept.vertices.count * 3)
            for (n, v) in kept.vertices.enumerated() {
                for a in 0..<3 {
                    vertices[n * 3 + a] = scaled[v * 3 + a] + origin[a]
                    keptNormals[n * 3 + a] = normals[v * 3 + a]
                }
            }
            // pc_to_mesh swaps the first two indices of every face: (c, b, a) -> (b, c, a).
            var out = [UInt32](repeating: 0, count: kept.faces.count)
            for f in stride(from: 0, to: kept.faces.count, by: 3) {
                (out[f], out[f + 1], out[f + 2]) = (kept.faces[f + 1], kept.faces[f], kept.faces[f + 2])
            }
            return TriMesh(vertices: vertices, faces: out, normals: keptNormals)
        }
    }
}

/// skimage's `remove_degenerate_faces`, behaviour for behaviour: faces are visited in order;
/// when two of a face's vertices have equal positions (float32 ==, checked for (1,2), (1,3),
/// (2,3) in turn) the face is dropped and both vertices' entries in a map are set to the smaller
/// of their current entries. Vertices whose entry is still themselves are kept, renumbered in
/// order, and every kept face's index i becomes the new number of map[i]. A vertex merged into
/// one that was later merged further keeps pointing at the first, which is no longer kept: the
/// face then gets the number of the kept vertex just before it. That is skimage's result and so
/// the reference's, so it is reproduced too.
enum DegenerateFaces {
    static func remove(positions: [Float], faces: [Int32]) -> (vertices: [Int], faces: [UInt32]) {
        let count = positions.count / 3
        var map = Array(0..<count)
        var keepFace = [Bool](repeating: true, count: faces.count / 3)
        func same(_ a: Int, _ b: Int) -> Bool {
            positions[a * 3] == positions[b * 3] && positions[a * 3 + 1] == positions[b * 3 + 1] && positions[a * 3 + 2] == positions[b * 3 + 2]
        }
        for f in 0..<(faces.count / 3) {
            let (i1, i2, i3) = (Int(faces[f * 3]), Int(faces[f * 3 + 1]), Int(faces[f * 3 + 2]))
            for (a, b) in [(i1, i2), (i1, i3), (i2, i3)] where same(a, b) {
                let m = min(map[a], map[b])
                map[a] = m
                map[b] = m
                keepFace[f] = false
            }
        }
        var renumbered = [Int](repeating: -1, count: count)
        var vertices: [Int] = []
        for v in 0..<count {
            if map[v] == v { vertices.append(v) }
            renumbered[v] = vertices.count - 1
        }
        var out: [UInt32] = []
        out.reserveCapacity(faces.count)
        for f in 0..<(faces.count / 3) where keepFace[f] {
            for c in 0..<3 { out.append(UInt32(renumbered[map[Int(faces[f * 3 + c])]])) }
        }
        return (vertices, out)
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
