import Foundation
import PointEWire

/// Draining (`pointe drain ADDR`): the coordinator hands out no more shards or mesh tasks,
/// lets the running ones finish, then tells every peer to stop and returns from `run`. The
/// job directory stays consistent, so starting the coordinator again resumes the rest.
extension Coordinator {
    func startDrain(_ request: Pointe_Cluster_DrainRequest, from identity: Data, transport: any CoordinatorTransport) throws {
        var reply = Pointe_Cluster_DrainReply()
        reply.alreadyDraining = draining
        reply.shardsInFlight = UInt32(active.count)
        reply.meshesInFlight = UInt32(meshesInFlight.count)
        transport.send(.drainReply(reply), to: identity)
        guard !draining else { return }
        draining = true
        try releaseParked(transport: transport)
        let why = request.reason.isEmpty ? "" : " (\(request.reason))"
        log.info("draining\(why): no new work; waiting for \(active.count) shard(s) and \(meshesInFlight.count) mesh(es) in flight",
                 metadata: ["event": "drain"])
    }

    /// No work while draining: peers are told to ask again later, not that the job is finished.
    func refuseWorkWhileDraining(_ identity: Data, transport: any CoordinatorTransport) {
        var none = Pointe_Cluster_NoWork()
        none.retryAfterMs = 1000
        transport.send(.noWork(none), to: identity)
    }

    /// True once a drain has nothing left in flight (the caller then tells the peers to stop).
    func drainFinished(transport: any CoordinatorTransport) -> Bool {
        guard draining, active.isEmpty, meshesInFlight.isEmpty else { return false }
        log.info("drained: every running shard and mesh finished; start the coordinator again to resume", metadata: ["event": "drained"])
        return true
    }
}

/// The operator's side of a drain.
public enum DrainClient {
    /// Asks the coordinator at `address` to drain; nil when it does not answer in time.
    public static func request(_ address: String, reason: String, timeoutMs: Int,
                               transport: TransportOptions = TransportOptions()) throws -> Pointe_Cluster_DrainReply? {
        var request = Pointe_Cluster_DrainRequest()
        request.reason = reason
        return try OneShotRequest.send(.drainRequest(request), to: address, role: "drain", timeoutMs: timeoutMs, transport: transport) { body in
            if case .drainReply(let reply) = body { return reply }
            return nil
        }
    }
}
