import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// `pointe run` needs no network exposure: its own workers and meshers reach the coordinator
/// over an ipc socket in a directory only the job's user can enter.
final class PrivateEndpointTests: ProcessTestCase {
    func testRunServesItsPeersOverAPrivateSocket() throws {
        let dir = ClusterTestSupport.temporaryDirectory("ipc")
        let prompts = try writePrompts(4, in: dir)
        let directory = JobDirectory(dir + "/job")
        let run = try start(["run", prompts, "-o", directory.path, "--models-dir", ClusterTestSupport.modelsDirectory,
                             "--model", "base40M-uncond", "--no-upsample", "--steps", "24", "--workers", "1", "--batch", "1",
                             "--shard-size", "1", "--mesh-formats", "none"], log: dir + "/run.log")
        try waitFor("the coordinator's address") { FileManager.default.fileExists(atPath: directory.addressFile) }
        let address = try String(contentsOfFile: directory.addressFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(address.hasPrefix("ipc://\(directory.path)/"), "pointe run listens on \(address)")
        if address.hasPrefix("ipc://") {
            let socket = String(address.dropFirst("ipc://".count))
            var info = stat()
            XCTAssertEqual(stat((socket as NSString).deletingLastPathComponent, &info), 0)
            XCTAssertEqual(info.st_mode & 0o777, 0o700, "the socket's directory is open to other users")
            XCTAssertEqual(stat(socket, &info), 0)
            XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
            // The job's user reaches it (what `pointe status DIR` does).
            XCTAssertNotNil(try StatusClient.query(address, timeoutMs: 5000), "no status reply over \(address)")
        }
        try waitFor("pointe run to finish", timeout: 120) { !run.isRunning }
        XCTAssertEqual(run.exitStatus, 0, (try? String(contentsOfFile: dir + "/run.log", encoding: .utf8)) ?? "")
        try assertComplete(directory, prompts: 4)
    }

    func testThePrivateEndpointIsInADirectoryOnlyThisUserCanEnter() throws {
        let base = ClusterTestSupport.temporaryDirectory("private")
        func check(_ endpoint: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertTrue(endpoint.hasPrefix("ipc:///") && endpoint.hasSuffix("/coordinator.sock"), endpoint, file: file, line: line)
            var info = stat()
            XCTAssertEqual(lstat((String(endpoint.dropFirst("ipc://".count)) as NSString).deletingLastPathComponent, &info), 0, file: file, line: line)
            XCTAssertEqual(info.st_mode & 0o777, 0o700, endpoint, file: file, line: line)
            XCTAssertEqual(info.st_uid, geteuid(), file: file, line: line)
        }
        let short = JobDirectory(base + "/job")
        try short.create()
        let endpoint = try short.privateEndpoint()
        XCTAssertEqual(endpoint, "ipc://\(short.path)/.ipc/coordinator.sock")
        check(endpoint)
        // Too long for a Unix socket path: a private directory in the temporary directory, the same for the same job.
        let deep = JobDirectory(base + "/" + String(repeating: "d", count: 120) + "/job")
        try deep.create()
        let fallback = try deep.privateEndpoint()
        XCTAssertFalse(fallback.contains(deep.path), fallback)
        XCTAssertLessThanOrEqual(fallback.dropFirst("ipc://".count).utf8.count, 107)
        check(fallback)
        XCTAssertEqual(try deep.privateEndpoint(), fallback)
        // A coordinator binds it and a peer of this user connects.
        let log = ClusterLog(role: "coordinator", quiet: true)
        let router = try RouterEndpoint(bind: fallback, log: log)
        defer { router.close() }
        let peer = try DealerEndpoint(connect: router.address, identity: "p", log: log)
        defer { peer.close() }
        peer.send(.heartbeat(Pointe_Cluster_Heartbeat()))
        XCTAssertNotNil(try router.receive(timeoutMs: 5000), "no message over \(fallback)")
    }
}
