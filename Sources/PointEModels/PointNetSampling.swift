import PointETensor

/// The sampling and neighbourhood steps of PointNet++ set abstraction, on one cloud stored
/// point-major ([N, 3] row-major), in float32 with the reference's arithmetic so the chosen
/// indices agree with it (ties and radius boundaries included).
public enum PointNetSampling {
    /// Farthest point sampling: starts at `start`, then repeatedly takes the point whose squared
    /// distance to the chosen set is largest (the first such index on ties).
    public static func farthestPoints(_ xyz: UnsafePointer<Float>, count n: Int, samples: Int, start: Int) -> [Int] {
        precondition(start >= 0 && start < n, "farthest point sampling: start index \(start) outside 0..<\(n)")
        var chosen = [Int](repeating: 0, count: samples)
        // 1e10 is the reference's "not yet reached" distance.
        var distance = [Float](repeating: 1e10, count: n)
        var farthest = start
        distance.withUnsafeMutableBufferPointer { d in
            for i in 0..<samples {
                chosen[i] = farthest
                let cx = xyz[farthest * 3], cy = xyz[farthest * 3 + 1], cz = xyz[farthest * 3 + 2]
                var best: Float = -.infinity
                var bestIndex = 0
                for j in 0..<n {
                    let dx = xyz[j * 3] - cx, dy = xyz[j * 3 + 1] - cy, dz = xyz[j * 3 + 2] - cz
                    let dist = (dx * dx + dy * dy) + dz * dz
                    if dist < d[j] { d[j] = dist }
                    if d[j] > best { best = d[j]; bestIndex = j }
                }
                farthest = bestIndex
            }
        }
        return chosen
    }

    /// Ball query: for each centre, the first `samples` point indices (ascending) whose squared
    /// distance is not above radius^2, padded with the first one found. Distances use the
    /// reference's expansion -2 c.p + |c|^2 + |p|^2 (not (c - p)^2): the two differ in the last
    /// bits, which decides points on the sphere's boundary.
    public static func ballQuery(_ xyz: UnsafePointer<Float>, count n: Int, centres: UnsafePointer<Float>, centreCount s: Int,
                                 radius: Double, samples: Int, into out: UnsafeMutablePointer<Int32>) {
        // The reference compares float32 distances with a Python float, which torch rounds to float32.
        let r2 = Float(radius * radius)
        var pointNorms = [Float](repeating: 0, count: n)
        for j in 0..<n {
            let x = xyz[j * 3], y = xyz[j * 3 + 1], z = xyz[j * 3 + 2]
            pointNorms[j] = (x * x + y * y) + z * z
        }
        for c in 0..<s {
            let cx = centres[c * 3], cy = centres[c * 3 + 1], cz = centres[c * 3 + 2]
            let centreNorm = (cx * cx + cy * cy) + cz * cz
            let row = out + c * samples
            var found = 0
            for j in 0..<n where found < samples {
                let dot = (cx * xyz[j * 3] + cy * xyz[j * 3 + 1]) + cz * xyz[j * 3 + 2]
                let d = (-2 * dot + centreNorm) + pointNorms[j]
                if !(d > r2) {
                    row[found] = Int32(j)
                    found += 1
                }
            }
            // A centre is one of the points, so at least one is always found; NaN input is the
            // only way to find none, and then the centre stands for its own neighbourhood.
            let first = found > 0 ? row[0] : 0
            for k in found..<samples { row[k] = first }
        }
    }
}
