import ArgumentParser
import Foundation
import PointECluster
import PointEJob
import PointEModels
import PointETensor

extension CoreSplit: ExpressibleByArgument {
    /// "WxT": W workers of T threads.
    public init?(argument: String) {
        let parts = argument.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let t = Int(parts[1]), w >= 1, t >= 1 else { return nil }
        self.init(workers: w, threads: t)
    }
}

/// Throughput of one machine: the main job (`pointe run`: the coordinator, local workers over
/// its ipc socket, every cloud written and recorded) on full-size random-weight models, once
/// per workers x threads split of this machine's cores, each the whole command as a user runs
/// it (start-up and model loading included), in prompts per hour.
struct BenchThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Prompts per hour of `pointe run` for each workers x threads split of this machine's cores (full-size base40M-uncond + upsample, random weights).",
        discussion: """
        Each split runs `pointe run --workers W --threads T --mesh-formats none --shard-size 1 \
        --batch 1` on a fresh job of --prompts prompts (rounded up to a multiple of W, so every \
        worker has the same work) at --steps steps per stage. Default splits: every W x T equal \
        to the usable cores, and 1 x 1.
        """)

    @Option(help: "Prompts per split (rounded up to a multiple of its workers).") var prompts = 4
    @Option(help: "Sampling steps per stage.") var steps = 2
    @Option(parsing: .upToNextOption, help: "Splits to measure, as WORKERSxTHREADS (default: every W x T = the usable cores, and 1x1).")
    var splits: [CoreSplit] = []
    @Option(help: "Work directory (default: a temporary directory, removed afterwards).") var workDir: String?

    func validate() throws {
        guard prompts >= 1 else { throw ValidationError("--prompts must be at least 1, not \(prompts)") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, not \(steps)") }
    }

    struct Row {
        var split: CoreSplit
        var prompts: Int
        var seconds: Double
        var samplePerPrompt: Double
        var perHour: Double { Double(prompts) * 3600 / seconds }
    }

    func run() throws {
        let root = workDir ?? NSTemporaryDirectory() + "pointe-bench-throughput-\(getpid())"
        defer { if workDir == nil { try? FileManager.default.removeItem(atPath: root) } }
        let models = root + "/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        printError("writing full-size random base40M-uncond and upsample into \(models)...")
        for model in [ReleasedModel.base40MUncond, .upsample] {
            _ = try PointEModel.writeRandom(model.rawValue, config: model.networkConfig, seed: 1, directory: models)
        }
        let cores = MachineCores.usableCPUs()
        let chosen = splits.isEmpty ? CoreSplit.candidates(cores: cores.count) : splits
        print("bench throughput: \(prompts) prompts, \(steps) steps per stage, base40M-uncond + upsample (full size, random weights), --mesh-formats none; \(cores.count) usable cores (CPUs \(cores)), kernels \(KernelVariant.active)")
        var rows: [Row] = []
        for split in chosen {
            let row = try measure(split, root: root, models: models)
            print(String(format: "  %@: %d prompts in %.1f s, %.0f prompts/hour (%.1f s sampling per prompt in its worker)",
                         split.description, row.prompts, row.seconds, row.perHour, row.samplePerPrompt))
            rows.append(row)
        }
        guard let best = rows.max(by: { $0.perHour < $1.perHour }) else { return }
        print("| workers x threads | prompts | wall s | prompts/hour | vs best |")
        print("|---|---|---|---|---|")
        for row in rows {
            print(String(format: "| %@ | %d | %.1f | %.0f | %.2f |", row.split.description, row.prompts, row.seconds, row.perHour, row.perHour / best.perHour))
        }
        print("best: \(best.split) (\(Int(best.perHour.rounded())) prompts/hour)")
    }

    /// One `pointe run` of the split, timed from start to exit.
    func measure(_ split: CoreSplit, root: String, models: String) throws -> Row {
        let count = (prompts + split.workers - 1) / split.workers * split.workers
        let name = "\(split.workers)x\(split.threads)"
        let promptFile = root + "/prompts-\(count).txt"
        try (0..<count).map { "throughput prompt \($0)" }.joined(separator: "\n").write(toFile: promptFile, atomically: true, encoding: .utf8)
        let job = root + "/job-" + name
        try? FileManager.default.removeItem(atPath: job)
        let logPath = root + "/run-\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["run", promptFile, "-o", job, "--models-dir", models, "--model", ReleasedModel.base40MUncond.rawValue, "--steps", String(steps),
                           "--mesh-formats", "none", "--shard-size", "1", "--batch", "1",
                           "--workers", String(split.workers), "--threads", String(split.threads), "--quiet"]
        child.standardOutput = log
        child.standardError = log
        printError("  \(name): pointe \(child.arguments!.joined(separator: " "))")
        let started = DispatchTime.now().uptimeNanoseconds
        try child.run()
        child.waitUntilExit()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        guard child.terminationStatus == 0 else {
            let tail = ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").suffix(8).joined(separator: "\n")
            throw CommandFailure("\(name): pointe run exited with status \(child.terminationStatus):\n\(tail)")
        }
        let counts = try JobStore(path: JobDirectory(job).store).counts()
        guard counts.done == count else { throw CommandFailure("\(name): \(counts.done)/\(count) prompts done (log: \(logPath))") }
        return Row(split: split, prompts: count, seconds: seconds, samplePerPrompt: try meanSampleSeconds(JobDirectory(job)))
    }

    /// The workers' own sampling time per prompt, from the manifest's timings.
    func meanSampleSeconds(_ directory: JobDirectory) throws -> Double {
        let lines = try String(contentsOfFile: directory.manifestLines, encoding: .utf8).split(separator: "\n")
        let seconds = try lines.compactMap { line -> Double? in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (object?["timings"] as? [String: Any])?["sample_seconds"] as? Double
        }
        return seconds.isEmpty ? .nan : seconds.reduce(0, +) / Double(seconds.count)
    }
}
