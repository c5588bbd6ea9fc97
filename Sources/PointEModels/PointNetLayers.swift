import PointETensor

/// `nn.BatchNorm1d/2d` in eval mode, folded once into a per-channel scale and shift
/// (y = x * weight / sqrt(running_var + eps) + (bias - running_mean * that scale)), which is how
/// PyTorch's CPU inference kernel evaluates it. `num_batches_tracked` is checked by the loader.
public struct BatchNorm: Sendable {
    public let scale: [Float]
    public let shift: [Float]

    public init(_ scope: ParameterScope, width: Int, eps: Float = 1e-5) {
        let weight = scope.tensor("weight", shape: [width], initialize: .layerNormWeight).values
        let bias = scope.tensor("bias", shape: [width], initialize: .bias).values
        let mean = scope.tensor("running_mean", shape: [width], initialize: .bias).values
        let variance = scope.tensor("running_var", shape: [width], initialize: .constant(.init(repeating: 1, count: width))).values
        var scale = [Float](repeating: 0, count: width)
        var shift = [Float](repeating: 0, count: width)
        for c in 0..<width {
            scale[c] = weight[c] / (variance[c] + eps).squareRoot()
            shift[c] = bias[c] - mean[c] * scale[c]
        }
        self.scale = scale
        self.shift = shift
    }

    /// Applies the normalisation (and a ReLU) in place to `rows` rows of `scale.count` channels.
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, relu: Bool) {
        let width = scale.count
        scale.withUnsafeBufferPointer { a in
            shift.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let row = x + r * width
                    if relu {
                        for c in 0..<width { row[c] = max(0, row[c] * a[c] + b[c]) }
                    } else {
                        for c in 0..<width { row[c] = row[c] * a[c] + b[c] }
                    }
                }
            }
        }
    }
}

/// A 1x1 `nn.Conv2d` (weight [out, in, 1, 1]) followed by BatchNorm2d and ReLU: the shared MLP
/// layer of a set abstraction, applied to every grouped point independently.
public struct PointwiseConvLayer: Sendable {
    public let weight: Tensor  // [out, in, 1, 1], read as [out, in]
    public let bias: Tensor
    public let norm: BatchNorm
    /// The conv bias folded into the BatchNorm shift (bias * scale + shift), so one pass after
    /// the product applies bias, normalisation and ReLU.
    let foldedShift: [Float]

    public init(conv: ParameterScope, norm normScope: ParameterScope, in inChannels: Int, out outChannels: Int) {
        // PyTorch's default conv init scale (kaiming-uniform, a=sqrt(5)) has std 1/sqrt(3 fan_in).
        weight = conv.tensor("weight", shape: [outChannels, inChannels, 1, 1],
                             initialize: .gaussian(std: 1 / (3 * Float(inChannels)).squareRoot()))
        bias = conv.tensor("bias", shape: [outChannels], initialize: .bias)
        let bn = BatchNorm(normScope, width: outChannels)
        let b = bias.values
        norm = bn
        foldedShift = (0..<outChannels).map { b[$0] * bn.scale[$0] + bn.shift[$0] }
    }

    public var inChannels: Int { weight.shape[1] }
    public var outChannels: Int { weight.shape[0] }

    /// x [rows, in] -> out [rows, out] on the calling thread (callers parallelise over clouds).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        let outC = outChannels, inC = inChannels
        BLAS.sgemm(transA: false, transB: true, m: rows, n: outC, k: inC, a: x, lda: inC,
                   b: weight.pointer, ldb: inC, beta: 0, c: out, ldc: outC)
        norm.scale.withUnsafeBufferPointer { a in
            foldedShift.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let row = out + r * outC
                    for c in 0..<outC { row[c] = max(0, row[c] * a[c] + b[c]) }
                }
            }
        }
    }
}
