import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETensor
import XCTest

/// What operators use on a running coordinator: Prometheus metrics (HTTP and file) and drain.
final class OperationsTests: XCTestCase {
    func createJob(_ label: String, prompts: Int, shardSize: Int) throws -> JobDirectory {
        let directory = JobDirectory(ClusterTestSupport.temporaryDirectory(label) + "/job")
        try Coordinator.createJob(at: directory, prompts: ClusterTestSupport.textPrompts(prompts), seed: 3, shardSize: shardSize,
                                  retryBudget: 2, promptFile: "test")
        return directory
    }

    /// A free TCP port on this host (bound, read back, released).
    func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func get(_ url: String) -> (status: Int, body: String)? {
        let box = Locked<(Int, String)?>(nil)
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: URL(string: url)!) { data, response, _ in
            if let http = response as? HTTPURLResponse { box.withLock { $0 = (http.statusCode, String(decoding: data ?? Data(), as: UTF8.self)) } }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 5)
        return box.withLock { $0 }
    }

    func testMetricsOverHTTPAndInAFile() throws {
        let job = try createJob("metrics", prompts: 8, shardSize: 2)
        let port = freePort()
        let file = job.path + "/../metrics.prom"
        let scraped = Locked<[String]>([])
        let (counts, _) = try ClusterTestSupport.runJob(job, workers: 1, configure: {
            $0.metricsPort = port
            $0.metricsFile = file
        }, alsoOnListening: { _ in
            Thread.detachNewThread {
                for _ in 0..<100 {
                    if let (status, body) = Self.get("http://127.0.0.1:\(port)/metrics"), status == 200, !body.isEmpty {
                        scraped.withLock { $0.append(body) }
                        if body.contains("pointe_peers{role=\"worker\"} 1") { return }
                    }
                    usleep(50_000)
                }
            }
        })
        XCTAssertEqual(counts.done, 8)
        let live = try XCTUnwrap(scraped.withLock { $0.last }, "no metrics were served while the job ran")
        for name in ["pointe_queue_depth", "pointe_shards_in_flight", "pointe_mesh_backlog", "pointe_peer_results_per_second",
                     "pointe_prompts{state=\"done\"}", "pointe_prompts_total 8", "pointe_draining 0"] {
            XCTAssertTrue(live.contains(name), "\(name) missing from:\n\(live)")
        }
        XCTAssertTrue(live.contains("# TYPE pointe_queue_depth gauge"))
        // The file holds the final state.
        let final = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertTrue(final.contains("pointe_prompts{state=\"done\"} 8"), final)
        XCTAssertTrue(final.contains("pointe_peer_results_total{peer="), final)
        // The server stops with the coordinator.
        XCTAssertNil(Self.get("http://127.0.0.1:\(port)/metrics"), "the server outlived the coordinator")
    }

    /// `pointe drain`: no new shards once asked, running ones finish, the peers are told to stop;
    /// the next start resumes and finishes the rest with exactly one result per prompt.
    func testDrainThenResume() throws {
        let prompts = 40
        let job = try createJob("drain", prompts: prompts, shardSize: 1)
        let reply = Locked<Pointe_Cluster_DrainReply?>(nil)
        // The first coordinator must be gone (it holds the job directory's lock) before the resume.
        let (counts, drained): (JobStore.Counts, Bool) = try {
            let (counts, coordinator) = try ClusterTestSupport.runJob(job, workers: 1, batch: 1, alsoOnListening: { address in
            Thread.detachNewThread {
                while (try? String(contentsOfFile: job.manifestLines, encoding: .utf8))?.split(separator: "\n").count ?? 0 < 2 { usleep(20_000) }
                let answer = try? DrainClient.request(address, reason: "test", timeoutMs: 5000)
                reply.withLock { $0 = answer }
            }
            })
            return (counts, coordinator.drained)
        }()
        XCTAssertTrue(drained, "the coordinator did not stop on the drain")
        XCTAssertNotNil(reply.withLock { $0 }, "no drain reply")
        XCTAssertGreaterThan(counts.pending, 0, "the job finished before the drain took effect; the test proves nothing")
        XCTAssertEqual(counts.shardsRunning, 0, "a shard was still running when the coordinator stopped")

        let (resumed, again) = try ClusterTestSupport.runJob(job, workers: 2)
        XCTAssertFalse(again.drained)
        XCTAssertEqual(resumed.done, prompts)
        let audit = try JobAudit(job, expectedPrompts: prompts, meshKind: nil)
        XCTAssertTrue(audit.isPerfect, "\(audit)")
    }
}
