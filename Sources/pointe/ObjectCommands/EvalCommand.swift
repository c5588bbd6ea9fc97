import ArgumentParser
import Foundation
import PointEEval
import PointEModels

/// `pointe eval pfid REF GEN` and `pointe eval pis GEN`: the paper's metrics on point clouds,
/// with the released PointNet++ (`pointnet.pt`).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "P-FID and P-IS of point clouds (PointNet++ features, as the reference evaluator).",
        discussion: """
        Inputs: a batch .npz as the reference's evaluation scripts read it (arr_0 [clouds, points, 3+]), \
        a single-cloud .npz (coords) or .ply, a directory of those, or a job directory (the finished \
        prompts of its manifest.jsonl, in prompt order). \
        Clouds are centred and scaled into the unit sphere and run in batches of 64, like the \
        reference's extractor; clouds of different point counts are grouped by size.
        """,
        subcommands: [PFID.self, PIS.self, Score.self])

    struct ModelOptions: ParsableArguments {
        @Option(help: "The PointNet++ checkpoint ({\"model_state_dict\": ...}, the released pointnet.pt).")
        var pointnet: String
    }

    struct PFID: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pfid", abstract: "Frechet distance between the PointNet++ feature statistics of two sets.")
        @OptionGroup var model: ModelOptions
        @Argument(help: "Reference clouds.") var reference: String
        @Argument(help: "Generated clouds.") var generated: String

        func run() throws {
            let evaluator = PointNetEvaluator(model: try PointNetClassifier.load(checkpoint: model.pointnet))
            var stats: [FIDStatistics] = []
            for path in [reference, generated] {
                let result = try EvalCommand.features(of: path, evaluator: evaluator)
                stats.append(try FIDStatistics(features: result.features, dim: result.featureDim, source: path))
            }
            print(String(format: "P-FID %.6f", try stats[0].frechetDistance(to: stats[1])))
        }
    }

    struct PIS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pis", abstract: "Inception score of the PointNet++ class predictions (splits of 5000).")
        @OptionGroup var model: ModelOptions
        @Argument(help: "Generated clouds.") var generated: String
        @Option(parsing: .unconditional, help: "Rows per split.") var splitSize = InceptionScore.defaultSplitSize

        func validate() throws { try OptionBounds.check(splitSize, 1...Int.max, "--split-size") }

        func run() throws {
            let evaluator = PointNetEvaluator(model: try PointNetClassifier.load(checkpoint: model.pointnet))
            let result = try EvalCommand.features(of: generated, evaluator: evaluator)
            let score = try InceptionScore.compute(predictions: result.predictions, classes: result.classes,
                                                   splitSize: splitSize, source: generated)
            print(String(format: "P-IS %.6f", score))
        }
    }

    struct Score: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "score", abstract: "P-IS of a set and, with --reference, its P-FID (e.g. a finished job directory).")
        @OptionGroup var model: ModelOptions
        @Argument(help: "Generated clouds (a job directory, a directory or a batch .npz).") var generated: String
        @Option(help: "Reference clouds for P-FID.") var reference: String?

        func run() throws {
            let evaluator = PointNetEvaluator(model: try PointNetClassifier.load(checkpoint: model.pointnet))
            let score = try CloudSetScore.compute(generated: generated, reference: reference, evaluator: evaluator) { path, done, total in
                printError("  \(path): features \(done)/\(total)")
            }
            print("clouds \(score.count)")
            if let pfid = score.pfid { print(String(format: "P-FID %.6f", pfid)) }
            print(String(format: "P-IS %.6f", score.pis))
        }
    }

    static func features(of path: String, evaluator: PointNetEvaluator) throws -> PointNetEvaluator.Result {
        let loaded = try CloudInputs.load(path)
        printError("\(path): \(loaded.clouds.count) clouds")
        return try evaluator.evaluate(loaded.clouds) { done, total in printError("  features \(done)/\(total)") }
    }
}
