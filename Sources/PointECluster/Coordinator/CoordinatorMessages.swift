import Foundation
import PointEClusterBase
import PointEWire

/// The coordinator's answer to each message a peer sends, and the liveness every message proves.
extension Coordinator {
    /// `origin`: the connection the message came over (RouterEndpoint.receive).
    func handle(_ body: MessageBody, from identity: Data, origin: PeerOrigin = PeerOrigin(), transport: any CoordinatorTransport) throws {
        guard try admits(body, from: identity, origin: origin, transport: transport) else { return }
        let now = monotonicMilliseconds()
        let name = peers[identity]?.name ?? PeerName.describe(identity)
        switch body {
        case .hello(let hello):
            guard hello.role == .sampler || hello.role == .mesher || hello.role == .observer else {
                return sendRefusal("unknown role \(hello.role)", to: identity, transport: transport)
            }
            if let old = peers[identity], old.origin.curveKey != origin.curveKey {
                // Another allowed key taking over a live session's identity: refused until
                // that session ends (it says goodbye, or is lost).
                sendRefusal("the identity \(name) is in use by a peer with another key", to: identity, transport: transport)
                return try refuse("a hello", .otherKey, from: identity, origin: origin, transport: transport)
            }
            if let old = peers[identity], !old.attempts.isEmpty || !old.meshes.isEmpty {
                // A hello from a known identity is a new session: a restarted process reusing
                // its --name (or the same one after we restarted). Whatever the old session was
                // sampling or meshing will never arrive: re-queue it.
                try lose(identity, reason: "peer \(old.name) restarted its session")
            }
            peers[identity] = Peer(identity: identity, name: hello.peerName.isEmpty ? name : hello.peerName, role: hello.role, lastSeen: now,
                                   origin: origin)
            log.info("\(hello.role == .sampler ? "worker" : hello.role == .mesher ? "mesher" : "observer") \(hello.peerName) joined (engine \(hello.engineVersion), models \(hello.models.joined(separator: ",")), batch \(hello.batchSize))")
            var welcome = Pointe_Cluster_Welcome()
            welcome.jobID = info.jobID  // read once at open, not per hello
            welcome.heartbeatIntervalMs = options.heartbeatIntervalMs
            transport.send(.welcome(welcome), to: identity)
        case .statusQuery:
            transport.send(.statusReply(try statusReply()), to: identity)
        case .drainRequest(let request):
            try startDrain(request, from: identity, transport: transport)
        case .heartbeat(let beat):
            guard touch(identity, now: now, transport: transport) else { return }
            // Echo it: a peer busy with one long task (a grid-128 mesh in a slow build) sends no
            // requests, and without an answer it would take the coordinator for dead.
            transport.send(.heartbeat(beat), to: identity)
        case .workRequest(let request):
            guard touch(identity, now: now, transport: transport) else { return }
            try answer(request, from: identity, transport: transport)
        case .progress(let p):
            guard touch(identity, now: now, transport: transport) else { return }
            if var a = active[Int(p.shardID)], a.peer == identity {
                a.stepsDone = p.stepsDone
                a.stepsTotal = p.stepsTotal
                active[Int(p.shardID)] = a
            }
        case .cloudResult(let result):
            _ = touch(identity, now: now, transport: transport)
            try storeCloud(result, from: identity, origin: origin, name: name, transport: transport)
        case .errorReport(let report):
            _ = touch(identity, now: now, transport: transport)
            if peers[identity]?.role == .mesher {
                try meshFailure(report, from: identity, origin: origin, transport: transport)
            } else {
                try failure(report, from: identity, origin: origin, name: name, transport: transport)
            }
        case .meshResult(let result):
            _ = touch(identity, now: now, transport: transport)
            try storeMesh(result, from: identity, origin: origin, name: name, transport: transport)
        case .goodbye(let bye):
            // The answer tells the leaving peer that everything it sent has arrived.
            var answer = Pointe_Cluster_Goodbye()
            answer.reason = "goodbye received"
            defer { transport.send(.goodbye(answer), to: identity) }
            guard let (peer, attempts) = forget(identity) else { return }
            for (shard, attempt) in attempts {
                try closeAttempt(shardID: shard, attempt: attempt, outcome: .returned, error: nil, countsAgainstBudget: false)
            }
            log.info("\(peer.name) left (\(bye.reason))" + (peer.attempts.isEmpty ? "" : "; shard(s) \(peer.attempts.sorted().map(String.init).joined(separator: ",")) re-queued"),
                     metadata: ["peer": peer.name, "event": "peer-left"])
        case .shardReturn(let back):
            _ = touch(identity, now: now, transport: transport)
            let shard = Int(back.shardID)
            if let a = active[shard], a.peer == identity, a.attempt == Int(back.attempt) {
                active[shard] = nil
                peers[identity]?.attempts.remove(shard)
                try closeAttempt(shardID: shard, attempt: a.attempt, outcome: .returned, error: nil, countsAgainstBudget: false)
                log.info("\(name) handed back shard \(shard) (\(back.reason))", metadata: ["shard": "\(shard)", "peer": name, "event": "shard-returned"])
            }
        default:
            log.warning("peer \(name): unexpected message \(WireProtocol.name(body)); dropped")
        }
    }

    /// Marks a peer alive; an unknown peer (e.g. connected before a coordinator restart) is
    /// asked to introduce itself and its message is not acted on.
    func touch(_ identity: Data, now: UInt64, transport: any CoordinatorTransport) -> Bool {
        guard peers[identity] != nil else {
            transport.send(.whoAreYou(Pointe_Cluster_WhoAreYou()), to: identity)
            unknownPeerLog.run(PeerName.describe(identity)) {
                log.info("message from unknown peer \(PeerName.describe(identity)) (we restarted, or took it for lost); asked it to say hello" + $0)
            }
            return false
        }
        peers[identity]!.lastSeen = now
        return true
    }
}
