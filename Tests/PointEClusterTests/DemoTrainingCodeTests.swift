import Foundation
@testable import PointEClusterBase
import PointETestSupport
import XCTest

/// The demo set's training code (scripts/train, PyTorch) still runs: each subcommand trains a
/// few steps of a tiny config and writes files that pointe loads strictly through its own
/// loaders (`pointe models check`, `pointe eval pis`), and the ground-truth writer makes clouds
/// pointe reads, and the denoising probe runs on the tiny base model. The real training runs take up to an hour each; docs/DEMO-MODELS.md has them.
final class DemoTrainingCodeTests: ProcessTestCase {
    static let train = Fixtures.repositoryRoot + "/scripts/train/train.py"

    func testEverySubcommandRunsAFewStepsOfATinyConfig() throws {
        let venv = try PythonTestVenv.makeOrSkip("train", requirements: Fixtures.repositoryRoot + "/scripts/train/requirements.txt")
        let pointe = try BuiltTool.pointe()
        let out = ClusterTestSupport.temporaryDirectory("demo-training")
        for command in ["base", "upsample", "sdf", "pointnet"] {
            // The base model trains on pointe's own caption embeddings (`pointe models embed-text`).
            let embedder = command == "base" ? ["--pointe", pointe] : []
            let (status, output) = try Subprocess.run(venv.python, [Self.train, command, "--tiny", "--steps", "3", "--seed", "1", "--out", out] + embedder,
                                                      timeout: 600)
            XCTAssertEqual(status, 0, "train.py \(command):\n\(output)")
        }
        // The classifier's other recipe: its last set abstraction trained too, on unevenly noisy clouds.
        let (sa3Status, sa3Output) = try Subprocess.run(venv.python, [Self.train, "pointnet", "--tiny", "--steps", "3", "--seed", "1", "--train-sa3",
                                                                       "--uneven-noise", "--out", out + "/sa3"], timeout: 600)
        XCTAssertEqual(sa3Status, 0, "train.py pointnet --train-sa3:\n\(sa3Output)")
        for name in ["base40M-textvec", "upsample", "sdf"] {
            let (status, output) = try Subprocess.run(pointe, ["models", "check", "\(out)/\(name).json", "\(out)/\(name).safetensors"], timeout: 120)
            XCTAssertEqual(status, 0, "\(name):\n\(output)")
        }
        // The denoising probe reads the tiny base model back (and embeds with pointe).
        let (probed, probeOutput) = try Subprocess.run(venv.python, [Self.train, "denoise-probe", "--models-dir", out, "--pointe", pointe,
                                                                      "--points", "16", "--surface-samples", "200"], timeout: 300)
        XCTAssertEqual(probed, 0, "train.py denoise-probe:\n\(probeOutput)")
        XCTAssertTrue(probeOutput.contains("a red cube"), probeOutput)
        let truth = out + "/ground-truth"
        let (status, output) = try Subprocess.run(venv.python, [Self.train, "ground-truth", "--tiny", "--seed", "1", "--out", truth], timeout: 300)
        XCTAssertEqual(status, 0, "train.py ground-truth:\n\(output)")
        // score-job reads a job's manifest: here a job directory of its own (a manifest beside the
        // ground truth would make pointe read that directory as a job) whose clouds are the
        // ground truth itself.
        struct Entry: Decodable { let file: String; let caption: String }
        struct Index: Decodable { let clouds: [Entry] }
        let index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: URL(fileURLWithPath: truth + "/index.json")))
        let manifest = index.clouds.enumerated().map { i, entry in
            #"{"id":"p\#(i)","prompt":"\#(entry.caption)","files":{"cloud_npz":{"path":"../ground-truth/\#(entry.file)"}}}"#
        }
        let job = out + "/scored-job"
        try FileManager.default.createDirectory(atPath: job, withIntermediateDirectories: true)
        try manifest.joined(separator: "\n").write(toFile: job + "/manifest.jsonl", atomically: true, encoding: .utf8)
        // --low-res 16: the first 16 points scored as the base's, the other 48 as the upsampler's.
        let (summarised, summary) = try Subprocess.run(venv.python, [Self.train, "score-job", job, "--low-res", "16"], timeout: 300)
        XCTAssertEqual(summarised, 0, "train.py score-job:\n\(summary)")
        let n = index.clouds.count
        XCTAssertTrue(summary.contains("\(n) prompts: shape right \(n)/\(n), colour right \(n)/\(n)"), summary)
        XCTAssertTrue(summary.contains("the base's 16 points \(n)/\(n), the upsampler's \(n)/\(n)"), summary)
        // The classifier scores the ground truth through pointe's evaluator.
        for pointnet in ["\(out)/pointnet.safetensors", "\(out)/sa3/pointnet.safetensors"] {
            let (scored, scoreOutput) = try Subprocess.run(pointe, ["eval", "pis", "--pointnet", pointnet, truth], timeout: 300)
            XCTAssertEqual(scored, 0, "\(pointnet): \(scoreOutput)")
            XCTAssertTrue(scoreOutput.contains("P-IS "), scoreOutput)
        }
    }
}
