import Foundation
@testable import PointEClusterBase
import PointECloud
@testable import PointEJob
import PointEMesh
import PointEModels
import PointETestSupport
import XCTest

/// The demo model set makes the objects its captions name, end to end through `pointe run` at
/// the reference's sampler settings (64 Karras Heun steps per stage, guidance 3) on the README's
/// example prompts: each cloud is nearer its caption's shape than any other shape of the grammar
/// and within a Chamfer bound of it, its colour is the caption's, its mesh is closed, and the
/// set's P-FID against ground-truth clouds and its P-IS are within bounds. Random weights fail the
/// same checks (`testRandomWeightsFailTheChecks`), so the checks can tell an object from noise.
final class DemoModelQualityTests: ProcessTestCase {
    static let demoSet = Fixtures.repositoryRoot + "/Sources/PointEDemoModels/DemoSet"
    static let prompts = Fixtures.repositoryRoot + "/scripts/examples/prompts.txt"
    /// Ground-truth clouds of every shape and size (`scripts/train/train.py ground-truth`: the command is in its README.txt).
    static let groundTruth = Fixtures.repositoryRoot + "/Tests/Fixtures/demo-ground-truth"

    /// Bounds, measured on the demo set (docs/DEMO-MODELS.md gives the numbers and why these).
    /// Chamfer is the mean nearest-point distance of both directions, in point-cloud units (a
    /// medium shape is about 0.5 across); two ground-truth samples of one shape are ~0.02 apart.
    static let chamferBound: Float = 0.05
    /// Euclidean distance of the cloud's mean sRGB colour (0..1) from the caption's.
    static let colourBound: Float = 0.15
    static let pfidBound = 10.0
    static let pisMinimum = 3.0

    struct Verdict: CustomStringConvertible {
        let caption: String
        let chamfer: Float
        /// The grammar shape (same size) whose ground truth is nearest, by Chamfer distance.
        let nearestShape: String
        let expectedShape: String
        let colourError: Float
        let nearestColour: String
        let expectedColour: String
        let closedMesh: Bool

        var failures: [String] {
            var out: [String] = []
            if nearestShape != expectedShape { out.append("nearest shape is \(nearestShape)") }
            if !(chamfer <= DemoModelQualityTests.chamferBound) { out.append(String(format: "Chamfer %.4f over %.4f", chamfer, DemoModelQualityTests.chamferBound)) }
            if nearestColour != expectedColour { out.append("nearest colour is \(nearestColour)") }
            if !(colourError <= DemoModelQualityTests.colourBound) { out.append(String(format: "colour off by %.3f", colourError)) }
            if !closedMesh { out.append("mesh not closed") }
            return out
        }

        var description: String {
            String(format: "%@: Chamfer %.4f (nearest %@), colour error %.3f (nearest %@), mesh %@%@", caption, chamfer, nearestShape, colourError,
                   nearestColour, closedMesh ? "closed" : "open", failures.isEmpty ? "" : " -- FAILS: " + failures.joined(separator: "; "))
        }
    }

    /// index.json of the ground truth: each cloud's file, shape and scale.
    struct GroundTruthIndex: Decodable {
        struct Entry: Decodable { let file: String; let shape: String; let scale: Float }
        let clouds: [Entry]
    }

    lazy var groundTruthIndex: GroundTruthIndex = {
        try! JSONDecoder().decode(GroundTruthIndex.self, from: Data(contentsOf: URL(fileURLWithPath: Self.groundTruth + "/index.json")))
    }()

    /// Ground-truth cloud files of `shape` at `scale`.
    func groundTruthFiles(shape: String, scale: Float) throws -> [String] {
        let files = groundTruthIndex.clouds.filter { $0.shape == shape && $0.scale == scale }.map { Self.groundTruth + "/" + $0.file }
        guard !files.isEmpty else { throw ClusterError("no ground truth for \(shape) at scale \(scale) in \(Self.groundTruth)") }
        return files
    }

    /// Runs the README's example prompts through `pointe run` on `models`; returns the job.
    func runJob(models: String, label: String) throws -> JobDirectory {
        let dir = ClusterTestSupport.temporaryDirectory("demo-\(label)")
        let job = JobDirectory(dir + "/job")
        let child = try start(["run", Self.prompts, "-o", job.path, "--models-dir", models, "--steps", "64", "--guidance", "3", "--sampler", "heun",
                               "--workers", "1", "--mesh-formats", "ply", "--mesh-grid", "64"], log: dir + "/run.log")
        try waitFor("pointe run on \(models)", timeout: 1800) { !child.isRunning }
        XCTAssertEqual(child.exitStatus, 0, child.output)
        return job
    }

