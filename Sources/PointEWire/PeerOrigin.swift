import Foundation

/// Who sent a message, as far as its connection tells: libzmq's metadata for the connection
/// (the peer's address and, with CURVE, the public key the handshake proved). A peer chooses
/// its identity and its hello; it cannot choose these, so authorisation and logs rest on them.
public struct PeerOrigin: Sendable, Equatable, CustomStringConvertible {
    /// libzmq's "Peer-Address": the IP address for tcp://; for ipc://, the host part (often
    /// empty) followed by ":UID:GID:PID" of the connecting process. Empty when unknown.
    public var address: String
    /// The connection's CURVE public key (Z85); nil on plain connections.
    public var curveKey: String?
    /// The user id of an ipc:// peer's process; nil for other transports.
    public var uid: uid_t?

    public init(address: String = "", curveKey: String? = nil, uid: uid_t? = nil) {
        self.address = address
        self.curveKey = curveKey
        self.uid = uid
    }

    /// An ipc:// connection's origin: the uid is the third field from the end of the address
    /// (parsed only for ipc, where libzmq appends the credentials: an IPv6 address has colons too).
    static func ipc(address: String, curveKey: String?) -> PeerOrigin {
        let fields = address.split(separator: ":", omittingEmptySubsequences: false)
        let uid = fields.count >= 4 ? uid_t(fields[fields.count - 3]) : nil
        return PeerOrigin(address: address, curveKey: curveKey, uid: uid)
    }

    public var description: String { "address \(address.isEmpty ? "unknown" : address), key \(curveKey ?? "none")" }
}
