import Foundation

/// One status query to a coordinator (what `pointe status ADDR` shows).
public enum StatusClient {
    public static func query(_ address: String, timeoutMs: Int, transport: TransportOptions = TransportOptions()) throws -> Pointe_Cluster_StatusReply? {
        let log = ClusterLog(role: "status", quiet: true)
        let endpoint = try DealerEndpoint(connect: address, identity: PeerName.unique("status"), options: transport, log: log)
        defer { endpoint.close() }
        endpoint.send(.statusQuery(Pointe_Cluster_StatusQuery()))
        let deadline = monotonicMilliseconds() + UInt64(max(timeoutMs, 0))
        while monotonicMilliseconds() < deadline {
            switch try endpoint.receive(timeoutMs: 50) {
            case .statusReply(let reply)?: return reply
            case .refusal(let refusal)?: throw ClusterError("coordinator \(address) refused: \(refusal.reason)")
            default: continue
            }
        }
        return nil
    }
}
