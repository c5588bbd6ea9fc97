import Dispatch
import Foundation
import PointECloud
import PointECheckpoint
import PointEDiffusion
import PointEMesh
import PointEModels
import PointETensor

/// The engine every entry point hosts (`pointe generate`, `pointe sample`, cluster workers):
/// one models directory, CLIP's embedders (loaded when a prompt first needs them), the one
/// sampler factory (`TwoStageSampler`) and one seeded noise stream per prompt. A prompt's cloud
/// depends only on its input, seed and settings: never on its batch or which process ran it.
public final class PointEEngine: @unchecked Sendable {
    /// Reported to the coordinator in a worker's hello.
    public static let version = "pointe-engine/2"
    public let models: ModelDirectory
    /// Prompts sampled together (a memory/throughput knob; results do not depend on it).
    public let maxBatch: Int
    /// Guards the caches below: a worker's threads may ask for a sampler at once, and each
    /// network must be built only once (a base1B is 5 GB).
    private let lock = NSLock()
    private var samplers: [SamplingSettings: PointCloudSampler] = [:]
    private var textEmbedder: TextEmbedder?
    private var imageEmbedder: ImageEmbedder?

    public init(models: ModelDirectory, maxBatch: Int = 4) {
        self.models = models
        self.maxBatch = max(1, maxBatch)
    }

    /// What a prompt is conditioned on, as it arrives (files travel as bytes).
    public enum Input: Sendable {
        case text(String)
        case image(Data)
        /// A CLIP embedding or grid as an .npy file's bytes.
        case embedding(Data)

        /// Text or image (nil for an embedding, which any conditioned model takes by shape).
        public var kind: PromptKind? {
            switch self {
            case .text: .text
            case .image: .image
            case .embedding: nil
            }
        }
    }

    public struct Request: Sendable {
        /// Names the prompt in errors ("prompt p00003", a file name).
        public var name: String
        public var seed: UInt64
        public var input: Input
        public var settings: SamplingSettings
        public init(name: String, seed: UInt64, input: Input, settings: SamplingSettings) {
            self.name = name
            self.seed = seed
            self.input = input
            self.settings = settings
        }
    }

    public struct Output: Sendable {
        public var cloud: PointCloud
        /// The networks that made it, in stage order.
        public var models: [ReleasedModel]
        public var sampleSeconds: Double
    }

