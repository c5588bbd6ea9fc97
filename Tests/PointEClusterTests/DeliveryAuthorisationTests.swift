import Foundation
import PointECloud
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointEMesh
import XCTest

/// Who may deliver what, below the rogue-peer job test: what the transport says about a
/// sender, a session bound to its CURVE key, ipc peers of other users, late results of an
/// attempt's holder after a restart, and the refusal counting that leads to a ban.
final class DeliveryAuthorisationTests: XCTestCase {
    let log = ClusterLog(role: "coordinator", quiet: true)

    /// Receives `sender`'s heartbeat at `router` and returns where the router says it came from.
    func origin(of sender: DealerEndpoint, at router: RouterEndpoint) throws -> PeerOrigin? {
        sender.send(.heartbeat(Pointe_Cluster_Heartbeat()))
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if let (_, _, origin) = try router.receive(timeoutMs: 100) { return origin }
        }
        return nil
    }

    func testTheTransportNamesTheSendersKeyAndUser() throws {
        let dir = ClusterTestSupport.temporaryDirectory("origin")
        let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
        try client.write(name: "client", directory: dir + "/allowed")
        var serverOptions = TransportOptions(), clientOptions = TransportOptions()
        serverOptions.security = .curveServer(server, try CurveAllowList(directory: dir + "/allowed"))
        clientOptions.security = .curveClient(client, serverPublicKey: server.publicKey)
        let curveRouter = try RouterEndpoint(bind: "tcp://127.0.0.1:*", options: serverOptions, log: log)
        defer { curveRouter.close() }
        let curvePeer = try DealerEndpoint(connect: curveRouter.address, identity: "curve-peer", options: clientOptions, log: log)
        defer { curvePeer.close() }
        let curve = try XCTUnwrap(try origin(of: curvePeer, at: curveRouter))
        XCTAssertEqual(curve.curveKey, client.publicKey, "the session's key is not the one the handshake proved")
        XCTAssertEqual(curve.address, "127.0.0.1")
        XCTAssertNil(curve.uid)

        let ipcRouter = try RouterEndpoint(bind: "ipc://\(dir)/coordinator.sock", log: log)
        defer { ipcRouter.close() }
        let ipcPeer = try DealerEndpoint(connect: ipcRouter.address, identity: "ipc-peer", log: log)
        defer { ipcPeer.close() }
        let ipc = try XCTUnwrap(try origin(of: ipcPeer, at: ipcRouter))
        XCTAssertEqual(ipc.uid, geteuid(), "an ipc peer's user is not known (address \(ipc.address))")
        XCTAssertNil(ipc.curveKey)
    }

    /// A coordinator on a job of 4 prompts (shards of 2) over an in-memory transport with a
    /// connected peer `w1`, so the assignments `handle` sends are delivered.
    final class Fixture {
        let directory = JobDirectory(ClusterTestSupport.temporaryDirectory("authority") + "/job")
        var coordinator: Coordinator!
        var transport: InMemoryTransport!

        init(log: ClusterLog) throws {
            try Coordinator.createJob(at: directory, prompts: ClusterTestSupport.textPrompts(4), seed: 1, shardSize: 2, retryBudget: 3, promptFile: "test")
            try open(log: log)
        }

        func open(log: ClusterLog) throws {
            var options = CoordinatorOptions()
            options.log = log
            options.refusalLimit = 3
            coordinator = try Coordinator(directory: directory, options: options)
            try coordinator.recover()
            transport = InMemoryTransport()
            transport.connect(Data("w1".utf8))
        }

        func close() {
            transport.close()
            coordinator = nil
        }

        func hello(_ identity: String, _ origin: PeerOrigin) throws {
            try coordinator.handle(.hello(ClusterTestSupport.samplerHello(identity)), from: Data(identity.utf8), origin: origin, transport: transport)
        }

        func cloud(_ prompt: String, shard: UInt64 = 0, attempt: UInt32 = 1, from identity: String, _ origin: PeerOrigin) throws {
            let n = 8
            let cloud = PointCloud(coords: (0..<(n * 3)).map { Float($0) / 100 },
                                   channels: ["R", "G", "B"].map { .init(name: $0, values: [Float](repeating: 0.5, count: n)) })
            let result = Pointe_Cluster_CloudResult(promptID: prompt, shardID: shard, attempt: attempt, cloud: cloud)
            try coordinator.handle(.cloudResult(result), from: Data(identity.utf8), origin: origin, transport: transport)
        }

        func status(_ prompt: String) throws -> JobStore.PromptStatus? { try coordinator.store.prompt(id: prompt)?.status }
    }

    /// Another allowed key taking over a session's identity (ROUTER_HANDOVER lets a new
    /// connection take an identity) can neither deliver for it nor replace its hello.
    func testASessionAcceptsDeliveriesOverItsOwnKeyOnly() throws {
        let job = try Fixture(log: log)
        defer { job.close() }
        let keyA = PeerOrigin(address: "127.0.0.1", curveKey: "key-of-w1"), keyB = PeerOrigin(address: "127.0.0.1", curveKey: "another-key")
        try job.hello("w1", keyA)
        try job.coordinator.handle(.workRequest(Pointe_Cluster_WorkRequest()), from: Data("w1".utf8), origin: keyA, transport: job.transport)
        XCTAssertEqual(job.coordinator.active[0]?.peer, Data("w1".utf8), "w1 was not given shard 0")
        try job.cloud("p00000", from: "w1", keyB)
        XCTAssertEqual(try job.status("p00000"), .pending, "a cloud over another key was stored")
        try job.hello("w1", keyB)
        XCTAssertEqual(job.coordinator.peers[Data("w1".utf8)]?.origin.curveKey, "key-of-w1", "another key took over the session")
        XCTAssertEqual(job.coordinator.authority.refusals[.otherKey], 2)
        try job.cloud("p00000", from: "w1", keyA)
        XCTAssertEqual(try job.status("p00000"), .done)
    }

    func testAnIPCPeerOfAnotherUserIsNotServed() throws {
        let job = try Fixture(log: log)
        defer { job.close() }
        let stranger = PeerOrigin(address: ":\(geteuid() &+ 1):0:4242", uid: geteuid() &+ 1)
        try job.hello("w2", stranger)
        XCTAssertNil(job.coordinator.peers[Data("w2".utf8)], "a peer of another user was welcomed")
        try job.coordinator.handle(.statusQuery(Pointe_Cluster_StatusQuery()), from: Data("w2".utf8), origin: stranger, transport: job.transport)
        XCTAssertEqual(job.coordinator.authority.refusals[.foreignUser], 2)
    }

    /// Attempts are recorded with their holder in the job store: after a coordinator restart
    /// the holder's late result still counts (a worker mid-shard would otherwise be refused
    /// result after result, and banned), and another peer's does not.
    func testTheHoldersLateResultCountsAfterARestart() throws {
        let job = try Fixture(log: log)
        defer { job.close() }
        let origin = PeerOrigin(address: "127.0.0.1")
        try job.hello("w1", origin)
        try job.coordinator.handle(.workRequest(Pointe_Cluster_WorkRequest()), from: Data("w1".utf8), origin: origin, transport: job.transport)
        job.close()
        try job.open(log: log)
        XCTAssertTrue(job.coordinator.active.isEmpty)
        try job.hello("w1", origin)
        try job.hello("w2", origin)
        try job.cloud("p00001", from: "w2", origin)
        XCTAssertEqual(try job.status("p00001"), .pending, "a peer that never held the attempt delivered for it")
        try job.cloud("p00000", from: "w1", origin)
        XCTAssertEqual(try job.status("p00000"), .done, "the holder's late result was refused after the restart")
        XCTAssertEqual(job.coordinator.authority.refusals[.notAssigned], 1)
    }

    func testRefusalsInARowBanAKnownPeerOnly() {
        var authority = DeliveryAuthority(refusalLimit: 3, banMilliseconds: 1000)
        let rogue = Data("rogue".utf8), unknown = Data("unknown".utf8), worker = Data("worker".utf8)
        // An unknown identity is counted and logged once, never banned.
        XCTAssertEqual((0..<10).map { _ in authority.refuse(.unknownPeer, identity: unknown, key: nil, now: 0).log }, [true] + Array(repeating: false, count: 9))
        XCTAssertFalse(authority.isBanned(unknown, key: nil, now: 0))
        // A known peer's refusals are forgiven by an accepted delivery; three in a row ban it (and its key).
        _ = authority.refuse(.notAssigned, identity: worker, key: nil, now: 0)
        _ = authority.refuse(.notAssigned, identity: worker, key: nil, now: 0)
        authority.accepted(from: worker)
        XCTAssertFalse(authority.refuse(.notAssigned, identity: worker, key: nil, now: 0).ban)
        XCTAssertEqual((0..<3).map { _ in authority.refuse(.notMeshHolder, identity: rogue, key: "rogue-key", now: 10).ban }, [false, false, true])
        XCTAssertTrue(authority.isBanned(rogue, key: nil, now: 500))
        XCTAssertTrue(authority.isBanned(Data("new-identity".utf8), key: "rogue-key", now: 500), "the key's ban does not hold under another identity")
        XCTAssertFalse(authority.isBanned(rogue, key: nil, now: 1010), "the ban does not end")
        XCTAssertEqual(authority.bans, 1)
        XCTAssertEqual(authority.refusals[.unknownPeer], 10)
    }
}
