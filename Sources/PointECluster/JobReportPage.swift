import Foundation
import PointEEngine

/// Keeps the job directory's `index.html` (the static report page) in step with the job store:
/// rewritten every few seconds while results land, and once more when the job ends.
struct JobReportPage {
    let directory: JobDirectory
    let store: JobStore
    /// Rewrites are throttled: the page reads every prompt's outputs, which is cheap for one
    /// write but not after every single result of a large job.
    var minimumIntervalMs: UInt64 = 5000
    private var lastWritten: UInt64 = 0
    private var lastFinishedCount = -1

    init(directory: JobDirectory, store: JobStore) {
        self.directory = directory
        self.store = store
    }

    mutating func update(now: UInt64, finishedCount: Int, jobFinished: Bool) throws {
        guard finishedCount != lastFinishedCount || jobFinished else { return }
        guard jobFinished || now - lastWritten >= minimumIntervalMs else { return }
        lastWritten = now
        lastFinishedCount = finishedCount
        try report(finished: jobFinished).write(toJobDirectory: directory.path)
    }

    func report(finished: Bool) throws -> JobReport {
        let entries = try store.prompts().map { prompt -> JobReport.Entry in
            let outputs = try store.outputs(promptID: prompt.id)
            let status: JobReport.Entry.Status
            switch prompt.status {
            case .done: status = .done
            case .failed: status = .failed
            case .pending, .meshing: status = .pending
            }
            var timings: [(String, Double)] = []
            if let s = prompt.sampleSeconds { timings.append(("sample", s)) }
            if let m = prompt.meshSeconds { timings.append(("mesh", m)) }
            return JobReport.Entry(
                id: prompt.id, prompt: prompt.input.kind == "text" ? prompt.input.value : "\(prompt.input.kind): \(prompt.input.value)",
                seed: prompt.seed, status: status,
                files: outputs.filter { $0.kind != "preview_png" }.map { (label: $0.kind.replacingOccurrences(of: "_", with: " "), path: $0.path) },
                preview: outputs.first { $0.kind == "preview_png" }?.path,
                settings: [("model", prompt.settings.model.rawValue), ("steps", "\(prompt.settings.steps)")],
                timings: timings, error: prompt.error)
        }
        return JobReport(title: "pointe job \((directory.path as NSString).lastPathComponent)", entries: entries, finished: finished)
    }
}
