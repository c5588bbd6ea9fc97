import ArgumentParser
import Foundation
import PointEEngine
import PointECheckpoint
import PointEDiffusion
import PointEMesh
import PointEModels
import PointETensor

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Sample a coloured point cloud with a base model (and optionally the upsampler).",
        discussion: """
        Models come from --models-dir: NAME.json + NAME.safetensors (as `pointe models init-random`
        writes them) or NAME.pt (a released checkpoint; its config is then taken from the registry).
        Conditioned models take a CLIP embedding from --embedding FILE.npy ([768] or [1, 768] for
        the *-textvec/-imagevec models, [1024, 256] grids for base40M/300M/1B). Text prompts need
        CLIP, which is not available yet. The output format follows the extension: .ply or .npz.
        The same --seed always gives the same cloud.
        """)

    @Option(help: "Base model name (\(ModelRegistry.releasedNames.filter { $0 != "upsample" && $0 != "sdf" }.joined(separator: ", "))).")
    var model: String
    @Option(name: .customLong("models-dir"), help: "Directory holding the model files. Default: the model cache ($POINTE_HOME, else ~/.cache/pointe), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    var modelsDir: String { modelsDirOption ?? ModelCache.defaultDirectory() }
    @Option(help: "Seed of this sample's noise.") var seed: UInt64 = 0
    @Option(name: .shortAndLong, help: "Output file (.ply or .npz).") var output: String
    @Flag(help: "Add the upsampler stage (models-dir/upsample.*).") var upsample = false
    @Option(help: "Sampling steps per stage (reference: 64).") var steps = 64
    @Option(help: "Guidance scale of the base stage (reference: 3; 0 or 1 = unguided).") var guidance = 3.0
    @Option(help: "heun (reference), euler-ancestral, dpm, or ddpm (ancestral DDPM respaced to --steps).")
    var sampler = "heun"
    @Option(help: "CLIP embedding / grid (.npy) for conditioned models.") var embedding: String?
    @Option(help: "Text prompt (needs CLIP: not available yet).") var prompt: String?

    func run() throws {
        if prompt != nil {
            throw ValidationError("text prompts need the CLIP text encoder, which is not available yet; pass a CLIP text embedding with --embedding FILE.npy")
        }
        guard output.hasSuffix(".ply") || output.hasSuffix(".npz") else {
            throw ValidationError("output \(output): use a .ply or .npz file name")
        }
        let method: KarrasMethod?
        if sampler == "ddpm" { method = nil } else {
            guard let m = KarrasMethod(rawValue: sampler) else {
                throw ValidationError("unknown sampler \"\(sampler)\" (heun, euler-ancestral, dpm, ddpm)")
            }
            method = m
        }
        guard steps > 0 else { throw ValidationError("--steps must be positive") }

        let base = try ModelFiles.load(model, directory: modelsDir)
        var stages = [try stage(base, name: model, guidance: guidance, upsampler: false, method: method)]
        if upsample {
            let up = try ModelFiles.load("upsample", directory: modelsDir)
            guard up.config.condCtx == nil || up.config.condCtx == base.config.nCtx else {
                throw ValidationError("upsample expects \(up.config.condCtx!) base points; \(model) makes \(base.config.nCtx)")
            }
            stages.append(try stage(up, name: "upsample", guidance: 0, upsampler: true, method: method))
        }
        let conditioning = try loadConditioning(for: base)
        let pointSampler = PointCloudSampler(stages: stages)
        let bar = TerminalProgress(label: "sampling", total: Double(pointSampler.totalSteps), unit: .count("steps"))
        let start = DispatchTime.now().uptimeNanoseconds
        let samples = try pointSampler.sample(batchSize: 1, conditioning: conditioning, noise: SeededNoise(seeds: [seed])) { p in
            bar.update(done: Double(p.completed), detail: "stage \(p.stage + 1)/\(p.stageCount)")
        }
        bar.finish()
        let cloud = pointSampler.pointClouds(samples)[0]
        if output.hasSuffix(".ply") { try cloud.writePLY(to: output) } else { try cloud.writeNPZ(to: output) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("\(output): \(cloud.count) points (seed \(seed), \(String(format: "%.1f", seconds)) s)")
    }

    func stage(_ files: ModelFiles, name: String, guidance: Double, upsampler: Bool, method: KarrasMethod?) throws -> SamplerStage {
        guard var diffusionConfig = DiffusionConfig.released(name) else {
            throw ValidationError("no diffusion settings are registered for \"\(name)\" (known: \(ModelRegistry.releasedNames.filter { $0 != "sdf" }.joined(separator: ", ")))")
        }
        if method == nil { diffusionConfig.respacing = String(steps) }
        let diffusion = try GaussianDiffusion(config: diffusionConfig)
        var stage = upsampler
            ? SamplerStage.upsampler(model: files.network, diffusion: diffusion, numPoints: files.config.nCtx, guidanceScale: guidance, steps: steps)
            : SamplerStage.base(model: files.network, diffusion: diffusion, numPoints: files.config.nCtx, guidanceScale: guidance, steps: steps)
        if let method { stage.karras.method = method } else { stage.useKarras = false }
        return stage
    }

    func loadConditioning(for base: ModelFiles) throws -> SamplerConditioning {
        let variant = base.network.variant
        guard variant == .clipVector || variant == .clipGrid else {
            if embedding != nil { printError("note: \(model) is unconditional; --embedding is ignored") }
            return SamplerConditioning()
        }
        guard let embedding else {
            throw ValidationError("\(model) is conditioned on CLIP \(variant == .clipVector ? "embeddings" : "image grids"): pass --embedding FILE.npy (text prompts need CLIP, not available yet)")
        }
        let arrays = try NumpyReader.loadNpy(embedding)
        guard let first = arrays.keys.first, let array = arrays[first] else { throw ValidationError("\(embedding): no array") }
        let tensor = try array.floatTensor()
        if variant == .clipVector {
            let dim = base.config.clipFeatureDim ?? 768
            guard tensor.count == dim else { throw ValidationError("\(embedding): expected \(dim) values (a CLIP embedding), got shape \(tensor.shape)") }
            // The reference feeds unit-norm CLIP features; normalise in case the file is not.
            let norm = tensor.values.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { throw ValidationError("\(embedding): the embedding is all zeros") }
            return SamplerConditioning(clipVector: Tensor(shape: [1, dim], values: tensor.values.map { $0 / norm }))
        }
        let size = base.config.clipGridSize ?? 16, dim = base.config.clipGridFeatureDim ?? 1024
        guard tensor.count == dim * size * size else {
            throw ValidationError("\(embedding): expected a CLIP grid of \(dim) x \(size * size), got shape \(tensor.shape)")
        }
        return SamplerConditioning(clipGrid: tensor.reshaped([1, dim, size * size]))
    }
}

/// A network and its config from a models directory.
struct ModelFiles {
    let config: ModelConfig
    let network: PointDiffusionTransformer

    static func load(_ name: String, directory: String) throws -> ModelFiles {
        let (config, network) = try ModelDirectory.diffusionNetwork(name, directory: directory)
        return ModelFiles(config: config, network: network)
    }
}
