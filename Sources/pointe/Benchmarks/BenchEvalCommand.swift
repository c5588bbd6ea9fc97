import ArgumentParser
import Foundation
import PointEEval
import PointEModels
import PointETensor

/// `pointe bench eval-features`: PointNet++ features of a batch of clouds (the P-FID / P-IS cost).
struct BenchEvalFeatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-features",
        abstract: "Time PointNet++ features + predictions of --clouds clouds of --points points.",
        discussion: "Random weights unless --pointnet is given (the cost does not depend on them). Prints the median of --runs.")

    @Option(help: "Clouds per run.") var clouds = 64
    @Option(help: "Points per cloud.") var points = 4096
    @Option(help: "Timed runs after a warm-up.") var runs = 3
    @Option(help: "A PointNet++ checkpoint instead of random weights.") var pointnet: String?

    func run() throws {
        let model = try pointnet.map { try PointNetClassifier.load(checkpoint: $0) } ?? PointNetClassifier.random(seed: 1)
        let evaluator = PointNetEvaluator(model: model)
        let batch = Tensor.gaussian([clouds, points, 3], std: 0.3, seed: 4, stream: 0)
        let inputs = (0..<clouds).map { Array(UnsafeBufferPointer(start: batch.pointer + $0 * points * 3, count: points * 3)) }
        _ = try evaluator.evaluate(Array(inputs.prefix(min(clouds, Parallel.threadCount))))  // warm-up
        var times: [Double] = []
        for i in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try evaluator.evaluate(inputs)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            printError("  run \(i + 1)/\(runs): \(String(format: "%.2f", times.last!)) s")
        }
        let median = times.sorted()[times.count / 2]
        let flops = model.flops(points: points) * Double(clouds)
        let peak = SgemmProbe.measure()
        print("clouds \(clouds) points \(points) threads \(Parallel.threadCount)")
        print(String(format: "seconds %.3f", median))
        print(String(format: "ms_per_cloud %.1f", median * 1000 / Double(clouds)))
        print(String(format: "gflop %.1f", flops / 1e9))
        print(String(format: "gflops %.1f", flops / median / 1e9))
        print(String(format: "sgemm_gflops %.1f", peak))
        print(String(format: "ratio %.2f", flops / median / 1e9 / peak))
    }
}
