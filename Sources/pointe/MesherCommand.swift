import ArgumentParser
import Foundation
import PointEEngine
import PointECluster
import PointEMesh
import PointEModels

/// The SDF meshing engine a mesher node hosts: the SDF network loaded once, each cloud meshed
/// by `PointCloudMesher` (grid + marching cubes + nearest-point colours) and encoded per format.
final class SDFMeshingEngine: MeshingEngine {
    let model: CrossAttentionPointCloudSDFModel
    let version = "pointe-mesher/1"

    init(modelsDirectory: String) throws {
        model = try MeshCommand.loadSDF(directory: modelsDirectory)
    }

    func mesh(_ cloud: PointCloud, promptID: String, formats: [String], gridSize: Int) throws -> [(format: String, data: Data)] {
        guard gridSize >= 2 else { throw ClusterError("prompt \(promptID): mesh grid size \(gridSize) is below 2") }
        let result = try PointCloudMesher(model: model, gridSize: gridSize).mesh(cloud, source: "prompt \(promptID)")
        // The writers are file based: encode through a private temporary file per format.
        return try formats.map { format in
            let path = NSTemporaryDirectory() + "pointe-mesh-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).\(format)"
            defer { unlink(path) }
            try result.mesh.write(to: path)
            guard let data = FileManager.default.contents(atPath: path) else { throw ClusterError("cannot read back \(path)") }
            return (format, data)
        }
    }
}

struct MesherCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesher",
        abstract: "Mesh clouds for a coordinator (SDF grid + marching cubes); asks for work while idle.",
        discussion: "The SDF model comes from --models-dir (sdf.json + sdf.safetensors, or sdf.pt).")

    @Option(help: "Coordinator endpoint.") var connect = "tcp://127.0.0.1:5555"
    @Option(name: .customLong("models-dir"), help: "Directory holding the SDF model files. Default: the model cache ($POINTE_HOME, else ~/.cache/pointe), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    var modelsDir: String { modelsDirOption ?? ModelCache.defaultDirectory() }
    @Option(help: "Peer name (default: mesher@HOST:PID:RANDOM).") var name: String?
    @Option(help: "Exit after this many milliseconds without a message from the coordinator.") var coordinatorTimeoutMs: UInt64 = 120_000
    @Option(help: "Exit when this process (the launcher) is gone.") var parentPid: Int32?
    @OptionGroup var security: PeerSecurityOptions
    @OptionGroup var logging: LogOptions
    @Flag(help: "Only warnings on standard error.") var quiet = false

    func run() throws {
        try logging.apply()
        var options = WorkerOptions()
        options.connect = connect
        options.name = name ?? PeerName.unique("mesher")
        options.coordinatorTimeoutMs = coordinatorTimeoutMs
        options.transport = try security.transport()
        options.log = ClusterLog(role: "mesher \(getpid())", quiet: quiet)
        let engine = try SDFMeshingEngine(modelsDirectory: modelsDir)
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
