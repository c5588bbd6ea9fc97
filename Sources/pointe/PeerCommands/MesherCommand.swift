import ArgumentParser
import Foundation
import PointEEngine
import PointECluster
import PointEClusterBase
import PointEWire
import PointEMesh
import PointEModels
import PointETensor

struct MesherCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesher",
        abstract: "Mesh clouds for a coordinator (SDF grid + marching cubes); asks for work while idle.",
        usage: "pointe mesher --connect <endpoint> [--models-dir <dir>] [<options>]",
        discussion: "The SDF model comes from --models-dir (sdf.json + sdf.safetensors, or sdf.pt).\n\nExamples:\n  pointe mesher --connect tcp://head:5555 --models-dir ~/models\n  pointe mesher --connect tcp://head:5555 --curve-key me.key --server-key head.pub")

    @Option(help: "Coordinator endpoint.") var connect = "tcp://127.0.0.1:5555"
    @Option(name: .customLong("models-dir"), help: "Directory holding the SDF model files. Default: the model cache (\(ModelCache.defaultDescription)), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    var modelsDir: String { modelsDirOption ?? ModelCache.defaultDirectory() }
    @Option(help: "Peer name (default: mesher@HOST:PID:RANDOM).") var name: String?
    @Option(parsing: .unconditional, help: "Exit after this many milliseconds without a message from the coordinator.") var coordinatorTimeoutMs: UInt64 = 120_000
    @Option(help: ArgumentHelp("Exit when this process (the launcher) is gone; set by pointe run for its own peers.", visibility: .hidden)) var parentPid: Int32?
    @OptionGroup var threading: ThreadOptions
    @OptionGroup var security: PeerSecurityOptions
    @OptionGroup var logging: LogOptions
    @Flag(help: "Only warnings on standard error.") var quiet = false

    func validate() throws {
        try OptionBounds.check(coordinatorTimeoutMs, 100...OptionBounds.timeoutMs.upperBound, "--coordinator-timeout-ms")
    }

    func run() throws {
        try threading.apply()
        try logging.apply()
        var options = WorkerOptions()
        options.connect = connect
        options.name = name ?? PeerName.unique("mesher")
        options.coordinatorTimeoutMs = coordinatorTimeoutMs
        options.transport = try security.transport()
        options.log = ClusterLog(role: "mesher \(getpid())", quiet: quiet)
        options.log.info("\(Parallel.threadCount) thread(s) on CPUs \(CPUSet.current())")
        let engine = CloudMeshingEngine(models: ModelDirectory(modelsDir))
        loadOrExit("mesher \(options.name)") { try engine.preload() }
        let stop = SignalFlag()
        if let parentPid {
            Thread.detachNewThread {
                while getppid() == parentPid { usleep(200_000) }
                stop.raise(SIGHUP)
            }
        }
        endPeerProcess(try Mesher(engine: engine, options: options).run(stop: stop), log: options.log)
    }
}
