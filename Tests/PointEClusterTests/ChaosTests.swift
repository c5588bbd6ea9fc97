import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETensor
import PointETestSupport
import XCTest

/// A scripted chaos run across namespace hosts: 100 prompts with three workers and two
/// meshers while the harness SIGKILLs workers and meshers at random moments (every 0.1-0.5 s) and starts them
/// again, and kills and restarts the coordinator twice (at 15 and 40 finished prompts). Afterwards every prompt must have
/// exactly one cloud, one mesh and one manifest line, every checksum must verify and no
/// temporary file may remain. The counts are printed at the end.
final class ChaosTests: MultiHostTestCase {
    /// The seed of the harness's choices; printed so a failing run can be replayed.
    static let seed = UInt64(ProcessInfo.processInfo.environment["POINTE_CHAOS_SEED"] ?? "") ?? UInt64.random(in: 1...999_999)

    struct Counts {
        var workerKills = 0, mesherKills = 0, coordinatorKills = 0, restarts = 0
        var kills: Int { workerKills + mesherKills + coordinatorKills }
    }

    func testChaosRun() throws {
        let workers = ["w1", "w2", "w3"], meshers = ["m1", "m2"]
        let lab = try NetworkNamespaceLab.make(hosts: ["coord"] + workers + meshers)
        self.lab = lab
        let dir = ClusterTestSupport.temporaryDirectory("chaos")
        let keys = try makeKeys(in: dir, allowed: workers + meshers)
        let job = JobDirectory(dir + "/job")
        let promptCount = 100
        let prompts = try writePrompts(promptCount, in: dir)
        var random = SeededGenerator(seed: Self.seed)
        var counts = Counts()
        var logIndex = 0
        func nextLog(_ name: String) -> String {
            logIndex += 1
            return dir + "/\(logIndex)-\(name).log"
        }
        func startCoordinator() throws -> Subprocess {
            // Steps 6: long enough a job (~30 s) for a dozen kills, short enough for CI.
            try coordinator(prompts, job, keys, on: lab, steps: 6, shardSize: 2, meshFormats: "glb", log: nextLog("coordinator"))
        }
        func startPeer(_ host: String) throws -> Subprocess {
            try peer(workers.contains(host) ? "worker" : "mesher", on: host, name: host, keys, lab: lab, log: nextLog(host))
        }

        var coordinatorProcess = try startCoordinator()
        var peers: [String: Subprocess] = [:]
        for host in workers + meshers { peers[host] = try startPeer(host) }

        let deadline = Date().addingTimeInterval(400)
        while coordinatorProcess.isRunning || coordinatorProcess.exitStatus != 0 {
            guard Date() < deadline else { throw ClusterError("the chaos run did not finish in 400 s (seed \(Self.seed)): \(counts)") }
            usleep(UInt32(100_000 + random.next() % 400_000))
            let done = manifestLineCount(job)
            if !coordinatorProcess.isRunning {
                // It ended on its own: only a clean exit after the last prompt is acceptable.
                XCTAssertEqual(coordinatorProcess.exitStatus, 0, "the coordinator failed (seed \(Self.seed))")
                break
            }
            if done >= promptCount { continue }
            // The coordinator dies at 15 and at 40 finished prompts: early enough that a fast
            // machine cannot finish the job between two harness ticks first.
            if counts.coordinatorKills < 2, done >= [15, 40][counts.coordinatorKills] {
                coordinatorProcess.signal(SIGKILL)
                try coordinatorProcess.wait(timeout: 30)
                counts.coordinatorKills += 1
                usleep(UInt32(random.next() % 1_000_000))
                coordinatorProcess = try startCoordinator()
                counts.restarts += 1
                continue
            }
            let victims = workers + meshers
            let victim = victims[Int(random.next() % UInt64(victims.count))]
            peers[victim]?.signal(SIGKILL)
            try peers[victim]?.wait(timeout: 30)
            if workers.contains(victim) { counts.workerKills += 1 } else { counts.mesherKills += 1 }
            usleep(UInt32(random.next() % 500_000))
            peers[victim] = try startPeer(victim)
            counts.restarts += 1
        }
        XCTAssertEqual(counts.coordinatorKills, 2, "the job ended before both coordinator kills (seed \(Self.seed))")

        let audit = try JobAudit(job, expectedPrompts: promptCount, meshKind: "mesh_glb")
        let meshFiles = try FileManager.default.contentsOfDirectory(atPath: job.meshes).filter { $0.hasSuffix(".glb") }.count
        let cloudFiles = try FileManager.default.contentsOfDirectory(atPath: job.clouds).filter { $0.hasSuffix(".npz") }.count
        print("""
            chaos (seed \(Self.seed)): prompts \(promptCount), kills \(counts.kills) (workers \(counts.workerKills), \
            meshers \(counts.mesherKills), coordinator \(counts.coordinatorKills)), restarts \(counts.restarts), \
            lost \(audit.lost), duplicated \(audit.duplicated), clouds \(cloudFiles), meshes \(meshFiles), \
            checksum mismatches \(audit.checksumMismatches), temporary files \(audit.temporaryFiles)
            """)
        XCTAssertTrue(audit.isPerfect, "\(audit) (seed \(Self.seed))")
        XCTAssertEqual(cloudFiles, promptCount)
        XCTAssertEqual(meshFiles, promptCount)
        XCTAssertGreaterThanOrEqual(counts.workerKills + counts.mesherKills, 3, "too little chaos to prove anything")
    }
}
