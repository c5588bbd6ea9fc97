import ArgumentParser
import Foundation
import PointECheckpoint
import PointECluster
import PointEDiffusion
import PointEEngine
import PointEModels

/// The coordinator's own cost: many workers in this process over ZeroMQ on 127.0.0.1, each
/// sampling with the tiny random base model at 1 step, so nearly all time is dispatch, transport,
/// atomic fsync'd writes, checksums, the job store and the manifest.
struct BenchCoordinator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Shards dispatched and results stored per second with many concurrent workers and trivially cheap sampling.")

    @Option(help: "Concurrent workers (threads of this process, one connection each).") var peers = 16
    @Option(help: "Prompts in the job.") var prompts = 1000
    @Option(help: "Prompts per shard.") var shardSize = 1
    @Option(help: "Job directory parent (default: a temporary directory, removed afterwards).") var workDir: String?

    func run() throws {
        let root = workDir ?? NSTemporaryDirectory() + "pointe-bench-coordinator-\(getpid())"
        defer { if workDir == nil { try? FileManager.default.removeItem(atPath: root) } }
        let models = root + "/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        let config = ModelRegistry.tiny("base40M-uncond")!
        try PointEModel.writeRandom(ReleasedModel.base40MUncond.rawValue, config: config, seed: 0, directory: models)

        let settings = SamplingSettings(model: .base40MUncond, upsample: false, steps: 1, guidance: 0, sampler: .eulerAncestral)
        let entries = (0..<prompts).map { PromptEntry(id: String(format: "p%06d", $0), input: .text("prompt \($0)"), seed: nil, settings: settings, line: $0 + 1) }
        let directory = JobDirectory(root + "/job")
        try Coordinator.createJob(at: directory, prompts: entries, seed: 0, shardSize: shardSize, retryBudget: 3, promptFile: "bench")
        var options = CoordinatorOptions()
        options.bind = "tcp://127.0.0.1:*"
        options.log = ClusterLog(role: "coordinator", quiet: true)
        let coordinator = try Coordinator(directory: directory, options: options)
        try coordinator.recover()
        let group = DispatchGroup()
        let start = DispatchTime.now().uptimeNanoseconds
        let counts = try coordinator.run(onListening: { address in
            for _ in 0..<peers {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    var workerOptions = WorkerOptions()
                    workerOptions.connect = address
                    workerOptions.log = ClusterLog(role: "worker", quiet: true)
                    _ = try? Worker(engine: PointEEngine(models: ModelDirectory(models), maxBatch: 1), options: workerOptions).run()
                }
            }
        })
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        group.wait()
        guard counts.done == prompts else { throw CommandFailure("only \(counts.done)/\(prompts) prompts finished") }
        print("peers \(peers), prompts \(prompts), shard size \(shardSize): \(String(format: "%.2f", seconds)) s")
        print(String(format: "shards dispatched: %.0f/s, results stored: %.0f/s, messages handled: %.0f/s",
                     Double(coordinator.shardsDispatched) / seconds, Double(coordinator.resultsStored) / seconds,
                     Double(coordinator.messagesHandled) / seconds))
    }
}
