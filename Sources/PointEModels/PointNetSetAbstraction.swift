import PointETensor

/// One PointNet++ single-scale set abstraction (reference `PointNetSetAbstraction`): sample
/// `npoint` centres by farthest point sampling, group up to `nsample` neighbours within `radius`
/// (offsets to the centre, then the neighbours' features), run the shared 1x1-conv MLP and
/// max-pool over each group. With `npoint == nil` (group all) the whole cloud is one group around
/// the origin and the coordinates are not centred.
public struct PointNetSetAbstraction: Sendable {
    public let npoint: Int?
    public let radius: Double
    public let nsample: Int
    public let layers: [PointwiseConvLayer]

    /// One cloud's result, point-major: centres [S, 3] and features [S, C].
    public struct Output: Sendable {
        public var xyz: [Float]
        public var features: [Float]
        public var width: Int
        public var fpsIndices: [Int]
        /// [S, nsample] neighbour indices (empty for group all).
        public var ballIndices: [Int32]
        public var count: Int { xyz.count / 3 }
    }

    public init(_ scope: ParameterScope, npoint: Int?, radius: Double, nsample: Int, inChannels: Int, mlp: [Int]) {
        self.npoint = npoint
        self.radius = radius
        self.nsample = nsample
        var layers: [PointwiseConvLayer] = []
        var last = inChannels
        for (i, width) in mlp.enumerated() {
            layers.append(PointwiseConvLayer(conv: scope.child("mlp_convs.\(i)"), norm: scope.child("mlp_bns.\(i)"),
                                             in: last, out: width))
            last = width
        }
        self.layers = layers
    }

    public var outChannels: Int { layers.last?.outChannels ?? 0 }

    /// Multiply-adds x 2 of the shared MLP for one cloud whose previous layer has `points` points.
    public func flops(points: Int) -> Double {
        let rows = Double(npoint.map { $0 * nsample } ?? points)
        return layers.reduce(0) { $0 + 2 * rows * Double($1.inChannels * $1.outChannels) }
    }

    /// Rows (grouped points) per MLP block: the widest activation block stays around 2 MB.
    static let rowsPerBlock = 2048

    /// `xyz` [n, 3] and optional `features` [n, featureWidth]; `start` is the FPS start index.
    public func callAsFunction(xyz: [Float], features: [Float]?, featureWidth: Int, start: Int) -> Output {
        let n = xyz.count / 3
        let inWidth = 3 + (features == nil ? 0 : featureWidth)
        precondition(inWidth == layers[0].inChannels, "set abstraction: \(inWidth) input channels for a \(layers[0].inChannels)-channel MLP")
        var centres: [Float]
        var fps: [Int] = []
        // members[s * groupSize + k]: the point index of group s's k-th member.
        var members: [Int32]
        let groups: Int, groupSize: Int
        if let npoint {
            groups = npoint
            groupSize = nsample
            fps = xyz.withUnsafeBufferPointer { PointNetSampling.farthestPoints($0.baseAddress!, count: n, samples: npoint, start: start) }
            centres = [Float](repeating: 0, count: npoint * 3)
            for (s, i) in fps.enumerated() { for c in 0..<3 { centres[s * 3 + c] = xyz[i * 3 + c] } }
            members = [Int32](repeating: 0, count: npoint * nsample)
            xyz.withUnsafeBufferPointer { p in
                centres.withUnsafeBufferPointer { q in
                    members.withUnsafeMutableBufferPointer { out in
                        PointNetSampling.ballQuery(p.baseAddress!, count: n, centres: q.baseAddress!, centreCount: npoint,
                                                   radius: radius, samples: nsample, into: out.baseAddress!)
                    }
                }
            }
        } else {
            // Group all: one group of every point around the origin (coordinates not centred).
            groups = 1
            groupSize = n
            centres = [0, 0, 0]
            members = (0..<Int32(n)).map { $0 }
        }
        // The grouping, MLP and pooling run over blocks of groups sized to stay in cache.
        let width = outChannels
        let widest = max(inWidth, layers.map(\.outChannels).max()!)
        let groupsPerBlock = max(1, min(groups, Self.rowsPerBlock / groupSize))
        let blockRows = groupsPerBlock * groupSize
        var pooled = [Float](repeating: 0, count: groups * width)
        var block = [Float](repeating: 0, count: blockRows * inWidth)
        var ping = [Float](repeating: 0, count: blockRows * widest)
        var pong = [Float](repeating: 0, count: blockRows * widest)
        let emptyFeatures: [Float] = []
        withBuffers(xyz, features ?? emptyFeatures, &block, &ping, &pong, &pooled) { p, f, g, p0, p1, out in
            for first in stride(from: 0, to: groups, by: groupsPerBlock) {
                let count = min(groupsPerBlock, groups - first)
                let rows = count * groupSize
                // Rows: member offset from its centre, then the member's features.
                for s in 0..<count {
                    let cx = centres[(first + s) * 3], cy = centres[(first + s) * 3 + 1], cz = centres[(first + s) * 3 + 2]
                    for k in 0..<groupSize {
                        let j = Int(members[(first + s) * groupSize + k])
                        let row = g.baseAddress! + (s * groupSize + k) * inWidth
                        row[0] = p[j * 3] - cx
                        row[1] = p[j * 3 + 1] - cy
                        row[2] = p[j * 3 + 2] - cz
                        if features != nil { (row + 3).update(from: f.baseAddress! + j * featureWidth, count: featureWidth) }
                    }
                }
                var input = UnsafePointer(g.baseAddress!)
                var buffers = (p0.baseAddress!, p1.baseAddress!)
                for layer in layers {
                    layer.apply(input, rows: rows, into: buffers.0)
                    input = UnsafePointer(buffers.0)
                    buffers = (buffers.1, buffers.0)
                }
                // Max over each group's members (after ReLU, so 0 is a safe start).
                for s in 0..<count {
                    let target = out.baseAddress! + (first + s) * width
                    for k in 0..<groupSize {
                        let row = input + (s * groupSize + k) * width
                        for c in 0..<width { target[c] = max(target[c], row[c]) }
                    }
                }
            }
        }
        let ball = npoint == nil ? [] : members
        return Output(xyz: centres, features: pooled, width: width, fpsIndices: fps, ballIndices: ball)
    }
}

/// Raw pointers to six arrays at once (two read, four written) for the blocked MLP loop.
private func withBuffers(_ a: [Float], _ b: [Float], _ c: inout [Float], _ d: inout [Float], _ e: inout [Float], _ f: inout [Float],
                         _ body: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>,
                                  UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void) {
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                d.withUnsafeMutableBufferPointer { d in
                    e.withUnsafeMutableBufferPointer { e in
                        f.withUnsafeMutableBufferPointer { f in body(a, b, c, d, e, f) }
                    }
                }
            }
        }
    }
}
