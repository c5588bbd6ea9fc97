import Foundation
import PointECheckpoint
import PointEDiffusion
import PointEMesh
import PointEModels
import PointETensor

/// The real engine: loads models from a models directory (NAME.json + NAME.safetensors as
/// `pointe models init-random` writes them, or NAME.pt with a registered config) once, and
/// samples prompts with the two-stage `PointCloudSampler`, one seeded noise stream per prompt.
public final class PointESamplingEngine: SamplingEngine {
    public let modelsDirectory: String
    public let maxBatch: Int
    public let textEmbedder: TextEmbedder?
    public let imageEmbedder: ImageEmbedder?
    public let version = "pointe-engine/1"
    private var networks: [String: PointDiffusionTransformer] = [:]
    private var samplers: [String: PointCloudSampler] = [:]

    public init(modelsDirectory: String, maxBatch: Int = 4, textEmbedder: TextEmbedder? = nil, imageEmbedder: ImageEmbedder? = nil) {
        self.modelsDirectory = modelsDirectory
        self.maxBatch = max(maxBatch, 1)
        self.textEmbedder = textEmbedder
        self.imageEmbedder = imageEmbedder
    }

    /// Models found in the directory (what this worker can serve).
    public var hostedModels: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: modelsDirectory)) ?? []
        return ModelRegistry.releasedNames.filter { name in files.contains(name + ".safetensors") || files.contains(name + ".pt") }
    }

    /// Loads a model now (so a worker fails at start, not at its first shard, when one is missing).
    public func preload(_ name: String) throws { _ = try network(name) }

    func network(_ name: String) throws -> PointDiffusionTransformer {
        if let cached = networks[name] { return cached }
        let network = try ModelDirectory.diffusionNetwork(name, directory: modelsDirectory).network
        networks[name] = network
        return network
    }

    func sampler(for settings: SamplingSettings) throws -> PointCloudSampler {
        let key = "\(settings.model)|\(settings.upsample)|\(settings.steps)|\(settings.guidance)|\(settings.sampler)"
        if let cached = samplers[key] { return cached }
        let method: KarrasMethod?
        if settings.sampler == "ddpm" { method = nil } else {
            guard let m = KarrasMethod(rawValue: settings.sampler) else {
                throw ClusterError("unknown sampler \"\(settings.sampler)\" (heun, euler-ancestral, dpm, ddpm)")
            }
            method = m
        }
        guard settings.steps > 0 else { throw ClusterError("steps must be positive, got \(settings.steps)") }
        let base = try network(settings.model)
        var stages = [try stage(base, name: settings.model, guidance: settings.guidance, upsampler: false, method: method, steps: settings.steps)]
        if settings.upsample {
            let up = try network("upsample")
            guard up.config.condCtx == nil || up.config.condCtx == base.config.nCtx else {
                throw ClusterError("upsample expects \(up.config.condCtx!) base points; \(settings.model) makes \(base.config.nCtx)")
            }
            stages.append(try stage(up, name: "upsample", guidance: 0, upsampler: true, method: method, steps: settings.steps))
        }
        let sampler = PointCloudSampler(stages: stages)
        samplers[key] = sampler
        return sampler
    }

    func stage(_ network: PointDiffusionTransformer, name: String, guidance: Double, upsampler: Bool, method: KarrasMethod?, steps: Int) throws -> SamplerStage {
        guard var diffusionConfig = DiffusionConfig.released(name) else {
            throw ClusterError("no diffusion settings are registered for \"\(name)\"")
        }
        if method == nil { diffusionConfig.respacing = String(steps) }
        let diffusion = try GaussianDiffusion(config: diffusionConfig)
        var stage = upsampler
            ? SamplerStage.upsampler(model: network, diffusion: diffusion, numPoints: network.config.nCtx, guidanceScale: guidance, steps: steps)
            : SamplerStage.base(model: network, diffusion: diffusion, numPoints: network.config.nCtx, guidanceScale: guidance, steps: steps)
        if let method { stage.karras.method = method } else { stage.useKarras = false }
        return stage
    }

    public func sample(_ items: [EngineItem], progress: (Int, Int) -> Void) -> [Result<EngineOutput, ClusterError>] {
        var results = [Result<EngineOutput, ClusterError>?](repeating: nil, count: items.count)
        // Prompts with equal settings share a sampler and a batch.
        var groups: [(SamplingSettings, [Int])] = []
        for (i, item) in items.enumerated() {
            if let g = groups.firstIndex(where: { $0.0 == item.settings }) { groups[g].1.append(i) } else { groups.append((item.settings, [i])) }
        }
        var done = 0
        let totalPrompts = items.count
        for (settings, indices) in groups {
            let sampler: PointCloudSampler
            do { sampler = try self.sampler(for: settings) } catch {
                for i in indices { results[i] = .failure(Self.wrap(error, items[i])) }
                continue
            }
            let base = sampler.stages[0].model
            // Conditioning is prepared per prompt, so one bad input fails only its prompt.
            var ready: [(Int, Tensor?)] = []
            for i in indices {
                do { ready.append((i, try conditioning(items[i], model: base, settings: settings))) } catch {
                    results[i] = .failure(Self.wrap(error, items[i]))
                }
            }
            for start in stride(from: 0, to: ready.count, by: maxBatch) {
                let chunk = Array(ready[start..<min(start + maxBatch, ready.count)])
                let started = DispatchTime.now().uptimeNanoseconds
                do {
                    var cond = SamplerConditioning()
                    if base.variant == .clipVector {
                        let dim = chunk[0].1!.count
                        cond.clipVector = Tensor(shape: [chunk.count, dim], values: chunk.flatMap { $0.1!.values })
                    } else if base.variant == .clipGrid {
                        let shape = chunk[0].1!.shape
                        cond.clipGrid = Tensor(shape: [chunk.count] + shape, values: chunk.flatMap { $0.1!.values })
                    }
                    let doneBefore = done
                    let out = try withoutActuallyEscaping(progress) { report in
                        try sampler.sample(batchSize: chunk.count, conditioning: cond, noise: SeededNoise(seeds: chunk.map { items[$0.0].seed })) { p in
                            report(doneBefore * p.total + p.completed * chunk.count, totalPrompts * p.total)
                        }
                    }
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 / Double(chunk.count)
                    let models = [settings.model] + (settings.upsample ? ["upsample"] : [])
                    for (k, cloud) in sampler.pointClouds(out).enumerated() {
                        results[chunk[k].0] = .success(EngineOutput(cloud: cloud, models: models, sampleSeconds: seconds))
                    }
                } catch {
                    for (i, _) in chunk { results[i] = .failure(Self.wrap(error, items[i])) }
                }
                done += chunk.count
            }
        }
        return results.map { $0! }
    }

    static func wrap(_ error: Error, _ item: EngineItem) -> ClusterError {
        let text = (error as? ClusterError)?.message ?? "\(error)"
        return ClusterError("prompt \(item.promptID): \(text)")
    }

    /// The per-prompt conditioning tensor without batch dimension ([dim] or [dim, tokens]), or
    /// nil for unconditional models.
    func conditioning(_ item: EngineItem, model: PointDiffusionTransformer, settings: SamplingSettings) throws -> Tensor? {
        let embedding: Tensor?
        switch item.input {
        case .embedding(let bytes): embedding = try Self.decodeNpy(bytes)
        case .image(let bytes):
            guard model.variant == .clipGrid else {
                throw ClusterError("\(settings.model) is not conditioned on images; use base40M, base300M or base1B for image prompts")
            }
            guard let imageEmbedder else {
                throw ClusterError("image prompts need the CLIP image encoder, which this worker does not host (start it with --clip)")
            }
            embedding = try imageEmbedder.embedGrid(bytes, source: "image")
        case .text(let text):
            if model.variant == .clipVector, let embedder = textEmbedder {
                embedding = try embedder.embed([text])
            } else {
                embedding = nil
            }
        }
        switch model.variant {
        case .clipVector:
            guard let embedding else {
                throw ClusterError("\(settings.model) needs a CLIP text embedding and this worker has no CLIP text encoder; give the prompt an \"embedding\" (.npy) or use base40M-uncond")
            }
            let dim = model.config.clipFeatureDim ?? 768
            guard embedding.count == dim else { throw ClusterError("embedding has \(embedding.count) values, \(settings.model) expects \(dim)") }
            let norm = embedding.values.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0, norm.isFinite else { throw ClusterError("embedding is all zeros or not finite") }
            return Tensor(shape: [dim], values: embedding.values.map { $0 / norm })
        case .clipGrid:
            guard let embedding else { throw ClusterError("\(settings.model) is conditioned on a CLIP image grid: give the prompt an \"embedding\" (.npy grid)") }
            let size = model.config.clipGridSize ?? 16, dim = model.config.clipGridFeatureDim ?? 1024
            guard embedding.count == dim * size * size else {
                throw ClusterError("embedding has shape \(embedding.shape); \(settings.model) expects a grid of \(dim) x \(size * size)")
            }
            return embedding.reshaped([dim, size * size])
        default:
            // Unconditional: the prompt text is recorded in the manifest but conditions nothing.
            return nil
        }
    }

    /// An .npy file's float array (the reader works on files, so the bytes take a private temp file).
    static func decodeNpy(_ bytes: Data) throws -> Tensor {
        let path = NSTemporaryDirectory() + "pointe-embedding-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).npy"
        guard FileManager.default.createFile(atPath: path, contents: bytes) else { throw ClusterError("cannot write \(path)") }
        defer { unlink(path) }
        do {
            let arrays = try NumpyReader.loadNpy(path)
            guard let first = arrays.keys.first, let array = arrays[first] else { throw ClusterError("embedding file holds no array") }
            let tensor = try array.floatTensor()
            return Tensor(shape: tensor.shape, values: Array(tensor.values))
        } catch let error as CheckpointError {
            throw ClusterError("embedding is not a readable .npy file (\(error.message.replacingOccurrences(of: path, with: "<embedding>")))")
        }
    }
}
