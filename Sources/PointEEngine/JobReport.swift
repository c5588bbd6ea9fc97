import Foundation
import PointECheckpoint

/// `index.html` of a job directory: a static page (no server, no external assets) with a
/// thumbnail grid of every prompt, its preview, links to its files, settings, timings and
/// failures. Written atomically, so a browser reloading it mid-job never sees half a page;
/// while the job runs the page refreshes itself.
public struct JobReport: Sendable {
    public struct Entry: Sendable {
        public enum Status: String, Sendable { case done, failed, pending, running }
        public var id: String
        public var prompt: String
        public var seed: UInt64?
        public var status: Status
        /// Links shown under the thumbnail: label -> path relative to the job directory.
        public var files: [(label: String, path: String)]
        /// Preview PNG relative to the job directory.
        public var preview: String?
        public var settings: [(String, String)]
        public var timings: [(String, Double)]
        public var error: String?

        public init(id: String, prompt: String, seed: UInt64? = nil, status: Status, files: [(label: String, path: String)] = [],
                    preview: String? = nil, settings: [(String, String)] = [], timings: [(String, Double)] = [], error: String? = nil) {
            self.id = id
            self.prompt = prompt
            self.seed = seed
            self.status = status
            self.files = files
            self.preview = preview
            self.settings = settings
            self.timings = timings
            self.error = error
        }
    }

    public var title: String
    public var entries: [Entry]
    /// Job-wide settings (models, steps, guidance...).
    public var settings: [(String, String)]
    public var finished: Bool

    public init(title: String, entries: [Entry], settings: [(String, String)] = [], finished: Bool) {
        self.title = title
        self.entries = entries
        self.settings = settings
        self.finished = finished
    }

    public func write(toJobDirectory directory: String) throws {
        try AtomicFile.write(Data(html().utf8), to: (directory as NSString).appendingPathComponent("index.html"))
    }

    public func html() -> String {
        let done = entries.filter { $0.status == .done }.count
        let failed = entries.filter { $0.status == .failed }.count
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>\(escape(title))</title>
        \(finished ? "" : "<meta http-equiv=\"refresh\" content=\"10\">")
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
        h1 { font-size: 1.4em; margin: 0 0 .3em; }
        .summary, .settings { color: #555; margin-bottom: .6em; }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 14px; }
        .card { border: 1px solid #ddd; border-radius: 6px; padding: 8px; background: #fafafa; }
        .card.failed { border-color: #d66; background: #fff4f4; }
        .card img { width: 100%; aspect-ratio: 1; object-fit: contain; background: #fff; border-radius: 4px; }
        .noimg { width: 100%; aspect-ratio: 1; display: flex; align-items: center; justify-content: center; color: #999; background: #fff; }
        .prompt { font-weight: 600; margin: .4em 0 .2em; word-break: break-word; }
        .meta { font-size: 12px; color: #666; }
        .error { font-size: 12px; color: #b00; white-space: pre-wrap; }
        a { color: #0366d6; margin-right: .6em; }
        </style></head>
        <body data-images-total="\(entries.filter { $0.preview != nil }.count)">
        <h1>\(escape(title))</h1>
        <div class="summary">\(entries.count) prompts: \(done) done, \(failed) failed, \(entries.count - done - failed) not finished\(finished ? "" : " (job running; this page refreshes every 10 s)")</div>

        """
        if !settings.isEmpty {
            page += "<div class=\"settings\">" + settings.map { "\(escape($0.0)): \(escape($0.1))" }.joined(separator: " &middot; ") + "</div>\n"
        }
        page += "<div class=\"grid\">\n"
        for entry in entries { page += card(entry) }
        page += """
        </div>
        <script>
        // Lets tests (and curious users) see whether every preview loaded.
        window.addEventListener("load", function () {
          var images = document.querySelectorAll("img.preview"), ok = 0;
          images.forEach(function (img) { if (img.complete && img.naturalWidth > 0) ok++; });
          document.body.setAttribute("data-images-loaded", String(ok));
        });
        </script>
        </body></html>

        """
        return page
    }

    func card(_ entry: Entry) -> String {
        var html = "<div class=\"card \(entry.status.rawValue)\" id=\"\(escape(entry.id))\">"
        if let preview = entry.preview {
            html += "<a href=\"\(escapeURL(preview))\"><img class=\"preview\" src=\"\(escapeURL(preview))\" alt=\"\(escape(entry.prompt))\"></a>"
        } else {
            html += "<div class=\"noimg\">\(entry.status == .failed ? "failed" : "no preview yet")</div>"
        }
        html += "<div class=\"prompt\">\(escape(entry.prompt))</div>"
        var meta = ["id \(escape(entry.id))", entry.status.rawValue]
        if let seed = entry.seed { meta.append("seed \(seed)") }
        meta += entry.settings.map { "\(escape($0.0)) \(escape($0.1))" }
        meta += entry.timings.map { String(format: "%@ %.1f s", escape($0.0), $0.1) }
        html += "<div class=\"meta\">\(meta.joined(separator: " &middot; "))</div>"
        if !entry.files.isEmpty {
            html += "<div>" + entry.files.map { "<a href=\"\(escapeURL($0.path))\">\(escape($0.label))</a>" }.joined() + "</div>"
        }
        if let error = entry.error { html += "<div class=\"error\">\(escape(error))</div>" }
        return html + "</div>\n"
    }

    func escape(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// Relative paths as href/src values: each component percent-encoded.
    func escapeURL(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? String($0)
        }.joined(separator: "/")
    }
}
