import ArgumentParser
import Foundation
import PointETensor

/// What fixed row bands cost: BLAS.parallelSgemm on the full-size networks' product shapes
/// with bands of a fixed height (the same calls, so the same bits, on any thread count) against
/// one band per thread (the split before, whose bits depended on the thread count).
struct BenchBands: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bands",
        abstract: "parallelSgemm time per row-band height on full-size product shapes, against one band per thread.")

    @Option(parsing: .upToNextOption, help: "Products as MxNxK (C[M,N] = A[M,K] W[N,K]^T, as nn.Linear). Default: base40M image-grid batch 2 and upsample QKV, MLP in and out.")
    var shapes: [String] = ["2562x1536x512", "4353x1536x512", "4353x2048x512", "4353x512x2048", "1025x1536x512"]
    @Option(parsing: .upToNextOption, help: "Band heights (rows) to time.") var heights: [Int] = [32, 64, 128, 256, 512]
    @Option(help: "Timed runs of each (median reported).") var runs = 9

    func run() throws {
        let threads = Parallel.threadCount
        print("bench bands: \(threads) threads, median of \(runs) runs, kernels \(KernelVariant.active)")
        for text in shapes {
            let dims = text.split(separator: "x").compactMap { Int($0) }
            guard dims.count == 3, dims.allSatisfy({ $0 > 0 }) else { throw CommandFailure("--shapes: \"\(text)\" is not MxNxK") }
            let (m, n, k) = (dims[0], dims[1], dims[2])
            let a = Tensor.gaussian([m, k], std: 1, seed: 1, stream: 0)
            let w = Tensor.gaussian([n, k], std: 1, seed: 1, stream: 1)
            let c = Tensor(zeros: [m, n])
            // The split before: one band per thread, none under 32 rows.
            let perThread = min(threads, max(1, m / 32))
            let variants = [(m + perThread - 1) / perThread] + heights
            // Variants take turns within each round, so a disturbance hits them alike.
            var samples = Array(repeating: [Double](), count: variants.count)
            for round in 0...runs {
                for (i, bandRows) in variants.enumerated() {
                    let start = DispatchTime.now().uptimeNanoseconds
                    BLAS.parallelSgemm(transB: true, m: m, n: n, k: k, a: a.pointer, lda: k, b: w.pointer, ldb: k, c: c.pointer, ldc: n, bandRows: bandRows)
                    if round > 0 { samples[i].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
                }
            }
            let medians = samples.map { $0.sorted()[runs / 2] }
            let before = medians[0]
            let gflop = 2 * Double(m) * Double(n) * Double(k) / 1e9
            var line = String(format: "%@: one band per thread (%d rows) %.2f ms (%.0f GFLOP/s)", text, variants[0], before * 1000, gflop / before)
            for (height, t) in zip(heights, medians.dropFirst()) {
                line += String(format: "; %d rows %.2f ms (%.3fx)", height, t * 1000, t / before)
            }
            print(line)
        }
    }
}
