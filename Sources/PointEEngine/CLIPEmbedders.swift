import Foundation
import PointEImage
import PointEModels
import PointETensor

/// Text prompts -> unit CLIP text embeddings [B, dim] (the reference's FrozenImageCLIP on texts).
public protocol TextEmbedder: AnyObject {
    func embed(_ texts: [String]) throws -> Tensor
}

/// Image prompts (encoded JPEG/PNG bytes) -> CLIP latent grid [dim, tokens] for the image-grid
/// models. `source` names the prompt in errors (e.g. an image that does not decode).
public protocol ImageEmbedder: AnyObject {
    func embedGrid(_ image: Data, source: String) throws -> Tensor
}

/// CLIP's text tower: tokenized with the bundled BPE vocabulary, unit vectors, one row per text.
public final class CLIPTextEmbedder: TextEmbedder {
    let model: CLIPModel
    let tokenizer: CLIPTokenizer

    public init(model: CLIPModel) throws {
        self.model = model
        tokenizer = try CLIPTokenizer.bundled(contextLength: model.config.contextLength)
    }

    public func embed(_ texts: [String]) throws -> Tensor { try model.embedText(texts, tokenizer: tokenizer) }
}

/// CLIP's image tower: decode (JPEG/PNG), CLIP's preprocessing, the latent grid.
public final class CLIPImageEmbedder: ImageEmbedder {
    let model: CLIPModel

    public init(model: CLIPModel) { self.model = model }

    public func embedGrid(_ image: Data, source: String) throws -> Tensor {
        let n = model.config.imageResolution
        let pixels = try CLIPPreprocess.pixels(ImageDecoder.decode(image, source: source), size: n)
        let grid = try model.embedImagesGrid(pixels.reshaped([1, 3, n, n]))
        return grid.reshaped(Array(grid.shape.dropFirst()))
    }
}
