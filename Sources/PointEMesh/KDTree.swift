import PointETensor

/// A static 3-d tree over points for nearest-neighbour queries (vertex colouring: each mesh
/// vertex takes the channels of its nearest cloud point, without a linear scan per vertex).
public struct KDTree: Sendable {
    /// Points, row-major [N, 3].
    public let points: [Float]
    /// Point indices, arranged so each node's subtree is a contiguous range with the median
    /// (the node's splitting point) in the middle.
    let order: [Int32]
    /// Split axis of the node whose median sits at that position of `order`.
    let axes: [UInt8]

    public var count: Int { points.count / 3 }

    public init(points: [Float]) {
        precondition(points.count % 3 == 0, "points must be N x 3")
        self.points = points
        var order = (0..<Int32(points.count / 3)).map { $0 }
        var axes = [UInt8](repeating: 0, count: order.count)
        Self.build(points, &order, &axes, 0, order.count)
        self.order = order
        self.axes = axes
    }

    /// Splits [lo, hi) at its median along the axis of largest extent, recursively.
    private static func build(_ points: [Float], _ order: inout [Int32], _ axes: inout [UInt8], _ lo: Int, _ hi: Int) {
        guard hi - lo > 1 else { return }
        var minP = SIMD3<Float>(repeating: .infinity), maxP = SIMD3<Float>(repeating: -.infinity)
        for i in lo..<hi {
            let p = Int(order[i]) * 3
            let v = SIMD3(points[p], points[p + 1], points[p + 2])
            minP = pointwiseMin(minP, v)
            maxP = pointwiseMax(maxP, v)
        }
        let extent = maxP - minP
        let axis = extent.x >= extent.y && extent.x >= extent.z ? 0 : (extent.y >= extent.z ? 1 : 2)
        let mid = (lo + hi) / 2
        // Sorting the range is O(n log n) per level; fine for clouds of up to ~1e6 points.
        let sorted = order[lo..<hi].sorted { a, b in
            let (va, vb) = (points[Int(a) * 3 + axis], points[Int(b) * 3 + axis])
            return va != vb ? va < vb : a < b
        }
        order.replaceSubrange(lo..<hi, with: sorted)
        axes[mid] = UInt8(axis)
        build(points, &order, &axes, lo, mid)
        build(points, &order, &axes, mid + 1, hi)
    }

    /// Index of the point nearest to `q` (smallest index among exact ties), or nil if empty.
    public func nearest(_ q: SIMD3<Float>) -> Int? {
        guard !order.isEmpty else { return nil }
        var best = (index: Int.max, distance: Float.infinity)
        search(q, 0, order.count, &best)
        return best.index
    }

    private func search(_ q: SIMD3<Float>, _ lo: Int, _ hi: Int, _ best: inout (index: Int, distance: Float)) {
        guard lo < hi else { return }
        let mid = (lo + hi) / 2
        let index = Int(order[mid])
        let p = SIMD3(points[index * 3], points[index * 3 + 1], points[index * 3 + 2])
        let d = ((p - q) * (p - q)).sum()
        if d < best.distance || (d == best.distance && index < best.index) { best = (index, d) }
        guard hi - lo > 1 else { return }
        let axis = Int(axes[mid])
        let delta = q[axis] - p[axis]
        let (near, far) = delta < 0 ? ((lo, mid), (mid + 1, hi)) : ((mid + 1, hi), (lo, mid))
        search(q, near.0, near.1, &best)
        // Points equal to the split value can sit on either side, hence <= (ties need the index check).
        if delta * delta <= best.distance { search(q, far.0, far.1, &best) }
    }

    /// Nearest point of every query (row-major [M, 3]), computed on all cores.
    public func nearest(queries: [Float]) -> [Int] {
        let m = queries.count / 3
        var result = [Int](repeating: 0, count: m)
        result.withUnsafeMutableBufferPointer { out in
            let outBase = out.baseAddress!
            queries.withUnsafeBufferPointer { q in
                let qBase = q.baseAddress!
                Parallel.forChunks(m, minimumPerChunk: 256) { range in
                    for i in range {
                        outBase[i] = nearest(SIMD3(qBase[i * 3], qBase[i * 3 + 1], qBase[i * 3 + 2])) ?? 0
                    }
                }
            }
        }
        return result
    }
}
