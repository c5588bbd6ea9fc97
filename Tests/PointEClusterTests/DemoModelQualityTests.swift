import Foundation
@testable import PointEClusterBase
import PointEEngine
import PointEJob
import PointEModels
import PointETestSupport
import XCTest

/// The demo model set makes what its captions say, end to end through the main job (issue 35):
/// `pointe models init-demo`, then `pointe run` at the reference's sampler settings (64 Karras
/// Heun steps a stage, guidance 3) with meshes. Every cloud must be within the Chamfer bound of
/// its caption's shape, its colour nearest the caption's, its mesh closed, and both the whole
/// cloud and the upsampler's own points nearest their caption's shape (DemoShapeChecks), and
/// `pointe eval score` against the ground truth must give a P-FID and a P-IS within bounds. The same
/// job on random weights of the same networks must fail them, so the checks can tell a good
/// cloud from a bad one. docs/DEMO-MODELS.md has the measured values.
final class DemoModelQualityTests: ProcessTestCase {
    static let groundTruth = Fixtures.path("demo-ground-truth")
    /// Ground truth of the job's captions (other seeds than the reference clouds).
    static let heldOut = Fixtures.path("demo-ground-truth-heldout")
    /// The job's prompts: the held-out ground truth's captions (one per shape, every colour and
    /// size among them).
    static func captions() throws -> [String] {
        try String(contentsOfFile: heldOut + "/captions.txt", encoding: .utf8).split(separator: "\n").map(String.init)
    }

    struct Result {
        let problems: [String]
        let checked: Int
        let pfid: Double
        let pis: Double
        /// The bounds (metricBounds).
        let pfidBound: Double
        let pisBound: Double
    }

    /// `pointe eval score` of a set of clouds against the ground truth, with the set's PointNet.
    func score(_ clouds: String, pointe: String, models: String) throws -> (pfid: Double, pis: Double) {
        let (status, output) = try Subprocess.run(pointe, ["eval", "score", clouds, "--reference", Self.groundTruth,
                                                           "--pointnet", models + "/pointnet.safetensors"], timeout: 600)
        XCTAssertEqual(status, 0, output)
        func number(after label: String) -> Double {
            output.split(separator: "\n").first { $0.hasPrefix(label + " ") }.flatMap { Double($0.dropFirst(label.count + 1)) } ?? .nan
        }
        return (number(after: "P-FID"), number(after: "P-IS"))
    }

    /// The P-FID and P-IS bounds: what the held-out ground truth scores with every point
    /// jittered as far as the per-cloud Chamfer bounds still accept (DemoShapeChecks.acceptedJitter):
    /// a set of clouds each at the edge of the per-cloud checks. (The first bounds, twice the
    /// P-FID and one below the P-IS of the unjittered ground truth, were set before any network
    /// made shapes; six clouds a score move the P-FID by tens: docs/DEMO-MODELS.md.)
    func metricBounds(_ checks: DemoShapeChecks, pointe: String, models: String, in dir: String) throws -> (pfid: Double, pis: Double) {
        let truth = try DemoShapeChecks.groundTruth(captionsIn: Self.heldOut)
        let jitter = checks.acceptedJitter(truth)
        let edge = dir + "/accepted-edge"
        try FileManager.default.createDirectory(atPath: edge, withIntermediateDirectories: true)
        for (item, cloud) in zip(truth, DemoShapeChecks.jittered(truth.map(\.cloud), scale: jitter)) {
            try cloud.writeNPZ(to: edge + "/" + item.caption.replacingOccurrences(of: " ", with: "_") + ".npz")
        }
        let bounds = try score(edge, pointe: pointe, models: models)
        print("metric bounds: ground truth jittered by \(jitter) (the per-cloud checks' edge) scores P-FID \(bounds.pfid), P-IS \(bounds.pis)")
        return bounds
    }

