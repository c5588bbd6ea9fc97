/// Vectorised exp and erf for GELU's hot loop (softmax uses the C kernel in CKernels, compiled
/// per instruction set, with the same exp polynomial).
///
/// Calling libm's erff/expf once per element cost a sizeable share of a transformer forward
/// pass; these evaluate eight lanes at a time with polynomials accurate to a few float ulps
/// (tests compare them with libm over the ranges the kernels see).
enum VectorMath {
    typealias V = SIMD8<Float>

    /// e^x: range reduction x = n ln2 + r (n by the 1.5*2^23 rounding trick, so no rounding
    /// instruction is needed on baseline x86-64), a degree-6 minimax polynomial for e^r, and
    /// 2^n assembled in the exponent bits. Inputs are clamped to the float range.
    @inline(__always)
    static func exp(_ x: V) -> V {
        // Clamp with selects: the generic pointwiseMin/Max are not inlined and cost a call per vector.
        let low = V(repeating: -87.33654), high = V(repeating: 88.37626)
        var clamped = x.replacing(with: low, where: x .< low)
        clamped = clamped.replacing(with: high, where: clamped .> high)
        let magic = V(repeating: 12_582_912)  // 1.5 * 2^23
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        // ln 2 split in a high part exact in float and a low correction (Cody-Waite).
        let r = clamped - n * 0.693_359_375 + n * 2.121_944_40e-4
        var p = V(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * (r * r) + r + 1
        let n32 = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        return y * unsafeBitCast((n32 &+ 127) &<< 23, to: V.self)
    }

    /// erf(x) (Abramowitz & Stegun 7.1.26: 1.5e-7 in exact arithmetic, below 5e-7 evaluated in
    /// float), odd-symmetric. In GELU that is an error of at most 2.5e-7 |x|.
    @inline(__always)
    static func erf(_ x: V) -> V {
        let negative = x .< 0
        let a = x.replacing(with: -x, where: negative)
        let t = 1 / (1 + 0.327_591_1 * a)
        var p = V(repeating: 1.061_405_429)
        p = p * t - 1.453_152_027
        p = p * t + 1.421_413_741
        p = p * t - 0.284_496_736
        p = p * t + 0.254_829_592
        let y = 1 - p * t * VectorMath.exp(-a * a)
        return y.replacing(with: -y, where: negative)
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Applies `f` to n floats in place, eight at a time; the tail goes through a padded vector
    /// so every element sees the same arithmetic.
    @inline(__always)
    static func map(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ f: (V) -> V) {
        var i = 0
        while i + 8 <= n {
            store(f(load(p + i)), p + i)
            i += 8
        }
        if i < n {
            var tail = V(repeating: 0)
            for j in 0..<(n - i) { tail[j] = p[i + j] }
            let out = f(tail)
            for j in 0..<(n - i) { p[i + j] = out[j] }
        }
    }
}
