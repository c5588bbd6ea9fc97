import Foundation
import PointECloud
import PointEMesh
import PointETestSupport
import XCTest
@testable import PointEEngine
@testable import PointEJob

/// index.html of a small job, checked in a real headless browser (Chromium from Debian's
/// packages, installed by scripts/install-deps.sh).
final class JobReportTests: XCTestCase {
    var job: URL!

    override func setUpWithError() throws {
        job = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: job.appendingPathComponent("previews"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: job) }

    func report(previews: [String?]) -> JobReport {
        JobReport(title: "test job <&>", entries: previews.enumerated().map { index, preview in
            JobReport.Entry(id: "p\(index)", prompt: "a \"thing\" #\(index) <b>", seed: UInt64(index), status: preview == nil ? .failed : .done,
                            files: [("cloud", "clouds/p\(index).ply")], preview: preview,
                            timings: [("sample", 1.5)], error: preview == nil ? "image did not decode" : nil)
        }, settings: [("models", "tiny")], finished: true)
    }

    func writePreview(_ name: String) throws {
        let cloud = PointCloud(coords: [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1],
                               channels: [.init(name: "R", values: [1, 0, 0, 1]), .init(name: "G", values: [0, 1, 0, 1]),
                                          .init(name: "B", values: [0, 0, 1, 1])])
        try PointCloudPreview(tileSize: 32, grid: 2).render(cloud).writePNG(to: job.appendingPathComponent(name).path)
    }

    func testHTMLEscapesTextAndIsSelfContained() {
        let html = report(previews: ["previews/p0.png", nil]).html()
        XCTAssertTrue(html.contains("test job &lt;&amp;&gt;"))
        XCTAssertTrue(html.contains("a &quot;thing&quot; #0 &lt;b&gt;"))
        XCTAssertFalse(html.contains("<b>"))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "no external assets")
        XCTAssertTrue(html.contains("image did not decode"))
        XCTAssertTrue(html.contains("href=\"clouds/p0.ply\""))
    }

    /// A card whose prompt has a GLB links the 3D view with the mesh in the fragment, encoded
    /// as a path is (the view decodes it); a card without one has no such link.
    func testThe3DViewLinkCarriesTheMesh() {
        var withMesh = JobReport.Entry(id: "p1", prompt: "x", status: .done, files: [("mesh glb", "meshes/p 1#.glb")])
        withMesh.view = "meshes/p 1#.glb"
        let html = JobReport(title: "t", entries: [withMesh, JobReport.Entry(id: "p2", prompt: "y", status: .done)], finished: true).html()
        XCTAssertTrue(html.contains("<a href=\"report/view.html#meshes/p%201%23.glb\">3D view</a>"), html)
        XCTAssertEqual(html.components(separatedBy: "3D view").count, 2, "one link, on the card with a mesh")
    }

    /// Chromium loads the page from disk; every existing preview loads, a missing one does not.
    func testEveryPreviewLoadsInAHeadlessBrowser() throws {
        guard HeadlessChromium.executable != nil else {
            throw XCTSkip("chromium is not installed (scripts/install-deps.sh installs it)")
        }
        try writePreview("previews/p0.png")
        try writePreview("previews/p 1#.png")  // names needing escaping still load
        try report(previews: ["previews/p0.png", "previews/p 1#.png", nil]).write(toJobDirectory: job.path)
        XCTAssertEqual(try loadedImages(), "2 of 2")

        try report(previews: ["previews/p0.png", "previews/missing.png"]).write(toJobDirectory: job.path)
        XCTAssertEqual(try loadedImages(), "1 of 2", "a missing preview is noticed")
    }

    func loadedImages() throws -> String {
        let dom = try XCTUnwrap(try HeadlessChromium.renderedDOM(of: job.appendingPathComponent("index.html")))
        func value(_ name: String) -> String { HeadlessChromium.attribute(name, in: dom).map(String.init) ?? "?" }
        return "\(value("data-images-loaded")) of \(value("data-images-total"))"
    }
}
