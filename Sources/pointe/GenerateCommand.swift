import ArgumentParser
import Foundation
import PointEDiffusion
import PointEEngine
import PointEImage
import PointEMesh
import PointEModels
import PointETensor

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Text or image -> coloured point cloud (CLIP, base model, upsampler).",
        discussion: """
        A text prompt runs base40M-textvec on CLIP's text embedding; --image runs an image-grid
        base model (--base: base40M, base300M or base1B) on CLIP's latent grid of the picture
        (JPEG or PNG). Both are followed by the upsampler (1024 + 3072 = 4096 points with the
        released models), with the reference's sampling settings (64 Heun steps per stage;
        guidance 3 on the base stage, and on the upsampler too for images).
        --models-dir holds NAME.safetensors + NAME.json (`pointe models init-random`) or the
        released NAME.pt / cache file names, and CLIP as clip.safetensors + clip.json or the
        released ViT-L-14.pt TorchScript archive. The same --seed always gives the same cloud.
        -o is a .ply / .npz file, or a directory that receives NAME.ply.
        """)

    @Argument(help: "Text prompt (omit with --image).") var prompt: String?
    @Option(help: "Image file (JPEG or PNG) to condition on instead of text.") var image: String?
    @Option(name: .customLong("models-dir"), help: "Directory holding the model files. Default: the model cache ($POINTE_HOME, else ~/.cache/pointe), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    var modelsDir: String { modelsDirOption ?? ModelCache.defaultDirectory() }
    @Option(name: .shortAndLong, help: "Output .ply / .npz file or directory.") var output: String
    @Option(help: "Base model (default: base40M-textvec for text, base40M for images).") var base: String?
    @Option(help: "Seed of the sample's noise.") var seed: UInt64 = 0
    @Option(help: "Sampling steps per stage (reference: 64).") var steps = 64
    @Option(help: "Guidance scale (reference: 3; the base stage, and the upsampler for images).") var guidance = 3.0

    func validate() throws {
        guard (prompt == nil) != (image == nil) else { throw ValidationError("give either a text prompt or --image FILE") }
        guard steps > 0 else { throw ValidationError("--steps must be positive") }
    }

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let baseName = base ?? (image == nil ? "base40M-textvec" : "base40M")
        let baseFiles = try Self.network(baseName, directory: modelsDir)
        let upFiles = try Self.network("upsample", directory: modelsDir)
        guard upFiles.config.condCtx == nil || upFiles.config.condCtx == baseFiles.config.nCtx else {
            throw ValidationError("upsample expects \(upFiles.config.condCtx!) base points; \(baseName) makes \(baseFiles.config.nCtx)")
        }
        let clip = try Self.clip(directory: modelsDir)

        // Conditioning: text -> normalised CLIP text vector; image -> CLIP latent grid.
        let conditioning: SamplerConditioning
        let keys: [String]
        let upsamplerGuidance: Double
        if let prompt {
            guard baseFiles.network.variant == .clipVector else {
                throw ValidationError("\(baseName) is not conditioned on CLIP text vectors; use base40M-textvec for prompts")
            }
            let vector = try clip.embedText([prompt], tokenizer: CLIPTokenizer.bundled(contextLength: clip.config.contextLength))
            conditioning = SamplerConditioning(clipVector: vector)
            keys = ["texts", ""]    // the reference's text2pc: the upsampler sees no text, no guidance
            upsamplerGuidance = 0
        } else {
            guard baseFiles.network.variant == .clipGrid else {
                throw ValidationError("\(baseName) is not conditioned on CLIP image grids; use base40M, base300M or base1B for images")
            }
            let pixels = try CLIPPreprocess.batch(files: [image!], size: clip.config.imageResolution)
            conditioning = SamplerConditioning(clipGrid: try clip.embedImagesGrid(pixels))
            keys = ["*", "*"]       // the reference's image2pc: both stages see the grid, both guided
            upsamplerGuidance = guidance
        }

        var stages = [try stage(baseFiles, name: baseName, guidance: guidance, upsampler: false),
                      try stage(upFiles, name: "upsample", guidance: upsamplerGuidance, upsampler: true)]
        for i in stages.indices { stages[i].conditioningKeys = keys[i] }
        let sampler = PointCloudSampler(stages: stages)
        let bar = TerminalProgress(label: "sampling", total: Double(sampler.totalSteps), unit: .count("steps"))
        let samples = try sampler.sample(batchSize: 1, conditioning: conditioning, noise: SeededNoise(seeds: [seed])) { p in
            bar.update(done: Double(p.completed), detail: "stage \(p.stage + 1)/\(p.stageCount)")
        }
        bar.finish()
        let cloud = sampler.pointClouds(samples)[0]
        let path = try outputPath()
        if path.hasSuffix(".npz") { try cloud.writeNPZ(to: path) } else { try cloud.writePLY(to: path) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("\(path): \(cloud.count) points (seed \(seed), \(String(format: "%.1f", seconds)) s)")
    }

    /// A .ply/.npz path as given, else DIR/NAME.ply with NAME from the prompt or image file.
    func outputPath() throws -> String {
        if output.hasSuffix(".ply") || output.hasSuffix(".npz") { return output }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let source = prompt ?? ((image! as NSString).lastPathComponent as NSString).deletingPathExtension
        var name = String(source.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(80))
        if name.isEmpty { name = "cloud" }
        return (output as NSString).appendingPathComponent(name + ".ply")
    }

    func stage(_ files: ModelFiles, name: String, guidance: Double, upsampler: Bool) throws -> SamplerStage {
        guard let config = DiffusionConfig.released(name) else {
            throw ValidationError("no diffusion settings are registered for \"\(name)\"")
        }
        let diffusion = try GaussianDiffusion(config: config)
        return upsampler
            ? SamplerStage.upsampler(model: files.network, diffusion: diffusion, numPoints: files.config.nCtx, guidanceScale: guidance, steps: steps)
            : SamplerStage.base(model: files.network, diffusion: diffusion, numPoints: files.config.nCtx, guidanceScale: guidance, steps: steps)
    }

    /// A point network from the models directory: our files, or the released file under its
    /// published name. A missing one is reported with the file expected and its address.
    static func network(_ name: String, directory: String) throws -> ModelFiles {
        let fm = FileManager.default
        let stem = (directory as NSString).appendingPathComponent(name)
        if fm.fileExists(atPath: stem + ".safetensors") || fm.fileExists(atPath: stem + ".pt") {
            return try ModelFiles.load(name, directory: directory)
        }
        let released = ReleasedFiles.named(name)
        if let released, let config = ModelRegistry.released(name) {
            let path = (directory as NSString).appendingPathComponent(released.fileName)
            if fm.fileExists(atPath: path) {
                guard case .diffusion(let network) = try PointEModel.load(config: config, checkpoint: path).0 else {
                    throw ModelError("\(path): \(config.name) is not a point diffusion model")
                }
                return ModelFiles(config: config, network: network)
            }
        }
        let source = released.map { " (released checkpoint: \($0.url.absoluteString), saved as \($0.fileName) or \(name).pt)" } ?? ""
        throw ModelError("missing checkpoint for \(name): expected \(stem).safetensors + \(name).json or \(stem).pt\(source)")
    }

    /// CLIP from the models directory: clip.json + clip.safetensors/.pt (config given), or the
    /// released ViT-L-14.pt (architecture read from its shapes).
    static func clip(directory: String) throws -> CLIPModel {
        let fm = FileManager.default
        let stem = (directory as NSString).appendingPathComponent(CLIPModel.fileStem)
        if fm.fileExists(atPath: stem + ".json"),
           let weights = [".safetensors", ".pt"].map({ stem + $0 }).first(where: { fm.fileExists(atPath: $0) }) {
            return try CLIPModel.load(checkpoint: weights, config: CLIPConfig.load(stem + ".json"))
        }
        let released = ReleasedFiles.named("ViT-L/14")
        let fileName = released?.fileName ?? "ViT-L-14.pt"
        let path = (directory as NSString).appendingPathComponent(fileName)
        if fm.fileExists(atPath: path) { return try CLIPModel.load(checkpoint: path) }
        let address = released.map { " (OpenAI's CLIP ViT-L/14: \($0.url.absoluteString))" } ?? ""
        throw ModelError("missing CLIP checkpoint: expected \(path)\(address), or \(stem).safetensors + clip.json")
    }
}
