import Foundation

/// Opens a job's index.html in headless Chromium (Debian's `chromium`, installed by
/// scripts/install-deps.sh) and reads back how many preview images loaded, as the page's own
/// script records it. Returns nil when no Chromium is installed.
enum ReportPageBrowserCheck {
    static func loadedPreviews(jobDirectory: String) throws -> (loaded: Int, total: Int)? {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else {
            return nil
        }
        let profile = NSTemporaryDirectory() + "pointe-chromium-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                             "--user-data-dir=\(profile)", "--virtual-time-budget=10000", "--dump-dom",
                             URL(fileURLWithPath: jobDirectory).appendingPathComponent("index.html").absoluteString]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let dom = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        func attribute(_ name: String) -> Int {
            guard let range = dom.range(of: "\(name)=\"") else { return -1 }
            return Int(String(dom[range.upperBound...].prefix { $0 != "\"" })) ?? -1
        }
        return (attribute("data-images-loaded"), attribute("data-images-total"))
    }
}
