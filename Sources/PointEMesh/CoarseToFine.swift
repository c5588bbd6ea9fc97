/// Coarse-to-fine sampling of a field on the reference's cube grid (our addition): sample a
/// coarse sub-grid (every `factor`-th fine index, plus the last), then sample the fine grid only
/// in coarse blocks that may hold the zero level set, and fill the rest of the fine grid by
/// trilinear interpolation of the coarse samples.
///
/// A block is refined when its corners' signs differ or every corner's |value| is within
/// `lipschitz` x the block's diagonal. For a field whose gradient is bounded by `lipschitz`
/// (a true distance field has 1), a zero inside a block forces every corner within that
/// distance of it, so no crossing is missed and every fine cell with a sign change has exactly the
/// dense grid's corner values. Marching cubes reads nothing else (its vertex normals, like
/// skimage's, use only the corners of the cells the surface crosses), so the mesh equals the
/// dense one. Refined points are also dilated by one fine step, a margin from when the normals
/// took central differences reaching one sample beyond the cell.
/// A learned SDF is only approximately Lipschitz: a larger `lipschitz` trades evaluations for
/// safety.
public struct CoarseToFine: Sendable, Equatable {
    public var factor: Int
    public var lipschitz: Float

    public init(factor: Int = 4, lipschitz: Float = 1) {
        precondition(factor >= 2, "coarse-to-fine needs a factor of at least 2")
        self.factor = factor
        self.lipschitz = lipschitz
    }

    public struct Result: Sendable {
        /// The full fine volume (sampled or interpolated), or nil when the coarse samples have
        /// no sign change (the caller then samples densely, as the reference's recentring needs
        /// every value).
        public var volume: VolumeGrid?
        /// Field evaluations made (coarse + fine, each point once).
        public var evaluations: Int
    }

    /// `evaluate` takes row-major [M, 3] points and returns their M values.
    public func sample(layout: GridLayout, evaluate: ([Float]) throws -> [Float]) rethrows -> Result {
        let g = layout.gridSize
        let axis = Array(stride(from: 0, to: g - 1, by: factor)) + [g - 1]
        let c = axis.count
        func point(_ i: Int, _ j: Int, _ k: Int) -> [Float] {
            [layout.coordinate(i), layout.coordinate(j), layout.coordinate(k)]
        }
        var coarsePoints: [Float] = []
        coarsePoints.reserveCapacity(c * c * c * 3)
        for i in axis { for j in axis { for k in axis { coarsePoints += point(i, j, k) } } }
        let coarse = try evaluate(coarsePoints)
        func cv(_ a: Int, _ b: Int, _ d: Int) -> Float { coarse[(a * c + b) * c + d] }
        guard VolumeGrid(values: coarse, size: (c, c, c), spacing: 1, origin: .zero).hasSignChange else {
            return Result(volume: nil, evaluations: coarse.count)
        }

        // Fine points to sample: those of refined blocks, dilated by one step.
        var needed = [Bool](repeating: false, count: g * g * g)
        for a in 0..<(c - 1) {
            for b in 0..<(c - 1) {
                for d in 0..<(c - 1) {
                    let corners = (0..<8).map { n in cv(a + (n & 1), b + ((n >> 1) & 1), d + ((n >> 2) & 1)) }
                    let extent = SIMD3(Float(axis[a + 1] - axis[a]), Float(axis[b + 1] - axis[b]), Float(axis[d + 1] - axis[d]))
                    let diagonal = (extent * extent).sum().squareRoot() * layout.voxelSize
                    let mixed = corners.contains { $0 > 0 } && corners.contains { !($0 > 0) }
                    let near = corners.allSatisfy { abs($0) <= lipschitz * diagonal }
                    guard mixed || near else { continue }
                    for i in max(0, axis[a] - 1)...min(g - 1, axis[a + 1] + 1) {
                        for j in max(0, axis[b] - 1)...min(g - 1, axis[b + 1] + 1) {
                            for k in max(0, axis[d] - 1)...min(g - 1, axis[d + 1] + 1) { needed[(i * g + j) * g + k] = true }
                        }
                    }
                }
            }
        }
        // Coarse samples are reused, not re-evaluated.
        var coarseSlot = [Int](repeating: -1, count: g)
        for (n, i) in axis.enumerated() { coarseSlot[i] = n }
        var values = [Float](repeating: 0, count: g * g * g)
        var pending: [Int] = []
        var pendingPoints: [Float] = []
        for i in 0..<g {
            for j in 0..<g {
                for k in 0..<g {
                    let n = (i * g + j) * g + k
                    if coarseSlot[i] >= 0, coarseSlot[j] >= 0, coarseSlot[k] >= 0 {
                        values[n] = cv(coarseSlot[i], coarseSlot[j], coarseSlot[k])
                    } else if needed[n] {
                        pending.append(n)
                        pendingPoints += point(i, j, k)
                    } else {
                        values[n] = interpolate(i, j, k, axis: axis, coarse: cv)
                    }
                }
            }
        }
        let fine = try evaluate(pendingPoints)
        for (slot, n) in pending.enumerated() { values[n] = fine[slot] }
        return Result(volume: VolumeGrid(cubeValues: values, gridSize: g, sideLength: layout.sideLength),
                      evaluations: coarse.count + fine.count)
    }

    /// Trilinear interpolation of the coarse samples of the block holding fine point (i, j, k).
    private func interpolate(_ i: Int, _ j: Int, _ k: Int, axis: [Int], coarse: (Int, Int, Int) -> Float) -> Float {
        func cell(_ n: Int) -> (Int, Float) {
            let b = min(n / factor, axis.count - 2)
            return (b, Float(n - axis[b]) / Float(axis[b + 1] - axis[b]))
        }
        let (a, u) = cell(i), (b, v) = cell(j), (d, w) = cell(k)
        var total: Float = 0
        for n in 0..<8 {
            let (di, dj, dk) = (n & 1, (n >> 1) & 1, (n >> 2) & 1)
            let weight = (di == 1 ? u : 1 - u) * (dj == 1 ? v : 1 - v) * (dk == 1 ? w : 1 - w)
            total += weight * coarse(a + di, b + dj, d + dk)
        }
        return total
    }
}
