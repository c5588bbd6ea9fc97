import PointETensor
import XCTest
@testable import PointEModels

/// A network's output has the same bits whatever the thread count: what lets a `pointe run`
/// worker on its share of the cores give the cloud `pointe generate` gives on all of them.
final class ThreadCountIdentityTests: XCTestCase {
    override func tearDown() { Parallel.setThreadCount(MachineCores.usable()) }

    /// How many values differ in their bits from the 1-thread run, on 2 and on 3 threads.
    func differences(_ compute: () throws -> Tensor) rethrows -> [Int] {
        let runs = try [1, 2, 3].map { count in
            Parallel.setThreadCount(count)
            return try compute().values.map(\.bitPattern)
        }
        return runs.dropFirst().map { run in run.count == runs[0].count ? zip(run, runs[0]).filter { $0 != $1 }.count : -1 }
    }

    /// The tiny upsampler (273 tokens: two row bands, one per thread before on two threads,
    /// three on three), CLIP's text tower on one and two prompts (77 and 154 rows: row bands)
    /// and its image tower (17 tokens: under one band, CLIP's column bands).
    func testForwardPassesAreBitIdenticalOnOneTwoAndThreeThreads() throws {
        let config = ReleasedModel.upsample.tinyNetworkConfig
        guard case .diffusion(let upsampler) = try PointEModel.random(config: config, seed: 3).0 else { return XCTFail("upsample is a diffusion model") }
        let x = Tensor.gaussian([1, 6, config.nCtx], std: 1, seed: 1, stream: 0)
        let cond = Conditioning(clipVector: nil, clipGrid: .gaussian([1, config.clipGridFeatureDim!, 16], std: 1, seed: 1, stream: 2),
                                lowRes: .gaussian([1, 6, config.condCtx!], std: 1, seed: 1, stream: 3))
        XCTAssertEqual(try differences { try upsampler(x, timesteps: [500], conditioning: cond) }, [0, 0],
                       "upsample forward: values that differ on 2 and on 3 threads from 1 thread")

        let clip = try CLIPModel.random(config: .tiny, seed: 4).0
        let tokenizer = try CLIPTokenizer.bundled()
        for prompts in [["a red motorcycle"], ["a red motorcycle", "a green chair"]] {
            XCTAssertEqual(try differences { try clip.embedText(prompts, tokenizer: tokenizer) }, [0, 0],
                           "CLIP text, \(prompts.count) prompt(s): values that differ on 2 and on 3 threads from 1 thread")
        }
        let image = Tensor.gaussian([1, 3, 224, 224], std: 1, seed: 5, stream: 0)
        XCTAssertEqual(try differences { try clip.embedImagesGrid(image) }, [0, 0],
                       "CLIP image grid: values that differ on 2 and on 3 threads from 1 thread")
    }
}
