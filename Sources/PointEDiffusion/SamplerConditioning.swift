import PointETensor

/// Conditioning for a whole sampling run, by the reference's `model_kwargs` names:
/// `clipVector` is "embeddings" (or "texts", once embedded) [B, D]; `clipGrid` is "images" as
/// CLIP latent grids [B, D, T]. Each stage sees the ones its `StageConditioning` admits.
public struct SamplerConditioning: Sendable {
    public var clipVector: Tensor?
    public var clipGrid: Tensor?

    /// The inputs a run can have, which is what a stage's conditioning filter chooses among.
    public enum Input: Sendable, Hashable, CaseIterable {
        case clipVector
        case clipGrid
    }

    public init(clipVector: Tensor? = nil, clipGrid: Tensor? = nil) {
        self.clipVector = clipVector
        self.clipGrid = clipGrid
    }

    /// What a stage with `conditioning` receives.
    func filtered(_ conditioning: StageConditioning) -> SamplerConditioning {
        SamplerConditioning(clipVector: conditioning.admits(.clipVector) ? clipVector : nil,
                            clipGrid: conditioning.admits(.clipGrid) ? clipGrid : nil)
    }
}
