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
        Example: pointe models init-demo --models-dir models-demo && pointe run prompts.txt -o out --models-dir models-demo
        Hidden until the set's trained networks are in the repository (docs/DEMO-MODELS.md says where training stands).
        """,
        shouldDisplay: false)

    @OptionGroup var options: CacheOptions

    func run() throws {
        let written = try DemoModelSet.install(into: options.directory)
        let bytes = written.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        print("demo model set: \(written.count) files, \(String(format: "%.1f MB", Double(bytes) / 1e6)) -> \(options.directory)")
        print("captions it knows: \((options.directory as NSString).appendingPathComponent(DemoModelSet.grammarFile))")
    }
}
