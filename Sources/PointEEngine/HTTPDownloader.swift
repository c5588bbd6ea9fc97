import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Resumable HTTP(S) downloads into a `.partial` file.
///
/// Each attempt asks for the bytes after what the partial file already holds (HTTP Range); a
/// server that ignores the range gets a fresh start, a connection that drops mid-file is
/// resumed by the next attempt. Completion means the byte count the server announced arrived.
public final class HTTPDownloader: Sendable {
    public let attempts: Int
    public let timeout: TimeInterval

    public init(attempts: Int = 5, timeout: TimeInterval = 60) {
        self.attempts = attempts
        self.timeout = timeout
    }

    /// Downloads `url` into `partialPath` (appending to what is there) until complete.
    /// `progress(received, total)` is called as bytes arrive.
    public func fetch(_ url: URL, into partialPath: String,
                      progress: @escaping @Sendable (Int64, Int64?) -> Void = { _, _ in }) throws {
        var lastError = "no attempt made"
        for attempt in 1...max(1, attempts) {
            let outcome = try runAttempt(url, partialPath: partialPath, progress: progress)
            switch outcome {
            case .complete: return
            case .retry(let reason):
                lastError = reason
                if attempt < attempts { Thread.sleep(forTimeInterval: min(2.0, 0.1 * Double(attempt * attempt))) }
            }
        }
        throw EngineError("download of \(url.absoluteString) failed after \(attempts) attempts: \(lastError) "
            + "(partial data kept in \(partialPath); the next run resumes it)")
    }

    enum Outcome { case complete, retry(String) }

    private func runAttempt(_ url: URL, partialPath: String, progress: @escaping @Sendable (Int64, Int64?) -> Void) throws -> Outcome {
        let fm = FileManager.default
        if !fm.fileExists(atPath: partialPath) {
            guard fm.createFile(atPath: partialPath, contents: nil) else {
                throw EngineError("cannot create \(partialPath)")
            }
        }
        let existing = (try? fm.attributesOfItem(atPath: partialPath)[.size] as? NSNumber)?.int64Value ?? 0
        var request = URLRequest(url: url, timeoutInterval: timeout)
        if existing > 0 { request.setValue("bytes=\(existing)-", forHTTPHeaderField: "Range") }

        let sink = try DownloadSink(path: partialPath, existing: existing, progress: progress)
        let session = URLSession(configuration: .ephemeral, delegate: sink, delegateQueue: nil)
        let task = session.dataTask(with: request)
        task.resume()
        // URLSession's own timeout should end a stalled transfer; this wait does not rely on
        // it: with no callback for `timeout` + 10 s the task is cancelled, and a session that
        // does not even report the cancellation is abandoned as a failed attempt.
        var cancelledAt: Date?
        while sink.finished.wait(timeout: .now() + 1) == .timedOut {
            if let cancelledAt {
                if Date().timeIntervalSince(cancelledAt) > 10 {
                    session.invalidateAndCancel()
                    return .retry("\(url.host ?? url.absoluteString) stopped responding and the transfer could not be cancelled cleanly")
                }
            } else if Date().timeIntervalSince(sink.lastActivity) > timeout + 10 {
                task.cancel()
                cancelledAt = Date()
            }
        }
        session.finishTasksAndInvalidate()
        return try sink.outcome(url: url)
    }
}

/// Receives one attempt's response and body, appending to the partial file.
private final class DownloadSink: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let path: String
    let finished = DispatchSemaphore(value: 0)
    private let handle: FileHandle
    private let progress: @Sendable (Int64, Int64?) -> Void
    private let lock = NSLock()
    private var written: Int64
    private var expectedTotal: Int64?
    private var failure: String?
    private var fatal: String?
    private var lastCallback = Date()

    /// When URLSession last called this delegate (or the attempt began).
    var lastActivity: Date {
        lock.lock()
        defer { lock.unlock() }
        return lastCallback
    }

    init(path: String, existing: Int64, progress: @escaping @Sendable (Int64, Int64?) -> Void) throws {
        self.path = path
        self.progress = progress
        guard let handle = FileHandle(forWritingAtPath: path) else { throw EngineError("cannot open \(path) for writing") }
        self.handle = handle
        handle.seekToEndOfFile()
        written = existing
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        lastCallback = Date()
        guard let http = response as? HTTPURLResponse else {
            fatal = "not an HTTP response"
            completionHandler(.cancel)
            return
        }
        switch http.statusCode {
        case 206:
            // Content-Range: bytes START-END/TOTAL must continue exactly where we are.
            let range = http.value(forHTTPHeaderField: "Content-Range") ?? ""
            let numbers = range.split(whereSeparator: { !$0.isNumber }).compactMap { Int64($0) }
            guard numbers.count == 3, numbers[0] == written else {
                failure = "server resumed at an unexpected offset (\(range)); restarting"
                handle.truncateFile(atOffset: 0)
                written = 0
                completionHandler(.cancel)
                return
            }
            expectedTotal = numbers[2]
        case 200:
            // The server sent the whole file: start over.
            handle.truncateFile(atOffset: 0)
            written = 0
            expectedTotal = http.expectedContentLength >= 0 ? http.expectedContentLength : nil
        case 416:
            // Nothing after our offset: complete if the server's size is what we hold.
            let range = http.value(forHTTPHeaderField: "Content-Range") ?? ""
            if let total = range.split(separator: "/").last.flatMap({ Int64($0) }), total == written {
                expectedTotal = total
            } else {
                failure = "range not satisfiable (\(range)); restarting"
                handle.truncateFile(atOffset: 0)
                written = 0
            }
            completionHandler(.cancel)
            return
        default:
            fatal = "HTTP \(http.statusCode)"
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock()
        lastCallback = Date()
        handle.write(data)
        written += Int64(data.count)
        let (now, total) = (written, expectedTotal)
        lock.unlock()
        progress(now, total)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        if let error, failure == nil, fatal == nil, expectedTotal != written {
            failure = error.localizedDescription
        }
        lock.unlock()
        finished.signal()
    }

    func outcome(url: URL) throws -> HTTPDownloader.Outcome {
        lock.lock()
        defer { lock.unlock() }
        try? handle.synchronize()
        try? handle.close()
        if let fatal { throw EngineError("download of \(url.absoluteString) failed: \(fatal)") }
        if let failure { return .retry(failure) }
        guard let total = expectedTotal else {
            // No announced length: a clean end of stream is all we can go by.
            return written > 0 ? .complete : .retry("empty response")
        }
        if written == total { return .complete }
        if written > total {
            truncate(path, 0)
            return .retry("received \(written) bytes for a \(total)-byte file; restarting")
        }
        return .retry("connection ended after \(written) of \(total) bytes")
    }
}
