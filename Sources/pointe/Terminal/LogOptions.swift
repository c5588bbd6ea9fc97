import ArgumentParser
import PointECluster
import PointEClusterBase

/// How the daemons write their logs (structured metadata either way).
struct LogOptions: ParsableArguments {
    @Option(help: "Log lines as text or json (one object a line, with job/shard/peer fields). Default: $POINTE_LOG_FORMAT, else text.")
    var logFormat: String?

    func apply() throws {
        guard let logFormat else { return }
        guard let format = ClusterLog.Format(rawValue: logFormat) else { throw CommandFailure("--log-format: text or json, not \(logFormat)") }
        ClusterLog.format = format
    }
}
