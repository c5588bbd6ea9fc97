import Foundation

/// Work splitting over this process's threads for the kernels (matrix products too: OpenBLAS
/// runs single-threaded and BLAS.parallelSgemm splits rows here).
///
/// How work is split never depends on the thread count, only on the shapes (fixed row bands,
/// attention query blocks, element-wise chunks), so a result has the same bits whatever
/// `threadCount` is: a `pointe run` worker with 1 thread and `pointe generate` with all of
/// them give the same cloud.
public enum Parallel {
    /// The threads work is split over: `setThreadCount` (`--threads N`), else the cores this
    /// process may use (MachineCores: its affinity, capped by its cgroup's CPU quota).
    public static var threadCount: Int {
        setting.withLock { value in
            if let value { return value }
            // Computed on first use, so a command that pins itself first (--cpus) sees its pin.
            let cores = MachineCores.usable()
            value = cores
            return cores
        }
    }

    /// Sets the thread count for every kernel from now on (a command does it once at start,
    /// before any work; the tests switch it between runs). `threads` must be at least 1.
    public static func setThreadCount(_ threads: Int) {
        precondition(threads >= 1, "Parallel.setThreadCount(\(threads)): at least 1 thread")
        setting.withLock { $0 = threads }
    }

    private static let setting = Locked<Int?>(nil)

    /// Runs `body(i)` for i in 0..<iterations on up to `threadCount` threads and returns when
    /// all are done. With fewer threads than iterations, each thread takes the next iteration
    /// not yet taken until none is left (iterations of unequal cost keep every thread busy).
    ///
    /// The kernels hand disjoint slices of raw buffers to the iterations, which Swift's Sendable
    /// checking cannot see; since `concurrentPerform` does not return before every iteration
    /// has finished, the closure never outlives this call, and treating it as Sendable is sound
    /// as long as iterations write disjoint memory (every caller's contract).
    public static func forEach(_ iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 0 else { return }
        let width = min(iterations, threadCount)
        if width == iterations, width > 1 {
            withoutActuallyEscaping(body) { escapable in
                let shared = unsafeBitCast(escapable, to: (@Sendable (Int) -> Void).self)
                DispatchQueue.concurrentPerform(iterations: iterations) { shared($0) }
            }
            return
        }
        forEach(iterations, workers: width) { _, i in body(i) }
    }

    /// Runs `body(worker, i)` for i in 0..<iterations on `workers` threads (at most
    /// `threadCount`; worker is 0..<workers, for per-thread scratch), each taking the next
    /// iteration not yet taken until none is left: a thread slowed down (a shared VM's
    /// neighbour, an interrupt) takes fewer iterations instead of holding up the others at the
    /// end. Same Sendable reasoning as `forEach(_:_:)`.
    public static func forEach(_ iterations: Int, workers: Int, _ body: (_ worker: Int, _ iteration: Int) -> Void) {
        guard iterations > 0 else { return }
        let width = max(1, min(workers, iterations, threadCount))
        if width == 1 {
            for i in 0..<iterations { body(0, i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let shared = unsafeBitCast(escapable, to: (@Sendable (Int, Int) -> Void).self)
            let next = Locked(0)
            DispatchQueue.concurrentPerform(iterations: width) { worker in
                while true {
                    let i = next.withLock { taken -> Int in
                        defer { taken += 1 }
                        return taken
                    }
                    guard i < iterations else { return }
                    shared(worker, i)
                }
            }
        }
    }

    /// Runs `body(range)` over `0..<count` split into contiguous chunks, a few per thread.
    /// Small jobs (under `minimumPerChunk` items per chunk) run on the calling thread. Only for
    /// element-wise or row-wise work, where the chunk edges cannot change a result.
    public static func forChunks(_ count: Int, minimumPerChunk: Int = 1024, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threadCount * 4, max(1, count / max(1, minimumPerChunk)))
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
