import Foundation
import PointEClusterBase
import PointEJob
import PointEWire

/// Work requests with nothing to give are parked, not refused (the ZeroMQ Guide's Majordomo
/// broker does the same): an idle peer then costs the coordinator only its heartbeats, instead
/// of a NoWork and a new request five times a second. A parked request is answered as soon as
/// work of its peer's role appears (a shard queued again, a cloud to mesh), in arrival order;
/// with NoWork when it has waited `longPollMs`, when a drain starts, or when the job ends.
///
/// The queue holds (identity, parked-at) pairs and is cleaned lazily: an entry counts only while
/// its peer is still parked since that moment (`Peer.parkedSince`), so a peer that was lost,
/// said hello again or asked anew needs no search through the queue.
typealias ParkedRequests = FIFOQueue<(identity: Data, since: UInt64)>

extension Coordinator {
    /// The job's counts, read from the store only after the store was written (they change
    /// with our own writes alone: we hold the job lock). Idle messages, ticks and status
    /// queries then cost no SQL.
    func jobCounts() throws -> JobStore.Counts {
        if let cached = countsCache, cached.writes == store.writes { return cached.counts }
        let counts = try store.counts()
        countsCache = (store.writes, counts)
        return counts
    }

    /// Parks `identity`'s work request (it had nothing to give now).
    func park(_ identity: Data, role: Pointe_Cluster_PeerRole) {
        let now = monotonicMilliseconds()
        peers[identity]?.parkedSince = now
        if role == .mesher { parkedMeshers.append((identity, now)) } else { parkedWorkers.append((identity, now)) }
    }

    /// The oldest request still parked in `queue`, taken off it (and off its peer).
    func takeParked(_ queue: inout ParkedRequests) -> Data? {
        while let (identity, since) = queue.first {
            _ = queue.popFirst()
            guard peers[identity]?.parkedSince == since else { continue }  // lost, re-introduced or asked again since
            peers[identity]?.parkedSince = nil
            return identity
        }
        return nil
    }

    /// Parked requests handed work per turn of the loop, at most: a thousand shards queued at
    /// once go out in batches between which heartbeats and status queries are answered.
    static let wakeBatch = 64

    /// Hands work that appeared to parked peers, oldest request first. Called after every
    /// message and tick; costs nothing while no peer is parked or the store did not change.
    func wakeParked(transport: any CoordinatorTransport) throws {
        guard !(parkedWorkers.isEmpty && parkedMeshers.isEmpty), wakePending || store.writes != writesAtLastWake, !draining else {
            wakePending = false
            return
        }
        var budget = Self.wakeBatch
        // Each assignment claims one queued shard; the count is read again only after a write.
        while budget > 0, try jobCounts().shardsQueued > 0, let identity = takeParked(&parkedWorkers) {
            try assign(to: identity, transport: transport)
            budget -= 1
        }
        // A mesher with no mesh to do parks again (at the back): then there is none for the rest.
        while budget > 0, try meshesWaiting() > meshesInFlight.count, let identity = takeParked(&parkedMeshers) {
            try assign(to: identity, transport: transport)
            budget -= 1
            if peers[identity]?.parkedSince != nil { break }
        }
        wakePending = budget == 0
        writesAtLastWake = store.writes
    }

    /// Prompts whose mesh is still to come: new clouds and remeshes.
    func meshesWaiting() throws -> Int {
        let counts = try jobCounts()
        return counts.meshing + counts.remeshing
    }

    /// Answers parked requests that waited `options.longPollMs` with NoWork (the peer asks
    /// again, and parks again): a request is never held forever. The queues are in parking
    /// order, so only their expired heads are looked at.
    func expireParked(now: UInt64, transport: any CoordinatorTransport) throws {
        for expired in Self.takeExpired(&parkedWorkers, now: now, longPollMs: options.longPollMs) + Self.takeExpired(&parkedMeshers, now: now, longPollMs: options.longPollMs)
        where peers[expired.identity]?.parkedSince == expired.since {
            peers[expired.identity]?.parkedSince = nil
            try sendNoWork(to: expired.identity, transport: transport, park: false)
        }
    }

    static func takeExpired(_ queue: inout ParkedRequests, now: UInt64, longPollMs: UInt64) -> [(identity: Data, since: UInt64)] {
        var expired: [(identity: Data, since: UInt64)] = []
        while let first = queue.first, first.since + longPollMs <= now {
            _ = queue.popFirst()
            expired.append(first)
        }
        return expired
    }

    /// Answers every parked request with NoWork: the job ended, or a drain started.
    func releaseParked(transport: any CoordinatorTransport) throws {
        while let identity = takeParked(&parkedWorkers) ?? takeParked(&parkedMeshers) {
            if draining { refuseWorkWhileDraining(identity, transport: transport) } else { try sendNoWork(to: identity, transport: transport, park: false) }
        }
    }
}
