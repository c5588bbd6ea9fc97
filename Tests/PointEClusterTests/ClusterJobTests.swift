import CZeroMQ
import Foundation
import PointECloud
import PointECheckpoint
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointEEngine
import PointEMesh
import PointETensor
import XCTest

/// Whole jobs in one process: the coordinator on the test thread, workers on threads, all over
/// ZeroMQ on 127.0.0.1 with the tiny random models.
final class ClusterJobTests: XCTestCase {
    func createJob(_ label: String, prompts: [PromptEntry], shardSize: Int, budget: Int = 3) throws -> JobDirectory {
        let directory = JobDirectory(ClusterTestSupport.temporaryDirectory(label) + "/job")
        try Coordinator.createJob(at: directory, prompts: prompts, seed: 5, shardSize: shardSize, retryBudget: budget, promptFile: "test")
        return directory
    }

    /// Sends garbage, a multi-frame message, an unknown body and a wrong-version hello; with
    /// `oversizedBytes`, also one frame of that size (over the coordinator's frame limit).
    static func spray(_ address: String, security: TransportSecurity = .none, oversizedBytes: Int = 0) {
        Thread.detachNewThread {
            guard let rogue = try? ZMQSocket(type: ZMQ_DEALER, label: "rogue", options: TransportOptions()) else { return }
            _ = try? rogue.apply(security, log: ClusterLog(role: "rogue", quiet: true))
            try? rogue.connect(address)
            if oversizedBytes > 0 { _ = try? rogue.send([Data(repeating: 0x0A, count: oversizedBytes)]) }
            var empty = Envelope()
            empty.protocolVersion = WireProtocol.version
            var old = Envelope()
            old.protocolVersion = 0
            old.body = .workRequest(Pointe_Cluster_WorkRequest())
            for _ in 0..<3 {
                _ = try? rogue.send([Data("GET / HTTP/1.1\r\n\r\n".utf8)])
                _ = try? rogue.send([Data([0x0A, 0xFF]), Data([1, 2, 3])])
                _ = try? rogue.send([(try? empty.serializedData()) ?? Data()])
                _ = try? rogue.send([(try? old.serializedData()) ?? Data()])
                usleep(100_000)
            }
            usleep(500_000)
            rogue.close()
        }
    }

