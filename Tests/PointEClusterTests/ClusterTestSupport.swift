import Foundation
import PointEDiffusion
import PointEEngine
import PointECheckpoint
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointEModels
import XCTest

/// Shared fixtures: a directory of tiny random models (written once per test process) and
/// helpers to run a whole job in-process (coordinator on the calling thread, workers on threads).
enum ClusterTestSupport {
    static let modelsDirectory: String = {
        let dir = NSTemporaryDirectory() + "pointe-cluster-models-\(getpid())"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (index, model) in [ReleasedModel.base40MUncond, .base40MTextvec, .upsample, .sdf].enumerated() {
            try! PointEModel.writeRandom(model.rawValue, config: model.tinyNetworkConfig, seed: UInt64(index), directory: dir)
        }
        return dir
    }()

    /// Cheap settings: the tiny unconditional base model alone, 2 Heun steps.
    static var cheap: SamplingSettings { SamplingSettings(model: .base40MUncond, upsample: false, steps: 2, guidance: 3, sampler: .heun) }

    static func temporaryDirectory(_ label: String) -> String {
        let dir = NSTemporaryDirectory() + "pointe-cluster-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func textPrompts(_ count: Int, settings: SamplingSettings = cheap) -> [PromptEntry] {
        (0..<count).map { PromptEntry(id: String(format: "p%05d", $0), input: .text("prompt \($0)"), seed: nil, settings: settings, line: $0 + 1) }
    }

    /// A fresh job of `prompts` text prompts and a coordinator on it (quiet log; `configure`
    /// sets other options) for tests that drive `handle` or `serve` over an in-memory transport.
    /// `recover` as a daemon does at start; a test of what `handle` does before it leaves it off.
    static func inMemoryCoordinator(_ label: String, prompts: Int, seed: UInt64 = 1, shardSize: Int, retryBudget: Int, recover: Bool = true,
                                    configure: (inout CoordinatorOptions) -> Void = { _ in }) throws -> (JobDirectory, Coordinator) {
        let directory = JobDirectory(temporaryDirectory(label) + "/job")
        try Coordinator.createJob(at: directory, prompts: textPrompts(prompts), seed: seed, shardSize: shardSize,
                                  retryBudget: retryBudget, promptFile: "test")
        var options = CoordinatorOptions()
        options.log = ClusterLog(role: "coordinator", quiet: true)
        configure(&options)
        let coordinator = try Coordinator(directory: directory, options: options)
        if recover { try coordinator.recover() }
        return (directory, coordinator)
    }

    /// The hello a worker (a sampler) named `name` sends.
    static func samplerHello(_ name: String) -> Pointe_Cluster_Hello {
        var hello = Pointe_Cluster_Hello()
        hello.role = .sampler
        hello.peerName = name
        return hello
    }

    final class Done: @unchecked Sendable {
        let group = DispatchGroup()
        private let lock = NSLock()
        private var exits: [String] = []
        func add(_ exit: String) { lock.lock(); exits.append(exit); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return exits }
    }

