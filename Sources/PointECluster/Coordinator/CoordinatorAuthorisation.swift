import Foundation
import PointEClusterBase
import PointEJob
import PointEWire

/// Authenticated is not authorised: the coordinator accepts a cloud only from the peer that
/// holds (or, for a late result, held) the attempt of the shard with that prompt, and a mesh
/// or mesh failure only from a mesher the prompt's mesh task went to, each over a connection
/// with the CURVE key the peer said hello with. Anything else is dropped, counted
/// (`pointe_deliveries_refused_total`) and logged once per peer with its name, address and
/// key. A peer refused `refusalLimit` times in a row is banned for `banSeconds`: forgotten (its
/// work re-queued), told so with a Refusal, every later message of its identity or key
/// ignored, and with CURVE its key refused at the handshake. (A ROUTER socket cannot close one
/// peer's connection; the peer's own code exits on the Refusal, a rogue's is ignored.)
extension Coordinator {
    /// What a peer delivers, for authorisation and logs.
    enum Delivery: CustomStringConvertible {
        case cloud(prompt: String, shard: Int, attempt: Int)
        case promptError(prompt: String, shard: Int, attempt: Int)
        case attemptFailure(shard: Int, attempt: Int)
        case mesh(prompt: String)
        case meshFailure(prompt: String)

        var description: String {
            switch self {
            case .cloud(let prompt, let shard, let attempt): return "a cloud result for \(prompt) (shard \(shard), attempt \(attempt))"
            case .promptError(let prompt, let shard, let attempt): return "an error report for \(prompt) (shard \(shard), attempt \(attempt))"
            case .attemptFailure(let shard, let attempt): return "a failure report for shard \(shard) attempt \(attempt)"
            case .mesh(let prompt): return "a mesh result for \(prompt)"
            case .meshFailure(let prompt): return "a mesh failure report for \(prompt)"
            }
        }
    }

    /// Whether the peer may deliver this; a refusal is counted, logged once and may ban the peer.
    func mayDeliver(_ delivery: Delivery, from identity: Data, origin: PeerOrigin, transport: any CoordinatorTransport) throws -> Bool {
        guard let reason = try refusal(of: delivery, from: identity, origin: origin) else {
            authority.accepted(from: identity)
            return true
        }
        try refuse("\(delivery)", reason, from: identity, origin: origin, transport: transport)
        return false
    }

    func refusal(of delivery: Delivery, from identity: Data, origin: PeerOrigin) throws -> DeliveryRefusal? {
        guard let peer = peers[identity] else { return .unknownPeer }
        guard peer.origin.curveKey == origin.curveKey else { return .otherKey }
        let holder = WorkHolder(identity: identity, curveKey: origin.curveKey)
        switch delivery {
        case .cloud(let prompt, let shard, let attempt), .promptError(let prompt, let shard, let attempt):
            guard peer.role == .sampler else { return .wrongRole }
            // The common case from memory: a result the running attempt still waits for. The
            // store answers the rest (late results of an attempt this session or an earlier
            // coordinator gave out; rogue claims).
            if holdsRunningAttempt(shard: shard, attempt: attempt, identity: identity, prompt: prompt) { return nil }
            guard try store.prompt(id: prompt)?.shardID == shard,
                  try store.attemptWasGiven(shardID: shard, attempt: attempt, to: holder) else { return .notAssigned }
            return nil
        case .attemptFailure(let shard, let attempt):
            guard peer.role == .sampler else { return .wrongRole }
            if holdsRunningAttempt(shard: shard, attempt: attempt, identity: identity, prompt: nil) { return nil }
            return try store.attemptWasGiven(shardID: shard, attempt: attempt, to: holder) ? nil : .notAssigned
        case .mesh(let prompt), .meshFailure(let prompt):
            guard peer.role == .mesher else { return .wrongRole }
            return authority.holdsMesh(of: prompt, holder) ? nil : .notMeshHolder
        }
    }

    /// Whether this session holds the shard's running attempt (and, for a prompt, still owes
    /// its result). The attempt was claimed for this identity under the key its session said
    /// hello with, which the caller checked against the message's.
    func holdsRunningAttempt(shard: Int, attempt: Int, identity: Data, prompt: String?) -> Bool {
        guard let running = active[shard], running.peer == identity, running.attempt == attempt else { return false }
        return prompt.map { running.outstanding.contains($0) } ?? true
    }

    /// False for every message of a banned peer (identity or key) and of an ipc:// peer that
    /// runs as another user: they are not acted on at all (a hello is answered with a Refusal).
    func admits(_ body: MessageBody, from identity: Data, origin: PeerOrigin, transport: any CoordinatorTransport) throws -> Bool {
        let reason: DeliveryRefusal
        if authority.isBanned(identity, key: origin.curveKey, now: monotonicMilliseconds()) {
            reason = .banned
        } else if let uid = origin.uid, uid != geteuid() {
            reason = .foreignUser
        } else {
            return true
        }
        if case .hello = body { sendRefusal(reason.explanation, to: identity, transport: transport) }
        try refuse("a \(WireProtocol.name(body)) message", reason, from: identity, origin: origin, transport: transport)
        return false
    }

    func refuse(_ what: String, _ reason: DeliveryRefusal, from identity: Data, origin: PeerOrigin, transport: any CoordinatorTransport) throws {
        let name = peers[identity]?.name ?? PeerName.describe(identity)
        let (first, ban) = authority.refuse(reason, identity: identity, key: origin.curveKey, now: monotonicMilliseconds())
        if first {
            log.warning("refused \(what) from \(name) (\(origin)): \(reason.explanation); dropped (further refusals of this peer are counted in pointe_deliveries_refused_total, not logged)",
                        metadata: ["peer": name, "event": "delivery-refused", "reason": reason.rawValue])
        }
        guard ban else { return }
        log.warning("banned \(name) (\(origin)) for \(options.banSeconds) s after \(options.refusalLimit) refused deliveries in a row",
                    metadata: ["peer": name, "event": "peer-banned"])
        sendRefusal("banned for \(options.banSeconds) s after \(options.refusalLimit) deliveries of work it was not given", to: identity, transport: transport)
        if let key = origin.curveKey { transport.refuse(key: key, forMilliseconds: options.banSeconds * 1000) }
        try lose(identity, reason: "banned")
    }

    func sendRefusal(_ reason: String, to identity: Data, transport: any CoordinatorTransport) {
        var refusal = Pointe_Cluster_Refusal()
        refusal.reason = reason
        refusal.coordinatorProtocolVersion = WireProtocol.version
        transport.send(.refusal(refusal), to: identity)
    }
}
