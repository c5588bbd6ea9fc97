import CZeroMQ
import Foundation
import PointEClusterBase

/// How a transport socket authenticates and encrypts (ZeroMQ CURVE) or does not.
public enum TransportSecurity: Sendable {
    /// Plain ZMTP: only for loopback and local endpoints, or with an explicit --insecure.
    case none
    /// The coordinator's side: its key pair and the directory of peer public keys it admits.
    case curveServer(CurveKeyPair, CurveAllowList)
    /// A peer's side: its own key pair and the coordinator's public key.
    case curveClient(CurveKeyPair, serverPublicKey: String)

    var isCurve: Bool {
        if case .none = self { return false }
        return true
    }
}

/// Which endpoints may carry plain (unauthenticated, unencrypted) traffic.
public enum EndpointPolicy {
    /// True for endpoints that never leave this host: ipc://, inproc://, and tcp:// on
    /// 127.0.0.0/8, ::1 or localhost. A wildcard bind (tcp://*:N, 0.0.0.0) is not local.
    public static func isLocal(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://") else { return false }
        var host = String(endpoint.dropFirst("tcp://".count))
        if host.hasPrefix("[") {
            host = String(host.dropFirst().prefix { $0 != "]" })
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        // A "source;destination" connect address: judge the destination.
        if let semicolon = host.lastIndex(of: ";") { host = String(host[host.index(after: semicolon)...]) }
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// Refuses plain traffic on a non-local endpoint unless the user said --insecure.
    public static func check(_ endpoint: String, security: TransportSecurity, insecure: Bool, what: String) throws {
        guard !security.isCurve, !insecure, !isLocal(endpoint) else { return }
        throw ClusterError("\(what) \(endpoint) is not a loopback address: ZeroMQ traffic there would be neither "
            + "authenticated nor encrypted. Use CURVE keys (`pointe keys generate`; coordinator: --curve-key and "
            + "--allow-keys, peers: --curve-key and --server-key), or pass --insecure on a network you trust.")
    }
}

extension ZMQSocket {
    /// Applies `security` before bind/connect. A CURVE server gets a ZAP domain of its own so
    /// the process-wide ZAP handler checks its peers against its allow-list.
    func apply(_ security: TransportSecurity, log: ClusterLog) throws -> String? {
        switch security {
        case .none:
            return nil
        case .curveServer(let keys, let allowList):
            let domain = "pointe-\(UUID().uuidString)"
            try ZAPAuthenticator.shared.register(domain: domain, allowList: allowList, log: log)
            try set(ZMQ_ZAP_DOMAIN, bytes: Data(domain.utf8))
            try set(ZMQ_CURVE_SERVER, Int32(1))
            try set(ZMQ_CURVE_SECRETKEY, bytes: Data(keys.secretKey.utf8))
            return domain
        case .curveClient(let keys, let serverPublicKey):
            try set(ZMQ_CURVE_SERVERKEY, bytes: Data(serverPublicKey.utf8))
            try set(ZMQ_CURVE_PUBLICKEY, bytes: Data(keys.publicKey.utf8))
            try set(ZMQ_CURVE_SECRETKEY, bytes: Data(keys.secretKey.utf8))
            return nil
        }
    }
}
