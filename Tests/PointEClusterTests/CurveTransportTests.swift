import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import XCTest

/// CURVE between a coordinator socket and peers on 127.0.0.1 (the namespace tests repeat this
/// across hosts): a listed key is served, an unknown key, a wrong server key and a plain peer
/// are refused and logged, and nothing of theirs reaches the coordinator.
final class CurveTransportTests: XCTestCase {
    var directory = ""

    override func setUp() {
        directory = ClusterTestSupport.temporaryDirectory("curve")
    }

    func testKeyFilesArePrivateAndRoundTrip() throws {
        let pair = try CurveKeyPair.generate()
        let files = try pair.write(name: "worker-1", directory: directory)
        for file in [files.secretFile, files.publicFile] {
            let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber).intValue
            XCTAssertEqual(mode, 0o600, file)
        }
        XCTAssertEqual(try CurveKeyPair.load(files.secretFile), pair)
        XCTAssertEqual(try CurveKeyPair.loadPublicKey(files.publicFile), pair.publicKey)
        XCTAssertEqual(CurveKeyPair.encode(try XCTUnwrap(CurveKeyPair.decode(pair.publicKey))), pair.publicKey)
        XCTAssertThrowsError(try pair.write(name: "worker-1", directory: directory)) { XCTAssertTrue("\($0)".contains("already exists")) }
        // A public key file is not a key pair, and a damaged key is named with its file.
        XCTAssertThrowsError(try CurveKeyPair.load(files.publicFile)) { XCTAssertTrue("\($0)".contains(files.publicFile)) }
        let damaged = directory + "/damaged.key"
        try "public-key = \"tooshort\"\n".write(toFile: damaged, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CurveKeyPair.loadPublicKey(damaged)) { XCTAssertTrue("\($0)".contains(damaged)) }
    }

    func testOnlyLoopbackMayBePlain() throws {
        for local in ["tcp://127.0.0.1:5555", "tcp://127.3.2.1:*", "tcp://localhost:80", "tcp://[::1]:5555", "ipc:///tmp/x", "inproc://a"] {
            XCTAssertTrue(EndpointPolicy.isLocal(local), local)
            XCTAssertNoThrow(try EndpointPolicy.check(local, security: .none, insecure: false, what: "binding"))
        }
        for remote in ["tcp://*:5555", "tcp://0.0.0.0:5555", "tcp://10.0.0.2:5555", "tcp://host.example:1", "tcp://127.0.0.1.evil:5", "tcp://[fe80::1]:5"] {
            XCTAssertFalse(EndpointPolicy.isLocal(remote), remote)
            XCTAssertThrowsError(try EndpointPolicy.check(remote, security: .none, insecure: false, what: "binding")) {
                XCTAssertTrue("\($0)".contains(remote) && "\($0)".contains("--insecure"))
            }
            XCTAssertNoThrow(try EndpointPolicy.check(remote, security: .none, insecure: true, what: "binding"))
        }
    }

    func testKnownKeyServedUnknownKeysAndPlainPeersRefused() throws {
        let server = try CurveKeyPair.generate()
        let known = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        let allowed = directory + "/allowed"
        try known.write(name: "known", directory: allowed)
        var serverOptions = TransportOptions()
        serverOptions.security = .curveServer(server, try CurveAllowList(directory: allowed))
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:*", options: serverOptions, log: ClusterLog(role: "coordinator", quiet: true))
        defer { router.close() }
        let refusedBefore = ZAPAuthenticator.shared.counts.refused

        func peer(_ name: String, _ security: TransportSecurity) throws -> DealerEndpoint {
            var options = TransportOptions()
            options.security = security
            let dealer = try DealerEndpoint(connect: router.address, identity: name, options: options, log: ClusterLog(role: name, quiet: true))
            var beat = Pointe_Cluster_Heartbeat()
            beat.sentUnixMs = 1
            dealer.send(.heartbeat(beat))
            return dealer
        }
        let good = try peer("good", .curveClient(known, serverPublicKey: server.publicKey))
        let unknown = try peer("unknown", .curveClient(stranger, serverPublicKey: server.publicKey))
        let wrongServer = try peer("wrong-server", .curveClient(known, serverPublicKey: stranger.publicKey))
        let plain = try peer("plain", .none)
        defer { [good, unknown, wrongServer, plain].forEach { $0.close() } }

        var heardFrom = Set<String>()
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            if let (identity, _, _) = try router.receive(timeoutMs: 100) { heardFrom.insert(PeerName.describe(identity)) }
        }
        XCTAssertEqual(heardFrom, ["good"], "only the listed key gets through")
        XCTAssertGreaterThanOrEqual(ZAPAuthenticator.shared.counts.refused - refusedBefore, 1, "the unknown key was not refused by ZAP")
        // The refused peer learns why instead of retrying silently.
        XCTAssertThrowsError(try unknown.receive(timeoutMs: 100)) { XCTAssertTrue("\($0)".contains("refused this peer's CURVE key")) }
        // Keys are read on every connection: listing the stranger lets it in without a restart.
        try stranger.write(name: "stranger", directory: allowed)
        let late = try peer("late", .curveClient(stranger, serverPublicKey: server.publicKey))
        defer { late.close() }
        var lateHeard = false
        let lateDeadline = Date().addingTimeInterval(3)
        while !lateHeard, Date() < lateDeadline {
            if let (identity, _, _) = try router.receive(timeoutMs: 100) { lateHeard = PeerName.describe(identity) == "late" }
        }
        XCTAssertTrue(lateHeard, "a key added to the allow-list was not admitted")
    }

    /// A whole job with every peer on CURVE (in-process workers, loopback) while an
    /// authenticated peer sends malformed messages and a frame over the size limit: they are
    /// dropped and the job completes.
    func testJobOverCurve() throws {
        let server = try CurveKeyPair.generate()
        let worker = try CurveKeyPair.generate()
        let allowed = directory + "/allowed"
        try worker.write(name: "worker", directory: allowed)
        let job = JobDirectory(directory + "/job")
        try Coordinator.createJob(at: job, prompts: ClusterTestSupport.textPrompts(6), seed: 1, shardSize: 2, retryBudget: 2, promptFile: "test")
        var client = TransportOptions()
        client.security = .curveClient(worker, serverPublicKey: server.publicKey)
        let serverSecurity = TransportSecurity.curveServer(server, try CurveAllowList(directory: allowed))
        let rogueSecurity = TransportSecurity.curveClient(worker, serverPublicKey: server.publicKey)
        let (counts, coordinator) = try ClusterTestSupport.runJob(job, workers: 2, workerTransport: client, configure: {
            $0.transport.security = serverSecurity
            $0.transport.maxFrameBytes = 1 << 20
        }, alsoOnListening: { ClusterJobTests.spray($0, security: rogueSecurity, oversizedBytes: 2 << 20) })
        XCTAssertGreaterThan(coordinator.droppedMessages, 0, "the rogue peer's garbage was not seen and dropped")
        XCTAssertEqual(counts.done, 6)
        XCTAssertEqual(try ClusterTestSupport.verifiedChecksums(job).count, 6)
    }
}
