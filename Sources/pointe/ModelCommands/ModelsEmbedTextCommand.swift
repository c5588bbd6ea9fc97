import ArgumentParser
import Foundation
import PointECheckpoint
import PointEEngine

/// `pointe models embed-text`: the CLIP text embeddings the text-vector models condition on,
/// written as .npy. Training the demo set (scripts/train) takes its conditioning from here, so the
/// vectors a model learns from are exactly the ones the engine computes at sampling time.
struct ModelsEmbedTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed-text",
        abstract: "Write the unit CLIP text embeddings of captions (one per line of --captions) as float32 [N, dim] .npy.",
        shouldDisplay: false)

    @OptionGroup var options: CacheOptions
    @Option(help: "Text file, one caption per line (blank lines are refused).") var captions: String
    @Option(name: .shortAndLong, help: "Output .npy file.") var output: String

    func run() throws {
        let text: String
        do { text = try String(contentsOfFile: captions, encoding: .utf8) } catch {
            throw CommandFailure("cannot read captions file \(captions): \(error.localizedDescription)")
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        if let blank = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw CommandFailure("\(captions):\(blank + 1): empty caption")
        }
        guard !lines.isEmpty else { throw CommandFailure("\(captions): no captions") }
        let embedder = try CLIPTextEmbedder(model: ModelDirectory(options.directory).clipModel())
        let embeddings = try embedder.embed(lines)
        try NpyWriter.write(.float32(embeddings), to: output)
        print("\(lines.count) captions -> \(output) (float32 \(embeddings.shape))")
    }
}
