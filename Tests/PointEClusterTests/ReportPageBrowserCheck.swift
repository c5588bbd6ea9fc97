import Foundation
import PointETestSupport

/// Opens a job's index.html in headless Chromium and reads back how many preview images
/// loaded, as the page's own script records it. Returns nil when no Chromium is installed.
enum ReportPageBrowserCheck {
    static func loadedPreviews(jobDirectory: String) throws -> (loaded: Int, total: Int)? {
        let page = URL(fileURLWithPath: jobDirectory).appendingPathComponent("index.html")
        guard let dom = try HeadlessChromium.renderedDOM(of: page) else { return nil }
        return (HeadlessChromium.attribute("data-images-loaded", in: dom) ?? -1, HeadlessChromium.attribute("data-images-total", in: dom) ?? -1)
    }
}
