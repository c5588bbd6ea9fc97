import Foundation
import PointECheckpoint
import PointEClusterBase

/// A page of a job's static report (no server, no external assets): the job's totals, then
/// sections of cards (a prompt's preview, links to its files, settings, timings, failure) and
/// links to the report's other pages. Written atomically, so a browser reloading it mid-job
/// never sees half a page; while the job runs the page refreshes itself.
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
        /// The GLB (relative to the job directory) the report's 3D view shows, when it has one.
        public var view: String?
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

    /// The job's totals (from the job store's counters, not from the entries shown).
    public struct Totals: Sendable {
        public var total: Int
        public var done: Int
        public var failed: Int
        public init(total: Int, done: Int, failed: Int) {
            self.total = total
            self.done = done
            self.failed = failed
        }
    }

    /// A heading with a grid of cards (the latest results, the failures, one page of prompts).
    public struct Section: Sendable {
        public var heading: String
        public var note: String?
        public var entries: [Entry]
        public init(heading: String, note: String? = nil, entries: [Entry]) {
            self.heading = heading
            self.note = note
            self.entries = entries
        }
    }

    /// A link between the pages of a report; without a path it is shown as plain text (a page
    /// that does not exist yet).
    public struct Link: Sendable {
        public var label: String
        public var path: String?
        public init(label: String, path: String?) {
            self.label = label
            self.path = path
        }
    }

    public var title: String
    public var totals: Totals
    /// Job-wide settings (models, steps, guidance...).
    public var settings: [(String, String)]
    public var sections: [Section]
    /// Navigation (to the other pages of the report), shown above the sections.
    public var links: [Link]
    public var finished: Bool
    /// Whether the page reloads itself (by default while the job runs; pages that are rewritten
    /// only when their own prompts change do not).
    public var refreshes: Bool
    /// Where this page lies below the job directory ("report" for report/page-1.html): every
    /// path in a report is relative to the job directory, and a `<base>` makes it so.
    public var location: String
    /// Images load as they scroll into view (long pages).
    public var lazyImages: Bool

    public init(title: String, totals: Totals, settings: [(String, String)] = [], sections: [Section], links: [Link] = [],
                finished: Bool, refreshes: Bool? = nil, location: String = "", lazyImages: Bool = false) {
        self.title = title
        self.totals = totals
        self.settings = settings
        self.sections = sections
        self.links = links
        self.finished = finished
        self.refreshes = refreshes ?? !finished
        self.location = location
        self.lazyImages = lazyImages
    }

    /// One page of these entries, with totals counted from them (small reports).
    public init(title: String, entries: [Entry], settings: [(String, String)] = [], finished: Bool) {
        let totals = Totals(total: entries.count, done: entries.filter { $0.status == .done }.count, failed: entries.filter { $0.status == .failed }.count)
        self.init(title: title, totals: totals, settings: settings, sections: [Section(heading: "Prompts", entries: entries)], finished: finished)
    }

    /// index.html of the job directory.
    public func write(toJobDirectory directory: String) throws {
        try write(to: (directory as NSString).appendingPathComponent("index.html"))
    }

    public func write(to path: String) throws {
        try AtomicFile.write(Data(html().utf8), to: path)
    }

    public func html() -> String {
        let depth = location.split(separator: "/").count
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        \(depth > 0 ? "<base href=\"\(String(repeating: "../", count: depth))\">" : "")
        <title>\(escape(title))</title>
        \(refreshes ? "<meta http-equiv=\"refresh\" content=\"10\">" : "")
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
        h1 { font-size: 1.4em; margin: 0 0 .3em; }
        h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
        .summary, .settings, .note { color: #555; margin-bottom: .6em; }
        nav { margin: .4em 0 .8em; }
        nav a, nav span { display: inline-block; margin: 0 .8em .3em 0; }
        nav span { color: #999; }
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
        <body data-images-total="\(sections.reduce(0) { $0 + $1.entries.filter { $0.preview != nil }.count })">
        <h1>\(escape(title))</h1>
        <div class="summary">\(counted(totals.total, "prompt")): \(totals.done) done, \(totals.failed) failed, \(totals.total - totals.done - totals.failed) not finished\(refreshes ? " (job running; this page refreshes every 10 s)" : finished ? "" : " (job running)")</div>

        """
        if !settings.isEmpty {
            page += "<div class=\"settings\">" + settings.map { "\(escape($0.0)): \(escape($0.1))" }.joined(separator: " &middot; ") + "</div>\n"
        }
        if !links.isEmpty {
            page += "<nav>" + links.map { link in
                link.path.map { "<a href=\"\(escapeURL($0))\">\(escape(link.label))</a>" } ?? "<span>\(escape(link.label))</span>"
            }.joined(separator: "\n") + "</nav>\n"
        }
        for section in sections {
            page += "<h2>\(escape(section.heading))</h2>\n"
            if let note = section.note { page += "<div class=\"note\">\(escape(note))</div>\n" }
            page += "<div class=\"grid\">\n"
            for entry in section.entries { page += card(entry) }
            page += "</div>\n"
        }
        page += """
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
            html += "<a href=\"\(escapeURL(preview))\"><img class=\"preview\"\(lazyImages ? " loading=\"lazy\"" : "") src=\"\(escapeURL(preview))\" alt=\"\(escape(entry.prompt))\"></a>"
        } else {
            html += "<div class=\"noimg\">\(entry.status == .failed ? "failed" : "no preview yet")</div>"
        }
        html += "<div class=\"prompt\">\(escape(entry.prompt))</div>"
        var meta = ["id \(escape(entry.id))", entry.status.rawValue]
        if let seed = entry.seed { meta.append("seed \(seed)") }
        meta += entry.settings.map { "\(escape($0.0)) \(escape($0.1))" }
        meta += entry.timings.map { String(format: "%@ %.1f s", escape($0.0), $0.1) }
        html += "<div class=\"meta\">\(meta.joined(separator: " &middot; "))</div>"
        var links = entry.files.map { "<a href=\"\(escapeURL($0.path))\">\(escape($0.label))</a>" }
        // The mesh goes in the fragment, encoded as a path is (the view decodes it).
        if let view = entry.view { links.append("<a href=\"\(escapeURL(MeshViewer.page))#\(escapeURL(view))\">3D view</a>") }
        if !links.isEmpty { html += "<div>" + links.joined() + "</div>" }
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
