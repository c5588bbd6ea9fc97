import ArgumentParser
import Foundation
import PointECluster
import PointEJob

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a job's progress: from its directory, and live from its coordinator when one is running.",
        usage: "pointe status <job dir | tcp://HOST:PORT> [<options>]",
        discussion: "TARGET is a job directory or a coordinator endpoint (tcp://HOST:PORT).\n\nExamples:\n  pointe status out/\n  pointe status tcp://head:5555 --curve-key me.key --server-key head.pub")

    @Argument(help: "Job directory or coordinator endpoint.") var target: String
    @Option(parsing: .unconditional, help: "How long to wait for a live coordinator, in milliseconds.") var timeoutMs = 2000
    @OptionGroup var security: PeerSecurityOptions

    func validate() throws {
        try OptionBounds.check(timeoutMs, 1...Int(OptionBounds.timeoutMs.upperBound), "--timeout-ms")
    }

    func run() throws {
        var address: String? = target.contains("://") ? target : nil
        if address == nil {
            let directory = JobDirectory(target)
            guard directory.exists else { throw CommandFailure("\(target): neither a job directory nor an endpoint") }
            let store = try JobStore(path: directory.store)
            let c = try store.counts()
            print("job \(try store.info().jobID) in \(directory.path)")
            print("prompts: \(c.done)/\(c.total) done, \(c.failed) failed, \(c.pending) pending (\(c.meshing) of them to mesh); shards: \(c.shardsQueued) queued, \(c.shardsRunning) running")
            for prompt in try store.latestFinished(limit: 20, status: .failed) { print("  failed \(prompt.id): \(prompt.error ?? "")") }
            address = (try? String(contentsOfFile: directory.addressFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let address, !address.isEmpty else { return }
        guard let reply = try StatusClient.query(address, timeoutMs: timeoutMs, transport: try security.transport()) else {
            print("coordinator \(address): no answer within \(timeoutMs) ms (not running?)")
            if target.contains("://") { throw ExitCode(2) }
            return
        }
        print("coordinator \(address): job \(reply.jobID)")
        print("prompts: \(reply.promptsDone)/\(reply.promptsTotal) done, \(reply.promptsFailed) failed; shards: \(reply.shardsQueued) queued, \(reply.shardsRunning) running; \(String(format: "%.2f", reply.promptsPerSecond)) prompts/s")
        for peer in reply.peers {
            let role = peer.role == .mesher ? "mesher" : "worker"
            print("  \(role) \(peer.peerName): \(peer.promptsDone) prompts, shards [\(peer.shards.map(String.init).joined(separator: ","))], seen \(peer.lastSeenMsAgo) ms ago")
        }
        if reply.promptsMeshing > 0 {
            let meshers = reply.peers.filter { $0.role == .mesher }.count
            print("meshing: \(reply.promptsMeshing) cloud(s) to mesh, " + (meshers == 0 ? "meshing waits for a mesher (none connected)" : "\(meshers) mesher(s)"))
        }
        for failure in reply.failures { print("  failed \(failure)") }
    }
}
