import ArgumentParser
import Foundation
import PointECluster
import PointEClusterBase
import PointEJob

/// What `pointe run` and `pointe remesh` share: the opened job's coordinator serving its own
/// local worker and mesher processes (LocalPeerPool, over the coordinator's endpoint) with one
/// progress line, until the job ends, is drained, or has to stop.
struct LocalJobServing {
    var modelsDir: String
    /// How many workers and meshers, and each one's threads and CPUs.
    var placement: LocalPlacement
    /// Options every local worker and mesher gets (CURVE keys, log format).
    var peerArguments: [String]
    /// Options only workers get (batch, models to load at start).
    var workerArguments: [String]
    var restartBudget: Int
    var quiet: Bool

    /// The job's counts when it ended or was drained (`drained` says which). A peer pool that
    /// had to stop (a peer that cannot load its models, out of restarts) ends with exit 1, a
    /// signal with 130, each with what to run to resume.
    func serve(_ coordinator: Coordinator) throws -> (counts: JobStore.Counts, drained: Bool) {
        let stop = SignalFlag()
        let pool = LocalPeerPool(executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), restartBudget: restartBudget)
        defer { pool.stopAll() }
        let bar = quiet ? nil : JobProgressLine()
        var stopReason: String?
        let counts = try coordinator.run(shouldStop: {
            guard !stop.isRaised, stopReason == nil else { return true }
            do { stopReason = try pool.poll(coordinator: coordinator, now: monotonicMilliseconds()) } catch { stopReason = "\(error)" }
            return stopReason != nil
        }, onListening: { address in
            // A job with nothing left to do (one resumed when already complete) ends at once,
            // with no peer started: none can fail loading models it would not use.
            guard try coordinator.store.counts().pending > 0 else { return }
            let common = ["--connect", address, "--models-dir", modelsDir, "--parent-pid", String(getpid()), "--coordinator-timeout-ms", "30000", "--quiet"] + peerArguments
            pool.add(.worker, arguments: placement.workerArguments().map { common + workerArguments + $0 })
            pool.add(.mesher, arguments: placement.mesherArguments().map { common + $0 })
            try pool.startAll()
        }, onProgress: { bar?.update($0) })
        bar?.finish()
        if let stopReason {
            printError("\(coordinator.directory.path): stopped with \(counts.done)/\(counts.total) prompts done: \(stopReason); fix that and run the same command to resume")
            throw ExitCode(1)
        }
        if stop.isRaised { printError("stopped by signal; run the same command to resume"); throw ExitCode(130) }
        if pool.restartCount > 0 { printError("\(pool.restartCount) local peer restart(s) during the run") }
        return (counts, coordinator.drained)
    }
}
