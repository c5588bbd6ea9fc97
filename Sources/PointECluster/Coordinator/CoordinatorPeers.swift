import Foundation
import PointEWire

/// Peers that go silent or leave: what they held goes back to the queue.
extension Coordinator {
    /// Peers silent for the timeout up to the last moment we had read everything sent to us
    /// (a backlog of results in front of a peer's heartbeats is our delay, not its silence).
    func expireSilentPeers() throws {
        for (identity, peer) in peers where transportDrainedAt > peer.lastSeen + options.peerTimeoutMs {
            try lose(identity, reason: "no message from \(peer.name) for \(options.peerTimeoutMs) ms")
        }
    }

    /// A peer process this host started has ended (`pointe run`'s supervisor saw it exit):
    /// its work goes back to the queue now, not after the heartbeat timeout.
    public func localPeerEnded(named name: String, reason: String) throws {
        for (identity, peer) in peers where peer.name == name { try lose(identity, reason: reason) }
    }

    /// A work request. Peers number them: the same number again means our answer (or the
    /// request) went into a connection that dropped, so the task it was answered with is sent
    /// again, not a second one. A new number means the peer finished everything before it (it
    /// asks only when idle, after all it sent): results it still owes were lost on the way.
    func answer(_ request: Pointe_Cluster_WorkRequest, from identity: Data, transport: any CoordinatorTransport) throws {
        guard let peer = peers[identity], request.requestID != 0 else { return try assign(to: identity, transport: transport) }
        if request.requestID == peer.lastRequest, let task = peer.lastTask, stillHeld(task, by: identity) {
            log.info("\(peer.name) asked again (request \(request.requestID), after a reconnect): sent its task again")
            transport.send(task, to: identity)
            return
        }
        if request.requestID != peer.lastRequest { try settleLostDeliveries(of: identity) }
        peers[identity]?.lastRequest = request.requestID
        peers[identity]?.lastTask = nil
        try assign(to: identity, transport: transport)
    }

    /// Whether the peer still holds the task it was sent (not closed, lost or re-queued since).
    func stillHeld(_ task: MessageBody, by identity: Data) -> Bool {
        switch task {
        case .shardAssignment(let a):
            guard let active = active[Int(a.shardID)] else { return false }
            return active.peer == identity && active.attempt == Int(a.attempt)
        case .meshTask(let t): return meshesInFlight[t.promptID] == identity
        default: return false
        }
    }

    /// Results a peer still owes although it asked for new work were lost on the way: sent into
    /// a connection that dropped (a frozen coordinator, a cut link) and came back, if at all,
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