    func verdicts(_ job: JobDirectory, grammar: DemoGrammar) throws -> [Verdict] {
        try ClusterTestSupport.manifestLines(job).map { line in
            let caption = try XCTUnwrap(line["prompt"] as? String)
            let parsed = try XCTUnwrap(grammar.parse(caption), "\(caption) is not a caption of the demo grammar")
            let files = try XCTUnwrap(line["files"] as? [String: [String: Any]], "\(caption): no files")
            let cloud = try PointCloud.readNPZ(job.path + "/" + XCTUnwrap(files["cloud_npz"]?["path"] as? String))
            let mesh = try TriMesh.read(job.path + "/" + XCTUnwrap(files["mesh_ply"]?["path"] as? String))
            // Chamfer to each shape's ground truth at the caption's size: the smallest over its samples.
            var distances: [(shape: String, chamfer: Float)] = []
            for shape in grammar.shapes {
                let best = try groundTruthFiles(shape: shape.name, scale: parsed.scale).map { chamferDistance(cloud.coords, try PointCloud.readNPZ($0).coords) }.min()!
                distances.append((shape.name, best))
            }
            let own = distances.first { $0.shape == parsed.shape }!.chamfer
            let mean = try XCTUnwrap(meanColour(cloud), "\(caption): cloud has no colour")
            func error(_ c: DemoGrammar.Colour) -> Float {
                let d = mean - SIMD3(c.rgb[0], c.rgb[1], c.rgb[2])
                return (d * d).sum().squareRoot()
            }
            return Verdict(caption: caption, chamfer: own, nearestShape: distances.min { $0.chamfer < $1.chamfer }!.shape, expectedShape: parsed.shape,
                           colourError: error(parsed.colour), nearestColour: grammar.colours.min { error($0) < error($1) }!.name,
                           expectedColour: parsed.colour.name, closedMesh: MeshTopology(mesh).isWatertight)
        }
    }

    /// `pointe eval score` of the job against the ground truth of its captions' shapes and sizes.
    func score(_ job: JobDirectory, pointnet: String, grammar: DemoGrammar) throws -> (pfid: Double, pis: Double) {
        let reference = ClusterTestSupport.temporaryDirectory("demo-reference")
        for line in try ClusterTestSupport.manifestLines(job) {
            let parsed = try XCTUnwrap(grammar.parse(try XCTUnwrap(line["prompt"] as? String)))
            for file in try groundTruthFiles(shape: parsed.shape, scale: parsed.scale) {
                let copy = reference + "/" + (file as NSString).lastPathComponent
                if !FileManager.default.fileExists(atPath: copy) { try FileManager.default.copyItem(atPath: file, toPath: copy) }
            }
        }
        let dir = ClusterTestSupport.temporaryDirectory("demo-score")
        let child = try start(["eval", "score", "--pointnet", pointnet, job.path, "--reference", reference], log: dir + "/score.log")
        try waitFor("pointe eval score", timeout: 600) { !child.isRunning }
        XCTAssertEqual(child.exitStatus, 0, child.output)
        func value(_ key: String) throws -> Double {
            let line = try XCTUnwrap(child.output.split(separator: "\n").first { $0.hasPrefix(key + " ") }, "no \(key) in:\n\(child.output)")
            return try XCTUnwrap(Double(line.dropFirst(key.count + 1)))
        }
        return (try value("P-FID"), try value("P-IS"))
    }

    func installDemoSet() throws -> String {
        let models = ClusterTestSupport.temporaryDirectory("demo-models")
        let child = try start(["models", "init-demo", "--models-dir", models], log: models + ".log")
        try waitFor("pointe models init-demo", timeout: 120) { !child.isRunning }
        XCTAssertEqual(child.exitStatus, 0, child.output)
        return models
    }

    func testTheREADMEPromptsMakeTheirCaptionsObjects() throws {
        let grammar = try DemoGrammar.load(Self.demoSet + "/grammar.json")
        let models = try installDemoSet()
        let job = try runJob(models: models, label: "trained")
        let verdicts = try verdicts(job, grammar: grammar)
        XCTAssertEqual(verdicts.count, try String(contentsOfFile: Self.prompts, encoding: .utf8).split(separator: "\n").count)
        for verdict in verdicts {
            print("demo quality: \(verdict)")
            XCTAssertTrue(verdict.failures.isEmpty, "\(verdict)")
        }
        let (pfid, pis) = try score(job, pointnet: models + "/pointnet.safetensors", grammar: grammar)
        print(String(format: "demo quality: P-FID %.3f, P-IS %.3f", pfid, pis))
        XCTAssertLessThanOrEqual(pfid, Self.pfidBound)
        XCTAssertGreaterThanOrEqual(pis, Self.pisMinimum)
    }

    /// The same job on random weights of the demo set's sizes: every cloud fails a check, and so
    /// do P-FID and P-IS. Without this a check that passes everything would go unnoticed.
    func testRandomWeightsFailTheChecks() throws {
        let grammar = try DemoGrammar.load(Self.demoSet + "/grammar.json")
        let models = try installDemoSet()
        // Random weights in the demo set's own configs (same sizes, same CLIP), replacing the trained networks.
        for (index, name) in ["base40M-textvec", "upsample", "sdf"].enumerated() {
            try PointEModel.writeRandom(name, config: ModelConfig.load(models + "/\(name).json"), seed: UInt64(index), directory: models)
        }
        let job = try runJob(models: models, label: "random")
        for verdict in try verdicts(job, grammar: grammar) {
            print("demo quality (random weights): \(verdict)")
            XCTAssertFalse(verdict.failures.isEmpty, "random weights passed every check: \(verdict)")
        }
        let (pfid, pis) = try score(job, pointnet: models + "/pointnet.safetensors", grammar: grammar)
        print(String(format: "demo quality (random weights): P-FID %.3f, P-IS %.3f", pfid, pis))
        XCTAssertGreaterThan(pfid, Self.pfidBound)
    }
}
