import Foundation
import PointETestSupport
import XCTest

/// The bounded child processes every process-spawning test relies on.
final class SubprocessTests: XCTestCase {
    func testOutputAndExitStatus() throws {
        let (status, output) = try Subprocess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], timeout: 30)
        XCTAssertEqual(status, 3)
        XCTAssertEqual(output, "out\nerr\n")
    }

    /// A child past its deadline is killed together with the grandchild it started, and the
    /// error names the command.
    func testDeadlineKillsTheWholeGroup() throws {
        let log = NSTemporaryDirectory() + "pointe-subprocess-test-\(getpid()).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try Subprocess("/bin/sh", ["-c", "sleep 300 & echo $!; wait"], outputPath: log)
        var grandchild: pid_t?
        let deadline = Date().addingTimeInterval(10)
        while grandchild == nil, Date() < deadline {
            grandchild = pid_t(child.output.trimmingCharacters(in: .whitespacesAndNewlines))
            usleep(20_000)
        }
        let sleeper = try XCTUnwrap(grandchild)
        XCTAssertThrowsError(try child.wait(timeout: 0.5)) { XCTAssertTrue("\($0)".contains("/bin/sh -c sleep 300")) }
        XCTAssertFalse(child.isRunning)
        usleep(100_000)
        // The sleeper was reparented and reaped by init, or is a zombie at worst: not running.
        let state = (try? String(contentsOfFile: "/proc/\(sleeper)/stat", encoding: .utf8))?.split(separator: " ")[2]
        XCTAssertTrue(state == nil || state == "Z", "the grandchild \(sleeper) survived: state \(state ?? "-")")
    }
}
