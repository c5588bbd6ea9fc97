import ArgumentParser
import Foundation
import PointECheckpoint
import PointEModels

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Model files.", subcommands: [ModelsListCommand.self, ModelsDownloadCommand.self, ModelsVerifyCommand.self, InitRandom.self,
                                                         ModelsCheckCommand.self, ModelsEmbedTextCommand.self, ModelsInitDemoCommand.self])

    struct InitRandom: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-random",
            abstract: "Write every registered network, CLIP and the P-FID/P-IS PointNet++ with random weights (NAME.safetensors + NAME.json).",
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

        /// What one --only names: a released network, CLIP (its file stem) or the evaluation's
        /// PointNet++ (`pointnet`, one size: the released one).
        enum Target {
            case network(ReleasedModel)
            case clip
            case pointnet

            static let all: [Target] = ReleasedModel.allCases.map(Target.network) + [.clip, .pointnet]

            init(_ name: String) throws {
                if name == CLIPModel.fileStem {
                    self = .clip
                } else if name == "pointnet" {
                    self = .pointnet
                } else if let model = ReleasedModel(rawValue: name) {
                    self = .network(model)
                } else {
                    let known = ReleasedModel.allCases.map(\.rawValue) + [CLIPModel.fileStem, "pointnet"]
                    throw CommandFailure("unknown model \"\(name)\"; known: \(known.joined(separator: ", "))")
                }
            }
        }

        func config(_ model: ReleasedModel) -> ModelConfig { preset == .tiny ? model.tinyNetworkConfig : model.networkConfig }

        func run() throws {
            let targets = try only.isEmpty ? Target.all : only.map(Target.init)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (index, target) in targets.enumerated() {
                switch target {
                case .clip:
                    // CLIP, sized to the point networks' CLIP dimensions (ViT-L/14 for the full preset).
                    let (path, count) = try CLIPModel.writeRandom(config: try CLIPConfig.matching(config(.base40M)),
                                                                  seed: seed &+ UInt64(index), directory: directory)
                    print("\(CLIPModel.fileStem): CLIP, \(count) parameters -> \(path)")
                case .pointnet:
                    let path = (directory as NSString).appendingPathComponent(PointNetClassifier.randomFileName)
                    let count = try PointNetClassifier.writeRandom(seed: seed &+ UInt64(index), to: path)
                    print("pointnet: PointNet++ classifier (P-FID / P-IS), \(count) parameters -> \(path)")
                case .network(let model):
                    let config = config(model)
                    let (weights, count) = try PointEModel.writeRandom(model.rawValue, config: config, seed: seed &+ UInt64(index),
                                                                       metadata: ["pointe.preset": preset.rawValue], directory: directory)
                    print("\(model): \(config.name), \(count) parameters -> \(weights)")
                }
            }
        }
    }
}
