import ArgumentParser
import Foundation
import PointECluster
import PointEWire

/// CURVE options of a peer (worker, mesher, status, drain): its own key pair and the
/// coordinator's public key. Without them only loopback endpoints are allowed, unless --insecure.
struct PeerSecurityOptions: ParsableArguments {
    @Option(help: "This peer's CURVE key pair (NAME.key_secret from `pointe keys generate`).") var curveKey: String?
    @Option(help: "The coordinator's CURVE public key (its NAME.key file).") var serverKey: String?
    @Flag(help: "Allow plain, unauthenticated ZeroMQ to a non-loopback coordinator.") var insecure = false

    func transport() throws -> TransportOptions {
        var options = TransportOptions()
        options.insecure = insecure
        switch (curveKey, serverKey) {
        case (nil, nil): break
        case (let key?, let server?):
            options.security = .curveClient(try CurveKeyPair.load(key), serverPublicKey: try CurveKeyPair.loadPublicKey(server))
        default:
            throw CommandFailure("CURVE needs both --curve-key (this peer's key pair) and --server-key (the coordinator's public key)")
        }
        return options
    }
}

/// CURVE options of a coordinator: its key pair and the directory of peer public keys it admits.
struct CoordinatorSecurityOptions: ParsableArguments {
    @Option(help: "The coordinator's CURVE key pair (NAME.key_secret from `pointe keys generate`).") var curveKey: String?
    @Option(help: "Directory of peer public keys (NAME.key files) allowed to connect; read again on every connection.") var allowKeys: String?
    @Flag(help: "Allow plain, unauthenticated ZeroMQ on a non-loopback bind address.") var insecure = false

    /// `alsoAllow`: key pairs admitted besides the directory's (a launcher's own local peers).
    func transport(alsoAllow: [CurveKeyPair] = []) throws -> TransportOptions {
        var options = TransportOptions()
        options.insecure = insecure
        switch (curveKey, allowKeys) {
        case (nil, nil): break
        case (let key?, let directory?):
            var allowList = try CurveAllowList(directory: directory)
            for pair in alsoAllow { allowList.extraKeys[pair.publicKey] = "(this launcher's local peers)" }
            options.security = .curveServer(try CurveKeyPair.load(key), allowList)
        default:
            throw CommandFailure("CURVE needs both --curve-key (the coordinator's key pair) and --allow-keys (a directory of peer public keys)")
        }
        return options
    }
}
