import Foundation
import PointEEngine
import PointEModels
import PointEMesh
import PointEClusterBase
import PointEWire

public struct WorkerOptions: Sendable {
    public var connect = "tcp://127.0.0.1:5555"
    public var name = PeerName.unique("worker")
    public var heartbeatIntervalMs: UInt64 = 1000
    /// Without any message from the coordinator for this long, the worker exits.
    public var coordinatorTimeoutMs: UInt64 = 120_000
    public var transport = TransportOptions()
    public var log = ClusterLog(role: "worker")
    public init() {}
}

/// A sampling worker: says hello, asks for a shard whenever it is idle, samples it on a
/// background thread with the engine (`PointEEngine`, the same one `pointe generate` uses) in
/// batches of the engine's size while the main thread keeps the connection alive (heartbeats,
/// progress), and streams one result per prompt back.
public final class Worker {
    public let options: WorkerOptions
    let engine: PointEEngine
    var log: ClusterLog { options.log }
    public private(set) var promptsSampled = 0

    public init(engine: PointEEngine, options: WorkerOptions = WorkerOptions()) {
        self.engine = engine
        self.options = options
    }

    struct EngineBox: @unchecked Sendable { let engine: PointEEngine }

    public typealias Exit = PeerSession.Exit

    /// Works until the job ends, the coordinator says goodbye, `stop` is raised (the current
    /// shard is handed back) or the coordinator is silent for too long.
    public func run(stop: SignalFlag? = nil) throws -> Exit {
        var hello = Pointe_Cluster_Hello()
        hello.role = .sampler
        hello.peerName = options.name
        hello.engineVersion = PointEEngine.version
        hello.models = ReleasedModel.allCases.filter(engine.models.has).map(\.rawValue)
        hello.batchSize = UInt32(engine.maxBatch)
        let box = EngineBox(engine: engine)
        let name = options.name
        return try PeerSession(options: options).run(hello: hello, capacity: UInt32(engine.maxBatch), stop: stop) { body, mailbox in
            guard case .shardAssignment(let shard) = body else { return .notATask }
            Thread.detachNewThread {
                Self.sample(shard, engine: box.engine, mailbox: mailbox, worker: name)
                mailbox.busy = false
            }
            var back = Pointe_Cluster_ShardReturn()
            back.shardID = shard.shardID
            back.attempt = shard.attempt
            back.reason = "worker \(name) is stopping"
            return .started(handBack: .shardReturn(back))
        }
    }

    /// Samples one shard on the calling (background) thread, posting progress and results.
    static func sample(_ shard: Pointe_Cluster_ShardAssignment, engine: PointEEngine, mailbox: PeerSession.Mailbox, worker: String) {
        func report(_ promptID: String, _ message: String, retryable: Bool) {
            var report = Pointe_Cluster_ErrorReport()
            report.shardID = shard.shardID
            report.attempt = shard.attempt
            report.promptID = promptID
            report.message = "\(message) (on \(worker))"
            report.retryable = retryable
            mailbox.post(.errorReport(report))
        }
        var promptIDs: [String] = [], requests: [PointEEngine.Request] = []
        for item in shard.prompts {
            let input: PointEEngine.Input = switch item.input {
            case .image(let data): .image(data)
            case .embeddingNpy(let data): .embedding(data)
            case .text(let text): .text(text)
            case nil: .text("")
            }
            do {
                let settings = try SamplingSettings(wire: item.hasSettings ? item.settings : shard.settings)
                requests.append(PointEEngine.Request(name: "prompt \(item.promptID)", seed: item.seed, input: input, settings: settings))
                promptIDs.append(item.promptID)
            } catch {
                // Settings this worker cannot even read will not work on a retry either.
                report(item.promptID, "prompt \(item.promptID): \(error)", retryable: false)
            }
        }
        var lastProgress: UInt64 = 0
        for start in stride(from: 0, to: requests.count, by: engine.maxBatch) {
            let chunk = Array(requests[start..<min(start + engine.maxBatch, requests.count)])
            let results = engine.sample(chunk) { p in
                let now = monotonicMilliseconds()
                guard now - lastProgress >= 250 else { return }
                lastProgress = now
                var message = Pointe_Cluster_Progress()
                message.shardID = shard.shardID
                message.stepsDone = UInt32(start * p.total / max(chunk.count, 1) + p.done)
                message.stepsTotal = UInt32(requests.count * p.total / max(chunk.count, 1))
                mailbox.post(.progress(message))
            }
            for (promptID, result) in zip(promptIDs[start..<(start + chunk.count)], results) {
                switch result {
                case .success(let output):
                    var message = Pointe_Cluster_CloudResult(promptID: promptID, shardID: shard.shardID, attempt: shard.attempt, cloud: output.cloud)
                    message.models = output.models.map(\.rawValue)
                    // The worker renders the job's preview so the coordinator needn't (it was
                    // most of the coordinator's CPU per result). Sent without one, the cloud's
                    // preview is rendered by the coordinator, which logs why that fails too.
                    message.previewPng = (try? PointCloudPreview.job.png(output.cloud)) ?? Data()
                    var timings = Pointe_Cluster_Timings()
                    timings.sampleSeconds = output.sampleSeconds
                    message.timings = timings
                    mailbox.post(.cloudResult(message))
                case .failure(let error):
                    report(promptID, error.description, retryable: true)
                }
            }
        }
    }
}
