import Foundation
import PointEEngine
import PointEMesh
import PointEClusterBase
import PointEWire

/// A meshing node: asks for mesh tasks whenever idle and meshes each cloud on a background
/// thread with the engine's `CloudMeshingEngine` (as `pointe mesh` does), returning the encoded
/// mesh files.
public final class Mesher {
    public let options: WorkerOptions
    let engine: CloudMeshingEngine

    public init(engine: CloudMeshingEngine, options: WorkerOptions = WorkerOptions()) {
        self.engine = engine
        self.options = options
    }

    struct EngineBox: @unchecked Sendable { let engine: CloudMeshingEngine }

    public func run(stop: SignalFlag? = nil) throws -> PeerSession.Exit {
        var hello = Pointe_Cluster_Hello()
        hello.role = .mesher
        hello.peerName = options.name
        hello.engineVersion = CloudMeshingEngine.version
        hello.batchSize = 1
        let box = EngineBox(engine: engine)
        let name = options.name
        return try PeerSession(options: options).run(hello: hello, capacity: 1, stop: stop) { body, mailbox in
            guard case .meshTask(let task) = body else { return .notATask }
            Thread.detachNewThread {
                mailbox.post(Self.mesh(task, engine: box.engine, peer: name))
                mailbox.busy = false
            }
            return .started(handBack: nil)
        }
    }

    static func mesh(_ task: Pointe_Cluster_MeshTask, engine: CloudMeshingEngine, peer: String) -> MessageBody {
        let started = monotonicMilliseconds()
        do {
            let cloud = try CloudPacking.unpack(count: task.pointCount, coords: task.coords, colors: task.colors, source: "mesh task \(task.promptID)")
            let formats = try task.formats.map { name in
                guard let format = TriMesh.FileFormat(rawValue: name) else { throw ClusterError("mesh task \(task.promptID): unknown mesh format \"\(name)\"") }
                return format
            }
            let files = try engine.meshFiles(cloud, formats: formats, settings: CloudMeshingEngine.Settings(gridSize: Int(task.gridSize)),
                                             source: "prompt \(task.promptID)")
            var result = Pointe_Cluster_MeshResult()
            result.promptID = task.promptID
            result.files = files.map { file in
                var f = Pointe_Cluster_MeshFile()
                f.format = file.format.rawValue
                f.data = file.data
                return f
            }
            var timings = Pointe_Cluster_Timings()
            timings.meshSeconds = Double(monotonicMilliseconds() - started) / 1000
            result.timings = timings
            return .meshResult(result)
        } catch {
            var report = Pointe_Cluster_ErrorReport()
            report.promptID = task.promptID
            report.message = "meshing \(task.promptID) on \(peer): \((error as? ClusterError)?.message ?? "\(error)")"
            report.retryable = true
            return .errorReport(report)
        }
    }
}
