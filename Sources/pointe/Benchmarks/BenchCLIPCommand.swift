import ArgumentParser
import Foundation
import PointEModels
import PointETensor

/// CLIP encode times at full size (ViT-L/14 by default) with random weights.
struct BenchCLIP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "Time CLIP text and image encoding (ViT-L/14, random weights).",
        discussion: """
        Prints the median ms of: embedding a short prompt ("a red motorcycle": the text tower runs \
        only up to the end token, which the causal mask makes exact), a prompt filling all 77 \
        tokens, an image vector (embed_images) and an image latent grid (embed_images_grid), each \
        for --batch inputs, with GFLOP/s from an analytic count and the machine's large-sgemm \
        GFLOP/s from the same run.
        """)

    @Option(help: "Inputs per call.") var batch = 1
    @Option(help: "Timed runs after the warm-up.") var runs = 3
    @Flag(help: "The tiny CLIP of `models init-random --preset tiny` instead of ViT-L/14.") var tiny = false

    func run() throws {
        let config = tiny ? CLIPConfig.tiny : CLIPConfig.vitL14
        printError("building CLIP (\(config.visionLayers)x\(config.visionWidth) vision, \(config.transformerLayers)x\(config.transformerWidth) text) with random weights...")
        let (model, _) = try CLIPModel.random(config: config, seed: 1)
        let tokenizer = try CLIPTokenizer.bundled(contextLength: config.contextLength)
        let short = Array(repeating: "a red motorcycle", count: batch)
        let long = Array(repeating: String(repeating: "a very detailed red motorcycle ", count: 20), count: batch)
        let images = Tensor.gaussian([batch, 3, config.imageResolution, config.imageResolution], std: 1, seed: 2, stream: 0)
        let shortTokens = tokenizer.encode(short[0]).count + 2

        func time(_ label: String, flops: Double, _ body: () throws -> Void) throws -> String {
            try body()  // warm-up
            var times: [Double] = []
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            let median = times.sorted()[times.count / 2]
            printError("  \(label): \(String(format: "%.1f", median * 1000)) ms")
            return String(format: "%@_ms %.1f  gflop %.2f  gflops %.1f", label, median * 1000, flops / 1e9, flops / median / 1e9)
        }
        let lines = [
            try time("text_short", flops: Double(batch) * Self.textFLOPs(config, tokens: shortTokens)) {
                _ = try model.embedText(short, tokenizer: tokenizer)
            },
            try time("text_77", flops: Double(batch) * Self.textFLOPs(config, tokens: config.contextLength)) {
                _ = try model.embedText(long, tokenizer: tokenizer)
            },
            try time("image_vector", flops: Double(batch) * Self.imageFLOPs(config)) { _ = try model.embedImages(images) },
            try time("image_grid", flops: Double(batch) * Self.imageFLOPs(config)) { _ = try model.embedImagesGrid(images) },
        ]
        print("clip \(tiny ? "tiny" : "ViT-L/14") batch \(batch)")
        lines.forEach { print($0) }
        print(String(format: "sgemm_gflops %.1f", SgemmProbe.measure()))
    }

    /// Multiply-adds x 2 of one transformer pass: projections and MLP (24 W^2 per token) and
    /// attention scores and weighted sums (4 T W per token).
    static func transformerFLOPs(width w: Int, layers: Int, tokens t: Int) -> Double {
        Double(layers) * Double(t) * (24 * Double(w) * Double(w) + 4 * Double(t) * Double(w))
    }

    static func textFLOPs(_ c: CLIPConfig, tokens: Int) -> Double {
        transformerFLOPs(width: c.transformerWidth, layers: c.transformerLayers, tokens: tokens)
            + 2 * Double(c.transformerWidth * c.embedDim)
    }

    static func imageFLOPs(_ c: CLIPConfig) -> Double {
        let patches = c.gridSize * c.gridSize
        return 2 * Double(patches) * Double(3 * c.visionPatchSize * c.visionPatchSize) * Double(c.visionWidth)
            + transformerFLOPs(width: c.visionWidth, layers: c.visionLayers, tokens: patches + 1)
    }
}
