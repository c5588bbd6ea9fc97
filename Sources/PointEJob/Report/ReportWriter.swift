import Foundation
import PointEClusterBase

/// Writes the job's report (JobReportPage) on a thread of its own with its own connection to
/// the job store (WAL: its reads never wait for the coordinator's writes), so the thread that
/// answers peers only posts "this many prompts have finished" and never waits for a page.
/// Refreshes are throttled to one per `minimumIntervalMs`; the job's end, and `close`, write
/// at once. A failed write is logged with the page's path and tried again at the next refresh.
package final class ReportWriter: @unchecked Sendable {
    struct Request: Equatable {
        var finishedCount: Int
        var jobFinished: Bool
    }

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var wanted: Request?
    private var lastPosted: Request?
    private var closing = false
    private var running = true
    private var cpuTotal = 0.0
    private var writes = 0
    // Only the writer thread touches these.
    private var page: JobReportPage
    private let minimumIntervalMs: UInt64
    private let log: ClusterLog
    private let directory: JobDirectory

    package init(directory: JobDirectory, log: ClusterLog, rewriteAll: Bool, minimumIntervalMs: UInt64 = 5000) throws {
        self.directory = directory
        self.log = log
        self.minimumIntervalMs = minimumIntervalMs
        page = JobReportPage(directory: directory, store: try JobStore(path: directory.store), rewriteAll: rewriteAll)
        Thread.detachNewThread { [self] in serve() }
    }

    /// Asks for a refresh (cheap: the loop calls it every tick; nothing changes, nothing is written).
    package func post(finishedCount: Int, jobFinished: Bool) {
        let request = Request(finishedCount: finishedCount, jobFinished: jobFinished)
        condition.lock()
        defer { condition.unlock() }
        guard request != lastPosted else { return }
        lastPosted = request
        wanted = request
        condition.signal()
    }

    /// Writes what was last asked for (if not yet written) and ends the thread.
    package func close() {
        condition.lock()
        closing = true
        condition.signal()
        while running { condition.wait() }
        condition.unlock()
    }

    /// CPU seconds the writer thread spent writing pages, and how many refreshes it made.
    package var usage: (cpuSeconds: Double, refreshes: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (cpuTotal, writes)
    }

    private func serve() {
        var lastWritten: UInt64?
        condition.lock()
        while true {
            // Wait for a request that is due (the job's end and closing are due at once).
            while !closing, wanted == nil || !(wanted!.jobFinished || lastWritten.map { monotonicMilliseconds() >= $0 + minimumIntervalMs } ?? true) {
                if wanted == nil { condition.wait() } else {
                    let due = lastWritten! + minimumIntervalMs
                    _ = condition.wait(until: Date().addingTimeInterval(Double(due - min(due, monotonicMilliseconds())) / 1000))
                }
            }
            let request = wanted
            wanted = nil
            let last = closing
            condition.unlock()
            if let request {
                let cpuBefore = Self.threadCPUSeconds()
                do { try page.update(finished: request.jobFinished) } catch {
                    log.warning("\(directory.file("index.html")) (report pages in \(directory.file(JobReportPage.folder))): not updated: \(error)")
                }
                lastWritten = monotonicMilliseconds()
                let spent = Self.threadCPUSeconds() - cpuBefore
                condition.lock()
                cpuTotal += spent
                writes += 1
                condition.unlock()
            }
            condition.lock()
            if last && wanted == nil { break }
        }
        running = false
        condition.broadcast()
        condition.unlock()
    }

    /// CPU time of the calling thread.
    package static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
