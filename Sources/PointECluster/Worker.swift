import Foundation
import PointEMesh

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
/// background thread in batches of the engine's size while the main thread keeps the
/// connection alive (heartbeats, progress), and streams one result per prompt back.
public final class Worker {
    public let options: WorkerOptions
    let engine: SamplingEngine
    var log: ClusterLog { options.log }
    public private(set) var promptsSampled = 0

    public init(engine: SamplingEngine, options: WorkerOptions = WorkerOptions()) {
        self.engine = engine
        self.options = options
    }

    struct EngineBox: @unchecked Sendable { let engine: SamplingEngine }

    public typealias Exit = PeerSession.Exit

    /// Works until the job ends, the coordinator says goodbye, `stop` is raised (the current
    /// shard is handed back) or the coordinator is silent for too long.
    public func run(stop: SignalFlag? = nil) throws -> Exit {
        var hello = Pointe_Cluster_Hello()
        hello.role = .sampler
        hello.peerName = options.name
        hello.engineVersion = engine.version
        hello.models = engine.hostedModels
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
    static func sample(_ shard: Pointe_Cluster_ShardAssignment, engine: SamplingEngine, mailbox: PeerSession.Mailbox, worker: String) {
        let items = shard.prompts.map { item -> EngineItem in
            let input: EngineItem.Input = switch item.input {
            case .image(let data): .image(data)
            case .embeddingNpy(let data): .embedding(data)
            case .text(let text): .text(text)
            case nil: .text("")
            }
            let s = item.hasSettings ? item.settings : shard.settings
            let settings = SamplingSettings(model: s.baseModel, upsample: s.upsample, steps: Int(s.steps), guidance: s.guidanceScale,
                                            sampler: s.sampler.isEmpty ? "heun" : s.sampler)
            return EngineItem(promptID: item.promptID, seed: item.seed, input: input, settings: settings)
        }
        var lastProgress: UInt64 = 0
        for start in stride(from: 0, to: items.count, by: engine.maxBatch) {
            let chunk = Array(items[start..<min(start + engine.maxBatch, items.count)])
            let results = engine.sample(chunk) { done, total in
                let now = monotonicMilliseconds()
                guard now - lastProgress >= 250 else { return }
                lastProgress = now
                var p = Pointe_Cluster_Progress()
                p.shardID = shard.shardID
                p.stepsDone = UInt32(start * total / max(chunk.count, 1) + done)
                p.stepsTotal = UInt32(items.count * total / max(chunk.count, 1))
                mailbox.post(.progress(p))
            }
            for (item, result) in zip(chunk, results) {
                switch result {
                case .success(let output):
                    let packed = CloudPacking.pack(output.cloud)
                    var message = Pointe_Cluster_CloudResult()
                    message.shardID = shard.shardID
                    message.attempt = shard.attempt
                    message.promptID = item.promptID
                    message.pointCount = packed.count
                    message.coords = packed.coords
                    message.colors = packed.colors
                    message.models = output.models
                    var timings = Pointe_Cluster_Timings()
                    timings.sampleSeconds = output.sampleSeconds
                    message.timings = timings
                    mailbox.post(.cloudResult(message))
                case .failure(let error):
                    var report = Pointe_Cluster_ErrorReport()
                    report.shardID = shard.shardID
                    report.attempt = shard.attempt
                    report.promptID = item.promptID
                    report.message = "\(error.message) (on \(worker))"
                    report.retryable = true
                    mailbox.post(.errorReport(report))
                }
            }
        }
    }
}
