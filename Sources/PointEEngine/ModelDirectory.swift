import Foundation
import PointEModels

/// One models directory (the model cache or `--models-dir`): where every network's files are
/// and the networks themselves, each loaded strictly once. The only place that decides which
/// file a model comes from; every command, worker and mesher goes through it.
///
/// File layout, per model NAME (a `ReleasedModel`):
///   NAME.json + NAME.safetensors or NAME.pt  (`pointe models init-random`, or a custom config)
///   NAME.pt                                  (the released checkpoint, its `networkConfig`;
///                                             `pointe models download NAME` stores it so)
/// CLIP: clip.json + clip.safetensors/.pt, or OpenAI's released TorchScript archive ViT-L-14.pt
/// (architecture read from its shapes). PointNet++ for P-FID / P-IS: pointnet.pt.
public final class ModelDirectory: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()
    private var networks: [ReleasedModel: PointDiffusionTransformer] = [:]
    private var sdf: CrossAttentionPointCloudSDFModel?
    private var clip: CLIPModel?

    public init(_ path: String) { self.path = path }

    /// Where a model's weights are and the config they are read with.
    public struct Location: Sendable {
        public let config: ModelConfig
        public let weights: String
        /// NAME.json when the config came from one (nil: the model's released `networkConfig`).
        public let configFile: String?
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func existing(_ names: [String]) -> String? {
        names.map(file).first { FileManager.default.fileExists(atPath: $0) }
    }

    /// True when the directory has weights for `model`.
    public func has(_ model: ReleasedModel) -> Bool { existing(ModelFiles(model.rawValue).weights) != nil }

    /// True when the directory has CLIP in either form.
    public var hasCLIP: Bool { (try? locateCLIP()) != nil }

    public func locate(_ model: ReleasedModel) throws -> Location {
        let name = model.rawValue, files = ModelFiles(name)
        guard let weights = existing(files.weights) else {
            throw ModelError("missing model \(name): expected \(file(files.checkpoint)) (the released checkpoint, from "
                             + "\(model.releasedFile.url.absoluteString)) or "
                             + "\(file(files.safetensors)) + \(files.config); \(Self.howToGet(name))")
        }
        let configFile = file(files.config)
        if FileManager.default.fileExists(atPath: configFile) {
            return Location(config: try ModelConfig.load(configFile), weights: weights, configFile: configFile)
        }
        return Location(config: model.networkConfig, weights: weights, configFile: nil)
    }

    /// CLIP's weights and, for our own file form, its config (nil: infer from the archive's shapes).
    public func locateCLIP() throws -> (weights: String, config: String?) {
        let files = ModelFiles(CLIPModel.fileStem)
        if FileManager.default.fileExists(atPath: file(files.config)), let weights = existing(files.weights) {
            return (weights, file(files.config))
        }
        if let released = existing([Self.releasedCLIPFile]) { return (released, nil) }
        let source = ReleasedFiles.named(Self.clipName).map { ", from \($0.url.absoluteString)" } ?? ""
        throw ModelError("missing CLIP: expected \(file(Self.releasedCLIPFile)) (OpenAI's CLIP ViT-L/14\(source)) or "
                         + "\(file(files.safetensors)) + \(files.config); \(Self.howToGet(Self.clipName))")
    }

    /// The CLIP Point-E conditions on (the reference's FrozenImageCLIP), by its released name.
    public static let clipName = "ViT-L/14"

    /// The released CLIP archive's file name (`ViT-L-14.pt`).
    public static var releasedCLIPFile: String { ReleasedFiles.named(clipName)?.fileName ?? "ViT-L-14.pt" }

    /// The advice every missing-model error ends with.
    public static func howToGet(_ name: String) -> String {
        "get it with `pointe models download \(name)`, or offline make a random-weight test set with `pointe models init-random --preset tiny DIR`"
    }

    // MARK: Loaded networks (cached: a worker loads each once)

    public func diffusionNetwork(_ model: ReleasedModel) throws -> PointDiffusionTransformer {
        lock.lock()
        defer { lock.unlock() }
        if let cached = networks[model] { return cached }
        let location = try locate(model)
        guard case .diffusion(let network) = try PointEModel.load(config: location.config, checkpoint: location.weights).0 else {
            throw ModelError("\(location.weights): \(location.config.name) is not a point diffusion model")
        }
        networks[model] = network
        return network
    }

    public func sdfModel() throws -> CrossAttentionPointCloudSDFModel {
        lock.lock()
        defer { lock.unlock() }
        if let sdf { return sdf }
        let location = try locate(.sdf)
        guard case .sdf(let model) = try PointEModel.load(config: location.config, checkpoint: location.weights).0 else {
            throw ModelError("\(location.weights): \(location.config.name) is not \(CrossAttentionPointCloudSDFModel.className)")
        }
        sdf = model
        return model
    }

    public func clipModel() throws -> CLIPModel {
        lock.lock()
        defer { lock.unlock() }
        if let clip { return clip }
        let (weights, config) = try locateCLIP()
        let model = try CLIPModel.load(checkpoint: weights, config: try config.map { try CLIPConfig.load($0) })
        clip = model
        return model
    }

    /// The PointNet++ checkpoint for P-FID / P-IS: the released pointnet.pt, else a random-weight
    /// one from `pointe models init-random`.
    public func pointNetFile() throws -> String {
        let name = ReleasedFiles.named("pointnet")!.fileName
        guard let found = existing([name, PointNetClassifier.randomFileName]) else { throw ModelError("missing \(file(name)) (the P-FID / P-IS PointNet++); \(Self.howToGet("pointnet"))") }
        return found
    }
}
