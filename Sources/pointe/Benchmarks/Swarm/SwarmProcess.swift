import Foundation
import PointEClusterBase
import PointEJob
import PointEWire

/// The coordinator process `pointe bench swarm` measures: this binary's `coordinator`
/// command resuming the job the bench made, its address read from the job directory, its CPU
/// time read from /proc.
final class SwarmProcess {
    let process: Process
    let address: String
    var pid: Int32 { process.processIdentifier }
    private var lastCPU = 0.0

    struct Keys {
        var server: CurveKeyPair
        var client: CurveKeyPair
        var serverSecretFile: String
        var serverPublicFile: String
        var allowDirectory: String
    }

    static func makeKeys(in root: String) throws -> Keys {
        let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
        let files = try server.write(name: "coordinator", directory: root + "/keys")
        _ = try client.write(name: "swarm", directory: root + "/allowed")
        return Keys(server: server, client: client, serverSecretFile: files.secretFile, serverPublicFile: files.publicFile, allowDirectory: root + "/allowed")
    }

    static func startCoordinator(job: JobDirectory, keys: Keys?, binary: String?) throws -> SwarmProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary ?? "/proc/self/exe").resolvingSymlinksInPath()
        var arguments = ["coordinator", "-o", job.path, "--bind", "tcp://127.0.0.1:*", "--quiet"]
        if let keys { arguments += ["--curve-key", keys.serverSecretFile, "--allow-keys", keys.allowDirectory] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: job.addressFile, encoding: .utf8), !text.isEmpty {
                return SwarmProcess(process: process, address: text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            guard process.isRunning else { throw CommandFailure("bench swarm: the coordinator exited with status \(process.terminationStatus) before listening (pointe \(arguments.joined(separator: " ")))") }
            usleep(20_000)
        }
        process.terminate()
        throw CommandFailure("bench swarm: the coordinator did not write \(job.addressFile) within 60 s")
    }

    private init(process: Process, address: String) {
        self.process = process
        self.address = address
    }

    var hasExited: Bool { !process.isRunning }
    var exitDescription: String { "status \(process.terminationStatus)" }

    /// User + system CPU seconds of the coordinator so far (`orLast`: the last reading if it
    /// has exited since).
    func cpuSeconds(orLast: Bool = false) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return lastCPU }
        // Fields after the command name: state is field 3; utime and stime are 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return lastCPU }
        lastCPU = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        return lastCPU
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// Raises this process's open-file limit (inherited by the coordinator) toward `wanted`
    /// (the hard limit too, where allowed); returns the limit now in force.
    static func raiseOpenFileLimit(to wanted: UInt64) throws -> UInt64 {
        let files = Int32(RLIMIT_NOFILE.rawValue)
        guard var limit = raiseHardOpenFileLimit(toward: rlim_t(wanted)) else { return 0 }
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
            setrlimit(files, &limit)
            getrlimit(files, &limit)
        }
        guard limit.rlim_cur >= wanted else {
            throw CommandFailure("bench swarm: \(wanted) open files needed, the hard limit is \(limit.rlim_max) (as root: ulimit -Hn \(wanted))")
        }
        return UInt64(limit.rlim_cur)
    }

    /// Raises the hard open-file limit toward `wanted` where this process may (root, with
    /// CAP_SYS_RESOURCE, up to fs.nr_open; others keep theirs); the soft limit is unchanged.
    /// Returns the limits now in force (nil if they cannot be read).
    static func raiseHardOpenFileLimit(toward wanted: rlim_t) -> rlimit? {
        var limit = rlimit()
        let files = Int32(RLIMIT_NOFILE.rawValue)
        guard getrlimit(files, &limit) == 0 else { return nil }
        if limit.rlim_max < wanted {
            var raised = limit
            raised.rlim_max = wanted
            if setrlimit(files, &raised) == 0 { limit = raised }
        }
        return limit
    }
}
