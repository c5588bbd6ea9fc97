import Foundation

/// Work splitting over the machine's cores for the element-wise and row-wise kernels.
/// (Matrix products get their threads from OpenBLAS itself.)
public enum Parallel {
    public static let coreCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body(i)` for i in 0..<iterations on all cores and returns when all are done.
    ///
    /// The kernels hand disjoint slices of raw buffers to the iterations, which Swift's Sendable
    /// checking cannot see; since `concurrentPerform` does not return before every iteration
    /// has finished, the closure never outlives this call, and treating it as Sendable is sound
    /// as long as iterations write disjoint memory (every caller's contract).
    public static func forEach(_ iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 0 else { return }
        if iterations == 1 { body(0); return }
        withoutActuallyEscaping(body) { escapable in
            let shared = unsafeBitCast(escapable, to: (@Sendable (Int) -> Void).self)
            DispatchQueue.concurrentPerform(iterations: iterations) { shared($0) }
        }
    }

    /// Runs `body(range)` over `0..<count` split into contiguous chunks, a few per core.
    /// Small jobs (under `minimumPerChunk` items per chunk) run on the calling thread.
    public static func forChunks(_ count: Int, minimumPerChunk: Int = 1024, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(coreCount * 4, max(1, count / max(1, minimumPerChunk)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        let size = (count + chunks - 1) / chunks
        forEach(chunks) { c in
            let start = c * size
            let end = min(count, start + size)
            if start < end { body(start..<end) }
        }
    }
}
