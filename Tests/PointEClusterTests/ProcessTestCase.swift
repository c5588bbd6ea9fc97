import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// Base of tests that run `pointe` processes (ProcessFaultTests, MultiHostTests): children are
/// killed with their process groups after each test, and the checks every such job ends with.
class ProcessTestCase: XCTestCase {
    var children: [Subprocess] = []

    override func tearDown() {
        // Whole process groups: `pointe run` takes its workers and meshers with it.
        for child in children { child.killGroup() }
        children = []
    }

    func start(_ arguments: [String], log: String) throws -> Subprocess {
        let child = try Subprocess(try BuiltTool.pointe(), arguments, outputPath: log)
        children.append(child)
        return child
    }

    /// A free local port: bind to any, read it back, release it.
    func freeAddress() throws -> String {
        let probe = try RouterEndpoint(bind: "tcp://127.0.0.1:*", log: ClusterLog(role: "probe", quiet: true))
        let address = probe.address
        probe.close()
        return address
    }

    /// Polls `condition`; on a timeout the error carries what every child that has already
    /// exited said last, since a wait that times out is most often a process that died early
    /// (a coordinator that could not open its store waits for nothing).
    func waitFor(_ what: String, timeout: Double = 60, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            guard Date() < deadline else { throw ClusterError("timed out waiting for \(what)" + exitedChildrenReport()) }
            usleep(50_000)
        }
    }

    private func exitedChildrenReport() -> String {
        children.compactMap { child in
            guard let status = child.exitStatus else { return nil }
            let tail = child.output.split(separator: "\n").suffix(5).joined(separator: "\n    ")
            return "\n  `\(child.command)` exited with \(status), its log (\(child.outputPath)) ends:\n    \(tail)"
        }.joined()
    }

    func manifestLineCount(_ directory: JobDirectory) -> Int {
        ((try? String(contentsOfFile: directory.manifestLines, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    func writePrompts(_ count: Int, in dir: String) throws -> String {
        let path = dir + "/prompts.txt"
        try (0..<count).map { "object number \($0)" }.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The pids of the `pointe ROLE` processes `parent` started (its children, found in /proc).
    func children(_ role: String, of parent: Subprocess) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "pid (comm)": state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, pid_t(fields[1]) == parent.pid else { return nil }
            let words = commandLine(of: pid)
            return words.count > 1 && words[1] == role ? pid : nil
        }.sorted()
    }

    /// A process's arguments (argv) from /proc.
    func commandLine(of pid: pid_t) -> [String] {
        let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        return cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Keeps a child started elsewhere (e.g. inside a network namespace) for cleanup.
    @discardableResult
    func adopt(_ child: Subprocess) -> Subprocess {
        children.append(child)
        return child
    }

    /// Every prompt has exactly one manifest line and its files match their checksums.
    func assertComplete(_ directory: JobDirectory, prompts: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let sums = try ClusterTestSupport.verifiedChecksums(directory, file: file, line: line)
        XCTAssertEqual(sums.count, prompts, file: file, line: line)
        XCTAssertEqual(manifestLineCount(directory), prompts, file: file, line: line)
        let counts = try JobStore(path: directory.store).counts()
        XCTAssertEqual(counts.done, prompts, file: file, line: line)
        for dir in [directory.path, directory.clouds, directory.meshes] {
            let temps = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
            XCTAssertEqual(temps, [], "temporary files left in \(dir)", file: file, line: line)
        }
    }
}
