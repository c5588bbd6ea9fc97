import ArgumentParser
import Foundation
import PointECheckpoint
import PointEModels

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Model files.", subcommands: [ModelsListCommand.self, ModelsDownloadCommand.self, ModelsVerifyCommand.self, InitRandom.self,
                                                         ModelsCheckCommand.self])

    struct InitRandom: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-random",
            abstract: "Write every registered network with random weights (NAME.safetensors + NAME.json).",
            discussion: """
            `tiny` is a small consistent family for offline pipeline tests; `full` has the released \
            shapes (several GB, for benchmarks). Weights follow the reference's init, perturbed so no \
            layer is an identity; they are deterministic in --seed.
            """)

        enum Preset: String, ExpressibleByArgument, CaseIterable { case tiny, full }

        @Option(help: "tiny or full") var preset: Preset = .tiny
        @Option(help: "Seed of the random weights.") var seed: UInt64 = 0
        @Option(help: "Only this model (repeatable; default: all registered).")
        var only: [String] = []
        @Argument(help: "Output directory (created if missing).") var directory: String

        func run() throws {
            let names = only.isEmpty ? ModelRegistry.releasedNames + [CLIPModel.fileStem] : only
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (index, name) in names.enumerated() {
                // CLIP, sized to the point networks' CLIP dimensions (ViT-L/14 for the full preset).
                if name == CLIPModel.fileStem {
                    let config = try CLIPConfig.matching((preset == .tiny ? ModelRegistry.tiny("base40M") : ModelRegistry.released("base40M"))!)
                    let (path, count) = try CLIPModel.writeRandom(config: config, seed: seed &+ UInt64(index), directory: directory)
                    print("\(name): CLIP, \(count) parameters -> \(path)")
                    continue
                }
                guard let config = preset == .tiny ? ModelRegistry.tiny(name) : ModelRegistry.released(name) else {
                    throw CommandFailure("unknown model \"\(name)\"; known: \((ModelRegistry.releasedNames + [CLIPModel.fileStem]).joined(separator: ", "))")
                }
                let (weights, count) = try PointEModel.writeRandom(name, config: config, seed: seed &+ UInt64(index),
                                                                   metadata: ["pointe.preset": preset.rawValue], directory: directory)
                print("\(name): \(config.name), \(count) parameters -> \(weights)")
            }
        }
    }
}
