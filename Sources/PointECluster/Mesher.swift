import Foundation
import PointEMesh

/// A meshing node: asks for mesh tasks whenever idle and meshes each cloud on a background
/// thread with its `MeshingEngine`, returning the encoded mesh files.
public final class Mesher {
    public let options: WorkerOptions
    let engine: MeshingEngine

    public init(engine: MeshingEngine, options: WorkerOptions = WorkerOptions()) {
        self.engine = engine
        self.options = options
    }

    struct EngineBox: @unchecked Sendable { let engine: MeshingEngine }

    public func run(stop: SignalFlag? = nil) throws -> PeerSession.Exit {
        var hello = Pointe_Cluster_Hello()
        hello.role = .mesher
        hello.peerName = options.name
        hello.engineVersion = engine.version
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

    static func mesh(_ task: Pointe_Cluster_MeshTask, engine: MeshingEngine, peer: String) -> MessageBody {
        let started = monotonicMilliseconds()
        do {
            let cloud = try CloudPacking.unpack(count: task.pointCount, coords: task.coords, colors: task.colors, source: "mesh task \(task.promptID)")
            let files = try engine.mesh(cloud, promptID: task.promptID, formats: task.formats, gridSize: Int(task.gridSize))
            var result = Pointe_Cluster_MeshResult()
            result.promptID = task.promptID
            result.files = files.map { file in
                var f = Pointe_Cluster_MeshFile()
                f.format = file.format
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
