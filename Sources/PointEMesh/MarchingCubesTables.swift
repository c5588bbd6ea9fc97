/// Cube geometry for marching cubes, derived (not tabulated) so every rule is visible.
///
/// Corner c of a cell sits at offset (c & 1, (c >> 1) & 1, (c >> 2) & 1) in grid steps.
/// Edge e joins corner `edgeCorner[e]` to `edgeCorner[e] | (1 << edgeAxis[e])`.
/// Face f = 2 * axis + side holds the corners whose `axis` bit equals `side`; `faceCycle[f]`
/// lists them counter-clockwise around the face's outward normal.
enum CubeGeometry {
    static let edgeCorner: [Int] = edges.map { $0.corner }
    static let edgeAxis: [Int] = edges.map { $0.axis }

    private static let edges: [(corner: Int, axis: Int)] = {
        var list: [(Int, Int)] = []
        for axis in 0..<3 {
            for c in 0..<8 where c & (1 << axis) == 0 { list.append((c, axis)) }
        }
        return list
    }()

    /// edgeBetween[a * 8 + b]: the edge joining corners a and b (-1 if they are not adjacent).
    static let edgeBetween: [Int] = {
        var table = [Int](repeating: -1, count: 64)
        for (e, (c, axis)) in edges.enumerated() {
            let d = c | (1 << axis)
            table[c * 8 + d] = e
            table[d * 8 + c] = e
        }
        return table
    }()

    /// Bit f set when the edge lies on face f (each edge lies on two faces).
    static let edgeFaceMask: [Int] = edges.map { corner, axis in
        var mask = 0
        for b in 0..<3 where b != axis { mask |= 1 << (2 * b + ((corner >> b) & 1)) }
        return mask
    }

    static let faceCycle: [[Int]] = {
        var cycles: [[Int]] = []
        for axis in 0..<3 {
            // (u, v, axis) is a right-handed frame, so (0,0),(1,0),(1,1),(0,1) in (u, v) runs
            // counter-clockwise around +axis; the side-0 face's outward normal is -axis.
            let (u, v) = ((axis + 1) % 3, (axis + 2) % 3)
            for side in 0..<2 {
                var uv = [(0, 0), (1, 0), (1, 1), (0, 1)]
                if side == 0 { uv.reverse() }
                cycles.append(uv.map { du, dv in (side << axis) | (du << u) | (dv << v) })
            }
        }
        return cycles
    }()
}
