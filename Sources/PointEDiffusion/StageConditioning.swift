/// Which of a run's conditioning inputs a stage sees: the reference's per-stage
/// `model_kwargs_key_filter` ("*" or comma-separated kwargs names), typed by the inputs
/// `SamplerConditioning` holds. The reference's names are read only where its fixtures are
/// (PointEParity's `SamplerFixture`).
public enum StageConditioning: Sendable, Hashable {
    /// Everything the run was given (the reference's "*").
    case all
    /// Only these inputs; none at all is `unconditioned`.
    case only(Set<SamplerConditioning.Input>)

    /// Nothing (the reference's "": text2pc's upsampler, which sees only the base points).
    public static let unconditioned = StageConditioning.only([])

    public func admits(_ input: SamplerConditioning.Input) -> Bool {
        switch self {
        case .all: true
        case .only(let inputs): inputs.contains(input)
        }
    }
}
