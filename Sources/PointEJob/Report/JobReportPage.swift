import Foundation
import PointECheckpoint
import PointEEngine

/// Keeps the job directory's static report in step with the job store, at a cost per refresh
/// that does not grow with the job:
///   index.html          totals (the store's counters), the latest results, the latest failures
///   report/pages.html   every page of prompts, linked once it has been written
///   report/page-N.html  prompts (N-1)*pageSize ..< N*pageSize, each with its card
///   report/view.html    the 3D view of a GLB, when three.js is installed (MeshViewer)
/// A refresh rewrites index.html and only the pages holding a prompt that finished, or was
/// remeshed (its mesh links changed), since the last refresh (found by the sequence's
/// indexes). The last sequence written is kept in report/.sequence, so a restarted coordinator
/// rewrites only the pages of prompts that finished or were remeshed since; when the resume changed prompts that did not finish (reopened, retried:
/// `rewriteAll`), or the file is missing, it rewrites every page with a finished prompt and
/// every page left on disk. Run by ReportWriter, off the thread that answers peers.
struct JobReportPage {
    let directory: JobDirectory
    let store: JobStore
    /// Prompts per page: a page of cards a browser opens at once.
    var pageSize = 500
    /// Cards on index.html: the latest results and the latest failures.
    var latestShown = 48
    var failuresShown = 50
    private var lastSequence = 0
    private var started = false
    private var written = Set<Int>()
    private var listedPages = -1, listedWritten = -1
    /// Whether report/view.html is there: cards with a GLB link to it.
    private var viewer = false

    static let folder = "report"
    static func pagePath(_ page: Int) -> String { "\(folder)/page-\(page + 1).html" }
    static let pagesPath = "\(folder)/pages.html"
    static let sequencePath = "\(folder)/.sequence"
    /// Whether the first refresh rewrites every page (see above).
    var rewriteAll: Bool

    init(directory: JobDirectory, store: JobStore, pageSize: Int = 500, rewriteAll: Bool = false) {
        self.directory = directory
        self.store = store
        self.pageSize = max(1, pageSize)
        self.rewriteAll = rewriteAll
    }

    var title: String { "pointe job \((directory.path as NSString).lastPathComponent)" }

    /// Rewrites what changed since the last call: the pages of newly finished prompts, the page
    /// list when pages appeared, and index.html. Returns the pages rewritten.
    @discardableResult
    mutating func update(finished: Bool) throws -> Int {
        let counts = try store.counts()
        let pageCount = (counts.total + pageSize - 1) / pageSize
        var dirty = Set<Int>()
        if !started {
            try FileManager.default.createDirectory(atPath: directory.file(Self.folder), withIntermediateDirectories: true)
            viewer = try MeshViewer.install(in: directory)
            let onDisk = pagesOnDisk()
            let saved = (try? String(contentsOfFile: directory.file(Self.sequencePath), encoding: .utf8)).flatMap { Int($0) }
            if rewriteAll || saved == nil { dirty.formUnion(onDisk) } else { written.formUnion(onDisk) }
            lastSequence = rewriteAll ? 0 : saved ?? 0
            started = true
        }
        let (indexes, newest) = try store.changedIndexes(after: lastSequence)
        dirty.formUnion(indexes.map { $0 / pageSize })
        for page in dirty.sorted() where page < pageCount {
            try writePage(page, pageCount: pageCount, finished: finished)
            written.insert(page)
        }
        if newest != lastSequence || dirty.count > 0 {
            try AtomicFile.write(Data(String(newest).utf8), to: directory.file(Self.sequencePath))
        }
        lastSequence = newest
        if pageCount != listedPages || written.count != listedWritten || finished {
            try pageList(pageCount: pageCount, finished: finished).write(to: directory.file(Self.pagesPath))
            listedPages = pageCount
            listedWritten = written.count
        }
        try index(counts, pageCount: pageCount, finished: finished).write(toJobDirectory: directory.path)
        return dirty.count
    }

    func totals(_ counts: JobStore.Counts) -> JobReport.Totals { .init(total: counts.total, done: counts.done, failed: counts.failed) }

    func index(_ counts: JobStore.Counts, pageCount: Int, finished: Bool) throws -> JobReport {
        let latest = try store.latestFinished(limit: latestShown)
        var sections = [JobReport.Section(heading: "Latest results", note: latest.isEmpty ? "Nothing has finished yet." : nil,
                                          entries: try entries(latest))]
        if counts.failed > 0 {
            let failures = try store.latestFinished(limit: failuresShown, status: .failed)
            sections.append(.init(heading: "Failures", note: counts.failed > failures.count ? "The latest \(failures.count) of \(counts.failed); every prompt's page shows its failure." : nil,
                                  entries: try entries(failures)))
        }
        return JobReport(title: title, totals: totals(counts), sections: sections,
                         links: [.init(label: "All \(counts.total) prompts, \(pageSize) a page (\(written.count) of \(pageCount) pages with results)", path: Self.pagesPath)],
                         finished: finished)
    }

