/// How a stage walks from noise to its points: the reference's per-stage `use_karras` choice,
/// with the Karras settings only on the branch that uses them, so no stage can be Karras and
/// DDPM at once or carry settings its loop ignores.
public enum StageLoop: Sendable, Equatable {
    /// Karras sampling (`use_karras` true) over `KarrasOptions.steps` noise levels with its
    /// method: Heun (the reference's default), Euler ancestral or DPM.
    case karras(KarrasOptions)
    /// The plain ancestral DDPM loop (`use_karras` false) over every timestep of the stage's
    /// diffusion. It has no settings of its own: how many steps it takes is the diffusion's
    /// respacing (`DiffusionConfig.respacing`), as the reference hands this loop a respaced
    /// diffusion, so the count is never stated in two places.
    case ddpm
}
