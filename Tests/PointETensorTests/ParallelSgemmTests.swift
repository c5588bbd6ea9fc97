import XCTest
@testable import PointETensor

final class ParallelSgemmTests: XCTestCase {
    /// The row-band split gives the same product as one call (to float rounding: OpenBLAS blocks
    /// a band differently from the whole), for band-divisible and ragged sizes.
    func testBandsMatchASingleCall() {
        for m in [1, 31, 64, 97, 300] {
            let a = Tensor.gaussian([m, 19], std: 1, seed: 1, stream: UInt64(m))
            let b = Tensor.gaussian([23, 19], std: 1, seed: 2, stream: UInt64(m))
            let whole = Tensor(zeros: [m, 23]), split = Tensor(zeros: [m, 23])
            BLAS.sgemm(transA: false, transB: true, m: m, n: 23, k: 19, a: a.pointer, lda: 19, b: b.pointer, ldb: 19,
                       c: whole.pointer, ldc: 23)
            BLAS.parallelSgemm(transB: true, m: m, n: 23, k: 19, a: a.pointer, lda: 19, b: b.pointer, ldb: 19,
                               c: split.pointer, ldc: 23)
            XCTAssertLessThan(whole.maxAbsDifference(split), 1e-5 * max(1, whole.maxAbs), "m = \(m)")
        }
    }
}
