import Foundation
import PointECluster

/// How a worker or mesher process ends (its exit status), so the one that started it knows
/// whether starting it again can help.
enum PeerExitStatus: Int32 {
    /// The coordinator said the job is over, or the peer was told to stop.
    case finished = 0
    /// The coordinator went silent for longer than --coordinator-timeout-ms.
    case coordinatorLost = 3
    /// The models it needs are missing or do not load: no restart can fix that.
    case cannotLoadModels = 4
}

/// `pointe run`'s own workers and meshers, supervised like a process pool. One that crashes
/// (a signal, an unexpected exit) has its work put back in the queue at once and is started
/// again after a backoff (0.5 s doubling to 10 s), up to `restartBudget` times per slot; one
/// that cannot load its models ends the job with its error, since a restart would fail alike.
/// Driven from the coordinator's loop (`poll`), so every decision is made on its thread.
final class LocalPeerPool {
    enum Role: String { case worker, mesher }

    /// The last lines a child wrote to standard error (forwarded to ours as they come).
    final class OutputTail: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ text: String) {
            lock.lock()
            defer { lock.unlock() }
            lines.append(contentsOf: text.split(separator: "\n").map(String.init).filter { !$0.isEmpty })
            if lines.count > 8 { lines.removeFirst(lines.count - 8) }
        }
        var last: String? {
            lock.lock()
            defer { lock.unlock() }
            return lines.last
        }
    }

    final class Slot {
        let role: Role
        let index: Int
        let arguments: [String]
        var process: Process?
        var name = ""
        var restarts = 0
        var restartAt: UInt64?
        var tail = OutputTail()
        /// Ended for good (finished, or out of restarts).
        var retired = false

        init(role: Role, index: Int, arguments: [String]) {
            self.role = role
            self.index = index
            self.arguments = arguments
        }

        var label: String { "local \(role.rawValue) \(index + 1)" }
    }

    let executable: URL
    let restartBudget: Int
    private(set) var slots: [Slot] = []
    /// Restarts done, for the end-of-job line.
    private(set) var restartCount = 0

    init(executable: URL, restartBudget: Int) {
        self.executable = executable
        self.restartBudget = restartBudget
    }

    /// One slot of `role` per element of `arguments` (each slot's own options).
    func add(_ role: Role, arguments: [[String]]) {
        for own in arguments { slots.append(Slot(role: role, index: slots.filter { $0.role == role }.count, arguments: own)) }
    }

    func startAll() throws {
        for slot in slots { try start(slot) }
    }

    private func start(_ slot: Slot) throws {
        let child = Process()
        child.executableURL = executable
        // A new name per start: the coordinator sees a new peer, never a stale session.
        slot.name = "\(slot.role.rawValue)-\(slot.index + 1)@run-\(getpid())" + (slot.restarts > 0 ? "-r\(slot.restarts)" : "")
        child.arguments = [slot.role.rawValue] + slot.arguments + ["--name", slot.name]
        let pipe = Pipe()
        child.standardError = pipe
        let tail = OutputTail()
        slot.tail = tail
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else { handle.readabilityHandler = nil; return }
            FileHandle.standardError.write(data)
            tail.append(String(decoding: data, as: UTF8.self))
        }
        do { try child.run() } catch {
            throw CommandFailure("cannot start \(slot.label) (\(executable.path)): \(error.localizedDescription)")
        }
        slot.process = child
        slot.restartAt = nil
    }

    /// Reaps children that ended and restarts those due. Returns why the job must stop, if it must.
    func poll(coordinator: Coordinator, now: UInt64) throws -> String? {
        for slot in slots where !slot.retired {
            if let due = slot.restartAt {
                if now >= due {
                    try start(slot)
                    restartCount += 1
                }
                continue
            }
            guard let process = slot.process, !process.isRunning else { continue }
            let status = process.terminationStatus
            let signalled = process.terminationReason == .uncaughtSignal
            let how = signalled ? "killed by signal \(status)" : "exited with status \(status)"
            let said = slot.tail.last.map { ": \($0)" } ?? ""
            slot.process = nil
            if !signalled, status == PeerExitStatus.finished.rawValue {
                // It was told the job is over, and said goodbye.
                slot.retired = true
                continue
            }
            try coordinator.localPeerEnded(named: slot.name, reason: "\(slot.label) \(how)")
            if !signalled, status == PeerExitStatus.cannotLoadModels.rawValue {
                return "\(slot.label) cannot load its models (its error is above)"
            }
            guard slot.restarts < restartBudget else {
                slot.retired = true
                return "\(slot.label) \(how) and was restarted \(slot.restarts) time(s), its whole budget (--restart-budget \(restartBudget))\(said)"
            }
            slot.restarts += 1
            let backoff = UInt64(min(500 << min(slot.restarts - 1, 5), 10_000))
            slot.restartAt = now + backoff
            printError("\(slot.label) (\(slot.name)) \(how)\(said); its work is queued again, restart \(slot.restarts) of \(restartBudget) in \(Double(backoff) / 1000) s")
        }
        return nil
    }

    /// SIGTERM to every child (workers hand back their shard), then waits for them.
    func stopAll() {
        for slot in slots {
            slot.restartAt = nil
            if let process = slot.process, process.isRunning { process.terminate() }
        }
        for slot in slots { slot.process?.waitUntilExit() }
    }
}
