import Foundation
import PointETestSupport
import XCTest

/// A real Slurm cluster on this host for tests: Debian's munged, one slurmctld and three
/// `slurmd -N NAME` (each on its own port), all configured in a temporary directory and run in
/// the foreground as children of the test, so each is started and stopped by its pid.
///
/// Node names resolve to 127.0.0.1 through a hosts file bind-mounted over /etc/hosts inside
/// each daemon's own mount namespace (`unshare --mount`): Slurm reaches the nodes through
/// NodeAddr=127.0.0.1, and the jobs they run (pointe's `tcp://node1:PORT`) see the names too,
/// while the machine's own /etc/hosts is never touched.
final class LocalSlurmCluster {
    struct Tools {
        let munged, mungekey, slurmctld, slurmd, sbatch, scontrol, sinfo, squeue, scancel, unshare: String

        /// Fails, naming the Debian package, when scripts/install-deps.sh was not run.
        init() throws {
            munged = try InstalledTool.path("munged", package: "munge")
            mungekey = try InstalledTool.path("mungekey", package: "munge")
            slurmctld = try InstalledTool.path("slurmctld", package: "slurm-wlm")
            slurmd = try InstalledTool.path("slurmd", package: "slurm-wlm")
            sbatch = try InstalledTool.path("sbatch", package: "slurm-wlm")
            scontrol = try InstalledTool.path("scontrol", package: "slurm-wlm")
            sinfo = try InstalledTool.path("sinfo", package: "slurm-wlm")
            squeue = try InstalledTool.path("squeue", package: "slurm-wlm")
            scancel = try InstalledTool.path("scancel", package: "slurm-wlm")
            unshare = try InstalledTool.path("unshare", package: "util-linux")
        }
    }

    let tools: Tools
    let directory: String
    let nodes: [String]
    var config: String { directory + "/slurm.conf" }
    private var daemons: [(name: String, process: Subprocess)] = []

    /// `ports`: the controller's, then one per node.
    init(directory: String, nodes: [String], ports: [Int]) throws {
        precondition(ports.count == nodes.count + 1, "one port for slurmctld and one per node")
        tools = try Tools()
        self.directory = directory
        self.nodes = nodes
        for sub in ["munge", "state", "spool", "log"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        try writeConfig(ports: ports)
        try ("127.0.0.1 localhost\n127.0.0.1 " + nodes.joined(separator: " ") + "\n")
            .write(toFile: directory + "/hosts", atomically: true, encoding: .utf8)
    }

    /// Environment for Slurm's client commands (and, through sbatch --export=ALL, the jobs).
    var environment: [String] { ["SLURM_CONF=\(config)"] }

    /// Runs a Slurm client command (sbatch, scontrol, ...) against this cluster.
    func client(_ tool: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
        try Subprocess.run("/usr/bin/env", environment + [tool] + arguments, timeout: timeout)
    }

    /// The short host name: slurmctld only starts on the host SlurmctldHost names.
    private static var shortHostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(String(cString: buffer).split(separator: ".").first ?? "localhost")
    }

