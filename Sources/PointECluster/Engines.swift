import Foundation
import PointEMesh
import PointETensor

/// What a worker samples for one prompt. Image and embedding files travel as bytes, so a
/// worker needs no access to the coordinator's disk.
public struct EngineItem: Sendable {
    public enum Input: Sendable {
        case text(String)
        case image(Data)
        case embedding(Data)
    }
    public var promptID: String
    public var seed: UInt64
    public var input: Input
    public var settings: SamplingSettings
    public init(promptID: String, seed: UInt64, input: Input, settings: SamplingSettings) {
        self.promptID = promptID
        self.seed = seed
        self.input = input
        self.settings = settings
    }
}

public struct EngineOutput: Sendable {
    public var cloud: PointCloud
    public var models: [String]
    public var sampleSeconds: Double
    public init(cloud: PointCloud, models: [String], sampleSeconds: Double) {
        self.cloud = cloud
        self.models = models
        self.sampleSeconds = sampleSeconds
    }
}

/// The engine a worker hosts. One result per item, in order: a prompt that cannot be sampled
/// (an undecodable input, a missing model) fails alone; the rest of the batch still samples.
/// A prompt's cloud must depend only on its seed and settings, never on its batch-mates.
public protocol SamplingEngine: AnyObject {
    var version: String { get }
    var hostedModels: [String] { get }
    var maxBatch: Int { get }
    func sample(_ items: [EngineItem], progress: (_ done: Int, _ total: Int) -> Void) -> [Result<EngineOutput, ClusterError>]
}

/// Text prompts -> unit CLIP text embeddings [B, dim]. CLIP (issue 4) plugs in here; until
/// then a worker has none and text prompts work only with unconditional models.
public protocol TextEmbedder: AnyObject {
    func embed(_ texts: [String]) throws -> Tensor
}

/// Image prompts (encoded JPEG/PNG bytes) -> CLIP latent grid [dim, tokens] for the image-grid
/// base models. `source` names the prompt in errors (e.g. an image that does not decode).
public protocol ImageEmbedder: AnyObject {
    func embedGrid(_ image: Data, source: String) throws -> Tensor
}

/// A mesher node's engine: a cloud to mesh files of the requested formats (issue 5 plugs in here).
public protocol MeshingEngine: AnyObject {
    var version: String { get }
    func mesh(_ cloud: PointCloud, promptID: String, formats: [String], gridSize: Int) throws -> [(format: String, data: Data)]
}
