import Foundation

/// Peers that go silent or leave: what they held goes back to the queue.
extension Coordinator {
    func expireSilentPeers(now: UInt64) throws {
        for (identity, peer) in peers where now > peer.lastSeen + options.peerTimeoutMs {
            try lose(identity, reason: "no message from \(peer.name) for \(options.peerTimeoutMs) ms")
        }
    }

    /// A peer process this host started has ended (`pointe run`'s supervisor saw it exit):
    /// its work goes back to the queue now, not after the heartbeat timeout.
    public func localPeerEnded(named name: String, reason: String) throws {
        for (identity, peer) in peers where peer.name == name { try lose(identity, reason: reason) }
    }

    /// Forgets a peer; its running shards go back to the queue (the attempt counts).
    func lose(_ identity: Data, reason: String) throws {
        guard let (peer, attempts) = forget(identity) else { return }
        let shards = peer.attempts.sorted().map(String.init).joined(separator: ",")
        log.warning("lost \(peer.name): \(reason)" + (peer.attempts.isEmpty ? "" : "; re-queueing shard(s) \(shards)"),
                    metadata: ["peer": peer.name, "event": "peer-lost"].merging(shards.isEmpty ? [:] : ["shard": shards]) { $1 })
        for (shard, attempt) in attempts {
            try closeAttempt(shardID: shard, attempt: attempt, outcome: .lost, error: "worker \(peer.name) was lost mid-shard (\(reason))")
        }
    }

    /// Removes a peer (lost, or leaving): its meshes in flight go back to the queue (the prompts
    /// are still `meshing`) and its running attempts are returned, in shard order, for the
    /// caller to close with the right outcome.
    func forget(_ identity: Data) -> (peer: Peer, attempts: [(shard: Int, attempt: Int)])? {
        guard let peer = peers.removeValue(forKey: identity) else { return nil }
        for id in peer.meshes where meshesInFlight[id] == identity { meshesInFlight[id] = nil }
        let attempts = peer.attempts.sorted().compactMap { shard in active.removeValue(forKey: shard).map { (shard, $0.attempt) } }
        return (peer, attempts)
    }
}
