import Foundation
import PointEClusterBase
import PointEWire

/// The answer to `pointe status` (and observers): counts, peers and the latest failures.
extension Coordinator {
    func statusReply() throws -> Pointe_Cluster_StatusReply {
        let counts = try jobCounts()
        let p = progress(counts)
        var reply = Pointe_Cluster_StatusReply()
        reply.jobID = info.jobID
        reply.promptsTotal = UInt32(counts.total)
        reply.promptsDone = UInt32(counts.done)
        reply.promptsFailed = UInt32(counts.failed)
        reply.shardsQueued = UInt32(counts.shardsQueued)
        reply.shardsRunning = UInt32(counts.shardsRunning)
        reply.promptsPerSecond = p.promptsPerSecond
        reply.promptsMeshing = UInt32(counts.meshing)
        let now = monotonicMilliseconds()
        for peer in peers.values.sorted(by: { $0.name < $1.name }) where peer.role != .observer {
            var s = Pointe_Cluster_PeerStatus()
            s.identity = PeerName.describe(peer.identity)
            s.peerName = peer.name
            s.role = peer.role
            s.lastSeenMsAgo = now - min(peer.lastSeen, now)
            s.shards = peer.attempts.sorted().map { UInt64($0) }
            s.promptsDone = UInt32(peer.promptsDone)
            reply.peers.append(s)
        }
        // The latest failures: an index walk of 20 rows, not a scan of the job.
        reply.failures = try store.latestFinished(limit: 20, status: .failed).map { "\($0.id): \($0.error ?? "failed")" }
        return reply
    }
}
