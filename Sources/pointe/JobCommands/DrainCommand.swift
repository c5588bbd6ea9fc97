import ArgumentParser
import Foundation
import PointECluster

struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Drain a coordinator: no new work, running shards and meshes finish, then it and its peers stop.",
        usage: "pointe drain <job dir | tcp://HOST:PORT> [--reason <text>] [<options>]",
        discussion: """
        Use it before maintenance or to shrink a job: the job directory stays consistent, and \
        starting the coordinator again with the same command resumes the remaining prompts.

        Examples:
          pointe drain out/ --reason "maintenance"
        """)

    @Argument(help: "Coordinator endpoint (tcp://HOST:PORT).") var address: String
    @Option(help: "Why (written to the coordinator's log).") var reason = ""
    @Option(parsing: .unconditional, help: "How long to wait for the coordinator's answer, in milliseconds.") var timeoutMs = 5000
    @Flag(help: "Wait until the coordinator has finished draining and stopped.") var wait = false
    @OptionGroup var security: PeerSecurityOptions

    func validate() throws {
        try OptionBounds.check(timeoutMs, 1...Int(OptionBounds.timeoutMs.upperBound), "--timeout-ms")
    }

    func run() throws {
        let transport = try security.transport()
        guard let reply = try DrainClient.request(address, reason: reason, timeoutMs: timeoutMs, transport: transport) else {
            printError("coordinator \(address): no answer within \(timeoutMs) ms (not running, or wrong keys?)")
            throw ExitCode(2)
        }
        print("coordinator \(address): \(reply.alreadyDraining ? "already draining" : "draining"); "
            + "\(reply.shardsInFlight) shard(s) and \(reply.meshesInFlight) mesh(es) still running")
        guard wait else { return }
        // The coordinator stops answering once it has drained and exited.
        while try StatusClient.query(address, timeoutMs: 2000, transport: transport) != nil { usleep(500_000) }
        print("coordinator \(address): drained and stopped")
    }
}
