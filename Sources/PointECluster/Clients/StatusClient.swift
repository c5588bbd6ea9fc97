import Foundation
import PointEClusterBase
import PointEWire

/// One question to a coordinator from a short-lived peer (`pointe status`, `pointe drain`):
/// send `request`, wait up to `timeoutMs` for the answer `pick` accepts; nil if none came.
enum OneShotRequest {
    static func send<Answer>(_ request: MessageBody, to address: String, role: String, timeoutMs: Int,
                             transport: TransportOptions, pick: (MessageBody) -> Answer?) throws -> Answer? {
        let endpoint = try DealerEndpoint(connect: address, identity: PeerName.unique(role), options: transport,
                                          log: ClusterLog(role: role, quiet: true))
        defer { endpoint.close() }
        endpoint.send(request)
        let deadline = monotonicMilliseconds() + UInt64(max(timeoutMs, 0))
        while monotonicMilliseconds() < deadline {
            guard let body = try endpoint.receive(timeoutMs: 50) else { continue }
            if case .refusal(let refusal) = body { throw ClusterError("coordinator \(address) refused: \(refusal.reason)") }
            if let answer = pick(body) { return answer }
        }
        return nil
    }
}

/// One status query to a coordinator (what `pointe status ADDR` shows).
public enum StatusClient {
    public static func query(_ address: String, timeoutMs: Int, transport: TransportOptions = TransportOptions()) throws -> Pointe_Cluster_StatusReply? {
        try OneShotRequest.send(.statusQuery(Pointe_Cluster_StatusQuery()), to: address, role: "status", timeoutMs: timeoutMs,
                                transport: transport) { body in
            if case .statusReply(let reply) = body { return reply }
            return nil
        }
    }
}