    private func writeConfig(ports: [Int]) throws {
        let munge = directory + "/munge"
        var lines = [
            "ClusterName=pointetest",
            "SlurmctldHost=\(Self.shortHostName)(127.0.0.1)",
            "SlurmctldPort=\(ports[0])",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "AuthInfo=socket=\(munge)/munge.socket",
            "StateSaveLocation=\(directory)/state",
            "SlurmdSpoolDir=\(directory)/spool/%n",
            "SlurmctldPidFile=\(directory)/slurmctld.pid",
            "SlurmdPidFile=\(directory)/slurmd-%n.pid",
            "SlurmctldLogFile=\(directory)/log/slurmctld.log",
            "SlurmdLogFile=\(directory)/log/slurmd-%n.log",
            // No cgroups here (and none needed): processes tracked by parentage, no task binding.
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/linear",
            "SchedulerType=sched/builtin",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "MpiDefault=none",
            "MailProg=/bin/true",
            "ReturnToService=2",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
        ]
        for (index, node) in nodes.enumerated() {
            lines.append("NodeName=\(node) NodeAddr=127.0.0.1 Port=\(ports[index + 1]) CPUs=1 State=UNKNOWN")
        }
        lines.append("PartitionName=debug Nodes=\(nodes.joined(separator: ",")) Default=YES MaxTime=INFINITE State=UP")
        try (lines.joined(separator: "\n") + "\n").write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Starts munged, slurmctld and every slurmd, and waits until all nodes are idle.
    func start() throws {
        let munge = directory + "/munge"
        let key = try Subprocess.run(tools.mungekey, ["--create", "--keyfile=\(munge)/munge.key"], timeout: 30)
        guard key.status == 0 else { throw SubprocessError("mungekey failed: \(key.output)") }
        // --force: munged refuses root otherwise; it is this cluster's only user.
        try launch("munged", tools.munged, ["-F", "--force", "--socket=\(munge)/munge.socket", "--key-file=\(munge)/munge.key",
                                             "--pid-file=\(munge)/munged.pid", "--log-file=\(munge)/munged.log",
                                             "--seed-file=\(munge)/munged.seed"], namespaced: false)
        try waitFor("munged's socket \(munge)/munge.socket", timeout: 30) { FileManager.default.fileExists(atPath: munge + "/munge.socket") }
        try launch("slurmctld", tools.slurmctld, ["-D", "-i"], namespaced: true)
        try waitFor("slurmctld to answer scontrol ping", timeout: 60) {
            (try? client(tools.scontrol, ["ping"]))?.output.contains("is UP") == true
        }
        for node in nodes { try launch("slurmd \(node)", tools.slurmd, ["-D", "-N", node], namespaced: true) }
        try waitFor("\(nodes.count) idle nodes in sinfo", timeout: 90) {
            (try? client(tools.sinfo, ["-h", "-N", "-o", "%N %T"]))?.output
                .split(separator: "\n").filter { $0.hasSuffix(" idle") }.count == nodes.count
        }
    }

    private func launch(_ name: String, _ executable: String, _ arguments: [String], namespaced: Bool) throws {
        let log = directory + "/log/" + name.replacingOccurrences(of: " ", with: "-") + ".out"
        let process: Subprocess
        if namespaced {
            // unshare and `sh -c ... exec` keep the pid: the process the test holds is the daemon.
            let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
            process = try Subprocess("/usr/bin/env", environment + [
                tools.unshare, "--mount", "--propagation", "private", "/bin/sh", "-c",
                "mount --bind '\(directory)/hosts' /etc/hosts && exec '\(executable)' \(quoted)",
            ], outputPath: log)
        } else {
            process = try Subprocess("/usr/bin/env", environment + [executable] + arguments, outputPath: log)
        }
        daemons.append((name, process))
        usleep(200_000)
        if let status = process.exitStatus {
            throw SubprocessError("\(name) exited at once with status \(status): \(process.output)")
        }
    }

    func waitFor(_ what: String, timeout: TimeInterval, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            for daemon in daemons where !daemon.process.isRunning {
                throw SubprocessError("\(daemon.name) exited (status \(daemon.process.exitStatus ?? -1)) while waiting for \(what): \(daemon.process.output)")
            }
            guard Date() < deadline else { throw SubprocessError("timed out after \(Int(timeout)) s waiting for \(what)") }
            usleep(100_000)
        }
    }

    /// `scontrol show job ID` as key=value pairs.
    func job(_ id: String) throws -> [String: String] {
        let (status, output) = try client(tools.scontrol, ["show", "job", id, "-o"])
        guard status == 0 else { throw SubprocessError("scontrol show job \(id): \(output)") }
        var fields: [String: String] = [:]
        for pair in output.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }

    /// Cancels every job, lets the nodes finish them, stops every daemon by its pid (TERM, then
    /// KILL after 30 s) and returns the processes of this cluster still alive after that (found
    /// by SLURM_CONF in their environment: the daemons, slurmstepd and the jobs' tasks), which it
    /// kills. An empty answer means nothing was left running.
    @discardableResult
    func stop() -> [String] {
        if daemons.contains(where: { $0.name == "slurmctld" && $0.process.isRunning }) {
            _ = try? client(tools.scancel, ["--full", "--partition=debug"])
            _ = try? waitFor("every job to leave the queue", timeout: 60) {
                (try? client(tools.squeue, ["-h"]))?.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true
            }
        }
        // Nodes first (they hold the jobs' steps), then the controller, then munged.
        for daemon in daemons.reversed() {
            daemon.process.signal(SIGTERM)
            let deadline = Date().addingTimeInterval(30)
            while daemon.process.isRunning && Date() < deadline { usleep(50_000) }
            daemon.process.killGroup()
        }
        daemons = []
        var leftovers: [String] = []
        for pid in Self.processes(withEnvironment: "SLURM_CONF=\(config)") {
            let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?
                .replacingOccurrences(of: "\0", with: " ") ?? "?"
            leftovers.append("\(pid): \(command)")
            kill(pid, SIGKILL)
        }
        return leftovers
    }

    private static func processes(withEnvironment entry: String) -> [pid_t] {
        let own = getpid()
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
        return pids.filter { pid in
            guard pid != own, let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == entry }
        }
    }
}
