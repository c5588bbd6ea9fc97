import CTestWatchdog
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process for tests, started with posix_spawn in a process group of its own with its
/// output in a file and stdin from /dev/null. Every wait has a deadline: a child that outlives
/// it is killed with its whole group (grandchildren included) and the test fails naming the
/// command, instead of the test run hanging. Foundation's `Process` is not used because its
/// end-of-child detection and pipes can block forever when a grandchild holds them open.
public final class Subprocess: @unchecked Sendable {
    public let pid: pid_t
    public let command: String
    public let outputPath: String
    private let lock = NSLock()
    private var finalStatus: Int32?

    /// Starts `executable` (an absolute path) with `arguments`; stdout and stderr go to
    /// `outputPath` (created or truncated).
    public init(_ executable: String, _ arguments: [String], outputPath: String) throws {
        command = ([executable] + arguments).joined(separator: " ")
        self.outputPath = outputPath
        TestWatchdog.arm()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // O_APPEND: a child's processes (Chromium's) share this file; without it one's stderr
        // lines can overwrite another's stdout (the dumped DOM) at the shared offset.
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Only 0, 1 and 2 reach the child: no test-process sockets or pipes leak into it.
        pointe_spawn_close_from(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else {
            throw SubprocessError("cannot start \(command): \(String(cString: strerror(rc)))")
        }
        pid = child
    }

    /// The exit code, or 128 + signal number for a child killed by a signal; nil while running.
    public var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let finalStatus { return finalStatus }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return nil }
        let low = status & 0x7f
        finalStatus = low == 0 ? (status >> 8) & 0xff : 128 + low
        return finalStatus
    }

    public var isRunning: Bool { exitStatus == nil }

    /// The child's output so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    /// Kills the child's whole process group and reaps the child.
    public func killGroup() {
        if isRunning { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
        var status: Int32 = 0
        while isRunning {
            if waitpid(pid, &status, 0) == pid {
                lock.lock()
                let low = status & 0x7f
                finalStatus = low == 0 ? (status >> 8) & 0xff : 128 + low
                lock.unlock()
            }
        }
        kill(-pid, SIGKILL)  // grandchildren that outlived it
    }

    /// Waits for the child to end; past `timeout` seconds it is killed and this throws.
    @discardableResult
    public func wait(timeout: TimeInterval) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let status = exitStatus { return status }
            if Date() >= deadline {
                killGroup()
                throw SubprocessError("\(command) did not end within \(Int(timeout)) s; killed. Its output:\n\(output)")
            }
            usleep(20_000)
        }
    }

    /// Runs a command to its end and returns its exit status and output (stdout and stderr).
    public static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 300) throws -> (status: Int32, output: String) {
        let path = NSTemporaryDirectory() + "pointe-subprocess-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let child = try Subprocess(executable, arguments, outputPath: path)
        let status = try child.wait(timeout: timeout)
        return (status, child.output)
    }

    /// The first of `candidates` that is an executable file.
    public static func find(_ candidates: [String]) -> String? {
        candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

public struct SubprocessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The built `pointe` executable, which SwiftPM puts next to the test bundle.
public enum BuiltTool {
    public static func pointe() throws -> String {
        let bundle = Bundle.main.bundlePath
        let candidates = [CommandLine.arguments[0], bundle].map {
            (($0 as NSString).deletingLastPathComponent as NSString).appendingPathComponent("pointe")
        } + [(bundle as NSString).appendingPathComponent("pointe")]
        guard let found = Subprocess.find(candidates) else {
            throw SubprocessError("the pointe executable is not next to the test bundle (looked at \(candidates)); build it first")
        }
        return found
    }
}
