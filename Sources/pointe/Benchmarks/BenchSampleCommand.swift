import ArgumentParser
import Foundation
import PointEDiffusion
import PointEEngine
import PointEModels
import PointETensor

/// `pointe bench sample`: one full two-stage text-vector sample with random full-size weights.
struct BenchSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Time one full two-stage sample (base40M-textvec guided + upsample) with random full-size weights.",
        discussion: """
        The base stage runs base40M-textvec with guidance 3 (every evaluation covers the \
        conditional and the unconditional half, i.e. batch 2), 1024 points; the upsampler adds \
        3072 points unguided. Reports ms per model evaluation for each stage and the total time. \
        Build with -c release. --steps below the reference's 64 gives a quick estimate: the cost \
        per evaluation does not depend on the step count.
        """)

    @Option(help: "Karras steps per stage (reference: 64).") var steps = 64
    @Option(help: "Seed of the first sample's noise (sample i uses seed + i).") var seed: UInt64 = 0
    @Option(help: "Samples drawn together (as a worker's --batch).") var batch = 1

    func run() throws {
        guard steps > 0, batch > 0 else { throw CommandFailure("--steps and --batch must be positive") }
        printError("building base40M-textvec and upsample with random weights...")
        func network(_ model: ReleasedModel, seed: UInt64) throws -> PointDiffusionTransformer {
            guard case .diffusion(let net) = try PointEModel.random(config: model.networkConfig, seed: seed).0 else {
                throw CommandFailure("\(model) is not a diffusion model")
            }
            return net
        }
        let base = try network(.base40MTextvec, seed: 1)
        let up = try network(.upsample, seed: 2)
        // The engine's own factory, so the benchmark times what every entry point samples.
        let sampler = try TwoStageSampler.make(settings: SamplingSettings(model: .base40MTextvec, upsample: true, steps: steps),
                                               base: base, upsampler: up)
        let embedding = Tensor.gaussian([batch, 768], std: 1 / Float(768).squareRoot(), seed: 3, stream: 0)

        // Per stage: wall time from its first to its last step, and how many denoiser
        // evaluations (each guided one = both halves) it made.
        var stageTime = [Double](repeating: 0, count: 2)
        var evaluations = [Int](repeating: 0, count: 2)
        var networkCalls = [Int](repeating: 0, count: 2)
        var mark = DispatchTime.now().uptimeNanoseconds
        var currentStage = 0
        let start = mark
        let observers = PointCloudSampler.Observers(
            onStep: { _, _ in },
            onNetwork: { stage, _, _, _ in networkCalls[stage] += 1 })
        let bar = TerminalProgress(label: "sampling", total: Double(sampler.totalSteps), unit: .count("steps"))
        let samples = try sampler.sample(batchSize: batch, conditioning: SamplerConditioning(clipVector: embedding),
                                         noise: SeededNoise(seeds: (0..<UInt64(batch)).map { seed + $0 }), observers: observers) { p in
            let now = DispatchTime.now().uptimeNanoseconds
            if p.stage != currentStage { currentStage = p.stage }
            stageTime[p.stage] += Double(now - mark) / 1e9
            mark = now
            bar.update(done: Double(p.completed), detail: "stage \(p.stage + 1)/\(p.stageCount)")
        }
        bar.finish()
        let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // Heun: 2 evaluations per step except the last (Euler) one.
        for s in 0..<2 { evaluations[s] = 2 * steps - 1 }
        print("bench sample: base40M-textvec (guidance 3, batch 2 per evaluation) + upsample, \(steps) steps per stage, batch \(batch), \(Parallel.threadCount) threads")
        for (s, name) in [ReleasedModel.base40MTextvec.rawValue, ReleasedModel.upsample.rawValue].enumerated() {
            print(String(format: "%@ evaluations %d network_calls %d stage_s %.2f ms_per_evaluation %.1f",
                         name, evaluations[s], networkCalls[s], stageTime[s], stageTime[s] / Double(evaluations[s]) * 1000))
        }
        print(String(format: "total_s %.2f", total))
        if steps < 64 {
            let projected = zip(stageTime, evaluations).reduce(0.0) { $0 + $1.0 / Double($1.1) * Double(2 * 64 - 1) }
            print(String(format: "projected_total_s_at_64_steps %.1f", projected))
        }
        print("points \(samples.shape[2])")
        // Peak resident memory of the whole process (weights included), as a worker would have.
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print(String(format: "peak_rss_mb %.0f", Double(usage.ru_maxrss) / 1024))
    }
}
