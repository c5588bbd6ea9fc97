import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointEEngine
import PointETestSupport
import XCTest

/// What must not grow with the job: the counters every tick reads, the report page a browser
/// opens, the manifest rewrite's memory. Stores are built directly (no sampling).
final class JobScaleTests: XCTestCase {
    func makeStore(_ label: String, prompts: Int, shardSize: Int = 1, budget: Int = 1) throws -> (JobDirectory, JobStore) {
        let directory = JobDirectory(ClusterTestSupport.temporaryDirectory(label) + "/job")
        try directory.create()
        let store = try JobStore(path: directory.store)
        var settings = JobSettings()
        settings.seed = 1
        settings.shardSize = shardSize
        settings.retryBudget = budget
        settings.meshFormats = [.glb]
        try store.create(info: .init(jobID: label, promptFile: "p.txt", settings: settings), prompts: ClusterTestSupport.textPrompts(prompts))
        return (directory, store)
    }

    func output(_ id: String) -> [JobStore.Output] {
        [.init(kind: "cloud_ply", path: "clouds/\(id).ply", sha256: "0", bytes: 1), .init(kind: "preview_png", path: "previews/\(id).png", sha256: "0", bytes: 1)]
    }

    /// The trigger-kept counters equal a scan of the rows after every kind of transition.
    func testCountersFollowEveryTransition() throws {
        let (_, store) = try makeStore("counters", prompts: 12, shardSize: 2, budget: 2)
        func check(_ step: String, file: StaticString = #filePath, line: UInt = #line) throws {
            XCTAssertEqual(try store.counts(), try store.countsByScan(), "after \(step)", file: file, line: line)
        }
        try check("create")
        let a = try XCTUnwrap(store.claimShard(worker: "w"))
        _ = try store.claimShard(worker: "w")
        try check("claims")
        XCTAssertNotNil(try store.recordDone(promptID: a.prompts[0].id, outputs: output(a.prompts[0].id), worker: "w", attempt: 1, models: [], sampleSeconds: 0, meshing: true))
        try check("cloud stored, meshing")
        XCTAssertTrue(try store.recordMesh(promptID: a.prompts[0].id, outputs: [], meshSeconds: 1))
        try check("meshed")
        XCTAssertNotNil(try store.recordDone(promptID: a.prompts[1].id, outputs: [], worker: "w", attempt: 1, models: [], sampleSeconds: 0, meshing: true))
        XCTAssertFalse(try store.recordMeshFailure(promptID: a.prompts[1].id, error: "x", budget: 2))
        XCTAssertTrue(try store.recordMeshFailure(promptID: a.prompts[1].id, error: "x", budget: 2))
        try check("mesh failures")
        try store.finishAttempt(shardID: a.shardID, attempt: a.attempt, outcome: .completed, error: nil)
        try store.finishAttempt(shardID: 1, attempt: 1, outcome: .lost, error: "lost")
        try check("attempts closed")
        _ = try store.claimShard(worker: "w")
        try store.finishAttempt(shardID: 1, attempt: 2, outcome: .error, error: "bad")
        try check("shard failed")
        _ = try store.claimShard(worker: "w")
        XCTAssertEqual(try store.requeueInterrupted(), 1)
        try check("requeued")
        try store.reopen(promptID: a.prompts[0].id)
        try check("reopened")
        XCTAssertGreaterThan(try store.retryFailed(), 0)
        try check("retry failed")
        XCTAssertEqual(try store.prefillDone(below: 8, worker: "bench", outputs: output), 8, "p0 reopened, p1-p3 retried: all eight pending")
        try check("prefilled")
        XCTAssertEqual(try store.startRemesh(formats: [.ply], grid: 32).prompts, 8)
        try check("remesh started")
        XCTAssertEqual(try store.counts().remeshing, 8)
        XCTAssertNotNil(try store.recordRemesh(promptID: "p00000", outputs: [], meshSeconds: 1))
        try check("one remeshed")
        let counts = try store.counts()
        XCTAssertEqual(counts.total, 12)
        XCTAssertEqual(counts.done, 1, "the seven still waiting for their remesh count as pending")
        XCTAssertEqual(counts.pending, 11)
    }

