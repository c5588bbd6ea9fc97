import Foundation
import SwiftProtobuf

public typealias Envelope = Pointe_Cluster_Envelope
public typealias MessageBody = Pointe_Cluster_Envelope.OneOf_Body

/// Framing of the wire protocol: one serialized `Envelope` per frame, whose protocol version
/// is checked before its body is looked at.
public enum WireProtocol {
    public static let version = UInt32(Pointe_Cluster_ProtocolVersion.current.rawValue)

    public enum DecodeError: Error, CustomStringConvertible, Equatable {
        /// Not a protobuf Envelope at all.
        case garbage(String)
        /// A well-formed envelope of another protocol version.
        case unsupportedVersion(UInt32)
        /// A message type this build does not know (a newer peer's body, or none).
        case unknownBody

        public var description: String {
            switch self {
            case .garbage(let why): return "undecodable frame (\(why))"
            case .unsupportedVersion(let v):
                return "protocol version \(v) is not supported (this build speaks version \(WireProtocol.version))"
            case .unknownBody: return "unknown or empty message type"
            }
        }
    }

    /// `speaking`: another protocol version, only for `pointe bench swarm` measuring an older
    /// coordinator (its messages are the same in both versions); peers always speak `version`.
    public static func encode(_ body: MessageBody, speaking: UInt32 = version) -> Data {
        var envelope = Envelope()
        envelope.protocolVersion = speaking
        envelope.body = body
        // Serializing a fully-initialized proto3 message cannot fail.
        return try! envelope.serializedData()
    }

    public static func decode(_ frame: Data, speaking: UInt32 = version) -> Result<MessageBody, DecodeError> {
        let envelope: Envelope
        do { envelope = try Envelope(serializedBytes: frame) } catch {
            return .failure(.garbage("\(frame.count) bytes: \(error)"))
        }
        guard envelope.protocolVersion == speaking else { return .failure(.unsupportedVersion(envelope.protocolVersion)) }
        guard let body = envelope.body else { return .failure(.unknownBody) }
        return .success(body)
    }

    /// Short name of a body for logs.
    public static func name(_ body: MessageBody) -> String {
        let text = "\(body)"
        return String(text.prefix(while: { $0 != "(" }))
    }
}
