import ArgumentParser
import Foundation
import PointEEngine

/// `pointe models init-demo`: installs the trained demo set (offline, a few MB) so that the
/// main job makes recognisable shapes without downloading anything.
struct ModelsInitDemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-demo",
        abstract: "Install the demo model set: small networks trained on procedural shapes (\"a red cube\", \"a small blue torus\").",
        discussion: """
        The set holds base40M-textvec, upsample, sdf, CLIP and the PointNet++ under the released names, so every command \
        uses it with its defaults. It knows captions "a [small |large ]COLOUR SHAPE" (grammar.json in the directory lists \
        them); anything else gives noise. How it was trained: scripts/train and TRAINING.md in the directory.
        Example: pointe models init-demo models-demo && pointe run prompts.txt -o out --models-dir models-demo
        """)

    @Argument(help: "Directory to install into, as `init-random DIR` (default: --models-dir, else the model cache).")
    var directory: String?
    @OptionGroup var options: CacheOptions

    func validate() throws {
        if let directory, let other = options.modelsDir, directory != other {
            throw ValidationError("two directories given (\(directory) and --models-dir \(other)): give one")
        }
    }

    func run() throws {
        let target = directory ?? options.directory
        let written = try DemoModelSet.install(into: target)
        let bytes = written.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        print("demo model set: \(written.count) files, \(String(format: "%.1f MB", Double(bytes) / 1e6)) -> \(target)")
        print("captions it knows: \((target as NSString).appendingPathComponent(DemoModelSet.grammarFile))")
    }
}
