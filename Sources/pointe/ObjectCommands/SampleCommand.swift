import ArgumentParser
import Foundation
import PointEEngine
import PointEDiffusion
import PointEModels

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Sample a coloured point cloud with a base model (and optionally the upsampler).",
        usage: "pointe sample --model <base model> -o <file.ply|file.npz> [--prompt <text>] [<options>]",
        discussion: """
        Models come from --models-dir: NAME.json + NAME.safetensors (as `pointe models init-random` \
        writes them) or NAME.pt (a released checkpoint; its config is then the released one). \
        Conditioned models take a CLIP embedding from --embedding FILE.npy ([768] or [1, 768] for \
        the *-textvec/-imagevec models, [1024, 256] grids for base40M/300M/1B), or --prompt TEXT \
        for base40M-textvec. The output format follows the extension: .ply or .npz. \
        The same --seed always gives the same cloud.

        Examples:
          pointe sample --model base40M-uncond -o cloud.ply --upsample
          pointe sample --model base40M-textvec --prompt "a cup" -o cup.npz
        """)

    @Option(name: .customLong("model"), help: "Base model.") var baseModel: BaseModel
    var model: ReleasedModel { baseModel.model }
    @Option(name: .customLong("models-dir"), help: "Directory holding the model files. Default: the model cache (\(ModelCache.defaultDescription)), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    var modelsDir: String { modelsDirOption ?? ModelCache.defaultDirectory() }
    @Option(help: "Seed of this sample's noise.") var seed: UInt64 = 0
    @Option(name: .shortAndLong, help: "Output file (.ply or .npz).") var output: String
    @Flag(help: "Add the upsampler stage (models-dir/upsample.*).") var upsample = false
    @Option(parsing: .unconditional, help: "Sampling steps per stage (reference: 64).") var steps = SamplingSettings.referenceSteps
    @Option(parsing: .unconditional, help: "Sampling steps of the upsampler stage, with --upsample (default: --steps).") var upsampleSteps: Int?
    @Option(parsing: .unconditional, help: "Guidance scale (reference: 3; 0 or 1 = unguided; the base stage, and the upsampler for image-grid models).")
    var guidance = SamplingSettings.referenceGuidance
    @Option(help: "How each stage is sampled (ddpm: the ancestral DDPM loop respaced to --steps).") var sampler: SamplerKind = .reference
    @Option(help: "CLIP embedding / grid (.npy) for conditioned models.") var embedding: String?
    @Option(help: "Text prompt (for base40M-textvec; embedded with CLIP from --models-dir).") var prompt: String?
    @OptionGroup var threading: ThreadOptions

    func validate() throws {
        guard output.hasSuffix(".ply") || output.hasSuffix(".npz") else { throw ValidationError("output \(output): use a .ply or .npz file name") }
        try OptionBounds.check(SamplingSettings.stepsProblem(steps), "--steps")
        try OptionBounds.check(upsampleSteps.flatMap(SamplingSettings.stepsProblem), "--upsample-steps")
        // Without the upsampler stage the count would be dropped unread.
        guard upsampleSteps == nil || upsample else { throw ValidationError("--upsample-steps needs --upsample") }
        try OptionBounds.check(guidance, atLeast: 0, "--guidance")
        guard prompt == nil || embedding == nil else { throw ValidationError("give --prompt or --embedding, not both") }
    }

    func run() throws {
        try threading.apply()
        let settings = SamplingSettings(model: model, upsample: upsample, steps: steps, upsampleSteps: upsampleSteps,
                                        guidance: guidance, sampler: sampler)
        let input: PointEEngine.Input
        if let embedding {
            guard let bytes = FileManager.default.contents(atPath: embedding) else { throw CommandFailure("cannot read \(embedding)") }
            input = .embedding(bytes)
        } else if let prompt {
            input = .text(prompt)
        } else {
            guard model.diffusionVariant == .unconditional else {
                throw CommandFailure("\(model) is conditioned on CLIP \(model.diffusionVariant == .clipVector ? "embeddings" : "image grids"): pass --prompt TEXT or --embedding FILE.npy")
            }
            input = .text("")
        }
        try SampleToFile.run(PointEEngine.Request(name: embedding ?? "prompt", seed: seed, input: input, settings: settings),
                             modelsDirectory: modelsDir, output: try CloudOutput(output, name: "cloud"))
    }
}
