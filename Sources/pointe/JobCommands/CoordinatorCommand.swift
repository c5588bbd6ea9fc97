import ArgumentParser
import Foundation
import PointECluster
import PointEClusterBase
import PointEJob
import PointEDiffusion
import PointEEngine
import PointEModels

struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Serve a job to workers over ZeroMQ until every prompt is done or failed.",
        discussion: """
        Creates the job directory from PROMPTS (plain text, one prompt a line, or JSON Lines with \
        prompt|image|embedding, id, seed, model, upsample, steps, upsample_steps, guidance, sampler), or resumes \
        the job already there. Workers connect with `pointe worker --connect ADDR`.

        Examples:
          pointe coordinator prompts.txt -o out/ --bind tcp://0.0.0.0:5555 --curve-key head.key --allow-keys peers/
        """)

    @Argument(help: "Prompt file (omit when resuming).") var prompts: String?
    @OptionGroup var job: JobOptions
    @Option(help: "ZeroMQ endpoint to bind.") var bind = "tcp://127.0.0.1:5555"
    @Flag(help: "Keep serving (status queries) after the job ends instead of exiting.") var keepServing = false
    @OptionGroup var security: CoordinatorSecurityOptions
    @OptionGroup var logging: LogOptions

    func run() throws {
        try logging.apply()
        let log = ClusterLog(role: "coordinator", quiet: job.quiet)
        let coordinator = try job.openJob(prompts: prompts, bind: bind, transport: try security.transport(), log: log, exitWhenDone: !keepServing)
        let stop = SignalFlag()
        let counts = try coordinator.run(shouldStop: { stop.isRaised })
        if stop.isRaised { log.info("stopped by signal; resume with the same command"); throw ExitCode(130) }
        if coordinator.drained {
            print("\(coordinator.directory.path): drained with \(counts.done)/\(counts.total) prompts done, \(counts.failed) failed, "
                + "\(counts.pending) pending; run the same command to resume")
            return
        }
        try reportEnd(counts, directory: coordinator.directory, store: coordinator.store)
    }
}

/// Prints the end-of-job summary; non-zero exit when any prompt failed.
func reportEnd(_ counts: JobStore.Counts, directory: JobDirectory, store: JobStore) throws {
    print("\(directory.path): \(counts.done)/\(counts.total) prompts done, \(counts.failed) failed (manifest: \(directory.manifest))")
    guard counts.failed == 0, counts.pending == 0 else {
        for prompt in try store.prompts(status: [.failed]) { printError("failed \(prompt.id): \(prompt.error ?? "")") }
        if counts.pending > 0 { printError("\(counts.pending) prompt(s) still pending") }
        printError("resume with --retry-failed to try the failed prompts again")
        throw ExitCode(1)
    }
}
