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

    /// A peer asks for work only when it has nothing left to do, after everything it sent (one
    /// connection keeps order). Results it still owes us were lost on the way: sent into a
    /// connection that dropped (a frozen coordinator, a cut link) and came back, if at all,
    /// under another identity. Without this the attempt would wait forever for a live peer.
    func settleLostDeliveries(of identity: Data) throws {
        guard let peer = peers[identity] else { return }
        for shard in peer.attempts.sorted() {
            guard let a = active[shard], a.peer == identity, !a.outstanding.isEmpty else { continue }
            log.warning("\(peer.name) asked for work while shard \(shard) attempt \(a.attempt) still waits for \(a.outstanding.count) result(s): "
                        + "they were lost on the way; re-queueing the shard", metadata: ["peer": peer.name, "shard": "\(shard)", "event": "results-lost"])
            active[shard] = nil
            peers[identity]?.attempts.remove(shard)
            try closeAttempt(shardID: shard, attempt: a.attempt, outcome: .lost, error: "results from \(peer.name) were lost on the way")
        }
        for id in peer.meshes where meshesInFlight[id] == identity {
            log.warning("\(peer.name) asked for work while the mesh of \(id) is still due: it was lost on the way; queued again",
                        metadata: ["peer": peer.name, "prompt": id, "event": "results-lost"])
            meshesInFlight[id] = nil
            peers[identity]?.meshes.remove(id)
        }
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