    /// Progress over a whole `sample` call, in prompt-steps.
    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        public var stage: Int
        public var stageCount: Int
    }

    /// The sampler for `settings` (built once per settings).
    public func sampler(for settings: SamplingSettings) throws -> PointCloudSampler {
        lock.lock()
        defer { lock.unlock() }
        if let cached = samplers[settings] { return cached }
        let base = try models.diffusionNetwork(settings.model)
        let upsampler = settings.upsample ? try models.diffusionNetwork(.upsample) : nil
        let sampler = try TwoStageSampler.make(settings: settings, base: base, upsampler: upsampler)
        samplers[settings] = sampler
        return sampler
    }

    /// Loads what `settings` needs now (networks, and CLIP for text or image prompts), so a
    /// worker fails at start rather than at its first prompt.
    public func preload(_ settings: SamplingSettings, clip: Bool) throws {
        _ = try sampler(for: settings)
        if clip { _ = try embedders() }
    }

    /// One result per request, in order. A prompt that cannot be sampled (an undecodable image,
    /// a missing model) fails alone; prompts with equal settings are batched.
    public func sample(_ requests: [Request], progress: ((Progress) -> Void)? = nil) -> [Result<Output, EngineError>] {
        var results = [Result<Output, EngineError>?](repeating: nil, count: requests.count)
        var groups: [(SamplingSettings, [Int])] = []
        for (i, r) in requests.enumerated() {
            if let g = groups.firstIndex(where: { $0.0 == r.settings }) { groups[g].1.append(i) } else { groups.append((r.settings, [i])) }
        }
        var done = 0
        for (settings, indices) in groups {
            let sampler: PointCloudSampler
            do { sampler = try self.sampler(for: settings) } catch {
                for i in indices { results[i] = .failure(Self.wrap(error, requests[i])) }
                continue
            }
            // Conditioning is prepared per prompt, so one bad input fails only its prompt.
            var ready: [(index: Int, conditioning: SamplerConditioning)] = []
            for i in indices {
                do { ready.append((i, try conditioning(requests[i], base: sampler.stages[0].model))) } catch {
                    results[i] = .failure(Self.wrap(error, requests[i]))
                }
            }
            for start in stride(from: 0, to: ready.count, by: maxBatch) {
                let chunk = Array(ready[start..<min(start + maxBatch, ready.count)])
                let started = DispatchTime.now().uptimeNanoseconds
                let doneBefore = done
                do {
                    let samples = try sampler.sample(batchSize: chunk.count, conditioning: Self.batched(chunk.map(\.conditioning)),
                                                     noise: SeededNoise(seeds: chunk.map { requests[$0.index].seed })) { p in
                        progress?(Progress(done: doneBefore * p.total + p.completed * chunk.count, total: requests.count * p.total,
                                           stage: p.stage, stageCount: p.stageCount))
                    }
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 / Double(chunk.count)
                    let used = [settings.model] + (settings.upsample ? [ReleasedModel.upsample] : [])
                    for (k, cloud) in sampler.pointClouds(samples).enumerated() {
                        results[chunk[k].index] = .success(Output(cloud: cloud, models: used, sampleSeconds: seconds))
                    }
                } catch {
                    for item in chunk { results[item.index] = .failure(Self.wrap(error, requests[item.index])) }
                }
                done += chunk.count
            }
        }
        return results.map { $0! }
    }

    /// One prompt, for the single-prompt commands: its cloud or the error.
    public func sampleOne(_ request: Request, progress: ((Progress) -> Void)? = nil) throws -> Output {
        try sample([request], progress: progress)[0].get()
    }

    // MARK: Conditioning

    /// The prompt's conditioning for a sampler whose base network is `base` (batch of one).
    func conditioning(_ request: Request, base: PointDiffusionTransformer) throws -> SamplerConditioning {
        let model = request.settings.model
        if let kind = request.input.kind, let why = Self.refusal(of: kind, by: model, variant: base.variant) { throw EngineError(why) }
        switch request.input {
        case .text(let text):
            // CLIP's text features are already unit vectors (the reference feeds them as they are);
            // for an unconditional model the text is recorded with the cloud and conditions nothing.
            return base.variant == .clipVector ? SamplerConditioning(clipVector: try embedders().text.embed([text])) : SamplerConditioning()
        case .image(let bytes):
            let grid = try embedders().image.embedGrid(bytes, source: request.name)
            return SamplerConditioning(clipGrid: grid.reshaped([1] + grid.shape))
        case .embedding(let bytes):
            return try Self.embeddingConditioning(bytes, source: request.name, config: base.config, variant: base.variant, model: model)
        }
    }

    /// Why a base network of `variant` cannot take a prompt of `kind` (nil: it can). The one
    /// rule, used when sampling and by commands that check before loading anything.
    public static func refusal(of kind: PromptKind, by model: ReleasedModel, variant: PointDiffusionTransformer.Variant?) -> String? {
        switch (kind, variant) {
        case (.text, .clipVector), (.text, .unconditional), (.image, .clipGrid): nil
        case (.text, _): "\(model) is conditioned on images, not text; use base40M-textvec for text prompts"
        case (.image, _): "\(model) is not conditioned on images; use base40M, base300M or base1B for image prompts"
        }
    }

    /// An embedding file's conditioning for a base network of `config` and `variant`.
    static func embeddingConditioning(_ bytes: Data, source: String, config: ModelConfig, variant: PointDiffusionTransformer.Variant,
                                      model: ReleasedModel) throws -> SamplerConditioning {
        let tensor: Tensor
        do {
            let arrays = try NumpyReader.loadNpy(bytes: bytes, source: "embedding")
            guard let first = arrays.keys.first, let array = arrays[first] else { throw EngineError("\(source): the embedding file holds no array") }
            tensor = try array.floatTensor()
        } catch let error as CheckpointError {
            throw EngineError("\(source): the embedding is not a readable .npy file (\(error.message))")
        }
        switch variant {
        case .clipVector:
            let dim = config.clipFeatureDim ?? 768
            guard tensor.count == dim else { throw EngineError("\(source): the embedding has shape \(tensor.shape); \(model) expects \(dim) values") }
            // The reference feeds unit-norm CLIP features; a given embedding is normalised in case it is not.
            let values = Array(tensor.values)
            let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0, norm.isFinite else { throw EngineError("\(source): the embedding is all zeros or not finite") }
            return SamplerConditioning(clipVector: Tensor(shape: [1, dim], values: values.map { $0 / norm }))
        case .clipGrid:
            let size = config.clipGridSize ?? 16, dim = config.clipGridFeatureDim ?? 1024
            guard tensor.count == dim * size * size else {
                throw EngineError("\(source): the embedding has shape \(tensor.shape); \(model) expects a CLIP grid of \(dim) x \(size * size)")
            }
            return SamplerConditioning(clipGrid: Tensor(shape: [1, dim, size * size], values: Array(tensor.values)))
        default:
            throw EngineError("\(source): \(model) is unconditional and takes no embedding")
        }
    }

    /// Rows of one-prompt conditionings stacked into one batch.
    static func batched(_ rows: [SamplerConditioning]) -> SamplerConditioning {
        func stack(_ tensors: [Tensor?]) -> Tensor? {
            let present = tensors.compactMap { $0 }
            guard present.count == tensors.count, let first = present.first else { return nil }
            return Tensor(shape: [present.count] + first.shape.dropFirst(), values: present.flatMap(\.values))
        }
        return SamplerConditioning(clipVector: stack(rows.map(\.clipVector)), clipGrid: stack(rows.map(\.clipGrid)))
    }

    /// CLIP's embedders, loaded from the models directory the first time a prompt needs them.
    func embedders() throws -> (text: TextEmbedder, image: ImageEmbedder) {
        lock.lock()
        defer { lock.unlock() }
        if let textEmbedder, let imageEmbedder { return (textEmbedder, imageEmbedder) }
        let clip = try models.clipModel()
        let text = try CLIPTextEmbedder(model: clip), image = CLIPImageEmbedder(model: clip)
        textEmbedder = text
        imageEmbedder = image
        return (text, image)
    }

    static func wrap(_ error: Error, _ request: Request) -> EngineError {
        let text = (error as? EngineError)?.description ?? "\(error)"
        return EngineError(text.hasPrefix(request.name) ? text : "\(request.name): \(text)")
    }
}
