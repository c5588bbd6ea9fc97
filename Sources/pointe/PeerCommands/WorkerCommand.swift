import ArgumentParser
import Foundation
import PointEEngine
import PointECluster
import PointEClusterBase
import PointEJob
import PointEModels
import PointETensor

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Sample shards for a coordinator: loads the models once, asks for work while idle.",
        usage: "pointe worker --connect <endpoint> [--models-dir <dir>] [<options>]",
        discussion: """
        Models come from --models-dir (NAME.json + NAME.safetensors from `pointe models \
        init-random`, or released NAME.pt), through the same engine `pointe generate` uses. \
        Text and image prompts are embedded with CLIP from --models-dir, loaded when the first \
        prompt needs it (--clip loads it at start, so a missing CLIP fails at once). On SIGTERM \
        the worker hands its current shard back.

        Examples:
          pointe worker --connect tcp://head:5555 --batch 4
          pointe worker --connect tcp://head:5555 --threads 8 --preload base40M-textvec
        """)

    @Option(help: "Coordinator endpoint.") var connect = "tcp://127.0.0.1:5555"
    @Option(name: .customLong("models-dir"), help: "Directory holding the model files. Default: the model cache (\(ModelCache.defaultDescription)), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    var modelsDir: String { modelsDirOption ?? ModelCache.defaultDirectory() }
    @Option(parsing: .unconditional, help: "Prompts sampled together.") var batch = 4
    @Option(help: "Load these models at start (repeatable), so a missing file fails now.") var preload: [ReleasedModel] = []
    @Option(help: "Peer name (default: worker@HOST:PID:RANDOM).") var name: String?
    @Option(parsing: .unconditional, help: "Exit after this many milliseconds without a message from the coordinator.") var coordinatorTimeoutMs: UInt64 = 120_000
    @Option(help: ArgumentHelp("Exit when this process (the launcher) is gone; set by pointe run for its own peers.", visibility: .hidden)) var parentPid: Int32?
    @Flag(help: "Load CLIP at start (it is loaded anyway when the first text or image prompt needs it).") var clip = false
    @OptionGroup var threading: ThreadOptions
    @OptionGroup var security: PeerSecurityOptions
    @OptionGroup var logging: LogOptions
    @Flag(help: "Only warnings on standard error.") var quiet = false

    func validate() throws {
        try OptionBounds.check(batch, OptionBounds.batch, "--batch")
        try OptionBounds.check(coordinatorTimeoutMs, 100...OptionBounds.timeoutMs.upperBound, "--coordinator-timeout-ms")
    }

    func run() throws {
        try threading.apply()
        try logging.apply()
        var options = WorkerOptions()
        options.connect = connect
        if let name { options.name = name }
        options.coordinatorTimeoutMs = coordinatorTimeoutMs
        options.transport = try security.transport()
        options.log = ClusterLog(role: "worker \(getpid())", quiet: quiet)
        options.log.info("\(Parallel.threadCount) thread(s) on CPUs \(CPUSet.current())")
        let models = ModelDirectory(modelsDir)
        let engine = PointEEngine(models: models, maxBatch: batch)
        loadOrExit("worker \(options.name)") {
            for model in preload { _ = try models.diffusionNetwork(model) }
            if clip { _ = try models.clipModel() }
        }
        let stop = SignalFlag()
        if let parentPid {
            // A launcher killed without cleanup must not leave workers behind.
            Thread.detachNewThread {
                while getppid() == parentPid { usleep(200_000) }
                stop.raise(SIGHUP)
            }
        }
        endPeerProcess(try Worker(engine: engine, options: options).run(stop: stop), log: options.log)
    }
}
