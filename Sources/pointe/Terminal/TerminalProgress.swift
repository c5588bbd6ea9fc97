import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Progress on standard error for every long task (downloads, sampling steps, meshing, jobs).
///
/// On a terminal it redraws one line: bar, count, rate, ETA, fitted to the terminal's width
/// (a line that wraps cannot be redrawn: each redraw added a line). When standard error is not a
/// terminal (a log file, a cluster job's output) it writes a plain line at most every
/// `logInterval` seconds and at the end, so logs stay readable instead of filling with
/// carriage returns.
final class TerminalProgress: @unchecked Sendable {
    enum Unit { case count(String), bytes }

    let label: String
    let unit: Unit
    let logInterval: TimeInterval
    private let interactive: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var total: Double?
    private var done: Double = 0
    /// What was already done at the first update (a resumed job, a resumed download): the
    /// rate and ETA count only what this run did.
    private var doneAtStart: Double?
    private let lock = NSLock()

    init(label: String, total: Double? = nil, unit: Unit = .count(""), logInterval: TimeInterval = 10,
         interactive: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.total = total
        self.unit = unit
        self.logInterval = logInterval
        self.interactive = interactive
    }

    func update(done: Double, total: Double? = nil, detail: String = "") {
        lock.lock()
        defer { lock.unlock() }
        self.done = done
        if doneAtStart == nil { doneAtStart = done }
        if let total { self.total = total }
        let now = Date()
        let interval = interactive ? 0.1 : logInterval
        guard now.timeIntervalSince(lastDraw) >= interval else { return }
        lastDraw = now
        emit(line(detail: detail, now: now, columns: interactive ? Self.terminalColumns() : .max), final: false)
    }

    func finish(detail: String = "") {
        lock.lock()
        defer { lock.unlock() }
        emit(line(detail: detail, now: Date(), columns: interactive ? Self.terminalColumns() : .max), final: true)
    }

    /// The line, fitted to `columns`: without the bar if it does not fit, then cut short with
    /// an ellipsis; one column is left free, as a full line makes some terminals wrap.
    func line(detail: String, now: Date, columns: Int) -> String {
        let full = line(detail: detail, now: now)
        guard full.count >= columns, interactive else { return full }
        let bare = line(detail: detail, now: now, bar: false)
        guard bare.count >= columns else { return bare }
        return String(bare.prefix(max(1, columns - 2))) + "…"
    }

    /// Columns of the terminal on standard error (80 when it does not say).
    static func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    func line(detail: String, now: Date, bar: Bool = true) -> String {
        let elapsed = max(1e-3, now.timeIntervalSince(start))
        let rate = (done - (doneAtStart ?? 0)) / elapsed
        var parts: [String] = []
        if let total, total > 0 {
            let fraction = min(1, done / total)
            if interactive, bar {
                let width = 24, filled = Int(fraction * Double(width))
                parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]")
            }
            parts.append(String(format: "%3.0f%%", fraction * 100))
            // "3/10 prompts": the unit once, after the total.
            let doneText: String
            if case .bytes = unit { doneText = format(done) } else { doneText = String(format: "%.0f", done) }
            parts.append("\(doneText)/\(format(total))")
            if rate > 0, done < total { parts.append("ETA " + Self.duration((total - done) / rate)) }
        } else {
            parts.append(format(done))
        }
        // No rate before anything was done since the first update (it printed "0.0 s each").
        if rate > 0 { parts.append(rateText(rate)) }
        parts.append(Self.duration(elapsed) + " elapsed")
        if !detail.isEmpty { parts.append(detail) }
        return "\(label): " + parts.joined(separator: "  ")
    }

    private func emit(_ text: String, final: Bool) {
        let output = interactive ? "\r\(text)\u{1B}[K" + (final ? "\n" : "") : text + "\n"
        FileHandle.standardError.write(Data(output.utf8))
    }

    private func format(_ value: Double) -> String {
        switch unit {
        case .bytes: return String(format: "%.1f MB", value / 1e6)
        case .count(let noun): return String(format: "%.0f", value) + (noun.isEmpty ? "" : " \(noun)")
        }
    }

    private func rateText(_ rate: Double) -> String {
        switch unit {
        case .bytes: return String(format: "%.1f MB/s", rate / 1e6)
        case .count: return rate >= 1 ? String(format: "%.1f/s", rate) : String(format: "%.1f s each", 1 / rate)
        }
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
