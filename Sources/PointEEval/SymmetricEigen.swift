import CLAPACK

/// Eigendecomposition of a symmetric matrix by LAPACK's dsyev (double precision, OpenBLAS).
enum SymmetricEigen {
    /// `matrix` is n x n, symmetric (either triangle is read; the layout does not matter).
    /// Returns eigenvalues ascending and, when requested, eigenvectors as the columns of a
    /// column-major n x n array (i.e. row i of the returned array is eigenvector i).
    static func decompose(_ matrix: [Double], n: Int, vectors: Bool, what: String) throws -> (values: [Double], vectors: [Double]) {
        precondition(matrix.count == n * n)
        guard n > 0 else { return ([], []) }
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        var jobz: CChar = vectors ? 86 : 78  // "V" / "N"
        var uplo: CChar = 85  // "U"
        var size = Int32(n), lda = Int32(n), info: Int32 = 0
        // Workspace query first, then the decomposition.
        var query = 0.0
        var lwork: Int32 = -1
        dsyev_(&jobz, &uplo, &size, &a, &lda, &w, &query, &lwork, &info, 1, 1)
        guard info == 0 else { throw EvalError("\(what): LAPACK dsyev workspace query failed (info \(info))") }
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: max(1, Int(lwork)))
        dsyev_(&jobz, &uplo, &size, &a, &lda, &w, &work, &lwork, &info, 1, 1)
        guard info == 0 else {
            throw EvalError("\(what): LAPACK dsyev did not converge on the \(n)x\(n) matrix (info \(info); non-finite entries?)")
        }
        return (w, vectors ? a : [])
    }
}
