import Foundation
import PointEClusterBase
import PointEWire

/// Messages received and not yet handled. Each turn of the run loop moves everything waiting
/// on the socket in here and answers at once what needs no order: status queries and known
/// peers' heartbeats. So those wait for at most the one message being handled (one result's
/// writes), not for a queue of results from every peer, which ZeroMQ would serve them behind.
/// Every other message keeps its arrival order (a peer's results before its goodbye).
struct CoordinatorInbox {
    typealias Message = (peer: Data, body: MessageBody, origin: PeerOrigin)
    /// At most this many messages are held; past it they wait in the socket (memory stays
    /// bounded whatever the peers send).
    static let limit = 1024

    private var queue = FIFOQueue<Message>()

    var isEmpty: Bool { queue.isEmpty }
    var count: Int { queue.count }

    mutating func append(_ message: Message) { queue.append(message) }

    mutating func popFirst() -> Message? { queue.popFirst() }
}

extension Coordinator {
    /// Moves the messages waiting on the socket into the inbox (waiting up to `timeoutMs` for
    /// the first), handling status queries and known peers' heartbeats as they come.
    func pump(_ transport: any CoordinatorTransport, timeoutMs: Int) throws {
        var wait = timeoutMs
        while inbox.count < CoordinatorInbox.limit {
            guard let message = try transport.receive(timeoutMs: wait) else {
                transportDrainedAt = monotonicMilliseconds()
                break
            }
            wait = 0
            // A message proves its peer alive when it arrives, not when its turn comes.
            if peers[message.peer] != nil { peers[message.peer]!.lastSeen = monotonicMilliseconds() }
            if answersAtOnce(message.body, from: message.peer) {
                messagesHandled += 1
                try handle(message.body, from: message.peer, origin: message.origin, transport: transport)
            } else {
                inbox.append(message)
            }
        }
    }

    /// A status query changes nothing; a heartbeat of a known peer only marks it alive. (An
    /// unknown peer's heartbeat waits its turn: its hello may be in the inbox.)
    func answersAtOnce(_ body: MessageBody, from identity: Data) -> Bool {
        switch body {
        case .statusQuery: return true
        case .heartbeat: return peers[identity] != nil
        default: return false
        }
    }
}
