import Foundation
import PointEModels

extension ModelDirectory {
    /// What a set of prompts needs: every base model named, the upsampler if any prompt
    /// upsamples, CLIP if any prompt is text for a CLIP-conditioned model or an image (an
    /// embedding is already CLIP's output), the SDF when meshing.
    public static func needs(for prompts: [(kind: PromptKind?, settings: SamplingSettings)], meshing: Bool) -> (models: [ReleasedModel], clip: Bool) {
        var models = Set<ReleasedModel>(), clip = false
        for (kind, settings) in prompts {
            models.insert(settings.model)
            if settings.upsample { models.insert(.upsample) }
            switch kind {
            case .image: clip = true
            case .text: clip = clip || settings.model.diffusionVariant == .clipVector
            case nil: break
            }
        }
        if meshing { models.insert(.sdf) }
        return (models.sorted { $0.rawValue < $1.rawValue }, clip)
    }

    /// What of `needs(for:)` this directory lacks, one line each: the missing-file errors the
    /// loaders would give (they say how to get the file). Nothing is loaded.
    public func missing(for prompts: [(kind: PromptKind?, settings: SamplingSettings)], meshing: Bool) -> [String] {
        let (models, clip) = Self.needs(for: prompts, meshing: meshing)
        var lines: [String] = []
        for model in models {
            do { _ = try locate(model) } catch { lines.append("\(error)") }
        }
        if clip { do { _ = try locateCLIP() } catch { lines.append("\(error)") } }
        return lines
    }
}
