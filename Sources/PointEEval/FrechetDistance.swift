import CBLAS
import Foundation

/// Feature statistics for P-FID (the reference's `fid_is.compute_statistics`): the mean, kept in
/// float32 as numpy returns it for float32 features, and the unbiased covariance in float64.
public struct FIDStatistics: Sendable {
    public let mu: [Float]
    /// dim x dim, row-major.
    public let sigma: [Double]
    public let dim: Int
    public let count: Int

    public init(mu: [Float], sigma: [Double]) {
        precondition(sigma.count == mu.count * mu.count, "FID statistics: sigma must be \(mu.count)x\(mu.count)")
        self.mu = mu
        self.sigma = sigma
        dim = mu.count
        count = 0
    }

    /// `features` holds `count` rows of `dim` values.
    public init(features: [Float], dim: Int, source: String = "features") throws {
        guard dim > 0, features.count % dim == 0 else {
            throw EvalError("\(source): \(features.count) values do not form rows of \(dim) features")
        }
        let n = features.count / dim
        guard n >= 2 else { throw EvalError("\(source): a covariance needs at least 2 feature rows, got \(n)") }
        var mean = [Double](repeating: 0, count: dim)
        for r in 0..<n { for c in 0..<dim { mean[c] += Double(features[r * dim + c]) } }
        for c in 0..<dim { mean[c] /= Double(n) }
        // np.cov centres in float64 with the float64 mean, then X^T X / (n - 1).
        var centred = [Double](repeating: 0, count: n * dim)
        for r in 0..<n { for c in 0..<dim { centred[r * dim + c] = Double(features[r * dim + c]) - mean[c] } }
        var cov = [Double](repeating: 0, count: dim * dim)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(dim), Int32(dim), Int32(n), 1 / Double(n - 1),
                    centred, Int32(dim), centred, Int32(dim), 0, &cov, Int32(dim))
        mu = mean.map { Float($0) }
        sigma = cov
        self.dim = dim
        count = n
    }

    /// The Frechet distance |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrtm(S1 S2)), as the
    /// reference's `frechet_distance`.
    ///
    /// tr(sqrtm(S1 S2)) is the sum of the square roots of the eigenvalues of S1 S2, which are those
    /// of the symmetric S1^1/2 S2 S1^1/2; two LAPACK symmetric eigendecompositions in double
    /// precision give it without the non-symmetric Schur form scipy's sqrtm uses (the trace is
    /// the same: sqrtm's diagonal in the Schur basis is the square roots of those eigenvalues).
    /// Eigenvalues that come out slightly negative by rounding contribute an imaginary part,
    /// which the reference drops (its real part is 0) unless it is large.
    public func frechetDistance(to other: FIDStatistics, eps: Double = 1e-6) throws -> Double {
        guard dim == other.dim else {
            throw EvalError("P-FID: feature statistics have different dimensions: \(dim) and \(other.dim)")
        }
        var diff2 = 0.0
        for c in 0..<dim {
            let d = mu[c] - other.mu[c]  // float32 like the reference's mean vectors
            diff2 += Double(d) * Double(d)
        }
        var trace1 = 0.0, trace2 = 0.0
        for i in 0..<dim { trace1 += sigma[i * dim + i]; trace2 += other.sigma[i * dim + i] }
        var covmeanTrace = try Self.traceSqrtProduct(sigma, other.sigma, n: dim)
        if !covmeanTrace.isFinite {
            // The reference's fallback for a singular product: eps on both diagonals.
            var a = sigma, b = other.sigma
            for i in 0..<dim { a[i * dim + i] += eps; b[i * dim + i] += eps }
            covmeanTrace = try Self.traceSqrtProduct(a, b, n: dim)
        }
        return diff2 + trace1 + trace2 - 2 * covmeanTrace
    }

    /// tr(sqrtm(A B)) for symmetric positive semi-definite A, B (n x n, row-major).
    static func traceSqrtProduct(_ a: [Double], _ b: [Double], n: Int) throws -> Double {
        guard a.allSatisfy(\.isFinite), b.allSatisfy(\.isFinite) else { return .nan }
        let (lambda, v) = try SymmetricEigen.decompose(a, n: n, vectors: true, what: "P-FID covariance")
        // A^1/2 = V diag(sqrt(lambda)) V^T; row i of `v` is eigenvector i (column-major storage).
        var scaled = v
        for i in 0..<n {
            let s = max(lambda[i], 0).squareRoot()
            for j in 0..<n { scaled[i * n + j] *= s }
        }
        var root = [Double](repeating: 0, count: n * n)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, v, Int32(n),
                    scaled, Int32(n), 0, &root, Int32(n))
        // M = A^1/2 B A^1/2 (symmetric).
        var rb = [Double](repeating: 0, count: n * n)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, root, Int32(n),
                    b, Int32(n), 0, &rb, Int32(n))
        var m = [Double](repeating: 0, count: n * n)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, rb, Int32(n),
                    root, Int32(n), 0, &m, Int32(n))
        for i in 0..<n {
            for j in (i + 1)..<max(i + 1, n) {
                let s = 0.5 * (m[i * n + j] + m[j * n + i])
                m[i * n + j] = s; m[j * n + i] = s
            }
        }
        let (mu, _) = try SymmetricEigen.decompose(m, n: n, vectors: false, what: "P-FID covariance product")
        var trace = 0.0
        var imaginary = 0.0
        for value in mu {
            if value >= 0 { trace += value.squareRoot() } else { imaginary = max(imaginary, (-value).squareRoot()) }
        }
        // The reference rejects products whose square root has a real imaginary part (> 1e-3).
        if imaginary > 1e-3 {
            throw EvalError("P-FID: the covariance product has a negative eigenvalue (imaginary component \(imaginary))")
        }
        return trace
    }
}
