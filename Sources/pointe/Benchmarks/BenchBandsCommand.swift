import ArgumentParser
import Foundation
import PointETensor

/// What bands fixed by the shape cost: BLAS.parallelSgemm on the full-size networks' product
/// shapes with bands of a fixed height, and with the even-count rule of a given maximum (both
/// the same calls, so the same bits, on any thread count), against one band per thread (the
/// split before, whose bits depended on the thread count).
struct BenchBands: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bands",
        abstract: "parallelSgemm time per row-band height on full-size product shapes, against one band per thread.")

    @Option(parsing: .upToNextOption, help: "Products as MxNxK (C[M,N] = A[M,K] W[N,K]^T, as nn.Linear). Default: base40M image-grid batch 2, the upsampler's QKV, MLP in and out, base40M image-grid and base40M-uncond QKV (a sample per call).")
    var shapes: [String] = ["2562x1536x512", "4353x1536x512", "4353x2048x512", "4353x512x2048", "1281x1536x512", "1025x1536x512"]
    @Option(parsing: .upToNextOption, help: "Band heights (rows) to time.") var heights: [Int] = [128, 256, 512, 640]
    @Option(help: "Timed runs of each (median reported).") var runs = 9
    @OptionGroup var threading: ThreadOptions

    func run() throws {
        try threading.apply()
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
            // Each height as fixed bands (the last one shorter), and as the maximum of the
            // even-count rule parallelSgemm uses (BLAS.bandRows(forRows:maxRows:)).
            let even = heights.map { BLAS.bandRows(forRows: m, maxRows: $0) }
            let variants = [(m + perThread - 1) / perThread] + heights + even
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
            for (i, height) in heights.enumerated() {
                let fixed = medians[1 + i], evenTime = medians[1 + heights.count + i]
                line += String(format: "\n  %4d rows %.2f ms (%.3fx); even count of at most %d: %d rows %.2f ms (%.3fx)",
                               height, fixed * 1000, fixed / before, height, even[i], evenTime * 1000, evenTime / before)
            }
            print(line)
        }
    }
}
