import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// The coordinator, workers and meshers as separate hosts (network namespaces joined by a
/// bridge, see NetworkNamespaceLab), every connection over CURVE on 10.231.0.0/24. Needs root;
/// CI runs `.ci/run` as root.
final class MultiHostTests: MultiHostTestCase {
    /// Over CURVE between hosts: a peer whose key is not in the allow-list is refused (and the
    /// coordinator logs it), a plain peer gets nothing, a listed peer is served.
    func testUnknownKeyRefusedKnownKeyServedAcrossHosts() throws {
        let lab = try NetworkNamespaceLab.make(hosts: ["coord", "peer", "intruder"])
        self.lab = lab
        let dir = ClusterTestSupport.temporaryDirectory("hosts-curve")
        let keys = try makeKeys(in: dir, allowed: ["peer"], others: ["intruder"])
        let job = JobDirectory(dir + "/job")
        let coordinatorLog = dir + "/coordinator.log"
        let coordinator = try coordinator(try writePrompts(4, in: dir), job, keys, on: lab, log: coordinatorLog)
        try waitFor("the coordinator to listen") { FileManager.default.fileExists(atPath: job.addressFile) }

        func status(on host: String, _ security: [String]) throws -> (status: Int32, output: String) {
            try Subprocess.run(NetworkNamespaceLab.ip, ["netns", "exec", lab.host(host).namespace, try BuiltTool.pointe(),
                                                        "status", address(lab), "--timeout-ms", "4000"] + security, timeout: 60)
        }
        let intruder = try status(on: "intruder", ["--curve-key", keys.secret("intruder"), "--server-key", keys.coordinatorPublic])
        XCTAssertNotEqual(intruder.status, 0, intruder.output)
        XCTAssertTrue(intruder.output.contains("refused this peer's CURVE key"), intruder.output)
        let plain = try status(on: "intruder", ["--insecure"])
        XCTAssertEqual(plain.status, 2, "a plain peer got an answer: \(plain.output)")
        let unflagged = try status(on: "intruder", [])
        XCTAssertTrue(unflagged.output.contains("is not a loopback address"), unflagged.output)
        let known = try status(on: "peer", ["--curve-key", keys.secret("peer"), "--server-key", keys.coordinatorPublic])
        XCTAssertEqual(known.status, 0, known.output)
        XCTAssertTrue(known.output.contains("prompts: 0/4 done"), known.output)
        let intruderAddress = lab.host("intruder").address
        XCTAssertTrue(log(coordinatorLog).contains("refused peer at \(intruderAddress): its public key"), log(coordinatorLog))
        // The plain peer's attempt is logged too (how libzmq reports it depends on timing).
        XCTAssertTrue(log(coordinatorLog).contains("security handshake"), log(coordinatorLog))

        // The listed peer works the job to its end.
        try peer("worker", on: "peer", name: "peer", keys, lab: lab, log: dir + "/worker.log")
        try waitFor("the job to finish", timeout: 120) { !coordinator.isRunning }
        XCTAssertEqual(coordinator.exitStatus, 0, log(coordinatorLog))
        try assertComplete(job, prompts: 4)
    }

    /// A job across four hosts: a worker's link is cut mid-shard and restored (the other worker
    /// frozen meanwhile), the mesher host's process is killed and started again; every prompt
    /// still ends with one cloud and one mesh.
    func testJobSurvivesACutLinkAndAKilledHost() throws {
        let lab = try NetworkNamespaceLab.make(hosts: ["coord", "w1", "w2", "mesh"])
        self.lab = lab
        let dir = ClusterTestSupport.temporaryDirectory("hosts-job")
        let keys = try makeKeys(in: dir, allowed: ["w1", "w2", "mesh"])
        let job = JobDirectory(dir + "/job")
        let prompts = 30
        let coordinatorLog = dir + "/coordinator.log"
        let coordinator = try coordinator(try writePrompts(prompts, in: dir), job, keys, on: lab, steps: 8, shardSize: 3,
                                          meshFormats: "glb", log: coordinatorLog)
        let w1 = try peer("worker", on: "w1", name: "w1", keys, lab: lab, log: dir + "/w1.log")
        let w2 = try peer("worker", on: "w2", name: "w2", keys, lab: lab, log: dir + "/w2.log")
        let mesher = try peer("mesher", on: "mesh", name: "mesh", keys, lab: lab, log: dir + "/mesh.log")

        try waitFor("a first result", timeout: 120) { manifestLineCount(job) >= 1 }
        // Freeze w2 for the whole episode, so the job cannot end before w1 is back: after a 4 s
        // blackout TCP retransmissions back off for seconds before w1's connection (or a new
        // one) carries again. w1 then says hello again and takes over the re-queued work.
        w2.signal(SIGSTOP)
        try lab.cutLink("w1")
        usleep(4_000_000)  // twice the coordinator's peer timeout: w1 is declared lost, its shard re-queued
        try lab.restoreLink("w1")
        try waitFor("w1 to rejoin after its link came back", timeout: 60) {
            log(coordinatorLog).components(separatedBy: "worker w1 joined").count - 1 >= 2
        }
        w2.signal(SIGCONT)
        XCTAssertLessThan(manifestLineCount(job), prompts, "the job ended before w1 rejoined; the test proves less than it should")
        try waitFor("more results", timeout: 120) { manifestLineCount(job) >= 8 }
        mesher.signal(SIGKILL)
        try mesher.wait(timeout: 30)
        try peer("mesher", on: "mesh", name: "mesh", keys, lab: lab, log: dir + "/mesh2.log")

        try waitFor("the job to finish", timeout: 240) { !coordinator.isRunning }
        XCTAssertEqual(coordinator.exitStatus, 0, log(coordinatorLog))
        let audit = try JobAudit(job, expectedPrompts: prompts, meshKind: "mesh_glb")
        XCTAssertTrue(audit.isPerfect, "\(audit)")
        let outcomes = try JobStore(path: job.store).attempts().compactMap(\.outcome)
        XCTAssertTrue(outcomes.contains(.lost), "no shard was re-queued while w1 was cut off: \(outcomes)\n\(log(coordinatorLog))")
        // w1 came back after its link was restored and was told the job ended.
        try waitFor("w1 to exit", timeout: 30) { !w1.isRunning }
        XCTAssertEqual(w1.exitStatus, 0, log(dir + "/w1.log"))
    }
}
