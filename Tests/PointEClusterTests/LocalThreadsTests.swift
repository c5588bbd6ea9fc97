import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETensor
import PointETestSupport
import XCTest

/// `pointe run` divides its CPUs among its local workers (each pinned to a share of its own,
/// one thread per CPU of it), and the thread options are checked, naming the value at fault.
final class LocalThreadsTests: ProcessTestCase {
    /// The CPUs every thread of `pid` may run on (each thread's own affinity: a pin that missed
    /// the threads started before it shows here).
    func threadAffinities(_ pid: pid_t) -> Set<String> {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return Set(tasks.compactMap { tid in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)) ?? ""
            return status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }?
                .dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
        })
    }

    func testRunPinsEachWorkerToItsOwnShareAndFinishes() throws {
        let dir = ClusterTestSupport.temporaryDirectory("threads-run")
        let prompts = try writePrompts(12, in: dir)
        let directory = JobDirectory(dir + "/job")
        let run = try start(["run", prompts, "-o", directory.path, "--models-dir", ClusterTestSupport.modelsDirectory, "--model", "base40M-uncond",
                             "--no-upsample", "--steps", "24", "--shard-size", "1", "--batch", "1", "--workers", "2", "--threads", "1",
                             "--mesh-formats", "none"], log: dir + "/run.log")
        // After a first result both workers have started and set themselves up.
        try waitFor("a first result and two workers") { manifestLineCount(directory) >= 1 && children("worker", of: run).count == 2 }
        let workers = children("worker", of: run)
        let usable = MachineCores.usableCPUs()
        var shares: [String] = []
        for pid in workers {
            let words = commandLine(of: pid)
            let threads = words.firstIndex(of: "--threads").map { words[$0 + 1] }
            XCTAssertEqual(threads, "1", "worker \(pid): \(words)")
            let cpus = words.firstIndex(of: "--cpus").map { words[$0 + 1] }
            if usable.count >= 2 {
                let share = try XCTUnwrap(cpus, "worker \(pid) was not pinned: \(words)")
                XCTAssertEqual(threadAffinities(pid), [share], "worker \(pid): every thread on its share")
                shares.append(share)
            } else {
                XCTAssertNil(cpus, "2 workers on 1 core cannot have disjoint shares: \(words)")
            }
        }
        if usable.count >= 2 {
            XCTAssertEqual(shares.sorted(), usable.cpus.prefix(2).map(String.init), "disjoint shares, one CPU each")
        }
        try waitFor("pointe run to finish", timeout: 180) { !run.isRunning }
        XCTAssertEqual(run.exitStatus, 0, run.output)
        try assertComplete(directory, prompts: 12)
        print("pointe run --workers 2 --threads 1 on CPUs \(usable): workers pinned to \(shares)")
    }

    /// Bad counts and CPU lists are refused, each error naming the option and its value; more
    /// workers x threads than cores is run with a warning.
    func testThreadOptionsAreCheckedAndOversubscriptionIsWarned() throws {
        let pointe = try BuiltTool.pointe()
        func parse(_ arguments: [String]) throws -> (Int32, String) {
            try Subprocess.run("/usr/bin/env", ["POINTE_PARSE_ONLY=1", pointe] + arguments, timeout: 60)
        }
        for (arguments, message) in [(["worker", "--threads", "0"], "--threads must be 1 to 1024, got 0"),
                                     (["mesher", "--cpus", "0-x"], "\"0-x\" is not a CPU number"),
                                     (["generate", "a chair", "-o", "x.ply", "--cpus", "3-1"], "\"3-1\""),
                                     (["run", "p.txt", "-o", "out", "--threads=-2"], "--threads must be 1 to 1024, got -2"),
                                     (["run", "p.txt", "-o", "out", "--workers=-1"], "--workers must be 0 to 1024, got -1")] {
            let (status, output) = try parse(arguments)
            XCTAssertNotEqual(status, 0, "\(arguments) was accepted")
            XCTAssertTrue(output.contains(message), "\(arguments): \(output)")
        }
        XCTAssertEqual(try parse(["worker", "--threads", "3", "--cpus", "0"]).0, 0)

        // A CPU this process may not use is refused when the command starts, before any work.
        let dir = ClusterTestSupport.temporaryDirectory("threads-options")
        let outside = (MachineCores.usableCPUs().cpus.max() ?? 0) + 1
        let (status, output) = try Subprocess.run(pointe, ["sample", "--model", "base40M-uncond", "--models-dir", ClusterTestSupport.modelsDirectory,
                                                           "--steps", "1", "-o", dir + "/x.ply", "--cpus", "\(outside)"], timeout: 60)
        XCTAssertNotEqual(status, 0, output)
        XCTAssertTrue(output.contains("--cpus \(outside): CPU \(outside) is not one this process may use"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.ply"))

        let cores = MachineCores.usable()
        let prompts = try writePrompts(1, in: dir)
        let run = try start(["run", prompts, "-o", dir + "/job", "--models-dir", ClusterTestSupport.modelsDirectory, "--model", "base40M-uncond",
                             "--no-upsample", "--steps", "1", "--workers", "\(cores + 1)", "--threads", "1", "--mesh-formats", "none", "--quiet"],
                            log: dir + "/run.log")
        try waitFor("pointe run to finish", timeout: 120) { !run.isRunning }
        XCTAssertEqual(run.exitStatus, 0, run.output)
        XCTAssertTrue(run.output.contains("warning: \(cores + 1) workers x 1 threads = \(cores + 1) threads on \(cores) usable cores"), run.output)
    }
}