    func test24PromptsWithTwoWorkersWhileARoguePeerSendsGarbage() throws {
        let directory = try createJob("24", prompts: ClusterTestSupport.textPrompts(24), shardSize: 3)
        let status = StatusBox()
        let (counts, coordinator) = try ClusterTestSupport.runJob(directory, workers: 2, alsoOnListening: { address in
            Self.spray(address)
            Thread.detachNewThread { status.set(try? StatusClient.query(address, timeoutMs: 5000)) }
        })
        XCTAssertEqual(counts.done, 24)
        let reply = try XCTUnwrap(status.get(), "no status reply while the job ran")
        XCTAssertEqual(reply.jobID, try JobStore(path: directory.store).info().jobID)
        XCTAssertEqual(reply.promptsTotal, 24)
        XCTAssertEqual(counts.failed, 0)
        let sums = try ClusterTestSupport.verifiedChecksums(directory)
        XCTAssertEqual(Set(sums.keys), Set((0..<24).map { String(format: "p%05d", $0) }))
        XCTAssertTrue(sums.values.allSatisfy { $0.keys.sorted() == ["cloud_npz", "cloud_ply", "preview_png"] })
        XCTAssertEqual(try ClusterTestSupport.manifestLines(directory).count, 24)
        // The report page lists every prompt with its preview (checked in a browser by JobReportTests).
        let page = try String(contentsOfFile: directory.file("index.html"), encoding: .utf8)
        XCTAssertEqual(page.components(separatedBy: "class=\"preview\"").count - 1, 24)
        XCTAssertFalse(page.contains("http-equiv=\"refresh\""), "the finished job's page stops refreshing")
        if let browser = try ReportPageBrowserCheck.loadedPreviews(jobDirectory: directory.path) {
            XCTAssertEqual(browser.total, 24)
            XCTAssertEqual(browser.loaded, 24, "every preview image loads in headless Chromium")
        }
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.manifest))) as! [String: Any]
        XCTAssertEqual(summary["done"] as? Int, 24)
        XCTAssertEqual(summary["failed"] as? Int, 0)
        XCTAssertEqual(coordinator.resultsStored, 24)
        XCTAssertEqual(coordinator.previewsRendered, 0, "a worker sent a result without its preview")
        // Pull-based: both workers asked for and got shards.
        let workers = Set(try ClusterTestSupport.manifestLines(directory).compactMap { $0["worker"] as? String })
        XCTAssertEqual(workers.count, 2)
        let cloud = try PointCloud.readPLY(directory.file("clouds/p00007.ply"))
        XCTAssertEqual(cloud.count, 64)
        XCTAssertEqual(try PointCloud.readNPZ(directory.file("clouds/p00007.npz")).coords, cloud.coords)
    }

    /// A prompt's cloud depends only on its seed: not on the worker count, shard size or batch.
    func testOutputsIdenticalAcrossWorkerCountsAndShardSizes() throws {
        let prompts = ClusterTestSupport.textPrompts(10)
        let a = try createJob("det-a", prompts: prompts, shardSize: 1)
        try ClusterTestSupport.runJob(a, workers: 1, batch: 1)
        let b = try createJob("det-b", prompts: prompts, shardSize: 5)
        try ClusterTestSupport.runJob(b, workers: 3, batch: 4)
        let sumsA = try ClusterTestSupport.verifiedChecksums(a), sumsB = try ClusterTestSupport.verifiedChecksums(b)
        XCTAssertEqual(sumsA.count, 10)
        XCTAssertEqual(sumsA, sumsB)
        XCTAssertEqual(Set(sumsA.values.map { $0["cloud_ply"]! }).count, 10, "different seeds gave equal clouds")
    }

    /// A prompt whose embedding never decodes fails after its retry budget with the reason in
    /// the manifest; the rest completes; `--retry-failed` (after the file is fixed) finishes it.
    func testFailingPromptUsesItsBudgetThenRetryFailed() throws {
        let dir = ClusterTestSupport.temporaryDirectory("fail")
        let embedding = dir + "/bad.npy"
        try Data("this is not numpy".utf8).write(to: URL(fileURLWithPath: embedding))
        var conditioned = ClusterTestSupport.cheap
        conditioned.model = .base40MTextvec
        var prompts = ClusterTestSupport.textPrompts(5)
        prompts.append(PromptEntry(id: "bad", input: .embedding(path: embedding), seed: 3, settings: conditioned, line: 6))
        let directory = JobDirectory(dir + "/job")
        try Coordinator.createJob(at: directory, prompts: prompts, seed: 1, shardSize: 2, retryBudget: 2, promptFile: "test")
        let (counts, _) = try ClusterTestSupport.runJob(directory, workers: 1)
        XCTAssertEqual(counts.done, 5)
        XCTAssertEqual(counts.failed, 1)
        let lines = try ClusterTestSupport.manifestLines(directory)
        XCTAssertEqual(lines.count, 6)
        let failed = try XCTUnwrap(lines.first { $0["id"] as? String == "bad" })
        XCTAssertEqual(failed["status"] as? String, "failed")
        XCTAssertEqual(failed["attempts"] as? Int, 2)
        let reason = failed["error"] as? String ?? ""
        XCTAssertTrue(reason.contains("prompt bad: the embedding is not a readable .npy file"), reason)
        XCTAssertEqual(try JobStore(path: directory.store).attempts().filter { $0.shard == 2 }.count, 2)

        // Fix the input and resume with --retry-failed: only the failed prompt is sampled.
        try NpzWriterHelper.writeNpy(Tensor(shape: [32], values: (0..<32).map { Float($0) - 10 }), to: embedding)
        let before = try ClusterTestSupport.verifiedChecksums(directory)
        let (again, coordinator) = try ClusterTestSupport.runJob(directory, workers: 1, retryFailed: true)
        XCTAssertEqual(again.done, 6)
        XCTAssertEqual(again.failed, 0)
        XCTAssertEqual(coordinator.resultsStored, 1)
        let after = try ClusterTestSupport.verifiedChecksums(directory)
        XCTAssertEqual(after.count, 6)
        XCTAssertEqual(after.filter { $0.key != "bad" }, before)
        XCTAssertEqual(try ClusterTestSupport.manifestLines(directory).count, 6)
    }

    /// Seeds use all 64 bits. A manifest read by a JSON reader that turns numbers into doubles
    /// (JavaScript, jq 1.6, Python's json with parse_int=float; here JSONSerialization's
    /// numbers as Double) must still give each prompt the seed its cloud was sampled with:
    /// sampled again with that seed, the cloud is the stored one, bit for bit. The same for
    /// the job seed in manifest.json.
    func testManifestSeedsSurviveAFloatBasedJSONReader() throws {
        var prompts = ClusterTestSupport.textPrompts(3)
        prompts[2].seed = (1 << 63) + 1  // a prompt file's own seed, above 2^53 too
        let jobSeed: UInt64 = (1 << 62) + 3
        let directory = JobDirectory(ClusterTestSupport.temporaryDirectory("seeds") + "/job")
        try Coordinator.createJob(at: directory, prompts: prompts, seed: jobSeed, shardSize: 2, retryBudget: 1, promptFile: "test")
        try ClusterTestSupport.runJob(directory, workers: 1)
        let stored = Dictionary(uniqueKeysWithValues: try JobStore(path: directory.store).prompts().map { ($0.id, $0) })
        XCTAssertEqual(stored.values.filter { $0.seed > 1 << 53 }.count, 3, "the derived seeds are meant to need more than a double's 53 bits")

        /// A JSON value as a float-based reader hands it over: a number as a double (a
        /// string stays a string).
        func seedAsFloatReaderReadsIt(_ value: Any?) -> UInt64? {
            if let text = value as? String { return UInt64(text) }
            return (value as? NSNumber).flatMap { UInt64(exactly: $0.doubleValue) }
        }
        let engine = PointEEngine(models: ModelDirectory(ClusterTestSupport.modelsDirectory), maxBatch: 1)
        let lines = try ClusterTestSupport.manifestLines(directory)
        XCTAssertEqual(lines.count, 3)
        for line in lines {
            let id = try XCTUnwrap(line["id"] as? String)
            let prompt = try XCTUnwrap(stored[id])
            let seed = try XCTUnwrap(seedAsFloatReaderReadsIt(line["seed"]), "\(id): seed \(String(describing: line["seed"])) read as a double is no integer a UInt64 holds")
            XCTAssertEqual(seed, prompt.seed, "\(id): the manifest's seed, read as a double, is another seed")
            let again = try engine.sampleOne(PointEEngine.Request(name: id, seed: seed, input: .text(prompt.input.value), settings: prompt.settings))
            XCTAssertEqual(again.cloud, try PointCloud.readNPZ(directory.file("clouds/\(id).npz")), "\(id): the manifest's seed samples another cloud")
        }
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.manifest))) as? [String: Any])
        XCTAssertEqual(seedAsFloatReaderReadsIt(summary["seed"]), jobSeed, "manifest.json's job seed, read as a double")
    }

    /// Resume keeps verified outputs, and re-samples one whose file was damaged.
    func testResumeVerifiesChecksums() throws {
        let directory = try createJob("resume", prompts: ClusterTestSupport.textPrompts(4), shardSize: 2)
        try ClusterTestSupport.runJob(directory, workers: 1)
        let before = try ClusterTestSupport.verifiedChecksums(directory)
        try Data("damaged".utf8).write(to: URL(fileURLWithPath: directory.file("clouds/p00002.npz")))
        let (counts, coordinator) = try ClusterTestSupport.runJob(directory, workers: 1)
        XCTAssertEqual(counts.done, 4)
        XCTAssertEqual(coordinator.resultsStored, 1, "only the damaged prompt is sampled again")
        XCTAssertEqual(try ClusterTestSupport.verifiedChecksums(directory), before)
    }
}

final class StatusBox: @unchecked Sendable {
    private let lock = NSLock()
    private var reply: Pointe_Cluster_StatusReply?
    func set(_ r: Pointe_Cluster_StatusReply?) { lock.lock(); reply = r; lock.unlock() }
    func get() -> Pointe_Cluster_StatusReply? { lock.lock(); defer { lock.unlock() }; return reply }
}

enum NpzWriterHelper {
    static func writeNpy(_ tensor: Tensor, to path: String) throws {
        try NpyWriter.write(.float32(tensor), to: path)
    }
}
