import Foundation
import PointEClusterBase
import PointEWire

/// The connection loop of a worker or mesher: hello, heartbeats, asking for work whenever idle,
/// re-introducing itself to a restarted coordinator, and running one task at a time on a
/// background thread whose messages (progress, results) the loop sends.
public struct PeerSession {
    let options: WorkerOptions
    var log: ClusterLog { options.log }

    /// Messages produced by the task thread for the loop to send.
    final class Mailbox: @unchecked Sendable {
        private let lock = NSLock()
        private var queue: [MessageBody] = []
        private var running = false
        func post(_ body: MessageBody) { lock.lock(); queue.append(body); lock.unlock() }
        func drain() -> [MessageBody] { lock.lock(); defer { queue = []; lock.unlock() }; return queue }
        var busy: Bool {
            get { lock.lock(); defer { lock.unlock() }; return running }
            set { lock.lock(); running = newValue; lock.unlock() }
        }
    }

    /// Names a task so a repeat of it is known (a shard attempt, a prompt's mesh).
    static func taskKey(_ body: MessageBody) -> String? {
        switch body {
        case .shardAssignment(let a): "shard \(a.shardID) attempt \(a.attempt)"
        case .meshTask(let t): "mesh \(t.promptID)"
        default: nil
        }
    }

    public enum Exit: Equatable, Sendable { case jobFinished, shutdown(String), stopped, coordinatorLost }

    enum TaskStart {
        case notATask
        /// The task runs (its thread sets `mailbox.busy = false` at the end); `handBack` is sent
        /// if the peer stops before it finishes.
        case started(handBack: MessageBody?)
    }

    func run(hello: Pointe_Cluster_Hello, capacity: UInt32, stop: SignalFlag?,
             startTask: (MessageBody, Mailbox) -> TaskStart) throws -> Exit {
        let endpoint = try DealerEndpoint(connect: options.connect, identity: options.name, options: options.transport, log: log)
        defer { endpoint.close() }
        let mailbox = Mailbox()
        endpoint.send(.hello(hello))
        var welcomed = false, requested = false, helloSentAt = monotonicMilliseconds()
        var nextRequest: UInt64 = 0, lastHeartbeat = monotonicMilliseconds(), lastHeard = monotonicMilliseconds()
        var handBack: MessageBody?
        // The current request's number, and the task being worked on (to know a repeat).
        var request = Pointe_Cluster_WorkRequest()
        request.capacity = capacity
        var currentTask: String?
        var connections = 0
        while true {
            if stop?.isRaised == true {
                for body in mailbox.drain() { endpoint.send(body) }
                if mailbox.busy, let handBack { endpoint.send(handBack) }
                // Also covers an assignment already on its way to us: the coordinator re-queues
                // everything it still has down for this peer.
                var bye = Pointe_Cluster_Goodbye()
                bye.reason = "stopped by signal"
                endpoint.send(.goodbye(bye))
                // Closing drops frames not yet sent: wait for the coordinator to answer the
                // goodbye (messages keep their order, so the hand-back has arrived too), at
                // most 2 s when it is gone.
                let deadline = monotonicMilliseconds() + 2000
                while monotonicMilliseconds() < deadline {
                    if case .goodbye? = try? endpoint.receive(timeoutMs: 50) { break }
                }
                return .stopped
            }
            // Busy is read before draining: a task posts its last result before it clears busy,
            // so a work request is never sent ahead of a result (the coordinator relies on it).
            let busy = mailbox.busy
            for body in mailbox.drain() { endpoint.send(body) }
            let now = monotonicMilliseconds()
            if welcomed, !requested, !busy, now >= nextRequest {
                request.requestID += 1
                endpoint.send(.workRequest(request))
                requested = true
            }
            if now - lastHeartbeat >= options.heartbeatIntervalMs {
                var beat = Pointe_Cluster_Heartbeat()
                beat.sentUnixMs = UInt64(Date().timeIntervalSince1970 * 1000)
                endpoint.send(.heartbeat(beat))
                lastHeartbeat = now
            }
            if now - lastHeard > options.coordinatorTimeoutMs {
                log.warning("no message from the coordinator at \(options.connect) for \(options.coordinatorTimeoutMs) ms; exiting")
                return .coordinatorLost
            }
            let body = try endpoint.receive(timeoutMs: 20)
            if endpoint.connections > connections {
                if connections > 0 {
                    // The connection dropped and came back: what was sent into the dead one is
                    // gone. An unanswered hello or request goes again (the request with its
                    // number, so the coordinator answers it with the task it already chose).
                    if !welcomed { endpoint.send(.hello(hello)); helloSentAt = monotonicMilliseconds() }
                    if requested { endpoint.send(.workRequest(request)) }
                }
                connections = endpoint.connections
            }
            guard let body else { continue }
            lastHeard = monotonicMilliseconds()
            switch body {
            case .welcome:
                welcomed = true
            case .refusal(let refusal):
                throw ClusterError("coordinator \(options.connect) refused \(options.name): \(refusal.reason)")
            case .whoAreYou:
                // The coordinator restarted, or took us for lost: introduce ourselves again; any
                // request in flight is gone. It asks once per message of ours it could not place,
                // so after a freeze a burst arrives: one hello answers them all (a second one
                // would look like a restarted session and cost the shard we were just given).
                // A hello unanswered for 5 s was lost with its connection: say it again.
                guard welcomed || monotonicMilliseconds() - helloSentAt > 5000 else { continue }
                endpoint.send(.hello(hello))
                helloSentAt = monotonicMilliseconds()
                log.info("the coordinator does not know this peer (it restarted, or took us for lost): saying hello again")
                welcomed = false
                requested = false
            case .noWork(let none):
                requested = false
                if none.jobFinished { return .jobFinished }
                nextRequest = monotonicMilliseconds() + UInt64(max(none.retryAfterMs, 10))
            case .shutdown(let bye):
                return .shutdown(bye.reason)
            case .heartbeat:
                break  // the coordinator's echo: it is alive (lastHeard is updated above)
            default:
                let task = Self.taskKey(body)
                // The task we are on, sent again for a request that came twice. Only while busy:
                // once done, the same task may legitimately come again (its result was lost, or
                // a restarted coordinator hands out the interrupted attempt's number again).
                if task != nil, task == currentTask, mailbox.busy {
                    continue
                }
                requested = false
                currentTask = task
                mailbox.busy = true
                switch startTask(body, mailbox) {
                case .started(let back): handBack = back
                case .notATask:
                    mailbox.busy = false
                    log.warning("coordinator sent an unexpected \(WireProtocol.name(body)); dropped")
                }
            }
        }
    }
}
