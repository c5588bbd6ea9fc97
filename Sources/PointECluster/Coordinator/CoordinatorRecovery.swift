import Foundation
import PointEClusterBase
import PointEJob

/// Resuming a job: what a coordinator repairs in its directory before it serves.
extension Coordinator {
    /// What a resume did and how long its two passes over the finished prompts took.
    public struct RecoveryReport: Sendable {
        public var verifiedPrompts = 0
        public var reopenedPrompts = 0
        public var verificationSeconds = 0.0
        public var manifestLines = 0
        public var manifestSeconds = 0.0
    }

    /// Prompts per verification chunk: bounded memory, and enough files to keep every core hashing.
    static let recoveryChunk = 2000

    /// What a restart must repair before serving: temp files of interrupted writes, shards left
    /// running, outputs that no longer match their checksums, and manifest.jsonl. Finished
    /// prompts are walked in chunks (outputs of a chunk in one read, its files hashed in
    /// parallel), so memory stays bounded and the time is the hashing, spread over the cores.
    @discardableResult
    public func recover(retryFailed: Bool = false) throws -> RecoveryReport {
        var report = RecoveryReport()
        for path in directory.removeStaleTemporaryFiles() { log.info("removed stale temporary file \(path)") }
        let interrupted = try store.requeueInterrupted()
        if interrupted > 0 { log.info("re-queued \(interrupted) shard(s) that were running when the coordinator stopped") }
        if retryFailed {
            let n = try store.retryFailed()
            if n > 0 {
                log.info("--retry-failed: \(n) failed prompt(s) queued again with a fresh budget")
                recoveryChangedUnfinished = true
            }
        }
        var started = monotonicMilliseconds()
        var after = -1
        while true {
            let chunk = try store.prompts(status: [.done, .meshing], afterIndex: after, limit: Self.recoveryChunk)
            guard let last = chunk.last else { break }
            after = last.index
            let outputs = try store.outputs(promptIDs: chunk.map(\.id))
            for bad in OutputVerification.failures(of: chunk.map { ($0.id, outputs[$0.id] ?? []) }, in: directory) {
                log.warning("\(bad.path): \(bad.reason); prompt \(bad.promptID) will be sampled again")
                try store.reopen(promptID: bad.promptID)
                report.reopenedPrompts += 1
            }
            report.verifiedPrompts += chunk.count
        }
        report.verificationSeconds = Double(monotonicMilliseconds() - started) / 1000
        if report.reopenedPrompts > 0 {
            log.info("\(report.reopenedPrompts) prompt(s) reopened after output verification")
            recoveryChangedUnfinished = true
        }
        // After a remesh: old meshes it replaced but had not deleted yet when it stopped.
        if try store.meshGeneration() > 0 {
            for path in directory.removeUnreferencedMeshes(referenced: try store.outputPaths()) { log.info("removed replaced mesh \(path)") }
        }
        started = monotonicMilliseconds()
        report.manifestLines = try manifest.rewrite()
        report.manifestSeconds = Double(monotonicMilliseconds() - started) / 1000
        doneAtStart = try store.counts().done
        log.info("resume: \(report.verifiedPrompts) finished prompt(s) verified in \(String(format: "%.2f", report.verificationSeconds)) s, "
                 + "\(report.manifestLines) manifest line(s) rewritten in \(String(format: "%.2f", report.manifestSeconds)) s")
        return report
    }
}
