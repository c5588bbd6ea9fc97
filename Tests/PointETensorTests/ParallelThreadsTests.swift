import Foundation
import XCTest
@testable import PointETensor

/// The thread count bounds how many iterations run at once, and results do not depend on it.
final class ParallelThreadsTests: XCTestCase {
    override func tearDown() { Parallel.setThreadCount(MachineCores.usable()) }

    func testForEachRunsEveryIterationOnceOnAtMostThreadCountThreads() {
        for threads in [1, 2, 3] {
            Parallel.setThreadCount(threads)
            let state = Locked((running: 0, peak: 0, seen: [Int]()))
            Parallel.forEach(40) { i in
                state.withLock { $0.running += 1; $0.peak = max($0.peak, $0.running); $0.seen.append(i) }
                usleep(2000)
                state.withLock { $0.running -= 1 }
            }
            let result = state.withLock { $0 }
            XCTAssertEqual(result.seen.sorted(), Array(0..<40), "threads \(threads)")
            XCTAssertLessThanOrEqual(result.peak, threads, "threads \(threads): \(result.peak) iterations ran at once")
        }
    }

    /// The worker-indexed loop (attention's per-worker scratch): every iteration once, worker
    /// indices below the worker count, one iteration at a time per worker, and iterations taken
    /// as workers free up, so a worker whose iterations are slow takes fewer of them (a
    /// round-robin split would give both workers 20 of the 40).
    func testWorkerLoopTakesIterationsAsWorkersFreeUp() {
        Parallel.setThreadCount(2)
        let state = Locked((seen: [Int](), busy: Set<Int>(), clash: false, perWorker: [0, 0], badWorker: false))
        Parallel.forEach(40, workers: 2) { worker, i in
            state.withLock {
                if worker < 0 || worker >= 2 { $0.badWorker = true; return }
                $0.clash = $0.clash || $0.busy.contains(worker)
                $0.busy.insert(worker); $0.seen.append(i); $0.perWorker[worker] += 1
            }
            usleep(worker == 0 ? 8000 : 1000)  // worker 0 is the slowed-down core
            state.withLock { _ = $0.busy.remove(worker) }
        }
        let result = state.withLock { $0 }
        XCTAssertFalse(result.badWorker, "a worker index outside 0..<2")
        XCTAssertEqual(result.seen.sorted(), Array(0..<40))
        XCTAssertFalse(result.clash, "one worker ran two iterations at once")
        XCTAssertLessThan(result.perWorker[0], result.perWorker[1], "iterations per worker \(result.perWorker)")
        Parallel.setThreadCount(1)
        var order = [Int]()
        Parallel.forEach(5, workers: 3) { worker, i in XCTAssertEqual(worker, 0); order.append(i) }
        XCTAssertEqual(order, Array(0..<5), "one thread: in order on worker 0")
    }

    /// Bands come from the shape alone: one under 64 rows, else an even count of at most 640
    /// rows each.
    func testBandHeightsFollowTheShape() {
        XCTAssertEqual([1, 63, 64, 640, 1025, 1026, 1281, 2562, 4353].map { BLAS.bandRows(forRows: $0) },
                       [1, 63, 32, 320, 513, 513, 321, 427, 545])
        XCTAssertEqual(BLAS.bandRows(forRows: 4353, maxRows: 256), 242, "18 bands of at most 256 rows")
    }

    /// parallelSgemm's bands are the same calls whatever the thread count, so its product has
    /// the same bits on 1, 2 or 3 threads (one band per thread did not: OpenBLAS rounds a row
    /// differently in calls of other heights), for sizes below, at and across band edges.
    func testSgemmBitsDoNotDependOnTheThreadCount() {
        for m in [31, 128, 300, 2000] {
            let a = Tensor.gaussian([m, 96], std: 1, seed: 1, stream: UInt64(m))
            let b = Tensor.gaussian([200, 96], std: 1, seed: 2, stream: UInt64(m))
            let runs = [1, 2, 3].map { threads -> [UInt32] in
                Parallel.setThreadCount(threads)
                let c = Tensor(zeros: [m, 200])
                BLAS.parallelSgemm(transB: true, m: m, n: 200, k: 96, a: a.pointer, lda: 96, b: b.pointer, ldb: 96, c: c.pointer, ldc: 200)
                return c.values.map(\.bitPattern)
            }
            let differing = runs.dropFirst().map { run in zip(run, runs[0]).filter { $0 != $1 }.count }
            XCTAssertEqual(differing, [0, 0], "m = \(m): values that differ on 2 and on 3 threads from 1 thread")
        }
    }
}