    /// Runs the job in `directory` to its end with `workers` in-process workers.
    @discardableResult
    static func runJob(_ directory: JobDirectory, workers: Int, batch: Int = 4, retryFailed: Bool = false,
                       workerTransport: TransportOptions = TransportOptions(),
                       configure: (inout CoordinatorOptions) -> Void = { _ in },
                       alsoOnListening: ((String) -> Void)? = nil) throws -> (JobStore.Counts, Coordinator) {
        var options = CoordinatorOptions()
        options.bind = "tcp://127.0.0.1:*"
        options.log = ClusterLog(role: "coordinator", quiet: true)
        configure(&options)
        let coordinator = try Coordinator(directory: directory, options: options)
        try coordinator.recover(retryFailed: retryFailed)
        let done = Done()
        let models = modelsDirectory
        // A job that cannot finish fails the test after two minutes instead of hanging the run.
        let deadline = Date().addingTimeInterval(120)
        var overran = false
        let counts = try coordinator.run(shouldStop: {
            overran = Date() > deadline
            return overran
        }, onListening: { address in
            alsoOnListening?(address)
            for _ in 0..<workers {
                done.group.enter()
                Thread.detachNewThread {
                    defer { done.group.leave() }
                    var workerOptions = WorkerOptions()
                    workerOptions.connect = address
                    workerOptions.transport = workerTransport
                    workerOptions.coordinatorTimeoutMs = 20_000
                    workerOptions.log = ClusterLog(role: "worker", quiet: true)
                    let engine = PointEEngine(models: ModelDirectory(models), maxBatch: batch)
                    do { done.add("\(try Worker(engine: engine, options: workerOptions).run())") } catch { done.add("error: \(error)") }
                }
            }
        })
        guard !overran else { throw ClusterError("the job in \(directory.path) did not finish within 120 s: \(counts)") }
        guard done.group.wait(timeout: .now() + 30) == .success else { throw ClusterError("workers did not exit") }
        return (counts, coordinator)
    }

    /// Every manifest line, parsed.
    static func manifestLines(_ directory: JobDirectory) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: directory.manifestLines, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// The report's pages (index.html, report/*.html) and, for each, the href and src values
    /// that point into the job directory (every report path is relative to it: pages below it
    /// carry a <base>) and name no file there.
    static func reportLinksToMissingFiles(_ directory: JobDirectory) throws -> (pages: Int, links: Int, missing: [String]) {
        let report = directory.file("report")
        let pages = ["index.html"] + (try FileManager.default.contentsOfDirectory(atPath: report)).filter { $0.hasSuffix(".html") }.sorted().map { "report/" + $0 }
        let attribute = try NSRegularExpression(pattern: #"\b(?:href|src)="([^"]*)""#)
        var links = 0, missing: [String] = []
        for page in pages {
            let html = try String(contentsOfFile: directory.file(page), encoding: .utf8)
            // Report pages set <base href="../"> (links from the job directory); a page without
            // one (the 3D view) links from its own folder.
            let folder = html.contains("<base href=\"../\">") || page == "index.html" ? "" : (page as NSString).deletingLastPathComponent + "/"
            for match in attribute.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
                let value = String(html[Range(match.range(at: 1), in: html)!])
                // The <base> itself, and anything that does not point into the job directory.
                guard !value.hasPrefix("../"), !value.contains(":"), !value.hasPrefix("#"), !value.hasPrefix("/"), !value.isEmpty else { continue }
                // A fragment that names a file (the 3D view's mesh, from the job directory) must exist too.
                let parts = value.split(separator: "#", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                links += 1
                if !FileManager.default.fileExists(atPath: directory.file(folder + parts[0])) { missing.append("\(page): \(folder + parts[0])") }
                if parts.count == 2, parts[1].contains("/"), !FileManager.default.fileExists(atPath: directory.file(parts[1])) {
                    missing.append("\(page): \(parts[1]) (fragment of \(parts[0]))")
                }
            }
        }
        return (pages.count, links, missing)
    }

    /// id -> the sha256 of each file of that prompt, checked against the files on disk.
    static func verifiedChecksums(_ directory: JobDirectory, file: StaticString = #filePath, line: UInt = #line) throws -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        for entry in try manifestLines(directory) where entry["status"] as? String == "done" {
            let id = entry["id"] as! String
            XCTAssertNil(result[id], "prompt \(id) has two manifest lines", file: file, line: line)
            var sums: [String: String] = [:]
            for (kind, value) in entry["files"] as! [String: Any] {
                let info = value as! [String: Any]
                let path = directory.file(info["path"] as! String)
                let actual = try FileChecksum.sha256(file: path)
                XCTAssertEqual(actual, info["sha256"] as? String, "\(path) does not match its manifest checksum", file: file, line: line)
                sums[kind] = actual
            }
            result[id] = sums
        }
        return result
    }
}