    /// manifest.jsonl rewritten in chunks: every finished prompt once, in finish order.
    func testManifestRewriteAcrossChunksKeepsFinishOrder() throws {
        let total = Manifest.rewriteChunk * 2 + 7
        let (directory, store) = try makeStore("manifest", prompts: total + 3)
        try store.prefillDone(below: total, worker: "w", outputs: output)
        // One failure after them: a later finish sequence than every prefilled prompt.
        let claim = try XCTUnwrap(store.claimShard(worker: "w"))
        try store.finishAttempt(shardID: claim.shardID, attempt: claim.attempt, outcome: .error, error: "bad")
        XCTAssertEqual(try Manifest(directory: directory, store: store).rewrite(), total + 1)
        let lines = try ClusterTestSupport.manifestLines(directory)
        XCTAssertEqual(lines.compactMap { $0["index"] as? Int }, Array(0..<total) + [claim.prompts[0].index])
        XCTAssertEqual(lines.last?["status"] as? String, "failed")
    }

    /// The report of a 100,000-prompt job: index.html and every page stay small whatever the
    /// job's size, a refresh rewrites only the pages whose prompts changed, and the index opens
    /// in headless Chromium within a few seconds.
    func testReportOfA100000PromptJobIsPagedAndSmall() throws {
        let total = 100_000
        let (directory, store) = try makeStore("report", prompts: total)
        try store.prefillDone(below: total / 2, worker: "w", outputs: output)
        var page = JobReportPage(directory: directory, store: store)
        XCTAssertEqual(try page.update(finished: false), total / 2 / page.pageSize, "the first refresh writes every page with a finished prompt")
        let index = try Data(contentsOf: URL(fileURLWithPath: directory.file("index.html")))
        XCTAssertLessThan(index.count, 64 << 10, "index.html of a \(total)-prompt job")
        // The 3D view (view.html and its copy of three.js, where Debian's is installed) is not a page.
        let viewer = Set([MeshViewer.page, MeshViewer.threeFolder].map { ($0 as NSString).lastPathComponent })
        let pageSizes = try FileManager.default.contentsOfDirectory(atPath: directory.file(JobReportPage.folder)).filter { !viewer.contains($0) }.map {
            try Data(contentsOf: URL(fileURLWithPath: directory.file(JobReportPage.folder + "/" + $0))).count
        }
        XCTAssertEqual(pageSizes.count, total / 2 / page.pageSize + 2, "the written pages, pages.html and .sequence")
        XCTAssertLessThan(pageSizes.max() ?? 0, 512 << 10, "every page of the report")
        let html = String(decoding: index, as: UTF8.self)
        XCTAssertTrue(html.contains("\(total) prompts: \(total / 2) done, 0 failed"))
        XCTAssertEqual(html.components(separatedBy: "class=\"preview\"").count - 1, page.latestShown)

        // One more result: one page (and the index) rewritten, not the job.
        let claim = try XCTUnwrap(store.claimShard(worker: "w"))
        XCTAssertNotNil(try store.recordDone(promptID: claim.prompts[0].id, outputs: output(claim.prompts[0].id), worker: "w", attempt: 1, models: [], sampleSeconds: 0))
        XCTAssertEqual(try page.update(finished: false), 1)
        XCTAssertEqual(try page.update(finished: false), 0, "nothing changed")
        // A restarted coordinator rewrites only what finished since (none here), unless its
        // resume changed prompts that had finished.
        var restarted = JobReportPage(directory: directory, store: store)
        XCTAssertEqual(try restarted.update(finished: false), 0)
        XCTAssertTrue(try String(contentsOfFile: directory.file(JobReportPage.pagesPath), encoding: .utf8).contains(JobReportPage.pagePath(0)),
                      "the pages written before the restart are still listed")
        var reopened = JobReportPage(directory: directory, store: store, rewriteAll: true)
        XCTAssertEqual(try reopened.update(finished: false), total / 2 / page.pageSize + 1)

        guard HeadlessChromium.executable != nil else { throw XCTSkip("chromium is not installed (scripts/install-deps.sh installs it)") }
        let opened = Date()
        let dom = try XCTUnwrap(try HeadlessChromium.renderedDOM(of: URL(fileURLWithPath: directory.file("index.html"))))
        XCTAssertLessThan(Date().timeIntervalSince(opened), 10, "headless Chromium took too long to open index.html")
        XCTAssertEqual(HeadlessChromium.attribute("data-images-total", in: dom), page.latestShown, "the DOM Chromium rendered: \(dom.suffix(600))")
    }
}