    /// Installs the set, optionally replaces its diffusion networks with random weights of the
    /// same configs, runs the job and scores it.
    func runJob(randomDiffusionWeights: Bool) throws -> Result {
        // Until trained networks good enough to pass are committed (docs/DEMO-MODELS.md says
        // where training stands), the set is incomplete and `init-demo` names what is missing.
        do { _ = try DemoModelSet.files() } catch { throw XCTSkip("\(error)") }
        let pointe = try BuiltTool.pointe()
        let dir = ClusterTestSupport.temporaryDirectory("demo-quality")
        let models = dir + "/models"
        let (installed, installOutput) = try Subprocess.run(pointe, ["models", "init-demo", models], timeout: 120)
        XCTAssertEqual(installed, 0, installOutput)
        if randomDiffusionWeights {
            for name in ["base40M-textvec", "upsample"] {
                let config = try ModelConfig.load("\(models)/\(name).json")
                try PointEModel.writeRandom(name, config: config, seed: 7, directory: models)
            }
        }
        let prompts = dir + "/prompts.txt"
        try Self.captions().joined(separator: "\n").write(toFile: prompts, atomically: true, encoding: .utf8)
        let out = dir + "/job"
        let (ran, runOutput) = try Subprocess.run(pointe, ["run", prompts, "-o", out, "--models-dir", models, "--steps", "64", "--guidance", "3",
                                                           "--sampler", "heun", "--workers", "1", "--mesh-formats", "ply", "--mesh-grid", "64"],
                                                  timeout: 1200)
        XCTAssertEqual(ran, 0, runOutput)
        // The upsampler's points (those after the base model's n_ctx, which pointe's two-stage
        // sampler keeps first) are also checked apart, so a clean base cloud cannot hide an
        // upsampler that rounds cubes into cylinders (docs/DEMO-MODELS.md, fourth session).
        let basePoints = try ModelConfig.load("\(models)/base40M-textvec.json").nCtx
        let checks = try DemoShapeChecks(grammarPath: models + "/grammar.json", groundTruth: Self.groundTruth, basePoints: basePoints)
        let (problems, checked) = try checks.problems(job: JobDirectory(out))
        let job = try score(out, pointe: pointe, models: models)
        let bounds = try metricBounds(checks, pointe: pointe, models: models, in: dir)
        return Result(problems: problems, checked: checked, pfid: job.pfid, pis: job.pis, pfidBound: bounds.pfid, pisBound: bounds.pis)
    }

    func testTheSetMakesWhatItsCaptionsSay() throws {
        let result = try runJob(randomDiffusionWeights: false)
        XCTAssertEqual(result.checked, try Self.captions().count, result.problems.joined(separator: "\n"))
        XCTAssertEqual(result.problems, [], "\n" + result.problems.joined(separator: "\n"))
        XCTAssertLessThanOrEqual(result.pfid, result.pfidBound)
        XCTAssertGreaterThanOrEqual(result.pis, result.pisBound)
        print("demo set: P-FID \(result.pfid), P-IS \(result.pis)")
    }

    /// The checks are not satisfied by any cloud: random diffusion weights (the same configs,
    /// the set's trained SDF and PointNet) fail every one of them.
    func testRandomWeightsFailTheChecks() throws {
        let result = try runJob(randomDiffusionWeights: true)
        let failing = Set(result.problems.compactMap { $0.split(separator: " ").first })
        XCTAssertEqual(failing.count, try Self.captions().count, "prompts that passed on random weights:\n" + result.problems.joined(separator: "\n"))
        XCTAssertTrue(result.problems.contains { $0.contains("nearest shape") || $0.contains("above the bound") }, result.problems.joined(separator: "\n"))
        XCTAssertGreaterThan(result.pfid, result.pfidBound)
        XCTAssertLessThan(result.pis, result.pisBound)
        print("random weights: P-FID \(result.pfid), P-IS \(result.pis); \(result.problems.count) problems")
    }
}