    func pageList(pageCount: Int, finished: Bool) throws -> JobReport {
        var links = [JobReport.Link(label: "Summary", path: "index.html")]
        for page in 0..<pageCount {
            let first = page * pageSize + 1
            links.append(.init(label: "\(first)-\(first + pageSize - 1)", path: written.contains(page) ? Self.pagePath(page) : nil))
        }
        return JobReport(title: title + ": pages", totals: totals(try store.counts()), sections: [], links: links, finished: finished,
                         location: Self.folder)
    }

    func writePage(_ page: Int, pageCount: Int, finished: Bool) throws {
        let prompts = try store.prompts(indexRange: page * pageSize ..< (page + 1) * pageSize)
        var links = [JobReport.Link(label: "Summary", path: "index.html"), .init(label: "All pages", path: Self.pagesPath)]
        if page > 0 { links.append(.init(label: "Previous", path: Self.pagePath(page - 1))) }
        if page + 1 < pageCount { links.append(.init(label: "Next", path: Self.pagePath(page + 1))) }
        let first = page * pageSize + 1
        // A page's totals are its own prompts'; it is rewritten when they change, so it does
        // not reload itself.
        let report = JobReport(title: title + ": prompts \(first)-\(first + prompts.count - 1)",
                               totals: .init(total: prompts.count, done: prompts.filter { $0.status == .done }.count, failed: prompts.filter { $0.status == .failed }.count),
                               sections: [.init(heading: "Prompts \(first)-\(first + prompts.count - 1)", entries: try entries(prompts))],
                               links: links, finished: finished, refreshes: false, location: Self.folder, lazyImages: true)
        try report.write(to: directory.file(Self.pagePath(page)))
    }

    /// Pages a previous coordinator of this job wrote (rewritten at start: the store may have
    /// changed since, e.g. prompts reopened on resume).
    func pagesOnDisk() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.file(Self.folder))) ?? []
        return names.compactMap { name in
            guard name.hasPrefix("page-"), name.hasSuffix(".html") else { return nil }
            return Int(name.dropFirst(5).dropLast(5)).map { $0 - 1 }
        }
    }

    /// The cards of these prompts (their outputs in one read).
    func entries(_ prompts: [JobStore.Prompt]) throws -> [JobReport.Entry] {
        let outputs = try store.outputs(promptIDs: prompts.map(\.id))
        return prompts.map { prompt in
            let files = outputs[prompt.id] ?? []
            let status: JobReport.Entry.Status
            switch prompt.status {
            case .done: status = .done
            case .failed: status = .failed
            case .pending, .meshing: status = .pending
            }
            var timings: [(String, Double)] = []
            if let s = prompt.sampleSeconds { timings.append(("sample", s)) }
            if let m = prompt.meshSeconds { timings.append(("mesh", m)) }
            var entry = JobReport.Entry(
                id: prompt.id, prompt: prompt.input.kind == "text" ? prompt.input.value : "\(prompt.input.kind): \(prompt.input.value)",
                seed: prompt.seed, status: status,
                files: files.filter { $0.kind != "preview_png" }.map { (label: $0.kind.replacingOccurrences(of: "_", with: " "), path: $0.path) },
                preview: files.first { $0.kind == "preview_png" }?.path,
                settings: [("model", prompt.settings.model.rawValue), ("steps", Self.steps(prompt.settings))],
                timings: timings, error: prompt.error)
            if viewer { entry.view = files.first { $0.kind == "mesh_glb" }?.path }
            return entry
        }
    }

    /// A card's steps: the base stage's, and the upsampler's when it runs with a count of its own.
    static func steps(_ settings: SamplingSettings) -> String {
        guard settings.upsample, let upsampler = settings.upsampleSteps else { return "\(settings.steps)" }
        return "\(settings.steps) (upsampler \(upsampler))"
    }
}

extension JobDirectory {
    /// Brings this job directory's report up to date on the calling thread, as a running
    /// coordinator's report thread does; for `pointe bench coordinator`, which fills a store
    /// directly and then measures a coordinator that starts from an up-to-date report.
    /// Returns the pages rewritten.
    @discardableResult
    public func refreshReport() throws -> Int {
        var page = JobReportPage(directory: self, store: try JobStore(path: store))
        return try page.update(finished: false)
    }
}
