import Foundation
import PointEJob

/// Why the coordinator refused a peer's delivery (a cloud, a mesh, an error report) or any
/// message of a banned peer. The raw values are the metric's `reason` label.
public enum DeliveryRefusal: String, CaseIterable, Sendable {
    /// The identity has not said hello in this session (a rogue, or a peer that has not yet
    /// learnt that the coordinator restarted: it is asked to say hello).
    case unknownPeer = "unknown-peer"
    /// A mesher sent a cloud, or a worker a mesh.
    case wrongRole = "wrong-role"
    /// The message came over a connection with another CURVE key than the session's hello
    /// (another allowed key taking over the identity).
    case otherKey = "other-key"
    /// An ipc:// peer running as another user than the coordinator.
    case foreignUser = "foreign-user"
    /// The attempt named was never given to this peer, or does not hold that prompt.
    case notAssigned = "not-assigned"
    /// The prompt's mesh task never went to this mesher.
    case notMeshHolder = "not-mesh-holder"
    /// The peer is refused for a while after repeated refusals.
    case banned = "banned"

    var explanation: String {
        switch self {
        case .unknownPeer: return "the peer has not said hello (asked to)"
        case .wrongRole: return "the peer's role does not deliver that"
        case .otherKey: return "the connection's CURVE key is not the one this peer said hello with"
        case .foreignUser: return "the peer runs as another user (uid) than the coordinator"
        case .notAssigned: return "that attempt, with that prompt, was not given to this peer"
        case .notMeshHolder: return "that prompt's mesh task did not go to this mesher"
        case .banned: return "the peer is banned"
        }
    }
}

/// The mesh tasks handed out in this session and who got them (shard attempts are recorded in
/// the job store, so their late results count after a restart), and the refusal counts and
/// bans of peers that keep delivering what they were not given.
struct DeliveryAuthority {
    /// A peer with this many refused deliveries in a row (none of its deliveries accepted in
    /// between) is banned.
    let refusalLimit: Int
    let banMilliseconds: UInt64
    /// Every mesher a prompt's mesh task went to (kept when the mesh is stored: a late mesh of
    /// a mesher that was taken for lost is a duplicate, not a rogue's).
    private var meshHolders: [String: Set<WorkHolder>] = [:]
    private(set) var refusals: [DeliveryRefusal: Int] = [:]
    private var refusedInARow: [Data: Int] = [:]
    private var logged: Set<Data> = []
    private var bannedIdentities: [Data: UInt64] = [:]
    private var bannedKeys: [String: UInt64] = [:]
    private(set) var bans = 0

    init(refusalLimit: Int, banMilliseconds: UInt64) {
        self.refusalLimit = refusalLimit
        self.banMilliseconds = banMilliseconds
    }

    mutating func grantedMesh(of prompt: String, to holder: WorkHolder) {
        meshHolders[prompt, default: []].insert(holder)
    }

    func holdsMesh(of prompt: String, _ holder: WorkHolder) -> Bool {
        meshHolders[prompt]?.contains(holder) == true
    }

    /// An accepted delivery: the peer's refusals so far are forgiven (a worker's stale result
    /// after a restart is not a rogue's stream of them).
    mutating func accepted(from identity: Data) {
        refusedInARow[identity] = nil
    }

    func isBanned(_ identity: Data, key: String?, now: UInt64) -> Bool {
        if let until = bannedIdentities[identity], now < until { return true }
        if let key, let until = bannedKeys[key], now < until { return true }
        return false
    }

    /// Counts a refusal. `log`: the peer's first refusal (the log names each refusing peer
    /// once; after `maxLoggedPeers` of them, no more, so a rogue cycling identities cannot
    /// flood the log or grow this set); `ban`: the peer reached the limit now.
    /// Refusals of unknown identities never lead to a ban: a worker that has not yet heard
    /// of a coordinator restart sends a batch of results before it says hello again, and an
    /// identity is free to choose anyway (the ban that holds is the CURVE key's).
    mutating func refuse(_ reason: DeliveryRefusal, identity: Data, key: String?, now: UInt64) -> (log: Bool, ban: Bool) {
        refusals[reason, default: 0] += 1
        let log = logged.count < Self.maxLoggedPeers && logged.insert(identity).inserted
        guard reason != .unknownPeer, reason != .banned else { return (log, false) }
        let count = (refusedInARow[identity] ?? 0) + 1
        refusedInARow[identity] = count
        guard count >= refusalLimit else { return (log, false) }
        bannedIdentities[identity] = now + banMilliseconds
        if let key { bannedKeys[key] = now + banMilliseconds }
        bans += 1
        return (log, true)
    }

    static let maxLoggedPeers = 4096
}
