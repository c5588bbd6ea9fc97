import ArgumentParser
import Foundation
import PointEDiffusion
import PointEEngine
import PointEMesh
import PointEModels

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Text or image -> coloured point cloud (CLIP, base model, upsampler).",
        usage: "pointe generate (<prompt> | --image <file>) -o <file.ply|file.npz|dir/> [<options>]",
        discussion: """
        A text prompt runs base40M-textvec on CLIP's text embedding; --image runs an image-grid \
        base model (--base: base40M, base300M or base1B) on CLIP's latent grid of the picture \
        (JPEG or PNG). Both are followed by the upsampler (1024 + 3072 = 4096 points with the \
        released models), with the reference's sampling settings (64 Heun steps per stage; \
        guidance 3 on the base stage, and on the upsampler too for images). \
        --models-dir holds NAME.safetensors + NAME.json (`pointe models init-random`) or the \
        released NAME.pt / cache file names, and CLIP as clip.safetensors + clip.json or the \
        released ViT-L-14.pt TorchScript archive. The same --seed always gives the same cloud. \
        -o is a .ply / .npz file, or a directory that receives NAME.ply.

        Examples:
          pointe generate "a red motorcycle" -o out/
          pointe generate --image corgi.jpg -o corgi.ply --seed 7
          pointe generate "a chair" -o chair.npz --steps 32 --sampler euler-ancestral
        """)

    @Argument(help: "Text prompt (omit with --image).") var prompt: String?
    @Option(help: "Image file (JPEG or PNG) to condition on instead of text.") var image: String?
    @Option(name: .customLong("models-dir"), help: "Directory holding the model files. Default: the model cache (\(ModelCache.defaultDescription)), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    var modelsDir: String { modelsDirOption ?? ModelCache.defaultDirectory() }
    @Option(name: .shortAndLong, help: "Output .ply / .npz file or directory.") var output: String
    @Option(help: "Base model (default: base40M-textvec for text, base40M for images).") var base: BaseModel?
    @Option(help: "Seed of the sample's noise.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Sampling steps per stage (reference: 64).") var steps = SamplingSettings.referenceSteps
    @Option(parsing: .unconditional, help: "Sampling steps of the upsampler stage (default: --steps).") var upsampleSteps: Int?
    @Option(parsing: .unconditional, help: "Guidance scale (reference: 3; the base stage, and the upsampler for images).") var guidance = SamplingSettings.referenceGuidance
    @Option(help: "How each stage is sampled (reference: heun).") var sampler: SamplerKind = .reference
    @OptionGroup var threading: ThreadOptions

    func validate() throws {
        guard (prompt == nil) != (image == nil) else { throw ValidationError("give either a text prompt or --image FILE") }
        if let prompt, prompt.allSatisfy(\.isWhitespace) { throw ValidationError("the text prompt is empty") }
        try OptionBounds.check(SamplingSettings.stepsProblem(steps), "--steps")
        try OptionBounds.check(upsampleSteps.flatMap(SamplingSettings.stepsProblem), "--upsample-steps")
        try OptionBounds.check(guidance, atLeast: 0, "--guidance")
    }

    func run() throws {
        try threading.apply()
        let kind: PromptKind = image == nil ? .text : .image
        let settings = SamplingSettings(model: base?.model ?? SamplingSettings.defaultModel(for: kind), upsample: true, steps: steps,
                                        upsampleSteps: upsampleSteps, guidance: guidance, sampler: sampler)
        // Checked before any model is loaded, by the engine's own rule.
        if let why = PointEEngine.refusal(of: kind, by: settings.model, variant: settings.model.diffusionVariant) { throw CommandFailure(why) }
        let input: PointEEngine.Input
        if let image {
            guard let bytes = FileManager.default.contents(atPath: image) else { throw CommandFailure("cannot read \(image)") }
            input = .image(bytes)
        } else {
            input = .text(prompt!)
        }
        // A directory -o receives NAME.ply, NAME from the prompt or the image file.
        let name = prompt ?? ((image! as NSString).lastPathComponent as NSString).deletingPathExtension
        try SampleToFile.run(PointEEngine.Request(name: image ?? "prompt \"\(prompt!)\"", seed: seed, input: input, settings: settings),
                             modelsDirectory: modelsDir, output: try CloudOutput(output, name: name))
    }
}
