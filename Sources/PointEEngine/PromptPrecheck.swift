import Foundation
import PointECheckpoint
import PointEImage
import PointEModels

extension PointEEngine {
    /// What can be known to fail about a prompt before any network is loaded, by the same
    /// rules sampling applies: valid settings, a base model that takes the prompt's kind, an
    /// image that decodes, an embedding that is an .npy array of the model's size. `config`:
    /// the base model's config where the models directory is known (its CLIP sizes); without
    /// it the released architecture decides the kind and an embedding is only parsed.
    public static func precheck(_ input: Input, settings: SamplingSettings, source: String, config: ModelConfig?) throws {
        do { try settings.validate() } catch let error as EngineError { throw EngineError("\(source): \(error.description)") }
        let variant = config.flatMap { PointDiffusionTransformer.Variant(rawValue: $0.name) } ?? settings.model.diffusionVariant
        if let kind = input.kind, let why = refusal(of: kind, by: settings.model, variant: variant) { throw EngineError("\(source): \(why)") }
        switch input {
        case .text: break
        case .image(let bytes):
            do { _ = try ImageDecoder.decode(bytes, source: source) } catch { throw EngineError("\(error)") }
        case .embedding(let bytes):
            if let config, let variant {
                _ = try embeddingConditioning(bytes, source: source, config: config, variant: variant, model: settings.model)
            } else {
                do { _ = try NumpyReader.loadNpy(bytes: bytes, source: source) } catch {
                    throw EngineError("\(source): the embedding is not a readable .npy file (\(error))")
                }
            }
        }
    }
}
