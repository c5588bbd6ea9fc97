import ArgumentParser
import Foundation
import PointEModels
import PointETensor

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Release-mode benchmarks (build with -c release).",
        subcommands: [Forward.self, BenchSample.self, BenchEvalFeatures.self, BenchCLIP.self, BenchMesh.self, BenchCoordinator.self, BenchSwarm.self, BenchSwarmPeers.self, BenchThroughput.self, BenchBands.self])

    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time one forward pass of a full-size network with random weights.",
            discussion: """
            Prints ms per forward (median after a warm-up), achieved GFLOP/s from an analytic FLOP \
            count, and OpenBLAS's own sgemm GFLOP/s (its threads on all cores) on the pass's main \
            product (every layer's MLP input projection: tokens x 4 width x width), measured for about \
            a second after each forward run so both see the same machine, with the fraction reached \
            (the median over runs of each run's rate over the sgemm rate measured after it). For \
            `sdf`, a forward is encoding --points points plus decoding --queries queries.
            """)

        @Option(help: "A released model.")
        var model: ReleasedModel
        @Option(help: "Batch size.") var batch = 1
        @Option(help: "Timed runs after the warm-up.") var runs = 5
        @Option(help: "SDF only: cloud points to encode.") var points = 4096
        @Option(help: "SDF only: query points to decode.") var queries = 4096
        @Option(help: "SDF only: time encode, decode (with the cloud's decoder keys/values computed beforehand, as meshing caches them) or both.")
        var part = "both"

        func run() throws {
            let config = model.networkConfig
            printError("building \(model) with random weights...")
            let (network, _) = try PointEModel.random(config: config, seed: 1)
            let pass: () throws -> Void
            let flops: Double
            let mainRows: Int
            switch network {
            case .diffusion(let net):
                let x = Tensor.gaussian([batch, config.resolvedInputChannelsForBench, config.nCtx], std: 1, seed: 2, stream: 0)
                let t = (0..<batch).map { Float(100 + 300 * $0) }
                let cond = BenchInputs.conditioning(config, batch: batch)
                pass = { _ = try net(x, timesteps: t, conditioning: cond) }
                flops = FLOPCount.diffusionForward(config, batch: batch)
                mainRows = batch * FLOPCount.backboneTokens(config, points: config.nCtx)
            case .sdf(let net):
                let cloud = Tensor.gaussian([batch, 3, points], std: 0.3, seed: 2, stream: 0)
                let grid = Tensor.gaussian([batch, 3, queries], std: 0.3, seed: 2, stream: 1)
                let encodeFlops = FLOPCount.sdfEncode(config, batch: batch, points: points)
                let decodeFlops = FLOPCount.sdfDecode(config, batch: batch, points: points, queries: queries)
                mainRows = batch * (part == "decode" ? queries : points)
                switch part {
                case "both":
                    pass = {
                        let latents = try net.encode(cloud)
                        _ = try net.predictSDF(grid, context: net.decoderContext(latents: latents))
                    }
                    flops = encodeFlops + decodeFlops
                case "encode":
                    pass = { _ = try net.encode(cloud) }
                    flops = encodeFlops
                case "decode":
                    let context = net.decoderContext(latents: try net.encode(cloud))
                    pass = { _ = try net.predictSDF(grid, context: context) }
                    flops = decodeFlops
                default:
                    throw CommandFailure("--part: encode, decode or both, not \(part)")
                }
            }
            let shape = FLOPCount.mainProduct(rows: mainRows, width: config.width)
            let probe = SgemmProbe(shape)
            try pass()  // warm-up
            // Forward runs and sgemm probes alternate: a machine whose speed drifts (a shared
            // VM) moves both figures together, and the fraction stays meaningful.
            var times: [Double] = [], rates: [Double] = []
            for i in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                try pass()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                rates.append(probe.measure())
                printError("  run \(i + 1)/\(runs): \(String(format: "%.1f", times.last! * 1000)) ms, sgemm \(shape) "
                           + String(format: "%.1f GFLOP/s", rates.last!))
            }
            let median = times.sorted()[times.count / 2]
            let achieved = flops / median / 1e9
            let sgemm = rates.sorted()[rates.count / 2]
            // Each run against the probe right after it, then the median: drift cancels.
            let fractions = zip(times, rates).map { flops / $0 / 1e9 / $1 }.sorted()
            print("model \(model) batch \(batch)")
            print(String(format: "forward_ms %.1f", median * 1000))
            print(String(format: "gflop %.1f", flops / 1e9))
            print(String(format: "gflops %.1f", achieved))
            print("main_product \(shape)")
            print(String(format: "sgemm_gflops %.1f", sgemm))
            print(String(format: "fraction %.2f", fractions[fractions.count / 2]))
            print("kernels \(KernelVariant.active)")
        }
    }
}

enum BenchInputs {
    static func conditioning(_ c: ModelConfig, batch: Int) -> Conditioning {
        let clipDim = c.clipFeatureDim ?? 768
        let gridDim = c.clipGridFeatureDim ?? 1024
        let gridTokens = (c.clipGridSize ?? 16) * (c.clipGridSize ?? 16)
        let vector = Tensor.gaussian([batch, clipDim], std: 1 / Float(clipDim).squareRoot(), seed: 3, stream: 0)
        let grid = Tensor.gaussian([batch, gridDim, gridTokens], std: 1, seed: 3, stream: 1)
        let lowRes = Tensor.gaussian([batch, c.inputChannels ?? 3, c.condCtx ?? 1024], std: 0.5, seed: 3, stream: 2)
        return Conditioning(clipVector: vector, clipGrid: grid, lowRes: lowRes)
    }
}

/// The machine's sgemm throughput on one product shape, as the yardstick for model runs:
/// OpenBLAS's own threading on all cores (the library's best, not our split of it).
struct SgemmProbe {
    let shape: FLOPCount.ProductShape
    let a: Tensor, b: Tensor, c: Tensor

    init(_ shape: FLOPCount.ProductShape) {
        self.shape = shape
        a = Tensor.gaussian([shape.m, shape.k], std: 1, seed: 9, stream: 0)
        b = Tensor.gaussian([shape.n, shape.k], std: 1, seed: 9, stream: 1)
        c = Tensor(zeros: [shape.m, shape.n])
    }

    /// On a 2048 x 2048 x 2048 product: the yardstick of benchmarks without one main shape.
    static func measure() -> Double {
        SgemmProbe(FLOPCount.ProductShape(m: 2048, n: 2048, k: 2048)).measure(runs: 5, seconds: 0)
    }

    /// GFLOP/s over products repeated for at least `seconds` (and `runs` times) after one
    /// warm-up (C = A B^T, as a linear layer): long enough that a moment's noise averages out.
    func measure(runs: Int = 3, seconds: Double = 1) -> Double {
        var total = 0.0, done = 0
        BLAS.withLibraryThreads {
            product()
            while done < runs || total < seconds {
                let start = DispatchTime.now().uptimeNanoseconds
                product()
                total += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                done += 1
            }
        }
        // OpenBLAS's idle threads poll (sched_yield) for a while before they sleep; let them
        // settle so they do not take cycles from the forward run that follows.
        Thread.sleep(forTimeInterval: 0.3)
        return shape.flops * Double(done) / total / 1e9
    }

    private func product() {
        BLAS.sgemm(transA: false, transB: true, m: shape.m, n: shape.n, k: shape.k, a: a.pointer, lda: shape.k,
                   b: b.pointer, ldb: shape.k, c: c.pointer, ldc: shape.n)
    }
}

extension ModelConfig {
    var resolvedInputChannelsForBench: Int { inputChannels ?? 3 }
}
